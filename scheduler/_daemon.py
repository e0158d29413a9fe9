"""The daemon: APScheduler drives a short periodic tick; the outbox holds the work.

APScheduler (3.x) only keeps time here. Its job store is per process and its
default misfire grace of one second would silently skip work after a pause,
so the reminders live in our own table and the tick job is configured to
coalesce missed runs into one and never to be skipped. Each tick:

- once an hour (and at start): sync the outbox with the store — reminders for
  nodes that entered the horizon, rescheduled or cancelled ones for plans or
  units that changed (the daily extension of the horizon, done more often);
- every tick: settle what is over, claim what is due, send, record.

The two are separate jobs under ``start()``: a sync of a large outbox takes
seconds (14–17 s at 1,000,000 reminders, bench/dispatch.py), and dispatch must
not wait for it. On SQLite (one writer at a time, and a read that turns into a
write fails at once if another writer committed in between) the two take turns
instead: there the outbox is small and a sync short. Called by hand (``jiedian dispatch``, tests), ``tick()`` syncs
first when an hour has passed.

The clock is a callable passed in; tests call ``tick()`` on a frozen or
fast-forwarded clock and never sleep. ``stop()`` waits for a running tick
to finish its sends, then gives back anything still claimed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from plans import ChinaCalendar
from scheduler._dispatch import Dispatcher, TickReport
from scheduler._feeds import render_stale
from scheduler._models import OccurrenceRow, ReminderRow
from scheduler._reminders import Policy, SyncReport, sync_reminders

__all__ = ["Daemon"]

log = logging.getLogger("jiedian.daemon")
SYNC_EVERY = timedelta(hours=1)
HORIZON_WARNING = timedelta(days=31)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class _SkippedRuns(logging.Filter):
    """Drops APScheduler's warning that a job is due while its last run still goes on: with
    max_instances=1 that is the design (a long tick is a backlog being sent), not news, and
    it came five times a second during a backlog at --tick 0.2."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


_SKIPPED_RUNS = _SkippedRuns()


def next_year_command(plan_id: str, last_due: date) -> str:
    """The command that stores ``plan_id`` again for the year after its last node."""
    return f"jiedian plan add {plan_id} --year {last_due.year + 1}"


class Daemon:
    """Ticks: sync the outbox now and then, dispatch every time."""

    def __init__(
        self,
        engine: Engine,
        calendar: ChinaCalendar,
        dispatcher: Dispatcher,
        *,
        policy: Policy,
        clock: Callable[[], datetime],
        tick_seconds: float = 10.0,
    ) -> None:
        self.engine, self.calendar, self.dispatcher = engine, calendar, dispatcher
        self.policy, self.clock, self.tick_seconds = policy, clock, tick_seconds
        self.last_tick: datetime | None = None
        self.last_sync: datetime | None = None
        self.last_error: str | None = None
        self.last_node: date | None = None  # the latest due date the store holds
        self.plans_ending: list[tuple[str, date]] = []  # (plan, its last due date), soon
        self.years_without_data: list[int] = []  # years of nodes ahead dated by weekends only
        self._warned_on: date | None = None
        self._years_warned_on: date | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._turns: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext())

    def sync(self, now: datetime) -> SyncReport:
        with self._turns, Session(self.engine) as session:
            report = sync_reminders(session, self.calendar, self.policy, now=now)
            session.commit()
        self.last_sync = now
        self._warm_feeds()
        if report.created or report.rescheduled or report.cancelled:
            log.info("outbox synced: %d new, %d rescheduled, %d cancelled",
                     report.created, report.rescheduled, report.cancelled)
        self._check_horizon(now)
        return report

    def _check_horizon(self, now: datetime) -> None:
        """Warn, once a day, about the plans whose last node is within HORIZON_WARNING.

        Plans are yearly documents: in December nothing is due in January until next
        year's plans are added, and a silent daemon would look healthy meanwhile. Per plan,
        so that one long campaign does not hide the yearly plans running out beside it.
        """
        with Session(self.engine) as session:
            ends: dict[str, date] = dict(session.execute(  # type: ignore[arg-type]
                select(OccurrenceRow.plan_id, func.max(OccurrenceRow.due))  # type: ignore[call-overload]
                .where(OccurrenceRow.status == "active").group_by(OccurrenceRow.plan_id)).all())
        today = now.astimezone(SHANGHAI).date()
        self.last_node = max(ends.values(), default=None)
        # the years of the nodes ahead whose rest days are weekends only (no library data, no
        # notice): their due dates and reminders may land on a holiday nobody has typed in
        last = self.last_node or today
        self.years_without_data = [y for y in range(today.year, last.year + 1)
                                   if not self.calendar.covers(y)]
        if self.years_without_data and self._years_warned_on != today:
            self._years_warned_on = today
            log.warning("%s", "; ".join(w for y in self.years_without_data
                                        if (w := self.calendar.coverage_warning(y))))
        self.plans_ending = sorted(((plan, day) for plan, day in ends.items()
                                    if today <= day <= today + HORIZON_WARNING),
                                   key=lambda item: (item[1], item[0]))
        if self._warned_on == today or (ends and not self.plans_ending):
            return
        self._warned_on = today
        if not ends:
            log.warning("no plan is stored: nothing will be sent; add one with "
                        "`jiedian plan add FILE`")
        else:
            log.warning("plans ending within %d days (nothing of theirs is due after): %s; "
                        "add next year's nodes with %s (or `jiedian plan add FILE` for a new plan)",
                        HORIZON_WARNING.days,
                        ", ".join(f"{plan} ({day.isoformat()})" for plan, day in self.plans_ending),
                        ", ".join(f"`{next_year_command(plan, day)}`" for plan, day in self.plans_ending))

    def tick(self, *, sync: bool = True) -> TickReport:
        """Dispatch what is due; first sync the outbox if ``sync`` and an hour has passed."""
        now = self.clock()
        if sync and (self.last_sync is None or now - self.last_sync >= SYNC_EVERY):
            self.sync(now)
        began = monotonic()
        with self._turns:
            report = self.dispatcher.tick(now)
        self.last_tick = now
        metrics = self.dispatcher.metrics
        if metrics is not None:
            metrics.tick.observe(monotonic() - began)
            metrics.settled(sent=report.sent, retried=report.retried, failed=report.failed,
                            missed=report.missed, skipped=report.skipped, late=report.late)
        if report.claimed:
            log.info("dispatch: %d sent in %d messages, %d late, %d retrying, %d failed",
                     report.sent, report.messages, report.late, report.retried, report.failed)
        for key, result in report.results:
            if not result.delivered:
                log.warning("send %s: %s %s %s", key, result.outcome.value, result.code,
                            result.message)
        if report.missed:
            log.warning("%d reminders missed: their node was over before they could be sent",
                        report.missed)
        return report

    def _warm_feeds(self) -> None:
        """Render the VEVENTs that imports and confirmations left stale, a few hundred at a
        time (each its own short transaction), so feeds rarely have to: writes never render
        (see scheduler._feeds). Run with the outbox sync, not with each tick, which must stay
        short (a tick outlasting --tick is skipped)."""
        while True:
            with self._turns, Session(self.engine) as session:
                if not render_stale(session, self.calendar):
                    return
                session.commit()

    def _safe_tick(self) -> None:
        try:
            self.tick(sync=False)
            self.last_error = None
        except Exception as error:  # a bad tick must not stop the next one
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("tick failed")

    def _safe_sync(self) -> None:
        try:
            self.sync(self.clock())
        except Exception as error:  # the next hour tries again; dispatch goes on meanwhile
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("outbox sync failed")

    def start(self) -> None:
        """Sync the outbox every hour and tick every ``tick_seconds``, in background threads.

        Both jobs start at once, coalesce missed runs into one (after a pause: one run, not a
        burst), are never skipped for being late, and never overlap themselves.
        """
        logging.getLogger("apscheduler.scheduler").addFilter(_SKIPPED_RUNS)  # once: same object
        scheduler = BackgroundScheduler(timezone="UTC")
        now = datetime.now().astimezone()
        once = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
        scheduler.add_job(self._safe_sync, "interval", seconds=SYNC_EVERY.total_seconds(),
                          id="sync", next_run_time=now, **once)
        scheduler.add_job(self._safe_tick, "interval", seconds=self.tick_seconds, id="tick",
                          next_run_time=now, **once)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> int:
        """Stop ticking, let a running tick finish, give back what is still claimed."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        released = self.dispatcher.release(self.clock())
        self.dispatcher.close()
        return released

    def health(self) -> dict[str, Any]:
        """What /healthz reports: last tick, pending and failed counts, database reachable."""
        status: dict[str, Any] = {
            "last_tick": self.last_tick.isoformat() if self.last_tick else None,
            "last_sync": self.last_sync.isoformat() if self.last_sync else None,
            "tick_seconds": self.tick_seconds,
            "last_error": self.last_error,
            "last_node": self.last_node.isoformat() if self.last_node else None,
            "plans_ending": {plan: day.isoformat() for plan, day in self.plans_ending},
            "plans_next": {plan: next_year_command(plan, day) for plan, day in self.plans_ending},
            "holiday_data_missing": self.years_without_data,
            "holiday_notices": sorted(self.calendar.notices),
        }
        try:
            with Session(self.engine) as session:
                session.execute(text("select 1"))
                counts = dict(session.execute(  # type: ignore[arg-type]
                    select(ReminderRow.status, func.count()).group_by(ReminderRow.status)).all())  # type: ignore[call-overload]
            status.update(database="ok", pending=counts.get("pending", 0) + counts.get("claimed", 0),
                          failed=counts.get("failed", 0), missed=counts.get("missed", 0),
                          sent=counts.get("sent", 0))
        except Exception as error:  # noqa: BLE001 (report, never raise: this is the health check)
            status.update(database=f"unreachable: {type(error).__name__}")
        stale = self.last_tick is None or self.clock() - self.last_tick > timedelta(
            seconds=max(60, self.tick_seconds * 6))
        status["ok"] = status.get("database") == "ok" and not stale
        return status
