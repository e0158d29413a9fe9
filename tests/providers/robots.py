"""Stand-ins for a Standard Webhooks receiver and the DingTalk, WeCom and Feishu robots.

Each is a handler for :func:`tests.providers.server.serve`. It checks a request the
way the provider does, from the raw request (query string, headers, bytes of the
body), with its own code — never the channel's signer — and answers with the
provider's own bodies:

- ``WebhookReceiver``: Standard Webhooks verification (``webhook-id``,
  ``webhook-timestamp`` within 5 minutes, any ``v1,`` signature in the header
  matching HMAC-SHA256 over ``id.timestamp.body`` with the whsec_ key, compared in
  constant time); 401 when it fails, 429 + ``Retry-After`` over its limit,
  duplicates (same ``webhook-id``) acknowledged but not stored twice.
- ``DingTalkRobot``: ``access_token``, then 加签 (``timestamp`` ms within an hour,
  ``sign`` recomputed), 20 a minute → ``130101 send too fast``, and then every send for
  ten minutes (the robot is blocked); HTTP 200 always.
- ``WeComRobot``: the ``key``, message type, content size (2048 / 4096 bytes),
  20 a minute → ``45009 api freq out of limit``.
- ``FeishuRobot``: the hook token, ``timestamp``/``sign`` from the body (within an
  hour), body ≤ 20 KB, 100 a minute and 5 a second → ``11232``.

Time comes from a shared ``FakeClock``. ``override`` (a ``Reply`` or ``DROP``) makes
the next answers a fault instead (slow, dropped, or a body that echoes a secret).
The exact wording of some error messages (WeCom 40058, Feishu 11232/19001) is the
stand-in's, not copied from the provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import Reply, Request

__all__ = ["DingTalkRobot", "FakeClock", "FeishuRobot", "WeComRobot", "WebhookReceiver"]


@dataclass
class FakeClock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Window:
    limit: int
    seconds: float
    sent: deque[float] = field(default_factory=deque)

    def full(self, now: float) -> bool:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return len(self.sent) >= self.limit


@dataclass
class _Robot:
    clock: FakeClock
    secret: str | None = None
    received: list[Any] = field(default_factory=list)
    override: Any = None  # a Reply or DROP: answer that instead of checking

    def _over_limit(self, windows: list[_Window]) -> bool:
        now = self.clock()
        if any(w.full(now) for w in windows):
            return True
        for window in windows:
            window.sent.append(now)
        return False


def _hmac_b64(key: bytes, data: bytes) -> str:
    return base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode()


@dataclass
class WebhookReceiver(_Robot):
    limit: int = 1000
    tolerance: float = 300.0
    seen: set[str] = field(default_factory=set)
    _window: _Window | None = None

    def __call__(self, request: Request) -> Any:
        if self.override is not None:
            return self.override
        h = request.headers
        msg_id, stamp, sigs = (h.get("webhook-id"), h.get("webhook-timestamp"),
                               h.get("webhook-signature", ""))
        if not msg_id or not stamp or not stamp.isdigit():
            return Reply(400, {"error": "missing webhook headers"})
        if abs(self.clock() - int(stamp)) > self.tolerance:
            return Reply(401, {"error": "timestamp outside tolerance"})
        if self.secret is not None:
            key = base64.b64decode(self.secret.removeprefix("whsec_"))
            expected = _hmac_b64(key, f"{msg_id}.{stamp}.".encode() + request.body)
            given = [s.split(",", 1)[1] for s in sigs.split() if s.startswith("v1,")]
            if not any(hmac.compare_digest(expected, s) for s in given):
                return Reply(401, {"error": "invalid signature"})
        self._window = self._window or _Window(self.limit, 60.0)
        if self._over_limit([self._window]):
            return Reply(429, {"error": "slow down"}, headers={"Retry-After": "30"})
        if msg_id not in self.seen:
            self.seen.add(msg_id)
            self.received.append(request.json())
        return Reply(200, {"ok": True})


@dataclass
class DingTalkRobot(_Robot):
    token: str = "ding-token"
    blocked_until: float = 0.0
    throttled: int = 0  # 130101 answers given
    _window: _Window = field(default_factory=lambda: _Window(20, 60.0))

    def __call__(self, request: Request) -> Any:
        if self.override is not None:
            return self.override
        query = parse_qs(urlsplit(request.path).query)  # percent-decodes once, as DingTalk
        if query.get("access_token") != [self.token]:
            return Reply(200, {"errcode": 300001, "errmsg": "token is not exist"})
        if self.secret is not None:
            stamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not stamp.isdigit() or abs(self.clock() * 1000 - int(stamp)) > 3_600_000:
                return Reply(200, {"errcode": 310000, "errmsg": "invalid timestamp"})
            expected = _hmac_b64(self.secret.encode(), f"{stamp}\n{self.secret}".encode())
            if not hmac.compare_digest(expected, sign):
                return Reply(200, {"errcode": 310000, "errmsg": "sign not match"})
        body = request.json()
        if body.get("msgtype") not in ("text", "markdown"):
            return Reply(200, {"errcode": 400105, "errmsg": "不支持的消息类型"})
        if self.clock() < self.blocked_until or self._over_limit([self._window]):
            if self.clock() >= self.blocked_until:  # DingTalk then blocks the robot 10 minutes
                self.blocked_until = self.clock() + 600
            self.throttled += 1
            return Reply(200, {"errcode": 130101,
                               "errmsg": "send too fast, exceed 20 times per minute"})
        self.received.append(body)
        return Reply(200, {"errcode": 0, "errmsg": "ok"})


@dataclass
class WeComRobot(_Robot):
    key: str = "wecom-key"
    _window: _Window = field(default_factory=lambda: _Window(20, 60.0))

    def __call__(self, request: Request) -> Any:
        if self.override is not None:
            return self.override
        if parse_qs(urlsplit(request.path).query).get("key") != [self.key]:
            return Reply(200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: "
                               "[1700000000_1_x], more info at "
                               "https://open.work.weixin.qq.com/devtool/query?e=93000"})
        body = request.json()
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            return Reply(200, {"errcode": 40008, "errmsg": "invalid message type"})
        limit = 2048 if kind == "text" else 4096
        if len(body[kind]["content"].encode()) > limit:
            return Reply(200, {"errcode": 40058,
                               "errmsg": f"{kind}.content exceed max length {limit}"})
        if self._over_limit([self._window]):
            return Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit, hint: "
                               "[1700000000_2_y], more info at "
                               "https://open.work.weixin.qq.com/devtool/query?e=45009"})
        self.received.append(body)
        return Reply(200, {"errcode": 0, "errmsg": "ok"})


@dataclass
class FeishuRobot(_Robot):
    token: str = "feishu-hook"
    _windows: list[_Window] = field(
        default_factory=lambda: [_Window(100, 60.0), _Window(5, 1.0)])

    def __call__(self, request: Request) -> Any:
        if self.override is not None:
            return self.override
        if urlsplit(request.path).path != f"/open-apis/bot/v2/hook/{self.token}":
            return Reply(200, {"code": 19001, "data": {},
                               "msg": "param invalid: incoming webhook access token invalid"})
        if len(request.body) > 20 * 1024:
            return Reply(200, {"code": 9499, "msg": "Bad Request", "data": {}})
        body = request.json()
        if self.secret is not None:
            stamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            expected = _hmac_b64(f"{stamp}\n{self.secret}".encode(), b"")
            fresh = stamp.isdigit() and abs(self.clock() - int(stamp)) <= 3600
            if not fresh or not hmac.compare_digest(expected, sign):
                return Reply(200, {"code": 19021, "data": {}, "msg": "sign match fail or "
                                   "timestamp is not within one hour from current time"})
        if body.get("msg_type") not in ("text", "post"):
            return Reply(200, {"code": 9499, "msg": "Bad Request", "data": {}})
        if self._over_limit(self._windows):
            return Reply(200, {"code": 11232, "data": {}, "msg": "frequency limited"})
        self.received.append(body)
        return Reply(200, {"StatusCode": 0, "StatusMessage": "success", "code": 0,
                           "data": {}, "msg": "success"})
