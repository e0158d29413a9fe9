"""What the two SMS channels share: cutting template values, the overall outcome of a
send to several numbers, waiting for the providers' daily reset, and remembering which
numbers a message already reached so a retry texts only the others."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from notifiers._base import Channel, Outcome, Person, Result

__all__ = ["Remembered", "SmsChannel", "chunks", "config_error", "cut_chars", "overall", "short_key",
           "until_beijing_midnight"]

BEIJING = ZoneInfo("Asia/Shanghai")


def cut_chars(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def until_beijing_midnight(now: float) -> float:
    """Seconds until the next 00:00 in China (when providers' daily counters reset)."""
    today = datetime.fromtimestamp(now, UTC).astimezone(BEIJING)
    midnight = datetime(today.year, today.month, today.day, tzinfo=BEIJING) + timedelta(days=1)
    return max(midnight.timestamp() - now, 1.0)


def overall(recipients: Mapping[str, Result]) -> Result:
    """One Result for a send to several numbers (see the module's docstring for the rule)."""
    results = list(recipients.values())
    # A person the channel has no way to reach (no mobile, no email: ``units import`` warned)
    # does not fail the send for the others; everyone skipped so is a permanent failure.
    outcomes = {r.outcome for r in results if r.code != "no_contact"} or {Outcome.PERMANENT}
    if outcomes == {Outcome.DELIVERED}:
        outcome = Outcome.DELIVERED
    elif Outcome.TRANSIENT in outcomes:
        outcome = Outcome.TRANSIENT
    else:
        outcome = Outcome.PERMANENT
    codes = list(dict.fromkeys(r.code for r in results))
    requests = list(dict.fromkeys(r.request_id for r in results if r.request_id))
    if len(codes) == 1:
        code, text = codes[0], results[0].message
    else:
        counts: dict[str, int] = {}
        for r in results:
            key = r.outcome.value if r.delivered else f"{r.outcome.value} {r.code}"
            counts[key] = counts.get(key, 0) + 1
        code = "partial"
        text = "; ".join(f"{n} {key}" for key, n in counts.items())
    waits = [r.retry_after for r in results
             if r.outcome is Outcome.TRANSIENT and r.retry_after is not None]
    return Result(outcome, code, text, retry_after=min(waits) if waits else None,
                  # numbers of one call share its Result: count each call's latency once
                  latency_ms=sum({id(r): r.latency_ms for r in results}.values()),
                  request_id=",".join(requests)[:500] or None, recipients=dict(recipients))


def short_key(key: str, limit: int) -> str:
    """The idempotency key, or its SHA-256 when longer than the provider takes."""
    return key if len(key.encode()) <= limit else hashlib.sha256(key.encode()).hexdigest()


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def config_error(channel_id: str, error: Exception, mask: Callable[[str], str]) -> Result:
    """A missing secret (``secret_missing``, as ``notifiers.deliver`` says) or setting."""
    if isinstance(error, KeyError):
        return Result(Outcome.PERMANENT, "config",
                      f"channel {channel_id}: missing setting {error.args[0]}")
    return Result(Outcome.PERMANENT, "secret_missing", mask(f"channel {channel_id}: {error}"))


class Remembered:
    """Numbers already delivered per idempotency key, so that a retry of a message that
    reached some numbers only texts the others (the last ``keep`` keys are kept)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._by_key: dict[str, dict[str, Result]] = {}

    def get(self, key: str) -> dict[str, Result]:
        return dict(self._by_key.get(key, {}))

    def add(self, key: str, results: Mapping[str, Result]) -> None:
        delivered = {number: r for number, r in results.items() if r.delivered}
        if delivered:
            self._by_key.setdefault(key, {}).update(delivered)
            while len(self._by_key) > self.keep:
                del self._by_key[next(iter(self._by_key))]


class SmsChannel(Channel):
    """A channel that texts the unit's people's mobiles: a person without one is skipped."""

    reaches_people: ClassVar[bool] = True
    # The config fields that name the account: its ``rate_limit`` is the account's, however
    # many units' channels send through it (the variable's name, never the secret, is hashed).
    account: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def cannot_reach(cls, person: Person) -> str | None:
        return None if person.mobile else "no mobile"

    @classmethod
    def destination_key(cls, config: Mapping[str, Any]) -> str | None:
        named = "|".join(str(config.get(name) or "") for name in cls.account)
        if not named.strip("|"):
            return None
        return f"{cls.kind}:" + hashlib.sha256(named.encode()).hexdigest()[:40]
