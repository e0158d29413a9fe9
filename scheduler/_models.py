"""The stored tables. Schema changes go through migrations/ (Alembic), never create_all.

Occurrence ids are ``plan/milestone/start`` (the nominal start date): the same
node keeps its id across re-imports, so feeds keep their UIDs and reminders
stay attached. Unit names in plans are stored as written and as a ``name_key``
(Simplified, ASCII punctuation, no spaces) for matching against the directory.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Table, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from plans import Offset, parse_offset

__all__ = [
    "AcknowledgementRow",
    "ChannelRow",
    "DeliveryRow",
    "MilestoneRow",
    "OccurrenceRow",
    "OccurrenceUnitRow",
    "PersonRow",
    "PlanRow",
    "PlanYearRow",
    "RateSendRow",
    "ReminderRow",
    "StoreStateRow",
    "UnitAliasRow",
    "UnitMembershipRow",
    "UnitRow",
]


class PlanRow(SQLModel, table=True):
    """A plan's identity and its latest added version (its title in lists, feeds and pages);
    each year it is stored for is a PlanYearRow."""

    __tablename__ = "plan"

    id: str = Field(primary_key=True, max_length=120)
    title: str
    issuer: str | None = None
    issued: date | None = None
    year: int  # the plan file's base year
    applied_year: int  # the year of the latest version added (plan add --year)
    timezone: str = "Asia/Shanghai"
    source_path: str | None = None
    content_hash: str  # of the plan file's text and the applied year
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the plan as loaded
    status: str = Field(default="active", max_length=16)  # active | removed
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None = None


class PlanYearRow(SQLModel, table=True):
    """One year a plan is stored for (DESIGN.md, "Plans across years"): adding the plan for
    another year writes another row and leaves this one, and its nodes, alone."""

    __tablename__ = "plan_year"

    plan_id: str = Field(primary_key=True, foreign_key="plan.id", max_length=120)
    year: int = Field(primary_key=True)  # the year it is applied to
    title: str
    issuer: str | None = None
    base_year: int  # the plan file's own year
    source_path: str | None = None
    content_hash: str  # of the plan file's content and this year
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the plan as loaded
    status: str = Field(default="active", max_length=16)  # active | removed
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None = None


class Offsets(TypeDecorator[list[Offset]]):
    """A milestone's reminder offsets: stored as their text (``["-3d 09:00"]``, readable in the
    database and unchanged since migration 0001), read back as Offsets, so the outbox and the
    feeds never parse them again."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> list[str] | None:
        return None if value is None else [str(offset) for offset in value]

    def process_result_value(self, value: Any, dialect: Any) -> list[Offset] | None:
        return None if value is None else [parse_offset(text) for text in value]


class MilestoneRow(SQLModel, table=True):
    __tablename__ = "milestone"

    plan_id: str = Field(primary_key=True, foreign_key="plan.id", max_length=120)
    year: int = Field(primary_key=True)  # the stored year (PlanYearRow) it belongs to
    key: str = Field(primary_key=True, max_length=120)
    position: int
    title: str
    when: str
    kind: str = Field(max_length=16)
    workdays: str = Field(max_length=16)
    remind: list[Offset] = Field(sa_column=Column(Offsets, nullable=False))
    source: str | None = None


class OccurrenceRow(SQLModel, table=True):
    __tablename__ = "occurrence"
    __table_args__ = (
        Index("ix_occurrence_due_status", "due", "status"),
        Index("ix_occurrence_plan", "plan_id", "milestone_key"),
        Index("ix_occurrence_plan_year", "plan_id", "plan_year"),
    )

    id: str = Field(primary_key=True, max_length=300)
    plan_id: str = Field(foreign_key="plan.id", max_length=120)
    plan_year: int  # the stored year of the plan it comes from
    milestone_key: str = Field(max_length=120)
    title: str
    kind: str = Field(max_length=16)
    start: date
    end: date
    due: date
    part_of_day: str | None = Field(default=None, max_length=16)
    source: str | None = None
    fingerprint: str = Field(max_length=64)  # what the feeds and reminders depend on
    sequence: int = 0  # iCalendar SEQUENCE: bumped on every change
    status: str = Field(default="active", max_length=16)  # active | cancelled
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    # The VEVENT as feeds serve it, rendered whenever the row changes (so a feed of
    # thousands of events is a concatenation): without END:VEVENT, and its VALARMs apart.
    ical_event: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ical_alarms: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ical_version: int = 0  # scheduler._feeds.RENDER_VERSION when rendered


class OccurrenceUnitRow(SQLModel, table=True):
    __tablename__ = "occurrence_unit"
    __table_args__ = (Index("ix_occurrence_unit_key", "name_key"),)

    occurrence_id: str = Field(primary_key=True, foreign_key="occurrence.id", max_length=300)
    role: str = Field(primary_key=True, max_length=8)  # lead | unit
    name: str = Field(primary_key=True, max_length=200)
    name_key: str = Field(max_length=200)


class UnitRow(SQLModel, table=True):
    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(unique=True, max_length=200)
    is_group: bool = False
    feed_token: str = Field(unique=True, max_length=64)  # the unguessable part of its feed URL
    # the secret of its 办结确认 links: reading a unit's calendar is not confirming for it
    ack_token: str = Field(unique=True, max_length=64)
    created_at: datetime
    updated_at: datetime


class UnitAliasRow(SQLModel, table=True):
    __tablename__ = "unit_alias"

    name_key: str = Field(primary_key=True, max_length=200)
    alias: str = Field(max_length=200)
    unit_id: int = Field(foreign_key="unit.id")


class UnitMembershipRow(SQLModel, table=True):
    __tablename__ = "unit_membership"

    unit_id: int = Field(primary_key=True, foreign_key="unit.id")
    group_id: int = Field(primary_key=True, foreign_key="unit.id")


class PersonRow(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("unit_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    position: int
    name: str
    mobile: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    dingtalk_userid: str | None = Field(default=None, max_length=64)
    wecom_userid: str | None = Field(default=None, max_length=64)


class ChannelRow(SQLModel, table=True):
    __tablename__ = "channel"

    id: str = Field(primary_key=True, max_length=120)
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=32)
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # names of secrets only
    enabled: bool = True


class ReminderRow(SQLModel, table=True):
    """The outbox: one row per (occurrence, unit, channel, kind, offset), sent at most once."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "unit_id", "channel_id", "kind", "offset",
                         name="uq_reminder_key"),
        Index("ix_reminder_due", "status", "fire_at"),
        Index("ix_reminder_node", "status", "node_at"),
        Index("ix_reminder_occurrence", "occurrence_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: str = Field(foreign_key="occurrence.id", max_length=300)
    # No foreign key to unit: a unit dropped from the directory keeps its history here.
    unit_id: int
    unit_name: str = Field(max_length=200)
    channel_id: str = Field(max_length=120)
    # reminder: before the node, to its units; escalation: the 督办 to its 牵头单位 (supervision)
    kind: str = Field(default="reminder", max_length=16)
    offset: str = Field(max_length=32)  # as written: -7d 09:00
    fire_at: datetime  # when to send, after quiet hours and rest days (UTC)
    node_at: datetime  # the node itself: a reminder is never sent after it (UTC)
    # pending | claimed | sent | failed | missed | cancelled | done (the unit confirmed)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None  # retry after a transient failure
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    batch_key: str | None = Field(default=None, max_length=64)  # the idempotency key once claimed
    late: bool = False  # sent after its time (补发)
    sent_at: datetime | None = None
    last_code: str | None = Field(default=None, max_length=64)
    last_message: str | None = None
    created_at: datetime
    updated_at: datetime


class DeliveryRow(SQLModel, table=True):
    """Every attempt to send, with the provider's answer and its latency."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_at", "attempted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_key: str = Field(max_length=64)  # the idempotency key the receiver saw
    channel_id: str = Field(max_length=120)
    unit_id: int
    unit_name: str = Field(max_length=200)
    reminder_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    attempted_at: datetime
    outcome: str = Field(max_length=16)  # delivered | transient | permanent
    code: str | None = Field(default=None, max_length=64)
    message: str | None = None
    latency_ms: float = 0.0
    worker: str = Field(max_length=64)


class AcknowledgementRow(SQLModel, table=True):
    """A unit's confirmation that it has done a node (办结确认): once per (node, unit)."""

    __tablename__ = "acknowledgement"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "unit_id", name="uq_acknowledgement"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: str = Field(foreign_key="occurrence.id", max_length=300)
    # No foreign key to unit: a unit dropped from the directory keeps its history here.
    unit_id: int
    unit_name: str = Field(max_length=200)
    done_at: datetime
    source: str = Field(max_length=8)  # web | cli
    note: str | None = None


class RateSendRow(SQLModel, table=True):
    """One send to a rate-limited destination (a robot's URL), shared by every daemon on
    the database; see scheduler/_limits.py."""

    __tablename__ = "rate_send"
    __table_args__ = (Index("ix_rate_send_destination", "destination", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    destination: str = Field(max_length=64)
    sent_at: float  # Unix seconds


class StoreStateRow(SQLModel, table=True):
    """One row: a generation number bumped by every write that a feed can show.

    The feed server keeps each feed's validators until the generation moves, so a
    304 costs one primary-key read instead of an aggregate over the feed's rows.
    """

    __tablename__ = "store_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = 0


# Typed handles on the tables for Core queries, in one place (SQLModel leaves ``__table__``
# untyped): modules import these instead of each reaching into ``Row.__table__``.
def _table(row: type[SQLModel]) -> Table:
    return row.__table__  # type: ignore[attr-defined]


OCCURRENCE = _table(OccurrenceRow)
OCCURRENCE_UNIT = _table(OccurrenceUnitRow)
REMINDER = _table(ReminderRow)
ACKNOWLEDGEMENT = _table(AcknowledgementRow)
UNIT = _table(UnitRow)
CHANNEL = _table(ChannelRow)
PERSON = _table(PersonRow)
DELIVERY = _table(DeliveryRow)
RATE_SEND = _table(RateSendRow)
