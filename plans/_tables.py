"""`jiedian plan extract` for task tables (任务分解表): their rows as milestones.

A task table gives its time nodes row by row, so it is read as a table, not as
prose (``_sheets`` finds the tables in an .xlsx or a .docx and their header).
Each row below the header is one milestone: its title is the task's first
clause (at most 40 characters), its ``when`` the time cell as ``parse`` reads it
and expands for the plan's year — else the time found in it (6月底前 in
于6月底前全面完成), its lead and units the cells split at 、,; and spaces, its
source the row's cells with their column names (R5: 序号 1 | 工作任务 … ). A row
whose time cannot be read (长期坚持) is kept as a comment, as the text path keeps
an expression it cannot read.

``extract_workbook`` (an .xlsx: one draft per sheet with a task table) and
``add_docx_tables`` (a .docx: each table's rows join the draft of the text around
it) build the same ``Extraction``/``DraftDocument`` objects as the text path, so
``Extraction.write`` and the CLI work unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from plans._calendar import CALENDAR, ChinaCalendar
from plans._draft import _check
from plans._expressions import parse
from plans._extract import (
    DraftDocument,
    ExtractedNode,
    Extraction,
    Unread,
    _dump,
    _plan_id,
    _problem,
)
from plans._sheets import (
    TaskTable,
    docx_content,
    is_docx,
    is_workbook,
    open_docx,
    read_workbook,
)
from plans._text import to_simplified

__all__ = ["Record", "add_docx_tables", "extract_workbook", "is_docx", "is_workbook", "records"]

TITLE_LENGTH = 40

# ── rows to records ───────────────────────────────────────────────────────────


@dataclass
class Record:
    """One data row of a task table: what a milestone needs from it."""

    line: int
    title: str
    time: str  # the time cell as written
    lead: list[str]
    units: list[str]
    source: str
    column: str  # the time column's name (完成时限)
    deadline: bool  # that column holds deadlines


_NAMES = re.compile(r"[、，,；;\s]+")
_ENUMERATOR = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十\d]{1,3}[、.．]"
                         r"(?!\d)|[一二三四五六七八九十]+是)\s*")
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）]"
                      r"|第[一二三四五六七八九十]+(?:部分|章|节|类|项))")
_CLAUSE = re.compile(r"[，,；;。：:！!？?\n]")


def _names(cell: str) -> list[str]:
    return [name for name in _NAMES.split(cell) if name]


def _title(cell: str) -> str:
    """The task's first clause, without its number, at most TITLE_LENGTH characters."""
    text = _ENUMERATOR.sub("", cell.strip())
    first = next((part.strip() for part in _CLAUSE.split(text) if part.strip()), "")
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"


def records(table: TaskTable) -> Iterator[Record]:
    """The table's data rows as records. Rows with neither a task nor a time, section rows
    (one text across the row: 一、组织建设) and the header repeated on a new page are skipped."""
    h = table.header
    for number, cells in table.rows:

        def cell(column: int | None, cells: list[str] = cells) -> str:
            return cells[column].strip() if column is not None and column < len(cells) else ""

        # A line break in a time cell is the cell's wrapping (2024年\n6月底前), not a separator.
        task, time = cell(h.task), re.sub(r"\s*\n\s*", "", cell(h.time))
        if not (task or time) or task == time or h.repeated_in(cells):
            continue
        if not time and _SECTION.match(task) and sum(1 for c in cells if c.strip()) == 1:
            continue  # a section heading typed into the task column alone
        lead = list(dict.fromkeys(n for column in h.lead for n in _names(cell(column))))
        units = list(dict.fromkeys(n for column in h.units for n in _names(cell(column))
                                   if n not in lead))
        parts = [f"{label} {text}" if label else text
                 for label, text in zip(h.labels, (re.sub(r"\s+", " ", c).strip() for c in cells),
                                        strict=False) if text]
        yield Record(number, _title(task) or _title(cell(h.group)) or time, time, lead, units,
                     f"{table.label}{number}: {' | '.join(parts)}", h.labels[h.time], h.deadline)


# ── reading a time cell ───────────────────────────────────────────────────────

# What a time cell says after its time: 6月底前完成, 6月30日前上报, 年底前全面完成并报送.
_AFTER = re.compile(r"(?:全面|基本|全部|并|及时|按时)?(?:完成|办结|落实|上报|报送|提交|上交|报|交|结束|到位"
                    r"|见效|完毕|启动|开始|实施|推进|开展|召开|举办|部署|部署完成|验收|长期坚持|持续推进)"
                    r"(?:工作|任务)?$")
_BEFORE = re.compile(r"^(?:(?:从|自)?即日起(?:至|到)?|于|在|截至|截止(?:到|于)?|力争|争取|确保|计划|预计)")
_PIECES = re.compile(r"[，,；;。\s]+")
_ONGOING = re.compile(r"长期|持续|常态|经常|日常|随时|适时|定期|按要求|按规定|根据|全年坚持")


def _tries(cell: str) -> list[str]:
    """The texts to try as the cell's time: the whole cell, then without the words around its
    time, then each piece of it (分阶段推进，6月底前完成)."""
    out: list[str] = []

    def add(text: str) -> None:
        text = text.strip()
        while text:
            if text not in out:
                out.append(text)
            shorter = _BEFORE.sub("", _AFTER.sub("", text)).strip()
            if shorter == text:
                break
            text = shorter

    add(cell)
    pieces = [p for p in _PIECES.split(cell) if p]
    if len(pieces) > 1:
        for piece in pieces:
            add(piece)
    return out


def _node(record: Record, year: int, calendar: ChinaCalendar,
          events: dict[str, date]) -> ExtractedNode | Unread:
    """The milestone a record gives, or an Unread keeping the row for a person to finish."""
    if not record.time:
        return Unread(record.line, "", f"no time in the {record.column} cell; give one or "
                      "leave the task out", record.source)
    first_error: str | None = None
    for text in _tries(record.time):
        problem = _problem(text, year, calendar, events)
        if problem is not None:
            first_error = first_error or problem
            continue
        rule = parse(text)
        kind, note = rule.kind, (f"表中“{record.time}”" if text != record.time else None)
        if record.deadline and kind != "deadline":
            kind = "deadline"  # 完成时限 6月: done by the end of June
            if any(o.end > o.start for o in rule.expand(year, calendar, events)):
                note = f"表中{record.column}“{record.time}”: read as a deadline (by the end of it)"
        return ExtractedNode(record.line, text, kind, record.title, record.source, record.lead,
                             record.units, note, record.time)
    if _ONGOING.search(record.time):
        reason = "an ongoing task has no time node; give it one (每季度末, 12月底前) or leave it out"
    else:
        reason = first_error or "not understood"
    return Unread(record.line, record.time, reason, record.source)


# ── drafts ────────────────────────────────────────────────────────────────────

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_NAMED_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")  # in a title or a name: 2024任务表
_DEFAULT_SHEET = re.compile(r"^(?:sheet|工作表|表|页)\s*\d*$", re.IGNORECASE)


def _year(names: list[str], times: list[str], fallback: int) -> tuple[int, str | None]:
    """The plan's year: the first one ``names`` give (title, sheet, file), else the one the time
    cells name most, else ``fallback`` (with a note)."""
    for name in names:
        m = _NAMED_YEAR.search(name)
        if m:
            return int(m.group(1)), None
    years = Counter(int(y) for t in times for y in _YEAR.findall(to_simplified(t)))
    if years:
        return max(years, key=lambda y: (years[y], -y)), None
    return fallback, "no year in the table: the year is this year's; correct it"


def _nodes(table: TaskTable, year: int, calendar: ChinaCalendar,
           events: dict[str, date]) -> tuple[list[ExtractedNode], list[Unread]]:
    nodes: list[ExtractedNode] = []
    unread: list[Unread] = []
    for record in records(table):
        found = _node(record, year, calendar, events)
        if isinstance(found, ExtractedNode):
            nodes.append(found)
        else:
            unread.append(found)
    return nodes, unread


def _finish(draft: DraftDocument, source: str, calendar: ChinaCalendar, *, rows: bool) -> None:
    """Write the draft's YAML (a sheet's "lines" are its rows) and load it as a plan."""
    text = _dump(draft, source)
    if rows:
        first, _, rest = text.partition("\n")
        text = first.replace(", lines ", ", rows ", 1) + "\n" + rest
        # The comments on unread rows cite them as the sources do: R6, not L6.
        text = re.sub(r"^#   L(\d+): “", r"#   R\1: “", text, flags=re.MULTILINE)
    draft.yaml = text
    _check(draft.yaml, calendar)


def extract_workbook(path: str | Path, calendar: ChinaCalendar = CALENDAR,
                     today: date | None = None) -> Extraction:
    """Drafts of an .xlsx workbook: one document per sheet with a task header. PlanError if the
    file cannot be read, is too large, or has no task table."""
    path = Path(path)
    fallback = (today or date.today()).year
    used: set[str] = set()  # plan ids stay unique within one file
    documents = []
    for table in read_workbook(path):
        sheet = table.name.removeprefix("sheet ")
        named = not _DEFAULT_SHEET.match(sheet)
        title = table.title or (sheet if named else path.stem)
        year, year_note = _year([t for t in (table.title, sheet, path.stem) if t],
                                [r.time for r in records(table)], fallback)
        whose = "sheet" if named else "file"
        notes = [note for note in (None if table.title else (
            f"no title above the table: the title is the {whose}'s name; write a real one"),
            year_note) if note]
        events: dict[str, date] = {}
        nodes, unread = _nodes(table, year, calendar, events)
        draft = DraftDocument(title, table.header.row, table.last, year, None, None, False,
                              nodes, unread, events, _plan_id(title, year, used), notes)
        _finish(draft, f"{path.name}, {table.name}", calendar, rows=True)
        documents.append(draft)
    return Extraction(str(path), documents)


def add_docx_tables(extraction: Extraction, path: str | Path,
                    calendar: ChinaCalendar = CALENDAR) -> Extraction:
    """Add the rows of a .docx's task tables to the drafts of its text (where the text path saw
    blank lines): a table joins the document it sits in, and is read for that document's year."""
    tables = docx_content(open_docx(Path(path)))[1]
    for table in tables if extraction.documents else []:
        doc = next((d for d in reversed(extraction.documents)
                    if d.first_line <= table.header.row), extraction.documents[0])
        nodes, unread = _nodes(table, doc.year, calendar, doc.events)
        doc.nodes = sorted(doc.nodes + nodes, key=lambda n: n.line)
        doc.unread = sorted(doc.unread + unread, key=lambda u: u.line)
        doc.first_line = min(doc.first_line, table.header.row)
        doc.last_line = max(doc.last_line, table.last)
        _finish(doc, extraction.source, calendar, rows=False)
    return extraction
