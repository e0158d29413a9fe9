"""Plan text as published → documents → paragraphs → sentences, each knowing its line.

Plans reach us scraped from web pages: page numbers in the middle of a line,
lines broken mid-sentence, the same title three times, site furniture
(当前位置:文档之家›, 【关闭】, 推荐访问:) and truncation notices. This module
undoes that, keeping the number of the physical line every character came from:

1. ``clean_lines``: per line, drop furniture, pinyin notes (创(chuàng)), a
   table of contents, repeated titles and page numbers; squeeze the spaces a
   scrape inserts between Chinese characters and digits (201 0 年 → 2010年).
2. ``paragraphs``: join a line to the next when it stops mid-sentence (no
   closing punctuation, not a heading, title or signature, and the next line
   does not start a new item).
3. ``split_documents``: a file may hold several documents; one starts at a
   第N篇 heading, at a title line after body text, or where level-one
   numbering (一、二、…) starts again at 一、.
4. ``sentences``: split a paragraph at 。!?; outside brackets.

Every text here keeps the script it was written in (Traditional stays
Traditional); ``simplified`` gives a copy with the same length for matching.
"""

from __future__ import annotations

import re
import zipfile
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path

from plans._errors import PlanError
from plans._text import normalize, to_simplified

__all__ = [
    "ENUMERATOR",
    "Document",
    "Paragraph",
    "Sentence",
    "clauses",
    "clean_lines",
    "page_date",
    "paragraphs",
    "read_document",
    "sentences",
    "simplified",
    "split_documents",
]

_WIDE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


@lru_cache(maxsize=8192)
def simplified(text: str) -> str:
    """Simplified script, ASCII digits and letters; same length as ``text`` (1:1 per character)."""
    return to_simplified(text).translate(_WIDE)


# ── reading ───────────────────────────────────────────────────────────────────


# The largest text extracted, in bytes (UTF-8, or the file's own). A plan is 10–60 KB (the seed
# documents: 9–56 KB, the largest holding five plans) and a file of a year's collected plans a
# few hundred KB. Extraction takes 3–8 s a MB on one core (a 65 MB scrape took 95 s and 335 MB,
# in silence); 2 MB, ~700,000 Chinese characters and 35 times the largest seed, takes 6–16 s.
MAX_TEXT_BYTES = 2_000_000


def read_document(path: str | Path) -> str:
    """The text of a .txt (UTF-8; GB18030 as a fallback) or .docx file; PlanError if unreadable
    or larger than MAX_TEXT_BYTES."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES and path.is_file() and path.suffix.lower() != ".docx":
            # Refused before reading: a .docx is measured by its text (pictures make files big).
            raise PlanError([_too_large(path, size)])
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise PlanError([f"{path}: is a directory; give a .txt, .docx or .xlsx file"]) from None
    except OSError as error:
        raise PlanError([f"{path}: cannot be read: {error.strerror}"]) from None
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # an OLE file: .doc, or encrypted
        if "EncryptedPackage".encode("utf-16-le") in data:  # the stream of an encrypted OOXML
            raise PlanError([(f"{path}: is password-protected; open it, remove the password "
                              "(文件 → 信息 → 保护文档 → 用密码进行加密: clear it), save, and try "
                              "again")])
        raise PlanError([(f"{path}: is an old-format Word (.doc) file; open it in Word or WPS "
                          "and save it as .docx (or .txt, UTF-8)")])
    if path.suffix.lower() == ".docx" or data[:2] == b"PK":
        text = _read_docx(path)
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise PlanError([_too_large(path, size, "its text is ")])
        return text
    if path.suffix.lower() in (".doc", ".pdf", ".wps") or b"\x00" in data[:4096]:
        raise PlanError([f"{path}: not a text file; save it as .txt (UTF-8) or .docx"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            problem = f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
            raise PlanError([f"{problem}; save it as UTF-8"]) from None


def _too_large(path: Path, size: int, what: str = "") -> str:
    return (f"{path}: {what}{size / 1e6:.1f} MB, too large to extract (the limit is "
            f"{MAX_TEXT_BYTES / 1e6:.0f} MB of text, ~700,000 Chinese characters, far more than "
            "one plan); split the file into its documents, one plan per file, and extract each")


def _read_docx(path: Path) -> str:
    """One line per paragraph; a table row is one line with its cells separated by spaces,
    except in a task table (序号 | 工作任务 | 完成时限 …), whose rows ``_tables`` reads as
    milestones: they are blank lines here, so line numbers stay those of the whole text."""
    import docx  # python-docx: only needed for .docx input
    from docx.opc.exceptions import PackageNotFoundError

    from plans._sheets import MAX_XML_BYTES, docx_content  # the task tables of a .docx

    unreadable = (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError)
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(i.file_size for i in archive.infolist() if i.filename.startswith("word/")
                       and i.filename.endswith(".xml"))
    except unreadable as error:
        raise PlanError([f"{path}: not a readable .docx file ({error})"]) from None
    if size > MAX_XML_BYTES:  # python-docx holds every part in memory: stop a zip bomb here
        raise PlanError([(f"{path}: its XML unpacks to {size / 1e6:.0f} MB, too large to read "
                          f"(the limit is {MAX_XML_BYTES / 1e6:.0f} MB); split the document "
                          "into its plans, one per file, and extract each")])
    try:
        document = docx.Document(str(path))
    except unreadable as error:
        raise PlanError([f"{path}: not a readable .docx file ({error})"]) from None
    return "\n".join(docx_content(document)[0])


# ── lines ─────────────────────────────────────────────────────────────────────

_FURNITURE = re.compile(
    r"^(?:当前位置|您的位置|你的位置|您现在的位置|所在位置|位置)\s*[::]|文档之家|新文秘网|小编|供大家参考"
    r"|网友投稿|^推荐访问|^相关(?:主题|文档|文章|阅读|推荐)|^文本预览|^最新文档|^文章搜索|正式会员"
    r"|全文共\d+字|当前仅显示|阅读下面提示|^【(?:大\s*中\s*小|关闭|打印|返回顶部)】|^(?:上一篇|下一篇|返回|首页"
    r"|打印本页|关闭窗口)|^(?:发表时间|发布时间|发布日期|加入日期|来源|作者|浏览次数|查看人数|点击数|阅读数"
    r"|字体)\s*[::]|^时间\s*[::]\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:\s*\d{1,2}:\d\d(?::\d\d)?)?\s*$|^时间\s*[::].*(?:来源|作者)|^(?:扫一扫|分享到|责任编辑)"
)
# Furniture that follows real text on the same line: cut it off.
_TAIL = re.compile(r"\s*(?:加入日期|发布日期|发表时间|发布时间|查看人数|浏览次数|点击数|来源)\s*[::].*$"
                   r"|…*\s*[((](?:未完|[^()()]*省略\d+字)[^\n]*$")
_BREADCRUMB = re.compile(r"^.*?(?:›|>>|»)\s*")
_PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_PAGE_LINE = re.compile(r"^(?:[-—–\s]*\d{1,3}[-—–\s]*|第\s*\d+\s*页.{0,20}|\d+\s*/\s*\d+|page\s*\d+)$",
                        re.IGNORECASE)
# 第1页共6页街道组宣科工作方案…: a page flattened into one line starts with its page marker.
_PAGE_BEFORE = re.compile(r"^第\s*\d+\s*页\s*[/,,]?\s*共\s*\d+\s*页\s*")
_PAGE_AFTER_STOP = re.compile(r"(?<=[。!?;:”」)])(?<!\d[:：])\s*\d{1,3}$")  # not the 30 of 11:30
_PAGE_TAIL = re.compile(r"(?<=[\u4e00-\u9fff、,,])\s*\d{1,2}$")
_TOC = re.compile(r"^目\s*录|^提\s*纲")
_DOC_HEADING = re.compile(r"^第[一二三四五六七八九十百\d]+篇\s*[::]\s*")
_DECOR = re.compile(r"【[^】]{1,6}】|^\W+")
_QUOTES = str.maketrans("", "", "“”‘’\"'「」『』《》 ")


# HTML entities a scrape left, often without their &: lsquo;两节rsquo;, &nbsp;.
_ENTITY = re.compile(r"&?(lsquo|rsquo|ldquo|rdquo|nbsp|ensp|emsp|mdash|ndash|hellip|middot|quot|amp|lt|gt);")
_ENTITY_TEXT = {"lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "nbsp": " ", "ensp": " ", "emsp": " ",
                "mdash": "—", "ndash": "–", "hellip": "…", "middot": "·", "quot": '"', "amp": "&", "lt": "<",
                "gt": ">"}


def _entities(text: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITY_TEXT[m.group(1)], text) if ";" in text else text


def _squeeze(text: str) -> str:
    """Drop whitespace, except one space between two ASCII letters (201 0 年 → 2010年)."""

    def keep(m: re.Match[str]) -> str:
        before = m.string[m.start() - 1] if m.start() else ""
        after = m.string[m.end()] if m.end() < len(m.string) else ""
        words = before.isascii() and before.isalpha() and after.isascii() and after.isalpha()
        return " " if words else ""

    return _SPACES.sub(keep, text)


def title_key(text: str) -> str:
    """What two spellings of one title share: simplified, no 第N篇:, 【精品】, quotes or spaces."""
    text = _DOC_HEADING.sub("", simplified(text))
    return _DECOR.sub("", text).translate(_QUOTES)


# A page's own date, on a line clean_lines drops: 发布日期:2025年02月12日, 时间:2023-08-26.
_PAGE_DATE = re.compile(r"(?:发布日期|发布时间|发表时间|加入日期|时间)\s*[::]\s*"
                        r"(?P<y>(?:19|20)\d{2})(?:年|[-/.])(?P<m>\d{1,2})(?:月|[-/.])(?P<d>\d{1,2})"
                        r"|^\W*(?P<y2>(?:19|20)\d{2})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})\s*(?:发布|上传)")


def page_date(text: str) -> tuple[date, int] | None:
    """(the date, its line) of the first publication date a page's furniture carries, if any
    in the first 30 lines: the document's date when the document itself says nothing."""
    for number, raw in enumerate(text.splitlines()[:30], 1):
        m = _PAGE_DATE.search(simplified(raw))
        if m:
            with suppress(ValueError):
                return date(int(m["y"] or m["y2"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"])), number
    return None


# A table a page flattened to one cell per line, with a line holding only | between cells:
# its header is the run of column names it starts with (月份 | 活动对象 | 活动主题).
_HEADER_CELL = re.compile(r"序号|月份|时间|日期|完成时限|时限|时间安排|活动时间|工作任务|工作内容|活动内容|内容"
                          r"|活动主题|主题|活动对象|对象|参加人员|参加对象|地点|活动地点|牵头单位|责任单位"
                          r"|牵头部门|责任部门|配合单位|责任人|负责人|备注|形式|活动形式|项目|活动项目|任务")
_CELL_BAR = re.compile(r"\s*[|｜]\s*")


def _table_rows(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, line) with each flattened table's cells joined back into rows
    (九月 | 在校团员 | 奋进…), each row at its first cell's line."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        cells: list[tuple[int, str]] = []
        j = i
        while j < len(lines) and lines[j].strip() and not _CELL_BAR.fullmatch(lines[j]):
            cells.append((j + 1, lines[j].strip()))
            j += 1
            if j < len(lines) and _CELL_BAR.fullmatch(lines[j]):
                j += 1
            else:
                break
        width = next((k for k, (_, cell) in enumerate(cells) if not _HEADER_CELL.fullmatch(simplified(cell))),
                     len(cells))
        if width >= 2 and len(cells) >= 2 * width:
            for start in range(0, len(cells), width):
                row = cells[start: start + width]
                out.append((row[0][0], " | ".join(cell for _, cell in row)))
            i = j
        else:
            out.append((i + 1, lines[i]))
            i += 1
    return out


def clean_lines(text: str) -> list[tuple[int, str]]:
    """(line number, cleaned text) of the lines that carry content, in order; (0, "")
    marks a place where text is missing (a truncation), which no sentence crosses."""
    out: list[tuple[int, str]] = []
    in_toc = False
    seen_titles: set[str] = set()
    lines = text.splitlines()
    numbered = _table_rows(lines) if any(_CELL_BAR.fullmatch(line) for line in lines) \
        else list(enumerate(lines, 1))
    for number, raw in numbered:
        line = _squeeze(_PINYIN.sub("", _entities(raw))).strip()
        simple = simplified(line)
        if not line:
            continue
        if in_toc:
            if (len(line) <= 40 and "。" not in line) or set(line) <= set("….·. "):
                continue
            in_toc = False
        if _TOC.match(simple):
            in_toc = True
            continue
        tail = _TAIL.search(simple)
        if tail:  # a truncation notice or furniture after real text: cut, and break there
            line, simple = line[: tail.start()].rstrip(), simple[: tail.start()].rstrip()
            out.append((0, ""))
            if not line:
                continue
        if _FURNITURE.search(simple):
            # 当前位置:文档之家› TITLE: keep the title after a breadcrumb, drop anything else
            line = _BREADCRUMB.sub("", line) if "位置" in simple[:6] else ""
            if not line or _BREADCRUMB.match(line):
                continue
        line = _PAGE_BEFORE.sub("", _PAGE_AFTER_STOP.sub("", line))
        if not line or _PAGE_LINE.match(line) or set(line) <= set("….·. "):
            continue
        key = title_key(line)
        if is_title(line) or _DOC_HEADING.match(simplified(line)):
            if key in seen_titles and not _DOC_HEADING.match(simplified(line)):
                continue  # the same title again, before any body text
            seen_titles.add(key)
        elif _is_body(line):
            seen_titles = set()
        out.append((number, line))
    return out


# ── line kinds ────────────────────────────────────────────────────────────────

_DOC_TYPES = ("要点", "方案", "意见", "通知", "讲话", "计划", "安排", "办法", "细则", "规划", "决定",
              "总结", "报告", "纲要", "规定", "通报")
_STOPS = "。!?!?;;"
_MARKER = re.compile(
    r"^(?:第[一二三四五六七八九十百\d]+[篇章节部分条]|[一二三四五六七八九十]+[、.．]|[((][一二三四五六七八九十\d]+[))]"
    r"|\d{1,2}\s*[、.．](?!\d)|[一二三四五六七八九十]+(?:是|要)|\[\d+\]|[①-⑳])"
)
_LEVEL_ONE = re.compile(r"^([一二三四五六七八九十]+)[、.．]")
_SIGNATURE = re.compile(r"^(?:[^:：]{2,30}?\s*)?(?:\d{4}|[〇零一二三四五六七八九]{4})年\d{1,2}月\d{1,2}日$")
# An item's number at the start of a sentence: 1、 (一) 一是 二要 (and scraping debris before it).
ENUMERATOR = re.compile(r"^[\s’'\"”〃.○●◆◇■□▪►√※]*(?:[((]?[一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十\d]{1,3}(?:、|[.．](?!\d))"
                         r"|[一二三四五六七八九十]+[是要])?")  # 5.12护士节 is a date, not item 5
# A line that is only an organisation's name: an issuer or a signature, never a continuation.
_ORG_LINE = re.compile(r"^(?:中共)?[\u4e00-\u9fff()()]{2,24}?(?:委员会|党委|党组|党工委|工委|人民政府|政府"
                       r"|办公室|领导小组|局|厅|总工会|工会)$")
_CONTINUES = "、,,。;;:)”’)》"
_ONE_MORE = re.compile(r"[\u4e00-\u9fff][、,,]")  # 各党(工) | 委、区委组织部: a word broken in two


def is_title(line: str) -> bool:
    """A document's title: short, no sentence punctuation, ends with a kind of document."""
    simple = title_key(line)
    return (4 <= len(simple) <= 60 and simple.endswith(_DOC_TYPES) and not _MARKER.match(simple)
            and not _MARKER.match(simplified(line).strip())  # (一)、时间安排 is a heading
            and not any(mark in simple for mark in "。,,;;!?"))


def is_heading(line: str) -> bool:
    return bool(_MARKER.match(line)) and len(line) <= 40 and not any(s in line for s in "。;;")


def is_signature(line: str) -> bool:
    simple = simplified(line)
    return bool(_SIGNATURE.match(simple) or (_CN_DATE_LINE.match(simple) and _SIGNATURE.match(normalize(simple))))


# 二〇〇八年十二月十八日 alone on a line: a signature's date in Chinese numerals.
_CN_DATE_LINE = re.compile(r"^[^:：]{0,30}?[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日$")


def _is_body(line: str) -> bool:
    return len(line) >= 40 and any(stop in line for stop in "。,,;;")


def item_start(line: str) -> bool:
    return bool(_MARKER.match(line))


# ── paragraphs and documents ──────────────────────────────────────────────────


@dataclass
class Paragraph:
    """Lines joined into one run of text; ``starts`` maps offsets back to line numbers."""

    text: str
    starts: list[tuple[int, int]] = field(default_factory=list)  # (offset, line number)

    @property
    def first_line(self) -> int:
        return self.starts[0][1]

    @property
    def last_line(self) -> int:
        return self.starts[-1][1]

    def line_at(self, offset: int) -> int:
        line = self.starts[0][1]
        for start, number in self.starts:
            if start > offset:
                break
            line = number
        return line

    @cached_property
    def kind(self) -> str:
        if is_title(self.text) or _DOC_HEADING.match(simplified(self.text)):
            return "title"
        if is_signature(self.text):
            return "signature"
        return "heading" if is_heading(self.text) else "body"


def _complete(text: str) -> bool:
    return (text[-1] in _STOPS + "::…." or is_title(text) or is_heading(text)
            or is_signature(text) or bool(_DOC_HEADING.match(simplified(text))))


def paragraphs(lines: list[tuple[int, str]]) -> list[Paragraph]:
    """Join broken lines: a line that stops mid-sentence continues on the next one (a table
    row, its cells between |, stands alone)."""
    out: list[Paragraph] = []
    last: Paragraph | None = None
    for number, line in lines:
        if not line:  # text is missing here: start afresh
            last = None
            continue
        if last is not None and not _complete(last.text) and not item_start(line) \
                and "|" not in line and "|" not in last.text \
                and not is_signature(line) and not _ORG_LINE.match(simplified(line)) \
                and (not is_title(line) or is_title(last.text + line)) \
                and (len(last.text) >= 15 or line[0] in _CONTINUES or _ONE_MORE.match(line)
                     or _PAGE_TAIL.search(last.text) or any(m in last.text for m in ",,、")):
            text = last.text
            page = _PAGE_TAIL.search(text)
            if page and not re.match(r"[个名次人万元年月日天项条件篇期批%~\-—～至到、.．]", line):
                text = text[: page.start()]  # a page number left at the break
            last.text = text + line
            last.starts.append((len(text), number))
            continue
        last = Paragraph(line, [(0, number)])
        out.append(last)
    return out


@dataclass
class Document:
    """One document of a file: its paragraphs, in order."""

    paragraphs: list[Paragraph]

    @property
    def first_line(self) -> int:
        return self.paragraphs[0].first_line

    @property
    def last_line(self) -> int:
        return self.paragraphs[-1].last_line

    @property
    def size(self) -> int:
        return sum(len(p.text) for p in self.paragraphs)


def split_documents(paras: list[Paragraph]) -> list[Document]:
    """Cut at 第N篇 headings, at a title after body text, and where 一、二、… restarts at 一、."""
    cuts = [0]
    body = False  # body text seen since the last cut
    level = 0  # the highest level-one number seen since the last cut
    headings: set[str] = set()
    for index, para in enumerate(paras):
        simple = simplified(para.text)
        cut = None
        if _DOC_HEADING.match(simple) or (body and para.kind == "title"):
            cut = index
        elif (m := _LEVEL_ONE.match(simple)) and len(simple) <= 60:
            number = _chinese_count(m.group(1))
            if number == 1 and level >= 2 and title_key(simple) not in headings:
                cut = _walk_back(paras, index, cuts[-1])
            level = max(level, number)
            headings.add(title_key(simple))
        if cut is not None and cut > cuts[-1]:
            cuts.append(cut)
            level = 1 if _LEVEL_ONE.match(simple) else 0
            body = False
            headings = {title_key(simple)} if level else set()
        if para.kind == "body" and _is_body(para.text):
            body = True
    cuts.append(len(paras))
    return [Document(paras[a:b]) for a, b in pairwise(cuts) if b > a]


def _walk_back(paras: list[Paragraph], index: int, floor: int) -> int:
    """Where the document whose numbering restarts at ``index`` begins: take the unnumbered
    paragraphs just before it (a preamble, a byline), at most three, stopping at a title."""
    start = index
    while start - 1 > floor and index - start < 3:
        previous = paras[start - 1]
        if item_start(previous.text):
            break
        start -= 1
        if previous.kind == "title":
            break
    return start


def _chinese_count(text: str) -> int:
    digits = "一二三四五六七八九"
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + digits.index(text[1]) + 1
    if "十" in text:
        tens, _, units = text.partition("十")
        return (digits.index(tens) + 1) * 10 + (digits.index(units) + 1 if units else 0)
    return digits.index(text[0]) + 1 if text[0] in digits else 0


# ── sentences and clauses ─────────────────────────────────────────────────────


@dataclass(frozen=True)
class Sentence:
    """A sentence of a paragraph: its text and where it starts in the paragraph."""

    text: str
    start: int
    paragraph: Paragraph

    def line_at(self, offset: int) -> int:
        """The line of the character at ``offset`` within the sentence."""
        return self.paragraph.line_at(self.start + offset)


_OPEN, _CLOSE = "((《【[", "))》】]"


def _split(text: str, stops: str, depth_limit: int = 120) -> list[tuple[int, int]]:
    """Spans of ``text`` ended by a character of ``stops`` outside brackets (and “quotes”)."""
    spans, start, depth, opened = [], 0, 0, 0
    quote = False
    for i, char in enumerate(text):
        if char in _OPEN:
            depth, opened = depth + 1, i if depth == 0 else opened
        elif char in _CLOSE and depth:
            depth -= 1
        elif char == "“":
            quote, opened = True, i
        elif char == "”":
            quote = False
        if (depth or quote) and i - opened > depth_limit:  # an unclosed bracket: ignore it
            depth, quote = 0, False
        # "表彰.4月,部署…": a scrape's full stop, after a Chinese character, ends a sentence too
        stop = char in stops or (char == "." and "." in stops and i > 0
                                 and "\u4e00" <= text[i - 1] <= "\u9fff")
        if char == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            stop = False  # 5.12护士节, 1.5倍: a number, not the end of a sentence
        if stop and not depth and not quote:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip(stops + " ")]


def sentences(para: Paragraph) -> list[Sentence]:
    return [Sentence(para.text[a:b], a, para) for a, b in _split(para.text, _STOPS + "….")]


def clauses(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses of a sentence (split at , ; : outside brackets and quotes)."""
    return _split(text, ",,;;::。!?!?|", depth_limit=60)  # | between a table row's cells
