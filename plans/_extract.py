"""`jiedian plan extract`: draft a plan file from a plan's text, one milestone per time node.

The text is cut into documents and sentences by ``_segment`` (which repairs
broken lines and drops web furniture). In each sentence the grammar's own scanner
(``_grammar.compile_scanner`` over ``_text.normalize_spans``: every form of ``FORMS``
plus extraction's few extra words) finds *atoms*; atoms next to each other or joined
by 、和至— form a *cluster*. A cluster gives the longest piece that ``parse`` reads
and that expands for the plan's year: the cluster as written, else its items joined
into one list, else each item alone. What cannot be read is kept as a YAML comment.

Not every time is a node: past references (2010年以来, 去年, a clause with 举办了
or 已经), targets (力争到2013年), a whole year with no point inside it (2010年,
今年, 全年, 年内), book titles (《…2011年…》), document dates (…印发), quotas
(每人每年至少…, 每周学足2个小时), titles and signatures are skipped. A festival
named alone is a topic (纪念五四运动, 国庆节放假安排通知如下) unless the text uses
it as the occasion: 结合/借/在 before it, 期间/前后/之际/慰问 after it, a celebration
(庆祝“三八”国际妇女节活动) or a clause it opens with an action (“八一”节与…组织…).
A news report's dateline (…网讯:4月7日晚,…参加会议), a date inside 根据…召开的, a
make-up day's lessons (补10月7日的课), an attachment's name, office hours and a date left
blank (9月xx日) are not nodes either; how often a duty is (每周一次) said again more
exactly in the same sentence (固定在每周星期五下午) is the exact one's node only.
A few times the grammar does not spell are read as it would (半年进行一次, 一年二次 →
每半年; 按月/按季度 → 每月/每季度; 党小组月评 → 每月; 建党90周年之际 → “七一”前后;
年内要完成 → 年底前; 节假日期间 in a notice about one holiday → that holiday's 期间),
keeping the text as written in a note. A sentence that gives only the hour (服务时间:
上午8:40—11:30, 开幕式(下午2:38)) is the day of the node just before, at that hour. A
speech, essay or report (many 了) is flagged in the summary: it usually has no nodes.

A node whose title says nothing (活动时间, a masked year, a label line) takes its item's
heading (the label layout's activity), else the document's title.

Units come from ``_clauses.units_for`` (labels, what the sentence says, its subject,
its item's label lines). In a notice, the addressees (主送: 各党支部、机关各科室:) are the
units of every node that names no unit or names them in general (各单位, 各责任单位); a
node that names nobody at all gets, failing addressees, every unit the document's
sentences give a part. Either way the node's note says where they came from.

A file may hold several documents: each gets its own draft; ``Extraction.write``
writes one file, or a directory with one file per document that has nodes.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from io import StringIO
from itertools import pairwise
from pathlib import Path
from typing import ClassVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from plans._calendar import CALENDAR, ChinaCalendar
from plans._clauses import (
    addressees,
    document_units,
    founded,
    full_names,
    own_bodies,
    title_for,
    units_for,
)
from plans._draft import _check
from plans._errors import ExpressionError, MissingEventError
from plans._expressions import parse
from plans._grammar import (
    DAY_NAMES,
    LUNAR_DAYS,
    RELATIVE_YEARS,
    clock_pattern,
    compile_scanner,
)
from plans._segment import (
    ENUMERATOR,
    Document,
    Paragraph,
    Sentence,
    clauses,
    clean_lines,
    item_start,
    page_date,
    paragraphs,
    read_document,
    sentences,
    simplified,
    split_documents,
)
from plans._text import normalize, normalize_spans
from plans._unitnames import antecedents, unit_prefix

__all__ = ["DraftDocument", "ExtractedNode", "Extraction", "Unread", "extract_file", "extract_text"]

# Opening days of the Party congresses, for expressions such as 党的十八大召开前.
KNOWN_EVENTS = {"十六大": date(2002, 11, 8), "十七大": date(2007, 10, 15),
                "十八大": date(2012, 11, 8), "十九大": date(2017, 10, 18),
                "二十大": date(2022, 10, 16)}

# ── atoms: the grammar's forms (``_grammar.compile_scanner``) found in normalised text ──

# What extraction also needs to see that is not a form of the grammar: Party congresses
# before a modifier, times that are not nodes (每两年, 去年), bare numbers of ranges.
_EXTRA = [
    ("event", (r"(?:党的)?(?:十[六七八九]大|二十大|十[六七八九]届[一二三四五六七]中全会)(?:胜利)?"
               r"(?:召开|开幕|闭幕)?(?=以前|之前|前夕|前后|期间|以后|之后|前|后)")),
    # 主题教育结束前: a deadline before an event the text names (its date goes under events:)
    ("event", (r"(?:^|(?<=[、:;(在于到至]))(?!每|本|今|全|各)[\u4e00-\u9fff]{2,10}?(?:结束|召开|举行|开幕|闭幕)"
               r"(?=以前|之前|前夕|前(?![1-9一二三四五六七八九十]))")),
    ("bad", r"每\d年|每隔"),
    ("past", r"去年|(?<!原则)(?<!基本)(?<!总体)(?<!实际)(?<!以)上年|前年"),
    ("thisyear", r"今年|本年度?|当年|明年|次年"),
    # 4、5月, 4-5月, 第一、二季度; not the item number of 2、5月3日 (a flattened list's “2、”)
    ("number", r"\d{1,2}(?=(?:-|至|到)\d{1,2}月|、\d{1,2}月(?!\d))|第?\d(?=(?:、第?\d)*、第?\d季度)"),
    ("day", r"(?<=[至到\-、和及])\d{1,2}日"),
]
_SCANNER = compile_scanner(_EXTRA)
_CN = "一二三四五六七八九十"
_PAST_YEAR = re.compile(r"(?:\d{4}年)?(?:去年|上年|前年)")
_NUMBERED_NAMES = ("三八", "五一", "五四", "六一", "七一", "八一", "十一")
# A numbered name that is something else: 七一重要讲话, 五一劳动奖章, 三八红旗手, 五四精神.
_NOT_A_DAY = re.compile(rf"[\d{_CN}届次大个]|重要讲话|讲话|红旗|劳动奖|奖章|精神|运动|周年")
_WITH_MODIFIER = {"党的生日", "建党纪念日", *(t for t, a in LUNAR_DAYS.items() if a.term and a.name != "清明")}
_NAME = re.compile("|".join(DAY_NAMES))
_MONTH_IN_WORDS = re.compile(rf"[{_CN}元]月")
_MONTH_GOES_ON = re.compile(r"[份旬初底末前至到、\-\d]|\||:|$"  # 九月|在校团员|…: a table's month cell
                            r"|(?:主题|工作|安排|活动|重点|计划)[^,。]{0,4}:")  # 二月主题: a month's heading
_QUOTES = "“\"「『‘'"
_CLOSING = "”\"」』’'"
_MASKED_YEAR = re.compile(r"(?:19|20)?[xX×*_＊]{2,4}年|(?:19|20)\d[xX×*]年")  # 20xx年, 201x年
_TIMESTAMP = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\s*\d{1,2}:\d{2}")  # a page's date and time
# A festival named on its own is a node where it is the occasion of the work (结合春节慰问,
# 通过“三八”妇女节开展…); elsewhere it is a topic (五四运动, 五四青年节活动方案, 清明节文化).
_OCCASION_BEFORE = re.compile(r"(?:通过|借|借助|结合|利用|在|于|逢|每逢|趁|值此|迎接|围绕|抓住)[“\"「]?$")
_OCCASION_AFTER = re.compile(r"[”\"」]?(?:慰问|走访|期间|假期|放假|前后|之际|当天|到来|来临|扫墓|祭扫|祭奠)"
                             # 中秋各界人士座谈会, 新春茶话会: a gathering held for the day
                             r"|[”\"」]?节?[\u4e00-\u9fff]{0,6}?(?:座谈会|茶话会|团拜会|联欢会|联谊会|晚会|游园会)")
# A celebration is held on its day: 庆祝“三八”国际妇女节活动, 庆“七一”组织…; and a day that
# opens a clause of a schedule sets when it happens: “八一”节与消防中队组织…, 重阳节在…下组织….
_CELEBRATED = re.compile(r"(?:庆祝|欢庆|欢度|喜迎|庆)[“\"「]?$")
_OPENS_CLAUSE = re.compile(r"(?:^|[,;。:、])[“\"「]?$")
# 一月份举办元旦活动: a day's activity held in a month of a schedule (not 开展五四青年节系列活动,
# 对于引导…, a preamble's topic).
_HOLDS = re.compile(r"月份?[^,;。]{0,4}(?:举办|举行|开展|组织)[“\"「]?$")
_ITS_ACTIVITY = re.compile(r"[”\"」]?节?[\u4e00-\u9fff]{0,4}?活动")
_OPENS_ACTION = re.compile(r"[”\"」]?节?(?:与|同|在|组织|开展|举办|举行|召开|,)"
                           # 端午节纪念活动, 清明节“文明祭扫”教育活动: an item that is the day's activity
                           r"|[”\"」]?节?(?:[“\"「][^”\"」]{1,12}[”\"」])?[\u4e00-\u9fff]{0,6}?活动")
# The notice's subject, with its dates given after it (国庆节放假安排通知如下, 假日安排为:,
# 六、国庆节、中秋节:10月1日至8日放假),
# or the preamble's announcement of it (清明节即将来临。中秋、国庆“两节”将至,…).
_ARRANGEMENT = re.compile(r"[”\"」]?节?[::](?=\d)|[”\"」]?节?(?:放假|假日|假期)(?:安排|时间|有关事项|相关事项|事项)|[”\"」]?节?(?:即将|将要)?(?:来临|到来)[,。]"
                          r"|[”\"」]?节?[^,。]{0,6}(?:将至|即将来临|即将到来|临近)")
# A festival in a document's name: 庆祝五四青年节主题活动方案.
_IN_A_NAME = re.compile(r"[”\"」]?节?[^,;。:、]{0,8}?(?:方案|计划|通知|策划)"
                        r"|[”\"」]?节?主题")  # 庆“七一”主题征文比赛: the day is the theme
# A quota, not a node: 每人每年至少写3篇, 每周学足2个小时.
_PER_PERSON = re.compile(r"(?:每人|每位|每名|人均|每个人)[^,,。;;]{0,6}$")
# 社区党员每年必须参加两次以上…: how often each person takes part, a quota.
_PEOPLE_BEFORE = re.compile(r"(?:党员|居民|群众|职工|干部|团员|会员|教师|学生|同志|志愿者)[^,;。]{0,3}$")
_TIMES_EACH = re.compile(r"[^,;。]{0,10}?[\d一二两三四五六七八九十]+次以上")
_QUANTITY = re.compile(r"[\d一二两三四五六七八九十]+(?:个小时|小时|学时|课时)"
                       r"|(?:不少于|不低于|至少|累计)[\d一二两三四五六七八九十]+(?:天|日|篇|本|部|个工作日)"
                       r"|(?:至少|累计)[^,;。\d]{0,6}[\d一二两三四五六七八九十]+(?:篇|本|部)")  # 至少研读2本


def _keep(role: str, norm: str, a: int, b: int, src: str, sa: int) -> bool:
    """Scan-only guards: a name or a month in words that is not a time where it stands."""
    if role == "named":
        m = _NAME.search(norm, a, b)
        name = m.group(0) if m else ""
        after = norm[m.end(): m.end() + 4] if m else ""
        if name in _NUMBERED_NAMES:
            before = norm[m.start() - 1: m.start()] if m and m.start() else ""
            if (before and (before.isdigit() or before in _CN + "第")) or _NOT_A_DAY.match(after):
                return False
            if name == "十一" and not (sa and src[sa - 1] in _QUOTES):
                return False  # 十一 is 国庆 only in quotes
        if name in _WITH_MODIFIER and b == (m.end() if m else b) and not norm.startswith("节", b):
            return False
    if role == "date" and _TIMESTAMP.match(src, sa):
        return False
    if role == "number" and (month := re.match(r"、(\d{1,2})月", norm[b:])) and (
            month[1] == norm[a:b] or _MONTH_IN_WORDS.match(src, sa + (b - a) + 1)):
        return False  # 2、二月份 in a flattened list: the item's number, not 2月、2月
    if role == "month" and _MONTH_IN_WORDS.search(src[sa: sa + 4]) and norm[b - 1] == "月":
        return bool(_MONTH_GOES_ON.match(norm, b))  # 六月份, 十二月底, not 一月一评
    return True


@dataclass(frozen=True)
class _Atom:
    kind: str
    start: int
    end: int


def _atoms(simple: str, skip: int) -> list[_Atom]:
    """The grammar's matches in ``simple[skip:]``, as offsets into ``simple``."""
    norm, starts, ends = normalize_spans(simple[skip:])
    found = []
    for m in _SCANNER.finditer(norm):
        role = re.sub(r"x?\d+$", "", m.lastgroup or "")
        a, b = m.span()
        if role == "yearonly":
            text = m.group(0)
            role = "year" if text[0].isdigit() else (
                "past" if RELATIVE_YEARS.get(text, 0) < 0 else "thisyear")
        elif _PAST_YEAR.match(m.group(0)):
            role = "past"
        sa, sb = skip + starts[a], skip + ends[b - 1]
        if sa and simple[sa - 1] in _QUOTES:  # “七一”前夕 as written, with its quotes
            sa -= 1
            if sb < len(simple) and simple[sb] in _CLOSING and simple[sb - 1] not in _CLOSING:
                sb += 1
        if _keep(role, norm, a, b, simple, sa):
            found.append(_Atom(role, sa, sb))
    return found


_LIST_GAP = re.compile(r"[“”\"'「」]*(?:、|和|及|与|以及|或者|或)[“”\"'「」]*")
# 3月初启动,一直延续到4月上旬 and 4月---5月 are ranges too.
_RANGE_GAP = re.compile(r"[“”\"'「」]*(?:至|到|-+|—+|―+|–|~|一|(?:开始|起|启动)[,,]?(?:一直|并)?"
                        r"(?:延续|持续|延伸|进行)?(?:至|到))[“”\"'「」]*")
# 从6月开始,8月底基本结束: a start and an end said in two clauses, one range.
_START_GAP = re.compile(r"[“”\"'「」]*(?:开始|起|启动)[,,]")
_ENDS_HERE = re.compile(r"[“”\"'「」]*(?:基本|全面|正式)?(?:结束|完成|截止|收尾)")
_TIGHT_GAP = re.compile(r"[“”\"'「」]*")
# Times said without the grammar's words, read as it would write them (`written` keeps the text):
# 半年进行一次 → 每半年; 党小组月评、党支部季评、党委年度评 → 每月, 每季度, 每年;
# 庆祝建党90周年之际 → “七一”前后 (前夕 → “七一”前夕).
_REWRITES = [
    (re.compile(r"(?<![上下每前后\d])(半年|季度)(?:(?:进行|开展|召开|举行|组织|举办|检查|通报|考核|评比"
                r"|总结|汇报|报告|评议|督查|点评){1,2})?一次"),
     lambda m: f"每{m.group(1)}"),
    (re.compile(r"(?P<org>党小组|党支部|党总支|党委|党组|支部)?(?<![每本上下今当第])(月|季|年度|年)评"
                r"(?![价估选比审论定级语])"),
     lambda m: {"月": "每月", "季": "每季度"}.get(m.group(2), "每年")),
    (re.compile(r"(?:每)?一年[二两2]次"), lambda m: "每半年"),
    (re.compile(r"(?<![每一在])按(月|季度|半年|年度)(?=[\u4e00-\u9fff])(?!度|份|计|薪|数|底|末|初)"),
     lambda m: {"月": "每月", "季度": "每季度", "半年": "每半年"}.get(m.group(1), "每年")),
    (re.compile(r"(?:庆祝)?(?:建党|中国共产党成立|党的生日)(?:\d{2,3}|[一二三四五六七八九十百]+)周年"
                r"(之际|前夕|期间)"),
     lambda m: "“七一”前夕" if m.group(1) == "前夕" else "“七一”前后"),
]
# 6月10日,省委印发《…》: the day a document came out, a fact reported, not a node.
_ISSUED_ON = re.compile(r"[,、]?[^,;。《]{0,16}?(?:印发|出台|发布|颁布|下发|制定出台)(?:了)?《")
_PAST = re.compile(r"(?<![为除])了(?![解如结然不])|已经|已于|业已|曾经")
# A news report's dateline, not a node: 4月13日,机关党委…召开会议,…共7人参加.
_DATELINE = re.compile(r"^(?:.*(?:网讯|消息|讯|报道)[:)]?)?[^,;。\d]{0,4}$")
_REPORTED = re.compile(r"参加会议|出席会议|参会|与会|\d+人参加|人参加了|参加了|主持会议|会议指出|会议强调"
                       r"|会议要求|会议听取|会议传达|刊发|报道|网讯|消息[:)]|记者")
_BLANK_YEAR = re.compile(r"年$")  # a year left blank before the next atom (—年5月10日)
_WHOLE_YEAR = re.compile(r"(?:本|今|全)?年(?:度)?内|本年度|年度")
_OPEN_RANGE = re.compile(r"(?:开始|起)?[,,]?(?:至|到)(?=[^,,;;。]{2,20}(?:召开|结束|为止|止))"
                         r"[^,,;;。]{2,20}?(?:召开|结束|为止|止)")
_SUBMIT_LATER = re.compile(r"报送|上报|提交|上交|交(?!流|通|纳)")
_SUBMIT = re.compile(r"(?:以前|前)?(?:交|报|上报|报送|提交|上交|完成|前完成)(?!告|道|纸|刊)")


def _clusters(simple: str, atoms: list[_Atom]) -> list[list[_Atom]]:
    groups: list[list[_Atom]] = []
    for atom in atoms:
        if groups:
            gap = simple[groups[-1][-1].end: atom.start]
            # 1月底至20xx年春节前, 4月15日—年5月10日: a masked or blank year is no gap
            gap = _BLANK_YEAR.sub("", _MASKED_YEAR.sub("", gap))
            if any(p.fullmatch(gap) for p in (_TIGHT_GAP, _LIST_GAP, _RANGE_GAP)) \
                    or (_START_GAP.fullmatch(gap) and (_ENDS_HERE.match(simple, atom.end)
                                                       or simple.endswith("结束", 0, atom.end))):
                groups[-1].append(atom)
                continue
        groups.append([atom])
    return groups


# ── results ───────────────────────────────────────────────────────────────────


@dataclass
class ExtractedNode:
    """One time node found in the text: a milestone of the draft."""

    line: int
    when: str
    kind: str
    title: str
    source: str
    lead: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    note: str | None = None
    written: str = ""  # the expression as the text writes it (``when`` may be its reading)

    def __post_init__(self) -> None:
        self.written = self.written or self.when


@dataclass
class Unread:
    """A time expression found in the text that the engine cannot read or place."""

    line: int
    text: str
    reason: str
    source: str


@dataclass
class Span:
    """The campaign's span as the text states it (自2010年8月开始,至党的十八大召开)."""

    line: int
    starts: str  # the plan's ``from``
    until: str  # the plan's ``until``: a named event
    source: str


@dataclass
class DraftDocument:
    """The draft of one document of the file."""

    title: str
    first_line: int
    last_line: int
    year: int
    issuer: str | None
    issued: date | None
    narrative: bool
    nodes: list[ExtractedNode]
    unread: list[Unread]
    events: dict[str, date]
    plan_id: str
    notes: list[str]
    yaml: str = ""
    span: Span | None = None

    def counts(self) -> Counter[str]:
        return Counter(node.kind for node in self.nodes)

    def unit_names(self) -> list[str]:
        return sorted({name for node in self.nodes for name in node.lead + node.units})

    def summary(self) -> str:
        where = f"L{self.first_line}–{self.last_line} {self.title} ({self.year})"
        if not self.nodes:
            kind = " (reads as a speech, essay or report)" if self.narrative else ""
            text = f"{where}: no time nodes found{kind}; the draft has no milestones"
        else:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.counts().items()))
            text = f"{where}: {len(self.nodes)} nodes ({kinds})"
        units = self.unit_names()
        text += f"; {len(units)} units" + (f" ({', '.join(units)})" if units else "")
        return text + f"; {len(self.unread)} expressions kept as comments"


@dataclass
class Extraction:
    """Drafts of every document found in one file."""

    source: str
    documents: list[DraftDocument]

    @property
    def nodes(self) -> list[ExtractedNode]:
        """Every node of every document, in line order (what the scorer compares)."""
        return sorted((n for d in self.documents for n in d.nodes), key=lambda n: n.line)

    def to_write(self) -> list[DraftDocument]:
        """Documents with nodes (or comments); if none has any, the largest one (an empty draft)."""
        found = [d for d in self.documents if d.nodes or d.unread]
        if found or not self.documents:
            return found
        return [max(self.documents, key=lambda d: d.last_line - d.first_line)]

    COLUMNS: ClassVar = ["#", "lines", "document", "year", "nodes", "units", "comments"]

    def rows(self) -> list[list[str]]:
        """A row per document for ``plan extract``'s table (``COLUMNS``)."""
        return [[str(number), f"{d.first_line}–{d.last_line}", d.title, str(d.year),
                 f"{len(d.nodes)} (" + (", ".join(f"{k} {n}" for k, n in sorted(d.counts().items())) or "none")
                 + ")", str(len(d.unit_names())), str(len(d.unread))]
                for number, d in enumerate(self.documents, 1)]

    def summary(self) -> list[str]:
        lines = [f"{self.source}: {len(self.documents)} document(s)"]
        lines += [f"  {i}. {doc.summary()}" for i, doc in enumerate(self.documents, 1)]
        total = sum(len(d.nodes) for d in self.documents)
        unread = sum(len(d.unread) for d in self.documents)
        kinds = Counter(n.kind for d in self.documents for n in d.nodes)
        units = {u for d in self.documents for u in d.unit_names()}
        lines.append(f"total: {total} nodes ("
                     + (", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none")
                     + f"), {len(units)} units, {unread} expressions kept as comments")
        if not total:
            lines.append("no time nodes found: the draft is empty (milestones: []); "
                         "a speech, essay or report often has none")
        return lines

    def one_file(self) -> str:
        """The draft as one YAML text: the document with the most nodes, and a note naming
        the others (for ``-o FILE.yaml`` and ``-o -``)."""
        docs = self.to_write()
        best = max(docs, key=lambda d: len(d.nodes))
        others = [d for d in self.documents if d is not best and d.nodes]
        if not others:
            return best.yaml
        listed = "".join(f"#   L{d.first_line}–{d.last_line} {d.title}: {len(d.nodes)} nodes\n"
                         for d in others)
        return ("# This file holds the document with the most nodes. The source also has:\n"
                f"{listed}# write every document with -o DIRECTORY.\n{best.yaml}")

    def write(self, output: str | Path | None = None, *, force: bool = False) -> list[Path]:
        """Write the drafts; return the paths written.

        ``output`` ending in .yaml/.yml is one file: with several documents it
        holds the one with the most nodes and a note naming the others. Any
        other ``output`` (or an existing directory) is a directory with one
        file per document. Default: ``<stem>.yaml`` for one document, else the
        directory ``<stem>/``. An existing file is kept unless ``force``.
        """
        docs = self.to_write()
        stem = Path(self.source).stem or "plan"
        if output is None:
            output = Path(f"{stem}.yaml") if len(docs) == 1 else Path(stem)
        output = Path(output)
        if output.suffix.lower() in (".yaml", ".yml") and not output.is_dir():
            targets = [(output, self.one_file())]
        else:
            names: set[str] = set()
            targets = []
            for doc in docs:
                name = doc.plan_id
                while name in names:
                    name += "-2"
                names.add(name)
                targets.append((output / f"{name}.yaml", doc.yaml))
        existing = [str(path) for path, _ in targets if path.exists()]
        if existing and not force:
            raise FileExistsError(f"{', '.join(existing)} already exists; choose another "
                                  f"-o/--output, or add --force")
        for path, text in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return [path for path, _ in targets]


# ── entry points ──────────────────────────────────────────────────────────────


def extract_file(path: str | Path, calendar: ChinaCalendar = CALENDAR) -> Extraction:
    """Extract from a .txt, .docx or .xlsx file; PlanError (with a clear message) if it cannot be
    read. A task table (任务分解表: an .xlsx, or a table in a .docx) is read row by row."""
    from plans import _tables  # here, not above: _tables builds on this module

    if _tables.is_workbook(path):
        return _tables.extract_workbook(path, calendar)
    extraction = extract_text(read_document(path), source=str(path), calendar=calendar)
    if _tables.is_docx(path):
        return _tables.add_docx_tables(extraction, path, calendar)
    return extraction


def extract_text(text: str, *, source: str = "text", calendar: ChinaCalendar = CALENDAR,
                 today: date | None = None) -> Extraction:
    """Extract the time nodes of every document in ``text`` (Simplified or Traditional)."""
    docs = split_documents(paragraphs(clean_lines(text))) or [Document([Paragraph("", [(0, 1)])])]
    fallback = _Fallback((today or date.today()).year, page_date(text))
    used: set[str] = set()  # plan ids stay unique within one file
    return Extraction(source, [_draft(doc, source, calendar, fallback, used) for doc in docs])


@dataclass(frozen=True)
class _Fallback:
    """Where a document's year comes from when its text gives none: the page's own date
    (发布日期:2025年02月12日, a line the cleaning drops), else this year."""

    this_year: int
    page: tuple[date, int] | None


# ── one document ──────────────────────────────────────────────────────────────


@dataclass
class _Candidate:
    sentence: Sentence
    atoms: list[_Atom]
    simple: str  # simplified sentence
    context: Sequence[Paragraph] = ()  # the document's paragraphs, for label lines around

    @property
    def start(self) -> int:
        return self.atoms[0].start

    @property
    def end(self) -> int:
        return self.atoms[-1].end

    @property
    def line(self) -> int:
        return self.sentence.line_at(self.start)

    def text(self, a: int | None = None, b: int | None = None) -> str:
        return self.sentence.text[self.start if a is None else a: self.end if b is None else b]


def _draft(doc: Document, source: str, calendar: ChinaCalendar, fallback: _Fallback,
           used: set[str]) -> DraftDocument:
    title, title_note = _title(doc)
    issuer, issued = _signature(doc)
    whole = simplified("".join(p.text for p in doc.paragraphs))
    past = len(_PAST.findall(whole))
    narrative = past >= 8 and 1000 * past / max(len(whole), 1) >= 3
    candidates = list(_candidates(doc))
    year, year_note = _year(title, issued, candidates, whole, fallback)
    notes = [n for n in (title_note, year_note) if n]
    events: dict[str, date] = {}
    nodes: list[ExtractedNode] = []
    unread: list[Unread] = []
    span: Span | None = None
    for candidate in candidates:
        found = _read(candidate, year, calendar, events)
        if isinstance(found, Unread):
            unread.append(found)
        elif isinstance(found, Span):
            span = span or found  # the first statement of the span is the plan's
        elif found:
            nodes.append(found)
    for node in _rewritten(doc):
        if not any(n.line == node.line and n.when == node.when for n in nodes):
            nodes.append(node)
    nodes += _timed(doc, sorted(nodes, key=lambda n: n.line), year, calendar, events)
    nodes = _dedupe(sorted(nodes, key=lambda n: (n.line, n.source.find(n.written))))
    nodes = _without_dated_festivals(nodes, year, calendar, events)
    _months_into_next_year(nodes)
    owner, owner_from = (issuer, "落款") if issuer else (unit_prefix(title), "标题")
    _fall_back_to_document(doc, nodes, owner, owner_from)
    _name_in_full(doc, nodes)  # the fallback's names too
    _title_weak_ones(doc, nodes, title)
    draft = DraftDocument(title, doc.first_line, doc.last_line, year, issuer, issued, narrative,
                          nodes, unread, events, _plan_id(title, year, used), notes, span=span)
    draft.yaml = _dump(draft, source)
    _check(draft.yaml, calendar)
    return draft


def _candidates(doc: Document) -> Iterator[_Candidate]:
    for para in doc.paragraphs:
        if para.kind in ("title", "signature"):
            continue
        for sentence in sentences(para):
            simple = simplified(sentence.text)
            skip = ENUMERATOR.match(simple)
            atoms = _atoms(simple, skip.end() if skip else 0)
            for group in _clusters(simple, atoms):
                yield _Candidate(sentence, group, simple, doc.paragraphs)


def _read(c: _Candidate, year: int, calendar: ChinaCalendar,
          events: dict[str, date]) -> ExtractedNode | Unread | Span | None:
    """The node a cluster gives, an Unread for one that cannot be read, the plan's Span, or
    None to skip it."""
    simple, kinds = c.simple, {a.kind for a in c.atoms}
    before, after = simple[: c.start], simple[c.end:]
    if "past" in kinds or re.match(r"(?:以)?来|印发|发布|签发|颁布", after) or _ISSUED_ON.match(after) \
            or before.count("《") > before.count("》"):
        return None
    if _PAST.search(_clause_after(simple, c.start)):
        return None
    if re.match(r"[^,;。]{0,12}(?:召开|确定|印发|公布|评选|表彰)的|起?(?:执行|施行|实施|生效)", after) \
            or before.endswith("补") \
            or re.match(r"附件", simple) or re.search(r"第[\d一二三四五六七八九十]+届[“\"「]?$", before):
        return None  # 根据5月15日…召开的会议精神; 补10月7日的课; an attachment; 第十一届“4·20”
    if after.startswith("讯") and not kinds & {"every", "named", "lunar"}:
        return None  # 红网长沙4月15日讯: a news report's dateline
    if not kinds & {"every", "named", "lunar"} and _DATELINE.match(before) \
            and re.match(r"(?:晚|上午|下午|中午)?(?:[,:]|讯)", after) \
            and _REPORTED.search(simplified(c.sentence.paragraph.text)):
        return None  # a news report's dateline
    if re.search(r"(?<!\d)\d{2}年$", before) or re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", simple):
        return None  # 截止19年3月底 (a two-digit year: a record's date); a page's date alone
    if re.match(r"[xX×*]{1,2}日", after):
        return None  # 2015年9月xx日: a date left blank (a signature's), not the month
    if re.fullmatch(r"(?:本|今)?年内", simple[c.start: c.end]) and _DONE_WITHIN.match(after):
        return _within_the_year(c)  # 年内要完成…: by the year's end
    if kinds <= {"year", "thisyear"} or _WHOLE_YEAR.fullmatch(simple[c.start: c.end]):
        return None  # 2010年, 今年, 全年, 年内: the plan's year again, no point inside it
    if re.search(r"(?:力争|争取|确保)?到$", before) and "year" in kinds:
        return None  # a target: 力争到2015年底
    if kinds <= {"number", "day"}:
        return None
    if re.search(r"^(?:[^,;。]{0,40}?)(?:通知如下|安排如下|通知于后)", after) and re.search(r"(?:现就|现将|就)$", before):
        return None  # 现就2009年春节慰问…有关事项通知如下: the notice's subject, its dates follow
    if c.atoms[-1].kind == "named" and _ARRANGEMENT.match(after):
        return None  # 2019年国庆节假日安排为:9月30日至10月7日…: the dates follow
    if "named" in kinds and kinds <= {"named", "year"} and _IN_A_NAME.match(after) \
            and not c.text().endswith(("前", "期间", "前后", "前夕")):
        return None  # 2025年元旦春节走访慰问活动方案: the days in a document's name
    if kinds == {"named"} and len(c.atoms) == 1 and _bare_name(c.text()) and (
            _ARRANGEMENT.match(after) or _IN_A_NAME.match(after) or not (
                _OCCASION_BEFORE.search(before) or _OCCASION_AFTER.match(after)
                or _CELEBRATED.search(before)
                or (_HOLDS.search(before) and _ITS_ACTIVITY.match(after))
                or (_OPENS_CLAUSE.search(before) and _OPENS_ACTION.match(after)))):
        return None  # a festival as a topic (module docstring)
    if "every" in kinds and (_PER_PERSON.search(before)
                             or _QUANTITY.search(_own_clause(simple, c.start))
                             or (_PEOPLE_BEFORE.search(before) and _TIMES_EACH.match(after))
                             or re.match(r"有(?![一1两二三四\d]+[场次期个项])", after)):
        # 每月有安排: a standard, not a time (每月有一场讲座 is one)
        return None  # a quota, or a standard
    source = f"L{c.line}: {c.sentence.text.strip()}"
    open_range = _OPEN_RANGE.match(after)
    if open_range:  # 自2010年8月开始,至党的十八大召开: the campaign's span (from/until)
        text = c.text(c.start, c.end + open_range.end())
        event = next((key for key in KNOWN_EVENTS if key in open_range[0]), None)
        if event is not None and _problem(c.text(), year, calendar, events) is None:
            events.setdefault(event, KNOWN_EVENTS[event])
            return Span(c.line, re.sub(r"^[从自從]", "", c.text()), event, source)
        return Unread(c.line, text, "the end of the range is not a date Jiedian knows; write "
                      "it as a range (2010年8月—党的十八大召开前, with events:)", source)
    when, note, error = _best(c, year, calendar, events)
    if when is None:
        if {"bad", "event", "date", "every"} & kinds:
            return Unread(c.line, c.text(), error or "not understood", source)
        return None
    rule = parse(when)
    if max(o.end for o in rule.expand(year, calendar, events)) < date(year, 1, 1):
        return None  # wholly before the plan's year: a past reference
    kind = rule.kind
    submit = _SUBMIT.match(after)
    ends_by = re.search(r"[底末]$", simple[c.start: c.end]) and _SUBMIT_LATER.search(
        _clause_after(simple, c.start))  # 每季度末,各党支部报送…
    if kind != "deadline" and (submit or ends_by):
        kind = "deadline"
        said = c.text() + (c.sentence.text[c.end: c.end + submit.end()] if submit else "")
        note = note or f"文中“{said}”: read as a deadline (by the end of it)"
    lead, units = units_for(c.sentence, c.start, c.end, c.context)
    title = title_for(c.sentence, c.start, c.end)
    return ExtractedNode(c.line, when, kind, title, source, lead, units, note, c.text())


_DONE_WITHIN = re.compile(r"(?:要|须|必须|全面)?(?:完成|建成|办结)")  # not 实现: a target


def _within_the_year(c: _Candidate) -> ExtractedNode:
    """年内要完成…: a deadline at the year's end, as 年底前 reads."""
    lead, units = units_for(c.sentence, c.start, c.end, c.context)
    return ExtractedNode(c.line, "年底前", "deadline", title_for(c.sentence, c.start, c.end),
                         f"L{c.line}: {c.sentence.text.strip()}", lead, units,
                         f"文中“{c.text()}”: read as by the year's end", c.text())


def _bare_name(text: str) -> bool:
    """True when ``text`` is a day's name alone (no 前, 期间, 之际 … after it)."""
    return _NAME.fullmatch(re.sub(r"(?<=.)(?:佳节|节日)$", "", normalize(text))) is not None


def _best(c: _Candidate, year: int, calendar: ChinaCalendar,
          events: dict[str, date]) -> tuple[str | None, str | None, str | None]:
    """(when, note, error): the cluster as written, its canonical spelling, or its items."""
    literal = c.text()
    tried: list[str] = []
    error: str | None = None
    options = [(literal, None), (_canonical(c, c.atoms), f"文中“{literal}”")]
    if any(_START_GAP.fullmatch(c.simple[a.end: b.start]) for a, b in pairwise(c.atoms)):
        options.reverse()  # 6月开始,8月底 reads as a list: 6月至8月底 is what it says
    if dotted := re.fullmatch(r"(\d{1,2})\.(\d{1,2})", literal):  # 5.12护士节: the date alone
        options.append((f"{dotted[1]}月{dotted[2]}日", f"文中“{literal}”"))
    readable_texts = [text for text in (_item_text(c, item) for item in _items(c)) if text]
    if len(readable_texts) > 1:
        glue = next((m.group(0).strip("“”\"'「」") for m in _LIST_GAP.finditer(
            c.simple, c.start, c.end)), "、")
        glue = glue if glue in ("、", "和", "及", "与") else "、"
        options.append((glue.join(readable_texts), f"文中“{literal}”"))
    for text in readable_texts:
        options.append((text, f"文中“{literal}”" if len(readable_texts) > 1 else None))
    for text, note in options:
        if not text or text in tried:
            continue
        tried.append(text)
        problem = _problem(text, year, calendar, events)
        if problem is None:
            return text, (note if text != literal else None), None
        error = error or problem
    return None, None, error


def _problem(text: str, year: int, calendar: ChinaCalendar, events: dict[str, date]) -> str | None:
    """None when ``text`` parses and expands for ``year``; else what went wrong."""
    trial = dict(events)
    try:
        rule = parse(text)
        for name in rule.events:
            known = [key for key in KNOWN_EVENTS if key in name]
            if known and not any(key in name for key in trial):
                trial[known[0]] = KNOWN_EVENTS[known[0]]
        if not rule.expand(year, calendar, trial):
            return "gives no date"
        events.update(trial)  # the Party congress it needs, once it reads
    except MissingEventError as error:
        return f"refers to “{error.event}”, whose date is not known: add it under events:"
    except ExpressionError as error:
        return error.message
    return None


def _items(c: _Candidate) -> list[list[_Atom]]:
    """The cluster's list items: atoms between 、和及与."""
    items: list[list[_Atom]] = [[c.atoms[0]]]
    for previous, atom in pairwise(c.atoms):
        if _LIST_GAP.fullmatch(c.simple[previous.end: atom.start]):
            items.append([atom])
        else:
            items[-1].append(atom)
    return items


def _canonical(c: _Candidate, atoms: list[_Atom]) -> str:
    """The atoms joined by canonical connectors (开始,至 → 至)."""
    out = c.sentence.text[atoms[0].start: atoms[0].end]
    for previous, atom in pairwise(atoms):
        gap = c.simple[previous.end: atom.start]
        if _START_GAP.fullmatch(gap):
            out += "至"
        elif _RANGE_GAP.fullmatch(gap) and not _TIGHT_GAP.fullmatch(gap):
            out += "至" if re.search(r"至|到", gap) else "-"
        elif _LIST_GAP.fullmatch(gap) and not _TIGHT_GAP.fullmatch(gap):
            out += "或" if "或" in gap else "、"
        else:
            out += c.sentence.text[previous.end: atom.start]
        out += c.sentence.text[atom.start: atom.end]
    return out


def _item_text(c: _Candidate, item: list[_Atom]) -> str | None:
    """An item as written, or without its leading qualifiers (上半年5月1日 → 5月1日)."""
    for first in range(len(item)):
        rest = item[first:]
        if first and _RANGE_GAP.fullmatch(c.simple[item[first - 1].end: rest[0].start]) \
                and not _TIGHT_GAP.fullmatch(c.simple[item[first - 1].end: rest[0].start]):
            break  # never cut a range in two
        text = _canonical(c, rest)
        try:
            parse(text)
        except ExpressionError:
            continue
        return text
    return None


def _clause_after(simple: str, start: int) -> str:
    """The clause holding ``start`` and the one after it."""
    spans = clauses(simple)
    for i, (a, b) in enumerate(spans):
        if a <= start < b:
            end = spans[i + 1][1] if i + 1 < len(spans) else b
            return simple[start:end]
    return simple[start:]


def _own_clause(simple: str, start: int) -> str:
    """The clause of ``simple`` that ``start`` is in (每周学足2个小时, not the one after)."""
    return next((simple[a:b] for a, b in clauses(simple) if a <= start < b), simple[start:])


# 节假日期间, 节日期间, 假期期间 in a notice about one holiday: that holiday's 期间.
# (not 除夕、春节、元宵等传统节日期间: the listed days, read by the grammar)
_THE_HOLIDAYS = re.compile(r"(?<![节旦庆明午秋一四八宵])(?<!传统|重要|重大|法定)(?<!等)(?:进入)?(?:节假日|节日|假日|假期|放假)(?P<rel>期间|前(?![\u4e00-\u9fff]{0,2}(?:后|两天|1天|一天)))")
_HOLIDAY_NAMES = re.compile(r"元旦|春节|清明|五一|劳动节|端午|中秋|国庆")
_HOLIDAY_PAIRS = ({"中秋", "国庆"}, {"元旦", "春节"})


def _the_holiday(doc: Document) -> str | None:
    """The holiday a document is about (the one it names most; 中秋、国庆 or 元旦、春节 when it
    names both of a pair about as often), or None."""
    counts = Counter(("五一" if m[0] == "劳动节" else m[0]) for para in doc.paragraphs
                     for m in _HOLIDAY_NAMES.finditer(simplified(para.text)))
    if not counts:
        return None
    (first, n), *rest = counts.most_common(2)
    if rest and {first, rest[0][0]} in _HOLIDAY_PAIRS and 2 * rest[0][1] >= n:
        pair = sorted({first, rest[0][0]}, key=lambda name: ["元旦", "春节", "中秋", "国庆"].index(name))
        return "、".join(pair)
    return first


def _rewritten(doc: Document) -> Iterator[ExtractedNode]:
    """Nodes said without the grammar's words (_REWRITES), with what the text says in a note."""
    holiday = _the_holiday(doc)
    # 放假期间 is the notice's holiday; 进入假期前, 放假前 the day before its first (of a pair)
    rewrites = [*_REWRITES, (_THE_HOLIDAYS, lambda m: f"{holiday}期间" if m["rel"] == "期间"
                             else f"{holiday.split('、')[0]}前")] if holiday else _REWRITES
    for para in doc.paragraphs:
        for sentence in sentences(para):
            simple = simplified(sentence.text)
            for pattern, rewrite in rewrites:
                for m in pattern.finditer(simple):
                    if _PAST.search(_clause_after(simple, m.start())):
                        continue
                    when, line = rewrite(m), sentence.line_at(m.start())
                    written = sentence.text[m.start(): m.end()]
                    org = m.groupdict().get("org")
                    if org:  # 党小组月评: the body that does it, and the duty itself as the title
                        lead, units, title = [simplified(org)], [], simplified(written)
                    else:
                        lead, units = units_for(sentence, m.start(), m.end(), doc.paragraphs)
                        title = title_for(sentence, m.start(), m.end())
                    yield ExtractedNode(line, when, parse(when).kind, title,
                                        f"L{line}: {sentence.text.strip()}", lead, units,
                                        f"文中“{written}”", written)


# A line that gives only the hour, for the day named just before it: 服务时间:上午8:40—11:30
# under “七一”当天,开展…; 1、活动日下午3:15在操场集合 under 时间:5月4日.
_CLOCK_LINE = re.compile(rf"(?:[\u4e00-\u9fff]{{0,6}}(?:时间|流程|安排):)?(?:\d{{1,2}}[、.])?(?:(?:活动期间|每天|届时),)?(?P<said>(?:活动日|当天|当日)?(?P<clock>{clock_pattern()}))"
                         r"(?![\d月日年])")
# 五、开幕式(下午2:38): a step of the day's programme with its hour in brackets.
_CLOCK_GLOSS = re.compile(rf"^[^()]{{1,20}}\((?P<said>(?P<clock>{clock_pattern()}))\)$")
# 下午15:30上班—19:30下班: office hours, not a node.
_OFFICE_HOURS = re.compile(r"上班|下班|办公时间|开放时间|营业")
_HAS_CLOCK = re.compile(r"\d\s*[:：点时]")
_CLOCK_REACH = 12  # lines: how far back the day may have been named


def _timed(doc: Document, nodes: list[ExtractedNode], year: int, calendar: ChinaCalendar,
           events: dict[str, date]) -> list[ExtractedNode]:
    """Nodes for sentences that open with a clock time alone: the day of the nearest node
    before (one day) at that time."""
    out: list[ExtractedNode] = []
    for para in doc.paragraphs:
        if not _HAS_CLOCK.search(para.text):
            continue
        for sentence in sentences(para):
            norm, starts, ends = normalize_spans(sentence.text)
            skip = ENUMERATOR.match(norm)
            m = _CLOCK_LINE.match(norm, skip.end() if skip else 0) or _CLOCK_GLOSS.match(norm)
            if not m or not re.search(r"\d", m["clock"]) or _OFFICE_HOURS.search(norm):
                continue
            line = sentence.line_at(starts[m.start("said")])
            before = [n for n in nodes if n.line <= line and line - n.line <= _CLOCK_REACH
                      and n.source != f"L{line}: {sentence.text.strip()}"]
            when = _at_the_hour(before[-1].when, m["clock"], year, calendar, events) if before else None
            if when is None:
                continue
            day = before[-1]
            written = sentence.text[starts[m.start("said")]: ends[m.end("said") - 1]]
            out.append(ExtractedNode(line, when, parse(when).kind, day.title,
                                     f"L{line}: {sentence.text.strip()}", list(day.lead),
                                     list(day.units), f"文中“{written}”: the day of L{day.line}",
                                     written))
    return out


def _at_the_hour(day: str, clock: str, year: int, calendar: ChinaCalendar,
                 events: dict[str, date]) -> str | None:
    """``day`` (one day) at ``clock``: as written when it has no hour, else as its date."""
    with suppress(ExpressionError, MissingEventError):
        found = parse(day).expand(year, calendar, events)
        if len(found) != 1 or (found[0].end - found[0].start).days > 6:
            return None  # one day, or a few days running (4月4日—6日: each day at that hour)
        one = found[0]
        if one.part_of_day and one.start != one.end:
            return None
        when = day + clock if not one.part_of_day else \
            f"{one.start.year}年{one.start.month}月{one.start.day}日{clock}"
        return when if parse(when).expand(year, calendar, events) else None
    return None


# A title that says nothing of the task: a label (活动时间), a masked year (x年), a fragment
# of a range (--2011年6月31日), a site's breadcrumb, or nothing at all.
_WEAK_TITLE = re.compile(r"^(?:[\u4e00-\u9fff]{0,6}(?:时间|日期|时限|地点)|\d{0,3}[xX*_]*年|为期\d+天|[-—~至到].*|.*>.*|"
                         r"(?:活动|工作)?(?:主题|目的|内容|安排|要求|步骤|对象|形式|意义|背景|流程)"
                         r"|[\u4e00-\u9fff]{2,6}:.*|\W*)$")


def _title_weak_ones(doc: Document, nodes: list[ExtractedNode], doc_title: str) -> None:
    """Give a node whose title says nothing the heading of its item (the activity a label
    layout's 活动时间: belongs to), else the document's title."""
    headings = [(p.first_line, _heading_text(p.text)) for p in doc.paragraphs
                if p.kind == "heading" or (item_start(p.text) and len(p.text) <= 40)]
    for node in nodes:
        if not _WEAK_TITLE.match(node.title):
            continue
        own = _item_title(doc, node)
        if own:  # 1、护理操作技能比赛。…时间:5月上旬。: the item's own first words
            node.title = own
            continue
        above = [text for line, text in headings if line <= node.line and text
                 and not _WEAK_TITLE.match(text)]
        said = simplified(node.source.split(": ", 1)[-1]).replace(simplified(node.written), "")
        said = re.sub(r"^[\W\d_]+|[\W_]+$", "", ENUMERATOR.sub("", said))[:40]
        node.title = above[-1] if above else doc_title or said or node.written


def _item_title(doc: Document, node: ExtractedNode) -> str | None:
    """The first sentence of the numbered item the node's label sits in (1、…讲座。…时间:4月下旬),
    when it says something and holds no time itself; else None."""
    para = next((p for p in doc.paragraphs if p.first_line <= node.line <= p.last_line), None)
    if para is None or not item_start(para.text):
        return None
    first = re.split(r"[。;;!?!?]", ENUMERATOR.sub("", simplified(para.text)), maxsplit=1)[0].strip(" :")
    if not 2 <= len(first) <= 40 or _WEAK_TITLE.match(first) or simplified(node.written) in first:
        return None
    return first


def _heading_text(text: str) -> str:
    """一、活动主题:青春… → 活动主题:青春…; the words of a heading without its number."""
    simple = ENUMERATOR.sub("", simplified(text)).strip(" :。")
    return simple[:40]


def _name_in_full(doc: Document, nodes: list[ExtractedNode]) -> None:
    """Call a body by the full name the text gave it earlier (领导小组 → 工会…领导小组), and a
    bare 党委 by the document's own (镇党委 in a town's plan)."""
    known: list[tuple[int, str]] = [(para.first_line, name) for para in doc.paragraphs
                                    for name in founded(para.text)]
    own = own_bodies("".join(para.text for para in doc.paragraphs))
    for node in nodes:
        earlier = [name for line, name in reversed(known) if line < node.line] + own
        if any(name.startswith(("该", "本")) for name in (*node.lead, *node.units)):
            # 该工会: the last 工会 the text named in full before the node
            earlier = antecedents("".join(p.text for p in doc.paragraphs
                                          if p.first_line <= node.line)) + earlier
        node.lead, node.units = full_names(node.lead, earlier), full_names(node.units, earlier)


# The units of a notice in general: its addressees, when it names them.
_ANY_UNIT = re.compile(r"各(?:有关|相关|责任|牵头|成员)?(?:单位|部门|处室|科室|股室)|各单位\(部门\)|各部门\(单位\)")


def _fall_back_to_document(doc: Document, nodes: list[ExtractedNode], owner: str | None = None,
                           owner_from: str = "") -> None:
    """A node whose text names nobody goes to the document's actors (its addressees, else
    the units its sentences give a part, else ``owner``: the issuer, or the body the title
    names), with a note saying where they were read, so the draft reaches someone and the
    office sees what to check."""
    sent_to, line = addressees(doc.paragraphs)
    bare = [n for n in nodes if not (n.lead or n.units)]
    if sent_to:  # 各单位要于9月28日前报送: the notice's 各单位 are the units it is sent to
        for node in nodes:
            if not node.units or any(_ANY_UNIT.fullmatch(name) for name in node.units):
                node.units = list(dict.fromkeys(node.units + sent_to))  # 各单位 as written too
                said = f"责任单位取自主送单位(L{line}),请核对"
                node.note = f"{node.note}; {said}" if node.note else said
    if not bare:
        return
    lead, units, lines = document_units(doc.paragraphs)
    if not (lead or units):
        if owner:  # 街道组宣科工作方案 and nobody else named: the plan is its owner's work
            for node in bare:
                node.lead = [owner]
                said = f"单位取自{owner_from},请核对"
                node.note = f"{node.note}; {said}" if node.note else said
        return
    # A node naming nobody is the plan's work at large: it falls to every actor the text
    # gives a part, the addressees first (活动时间:3月4日—28日, then 各系团总支要…, 各班团支部要…).
    where = "、".join(f"L{line}" for line in lines[:6]) + ("…" if len(lines) > 6 else "")
    said = f"单位取自全文({where}),请核对"
    for node in bare:
        node.lead = [n for n in lead if n not in node.units]
        node.units = list(dict.fromkeys(node.units + [n for n in units if n not in node.lead]))
        node.note = f"{node.note}; {said}" if node.note else said


def _without_dated_festivals(nodes: list[ExtractedNode], year: int, calendar: ChinaCalendar,
                             events: dict[str, date]) -> list[ExtractedNode]:
    """A festival named alone (庆祝妇女节展板, 关于妇女节的知识) in a plan that dates its
    activity itself (活动时间:3月7日下午) is the plan's topic: the dated node is the node.
    Not when a preposition sets it as the time of something (在五四青年节统一表彰)."""
    def days(node: ExtractedNode) -> list[date]:  # the single days it names
        with suppress(ExpressionError, MissingEventError):
            return [o.start for o in parse(node.when).expand(year, calendar, events) if o.start == o.end]
        return []

    bare = {id(n) for n in nodes if _bare_name(n.written)
            and not re.search(f"(?:在|于)[“\"「]?{re.escape(n.written)}", n.source)}
    dated = [d for n in nodes if id(n) not in bare and re.search(r"\d+日", normalize(n.written))
             for d in days(n)]
    if not dated or not bare:
        return nodes
    return [n for n in nodes if id(n) not in bare
            or not any(abs((d - day).days) <= 10 for day in days(n) for d in dated)]


_BARE_MONTH = re.compile(r"(\d{1,2})月份?")


def _months_into_next_year(nodes: list[ExtractedNode]) -> None:
    """A schedule of bare months that runs from autumn over the new year (九月, 十月 … 十二月,
    一月: a school year, a winter campaign) goes on into the next year: 一月 after 十二月 is
    次年1月, and so are the months after it while they keep rising."""
    previous, rolled = 0, False
    for node in sorted(nodes, key=lambda n: n.line):
        m = _BARE_MONTH.fullmatch(normalize(node.when))
        if not m:
            continue
        month = int(m.group(1))
        if not rolled and previous >= 9 and month <= 6 and month < previous:
            rolled = True
        elif rolled and month < previous:
            rolled = False  # the schedule starts over: a new list
        if rolled:
            node.when = f"次年{node.when}"
        previous = month


def _dedupe(nodes: list[ExtractedNode]) -> list[ExtractedNode]:
    seen: set[tuple[int, str, str]] = set()
    out = []
    for node in nodes:
        key = (node.line, node.when, node.source)
        if key not in seen and not _restated(node, nodes):
            seen.add(key)
            out.append(node)
    return out


_HOW_OFTEN = re.compile(r"每(?:周|月|季度|半年|年)")


def _restated(node: ExtractedNode, nodes: list[ExtractedNode]) -> bool:
    """每周一次的学习日,具体时间固定在每周星期五下午: how often, said again more exactly in the
    same sentence, is the exact one's node only."""
    said_how_often = re.search(re.escape(simplified(node.written)) + r"[^,;。]{0,6}?(?:至少)?[一1]次",
                               simplified(node.source))
    return bool(_HOW_OFTEN.fullmatch(node.when)) and bool(said_how_often) and any(
        other.source == node.source and other.when != node.when and other.when.startswith(node.when)
        for other in nodes)


# ── plan-level fields ─────────────────────────────────────────────────────────

_ISSUER = re.compile(r"^(?:中共)?[\u4e00-\u9fff()()]{2,24}?(?:委员会|党委|党组|党工委|工委|人民政府|政府|办公室"
                     r"|领导小组|局|厅|委|总工会|工会)$")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日$")
_CN_DATE = re.compile(r"[〇○零一二三四五六七八九0]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日$")
_ABBREVIATIONS = [("创先争优", "cxzy"), ("党建", "dj"), ("党群", "dq"), ("品牌", "pp"), ("创新", "cx"),
                  ("工会", "gh"), ("工作要点", "gzyd"), ("实施方案", "ssfa"), ("工作方案", "gzfa"),
                  ("方案", "fa"), ("意见", "yj"), ("计划", "jh"), ("讲话", "jh"), ("通知", "tz")]


_NAMED_FILE = re.compile(r"《([^《》]{4,60}?(?:方案|计划|要点|安排|通知|意见|办法|细则|制度|规划))"
                         r"(?:\.(?:docx?|pdf|wps|txt))?》")


_ADDRESSEE_LINE = re.compile(r"[^。;]{2,60}[:：]")


def _title(doc: Document) -> tuple[str, str | None]:
    best: tuple[int, str] | None = None
    for para in doc.paragraphs[:12]:
        if para.kind != "title":
            continue
        raw = simplified(para.text)
        name = re.sub(r"^第[一二三四五六七八九十百\d]+篇\s*[::]\s*|【[^】]*】", "", raw).strip()
        m = re.match(r"关于印发《?(.+?)》?的通知$", name)
        name = m.group(1) if m else name
        if not name:
            continue
        score = 2 * name.startswith("关于") + bool(re.search(r"\d{4}年", name)) - 2 * ("【" in raw)
        score -= 2 * name.lower().startswith("x")
        if best is None or score > best[0]:
            best = (score, name)
    if best:
        return best[1], None
    opening = simplified("".join(p.text for p in doc.paragraphs[:3]))[:400]
    named = _NAMED_FILE.search(opening)  # 《X工作方案.docx》由会员分享: a document site's line
    if named:
        return named.group(1).replace('"', ""), None
    # the first words, but not an addressee line (各院系分团委、各班团支部:)
    opening = [p for p in doc.paragraphs[:2] if not _ADDRESSEE_LINE.fullmatch(simplified(p.text).strip())]
    first = simplified((opening or doc.paragraphs)[0].text)
    first = re.sub(r"[,,\s“”()()]", "", re.split(r"[。;;::]", first)[0])[:30] or "未命名计划"
    return first, ("no title in the text: the title is the first words of the document; "
                   "write a real one")


def _signature(doc: Document) -> tuple[str | None, date | None]:
    issuer = issued = None
    head = [simplified(p.text) for p in doc.paragraphs[:8]]
    tail = [simplified(p.text) for p in doc.paragraphs[-4:]]
    for text in head + tail:
        m = _DATE.search(text) or _CN_DATE.search(text)
        if m and text.endswith("日") and len(text) <= 40:
            ymd = _DATE.search(normalize(m.group(0)))  # 二〇一八年九月二十五日 as digits
            with suppress(ValueError):
                issued = issued or (date(int(ymd[1]), int(ymd[2]), int(ymd[3])) if ymd else None)
            org = text[: m.start()].strip()
            if org and _ISSUER.match(org):
                issuer = issuer or org
        elif _ISSUER.match(text) and len(text) <= 24:
            issuer = issuer or text
    return issuer, issued


def _year(title: str, issued: date | None, candidates: list[_Candidate], whole: str,
          fallback: _Fallback) -> tuple[int, str | None]:
    m = re.search(r"((?:19|20)\d{2})(?:年|(?=[上下]?半年))", title)  # 2021半年工作计划 too
    if m:
        return int(m.group(1)), None
    if issued:
        return issued.year, None
    years = Counter()
    for c in candidates:
        y = re.match(r"((?:19|20)\d{2})年", c.simple[c.start: c.end])
        if y and not re.match(r"(?:以)?来", c.simple[c.end:]) \
                and not c.simple[: c.start].endswith("到"):
            years[int(y.group(1))] += 1
    if not years:
        years = Counter(int(y) for y in re.findall(r"((?:19|20)\d{2})年(?!以来|来)", whole))
    if years:
        return max(years, key=lambda y: (years[y], -y)), None
    if fallback.page and not _MASKED_YEAR.search(whole):  # a masked year (20xx年) is for reuse
        day, line = fallback.page
        return day.year, f"no year in the text: the year is the page's date's ({day.isoformat()}, L{line}); check it"
    return fallback.this_year, "no year in the text: the year is this year's; correct it"


def _plan_id(title: str, year: int, used: set[str]) -> str:
    """cxzy-gzyd-2011-47a5: the kind of plan, its year and a hash of its title."""
    words = [abbr for word, abbr in _ABBREVIATIONS if word in title]
    slug = "-".join(dict.fromkeys(words)) or "plan"
    plan_id = base = f"{slug}-{year}-{zlib.crc32(title.encode()) % 0x10000:04x}"
    number = 1
    while plan_id in used:
        number += 1
        plan_id = f"{base}-{number}"
    used.add(plan_id)
    return plan_id


# ── the YAML ──────────────────────────────────────────────────────────────────


def _dump(draft: DraftDocument, source: str) -> str:
    """The draft as a plan file in DESIGN.md's field order, with comments for review."""
    root = CommentedMap([("id", draft.plan_id), ("title", draft.title)])
    if draft.issuer:
        root["issuer"] = draft.issuer
    if draft.issued:
        root["issued"] = draft.issued
    root["year"] = draft.year
    if draft.span:
        root["from"] = DoubleQuotedScalarString(draft.span.starts)
        root["until"] = draft.span.until
        root.yaml_add_eol_comment(draft.span.source, "until")
    root["timezone"] = "Asia/Shanghai"
    if draft.events:
        root["events"] = CommentedMap(sorted(draft.events.items()))
        root["events"].fa.set_flow_style()
    root["milestones"] = items = CommentedSeq()
    used: set[str] = set()
    for node in draft.nodes:
        mid, number = f"l{node.line}", 1
        while mid in used:  # l24, l24-2, l24-3: the line of the node in the text
            number += 1
            mid = f"l{node.line}-{number}"
        used.add(mid)
        item = CommentedMap([("id", mid), ("title", node.title or node.when),
                             ("when", DoubleQuotedScalarString(node.when)), ("kind", node.kind)])
        for name, names in (("lead", node.lead), ("units", node.units)):
            if names:
                item[name] = CommentedSeq(names)
                item[name].fa.set_flow_style()
        if node.note:
            item["note"] = node.note
        item["source"] = node.source
        items.append(item)
    header = [(f"Draft written by `jiedian plan extract` from {Path(source).name}, "
               f"lines {draft.first_line}–{draft.last_line}."),
              "Review every milestone (title, when, kind, units) before `jiedian plan add`."]
    header += [f"NOTE: {note}" for note in draft.notes]
    if draft.events:
        header.append("events: dates filled in from the Party congresses' opening days; check them")
    if not draft.nodes:
        header.append("No time nodes were found in this document"
                      + (" (it reads as a speech, essay or report)" if draft.narrative else "")
                      + ": the draft has no milestones.")
    root.yaml_set_start_comment("\n".join(header))
    yaml = YAML(typ="rt")
    yaml.allow_unicode = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = StringIO()
    yaml.dump(root, stream)
    text = stream.getvalue()
    if draft.unread:
        text += "\n# Time expressions Jiedian could not read (kept here, not milestones):\n"
        for item in draft.unread:
            text += (f"#   L{item.line}: “{item.text}”: {item.reason}\n"
                     f"#     {item.source.split(': ', 1)[1]}\n")
    return text
