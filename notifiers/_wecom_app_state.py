"""What the WeCom application channel (:mod:`notifiers.wecom_app`) reads and keeps besides
its calls: WeCom's codes and limits, the state one application shares across its channel
objects (token, mobile lookups, duplicate check, member windows, the day's count), and the
records a call takes and gives back. The rules they follow are cited in that module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from notifiers._apps import AccessToken
from notifiers._base import Outcome

__all__ = ["CODES", "CONTENT_BYTES", "DUPLICATE_CHECK_INTERVAL", "LOOKUP_TTL", "MEMBER_LIMITS",
           "NO_SUCH_MEMBER", "PERSON_TIMES_PER_ACCOUNT", "TOKEN_REFUSED", "TOUSER_MAX", "_HINT",
           "_Answer", "_App", "_Credentials", "_listed"]

CONTENT_BYTES = 2048  # text and markdown content alike
TOUSER_MAX = 1000
DUPLICATE_CHECK_INTERVAL = 1800
TOKEN_MARGIN = 300.0  # fetch a new token this long before WeCom's expires_in runs out
LOOKUP_TTL = 86_400.0
MEMBER_LIMITS = ((30, 60.0), (1000, 3600.0))  # per application and member: (count, seconds)
PERSON_TIMES_PER_ACCOUNT = 200  # per application and day, times the corp's 账号上限数
BEIJING = ZoneInfo("Asia/Shanghai")

T, P = Outcome.TRANSIENT, Outcome.PERMANENT
# errcode → (outcome, retry after in seconds); any code not here is permanent.
CODES: dict[int, tuple[Outcome, float | None]] = {
    -1: (T, 5.0),  # 系统繁忙
    45009: (T, 60.0),  # 接口调用超过限制: a per-minute block lasts 60 s
    45033: (T, 1.0),  # 接口并发调用超过限制
}
TOKEN_REFUSED = frozenset({40014, 42001})  # 不合法的access_token, access_token已过期
NO_SUCH_MEMBER = frozenset({46004, 60103, 60111})  # getuserid: no member has that mobile
_HINT = re.compile(r"hint: \[([^\]]+)\]")


# -- what one application shares -----------------------------------------------------

class _App:
    """One application's token, mobile lookups and counts, shared by its channel objects."""

    def __init__(self) -> None:
        self.token = AccessToken()
        self.lookups: dict[str, tuple[str | None, float]] = {}  # mobile → (userid, until)
        self._bodies: dict[str, tuple[str, float]] = {}  # body digest → (first key, until)
        self._members: dict[str, deque[float]] = {}  # userid → send times, the last hour
        self._day, self._today = "", 0

    def keep_token(self, token: str, expires_in: float, now: float) -> None:
        # Asked again within the margin, WeCom may hand back the same token with the seconds
        # it has left: that one is used to its end (a refusal then fetches the next).
        margin = TOKEN_MARGIN if expires_in > 2 * TOKEN_MARGIN else 0.0
        self.token.keep(token, now + expires_in - margin)

    def duplicate_check(self, body: Mapping[str, Any], key: str, now: float) -> bool:
        """Whether ``body``, sent for idempotency key ``key``, may keep WeCom's duplicate
        check: not when another key sent the same body within the interval (WeCom would
        drop this one as its duplicate)."""
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        first = self._bodies.get(digest)
        if first is not None and first[1] > now:
            return first[0] == key
        self._bodies = {d: seen for d, seen in self._bodies.items() if seen[1] > now}
        self._bodies[digest] = (key, now + DUPLICATE_CHECK_INTERVAL)
        return True

    def member_wait(self, userid: str, now: float) -> float:
        """Seconds until ``userid`` may get one more message (0.0: now)."""
        times = self._members.get(userid.lower(), deque())
        longest = max(window for _, window in MEMBER_LIMITS)
        while times and times[0] <= now - longest:
            times.popleft()
        wait = 0.0
        for limit, window in MEMBER_LIMITS:
            recent = [t for t in times if t > now - window]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + window - now)
        return wait

    def room_today(self, now: float, cap: int) -> int:
        self._roll(now)
        return max(cap - self._today, 0)

    def count(self, userids: list[str], now: float) -> None:
        self._roll(now)
        self._today += len(userids)
        for userid in userids:
            self._members.setdefault(userid.lower(), deque()).append(now)

    def refund(self, userids: list[str], when: float) -> None:
        """Give back the counts of sends WeCom refused (they reached nobody)."""
        if self._day == _beijing_day(when):
            self._today -= len(userids)
        for userid in userids:
            times = self._members.get(userid.lower())
            if times and when in times:
                times.remove(when)

    def _roll(self, now: float) -> None:
        day = _beijing_day(now)
        if day != self._day:
            self._day, self._today = day, 0


def _beijing_day(now: float) -> str:
    return datetime.fromtimestamp(now, BEIJING).date().isoformat()


# -- what a call takes and answers ---------------------------------------------------

@dataclass(frozen=True)
class _Credentials:
    corp_id: str
    secret: str
    agent_id: int


@dataclass(frozen=True)
class _Answer:
    """A WeCom JSON answer and the URL it came from (to mask its token in what it says)."""

    code: int
    data: Mapping[str, Any]
    url: str
    latency_ms: float

    @property
    def said(self) -> str:
        return str(self.data.get("errmsg", ""))


def _listed(value: object) -> set[str]:
    """The userids of ``invaliduser`` / ``unlicenseduser`` ("a|b", or a list), lower-cased."""
    items = value.split("|") if isinstance(value, str) else value if isinstance(value, list) else []
    return {str(item).strip().lower() for item in items if str(item).strip()}
