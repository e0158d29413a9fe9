"""Dispatch: claim due reminders with a lease, send them, record every attempt.

One ``tick(now)``:

1. Reminders whose node is over are settled: ``missed`` if never tried,
   ``failed`` if every try failed. Nothing is sent after its node.
2. Due rows are claimed with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
   so two daemons never claim the same row; SQLite has one writer at a time).
   Rows whose lease expired (their daemon died) are claimed again and keep the
   batch key they had, so a resend carries the idempotency key the receiver
   already saw. A row more than ``late_after`` behind its time is sent marked
   补发 (late): once, never a flood.
3. Rows for one unit and channel due in the same window (the same morning,
   afternoon or evening) go out as one digest message, soonest node first.
4. Delivered rows are ``sent``; transient failures retry with exponential
   backoff and jitter (or the provider's retry-after) until the node is over;
   permanent ones are ``failed`` with the provider's code and message.

The crash window: a daemon killed after the provider accepted a message and
before the row is marked sent leaves the row claimed; after the lease another
daemon sends it again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

import notifiers
from notifiers import Channel, Destination, Outcome, Result, Secrets
from plans import Offset, parse_offset
from scheduler._feeds import unit_feed_urls
from scheduler._messages import ReminderItem, Templates, render, render_escalation
from scheduler._models import (
    CHANNEL as _CH,
    DELIVERY,
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    PERSON as _P,
    REMINDER as _R,
    UNIT as _U,
    PlanRow,
)
from scheduler._supervision import ack_url, progress, queue_escalations

__all__ = ["Dispatcher", "TickReport"]

_CLAIMED = (_R.c.id, _R.c.occurrence_id, _R.c.unit_id, _R.c.unit_name, _R.c.channel_id,
            _R.c.fire_at, _R.c.attempts, _R.c.batch_key, _R.c.offset, _R.c.kind)
SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = (time(12), time(18), time(23, 59, 59))  # a digest window ends at noon, 18:00, midnight
CONNECTIONS = 64  # the HTTP client's pool, and the most sends in flight at once
CHANNELS_KEPT = 10_000  # channel objects (each holds its rate limits) kept between ticks


@dataclass(frozen=True)
class Claimed:
    """A reminder this worker holds the lease on."""

    id: int
    occurrence_id: str
    unit_id: int
    unit_name: str
    channel_id: str
    fire_at: datetime
    attempts: int
    batch_key: str
    offset: str = ""
    kind: str = "reminder"  # or escalation: a 督办 to the lead unit

    @property
    def escalation(self) -> bool:
        return self.kind == "escalation"


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0  # reminders delivered (a digest of 3 counts 3)
    messages: int = 0
    retried: int = 0
    failed: int = 0
    missed: int = 0
    late: int = 0
    results: list[tuple[str, Result]] = field(default_factory=list)  # (batch key, result)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window_end(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    for end in WINDOWS:
        if local.time() < end:
            return datetime.combine(local.date(), end, SHANGHAI).astimezone(UTC)
    return now


class Dispatcher:
    """Sends what is due. Keep one per process: it holds the channels' rate limits."""

    def __init__(
        self,
        engine: Engine,
        *,
        worker: str,
        secrets: Secrets,
        templates: Templates | None = None,
        base_url: str = "http://127.0.0.1:8000",
        lease: timedelta = timedelta(minutes=2),
        late_after: timedelta = timedelta(minutes=5),
        batch: int = 500,
        transport: httpx.AsyncBaseTransport | None = None,
        jitter: Callable[[], float] = random.random,
        escalate: Sequence[Offset] = (parse_offset("+1d 09:00"),),
    ) -> None:
        self.engine, self.worker, self.secrets = engine, worker, secrets
        self.templates = templates or Templates()
        self.base_url, self.lease, self.late_after, self.batch = base_url, lease, late_after, batch
        self.jitter, self.escalate = jitter, tuple(escalate)
        self._loop = asyncio.new_event_loop()
        self._client = notifiers.http_client(connections=CONNECTIONS, transport=transport)
        self._channels: dict[tuple[str, str], Channel] = {}
        self._now = datetime.now(UTC)  # replaced by every tick: the channels' clock

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    # --- the tick ------------------------------------------------------------------------

    def tick(self, now: datetime) -> TickReport:
        """Settle what is over, claim what is due, send it, record it.

        A tick claims batch after batch until fewer than ``batch`` rows are due, and the
        clock moves on meanwhile: every claim after the first uses ``now`` plus the time
        elapsed since. With ``now`` frozen, a tick longer than the lease (a backlog) would
        write leases already over, and another daemon would claim a batch being sent and
        send it again; and it would send rows whose node passed during the tick.
        """
        self._now = now
        report = TickReport()
        with Session(self.engine) as session:
            self._settle(session, now, report)
            session.commit()
        self._escalate(now)
        current, started = now, monotonic()
        while True:
            with Session(self.engine) as session:
                claimed = self._claim(session, current)
                session.commit()
            if not claimed:
                return report
            report.claimed += len(claimed)
            self._send(claimed, current, report)
            if len(claimed) < self.batch:
                return report
            current = now + timedelta(seconds=monotonic() - started)
            self._now = current

    def _settle(self, session: Session, now: datetime, report: TickReport) -> None:
        over = and_(_R.c.status == "pending", _R.c.node_at <= now)
        report.failed += session.execute(update(_R).where(over, _R.c.attempts > 0).values(
            status="failed", updated_at=now)).rowcount  # type: ignore[attr-defined]
        report.missed += session.execute(update(_R).where(over, _R.c.attempts == 0).values(
            status="missed", updated_at=now)).rowcount  # type: ignore[attr-defined]

    def _escalate(self, now: datetime) -> None:
        """Queue the 督办 messages whose time came (another daemon may have just done so)."""
        with Session(self.engine) as session:
            try:
                queue_escalations(session, now=now, offsets=self.escalate)
                session.commit()
            except IntegrityError:
                session.rollback()

    def _claim(self, session: Session, now: datetime) -> list[Claimed]:
        window = _window_end(now)
        due = or_(
            and_(_R.c.status == "pending", _R.c.fire_at <= now,
                 or_(_R.c.next_attempt_at.is_(None), _R.c.next_attempt_at <= now)),
            and_(_R.c.status == "claimed", _R.c.lease_until < now),
        )
        query = select(_R.c.id, _R.c.unit_id, _R.c.channel_id).where(due, _R.c.node_at > now) \
            .order_by(_R.c.fire_at).limit(self.batch)
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return []
        # The digest: this unit and channel's other rows due before the window ends. Filtered
        # by unit and channel apart (hashed IN lists), the exact pairs in Python: an OR of
        # a batch's pairs cost PostgreSQL far more to plan and run.
        pairs = {(r.unit_id, r.channel_id) for r in rows}
        more = select(_R.c.id, _R.c.unit_id, _R.c.channel_id).where(
            _R.c.status == "pending", _R.c.fire_at > now, _R.c.fire_at <= window,
            _R.c.attempts == 0, _R.c.unit_id.in_(sorted({u for u, _ in pairs})),
            _R.c.channel_id.in_(sorted({c for _, c in pairs})))
        if self.engine.dialect.name == "postgresql":
            more = more.with_for_update(skip_locked=True)
        ids = [r.id for r in rows] + [r.id for r in session.execute(more)
                                      if (r.unit_id, r.channel_id) in pairs]
        claim = update(_R).where(_R.c.id.in_(ids), or_(
            _R.c.status == "pending", and_(_R.c.status == "claimed", _R.c.lease_until < now)))
        claimed = session.execute(claim.values(
            status="claimed", lease_owner=self.worker, lease_until=now + self.lease,
            updated_at=now).returning(*_CLAIMED)).all()
        keys = self._assign_batch_keys(session, claimed)
        return sorted((Claimed(r.id, r.occurrence_id, r.unit_id, r.unit_name, r.channel_id,
                               _utc(r.fire_at), r.attempts, r.batch_key or keys[r.id],  # type: ignore[arg-type]
                               r.offset, r.kind) for r in claimed), key=lambda c: c.id)

    @staticmethod
    def _assign_batch_keys(session: Session, rows: Sequence[Row[Any]]) -> dict[int, str]:
        """Give rows claimed for the first time their batch key (= the idempotency key).

        One per unit, channel and kind (escalations go apart: another message), made from
        the rows' ids, so a row reclaimed after a crash keeps the key it was first sent with.
        """
        fresh: dict[tuple[int, str, bool], list[int]] = {}
        for row in rows:
            if row.batch_key is None:
                fresh.setdefault((row.unit_id, row.channel_id, row.kind == "escalation"),
                                 []).append(row.id)
        keys: dict[int, str] = {}
        for group in fresh.values():
            key = "jd-" + hashlib.sha256(",".join(map(str, sorted(group))).encode()).hexdigest()[:24]
            keys.update(dict.fromkeys(group, key))
        if keys:
            session.execute(update(_R).where(_R.c.id == bindparam("_id")).values(
                batch_key=bindparam("_key")), [{"_id": i, "_key": k} for i, k in keys.items()])
        return keys

    # --- sending -------------------------------------------------------------------------

    def _send(self, rows: list[Claimed], now: datetime, report: TickReport) -> None:
        batches: dict[str, list[Claimed]] = {}
        for row in rows:
            batches.setdefault(row.batch_key, []).append(row)
        with Session(self.engine) as session:
            plans = {p.id: p.title for p in session.execute(select(PlanRow)).scalars()}
            occurrences = self._occurrences(session, {r.occurrence_id for r in rows})
            escalated = sorted({r.occurrence_id for r in rows if r.escalation})
            done = progress(session, escalated) if escalated else {}  # it loads every unit
            units, channels, people = self._directory(session, rows)
            jobs = []
            for key, group in batches.items():
                first = group[0]
                unit = units.get(first.unit_id)
                channel = channels.get(first.channel_id)
                if unit is None or channel is None:  # removed since: nobody to send it to
                    jobs.append((key, group, None, None))
                    continue
                ordered = sorted(group, key=lambda r: r.fire_at)
                mobiles = tuple(people.get(first.unit_id, ()))
                today = now.astimezone(SHANGHAI).date()
                if first.escalation:
                    seen = list(dict.fromkeys(r.occurrence_id for r in ordered))
                    items = [replace(self._item(occurrences[oid], plans, False),
                                     missing=tuple(done[oid][1]),
                                     owed=len(done[oid][0]) + len(done[oid][1])) for oid in seen]
                    plan_ids = sorted({occurrences[oid][0].plan_id for oid in seen})  # type: ignore[attr-defined]
                    link = f"{self.base_url.rstrip('/')}/status" + (
                        f"?plan={quote(plan_ids[0], safe='')}" if len(plan_ids) == 1 else "")
                    message = render_escalation(items, today=today, idempotency_key=key,
                                                unit=unit.name, link=link, mobiles=mobiles)
                else:
                    items = [replace(self._item(occurrences[r.occurrence_id], plans,
                                                r.fire_at < now - self.late_after),
                                     ack=ack_url(self.base_url, unit.feed_token, r.occurrence_id))
                             for r in ordered]
                    link = unit_feed_urls(self.base_url, unit.feed_token)[0]
                    message = render(items, today=today, idempotency_key=key, unit=unit.name,
                                     link=link, mobiles=mobiles, templates=self.templates)
                destination = Destination(channel.id, channel.kind, channel.config, mobiles,
                                          unit.name)
                jobs.append((key, group, self._channel(destination), message))
        results = self._loop.run_until_complete(_deliver_all([(ch, msg) for _, _, ch, msg in jobs],
                                                             CONNECTIONS))
        with Session(self.engine) as session:
            self._record(session, [(key, group) for key, group, _, _ in jobs], results, now,
                         report)
            session.commit()

    @staticmethod
    def _directory(session: Session, rows: list[Claimed]) -> tuple[
            dict[int, Row[Any]], dict[str, Row[Any]], dict[int, list[str]]]:
        """The batch's units (id, name, feed_token) and channels (id, kind, config) by id, and
        each unit's mobiles (in person id order). Plain rows: no ORM objects to build."""
        unit_ids = sorted({r.unit_id for r in rows})
        units = {u.id: u for u in session.execute(select(_U.c.id, _U.c.name, _U.c.feed_token)
                                                  .where(_U.c.id.in_(unit_ids)))}
        channels = {c.id: c for c in session.execute(
            select(_CH.c.id, _CH.c.kind, _CH.c.config).where(
                _CH.c.id.in_(sorted({r.channel_id for r in rows}))))}
        people: dict[int, list[str]] = {}
        for unit_id, mobile in session.execute(
                select(_P.c.unit_id, _P.c.mobile).where(_P.c.unit_id.in_(unit_ids))
                .order_by(_P.c.position, _P.c.id)):  # as destinations() and the units file order them
            if mobile:
                people.setdefault(unit_id, []).append(mobile)
        return units, channels, people

    def _channel(self, destination: Destination) -> Channel:
        # A changed config or change of people is a new channel object (its limits restart).
        marker = repr((sorted(destination.config.items()), destination.mobiles))
        cache_key = (destination.channel_id, marker)
        channel = self._channels.pop(cache_key, None)
        if channel is None:
            channel = notifiers.build(destination, client=self._client, secrets=self.secrets,
                                      clock=lambda: self._now.timestamp())
        self._channels[cache_key] = channel  # last used goes last
        if len(self._channels) > CHANNELS_KEPT:
            # The least recently used: idle far longer than any rate window (a minute).
            del self._channels[next(iter(self._channels))]
        return channel

    @staticmethod
    def _occurrences(session: Session, ids: set[str]) -> dict[str, tuple[object, list[str], list[str]]]:
        found: dict[str, tuple[object, list[str], list[str]]] = {}
        rows = session.execute(select(_OCC).where(_OCC.c.id.in_(list(ids)))).all()
        names: dict[str, dict[str, list[str]]] = {}
        for oid, role, name in session.execute(select(_OU.c.occurrence_id, _OU.c.role, _OU.c.name)
                                               .where(_OU.c.occurrence_id.in_(list(ids)))):
            names.setdefault(oid, {}).setdefault(role, []).append(name)
        for row in rows:
            found[row.id] = (row, names.get(row.id, {}).get("lead", []),
                             names.get(row.id, {}).get("unit", []))
        return found

    @staticmethod
    def _item(entry: tuple[object, list[str], list[str]], plans: dict[str, str],
              late: bool) -> ReminderItem:
        row, lead, units = entry
        return ReminderItem(plans.get(row.plan_id, row.plan_id), row.title, row.kind,  # type: ignore[attr-defined]
                            row.start, row.end, row.due, tuple(sorted(lead)),  # type: ignore[attr-defined]
                            tuple(sorted(units)), row.part_of_day, late)  # type: ignore[attr-defined]

    def _record(self, session: Session, sent: Sequence[tuple[str, Sequence[Claimed]]],
                results: Sequence[Result], now: datetime, report: TickReport) -> None:
        """One delivery row per message, and its reminders' new state: a few statements for
        the whole batch (executemany), not two or three per message."""
        deliveries: list[dict[str, object]] = []
        changes: dict[str, list[dict[str, object]]] = {"sent": [], "pending": [], "failed": []}
        late: list[int] = []
        for (key, group), result in zip(sent, results, strict=True):
            ids = [r.id for r in group]
            first = group[0]
            deliveries.append({
                "batch_key": key, "channel_id": first.channel_id, "unit_id": first.unit_id,
                "unit_name": first.unit_name, "reminder_ids": ids, "attempted_at": now,
                "outcome": result.outcome.value, "code": result.code, "message": result.message,
                "latency_ms": result.latency_ms, "worker": self.worker})
            values = {"_code": result.code, "_message": result.message}
            report.results.append((key, result))
            if result.outcome is Outcome.DELIVERED:
                behind = [r.id for r in group if r.fire_at < now - self.late_after]
                changes["sent"] += [{"_id": i, **values} for i in ids]
                late += behind
                report.sent += len(ids)
                report.messages += 1
                report.late += len(behind)
            elif result.outcome is Outcome.TRANSIENT:
                attempts = max(r.attempts for r in group) + 1
                backoff = min(30 * 2 ** (attempts - 1), 3600) * (0.8 + 0.4 * self.jitter())
                wait = max(result.retry_after or 0.0, backoff)
                changes["pending"] += [{"_id": i, "_next": now + timedelta(seconds=wait),
                                        **values} for i in ids]
                report.retried += len(ids)
            else:
                changes["failed"] += [{"_id": i, **values} for i in ids]
                report.failed += len(ids)
        if deliveries:
            session.execute(insert(DELIVERY), deliveries)
        mine = and_(_R.c.id == bindparam("_id"), _R.c.lease_owner == self.worker,
                    _R.c.status == "claimed")
        common = {"attempts": _R.c.attempts + 1, "last_code": bindparam("_code"),
                  "last_message": bindparam("_message"), "lease_owner": None,
                  "lease_until": None, "updated_at": now}
        extra: dict[str, dict[str, object]] = {"sent": {"sent_at": now},
                                               "pending": {"next_attempt_at": bindparam("_next")},
                                               "failed": {}}
        for status, rows in changes.items():
            if rows:
                session.execute(update(_R).where(mine).values(status=status, **extra[status],
                                                              **common), rows)
        if late:
            session.execute(update(_R).where(_R.c.id.in_(late)).values(late=True))

    def outstanding(self, now: datetime) -> int:
        """Reminders due by ``now`` and not yet settled, and claims held by anyone."""
        with Session(self.engine) as session:
            due = and_(_R.c.status == "pending", _R.c.fire_at <= now, _R.c.node_at > now)
            return int(session.execute(select(func.count()).select_from(_R).where(
                or_(due, _R.c.status == "claimed"))).scalar_one())

    # --- shutdown ------------------------------------------------------------------------

    def release(self, now: datetime) -> int:
        """Give back rows this worker claimed and did not send (on SIGTERM)."""
        with Session(self.engine) as session:
            count = session.execute(update(_R).where(
                _R.c.status == "claimed", _R.c.lease_owner == self.worker,
            ).values(status="pending", lease_owner=None, lease_until=None,
                     updated_at=now)).rowcount  # type: ignore[attr-defined]
            session.commit()
        return int(count or 0)


async def _deliver_all(jobs: list[tuple[Channel | None, object]], limit: int) -> list[Result]:
    """Every job's result, in order, with at most ``limit`` sends in flight.

    Not the whole batch at once: a send queued for one of the pool's connections spends
    its timeout waiting (httpx counts the wait for the pool in it) and comes back a
    spurious transient "timeout"; and the pool rescans its queue for every request.
    """
    gate = asyncio.Semaphore(limit)

    async def one(channel: Channel | None, message: object) -> Result:
        async with gate:
            if channel is None:
                return await _nobody()
            return await notifiers.deliver(channel, message)  # type: ignore[arg-type]

    return list(await asyncio.gather(*(one(channel, message) for channel, message in jobs)))


async def _nobody() -> Result:
    return Result(Outcome.PERMANENT, "no_destination",
                  "the unit or channel was removed from the directory")

