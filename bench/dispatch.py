"""Benchmark dispatch: due reminders through ``Dispatcher.tick`` to a local webhook sink.

What it measures, on the real clock (every ``tick(now)`` gets ``datetime.now(UTC)``):
  The sink is bench/webhooks.py's: a raw ASGI app under uvicorn in its own process, answering
  200 and recording, per ``webhook-id``, how many times it arrived and when it first did.
  The store is built directly (SQLAlchemy Core bulk INSERTs into a migrated store): one plan,
  100 deadline occurrences, REMINDERS units each with one person and one signed webhook channel
  (``whsec_`` secret) to the sink, and one pending reminder per unit. One reminder per unit is
  deliberate: the dispatcher merges a unit's reminders due in the same half-day into one digest,
  so with several per unit "reminders per second" would count digests; here every message
  carries exactly one reminder, and the output shows both counts (messages, reminders).
  Each run starts fresh worker processes (``multiprocessing``, spawn), each with its own
  ``Dispatcher`` (its defaults: batch 500, 64 connections) and worker id, ticking every TICK s
  until nothing is left:
  a. backlog: REMINDERS rows, all due when the workers are released (t0), all sent. Throughput
     is the reminders sent / (their last arrival at the sink - t0), in total and per process.
     Every one must arrive once; the ticks outlast the 2-minute lease, which is where a
     second daemon could claim a batch still being sent. ``--box`` / ``--box-two`` (seconds)
     time-box the one- and two-process runs instead: the rows still pending at t0 + box are
     cancelled (as a plan change would) and the workers finish the batches they hold. The
     time from t0 to arrival is queueing, shown for information.
  b. steady load at the target: the fire_at of STEADY_SECONDS worth of reminders is spread
     evenly at TARGET_RATE per process (fire_at = t1 + i / rate), so they fall due during the
     run; the delay is the first arrival at the sink - fire_at (median, p99, max). The delay
     target is judged here: p99 < 2 s while 500 reminders/s per process fall due.
  Both check exactly-once: the sink's webhook-ids are exactly the sent rows' batch keys, none
  twice, and no row is left claimed or pending.
  Configurations: SQLite with one process; PostgreSQL with one and with two processes (the two
  claim with FOR UPDATE SKIP LOCKED; on a 2-core machine they share the cores with the sink and
  PostgreSQL, so two processes cannot show a 2x).
  c. memory: a PostgreSQL store holding 1,000,000 pending reminders, all in the future (500
     deadlines x 2,000 units of one group, COPY), exactly the rows ``sync_reminders`` wants; a
     fresh process runs ``Dispatcher.tick(now)`` and ``outstanding(now)``, then a full
     ``sync_reminders`` pass (the daemon's, at start and every hour), and reports its peak RSS
     after start-up and after each step. Peak RSS is the kernel's high-water mark of the
     process (VmHWM); ``resource.getrusage``'s maxrss would not do in a spawned child: Linux
     carries it across exec, so a child starts with the parent's peak (shown for reference).
and prints each figure next to its target with PASS or MISS. Every database is dropped at the
end (SQLite in a temporary folder; PostgreSQL databases jiedian_bench_*, even on errors).

Run:  .venv/bin/python bench/dispatch.py [--only sqlite pg1 pg2 memory] [--reminders N]
      [--box SECONDS] [--box-two SECONDS] [--steady-rate PER_SECOND] [--profile]
      [--connections N]
      (or: make bench; about 8 minutes on 2 cores)
``--profile`` prints each worker's cProfile (top functions by cumulative time; it slows the
worker enough for sends to time out, so read it for shares, not rates). ``--connections`` is
a diagnosis: the pool size and sends in flight (``scheduler._dispatch.CONNECTIONS``).

Where the time goes (2.1 GHz Xeon, 2 cores, PostgreSQL, one worker, ``--profile``): about
1.1 ms of CPU per reminder. Two thirds is the send (httpx's request building and aiohttp,
notifiers/_http.py; httpx's own transport, httpcore, cost three times as much, see
bench/webhooks.py); the rest is the store and the message: claim (UPDATE … RETURNING) about
0.23 ms, the batch's units and channels 0.13 ms, render and record about 0.2 ms.
"""

import argparse
import asyncio
import cProfile
import importlib.util
import io
import multiprocessing as mp
import os
import pstats
import queue
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import notifiers
import plans
import scheduler
from scheduler import _dispatch as dispatch_module
from scheduler._models import (
    ChannelRow,
    MilestoneRow,
    OccurrenceRow,
    OccurrenceUnitRow,
    PersonRow,
    PlanRow,
    PlanYearRow,
    ReminderRow,
    UnitMembershipRow,
    UnitRow,
)
from scheduler._reminders import Policy, fire_time, node_moment, sync_reminders

_spec = importlib.util.spec_from_file_location("jiedian_bench_webhook",
                                               Path(__file__).with_name("webhooks.py"))
webhook_bench = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(webhook_bench)  # type: ignore[union-attr]

PG_ADMIN_URL = os.environ.get("JIEDIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REMINDERS, OCCURRENCES, TICK, STEADY_SECONDS, LEAD = 100_000, 100, 0.2, 20.0, 3.0
MEMORY_UNITS, MEMORY_OCCURRENCES = 2_000, 500  # 1,000,000 pending reminders
TARGET_RATE, TARGET_P99_S, TARGET_MEMORY_MB = 500.0, 2.0, 300.0
SECRET_ENV, SECRET = webhook_bench.SECRET_ENV, webhook_bench.SECRET
WORKER_TIMEOUT, BOX = 900.0, 0.0
GROWTH_PENDING, GROWTH_SENT, GROWTH_BOX = (20_000, 100_000, 400_000), 1_000_000, 10.0
GROWTH_KEPT, GROWTH_TARGET = 0.90, 1_500.0  # issue 15: at 400k, >= 90% of the 20k rate, and 1,500/s
R = ReminderRow.__table__  # type: ignore[attr-defined]


def say(line: str) -> None:
    print(line, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mb() -> float:
    """getrusage's maxrss: in a spawned child, at least the parent's peak (kept across exec)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(model: Any) -> Any:
    return model.__table__


# --- the store -----------------------------------------------------------------------------


def plan_rows(now: datetime, occurrences: int, first: date, remind: str) -> tuple[list, list, list, list]:
    """One plan stored for one year (its plan and plan_year rows), ``occurrences`` milestones
    each with one deadline occurrence (one a day)."""
    plan = [{"id": "bench", "title": "2026年党建工作要点（基准）", "issuer": "县委组织部",
             "issued": None, "year": first.year, "applied_year": first.year,
             "timezone": "Asia/Shanghai", "source_path": None, "content_hash": "bench",
             "document": {}, "status": "active", "created_at": now, "updated_at": now,
             "removed_at": None}]
    years = [{"plan_id": "bench", "year": first.year, "title": plan[0]["title"], "issuer": "县委组织部",
              "base_year": first.year, "source_path": None, "content_hash": "bench", "document": {},
              "status": "active", "created_at": now, "updated_at": now}]
    milestones, rows = [], []
    for k in range(occurrences):
        due = first + timedelta(days=k % 360)
        milestones.append({"plan_id": "bench", "year": first.year, "key": f"m{k:03d}", "position": k,
                           "title": f"报送第{k + 1}项工作情况", "when": "月底前", "kind": "deadline",
                           "workdays": "calendar", "remind": [remind], "source": None})
        rows.append({"id": f"bench/m{k:03d}/{due.isoformat()}", "plan_id": "bench", "plan_year": first.year,
                     "milestone_key": f"m{k:03d}", "title": f"报送第{k + 1}项工作情况",
                     "kind": "deadline", "start": due, "end": due, "due": due,
                     "part_of_day": None, "source": None, "fingerprint": f"{k:064d}",
                     "sequence": 0, "status": "active", "created_at": now, "updated_at": now,
                     "cancelled_at": None, "ical_event": None, "ical_alarms": None,
                     "ical_version": 0})
    return plan, years, milestones, rows


def chunks(rows: list[dict[str, Any]], size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def build_directory(engine: Engine, units: int, url: str, now: datetime,
                    group: bool = False) -> None:
    """``units`` units (ids 1…), each with a person and a webhook channel to ``url``."""
    unit_rows = [{"id": i, "name": f"第{i}村党支部", "name_key": f"第{i}村党支部",
                  "is_group": False, "feed_token": f"{i:032x}", "ack_token": f"a{i:031x}", "created_at": now,
                  "updated_at": now} for i in range(1, units + 1)]
    people = [{"id": i, "unit_id": i, "position": 0, "name": "王芳",
               "mobile": f"138{i:08d}"} for i in range(1, units + 1)]
    channels = [{"id": f"hook-{i}", "unit_id": i, "kind": "webhook", "enabled": True,
                 "config": {"url": url, "secret_env": SECRET_ENV}} for i in range(1, units + 1)]
    with engine.begin() as conn:
        for model, rows in ((UnitRow, unit_rows), (PersonRow, people), (ChannelRow, channels)):
            for part in chunks(rows):
                conn.execute(insert(table(model)), part)
        if group:
            conn.execute(insert(table(UnitRow)), [{
                "id": units + 1, "name": "各村党支部", "name_key": "各村党支部", "is_group": True,
                "feed_token": "f" * 32, "ack_token": "a" * 32, "created_at": now, "updated_at": now}])
            conn.execute(insert(table(UnitMembershipRow)), [
                {"unit_id": i, "group_id": units + 1} for i in range(1, units + 1)])
        if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for name in ("unit", "person"):
                conn.execute(text(f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))"))


def add_reminders(engine: Engine, units: range, offset: str, fire_at: list[datetime],
                  node_at: datetime, now: datetime) -> None:
    """One pending reminder per unit in ``units`` (occurrences in turn), fire_at as given."""
    with engine.begin() as conn:
        occurrences = list(conn.execute(select(table(OccurrenceRow).c.id).order_by(
            table(OccurrenceRow).c.id)).scalars())
        rows = [{"occurrence_id": occurrences[u % len(occurrences)], "unit_id": u,
                 "unit_name": f"第{u}村党支部", "channel_id": f"hook-{u}", "offset": offset,
                 "fire_at": fire, "node_at": node_at, "status": "pending", "attempts": 0,
                 "late": False, "created_at": now, "updated_at": now}
                for u, fire in zip(units, fire_at, strict=True)]
        for part in chunks(rows):
            conn.execute(insert(R), part)


def open_dispatch_store(url: str, sink_url: str, now: datetime) -> Engine:
    engine = scheduler.open_store(url)
    plan, years, milestones, occurrences = plan_rows(now, OCCURRENCES, (now + timedelta(days=7)).date(),
                                              "-7d 09:00")
    with engine.begin() as conn:
        conn.execute(insert(table(PlanRow)), plan)
        conn.execute(insert(table(PlanYearRow)), years)
        conn.execute(insert(table(MilestoneRow)), milestones)
        conn.execute(insert(table(OccurrenceRow)), occurrences)
        conn.execute(insert(table(OccurrenceUnitRow)), [
            {"occurrence_id": o["id"], "role": "lead", "name": "县委组织部", "name_key": "县委组织部"}
            for o in occurrences])
    return engine


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped on the way out."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"jiedian_bench_{label}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable() -> str | None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        admin.dispose()
    return None


# --- the workers (separate processes) --------------------------------------------------------


def worker(url: str, name: str, go: Any, until: Any, options: argparse.Namespace,
           out: Any) -> None:
    """Tick every TICK seconds on the real clock until nothing is left (and ``until`` passed)."""
    profile = options.profile
    engine = scheduler.open_store(url, migrate_schema=False)
    dispatcher = scheduler.Dispatcher(engine, worker=name, secrets=notifiers.Secrets(
        {SECRET_ENV: SECRET}), in_flight=options.connections or dispatch_module.CONNECTIONS)
    totals: Counter[str] = Counter()
    durations: list[float] = []
    profiler = cProfile.Profile() if profile else None
    out.put(("ready", name))
    go.wait()
    started, cpu = time.time(), time.process_time()
    deadline = started + WORKER_TIMEOUT
    while time.time() < deadline:
        began = time.time()
        now = datetime.now(UTC)
        if profiler is not None:
            profiler.enable()
        report = dispatcher.tick(now)
        if profiler is not None:
            profiler.disable()
        durations.append(time.time() - began)
        for key in ("claimed", "sent", "messages", "retried", "failed", "missed", "late"):
            totals[key] += getattr(report, key)
        if not report.claimed and began >= until.value and dispatcher.outstanding(now) == 0:
            break
        time.sleep(max(0.0, began + TICK - time.time()))
    summary = {"name": name, "wall": time.time() - started, "cpu": time.process_time() - cpu,
               "ticks": len(durations), "busy": sum(durations), "max_tick": max(durations),
               "peak_rss": peak_rss_mb(), **totals}
    if profiler is not None:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(60)
        summary["profile"] = buffer.getvalue()
    dispatcher.close()
    engine.dispose()
    out.put(("done", summary))


def run_workers(url: str, count: int, release: Callable[[], tuple[float, float]],
                options: argparse.Namespace, box: float = 0.0,
                cancel: Callable[[], int] | None = None,
                ) -> tuple[float, list[dict[str, Any]], int]:
    """Start ``count`` workers; once they are ready, ``release()`` adds the reminders and returns
    (t0, the last fire_at); the workers go, and stop when nothing is left after the last fire_at.
    With a time ``box`` (seconds after t0), ``cancel()`` then cancels what is still pending and
    returns how many; the workers finish the batches they hold."""
    context = mp.get_context("spawn")
    go, out, until = context.Event(), context.Queue(), context.Value("d", 0.0)
    procs = [context.Process(target=worker, args=(url, f"bench-{i + 1}", go, until, options, out))
             for i in range(count)]
    cancelled = 0
    try:
        for proc in procs:
            proc.start()
        for _ in procs:
            kind, _name = out.get(timeout=120)
            assert kind == "ready"
        t0, until.value = release()
        go.set()
        summaries: list[dict[str, Any]] = []
        boxed = bool(box and cancel is not None)
        while len(summaries) < count:
            wait = box - (time.time() - t0) if boxed else WORKER_TIMEOUT + 60
            try:
                summaries.append(out.get(timeout=max(wait, 0.01))[1])
            except queue.Empty:
                if not boxed:
                    raise
                cancelled, boxed = cancel() if cancel else 0, False
        for proc in procs:
            proc.join(timeout=60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()
    return t0, summaries, cancelled


# --- one configuration -------------------------------------------------------------------------


def quantiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return statistics.median(values), cuts[98], max(values)


def check(engine: Engine, sink: Any,
          offset: str) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """The sink's counts and the rows' statuses, and (fire_at, first arrival) of every row sent.

    ``ok``: every row is sent or cancelled (none left claimed or pending), the sink saw exactly
    the sent rows' webhook-ids, each once."""
    stats = sink.stats(ids=True)
    with Session(engine) as session:
        rows = session.execute(select(R.c.batch_key, R.c.fire_at, R.c.status).where(
            R.c.offset == offset)).all()
    statuses = Counter(r.status for r in rows)
    arrivals, keys = [], set()
    for row in rows:
        if row.status != "sent":
            continue
        keys.add(row.batch_key)
        entry = stats["ids"].get(row.batch_key)
        fire = row.fire_at if row.fire_at.tzinfo else row.fire_at.replace(tzinfo=UTC)
        if entry is not None:
            arrivals.append((fire.timestamp(), entry[1]))
    ok = (set(stats["ids"]) == keys and stats["duplicates"] == 0
          and set(statuses) <= {"sent", "cancelled"})
    return {"distinct": stats["distinct"], "duplicates": stats["duplicates"],
            "posts": stats["posts"], "statuses": dict(statuses), "ok": ok}, arrivals


def show_workers(summaries: list[dict[str, Any]]) -> None:
    for s in sorted(summaries, key=lambda s: s["name"]):
        say(f"     worker {s['name']}: {s['sent']:,} reminders in {s['messages']:,} messages "
            f"({s['retried']} retried, {s['failed']} failed, {s['late']} late), {s['ticks']} "
            f"ticks, busy {s['busy']:.1f} of {s['wall']:.1f} s (longest tick {s['max_tick']:.1f} "
            f"s), CPU {s['cpu']:.1f} s, peak RSS {s['peak_rss']:.0f} MB")
        if "profile" in s:
            say("     " + s["profile"].replace("\n", "\n     "))


def configuration(label: str, url: str, processes: int, options: argparse.Namespace,
                  results: dict[str, Any]) -> None:
    reminders, box = options.reminders, options.box if processes == 1 else options.box_two
    say(f"\n== {label}: {processes} process{'es' if processes > 1 else ''}, "
        f"{reminders:,} reminders ==")
    with webhook_bench.Sink() as sink:
        start = time.time()
        now = datetime.now(UTC)
        engine = open_dispatch_store(url, sink.url, now)
        build_directory(engine, reminders, sink.url, now)
        node_at = now + timedelta(days=2)
        say(f"  store: {reminders:,} units with a person and a webhook channel each, "
            f"{OCCURRENCES} occurrences ({time.time() - start:.1f} s)")

        # a. backlog: everything due at once
        def release_backlog() -> tuple[float, float]:
            began = time.time()
            due = datetime.now(UTC)
            add_reminders(engine, range(1, reminders + 1), "-7d 09:00", [due] * reminders,
                          node_at, due)
            say(f"  a. backlog: {reminders:,} reminders due now inserted "
                f"({time.time() - began:.1f} s); workers released"
                + (f", time box {box:.0f} s" if box else ", until all are sent"))
            return time.time(), 0.0

        def cancel_backlog() -> int:
            with engine.begin() as conn:
                return int(conn.execute(update(R).where(
                    R.c.offset == "-7d 09:00", R.c.status == "pending").values(
                    status="cancelled")).rowcount)

        t0, summaries, cancelled = run_workers(url, processes, release_backlog, options, box,
                                               cancel_backlog)
        stats, seen = check(engine, sink, "-7d 09:00")
        sent = stats["statuses"].get("sent", 0)
        last = max(arrived for _, arrived in seen)
        seconds = last - t0
        rate = sent / seconds
        messages = sum(s["messages"] for s in summaries)
        waits = quantiles([arrived - t0 for _, arrived in seen])
        if cancelled:
            say(f"     time box: {cancelled:,} still pending at t0 + {box:.0f} s were cancelled; "
                f"the workers finished the batches they held")
        say(f"     {sent:,} sent in {seconds:.1f} s: {rate:,.0f} reminders/s = "
            f"{rate / processes:,.0f} per process; {messages:,} messages carrying "
            f"{sum(s['sent'] for s in summaries):,} reminders ({messages / seconds:,.0f} "
            f"messages/s)")
        say(f"     sink: {stats['distinct']:,} distinct webhook-ids, {stats['duplicates']} "
            f"duplicates, {stats['posts']:,} POSTs; rows {stats['statuses']}")
        say(f"     time from t0 to arrival (queueing, informational): median {waits[0]:.1f} s, "
            f"p99 {waits[1]:.1f} s")
        show_workers(summaries)

        # b. steady load at the target rate: reminders fall due during the run
        sink.reset()
        offered = options.steady_rate * processes
        count = min(int(offered * STEADY_SECONDS), reminders)
        spacing = 1 / offered

        def release_steady() -> tuple[float, float]:
            began = time.time()
            t1 = datetime.now(UTC) + timedelta(seconds=LEAD)
            add_reminders(engine, range(1, count + 1), "-1d 09:00",
                          [t1 + timedelta(seconds=i * spacing) for i in range(count)], node_at,
                          datetime.now(UTC))
            say(f"  b. steady: {count:,} reminders due from now + {LEAD:.0f} s at "
                f"{offered:,.0f}/s over {count * spacing:.0f} s "
                f"(inserted in {time.time() - began:.1f} s)")
            return t1.timestamp(), t1.timestamp() + (count - 1) * spacing

        t1, summaries, _ = run_workers(url, processes, release_steady, options)
        stats2, seen2 = check(engine, sink, "-1d 09:00")
        delays = [arrived - fire for fire, arrived in seen2]
        delay = quantiles(delays)
        last2 = max(arrived for _, arrived in seen2)
        say(f"     delay fire_at → arrival at the sink: median {delay[0] * 1000:,.0f} ms, "
            f"p99 {delay[1] * 1000:,.0f} ms, max {delay[2] * 1000:,.0f} ms; "
            f"{count / (last2 - t1):,.0f} reminders/s sustained")
        say(f"     sink: {stats2['distinct']:,} distinct webhook-ids, {stats2['duplicates']} "
            f"duplicates; rows {stats2['statuses']}")
        show_workers(summaries)
        engine.dispose()
    ok = stats["ok"] and stats2["ok"] and stats2["statuses"] == {"sent": count}
    results[label] = {"processes": processes, "rate": rate, "per_process": rate / processes,
                      "p99": delay[1], "median": delay[0], "ok": ok, "sent": sent,
                      "steady": count, "reminders": reminders, "offered": offered}


# --- memory --------------------------------------------------------------------------------


def build_memory_store(url: str, now: datetime) -> int:
    """MEMORY_OCCURRENCES deadlines x MEMORY_UNITS units, the reminders sync_reminders makes."""
    engine = scheduler.open_store(url)
    first = (now + timedelta(days=3)).date()
    plan, years, milestones, occurrences = plan_rows(now, MEMORY_OCCURRENCES, first, "-1d 09:00")
    policy, calendar = Policy(), plans.CALENDAR
    with engine.begin() as conn:
        conn.execute(insert(table(PlanRow)), plan)
        conn.execute(insert(table(PlanYearRow)), years)
        conn.execute(insert(table(MilestoneRow)), milestones)
        conn.execute(insert(table(OccurrenceRow)), occurrences)
        conn.execute(insert(table(OccurrenceUnitRow)), [
            {"occurrence_id": o["id"], "role": "unit", "name": "各村党支部", "name_key": "各村党支部"}
            for o in occurrences])
    build_directory(engine, MEMORY_UNITS, "http://127.0.0.1:9/hook", now, group=True)
    offset = plans.parse_offset("-1d 09:00")
    columns = ("occurrence_id", "unit_id", "unit_name", "channel_id", "offset", "fire_at",
               "node_at", "status", "attempts", "late", "created_at", "updated_at")
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        quoted = ", ".join(f'"{c}"' for c in columns)  # "offset" is a reserved word
        with cursor.copy(f"COPY reminder ({quoted}) FROM STDIN") as copy:
            for occ in occurrences:
                node_at = node_moment("deadline", occ["start"], occ["due"], None, policy.zone)
                fire = fire_time(offset, occ["due"], node_at, policy, calendar).astimezone(UTC)
                node_utc = node_at.astimezone(UTC)
                for u in range(1, MEMORY_UNITS + 1):
                    copy.write_row((occ["id"], u, f"第{u}村党支部", f"hook-{u}", offset.text, fire,
                                    node_utc, "pending", 0, False, now, now))
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(R)).scalar_one())
    engine.dispose()
    return count


def add_history(engine: Engine, count: int, now: datetime) -> None:
    """``count`` reminders sent before (a year of them): rows a claim must never read."""
    with engine.connect() as conn:
        occurrences = list(conn.execute(select(table(OccurrenceRow).c.id)).scalars())
    sent_at = now - timedelta(days=30)
    rows = ({"occurrence_id": occurrences[i % len(occurrences)], "unit_id": 1 + i % 1000,
             "unit_name": f"第{1 + i % 1000}村党支部", "channel_id": f"hook-{1 + i % 1000}",
             "offset": f"-{i // 1000}h", "fire_at": sent_at,  # (occurrence, unit) repeats every 1,000
             "node_at": sent_at + timedelta(days=1), "status": "sent", "attempts": 1,
             "late": False, "batch_key": f"old-{i}", "sent_at": sent_at, "created_at": sent_at,
             "updated_at": sent_at} for i in range(count))
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                conn.execute(insert(R), batch)
                batch = []
        if batch:
            conn.execute(insert(R), batch)
    settle_store(engine)


def settle_store(engine: Engine) -> None:
    """After a bulk insert, before the clock starts: what a store at rest has done already
    (statistics, the insert's pages written out), so the figure is the claim's, not the
    autovacuum's or the WAL checkpoint's that the insert itself set off."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE reminder"))
            conn.execute(text("CHECKPOINT"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.execute(text("ANALYZE"))


def channel_ceiling(sink: Any, count: int = 5_000, runs: int = 3) -> float:
    """The signed webhook channel alone, no store, to the same sink, 64 in flight: what this
    machine can send at all (median of ``runs``), the ceiling of any dispatch rate here."""
    async def measure() -> float:
        destination = notifiers.Destination("bench-hook", "webhook",
                                            {"url": sink.url, "secret_env": SECRET_ENV})
        async with webhook_bench.client("aiohttp", dispatch_module.CONNECTIONS) as http:
            channel = notifiers.build(destination, client=http, secrets=notifiers.Secrets({SECRET_ENV: SECRET}))
            gate = asyncio.Semaphore(dispatch_module.CONNECTIONS)  # a sliding window, as the dispatcher's

            async def one(run: int, i: int) -> notifiers.Result:
                async with gate:
                    return await notifiers.deliver(channel, webhook_bench.message(run, i))
            rates = []
            for run in range(runs):
                sink.reset()
                started = time.perf_counter()
                sent = await asyncio.gather(*(one(90 + run, i) for i in range(count)))
                rates.append(count / (time.perf_counter() - started))
                assert all(r.delivered for r in sent)
        return statistics.median(rates)
    return asyncio.run(measure())


def growth(label: str, url: str, options: argparse.Namespace, results: dict[str, Any]) -> None:
    """The backlog's rate as the outbox grows: GROWTH_PENDING due rows in turn, over
    GROWTH_SENT rows sent before, one process, GROWTH_BOX seconds each (what is left is
    cancelled, as a plan change would, and stays in the table)."""
    say(f"\n== growth, {label}: 1 process, {GROWTH_SENT:,} sent rows, then "
        f"{', '.join(f'{n:,}' for n in GROWTH_PENDING)} due ==")
    rates: dict[int, float] = {}
    with webhook_bench.Sink() as sink:
        ceiling = channel_ceiling(sink)
        say(f"  the webhook channel alone, no store, to this sink: {ceiling:,.0f} messages/s "
            f"(median of 3 × 5,000): the most any dispatch rate can be on this machine")
        results[f"ceiling {label}"] = ceiling
        began, now = time.time(), datetime.now(UTC)
        engine = open_dispatch_store(url, sink.url, now)
        build_directory(engine, max(GROWTH_PENDING), sink.url, now)
        add_history(engine, GROWTH_SENT, now)
        say(f"  store: {max(GROWTH_PENDING):,} units, {GROWTH_SENT:,} sent reminders "
            f"({time.time() - began:.0f} s)")
        node_at = now + timedelta(days=2)
        for pending in GROWTH_PENDING:
            sink.reset()
            offset = f"-{pending // 1000}k 09:00"

            def release(pending: int = pending, offset: str = offset) -> tuple[float, float]:
                due = datetime.now(UTC)
                add_reminders(engine, range(1, pending + 1), offset, [due] * pending, node_at, due)
                settle_store(engine)
                return time.time(), 0.0

            def cancel(offset: str = offset) -> int:
                with engine.begin() as conn:
                    return int(conn.execute(update(R).where(R.c.offset == offset, R.c.status == "pending")
                                            .values(status="cancelled")).rowcount)

            t0, _, cancelled = run_workers(url, 1, release, options, GROWTH_BOX, cancel)
            stats, seen = check(engine, sink, offset)
            # the sends that arrived within the box: after it, the cancel of what is left (an
            # UPDATE of up to 390,000 rows) shares the machine with the batches still held
            within = sum(1 for _, arrived in seen if arrived <= t0 + GROWTH_BOX)
            rates[pending] = within / GROWTH_BOX
            say(f"  {pending:>7,} due: {within:,} arrived within {GROWTH_BOX:.0f} s = "
                f"{rates[pending]:,.0f} reminders/s ({stats['statuses'].get('sent', 0):,} sent in all, "
                f"{cancelled:,} left and cancelled); sink duplicates {stats['duplicates']}")
        engine.dispose()
    results[f"growth {label}"] = rates


def memory_probe(url: str, out: Any) -> None:
    """In a fresh process: RSS after start-up, after tick + outstanding, after a full sync."""
    figures: dict[str, Any] = {}
    engine = scheduler.open_store(url, migrate_schema=False)
    dispatcher = scheduler.Dispatcher(engine, worker="memory", secrets=notifiers.Secrets(
        {SECRET_ENV: SECRET}))
    figures["start"] = peak_rss_mb()
    now = datetime.now(UTC)
    began = time.perf_counter()
    report = dispatcher.tick(now)
    figures["tick_s"] = time.perf_counter() - began
    began = time.perf_counter()
    figures["outstanding"] = dispatcher.outstanding(now)
    figures["outstanding_s"] = time.perf_counter() - began
    figures["claimed"] = report.claimed
    figures["tick"] = peak_rss_mb()
    began = time.perf_counter()
    with Session(engine) as session:
        sync = sync_reminders(session, plans.CALENDAR, Policy(), now=now)
        session.commit()
    figures["sync_s"] = time.perf_counter() - began
    figures["sync"] = peak_rss_mb()
    figures["maxrss"] = maxrss_mb()
    figures["sync_report"] = (sync.created, sync.rescheduled, sync.cancelled)
    dispatcher.close()
    engine.dispose()
    out.put(figures)


def memory(results: dict[str, Any]) -> None:
    rows = MEMORY_OCCURRENCES * MEMORY_UNITS
    say(f"\n== memory: the daemon's process with {rows:,} pending reminders (PostgreSQL) ==")
    with postgres_database("memory") as url:
        began = time.time()
        count = build_memory_store(url, datetime.now(UTC))
        say(f"  store: {MEMORY_UNITS:,} units in one group, {MEMORY_OCCURRENCES} deadlines, "
            f"{count:,} pending reminders, all in the future (COPY, {time.time() - began:.0f} s)")
        context = mp.get_context("spawn")
        out = context.Queue()
        proc = context.Process(target=memory_probe, args=(url, out))
        proc.start()
        figures = out.get(timeout=WORKER_TIMEOUT)
        proc.join(timeout=60)
    say(f"  peak RSS (VmHWM) after start-up (imports, engine, Dispatcher): "
        f"{figures['start']:.0f} MB")
    say(f"  after Dispatcher.tick(now) ({figures['claimed']} claimed, {figures['tick_s']:.2f} s) "
        f"and outstanding(now) (= {figures['outstanding']}, {figures['outstanding_s']:.2f} s): "
        f"peak RSS {figures['tick']:.0f} MB")
    created, moved, cancelled = figures["sync_report"]
    say(f"  after a full sync_reminders pass ({figures['sync_s']:.1f} s; {created} created, "
        f"{moved} rescheduled, {cancelled} cancelled): peak RSS {figures['sync']:.0f} MB")
    say(f"  (getrusage maxrss of that process: {figures['maxrss']:.0f} MB, which includes this "
        f"bench process's peak at spawn time)")
    results["memory"] = figures


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+",
                        choices=["sqlite", "pg1", "pg2", "memory", "growth-sqlite", "growth-pg"],
                        default=["sqlite", "pg1", "pg2", "memory", "growth-sqlite", "growth-pg"])
    parser.add_argument("--reminders", type=int, default=REMINDERS)
    parser.add_argument("--box", type=float, default=BOX, metavar="SECONDS",
                        help="time box of the one-process backlog runs (0, the default: send all)")
    parser.add_argument("--box-two", type=float, default=0.0, metavar="SECONDS",
                        help="time box of the two-process backlog run (0, the default: send all)")
    parser.add_argument("--steady-rate", type=float, default=TARGET_RATE, metavar="PER_SECOND",
                        help="reminders falling due per second and process in the steady run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--connections", type=int, default=0,
                        help="diagnosis: the workers' Dispatcher pool size (default: its own)")
    args = parser.parse_args()
    say(f"Dispatch to a local webhook sink (uvicorn, own process); {os.cpu_count()} CPU cores "
        f"shared by the sink, the workers and PostgreSQL; tick every {TICK} s on the real clock; "
        f"Dispatcher defaults (batch 500, {args.connections or dispatch_module.CONNECTIONS} "
        f"connections)")
    results: dict[str, Any] = {}
    begin = time.time()
    unreachable = postgres_reachable()
    if unreachable and any(o != "sqlite" for o in args.only):
        say(f"PostgreSQL unreachable at {PG_ADMIN_URL} ({unreachable}): only SQLite runs")
    for choice in args.only:
        if choice == "growth-sqlite":
            with tempfile.TemporaryDirectory(prefix="jiedian-bench-") as folder:
                growth("SQLite", f"sqlite:///{Path(folder) / 'store.db'}", args, results)
        elif choice == "growth-pg" and not unreachable:
            with postgres_database("growth") as url:
                growth("PostgreSQL", url, args, results)
        elif choice == "sqlite":
            with tempfile.TemporaryDirectory(prefix="jiedian-bench-") as folder:
                configuration("SQLite", f"sqlite:///{Path(folder) / 'store.db'}", 1, args,
                              results)
        elif unreachable:
            continue
        elif choice in ("pg1", "pg2"):
            processes = int(choice[-1])
            with postgres_database(choice) as url:
                configuration(f"PostgreSQL x{processes}", url, processes, args, results)
        else:
            memory(results)
    say(f"\ntargets (whole bench {time.time() - begin:.0f} s):")
    for label, r in results.items():
        if label.startswith("growth"):
            small, large = r[min(r)], r[max(r)]
            say(f"  [{verdict(large >= GROWTH_KEPT * small)}] {label}: at {max(r):,} due the rate "
                f"stays >= {GROWTH_KEPT:.0%} of {min(r):,}'s: {large:,.0f} vs {small:,.0f}/s "
                f"({large / small:.0%})")
            if "PostgreSQL" in label:
                ceiling = results[label.replace("growth", "ceiling")]
                say(f"  [{verdict(min(r.values()) >= GROWTH_TARGET)}] {label}: >= {GROWTH_TARGET:,.0f} "
                    f"reminders/s per process at every size: {', '.join(f'{v:,.0f}' for v in r.values())} "
                    f"(the channel alone, no store: {ceiling:,.0f}/s; dispatch reaches "
                    f"{min(r.values()) / ceiling:.0%} of it)")
            continue
        if label.startswith("ceiling"):
            continue
        if label == "memory":
            continue
        say(f"  [{verdict(r['ok'])}] {label}: every reminder sent exactly once (sink ids == sent "
            f"rows, 0 duplicates, none left claimed): {r['sent']:,} of the backlog, "
            f"{r['steady']:,} steady")
        say(f"  [{verdict(r['per_process'] >= TARGET_RATE)}] {label}: >= {TARGET_RATE:,.0f} "
            f"reminders/s per process: {r['per_process']:,.0f} ({r['rate']:,.0f} in total)")
        say(f"  [{verdict(r['p99'] < TARGET_P99_S)}] {label}: p99 delay < {TARGET_P99_S:.0f} s at "
            f"{r['offered']:,.0f}/s offered: {r['p99'] * 1000:,.0f} ms "
            f"(median {r['median'] * 1000:,.0f} ms)")
    if "memory" in results:
        m = results["memory"]
        say(f"  [{verdict(m['tick'] < TARGET_MEMORY_MB)}] memory < {TARGET_MEMORY_MB:.0f} MB with "
            f"{MEMORY_OCCURRENCES * MEMORY_UNITS:,} pending, tick + outstanding: {m['tick']:.0f} MB")
        say(f"  [{verdict(m['sync'] < TARGET_MEMORY_MB)}] memory < {TARGET_MEMORY_MB:.0f} MB with "
            f"{MEMORY_OCCURRENCES * MEMORY_UNITS:,} pending, incl. the hourly sync_reminders: "
            f"{m['sync']:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
