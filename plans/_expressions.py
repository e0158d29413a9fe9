"""Chinese time expressions: read them into rules, expand rules into dates.

``parse(text)`` returns a :class:`Rule`; ``rule.expand(year, calendar)``
returns its occurrences in that year. DESIGN.md's table is the contract;
these are the rules where it is silent, as a party-building office means them:

- A list (、 和 及 与 或) gives one occurrence per item. A bare number borrows
  the unit of the next item (4、5月 = 4月、5月); a bare day borrows the month of
  the one before (5月1日、7日). When only the last item has 前/前夕/后/前后/期间,
  it applies to every item (元旦、春节前夕 = 元旦前夕、春节前夕).
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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from plans._anchors import IMPLIED, Context, DayAnchor, EventAnchor, Span, with_year
from plans._errors import ExpressionError
from plans._forms import read_anchor, read_recurring, split_year
from plans._text import normalize

if TYPE_CHECKING:
    from plans._calendar import ChinaCalendar

__all__ = ["Occurrence", "Rule", "parse"]

DAY = timedelta(days=1)

# One item: [于]ANCHOR[前|前夕|后|前后|期间][上午][左右]. The body is lazy, so the
# suffixes are taken from the end; alternatives are longest first (前夕 before 前).
_SINGLE = re.compile(
    r"(?:最迟于|最迟在|最迟|不迟于|于|在|从|自|截至)?"
    r"(?P<body>.+?)"
    r"(?P<mod>以前|之前|前夕|前后|期间|以后|之后|前|后)?"
    r"(?P<pod>上午|下午|晚上|全天)?"
    r"(?:左右|开始|起|为止|止)?"
)
_MODIFIERS = {"以前": "deadline", "之前": "deadline", "前": "deadline", "前夕": "eve",
              "前后": "around", "期间": "during", "以后": "after", "之后": "after", "后": "after"}
_NO_PARENS = str.maketrans("", "", "()")
_LIST = re.compile(r"以及|、|和|及|与|或")
_RANGE = re.compile(r"至|到|-")
_TIME_CHARS = re.compile(r"\d|年|月|日|周|季|旬|节|每|前|后|夕")


@dataclass(frozen=True)
class Occurrence:
    """One nominal occurrence: inclusive dates and, if said, the part of the day."""

    start: date
    end: date
    part_of_day: str | None = None


@dataclass(frozen=True)
class _Item:
    """One element of a list: an anchor, an optional modifier, a part of the day."""

    anchor: object
    modifier: str | None = None
    part_of_day: str | None = None

    @property
    def single_day(self) -> bool:
        if self.modifier in ("deadline", "eve"):
            return True
        if self.modifier in ("after", "around", "during"):
            return False
        return bool(getattr(self.anchor, "single_day", False))

    def spans(self, ctx: Context) -> list[Span]:
        spans = self.anchor.spans(ctx)  # type: ignore[attr-defined]
        if self.modifier is None:
            return spans
        return [self._modify(span, ctx) for span in spans]

    def _modify(self, span: Span, ctx: Context) -> Span:
        if self.modifier == "deadline":
            anchor = self.anchor
            if getattr(anchor, "point", False) or getattr(anchor, "end_marker", False):
                return Span(span.end, span.end)
            return Span(span.start - DAY, span.start - DAY)
        if self.modifier == "eve":
            return Span(span.start - DAY, span.start - DAY)
        if self.modifier == "around":
            return Span(span.start - DAY * 7, span.end + DAY * 7)
        if self.modifier == "after":
            end = date(span.end.year, 12, 31)
            if span.end >= end:
                raise ExpressionError("", f"nothing is left of {span.end.year} after {span.end}")
            return Span(span.end + DAY, end)
        # during: the holiday's run of rest days, if X is a statutory holiday
        ctx.warn_uncovered(span.start.year)
        run = ctx.calendar.holiday_run(span.start)
        return Span(*run) if run else span


@dataclass(frozen=True)
class _Range:
    """From the start of one item to the end of another."""

    left: _Item
    right: _Item
    right_has_year: bool
    part_of_day: str | None = None
    modifier = None

    single_day = False

    def spans(self, ctx: Context) -> list[Span]:
        left, right = self.left.spans(ctx), self.right.spans(ctx)
        if len(left) != 1 or len(right) != 1:
            raise ExpressionError("", "a range needs one start and one end, not a repeating duty")
        start, end = left[0].start, right[0].end
        if end < start and not self.right_has_year:
            later = replace(ctx, year=ctx.year + 1, warnings=ctx.warnings)
            if getattr(self.right.anchor, "year", IMPLIED) != IMPLIED:
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
        """deadline when every item has 前; else event for one day, phase for more."""
        if all(getattr(item, "modifier", None) == "deadline" for item in self.items):
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
        if warnings is not None:
            warnings.extend(w for w in ctx.warnings if w not in warnings)
        return sorted(found, key=lambda o: (o.start, o.end))


def parse(text: str) -> Rule:
    """Read a time expression.

    >>> parse("“七一”前夕").kind
    'event'
    >>> parse("4月底前").kind
    'deadline'
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(str(text or ""), "is empty", "write a date, month, period or holiday")
    normalized = normalize(text)
    try:
        items = _read_list(normalized)
    except ExpressionError as error:
        raise error.for_expression(text) from None
    return Rule(text, normalized, tuple(items))


def _read_list(text: str) -> list[_Item | _Range]:
    if not _LIST.search(text):
        return [_read_item(text)]
    texts = _LIST.split(text)
    if any(not part for part in texts):
        raise ExpressionError(text, "has an empty item in its list")
    texts = _borrow_units(texts)
    items = [_read_item(part) for part in texts]
    last = items[-1]
    bare = all(isinstance(item, _Item) and item.modifier is None for item in items[:-1])
    if len(items) > 1 and isinstance(last, _Item) and last.modifier and bare:
        items = [replace(item, modifier=last.modifier) for item in items[:-1]] + [last]
    return items


def _borrow_units(texts: list[str]) -> list[str]:
    """4、5月 → 4月、5月; 5月1日、7日 → 5月1日、5月7日."""
    if len(texts) == 1:
        return texts
    out = list(texts)
    for i in range(len(out) - 2, -1, -1):
        if out[i].isdigit():
            m = re.match(r"\d+(月份?|日)", out[i + 1])
            if m:
                out[i] += m.group(1)
    for i in range(1, len(out)):
        if re.fullmatch(r"\d+日.*", out[i]):
            m = re.match(r"(\d{4}年)?\d+月", out[i - 1])
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
        m = re.match(r"\d+(月份?|日)", right_text)
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
        right = replace(right, anchor=with_year(right.anchor, getattr(left_anchor, "year", IMPLIED)))
    if left.modifier and left.modifier != "deadline":
        raise ExpressionError(whole, f"a range cannot start with “{left_text}”")
    return _Range(left, right, right_has_year, right.part_of_day or left.part_of_day)


def _read_single(text: str) -> _Item | None:
    """One item without list or range: [于]ANCHOR[前|前夕|后|前后|期间][上午]."""
    m = _SINGLE.fullmatch(text.translate(_NO_PARENS) if "(" in text else text)
    if m is None:
        return None
    modifier = _MODIFIERS[m["mod"]] if m["mod"] else None
    anchor = _read_anchor(m["body"], modifier is not None)
    if anchor is None:
        return None
    return _Item(anchor, modifier, m["pod"])


def _read_anchor(text: str, has_modifier: bool) -> object | None:
    year, rest = split_year(text, text)
    if rest.startswith("每"):
        rest = rest[1:]
        rest = rest.removeprefix("一")
        return read_recurring(rest, year, text)
    if not rest and year == IMPLIED:
        return None
    if rest in ("月底", "月末", "月初", "月中", "季度末", "季度底", "季度初"):
        return read_recurring(rest, year, text)  # 月底前报送: every month (module docstring)
    anchor = read_anchor(rest, year, text)
    if anchor is not None:
        return anchor
    if has_modifier and not re.search(r"\d+月|\d+日", text):
        return EventAnchor(text)
    return None


def _not_understood(part: str, whole: str | None = None) -> ExpressionError:
    whole = whole or part
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
