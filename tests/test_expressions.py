"""The time-expression contract of DESIGN.md, one row per case."""

from __future__ import annotations

from contextlib import suppress
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plans import CALENDAR, ExpressionError, MissingEventError, evaluate, normalize, parse

EVENTS = {"十八大": date(2012, 11, 8)}


def d(text: str) -> date:
    return date.fromisoformat(text)


# expression, year, kind, [(start, end), ...]
CASES = [
    # a date
    ("5月1日", 2011, "event", [("2011-05-01", "2011-05-01")]),
    ("2011年10月1日", 2012, "event", [("2011-10-01", "2011-10-01")]),
    ("十月一日", 2011, "event", [("2011-10-01", "2011-10-01")]),
    ("二〇一一年十二月十五日", 2010, "event", [("2011-12-15", "2011-12-15")]),
    ("５月１號", 2011, "event", [("2011-05-01", "2011-05-01")]),
    ("2012-11-08", 2011, "event", [("2012-11-08", "2012-11-08")]),
    # a month
    ("4月", 2011, "phase", [("2011-04-01", "2011-04-30")]),
    ("4月份", 2011, "phase", [("2011-04-01", "2011-04-30")]),
    ("元月份", 2011, "phase", [("2011-01-01", "2011-01-31")]),
    ("六月份", 2011, "phase", [("2011-06-01", "2011-06-30")]),
    ("2月", 2012, "phase", [("2012-02-01", "2012-02-29")]),
    # part of a month
    ("2月上旬", 2011, "phase", [("2011-02-01", "2011-02-10")]),
    ("2月中旬", 2011, "phase", [("2011-02-11", "2011-02-20")]),
    ("2月下旬", 2011, "phase", [("2011-02-21", "2011-02-28")]),
    ("3月初", 2011, "phase", [("2011-03-01", "2011-03-05")]),
    ("3月中", 2011, "event", [("2011-03-15", "2011-03-15")]),
    ("3月底", 2011, "event", [("2011-03-31", "2011-03-31")]),
    ("3月末", 2011, "event", [("2011-03-31", "2011-03-31")]),
    # a range
    ("4月至6月", 2011, "phase", [("2011-04-01", "2011-06-30")]),
    ("4-11月", 2011, "phase", [("2011-04-01", "2011-11-30")]),
    ("４－１１月", 2011, "phase", [("2011-04-01", "2011-11-30")]),
    ("2月上旬至6月下旬", 2011, "phase", [("2011-02-01", "2011-06-30")]),
    ("2010年10月—2011年6月", 2011, "phase", [("2010-10-01", "2011-06-30")]),
    ("2011年7月—2012年6月", 2011, "phase", [("2011-07-01", "2012-06-30")]),
    ("2012年7月—党的十八大召开前", 2012, "phase", [("2012-07-01", "2012-11-07")]),
    ("5月1日至7日", 2011, "phase", [("2011-05-01", "2011-05-07")]),
    ("11月至次年2月", 2011, "phase", [("2011-11-01", "2012-02-29")]),
    ("2011年3月至5月", 2010, "phase", [("2011-03-01", "2011-05-31")]),
    # half, quarter, year
    ("上半年", 2011, "phase", [("2011-01-01", "2011-06-30")]),
    ("下半年", 2011, "phase", [("2011-07-01", "2011-12-31")]),
    ("第二季度", 2011, "phase", [("2011-04-01", "2011-06-30")]),
    ("一季度", 2011, "phase", [("2011-01-01", "2011-03-31")]),
    ("年初", 2011, "phase", [("2011-01-01", "2011-01-31")]),
    ("年底", 2011, "phase", [("2011-12-01", "2011-12-31")]),
    ("年末", 2011, "phase", [("2011-12-01", "2011-12-31")]),
    ("年内", 2011, "phase", [("2011-01-01", "2011-12-31")]),
    ("2012年", 2011, "phase", [("2012-01-01", "2012-12-31")]),
    # named days
    ("元旦", 2011, "event", [("2011-01-01", "2011-01-01")]),
    ("三八", 2011, "event", [("2011-03-08", "2011-03-08")]),
    ("植树节", 2011, "event", [("2011-03-12", "2011-03-12")]),
    ("五一", 2011, "event", [("2011-05-01", "2011-05-01")]),
    ("五四", 2011, "event", [("2011-05-04", "2011-05-04")]),
    ("六一", 2011, "event", [("2011-06-01", "2011-06-01")]),
    ("“七一”", 2011, "event", [("2011-07-01", "2011-07-01")]),
    ('"七一"', 2011, "event", [("2011-07-01", "2011-07-01")]),
    ("「七一」", 2011, "event", [("2011-07-01", "2011-07-01")]),
    ("八一", 2011, "event", [("2011-08-01", "2011-08-01")]),
    ("教师节", 2011, "event", [("2011-09-10", "2011-09-10")]),
    ("国庆", 2011, "event", [("2011-10-01", "2011-10-01")]),
    ("十一", 2011, "event", [("2011-10-01", "2011-10-01")]),
    # lunar and solar-term days
    ("春节", 2012, "event", [("2012-01-23", "2012-01-23")]),
    ("春節", 2011, "event", [("2011-02-03", "2011-02-03")]),
    ("除夕", 2012, "event", [("2012-01-22", "2012-01-22")]),
    ("元宵", 2011, "event", [("2011-02-17", "2011-02-17")]),
    ("清明", 2012, "event", [("2012-04-04", "2012-04-04")]),
    ("清明節", 2011, "event", [("2011-04-05", "2011-04-05")]),
    ("端午", 2011, "event", [("2011-06-06", "2011-06-06")]),
    ("中秋", 2012, "event", [("2012-09-30", "2012-09-30")]),
    ("重阳", 2011, "event", [("2011-10-05", "2011-10-05")]),
    # X前: deadlines
    ("4月30日前", 2011, "deadline", [("2011-04-30", "2011-04-30")]),
    ("3月底前", 2011, "deadline", [("2011-03-31", "2011-03-31")]),
    ("4月底前", 2011, "deadline", [("2011-04-30", "2011-04-30")]),
    ("年底前", 2011, "deadline", [("2011-12-31", "2011-12-31")]),
    ("“七一”前", 2011, "deadline", [("2011-06-30", "2011-06-30")]),
    ("五一前", 2011, "deadline", [("2011-04-30", "2011-04-30")]),
    ("4月前", 2011, "deadline", [("2011-03-31", "2011-03-31")]),
    ("6月底以前", 2011, "deadline", [("2011-06-30", "2011-06-30")]),
    ("2月底前", 2012, "deadline", [("2012-02-29", "2012-02-29")]),
    ("季末前", 2011, "deadline",
     [("2011-03-31",) * 2, ("2011-06-30",) * 2, ("2011-09-30",) * 2, ("2011-12-31",) * 2]),
    # X前夕, X后, X前后, X期间
    ("“七一”前夕", 2011, "event", [("2011-06-30", "2011-06-30")]),
    ("五一前夕", 2011, "event", [("2011-04-30", "2011-04-30")]),
    ("除夕前夕", 2012, "event", [("2012-01-21", "2012-01-21")]),
    ("农历年除夕前夕", 2011, "event", [("2011-02-01", "2011-02-01")]),
    ("“七一”后", 2011, "phase", [("2011-07-02", "2011-12-31")]),
    ("春节前后", 2012, "phase", [("2012-01-16", "2012-01-30")]),
    ("国庆前后", 2011, "phase", [("2011-09-24", "2011-10-08")]),
    ("国庆期间", 2012, "phase", [("2012-09-30", "2012-10-07")]),
    ("國慶期間", 2012, "phase", [("2012-09-30", "2012-10-07")]),
    ("春节期间", 2012, "phase", [("2012-01-22", "2012-01-28")]),
    ("清明节期间", 2011, "phase", [("2011-04-03", "2011-04-05")]),
    ("七一期间", 2011, "phase", [("2011-07-01", "2011-07-01")]),
    # lists
    ("元旦、春节、“七一”", 2011, "event",
     [("2011-01-01",) * 2, ("2011-02-03",) * 2, ("2011-07-01",) * 2]),
    ("5月1日和10月1日", 2011, "event", [("2011-05-01",) * 2, ("2011-10-01",) * 2]),
    ("三八、五一、五四", 2011, "event",
     [("2011-03-08",) * 2, ("2011-05-01",) * 2, ("2011-05-04",) * 2]),
    ("上、下半年", 2011, "phase", [("2011-01-01", "2011-06-30"), ("2011-07-01", "2011-12-31")]),
    ("4、5月", 2011, "phase", [("2011-04-01", "2011-04-30"), ("2011-05-01", "2011-05-31")]),
    ("元旦、春节前夕", 2012, "event", [("2011-12-31",) * 2, ("2012-01-22",) * 2]),
    # named events
    ("党的十八大召开前", 2012, "deadline", [("2012-11-07", "2012-11-07")]),
]

RECURRING = [
    # expression, year, kind, count, first, last
    ("每周五", 2011, "event", 52, ("2011-01-07",) * 2, ("2011-12-30",) * 2),
    ("每週五（上午）", 2011, "event", 52, ("2011-01-07",) * 2, ("2011-12-30",) * 2),
    ("每星期一", 2012, "event", 53, ("2012-01-02",) * 2, ("2012-12-31",) * 2),
    ("每月", 2011, "phase", 12, ("2011-01-01", "2011-01-31"), ("2011-12-01", "2011-12-31")),
    ("每月25日前", 2011, "deadline", 12, ("2011-01-25",) * 2, ("2011-12-25",) * 2),
    ("每月10日前", 2011, "deadline", 12, ("2011-01-10",) * 2, ("2011-12-10",) * 2),
    ("每月底", 2012, "event", 12, ("2012-01-31",) * 2, ("2012-12-31",) * 2),
    ("月底前", 2012, "deadline", 12, ("2012-01-31",) * 2, ("2012-12-31",) * 2),
    ("每月31日", 2011, "event", 12, ("2011-01-31",) * 2, ("2011-12-31",) * 2),
    ("每季度", 2011, "phase", 4, ("2011-01-01", "2011-03-31"), ("2011-10-01", "2011-12-31")),
    ("每季度末", 2011, "event", 4, ("2011-03-31",) * 2, ("2011-12-31",) * 2),
    ("每半年", 2011, "phase", 2, ("2011-01-01", "2011-06-30"), ("2011-07-01", "2011-12-31")),
    ("每两个月", 2011, "phase", 6, ("2011-01-01", "2011-02-28"), ("2011-11-01", "2011-12-31")),
    ("每年", 2011, "phase", 1, ("2011-01-01", "2011-12-31"), ("2011-01-01", "2011-12-31")),
    ("每年初", 2011, "phase", 1, ("2011-01-01", "2011-01-31"), ("2011-01-01", "2011-01-31")),
    ("每年七一", 2013, "event", 1, ("2013-07-01",) * 2, ("2013-07-01",) * 2),
]


@pytest.mark.parametrize(("expression", "year", "kind", "expected"), CASES)
def test_contract(expression: str, year: int, kind: str, expected: list[tuple[str, str]]) -> None:
    rule = parse(expression)
    found = [(o.start, o.end) for o in rule.expand(year, CALENDAR, EVENTS)]
    assert found == [(d(a), d(b)) for a, b in expected]
    assert rule.kind == kind


@pytest.mark.parametrize(("expression", "year", "kind", "count", "first", "last"), RECURRING)
def test_recurring(expression: str, year: int, kind: str, count: int,
                   first: tuple[str, str], last: tuple[str, str]) -> None:
    rule = parse(expression)
    found = rule.expand(year, CALENDAR)
    assert len(found) == count
    assert (found[0].start, found[0].end) == (d(first[0]), d(first[1]))
    assert (found[-1].start, found[-1].end) == (d(last[0]), d(last[1]))
    assert all(o.start.year == year for o in found)
    assert rule.kind == kind


def test_part_of_day_is_kept() -> None:
    found = parse("每周五上午").expand(2011, CALENDAR)
    assert {o.part_of_day for o in found} == {"上午"}
    assert all(o.start.weekday() == 4 for o in found)


@pytest.mark.parametrize(
    ("expression", "year", "workdays", "end", "due"),
    [
        ("9月底前", 2012, None, "2012-09-30", "2012-09-29"),  # holiday → make-up Saturday
        ("4月30日前", 2011, None, "2011-04-30", "2011-04-29"),  # Saturday → Friday
        ("国庆", 2012, "next", "2012-10-01", "2012-10-08"),
        ("国庆", 2012, "none", "2012-10-01", "2012-10-01"),
        ("3月底前", 2011, "next", "2011-03-31", "2011-03-31"),  # already a working day
    ],
)
def test_due_dates(expression: str, year: int, workdays: str | None, end: str, due: str) -> None:
    result = evaluate(expression, year, CALENDAR, workdays=workdays)  # type: ignore[arg-type]
    (occurrence, found_due), = result.occurrences
    assert occurrence.end == d(end)
    assert found_due == d(due)


def test_events_have_no_due_date_unless_asked() -> None:
    assert evaluate("“七一”前夕", 2011, CALENDAR).occurrences[0][1] is None


def test_uncovered_year_warns() -> None:
    result = evaluate("9月底前", 2040, CALENDAR)
    assert any("2040" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("适时召开", "is not a time"),
        ("4月底前交", "understood “4月底前” but not “交”"),
        ("13月", "no month 13"),
        ("第五季度", "no quarter 5"),
        ("", "is empty"),
        ("每周八", "no weekday 8"),
        ("3000年5月", "out of range"),
    ],
)
def test_unreadable_expressions_say_why(expression: str, says: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expression).expand(2011, CALENDAR)
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"“{expression}”")


def test_impossible_day_is_reported_for_the_year() -> None:
    rule = parse("2月29日")
    assert rule.expand(2012, CALENDAR)[0].start == date(2012, 2, 29)
    with pytest.raises(ExpressionError, match="2011年2月没有29日"):
        rule.expand(2011, CALENDAR)


def test_missing_event_names_it_and_says_how_to_supply_it() -> None:
    rule = parse("党的十八大召开前")
    assert rule.events == ["党的十八大召开"]
    with pytest.raises(MissingEventError) as caught:
        rule.expand(2012, CALENDAR)
    message = str(caught.value)
    assert "党的十八大召开" in message and "events:" in message and "--events" in message


def test_longest_event_key_wins() -> None:
    events = {"十八大": date(2012, 11, 8), "党的十八大召开": date(2012, 11, 9)}
    assert parse("党的十八大召开前").expand(2012, CALENDAR, events)[0].start == date(2012, 11, 8)


def test_traditional_and_full_width_read_the_same() -> None:
    assert normalize("２０１２年「國慶」期間") == normalize("2012年“国庆”期间") == "2012年国庆期间"


def test_plan_reused_for_another_year_moves_named_years() -> None:
    rule = parse("2011年10月1日")
    assert rule.expand(2012, CALENDAR, shift=1)[0].start == date(2012, 10, 1)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_gives_a_rule_or_a_parse_error(text: str) -> None:
    try:
        rule = parse(text)
    except ExpressionError:
        return
    with suppress(ExpressionError):
        rule.expand(2012, CALENDAR, EVENTS)


_PIECES = ["2011年", "12月", "3", "日", "月", "上旬", "底", "前", "前夕", "后", "期间", "前后",
           "每", "周", "五", "季度", "半年", "至", "-", "、", "和", "七一", "春节", "十八大召开",
           "年", "初", "末", "第", "二", "个月", "两", "上午", "“", "”", "國慶", "以前"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join))
def test_near_miss_expressions_never_crash(text: str) -> None:
    test_any_text_gives_a_rule_or_a_parse_error.hypothesis.inner_test(text)  # type: ignore[attr-defined]
