"""A stand-in for a WeCom self-built application (企业微信自建应用): gettoken, getuserid and
message/send, as https://developer.work.weixin.qq.com/document/path/91039, /95402 and /90236
describe them.

A handler for :func:`tests.providers.server.serve`. It issues an access token only for its
corpid and corpsecret (40013 / 40001 otherwise), the same token while it is valid, expiring
by the test's clock after ``token_lifetime`` seconds — or at once on ``expire_tokens()``, as
WeCom may do early — and refuses a missing, unknown or expired token (41001 / 40014 /
42001). It knows a set of members (userid → mobile; userids compare case-insensitively) and
answers getuserid (46004 for an unknown mobile). message/send checks agentid, msgtype, the
content (2048 bytes: a longer text is cut, as WeCom says; a longer markdown refused with
45002) and at most 1000 userids; unknown userids come back lower-cased in ``invaliduser``
(errcode 0 while someone else is valid, 81013 when nobody is), ``unlicensed`` ones in
``unlicenseduser``. The duplicate check is WeCom's: with ``enable_duplicate_check`` the same
request JSON within ``duplicate_check_interval`` (default 1800 s, at most 4 h) is answered
ok and not delivered. Per application and member, more than 30 messages a minute or 1000
an hour are dropped silently, and past ``daily_limit`` person-times a day the answer is
45009 — the limits of https://developer.work.weixin.qq.com/document/path/90454.

``faults`` makes the next calls of one API ("gettoken", "getuserid", "send") fail instead:
``"drop"`` closes the connection unanswered, ``"drop_after"`` does the work (delivers) and
then closes it, a ``Reply`` is answered as it is. ``throttle`` (an errcode, e.g. 45009)
refuses every message/send until cleared. The errmsg wordings are the stand-in's.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import DROP, Reply, Request

__all__ = ["WeComApp"]

BEIJING = timezone(timedelta(hours=8))
CONTENT_MAX = 2048
DUPLICATE_MAX = 4 * 3600


def _error(code: int, message: str, **extra: Any) -> Reply:
    return Reply(200, {"errcode": code, "errmsg": f"{message}, hint: [{code}_stand-in], more info "
                       f"at https://open.work.weixin.qq.com/devtool/query?e={code}", **extra})


@dataclass
class WeComApp:
    clock: Callable[[], float]
    corp_id: str
    corp_secret: str
    agent_id: int
    users: Mapping[str, str | None]  # userid → mobile
    unlicensed: frozenset[str] = frozenset()
    token_lifetime: int = 7200
    daily_limit: int | None = None  # person-times a day (账号上限数 × 200)
    throttle: int | None = None
    faults: dict[str, list[Any]] = field(default_factory=dict)
    # What happened, for the tests to read:
    delivered: list[tuple[str, str, str]] = field(default_factory=list)  # (userid, type, content)
    sends: list[dict[str, Any]] = field(default_factory=list)  # each authorised message/send body
    lookups: list[str] = field(default_factory=list)  # each authorised getuserid's mobile
    tokens_issued: list[str] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)  # errcode → answers given
    duplicates: int = 0
    dropped_over_limit: list[str] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)  # token → expires at
    _seen: dict[str, float] = field(default_factory=dict)  # request JSON → checked until
    _member: dict[str, deque[float]] = field(default_factory=dict)
    _days: Counter[str] = field(default_factory=Counter)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def per_user(self) -> Counter[str]:
        return Counter(userid for userid, _, _ in self.delivered)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now (WeCom may invalidate them early)."""
        self._tokens = dict.fromkeys(self._tokens, self.clock())

    def __call__(self, request: Request) -> Any:
        with self._lock:
            url = urlsplit(request.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            api = {"/cgi-bin/gettoken": "gettoken", "/cgi-bin/user/getuserid": "getuserid",
                   "/cgi-bin/message/send": "send"}.get(url.path)
            if api is None:
                return Reply(404, "not found", headers={"Content-Type": "text/plain"})
            fault = self.faults.get(api, []).pop(0) if self.faults.get(api) else None
            if fault == "drop":
                return DROP
            if isinstance(fault, Reply):
                return fault
            reply = self._answer(api, request, query)
            if fault == "drop_after":
                return DROP
            body = reply.body if isinstance(reply.body, dict) else {}
            if body.get("errcode"):
                self.refused[body["errcode"]] += 1
            return reply

    def _answer(self, api: str, request: Request, query: dict[str, str]) -> Reply:
        if api == "gettoken":
            return self._gettoken(request, query)
        if request.method != "POST":
            return _error(43002, "require POST method")
        if error := self._authorise(query):
            return error
        try:
            body = json.loads(request.body)
        except ValueError:
            return _error(47001, "data format error")
        if not isinstance(body, dict):
            return _error(47001, "data format error")
        return self._getuserid(body) if api == "getuserid" else self._send(body)

    # -- tokens ---------------------------------------------------------------------

    def _gettoken(self, request: Request, query: dict[str, str]) -> Reply:
        if request.method != "GET":
            return _error(43001, "require GET method")
        if "corpid" not in query:
            return _error(41002, "corpid missing")
        if query["corpid"] != self.corp_id:
            return _error(40013, "invalid corpid")
        if "corpsecret" not in query:
            return _error(41004, "corpsecret missing")
        if query["corpsecret"] != self.corp_secret:
            return _error(40001, "invalid credential")
        now = self.clock()
        live = [(t, until) for t, until in self._tokens.items() if until > now]
        if live:  # the same token while it is valid, with the time it has left
            token, until = live[-1]
        else:
            token, until = f"wxtoken-{next(self._serial):04d}-{'x' * 40}", now + self.token_lifetime
            self._tokens[token] = until
            self.tokens_issued.append(token)
        return Reply(200, {"errcode": 0, "errmsg": "ok", "access_token": token,
                           "expires_in": int(until - now)})

    def _authorise(self, query: dict[str, str]) -> Reply | None:
        token = query.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        until = self._tokens.get(token)
        if until is None:
            return _error(40014, "invalid access_token")
        if self.clock() >= until:
            return _error(42001, "access_token expired")
        return None

    # -- members --------------------------------------------------------------------

    def _getuserid(self, body: dict[str, Any]) -> Reply:
        mobile = str(body.get("mobile", ""))
        self.lookups.append(mobile)
        if not 5 <= len(mobile.encode()) <= 32:
            return _error(60103, "mobile invalid")
        for userid, known in self.users.items():
            if known == mobile:
                return Reply(200, {"errcode": 0, "errmsg": "ok", "userid": userid})
        return _error(46004, "user no exist")

    def _member_id(self, userid: str) -> str | None:
        return next((u for u in self.users if u.lower() == userid.lower()), None)

    # -- messages -------------------------------------------------------------------

    def _send(self, body: dict[str, Any]) -> Reply:
        self.sends.append(body)
        if body.get("agentid") != self.agent_id:
            return _error(40056, "invalid agentid")
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            return _error(40008, "invalid message type")
        content = (body.get(kind) or {}).get("content")
        if not isinstance(content, str) or not content:
            return _error(44004, "empty content")
        if len(content.encode()) > CONTENT_MAX:
            if kind == "markdown":
                return _error(45002, "content size out of limit")
            content = content.encode()[:CONTENT_MAX].decode(errors="ignore")
        named = [u for u in str(body.get("touser", "")).split("|") if u]
        if not named:
            return _error(82001, "user & party & tag all empty")
        if len(named) > 1000:
            return _error(40032, "invalid userid list size")
        if self.throttle is not None:
            return _error(self.throttle, "api freq out of limit")
        invalid = [u.lower() for u in named if self._member_id(u) is None]
        unlicensed = [u.lower() for u in named
                      if self._member_id(u) in self.unlicensed]
        valid = [m for u in named if (m := self._member_id(u)) and m not in self.unlicensed]
        lists = {"invaliduser": "|".join(invalid), "invalidparty": "", "invalidtag": "",
                 "unlicenseduser": "|".join(unlicensed)}
        if not valid:
            return _error(81013, "user & party & tag all invalid", **lists)
        now = self.clock()
        day = datetime.fromtimestamp(now, BEIJING).date().isoformat()
        if self.daily_limit is not None and self._days[day] + len(valid) > self.daily_limit:
            return _error(45009, "api freq out of limit")
        msgid = f"msg{next(self._serial):06d}"
        if self._duplicate(body, now):
            self.duplicates += 1
            return Reply(200, {"errcode": 0, "errmsg": "ok", **lists, "msgid": msgid})
        self._days[day] += len(valid)
        for userid in dict.fromkeys(valid):
            if self._over_member_limit(userid, now):
                self.dropped_over_limit.append(userid)  # WeCom drops these without a word
            else:
                self.delivered.append((userid, kind, content))
        return Reply(200, {"errcode": 0, "errmsg": "ok", **lists, "msgid": msgid})

    def _duplicate(self, body: dict[str, Any], now: float) -> bool:
        if body.get("enable_duplicate_check") != 1:
            return False
        interval = min(int(body.get("duplicate_check_interval") or 1800), DUPLICATE_MAX)
        key = json.dumps(body, sort_keys=True, ensure_ascii=False)
        if self._seen.get(key, 0.0) > now:
            return True
        self._seen[key] = now + interval
        return False

    def _over_member_limit(self, userid: str, now: float) -> bool:
        times = self._member.setdefault(userid, deque())
        while times and times[0] <= now - 3600:
            times.popleft()
        if sum(t > now - 60 for t in times) >= 30 or len(times) >= 1000:
            return True
        times.append(now)
        return False
