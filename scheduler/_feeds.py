"""iCalendar feeds (RFC 5545 + RFC 7986): everything, one plan, or one unit.

Each occurrence's VEVENT is rendered with `icalendar` by the first feed read after the
occurrence was written (a write only marks it stale: ``_db.mark_stale``) and stored, so a
feed is a header and a concatenation: a unit feed of thousands of events costs one query. The ETag
comes from an aggregate query alone, so a 304 never renders anything.

What a subscriber sees:

- Deadlines are all-day events on their due date (moved off rest days), with
  the nominal date in the description when they differ; events and phases run
  from their first to their last day (DTEND exclusive, VALUE=DATE). A node
  with 上午/下午/晚上 is timed in Asia/Shanghai (09:00–12:00, 14:30–17:30,
  19:00–21:00) and the feed then carries a VTIMEZONE trimmed to its years.
- UID ``<occurrence id>@jiedian`` never changes; SEQUENCE is the occurrence's
  sequence; DTSTAMP and LAST-MODIFIED are its last change, so two renders of an
  unchanged store are byte-identical.
- Cancelled occurrences stay for 30 days as STATUS:CANCELLED so clients remove them.
- VALARMs follow the reminder offsets (best effort: Google ignores them, Apple
  strips them by default), and can be left out per feed; the daemon is the
  real reminder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone
from icalendar.prop import vDuration
from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from plans import KIND_ZH, ChinaCalendar, Offset, day_times, month_day_zh
from scheduler._directory import unit_keys
from scheduler._models import (
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    MilestoneRow,
    PlanRow,
    UnitRow,
)
from scheduler._supervision import progress

__all__ = [
    "RENDER_VERSION",
    "Feed",
    "FeedScope",
    "feed_etag",
    "render_feed",
    "render_stale",
    "scope_all",
    "scope_plan",
    "scope_unit_token",
    "unit_feed_urls",
]

RENDER_VERSION = 2  # bump when the VEVENT layout changes: stale rows are re-rendered on read
CANCELLED_KEPT = timedelta(days=30)
PRODID = "-//Jiedian//节点 campaign milestones//ZH"
TZ = "Asia/Shanghai"



@dataclass(frozen=True)
class FeedScope:
    """Which occurrences a feed holds: all, one plan's, or those addressed to name keys."""

    name: str  # the calendar's display name
    uid: str  # stable VCALENDAR UID
    plan_id: str | None = None
    unit_keys: frozenset[str] | None = None
    # When what the scope selects last changed other than through its occurrences (a unit's
    # groups and aliases): Last-Modified is never older, so If-Modified-Since stays right.
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    last_modified: datetime | None
    count: int


def _bounds(start: date, end: date, part_of_day: str | None) -> tuple[date | datetime, date | datetime]:
    times = day_times(part_of_day)
    if times:
        begin, finish = times
        zone = ZoneInfo(TZ)
        return (datetime.combine(start, begin, zone), datetime.combine(end, finish, zone))
    return start, end + timedelta(days=1)


def _alarm_trigger(offset: Offset, due: date, start: date | datetime,
                   calendar: ChinaCalendar) -> timedelta:
    moment = datetime.combine(offset.day_from(due, calendar), offset.at)
    begin = start if isinstance(start, datetime) else datetime.combine(start, time())
    return moment - begin.replace(tzinfo=None)


def _description(row: object, lead: Sequence[str], units: Sequence[str], plan: str,
                 done: tuple[Sequence[str], Sequence[str]] | None = None) -> str:
    lines = [f"计划：{plan}"]
    if row.kind == "deadline" and row.due != row.end:  # type: ignore[attr-defined]
        end = row.end  # type: ignore[attr-defined]
        lines.append(f"原定{month_day_zh(end)}逢休息日，"
                     f"提前至{row.due.month}月{row.due.day}日")  # type: ignore[attr-defined]
    if lead:
        lines.append("牵头单位：" + "、".join(lead))
    if units:
        lines.append("责任单位：" + "、".join(units))
    if done is not None and (done[0] or done[1]):
        confirmed, missing = done
        total = len(confirmed) + len(missing)
        state = f"办结情况：已确认 {len(confirmed)}/{total}"
        lines.append(state + (f"（未确认：{'、'.join(missing)}）" if missing else "（全部确认）"))
    if row.source:  # type: ignore[attr-defined]
        lines.append("原文：" + row.source)  # type: ignore[attr-defined]
    return "\n".join(lines)


def render_event(row: object, *, plan: str, lead: Sequence[str], units: Sequence[str],
                 remind: Sequence[Offset], calendar: ChinaCalendar,
                 done: tuple[Sequence[str], Sequence[str]] | None = None) -> tuple[str, str]:
    """(VEVENT without its END line, its VALARMs) for one occurrence row.

    ``done``: (units that confirmed, units that have not), shown as 办结情况.
    """
    first = row.due if row.kind == "deadline" else row.start  # type: ignore[attr-defined]
    last = row.due if row.kind == "deadline" else row.end  # type: ignore[attr-defined]
    start, end = _bounds(first, last, row.part_of_day)  # type: ignore[attr-defined]
    event = Event()
    event.add("uid", f"{row.id}@jiedian")  # type: ignore[attr-defined]
    event.add("dtstamp", row.updated_at)  # type: ignore[attr-defined]
    event.add("created", row.created_at)  # type: ignore[attr-defined]
    event.add("last-modified", row.updated_at)  # type: ignore[attr-defined]
    event.add("sequence", row.sequence)  # type: ignore[attr-defined]
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", f"【{KIND_ZH[row.kind]}】{row.title}")  # type: ignore[attr-defined]
    event.add("description", _description(row, lead, units, plan, done))
    event.add("categories", [plan, KIND_ZH[row.kind]])  # type: ignore[attr-defined]
    event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")  # type: ignore[attr-defined]
    event.add("transp", "TRANSPARENT")  # a node does not make anyone busy
    text = event.to_ical().decode("utf-8").removesuffix("END:VEVENT\r\n")
    alarms = []
    for offset in remind:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{row.title}（{offset}）")  # type: ignore[attr-defined]
        alarm.add("trigger", _alarm_trigger(offset, row.due, start, calendar))  # type: ignore[attr-defined]
        alarms.append(alarm.to_ical().decode("utf-8"))
    return text, "".join(alarms)


def render_stale(session: Session, calendar: ChinaCalendar, *, limit: int = 500) -> int:
    """Render up to ``limit`` VEVENTs a write left stale and keep them (the daemon does this
    between ticks, so a subscriber's next read is a concatenation again); how many."""
    rows = session.execute(select(_OCC).where(or_(
        _OCC.c.ical_event.is_(None), _OCC.c.ical_version != RENDER_VERSION)).limit(limit)).all()
    _store(session, _render_rows(session, rows, calendar))
    return len(rows)


def _store(session: Session, rendered: dict[str, tuple[str, str]]) -> None:
    """Keep VEVENTs rendered on a read, so the next read is a concatenation again."""
    values = [{"_id": oid, "ical_event": event, "ical_alarms": alarms, "ical_version": RENDER_VERSION}
              for oid, (event, alarms) in rendered.items()]
    for chunk in range(0, len(values), 500):
        session.execute(update(_OCC).where(_OCC.c.id == bindparam("_id")), values[chunk:chunk + 500])


def _render_rows(session: Session, rows: Sequence[object],
                 calendar: ChinaCalendar) -> dict[str, tuple[str, str]]:
    """Render rows, fetching their plans, milestones and units in three queries."""
    if not rows:
        return {}
    plan_ids = {row.plan_id for row in rows}  # type: ignore[attr-defined]
    titles = dict(session.execute(select(PlanRow.id, PlanRow.title).where(  # type: ignore[call-overload]
        PlanRow.id.in_(plan_ids))).all())  # type: ignore[attr-defined]
    remind = {(m.plan_id, m.year, m.key): m.remind for m in session.execute(
        select(MilestoneRow).where(MilestoneRow.plan_id.in_(plan_ids))).scalars()}  # type: ignore[attr-defined]
    names: dict[str, dict[str, list[str]]] = {}
    for oid, role, name in session.execute(
        select(_OU.c.occurrence_id, _OU.c.role, _OU.c.name)
        .where(_OU.c.occurrence_id.in_([row.id for row in rows]))  # type: ignore[attr-defined]
        .order_by(_OU.c.occurrence_id, _OU.c.name)
    ):
        names.setdefault(oid, {}).setdefault(role, []).append(name)
    done = progress(session, [row.id for row in rows])  # type: ignore[attr-defined]
    return {
        row.id: render_event(  # type: ignore[attr-defined]
            row, plan=titles.get(row.plan_id, row.plan_id),  # type: ignore[attr-defined]
            lead=names.get(row.id, {}).get("lead", []),  # type: ignore[attr-defined]
            units=names.get(row.id, {}).get("unit", []),  # type: ignore[attr-defined]
            remind=remind.get((row.plan_id, row.plan_year, row.milestone_key), []),  # type: ignore[attr-defined]
            calendar=calendar, done=done.get(row.id),  # type: ignore[attr-defined]
        )
        for row in rows
    }


def _where(scope: FeedScope, now: datetime) -> ColumnElement[bool]:
    visible = or_(_OCC.c.status == "active",
                  and_(_OCC.c.status == "cancelled", _OCC.c.cancelled_at >= now - CANCELLED_KEPT))
    conditions = [visible]
    if scope.plan_id:
        conditions.append(_OCC.c.plan_id == scope.plan_id)
    if scope.unit_keys is not None:
        conditions.append(_OCC.c.id.in_(select(_OU.c.occurrence_id).where(
            _OU.c.name_key.in_(sorted(scope.unit_keys)))))
    return and_(*conditions)


def feed_etag(session: Session, scope: FeedScope, *, now: datetime, alarms: bool) -> tuple[str, datetime | None]:
    """The feed's ETag and Last-Modified from one aggregate query (no rendering)."""
    count, newest, total_sequence = session.execute(
        select(func.count(), func.max(_OCC.c.updated_at), func.sum(_OCC.c.sequence))
        .where(_where(scope, now))
    ).one()
    # The set of cancelled rows shown changes as days pass, hence the date.
    # The set of name keys too: a unit moved to another group of as many nodes, imported at
    # the same time, would otherwise keep its ETag.
    key = f"{RENDER_VERSION}|{scope.uid}|{scope.name}|{alarms}|{count}|{newest}|{total_sequence}|" \
          f"{(now - CANCELLED_KEPT).date()}|{sorted(scope.unit_keys or ())}"
    last_modified = max((t for t in (newest, scope.changed_at) if t is not None), default=None)
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"', last_modified


def render_feed(session: Session, scope: FeedScope, calendar: ChinaCalendar, *,
                now: datetime, alarms: bool = True) -> Feed:
    """The whole VCALENDAR for ``scope``. VEVENTs are stored with their rows; those a write
    left stale (mark_stale, or an older RENDER_VERSION) are rendered here and stored in the
    caller's session (the caller commits; when the store cannot take the write now, the feed
    is answered all the same and the next read renders them again)."""
    etag, newest = feed_etag(session, scope, now=now, alarms=alarms)
    rows = session.execute(
        select(_OCC.c.id, _OCC.c.plan_id, _OCC.c.plan_year, _OCC.c.milestone_key, _OCC.c.title,
               _OCC.c.kind, _OCC.c.start, _OCC.c.end, _OCC.c.due, _OCC.c.part_of_day, _OCC.c.source,
               _OCC.c.sequence, _OCC.c.status, _OCC.c.created_at, _OCC.c.updated_at,
               _OCC.c.ical_event, _OCC.c.ical_alarms, _OCC.c.ical_version)
        .where(_where(scope, now)).order_by(_OCC.c.due, _OCC.c.id)
    ).all()
    stale = _render_rows(session, [r for r in rows if r.ical_version != RENDER_VERSION
                                   or r.ical_event is None], calendar)
    if stale:
        try:
            _store(session, stale)
        except OperationalError:  # a store locked by a long write: answer anyway, keep nothing
            session.rollback()
    parts, years = [], set()
    for row in rows:
        event, row_alarms = stale.get(row.id, (row.ical_event, row.ical_alarms))
        parts.append(event)
        if alarms and row_alarms:
            parts.append(row_alarms)
        parts.append("END:VEVENT\r\n")
        if day_times(row.part_of_day):
            years.update((row.start.year, row.end.year))
    return Feed(_calendar_head(scope, years).encode("utf-8") + "".join(parts).encode("utf-8")
                + b"END:VCALENDAR\r\n", etag, newest, len(rows))


def _calendar_head(scope: FeedScope, years: set[int]) -> str:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("uid", scope.uid)
    cal.add("name", scope.name)
    cal.add("x-wr-calname", scope.name)
    cal.add("x-wr-timezone", TZ)
    cal.add("refresh-interval", vDuration(timedelta(hours=1)), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(timedelta(hours=1)))
    if years:
        cal.add_component(Timezone.from_tzid(TZ, first_date=date(min(years), 1, 1),
                                             last_date=date(max(years), 12, 31)))
    return cal.to_ical().decode("utf-8").removesuffix("END:VCALENDAR\r\n")


def scope_all() -> FeedScope:
    return FeedScope("节点 · 全部", "jiedian-all")


def scope_plan(session: Session, plan_id: str) -> FeedScope | None:
    plan = session.get(PlanRow, plan_id)
    return FeedScope(f"节点 · {plan.title}", f"jiedian-plan-{plan.id}", plan_id=plan.id) \
        if plan else None


def scope_unit_token(session: Session, token: str) -> FeedScope | None:
    """The feed of the unit whose token this is (its nodes and its groups'), or None."""
    unit = session.execute(select(UnitRow).where(UnitRow.feed_token == token)).scalars().first()  # type: ignore[arg-type]
    if unit is None:
        return None
    return FeedScope(f"节点 · {unit.name}", f"jiedian-unit-{unit.id}",
                     unit_keys=frozenset(unit_keys(session, unit.name)),
                     changed_at=unit.updated_at)


def unit_feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """(https or http URL, webcal URL) of a unit's feed."""
    url = f"{base_url.rstrip('/')}/feeds/u/{token}.ics"
    return url, "webcal://" + url.split("://", 1)[1]
