"""What a sentence says besides its time: who (the units) and what (a title for the node).

Units: a paragraph's (牵头单位:…;责任单位:…) block names them for every node in it;
otherwise the subject of the node's clause, or of a clause near it (a run of names
ending like a unit — 党委, 支部, 办, 局, 各X — followed by a verb: 各党支部要…,
局党委将…, 由镇工委组织…), the recipient (…交镇党建办), and failing those the
previous sentence's subject (or, for a step heading such as 前期准备阶段(3月)。,
the next one's). Groups (各…, 全…) are 责任单位 (units); one body is 牵头 (lead).

Titles: the node's clause without its time (创建方案于4月底交镇党建办 → 创建方案交镇党建办)
when the time is an adverbial, the clause as it is when the time is part of the
action (开展清明节扫墓), else the nearest clause that acts (召开…大会); Simplified,
without the subject and filler words, at most 40 characters.
"""

from __future__ import annotations

import re

from plans._segment import ENUMERATOR, Paragraph, Sentence, clauses, sentences, simplified

__all__ = ["founded", "full_names", "own_bodies", "subject_of", "title_for", "units_for"]

# Where a subject may end: a time right after it (各部门年初制定…, 镇党委今年将…).
_TIME_START = re.compile(r"每|\d|今年|全年|本年|年[初底末内]|[上下]半年|元月|[“\"](?:三八|五一|五四|六一|七一|八一)"
                         r"|元旦|春节|清明|国庆|农历")

# ── units ─────────────────────────────────────────────────────────────────────

# How a unit's name ends (党委, 支部, 镇党建办, 市委组织部, 各县(区)), and what no unit is called.
_ORG = re.compile(
    r"(?:党委|党组|党工委|工委|委员会|支部|总支|办公室|领导小组|小组|中心组|办|部门|部|局|厅|科|站|所|中心"
    r"|单位|组织|协会|工会|联合会|分会|学校|学院|党校|院|校|队|街道|社区|委|组|团)(?:\([^()]{1,6}\))?$")
_NOT_ORG = re.compile(r"(?:干部|全部|内部|局部|大部|部分|同志|群众|党员|职工|领导|书记|主任|成员|人员|社会|机制"
                      r"|工作|生活|活动|小组长|党组织生活)$|[对把以为将要是]|中(?![心央共学层队])|(?<!所)在|按照"
                      r"|通过|^各[种项类个自]"
                      r"|的.*的|^.{13,}的")
# Groups named without a unit's ending.
_GROUPS = {"各地", "各县", "各区", "各市", "各镇", "各乡镇", "各村", "各县(区)", "各县(市、区)"}
# What follows a clause's subject: a modal, an adverb or a verb (各党支部要…, 镇党委确定…).
_FOLLOWERS = re.compile(
    r"要|将|应|须|必须|负责|牵头|带头|统一|具体|定期|适时|结合|按照|根据|组织|开展|召开|举办|举行|上报|报送"
    r"|确定|成立|建立|制定|做好|抓好|加强|积极|认真|继续|全面|及时|进一步|要求|可|也要|于|(?<!所)在|对|以|每|年初"
    r"|年底|年末|今年|务必|切实|广泛|深入|坚持|大力|集中|统筹|总结|与|和|同|高度|采取|通过|围绕|指导|督促"
    r"|创建|打造|推行|实施|实行|设立|参与|选派|研究|决定|表彰|评选|命名|部署|检查|督查"
)
# A "name" that starts with or holds a verb is a predicate, not a unit.
_VERB_START = re.compile(r"^(?:组织(?!部)|抓好|重点|指导|引导|推动|开展|加强|深入|认真|坚持|结合|按照|围绕|通过|推进|建立"
                         r"|完善|做好|落实|实现|提高|促进|积极|大力|全面|进一步|充分|注重|鼓励|支持|选派|确保|制定"
                         r"|评选|表彰|召开|举办|形成|打造|报|交|上报|报送|向|于)")
_VERB_INSIDE = re.compile(r"进行|开展|推进|实施|落实|加强|提高|建立|完善|抓好|做好|参加|组织开展|根据|按照"
                          r"|结合|围绕|通过|表彰|评选|一批|一次|一个|一名|一支|以上|以下|报送|上报|提交|交"
                          r"|情况|\d|[委办部局]组织$")  # 镇工委组织(表彰活动): a body and a verb
# Too bare to name anyone.
_BARE = {"组织", "单位", "部门", "中心", "小组", "工作组", "组", "部", "局", "委", "处", "科", "站", "所", "队", "院",
         "校", "团", "党组织", "基层党组织"}
# Words before a subject: 由镇工委组织…, 请各乡镇….
_LEAD_WORDS = re.compile(r"^(?:我们|我局|我镇|我县|我市|我区)?(?:由|请|要求|并|同时|其中|凡|经|另外|此外|还要)")
# Whom the work goes to: 交镇党建办, 报送县委组织部.
_RECIPIENT = re.compile(r"(?:交|交至|报至|报送|上报|送交|提交|上交|报)(?:给|到|至)?([^,,。;;、:()()]{2,30})")
# (牵头单位:市委组织部;责任单位:各县、区委,市直各党工委)
_BLOCK = re.compile(r"(牵头|责任|配合|参与|协办|主办)(?:单位|部门)\s*[::]\s*([^;;))。]+)")


def _split_names(text: str) -> list[str]:
    """市委党联办和各县、区委组织部 → [市委党联办, 各县、区委组织部]."""
    out: list[str] = []
    for chunk in re.split(r"(?<=[办部委局会室组科站所团)])(?:和|及|与)|及(?=其他|其它|有关|相关|各)", text):
        pieces: list[str] = []
        for part in re.split(r"[、,,]", chunk):
            part = re.sub(r"等(?:相关|有关)?(?:单位|部门)$", "", part.strip(" “”")).strip()
            if pieces and re.fullmatch(r"各[县市区镇乡村]", pieces[-1]):
                pieces[-1] += "、" + part  # 各县、区委: one group, each county's and district's
            elif part:
                pieces.append(part)
        for piece in pieces:  # 创先争优指导小组及办公室: the group's own office
            if piece == "办公室" and out and out[-1].endswith("小组"):
                piece = out[-1] + piece
            out.append(simplified(piece))
    return out


def _is_unit(name: str) -> bool:
    return name in _GROUPS or (2 <= len(name) <= 24 and bool(_ORG.search(name))
                               and name not in _BARE and not _VERB_START.match(name)
                               and name.count("“") == name.count("”")
                               and not _NOT_ORG.search(name) and not _VERB_INSIDE.search(name))


def subject_of(prefix: str) -> list[str]:
    """The units ``prefix`` names when it is a clause's whole subject (else [])."""
    prefix = _LEAD_WORDS.sub("", prefix.strip(" “”"))
    if not prefix or len(prefix) > 30:
        return []
    names = _split_names(prefix)
    return names if names and all(_is_unit(n) for n in names) else []


def _subject(clause: str) -> list[str]:
    """The longest run of units at the start of ``clause`` that a verb or a time follows."""
    return _subject_span(ENUMERATOR.sub("", clause, count=1))[0]


def _subject_span(clause: str) -> tuple[list[str], int]:
    """(units, where the subject ends) of ``clause``; ([], 0) when it has none."""
    ends = {m.start() for m in _FOLLOWERS.finditer(clause[:32])}
    ends |= {m.start() for m in _TIME_START.finditer(clause[:32])}
    ends.add(len(_EDGES.sub("", clause)))  # 已命名的党建品牌单位, 要…: the clause is the subject
    for end in sorted(ends, reverse=True):
        if end and (names := subject_of(clause[:end])):
            return names, end
    return [], 0


def units_for(sentence: Sentence, start: int, end: int) -> tuple[list[str], list[str]]:
    """(lead, units) for the node at ``start:end`` of ``sentence``."""
    block = _block(sentence.paragraph)
    if block != ([], []):
        return block
    simple = simplified(sentence.text)
    spans = clauses(simple)
    here = next((i for i, (a, b) in enumerate(spans) if a <= start < b), 0)
    names: list[str] = []
    order = [here, *range(here - 1, -1, -1), *range(here + 1, len(spans))]
    for i in order:
        a, b = spans[i]
        if (names := _subject(simple[a:b])):
            break
    if not names:
        names = _neighbour_subject(sentence)
    lead = [n for n in names if not _is_group(n)]
    units = [n for n in names if _is_group(n)]
    recipient = _recipient(simple[end: spans[here][1]])
    if recipient and recipient not in lead:
        units, lead = units + lead, [recipient]
    return lead, units


def _recipient(rest: str) -> str | None:
    """镇党建办 in “…将创建方案交镇党建办(审核)”: whom the work goes to."""
    for m in _RECIPIENT.finditer(rest):
        name = m.group(1)
        for stop in range(len(name), 1, -1):
            if _is_unit(name[:stop]):
                return name[:stop]
    return None


def _is_group(name: str) -> bool:
    """各党支部, 全镇各级工会组织, 市直各有关部门: many units (责任单位); else one (牵头)."""
    return "各" in name or name.startswith("全")


def _neighbour_subject(sentence: Sentence) -> list[str]:
    """For a step heading (前期准备阶段(3月)。) the subjects of the rest of its paragraph;
    else those of the previous sentence (every part of it up to the 。 before)."""
    found = sentences(sentence.paragraph)
    index = next(i for i, s in enumerate(found) if s.start == sentence.start)
    body = ENUMERATOR.sub("", simplified(sentence.text))
    if len(body) <= 30 and re.search(r"[))]。?$", body):
        return _subjects(found[index + 1:])
    start = index - 1
    while start > 0 and not found[start - 1].text.rstrip().endswith(("。", "!", "?", "!", "?")):
        start -= 1  # 甲支部与…结对;乙支部与…结对;丙支部与…结对。 is one sentence of three parts
    return _subjects(found[max(start, 0): index])


def _subjects(found: list[Sentence]) -> list[str]:
    names = []
    for other in found:
        simple = simplified(other.text)
        names += [n for a, b in clauses(simple) for n in _subject(simple[a:b])]
    return list(dict.fromkeys(names))


_FOUNDED = re.compile(r"成立(?:了)?([^,,。;;、:]{2,30}?(?:领导小组|工作小组|指导小组|办公室|委员会|工作组|督导组))")


def founded(text: str) -> list[str]:
    """Full names a text gives its bodies: 我们成立了工会“创先争优”活动领导小组 → that name."""
    return [simplified(m.group(1)) for m in _FOUNDED.finditer(simplified(text))
            if _is_unit(simplified(m.group(1)))]


_LEVELLED = re.compile(r"[镇乡县区市局](?:党委|党工委|工委|党组)")


def own_bodies(text: str) -> list[str]:
    """The document's own committee, most named first: 镇党委 for a bare 党委 in a town's plan."""
    counts: dict[str, int] = {}
    for m in _LEVELLED.finditer(simplified(text)):
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    return sorted(counts, key=lambda name: -counts[name])


def full_names(names: list[str], known: list[str]) -> list[str]:
    """领导小组 → 工会“创先争优”活动领导小组 when the text set that body up before."""
    out = []
    for name in names:
        longer = [full for full in known if full.endswith(name) and full != name]
        out.append(longer[0] if longer else name)
    return list(dict.fromkeys(out))


def _block(para: Paragraph) -> tuple[list[str], list[str]]:
    lead: list[str] = []
    units: list[str] = []
    for m in _BLOCK.finditer(simplified(para.text)):
        names = _split_names(m.group(2))
        (lead if m.group(1) in ("牵头", "主办") else units).extend(names)
    return list(dict.fromkeys(lead)), list(dict.fromkeys(units))


# ── titles ────────────────────────────────────────────────────────────────────

_ACTIONS = re.compile(
    r"开展|召开|组织|举办|举行|部署|表彰|评选|报送|上报|报|交|提交|完成|建立|制定|实现|慰问|走访|学习|宣传|检查"
    r"|督查|测评|评议|培训|接待|发布|总结|命名|重温|分析|汇报|推荐|申报|公布|验收|复查|研究|点评|讲座|承诺|设置"
    r"|推进|启动|动员|进行|安排|参加|座谈|授牌|调查|调研|考核|整改|授课|上党课|做好|抓好|落实|评比|表扬|创建"
    r"|打造|评选|确定")
_ADVERBIAL = re.compile(r"^(?:结合|按照|根据|围绕|通过|以|为了|为|在|对|针对|随着|抓住|借助|依托)")
_MAIN_VERB = re.compile(r"开展|召开|举办|举行|部署|表彰|评选|报送|上报|提交|慰问|走访|检查|督查|测评|培训|接待"
                        r"|发布|命名|重温|申报|验收|复查|点评|授牌|建立|制定|实现|完成")
_FILLER = re.compile(r"^(?:[,,、;;:]|于|在|从|自|至少|到|至|将|要|应|并|同时|还要|也要|进一步|认真|切实|积极|扎实|计划"
                     r"|我们|我局|我镇|我市|我县|我区|隆重"
                     r"|拟|确保|力争|争取|等|的|开始|起|结束|止|为止|期间|届时|以)+")


_BRACKETS = re.compile(r"[()()]")
_EDGES = re.compile(r"^[ ,,、;;:]+|[ ,,、;;:]+$")


def title_for(sentence: Sentence, start: int, end: int) -> str:
    """A short title for the node at ``start:end`` of ``sentence`` (the action)."""
    spans = clauses(simplified(sentence.text))
    here = next((i for i, (a, b) in enumerate(spans) if a <= start < b), 0)
    a, b = spans[here]
    text = sentence.text
    before, after = text[a:start], text[end:b]
    lead_in = _BRACKETS.sub("", _clean_title(before))
    if not lead_in or subject_of(lead_in) or not _BRACKETS.sub("", _clean_title(after)) \
            or re.search(r"(?:于|在|从|自|最迟|不迟于)$", simplified(before)):
        # the time opens or closes the clause: an adverbial, left out of the title
        own = _clean_title(re.sub(r"(?:于|在|从|自|最迟|不迟于)$", "", before) + after)
        enough = 10  # a clause this long says what happens even without a verb we know
    else:  # 开展清明节扫墓: the time is part of the action
        own = _clean_title(text[a:b])
        enough = 1000
    heading = ENUMERATOR.sub("", simplified(text))
    if len(heading) <= 30 and re.search(r"[))]。?$", heading):  # 全面推进阶段(2010年10月—2011年6月)。
        return _clean_title(own or heading)
    if (len(own) >= 4 and _ACTIONS.search(simplified(own))) or (len(own) >= enough
                                                               and not own.startswith("是")):
        return own
    for i in [*range(here + 1, len(spans)), *range(here - 1, -1, -1)]:
        a, b = spans[i]
        if _ADVERBIAL.match(simplified(text[a:b])):
            continue
        other = _clean_title(text[a:b])
        if len(other) >= 4 and _ACTIONS.search(simplified(other)):
            return other
    return own or _clean_title(text[:start] + text[end:])


def _clean_title(text: str) -> str:
    simple = simplified(text)
    simple = ENUMERATOR.sub("", simple, count=1)
    simple = re.sub(r"\(\s*\)|[。;;,,::]+$", "", simple)
    for _ in range(3):
        simple = _FILLER.sub("", simple)
        simple = simple[_subject_span(simple)[1]:]
    simple = _EDGES.sub("", simple)
    if len(simple) > 40:  # start at the main verb: …的2-3个基层党组织开展…工作 → 开展…工作
        verb = _MAIN_VERB.search(simple)
        if verb and verb.start() and len(simple) - verb.start() >= 6:
            simple = simple[verb.start():]
    if len(simple) > 40:
        cut = max(simple.rfind(",", 0, 40), simple.rfind("、", 0, 40))
        simple = simple[: cut if cut > 10 else 40]
    return simple
