"""The dispatcher's own cost per reminder: claim, message, recording — without the network.

bench/dispatch.py measures reminders end to end to a webhook sink; on a 2-core machine the
send through httpx and aiohttp is about half of a worker's CPU. This bench keeps the other
half apart: the same store as bench/dispatch.py's backlog (REMINDERS units, a webhook
channel and one due reminder each), ``Dispatcher.tick`` until all are sent, through a channel
that answers delivered at once. It prints, per database, the reminders per second and the
worker's CPU per reminder (median of RUNS runs, each on a fresh store), so a change to the
store side can be judged without the sink's noise.

Run:  .venv/bin/python bench/dispatch_store.py [--reminders N] [--runs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import notifiers
import scheduler
from notifiers import Channel, Message, Outcome, Result
from scheduler import _dispatch as dispatch_module

_spec = importlib.util.spec_from_file_location("jiedian_bench_dispatch", Path(__file__).with_name("dispatch.py"))
bench = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


class Instant(Channel):
    """A webhook that is never called: every send is delivered at once."""

    kind = "webhook"

    async def send(self, message: Message) -> Result:
        return Result(Outcome.DELIVERED, "200")


def one_run(url: str, reminders: int) -> tuple[float, float]:
    """(reminders per second, CPU ms per reminder) for one fresh store at ``url``."""
    now = datetime.now(UTC)
    engine = bench.open_dispatch_store(url, "http://127.0.0.1:9/hook", now)
    bench.build_directory(engine, reminders, "http://127.0.0.1:9/hook", now)
    bench.add_reminders(engine, range(1, reminders + 1), "-7d 09:00", [now] * reminders,
                        now + timedelta(days=2), now)
    dispatcher = scheduler.Dispatcher(engine, worker="store-bench",
                                      secrets=notifiers.Secrets({bench.SECRET_ENV: bench.SECRET}))
    started, cpu, sent = time.perf_counter(), time.process_time(), 0
    try:
        while sent < reminders:
            report = dispatcher.tick(datetime.now(UTC))
            if not report.claimed:
                raise SystemExit(f"stalled at {sent:,} of {reminders:,} sent")
            sent += report.sent
    finally:
        dispatcher.close()
        engine.dispose()
    return sent / (time.perf_counter() - started), (time.process_time() - cpu) / sent * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    original = dispatch_module.notifiers.build
    dispatch_module.notifiers.build = lambda destination, **kw: Instant(destination, **kw)  # type: ignore[assignment]
    try:
        print(f"Dispatch without the network: {args.reminders:,} due reminders, one per unit, "
              f"a channel that answers at once; median of {args.runs} runs")
        for label in ("SQLite", "PostgreSQL"):
            figures = []
            for run in range(args.runs):
                if label == "SQLite":
                    with tempfile.TemporaryDirectory(prefix="jiedian-bench-") as folder:
                        figures.append(one_run(f"sqlite:///{Path(folder) / 'store.db'}", args.reminders))
                elif (unreachable := bench.postgres_reachable()) is None:
                    with bench.postgres_database(f"store{run}") as url:
                        figures.append(one_run(url, args.reminders))
                else:
                    print(f"  PostgreSQL unreachable ({unreachable}): skipped")
                    break
            if figures:
                rate = statistics.median(f[0] for f in figures)
                cpu = statistics.median(f[1] for f in figures)
                print(f"  {label}: {rate:,.0f} reminders/s, worker CPU {cpu:.3f} ms per reminder "
                      f"(the rest of a send's cost is the channel's: bench/webhooks.py)")
    finally:
        dispatch_module.notifiers.build = original  # type: ignore[assignment]


if __name__ == "__main__":
    main()
