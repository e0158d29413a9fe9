"""Unit names as plans write them, and the labelled lines that assign them.

A unit's name is known by how it ends (党委, 党支部, 团委, 妇联, 工会, 办公室, 局, 中心,
学校, 医院, 社区, 街道, 宣传组…) and by what it may not hold: a verb at its start
(参与党委, 组织社区 are a predicate and its object), a time, a clause's particles. Names
are kept as written; only what is plainly not part of one comes off: 等(相关)单位, the
owner of a unit (股份公司下属的各子公司 → 各子公司) and the people of a unit
(校委成员 → 校委, 党支部书记 → 党支部). A person (张三, 负责人：办公室张三) is never a unit.

Labels: 牵头单位/牵头部门 → lead; 责任/配合/协办/协助/参与/参加/承办单位 (or 部门, 人…) →
units; 负责单位/负责人 → lead for one body, units for a group. A label's value runs to
the next stop or the next label (责任部门:宣传科活动内容:… → 宣传科).

Full names: a bare name (领导小组, 中心组, 党支部, 该工会) is called by the full name the
text gave that body: set up (成立了工会“创先争优”活动领导小组), defined (机关党委理论学习
中心组由…组成), said to be the plan's own (结合第三党支部工作实际), or the document's own
committee (镇党委 for 党委) — only when the text names one such body, not two.

Names are matched on Simplified text (``plans._segment.simplified``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from plans._segment import simplified

__all__ = ["Label", "antecedents", "assigned", "founded", "full_names", "is_group", "is_person", "is_unit",
           "labels", "listed", "names_in", "own_bodies", "split_names", "unit_prefix"]

# How a unit's name ends. The look-behinds keep out words that end the same way and name
# no one: 举办 (a verb), 之处, 场所, 带队, 分组, 网站, 值班.
_ORG = re.compile(
    r"(?:委员会|村委会|居委会|委|党组|总支|支部|领导小组|领导班子|小组|中心组|专班|(?<![分编重改一二三两四五六七八九十])组"
    r"|办公室|值班室|[科处教研编查务案事调宣]室|办事处|(?<![举承主协创开兴督包代申查])办|部门|部|(?<![格布结开当大全])局|(?<!功能)(?<![议大展客餐])厅"
    r"|(?<![之到好相妥善益长短难深])处|(?<![学本专理文工])科|(?<!网)站"
    r"|(?:研究|派出|事务|服务|司法|财政|卫生|税务|管理|农技|林业|水利|兽医|文化|供电|信用|国土|城管|检测|设计|工作|保健|门诊)所"
    r"|(?<![排带组入归列梯])队|中心|单位|机关|(?:党|团|团学|工会|群团|基层|社会|妇女|青年)组织"
    r"|(?:工|协|学|商|联合|分|总|理事|董事|两委|支委)会|两委|(?<=[司委局院校团])党政|(?:妇|侨|文|残|工商|学|社|青)联|政府|人大|政协"
    r"|公司|集团|企业|(?:报|出版|合作|杂志|通讯)社|学校|党校|大学|(?<![集其高])中学|(?<![从])小学|幼儿园|(?<![庭大合])院"
    r"|(?<![在离返回到留入全母本])校|(?<=^各)系|(?:文|理|工|中文|外语|数学|物理|化学|艺术|体育|音乐|美术|经济|管理|计算机|法律|新闻)系|街道|社区|班级|年级|[各每]班|(?:共青|代表|讲师|宣讲|艺术)团"
    r"|(?<![场宾旅饭])馆|电视台|电台|机构|(?:高新|开发|经开|新|园|保税|示范|试验|功能|管委)区)"
    r"(?:\([^()]{1,8}\))?$")
# Groups named by a place alone: 各地, 各乡镇, 各市(州), 各县、区.
_PLACES = re.compile(r"^[各全](?:(?:省辖|省直管|地级|县级)?[地县市区镇乡村州盟旗]|乡镇|镇区|县区|县市区|市州|街道)"
                     r"(?:\([^()]{1,8}\)[区县市]?)?(?:、[县市区镇乡村])*$")  # 各县(市)区
# What a name ending like a unit may still not be: people, a part (部分), work (工作); or a
# clause (a preposition or conjunction inside, two 的, anything but Chinese and brackets).
_NOT_ORG = re.compile(
    r"(?:干部|全部|内部|局部|大部|部分|同志|群众|党员|职工|领导|书记|主任|成员|人员|社会|机制|工作|生活"
    r"|活动|小组长|党组织生活)$|[对把为将要是给或从向与及]|(?<=.)由|如果|若|没有|以(?![上下](?:单位|领导班子))|中(?![心央共学层队国小直华])|(?<!所)在|按照|通过"
    r"|^各[种项类自]|^各个(?![\u4e00-\u9fff]*(?:支部|党委|总支|单位|部门|科室|处室|股室|团委|团支部|组织|小组))|的.*的|^.{13,}的|[^\u4e00-\u9fff()“”、×*xX]")
# A name that starts with a verb or a function word is a predicate and its object.
_VERB_START = re.compile(
    r"^(?:组织(?![部科处办股室])|抓好|重点|实行|决定|建设成|成员有|下设|但|平时|现(?=[就将制印提])|并且|而且|其中|即|"
    r"激发|激励|鼓舞|特别是|尤其是|据|帮助|帮扶(?!组|小组|队)|按(?!摩)|保证|保障|特(?=[制成印提就])|率|"
    r"策划|包装|指导(?!组|小组)|引导|推动|开展|加强|深入|认真|坚持|结合|按照"
    r"|围绕|通过|推进|建立|完善|做好|落实|实现|提高|促进|积极|大力|全面|进一步|充分|注重|鼓励|支持|选派|确保"
    r"|制定|评选|表彰|召开|举办|形成|打造|报(?!社)|交(?![通警])|上报|报送|向|于|参与|参加|配合|协助"
    r"|协调(?!组|小组|办)|会同|联系|联合(?!会)|邀请|动员|庆祝|庆(?=[“\"「])|纪念(?!馆)|带领|带动|开办|开设"
    r"|要求|请|由|经(?![济发信贸开管])|调动|活动地点|活动时间|地点|在|对|为|与|同|和(?!平)|及|或|并|督促|监督(?!组|委)|检查(?!组)"
    r"|督查(?![室组科处办])|负责|牵头|承办|主办|协办|安排|确定|成立|主持|汇总|审批|推荐|发动|号召|联动|轮流"
    r"|分别|统一(?!战)|共同|具体|定期|采取|依托|利用|提升|强化|深化|严格|健全|发挥|突出|明确|把|将|让|使"
    r"|给|针对|以|从|自(?![然治])|至|到|就(?!业)|跟|今年|每年|每月|每季|每周|年初|年底|年中|月初|月底)")
# Names of a role rather than a body (轮值单位, 相关部门): units as the text calls them.
_ROLE_NAME = re.compile(r"^(?:各|各个)?(?:牵头|责任|配合|参与|协办|承办|主办|负责|轮值|成员|相关|有关|共建"
                        r"|联系|结对|帮扶|挂点|包联|对口|试点|示范)(?:单位|部门)$")
# Verbs and counts inside a run of words: a clause, not a name (镇工委组织 is a body and a verb,
# 市委组织部联合市委宣传部 two bodies and a verb).
_VERB_INSIDE = re.compile(r"进行|开展|推进|实施|落实|加强|提高|建立|完善|抓好|做好|参加|组织开展|根据|按照"
                          r"|结合|围绕|通过|表彰|评选|一批|一次|一个|一名|一支|以上(?!单位|领导班子)|以下(?!单位)|报送|上报|提交"
                          r"|情况|方案|材料|名单|清单|报表|总结|心得|分成|分为|汇总|兼任|结队|[应须要]于|委组织(?![部科处办股室])|下设|一篇|[^\u4e00-\u9fff]?到(?=[\u4e00-\u9fff]{2,}[部委办局室])|[一二两三四五六七八九十]个|[内里]每|时段|[委办部局]组织$|交(?![通警流])|(?<=.)(?:联合(?!会)|会同|协同|牵头|配合|协助)")
# Too bare to name anyone.
_BARE = {"组织", "单位", "部门", "中心", "小组", "工作组", "组", "部", "局", "委", "处", "科", "站", "所", "队",
         "院", "校", "团", "党组织", "基层党组织", "机关", "公司", "企业", "会", "办"}
# The people of a unit, written after it: 校委成员, 党支部书记, 团支部全体成员.
_PEOPLE = re.compile(r"(?:全体|广大)?(?:主要)?(?:(?:成员|委员|负责人|负责同志|书记|副书记|主任|副主任|组长|副组长"
                     r"|秘书|干部|党员|团员|学员|会员|职工|人员|同志|领导)(?:和|、)?)+$")  # 全体干部职工
# The commonest surnames: a person's name on a 负责人 line is one of them and 1-3 more.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
             "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
             "邵万钱严覃武戴莫孔汤常康易乔赖文")


# Places by their part in the plan: 各试点乡镇, 驻点县, 示范村.
_ROLE_PLACES = re.compile(r"^各?(?:试点|示范|重点|驻点|联系|帮扶|挂点|先行|结对)(?:乡镇|乡|镇|县|区|市|村|社区|街道)"
                          r"(?:\([^()]{1,8}\))?$")


@lru_cache(maxsize=65536)  # pure, and asked of the same pieces again and again per document
def is_unit(name: str) -> bool:
    """Whether ``name`` is one unit's whole name (or a group: 各党支部, 各乡镇(街道))."""
    if _PLACES.match(name) or _ROLE_NAME.match(name) or _ROLE_PLACES.match(name):
        return True
    return (2 <= len(name) <= 24 and bool(_ORG.search(name)) and name not in _BARE
            and not _VERB_START.match(name) and name.count("“") == name.count("”")
            and not _NOT_ORG.search(name) and not _VERB_INSIDE.search(name)
            and not re.search(r"每(?!个|[班组])", name))


def is_group(name: str) -> bool:
    """各党支部, 全镇各级工会组织, 每个党支部, 市直各有关部门: many units; else one."""
    return "各" in name or name.startswith(("全", "每"))


def is_person(text: str) -> bool:
    """张三, 欧阳明: a person's name (a surname and one to three more), not a unit."""
    return (2 <= len(text) <= 4 and (text[0] in _SURNAMES or text[:2] in ("欧阳", "司马", "诸葛", "上官"))
            and re.fullmatch(r"[\u4e00-\u9fff]+", text) is not None and not is_unit(text))


def unit_prefix(text: str) -> str | None:
    """The longest unit name ``text`` starts with: 办公室张三 → 办公室, 宣传科活动内容 → 宣传科."""
    if not re.match(r"[\u4e00-\u9fff]", text):
        return None
    for stop in range(min(len(text), 24), 1, -1):
        if is_unit(text[:stop]):
            return text[:stop]
    return None


def _clean(piece: str) -> str:
    """What of a listed piece is the name: no 等单位, quotes, owner (下属的) or 我社区的."""
    piece = re.sub(r"等(?:相关|有关|其他)?(?:单位|部门|组织)?$", "", piece.strip(" “”\"")).strip()
    piece = re.sub(r"^我[\u4e00-\u9fff]{1,3}?的(?=[\u4e00-\u9fff]{2})", "", piece)  # 我社区的自愿者小组
    owner = re.match(r"^.{2,16}?(?:下属|所属|直属|属下)的", piece)
    if owner and is_unit(piece[owner.end():]):
        piece = piece[owner.end():]  # 股份公司下属的各子公司: the owner is another unit
    if not is_unit(piece) and (m := _PEOPLE.search(piece)) and is_unit(piece[: m.start()]):
        piece = piece[: m.start()]  # 校委成员 → 校委: the unit of the people named
    return piece


def split_names(text: str) -> list[str]:
    """A written list of names, each cleaned: 市委党联办和各县、区委组织部 → [市委党联办, 各县、区委组织部]."""
    out: list[str] = []
    for chunk in re.split(r"(?<=[办部委局会室组科站所团队联校院心位府道区司关)])(?:和|及|与|以及)"
                          r"|及(?=其他|其它|有关|相关|各)", text):
        pieces: list[str] = []
        for part in _outside_brackets(chunk):
            part = _clean(part)
            if pieces and re.fullmatch(r"各[县市区镇乡村]", pieces[-1]):
                pieces[-1] += "、" + part  # 各县、区委: one group, each county's and district's
            elif part:
                pieces.extend(_unglue(part))
        for piece in pieces:  # 创先争优指导小组及办公室: the group's own office
            if piece == "办公室" and out and out[-1].endswith("小组"):
                piece = out[-1] + piece
            out.append(piece)
    return out


def _outside_brackets(text: str) -> list[str]:
    """``text`` split at 、 , ; that are not inside brackets: 单位党委(总支、支部) stays one."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "((") - (char in "))")
        if char in "、,;" and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _unglue(piece: str) -> list[str]:
    """党委办公室各党支部 (two names run together where a space was lost) → both; 镇直各单位 stays."""
    at = piece.find("各", 2)
    owner = re.search(r"(?:学校|公司|集团|大学|学院|医院|机关)$", piece[:at]) if at > 0 else None
    # 学校各院系分团委 is the school's committees, one name: a whole body owning the 各X
    if at > 0 and not owner and is_unit(piece[:at]) and not _PLACES.match(piece[:at]) and is_unit(piece[at:]):
        return [piece[:at], *_unglue(piece[at:])]
    return [piece]


def names_in(text: str) -> list[str]:
    """The units a list names (persons and words that are not names dropped)."""
    out = []
    for name in split_names(text):
        if not is_unit(name):
            name = unit_prefix(name) or ""  # 办公室张三, 宣传科活动内容: the name at its start
        if name and name not in out:
            out.append(name)
    return out


# ── labels ────────────────────────────────────────────────────────────────────

_LEAD_ROLES = ("牵头", "主办", "主责")
_SHARED_ROLES = ("负责",)  # lead for one body, units for a group
_ROLES = r"牵头|主办|主责|责任|配合|协办|协助|参与|参加|承办|实施|负责|督办"
_KINDS = r"单位|部门|处室|科室|主体|领导|人员|对象|人"
_BODIES = ("单位", "部门", "处室", "科室")  # labels that may go without their colon
# 牵头单位:X, and in running text or a table row without colons 牵头单位X / 牵头单位为X /
# 参加单位有X.
_LABEL = re.compile(rf"(?P<role>{_ROLES})(?P<kind>{_KINDS})(?:\s*[:：]\s*|(?P<bare>(?:为|是|有)?(?=\S)))")
# The label word alone, where a value stops: 牵头单位:团委责任单位:各团支部.
_LABEL_WORD = re.compile(rf"(?:{_ROLES})(?:{_KINDS})")
# Before a label word that is a noun of the sentence, not a label: 各牵头单位, 由责任单位.
_IN_SENTENCE = "各的由为是和与及向对将请凡"
_VALUE_END = re.compile(r"[;。)\n]|[::]")


@dataclass(frozen=True)
class Label:
    """One label and the names it gives, where it sits in the text."""

    role: str  # "lead", "units" or "subject" (lead for one body, units for a group)
    names: tuple[str, ...]
    start: int
    end: int


def _value_end(text: str, start: int) -> int:
    """Where a label's value ends: a stop, or a ) that closes a bracket opened before the
    label ((责任单位:各支部)); a bracket inside a name (县直五一党(工)委) does not end it."""
    for stop in _VALUE_END.finditer(text, start):
        if stop.group(0) != ")" or text.count("(", start, stop.start()) <= text.count(")", start, stop.start()):
            return stop.start()
    return len(text)


def labels(text: str) -> list[Label]:
    """Every 牵头单位：… / 责任部门：… / 负责人：… of ``text`` (Simplified), blank ones too."""
    out: list[Label] = []
    for m in _LABEL.finditer(text):
        value_start = m.end()
        if m.start() and text[m.start() - 1] in _IN_SENTENCE:
            continue
        if m.group("bare") is not None and (m.group("kind") not in _BODIES
                                            or unit_prefix(text[value_start:]) is None):
            continue  # 牵头单位要…, 党支部负责人每年…: words of the sentence; 牵头单位团委: a row
        value_end = _value_end(text, value_start)
        value = text[value_start:value_end]
        following = _LABEL_WORD.search(value)
        if following:  # 牵头单位:办公室责任单位:各支部
            value, value_end = value[: following.start()], value_start + following.start()
        role = m.group("role")
        kind = "lead" if role in _LEAD_ROLES else "subject" if role in _SHARED_ROLES else "units"
        out.append(Label(kind, tuple(names_in(value.strip())), m.start(), value_end))
    return out


def assigned(found: list[Label]) -> tuple[list[str], list[str]]:
    """(lead, units) a run of labels gives."""
    lead: list[str] = []
    units: list[str] = []
    for label in found:
        for name in label.names:
            into = lead if label.role == "lead" or (label.role == "subject" and not is_group(name)) \
                else units
            if name not in into:
                into.append(name)
    return lead, units


# ── full names ────────────────────────────────────────────────────────────────

def listed(text: str) -> list[str]:
    """The names ``text`` lists when every piece is a unit (else [])."""
    names = split_names(text)
    return names if names and all(is_unit(n) for n in names) else []


_FOUNDED = re.compile(r"成立(?:了)?([^,,。;;、:]{2,30}?(?:领导小组|工作小组|指导小组|办公室|委员会|工作组|督导组))")


def founded(text: str) -> list[str]:
    """Full names a text gives its bodies: 我们成立了工会“创先争优”活动领导小组 → that name."""
    return [simplified(m.group(1)) for m in _FOUNDED.finditer(simplified(text))
            if is_unit(simplified(m.group(1)))]


_LEVELLED = re.compile(r"[镇乡县区市局](?:党委|党工委|工委|党组)")
# What a bare name is short for, once the text has named one such body in full.
_GENERIC = re.compile(r"(?:党委|党总支|党支部|总支|团委|团支部|工会|妇联|党组|党工委|中心组|领导小组|纪委)$")
_OWN = re.compile(r"结合(?:我们)?([^,;。]{2,24}?)(?:的)?(?:工作)?实际")
# 机关党委理论学习中心组由机关党委委员组成: a body defined where the text begins with it.
_DEFINED = re.compile(r"(?:^|[,;。:、\s])([^,;。:、\s]{2,24}?)由[^,;。]{2,30}?组成")


def own_bodies(text: str) -> list[str]:
    """The document's own bodies: 镇党委 for a bare 党委 in a town's plan (most named first),
    then the one body of a kind that the text says is its own or defines (会计学院学生第二党支部
    for 党支部 in 结合会计学院学生第二党支部工作实际; 机关党委理论学习中心组 for 中心组 in
    机关党委理论学习中心组由…组成)."""
    simple = simplified(text)
    counts: dict[str, int] = {}
    for m in _LEVELLED.finditer(simple):
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    named: dict[str, set[str]] = {}
    candidates = [n for m in _OWN.finditer(simple) for n in listed(m.group(1))]
    candidates += [n for m in _DEFINED.finditer(simple) for n in listed(m.group(1))]
    for name in candidates:
        kind = _GENERIC.search(name)
        if kind and kind.group(0) != name and not is_group(name):
            named.setdefault(kind.group(0), set()).add(name)
    unique = [next(iter(names)) for names in named.values() if len(names) == 1]
    return sorted(counts, key=lambda name: -counts[name]) + [n for n in unique if n not in counts]


def antecedents(text: str) -> list[str]:
    """The bodies of a generic kind (工会, 党支部 …) that ``text`` names in full, latest first:
    what 该工会 or 本支部 later refers to."""
    simple = simplified(text)
    found: list[str] = []
    for m in _GENERIC_ANYWHERE.finditer(simple):
        before = re.split(r"[^\u4e00-\u9fff()]", simple[max(0, m.start() - 20): m.start()])[-1]
        for start in range(len(before)):
            name = before[start:] + m.group(0)
            if not name.startswith(("该", "本", "各")) and is_unit(name):
                found.append(name)
                break
    return list(dict.fromkeys(reversed(found)))


_GENERIC_ANYWHERE = re.compile(r"党委|党总支|党支部|总支|团委|团支部|工会|妇联|党组|党工委|纪委")


def full_names(names: list[str], known: list[str]) -> list[str]:
    """领导小组 → 工会“创先争优”活动领导小组 when the text set that body up before; 该工会 →
    the 工会 the text named."""
    out = []
    for name in names:
        base = name[1:] if name.startswith(("该", "本")) and _GENERIC.fullmatch(name[1:]) else name
        longer = [full for full in known if full.endswith(base) and full != base]
        out.append(longer[0] if longer else name)
    return list(dict.fromkeys(out))
