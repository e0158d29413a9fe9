"""WeCom application messages (企业微信应用消息): a self-built application writes to members.

Config (a units-directory channel): ``corp_id`` (企业ID, not a secret), ``corp_secret_env``
(the environment variable holding the application's Secret), ``agent_id`` (the application's
AgentId, digits), ``endpoint`` (default ``https://qyapi.weixin.qq.com/``), optional
``timeout`` (seconds) and ``account_limit`` (the corp's 账号上限数; only with it is the
daily cap below enforced — a field beyond DESIGN.md's list).

Recipients are the destination's ``people``: a person's ``wecom_userid``, else the userid
WeCom has for their ``mobile``; a person with neither is skipped with ``no_contact``.
``recipients`` in the Result is keyed by the person's *name* (every person has one, not
every person has a userid; a name a unit lists again is ``#2``, as ``keyed_people`` says).

Calls, as WeCom documents them:

- ``GET cgi-bin/gettoken?corpid=…&corpsecret=…`` (获取access_token,
  https://developer.work.weixin.qq.com/document/path/91039): ``access_token`` and
  ``expires_in`` (normally 7200 s). The token is cached until ``expires_in`` by the injected
  clock, less five minutes, because gettoken must not be called often; WeCom may invalidate a
  token early, so an answer 40014 (不合法的access_token) or 42001 (access_token已过期) makes
  the channel fetch a fresh token and repeat that call once. Tokens are per application,
  so the token (and the limits below) are shared by every channel object of one application
  (``corp_id`` + ``agent_id`` at one endpoint), while the dispatcher keeps one per unit.
- ``POST cgi-bin/user/getuserid`` ``{"mobile"}`` (手机号获取userid,
  https://developer.work.weixin.qq.com/document/path/95402) → ``userid``. The docs warn
  that wrong numbers beyond 20% of the seat cap block the call for a day, so answers, found
  or not (46004 指定的成员不存在, 60103 手机号码不合法, 60111 UserID不存在), are cached a day.
- ``POST cgi-bin/message/send`` (发送应用消息,
  https://developer.work.weixin.qq.com/document/path/90236): ``touser`` is the userids not
  yet reached, ``|``-joined, at most 1000 a call; ``msgtype`` markdown when the message has
  it, else text (title and text), either content cut to 2048 UTF-8 bytes (both types' limit)
  with :func:`notifiers._base.cut_utf8`. Every call sets ``enable_duplicate_check: 1`` and
  ``duplicate_check_interval: 1800`` (WeCom's default; at most 4 h): WeCom does not deliver
  the same request JSON twice within the interval, so a resend after a dropped connection —
  when the first request may have been delivered unseen — reaches nobody twice. That needs
  the resend to be byte-for-byte the same: the body is built deterministically (people in
  the units file's order); a resend whose recipients changed meanwhile is a new request.
  The check cannot tell a resend from a *different* reminder worded the same for the same
  people, which WeCom would swallow while answering ok; so the application remembers (in
  this process) which idempotency key first sent each body, and another key sending that
  body within the interval sends it with the check off.

Answers (全局错误码, https://developer.work.weixin.qq.com/document/path/90313): HTTP 200 with
``errcode``. 0 is success — but members named in ``invaliduser`` (not members, or outside
the application's visible range; WeCom lower-cases them) get permanent ``unknown_user``
and those in ``unlicenseduser`` (no basic API licence) permanent ``unlicensed_user``; the
others are delivered. 81013 (all recipients invalid) gives each listed member the same
per-person code. Throttling is transient: 45009 (接口调用超过限制, after 60 s — a per-minute
block lasts 60 s), 45033 (接口并发调用超过限制, after 1 s), -1 (系统繁忙, after 5 s); HTTP
5xx and dropped connections too. Every other code is permanent: 40001 (bad secret), 40013
(bad corp_id), 40056 (bad agent_id), 40008/44004/45002 (message type, empty or too long),
48002 (API not permitted), 60011 (no permission for the member), 60020 (IP not in the
application's trusted IPs), 82001, 301002 (no permission for the application) … The
``hint`` WeCom puts in ``errmsg`` is the Result's ``request_id`` (support asks for it);
a delivered one carries the ``msgid``.

Limits enforced before sending (访问频率限制,
https://developer.work.weixin.qq.com/document/path/90454): one application may send one
member at most 30 messages a minute and 1000 an hour — WeCom silently drops the excess,
so the channel holds them back itself (transient ``rate_limited`` with the wait); and at
most ``account_limit`` × 200 person-times a (Beijing) day — past it, transient
``daily_limit`` until midnight. The page names no
per-application per-minute cap for messages ("发消息频率不计入基础频率").

Overall outcome: :func:`notifiers._sms.overall` over the people. The channel remembers the
people each idempotency key reached, so a retry sends only to the others.

The code tables, limits and per-application state live in :mod:`notifiers._wecom_app_state`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import quote, urlencode

from pydantic import AfterValidator, Field

from notifiers._apps import shared
from notifiers._base import (
    Channel,
    HttpAnswer,
    Message,
    Outcome,
    Person,
    Result,
    cut_utf8,
    get_json,
    http_failure,
    keyed_people,
    post_json,
    scrub,
)
from notifiers._config import ChannelConfig, EnvName, HttpUrl, Text
from notifiers._secrets import SecretsError
from notifiers._sms import Remembered, chunks, config_error, overall, until_beijing_midnight
from notifiers._wecom_app_state import (
    _HINT,
    CODES,
    CONTENT_BYTES,
    DUPLICATE_CHECK_INTERVAL,
    LOOKUP_TTL,
    MEMBER_LIMITS,
    NO_SUCH_MEMBER,
    PERSON_TIMES_PER_ACCOUNT,
    TOKEN_REFUSED,
    TOUSER_MAX,
    _Answer,
    _App,
    _Credentials,
    _listed,
)

__all__ = ["CODES", "WeComAppChannel"]

log = logging.getLogger(__name__)

ENDPOINT = "https://qyapi.weixin.qq.com/"
NOT_REACHED = "no wecom_userid and no mobile"


def _agent_id(value: str | None) -> str | None:
    if value is not None and not value.isdigit():
        raise ValueError("must be the application's AgentId, digits (e.g. 1000002)")
    return value


# -- the channel ----------------------------------------------------------------------

class WeComAppChannel(Channel):
    class Config(ChannelConfig):
        corp_id: Text = None
        corp_secret_env: EnvName = None
        agent_id: Annotated[str | None, AfterValidator(_agent_id)] = None
        endpoint: HttpUrl = None
        timeout: Annotated[float | None, Field(gt=0)] = None
        account_limit: Annotated[int | None, Field(ge=1)] = None  # 账号上限数
        rules: ClassVar[tuple[str, ...]] = ("corp_id*", "corp_secret_env*", "agent_id*")

    kind: ClassVar[str] = "wecom_app"
    reaches_people: ClassVar[bool] = True
    groups: ClassVar[bool] = True  # units with the same people: one notice per window
    group_units: ClassVar[int] = 3  # three units' sections fit the 2,048 bytes a notice holds
    # Kept in the store too (every daemon together): WeCom drops the excess without an error.
    person_limits: ClassVar[tuple[tuple[int, float], ...]] = MEMBER_LIMITS

    @classmethod
    def person_key(cls, person: Person) -> str:
        return person.wecom_userid or f"mobile:{person.mobile}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remembered = Remembered()
        config = self.destination.config
        self.app = shared((self.kind, self.base(), str(config.get("corp_id", "")),
                           str(config.get("agent_id", ""))), _App)

    @classmethod
    def cannot_reach(cls, person: Person) -> str | None:
        return None if person.wecom_userid or person.mobile else NOT_REACHED

    @classmethod
    def destination_key(cls, config: Mapping[str, Any]) -> str | None:
        """One key per application: corp_id and agent_id (neither is a secret)."""
        corp, agent = config.get("corp_id"), config.get("agent_id")
        if not corp or not agent:
            return None
        return f"{cls.kind}:" + hashlib.sha256(f"{corp}:{agent}".encode()).hexdigest()[:40]

    def base(self) -> str:
        return str(self.destination.config.get("endpoint") or ENDPOINT).rstrip("/") + "/"

    async def send(self, message: Message) -> Result:
        people = keyed_people(self.destination.people)
        if not people:
            return Result(Outcome.PERMANENT, "no_recipients",
                          f"unit {self.destination.unit or '?'} has no people")
        credentials = self.credentials()
        if isinstance(credentials, Result):
            return credentials
        recipients = self.remembered.get(message.idempotency_key)
        pending = []
        for key, person in people:
            if key in recipients:
                continue
            if (reason := self.cannot_reach(person)) is not None:
                recipients[key] = Result(Outcome.PERMANENT, "no_contact", reason)
            else:
                pending.append((key, person))
        if pending:
            recipients.update(await self._send_to(pending, message, credentials))
        self.remembered.add(message.idempotency_key, recipients)
        result = overall({key: recipients[key] for key, _ in people})
        log.info("wecom_app %s key=%s → %s %s (%d people)", self.destination.channel_id,
                 message.idempotency_key, result.outcome, result.code, len(people))
        return result

    def credentials(self) -> _Credentials | Result:
        config = self.destination.config
        try:
            secret = self.secrets.get(str(config["corp_secret_env"]))
            corp_id, agent_id = str(config["corp_id"]), str(config["agent_id"])
        except (SecretsError, KeyError) as error:
            return config_error(self.destination.channel_id, error, self.secrets.mask)
        if not agent_id.isdigit():
            return Result(Outcome.PERMANENT, "config", f"channel {self.destination.channel_id}: "
                          f"agent_id must be the application's AgentId (digits)")
        return _Credentials(corp_id, secret, int(agent_id))

    async def _send_to(self, people: list[tuple[str, Person]], message: Message,
                       credentials: _Credentials) -> dict[str, Result]:
        """Each of ``people`` (key, person: all reachable) and what came of sending them
        ``message``, by key."""
        token = await self._token(credentials)
        if isinstance(token, Result):  # nothing can be sent: each person shares the reason
            return dict.fromkeys((key for key, _ in people), token)
        results: dict[str, Result] = {}
        userids: dict[str, list[str]] = {}  # userid → the keys it stands for (one message)
        for key, person in people:
            found = await self._userid(person, credentials)
            if isinstance(found, Result):
                results[key] = found
            else:
                userids.setdefault(found, []).append(key)
        allowed, held = self._within_limits(list(userids))
        by_userid = dict(held)
        for chunk in chunks(allowed, TOUSER_MAX):
            by_userid.update(await self._deliver(chunk, message, credentials))
        for userid, names in userids.items():
            results.update(dict.fromkeys(names, by_userid[userid]))
        return results

    # -- limits ---------------------------------------------------------------------

    def _within_limits(self, userids: list[str]) -> tuple[list[str], dict[str, Result]]:
        """The userids that may be sent now, and a transient Result for each held back."""
        now, held, allowed = self.clock(), {}, []
        for userid in userids:
            wait = self.app.member_wait(userid, now)
            if wait > 0:
                held[userid] = Result(
                    Outcome.TRANSIENT, "rate_limited", "an application may send one member 30 "
                    "messages a minute and 1000 an hour (WeCom drops the rest)", retry_after=wait)
            else:
                allowed.append(userid)
        cap = self.destination.config.get("account_limit")
        if cap:
            room = self.app.room_today(now, int(cap) * PERSON_TIMES_PER_ACCOUNT)
            for userid in allowed[room:]:
                held[userid] = Result(
                    Outcome.TRANSIENT, "daily_limit",
                    f"the application's {int(cap) * PERSON_TIMES_PER_ACCOUNT} person-times "
                    f"for today are used", retry_after=until_beijing_midnight(now))
            allowed = allowed[:room]
        return allowed, held

    # -- the calls ------------------------------------------------------------------

    async def _token(self, credentials: _Credentials, *, fresh: bool = False) -> str | Result:
        """The application's access token: the cached one, or one fetched from gettoken."""
        if not fresh and (token := self.app.token.valid(self.clock())) is not None:
            return token
        query = urlencode({"corpid": credentials.corp_id, "corpsecret": credentials.secret})
        url = f"{self.base()}cgi-bin/gettoken?{query}"
        answer = self._answer(await get_json(self.client, url, timeout=self.timeout), url)
        if isinstance(answer, Result):
            return answer
        if answer.code != 0:
            return self._failure(answer)
        token, expires_in = answer.data.get("access_token"), answer.data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            return Result(Outcome.PERMANENT, "bad_answer", "gettoken answered no access_token",
                          latency_ms=answer.latency_ms)
        self.app.keep_token(token, float(expires_in), self.clock())
        return token

    async def _call(self, path: str, payload: Mapping[str, Any],
                    credentials: _Credentials) -> _Answer | Result:
        """POST ``payload`` to ``cgi-bin/{path}``; a token WeCom refuses (40014, 42001) is
        replaced by a fresh one and the call repeated, once."""
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        token = await self._token(credentials)
        if isinstance(token, Result):
            return token
        answer = await self._post(path, content, token)
        if isinstance(answer, _Answer) and answer.code in TOKEN_REFUSED:
            self.app.token.forget(token)
            token = await self._token(credentials, fresh=True)
            if isinstance(token, Result):
                return token
            answer = await self._post(path, content, token)
        return answer

    async def _post(self, path: str, content: bytes, token: str) -> _Answer | Result:
        url = f"{self.base()}cgi-bin/{path}?access_token={quote(token, safe='')}"
        return self._answer(await post_json(self.client, url, content=content,
                                            timeout=self.timeout), url)

    async def _userid(self, person: Person, credentials: _Credentials) -> str | Result:
        """The person's userid: as written, or looked up by mobile (cached for a day)."""
        if person.wecom_userid:
            return person.wecom_userid
        mobile = str(person.mobile)
        cached = self.app.lookups.get(mobile)
        if cached is not None and cached[1] > self.clock():
            return cached[0] or self._no_member(mobile, "cached")
        answer = await self._call("user/getuserid", {"mobile": mobile}, credentials)
        if isinstance(answer, Result):
            return answer
        userid = answer.data.get("userid")
        if answer.code == 0 and isinstance(userid, str) and userid:
            self.app.lookups[mobile] = (userid, self.clock() + LOOKUP_TTL)
            return userid
        if answer.code in NO_SUCH_MEMBER:
            self.app.lookups[mobile] = (None, self.clock() + LOOKUP_TTL)
            return self._no_member(mobile, f"getuserid {answer.code}")
        return self._failure(answer)

    @staticmethod
    def _no_member(mobile: str, how: str) -> Result:
        return Result(Outcome.PERMANENT, "unknown_user", f"no WeCom member has mobile {mobile} "
                      f"({how}); add a wecom_userid or fix the number")

    async def _deliver(self, userids: list[str], message: Message,
                       credentials: _Credentials) -> dict[str, Result]:
        """One message/send call to ``userids``; the limits count it until WeCom refuses it."""
        now = self.clock()
        self.app.count(userids, now)
        body = self.payload(message, credentials.agent_id, userids)
        if not self.app.duplicate_check(body, message.idempotency_key, now):
            body["enable_duplicate_check"] = 0
        answer = await self._call("message/send", body, credentials)
        results = self._read_send(answer, userids)
        # A dropped connection may have delivered: only a refusal gives the counts back.
        self.app.refund([u for u, r in results.items() if not r.delivered
                         and r.code not in ("network", "timeout")], now)
        return results

    @staticmethod
    def payload(message: Message, agent_id: int, userids: list[str]) -> dict[str, Any]:
        """The message/send body (the same message to the same people is the same body)."""
        if message.markdown:
            content: dict[str, Any] = {"msgtype": "markdown", "markdown": {
                "content": cut_utf8(message.markdown, CONTENT_BYTES)}}
        else:
            content = {"msgtype": "text", "text": {
                "content": cut_utf8(f"{message.title}\n{message.text}", CONTENT_BYTES)}}
        return {"touser": "|".join(userids), "agentid": agent_id, **content,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": DUPLICATE_CHECK_INTERVAL}

    def _read_send(self, answer: _Answer | Result, userids: list[str]) -> dict[str, Result]:
        if isinstance(answer, Result):
            return dict.fromkeys(userids, answer)
        invalid, unlicensed = (_listed(answer.data.get("invaliduser")),
                               _listed(answer.data.get("unlicenseduser")))
        if answer.code != 0 and not (answer.code == 81013 and invalid | unlicensed):
            return dict.fromkeys(userids, self._failure(answer))
        msgid = answer.data.get("msgid")
        delivered = Result(Outcome.DELIVERED, "0", self._mask(answer.said or "ok", answer.url),
                           latency_ms=answer.latency_ms, request_id=str(msgid) if msgid else None)
        results = {}
        for userid in userids:
            if userid.lower() in invalid:
                results[userid] = Result(
                    Outcome.PERMANENT, "unknown_user", f"WeCom lists userid {userid} in "
                    f"invaliduser: not a member, or outside the application's visible range",
                    latency_ms=answer.latency_ms)
            elif userid.lower() in unlicensed:
                results[userid] = Result(
                    Outcome.PERMANENT, "unlicensed_user", f"WeCom lists userid {userid} in "
                    f"unlicenseduser: the member has no basic API licence",
                    latency_ms=answer.latency_ms)
            elif answer.code == 0:
                results[userid] = delivered
            else:
                results[userid] = self._failure(answer)
        return results

    # -- reading answers ------------------------------------------------------------

    def _mask(self, text: str, url: str) -> str:
        """``text`` without a secret or the URL's token (access_token, corpsecret)."""
        return scrub(self.secrets, url, text)

    def _answer(self, answer: HttpAnswer | Result, url: str) -> _Answer | Result:
        """WeCom's JSON body, or the Result of a call that produced none (masked)."""
        if isinstance(answer, Result):
            return Result(answer.outcome, answer.code, self._mask(answer.message or "", url),
                          answer.retry_after, answer.latency_ms)
        if (failure := http_failure(answer)) is not None:
            return Result(failure.outcome, failure.code,
                          self._mask(failure.message or "", url), failure.retry_after,
                          answer.latency_ms)
        if not isinstance(answer.body, dict) or not isinstance(answer.body.get("errcode"), int):
            return Result(Outcome.PERMANENT, f"http_{answer.status}",
                          self._mask(f"not a WeCom answer: {str(answer.body)[:200]}", url),
                          latency_ms=answer.latency_ms)
        return _Answer(answer.body["errcode"], answer.body, url, answer.latency_ms)

    def _failure(self, answer: _Answer) -> Result:
        """The Result of an errcode other than 0, by the table of CODES."""
        outcome, retry = CODES.get(answer.code, (Outcome.PERMANENT, None))
        hint = _HINT.search(answer.said)
        return Result(outcome, str(answer.code), self._mask(answer.said, answer.url), retry,
                      answer.latency_ms, request_id=hint[1] if hint else None)
