"""Sending one claimed batch: each message's rows read again just before it goes, at most
``in_flight`` at once, each answer written as it comes, the lease renewed meanwhile
(DESIGN.md, "Delivery under load and faults"). The dispatcher (scheduler/_dispatch.py)
claims, words the messages and hands them here as jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

import notifiers
from notifiers import Channel, Outcome, Result
from scheduler._db import among
from scheduler._limits import take_slots
from scheduler._models import DELIVERY, OCCURRENCE as _OCC, REMINDER as _R

if TYPE_CHECKING:  # the dispatcher hands itself over; it imports this module, not back
    from scheduler._dispatch import Dispatcher

__all__ = ["Claimed", "Job", "Recorder", "TickReport", "by_unit"]

RECORD_EVERY, RECORD_AT_MOST = 0.2, 64  # answers are written this often (s), or this many at once
_SKIPPED = {"node_changed": "its node was changed or cancelled after the claim: not sent",
            "lease_lost": "another worker holds it now (this one outlived its lease): not sent"}


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
    skipped: int = 0  # rows not sent: their node changed after the claim
    deferred: int = 0  # rows put off: their destination's rate window was full
    results: list[tuple[str, Result]] = field(default_factory=list)  # (batch key, result)


@dataclass
class Job:
    """One message to send: its key, its rows, its channel, and how to word it for the rows
    still to send (the ones a change since the claim did not take away)."""

    key: str
    rows: list[Claimed]
    channel: Channel | None
    message: Callable[[list[Claimed]], object]


class Recorder:
    """Sends a batch's messages, ``in_flight`` at a time, and writes what happens as it
    happens, from one thread beside the sends (a few answers at once: one short
    transaction per RECORD_EVERY, not one per message, which would halve the rate):

    - before a send, the job's rows are read again (a chunk of ``in_flight`` jobs in one
      query, when a slot frees): rows no longer this worker's, or whose node changed, are
      not sent;
    - each answer is written within RECORD_EVERY seconds (or RECORD_AT_MOST answers);
    - the lease on what this worker still holds is renewed every third of the lease.

    Written by hand, not with a task queue: it is a few dozen lines, and the order (check,
    send, record, renew) is the invariant DESIGN.md's "Delivery under load" asks for.
    """

    def __init__(self, dispatcher: Dispatcher, now: datetime, report: TickReport,
                 sequences: dict[str, int]) -> None:
        self.d, self.report, self.sequences = dispatcher, report, sequences
        self.started, self.now = monotonic(), now
        self.renewed = self.started
        self.answers: list[tuple[Job, list[Claimed], Result]] = []
        self.checks: list[tuple[Job, asyncio.Future[list[Claimed]]]] = []
        self.attempted = 0
        self.wake = asyncio.Event()
        self.closing = False  # the sends are over: write what is left, then stop

    def clock(self) -> datetime:
        return self.now + timedelta(seconds=monotonic() - self.started)

    async def deliver(self, jobs: list[Job], in_flight: int) -> None:
        """Send ``jobs``, ``in_flight`` at a time. They go in chunks of ``in_flight``: when a
        slot frees, the whole next chunk is read again in one query and its messages start
        as slots free, so a message's check is at most one send's time older than the send
        (one query per job cost a third of the rate on SQLite)."""
        size = max(in_flight, 1)
        gate = asyncio.Semaphore(size)
        writer = asyncio.create_task(self._write_loop())

        async def one(job: Job, kept: list[Claimed]) -> None:
            try:
                message = job.message(kept)
                self.attempted += 1
                result = await (notifiers.deliver(job.channel, message) if job.channel is not None  # type: ignore[arg-type]
                                else _nobody())
                self.answers.append((job, kept, result))
                if self.d.metrics is not None:
                    kind = job.channel.kind if job.channel is not None else "none"
                    self.d.metrics.answered(kind, result.outcome.value, result.latency_ms)
                if len(self.answers) >= RECORD_AT_MOST:
                    self.wake.set()
            finally:
                gate.release()

        sends: list[asyncio.Future[None]] = []
        try:
            for start in range(0, len(jobs), size):
                chunk = jobs[start:start + size]
                await gate.acquire()  # a slot is free: read this chunk again, now
                held = True
                for job, kept in zip(chunk, await self._check(chunk), strict=True):
                    if not kept:
                        continue
                    if not held:
                        await gate.acquire()
                    held = False
                    sends.append(asyncio.ensure_future(one(job, kept)))
                if held:  # nothing of this chunk is to be sent
                    gate.release()
            await asyncio.gather(*sends)
        except BaseException:
            for send in sends:  # none may outlive this batch in the dispatcher's loop
                send.cancel()
            await asyncio.gather(*sends, return_exceptions=True)
            raise
        finally:
            self.closing = True
            self.wake.set()
            await writer

    async def _check(self, jobs: list[Job]) -> list[list[Claimed]]:
        """The rows of each job still to send, read again by the writer in one round."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in jobs]
        self.checks += list(zip(jobs, futures, strict=True))
        self.wake.set()
        return list(await asyncio.gather(*futures))

    async def _write_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), RECORD_EVERY)
            self.wake.clear()
            checks, self.checks = self.checks, []
            answers, self.answers = self.answers, []
            try:
                kept = await asyncio.to_thread(self._write, checks, answers)
            except BaseException as error:
                for _, future in checks:
                    if not future.done():
                        future.set_exception(error)
                raise
            for (_, future), rows in zip(checks, kept, strict=True):
                future.set_result(rows)
            if self.closing and not self.checks and not self.answers:
                return

    def _write(self, checks: list[tuple[Job, Any]],
               answers: list[tuple[Job, list[Claimed], Result]]) -> list[list[Claimed]]:
        """One transaction: the answers, the lease, and which rows of ``checks`` to send."""
        d, now = self.d, self.clock()
        kept: list[list[Claimed]] = []
        with Session(d.engine) as session:
            if answers:
                d._record(session, [(job.key, rows) for job, rows, _ in answers],
                          [result for _, _, result in answers], now, self.report)
            if monotonic() - self.renewed >= d.lease.total_seconds() / 3:
                session.execute(update(_R).where(_R.c.status == "claimed", _R.c.lease_owner == d.worker)
                                .values(lease_until=now + d.lease))
                self.renewed = monotonic()
            if checks:
                ids = [r.id for job, _ in checks for r in job.rows]
                current = {row.id: row for row in session.execute(
                    select(_R.c.id, _R.c.status, _R.c.lease_owner, _OCC.c.status.label("node"),
                           _OCC.c.sequence).join(_OCC, _OCC.c.id == _R.c.occurrence_id)
                    .where(among(session, _R.c.id, ids)))}
                stale: list[dict[str, object]] = []
                deferred: list[dict[str, object]] = []
                for job, _ in checks:
                    ok: list[Claimed] = []
                    gone: dict[str, list[Claimed]] = {}
                    for r in job.rows:
                        row = current.get(r.id)
                        mine = row is not None and row.status == "claimed" and row.lease_owner == d.worker
                        if mine and row.node == "active" and row.sequence == self.sequences.get(r.occurrence_id):  # type: ignore[union-attr]
                            ok.append(r)
                            continue
                        taken = row is not None and row.status == "claimed" and not mine
                        gone.setdefault("lease_lost" if taken else "node_changed", []).append(r)
                        if mine:  # the node changed and the outbox sync has not seen it yet
                            stale.append({"_id": r.id})
                    windows = job.channel.windows() if ok and job.channel is not None else []
                    if windows:
                        wait = take_slots(session, windows, now.timestamp())
                        if wait > 0:  # the destination's window is full: later, not throttled
                            deferred += [{"_id": r.id, "_next": now + timedelta(seconds=wait)} for r in ok]
                            self.report.deferred += len(ok)
                            ok = []
                    kept.append(ok)
                    for code, rows in gone.items():
                        session.execute(insert(DELIVERY), [{
                            "batch_key": job.key, "channel_id": part[0].channel_id,
                            "unit_id": part[0].unit_id, "unit_name": part[0].unit_name,
                            "reminder_ids": [r.id for r in part], "attempted_at": now,
                            "outcome": "skipped", "code": code, "message": _SKIPPED[code],
                            "latency_ms": 0.0, "worker": d.worker} for part in by_unit(rows)])
                        self.report.skipped += len(rows)
                if deferred:
                    session.execute(update(_R).where(_R.c.id == bindparam("_id"), _R.c.status == "claimed",
                                                     _R.c.lease_owner == d.worker)
                                    .values(status="pending", lease_owner=None, lease_until=None,
                                            next_attempt_at=bindparam("_next"), updated_at=now), deferred)
                if stale:  # back to the outbox: the next sync words them for the node as it is
                    session.execute(update(_R).where(_R.c.id == bindparam("_id"), _R.c.status == "claimed",
                                                     _R.c.lease_owner == d.worker)
                                    .values(status="pending", lease_owner=None, lease_until=None,
                                            batch_key=None, updated_at=now), stale)
            session.commit()
        return kept


def by_unit(rows: Sequence[Claimed]) -> list[list[Claimed]]:
    parts: dict[int, list[Claimed]] = {}
    for row in rows:
        parts.setdefault(row.unit_id, []).append(row)
    return list(parts.values())


async def _nobody() -> Result:
    return Result(Outcome.PERMANENT, "no_destination",
                  "the unit or channel was removed from the directory")

