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
   afternoon or evening) go out as one digest message, soonest node first; for a group
   robot, every unit's rows for that robot go out as one message (a section per unit).
4. Just before each send (at most ``in_flight`` at once) the rows are read again: a row
   the outbox sync moved or cancelled since the claim (its node changed) is not sent,
   and the delivery log says so (``skipped``).
5. Each answer is recorded as it comes, a few at a time (scheduler/_sending.py), not when the
   batch is done: delivered rows are ``sent``; transient failures retry with exponential
   backoff and jitter (or the provider's retry-after) until the node is over; permanent
   ones are ``failed`` with the provider's code and message. While sends go on, the
   worker renews the lease on what it still holds, so a slow receiver never hands a
   batch being sent to another daemon.

The crash window is the messages in flight (and answers not yet written, a fraction of a
second): a daemon killed then leaves those rows claimed; after the lease another daemon
records their outcome as ``unknown`` (the delivery log shows every attempt) and sends
them again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

import notifiers
from notifiers import Channel, Destination, Outcome, Person, Result, Secrets
from plans import Offset, parse_offset
from scheduler._db import among
from scheduler._directory import PERSON_COLUMNS, stored_person
from scheduler._feeds import unit_feed_urls
from scheduler._messages import ReminderItem, Templates, render, render_escalation, render_group
from scheduler._metrics import Metrics
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
from scheduler._sending import Claimed, Job, Recorder, TickReport, by_unit
from scheduler._supervision import ack_url, progress, queue_escalations

__all__ = ["Dispatcher", "TickReport"]

_CLAIMED = (_R.c.id, _R.c.occurrence_id, _R.c.unit_id, _R.c.unit_name, _R.c.channel_id,
            _R.c.fire_at, _R.c.attempts, _R.c.batch_key, _R.c.offset, _R.c.kind)
SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = (time(12), time(18), time(23, 59, 59))  # a digest window ends at noon, 18:00, midnight
CONNECTIONS = 64  # the HTTP client's pool, and the most sends in flight at once
CHANNELS_KEPT = 10_000  # channel objects (each holds its rate limits) kept between ticks
CLAIM_SECONDS = 5.0  # a claim holds what this worker sends in about this long (see _claim_size)


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
        in_flight: int = CONNECTIONS,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine, self.worker, self.secrets = engine, worker, secrets
        self.templates = templates or Templates()
        self.base_url, self.lease, self.late_after, self.batch = base_url, lease, late_after, batch
        self.jitter, self.escalate = jitter, tuple(escalate)
        self.in_flight, self.metrics = in_flight, metrics
        self._rate: float | None = None  # messages per second of the last batch sent
        self._claimed_all = False
        self._loop = asyncio.new_event_loop()
        self._client = notifiers.http_client(connections=max(in_flight, 1), transport=transport)
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
            size, began = self._claim_size(), monotonic()
            with Session(self.engine) as session:
                claimed = self._claim(session, current, size)
                session.commit()
            if self.metrics is not None:
                self.metrics.claim.observe(monotonic() - began)
            if not claimed:
                return report
            report.claimed += len(claimed)
            began = monotonic()
            messages = self._send(claimed, current, report)
            if messages:
                self._rate = messages / max(monotonic() - began, 1e-3)
            if not self._claimed_all:
                return report
            current = now + timedelta(seconds=monotonic() - started)
            self._now = current

    def _claim_size(self) -> int:
        """How many messages to claim: what this worker sends in about CLAIM_SECONDS (at the
        last batch's pace), between ``in_flight`` and ``batch``. Against a slow receiver a
        claim stays small, so two daemons share a backlog instead of one holding it all."""
        if self._rate is None:
            return min(self.batch, 2 * self.in_flight)
        return max(min(self.in_flight, self.batch), min(self.batch, int(self._rate * CLAIM_SECONDS)))

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

    def _claim(self, session: Session, now: datetime, size: int | None = None) -> list[Claimed]:
        size = size or self.batch
        window = _window_end(now)
        # Two queries, each an index range on (status, fire_at) in fire_at order, stopping
        # at ``size``: one OR of both read every pending row and sorted them (SQLite), or
        # scanned the whole table, sent rows included (PostgreSQL).
        columns = (_R.c.id, _R.c.unit_id, _R.c.channel_id, _R.c.status, _R.c.lease_owner,
                   _R.c.batch_key)
        expired = select(*columns).where(_R.c.status == "claimed", _R.c.fire_at <= now,
                                         _R.c.lease_until < now, _R.c.node_at > now) \
            .order_by(_R.c.fire_at).limit(size)
        due = select(*columns).where(
            _R.c.status == "pending", _R.c.fire_at <= now, _R.c.node_at > now,
            or_(_R.c.next_attempt_at.is_(None), _R.c.next_attempt_at <= now)) \
            .order_by(_R.c.fire_at).limit(size)
        if self.engine.dialect.name == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
            due = due.with_for_update(skip_locked=True)
        rows = session.execute(expired).all()
        self._log_unknown(session, rows, now)
        rows += session.execute(due.limit(size - len(rows))).all() if len(rows) < size else []
        self._claimed_all = len(rows) >= size  # more may be due: claim again in this tick
        if not rows:
            return []
        # The digest: this unit and channel's other rows due before the window ends. Filtered
        # by unit and channel apart (hashed IN lists), the exact pairs in Python: an OR of
        # a batch's pairs cost PostgreSQL far more to plan and run.
        pairs = {(r.unit_id, r.channel_id) for r in rows}
        more = select(_R.c.id, _R.c.unit_id, _R.c.channel_id).where(
            _R.c.status == "pending", _R.c.fire_at > now, _R.c.fire_at <= window,
            _R.c.attempts == 0, among(session, _R.c.unit_id, sorted({u for u, _ in pairs})),
            among(session, _R.c.channel_id, sorted({c for _, c in pairs})))
        if self.engine.dialect.name == "postgresql":
            more = more.with_for_update(skip_locked=True)
        ids = [r.id for r in rows] + [r.id for r in session.execute(more)
                                      if (r.unit_id, r.channel_id) in pairs]
        claim = update(_R).where(among(session, _R.c.id, ids), or_(
            _R.c.status == "pending", and_(_R.c.status == "claimed", _R.c.lease_until < now)))
        claimed = session.execute(claim.values(
            status="claimed", lease_owner=self.worker, lease_until=now + self.lease,
            updated_at=now).returning(*_CLAIMED)).all()
        keys = self._assign_batch_keys(session, claimed, now)
        return sorted((Claimed(r.id, r.occurrence_id, r.unit_id, r.unit_name, r.channel_id,
                               _utc(r.fire_at), r.attempts, r.batch_key or keys[r.id],  # type: ignore[arg-type]
                               r.offset, r.kind) for r in claimed), key=lambda c: c.id)

    def _log_unknown(self, session: Session, rows: Sequence[Row[Any]], now: datetime) -> None:
        """Rows reclaimed from a worker that stopped: their last attempt may have reached the
        receiver or not; the delivery log gets it, as ``unknown``, one row per message."""
        if not rows:
            return
        found = session.execute(select(_R.c.id, _R.c.unit_id, _R.c.unit_name, _R.c.channel_id,
                                       _R.c.batch_key, _R.c.lease_owner)
                                .where(among(session, _R.c.id, [r.id for r in rows]))).all()
        messages: dict[tuple[str, str, int], list[Row[Any]]] = {}
        for row in found:  # one log row per message and unit, as for any attempt
            messages.setdefault((row.batch_key or "-", row.lease_owner or "?", row.unit_id), []).append(row)
        session.execute(insert(DELIVERY), [{
            "batch_key": key, "channel_id": part[0].channel_id, "unit_id": unit_id,
            "unit_name": part[0].unit_name, "reminder_ids": [r.id for r in part], "attempted_at": now,
            "outcome": "unknown", "code": "lease_expired",
            "message": f"{owner} stopped before recording an answer; sent again",
            "latency_ms": 0.0, "worker": owner} for (key, owner, unit_id), part in messages.items()])

    @staticmethod
    def _assign_batch_keys(session: Session, rows: Sequence[Row[Any]], now: datetime) -> dict[int, str]:
        """Give rows claimed without a key their batch key (= the idempotency key): one per
        message.

        A message is a unit's channel's rows, or, for a channel that groups (a group robot),
        every unit's rows for that destination: forty units in one DingTalk group, one
        message. Escalations go apart. The key is made from the rows' ids and the claim's
        time, and kept on the rows: a row reclaimed after a crash carries the key it was
        first sent with, and a row whose node changed (the sync clears its key) gets a new
        one, so a receiver never drops the new wording as a repeat.
        """
        fresh: dict[tuple[object, ...], list[int]] = {}
        destinations = _destinations(session, {r.channel_id for r in rows if r.batch_key is None})
        units_in: dict[tuple[object, ...], dict[int, int]] = {}  # a shared message's units → part
        for row in rows:
            if row.batch_key is None:
                shared, most = destinations.get(row.channel_id, (None, 0))
                message: tuple[object, ...] = (row.unit_id, row.channel_id, row.kind == "escalation")
                if shared and row.kind != "escalation":
                    # a message lists at most ``most`` units (what the provider's length allows)
                    seen = units_in.setdefault(("to", shared), {})
                    part = seen.setdefault(row.unit_id, len(seen) // most if most else 0)
                    message = ("to", shared, part)
                fresh.setdefault(message, []).append(row.id)
        keys: dict[int, str] = {}
        for group in fresh.values():
            made = ",".join(map(str, sorted(group))) + "@" + now.isoformat()
            key = "jd-" + hashlib.sha256(made.encode()).hexdigest()[:24]
            keys.update(dict.fromkeys(group, key))
        if keys:
            session.execute(update(_R).where(_R.c.id == bindparam("_id")).values(
                batch_key=bindparam("_key")), [{"_id": i, "_key": k} for i, k in keys.items()])
        return keys

    # --- sending -------------------------------------------------------------------------

    def _send(self, rows: list[Claimed], now: datetime, report: TickReport) -> int:
        """Send the claimed rows' messages; how many messages were attempted."""
        batches: dict[str, list[Claimed]] = {}
        for row in rows:
            batches.setdefault(row.batch_key, []).append(row)
        with Session(self.engine) as session:
            plans = {p.id: p.title for p in session.execute(select(PlanRow)).scalars()}
            occurrences = self._occurrences(session, {r.occurrence_id for r in rows})
            escalated = sorted({r.occurrence_id for r in rows if r.escalation})
            done = progress(session, escalated) if escalated else {}  # it loads every unit
            units, channels, people = self._directory(session, rows)
        today = now.astimezone(SHANGHAI).date()
        jobs = []
        for key, group in batches.items():
            known = [r for r in group if r.unit_id in units and r.channel_id in channels]
            gone = [r for r in group if r not in known]
            if gone:  # removed from the directory since: nobody to send these to
                jobs.append(Job(key, gone, None, lambda _rows: None))
            if not known:
                continue
            first = known[0]
            channel = channels[first.channel_id]  # a grouped message: one URL, any unit's row
            unit_ids = list(dict.fromkeys(r.unit_id for r in known))
            # one unit (the usual message): its people as they are; hashing a Person costs
            # microseconds, paid per message at thousands a second
            reached = tuple(people.get(unit_ids[0], ())) if len(unit_ids) == 1 else \
                tuple(dict.fromkeys(p for u in unit_ids for p in people.get(u, ())))
            mobiles = tuple(dict.fromkeys(p.mobile for p in reached if p.mobile))

            def message(kept: list[Claimed], key: str = key, mobiles: tuple[str, ...] = mobiles) -> object:
                return self._message(kept, key, units, mobiles, occurrences, plans, done, now, today)

            names = "、".join(dict.fromkeys(units[r.unit_id].name for r in known))
            destination = Destination(channel.id, channel.kind, channel.config, mobiles, names, reached)
            jobs.append(Job(key, known, self._channel(destination), message))
        sequences = {oid: entry[0].sequence for oid, entry in occurrences.items()}  # type: ignore[attr-defined]
        recorder = Recorder(self, now, report, sequences)
        self._loop.run_until_complete(recorder.deliver(jobs, self.in_flight))
        return recorder.attempted

    def _message(self, rows: list[Claimed], key: str, units: dict[int, Any], mobiles: tuple[str, ...],
                 occurrences: dict[str, tuple[object, list[str], list[str]]], plans: dict[str, str],
                 done: dict[str, Any], now: datetime, today: date) -> object:
        ordered = sorted(rows, key=lambda r: r.fire_at)
        by_unit: dict[int, list[Claimed]] = {}
        for row in ordered:
            by_unit.setdefault(row.unit_id, []).append(row)
        if len(by_unit) > 1:  # one group robot, several units: a section each
            sections = [(units[u].name, self._items(part, units[u], occurrences, plans, now),
                         unit_feed_urls(self.base_url, units[u].feed_token)[0])
                        for u, part in by_unit.items()]
            return render_group(sections, today=today, idempotency_key=key, mobiles=mobiles,
                                templates=self.templates)
        unit = units[ordered[0].unit_id]
        if ordered[0].escalation:
            seen = list(dict.fromkeys(r.occurrence_id for r in ordered))
            items = [replace(self._item(occurrences[oid], plans, False), missing=tuple(done[oid][1]),
                             owed=len(done[oid][0]) + len(done[oid][1])) for oid in seen]
            plan_ids = sorted({occurrences[oid][0].plan_id for oid in seen})  # type: ignore[attr-defined]
            # the lead unit's own view (behind its feed token), not the office's /status,
            # which JIEDIAN_ADMIN_TOKEN may close
            link = f"{self.base_url.rstrip('/')}/u/{unit.feed_token}/status" + (
                f"?plan={quote(plan_ids[0], safe='')}" if len(plan_ids) == 1 else "")
            return render_escalation(items, today=today, idempotency_key=key, unit=unit.name,
                                     link=link, mobiles=mobiles)
        items = self._items(ordered, unit, occurrences, plans, now)
        return render(items, today=today, idempotency_key=key, unit=unit.name,
                      link=unit_feed_urls(self.base_url, unit.feed_token)[0], mobiles=mobiles,
                      templates=self.templates)

    def _items(self, rows: list[Claimed], unit: Any,
               occurrences: dict[str, tuple[object, list[str], list[str]]], plans: dict[str, str],
               now: datetime) -> list[ReminderItem]:
        return [replace(self._item(occurrences[r.occurrence_id], plans, r.fire_at < now - self.late_after),
                        ack=ack_url(self.base_url, unit.ack_token, r.occurrence_id)) for r in rows]

    @staticmethod
    def _directory(session: Session, rows: list[Claimed]) -> tuple[
            dict[int, Row[Any]], dict[str, Row[Any]], dict[int, list[Person]]]:
        """The batch's units (id, name, feed_token, ack_token) and channels (id, kind, config) by id, and
        each unit's people (in the units file's order). Plain rows: no ORM objects to build."""
        unit_ids = sorted({r.unit_id for r in rows})
        units = {u.id: u for u in session.execute(select(_U.c.id, _U.c.name, _U.c.feed_token, _U.c.ack_token)
                                                  .where(among(session, _U.c.id, unit_ids)))}
        channels = {c.id: c for c in session.execute(
            select(_CH.c.id, _CH.c.kind, _CH.c.config).where(
                among(session, _CH.c.id, sorted({r.channel_id for r in rows}))))}
        people: dict[int, list[Person]] = {}
        for row in session.execute(
                select(_P.c.unit_id, *(_P.c[c] for c in PERSON_COLUMNS)).where(among(session, _P.c.unit_id, unit_ids))
                .order_by(_P.c.position, _P.c.id)):  # as destinations() and the units file order them
            people.setdefault(row.unit_id, []).append(stored_person(row))
        return units, channels, people

    def _channel(self, destination: Destination) -> Channel:
        # A changed config or change of people is a new channel object (its limits restart).
        marker = repr((sorted(destination.config.items()), destination.people))
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
        rows = session.execute(select(_OCC).where(among(session, _OCC.c.id, list(ids)))).all()
        names: dict[str, dict[str, list[str]]] = {}
        for oid, role, name in session.execute(select(_OU.c.occurrence_id, _OU.c.role, _OU.c.name)
                                               .where(among(session, _OU.c.occurrence_id, list(ids)))):
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
            deliveries += [{
                "batch_key": key, "channel_id": part[0].channel_id, "unit_id": part[0].unit_id,
                "unit_name": part[0].unit_name, "reminder_ids": [r.id for r in part],
                "attempted_at": now, "outcome": result.outcome.value, "code": result.code,
                "message": result.logged(), "latency_ms": result.latency_ms, "worker": self.worker}
                for part in by_unit(group)]
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
        if not changes["sent"] and not changes["pending"] and not changes["failed"]:
            return
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
            session.execute(update(_R).where(among(session, _R.c.id, late)).values(late=True))

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


def _destinations(session: Session, channel_ids: set[str]) -> dict[str, tuple[str, int]]:
    """Channel id → the destination it shares with others, for the channels that group (a
    robot's URL; an application and the unit's people, for the channels that reach people),
    and how many units one message to it may list (``group_units``; 0: any number)."""
    if not channel_ids:
        return {}
    grouping = sorted(kind for kind, cls in notifiers.CHANNELS.items() if cls.groups)
    # only the channels of kinds that group: reading every claimed channel's config (JSON)
    # cost a tenth of a millisecond per reminder for the webhooks, which never group
    rows = [(channel_id, unit_id, notifiers.CHANNELS.get(kind), config) for channel_id, unit_id, kind, config
            in session.execute(select(_CH.c.id, _CH.c.unit_id, _CH.c.kind, _CH.c.config)
                               .where(among(session, _CH.c.id, sorted(channel_ids)), _CH.c.kind.in_(grouping)))]
    personal = sorted({unit_id for _, unit_id, cls, _ in rows if cls is not None and cls.groups
                       and cls.reaches_people})
    people: dict[int, list[Person]] = {}
    if personal:
        for row in session.execute(select(_P.c.unit_id, *(_P.c[c] for c in PERSON_COLUMNS))
                                   .where(among(session, _P.c.unit_id, personal))):
            people.setdefault(row.unit_id, []).append(stored_person(row))
    found = {}
    for channel_id, unit_id, cls, config in rows:
        key = cls.group_key(config or {}, people.get(unit_id, [])) if cls is not None else None
        if key:
            found[channel_id] = (key, cls.group_units)  # type: ignore[union-attr]
    return found
