"""Supervision (督办): units confirm what they have done; the lead unit sees who has not.

- Who is responsible for a node: the units its 责任单位 names reach (a group reaches its
  member units, not itself); a node with no 责任单位 in the directory falls back to its
  牵头单位. Names the directory does not know cannot confirm and are not counted.
- ``acknowledge`` records a unit's 办结确认 once (time, source ``web``/``cli``, note):
  any unit the node is addressed to (as lead or unit, directly or through its groups) may
  confirm. The unit's pending reminders for the node become ``done`` and the node's
  VEVENT is re-rendered (its DESCRIPTION shows 办结情况). Confirming again changes nothing.
- Status of (node, unit): ``done`` when confirmed, ``overdue`` when the node's due date is
  before today and it is not, else ``pending``.
- Escalation: ``queue_escalations`` puts one outbox row per (node, lead unit, channel) in
  the reminder table (``kind`` escalation, offset ``+1d 09:00``: counted from the due date, calendar
  days, Asia/Shanghai) for deadlines some responsible unit has not confirmed, at the
  escalation time; the dispatcher sends it as one 督办 message to the lead. The outbox's
  unique key makes it once per offset; an offset before the deadline (``-1d 16:00``) works
  the same way. Rows are only queued within ``ESCALATION_WINDOW`` after their time, so a
  store of old plans escalates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlmodel import Session

from plans import ChinaCalendar, Offset, parse_offset
from scheduler._db import mark_stale
from scheduler._directory import Directory, find_unit, load_directory
from scheduler._models import (
    ACKNOWLEDGEMENT as _ACK,
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    REMINDER as _R,
    AcknowledgementRow,
    OccurrenceRow,
    PlanRow,
    UnitMembershipRow,
    UnitRow,
)

__all__ = [
    "AckError",
    "AckResult",
    "Matrix",
    "MatrixRow",
    "ack_url",
    "acknowledge",
    "addressed_units",
    "parse_escalations",
    "progress",
    "queue_escalations",
    "responsible",
    "status_matrix",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
ESCALATION_WINDOW = timedelta(days=3)  # queued (and sendable) this long after its time
STATE_ZH = {"done": "已确认", "pending": "未到期", "overdue": "逾期未确认"}



class AckError(LookupError):
    """Why a confirmation was refused (nothing was changed)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # unknown_node | not_addressed | cancelled | unknown_unit
        super().__init__(message)


@dataclass(frozen=True)
class AckResult:
    occurrence_id: str
    title: str
    unit: str
    done_at: datetime
    source: str
    created: bool  # False: it had been confirmed before (nothing changed)

    def summary(self) -> str:
        """What ``jiedian done`` says: confirmed now, or already (when, and from where)."""
        when = self.done_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        if self.created:
            return f"{self.unit}: confirmed “{self.title}” at {when}"
        return f"{self.unit}: already confirmed “{self.title}” at {when} ({self.source}); nothing changed"


# --- who is responsible -------------------------------------------------------------------

def _roles(session: Session, ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    found: dict[str, dict[str, list[str]]] = {}
    for chunk in range(0, len(ids), 500):
        for oid, role, key in session.execute(select(_OU.c.occurrence_id, _OU.c.role, _OU.c.name_key)
                                              .where(_OU.c.occurrence_id.in_(ids[chunk:chunk + 500]))):
            found.setdefault(oid, {}).setdefault(role, []).append(key)
    return found


def _responsible(roles: dict[str, list[str]], directory: Directory) -> list[int]:
    for role in ("unit", "lead"):
        ids = sorted({uid for key in roles.get(role, []) for uid in directory.reach(key)})
        if ids:
            return ids
    return []


def responsible(session: Session, ids: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """Occurrence id → the (unit id, name) pairs expected to confirm it."""
    ids = list(ids)
    directory, roles = load_directory(session), _roles(session, ids)
    return {oid: [(uid, directory.names[uid]) for uid in _responsible(roles.get(oid, {}), directory)]
            for oid in ids}


def _acks(session: Session, ids: Sequence[str]) -> dict[str, dict[int, datetime]]:
    found: dict[str, dict[int, datetime]] = {}
    for chunk in range(0, len(ids), 500):
        for oid, uid, done_at in session.execute(select(_ACK.c.occurrence_id, _ACK.c.unit_id,
                                                        _ACK.c.done_at)
                                                 .where(_ACK.c.occurrence_id.in_(ids[chunk:chunk + 500]))):
            found.setdefault(oid, {})[uid] = done_at
    return found


def progress(session: Session, ids: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Occurrence id → (names that confirmed, names that have not), for the feeds."""
    ids = list(ids)
    owed, acks = responsible(session, ids), _acks(session, ids)
    return {oid: ([name for uid, name in owed[oid] if uid in acks.get(oid, {})],
                  [name for uid, name in owed[oid] if uid not in acks.get(oid, {})])
            for oid in ids}


def addressed_units(session: Session, occurrence_id: str) -> set[int]:
    """Every unit (and group) the node is addressed to, as lead or unit, directly or via groups."""
    directory = load_directory(session)
    ids: set[int] = set()
    for keys in _roles(session, [occurrence_id]).get(occurrence_id, {}).values():
        for key in keys:
            uid = directory.key_unit.get(key)
            if uid is not None:
                ids.add(uid)
                ids.update(directory.members.get(uid, []))
    return ids


def ack_url(base_url: str, token: str, occurrence_id: str) -> str:
    """Where a unit confirms a node; ``token`` is the unit's confirmation secret (its
    ack_token, not its feed token: whoever reads a calendar may not confirm for the unit)."""
    return f"{base_url.rstrip('/')}/ack/{token}/{quote(occurrence_id, safe='/')}"


# --- confirming ---------------------------------------------------------------------------

def acknowledge(session: Session, occurrence_id: str, unit: UnitRow | str, calendar: ChinaCalendar,
                *, now: datetime, source: str, note: str | None = None) -> AckResult:
    """Record that ``unit`` has done the node (idempotent); the caller commits."""
    row = session.get(UnitRow, unit.id) if isinstance(unit, UnitRow) else find_unit(session, unit)
    if row is None:
        raise AckError("unknown_unit", f"unknown unit “{unit}”; see `jiedian units list`")
    occurrence = session.get(OccurrenceRow, occurrence_id)
    if occurrence is None:
        raise AckError("unknown_node", f"no node “{occurrence_id}” in the store")
    before = session.execute(select(AcknowledgementRow).where(
        AcknowledgementRow.occurrence_id == occurrence_id,  # type: ignore[arg-type]
        AcknowledgementRow.unit_id == row.id)).scalars().first()  # type: ignore[arg-type]
    if before is not None:
        return AckResult(occurrence_id, occurrence.title, row.name, _utc(before.done_at),
                         before.source, created=False)
    if occurrence.status != "active":
        raise AckError("cancelled", f"“{occurrence.title}” was cancelled; nothing to confirm")
    if row.id not in addressed_units(session, occurrence_id):
        raise AckError("not_addressed", f"“{occurrence.title}” is not addressed to {row.name} "
                                        f"(neither as 牵头单位 nor as 责任单位)")
    session.add(AcknowledgementRow(occurrence_id=occurrence_id, unit_id=row.id,  # type: ignore[arg-type]
                                   unit_name=row.name, done_at=now, source=source, note=note))
    session.execute(update(_R).where(
        _R.c.occurrence_id == occurrence_id, _R.c.unit_id == row.id, _R.c.status == "pending",
        _R.c.kind == "reminder").values(status="done", updated_at=now))
    # The VEVENT changes (办结情况): a new LAST-MODIFIED and SEQUENCE so clients and ETags follow.
    occurrence.updated_at = max(now, _utc(occurrence.updated_at) + timedelta(microseconds=1))
    occurrence.sequence += 1
    session.flush()
    mark_stale(session, [occurrence_id])  # the feed's DESCRIPTION shows 办结情况
    return AckResult(occurrence_id, occurrence.title, row.name, now, source, created=True)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- the matrix ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MatrixRow:
    occurrence_id: str
    plan_id: str
    title: str
    kind: str
    due: date
    cells: dict[str, str]  # unit name → done | pending | overdue (absent: not responsible)
    done_at: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Matrix:
    units: list[str]
    rows: list[MatrixRow]
    today: date

    def counts(self) -> dict[str, int]:
        counted = {"done": 0, "pending": 0, "overdue": 0}
        for row in self.rows:
            for state in row.cells.values():
                counted[state] += 1
        return counted


def status_matrix(session: Session, *, today: date, plan: str | None = None,
                  unit: str | None = None, start: date | None = None,
                  end: date | None = None, led_by: int | None = None) -> Matrix:
    """Nodes × responsible units with done / pending / overdue (active nodes, by due date);
    ``led_by``: only the nodes that unit (id) leads (its 督办 view)."""
    query = select(_OCC.c.id, _OCC.c.plan_id, _OCC.c.title, _OCC.c.kind, _OCC.c.due).where(
        _OCC.c.status == "active").order_by(_OCC.c.due, _OCC.c.id)
    if plan is not None:
        query = query.where(_OCC.c.plan_id == plan)
    if start is not None:
        query = query.where(_OCC.c.due >= start)
    if end is not None:
        query = query.where(_OCC.c.due <= end)
    occurrences = session.execute(query).all()
    wanted: set[int] | None = None
    if unit is not None:
        row = find_unit(session, unit)
        if row is None:
            raise AckError("unknown_unit", f"unknown unit “{unit}”; see `jiedian units list`")
        members = [m for (m,) in session.execute(select(UnitMembershipRow.unit_id).where(  # type: ignore[call-overload]
            UnitMembershipRow.group_id == row.id))]  # type: ignore[arg-type]
        wanted = {row.id, *members}  # type: ignore[arg-type]
    ids = [o.id for o in occurrences]
    directory, roles, acks = load_directory(session), _roles(session, ids), _acks(session, ids)
    rows, columns = [], {}
    for occ in occurrences:
        if led_by is not None and led_by not in {uid for key in roles.get(occ.id, {}).get("lead", [])
                                                 for uid in directory.reach(key)}:
            continue
        owed = [uid for uid in _responsible(roles.get(occ.id, {}), directory)
                if wanted is None or uid in wanted]
        if not owed:
            continue
        cells, done_at = {}, {}
        for uid in owed:
            name = directory.names[uid]
            columns[name] = uid
            if uid in acks.get(occ.id, {}):
                cells[name], done_at[name] = "done", _utc(acks[occ.id][uid])
            else:
                cells[name] = "overdue" if occ.due < today else "pending"
        rows.append(MatrixRow(occ.id, occ.plan_id, occ.title, occ.kind, occ.due, cells, done_at))
    return Matrix(sorted(columns, key=lambda name: columns[name]), rows, today)


# --- escalation ---------------------------------------------------------------------------

def parse_escalations(text: str) -> tuple[Offset, ...]:
    """``+1d 09:00, -1d 16:00`` (calendar days from the due date); empty for none."""
    offsets = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        offset = parse_offset(part)
        if offset.working:
            raise ValueError(f"JIEDIAN_ESCALATE “{part}”: count calendar days (d), not working days")
        offsets.append(offset)
    return tuple(offsets)


def queue_escalations(session: Session, *, now: datetime, offsets: Sequence[Offset]) -> int:
    """Outbox rows for the lead units of deadlines not everyone confirmed, once their time came."""
    if not offsets:
        return 0
    today = now.astimezone(SHANGHAI).date()
    days = [o.days for o in offsets]
    first, last = today - timedelta(days=max(days) + 4), today - timedelta(days=min(days) - 1)
    occurrences = session.execute(select(_OCC.c.id, _OCC.c.due).where(
        _OCC.c.status == "active", _OCC.c.kind == "deadline",
        _OCC.c.due.between(first, last))).all()
    due: dict[str, list[tuple[str, datetime]]] = {}
    for occ in occurrences:
        for offset in offsets:
            fire = datetime.combine(occ.due + timedelta(days=offset.days), offset.at, SHANGHAI)
            if fire <= now < fire + ESCALATION_WINDOW:
                due.setdefault(occ.id, []).append((offset.text, fire))
    if not due:
        return 0
    ids = list(due)
    directory, roles, acks = load_directory(session), _roles(session, ids), _acks(session, ids)
    existing = {(r.occurrence_id, r.unit_id, r.channel_id, r.offset) for r in session.execute(
        select(_R.c.occurrence_id, _R.c.unit_id, _R.c.channel_id, _R.c.offset).where(
            _R.c.occurrence_id.in_(ids), _R.c.kind == "escalation"))}
    channels = directory.channels
    inserts = []
    for oid, moments in due.items():
        owed = _responsible(roles.get(oid, {}), directory)
        if not [uid for uid in owed if uid not in acks.get(oid, {})]:
            continue  # everyone confirmed: nothing to escalate
        leads = sorted({uid for key in roles.get(oid, {}).get("lead", [])
                        for uid in (directory.reach(key) or
                                    ([directory.key_unit[key]] if key in directory.key_unit else []))})
        for text, fire in moments:
            for uid in leads:
                for channel_id in channels.get(uid, []):
                    if (oid, uid, channel_id, text) in existing:
                        continue
                    inserts.append({
                        "occurrence_id": oid, "unit_id": uid, "unit_name": directory.names[uid],
                        "channel_id": channel_id, "kind": "escalation", "offset": text,
                        "fire_at": fire.astimezone(UTC),
                        "node_at": (fire + ESCALATION_WINDOW).astimezone(UTC), "status": "pending",
                        "attempts": 0, "late": False, "created_at": now, "updated_at": now})
    if inserts:
        session.execute(insert(_R), inserts)
    return len(inserts)


def plan_titles(session: Session) -> dict[str, str]:
    return dict(session.execute(select(PlanRow.id, PlanRow.title)).all())  # type: ignore[call-overload,arg-type]
