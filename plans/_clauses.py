"""What a sentence says besides its time: who (the units) and what (a title for the node).

Units, the most explicit first (names themselves: see plans._unitnames):

1. Labels: 牵头单位/牵头部门:X → lead; 责任/配合/协办/协助/参与/参加单位 (or 部门, 人):Y →
   units; 负责单位/负责人:Z → lead, or units for a group. They apply to the node when they
   sit in its paragraph (the label group nearest after it, else before it) or, given the
   document's paragraphs (``context``), on the label lines of the item the node is in
   (1、开展…活动 / 时间:7月1日前 / 牵头部门:党委办公室). A blank label (负责人:) or a
   person (负责人:张三) names no unit; 负责人:办公室张三 names 办公室. Failing labels, the
   item's note in brackets, as 工作要点 close each task: (市政府办公室牵头,市级各有关部门按职责
   分工负责), the first after the node, else the last of its paragraph.
2. What the sentence says of anyone: X牵头(,Y配合|参与|协办) → X lead, Y units; X为…的牵头
   部门 → X lead (…的责任单位 → units); 由X牵头|负责|
   组织… → X; X、Y按职责分工负责 → units; 在X的领导下 → X lead; 在X的支持|配合下 → X units; 以X为单位 → X units;
   经X研究 → X lead; X会同|联合Y → Y units; 联系|邀请X(与Y), 与X共同开展 → units (partners);
   组织|动员|督促|联动各X开展 → 各X units.
3. The subject of the node's clause, or of a clause near it: a run of names that a verb or a
   time follows (各党支部要…, 局党委将…, 支委和校委成员要… → 支委, 校委). A group (各X, 全X,
   每个X, and 团支部 in 各班级、团支部) is units; one body is lead.
4. Whom the node's work goes to (…交镇党建办, 报送X和Y, 向X汇报) is the lead and the
   subject's names become units, unless 1 or 2 named the lead.
5. Failing a subject: the previous sentence's (or, for a step heading such as
   前期准备阶段(3月)。, the next one's); the name an item opens with (1.牵头单位。①…);
   given ``context``, the previous paragraph's when the node's paragraph is not an item.

Titles: the node's clause without its time (创建方案于4月底交镇党建办 → 创建方案交镇党建办)
when the time is an adverbial, the clause as it is when the time is part of the
action (开展清明节扫墓), else the nearest clause that acts (召开…大会); Simplified,
without the subject and filler words, at most 40 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from plans._segment import (
    ENUMERATOR,
    Paragraph,
    Sentence,
    clauses,
    item_start,
    sentences,
    simplified,
)
from plans._unitnames import (
    Label,
    assigned,
    founded,
    full_names,
    is_group,
    is_unit,
    labels,
    own_bodies,
    split_names,
    unit_prefix,
)

__all__ = ["addressees", "document_units", "founded", "full_names", "own_bodies", "subject_of", "title_for",
           "units_for"]

# Where a subject may end: a time right after it (各部门年初制定…, 镇党委今年将…).
_TIME_START = re.compile(r"每|\d|今年|全年|本年|年[初底末内]|[上下]半年|元月|[“\"](?:三八|五一|五四|六一|七一|八一)"
                         r"|元旦|春节|清明|国庆|农历|近日|近期|日前")

# ── subjects ──────────────────────────────────────────────────────────────────

# What follows a clause's subject: a modal, an adverb or a verb (各党支部要…, 镇党委确定…).
_FOLLOWERS = re.compile(
    r"要|将|应|须|必须|负责|牵头|带头|统一|具体|定期|适时|结合|按照|根据|组织|开展|召开|举办|举行|上报|报送"
    r"|确定|成立|建立|制定|做好|抓好|加强|积极|认真|继续|全面|及时|进一步|要求|可|也要|于|(?<!所)在|对|以|每|年初"
    r"|年底|年末|今年|务必|切实|广泛|深入|坚持|大力|集中|统筹|总结|与|和|同|高度|采取|通过|围绕|指导|督促"
    r"|创建|打造|推行|实施|实行|设立|参与|选派|研究|决定|表彰|评选|命名|部署|检查|督查|拟|计划|进行|召开"
    r"|讲|上好|走访|慰问|填报|完成|落实|提交|推荐|报名|收集|整理|编制|起草|印发|发放|举荐|学习|观看|赴"
    r"|派(?!出|驻)|选送|推选"
    r"|请|有(?!关)|为|给|自行|配合|协助|协办|承办|主办|会同|联合|带队|主持|汇总|审批|推荐|按职责|分工负责|各负其责|各司其职|共同"
    # a body's own meetings: 农村党支部主题党日时间统一为每月15日; 各试点乡镇的纪念活动安排在…
    r"|主题党日|组织生活|三会一课|党课|支委会|党员大会|例会"
    r"|的(?=[^,;。的]{0,8}(?:活动|工作|会议|任务|材料|报告|计划|方案)(?:要|安排|于|在|应|须|将))"
)
# Words before a subject: 由镇工委组织…, 请各乡镇…, ③各支部….
_LEAD_WORDS = re.compile(r"^[①-⑳\-•·○●◆◇■□▪►√※]*\s*(?:我们|我局|我镇|我县|我市|我区)?"
                         r"(?:由|请|要求|并|同时|其中|凡|经|另外|此外|还要)?")
# What the subject does, when it says its part: 牵头 (lead) or 配合 (units).
_LEADS = re.compile(r"^(?:统一)?(?:牵头|主办|承办)|^(?:为|是|作为)[^,;。]{0,12}?(?:牵头|主办)(?:单位|部门)")
_HELPS = re.compile(r"^(?:要|应|须)?(?:配合|协助|协办|协同|参与|参加|按职责|分工负责|各负其责|各司其职|共同负责)"
                    r"|^(?:为|是|作为)[^,;。]{0,12}?(?:责任|配合|协办|参与)(?:单位|部门)")
_EDGES = re.compile(r"^[ ,,、;;:]+|[ ,,、;;:]+$")


def subject_of(prefix: str) -> list[str]:
    """The units ``prefix`` names when it is a clause's whole subject (else [])."""
    return list(_subject_of(prefix))


@lru_cache(maxsize=65536)  # pure; a document's clauses are tried from many places
def _subject_of(prefix: str) -> tuple[str, ...]:
    prefix = _LEAD_WORDS.sub("", prefix.strip(" “”"), count=1)
    if not prefix or len(prefix) > 30:
        return ()
    names = split_names(prefix)
    return tuple(names) if names and all(is_unit(n) for n in names) else ()


def _subject(clause: str) -> list[str]:
    """The longest run of units at the start of ``clause`` that a verb or a time follows."""
    return _subject_span(ENUMERATOR.sub("", clause, count=1))[0]


# A body's name ends so plainly (党组, 党支部, 团委 …) that whatever verb follows it starts the
# predicate: 中国大唐党组谋划…, 甲党委和乙党支部结对共建… (no list of verbs can hold them all).
# Not when its people or its own parts follow (党委书记, 支部委员会, 工会会员, 党支部党员).
_PLAIN_END = re.compile(r"(?:党委|党组|党工委|总支|支部|团委|工会|妇联|纪委|监委|组织部|宣传部|办公室"
                        r"|领导小组|领导班子)(?=[\u4e00-\u9fff])(?![的之和与及或等书副委会成主干党全长领班织网])")


def _subject_span(clause: str) -> tuple[list[str], int]:
    """(units, where the subject ends) of ``clause``; ([], 0) when it has none."""
    ends = {m.start() for m in _FOLLOWERS.finditer(clause[:32])}
    ends |= {m.end() for m in _PLAIN_END.finditer(clause[:32])}
    ends |= {m.start() for m in _TIME_START.finditer(clause[:32])}
    ends.add(len(_EDGES.sub("", clause)))  # 已命名的党建品牌单位, 要…: the clause is the subject
    for end in sorted(ends, reverse=True):
        if end and (names := subject_of(clause[:end])):
            return names, end
    return [], 0


def _role(rest: str) -> str:
    """The part the words after a subject give it: lead, units, or by the names (subject)."""
    return "lead" if _LEADS.match(rest) else "units" if _HELPS.match(rest) else "subject"


# ── what a sentence says of anyone ────────────────────────────────────────────

_LED_BY = re.compile(r"在([^,;。在]{2,30}?)的(?:统一|正确|坚强)?(?:领导|带领)下")
# 以团总支为单位组织…, 以各工会为小组: each of them does it.
_EACH_AS = re.compile(r"以([^,;。以]{2,20}?)为(?:单位|小组|组|队)")
_HELPED_BY = re.compile(r"在([^,;。在]{2,30}?)的(?:大力|通力|积极|热情)?(?:支持|配合|协助|协同|参与|合作|帮助)下")
_DECIDED_BY = re.compile(r"经([^,;。]{2,30}?)(?:研究|同意|批准|审定|决定)")
_BY = re.compile(r"(?:^|[^经理自])由")
# Partners and the groups set to work: 联系消防中队与共建单位开展…, 联动各市(州)开展….
_PARTNERS = re.compile(r"联系|邀请|会同|协调|联合|携手|联动|(?<![参给赋])与")
_GROUPS_SET = re.compile(r"组织|动员|督促|指导|带领|号召|发动|推动|要求")
_RECIPIENT = re.compile(r"(?:交|交至|报至|报送|上报|送交|提交|上交|报)(?:给|到|至)?([^,;。:()]{2,40})")
_TO_WHOM = re.compile(r"向([^,;。:()向]{2,30}?)(?:汇报|报告|报送|提交|请示|报)")


def _said(clause: str) -> list[tuple[str, list[str]]]:
    """(role, names) for what ``clause`` says of anyone besides its plain subject."""
    out: list[tuple[str, list[str]]] = []
    for pattern, role in ((_LED_BY, "lead"), (_DECIDED_BY, "lead"), (_HELPED_BY, "units"),
                          (_EACH_AS, "units")):
        out += [(role, names) for m in pattern.finditer(clause)
                if (names := subject_of(m.group(1)))]
    names, end = _subject_span(ENUMERATOR.sub("", clause, count=1))
    rest = ENUMERATOR.sub("", clause, count=1)[end:]
    if names and _role(rest) != "subject":  # 市委组织部牵头 / 各县区配合: said of them, wherever
        out.append((_role(rest), names))
    elif names and re.match(r"(?:具体)?负责(?!人)", rest):  # 机关党委负责督促指导: named as the doer
        out.append(("explicit", names))
    for m in _BY.finditer(clause):  # 由机关纪委督查…, 由市政府牵头
        names, end = _subject_span(clause[m.end():])
        if names:  # named as the doer even when no 牵头 follows: explicit
            role = _role(clause[m.end() + end:])
            out.append((role if role != "subject" else "explicit", names))
    for m in _PARTNERS.finditer(clause):
        names, _ = _subject_span(clause[m.end():])
        if names and (m.start() or m.group() != "与"):  # 与 opening a clause: its own subject
            out.append(("units", names))
    for m in _GROUPS_SET.finditer(clause):
        names, _ = _subject_span(clause[m.end():])
        if names and all(is_group(n) for n in names):
            out.append(("units", names))
    return out


def _recipients(rest: str, clause: str) -> list[str]:
    """镇党建办 in “…将创建方案交镇党建办(审核)”, both in 报送X和Y, X in 向X汇报."""
    for m in _RECIPIENT.finditer(rest):
        found = []
        for piece in split_names(m.group(1)):
            name = piece if is_unit(piece) else unit_prefix(piece)
            if not name:
                break
            found.append(name)
            if name != piece:
                break  # the name ended inside the piece: what follows is the action
        if found:
            return found
    for m in _TO_WHOM.finditer(clause):
        if names := subject_of(m.group(1)):
            return names
    return []


# ── the units of a node ───────────────────────────────────────────────────────


def _clause_spans(simple: str) -> list[tuple[int, int]]:
    """The clauses of a sentence, a clock time (12:00前) kept whole."""
    out: list[tuple[int, int]] = []
    for a, b in clauses(simple):
        if out and simple[a:a + 1].isdigit() and re.search(r"\d:$", simple[out[-1][0]:a]):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


_ITEM_MARK = re.compile(r"^(?:[((][一二三四五六七八九十\d]{1,3}[))]|\d{1,2}[、.](?!\d))")


_NEXT_TIME = re.compile(r"\d{1,2}月|\d{1,2}日|每[周月年季]")


class _Roles:
    """Lead and units as they are found, a name in one of them only."""

    def __init__(self) -> None:
        self.lead: list[str] = []
        self.units: list[str] = []
        self.named_lead = False  # a lead named by 牵头/由/领导下, not only a subject

    def add(self, role: str, names: Sequence[str]) -> None:
        names = [_ITEM_MARK.sub("", name) for name in names]  # (一)各党组织: the item's number
        listed_group = bool(names) and is_group(names[0])
        for name in names:
            if not name:
                continue
            # 各班级、团支部: a bare name after a group is one of many too
            group = is_group(name) or (listed_group and len(name) <= 3)
            lead = role == "lead" or (role in ("subject", "explicit") and not group)
            if name in self.lead or name in self.units:
                if lead and name in self.units and role == "lead":
                    self.units.remove(name)
                    self.lead.append(name)
                continue
            (self.lead if lead else self.units).append(name)
            self.named_lead |= lead and role in ("lead", "explicit")


def units_for(sentence: Sentence, start: int, end: int,
              context: Sequence[Paragraph] = ()) -> tuple[list[str], list[str]]:
    """(lead, units) for the node at ``start:end`` of ``sentence``; ``context``, the
    document's paragraphs, lets labels and subjects of the lines around count."""
    para = sentence.paragraph
    lead, units = _labelled(para, sentence.start + start)
    if not (lead or units):
        lead, units = _closing_note(para, sentence.start + start)
    if not (lead or units) and context:
        lead, units = _labelled_around(para, context)
    simple = simplified(sentence.text)
    spans = _clause_spans(simple)
    if lead or units:  # 由组织部牵头…。责任单位:各支部: the labels, and a lead the text names
        named = [n for a, b in spans for role, names in _said(simple[a:b]) if role == "lead"
                 for n in names if n not in units]
        return lead or list(dict.fromkeys(named)), units
    here = next((i for i, (a, b) in enumerate(spans) if a <= start < b), 0)
    roles = _Roles()
    for a, b in spans:
        for role, names in _said(simple[a:b]):
            roles.add(role, names)
    subject: list[str] = []
    for i in [here, *range(here - 1, -1, -1), *range(here + 1, len(spans))]:
        a, b = spans[i]
        if subject := _subject(simple[a:b]):
            break
    roles.add("subject", subject or ([] if roles.lead else _neighbour_subject(sentence, context)))
    later = _NEXT_TIME.search(simple, end)  # not past the sentence's next node: it is that node's
    recipients = _recipients(simple[end: spans[here][1]], simple[spans[here][0]: spans[here][1]]) \
        or _recipients(simple[end: later.start() if later else None], "")  # …并将党费及时上交到局党工委
    recipients = [n for n in recipients if n not in roles.lead]
    if recipients and not roles.named_lead:
        roles.units, roles.lead = roles.units + roles.lead, recipients
    return roles.lead, roles.units


def _labelled(para: Paragraph, at: int) -> tuple[list[str], list[str]]:
    """What the labels of ``para`` give the node at offset ``at``: the label group nearest
    after it (labels follow what they label), else the nearest before it."""
    groups: list[list[Label]] = []
    for label in labels(simplified(para.text)):
        if groups and re.fullmatch(r"[\s,;、)(]*", simplified(para.text)[groups[-1][-1].end: label.start]):
            groups[-1].append(label)
        else:
            groups.append([label])
    groups = [g for g in groups if any(label.names for label in g)]
    if not groups:
        return [], []
    after = [g for g in groups if g[0].start >= at]
    return assigned(after[0] if after else groups[-1])


# A work item's closing note: (市政府办公室牵头,市级各有关部门按职责分工负责).
_NOTE = re.compile(r"\(([^()]{2,160}?(?:牵头|负责|承办|主办)[^()]{0,40})\)")


def _closing_note(para: Paragraph, at: int) -> tuple[list[str], list[str]]:
    """What the item's note in brackets (the first after the node, else the last) says."""
    simple = simplified(para.text)
    notes = list(_NOTE.finditer(simple))
    if not notes:
        return [], []
    note = next((m for m in notes if m.start() >= at), notes[-1])
    roles = _Roles()
    for a, b in _clause_spans(note[1]):
        for role, names in _said(note[1][a:b]):
            roles.add(role, names)
    return roles.lead, roles.units


_LABEL_LINE = re.compile(r"^[-•·①-⑳\s]*[\u4e00-\u9fff]{2,8}\s*:")


def _is_label_line(para: Paragraph) -> bool:
    return bool(_LABEL_LINE.match(simplified(para.text))) and not item_start(para.text)


def _labelled_around(para: Paragraph, context: Sequence[Paragraph]) -> tuple[list[str], list[str]]:
    """Labels on the lines of the node's item: its heading and the label lines under it."""
    index = next((i for i, p in enumerate(context) if p is para), None)
    if index is None:
        return [], []
    head = index
    while head > 0 and _is_label_line(context[head]):
        head -= 1
    last = index
    while last + 1 < len(context) and _is_label_line(context[last + 1]):
        last += 1
    found = [label for p in context[head: last + 1] if p is not para
             for label in labels(simplified(p.text))]
    return assigned(found)


def _neighbour_subject(sentence: Sentence, context: Sequence[Paragraph] = ()) -> list[str]:
    """For a step heading (前期准备阶段(3月)。) the subjects of the rest of its paragraph;
    else those of the previous sentence (every part of it up to the 。 before), the name
    the item opens with (1.牵头单位。), or the previous paragraph's."""
    found = sentences(sentence.paragraph)
    index = next(i for i, s in enumerate(found) if s.start == sentence.start)
    body = ENUMERATOR.sub("", simplified(sentence.text))
    if len(body) <= 30 and re.search(r"[))]。?$", body):
        return _subjects(found[index + 1:])
    start = index - 1
    while start > 0 and not found[start - 1].text.rstrip().endswith(("。", "!", "?", "!", "?")):
        start -= 1  # 甲支部与…结对;乙支部与…结对;丙支部与…结对。 is one sentence of three parts
    names = _subjects(found[max(start, 0): index])
    if not names and index:  # 1.牵头单位。①…;②…: the item is the named unit's duties
        words = [w for w in (_EDGES.sub("", ENUMERATOR.sub("", simplified(s.text)).rstrip("。.:"))
                             for s in found[:index]) if w]
        names = words[:1] if words and is_unit(words[0]) else []
    if not names and context:
        names = _previous_paragraph_subjects(sentence.paragraph, context)
    return names


def _previous_paragraph_subjects(para: Paragraph, context: Sequence[Paragraph]) -> list[str]:
    """The subjects of the paragraph before, when ``para`` goes on from it (neither is an
    item or a heading, and the one before is no label line)."""
    index = next((i for i, p in enumerate(context) if p is para), 0)
    if not index or item_start(para.text) or para.kind != "body":
        return []
    before = context[index - 1]
    if before.kind != "body" or item_start(before.text) or _is_label_line(before):
        return []
    return _subjects(sentences(before))


def _subjects(found: list[Sentence]) -> list[str]:
    names = []
    for other in found:
        simple = simplified(other.text)
        names += [n for a, b in _clause_spans(simple) for n in _subject(simple[a:b])]
    return list(dict.fromkeys(names))


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
_TIME_LABEL = re.compile(r"[((](?:完成|办结|截止)?(?:时限|时间|期限|日期)[::]\s*")


def title_for(sentence: Sentence, start: int, end: int) -> str:
    """A short title for the node at ``start:end`` of ``sentence`` (the action)."""
    if "|" in sentence.text:  # a table row (九月|在校团员|奋进…): its longest other cell says what
        cells, offset = [], 0
        for cell in sentence.text.split("|"):
            if not offset <= start < offset + len(cell) + 1:
                cells.append(cell)
            offset += len(cell) + 1
        named = max((_clean_title(cell) for cell in cells), key=len, default="")
        if len(named) >= 4:
            return named
    spans = _clause_spans(simplified(sentence.text))  # 下午1:00 is not two clauses
    here = next((i for i, (a, b) in enumerate(spans) if a <= start < b), 0)
    a, b = spans[here]
    text = sentence.text
    label = _TIME_LABEL.search(text, a, start)
    if label and label.end() == start and re.match(r"\s*[))]", text[end:]):
        # (一)党务知识竞赛(完成时限:4月30日前): the item the bracket belongs to
        named = _clean_title(re.split(r"[))]", text[a: label.start()])[-1])
        if len(named) >= 2:
            return named
    closed = max(text.rfind(")", a, start), text.rfind("）", a, start))
    if closed >= a and text.count("(", closed, start) + text.count("（", closed, start) == 0:
        a = closed + 1  # …(完成时限:4月30日前)4月10日前,组织…: a new clause after the bracket
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
    simple = re.sub(r"(?<=[::])[,,、]+", "", simple)  # 第1周:,为…: the time between them is out
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


# ── the document's own actors ─────────────────────────────────────────────────

# An addressee line near the top: 各二级学院,院直各单位: / 各镇(街道)党(工)委、区直各单位:
_ADDRESSEES = re.compile(r"^\s*([^:。;!?]{2,80}?)\s*[:]\s*$")


def addressees(context: Sequence[Paragraph]) -> tuple[list[str], int]:
    """(units, line) a notice is sent to (主送), from a line of names ending in a colon among
    the document's first paragraphs; ([], 0) when there is none."""
    for para in context[:12]:
        offsets = [start for start, _ in para.starts] + [len(para.text)]
        for (start, line), end in zip(para.starts, offsets[1:], strict=False):
            # each line of the paragraph: a page's header may have been joined to it
            m = _ADDRESSEES.match(simplified(para.text[start:end]))
            if not m or item_start(m.group(1)):
                continue
            names = split_names(m.group(1))
            units = [n for n in names if is_unit(n)]
            if units and 2 * len(units) >= len(names):  # a line of names, one odd piece allowed
                return units, line
    return [], 0


def document_units(context: Sequence[Paragraph]) -> tuple[list[str], list[str], list[int]]:
    """(lead, units, lines) for the nodes whose own sentence, item and neighbours name
    nobody and that have no addressees to go to: every unit the document's sentences give a
    part (labels, 由X牵头, X要…, 参加单位有…) — the plan's work falls to its actors.
    ``lines`` says where they were read, for the draft's note."""
    roles = _Roles()
    lines: list[int] = []
    for para in context:
        if para.kind in ("title", "signature"):
            continue
        before = (len(roles.lead), len(roles.units))
        lead, units = assigned(labels(simplified(para.text)))
        roles.add("lead", lead)
        roles.add("units", units)
        for sentence in sentences(para):
            simple = simplified(sentence.text)
            for a, b in _clause_spans(simple):
                for role, names in _said(simple[a:b]):
                    roles.add(role, names)
                roles.add("subject", _subject(simple[a:b]))
        if (len(roles.lead), len(roles.units)) != before:
            lines.append(para.first_line)
    return roles.lead, roles.units, lines
