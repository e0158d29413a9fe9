"""Feed speed: render a unit feed of 5,000 events; 200s and 304s over loopback.

    .venv/bin/python bench/feeds.py

Builds an SQLite store with one unit and 5,000+ occurrences addressed to it
(100 milestones of 每周五上午 / 每周一 …, imported the normal way; an import leaves the
VEVENTs stale and the daemon's warm-up renders them, as here before measuring), then measures:

- ``render_feed`` for that unit (median of 9; and once with the stored
  VEVENTs invalidated, i.e. everything rendered on the spot, for reference);
- over HTTP, one uvicorn worker in a separate process on 127.0.0.1: the
  latency of a full 200 and of a 304 (If-None-Match), median of sequential
  requests, and requests per second of 304s with 64 keep-alive connections
  from ``wrk`` (Debian's package; without it, two Python client processes,
  which saturate before the server does).

Targets: render < 300 ms; 304 median < 5 ms; ≥ 1,000 304s per second on one worker.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlmodel import Session

from scheduler._feeds import render_stale

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plans
import scheduler
from scheduler._models import OccurrenceRow

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WHEN = ["每周五上午", "每周一", "每周三", "每周二", "每周四下午"]


def build(folder: Path) -> tuple[str, str]:
    units = folder / "units.yaml"
    units.write_text("units:\n  - name: 镇党建办\n    channels: [{id: c, kind: console}]\n",
                     encoding="utf-8")
    milestones = "".join(textwrap.dedent(f"""\
          - id: m{i}
            title: 第{i}项例行工作（党代表接待、学习、报送）
            when: {WHEN[i % len(WHEN)]}
            lead: [镇党建办]
            source: 第{i}项工作按时开展。
        """) for i in range(100))
    plan = folder / "plan.yaml"
    plan.write_text(f"id: bench-feed\ntitle: 镇2026年党建工作要点\nyear: 2026\nmilestones:\n"
                    f"{textwrap.indent(milestones, '  ')}", encoding="utf-8")
    url = f"sqlite:///{folder / 'feeds.db'}"
    engine = scheduler.open_store(url)
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(units), now=NOW)
        scheduler.import_plan(session, plans.load_plan(plan, plans.CALENDAR), plans.CALENDAR,
                              now=NOW)
        session.commit()
        token = scheduler.find_unit(session, "镇党建办").feed_token  # type: ignore[union-attr]
    engine.dispose()
    return url, token


def render_times(url: str, token: str) -> None:
    engine = scheduler.open_store(url)
    with Session(engine) as session:
        scope = scheduler.scope_unit_token(session, token)
        times, feed = [], None
        for _ in range(9):
            started = time.perf_counter()
            feed = scheduler.render_feed(session, scope, plans.CALENDAR, now=NOW)  # type: ignore[arg-type]
            times.append((time.perf_counter() - started) * 1000)
        session.execute(update(OccurrenceRow.__table__).values(ical_version=0))  # type: ignore[attr-defined]
        started = time.perf_counter()
        scheduler.render_feed(session, scope, plans.CALENDAR, now=NOW)  # type: ignore[arg-type]
        cold = (time.perf_counter() - started) * 1000
        session.rollback()
    engine.dispose()
    median = statistics.median(times)
    print(f"render_feed, unit feed of {feed.count:,} events ({len(feed.body):,} bytes):")  # type: ignore[union-attr]
    print(f"  median {median:.0f} ms of 9 (min {min(times):.0f}, max {max(times):.0f})")
    print(f"  everything rendered on the spot (stored VEVENTs stale): {cold:.0f} ms (reference)")
    print(f"  [{'PASS' if median < 300 else 'MISS'}] render < 300 ms")


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    code = textwrap.dedent(f"""
        import uvicorn
        from datetime import datetime, UTC
        import plans, scheduler
        engine = scheduler.open_store({url!r})
        app = scheduler.create_app(engine, plans.CALENDAR, clock=lambda: datetime(2026, 3, 2, 1, tzinfo=UTC),
                                   base_url="http://127.0.0.1:{port}")
        uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
    """)
    return subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent)


def latency(path: str, port: int, etag: str | None, count: int = 200) -> list[float]:
    times = []
    headers = {"If-None-Match": etag} if etag else {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == (304 if etag else 200), response.status_code
    return times


def _hammer(args: tuple[int, str, str, float]) -> int:
    port, path, etag, seconds = args

    async def run() -> int:
        done = 0
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
            end = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < end:
                    response = await client.get(path, headers={"If-None-Match": etag})
                    assert response.status_code == 304
                    done += 1

            await asyncio.gather(*(worker() for _ in range(32)))
        return done

    return asyncio.run(run())


def http_figures(url: str, token: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = serve(url, port)
    path = f"/feeds/u/{token}.ics"
    try:
        for _ in range(200):
            try:
                first = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # the server process starting up
        etag = first.headers["etag"]
        full = latency(path, port, None, 30)
        not_modified = latency(path, port, etag)
        seconds = 5.0
        if shutil.which("wrk"):  # a load generator in C: the Python client is the bottleneck
            tool = "wrk -t2 -c64"
            result = subprocess.run(
                ["wrk", "-t2", "-c64", f"-d{seconds:.0f}s", "-H", f"If-None-Match: {etag}",
                 f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True)
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)[1])  # type: ignore[index]
        else:
            tool = "2 httpx client processes, 64 connections (apt install wrk for a truer figure)"
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                done = sum(pool.map(_hammer, [(port, path, etag, seconds)] * 2))
            rate = done / seconds
    finally:
        server.terminate()
        server.wait()
    print("HTTP on 127.0.0.1, one uvicorn worker:")
    print(f"  200 (full feed, {len(first.content):,} bytes): median {statistics.median(full):.1f} ms")
    median = statistics.median(not_modified)
    p99 = sorted(not_modified)[int(len(not_modified) * 0.99) - 1]
    print(f"  304 (If-None-Match): median {median:.2f} ms, p99 {p99:.2f} ms")
    print(f"  304s per second ({tool}): {rate:,.0f}/s")
    print(f"  [{'PASS' if median < 5 else 'MISS'}] 304 median < 5 ms")
    print(f"  [{'PASS' if rate >= 1000 else 'MISS'}] >= 1,000 304s per second on one worker")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        url, token = build(Path(folder))
        print(f"store built (the import renders nothing) in {time.perf_counter() - started:.1f} s")
        warmed = time.perf_counter()
        engine = scheduler.open_store(url)
        with Session(engine) as session:  # what the daemon's warm-up does between ticks
            while render_stale(session, plans.CALENDAR, limit=500):
                session.commit()
        engine.dispose()
        print(f"daemon warm-up: every stale VEVENT rendered in {time.perf_counter() - warmed:.1f} s")
        render_times(url, token)
        http_figures(url, token)
    os.environ.pop("JIEDIAN_NOW", None)


if __name__ == "__main__":
    main()
