"""Read the store: upcoming nodes, plans, units. Pure reads; ``today`` comes in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlmodel import Session

from plans import KIND_ZH, ChinaCalendar, countdown_zh, day_zh, units_zh, weekday_zh
from scheduler._directory import UnknownUnitError, find_unit, unit_keys
from scheduler._models import (
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    REMINDER,
    DeliveryRow,
    PlanYearRow,
)

__all__ = ["DeliveryView", "PlanSummary", "ReminderView", "Upcoming", "list_deliveries", "list_reminders",
           "plan_summaries", "upcoming"]



SHANGHAI = ZoneInfo("Asia/Shanghai")

@dataclass(frozen=True)
class Upcoming:
    """A node ahead, with what a secretary wants to know about it."""

    occurrence_id: str
    plan_id: str
    title: str
    kind: str
    start: date
    end: date
    due: date
    part_of_day: str | None
    days_left: int
    working_days_left: int  # working days after today up to and including the due date
    lead: tuple[str, ...]
    units: tuple[str, ...]

    COLUMNS: ClassVar = ["截止 due", "剩余 left", "节点", "类型", "牵头 / 责任单位", "计划"]

    def row(self) -> list[str]:
        """The node as an ``upcoming`` / ``plan show ID`` table row (``COLUMNS``)."""
        return [day_zh(self.due), countdown_zh(self.days_left, self.working_days_left), self.title,
                KIND_ZH[self.kind], units_zh(self.lead, self.units), self.plan_id]


def _working_days_prefix(calendar: ChinaCalendar, today: date, last: date) -> dict[date, int]:
    counts, total, day = {}, 0, today
    while day <= last:
        counts[day] = total
        day += timedelta(days=1)
        total += calendar.is_working_day(day) if day <= last else 0
    return counts


def upcoming(
    session: Session,
    calendar: ChinaCalendar,
    *,
    today: date,
    days: int = 30,
    unit: str | None = None,
    plan: str | None = None,
    year: int | None = None,
    since: date | None = None,
) -> list[Upcoming]:
    """Active nodes due (or starting) from ``since`` (default: ``today``) to ``days`` after
    ``today``, soonest due first (of one plan, and of one of its stored years, when asked);
    days left are counted from ``today`` (negative for a node already due)."""
    first = since or today
    horizon = today + timedelta(days=days)
    query = select(_OCC).where(
        _OCC.c.status == "active",
        or_(_OCC.c.due.between(first, horizon), _OCC.c.start.between(first, horizon)),
        _OCC.c.due >= first,
    )
    if plan:
        query = query.where(_OCC.c.plan_id == plan)
    if year is not None:
        query = query.where(_OCC.c.plan_year == year)
    if unit:
        keys = unit_keys(session, unit)
        query = query.where(_OCC.c.id.in_(select(_OU.c.occurrence_id).where(
            _OU.c.name_key.in_(keys))))
    rows = session.execute(query.order_by(_OCC.c.due, _OCC.c.start, _OCC.c.id)).all()
    names: dict[str, dict[str, list[str]]] = {}
    for chunk in range(0, len(rows), 500):
        ids = [row.id for row in rows[chunk:chunk + 500]]
        for oid, role, name in session.execute(
            select(_OU.c.occurrence_id, _OU.c.role, _OU.c.name).where(_OU.c.occurrence_id.in_(ids))
        ):
            names.setdefault(oid, {}).setdefault(role, []).append(name)
    last_due = max((row.due for row in rows), default=today)
    working = _working_days_prefix(calendar, today, last_due)
    return [
        Upcoming(
            row.id, row.plan_id, row.title, row.kind, row.start, row.end, row.due, row.part_of_day,
            (row.due - today).days, working.get(row.due, 0),
            tuple(sorted(names.get(row.id, {}).get("lead", []))),
            tuple(sorted(names.get(row.id, {}).get("unit", []))),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class PlanSummary:
    id: str
    title: str
    year: int
    applied_year: int
    status: str
    milestones: int
    active: int
    cancelled: int
    next_due: date | None

    COLUMNS: ClassVar = ["id", "标题 title", "年份 year", "节点 nodes", "下一个截止 next due", "状态"]

    def row(self) -> list[str]:
        """The summary as a ``plan list`` table row."""
        year = str(self.year) if self.year == self.applied_year else f"{self.year} → {self.applied_year}"
        nodes = f"{self.active}" + (f" (+{self.cancelled} cancelled)" if self.cancelled else "")
        return [self.id, self.title, year, nodes, day_zh(self.next_due) if self.next_due else "—", self.status]


def plan_summaries(session: Session, *, today: date) -> list[PlanSummary]:
    """Every stored plan and year (``applied_year``) with its counts and next due date."""
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for plan_id, year, status, count in session.execute(
        select(_OCC.c.plan_id, _OCC.c.plan_year, _OCC.c.status, func.count())
        .group_by(_OCC.c.plan_id, _OCC.c.plan_year, _OCC.c.status)
    ):
        counts.setdefault((plan_id, year), {})[status] = count
    next_due = {(plan_id, year): day for plan_id, year, day in session.execute(
        select(_OCC.c.plan_id, _OCC.c.plan_year, func.min(_OCC.c.due))
        .where(_OCC.c.status == "active", _OCC.c.due >= today)
        .group_by(_OCC.c.plan_id, _OCC.c.plan_year)
    )}
    years = session.execute(select(PlanYearRow).order_by(PlanYearRow.plan_id, PlanYearRow.year)  # type: ignore[arg-type]
                            ).scalars().all()
    return [
        PlanSummary(p.plan_id, p.title, p.base_year, p.year, p.status,
                    len(p.document.get("milestones", [])),
                    counts.get((p.plan_id, p.year), {}).get("active", 0),
                    counts.get((p.plan_id, p.year), {}).get("cancelled", 0),
                    next_due.get((p.plan_id, p.year)))
        for p in years
    ]


@dataclass(frozen=True)
class ReminderView:
    id: int
    fire_at: datetime
    status: str
    late: bool
    attempts: int
    unit: str
    channel_id: str
    offset: str
    title: str
    due: date
    plan_id: str
    last_code: str | None
    last_message: str | None
    kind: str = "reminder"  # or escalation (督办)

    COLUMNS: ClassVar = ["时间 fire at", "节点", "截止 due", "单位 unit", "渠道", "提前", "状态", "answer"]

    def row(self) -> list[str]:
        """The reminder as a ``reminders`` table row (times in Beijing time)."""
        at = self.fire_at.astimezone(SHANGHAI)
        status = self.status + (" 补发" if self.late else "") + (f" ×{self.attempts}" if self.attempts > 1 else "")
        return [f"{at:%Y-%m-%d %H:%M} {weekday_zh(at)}", self.title, f"{self.due}", self.unit, self.channel_id,
                ("督办 " if self.kind == "escalation" else "") + self.offset, status,
                " ".join(filter(None, [self.last_code, self.last_message]))]


def list_reminders(session: Session, *, which: str = "upcoming", unit: str | None = None,
                   now: datetime, limit: int = 200) -> list[ReminderView]:
    """Reminders to come (upcoming), that failed or were missed (failed), or sent late (late)."""
    r, o = REMINDER, _OCC
    query = select(r, o.c.title, o.c.due, o.c.plan_id).join(o, o.c.id == r.c.occurrence_id)
    if which == "upcoming":
        query = query.where(r.c.status.in_(["pending", "claimed"])).order_by(r.c.fire_at)
    elif which == "failed":
        query = query.where(r.c.status.in_(["failed", "missed"])).order_by(r.c.updated_at.desc())
    elif which == "late":
        query = query.where(r.c.late.is_(True)).order_by(r.c.sent_at.desc())
    else:
        raise ValueError(which)
    if unit:
        row = find_unit(session, unit)
        if row is None:
            raise UnknownUnitError(unit, [])
        query = query.where(r.c.unit_id == row.id)
    return [
        ReminderView(x.id, _aware(x.fire_at), x.status, x.late, x.attempts, x.unit_name,
                     x.channel_id, x.offset, x.title, x.due, x.plan_id, x.last_code,
                     x.last_message, x.kind)
        for x in session.execute(query.limit(limit))
    ]


@dataclass(frozen=True)
class DeliveryView:
    attempted_at: datetime
    unit: str
    channel_id: str
    outcome: str
    code: str | None
    message: str | None
    latency_ms: float
    reminders: int
    batch_key: str
    worker: str

    COLUMNS: ClassVar = ["时间", "单位 unit", "渠道", "结果", "provider answer", "ms", "提醒数", "key"]

    def row(self) -> list[str]:
        """The attempt as a ``deliveries`` table row (times in Beijing time)."""
        return [f"{self.attempted_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}", self.unit, self.channel_id,
                self.outcome, " ".join(filter(None, [self.code, self.message])), f"{self.latency_ms:.0f}",
                str(self.reminders), self.batch_key]


def list_deliveries(session: Session, *, since: datetime, unit: str | None = None,
                    limit: int = 500) -> list[DeliveryView]:
    """Every attempt to send since ``since``, newest first."""
    query = select(DeliveryRow).where(DeliveryRow.attempted_at >= since)  # type: ignore[arg-type]
    if unit:
        row = find_unit(session, unit)
        if row is None:
            raise UnknownUnitError(unit, [])
        query = query.where(DeliveryRow.unit_id == row.id)  # type: ignore[arg-type]
    rows = session.execute(query.order_by(DeliveryRow.attempted_at.desc()).limit(limit)).scalars()  # type: ignore[attr-defined]
    return [DeliveryView(_aware(d.attempted_at), d.unit_name, d.channel_id, d.outcome, d.code,
                         d.message, d.latency_ms, len(d.reminder_ids), d.batch_key, d.worker)
            for d in rows]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
