"""Benchmark the generic webhook channel: messages per second from one process, and its memory.

What it measures:
  1. A sink: a raw ASGI app under uvicorn in a separate process (so it does not take the
     client's core), answering 200 to every POST and counting each ``webhook-id``.
  2. The client: this process, one ``httpx.AsyncClient`` (HTTP/1.1 keep-alive, at most
     MAX_CONNECTIONS connections), one ``WebhookChannel`` with a ``whsec_`` secret (every
     request signed, as in production), sending realistic Chinese reminder messages through
     ``notifiers.deliver`` in waves of CONCURRENCY concurrent sends (``asyncio.gather``).
  3. Messages per second: RUNS runs of MESSAGES messages each (median, min, max), every one
     delivered and counted once by the sink (distinct webhook-ids == sent, no duplicates);
     the send latency the channel reports (median and p99).
  4. The client's memory: the process RSS after start-up and after the runs, its peak
     (``resource.getrusage`` maxrss), and the tracemalloc peak of one more run (tracemalloc
     slows Python down, so that run is not timed).
and prints each figure next to its target with PASS or MISS.

Run:  .venv/bin/python bench/webhooks.py [--runs 5] [--messages 5000] [--concurrency 64]
      [--max-connections 16] [--transport both|aiohttp|httpcore]   (or: make bench)
The sink alone (bench/dispatch.py starts it this way):
      .venv/bin/python bench/webhooks.py --serve-sink PORT

Two transports under the same ``httpx.AsyncClient`` and channel, so the ratio shows what the
choice in notifiers/_http.py buys: ``aiohttp`` (what channels use, through httpx-aiohttp) and
``httpcore`` (httpx's own). Where the time went with httpcore (cProfile; httpx 0.28.1, httpcore
1.0.9, a 2.1 GHz Xeon): about 1.9 ms of CPU per message, nearly all of it in httpcore and h11,
against about 0.1 ms for the channel's own work (JSON, HMAC, headers). Two of httpcore's costs
are worth knowing even now it is out of the send path:
  - it runs ``import sniffio`` for every lock and event it sets up, and anyio >= 4.11 no longer
    installs sniffio; Python does not cache a failed import, so each one searched sys.path again
    (encode/httpcore#1103). pyproject.toml depends on sniffio for that reason.
  - its pool walks all its connections on every request, and for each idle one counts the idle
    ones again, so its cost grows faster than the pool; hence small pools.
"""

import argparse
import asyncio
import base64
import json
import resource
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from time import perf_counter
from typing import Any, Self

import httpx

import notifiers
from notifiers import Destination, Message, Secrets

RUNS, MESSAGES, CONCURRENCY, MAX_CONNECTIONS = 5, 5_000, 64, 16
TARGET_RATE = 1_000.0  # messages per second from one process
SECRET_ENV = "BENCH_HOOK_SECRET"
SECRET = "whsec_" + base64.b64encode(b"jiedian-bench-secret-0123456789abcdef").decode()
SCRIPT = Path(__file__).resolve()


# --- the sink (a separate process) ---------------------------------------------------------


def sink_app() -> Any:
    """A raw ASGI app: POST → 200 and counted by webhook-id; GET /stats; POST /reset."""
    seen: dict[str, list[float]] = {}  # webhook-id → [count, first arrival, last arrival]
    posts = [0]

    async def reply(send: Any, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the body
            more = (await receive()).get("more_body", False)
        if scope["method"] == "GET" and scope["path"] == "/stats":
            ids = scope["query_string"] != b"summary"
            duplicates = sum(1 for entry in seen.values() if entry[0] > 1)
            body = {"posts": posts[0], "distinct": len(seen), "duplicates": duplicates}
            if ids:
                body["ids"] = seen
            await reply(send, 200, json.dumps(body).encode())
            return
        if scope["method"] == "POST" and scope["path"] == "/reset":
            seen.clear()
            posts[0] = 0
            await reply(send, 200, b"{}")
            return
        now = time.time()
        key = next((v.decode() for k, v in scope["headers"] if k == b"webhook-id"), "")
        posts[0] += 1
        entry = seen.get(key)
        if entry is None:
            seen[key] = [1, now, now]
        else:
            entry[0] += 1
            entry[2] = now
        await reply(send, 200, b'{"ok":true}')

    return app


def serve_sink(port: int) -> None:
    import uvicorn

    uvicorn.run(sink_app(), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, lifespan="off", timeout_keep_alive=60, backlog=4096)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The sink process: ``url`` to POST to, ``stats()``, ``reset()``; stopped on exit."""

    def __init__(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + "/hook"
        self.process = subprocess.Popen([sys.executable, str(SCRIPT), "--serve-sink", str(port)])
        for _ in range(200):  # its start-up: poll until it answers
            try:
                httpx.get(self.base + "/stats?summary", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the sink did not start")

    def stats(self, ids: bool = False) -> dict[str, Any]:
        query = "" if ids else "?summary"
        return dict(httpx.get(self.base + "/stats" + query, timeout=60).json())

    def reset(self) -> None:
        httpx.post(self.base + "/reset", timeout=10)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# --- the client ----------------------------------------------------------------------------


def rss_mb() -> float:
    """The current resident set size of this process (Linux: /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def message(run: int, i: int) -> Message:
    """A reminder as the dispatcher renders one (about 1 KB of JSON, Chinese text)."""
    node = f"报送第{i % 12 + 1}季度党建工作情况"
    item = (f"【2026年党建工作要点】{node}\n截止：3月31日（周二），还有3天\n"
            f"牵头单位：县委组织部\n责任单位：各乡镇党委、各县直部门")
    return Message(
        title=f"【节点提醒】{node} · 还有3天",
        text=item + "\n\n日历订阅：https://jiedian.example.cn/feeds/u/3f9c2a7e5b1d4c8a.ics",
        markdown=f"### 【节点提醒】{node} · 还有3天\n\n**{node}**\n- 计划：2026年党建工作要点\n"
                 "- 截止：3月31日（周二），**还有3天**\n- 牵头单位：县委组织部\n"
                 "- 责任单位：各乡镇党委、各县直部门\n\n[订阅日历](https://jiedian.example.cn/)",
        idempotency_key=f"jd-bench-{run:02d}-{i:06d}",
        fields={"plan": "2026年党建工作要点", "node": node, "countdown": "还有3天"},
        mention_mobiles=("13800000001",),
    )


async def one_run(channel: notifiers.Channel, run: int, count: int,
                  concurrency: int) -> tuple[float, list[notifiers.Result]]:
    results: list[notifiers.Result] = []
    start = perf_counter()
    for first in range(0, count, concurrency):
        wave = [message(run, i) for i in range(first, min(first + concurrency, count))]
        results += await asyncio.gather(*(notifiers.deliver(channel, m) for m in wave))
    return perf_counter() - start, results


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def client(transport: str, connections: int) -> httpx.AsyncClient:
    if transport == "aiohttp":
        return notifiers.http_client(connections=connections)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return notifiers.http_client(transport=httpx.AsyncHTTPTransport(limits=limits))


async def bench(sink: Sink, transport: str, runs: int, count: int, concurrency: int,
                connections: int) -> float:
    secrets = Secrets({SECRET_ENV: SECRET})
    destination = Destination("bench-hook", "webhook", {"url": sink.url, "secret_env": SECRET_ENV},
                              unit="第1村党支部")
    rss_start, maxrss_start = rss_mb(), maxrss_mb()
    print(f"  client RSS after start-up {rss_start:.1f} MB (peak so far {maxrss_start:.1f} MB)")
    async with client(transport, connections) as http:
        channel = notifiers.build(destination, client=http, secrets=secrets)
        rates, latencies, rss_after, cpu = [], [], [], []
        for run in range(runs):
            sink.reset()
            started = time.process_time()
            seconds, results = await one_run(channel, run, count, concurrency)
            cpu.append((time.process_time() - started) / count * 1000)
            stats = sink.stats()
            delivered = sum(r.delivered for r in results)
            if delivered != count or stats["distinct"] != count or stats["duplicates"]:
                raise SystemExit(f"run {run + 1}: {delivered} delivered, sink saw {stats}; "
                                 f"first failure: {next(r for r in results if not r.delivered)}")
            rates.append(count / seconds)
            latencies += [r.latency_ms for r in results]
            rss_after.append(rss_mb())
            print(f"  run {run + 1}: {count:,} messages in {seconds:.2f} s = "
                  f"{rates[-1]:,.0f} msg/s, {cpu[-1]:.2f} ms CPU/msg; sink: "
                  f"{stats['distinct']:,} distinct webhook-ids, {stats['duplicates']} duplicates; "
                  f"RSS {rss_after[-1]:.1f} MB")
        maxrss_runs = maxrss_mb()
        sink.reset()
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _, results = await one_run(channel, runs, count, concurrency)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert all(r.delivered for r in results)
    median = statistics.median(rates)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"\n  messages per second: median {median:,.0f} of {runs} runs "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}); client CPU per message: median "
          f"{statistics.median(cpu):.2f} ms")
    print(f"  send latency (channel's latency_ms, {len(latencies):,} sends, {concurrency} in "
          f"flight): median {statistics.median(latencies):.1f} ms, p99 {cuts[98]:.1f} ms")
    print(f"  memory: RSS {rss_start:.1f} MB after start-up, {rss_after[0]:.1f} MB after run 1, "
          f"{rss_after[-1]:.1f} MB after run {runs}; peak RSS (maxrss) {maxrss_runs:.1f} MB "
          f"= +{maxrss_runs - maxrss_start:.1f} MB over start-up")
    print(f"  tracemalloc peak during one run of {count:,} (untimed): "
          f"{(peak - base) / 2**20:.2f} MB above the {base / 2**20:.2f} MB traced at its start")
    print("  targets:")
    print(f"    [{verdict(median >= TARGET_RATE)}] >= {TARGET_RATE:,.0f} messages/s from one "
          f"process: median {median:,.0f} msg/s")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS)
    parser.add_argument("--transport", choices=["both", "aiohttp", "httpcore"], default="both",
                        help="aiohttp: what channels use; httpcore: httpx's own, for the ratio")
    parser.add_argument("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return
    transports = ["aiohttp", "httpcore"] if args.transport == "both" else [args.transport]
    medians: dict[str, float] = {}
    with Sink() as sink:
        for transport in transports:
            print(f"\nWebhook channel → local sink (uvicorn, separate process), transport "
                  f"{transport}: {args.runs} runs of {args.messages:,} signed messages, waves of "
                  f"{args.concurrency} concurrent sends, one httpx.AsyncClient (at most "
                  f"{args.max_connections} keep-alive connections)")
            medians[transport] = asyncio.run(bench(sink, transport, args.runs, args.messages,
                                                   args.concurrency, args.max_connections))
    if len(medians) == 2:
        print(f"\n  ratio: aiohttp {medians['aiohttp']:,.0f} msg/s / httpcore "
              f"{medians['httpcore']:,.0f} msg/s = {medians['aiohttp'] / medians['httpcore']:.1f}x")

if __name__ == "__main__":
    main()
