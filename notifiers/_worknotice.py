"""What DingTalk's work-notice channel (``notifiers.dingtalk_notice``) works from.

The provider's limits and code tables, the ``msg`` object a notice sends (cut to its 2,048
bytes), and the small state the channel keeps: the application, a task DingTalk took,
today's counts, the last minute's recipients. The rules behind them, with the pages they
come from, are in the channel module's docstring.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from notifiers._base import Message, Outcome, cut_utf8

__all__ = [
    "APP_RECIPIENTS_PER_MINUTE",
    "BUSY",
    "ENDPOINT",
    "FORBIDDEN",
    "MSG_MAX_BYTES",
    "NO_CONTACT",
    "PENDING_KEYS",
    "PENDING_RETRY",
    "TASK_READABLE",
    "THROTTLE_RETRY",
    "TOKEN_CODES",
    "TOKEN_MARGIN",
    "UNKNOWN_MOBILE",
    "USERS_PER_CALL",
    "USER_DAILY_MAX",
    "App",
    "Counts",
    "Task",
    "Window",
    "compact_json",
    "msg_digest",
    "notice_msg",
]

ENDPOINT = "https://oapi.dingtalk.com/"
MSG_MAX_BYTES = 2048  # the whole msg object
USERS_PER_CALL = 100  # getsendresult cannot read a task of more
USER_DAILY_MAX = 500  # notices a person a day, internal application
APP_RECIPIENTS_PER_MINUTE = 5000
TOKEN_MARGIN = 200.0  # refetch this long before expires_in runs out (7,000 of 7,200 s)
TASK_READABLE = 24 * 3600.0  # getsendresult knows tasks of the last 24 hours
PENDING_RETRY = 5.0
PENDING_KEYS = 10_000
THROTTLE_RETRY = 60.0
NO_CONTACT = "no dingtalk_userid and no mobile"

T, P, D = Outcome.TRANSIENT, Outcome.PERMANENT, Outcome.DELIVERED
TOKEN_CODES = frozenset({40001, 40014, 42001, 88})
BUSY: dict[int, float] = {-1: 5.0, 45009: THROTTLE_RETRY,
                          **dict.fromkeys(range(90001, 90015), THROTTLE_RETRY)}
UNKNOWN_MOBILE = frozenset({60121, 40104})
# forbidden_list code → (outcome, our code); None retry: until Beijing midnight. The
# 1432xx codes are the same limits counted for a third-party application.
FORBIDDEN: dict[str, tuple[Outcome, str, float | None]] = {
    **dict.fromkeys(("143103", "143104", "143203", "143204"), (T, "throttled", THROTTLE_RETRY)),
    **dict.fromkeys(("143105", "143205"), (T, "daily_limit", None)),
    **dict.fromkeys(("143106", "143206"), (D, "duplicate_content", None)),
}


def compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def notice_msg(message: Message, limit: int = MSG_MAX_BYTES) -> dict[str, Any]:
    """The ``msg`` object for ``message``, its content cut until the JSON is ``limit`` bytes."""
    title = cut_utf8(message.title, limit // 4)  # room for the content whatever the title
    kind = "markdown" if message.markdown else "text"
    content = message.markdown or f"{message.title}\n{message.text}"

    def build(text: str) -> dict[str, Any]:
        if kind == "markdown":
            return {"msgtype": kind, kind: {"title": title, "text": text}}
        return {"msgtype": kind, kind: {"content": text}}

    def fits(text: str) -> bool:
        return len(compact_json(build(text)).encode()) <= limit

    if fits(content):
        return build(content)
    # JSON escapes make some bytes of text cost two: find the longest cut that fits
    marker = len("…".encode())
    low, high = marker, len(content.encode())
    while low < high:
        middle = (low + high + 1) // 2
        if fits(cut_utf8(content, middle)):
            low = middle
        else:
            high = middle - 1
    cut = cut_utf8(content, low)
    return build(cut if low > marker and fits(cut) else "")


def msg_digest(msg: Mapping[str, Any]) -> str:
    return hashlib.sha256(compact_json(msg).encode()).hexdigest()


@dataclass(frozen=True)
class App:
    """The application a send signs its calls for: its AppKey, AppSecret and AgentId."""

    app_key: str
    app_secret: str
    agent_id: int | str


@dataclass
class Task:
    """A notice DingTalk took: whom it went to (userid → keys of their Results)."""

    task_id: int | str
    users: dict[str, list[str]]
    digest: str
    day: str
    sent_at: float


@dataclass
class Counts:
    """What the application sent today, by the Beijing day: per person, and by content."""

    day: str = ""
    per_user: dict[str, int] = field(default_factory=dict)
    reached: set[tuple[str, str]] = field(default_factory=set)  # (userid, content digest)

    def on(self, day: str) -> Counts:
        if day != self.day:  # DingTalk's counters start again at midnight
            self.day, self.per_user, self.reached = day, {}, set()
        return self


class Window:
    """Recipients in the last minute, one timestamp each (the 5,000 a minute limit)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.sent: deque[float] = deque()

    def room(self, now: float) -> int:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return max(self.limit - len(self.sent), 0)

    def wait(self, now: float, wanted: int) -> float:
        """Seconds until ``wanted`` more recipients fit (the window being full now)."""
        index = min(wanted, len(self.sent)) - 1
        return max(self.sent[index] + self.seconds - now, 1.0) if index >= 0 else 1.0

    def add(self, now: float, count: int) -> None:
        self.sent.extend([now] * count)
