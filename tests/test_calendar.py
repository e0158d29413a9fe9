"""The China calendar, checked against fixed facts and against independent libraries.

`holidays` (its China class, built from the State Council notices by other people) cross-checks
the rest days, make-up working days and holiday names that plans._calendar takes from
`chinese_calendar`; `cnlunar` (its own tables, pure Python) cross-checks the lunar dates and
solar terms it takes from `sxtwl`. Neither is imported by plans._calendar.
"""

from datetime import date, datetime, timedelta

import cnlunar
import holidays
import pytest
from hypothesis import given, strategies as st

from plans._calendar import CALENDAR, SOLAR_TERMS, ChinaCalendar

DAY = timedelta(days=1)
# The years chinese_calendar 1.11 has data for; the cross-checks cover all of them.
DATA_YEARS = range(2004, 2027)

# Days on which chinese_calendar and holidays disagree about rest vs work. Keep this exact,
# so that a change in either library is noticed.
# - 2005-12-31 (Saturday): the 2006 notice (国办发明电〔2005〕35号) says "12月31日（星期六）
#   上班"; holidays has it as a make-up working day, chinese_calendar 1.11 misses it and
#   calls it a rest day.
KNOWN_REST_DAY_DISAGREEMENTS = {date(2005, 12, 31)}
# The one holiday outside the seven statutory ones: 2015-09-03 (and its run to 09-05).
ONE_OFF = "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"


def days_of(years: range) -> list[date]:
    first, end = date(years[0], 1, 1), date(years[-1] + 1, 1, 1)
    return [first + timedelta(days=i) for i in range((end - first).days)]


@pytest.fixture(scope="module")
def china() -> holidays.HolidayBase:
    # One year either side, so that swaps across New Year are populated.
    return holidays.China(years=range(DATA_YEARS[0] - 1, DATA_YEARS[-1] + 2), language="zh_CN")


# --- fixed facts: National Day 2012 ------------------------------------------------------


def test_2012_national_day_run() -> None:
    c = CALENDAR
    assert c.is_makeup_working_day(date(2012, 9, 29))
    assert c.is_working_day(date(2012, 9, 29)) and not c.is_rest_day(date(2012, 9, 29))
    for day in range(7):
        assert c.is_rest_day(date(2012, 9, 30) + day * DAY)
    assert c.is_working_day(date(2012, 10, 8))
    assert c.holiday_name(date(2012, 9, 30)) == "中秋节"
    assert c.holiday_name(date(2012, 10, 1)) == "国庆节"
    assert c.holiday_name(date(2012, 10, 6)) == "国庆节"
    assert c.holiday_name(date(2012, 9, 29)) is None
    run = (date(2012, 9, 30), date(2012, 10, 7))
    assert c.holiday_run(date(2012, 10, 1)) == run
    assert c.holiday_run(date(2012, 9, 30)) == run
    assert c.holiday_run(date(2012, 10, 7)) == run
    assert c.holiday_run(date(2012, 9, 29)) is None


def test_ordinary_days() -> None:
    c = CALENDAR
    saturday, monday = date(2012, 9, 15), date(2012, 9, 17)
    assert c.is_rest_day(saturday) and not c.is_makeup_working_day(saturday)
    assert c.holiday_name(saturday) is None and c.holiday_run(saturday) is None
    assert c.is_working_day(monday) and not c.is_makeup_working_day(monday)
    assert c.holiday_name(monday) is None and c.holiday_run(monday) is None


def test_weekend_the_library_does_not_list_still_belongs_to_its_holiday() -> None:
    # 端午 2012 was 06-22 … 06-24; chinese_calendar lists 06-22 and 06-24 but not 06-23.
    assert CALENDAR.holiday_name(date(2012, 6, 23)) == "端午节"
    assert CALENDAR.holiday_run(date(2012, 6, 23)) == (date(2012, 6, 22), date(2012, 6, 24))


def test_one_off_holiday_and_run_across_new_year() -> None:
    assert CALENDAR.holiday_name(date(2015, 9, 3)) == ONE_OFF
    assert CALENDAR.holiday_run(date(2015, 9, 4)) == (date(2015, 9, 3), date(2015, 9, 5))
    # 元旦 2017: Saturday 2016-12-31 to Monday 2017-01-02.
    assert CALENDAR.holiday_run(date(2016, 12, 31)) == (date(2016, 12, 31), date(2017, 1, 2))
    assert CALENDAR.holiday_name(date(2016, 12, 31)) == "元旦"


def test_adjust() -> None:
    c = CALENDAR
    assert c.adjust(date(2012, 9, 30), "previous") == date(2012, 9, 29)
    assert c.adjust(date(2012, 10, 3), "previous") == date(2012, 9, 29)
    assert c.adjust(date(2012, 10, 3), "next") == date(2012, 10, 8)
    assert c.adjust(date(2012, 10, 3), "none") == date(2012, 10, 3)
    assert c.adjust(date(2012, 9, 28), "previous") == date(2012, 9, 28)
    assert c.adjust(date(2012, 9, 29), "next") == date(2012, 9, 29)  # make-up Saturday
    with pytest.raises(ValueError, match="policy"):
        c.adjust(date(2012, 9, 30), "nearest")  # type: ignore[arg-type]


def test_shift_working_days_across_a_holiday() -> None:
    c = CALENDAR
    assert c.shift_working_days(date(2012, 10, 8), -1) == date(2012, 9, 29)
    assert c.shift_working_days(date(2012, 10, 8), -2) == date(2012, 9, 28)
    assert c.shift_working_days(date(2012, 9, 29), 1) == date(2012, 10, 8)
    assert c.shift_working_days(date(2012, 10, 3), 1) == date(2012, 10, 8)
    assert c.shift_working_days(date(2012, 10, 3), -1) == date(2012, 9, 29)
    assert c.shift_working_days(date(2012, 10, 3), 0) == date(2012, 10, 3)


@given(st.dates(date(2003, 1, 1), date(2028, 12, 31)), st.integers(-30, 30))
def test_shift_working_days_counts_working_days(d: date, n: int) -> None:
    result = CALENDAR.shift_working_days(d, n)
    if n == 0:
        assert result == d
        return
    assert CALENDAR.is_working_day(result)
    low, high = (d, result) if n > 0 else (result, d)
    between = [low + i * DAY for i in range(1, (high - low).days)]
    assert sum(map(CALENDAR.is_working_day, between)) == abs(n) - 1


@given(st.dates(date(2003, 1, 1), date(2028, 12, 31)))
def test_adjust_moves_only_over_rest_days(d: date) -> None:
    before, after = CALENDAR.adjust(d, "previous"), CALENDAR.adjust(d, "next")
    assert CALENDAR.is_working_day(before) and CALENDAR.is_working_day(after)
    assert before <= d <= after
    assert (before == d) == (after == d) == CALENDAR.is_working_day(d)
    for i in range(1, (after - before).days):
        assert CALENDAR.is_rest_day(before + i * DAY)


# --- cross-checks against holidays.China ---------------------------------------------


def test_data_years_are_covered() -> None:
    for year in DATA_YEARS:
        assert CALENDAR.covers(year), year
        assert CALENDAR.coverage_warning(year) is None


def test_rest_days_agree_with_holidays(china: holidays.HolidayBase) -> None:
    disagreements = {
        d for d in days_of(DATA_YEARS) if CALENDAR.is_rest_day(d) != (not china.is_working_day(d))
    }
    assert disagreements == KNOWN_REST_DAY_DISAGREEMENTS


def test_makeup_working_days_agree_with_holidays(china: holidays.HolidayBase) -> None:
    ours = {d for d in days_of(DATA_YEARS) if CALENDAR.is_makeup_working_day(d)}
    theirs = {d for d in china.weekend_workdays if d.year in DATA_YEARS}
    assert ours ^ theirs == KNOWN_REST_DAY_DISAGREEMENTS
    assert all(d.weekday() >= 5 and CALENDAR.is_working_day(d) for d in ours)


def test_holiday_names_agree_with_holidays(china: holidays.HolidayBase) -> None:
    # holidays names the holiday itself and calls the swapped days "休息日（由 … 调休）";
    # every day it names a statutory holiday must carry that name here.
    same = {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    renamed = {"农历除夕": "春节", "春节延长假期": "春节"}
    checked = 0
    for d in days_of(DATA_YEARS):
        if d not in china:
            continue
        theirs = {renamed.get(n, n) for n in china.get_list(d)} & same
        if theirs:
            checked += 1
            assert CALENDAR.holiday_name(d) in theirs, (d, china.get_list(d))
        if CALENDAR.is_rest_day(d):  # every day off holidays lists belongs to a holiday here
            assert CALENDAR.holiday_name(d) is not None, (d, china.get_list(d))
    assert checked > 23 * 10


def test_holiday_runs_are_consistent() -> None:
    names = {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    for d in days_of(DATA_YEARS):
        run = CALENDAR.holiday_run(d)
        if run is None:
            assert CALENDAR.holiday_name(d) is None
            continue
        start, end = run
        assert start <= d <= end and (end - start).days < 10
        assert CALENDAR.is_working_day(start - DAY) and CALENDAR.is_working_day(end + DAY)
        for i in range((end - start).days + 1):
            assert CALENDAR.holiday_run(start + i * DAY) == run
        assert CALENDAR.holiday_name(d) in names | {ONE_OFF}


# --- years without data ------------------------------------------------------------------


def first_uncovered(start: int, step: int) -> int:
    year = start
    while CALENDAR.covers(year):
        year += step
    return year


@pytest.mark.parametrize("year", [first_uncovered(2027, 1), first_uncovered(2003, -1)])
def test_uncovered_year_falls_back_to_weekends(year: int) -> None:
    c = ChinaCalendar()
    assert not c.covers(year)
    warning = c.coverage_warning(year)
    assert warning == (
        f"{year}年无官方放假安排数据 (no official holiday data for {year}): "
        "rest days are weekends only; type in the State Council's notice (JIEDIAN_HOLIDAYS, "
        "see `jiedian holidays check`)"
    )
    assert c.source(year) == "weekends"
    for d in days_of(range(year, year + 1)):
        assert c.is_rest_day(d) == (d.weekday() >= 5), d
        assert c.is_working_day(d) == (d.weekday() < 5)
        assert not c.is_makeup_working_day(d)
        assert c.holiday_name(d) is None and c.holiday_run(d) is None
    oct_1 = date(year, 10, 1)
    assert c.adjust(oct_1, "next") == oct_1 + DAY * {5: 2, 6: 1}.get(oct_1.weekday(), 0)


# --- lunar dates and solar terms, cross-checked against cnlunar ---------------------------


def lunar(d: date) -> tuple[int, int, int, bool]:
    found = cnlunar.Lunar(datetime(d.year, d.month, d.day, 12))
    return found.lunarYear, found.lunarMonth, found.lunarDay, found.isLunarLeapMonth


@pytest.mark.parametrize("year", range(2000, 2051))
def test_lunar_festivals_agree_with_cnlunar(year: int) -> None:
    c = CALENDAR
    festivals = {  # name: (lunar month, day, computed date)
        "春节": (1, 1, c.spring_festival(year)),
        "元宵": (1, 15, c.lunar_to_solar(year, 1, 15)),
        "端午": (5, 5, c.lunar_to_solar(year, 5, 5)),
        "中秋": (8, 15, c.lunar_to_solar(year, 8, 15)),
        "重阳": (9, 9, c.lunar_to_solar(year, 9, 9)),
    }
    for name, (month, day, found) in festivals.items():
        assert found.year == year, name
        assert lunar(found) == (year, month, day, False), name
    eve = c.new_years_eve(year)
    assert eve.year == year and eve == c.spring_festival(year) - DAY
    previous_year, month, _, leap = lunar(eve)
    assert (previous_year, month, leap) == (year - 1, 12, False)
    assert lunar(eve + DAY)[:3] == (year, 1, 1)


@pytest.mark.parametrize("year", range(2000, 2051))
def test_solar_terms_agree_with_cnlunar(year: int) -> None:
    theirs = cnlunar.Lunar(datetime(year, 6, 1, 12)).thisYearSolarTermsDic
    assert set(theirs) == set(SOLAR_TERMS)
    for name, (month, day) in theirs.items():
        assert CALENDAR.solar_term(year, name) == date(year, month, day), name
    assert date(year, 4, 4) <= CALENDAR.solar_term(year, "清明") <= date(year, 4, 6)


def test_known_lunar_dates_and_terms() -> None:
    c = CALENDAR
    assert c.spring_festival(2012) == date(2012, 1, 23)
    assert c.new_years_eve(2012) == date(2012, 1, 22)
    assert c.solar_term(2012, "清明") == date(2012, 4, 4)
    assert c.solar_term(2012, "冬至") == date(2012, 12, 21)
    assert c.solar_term(2012, "小寒") == date(2012, 1, 6)
    # 2012 had a leap fourth month; 2033 a leap eleventh month.
    assert c.lunar_to_solar(2012, 4, 1, leap=True) == date(2012, 5, 21)
    assert lunar(date(2012, 5, 21)) == (2012, 4, 1, True)
    assert c.lunar_to_solar(2033, 11, 1, leap=True) == date(2033, 12, 22)
    assert lunar(date(2033, 12, 22)) == (2033, 11, 1, True)


@pytest.mark.parametrize(
    ("lunar_year", "month", "day", "leap"),
    [
        (2012, 5, 1, True),  # 2012's leap month is the fourth
        (2012, 12, 30, False),  # the twelfth month of 2012 has 29 days
        (2012, 13, 1, False),
        (2012, 1, 31, False),
        (2012, 0, 1, False),
    ],
)
def test_impossible_lunar_dates_raise(lunar_year: int, month: int, day: int, leap: bool) -> None:
    with pytest.raises(ValueError, match="lunar"):
        CALENDAR.lunar_to_solar(lunar_year, month, day, leap=leap)


def test_unknown_solar_term_raises() -> None:
    with pytest.raises(ValueError, match="solar term"):
        CALENDAR.solar_term(2012, "清明节")
