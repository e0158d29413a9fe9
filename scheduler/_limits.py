"""Rate limits that belong to the destination, shared by every daemon on the database.

A DingTalk robot takes 20 messages a minute and then blocks for ten minutes: the limit is
the robot URL's, whatever channel rows point at it and however many daemons send. Before a
message goes to a limited destination, its worker takes a slot here, in the transaction
that reads the message's rows again (scheduler/_dispatch.py). A sliding log (one row per
send, pruned past the longest window), not a token bucket: a bucket with the provider's
burst lets twice the limit through across a window's edge, which is exactly the 130101.

Hand-written on purpose: a rate-limiting library keeps its counts in one process (or in a
Redis we do not run); these live in the store every daemon already shares. On PostgreSQL
an advisory lock per destination makes count-then-insert atomic across daemons; SQLite has
one writer at a time, and the delete below takes the write lock before the count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import delete, insert, select, text
from sqlmodel import Session

from scheduler._models import RATE_SEND as _RS

__all__ = ["take_slots"]

Windows = Sequence[tuple[str, Sequence[tuple[int, float]]]]


def take_slots(session: Session, windows: Windows, now: float) -> float:
    """Count one send at ``now`` (Unix seconds) in each destination's windows and return 0.0,
    or return the seconds until all of them allow one, counting nothing anywhere (a message
    to five people goes when all five have room, and uses up no one's slot before then).
    ``windows``: (destination, its (count, seconds) limits). The caller's transaction holds
    the slots; commit it with the send."""
    windows = sorted((key, limits) for key, limits in windows if limits)
    if not windows:
        return 0.0
    if session.get_bind().dialect.name == "postgresql":
        for key, _ in windows:  # in one order, so two daemons never wait on each other's locks
            lock = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    wait = max(_wait(session, key, limits, now) for key, limits in windows)
    if wait > 0:
        return wait
    session.execute(insert(_RS), [{"destination": key, "sent_at": now} for key, _ in windows])
    return 0.0


def _wait(session: Session, destination: str, limits: Sequence[tuple[int, float]], now: float) -> float:
    longest = max(seconds for _, seconds in limits)
    session.execute(delete(_RS).where(_RS.c.destination == destination, _RS.c.sent_at <= now - longest))
    wait = 0.0
    for count, seconds in limits:
        # the window's newest ``count`` sends: fewer, and there is room; else the oldest of
        # them is the one whose leaving frees a slot
        times = session.execute(select(_RS.c.sent_at).where(
            _RS.c.destination == destination, _RS.c.sent_at > now - seconds)
            .order_by(_RS.c.sent_at.desc()).limit(count)).scalars().all()
        if len(times) == count:
            wait = max(wait, times[-1] + seconds - now)
    return wait
