"""What a time expression points at, before any 前/后/前夕 is applied.

An anchor is a small immutable value that, given the year being expanded,
returns the spans it covers: ``spans(ctx) -> list[Span]``. It is pure: the
calendar, the plan's events and the year all come in through the context.

Years: an anchor either names its own year (2011年…, kept as written, moved
by ``ctx.shift`` when a whole plan is reused for another year), names one
relative to the plan's (今年, 明年/次年), or takes the year being expanded.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from plans._errors import ExpressionError, MissingEventError

if TYPE_CHECKING:
    from plans._calendar import ChinaCalendar

__all__ = [
    "Context",
    "DayAnchor",
    "EventAnchor",
    "LunarAnchor",
    "MonthAnchor",
    "PeriodAnchor",
    "RecurringAnchor",
    "Span",
    "YearRef",
]

DAY = timedelta(days=1)


@dataclass(frozen=True, order=True)
class Span:
    """An inclusive run of days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Context:
    """Everything an anchor may look at while it is expanded."""

    year: int
    calendar: ChinaCalendar
    events: Mapping[str, date] = field(default_factory=dict)
    shift: int = 0  # added to years an expression names (a plan reused for another year)
    warnings: list[str] = field(default_factory=list)

    def warn_uncovered(self, year: int) -> None:
        message = self.calendar.coverage_warning(year)
        if message and message not in self.warnings:
            self.warnings.append(message)


@dataclass(frozen=True)
class YearRef:
    """A year as written: absolute (2011年), relative (次年 = +1) or implied (None)."""

    absolute: int | None = None
    relative: int = 0

    def resolve(self, ctx: Context) -> int:
        if self.absolute is not None:
            return self.absolute + ctx.shift
        return ctx.year + self.relative


IMPLIED = YearRef()


def last_day(year: int, month: int) -> int:
    return _stdlib_calendar.monthrange(year, month)[1]


def month_span(year: int, first: int, last: int | None = None) -> Span:
    last = first if last is None else last
    return Span(date(year, first, 1), date(year, last, last_day(year, last)))


def checked_date(year: int, month: int, day: int, what: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ExpressionError(what, f"{year}年{month}月没有{day}日 (no such day in {year})") from None


# Parts of a month: 上旬 1–10, 中旬 11–20, 下旬 21–last, 初 1–5, 中 the 15th, 底/末 the last day.
def month_part(year: int, month: int, part: str | None) -> Span:
    end = last_day(year, month)
    first, last = {
        None: (1, end),
        "上旬": (1, 10),
        "中旬": (11, 20),
        "下旬": (21, end),
        "初": (1, 5),
        "中": (15, 15),
        "底": (end, end),
        "末": (end, end),
    }[part]
    return Span(date(year, month, first), date(year, month, last))


@dataclass(frozen=True)
class DayAnchor:
    """A calendar date: 5月1日, 2011年10月1日. 前 means by that date."""

    month: int
    day: int
    year: YearRef = IMPLIED
    text: str = ""
    point = True
    end_marker = False
    single_day = True

    def spans(self, ctx: Context) -> list[Span]:
        day = checked_date(self.year.resolve(ctx), self.month, self.day, self.text)
        return [Span(day, day)]


@dataclass(frozen=True)
class MonthAnchor:
    """A month or part of one: 4月, 2月上旬, 3月底."""

    month: int
    part: str | None = None
    year: YearRef = IMPLIED

    @property
    def point(self) -> bool:
        return self.part == "中"

    @property
    def end_marker(self) -> bool:
        return self.part in ("底", "末")

    @property
    def single_day(self) -> bool:
        return self.part in ("中", "底", "末")

    def spans(self, ctx: Context) -> list[Span]:
        return [month_part(self.year.resolve(ctx), self.month, self.part)]


# Periods of a year by (unit, index): months covered.
_PERIOD_MONTHS = {
    ("year", 1): (1, 12),
    ("half", 1): (1, 6),
    ("half", 2): (7, 12),
    **{("quarter", q): (3 * q - 2, 3 * q) for q in range(1, 5)},
}


def period_part(year: int, first: int, last: int, part: str | None, unit: str) -> Span:
    """Apply 初/底/末 to a period: the year's 初/底 are January/December (as
    plans use 年初/年底), a quarter's or half's 初 is its first month and its
    底/末 its last day."""
    if part is None:
        return month_span(year, first, last)
    if part == "初":
        return month_span(year, first)
    if unit == "year":
        return month_span(year, last)
    end = date(year, last, last_day(year, last))
    return Span(end, end)


@dataclass(frozen=True)
class PeriodAnchor:
    """A year, half or quarter, or its 初/底: 上半年, 第二季度, 年初, 年底, 年内, 2012年."""

    unit: str  # year | half | quarter
    index: int = 1
    part: str | None = None
    year: YearRef = IMPLIED
    point = False

    @property
    def end_marker(self) -> bool:
        return self.part in ("底", "末")

    @property
    def single_day(self) -> bool:
        return self.end_marker and self.unit != "year"

    def spans(self, ctx: Context) -> list[Span]:
        first, last = _PERIOD_MONTHS[(self.unit, self.index)]
        return [period_part(self.year.resolve(ctx), first, last, self.part, self.unit)]


@dataclass(frozen=True)
class NamedDayAnchor:
    """A day known by name with a fixed date: 元旦, 七一, 国庆."""

    name: str
    month: int
    day: int
    year: YearRef = IMPLIED
    point = False
    end_marker = False
    single_day = True

    def spans(self, ctx: Context) -> list[Span]:
        day = date(self.year.resolve(ctx), self.month, self.day)
        return [Span(day, day)]


@dataclass(frozen=True)
class LunarAnchor:
    """A lunar festival or a solar term, computed for the year: 春节, 除夕, 清明."""

    name: str
    lunar: tuple[int, int] | None = None  # (month, day) in the lunar calendar
    term: str | None = None  # a solar term's name
    eve: bool = False  # 除夕: the day before the Spring Festival
    year: YearRef = IMPLIED
    point = False
    end_marker = False
    single_day = True

    def spans(self, ctx: Context) -> list[Span]:
        year = self.year.resolve(ctx)
        cal = ctx.calendar
        if self.eve:
            day = cal.new_years_eve(year)
        elif self.term:
            day = cal.solar_term(year, self.term)
        else:
            month, mday = self.lunar or (1, 1)
            day = cal.lunar_to_solar(year, month, mday)
            # Late lunar months of year Y fall in January of Y+1: take the
            # one of the previous lunar year, which falls in Y.
            if day.year > year:
                day = cal.lunar_to_solar(year - 1, month, mday)
        return [Span(day, day)]


@dataclass(frozen=True)
class EventAnchor:
    """A named event whose date the plan gives under ``events:`` (党的十八大召开)."""

    name: str
    year: YearRef = IMPLIED  # unused: events carry their own dates
    point = False
    end_marker = False
    single_day = True

    def resolve(self, events: Mapping[str, date]) -> date:
        # A key matches when the expression contains it; the longest key wins
        # so that 十八大 and 党的十八大 can both be given without surprise.
        keys = [key for key in events if key and key in self.name]
        if not keys:
            raise MissingEventError(self.name)
        return events[max(keys, key=len)]

    def spans(self, ctx: Context) -> list[Span]:
        day = self.resolve(ctx.events)
        return [Span(day, day)]


@dataclass(frozen=True)
class RecurringAnchor:
    """A duty that repeats through the year: 每周五, 每月25日, 每季度末, 每两个月.

    ``unit`` is day | week | month | months | quarter | half | year; ``step``
    the number of months for ``months``; ``weekday`` 1–7 for weeks; ``part``
    a part of each period (上旬, 底, 25 for a day of the month …).
    """

    unit: str
    step: int = 1
    weekday: int | None = None
    part: str | int | None = None
    year: YearRef = IMPLIED

    @property
    def point(self) -> bool:
        return isinstance(self.part, int) or self.part == "中"

    @property
    def end_marker(self) -> bool:
        return self.part in ("底", "末")

    @property
    def single_day(self) -> bool:
        if self.unit in ("day", "week"):
            return self.unit == "day" or self.weekday is not None
        return self.point or (self.end_marker and self.unit != "year")

    def spans(self, ctx: Context) -> list[Span]:
        year = self.year.resolve(ctx)
        if self.unit == "day":
            first = date(year, 1, 1)
            return [Span(first + DAY * i, first + DAY * i) for i in range(366)
                    if (first + DAY * i).year == year]
        if self.unit == "week":
            return self._weeks(year)
        if self.unit == "month" or self.unit == "months":
            step = self.step if self.unit == "months" else 1
            return [self._month_group(year, first, min(first + step - 1, 12))
                    for first in range(1, 13, step)]
        count = {"quarter": 4, "half": 2, "year": 1}[self.unit]
        return [period_part(year, *_PERIOD_MONTHS[(self.unit, i)], self.part, self.unit)
                for i in range(1, count + 1)]

    def _weeks(self, year: int) -> list[Span]:
        day = date(year, 1, 1)
        if self.weekday is None:  # each week, Monday to Sunday, that starts in the year
            day += DAY * ((7 - day.weekday()) % 7)
            spans = []
            while day.year == year:
                spans.append(Span(day, day + DAY * 6))
                day += DAY * 7
            return spans
        day += DAY * ((self.weekday - 1 - day.weekday()) % 7)
        spans = []
        while day.year == year:
            spans.append(Span(day, day))
            day += DAY * 7
        return spans

    def _month_group(self, year: int, first: int, last: int) -> Span:
        if isinstance(self.part, int):
            # 每月31日 in a 30-day month means its last day, not a skipped month.
            day = min(self.part, last_day(year, first))
            return Span(date(year, first, day), date(year, first, day))
        if self.part is None:
            return month_span(year, first, last)
        if first == last:
            return month_part(year, first, self.part)
        return period_part(year, first, last, self.part, "months")


def with_year(anchor: object, year: YearRef) -> object:
    """The anchor with ``year`` if it names none of its own (for 2011年3月至5月)."""
    if getattr(anchor, "year", None) == IMPLIED and not isinstance(anchor, EventAnchor):
        return replace(anchor, year=year)  # type: ignore[type-var]
    return anchor
