"""Chinese time expressions: read them into rules, expand rules into dates.

``parse(text)`` returns a :class:`Rule`; ``rule.expand(year, calendar)``
returns its occurrences in that year. DESIGN.md's table is the contract;
these are the rules where it is silent, as a party-building office means them:

- A list (、 和 及 与 或) gives one occurrence per item. A bare number borrows
  the unit of the next item (4、5月 = 4月、5月); a bare day borrows the month of
  the one before (5月1日、7日). When only the last item has 前/前夕/后/前后/期间,
  it applies to every item (元旦、春节前夕 = 元旦前夕、春节前夕), and a year written
  on an item goes on to the items after it (2025年元旦、春节期间).
- A range (至 到 - —) runs from the first day of its start to the last day of
  its end; the start borrows the end's unit (4-11月) and the end the start's
  year and month (2011年3月至5月, 5月1日至7日). An end earlier than the start
  without its own year is in the next year (11月至2月). An end with 前 ends
  on that deadline (2012年7月—党的十八大召开前).
- 前 (and 以前/之前): a date X前 is X itself; X底前/X末前 is X's last day; any
  other X前 is the day before X begins. 前夕 is the day before X, 后 (以后/之后)
  the day after X to the end of that year, 前后 X−7…X+7, 期间 the run of rest
  days around X when X is a statutory holiday, else X.
- Parts of a month without a month (月底, 月初, 季末) repeat every month or
  quarter: 月底前报送 in a plan is a monthly duty.
- 年初 is January and 年底/年末 December (a period), but 年底前 is 12-31.
- 每年X is X in the year being expanded; 每月31日 is the last day of short months.
- 上午/下午/晚上 after a day are kept as the occurrence's part of the day.
- Kind: 前 makes a deadline; otherwise one day is an event and more a phase.
- Anything else that ends in 前/前夕/后/前后/期间 is a named event (党的十八大召开前):
  its date must be given under ``events:``; a key matches when the text contains it.

Wordings of real plans beyond DESIGN.md's table (the forms are in ``_grammar``):

- A verb after a time (3月15日前完成, 月底前报送, 4月完成) leaves the time as it is; with
  no 前, the verb makes it a deadline by X's end. 截至/截止/截止到 X is by X's end
  (截止到2020年底 → 12-31), and so are 到 X opening an expression (到2023年底) and 即日起至 X.
  每周一次, 每季度至少1次 say how often: 每周, 每季度.
- A start and an end said in two clauses are one range: 从6月开始,8月底基本结束 and
  3月初启动,一直延续到4月上旬 run from 6月 to 8月底 and from 3月初 to 4月上旬.
- A或B (或者) is one window from A's start to B's end (4月底或5月初 → 04-30…05-05).
- 上中旬 is days 1–20, 中下旬 11–last; 年终 is December, like 年底; 年中 is June–July.
- X后第一个工作日, X后上班第一天: the first working day after X (调休 included).
  每月第N个星期X / 第N周的周X: the Nth such weekday (第一周的周五 = the first Friday);
  每月最后一个星期X; 每月第一个/最后一个工作日; 每季度首月X日, 每季度最后一个月.
- X前后N天 (当天及前后两天) is X−N … X+N; X之际 and X当天 are X.
- Clock times after a day (上午9点, 9:30, 晚7点到9点, 下午3:15~4:20, 中午12:00前) are kept
  as the occurrence's time of day, 24-hour (19:00-21:00); a deadline is due at its hour.
- Lunar dates: 农历九月初九, 腊月初十, 正月十五. A bracketed gloss after a date says the
  same day again and is dropped: 元月10日(腊月初十), 10月1日(星期一). A masked year
  (20xx年, 20XX年, **年) is the plan's year. 二0一五年 mixes digits and numerals.
- Words that leave the day open (适时, 另行通知, 视情况, 根据需要, 待定, 近期, 长期坚持, 常态化 …) are
  refused with that reason; so is a ``when`` over 200 characters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from plans._anchors import IMPLIED, Anchor, Context, DayAnchor, EventAnchor, Span
from plans._errors import ExpressionError
from plans._grammar import (
    BY_END,
    CLOCK_JOIN,
    CLOCK_SOURCE,
    GLOSS_SOURCE,
    MODIFIER_SOURCE,
    YEARS_UNDERSTOOD,
    Modifier,
    modifier_of,
    read_anchor,
    read_clock,
    split_year,
)
from plans._text import normalize

if TYPE_CHECKING:
    from plans._calendar import ChinaCalendar

__all__ = ["MAX_LENGTH", "Occurrence", "Rule", "parse"]

DAY = timedelta(days=1)
MAX_LENGTH = 200  # a time expression is short; longer is a sentence pasted into when:

# One item: [于|截至]ANCHOR[的][clock][MODIFIER][clock][开始|止|…][完成|报送|…]. The body is
# lazy, so the suffixes are taken from the end; the modifiers are _grammar.MODIFIERS.
_SINGLE = re.compile(
    r"(?:(?P<byend>截至|截止到|截止|截止于|(?:从|自)?即日起?(?:至|到)|到(?=\d|今年|本年|年))|最迟于|最迟在|最迟|不迟于"
    r"|于|在|从|自)?"
    r"(?P<body>.+?)"
    r"(?:(?<=日)周\d)?"  # 6月28日 周五: the weekday says the same day again
    rf"{CLOCK_JOIN}(?P<clock1>{CLOCK_SOURCE})?"
    rf"(?:{MODIFIER_SOURCE})?"
    rf"(?P<clock2>{CLOCK_SOURCE})?"
    r"(?:左右|开始|起|为止|止|结束|当天)?"
    r"(?:(?:至少|不少于)?\d+次)?"  # 每周一次, 每季度至少1次: how often, not which day
    r"(?P<verb>前?完成|报送|上报|提交|上交|报出|办结|报|交)?"
)
_NO_PARENS = str.maketrans("", "", "()")
# Glosses in brackets after a date say the same day again: 元月10日(腊月初十), 10月1日(周一).
_GLOSS = re.compile(GLOSS_SOURCE)
_LIST = re.compile(r"以及|、|和|及|与")
_EITHER = re.compile(r"或者|或")
# A range said in two clauses (normalize has made the comma 、): 从A开始,B结束; A启动,一直延续到B.
_SPOKEN_RANGE = re.compile(r"(?:从|自)?(?P<a>[^、]+?)(?:开始|启动|起)、(?:并|一直)?(?:延续|持续|延伸|进行)?"
                           r"(?P<to>至|到)?(?P<b>[^、]+?)(?P<end>(?:基本|全面|正式)?(?:结束|完成|收尾))?")
_RANGE = re.compile(r"至|到|-")
_TIME_CHARS = re.compile(r"\d|年|月|日|周|季|旬|节|每|前|后|夕")
# Words that leave the day open: no node can be dated from them.
_VAGUE = re.compile(r"适时|另行通知|另行安排|另行确定|另行|另定|视情况|视情|根据需要|根据工作需要|待定|近期"
                    r"|择期|不定期|随时|届时|长期坚持|长期|持续推进|持续开展|常态化")


@dataclass(frozen=True)
class Occurrence:
    """One nominal occurrence: inclusive dates and, if said, the time of day.

    ``part_of_day`` is 上午 / 下午 / 晚上 as written, or a clock time ``HH:MM`` or
    ``HH:MM-HH:MM`` (9:30, 晚7点到9点 → 19:00-21:00).
    """

    start: date
    end: date
    part_of_day: str | None = None


@dataclass(frozen=True)
class _Item:
    """One element of a list: an anchor, an optional modifier, a time of day."""

    anchor: Anchor
    modifier: Modifier | None = None
    part_of_day: str | None = None
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def deadline(self) -> bool:
        return self.modifier is not None and self.modifier.deadline

    @property
    def single_day(self) -> bool:
        if self.modifier is not None and self.modifier.one_day is not None:
            return self.modifier.one_day
        return self.anchor.single_day

    def spans(self, ctx: Context) -> list[Span]:
        spans = self.anchor.spans(ctx)
        if self.modifier is None:
            return spans
        groups = dict(self.groups)
        return [self.modifier.apply(span, self.anchor, ctx, groups) for span in spans]


@dataclass(frozen=True)
class _Range:
    """From the start of one item to the end of another (至, -, A或B)."""

    left: _Item
    right: _Item
    right_has_year: bool
    part_of_day: str | None = None
    deadline = False
    single_day = False

    def spans(self, ctx: Context) -> list[Span]:
        left, right = self.left.spans(ctx), self.right.spans(ctx)
        if len(left) != 1 or len(right) != 1:
            raise ExpressionError("", "a range needs one start and one end, not a repeating duty")
        start, end = left[0].start, right[0].end
        if end < start and not self.right_has_year:
            later = replace(ctx, year=ctx.year + 1, warnings=ctx.warnings)
            if self.right.anchor.year != IMPLIED:
                later = replace(ctx, shift=ctx.shift + 1, warnings=ctx.warnings)
            end = self.right.spans(later)[0].end
        if end < start:
            raise ExpressionError("", f"the range ends ({end}) before it starts ({start})")
        return [Span(start, end)]


@dataclass(frozen=True)
class Rule:
    """A parsed time expression. ``expand`` is pure: year, calendar and events come in."""

    expression: str
    normalized: str
    items: tuple[_Item | _Range, ...]

    @property
    def kind(self) -> str:
        """deadline when every item is one (X前, 截至X); else event for one day, phase for more."""
        if all(item.deadline for item in self.items):
            return "deadline"
        return "event" if all(item.single_day for item in self.items) else "phase"

    @property
    def events(self) -> list[str]:
        """Names of the events this rule refers to (they need dates under ``events:``)."""
        names = []
        for item in self.items:
            parts = (item.left, item.right) if isinstance(item, _Range) else (item,)
            names += [part.anchor.name for part in parts if isinstance(part.anchor, EventAnchor)]
        return names

    def expand(
        self,
        year: int,
        calendar: ChinaCalendar,
        events: Mapping[str, date] | None = None,
        *,
        shift: int = 0,
        warnings: list[str] | None = None,
    ) -> list[Occurrence]:
        """Return the sorted, distinct occurrences for ``year``.

        ``shift`` moves the years the expression names (a plan reused for
        another year); warnings about uncovered holiday data are appended to
        ``warnings`` when given.
        """
        key = (self.normalized, year, calendar, tuple(sorted((events or {}).items())), shift)
        cached = _EXPANDED.get(key)
        if cached is None:
            cached = _EXPANDED[key] = self._expand(year, calendar, events, shift)
            if len(_EXPANDED) > _EXPANDED_MAX:
                _EXPANDED.popitem(last=False)
        else:
            _EXPANDED.move_to_end(key)
        found, said = cached
        if warnings is not None:
            warnings.extend(w for w in said if w not in warnings)
        return list(found)

    def _expand(self, year: int, calendar: ChinaCalendar, events: Mapping[str, date] | None,
                shift: int) -> tuple[tuple[Occurrence, ...], tuple[str, ...]]:
        """(occurrences, warnings), computed; ``expand`` keeps the last few thousand."""
        if year not in YEARS_UNDERSTOOD:
            raise ExpressionError(self.expression, f"cannot be placed in the year {year}",
                                  "years from 1900 to 2100 are understood")
        ctx = Context(year, calendar, {normalize(k): v for k, v in (events or {}).items()}, shift)
        found: set[Occurrence] = set()
        try:
            for item in self.items:
                for span in item.spans(ctx):
                    found.add(Occurrence(span.start, span.end, item.part_of_day))
        except ExpressionError as error:
            raise error.for_expression(self.expression) from None
        except (ValueError, OverflowError) as error:  # a date out of range after a shift
            raise ExpressionError(self.expression, f"cannot be placed in {year}: {error}") from None
        return tuple(sorted(found, key=lambda o: (o.start, o.end))), tuple(ctx.warnings)


# Memoised on purpose: the daemon's sync, every feed render and every page expand the same
# few hundred expressions of the stored plans again and again, and both steps are pure
# (a calendar's data does not change once built). bench/expressions.py prints the figures
# with and without these caches.
_EXPANDED: OrderedDict[tuple, tuple[tuple[Occurrence, ...], tuple[str, ...]]] = OrderedDict()
_EXPANDED_MAX = 8192


def clear_caches() -> None:
    """Forget memoised parses and expansions (for benchmarks of the uncached path)."""
    _EXPANDED.clear()
    _parse.cache_clear()


def parse(text: str) -> Rule:
    """Read a time expression.

    >>> parse("“七一”前夕").kind
    'event'
    >>> parse("4月底前").kind
    'deadline'
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(str(text or ""), "is empty", "write a date, month, period or holiday")
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Rule:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{text[:30]}…", f"is {len(text)} characters long; a time expression "
                              f"has at most {MAX_LENGTH}", "keep only the time in when: (the rest "
                              "goes in title: or source:)")
    normalized = normalize(text)
    vague = _VAGUE.search(normalized)
    if vague:
        raise ExpressionError(text, f"is not a time: “{vague[0]}” leaves the day open",
                              "when the date is set, write it (e.g. 5月20日前); until then leave "
                              "the milestone out")
    try:
        items = _read_list(normalized)
    except ExpressionError as error:
        raise error.for_expression(text) from None
    return Rule(text, normalized, tuple(items))


def _read_list(text: str) -> list[_Item | _Range]:
    if "(" in text:  # 1月28日(农历除夕、周二): a gloss's 、 does not make a list
        text = _GLOSS.sub("", text)
    spoken = _SPOKEN_RANGE.fullmatch(text) if "、" in text else None
    if spoken and (spoken["to"] or spoken["end"]):  # 从6月开始,8月底基本结束
        return [_read_range(spoken["a"], spoken["b"], text)]
    if _EITHER.search(text):  # A或B: one window from A's start to B's end
        parts = _borrow_units(_EITHER.split(text))
        if len(parts) != 2 or not all(parts):
            raise ExpressionError(text, "reads “或” as one window from the first to the second: "
                                  "give exactly two times (4月底或5月初)")
        return [_read_range(parts[0], parts[1], text)]
    if not _LIST.search(text):
        return [_read_item(text)]
    texts = _LIST.split(text)
    if any(not part for part in texts):
        raise ExpressionError(text, "has an empty item in its list")
    texts = _borrow_units(texts)
    items = [_read_item(part) for part in texts]
    for i in range(1, len(items)):  # 2025年元旦、春节期间: the year goes on to the next items
        before, item = items[i - 1], items[i]
        if isinstance(before, _Item) and isinstance(item, _Item) \
                and split_year(texts[i], text)[1] == texts[i]:  # no year written on it
            items[i] = replace(item, anchor=item.anchor.with_year(before.anchor.year))
    last = items[-1]
    bare = all(isinstance(item, _Item) and item.modifier is None for item in items[:-1])
    if len(items) > 1 and isinstance(last, _Item) and last.modifier and bare:
        items = [replace(item, modifier=last.modifier, groups=last.groups)  # type: ignore[arg-type]
                 for item in items[:-1]] + [last]
    return items


_BORROW_UNIT = re.compile(r"\d+(月份?|日)")
_BORROW_MONTH = re.compile(r"(\d{4}年)?\d+月")


def _borrow_units(texts: list[str]) -> list[str]:
    """4、5月 → 4月、5月; 5月1日、7日 → 5月1日、5月7日; 第一、二季度 → 第1季度、2季度."""
    if len(texts) == 1:
        return texts
    out = list(texts)
    for i in range(len(out) - 2, -1, -1):
        if out[i].removeprefix("第").isdigit() and re.match(r"第?\d+季度", out[i + 1]):
            out[i] += "季度"  # 第一、二、三、四季度 → 第1季度、2季度 …
        elif out[i].isdigit():
            m = _BORROW_UNIT.match(out[i + 1])
            if m:
                out[i] += m.group(1)
    for i in range(1, len(out)):
        if re.fullmatch(r"\d+日.*", out[i]):
            m = _BORROW_MONTH.match(out[i - 1])
            if m:
                out[i] = m.group(0) + out[i]
    return out


def _read_item(text: str) -> _Item | _Range:
    item = _read_single(text)
    if item is not None:
        return item
    m = _RANGE.search(text)
    if m and m.start() > 0 and m.end() < len(text):
        return _read_range(text[: m.start()], text[m.end():], text)
    raise _not_understood(text)


def _read_range(left_text: str, right_text: str, whole: str) -> _Range:
    if left_text.isdigit():  # 4-11月: the start borrows the end's unit
        m = _BORROW_UNIT.match(right_text)
        if m:
            left_text += m.group(1)
    right_year, _ = split_year(right_text, whole)
    right_has_year = right_year != IMPLIED
    left = _read_single(left_text)
    if left is None:
        raise _not_understood(left_text, whole)
    left_anchor = left.anchor
    if isinstance(left_anchor, DayAnchor) and re.fullmatch(r"\d{1,2}日.*", right_text):
        right_text = f"{left_anchor.month}月{right_text}"  # 5月1日至7日
    right = _read_single(right_text)
    if right is None:
        raise _not_understood(right_text, whole)
    if not right_has_year:
        right = replace(right, anchor=right.anchor.with_year(left_anchor.year))
    if left.modifier is not None and not left.modifier.deadline:
        raise ExpressionError(whole, f"a range cannot start with “{left_text}”")
    return _Range(left, right, right_has_year, right.part_of_day or left.part_of_day)


def _read_single(text: str) -> _Item | None:
    """One item without list or range: [于]ANCHOR[clock][MODIFIER][clock][verb]."""
    if "(" in text:
        text = _GLOSS.sub("", text).translate(_NO_PARENS)
    m = _SINGLE.fullmatch(text)
    if m is None:
        return None
    modifier, groups = modifier_of(m)
    if m["byend"] or (m["verb"] and modifier is None):
        modifier = BY_END  # 截至2020年底, 4月完成: by X's end
    anchor = _read_anchor(m["body"], modifier is not None)
    if anchor is None:
        return None
    clock = read_clock(m["clock1"] or m["clock2"] or "", text)
    return _Item(anchor, modifier, clock, tuple(sorted(groups.items())))


_EVENT_WITHOUT_DATE = re.compile(r"\d+月|\d+日")
# An event is named in words: 开学前, 会后; "17:30之前" has no event in it, only a clock.
_EVENT_NAME = re.compile(r"[\u4e00-\u9fff]{2}")
# A time of day with no day to hang it on: 上午9点, 17:30之前, 中午12:00前.
_CLOCK_ONLY = re.compile(rf"(?:{CLOCK_SOURCE})(?:之?前|以前|之后|以后|后|左右|开始|止|为止)?")


def _read_anchor(text: str, has_modifier: bool) -> Anchor | None:
    year, rest = split_year(text, text)
    if not rest and year == IMPLIED:
        return None
    anchor = read_anchor(rest, year, text)
    if anchor is not None:
        return anchor
    if has_modifier and not _EVENT_WITHOUT_DATE.search(text) and _EVENT_NAME.search(text) \
            and not _CLOCK_ONLY.fullmatch(text):
        return EventAnchor(text)
    return None


def _not_understood(part: str, whole: str | None = None) -> ExpressionError:
    whole = whole or part
    if _CLOCK_ONLY.fullmatch(part):
        return ExpressionError(whole, "is a time of day with no day: it says when in the day, not which day",
                               "write the day with it, e.g. 6月30日17:30前, 每周五上午9点")
    if not _TIME_CHARS.search(part):
        quoted = "" if part == whole else f"“{part}” "
        return ExpressionError(
            whole,
            f"{quoted}is not a time: no date, month, period, holiday or recurrence in it",
            "write when it happens, e.g. 4月底前, “七一”前夕, 每季度末",
        )
    for end in range(len(part) - 1, 0, -1):
        try:
            read = _read_single(part[:end])
        except ExpressionError:
            read = None
        if read is not None:
            return ExpressionError(
                whole,
                f"understood “{part[:end]}” but not “{part[end:]}” after it",
                "keep only the time in the expression (actions go in the title)",
            )
    return ExpressionError(whole, f"“{part}” is not a time expression Jiedian knows",
                           "see the forms in DESIGN.md (dates, months, 上旬, 季度, 七一, 每月 …)")
