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
    # wordings beyond the table: 的 after 每…, a range's first day without 日, quarters run
    # together, holidays side by side, a year going on through a list, 到 X
    ("每年的7月1日", 2024, "event", [("2024-07-01", "2024-07-01")]),
    ("8月28-9月6日", 2024, "phase", [("2024-08-28", "2024-09-06")]),
    ("6月18~19日", 2024, "phase", [("2024-06-18", "2024-06-19")]),
    ("第二三季度", 2024, "phase", [("2024-04-01", "2024-09-30")]),
    ("2025年元旦春节期间", 2024, "phase", [("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04")]),
    ("去年12月、今年1月", 2024, "phase", [("2023-12-01", "2023-12-31"), ("2024-01-01", "2024-01-31")]),
    ("到2023年底", 2023, "deadline", [("2023-12-31", "2023-12-31")]),
    ("五一假期", 2024, "phase", [("2024-05-01", "2024-05-05")]),
    ("国庆节假期", 2024, "phase", [("2024-10-01", "2024-10-07")]),
    ("x年5月上旬", 2024, "phase", [("2024-05-01", "2024-05-10")]),
    ("九月初九", 2025, "event", [("2025-10-29", "2025-10-29")]),
    ("即日起至2023年6月27日", 2023, "deadline", [("2023-06-27", "2023-06-27")]),
    ("自即日起至6月30日", 2024, "deadline", [("2024-06-30", "2024-06-30")]),
    ("2008年1月5日一1月6日", 2008, "phase", [("2008-01-05", "2008-01-06")]),
    ("1月28日(农历除夕、周二)至2月4日(农历正月初七、周二)", 2025, "phase", [("2025-01-28", "2025-02-04")]),
    ("5月31日(周六)至6月2(周一)", 2025, "phase", [("2025-05-31", "2025-06-02")]),
    # a weekday as one numeral in brackets, a weekday said before its date, 时 after a day,
    # a deadline day without its 日, ―― as a dash
    ("11月21日—11月27日(二)", 2018, "phase", [("2018-11-21", "2018-11-27")]),
    ("10月1日(一)至7日(日)", 2018, "phase", [("2018-10-01", "2018-10-07")]),
    ("周四(4月1日)", 2021, "event", [("2021-04-01", "2021-04-01")]),
    ("五四青年节时", 2012, "event", [("2012-05-04", "2012-05-04")]),
    ("1月10前", 2012, "deadline", [("2012-01-10", "2012-01-10")]),
    ("4月23日――4月27日", 2012, "phase", [("2012-04-23", "2012-04-27")]),
    # a weekday counted in one month, with its date as a gloss; a designated day's name
    ("6月份第二个星期日(6月13日)", 2021, "event", [("2021-06-13", "2021-06-13")]),
    ("5月第三个星期日", 2024, "event", [("2024-05-19", "2024-05-19")]),
    ("5月最后一个周五", 2024, "event", [("2024-05-31", "2024-05-31")]),
    ("每年5月第三个星期日", 2024, "event", [("2024-05-19", "2024-05-19")]),
    ("“4·23世界读书日”即将来临之际", 2024, "event", [("2024-04-23", "2024-04-23")]),
    ("“12・4”全国法制宣传日来临之际", 2024, "event", [("2024-12-04", "2024-12-04")]),
    ("“12·5国际志愿者日(国际义工日)”期间", 2020, "phase", [("2020-12-05", "2020-12-05")]),
    ("11月30日〔周一〕——12月6日〔周日〕", 2020, "phase", [("2020-11-30", "2020-12-06")]),
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
    # variants real plans write (plans/_expressions.py and _grammar.py say how they read)
    ("3月15日前完成", 2011, "deadline", [("2011-03-15",) * 2]),
    ("9月底前上报", 2011, "deadline", [("2011-09-30",) * 2]),
    ("4月完成", 2011, "deadline", [("2011-04-30",) * 2]),
    ("5月中下旬", 2011, "phase", [("2011-05-11", "2011-05-31")]),
    ("3月上中旬", 2011, "phase", [("2011-03-01", "2011-03-20")]),
    ("二至四月", 2011, "phase", [("2011-02-01", "2011-04-30")]),
    ("1——2月份", 2011, "phase", [("2011-01-01", "2011-02-28")]),
    ("1至3月份", 2011, "phase", [("2011-01-01", "2011-03-31")]),
    ("二0一五年六月二十八日", 2011, "event", [("2015-06-28",) * 2]),
    ("二〇一五年", 2011, "phase", [("2015-01-01", "2015-12-31")]),
    ("“七·一”", 2011, "event", [("2011-07-01",) * 2]),
    ("“十·一”前", 2011, "deadline", [("2011-09-30",) * 2]),
    ("“五·四”", 2011, "event", [("2011-05-04",) * 2]),
    ("4·20", 2013, "event", [("2013-04-20",) * 2]),
    ("中秋佳节", 2012, "event", [("2012-09-30",) * 2]),
    ("国庆节日期间", 2012, "phase", [("2012-09-30", "2012-10-07")]),
    ("4月4日当天及前后两天", 2025, "phase", [("2025-04-02", "2025-04-06")]),
    ("七一前后3天", 2011, "phase", [("2011-06-28", "2011-07-04")]),
    ("截止到2020年底", 2020, "deadline", [("2020-12-31",) * 2]),
    ("截至6月", 2011, "deadline", [("2011-06-30",) * 2]),
    ("截止5月20日", 2011, "deadline", [("2011-05-20",) * 2]),
    ("年终", 2011, "phase", [("2011-12-01", "2011-12-31")]),
    ("2007年3月1日--3月20日", 2007, "phase", [("2007-03-01", "2007-03-20")]),
    ("4月---5月", 2011, "phase", [("2011-04-01", "2011-05-31")]),
    ("3月~5月", 2011, "phase", [("2011-03-01", "2011-05-31")]),
    ("从3月1日开始至3月20日", 2011, "phase", [("2011-03-01", "2011-03-20")]),
    ("3月1日至3月20日止", 2011, "phase", [("2011-03-01", "2011-03-20")]),
    ("4月底或5月初", 2011, "phase", [("2011-04-30", "2011-05-05")]),
    ("从6月开始,8月底基本结束", 2021, "phase", [("2021-06-01", "2021-08-31")]),
    ("第一、二、三、四季度", 2020, "phase", [("2020-01-01", "2020-03-31"), ("2020-04-01", "2020-06-30"),
                                      ("2020-07-01", "2020-09-30"), ("2020-10-01", "2020-12-31")]),
    ("一、二季度", 2020, "phase", [("2020-01-01", "2020-03-31"), ("2020-04-01", "2020-06-30")]),
    ("3月初启动,一直延续到4月上旬", 2021, "phase", [("2021-03-01", "2021-04-10")]),
    ("四月或者五月", 2011, "phase", [("2011-04-01", "2011-05-31")]),
    ("2011年党的“七一”前", 2010, "deadline", [("2011-06-30",) * 2]),
    # beyond DESIGN.md's table
    ("国庆节后第一个工作日", 2024, "event", [("2024-10-08",) * 2]),
    ("春节后上班第一天", 2024, "event", [("2024-02-18",) * 2]),  # a make-up Sunday (调休)
    ("春节节后上班第一天", 2024, "event", [("2024-02-18",) * 2]),  # 节 said twice: 春节 + 节后
    ("年中", 2011, "phase", [("2011-06-01", "2011-07-31")]),
    ("农历九月初九", 2024, "event", [("2024-10-11",) * 2]),
    ("腊月初十", 2024, "event", [("2024-01-20",) * 2]),
    ("正月十五", 2024, "event", [("2024-02-24",) * 2]),
    ("元月10日(腊月初十)", 2024, "event", [("2024-01-10",) * 2]),
    ("20xx年元月10日(腊月初十)开始至元月18日(腊月十八)结束", 2024, "phase",
     [("2024-01-10", "2024-01-18")]),
    ("20XX年1月底至20xx年春节前", 2024, "phase", [("2024-01-31", "2024-02-09")]),
    ("10月1日(星期一)至7日(星期日)", 2018, "phase", [("2018-10-01", "2018-10-07")]),
    ("每年年初和年中", 2011, "phase", [("2011-01-01", "2011-01-31"), ("2011-06-01", "2011-07-31")]),
]

# Clock times are kept as the occurrence's time of day (24-hour HH:MM or HH:MM-HH:MM).
CLOCKS = [
    ("5月4日上午9点", "09:00", "event"),
    ("5月4日9:30", "09:30", "event"),
    ("5月4日17:30之前", "17:30", "deadline"),
    ("2019年9月28日中午12:00前", "12:00", "deadline"),
    ("6月28日上午8:40—11:30", "08:40-11:30", "event"),
    ("5月4日(周五)下午3:15~4:20", "15:15-16:20", "event"),
    ("10月1日晚七点半", "19:30", "event"),
    ("每周二晚7点到9点", "19:00-21:00", "event"),
    ("每周一9:30前", "09:30", "deadline"),
    ("每周五19:30", "19:30", "event"),
    ("每周五上午", "上午", "event"),
]


@pytest.mark.parametrize(("expression", "clock", "kind"), CLOCKS)
def test_clock_times_are_kept(expression: str, clock: str, kind: str) -> None:
    rule = parse(expression)
    found = rule.expand(2019, CALENDAR)
    assert {o.part_of_day for o in found} == {clock}
    assert rule.kind == kind


def test_a_year_the_calendar_cannot_place_is_a_clear_error() -> None:
    with pytest.raises(ExpressionError, match="1900 to 2100"):
        parse("每季度末").expand(9999, CALENDAR)

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
    ("每个月", 2011, "phase", 12, ("2011-01-01", "2011-01-31"), ("2011-12-01", "2011-12-31")),
    ("每月月底", 2011, "event", 12, ("2011-01-31",) * 2, ("2011-12-31",) * 2),
    ("月底前报送", 2011, "deadline", 12, ("2011-01-31",) * 2, ("2011-12-31",) * 2),
    ("每月第二个星期四", 2024, "event", 12, ("2024-01-11",) * 2, ("2024-12-12",) * 2),
    ("每个月第一个星期四", 2024, "event", 12, ("2024-01-04",) * 2, ("2024-12-05",) * 2),
    ("每月第一周星期五", 2025, "event", 12, ("2025-01-03",) * 2, ("2025-12-05",) * 2),
    ("每个季度的最后一个周六", 2023, "event", 4, ("2023-03-25",) * 2, ("2023-12-30",) * 2),
    ("每季度第一个周一", 2023, "event", 4, ("2023-01-02",) * 2, ("2023-10-02",) * 2),
    ("每两周", 2024, "phase", 27, ("2024-01-01", "2024-01-07"), ("2024-12-30", "2025-01-05")),
    ("每个工作日", 2024, "event", 251, ("2024-01-02",) * 2, ("2024-12-31",) * 2),
    ("每月首个工作日", 2024, "event", 12, ("2024-01-02",) * 2, ("2024-12-02",) * 2),
    ("每月首周周五", 2024, "event", 12, ("2024-01-05",) * 2, ("2024-12-06",) * 2),
    ("每季度最后一个月的30日前", 2024, "deadline", 4, ("2024-03-30",) * 2, ("2024-12-30",) * 2),
    ("每月的第二个星期五", 2024, "event", 12, ("2024-01-12",) * 2, ("2024-12-13",) * 2),
    ("每月第一周的周五", 2024, "event", 12, ("2024-01-05",) * 2, ("2024-12-06",) * 2),
    ("每月最后一个星期五", 2024, "event", 12, ("2024-01-26",) * 2, ("2024-12-27",) * 2),
    ("每月最后一周的周五", 2024, "event", 12, ("2024-01-26",) * 2, ("2024-12-27",) * 2),
    ("每月第一个星期的星期一", 2024, "event", 12, ("2024-01-01",) * 2, ("2024-12-02",) * 2),
    ("每月最后一周周五", 2024, "event", 12, ("2024-01-26",) * 2, ("2024-12-27",) * 2),
    ("每月第二周的星期三", 2024, "event", 12, ("2024-01-10",) * 2, ("2024-12-11",) * 2),
    ("每季度最后一周的周五", 2024, "event", 4, ("2024-03-29",) * 2, ("2024-12-27",) * 2),
    ("五一、国庆等节假日期间", 2024, "phase", 2, ("2024-05-01", "2024-05-05"),
     ("2024-10-01", "2024-10-07")),
    ("每年“七一”、“国庆”等重大节庆日期间", 2024, "phase", 2, ("2024-07-01",) * 2,
     ("2024-10-01", "2024-10-07")),
    ("春节、清明等传统节日前", 2024, "deadline", 2, ("2024-02-09",) * 2, ("2024-04-03",) * 2),
    ("每月第一个工作日", 2024, "event", 12, ("2024-01-02",) * 2, ("2024-12-02",) * 2),
    ("每月最后一个工作日", 2024, "event", 12, ("2024-01-31",) * 2, ("2024-12-31",) * 2),
    ("每季度首月10日前", 2011, "deadline", 4, ("2011-01-10",) * 2, ("2011-10-10",) * 2),
    ("每季度最后一个月", 2011, "phase", 4, ("2011-03-01", "2011-03-31"),
     ("2011-12-01", "2011-12-31")),
    ("毎周五", 2011, "event", 52, ("2011-01-07",) * 2, ("2011-12-30",) * 2),
    ("每周星期五下午", 2011, "event", 52, ("2011-01-07",) * 2, ("2011-12-30",) * 2),
    ("每周一9:30前", 2024, "deadline", 53, ("2024-01-01",) * 2, ("2024-12-30",) * 2),
    ("每周二前", 2024, "deadline", 53, ("2024-01-02",) * 2, ("2024-12-31",) * 2),
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
        ("4月底前交材料", "understood “4月底前交” but not “材料”"),
        ("视情况召开", "“视情况” leaves the day open"),
        ("具体时间另行通知", "“另行通知” leaves the day open"),
        ("根据需要", "“根据需要” leaves the day open"),
        ("待定", "“待定” leaves the day open"),
        ("近期", "“近期” leaves the day open"),
        ("长期坚持", "“长期坚持” leaves the day open"),
        ("常态化开展", "“常态化” leaves the day open"),
        ("13月", "no month 13"),
        ("第五季度", "no quarter 5"),
        ("", "is empty"),
        ("每周八", "no weekday 8"),
        ("3000年5月", "out of range"),
        ("17:30之前", "a time of day with no day"),
        ("上午9点", "a time of day with no day"),
        ("中午12:00前", "a time of day with no day"),
        ("2月第五个星期一", "has no number 5"),
    ],
)
def test_unreadable_expressions_say_why(expression: str, says: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expression).expand(2011, CALENDAR)
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"“{expression}”")


def test_a_long_when_is_refused_quickly_and_quoted_short() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("4月" * 4000)
    message = str(caught.value)
    assert "8000 characters long" in message and "at most 200" in message
    assert len(message) < 200


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


def test_memoised_expansions_are_fresh_lists_and_replay_their_warnings() -> None:
    from plans._calendar import ChinaCalendar
    from plans._expressions import clear_caches

    clear_caches()
    rule = parse("国庆期间")
    first = rule.expand(2011, CALENDAR)
    first.clear()  # a caller's list is its own
    assert rule.expand(2011, CALENDAR) and parse("国庆期间") is rule
    said: list[str] = []
    again: list[str] = []
    far = 2099  # no official holiday data: a coverage warning each time it is expanded
    rule.expand(far, CALENDAR, warnings=said)
    rule.expand(far, CALENDAR, warnings=again)
    assert said and said == again
    other = ChinaCalendar()
    assert rule.expand(2011, other) == rule.expand(2011, CALENDAR)
    with pytest.raises(ExpressionError):  # errors are never cached away
        parse("每季度末").expand(9999, CALENDAR)
