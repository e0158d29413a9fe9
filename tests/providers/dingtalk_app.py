"""A stand-in for DingTalk's server API as an internal application (企业内部应用) sees it.

A handler for :func:`tests.providers.server.serve`, checking each request from its raw
parts (query string, JSON body) with its own code and answering with DingTalk's bodies
(HTTP 200, ``errcode``/``errmsg``):

- ``GET /gettoken?appkey=&appsecret=``: a token for the right pair only (else 40089); a
  token is the same, renewed, while it lives (DingTalk's documented behaviour), a new one
  after. ``lifetime`` is how long a token really lives by the fake clock, ``expires_in``
  what the answer says: a test makes a token die before the channel expects it to.
- Every other call wants ``access_token``: missing → 41001, unknown → 40014, expired →
  ``expired_code`` (40014, as DingTalk answers in practice, or 42001).
- ``POST /topapi/v2/user/getbymobile`` ``{mobile}`` → the user's userid, else 60121.
- ``POST /topapi/message/corpconversation/asyncsend_v2``: the agent id (40056 otherwise),
  a known ``msgtype`` (40008), ``msg`` of at most 2,048 bytes (45002), 1–5,000 userids
  (1430000 / 40032); ``throttle`` (an errcode such as 90002) refuses the whole call. Then,
  per user, as the documented limits do — the call still succeeds: an unknown userid is
  invalid; the same content to the same user the same Beijing day is forbidden 143106;
  more than ``daily_max`` a user a day 143105; more than ``per_minute`` recipients a
  minute for the application 143103. Everyone else is delivered (``received``).
- ``POST /topapi/message/corpconversation/getsendresult`` ``{agent_id, task_id}``: the
  task's lists (``read`` for the ``readers``, else ``unread``; ``invalid``, ``forbidden`` with ``forbidden_list``);
  within ``processing`` seconds of the send every list is still empty.

``fail(path, fault, times)`` makes the next calls of a path a fault instead: ``DROP``
(close the connection unanswered), ``AFTER`` (do the work, then close the connection
unanswered) or a ``Reply``. Wordings of 1430000 and of an unknown task are the
stand-in's own; the others are DingTalk's global error table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import DROP, Reply, Request

__all__ = ["AFTER", "DingTalkApp", "User"]

AFTER = object()  # answer nothing, but only after doing the work
BEIJING = timezone(timedelta(hours=8))
MSG_TYPES = frozenset({"text", "image", "voice", "file", "link", "oa", "markdown", "action_card"})


@dataclass(frozen=True)
class User:
    userid: str
    mobile: str | None = None


@dataclass
class _Task:
    task_id: int
    created: float
    delivered: list[str]
    invalid: list[str]
    forbidden: list[tuple[str, str, int]]  # (userid, code, the limit it is over)


@dataclass
class DingTalkApp:
    clock: Callable[[], float]
    app_key: str
    app_secret: str
    agent_id: int = 1234567
    users: Sequence[User] = ()
    lifetime: float = 7200.0
    expires_in: int = 7200
    expired_code: int = 40014
    daily_max: int = 500
    per_minute: int = 5000
    processing: float = 0.0
    throttle: int | None = None
    readers: set[str] = field(default_factory=set)  # users who opened their notices
    token_requests: int = 0
    issued: list[str] = field(default_factory=list)  # every token handed out
    rejected: list[int] = field(default_factory=list)  # errcodes answered for a token
    calls: list[tuple[str, Any]] = field(default_factory=list)  # (path, body) with a good token
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # userid → msgs
    _tokens: dict[str, float] = field(default_factory=dict)  # token → expiry
    _faults: dict[str, deque[Any]] = field(default_factory=dict)
    _tasks: dict[int, _Task] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(256271667526))
    _daily: dict[tuple[str, str], int] = field(default_factory=dict)  # (userid, day) → count
    _contents: set[tuple[str, str, str]] = field(default_factory=set)  # (userid, day, digest)
    _minute: deque[float] = field(default_factory=deque)

    def fail(self, path: str, fault: Any, times: int = 1) -> None:
        self._faults.setdefault(path, deque()).extend([fault] * times)

    def sends(self) -> list[Any]:
        return [body for path, body in self.calls if path.endswith("/asyncsend_v2")]

    def __call__(self, request: Request) -> Any:
        parts = urlsplit(request.path)
        faults = self._faults.get(parts.path)
        fault = faults.popleft() if faults else None
        if fault is not None and fault is not AFTER:
            return fault
        reply = self._handle(request.method, parts.path, parse_qs(parts.query), request.body)
        return DROP if fault is AFTER else reply

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        rid = uuid.uuid4().hex[:12]
        if path == "/gettoken":
            return self._gettoken(method, query, rid)
        if error := self._check_token(query):
            return self._error(*error, rid)
        try:
            data = json.loads(body)
        except ValueError:
            return self._error(43009, "post参数需要json类型", rid)
        self.calls.append((path, data))
        routes = {"/topapi/v2/user/getbymobile": self._getbymobile,
                  "/topapi/message/corpconversation/asyncsend_v2": self._asyncsend,
                  "/topapi/message/corpconversation/getsendresult": self._getsendresult}
        if method != "POST" or path not in routes:
            return self._error(404, "请求的URI地址不存在", rid)
        return routes[path](data, rid)

    @staticmethod
    def _error(code: int, message: str, rid: str) -> Reply:
        return Reply(200, {"errcode": code, "errmsg": message, "request_id": rid})

    # -- tokens --------------------------------------------------------------------------

    def _gettoken(self, method: str, query: dict[str, list[str]], rid: str) -> Reply:
        self.token_requests += 1
        if method != "GET":
            return self._error(43001, "需要GET请求", rid)
        if query.get("appkey") != [self.app_key] or query.get("appsecret") != [self.app_secret]:
            return self._error(40089, "不合法的corpid或corpsecret", rid)
        now = self.clock()
        alive = [t for t, expiry in self._tokens.items() if now < expiry]
        token = alive[0] if alive else secrets.token_hex(16)
        if not alive:
            self.issued.append(token)
        self._tokens[token] = now + self.lifetime  # fetching again renews it
        return Reply(200, {"errcode": 0, "errmsg": "ok", "access_token": token,
                           "expires_in": self.expires_in})

    def _check_token(self, query: dict[str, list[str]]) -> tuple[int, str] | None:
        token = (query.get("access_token") or [""])[0]
        if not token:
            error = (41001, "缺少access_token参数")
        elif token not in self._tokens:
            error = (40014, "不合法的access_token")
        elif self.clock() >= self._tokens[token]:
            error = (self.expired_code,
                     "access_token超时" if self.expired_code == 42001 else "不合法的access_token")
        else:
            return None
        self.rejected.append(error[0])
        return error

    # -- the APIs ------------------------------------------------------------------------

    def _getbymobile(self, data: dict[str, Any], rid: str) -> Reply:
        mobile = data.get("mobile")
        if not isinstance(mobile, str) or not mobile:
            return self._error(400002, "无效的参数", rid)
        for user in self.users:
            if user.mobile == mobile:
                return Reply(200, {"errcode": 0, "errmsg": "ok", "request_id": rid,
                                   "result": {"userid": user.userid}})
        return self._error(60121, "找不到该用户", rid)

    def _asyncsend(self, data: dict[str, Any], rid: str) -> Reply:
        if str(data.get("agent_id")) != str(self.agent_id):
            return self._error(40056, "不合法的agentid", rid)
        msg = data.get("msg")
        if not isinstance(msg, dict) or msg.get("msgtype") not in MSG_TYPES \
                or not isinstance(msg.get(msg["msgtype"]), dict):
            return self._error(40008, "不合法的消息类型", rid)
        encoded = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()
        if len(encoded) > 2048:
            return self._error(45002, "消息内容超过限制", rid)
        userids = [u for u in str(data.get("userid_list") or "").split(",") if u]
        if not userids:
            return self._error(1430000, "接受者为空", rid)
        if len(userids) > 5000:
            return self._error(40032, "不合法的UserID列表长度", rid)
        if self.throttle is not None:
            return self._error(self.throttle, "您的服务器调用钉钉开放平台当前接口的所有请求都被"
                               "暂时禁用了", rid)
        now = self.clock()
        day = datetime.fromtimestamp(now, BEIJING).date().isoformat()
        digest = hashlib.sha256(encoded).hexdigest()
        while self._minute and self._minute[0] <= now - 60:
            self._minute.popleft()
        known = {user.userid for user in self.users}
        task = _Task(next(self._serial), now, [], [], [])
        for userid in dict.fromkeys(userids):
            if userid not in known:
                task.invalid.append(userid)
            elif (userid, day, digest) in self._contents:
                task.forbidden.append((userid, "143106", 1))
            elif self._daily.get((userid, day), 0) >= self.daily_max:
                task.forbidden.append((userid, "143105", self.daily_max))
            elif len(self._minute) >= self.per_minute:
                task.forbidden.append((userid, "143103", self.per_minute))
            else:
                self._minute.append(now)
                self._daily[(userid, day)] = self._daily.get((userid, day), 0) + 1
                self._contents.add((userid, day, digest))
                self.received.setdefault(userid, []).append(msg)
                task.delivered.append(userid)
        self._tasks[task.task_id] = task
        return Reply(200, {"errcode": 0, "errmsg": "ok", "task_id": task.task_id,
                           "request_id": rid})

    def _getsendresult(self, data: dict[str, Any], rid: str) -> Reply:
        if str(data.get("agent_id")) != str(self.agent_id):
            return self._error(40056, "不合法的agentid", rid)
        task = self._tasks.get(data.get("task_id"))  # type: ignore[arg-type]
        if task is None or self.clock() - task.created > 24 * 3600:
            return self._error(400002, "task_id不存在或已超过24小时", rid)
        ready = self.clock() >= task.created + self.processing
        result: dict[str, Any] = {
            "invalid_user_id_list": task.invalid if ready else [],
            "forbidden_user_id_list": [u for u, _, _ in task.forbidden] if ready else [],
            "failed_user_id_list": [],
            "read_user_id_list": [u for u in task.delivered if u in self.readers] if ready else [],
            "unread_user_id_list": [u for u in task.delivered if u not in self.readers]
            if ready else [],
            "invalid_dept_id_list": [],
            "forbidden_list": [{"code": code, "count": count, "userid": userid}
                               for userid, code, count in task.forbidden] if ready else [],
        }
        return Reply(200, {"errcode": 0, "errmsg": "ok", "send_result": result,
                           "request_id": rid})
