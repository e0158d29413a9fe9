"""Task tables (任务分解表) out of files: the sheets of an .xlsx, the tables of a .docx.

A task table is found by its header row, in any column order and anywhere in a
table's first rows (under a title, a date, a note): a task column (工作任务,
重点任务, 工作内容 …) and a time column (完成时限, 时间节点 …), and if present the
lead (牵头单位) and responsible units (责任单位, 配合单位); columns naming a person
(牵头领导, 责任人) are not units. Merged cells repeat their value over their range,
as python-docx gives a .docx's. What is read is a ``TaskTable``: the header and the
rows below it as text cells, numbered as the user sees them (a sheet's rows, the
lines of the .docx's text). ``_tables`` turns the rows into milestones.

An .xlsx is read with openpyxl in read-only mode (values, not formulas); its merged
ranges, which that mode does not give, are read from the sheet's XML. Files that are
not .xlsx (an old .xls, an encrypted workbook, a damaged zip), too large, or without a
task table raise PlanError naming the file and what to do.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from xml.etree.ElementTree import iterparse

from plans._errors import PlanError
from plans._text import to_simplified

T = TypeVar("T")

__all__ = [
    "HEADER_ROWS",
    "MAX_ROWS",
    "MAX_XML_BYTES",
    "WORKBOOK_SUFFIXES",
    "Header",
    "TaskTable",
    "docx_content",
    "find_header",
    "is_docx",
    "is_workbook",
    "open_docx",
    "open_workbook",
    "read_head",
    "read_workbook",
]

# ── limits ────────────────────────────────────────────────────────────────────

# A task table of a county's whole year is a few hundred rows; past 2,000 the file is a data
# export, not a plan, and its draft could not be reviewed. The cost is in writing the draft's
# YAML and loading it back (~3 ms a milestone: 5,000 rows took 15 s), so 2,000 rows draft in
# 6–8 s, no longer than the largest text (MAX_TEXT_BYTES in _segment).
MAX_ROWS = 2_000
# The uncompressed XML of the sheets (and their shared strings). 5,000 rows of a dozen cells
# are ~5 MB; 50 MB leaves room for formatting, and stops a zip bomb before openpyxl reads it.
MAX_XML_BYTES = 50_000_000
HEADER_ROWS = 10  # the header is found in the first rows: under a title, a date, a note
MAX_COLUMNS = 50  # a task table has a dozen columns; a sheet can claim 16,384
# Formatted but empty rows often run to the end of a sheet: stop after this many in a row.
BLANK_RUN = 500

_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file: .xls, .doc, or encrypted OOXML
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")


def _fail(path: Path, message: str) -> PlanError:
    return PlanError([f"{path}: {message}"])


# ── the header row ────────────────────────────────────────────────────────────

# Columns naming a person, not a unit: their text stays in the source only.
_PERSON = re.compile(r"领导|负责人|责任人|联系人|分管|经办人")
_NUMBER = re.compile(r"^(?:序号|编号|序|号|No\.?)$", re.IGNORECASE)
_LEAD = re.compile(r"牵头")
_UNITS = re.compile(r"责任(?:单位|部门|主体)|(?:配合|参与|协办|协同|协助|实施)(?:单位|部门)|^责任$|^配合$")
_TIME = re.compile(r"时限|时间|期限|日期|时段|进度安排")
_DEADLINE = re.compile(r"完成|时限|期限|截止")  # a column of deadlines: 6月 there means by its end
# Task columns, most specific first; a group column (重点任务 over 具体任务) ranks last.
_TASKS = [re.compile(r"具体任务|工作任务|任务内容|具体工作|工作内容|工作事项|具体措施|工作措施|主要措施"),
          re.compile(r"任务|内容|事项|措施"),
          re.compile(r"重点工作|类别|项目|板块|领域")]


@dataclass(frozen=True)
class Header:
    """A task table's header row: where the roles are, as column indexes into a row's cells."""

    row: int  # the header's number: a sheet's row, or a line of the .docx's text
    labels: tuple[str, ...]  # every column's name as written (whitespace removed)
    task: int
    time: int
    group: int | None = None
    lead: tuple[int, ...] = ()
    units: tuple[int, ...] = ()
    deadline: bool = False  # the time column holds deadlines (完成时限)

    @property
    def names(self) -> tuple[str, ...]:
        """The labels in Simplified script, for matching."""
        return tuple(to_simplified(label) for label in self.labels)

    @property
    def roles(self) -> int:
        return 2 + (self.group is not None) + len(self.lead) + len(self.units)

    def repeated_in(self, cells: Sequence[str]) -> bool:
        """Whether ``cells`` are this header again (a long table repeats it on each page)."""
        return tuple(_label(cell) for cell in cells) == self.labels


def _label(cell: str) -> str:
    return re.sub(r"\s+", "", cell)


def _header(cells: Sequence[str], number: int) -> Header | None:
    """The roles of a row read as a header; None unless it has a task and a time column."""
    labels = tuple(_label(cell) for cell in cells)
    names = [to_simplified(label) for label in labels]
    tasks: list[tuple[int, int]] = []  # (rank, column)
    time: list[int] = []
    lead: list[int] = []
    units: list[int] = []
    for column, name in enumerate(names):
        if not name or len(name) > 16:  # a long cell is data, not a column's name
            continue
        if _PERSON.search(name) or _NUMBER.match(name):
            continue
        if _LEAD.search(name):
            lead.append(column)
        elif _UNITS.search(name):
            units.append(column)
        elif _TIME.search(name):
            time.append(column)
        else:
            rank = next((r for r, p in enumerate(_TASKS) if p.search(name)), None)
            if rank is not None:
                tasks.append((rank, column))
    if not tasks or not time:
        return None
    # The most specific task column, the rightmost of equals (details sit right of their group).
    task = min(tasks, key=lambda t: (t[0], -t[1]))[1]
    others = [column for _, column in tasks if column != task]
    group = min(others) if others else None
    # Of several time columns (开始时间, 完成时间), the deadline one, else the first.
    when = next((c for c in time if _DEADLINE.search(names[c])), time[0])
    # A name repeated across merged columns (a .docx repeats it) is one column, not two.
    lead = [c for i, c in enumerate(lead) if names[c] not in {names[x] for x in lead[:i]}]
    units = [c for i, c in enumerate(units) if names[c] not in {names[x] for x in units[:i]}]
    return Header(number, labels, task, when, group, tuple(lead), tuple(units),
                  bool(_DEADLINE.search(names[when])))


def find_header(rows: Iterable[tuple[int, Sequence[str]]]) -> Header | None:
    """The header among ``rows`` (numbered: the first rows of a table): the one naming the most
    roles (the lower row of a two-row header), the first of equals; None when no row has both a
    task and a time column."""
    found = [h for number, cells in rows if (h := _header(cells, number))]
    return max(found, key=lambda h: (h.roles, -h.row)) if found else None


# ── tables ───────────────────────────────────────────────────────────────────


@dataclass
class TaskTable:
    """A table with a task header: its rows as text cells, numbered as the user sees them."""

    name: str  # "sheet 任务分解" or "table 2"
    label: str  # how a row is cited: R (a sheet's row) or L (a line of the .docx's text)
    title: str | None  # a title above the header (…任务分解表), if any
    header: Header  # header.row is the header's number, in the numbering of ``rows``
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # the data rows, below it

    @property
    def last(self) -> int:
        return max([self.header.row] + [number for number, _ in self.rows])


# ── .xlsx ─────────────────────────────────────────────────────────────────────


def is_workbook(path: str | Path) -> bool:
    """A spreadsheet by its name (.xlsx, .xls …), or a zip holding a workbook whatever its
    name; the text path reads everything else."""
    path = Path(path)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return True
    if path.suffix.lower() == ".docx" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def open_workbook(path: Path, read: Callable[[Any, dict[str, Any]], T], smaller: str) -> T:
    """``read(workbook, merges)`` over an .xlsx file opened read-only (merged ranges by sheet
    title), with its sheets' size checked before openpyxl inflates them (a zip bomb stops
    here: ``smaller`` says what to cut) and any failure of a corrupt file as one PlanError."""
    import openpyxl  # only needed for spreadsheet input

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                kind = ("a Word document: name it .docx" if "word/document.xml" in names
                        else "no workbook in it")
                raise _fail(path, f"not an .xlsx workbook ({kind})")
            size = sum(info.file_size for info in archive.infolist()
                       if info.filename.startswith("xl/worksheets/")
                       or info.filename == "xl/sharedStrings.xml")
            if size > MAX_XML_BYTES:
                raise _fail(path, f"its sheets hold {size / 1e6:.0f} MB of data; the limit "
                                  f"is {MAX_XML_BYTES / 1e6:.0f} MB. {smaller}")
            merges = _merges(archive)
        with path.open("rb") as file:
            # A file object, not a name: openpyxl judges a name by its suffix (.xls, .et).
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
            try:
                return read(workbook, merges)
            finally:
                workbook.close()
    except PlanError:
        raise
    except Exception as error:  # noqa: BLE001 — a corrupt file breaks openpyxl in many ways
        # (BadZipFile, KeyError, XML ParseError, TypeError from its descriptors …); the user
        # needs one answer, never a traceback.
        raise _fail(path, f"not a readable .xlsx workbook ({type(error).__name__}: "
                          f"{error}); open it in Excel or WPS and save it again") from None


def _refuse(path: Path, head: bytes) -> None:
    """PlanError for what is not an .xlsx workbook: an old .xls, an encrypted file, a .docx."""
    if head.startswith(_CFB):
        if _encrypted(path):
            raise _fail(path, "is password-protected; open it, remove the password "
                              "(文件 → 信息 → 保护 → 用密码进行加密: clear it), save, and try again")
        raise _fail(path, "is an old-format workbook (.xls, or WPS .et), not .xlsx; open it "
                          "in Excel or WPS and save it as .xlsx (Excel 工作簿), then try again")
    if not zipfile.is_zipfile(path):
        raise _fail(path, "not a readable .xlsx workbook (not a zip file: damaged, or another "
                          "format); open it in Excel or WPS and save it as .xlsx again")


def _encrypted(path: Path) -> bool:
    """An OLE file holding an encrypted OOXML package: its directory names the stream
    EncryptedPackage. The directory may sit anywhere in the file, so all of it is scanned."""
    tail = b""
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            if _ENCRYPTED in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED):]
    return False


def read_head(path: Path, count: int, wanted: str) -> bytes:
    """Up to ``count`` bytes of the file; PlanError saying why it cannot be read (``wanted``:
    what to give instead of a directory, e.g. "an .xlsx or .csv file")."""
    try:
        with path.open("rb") as file:
            return file.read(count)
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, f"is a directory; give {wanted}") from None
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror}") from None


def read_workbook(path: str | Path) -> list[TaskTable]:
    """The task tables of an .xlsx workbook, one per sheet with a task header; PlanError if the
    file cannot be read, is too large, or no sheet has a task table."""

    path = Path(path)
    _refuse(path, read_head(path, 8, "an .xlsx, .docx or .txt file"))
    tables = open_workbook(path, lambda workbook, merges: _tables(path, workbook, merges),
                           "A task table is far smaller: split the workbook, or delete the "
                           "sheets that are not the plan")
    if not tables:
        raise _fail(path, f"no task table found: the header row needs a 任务 column "
                          "(工作任务, 重点任务, 工作内容 …) and a 时间 column (完成时限, 时间节点 …) "
                          f"in the first {HEADER_ROWS} rows of a sheet")
    return tables


def _cell(value: Any) -> str:
    """A cell's value as the user reads it: dates as 2024年6月30日, 1.0 as 1."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"[ \t\u3000]*\n[ \t\u3000]*", "\n", str(value)).strip()


Ranges = list[tuple[int, int, int, int]]  # merged ranges: (min_col, min_row, max_col, max_row)


def _tables(path: Path, workbook: Any, merges: dict[str, Ranges]) -> list[TaskTable]:
    """A task table per sheet with a task header; a sheet without one is left after its
    first rows."""
    tables: list[TaskTable] = []
    total = 0  # data rows over every sheet, against MAX_ROWS
    for sheet in workbook.worksheets:
        ranges = merges.get(sheet.title, [])
        rows: dict[int, list[str]] = {}
        header: Header | None = None
        blank = 0
        stream = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        try:
            for number, values in enumerate(stream, 1):
                cells = [_cell(v) for v in values]
                if not any(cells):
                    blank += 1
                    if blank > BLANK_RUN:
                        break
                    continue
                rows[number], blank = cells, 0
                if header is None and number > HEADER_ROWS:
                    header = _find(rows, ranges)
                    if header is None:
                        break  # not a task sheet: the rest of it need not be read
                    total += sum(1 for n in rows if n > header.row) - 1  # rows already read
                if header is not None:
                    total += 1
                    if total > MAX_ROWS:
                        raise _fail(path, f"has more than {MAX_ROWS:,} rows of tasks "
                                    f"(sheet {sheet.title}); the limit is {MAX_ROWS:,} rows. "
                                    "Split the table into several workbooks (by department "
                                    "or by quarter) and extract each")
        finally:
            stream.close()
        if header is None:  # a sheet of HEADER_ROWS rows or fewer
            header = _find(rows, ranges)
            if header is None:
                continue
            total += sum(1 for n in rows if n > header.row)
        _fill_down(rows, ranges)
        numbers = sorted(rows)
        above = [rows[n] for n in numbers if n < header.row]
        tables.append(TaskTable(f"sheet {sheet.title}", "R", _title_above(above), header,
                                [(n, rows[n]) for n in numbers if n > header.row]))
    return tables


def _find(rows: dict[int, list[str]], ranges: Ranges) -> Header | None:
    """The header among the first rows, merged cells filled down (a two-row header)."""
    first = {n: list(cells) for n, cells in rows.items() if n <= HEADER_ROWS}
    _fill_down(first, ranges)
    return find_header((n, first[n]) for n in sorted(first) if n <= HEADER_ROWS)


def _fill_down(rows: dict[int, list[str]], ranges: Ranges) -> None:
    """A merged cell's value repeated over its range, as python-docx gives a .docx's: down its
    rows (a task group, a shared deadline) and across its columns (a section row 一、组织建设
    then has one text in every column, which ``records`` skips)."""
    last = max(rows, default=0)  # a range may claim rows far past the table's last
    for min_col, min_row, max_col, max_row in ranges:
        top = rows.get(min_row)
        if top is None or min_col > len(top):
            continue
        value = top[min_col - 1]
        for number in range(min_row, min(max_row, last) + 1):
            cells = rows.setdefault(number, [""] * len(top))
            for column in range(min_col - 1, min(max_col, len(cells))):
                if not cells[column]:
                    cells[column] = value


def _title_above(rows: list[list[str]]) -> str | None:
    """A title row over the header: the first row with one text (merged across the table)."""
    for cells in rows:
        texts = list(dict.fromkeys(c for c in cells if c))
        if len(texts) == 1 and len(texts[0]) >= 4:
            return re.sub(r"\s+", "", texts[0])
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _merges(archive: zipfile.ZipFile) -> dict[str, Ranges]:
    """Each sheet's merged ranges (min_col, min_row, max_col, max_row): openpyxl's read-only
    mode does not give them, and they come after the rows in the sheet's XML."""
    from openpyxl.utils.cell import range_boundaries

    targets: dict[str, str] = {}
    with archive.open("xl/_rels/workbook.xml.rels") as rels:
        for _, element in iterparse(rels):
            if _local(element.tag) == "Relationship":
                targets[element.get("Id", "")] = element.get("Target", "")
    sheets: dict[str, str] = {}
    with archive.open("xl/workbook.xml") as book:
        for _, element in iterparse(book):
            if _local(element.tag) == "sheet":
                rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
                target = targets.get(rid, "")
                name = (target.lstrip("/") if target.startswith("/")
                        else str(PurePosixPath("xl") / target))
                sheets[element.get("name", "")] = name
    found: dict[str, Ranges] = {}
    names = set(archive.namelist())
    for title, name in sheets.items():
        if name not in names:
            continue
        ranges: Ranges = []
        with archive.open(name) as sheet:
            for _, element in iterparse(sheet):
                tag = _local(element.tag)
                if tag == "mergeCell" and element.get("ref"):
                    min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                    if min_col and min_row and max_col and max_row:  # not a whole column or row
                        ranges.append((min_col, min_row, max_col, max_row))
                elif tag in ("row", "c", "sheetData"):
                    element.clear()  # keep memory flat over a long sheet
        found[title] = ranges
    return found


# ── .docx ─────────────────────────────────────────────────────────────────────


def is_docx(path: str | Path) -> bool:
    """What ``read_document`` reads as a .docx: the name says so, or the bytes are a zip."""
    path = Path(path)
    if path.suffix.lower() == ".docx":
        return True
    try:
        with path.open("rb") as file:
            return file.read(2) == b"PK"
    except OSError:
        return False


def open_docx(path: Path) -> Any:
    """The python-docx Document of ``path``; PlanError if it is not a readable .docx."""
    import docx  # python-docx: only needed for .docx input
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise _fail(path, f"not a readable .docx file ({error})") from None


def docx_content(document: Any) -> tuple[list[str], list[TaskTable]]:
    """A .docx's lines (one per paragraph, a table row one line of its cells joined by two
    spaces) and its task tables. A task table's rows are blank lines, so the text path does not
    read them twice and line numbers stay those of the whole text."""
    from docx.table import Table

    lines: list[str] = []
    tables: list[TaskTable] = []
    number = 1  # the line the next piece starts on

    def add(piece: str) -> None:
        nonlocal number
        piece = "\n".join(piece.splitlines())  # one break per line, as splitlines counts them
        lines.append(piece)
        number += piece.count("\n") + 1

    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            add(block.text)
            continue
        first = number
        rows = [(first + i, _docx_row(row)) for i, row in enumerate(block.rows)]
        header = find_header(rows[:HEADER_ROWS])
        if header is None:
            for _, cells in rows:
                flat: list[str] = []
                for text in cells:
                    if text and (not flat or flat[-1] != text):  # merged cells repeat
                        flat.append(text)
                add("  ".join(flat))
            continue
        for _ in rows:
            add("")
        tables.append(TaskTable(f"table {len(tables) + 1}", "L",
                                _title_above([cells for n, cells in rows if n < header.row]),
                                header, [(n, cells) for n, cells in rows if n > header.row]))
    return lines, tables


def _docx_row(row: Any) -> list[str]:
    """A row's cells by grid column; merged cells repeat (python-docx gives them so)."""
    cells = [" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
             for cell in row.cells]
    return [""] * (row.grid_cols_before or 0) + cells + [""] * (row.grid_cols_after or 0)
