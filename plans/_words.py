"""How a date, a span and a node's kind are written in Chinese: one wording for the CLI,
the pages, the feeds, the messages and the plan interview."""

from __future__ import annotations

from datetime import date

__all__ = ["KIND_ZH", "WEEKDAYS", "countdown_zh", "day_zh", "month_day_zh", "span_zh", "units_zh",
           "weekday_zh"]

WEEKDAYS = "一二三四五六日"
KIND_ZH = {"deadline": "截止", "event": "活动", "phase": "阶段"}


def weekday_zh(day: date) -> str:
    """周一 … 周日."""
    return "周" + WEEKDAYS[day.weekday()]


def day_zh(day: date) -> str:
    """2011-04-30 周六."""
    return f"{day.isoformat()} {weekday_zh(day)}"


def span_zh(start: date, end: date, part_of_day: str | None = None) -> str:
    """One day, or ``start – end``, with the part of the day (上午) when there is one."""
    text = day_zh(start) if start == end else f"{day_zh(start)} – {day_zh(end)}"
    return f"{text} {part_of_day}" if part_of_day else text


def units_zh(lead: tuple[str, ...] | list[str], units: tuple[str, ...] | list[str]) -> str:
    """牵头单位 / 责任单位, each list joined with 、 (either may be empty)."""
    return " / ".join(filter(None, ["、".join(lead), "、".join(units)]))


def month_day_zh(day: date) -> str:
    """4月30日（周六）, as messages and feed descriptions write a date."""
    return f"{day.month}月{day.day}日（{weekday_zh(day)}）"


def countdown_zh(days_left: int, working_days_left: int | None = None) -> str:
    """已过3天 / 今天截止 / 明天截止 / 还有5天 (3个工作日), for a deadline ``days_left`` away."""
    if days_left < 0:
        return f"已过{-days_left}天"
    if days_left in (0, 1):
        return ("今天截止", "明天截止")[days_left]
    working = f" ({working_days_left}个工作日)" if working_days_left is not None else ""
    return f"还有{days_left}天{working}"
