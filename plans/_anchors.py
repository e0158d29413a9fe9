"""What a time expression points at, before any 前/后/前夕 is applied.

An anchor is a small immutable value that, given the year being expanded,
returns the spans it covers: ``spans(ctx) -> list[Span]``. It is pure: the
calendar, the plan's events and the year all come in through the context.
Every anchor is an :class:`Anchor`; the grammar (``_grammar``) builds them.

Years: an anchor either names its own year (2011年…, kept as written, moved
by ``ctx.shift`` when a whole plan is reused for another year), names one
relative to the plan's (今年, 明年/次年), or takes the year being expanded.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from plans._errors import ExpressionError, MissingEventError

if TYPE_CHECKING:
    from plans._calendar import ChinaCalendar

__all__ = [
    "Anchor",
    "Context",
    "DayAnchor",
    "EventAnchor",
    "LunarAnchor",
    "MonthAnchor",
    "NamedDayAnchor",
    "NthWeekdayAnchor",
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


@dataclass(frozen=True)
class Anchor:
    """What every anchor answers: its spans in a year, and how 前 and the kinds read it.

    ``point``: X前 means by X itself (a date, 月中, 每月25日); ``end_marker``: X is
    the end of something (3月底), so X前 is its last day; ``single_day``: X is one
    day (an event rather than a phase).
    """

    year: YearRef = field(default=IMPLIED, kw_only=True)
    names_year: ClassVar[bool] = True  # False for events: they carry their own dates

    @property
    def point(self) -> bool:
        return False

    @property
    def end_marker(self) -> bool:
        return False

    @property
    def single_day(self) -> bool:
        return True

    def spans(self, ctx: Context) -> list[Span]:
        raise NotImplementedError

    def with_year(self, year: YearRef) -> Anchor:
        """This anchor in ``year`` when it names none of its own (2011年3月至5月)."""
        if self.year == IMPLIED and self.names_year:
            return replace(self, year=year)
        return self


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


# Parts of a month: 上旬 1–10, 中旬 11–20, 下旬 21–last, 上中旬 1–20, 中下旬 11–last,
# 初 1–5, 中 the 15th, 底/末 the last day.
MONTH_PARTS = ("上中旬", "中下旬", "上旬", "中旬", "下旬", "初", "中", "底", "末")


def month_part(year: int, month: int, part: str | None) -> Span:
    end = last_day(year, month)
    first, last = {
        None: (1, end),
        "上旬": (1, 10),
        "中旬": (11, 20),
        "下旬": (21, end),
        "上中旬": (1, 20),
        "中下旬": (11, end),
        "初": (1, 5),
        "中": (15, 15),
        "底": (end, end),
        "末": (end, end),
    }[part]
    return Span(date(year, month, first), date(year, month, last))


@dataclass(frozen=True)
class DayAnchor(Anchor):
    """A calendar date: 5月1日, 2011年10月1日. 前 means by that date."""

    month: int
    day: int
    text: str = ""

    @property
    def point(self) -> bool:
        return True

    def spans(self, ctx: Context) -> list[Span]:
        day = checked_date(self.year.resolve(ctx), self.month, self.day, self.text)
        return [Span(day, day)]


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    """The nth (1…5, or -1 the last) ``weekday`` (1 Monday … 7 Sunday) of a month."""
    days = [date(year, month, d) for d in range(1, last_day(year, month) + 1)
            if date(year, month, d).isoweekday() == weekday]
    if nth > len(days):
        raise ExpressionError("", f"{year}年{month}月 has no number {nth} of them")
    return days[nth - 1] if nth > 0 else days[nth]


@dataclass(frozen=True)
class NthWeekdayAnchor(Anchor):
    """A weekday counted in one month: 6月第二个星期日 (全国安全生产宣传咨询日), 5月最后一个周五."""

    month: int
    nth: int
    weekday: int
    name: str = ""  # 母亲节: a day known by name, so 母亲节前 is the day before it, as 七一前

    @property
    def point(self) -> bool:
        return not self.name

    def spans(self, ctx: Context) -> list[Span]:
        day = nth_weekday(self.year.resolve(ctx), self.month, self.nth, self.weekday)
        return [Span(day, day)]


@dataclass(frozen=True)
class MonthAnchor(Anchor):
    """A month or part of one: 4月, 2月上旬, 5月中下旬, 3月底."""

    month: int
    part: str | None = None

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


# Periods of a year by (unit, index): months covered. 年中 is June and July: the
# mid-year reviews plans call 年中 fall there.
PERIOD_MONTHS = {
    ("year", 1): (1, 12),
    ("half", 1): (1, 6),
    ("half", 2): (7, 12),
    ("midyear", 1): (6, 7),
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
class PeriodAnchor(Anchor):
    """A year, half or quarter, or its 初/底: 上半年, 第二季度, 年初, 年中, 年底, 年内, 2012年."""

    unit: str  # year | half | quarter | midyear
    index: int = 1
    part: str | None = None

    @property
    def end_marker(self) -> bool:
        return self.part in ("底", "末")

    @property
    def single_day(self) -> bool:
        return self.end_marker and self.unit != "year"

    def spans(self, ctx: Context) -> list[Span]:
        first, last = PERIOD_MONTHS[(self.unit, self.index)]
        return [period_part(self.year.resolve(ctx), first, last, self.part, self.unit)]


@dataclass(frozen=True)
class NamedDayAnchor(Anchor):
    """A day known by name with a fixed date: 元旦, 七一, 国庆."""

    name: str
    month: int
    day: int

    def spans(self, ctx: Context) -> list[Span]:
        day = date(self.year.resolve(ctx), self.month, self.day)
        return [Span(day, day)]


@dataclass(frozen=True)
class LunarAnchor(Anchor):
    """A lunar festival, a lunar date or a solar term, for the year: 春节, 除夕, 腊月初十, 清明."""

    name: str
    lunar: tuple[int, int] | None = None  # (month, day) in the lunar calendar
    term: str | None = None  # a solar term's name
    eve: bool = False  # 除夕: the day before the Spring Festival

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
class EventAnchor(Anchor):
    """A named event whose date the plan gives under ``events:`` (党的十八大召开)."""

    name: str
    names_year: ClassVar[bool] = False

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
class RecurringAnchor(Anchor):
    """A duty that repeats through the year: 每周五, 每月25日, 每季度末, 每两个月,
    每月第一个星期四, 每月最后一个工作日, 每季度首月10日.

    ``unit`` is day | week | month | months | quarter | half | year; ``step``
    the number of months for ``months``, of weeks for ``week`` (每两周); ``workday`` for
    ``day`` keeps the working days (每个工作日); ``weekday`` 1–7; ``nth`` which one
    in the month (1…5, -1 the last) of that weekday, or of the working days
    when ``workday``; ``part`` a part of each period (上旬, 底, 25 for a day of
    the month …); ``month_of`` the month of each quarter (1 first, 3 last).
    """

    unit: str
    step: int = 1
    weekday: int | None = None
    part: str | int | None = None
    nth: int | None = None
    workday: bool = False
    month_of: int | None = None

    @property
    def point(self) -> bool:
        return (isinstance(self.part, int) or self.part == "中" or self.nth is not None
                or (self.unit == "week" and self.weekday is not None))  # 每周二前: by Tuesday

    @property
    def end_marker(self) -> bool:
        return self.part in ("底", "末")

    @property
    def single_day(self) -> bool:
        if self.unit in ("day", "week"):
            return self.unit == "day" or self.weekday is not None
        if self.nth is not None:
            return True
        return self.point or (self.end_marker and self.unit != "year")

    def spans(self, ctx: Context) -> list[Span]:
        year = self.year.resolve(ctx)
        if self.unit == "day":
            first = date(year, 1, 1)
            days = [first + DAY * i for i in range(366) if (first + DAY * i).year == year]
            if self.workday:  # 每个工作日: the China calendar's working days, 调休 included
                ctx.warn_uncovered(year)
                days = [d for d in days if ctx.calendar.is_working_day(d)]
            return [Span(d, d) for d in days]
        if self.unit == "week":
            return self._weeks(year)[:: self.step]  # 每两周: every other week from the first
        if self.nth is not None:
            if self.unit == "quarter":  # the quarter's first month counts from its start, the last from its end
                months = [q * 3 + (3 if self.nth < 0 else 1) for q in range(4)]
                return [self._nth(ctx, year, month) for month in months]
            return [self._nth(ctx, year, month) for month in range(1, 13)]
        if self.month_of is not None:  # 每季度首月, 每季度最后一个月
            months = [3 * q - 2 + self.month_of - 1 for q in range(1, 5)]
            return [self._month_group(year, m, m) for m in months]
        if self.unit == "month" or self.unit == "months":
            step = self.step if self.unit == "months" else 1
            return [self._month_group(year, first, min(first + step - 1, 12))
                    for first in range(1, 13, step)]
        count = {"quarter": 4, "half": 2, "year": 1}[self.unit]
        return [period_part(year, *PERIOD_MONTHS[(self.unit, i)], self.part, self.unit)
                for i in range(1, count + 1)]

    def _nth(self, ctx: Context, year: int, month: int) -> Span:
        """The nth (or last) weekday, or working day, of ``month``."""
        assert self.nth is not None
        if not self.workday:
            assert self.weekday is not None
            day = nth_weekday(year, month, self.nth, self.weekday)
            return Span(day, day)
        days = [date(year, month, d) for d in range(1, last_day(year, month) + 1)]
        ctx.warn_uncovered(year)
        days = [d for d in days if ctx.calendar.is_working_day(d)]
        if self.nth > len(days):
            raise ExpressionError("", f"{year}年{month}月 has no number {self.nth} of them")
        day = days[self.nth - 1] if self.nth > 0 else days[self.nth]
        return Span(day, day)

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
