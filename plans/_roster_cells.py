"""The rows of a contact sheet, as text cells numbered as Excel numbers them: a CSV in its
encoding and delimiter, or an .xlsx's first sheet with a header, merged cells filled down,
number cells (a mobile) read back as their digits. Files that cannot be read raise PlanError."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from plans._roster_columns import Header, find_header
from plans._sheets import (
    BLANK_RUN,
    HEADER_ROWS,
    MAX_COLUMNS,
    _fail,
    _refuse,
    open_workbook,
    read_head,
)

__all__ = ["MAX_CSV_BYTES", "MAX_ROWS", "Rows", "read_rows"]

# A county's 通讯录 is a few hundred units of a few people; past this it is a data export.
MAX_ROWS = 20_000
MAX_CSV_BYTES = 20_000_000

Rows = list[tuple[int, list[str]]]


def read_rows(path: Path) -> tuple[Header, Rows] | None:
    """The header of a CSV (by its suffix) or a workbook and the rows below it; None when it
    has no header row. PlanError when the file cannot be read."""
    return _read_csv(path) if path.suffix.lower() == ".csv" else _read_workbook(path)


def _text(value: Any) -> str:
    """A cell as text: a number cell as its digits (13800000000.0 is 13800000000)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


# ── .csv ─────────────────────────────────────────────────────────────────────


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's “Unicode text”
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK, which Excel on Chinese Windows writes
    except UnicodeDecodeError as error:
        raise _fail(path, f"neither UTF-8 nor GBK text (byte {error.start}); save it "
                    f"again from Excel as “CSV UTF-8 (逗号分隔)”") from None


def _read_csv(path: Path) -> tuple[Header, Rows] | None:
    """The header and the rows below it, with the delimiter (comma or tab) that gives the
    header naming the most fields."""
    data = read_head(path, MAX_CSV_BYTES + 1, "an .xlsx or .csv file")
    if len(data) > MAX_CSV_BYTES:
        raise _fail(path, f"larger than {MAX_CSV_BYTES / 1e6:.0f} MB; a contact sheet "
                    f"is far smaller: split it")
    text = _decode(path, data)
    best: tuple[Header, Rows] | None = None
    for delimiter in (",", "\t"):
        try:
            records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            rows = [(n, [c.strip() for c in cells]) for n, cells in enumerate(records, 1)]
        except csv.Error as error:
            raise _fail(path, f"not readable as CSV ({error})") from None
        header = find_header(r for r in rows if r[0] <= HEADER_ROWS)
        if header and (best is None or len(header.columns) > len(best[0].columns)):
            best = header, [r for r in rows if r[0] > header.row]
    return best


# ── .xlsx ────────────────────────────────────────────────────────────────────

Ranges = list[tuple[int, int, int, int]]  # merged ranges: (min_col, min_row, max_col, max_row)


def _read_workbook(path: Path) -> tuple[Header, Rows] | None:
    """The first sheet with a header row: the header and the rows below it, merged cells
    filled down, rows merged across two known columns (section titles) left out."""

    _refuse(path, read_head(path, 8, "an .xlsx or .csv file"))  # an old .xls, an encrypted workbook, not a zip

    def first(workbook: Any, merges: dict[str, Any]) -> tuple[Header, Rows] | None:
        for sheet in workbook.worksheets:
            found = _sheet(sheet, merges.get(sheet.title, []))
            if found is not None:
                return found
        return None
    return open_workbook(path, first, "Delete the sheets that are not the contact list")


def _sheet(sheet: Any, ranges: Ranges) -> tuple[Header, Rows] | None:
    """A sheet's header and rows below it; None, after its first rows, without a header."""
    rows: dict[int, list[str]] = {}
    header: Header | None = None
    blank = 0
    for number, values in enumerate(_values(sheet), 1):
        cells = [_text(v) for v in values]
        if any(cells):
            rows[number], blank = cells, 0
        else:
            blank += 1
            if blank > BLANK_RUN:  # formatted but empty rows often run to the sheet's end
                break
        if number == HEADER_ROWS:
            header = find_header(sorted(rows.items()))
            if header is None:
                return None  # not a contact sheet: the rest of it need not be read
        if len(rows) > MAX_ROWS + HEADER_ROWS:
            break  # read_roster says the sheet is too long
    header = header or find_header(sorted(rows.items()))
    if header is None:
        return None
    _fill_down(rows, ranges)
    sections = _sections(header, ranges)
    return header, [(n, rows[n]) for n in sorted(rows) if n > header.row and n not in sections]


def _values(sheet: Any) -> Iterator[tuple[Any, ...]]:
    stream = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    try:
        yield from stream
    finally:
        stream.close()


def _fill_down(rows: dict[int, list[str]], ranges: Ranges) -> None:
    """A merged cell's value in every row it covers, in its first column (a unit over its
    people's rows, one 所属 or one robot over several units)."""
    for min_col, min_row, _, max_row in ranges:
        top = rows.get(min_row)
        if top is None or min_col > len(top) or max_row == min_row:
            continue
        for number in range(min_row + 1, max_row + 1):
            cells = rows.get(number)
            if cells is None:
                continue  # a blank row under a long merge stays skipped
            cells += [""] * (min_col - len(cells))
            cells[min_col - 1] = cells[min_col - 1] or top[min_col - 1]


def _sections(header: Header, ranges: Ranges) -> set[int]:
    """Rows a merge spans across two known columns: a section title (一、机关支部), not a unit."""
    known = {c + 1 for c in header.columns.values()}
    return {number for min_col, min_row, max_col, max_row in ranges
            if len(known & set(range(min_col, max_col + 1))) >= 2
            for number in range(min_row, max_row + 1)}
