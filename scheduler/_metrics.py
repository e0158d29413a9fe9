"""What /metrics says, in the Prometheus text format (prometheus-client).

One ``Metrics`` per daemon process, on a registry of its own (tests and several daemons in
one process never share counters). Counters and histograms are fed as things happen (the
dispatcher's answers, the daemon's ticks); the outbox gauges are read from the store when
/metrics is scraped, so every daemon on one database reports the same backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from scheduler._models import REMINDER as _R

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATE_AFTER = timedelta(minutes=5)  # the dispatcher's own: past this a reminder goes as 补发
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
_TICK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120)


class Metrics:
    """The daemon's counters and histograms, and the outbox's gauges read at scrape time."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reminders = Counter("jiedian_reminders", "Reminders settled, by outcome "
                                 "(sent, retried, failed, missed, skipped, late)", ["outcome"],
                                 registry=self.registry)
        self.messages = Counter("jiedian_messages", "Messages sent, by channel kind and the "
                                "provider's answer (delivered, transient, permanent)",
                                ["channel", "outcome"], registry=self.registry)
        self.latency = Histogram("jiedian_provider_latency_seconds", "Time for a provider to "
                                 "answer one message, by channel kind", ["channel"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.tick = Histogram("jiedian_tick_seconds", "Duration of a dispatch tick",
                              buckets=_TICK_BUCKETS, registry=self.registry)
        self.claim = Histogram("jiedian_claim_seconds", "Duration of one claim of due reminders",
                               buckets=_TICK_BUCKETS, registry=self.registry)
        self.registry.register(_Outbox(engine, clock))

    def answered(self, channel: str, outcome: str, latency_ms: float) -> None:
        self.messages.labels(channel, outcome).inc()
        self.latency.labels(channel).observe(latency_ms / 1000)

    def settled(self, **counts: int) -> None:
        for outcome, count in counts.items():
            if count:
                self.reminders.labels(outcome).inc(count)

    def expose(self) -> bytes:
        return generate_latest(self.registry)


class _Outbox(Collector):
    """Gauges of the outbox as the store holds it now: pending (and claimed) reminders, and
    the late ones among them (due more than LATE_AFTER ago and still not sent)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read only when scraped: describing must not query the store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        with Session(self.engine) as session:
            waiting = _R.c.status.in_(("pending", "claimed"))
            pending = session.execute(select(func.count()).select_from(_R).where(waiting)).scalar_one()
            late = session.execute(select(func.count()).select_from(_R).where(
                waiting, _R.c.fire_at < now - LATE_AFTER, _R.c.node_at > now)).scalar_one()
        yield GaugeMetricFamily("jiedian_reminders_pending", "Reminders waiting to be sent "
                                "(pending or claimed)", value=pending)
        yield GaugeMetricFamily("jiedian_reminders_late", "Reminders due more than five minutes "
                                "ago and not yet sent, whose node is still ahead", value=late)
