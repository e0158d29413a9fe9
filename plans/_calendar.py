"""The China calendar: rest days, make-up working days (调休), holidays, lunar dates, solar terms.

Rules, and why they are what they are:

- A rest day is a weekend day or a statutory day off, minus make-up working days. China does
  not simply observe holidays on fixed dates: every year the State Council swaps weekends
  around each holiday to build runs of consecutive days off (国庆 2012: 09-30 … 10-07) and
  has people work the Saturday or Sunday that paid for them (2012-09-29 调休上班). The swaps
  follow no rule and are announced only late in the preceding year, so they come from the
  maintained `chinese_calendar` data (one table per State Council notice), never from a table
  or an estimate of ours.
- A year that `chinese_calendar` does not cover (it raises NotImplementedError) falls back to
  weekends only. The fallback is never silent: `covers()` is False and `coverage_warning()`
  gives the line to show the user, since a deadline may then land on an unnoticed holiday.
- A statutory day off is any day of a run of consecutive rest days that holds a day
  `chinese_calendar` lists under a holiday, because the notices announce whole runs
  ("10月1日至7日放假") and "X期间" means the whole run to a reader; `holiday_run` is that run.
- A holiday notice an office typed in (`plans._holidays`, `JIEDIAN_HOLIDAYS`) gives a year the
  library does not cover yet, and wins where the library covers it too: the State Council's
  notice is the source, the library only its copy. Each day they disagree on is a warning,
  given once per year (`disagreements`). `source(year)` says where a year's data comes from.
- Lunar dates and the 24 solar terms come from `sxtwl` (astronomical computation in Beijing
  time), valid far beyond any plan's years. 清明 is a solar term, not a lunar date; 春节 and
  除夕 are named by the Gregorian year they fall in (除夕 = the day before 春节).
- Speed: milestones are expanded by the thousand, so each year is computed once into
  frozensets and dicts; after that `is_rest_day` is one dict and one set lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING, Literal, NamedTuple

import chinese_calendar
import sxtwl

if TYPE_CHECKING:  # plans._holidays reads files with plans._loader, which needs this module
    from plans._holidays import Notice

WorkdayPolicy = Literal["previous", "next", "none"]

# In sxtwl's order: its jqIndex 0 is 冬至.
SOLAR_TERMS: tuple[str, ...] = (
    "冬至", "小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种",
    "夏至", "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪",
)  # fmt: skip

# chinese_calendar names holidays in English; the Chinese names a plan uses. A holiday missing
# here (a one-off such as 2015-09-03) keeps chinese_calendar's own Chinese name.
_CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}
_DAY = timedelta(days=1)


class _Year(NamedTuple):
    covered: bool
    rest: frozenset[date]
    makeup: frozenset[date]
    names: dict[date, str]  # days chinese_calendar lists under a holiday -> Chinese name
    source: str = "library"  # library | notice | weekends
    disagreements: tuple[str, ...] = ()  # where a notice and the library differ


def _chinese_name(english: str) -> str:
    return _CHINESE_NAMES.get(english) or chinese_calendar.Holiday(english).chinese


def _build_year(year: int) -> _Year:
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    weekends = frozenset(d for d in days if d.weekday() >= 5)
    try:
        chinese_calendar.is_workday(first)  # raises for a year without data
    except NotImplementedError:
        return _Year(False, weekends, frozenset(), {}, "weekends")
    worked = {d for d in chinese_calendar.workdays if d.year == year}
    names = {
        d: _chinese_name(name)
        for d, name in chinese_calendar.holidays.items()
        if d.year == year and d not in worked
    }
    return _Year(True, (weekends | names.keys()) - worked, frozenset(worked & weekends), names)


def _notice_year(notice: Notice) -> _Year:
    """A year as its notice gives it, and each day the library (if it covers the year) differs."""
    rest, work = notice.rest_days(), notice.work_days()
    library = _build_year(notice.year)
    said = []
    if library.covered:
        where = f"{notice.path}" + (f" ({notice.source})" if notice.source else "")
        for day in sorted(rest ^ library.rest):
            notice_says, library_says = ("a rest day", "a working day") if day in rest else (
                "a working day", "a rest day")
            said.append(f"{day}: the holiday notice {where} makes it {notice_says}, chinese_calendar "
                        f"{library_says}; the notice wins")
    weekends = frozenset(d for d in work if d.weekday() >= 5)
    return _Year(True, rest, weekends, notice.names(), "notice", tuple(said))


class ChinaCalendar:
    """Rest days, make-up working days (调休), statutory holidays, lunar dates and solar terms;
    ``notices`` (by year) are the holiday notices an office typed in (JIEDIAN_HOLIDAYS)."""

    def __init__(self, notices: Mapping[int, Notice] | None = None) -> None:
        self.notices: dict[int, Notice] = dict(notices or {})
        self._years: dict[int, _Year] = {}
        self._terms: dict[int, dict[str, date]] = {}
        # sxtwl.fromLunar costs ~2 ms a call; a plan asks for the same few festivals again and again.
        self._lunar: dict[tuple[int, int, int, bool], date] = {}

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            notice = self.notices.get(year)
            data = self._years[year] = _notice_year(notice) if notice else _build_year(year)
        return data

    def source(self, year: int) -> str:
        """Where the year's rest days come from: library, notice, or weekends (no data)."""
        return self._year(year).source

    def source_note(self, year: int) -> str:
        """Where the year's rest days come from, said for a person (``jiedian holidays show``)."""
        source = self.source(year)
        if source == "notice":
            notice = self.notices[year]
            return f"the holiday notice {notice.path}" + (f" ({notice.source})" if notice.source else "")
        if source == "library":
            return f"the chinese_calendar library ({version('chinese-calendar')})"
        return ("weekends only: chinese_calendar has no data for it and JIEDIAN_HOLIDAYS gives no "
                "notice; type in the State Council's notice (see `jiedian holidays check`)")

    def disagreements(self, year: int) -> tuple[str, ...]:
        """The days a notice and chinese_calendar disagree on in ``year`` (the notice wins)."""
        return self._year(year).disagreements

    # --- working days -------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        """True when official holiday data exists for the year."""
        return self._year(year).covered

    def coverage_warning(self, year: int) -> str | None:
        """None when the year is covered, else a one-line warning (Chinese and English)."""
        if self.covers(year):
            return None
        return (
            f"{year}年无官方放假安排数据 (no official holiday data for {year}): "
            "rest days are weekends only; type in the State Council's notice (JIEDIAN_HOLIDAYS, "
            "see `jiedian holidays check`)"
        )

    def holidays_of(self, year: int) -> list[tuple[str, date, date]]:
        """(name, first, last) of each run of statutory days off in ``year``."""
        runs: list[tuple[str, date, date]] = []
        day = date(year, 1, 1)
        while day.year == year:
            name = self.holiday_name(day)
            if name and not (runs and runs[-1][2] == day - _DAY and runs[-1][0] == name):
                runs.append((name, day, day))
            elif name:
                runs[-1] = (name, runs[-1][1], day)
            day += _DAY
        return runs

    def holiday_runs(self, year: int) -> list[tuple[str, date, date, list[date]]]:
        """(name, first, last, make-up working days within two weeks) of each run of days off."""
        makeup = self.makeup_days(year)
        return [(name, first, last, [d for d in makeup if (first - d).days <= 14 and (d - last).days <= 14])
                for name, first, last in self.holidays_of(year)]

    def year_data(self, year: int) -> dict[str, object]:
        """A year's days off and make-up working days as JSON-ready data (``holidays show``)."""
        return {"year": year, "source": self.source(year), "holidays": [
            {"name": name, "first": first.isoformat(), "last": last.isoformat(),
             "work": [d.isoformat() for d in work]} for name, first, last, work in self.holiday_runs(year)],
            "work": [d.isoformat() for d in self.makeup_days(year)],
            "warnings": [w for w in [self.coverage_warning(year), *self.disagreements(year)] if w]}

    def makeup_days(self, year: int) -> list[date]:
        """The Saturdays and Sundays of ``year`` that are working days (调休上班)."""
        return sorted(self._year(year).makeup)

    def is_rest_day(self, d: date) -> bool:
        """A weekend day or statutory day off that is not a make-up working day."""
        return d in self._year(d.year).rest

    def is_working_day(self, d: date) -> bool:
        return d not in self._year(d.year).rest

    def is_makeup_working_day(self, d: date) -> bool:
        """A Saturday or Sunday that is a working day (调休上班)."""
        return d in self._year(d.year).makeup

    def day_label(self, d: date) -> str:
        """调休上班, 休息日 (春节), 休息日 or 工作日: what kind of day ``d`` is, in words."""
        if self.is_makeup_working_day(d):
            return "调休上班"
        name = self.holiday_name(d)
        return f"休息日 ({name})" if name else "休息日" if self.is_rest_day(d) else "工作日"

    def holiday_name(self, d: date) -> str | None:
        """The Chinese name of the statutory holiday if d is a statutory day off, else None.

        A statutory day off is any rest day in a run of rest days that holds a day
        chinese_calendar lists under a holiday; it takes the name of the nearest listed day
        (the earlier on a tie). The notices give whole runs ("6月22日至24日放假") while the
        library lists some weekends of a run and not others (2012-06-23 is missing), and
        "端午期间" must find the run from any of its days.
        """
        if not self.is_rest_day(d):
            return None
        back: date | None = d
        ahead: date | None = d
        while back or ahead:
            for day in (back, ahead):
                if day and (name := self._year(day.year).names.get(day)):
                    return name
            back = back - _DAY if back and self.is_rest_day(back - _DAY) else None
            ahead = ahead + _DAY if ahead and self.is_rest_day(ahead + _DAY) else None
        return None

    def holiday_run(self, d: date) -> tuple[date, date] | None:
        """The run of consecutive rest days containing d, if d is a statutory day off."""
        if self.holiday_name(d) is None:
            return None
        start, end = d, d
        while self.is_rest_day(start - _DAY):
            start -= _DAY
        while self.is_rest_day(end + _DAY):
            end += _DAY
        return start, end

    def adjust(self, d: date, policy: WorkdayPolicy) -> date:
        """Move a rest day to the working day before it (previous) or after it (next)."""
        if policy == "none":
            return d
        if policy not in ("previous", "next"):
            raise ValueError(f"unknown workday policy {policy!r} (previous, next or none)")
        step = -_DAY if policy == "previous" else _DAY
        while self.is_rest_day(d):
            d += step
        return d

    def shift_working_days(self, d: date, n: int) -> date:
        """The |n|th working day strictly before (n < 0) or after (n > 0) d; d when n is 0."""
        step = -_DAY if n < 0 else _DAY
        for _ in range(abs(n)):
            d += step
            while self.is_rest_day(d):
                d += step
        return d

    # --- lunar dates and solar terms -----------------------------------------------------

    def lunar_to_solar(self, lunar_year: int, month: int, day: int, *, leap: bool = False) -> date:
        """The Gregorian date of a lunar date; ValueError when that lunar date does not exist."""
        key = (lunar_year, month, day, leap)
        cached = self._lunar.get(key)
        if cached is None:
            cached = self._lunar[key] = self._lunar_to_solar(lunar_year, month, day, leap)
        return cached

    @staticmethod
    def _lunar_to_solar(lunar_year: int, month: int, day: int, leap: bool) -> date:
        if not (1 <= month <= 12 and 1 <= day <= 30):
            raise ValueError(f"no lunar date {lunar_year}-{month}-{day}")
        found = sxtwl.fromLunar(lunar_year, month, day, leap)
        # sxtwl rolls an impossible date (a 30th of a short month, a leap month that the year
        # does not have) over to another day; reading it back catches that.
        back = (found.getLunarYear(), found.getLunarMonth(), found.getLunarDay())
        if back != (lunar_year, month, day) or bool(found.isLunarLeap()) != leap:
            kind = "leap month " if leap else "month "
            raise ValueError(f"lunar year {lunar_year} has no {kind}{month} day {day}")
        return date(found.getSolarYear(), found.getSolarMonth(), found.getSolarDay())

    def spring_festival(self, year: int) -> date:
        """春节: lunar 1/1 falling in Gregorian `year`."""
        return self.lunar_to_solar(year, 1, 1)

    def new_years_eve(self, year: int) -> date:
        """除夕: the day before spring_festival(year)."""
        return self.spring_festival(year) - _DAY

    def solar_term(self, year: int, name: str) -> date:
        """The date (Beijing time) of the named solar term (Simplified name) in Gregorian year."""
        if name not in SOLAR_TERMS:
            raise ValueError(
                f"unknown solar term {name!r}; expected one of {' '.join(SOLAR_TERMS)}"
            )
        terms = self._terms.get(year)
        if terms is None:
            terms = {}
            # sxtwl lists a year from 立春 onwards, so the previous year holds January's terms.
            for listed_year in (year - 1, year):
                for info in sxtwl.getJieQiByYear(listed_year):
                    t = sxtwl.JD2DD(info.jd)
                    if int(t.Y) == year:
                        terms[SOLAR_TERMS[info.jqIndex]] = date(year, int(t.M), int(t.D))
            self._terms[year] = terms
        return terms[name]


CALENDAR = ChinaCalendar()
