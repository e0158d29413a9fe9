"""Reminder policy: which reminders exist for the stored nodes, and when each fires.

One outbox row per (occurrence, unit, channel, offset). ``sync_reminders``
makes the outbox match the store: new rows for new nodes, units or channels;
pending rows rescheduled when their node moved; pending rows cancelled when
their node, unit, channel or offset went away. Rows already sent (or failed,
missed, done) are never touched, so nothing is ever sent twice. A unit that
confirmed a node (办结确认) gets no new reminders for it; the outbox's
escalation rows (``kind = 'escalation'``, see ``scheduler._supervision``) are not this
policy's to keep in line.

When a reminder fires (all in the plan's time zone, Asia/Shanghai):

- An offset counts from a deadline's due date, or from the first day of an
  event or phase: ``-7d`` calendar days, ``-1wd`` working days, at ``HH:MM``.
- Quiet hours (``JIEDIAN_QUIET_HOURS``, 21:00-08:00 by default) and, with
  ``JIEDIAN_REST_DAYS=move`` (the default), rest days are not for reminders:
  one falling there moves forward to the next allowed time if that is still
  before its node, else back to the last allowed time before it. ``send``
  ignores rest days.
- "Before its node": the end of a deadline's due day, the end of the first day
  of an event or phase, or the start of a timed one (上午 09:00 …).
- Nodes already over get no reminders (a 2011 plan added today reminds nobody).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, bindparam, insert, or_, select, update
from sqlmodel import Session

from plans import ChinaCalendar, Offset, day_times
from scheduler._directory import load_directory
from scheduler._models import (
    ACKNOWLEDGEMENT as _ACK,
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    REMINDER as _R,
    MilestoneRow,
)

__all__ = ["Policy", "SyncReport", "fire_time", "node_moment", "sync_reminders"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Outbox rows compared (and their wanted state held) at a time: the whole horizon at once
# would hold every pending row in memory (1,000,000 rows: 1.3 GB, see bench/dispatch.py).
APPLY_EVERY = 20_000


@dataclass(frozen=True)
class Policy:
    """Quiet hours and rest days, per deployment."""

    quiet: tuple[time, time] | None = (time(21), time(8))
    rest_days: str = "move"  # move | send
    zone: ZoneInfo = SHANGHAI

    @classmethod
    def parse(cls, quiet_hours: str, rest_days: str) -> Policy:
        """From the settings' text: ``21:00-08:00`` (empty for none) and ``move``/``send``."""
        if rest_days not in ("move", "send"):
            raise ValueError(f"JIEDIAN_REST_DAYS “{rest_days}”: write move or send")
        if not quiet_hours.strip():
            return cls(None, rest_days)
        try:
            start, end = (time.fromisoformat(part.strip()) for part in quiet_hours.split("-"))
        except ValueError:
            raise ValueError(f"JIEDIAN_QUIET_HOURS “{quiet_hours}”: write e.g. 21:00-08:00, "
                             f"or leave it empty for none") from None
        return cls((start, end), rest_days)

    def quiet_at(self, moment: datetime) -> bool:
        if self.quiet is None:
            return False
        start, end = self.quiet
        now = moment.timetz().replace(tzinfo=None)
        return (start <= now or now < end) if start > end else (start <= now < end)

    def allowed(self, moment: datetime, calendar: ChinaCalendar) -> bool:
        if self.quiet_at(moment):
            return False
        return self.rest_days == "send" or calendar.is_working_day(moment.date())


def node_moment(kind: str, start: date, due: date, part_of_day: str | None,
                zone: ZoneInfo) -> datetime:
    """The moment a node is over for reminding purposes (see the module docstring)."""
    day = due if kind == "deadline" else start
    times = day_times(part_of_day)
    if times and kind != "deadline":
        return datetime.combine(day, times[0], zone)
    if times and part_of_day and part_of_day[:1].isdigit():  # 17:30之前: due at that hour
        return datetime.combine(day, times[1] if "-" in part_of_day else times[0], zone)
    return datetime.combine(day, time(23, 59, 59), zone)


def fire_time(offset: Offset, base: date, node_at: datetime, policy: Policy,
              calendar: ChinaCalendar) -> datetime:
    """When a reminder with ``offset`` from ``base`` fires, moved out of quiet hours and rest days."""
    planned = datetime.combine(offset.day_from(base, calendar), offset.at, policy.zone)
    if policy.allowed(planned, calendar):
        return planned
    forward = _search(planned, policy, calendar, step=1)
    if forward is not None and forward < node_at:
        return forward
    backward = _search(planned, policy, calendar, step=-1)
    return backward if backward is not None else planned


def _search(planned: datetime, policy: Policy, calendar: ChinaCalendar, step: int) -> datetime | None:
    """The nearest allowed time after (step 1) or before (step -1) ``planned``, within 30 days.

    Forward it is the end of the quiet hours, or the same clock time on the next
    working day; backward the last minute before the quiet hours, or the same
    clock time on the working day before.
    """
    candidate = planned
    for _ in range(60):
        if policy.quiet_at(candidate) and policy.quiet is not None:
            start, end = policy.quiet
            if step > 0:
                day = candidate.date() if candidate.time() < end else candidate.date() + timedelta(1)
                candidate = datetime.combine(day, end, policy.zone)
            else:
                day = candidate.date() if candidate.time() >= start else candidate.date() - timedelta(1)
                candidate = datetime.combine(day, start, policy.zone) - timedelta(minutes=1)
        elif not policy.allowed(candidate, calendar):
            candidate = datetime.combine(candidate.date() + timedelta(days=step), planned.timetz())
        else:
            return candidate
    return None


@dataclass
class SyncReport:
    created: int = 0
    rescheduled: int = 0
    cancelled: int = 0


def _recipients(session: Session) -> tuple[dict[str, list[int]], dict[int, tuple[str, list[str]]]]:
    """name key → unit ids it reaches (a group reaches its members), unit id → (name, channels)."""
    directory = load_directory(session)
    reach = {key: directory.addressed(key) for key in directory.key_unit}
    return reach, {uid: (name, directory.channels.get(uid, [])) for uid, name in directory.names.items()}


def sync_reminders(
    session: Session,
    calendar: ChinaCalendar,
    policy: Policy,
    *,
    now: datetime,
    occurrence_ids: Iterable[str] | None = None,
) -> SyncReport:
    """Make the outbox match the stored nodes (all of them, or only ``occurrence_ids``)."""
    report = SyncReport()
    reach, channels = _recipients(session)
    remind = {(m.plan_id, m.year, m.key): m.remind
              for m in session.execute(select(MilestoneRow)).scalars()}
    query = select(_OCC.c.id, _OCC.c.plan_id, _OCC.c.plan_year, _OCC.c.milestone_key, _OCC.c.kind, _OCC.c.start,
                   _OCC.c.due, _OCC.c.part_of_day, _OCC.c.status)
    if occurrence_ids is not None:
        ids = list(occurrence_ids)
        chunks = [ids[i:i + 500] for i in range(0, len(ids), 500)]
    else:
        horizon = (now - timedelta(days=2)).date()
        chunks = [None]
        query = query.where(_OCC.c.due >= horizon)
    for chunk in chunks:
        part = query if chunk is None else query.where(_OCC.c.id.in_(chunk))
        occurrences = session.execute(part).all()
        names: dict[str, set[str]] = {}
        for oid, key in session.execute(select(_OU.c.occurrence_id, _OU.c.name_key).where(
                _OU.c.occurrence_id.in_([o.id for o in occurrences]))):
            names.setdefault(oid, set()).add(key)
        confirmed = {(oid, uid) for oid, uid in session.execute(
            select(_ACK.c.occurrence_id, _ACK.c.unit_id).where(
                _ACK.c.occurrence_id.in_([o.id for o in occurrences])))}
        wanted: dict[tuple[str, int, str, str], tuple[datetime, datetime]] = {}
        current = []  # nodes still ahead: their pending rows are ours to keep in line
        for occ in occurrences:
            if len(wanted) >= APPLY_EVERY:  # whole nodes at a time, so memory stays bounded
                _apply(session, current, wanted, channels, now, report)
                wanted, current = {}, []
            node_at = node_moment(occ.kind, occ.start, occ.due, occ.part_of_day, policy.zone)
            if node_at <= now:
                continue  # over: the dispatcher marks what is left of it missed
            current.append(occ.id)
            if occ.status != "active":
                continue
            base = occ.due if occ.kind == "deadline" else occ.start
            units = sorted({uid for key in names.get(occ.id, ()) for uid in reach.get(key, [])})
            node_utc = node_at.astimezone(UTC)
            for offset in remind.get((occ.plan_id, occ.plan_year, occ.milestone_key), []):
                fire = fire_time(offset, base, node_at, policy, calendar).astimezone(UTC)
                for uid in units:
                    if (occ.id, uid) in confirmed:
                        continue
                    for channel_id in channels[uid][1]:
                        wanted[(occ.id, uid, channel_id, offset.text)] = (fire, node_utc)
        _apply(session, current, wanted, channels, now, report)
    return report


def _apply(session: Session, occurrence_ids: list[str],
           wanted: dict[tuple[str, int, str, str], tuple[datetime, datetime]],
           channels: dict[int, tuple[str, list[str]]], now: datetime, report: SyncReport) -> None:
    existing = {}
    for chunk in range(0, len(occurrence_ids), 500):
        for row in session.execute(select(_R.c.id, _R.c.occurrence_id, _R.c.unit_id, _R.c.channel_id,
                                          _R.c.offset, _R.c.status, _R.c.fire_at, _R.c.node_at)
                                   .where(_R.c.occurrence_id.in_(occurrence_ids[chunk:chunk + 500]),
                                          _R.c.kind == "reminder")):  # escalations: supervision's
            existing[(row.occurrence_id, row.unit_id, row.channel_id, row.offset)] = row
    inserts, moves, cancels = [], [], []
    for key, (fire, node_at) in wanted.items():
        row = existing.get(key)
        if row is None:
            inserts.append({"occurrence_id": key[0], "unit_id": key[1], "channel_id": key[2],
                            "offset": key[3], "unit_name": channels[key[1]][0], "fire_at": fire,
                            "node_at": node_at, "status": "pending", "attempts": 0, "late": False,
                            "created_at": now, "updated_at": now})
        elif row.status in _OURS and (
                _utc(row.fire_at) != fire or _utc(row.node_at) != node_at or row.status == "cancelled"):
            moves.append({"_id": row.id, "fire_at": fire, "node_at": node_at, "status": "pending",
                          "updated_at": now})
    for key, row in existing.items():
        if key not in wanted and row.status in ("pending", "claimed"):
            cancels.append({"_id": row.id, "status": "cancelled", "updated_at": now})
    if inserts:
        session.execute(insert(_R), inserts)
    # A claimed row is moved or cancelled too (its node changed while a dispatcher held it):
    # the dispatcher reads its rows again just before the send and sends none that is no
    # longer its own, nor records an answer on it. A moved row loses its batch key: its
    # message says something new. A sent row stays as it was (the status is checked again
    # as each row is written: a dispatcher may have sent it since it was read).
    released = {"lease_owner": None, "lease_until": None}
    if moves:
        session.execute(update(_R).where(_R.c.id == bindparam("_id"), _in(_OURS))
                        .values(batch_key=None, **released), moves)
    if cancels:
        session.execute(update(_R).where(_R.c.id == bindparam("_id"), _in(("pending", "claimed")))
                        .values(**released), cancels)
    report.created += len(inserts)
    report.rescheduled += len(moves)
    report.cancelled += len(cancels)


_OURS = ("pending", "cancelled", "claimed")  # the states a sync may move a row from


def _in(states: tuple[str, ...]) -> ColumnElement[bool]:
    # An OR, not IN: an executemany cannot carry IN's expanding parameter.
    return or_(*(_R.c.status == state for state in states))


def _utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
