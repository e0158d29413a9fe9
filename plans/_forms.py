"""The forms a single time point or period can take, one entry per form.

Each form is a compiled regex over normalised text (see ``_text``) and a
builder. ``read_anchor`` tries them in order; the first full match wins. To
teach Jiedian a new way of writing a time, add one entry to ``FORMS`` (or to
``RECURRING`` for something that starts with 每) and rows to the table in
``tests/test_expressions.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from plans._anchors import (
    IMPLIED,
    DayAnchor,
    LunarAnchor,
    MonthAnchor,
    NamedDayAnchor,
    PeriodAnchor,
    RecurringAnchor,
    YearRef,
)
from plans._errors import ExpressionError

__all__ = ["FORMS", "NAMED_DAYS", "RECURRING", "read_anchor", "read_recurring"]

Anchor = object


@dataclass(frozen=True)
class Form:
    name: str
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str], YearRef], Anchor]
    first: str = ""  # the characters a match can start with ("": any), to skip hopeless tries


def _month(text: str, expression: str) -> int:
    month = int(text)
    if not 1 <= month <= 12:
        raise ExpressionError(expression, f"there is no month {month}", "months run 1–12")
    return month


def _day(text: str, expression: str) -> int:
    day = int(text)
    if not 1 <= day <= 31:
        raise ExpressionError(expression, f"there is no day {day} in a month")
    return day


def _iso(m: re.Match[str], _: YearRef) -> Anchor:
    year = int(m["y"])
    return DayAnchor(_month(m["m"], m[0]), _day(m["d"], m[0]), YearRef(year), m[0])


def _date(m: re.Match[str], year: YearRef) -> Anchor:
    return DayAnchor(_month(m["m"], m[0]), _day(m["d"], m[0]), year, m[0])


def _month_form(m: re.Match[str], year: YearRef) -> Anchor:
    return MonthAnchor(_month(m["m"], m[0]), m["part"], year)


def _half(m: re.Match[str], year: YearRef) -> Anchor:
    return PeriodAnchor("half", 1 if m["h"] == "上" else 2, m["part"], year)


def _quarter(m: re.Match[str], year: YearRef) -> Anchor:
    quarter = int(m["q"])
    if not 1 <= quarter <= 4:
        raise ExpressionError(m[0], f"there is no quarter {quarter}", "quarters run 1–4")
    return PeriodAnchor("quarter", quarter, m["part"], year)


def _year_part(m: re.Match[str], year: YearRef) -> Anchor:
    part = m["part"]
    return PeriodAnchor("year", 1, None if part in ("内", "度内", "度") else part, year)


def _whole_year(_: re.Match[str], year: YearRef) -> Anchor:
    return PeriodAnchor("year", 1, None, year)


# Days known by name with a fixed date. Aliases map to (canonical name, month, day).
NAMED_DAYS: dict[str, tuple[str, int, int]] = {}
for _names, _md in [
    ("元旦 元旦节", (1, 1)),
    ("学雷锋日 学雷锋纪念日", (3, 5)),
    ("三八 三八节 妇女节 三八妇女节 国际妇女节 三八国际妇女节", (3, 8)),
    ("植树节", (3, 12)),
    ("全民国家安全教育日", (4, 15)),
    ("世界读书日", (4, 23)),
    ("五一 五一节 劳动节 五一劳动节 国际劳动节 五一国际劳动节", (5, 1)),
    ("五四 五四青年节 青年节", (5, 4)),
    ("六一 六一节 儿童节 六一儿童节 国际儿童节", (6, 1)),
    ("七一 建党节 七一建党节 建党纪念日 党的生日", (7, 1)),
    ("八一 八一节 建军节 八一建军节", (8, 1)),
    ("抗战胜利纪念日", (9, 3)),
    ("教师节", (9, 10)),
    ("烈士纪念日", (9, 30)),
    ("国庆 国庆节 十一 十一国庆节", (10, 1)),
    ("记者节", (11, 8)),
    ("国家宪法日 宪法日", (12, 4)),
    ("国家公祭日", (12, 13)),
]:
    _canonical = _names.split()[0]
    for _name in _names.split():
        NAMED_DAYS[_name] = (_canonical, *_md)

# Lunar festivals by lunar (month, day); 除夕 is the eve of the Spring Festival
# (the lunar 12th month may have 29 or 30 days) and 清明 is a solar term.
LUNAR_DAYS: dict[str, LunarAnchor] = {}
for _names, _anchor in [
    ("春节 农历新年 农历春节 新春 大年初一 正月初一", LunarAnchor("春节", lunar=(1, 1))),
    ("除夕 农历年除夕 农历除夕 大年三十 年三十 大年夜", LunarAnchor("除夕", eve=True)),
    ("元宵 元宵节 正月十五", LunarAnchor("元宵", lunar=(1, 15))),
    ("端午 端午节 端阳", LunarAnchor("端午", lunar=(5, 5))),
    ("七夕", LunarAnchor("七夕", lunar=(7, 7))),
    ("中秋 中秋节", LunarAnchor("中秋", lunar=(8, 15))),
    ("重阳 重阳节 老人节", LunarAnchor("重阳", lunar=(9, 9))),
    ("腊八 腊八节", LunarAnchor("腊八", lunar=(12, 8))),
    ("清明 清明节", LunarAnchor("清明", term="清明")),
]:
    for _name in _names.split():
        LUNAR_DAYS[_name] = _anchor
for _term in ["立春", "雨水", "惊蛰", "春分", "谷雨", "立夏", "小满", "芒种", "夏至", "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至", "小寒", "大寒"]:
    LUNAR_DAYS[_term] = LunarAnchor(_term, term=_term)


def _named(text: str, year: YearRef) -> Anchor:
    if text in NAMED_DAYS:
        name, month, day = NAMED_DAYS[text]
        return NamedDayAnchor(name, month, day, year)
    return replace(LUNAR_DAYS[text], year=year)


def _lunar_date(m: re.Match[str], year: YearRef) -> Anchor:
    month, day = _month(m["m"], m[0]), int(m["d"])
    if not 1 <= day <= 30:
        raise ExpressionError(m[0], f"a lunar month has no day {day}")
    return LunarAnchor(m[0], lunar=(month, day), year=year)


_PART = r"(?P<part>上旬|中旬|下旬|初|中|底|末)"
_DIGIT = "0123456789"
FORMS: list[Form] = [
    Form("iso date", re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})日?"), _iso,
         _DIGIT),
    Form("date", re.compile(r"(?P<m>\d{1,2})月(?P<d>\d{1,2})日"), _date, _DIGIT),
    Form("month", re.compile(rf"(?P<m>\d{{1,2}})月份?{_PART}?"), _month_form, _DIGIT),
    Form("half", re.compile(r"(?P<h>[上下])半年(?:度)?(?P<part>初|底|末)?"), _half, "上下"),
    Form("quarter", re.compile(r"第?(?P<q>\d)季度(?P<part>初|底|末)?"), _quarter, "第" + _DIGIT),
    Form("year part", re.compile(r"(?:本|今|全)?年(?:度)?(?P<part>初|底|末|内|度内)"), _year_part,
         "本今全年"),
    Form("whole year", re.compile(r"全年|本年度?|年度|全年度"), _whole_year, "全本年"),
    Form("lunar date", re.compile(r"农历(?P<m>\d{1,2})月(?P<d>\d{1,2})日?"), _lunar_date, "农"),
]


def _recurring(unit: str) -> Callable[[re.Match[str], YearRef], Anchor]:
    def build(m: re.Match[str], year: YearRef) -> Anchor:
        groups = m.groupdict()
        part: str | int | None = groups.get("part")
        if groups.get("d"):
            part = _day(groups["d"], m[0])
        step = int(groups.get("n") or 1)
        if unit == "months" and not 1 <= step <= 12:
            raise ExpressionError(m[0], f"every {step} months does not fit in a year")
        weekday = int(groups["w"]) if groups.get("w") else None
        if weekday is not None and not 1 <= weekday <= 7:
            raise ExpressionError(m[0], f"there is no weekday {weekday}", "周一 … 周日")
        return RecurringAnchor(unit, step, weekday, part, year)

    return build


# What follows 每 (or 每个).
RECURRING: list[Form] = [
    Form("every day", re.compile(r"(?:天|日)"), _recurring("day")),
    Form("every week", re.compile(r"(?:个)?周(?P<w>\d)?"), _recurring("week")),
    Form("every month", re.compile(rf"(?:个)?月份?(?:(?P<d>\d{{1,2}})日|{_PART})?"),
         _recurring("month")),
    Form("every n months", re.compile(r"(?P<n>\d{1,2})个月(?P<part>底|末)?"), _recurring("months")),
    Form("every quarter", re.compile(r"1?季度(?P<part>初|底|末)?"), _recurring("quarter")),
    Form("every half", re.compile(r"半年(?P<part>初|底|末)?"), _recurring("half")),
    Form("every year", re.compile(r"年(?:度)?"), _recurring("year")),
]

# A year written before the rest: 2011年…, 今年…, 次年….
YEAR_PREFIX = re.compile(r"(?:(?P<y>\d{4})年|(?P<rel>今年|本年|当年|明年|次年|翌年|来年|去年|上年))")
_RELATIVE = {"今年": 0, "本年": 0, "当年": 0, "明年": 1, "次年": 1, "翌年": 1, "来年": 1,
             "去年": -1, "上年": -1}


_YEAR_STARTS = frozenset("0123456789今本当明次翌来去上")


def split_year(text: str, expression: str) -> tuple[YearRef, str]:
    """Split a leading year off ``text``: ``2011年4月`` → (YearRef(2011), ``4月``)."""
    m = YEAR_PREFIX.match(text) if text[:1] in _YEAR_STARTS else None
    if not m:
        return IMPLIED, text
    rest = text[m.end():]
    if rest.startswith(("初", "底", "末", "内", "度")):
        rest = "年" + rest  # 2011年底: the year is also the period
    if m["y"]:
        year = int(m["y"])
        if not 1900 <= year <= 2100:
            raise ExpressionError(expression, f"the year {year} is out of range",
                                  "years from 1900 to 2100 are understood")
        return YearRef(year), rest
    return YearRef(relative=_RELATIVE[m["rel"]]), rest


def read_anchor(text: str, year: YearRef, expression: str) -> Anchor | None:
    """Read one point or period (no 前/后, no 每, no range); None if no form matches."""
    if not text:
        return PeriodAnchor("year", 1, None, year) if year != IMPLIED else None
    if text in NAMED_DAYS or text in LUNAR_DAYS:  # the commonest case, and a dict lookup
        return _named(text, year)
    first = text[0]
    for form in FORMS:
        if form.first and first not in form.first:
            continue
        m = form.pattern.fullmatch(text)
        if m:
            return form.build(m, year)
    return None


def read_recurring(text: str, year: YearRef, expression: str) -> Anchor | None:
    """Read what follows 每: 周五, 月25日, 季度末, 两个月, 年初, 年七一 …"""
    for form in RECURRING:
        m = form.pattern.fullmatch(text)
        if m:
            return form.build(m, year)
    if text.startswith("年"):  # 每年初, 每年七一, 每年3月: the anchor, in each year
        rest = text[1:]
        if rest.startswith(("初", "底", "末")):
            rest = "年" + rest
        return read_anchor(rest, year, expression)
    return None
