"""The one small interface every channel implements, and the plumbing they share.

A channel receives a :class:`Message` and sends it to the :class:`Destination`
it was built for; it answers with a :class:`Result`: delivered, a transient
failure (retry, perhaps after ``retry_after`` seconds) or a permanent one
(bad number, bad signature, unapproved template) with the provider's own code
and message. Success is read from the provider's answer body, never from the
HTTP status alone: the robot APIs answer HTTP 200 to errors.

Channels never sleep and never read the clock themselves: the clock comes in
(``clock()`` returns seconds since the epoch), and a channel over its rate
limit answers a transient failure with ``retry_after`` for the caller to
schedule. The ``httpx.AsyncClient`` comes in too, so connections are pooled
across channels and tests can pass any transport.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from notifiers._config import ChannelConfig, parse_rate_limit
from notifiers._secrets import Secrets, SecretsError

__all__ = [
    "Channel",
    "Clock",
    "Destination",
    "HttpAnswer",
    "Message",
    "Outcome",
    "Person",
    "RateLimiter",
    "Result",
    "cut_utf8",
    "deliver",
    "get_json",
    "http_failure",
    "keyed_people",
    "post_json",
    "scrub",
]

Clock = Callable[[], float]
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"  # try again later
    PERMANENT = "permanent"  # will never work as configured: surface it


@dataclass(frozen=True)
class Message:
    """What to say. ``fields`` feed SMS templates; ``idempotency_key`` is stable per reminder."""

    title: str
    text: str
    idempotency_key: str
    markdown: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    mention_mobiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    """Someone a channel that reaches a person sends to (work notices, application
    messages, email): what the units file says of them, each field optional but the name."""

    name: str
    mobile: str | None = None
    email: str | None = None
    dingtalk_userid: str | None = None
    wecom_userid: str | None = None


@dataclass(frozen=True)
class Destination:
    """Where to: one channel of one unit, as the units directory describes it."""

    channel_id: str
    kind: str
    config: Mapping[str, Any]  # names of environment variables, never secrets themselves
    mobiles: tuple[str, ...] = ()  # the unit's people, for SMS and @mentions
    unit: str = ""
    people: tuple[Person, ...] = ()  # the unit's people, whole, for channels that reach a person


@dataclass(frozen=True)
class Result:
    """The provider's answer to one send."""

    outcome: Outcome
    code: str | None = None  # the provider's code ("0", "isv.MOBILE_NUMBER_ILLEGAL", 19021 …)
    message: str | None = None  # the provider's message (never contains a secret)
    retry_after: float | None = None  # seconds, when the provider (or our limiter) says
    latency_ms: float = 0.0
    request_id: str | None = None  # the provider's id for the request, for support tickets
    recipients: Mapping[str, Result] = field(default_factory=dict)  # per number, for SMS

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED

    def logged(self) -> str | None:
        """The message as the delivery log keeps it: with each recipient's outcome when there
        are several or any was not reached (张三 delivered; 李四 permanent unknown_user: …)."""
        if not self.recipients or (len(self.recipients) == 1 and self.delivered):
            return self.message
        each = "; ".join(f"{who} {r.outcome.value}" + ("" if r.delivered else
                                                        f" {r.code}" + (f": {r.message}" if r.message else ""))
                         for who, r in self.recipients.items())
        return f"{self.message} — {each}" if self.message else each


class RateLimiter:
    """At most ``limit`` sends per ``window`` seconds (a sliding window; no sleeping).

    ``acquire()`` returns 0.0 and counts the send, or the seconds to wait.
    """

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._sent: deque[float] = deque()

    def wait(self) -> float:
        """Seconds until a send is allowed (0.0: now), without counting one."""
        now = self.clock()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            return max(0.0, self._sent[0] + self.window - now)
        return 0.0

    def record(self) -> None:
        self._sent.append(self.clock())

    def acquire(self) -> float:
        wait = self.wait()
        if not wait:
            self.record()
        return wait


class Channel(ABC):
    """One way of reaching a unit. Subclasses set ``kind`` and implement ``send``.

    Rate limits are per destination (a DingTalk robot allows 20 a minute), so
    the caller keeps one channel object per destination for as long as it runs.
    """

    kind: ClassVar[str]
    limits: ClassVar[tuple[tuple[int, float], ...]] = ()  # (count, seconds) pairs
    # Several units whose channels point at one destination (a group robot) get one message
    # per window, listing each unit's nodes: fifty units in one group, one message, not fifty.
    groups: ClassVar[bool] = False
    group_units: ClassVar[int] = 0  # the most units one grouped message lists (0: any number)
    # A channel that reaches people one by one (work notices, email, SMS), not a group: a unit
    # of it without people reaches nobody, and ``cannot_reach`` says whom it skips.
    reaches_people: ClassVar[bool] = False
    # The provider's limits per person of one destination (WeCom: 30 a minute to a member,
    # and it drops the rest without an error), kept in the store beside the destination's.
    person_limits: ClassVar[tuple[tuple[int, float], ...]] = ()
    Config: ClassVar[type[ChannelConfig]] = ChannelConfig  # its fields in units.yaml (none here)

    def __init__(
        self,
        destination: Destination,
        *,
        client: httpx.AsyncClient,
        secrets: Secrets,
        clock: Clock = time.time,
    ) -> None:
        self.destination = destination
        self.client = client
        self.secrets = secrets
        self.clock = clock
        self._limiters = [RateLimiter(n, seconds, clock) for n, seconds in self.rate_limits]

    @functools.cached_property
    def rate_limits(self) -> tuple[tuple[int, float], ...]:
        """The destination's limits, (count, seconds) pairs: the provider's (``limits``) and
        the one its units-file entry sets (``rate_limit: 30/min``). The dispatcher keeps them
        in the store, shared by every daemon (scheduler/_limits.py)."""
        return self.limits + parse_rate_limit(self.destination.config.get("rate_limit"))

    def throttled(self) -> Result | None:
        """A transient Result when our own limit for this destination is reached, else None."""
        # Check every window before counting in any: a send refused by the per-second
        # limit must not use up a slot of the per-minute one.
        wait = max((limiter.wait() for limiter in self._limiters), default=0.0)
        if wait > 0:
            return Result(Outcome.TRANSIENT, "rate_limited",
                          "the channel's rate limit is reached", retry_after=wait)
        for limiter in self._limiters:
            limiter.record()
        return None

    @classmethod
    def cannot_reach(cls, person: Person) -> str | None:
        """Why this kind of channel cannot reach ``person`` (e.g. "no email"), or None.
        Channels that reach a person say what they need; ``units import`` warns with it
        and the channel skips that person with the reason recorded."""
        return None

    @classmethod
    def person_key(cls, person: Person) -> str:
        """Who ``person`` is to the provider, for their limits and grouping (a userid; here
        the name, for email the address)."""
        return person.name

    @classmethod
    def group_key(cls, config: Mapping[str, Any], people: Sequence[Person]) -> str | None:
        """Which units' messages of one window go out as one, for a channel that ``groups``:
        a robot's, all units on its URL; a channel that reaches people, the units of one
        destination (application, mail server) with the very same people — the secretary
        of forty branches gets one notice listing them, not forty. None: never grouped."""
        where = cls.destination_key(config)
        if where is None or not cls.groups or not cls.reaches_people:
            return where if cls.groups else None
        who = sorted({cls.person_key(p) for p in people if not cls.cannot_reach(p)})
        if not who:
            return None
        return f"{cls.kind}:" + hashlib.sha256("|".join([where, *who]).encode()).hexdigest()[:40]

    def windows(self) -> list[tuple[str, tuple[tuple[int, float], ...]]]:
        """Every rate window a send through this channel counts in, (key, limits): its
        destination's (``rate_limits``) and, for a channel with ``person_limits``, each
        reachable person's at that destination. The dispatcher keeps them in the store."""
        limits = self.rate_limits
        if not limits and not self.person_limits:
            return []
        where = type(self).destination_key(self.destination.config) or \
            f"{self.kind}:{self.destination.channel_id}"
        found = [(where, limits)] if limits else []
        if self.person_limits:
            people = {self.person_key(p) for p in self.destination.people if not self.cannot_reach(p)}
            # a hash of both: the store keeps a key in 64 characters
            found += [(f"{self.kind}:" + hashlib.sha256(f"{where}|{who}".encode()).hexdigest()[:40],
                       self.person_limits) for who in sorted(people)]
        return found

    @classmethod
    def destination_key(cls, config: Mapping[str, Any]) -> str | None:
        """Who is at the other end, from the channel's configuration alone (no secrets):
        its URL, or the name of the variable that holds it; None when the configuration
        names no URL. Rate limits and grouping go by it."""
        where = config.get("url") or (f"env:{config['url_env']}" if config.get("url_env") else None)
        if not where:
            return None
        return f"{cls.kind}:" + hashlib.sha256(str(where).encode()).hexdigest()[:40]

    @abstractmethod
    async def send(self, message: Message) -> Result:
        """Send ``message``; never raises for a provider's answer or a network failure."""

    @property
    def timeout(self) -> float | None:
        """Seconds before a request is given up (``timeout`` in the channel's config)."""
        value = self.destination.config.get("timeout")
        return float(value) if value else None

    def url(self) -> str:
        """The destination URL, from ``url`` or from the environment variable ``url_env``."""
        config = self.destination.config
        if config.get("url"):
            return str(config["url"])
        return self.secrets.get(str(config["url_env"]))


async def deliver(channel: Channel, message: Message) -> Result:
    """``channel.send(message)``, with a missing secret turned into a permanent Result."""
    try:
        return await channel.send(message)
    except SecretsError as error:
        return Result(Outcome.PERMANENT, "secret_missing", str(error))


def cut_utf8(text: str, limit: int, marker: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes at a character boundary, marking the cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(marker.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + marker


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any  # parsed JSON, or the text when it is not JSON
    headers: httpx.Headers
    latency_ms: float


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    auth: httpx.Auth | None = None,
) -> HttpAnswer | Result:
    """POST a JSON body; a network failure becomes a transient Result (never an exception).

    ``timeout`` (seconds) overrides the default of 10 s (5 s to connect); ``auth`` signs
    the request (TC3 and the like) after everything else is set.
    """
    return await _request(client, "POST", url, content=content, timeout=timeout, auth=auth,
                          headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


async def get_json(client: httpx.AsyncClient, url: str, *, timeout: float | None = None) -> HttpAnswer | Result:
    """GET ``url`` (an access token, a lookup); like :func:`post_json`, never raises."""
    return await _request(client, "GET", url, timeout=timeout)


async def _request(client: httpx.AsyncClient, method: str, url: str, *, timeout: float | None,
                   content: bytes | None = None, headers: Mapping[str, str] | None = None,
                   auth: httpx.Auth | None = None) -> HttpAnswer | Result:
    started = time.perf_counter()
    try:
        response = await client.request(
            method, url, content=content, timeout=httpx.Timeout(timeout) if timeout else TIMEOUT,
            headers=headers, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TimeoutException as error:
        return Result(Outcome.TRANSIENT, "timeout", type(error).__name__,
                      latency_ms=(time.perf_counter() - started) * 1000)
    except httpx.TransportError as error:
        return Result(Outcome.TRANSIENT, "network", f"{type(error).__name__}: connection failed",
                      latency_ms=(time.perf_counter() - started) * 1000)
    latency = (time.perf_counter() - started) * 1000
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return HttpAnswer(response.status_code, body, response.headers, latency)


def http_failure(answer: HttpAnswer) -> Result | None:
    """The Result for an HTTP-level failure (429, 5xx, 4xx), or None when the body decides."""
    if answer.status == 429 or answer.status >= 500:
        retry = answer.headers.get("Retry-After")
        retry_after = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
        return Result(Outcome.TRANSIENT, f"http_{answer.status}", _short(answer.body),
                      retry_after=retry_after, latency_ms=answer.latency_ms)
    if answer.status >= 400 and not isinstance(answer.body, dict):
        return Result(Outcome.PERMANENT, f"http_{answer.status}", _short(answer.body),
                      latency_ms=answer.latency_ms)
    return None


def _short(body: Any, limit: int = 300) -> str:
    return str(body)[:limit]


def scrub(secrets: Secrets, url: str, text: str) -> str:
    """``text`` with every known secret and the URL's tokens (query values, last path
    segment, when 8 characters or more) masked: providers echo URLs in their errors."""
    parsed = httpx.URL(url)
    for value in {*parsed.params.values(), parsed.path.rsplit("/", 1)[-1]}:
        if len(value) >= 8:
            text = text.replace(value, "***")
    return secrets.mask(text)


def keyed_people(people: Iterable[Person]) -> list[tuple[str, Person]]:
    """Each person with the key of their Result in ``Result.recipients``: the name, ``#2``,
    ``#3`` … added when a unit lists a name again (two 张三 are two people)."""
    seen: dict[str, int] = {}
    keyed = []
    for person in people:
        seen[person.name] = count = seen.get(person.name, 0) + 1
        keyed.append((person.name if count == 1 else f"{person.name}#{count}", person))
    return keyed
