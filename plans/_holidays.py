"""Holiday notices typed in by an office (DESIGN.md, "Holiday notices").

Each autumn the State Council publishes next year's arrangement (国务院办公厅关于Y年部分节假日
安排的通知) weeks or months before a ``chinese_calendar`` release carries it. A notice file
gives that year's holidays; `JIEDIAN_HOLIDAYS` names one file or a folder of them:

    year: 2027
    source: 国办发明电〔2026〕N号
    holidays:
      - {name: 春节, first: 2027-02-05, last: 2027-02-11, work: [2027-02-13, 2027-02-14]}

A holiday's ``first``..``last`` are rest days, its ``work`` days its make-up working days
(调休上班); every other day of the year is a rest day exactly when it is a weekend day.
Checks (each error names file:line): the year is one year, every date lies inside it,
``first`` ≤ ``last``, holidays do not overlap, a work day is not inside any holiday, and
a year has one notice. A make-up day that is not a weekend day is allowed (it changes
nothing) but warned about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from plans._errors import PlanError
from plans._loader import line_of, read_yaml

__all__ = ["Holiday", "Notice", "load_notice", "load_notices"]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date
    work: tuple[date, ...] = ()

    def days(self) -> list[date]:
        return [self.first + _DAY * i for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Notice:
    """One year's arrangement, as the office typed it."""

    year: int
    source: str
    holidays: tuple[Holiday, ...]
    path: Path
    warnings: tuple[str, ...] = ()

    def rest_days(self) -> frozenset[date]:
        """Weekends and holidays, minus make-up working days."""
        first = date(self.year, 1, 1)
        days = [first + _DAY * i for i in range((date(self.year + 1, 1, 1) - first).days)]
        rest = {d for d in days if d.weekday() >= 5} | {d for h in self.holidays for d in h.days()}
        return frozenset(rest - self.work_days())

    def work_days(self) -> frozenset[date]:
        return frozenset(d for h in self.holidays for d in h.work)

    def names(self) -> dict[date, str]:
        """Each day off of a holiday -> its name."""
        return {d: h.name for h in self.holidays for d in h.days()}


def _date(value: Any, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    if value is None:
        problems.append(f"{where}: missing; write a date YYYY-MM-DD (2027-02-05)")
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: “{value}” is not a date; write YYYY-MM-DD (2027-02-05)")
        return None


def load_notice(path: str | Path) -> Notice:
    """Read and check one notice file; PlanError lists every problem with file:line."""
    path = Path(path)
    raw = read_yaml(path)
    problems: list[str] = []

    def at(*loc: Any) -> str:
        return f"{path}:{line_of(raw, list(loc))}"

    if not isinstance(raw, Mapping):
        raise PlanError([f"{path}:1: a holiday notice: expected a mapping with year, source, holidays"])
    year = raw.get("year")
    if not isinstance(year, int) or not 1900 <= year <= 2100:
        problems.append(f"{at('year')}: year: “{year}” is not a year from 1900 to 2100")
        year = None
    entries = raw.get("holidays")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{at('holidays')}: holidays: give the year's holidays as a list of "
                        "{name, first, last, work}")
        entries = []
    holidays: list[tuple[int, Holiday]] = []
    warnings: list[str] = []
    for i, entry in enumerate(entries):
        where = f"holidays[{i}]"
        if not isinstance(entry, Mapping) or not entry.get("name"):
            problems.append(f"{at('holidays', i)}: {where}: needs name, first and last")
            continue
        first = _date(entry.get("first"), f"{at('holidays', i, 'first')}: {where}.first", problems)
        last = _date(entry.get("last"), f"{at('holidays', i, 'last')}: {where}.last", problems)
        work_raw = entry.get("work") or []
        if not isinstance(work_raw, list):
            problems.append(f"{at('holidays', i, 'work')}: {where}.work: a list of dates")
            work_raw = []
        work = [_date(w, f"{at('holidays', i, 'work', j)}: {where}.work[{j}]", problems)
                for j, w in enumerate(work_raw)]
        if first is None or last is None or None in work:
            continue
        for name, day, loc in [("first", first, ("first",)), ("last", last, ("last",))] + [
                (f"work[{j}]", w, ("work", j)) for j, w in enumerate(work)]:
            if year is not None and day is not None and day.year != year:
                problems.append(f"{at('holidays', i, *loc)}: {where}.{name}: {day} is not in {year}")
        if first > last:
            problems.append(f"{at('holidays', i, 'last')}: {where}: last ({last}) is before first ({first})")
            continue
        for j, w in enumerate(work):
            if w is not None and w.weekday() < 5:
                warnings.append(f"{at('holidays', i, 'work', j)}: {where}.work[{j}]: {w} is a weekday, "
                                "a working day anyway; make-up days (调休上班) are usually weekend days")
        holidays.append((i, Holiday(str(entry["name"]), first, last, tuple(w for w in work if w))))
    for x, (a, one) in enumerate(holidays):  # a, b: the entries' own indexes in the file
        for b, two in holidays[x + 1:]:
            if one.first <= two.last and two.first <= one.last:
                problems.append(f"{at('holidays', b)}: holidays[{b}] ({two.name} {two.first}–{two.last}) "
                                f"overlaps holidays[{a}] ({one.name} {one.first}–{one.last})")
    off = {d: h.name for _, h in holidays for d in h.days()}
    for i, holiday in holidays:
        for j, w in enumerate(holiday.work):
            if w in off:
                problems.append(f"{at('holidays', i, 'work', j)}: holidays[{i}].work[{j}]: {w} is a day off "
                                f"of {off[w]}; a make-up working day cannot be inside a holiday")
    if problems or year is None:
        raise PlanError(problems)
    return Notice(year, str(raw.get("source") or ""), tuple(h for _, h in holidays), path, tuple(warnings))


def _files(path: Path) -> Iterable[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    return [path]


def load_notices(path: str | Path) -> dict[int, Notice]:
    """Every notice of a file or a folder, by year; PlanError for a bad one, a missing path,
    or two notices for one year."""
    path = Path(path)
    if not path.exists():
        said = f"{path}: no such file or folder (JIEDIAN_HOLIDAYS names a notice file or a folder of them)"
        raise PlanError([said])
    found: dict[int, Notice] = {}
    problems: list[str] = []
    for file in _files(path):
        try:
            notice = load_notice(file)
        except PlanError as error:
            problems += error.problems
            continue
        if notice.year in found:
            problems.append(f"{file}:1: a second notice for {notice.year} (the first is "
                            f"{found[notice.year].path}); keep one per year")
            continue
        found[notice.year] = notice
    if problems:
        raise PlanError(problems)
    return found
