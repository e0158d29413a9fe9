"""The 办结情况 matrix as a file to hand to a meeting: CSV or Excel (.xlsx).

The file appears whole or not at all: it is written beside the target and renamed over
it, so a full disk or a bad path never leaves half a report where the last good one was.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from scheduler._supervision import Matrix

__all__ = ["REPORT_FORMATS", "STATE_ZH", "report_format", "report_table", "write_report"]

REPORT_FORMATS = ("csv", "xlsx")
STATE_ZH = {"done": "已确认", "pending": "未到期", "overdue": "逾期未确认"}
_FILLS = {"已确认": "C8E6C9", "逾期未确认": "FFCDD2", "未到期": "FFF8E1"}


def report_table(matrix: Matrix) -> tuple[list[str], list[list[str]]]:
    """The header and one line per node: due, title, id, each unit's state, the tally,
    and who has not confirmed."""
    header = ["截止", "节点", "节点编号", *matrix.units, "已确认", "未确认"]
    lines = []
    for row in matrix.rows:
        cells = [STATE_ZH[row.cells[name]] if name in row.cells else "" for name in matrix.units]
        missing = [name for name, state in row.cells.items() if state != "done"]
        lines.append([row.due.isoformat(), row.title, row.occurrence_id, *cells,
                      f"{len(row.cells) - len(missing)}/{len(row.cells)}", "、".join(missing)])
    return header, lines


def report_format(output: Path, given: str | None) -> str:
    """The format to write ``output`` in: ``given``, else its name's suffix, else csv;
    ValueError when ``given`` is unknown or contradicts the suffix."""
    suffix = output.suffix.lower().lstrip(".")
    fmt = given or (suffix if suffix in REPORT_FORMATS else "csv")
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"--format “{fmt}”: choose csv or xlsx")
    if suffix in REPORT_FORMATS and suffix != fmt:
        raise ValueError(f"{output} ends in .{suffix} but --format is {fmt}; make them agree")
    return fmt


def write_report(matrix: Matrix, title: str, output: Path, fmt: str) -> None:
    """Write the report; raise ValueError for an unknown format, OSError when it cannot be
    written (the target is then untouched)."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"format “{fmt}”: choose {' or '.join(REPORT_FORMATS)}")
    header, lines = report_table(matrix)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent or ".")
    os.close(handle)
    try:
        if fmt == "csv":
            with open(temporary, "w", encoding="utf-8-sig", newline="") as file:  # BOM: Excel
                writer = csv.writer(file)
                writer.writerow(header)
                writer.writerows(lines)
        else:
            _write_xlsx(Path(temporary), title, matrix, header, lines)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_xlsx(output: Path, title: str, matrix: Matrix, header: list[str],
                lines: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "办结情况"
    sheet.append([f"办结情况 · {title} · {matrix.today.isoformat()}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for line in lines:
        sheet.append(line)
        for cell in sheet[sheet.max_row][3:3 + len(matrix.units)]:
            if cell.value in _FILLS:
                cell.fill = PatternFill("solid", fgColor=_FILLS[str(cell.value)])
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 36
    sheet.freeze_panes = "D3"
    book.save(output)
