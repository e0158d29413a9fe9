"""The grammar of Chinese time expressions: one entry per form, tried from one list.

Each :class:`Form` holds its pattern (a regex over the one spelling ``_text.normalize``
gives) and its meaning (``build``: the match → an :class:`~plans._anchors.Anchor`).
``read_anchor`` tries ``FORMS`` in order and the first full match wins; ``SCANNER``
is the same list compiled into one search pattern, which is how ``plan extract``
finds candidate expressions in running text. So a form added here is read by
``jiedian when``, ``plan validate`` and ``plan extract`` alike: add one entry to
``FORMS`` and one row to the table in ``tests/test_expressions.py``.

What may follow an anchor is one table too: ``MODIFIERS`` (前, 前夕, 后, 前后, 期间,
后第一个工作日 …, and the prefixes 截至/截止到), ``clock`` (上午, 9:30, 晚7点到9点).
This is the APScheduler cron model: a form is one record with its regex and meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property

from plans._anchors import (
    IMPLIED,
    MONTH_PARTS,
    Anchor,
    Context,
    DayAnchor,
    LunarAnchor,
    MonthAnchor,
    NamedDayAnchor,
    NthWeekdayAnchor,
    PeriodAnchor,
    RecurringAnchor,
    Span,
    YearRef,
)
from plans._errors import ExpressionError

__all__ = [
    "CLOCK_JOIN",
    "DAY_NAMES",
    "FORMS",
    "LUNAR_DAYS",
    "MODIFIERS",
    "NAMED_DAYS",
    "WEEKDAY_DAYS",
    "Form",
    "Modifier",
    "clock_pattern",
    "day_times",
    "read_anchor",
    "split_year",
]

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Form:
    """One way of writing a time: its pattern, its meaning, and its role in extraction.

    ``role`` is what extraction calls a match (date, month, period, named, every):
    a cluster of roles decides whether a sentence's time is a node.
    """

    name: str
    source: str  # the regex, with named groups for ``build``
    build: Callable[[re.Match[str], YearRef], Anchor]
    role: str
    first: str = ""  # the characters a match can start with ("": any), to skip hopeless tries
    scan: bool = True  # False: extraction finds it as adjacent atoms (每年 + 3月), not whole

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """``source`` compiled, on first use: `jiedian when` compiles only the forms it tries
        (each compile costs about a millisecond at start-up)."""
        return re.compile(self.source)


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


def _weekday(text: str, expression: str) -> int:
    weekday = int(text)
    if not 1 <= weekday <= 7:
        raise ExpressionError(expression, f"there is no weekday {weekday}", "周一 … 周日")
    return weekday


# ── named days ────────────────────────────────────────────────────────────────

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
    ("七一 建党节 七一建党节 建党纪念日 党的生日 党的七一", (7, 1)),
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
SOLAR_TERMS = ["立春", "雨水", "惊蛰", "春分", "谷雨", "立夏", "小满", "芒种", "夏至", "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至", "小寒", "大寒"]
for _term in SOLAR_TERMS:
    LUNAR_DAYS.setdefault(_term, LunarAnchor(_term, term=_term))

# Days known by name that fall on a weekday counted in a month: (month, nth, weekday).
WEEKDAY_DAYS: dict[str, NthWeekdayAnchor] = {}
for _names, (_m, _nth, _wd) in [
    ("母亲节", (5, 2, 7)),
    ("全国助残日", (5, 3, 7)),
    ("父亲节", (6, 3, 7)),
    ("全国科普日", (9, 3, 6)),
]:
    for _name in _names.split():
        WEEKDAY_DAYS[_name] = NthWeekdayAnchor(_m, _nth, _wd, _names.split()[0])

# Every day known by name, longest first (so a scan prefers 三八妇女节 to 三八).
DAY_NAMES = sorted([*NAMED_DAYS, *LUNAR_DAYS, *WEEKDAY_DAYS], key=len, reverse=True)
_ALL_NAMES = DAY_NAMES
# 中秋佳节, 国庆节日, 春节节后: a festival with a word for "festival" after it is the festival.
_FESTIVAL_WORD = r"(?:佳节|节日|节)?"


def _named(m: re.Match[str], year: YearRef) -> Anchor:
    text = m["name"]
    if text in NAMED_DAYS:
        name, month, day = NAMED_DAYS[text]
        return NamedDayAnchor(name, month, day, year=year)
    if text in WEEKDAY_DAYS:
        return replace(WEEKDAY_DAYS[text], year=year)
    return replace(LUNAR_DAYS[text], year=year)


# ── lunar dates: 农历九月初九, 腊月初十, 正月十五 ──────────────────────────────────────

_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12}
_LUNAR_UNITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_LUNAR_DAY = r"初(?:[一二三四五六七八九]|十)|十[一二三四五六七八九]?|廿[一二三四五六七八九]?|二十|三十"


def _lunar_day(text: str) -> int:
    if text.startswith("初"):
        return 10 if text[1] == "十" else _LUNAR_UNITS[text[1]]
    tens = {"十": 10, "廿": 20, "二": 20, "三": 30}[text[0]]
    return tens + (_LUNAR_UNITS.get(text[1], 0) if len(text) > 1 and text[1] != "十" else 0)


def _lunar_date(m: re.Match[str], year: YearRef) -> Anchor:
    month_text = m["lm"]
    month = _LUNAR_MONTHS.get(month_text) or _month(month_text, m[0])
    day = _lunar_day(m["ld"]) if m["ld"] else int(m["dd"])
    if not 1 <= day <= 30:
        raise ExpressionError(m[0], f"a lunar month has no day {day}")
    return LunarAnchor(m[0], lunar=(month, day), year=year)


# ── builders ──────────────────────────────────────────────────────────────────


def _iso(m: re.Match[str], _: YearRef) -> Anchor:
    return DayAnchor(_month(m["m"], m[0]), _day(m["d"], m[0]), m[0], year=YearRef(int(m["y"])))


def _date(m: re.Match[str], year: YearRef) -> Anchor:
    return DayAnchor(_month(m["m"], m[0]), _day(m["d"], m[0]), m[0], year=year)


def _month_nth_weekday(m: re.Match[str], year: YearRef) -> Anchor:
    """6月第二个星期日, 5月最后一个周五: that weekday counted in that month."""
    nth = -1 if m["last"] else int(m["nth"])
    if not 1 <= abs(nth) <= 5:
        raise ExpressionError(m[0], f"a month has no number {nth} of them")
    return NthWeekdayAnchor(_month(m["m"], m[0]), nth, _weekday(m["w"], m[0]), year=year)


def _month_form(m: re.Match[str], year: YearRef) -> Anchor:
    return MonthAnchor(_month(m["m"], m[0]), m["part"], year=year)


def _half(m: re.Match[str], year: YearRef) -> Anchor:
    return PeriodAnchor("half", 1 if m["h"] == "上" else 2, m["part"], year=year)


def _quarter(m: re.Match[str], year: YearRef) -> Anchor:
    quarter = int(m["q"])
    if not 1 <= quarter <= 4:
        raise ExpressionError(m[0], f"there is no quarter {quarter}", "quarters run 1–4")
    return PeriodAnchor("quarter", quarter, m["part"], year=year)


def _year_part(m: re.Match[str], year: YearRef) -> Anchor:
    part = m["part"]
    if part == "中":
        return PeriodAnchor("midyear", year=year)
    return PeriodAnchor("year", 1, None if part in ("内", "度内", "度") else part, year=year)


def _whole_year(_: re.Match[str], year: YearRef) -> Anchor:
    return PeriodAnchor("year", year=year)


def _each_month_part(m: re.Match[str], year: YearRef) -> Anchor:
    """月底前报送 in a plan is a monthly duty (every month's end), 季度末 a quarterly one."""
    unit = "quarter" if m["unit"] == "季度" else "month"
    return RecurringAnchor(unit, part=m["part"], year=year)


def _every(unit: str) -> Callable[[re.Match[str], YearRef], Anchor]:
    def build(m: re.Match[str], year: YearRef) -> Anchor:
        groups = m.groupdict()
        part: str | int | None = groups.get("part")
        if groups.get("d"):
            part = _day(groups["d"], m[0])
        step = int(groups.get("n") or 1)
        if unit == "months" and not 1 <= step <= 12:
            raise ExpressionError(m[0], f"every {step} months does not fit in a year")
        weekday = _weekday(groups["w"], m[0]) if groups.get("w") else None
        return RecurringAnchor(unit, step, weekday, part, year=year)

    return build


def _every_weeks(m: re.Match[str], year: YearRef) -> Anchor:
    """每两周 (每2周): every other week, from the first week of the year."""
    return RecurringAnchor("week", step=int(m["n"]), year=year)


def _every_workday(m: re.Match[str], year: YearRef) -> Anchor:
    return RecurringAnchor("day", workday=True, year=year)


def _every_nth(m: re.Match[str], year: YearRef) -> Anchor:
    """每月第二个星期四, 每月最后一个星期五, 每月第一个工作日; 每季度第一个周一 / 最后一个周六:
    in the quarter's first / last month. A week of the month names its weekday the same way:
    第一周的周五 is the first Friday, 最后一周(的)周五 the last Friday (a month ending midweek
    has its "last week" read as the last full run of weekdays, as offices mean it)."""
    nth = -1 if m["last"] else int(m["nth"])
    if not 1 <= abs(nth) <= 5:
        raise ExpressionError(m[0], f"a month has no number {nth} of them")
    unit = "quarter" if m["q"] else "month"  # 每季度最后一个周六: in the quarter's last month
    if m["wd"]:
        return RecurringAnchor(unit, nth=nth, workday=True, year=year)
    return RecurringAnchor(unit, weekday=_weekday(m["w"] or m["ww"], m[0]), nth=nth, year=year)


def _every_quarter_month(m: re.Match[str], year: YearRef) -> Anchor:
    """每季度首月10日, 每季度第一个月, 每季度最后一个月."""
    month_of = 3 if m["which"] in ("最后1个月", "末月") else 1
    part: str | int | None = _day(m["d"], m[0]) if m["d"] else m["part"]
    return RecurringAnchor("quarter", part=part, month_of=month_of, year=year)


def _every_year_anchor(m: re.Match[str], year: YearRef) -> Anchor:
    """每年七一, 每年3月, 每年年初: the anchor, in each year being expanded."""
    rest = m["rest"]
    if rest.startswith(("初", "底", "末", "中")):
        rest = "年" + rest
    anchor = read_anchor(rest, year, m[0])
    if anchor is None or isinstance(anchor, RecurringAnchor):
        raise ExpressionError(m[0], f"“每年{m['rest']}” is not a time Jiedian knows")
    return anchor


_PART = rf"(?P<part>{'|'.join(MONTH_PARTS)})"
_D = "0123456789"
_NAME_ALTERNATION = "|".join(_ALL_NAMES)

FORMS: list[Form] = [
    Form("iso date", r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})日?", _iso, "date", _D),
    Form("date", r"(?P<m>\d{1,2})月(?P<d>\d{1,2})日", _date, "date", _D),
    Form("month's nth weekday", r"(?P<m>\d{1,2})月份?(?:第(?P<nth>\d)|(?P<last>最后1))个?周(?P<w>\d)",
         _month_nth_weekday, "date", _D),
    Form("month", rf"(?P<m>\d{{1,2}})月份?{_PART}?", _month_form, "month", _D),
    Form("half", r"(?P<h>[上下])半年(?:度)?(?P<part>初|底|末)?", _half, "period", "上下"),
    Form("quarter", r"第?(?P<q>\d)季度(?P<part>初|底|末)?", _quarter, "period", "第" + _D),
    Form("year part", r"(?:本|今|全)?年(?:度)?(?P<part>初|底|末|内|度内|中)", _year_part, "period",
         "本今全年"),
    Form("whole year", r"全年|本年度?|年度|全年度", _whole_year, "year", "全本年"),
    Form("lunar date", rf"(?:农历(?P<lm>\d{{1,2}}|[正冬腊])|(?P<lm2>[正冬腊]))月"
         rf"(?:(?P<ld>{_LUNAR_DAY})|(?P<dd>\d{{1,2}})日)", lambda m, y: _lunar_date(_LunarMatch(m), y),
         "named", "农正冬腊"),
    Form("named day", rf"(?P<name>{_NAME_ALTERNATION}){_FESTIVAL_WORD}", _named, "named"),
    Form("each month part", r"(?P<unit>月|季度)(?P<part>初|中|底|末)", _each_month_part, "every",
         "月季"),
    Form("every day", r"每(?:天|日)", _every("day"), "every", "每"),
    Form("every nth weekday", r"每(?:(?P<q>季度)|月)(?:第(?P<nth>\d)|(?P<last>最后1))"
         r"(?:个(?:周(?P<w>\d)|(?P<wd>工作日))|个?(?:周|星期)(?:的?周)?(?P<ww>\d))", _every_nth, "every", "每"),
    # 每周一次 is weekly, not every Monday: a weekday is not followed by a count.
    Form("every n weeks", r"每(?P<n>[2-4])周(?![\d次个天年小])", _every_weeks, "every", "每"),
    Form("every working day", r"每(?:个)?工作日", _every_workday, "every", "每"),
    Form("every week", r"每周(?:(?P<w>\d)(?![\d次个天年小]))?", _every("week"), "every", "每"),
    Form("every month", rf"每月份?(?:(?P<d>\d{{1,2}})日|{_PART})?", _every("month"), "every", "每"),
    Form("every n months", r"每(?P<n>\d{1,2})个月(?P<part>底|末)?", _every("months"), "every", "每"),
    Form("every quarter month", r"每季度(?P<which>首月|第1个月|最后1个月|末月)"
         r"(?:(?P<d>\d{1,2})日|(?P<part>初|中|底|末|上旬|中旬|下旬))?",
         _every_quarter_month, "every", "每"),
    Form("every quarter", r"每1?季度(?P<part>初|底|末)?", _every("quarter"), "every", "每"),
    Form("every half", r"每半年(?P<part>初|底|末)?", _every("half"), "every", "每"),
    Form("every year's part or day", rf"每年(?P<rest>年?(?:初|底|末|中)|{_NAME_ALTERNATION})",
         _every_year_anchor, "every", "每"),
    Form("every year", r"每年(?:度)?", _every("year"), "every", "每"),
    # 每年3月, 每年5月1日前: found in text as 每年 beside the date, read here as one.
    Form("every year's date", r"每年(?P<rest>\d.*)", _every_year_anchor, "every", "每", scan=False),
]


class _LunarMatch:
    """The lunar-date match with its two month groups folded into one (lm)."""

    def __init__(self, m: re.Match[str]) -> None:
        self._m = m

    def __getitem__(self, key: int | str) -> str:
        if key == "lm":
            return self._m["lm"] or self._m["lm2"]
        return self._m[key]


# ── years written before the rest ─────────────────────────────────────────────

# 2011年…, 今年…, 次年…; a masked year (20xx年) is removed by normalize: the plan's year.
YEAR_PREFIX = re.compile(r"(?:(?P<y>\d{4})年(?:度)?|(?P<rel>今年|本年度?|当年|明年|次年|翌年|来年|去年|(?<!原则)(?<!基本)(?<!总体)(?<!实际)(?<!以)上年))")  # not 原则上|年底
RELATIVE_YEARS = {"今年": 0, "本年": 0, "本年度": 0, "当年": 0, "明年": 1, "次年": 1, "翌年": 1,
                  "来年": 1, "去年": -1, "上年": -1}
_YEAR_STARTS = frozenset("0123456789今本当明次翌来去上")
YEARS_UNDERSTOOD = range(1900, 2101)


def split_year(text: str, expression: str) -> tuple[YearRef, str]:
    """Split a leading year off ``text``: ``2011年4月`` → (YearRef(2011), ``4月``)."""
    m = YEAR_PREFIX.match(text) if text[:1] in _YEAR_STARTS else None
    if not m:
        return IMPLIED, text
    rest = text[m.end():]
    if rest.startswith(("初", "底", "末", "内", "中")) or (rest.startswith("度") and m["y"]):
        rest = "年" + rest  # 2011年底: the year is also the period
    if m["y"]:
        year = int(m["y"])
        if year not in YEARS_UNDERSTOOD:
            raise ExpressionError(expression, f"the year {year} is out of range",
                                  "years from 1900 to 2100 are understood")
        return YearRef(year), rest
    return YearRef(relative=RELATIVE_YEARS[m["rel"]]), rest


def read_anchor(text: str, year: YearRef, expression: str) -> Anchor | None:
    """Read one point, period or recurrence (no 前/后, no range); None if no form matches."""
    if not text:
        return PeriodAnchor("year", year=year) if year != IMPLIED else None
    if text in NAMED_DAYS:  # the commonest case, and a dict lookup
        name, month, day = NAMED_DAYS[text]
        return NamedDayAnchor(name, month, day, year=year)
    if text in LUNAR_DAYS:
        return replace(LUNAR_DAYS[text], year=year)
    if text in WEEKDAY_DAYS:
        return replace(WEEKDAY_DAYS[text], year=year)
    first = text[0]
    for form in FORMS:
        if form.first and first not in form.first:
            continue
        m = form.pattern.fullmatch(text)
        if m:
            return form.build(m, year)
    return None


# ── what follows an anchor ────────────────────────────────────────────────────


@dataclass(frozen=True)
class Modifier:
    """What a suffix (or the prefix 截至) does to each span of its anchor.

    ``deadline``: the item is something to be done by a day (the kind is a deadline);
    ``one_day``: the result is one day whatever the anchor (so the kind is an event).
    """

    name: str
    source: str  # the suffix as a regex (named groups allowed)
    apply: Callable[[Span, Anchor, Context, dict[str, str]], Span]
    deadline: bool = False
    one_day: bool | None = None


def _by(span: Span, anchor: Anchor, _: Context, __: dict[str, str]) -> Span:
    """X前: a date (or 月中) is X itself, X底前 X's last day, anything else the day before X."""
    if anchor.point or anchor.end_marker:
        return Span(span.end, span.end)
    return Span(span.start - DAY, span.start - DAY)


def _by_end(span: Span, _: Anchor, __: Context, ___: dict[str, str]) -> Span:
    """截至/截止到 X: by the end of X (截止到2020年底 is 12-31)."""
    return Span(span.end, span.end)


def _eve(span: Span, _: Anchor, __: Context, ___: dict[str, str]) -> Span:
    return Span(span.start - DAY, span.start - DAY)


def _around(span: Span, _: Anchor, __: Context, groups: dict[str, str]) -> Span:
    days = int(groups["weeks"]) * 7 if groups.get("weeks") else int(groups.get("n") or 7)
    return Span(span.start - DAY * days, span.end + DAY * days)


def _after(span: Span, _: Anchor, __: Context, ___: dict[str, str]) -> Span:
    end = date(span.end.year, 12, 31)
    if span.end >= end:
        raise ExpressionError("", f"nothing is left of {span.end.year} after {span.end}")
    return Span(span.end + DAY, end)


def _during(span: Span, _: Anchor, ctx: Context, __: dict[str, str]) -> Span:
    """The holiday's run of rest days when X is a statutory holiday, else X."""
    ctx.warn_uncovered(span.start.year)
    run = ctx.calendar.holiday_run(span.start)
    return Span(*run) if run else span


def _first_workday_after(span: Span, _: Anchor, ctx: Context, __: dict[str, str]) -> Span:
    """X后第一个工作日, 节后上班第一天: past X and the rest days that follow it (调休 counts)."""
    ctx.warn_uncovered(span.end.year)
    day = span.end + DAY
    while not ctx.calendar.is_working_day(day):
        day += DAY
    return Span(day, day)


MODIFIERS: list[Modifier] = [  # longest spellings first: 前夕 before 前
    Modifier("first working day after", r"后(?:第1个工作日|上班第1天|第1天上班|首个工作日|上班首日)",
             _first_workday_after, one_day=True),
    Modifier("around n days", r"(?:当天)?前后(?:(?P<n>\d{1,2})天|(?P<weeks>\d)周)", _around, one_day=False),
    Modifier("eve", r"前夕", _eve, one_day=True),
    Modifier("on the day", r"之际|即将来临之际|即将到来之际|来临之际|到来之际|当天|当日|这1天|这天|之时|时(?![间段期候代刻效限])",
             lambda span, *_: span),
    Modifier("around", r"前后", _around, one_day=False),
    Modifier("during", r"期间", _during, one_day=False),
    Modifier("by", r"以前|之前|前", _by, deadline=True, one_day=True),
    Modifier("after", r"以后|之后|后", _after, one_day=False),
]
BY_END = Modifier("by the end of", r"截至|截止到|截止|(?:从|自)?即日起?(?:至|到)", _by_end, deadline=True,
                  one_day=True)  # 即日起至6月27日: by 6月27日
MODIFIER_SOURCE = "|".join(f"(?P<mod{i}>{m.source})" for i, m in enumerate(MODIFIERS))


def modifier_of(match: re.Match[str]) -> tuple[Modifier | None, dict[str, str]]:
    """The modifier a match of ``MODIFIER_SOURCE`` (in a larger pattern) names, and its groups."""
    for i, modifier in enumerate(MODIFIERS):
        if match[f"mod{i}"] is not None:
            own = _MODIFIER_GROUPS[i]  # only its own groups (n of 前后3天): the parse is hot
            return modifier, {k: match[k] for k in own if match[k] is not None}
    return None, {}


_MODIFIER_GROUPS = [tuple(re.compile(m.source).groupindex) for m in MODIFIERS]


# ── the time of day: 上午, 9:30, 晚7点到9点, 下午3:15-4:20 ───────────────────────────

_POD_WORDS = "上午|下午|晚上|中午|早上|晚|全天"
_HOUR = r"\d{1,2}(?::\d{2}[分时]?|点(?:\d{1,2}分?|半)?|时(?:\d{1,2}分)?)"  # 8:30分, 9:00时 as written too
CLOCK_SOURCE = rf"(?:{_POD_WORDS})?{_HOUR}(?:(?:-|至|到)(?:{_POD_WORDS})?{_HOUR})?|(?:{_POD_WORDS})"
# What may stand between a day and its time: 6月1日的上午 (normalize drops the comma of
# 2019年9月30日,上午7:00, a comma before an hour).
CLOCK_JOIN = r"(?:的)?"
_ONE_TIME = re.compile(rf"(?P<pod>{_POD_WORDS})?(?P<h>\d{{1,2}})(?::(?P<m>\d{{2}})|点(?:(?P<m2>\d{{1,2}})分?"
                       rf"|(?P<half>半))?|时(?:(?P<m3>\d{{1,2}})分)?)")


def read_clock(text: str, expression: str) -> str | None:
    """上午/下午/晚上 as they are; clock times as HH:MM or HH:MM-HH:MM (24-hour)."""
    if not text:
        return None
    if text in _POD_WORDS.split("|"):
        return "全天" if text == "全天" else {"晚": "晚上", "早上": "上午", "中午": "中午"}.get(text, text)
    times = []
    pod = None
    for m in _ONE_TIME.finditer(text):
        pod = m["pod"] or pod  # 晚7点到9点: 9 is in the evening too
        hour = int(m["h"])
        minute = int(m["m"] or m["m2"] or m["m3"] or (30 if m["half"] else 0))
        if (pod in ("下午", "晚上", "晚") and hour < 12) or (pod == "中午" and hour < 3):
            hour += 12
        if hour > 24 or minute > 59:
            raise ExpressionError(expression, f"“{m[0]}” is not a time of day")
        times.append(f"{hour % 24:02d}:{minute:02d}")
    return "-".join(times[:2]) or None


# What 上午/下午/晚上 mean on a calendar, and how long a meeting given only its start lasts.
PARTS_OF_DAY = {"上午": (time(9), time(12)), "中午": (time(12), time(14)),
                "下午": (time(14, 30), time(17, 30)), "晚上": (time(19), time(21))}
_CLOCK = re.compile(r"(\d{2}):(\d{2})(?:-(\d{2}):(\d{2}))?")
ONE_HOUR = timedelta(hours=1)


def day_times(part_of_day: str | None) -> tuple[time, time] | None:
    """The start and end of a time of day (上午 → 09:00–12:00, 19:00-21:00, 09:30 → 09:30–10:30).

    None for a whole day (no time said, or 全天).
    """
    if not part_of_day:
        return None
    if part_of_day in PARTS_OF_DAY:
        return PARTS_OF_DAY[part_of_day]
    m = _CLOCK.fullmatch(part_of_day)
    if not m:
        return None
    begin = time(int(m[1]) % 24, int(m[2]))
    if m[3]:
        return begin, time(int(m[3]) % 24, int(m[4]))
    later = datetime.combine(date(2000, 1, 1), begin) + ONE_HOUR
    return begin, later.time() if later.day == 1 else time(23, 59)


# ── finding expressions in running text (plan extract) ────────────────────────

_GROUP_NAME = re.compile(r"\(\?P<\w+>")
# Glosses in brackets after a date say the same day again: 元月10日(腊月初十), 10月1日(周一).
# 10月1日(周一), 11月27日(二), 元月10日(腊月初十), 4月4日(清明节当天), 第二个星期日(6月13日):
# the same day again.
GLOSS_SOURCE = (r"(?<=日)\([一二三四五六日天]\)|(?<=周\d)\(\d{1,2}月\d{1,2}日\)"
                r"|(?<=\d日)\([\u4e00-\u9fff]{2,10}[日节]\)"  # 12月4日(国家宪法日): the day's name
                r"|\((?:周\d|农历[^()]*|[正腊冬\d]{1,2}月(?:初|十|廿|二十|三十)[^()]*|[^()]*当天)\)")
# 前 and 后 begin many words that are not modifiers: 前列, 前期, 后备, 后续 ….
_NOT_A_MODIFIER = ("(?:(?<=前)(?!列|头|提|进|期|沿|景|所|往|来|身|者|述|面|台|线|方|锋|任|辈|瞻|卫|途|茅)"
                   "|(?<=后)(?!备|进(?!行)|续|勤|来|面|期|果|盾|代|人|方|者|世|劲|发|起)|(?<![前后]))")


def _unnamed(source: str) -> str:
    return _GROUP_NAME.sub("(?:", source)


def clock_pattern() -> str:
    """CLOCK_SOURCE without its group names, to embed in another pattern."""
    return _unnamed(CLOCK_SOURCE)


def compile_scanner(extra: list[tuple[str, str]]) -> re.Pattern[str]:
    """One search pattern over normalised text: every scannable form of ``FORMS`` (with an
    optional year before it and a time of day and modifier after it), then ``extra``
    (role, regex) pairs, then a year on its own. ``match.lastgroup`` is ``role`` + index.

    Extraction uses this, so a form added to ``FORMS`` is found in plans' text too.

    The optional prefixes (截至…, a year) are written once before the alternation of the
    forms, not once per form: the engine then tries them once per position instead of once
    per form and position, which makes the scan of a 50,000-character plan ~5x faster with
    the same matches (every form still has its own named group, the last one closed).
    """
    suffix = (rf"(?:{GLOSS_SOURCE}|(?<=日)周\d)?(?:{CLOCK_JOIN}(?:{_unnamed(CLOCK_SOURCE)}))?(?:(?:{_unnamed(MODIFIER_SOURCE)}){_NOT_A_MODIFIER})?"
              rf"(?:{_unnamed(CLOCK_SOURCE)})?(?:为止|止|结束)?")  # 至5月1日结束: as `when` reads it
    # 2022年底, 今年底: the year's 年 is also the period's (split_year reads it so)
    year = rf"(?:{_unnamed(YEAR_PREFIX.pattern)}|(?:\d{{4}}|今|明|次|本)(?=年[底末初中内]))"
    by_end = f"(?:{_unnamed(BY_END.source)}|从|自)?"  # 截至2020年底, 即日起至6月27日, 从4月6日起: the prefix too
    forms = "|".join(f"(?P<{form.role}{i}>{_unnamed(form.source)})" for i, form in enumerate(FORMS) if form.scan)
    extras = "|".join(f"(?P<{role}x{i}>{_unnamed(source)})" for i, (role, source) in enumerate(extra))
    parts = [f"{by_end}(?:{year})?(?:{forms}){suffix}"] + ([f"(?:{extras}){suffix}"] if extras else [])
    return re.compile("|".join([*parts, f"(?P<yearonly>{year})"]))
