"""The plan file: what an office writes by hand (field names fixed by DESIGN.md).

Validation is in two layers: pydantic checks shapes and values here; the
loader (``_loader``) maps its errors to ``file:line`` and then reads every
``when`` with the expression engine.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from plans._calendar import ChinaCalendar

__all__ = ["Kind", "Milestone", "Offset", "Plan", "WorkdayPolicy", "parse_offset"]

Kind = Literal["deadline", "event", "phase"]
WorkdayPolicy = Literal["previous", "next", "none"]

_OFFSET = re.compile(r"([+-]?)(\d{1,3})(wd|d)(?:\s+(\d{1,2}):(\d{2}))?")


class Offset(BaseModel):
    """A reminder offset: ``-7d 09:00``, ``-1wd``, ``0d 09:00``, ``+1d 14:30``."""

    model_config = ConfigDict(frozen=True)

    days: int  # negative: before the node
    working: bool  # counted in working days (wd) rather than calendar days (d)
    at: time = time(9, 0)
    text: str = ""

    def __str__(self) -> str:
        return self.text

    def day_from(self, base: date, calendar: ChinaCalendar) -> date:
        """The day this offset names from ``base``: calendar days, or working days (调休 counted)."""
        if self.working:
            return calendar.shift_working_days(base, self.days)
        return base + timedelta(days=self.days)


def parse_offset(text: str) -> Offset:
    """Read ``-7d 09:00`` style offsets; raise ValueError saying what is expected."""
    m = _OFFSET.fullmatch(str(text).strip())
    hours = int(m[4]) if m and m[4] else 9
    minutes = int(m[5]) if m and m[5] else 0
    if not m or hours > 23 or minutes > 59:
        raise ValueError(
            f"“{text}” is not a reminder offset; write e.g. -7d 09:00 (7 days before), "
            f"-1wd 09:00 (1 working day before), 0d (the day itself)"
        )
    days = int(m[2]) * (-1 if m[1] == "-" else 1)
    return Offset(days=days, working=m[3] == "wd", at=time(hours, minutes), text=str(text).strip())


def _as_list(value: object) -> object:
    # A single unit written as a string is a list of one; a list stays a list.
    return [value] if isinstance(value, str) else value


def _offsets(value: object) -> list[object]:
    """``remind:`` as written: one offset or a list; a bare number (remind: 7) is read as the
    text it is, so it gets the offset message instead of a type error."""
    items = value if isinstance(value, list) else [value]
    return [x if isinstance(x, Offset) else parse_offset(str(x)) for x in items]


UnitNames = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]
Offsets = Annotated[list[Offset], BeforeValidator(_offsets)]
Slug = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=120)]


class Milestone(BaseModel):
    """One time node of a plan."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Slug
    title: str = Field(min_length=1)
    when: str = Field(min_length=1)
    kind: Kind | None = None
    lead: UnitNames = []  # 牵头单位
    units: UnitNames = []  # 责任单位
    workdays: WorkdayPolicy | None = None
    remind: Offsets | None = None
    source: str | None = None
    note: str | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _when_is_text(cls, value: object) -> object:
        # YAML reads an unquoted 2011-10-01 as a date; accept it as the expression it is.
        return value.isoformat() if isinstance(value, date) else value


class Plan(BaseModel):
    """A plan file: metadata, named events and milestones."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    id: Slug
    title: str = Field(min_length=1)
    issuer: str | None = None
    issued: date | None = None
    year: int = Field(ge=1900, le=2100)
    # A campaign that outlasts its base year (自2010年8月开始，至党的十八大召开): time
    # expressions, read in the base year like `when`. With either one, every milestone
    # applies in each year from `from` to `until` (每月 is every month of the campaign,
    # 春节 every 春节 in it) and only nodes starting inside that span are kept. Without
    # them a plan covers its base year, as DESIGN.md says.
    starts: str | None = Field(default=None, alias="from")
    until: str | None = None
    timezone: str = "Asia/Shanghai"
    events: dict[str, date] = {}
    remind: Offsets | None = None
    milestones: list[Milestone] = []

    @field_validator("starts", "until", mode="before")
    @classmethod
    def _span_is_text(cls, value: object) -> object:
        return value.isoformat() if isinstance(value, date) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # timezone: Asia is a folder
            raise ValueError(f"unknown time zone “{value}”; write e.g. Asia/Shanghai") from None
        return value
