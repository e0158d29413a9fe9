"""Who does a node: lead (牵头) and units (责任) as plans write them (plans._clauses, plans._unitnames).

The sentences are made up for these tests; each goes into a small plan through
``extract_text``, so segmenting, node finding and full names are on the path too.
"""

from __future__ import annotations

import pytest

from plans import extract_text
from plans._clauses import full_names, own_bodies, subject_of, units_for
from plans._segment import clean_lines, paragraphs, sentences, simplified
from plans._unitnames import (
    is_group,
    is_person,
    is_unit,
    labels,
    names_in,
    split_names,
    unit_prefix,
)

HEAD = "某某街道2024年党建工作计划\n一、重点工作\n"


def units_of(line: str, when: str) -> tuple[list[str], list[str]]:
    """(lead, units) of the node written ``when`` in a plan made of ``line``."""
    [doc] = extract_text(HEAD + line + "\n").documents
    found = [n for n in doc.nodes if n.written == when or n.when == when]
    assert found, [n.written for n in doc.nodes]
    return found[0].lead, found[0].units


CASES = [
    ("四、7月上旬,各党总支书记讲一次专题党课。", "7月上旬", [], ["各党总支"]),
    # 承办 in a closing note; X负责督促 in a later clause; a 督查室; two quoted holidays side by side
    ("7.“七一”前夕,县委对优秀党员进行表彰(县委组织部承办)。", "“七一”前夕", ["县委组织部"], []),
    ("8.各党支部每月15日开展主题党日活动,机关党委负责督促指导。", "每月15日", ["机关党委"], ["各党支部"]),
    ("9.12月20日前,各单位将年度总结报县委督查室。", "12月20日前", ["县委督查室"], ["各单位"]),
    ("10.团县委、县妇联于“五四”“三八”前后组织开展主题活动。", "“五四”“三八”前后", ["团县委", "县妇联"], []),
    # an item's closing note in brackets, a few sentences after its time
    (("1.全面实施清单管理。2024年10月底前编制并公布清单。动态调整清单。(市政府办公室、市审改办牵头,"
      "市级各有关部门及各县市区政府按职责分工负责)"), "2024年10月底前", ["市政府办公室", "市审改办"],
     ["市级各有关部门", "各县市区政府"]),
    # a body's own meeting as the subject; 以X为单位; whom the work goes to, later in the sentence
    ("1、农村党支部主题党日时间统一为每月15日。", "每月15日", ["农村党支部"], []),
    ("3、以团总支为单位,5月4日前组织一次志愿服务。", "5月4日前", [], ["团总支"]),
    ("4、按要求在12月底前完成党费测算,并将党费及时上交到局党工委。", "12月底前", ["局党工委"], []),
    ("2、各试点乡镇、驻点县的纪念活动安排在5月4日前后进行。", "5月4日前后", [], ["各试点乡镇", "驻点县"]),
    ("○ 各支部于3月底前召开支委会,研究部署活动。", "3月底前", [], ["各支部"]),
    ("3月份,某新区机关党委全体干部职工将持续开展学雷锋活动。", "3月份", ["某新区机关党委"], []),
    ("新年伊始,某县残联机关党支部拟在“七一”前夕表彰一批优秀党员。", "“七一”前夕", ["某县残联机关党支部"], []),
    # X为…的牵头部门
    ("1、党委工作部为活动办公室的牵头部门,每月25日前汇总进展。", "每月25日前", ["党委工作部"], []),
    # X牵头,Y配合 / 参与 / 协办
    ("1、党委办公室牵头,各党支部配合,于3月底前完成党员信息核查。", "3月底前",
     ["党委办公室"], ["各党支部"]),
    ("1、机关党委牵头,各支部参与,11月底前完成民主评议。", "11月底前", ["机关党委"], ["各支部"]),
    ("1、区总工会牵头,区妇联、团区委协办,“五一”前夕开展劳模慰问。", "“五一”前夕",
     ["区总工会"], ["区妇联", "团区委"]),
    # 由X牵头 / 由X负责 / X负责
    ("2、由组织部牵头,6月底前召开组织工作会议。", "6月底前", ["组织部"], []),
    ("2、6月底前召开组织工作会议,由组织部负责。", "6月底前", ["组织部"], []),
    ("2、校团委负责在5月4日前评选一批优秀团员。", "5月4日前", ["校团委"], []),
    ("2、“七一”前夕举办主题宣讲,具体由宣传部负责组织。", "“七一”前夕", ["宣传部"], []),
    # X、Y按职责分工负责: each its share, so units
    ("3、纪委、监委按职责分工负责,每季度开展一次廉政谈话。", "每季度", [], ["纪委", "监委"]),
    # X牵头举办…
    ("3、区妇联牵头举办“三八”妇女节表彰大会,时间为3月8日。", "3月8日", ["区妇联"], []),
    # 在X的领导下 / 在X的支持下
    ("4、在街道党工委的领导下,各社区于10月底前完成换届选举。", "10月底前",
     ["街道党工委"], ["各社区"]),
    ("4、在共建单位的大力支持下,社区于重阳节开展敬老活动。", "重阳节", ["社区"], ["共建单位"]),
    # 经X研究
    ("4、经校党委研究,决定于10月举办教职工运动会。", "10月", ["校党委"], []),
    # groups: 各X, 全X, 每个X, and a bare name listed after a group
    ("5、各乡镇(街道)要在每月5日前报送工作台账。", "每月5日前", [], ["各乡镇(街道)"]),
    ("5、各基层团组织要在5月4日前开展主题团日活动。", "5月4日前", [], ["各基层团组织"]),
    ("5、各二级学院党委于9月底前完成党员发展计划。", "9月底前", [], ["各二级学院党委"]),
    ("5、每个党支部每年至少召开一次组织生活会。", "每年", [], ["每个党支部"]),
    ("5、各村委会、居委会于每月10日前上报一次安全隐患排查情况。", "每月10日前", [],
     ["各村委会", "居委会"]),
    # groups set to work, and partners
    ("6、组织各党支部在6月底前开展一次党性体检。", "6月底前", [], ["各党支部"]),
    ("6、联系派出所与共建单位在12月开展一次消防演练。", "12月", [], ["派出所", "共建单位"]),
    # X会同Y
    ("6、区委组织部会同区人社局于3月底前完成选调生招录。", "3月底前", ["区委组织部"], ["区人社局"]),
    # the body a report goes to leads; the senders are units
    ("7、各村党支部于12月20日前将年度总结报镇党委办公室。", "12月20日前",
     ["镇党委办公室"], ["各村党支部"]),
    ("7、各支部每季度向机关党委汇报一次工作。", "每季度", ["机关党委"], ["各支部"]),
    ("7、请各科室在9月30日前将值班表分别报送院办公室和保卫科。", "9月30日前",
     ["院办公室", "保卫科"], ["各科室"]),
    # the people of a unit: the unit
    ("8、支委和校委成员要带头学习,每年开展一次心得交流。", "每年", ["支委", "校委"], []),
    ("8、团支部全体成员于5月4日下午参加入团仪式。", "5月4日下午", ["团支部"], []),
    # labels in the paragraph
    ("9、开展党史知识竞赛,7月1日前完成初赛。牵头部门:党委办公室;责任单位:各党支部、机关团委",
     "7月1日前", ["党委办公室"], ["各党支部", "机关团委"]),
    ("9、由组织部牵头,6月底前完成党员信息采集。责任单位:各党支部", "6月底前", ["组织部"], ["各党支部"]),
    ("9、“七一”前夕走访慰问困难党员(牵头单位:党政办;配合单位:工会、妇联)", "“七一”前夕",
     ["党政办"], ["工会", "妇联"]),
    ("9、“七一”前夕走訪慰問困難黨員(牽頭單位:黨政辦;配合單位:工會、婦聯)", "“七一”前夕",
     ["党政办"], ["工会", "妇联"]),  # Traditional script: the names come out Simplified
    ("9、4月4日前组织祭扫烈士墓。责任部门:宣传科、团委活动内容:献花、重温入党誓词。", "4月4日前",
     [], ["宣传科", "团委"]),
    # a flattened table row, with or without its colons
    ("清明祭扫 4月4日前 牵头单位:团委 责任单位:各团支部", "4月4日前", ["团委"], ["各团支部"]),
    ("清明祭扫 4月4日前 牵头单位 团委 责任单位 各团支部", "4月4日前", ["团委"], ["各团支部"]),
    ("12、春节前走访慰问困难职工,参加单位有区总工会、区民政局等。", "春节前", [], ["区总工会", "区民政局"]),
    ("12、国庆节期间做好值班工作,牵头单位为党政办。", "国庆节期间", ["党政办"], []),
    # 负责人 lines name persons, and only their unit counts
    # a blank or personal 负责人 names no body: the plan is its owner's (the title's 某某街道)
    ("10、7月1日前召开纪念座谈会。负责人:", "7月1日前", ["某某街道"], []),
    ("10、7月1日前召开纪念座谈会。负责人:王建国", "7月1日前", ["某某街道"], []),
    ("10、7月1日前召开纪念座谈会。负责人:办公室 王建国", "7月1日前", ["办公室"], []),
    ("10、7月1日前召开纪念座谈会。负责人:各支部书记", "7月1日前", [], ["各支部"]),
    # any verb after a name that plainly ends a body starts its predicate; two bodies paired
    ("3月25日,中国大唐党组谋划系列党史专题学习。", "3月25日", ["中国大唐党组"], []),
    ("5月底前,市人大机关党委和临河村党支部结对共建。", "5月底前", ["市人大机关党委", "临河村党支部"], []),
    ("主题教育结束前后,县处级以上领导班子要召开一次专题民主生活会。6月底前完成。", "6月底前",
     ["县处级以上领导班子"], []),
    ("6月底前,各县(市)区、各有关部门要对排查治理情况进行重点检查。", "6月底前", [],
     ["各县(市)区", "各有关部门"]),
    # an item that opens with the unit whose duties it lists
    ("11、轮值单位。①每年年初制定协作计划;②交流工作经验。", "每年年初", ["轮值单位"], []),
]


@pytest.mark.parametrize(("line", "when", "lead", "units"), CASES, ids=[c[0][:16] for c in CASES])
def test_lead_and_units_as_plans_write_them(line: str, when: str, lead: list[str],
                                            units: list[str]) -> None:
    assert units_of(line, when) == (lead, units)


def test_the_name_a_plan_gave_a_body_is_used_for_its_short_form() -> None:
    text = ("某某学院机关党委理论学习中心组学习制度\n"
            "1、机关党委理论学习中心组由机关党委委员组成。\n"
            "2、中心组每季度集中学习一次。\n")
    [doc] = extract_text(text).documents
    [node] = doc.nodes
    assert (node.when, node.lead) == ("每季度", ["机关党委理论学习中心组"])


# ── label lines under an item's heading (units_for given the document's paragraphs) ────


def _node_units(text: str, when: str, context: bool) -> tuple[list[str], list[str]]:
    paras = paragraphs(clean_lines(text))
    for para in paras:
        for sentence in sentences(para):
            at = simplified(sentence.text).find(when)
            if at >= 0:
                return units_for(sentence, at, at + len(when), paras if context else ())
    raise AssertionError(f"{when} not in the text")


ITEM = """一、活动安排
(一)开展主题党日活动
时间:7月1日前
牵头部门:党委办公室
责任单位:各党支部、机关团委
负责人:李明
(二)召开组织生活会
时间:12月底前
责任单位:各党支部
"""


def test_label_lines_under_a_heading_apply_to_its_time() -> None:
    assert _node_units(ITEM, "7月1日前", context=True) == (["党委办公室"], ["各党支部", "机关团委"])
    assert _node_units(ITEM, "12月底前", context=True) == ([], ["各党支部"])


def test_a_node_naming_nobody_goes_to_the_addressees_and_the_texts_actors() -> None:
    text = ("某校团委2024年团日活动通知\n各团总支、各团支部:\n一、安排\n各班团支部要制定具体方案。\n"
            "各工会小组派5名选手参加。\n以各系为单位组织观看。\n二、时间\n活动时间为2024年3月4日—3月28日。\n")
    [doc] = extract_text(text).documents
    [node] = doc.nodes
    assert node.units[:2] == ["各团总支", "各团支部"]
    assert {"各班团支部", "各工会小组", "各系"} <= set(node.lead + node.units)
    assert "主送单位" in (node.note or "") and "全文" in (node.note or "")


def test_label_lines_of_the_next_item_do_not_count() -> None:
    text = "(一)开展主题党日活动,7月1日前完成。\n(二)召开组织生活会\n牵头部门:组织科\n"
    assert _node_units(text, "7月1日前", context=True) == ([], [])


def test_a_paragraph_goes_on_from_the_subject_of_the_one_before() -> None:
    text = "区妇联将以“巾帼建新功”为主题开展系列活动。\n主要活动有:3月8日召开表彰大会。\n"
    assert _node_units(text, "3月8日", context=True) == (["区妇联"], [])
    assert _node_units(text, "3月8日", context=False) == ([], [])


def test_a_node_that_names_nobody_goes_to_the_addressees_with_a_note() -> None:
    text = ("某学院关于2024年国庆节值班工作的通知\n各二级学院,院直各单位:\n"
            "一、值班表于9月28日前报送。\n二、国庆节期间做好安全检查。\n")
    [doc] = extract_text(text).documents
    node = next(n for n in doc.nodes if n.written == "国庆节期间")
    assert (node.lead, node.units) == ([], ["各二级学院", "院直各单位"])
    assert "L2" in node.note and "核对" in node.note


def test_failing_addressees_a_bare_node_goes_to_the_units_the_text_gives_a_part() -> None:
    text = ("某区2024年春节慰问工作方案\n一、慰问时间\n春节前完成走访慰问。\n二、组织领导\n"
            "参加单位有区工会、区人社局等。由区委组织部牵头,统筹协调各项工作。\n")
    [doc] = extract_text(text).documents
    node = next(n for n in doc.nodes if n.written == "春节前")
    assert node.lead == ["区委组织部"]
    assert node.units == ["区工会", "区人社局"]
    assert "L5" in node.note


def test_this_union_is_the_one_the_text_named_before() -> None:
    text = ("某新城机关工会2024年工作安排\n一、生日会\n12月6日,某某新城直属机关工会为会员举办了生日会。"
            "该工会每月底为下月过生日的会员集中庆生。\n")
    [doc] = extract_text(text).documents
    node = next(n for n in doc.nodes if n.written == "每月底")
    assert node.lead == ["某某新城直属机关工会"]


def test_a_numbered_heading_ending_like_a_title_does_not_start_a_new_document() -> None:
    text = ("2024年党支部主题党日活动计划\n为落实要求,现结合会计学院学生第二党支部工作实际,制定本计划。\n"
            "一、总体思路\n主题党日活动是党支部的基本制度,要按月开展,每次活动要有记录。\n二、基本要求\n"
            "(一)、时间安排\n1.党支部每月月初开展主题党日活动。\n")
    [doc] = extract_text(text).documents
    node = next(n for n in doc.nodes if n.written == "每月月初")
    assert node.lead == ["会计学院学生第二党支部"]


def test_a_notices_addressees_do_the_work_its_nodes_give_no_unit_for() -> None:
    text = ("某区关于2024年党建工作的通知\n各党支部、机关各科室:\n"
            "一、3月底前,区委组织部牵头完成党员信息核查。\n二、各单位于6月底前报送总结。\n"
            "三、团委、妇联配合,9月底前开展评议。\n")
    [doc] = extract_text(text).documents
    first, second, third = doc.nodes
    assert (first.lead, first.units) == (["区委组织部"], ["各党支部", "机关各科室"])
    assert "主送" in first.note and "L2" in first.note
    assert second.units == ["各单位", "各党支部", "机关各科室"]  # 各单位: the notice's units
    assert third.units == ["团委", "妇联"] and not third.note  # its own units stay


# ── names ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", [
    "党委办公室", "机关党委", "镇党委", "区委组织部", "市委宣传部", "县委统战部", "街道党工委", "机关党总支",
    "第二党支部", "团委", "校团委", "各团支部", "各基层团组织", "各基层团委", "区妇联", "区总工会", "镇纪委",
    "省纪委监委", "县纪工委", "区教育局", "党群服务中心", "实验学校", "艺术学院", "人民医院", "幸福社区",
    "村委会", "居委会", "东城街道", "各乡镇(街道)", "各二级学院党委", "各市(州)", "各县、区委", "消防中队",
    "宣传组", "年级组", "保卫科", "应急办", "院办公室", "市政府", "轮值单位", "牵头部门", "各班级",
    "各个党支部", "xx镇机关党支部", "各团学组织", "各直属机构", "上饶高新区", "各试点乡镇", "驻点县",
    "帮扶单位", "各县(市)区", "各省辖市", "县处级以上领导班子", "社区两委会", "村两委", "集团公司党政",
])
def test_unit_names(name: str) -> None:
    assert is_unit(name)


@pytest.mark.parametrize("text", [
    "参与党委", "组织社区", "庆“七一”组织社区", "联系消防中队", "各基层团", "轮流组织", "③每年初组织",
    "带队", "举办", "干部", "全体党员", "党支部书记", "主题党日活动", "市委组织部联合市委宣传部", "张三",
    "组织", "单位", "每年党委", "所产生的收益全部归内容提供方所", "集中学", "规定时段内每班",
    "区领导慰问分成二个慰问小组", "县直机关工委组织约谈县委县政府大院内机关单位", "下设办公室于医务部",
    "但党支部", "平时由支部", "现就进一步深化各支部", "即支部", "一篇高质量的党校", "费收据到组织部",
    "激发各党支部", "现制定市人大机关", "据四川省纪委监委宣传部", "帮助村党支部", "按规定实行支部",
    "单位汇总后报地区局机关工会", "活动中心多功能厅", "保证党委", "镇党委宣传委员兼任中心组",
    "基层党组织专题组织生活会应于局党委", "特制定本年度工会", "率xx市妇联",
])
def test_not_unit_names(text: str) -> None:
    assert not is_unit(text)


def test_persons_and_groups() -> None:
    assert is_person("王建国") and is_person("欧阳明") and not is_person("党委办公室")
    assert is_group("各党支部") and is_group("全镇各级工会组织") and is_group("每个党支部")
    assert not is_group("镇党委")


def test_split_names_keeps_names_whole_and_drops_what_is_not_a_name() -> None:
    assert split_names("市委党联办和各县、区委组织部") == ["市委党联办", "各县、区委组织部"]
    assert split_names("宣传部、统战部等相关单位") == ["宣传部", "统战部"]
    assert split_names("集团下属的各子公司、控股公司党委") == ["各子公司", "控股公司党委"]
    assert split_names("支委和校委成员") == ["支委", "校委"]
    assert split_names("党委办公室各党支部") == ["党委办公室", "各党支部"]  # a lost space
    assert split_names("镇直各单位") == ["镇直各单位"]
    assert split_names("学校各院系分团委、各班团支部") == ["学校各院系分团委", "各班团支部"]  # the school's
    assert split_names("全镇各级工会组织") == ["全镇各级工会组织"]
    assert split_names("创先争优指导小组及办公室") == ["创先争优指导小组", "创先争优指导小组办公室"]


def test_names_in_a_label_value() -> None:
    assert names_in("办公室王建国") == ["办公室"]
    assert names_in("王建国") == []
    assert names_in("宣传科活动内容") == ["宣传科"]
    assert unit_prefix("党委办公室主任李明") == "党委办公室"
    assert unit_prefix("按时完成") is None


def test_labels() -> None:
    [lead, units] = labels("(牵头单位:镇组织办;责任单位:各村党支部、镇直各单位)")
    assert (lead.role, lead.names) == ("lead", ("镇组织办",))
    assert (units.role, units.names) == ("units", ("各村党支部", "镇直各单位"))
    [blank] = labels("负责人:")
    assert blank.names == ()
    [person] = labels("负责人:办公室张三")
    assert (person.role, person.names) == ("subject", ("办公室",))
    assert labels("牵头单位要于每年年初组织召开联席会议") == []  # a subject, not a label
    assert [(x.role, x.names) for x in labels("牵头单位党委办公室责任单位各党支部")] == [
        ("lead", ("党委办公室",)), ("units", ("各党支部",))]
    # a bracket inside a name does not end the value; one closing the label's bracket does
    [inside] = labels("承办单位:县文明办、县直机关党(工)委、社区党委")
    assert inside.names == ("县文明办", "县直机关党(工)委", "社区党委")
    [closing] = labels("开展读书活动(责任单位:各支部)。")
    assert closing.names == ("各支部",)


def test_subject_of() -> None:
    assert subject_of("各党支部") == ["各党支部"]
    assert subject_of("由镇工委") == ["镇工委"]
    assert subject_of("党员干部") == []
    assert subject_of("组织社区") == []


def test_full_names() -> None:
    text = "结合第三党支部工作实际,制定本计划。党支部每月开展一次主题党日。"
    assert own_bodies(text) == ["第三党支部"]
    assert full_names(["党支部"], own_bodies(text)) == ["第三党支部"]
    known = ["某某市总工会"]
    assert full_names(["该工会"], known) == ["某某市总工会"]
    assert full_names(["该工会"], []) == ["该工会"]
    # two branches named in full: a bare 党支部 could be either, so it stays as written
    two = "甲村党支部由五名党员组成。乙村党支部由七名党员组成。"
    assert full_names(["党支部"], own_bodies(two)) == ["党支部"]
