"""DingTalk work notices (工作通知) sent by an internal application (企业内部应用) to people.

Config (a units-directory channel): ``app_key_env`` and ``app_secret_env`` (the names of
the variables holding the application's AppKey and AppSecret), ``agent_id`` (the
application's AgentId), ``endpoint`` (default ``https://oapi.dingtalk.com/``) and optional
``timeout`` (seconds). Recipients are the destination's ``people``: a person's
``dingtalk_userid``, else the userid DingTalk finds for their ``mobile``; a person with
neither is skipped (``no_contact``, "no dingtalk_userid and no mobile").

Calls (DingTalk's server API, the ``oapi`` host; pages of https://open.dingtalk.com,
mirrored in English at https://help.dingtalk.io/open/development/…):

- ``GET gettoken?appkey=…&appsecret=…`` (获取企业内部应用的access_token,
  …/obtain-the-access-token-of-an-internal-app) → ``access_token``, ``expires_in`` (7200 s).
  The token is cached until ``expires_in`` minus a margin (the page advises refreshing a
  little before the 7,200 s, e.g. at 7,000), by the injected clock. An API answering that
  the token is invalid or expired — 40014 (不合法的access_token, which DingTalk also answers
  for an expired one), 42001 (access_token超时), 40001 (access_token无效) or 88 (鉴权异常),
  the global error codes (全局错误码, …/server-api-error-codes-1) — gets one fresh token
  and one retry of that call; a second refusal is permanent. 40089 (不合法的corpid或
  corpsecret / appkey或appsecret) from ``gettoken`` is a wrong key: permanent.
- ``POST topapi/v2/user/getbymobile`` (根据手机号查询用户, …/query-users-by-phone-number)
  ``{mobile}`` → ``result.userid``; 60121 (找不到该用户) and 40104 (invalid mobile in the
  organisation) make that person permanent ``unknown_user``. Found userids are cached.
- ``POST topapi/message/corpconversation/asyncsend_v2`` (发送工作通知,
  …/asynchronous-sending-of-enterprise-session-messages) ``{agent_id, userid_list, msg}``
  → ``task_id``. ``msg`` is ``markdown`` (``{title, text}``) when the message has Markdown,
  else ``text`` (``content``: title, newline, text: a text notice has no title of its own);
  the whole ``msg`` is at most 2,048 bytes (the API's 参数说明, "最长不超过2048个字节",
  https://open-doc.dingtalk.com/microapp/serverapi2/pgoxpy), so the content is cut, at a
  character boundary and marked, until the JSON fits.
- ``POST topapi/message/corpconversation/getsendresult`` (获取工作通知消息的发送结果,
  …/gets-the-result-of-sending-messages-asynchronously-to-the-enterprise)
  ``{agent_id, task_id}`` → ``send_result`` with ``invalid_user_id_list``,
  ``forbidden_user_id_list`` + ``forbidden_list`` (``{code, count, userid}``),
  ``failed_user_id_list``, ``read_user_id_list`` and ``unread_user_id_list``. Only tasks
  of the last 24 hours can be read, and a task of more than 100 recipients answers "Call
  timeout": so a call names at most 100 userids (older versions of the send page also
  cap ``userid_list`` at 100).

The send API answers success before anything is delivered, and its limits do not refuse
the call: the person simply does not get the notice, and ``getsendresult`` says so. Per
person (``Result.recipients`` is keyed by the person's ``name``; a name that repeats in a
unit gets ``#2``, ``#3``): read or unread → delivered; invalid → permanent
``unknown_user``; forbidden → by its ``forbidden_list`` code (getsendresult's error codes,
as listed for the API, e.g. https://zidingyi.apifox.cn/api-37157310): 143103/143104
(QPM, 人次超限) → transient ``throttled`` after 60 s; 143105 (单应用给单人每日推送量超限)
→ transient ``daily_limit`` until the next midnight in Beijing; 143106 (单应用给单人推送
重复消息超限: the same content reached them already today) → delivered
``duplicate_content``; failed → transient after 60 s; in no list yet → the task is still
running: transient ``pending`` after 5 s. The channel remembers the task per idempotency
key: a retry of that message reads its result again instead of sending a second notice.

Limits the send page documents for an internal application, enforced before sending
(the numbers come from that page's 限制 section): the same content to the same person
once a day (a person already reached with this content today is delivered without a
call: DingTalk would drop the copy), at most 500 notices a person a day (more is
transient ``daily_limit`` until Beijing midnight), and at most 5,000 recipients a minute
for the application (more is transient ``rate_limited`` until the window has room). The
5,000 recipients a call the page allows are not used (100, above). The counts live in the
channel object, one per destination for as long as the dispatcher runs; what another
process sent is still caught by DingTalk's own count (143105/143106 above).

Errors of a call: -1 (系统繁忙), 45009 (接口调用超过限制) and 90001–90014 (the API
call-frequency limits, 调用频率限制, …/call-frequency-limit: 90002 is the per-API one) are
transient; HTTP 5xx and a dropped connection are transient; anything else is permanent
with DingTalk's errcode as the code. A call refused as a whole gives its Result to every
person in it. A connection dropped after DingTalk took the notice leaves no ``task_id``:
the retry sends again, and DingTalk drops that copy as the same content (143106), so the
person is counted delivered once and notified once. Persons delivered are remembered per
idempotency key (the last 10,000 keys): a retry reaches only the others.

The overall Result is ``notifiers._sms.overall``'s: delivered when every person is,
transient when any is, else permanent. Secrets (AppKey, AppSecret, the access token) are
never put in a Result or a log line: messages are masked with the secrets and the URL, and
a filter on the ``httpx`` logger masks them in the request lines it logs at INFO (the
legacy API takes them in the query string).

The limits and code tables, the ``msg`` building and the state classes are in
``notifiers._worknotice``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import Field

from notifiers._apps import AccessToken, shared
from notifiers._base import (
    Channel,
    HttpAnswer,
    Message,
    Outcome,
    Person,
    Result,
    get_json,
    http_failure,
    keyed_people,
    post_json,
    scrub,
)
from notifiers._config import ChannelConfig, EnvName, HttpUrl, Text
from notifiers._secrets import SecretsError
from notifiers._sms import (
    BEIJING,
    Remembered,
    chunks,
    config_error,
    overall,
    until_beijing_midnight,
)
from notifiers._worknotice import (
    APP_RECIPIENTS_PER_MINUTE,
    BUSY,
    ENDPOINT,
    FORBIDDEN,
    NO_CONTACT,
    PENDING_KEYS,
    PENDING_RETRY,
    TASK_READABLE,
    THROTTLE_RETRY,
    TOKEN_CODES,
    TOKEN_MARGIN,
    UNKNOWN_MOBILE,
    USER_DAILY_MAX,
    USERS_PER_CALL,
    App,
    Counts,
    Task,
    Window,
    compact_json,
    msg_digest,
    notice_msg,
)

__all__ = ["DingTalkNoticeChannel", "notice_msg"]

log = logging.getLogger(__name__)

T, P, D = Outcome.TRANSIENT, Outcome.PERMANENT, Outcome.DELIVERED


class DingTalkNoticeChannel(Channel):
    class Config(ChannelConfig):
        app_key_env: EnvName = None
        app_secret_env: EnvName = None
        agent_id: Text = None
        endpoint: HttpUrl = None
        timeout: Annotated[float | None, Field(gt=0)] = None
        rules: ClassVar[tuple[str, ...]] = ("app_key_env*", "app_secret_env*", "agent_id*")

    kind: ClassVar[str] = "dingtalk_notice"
    reaches_people: ClassVar[bool] = True
    groups: ClassVar[bool] = True  # units with the same people: one notice per window
    group_units: ClassVar[int] = 3  # three units' sections fit the 2,048 bytes a notice holds
    # Kept in the store too (every daemon together); a day here is a sliding one.
    person_limits: ClassVar[tuple[tuple[int, float], ...]] = ((USER_DAILY_MAX, 86_400.0),)

    @classmethod
    def person_key(cls, person: Person) -> str:
        return person.dingtalk_userid or f"mobile:{person.mobile}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remembered = Remembered()
        self._pending: dict[str, list[Task]] = {}  # idempotency key → tasks not read yet
        config = self.destination.config
        # one token per application, whichever unit's channel object fetched it
        self._token = shared((self.kind, self.endpoint(), str(config.get("app_key_env", "")),
                              str(config.get("agent_id", ""))), AccessToken)
        self._refused: Result | None = None  # gettoken's refusal, for the rest of this send
        self._userids: dict[str, str] = {}  # mobile → userid
        self._counts = Counts()
        self._window = Window(APP_RECIPIENTS_PER_MINUTE, 60.0)

    @classmethod
    def cannot_reach(cls, person: Person) -> str | None:
        return None if person.dingtalk_userid or person.mobile else NO_CONTACT

    @classmethod
    def destination_key(cls, config: Mapping[str, Any]) -> str | None:
        """One key per application: its AgentId and the variable naming its AppKey, hashed
        (the store keeps a destination in 64 characters)."""
        agent, key_env = config.get("agent_id"), config.get("app_key_env")
        if not agent or not key_env:
            return None
        return f"{cls.kind}:" + hashlib.sha256(f"{agent}:{key_env}".encode()).hexdigest()[:40]

    # -- sending ---------------------------------------------------------------------

    async def send(self, message: Message) -> Result:
        keyed = keyed_people(self.destination.people)
        if not keyed:
            return Result(P, "no_recipients",
                          f"unit {self.destination.unit or '?'} has no people")
        config = self.destination.config
        try:
            agent = str(config["agent_id"])
            app = App(self.secrets.get(str(config["app_key_env"])),
                      self.secrets.get(str(config["app_secret_env"])),
                      int(agent) if agent.isdigit() else agent)
        except (SecretsError, KeyError) as error:
            return config_error(self.destination.channel_id, error, self.secrets.mask)
        self._refused = None
        key = message.idempotency_key
        msg = notice_msg(message)
        results = self.remembered.get(key)
        # people of a task already sent get its outcome, never a second notice
        results.update(await self._read_pending(app, key))
        todo = [(name, person) for name, person in keyed if name not in results]
        users: dict[str, list[str]] = {}
        for name, userid in (await self._resolve(app, todo, results)).items():
            users.setdefault(userid, []).append(name)
        results.update(await self._deliver(app, key, msg, users))
        self.remembered.add(key, results)
        outcome = overall({name: results[name] for name, _ in keyed})
        log.info("dingtalk_notice %s key=%s → %s %s (%d people)", self.destination.channel_id,
                 key, outcome.outcome, outcome.code, len(keyed))
        return outcome

    async def _resolve(self, app: App, todo: Iterable[tuple[str, Person]],
                       results: dict[str, Result]) -> dict[str, str]:
        """Each person's userid (the name's key → userid); the others' Results go in ``results``."""
        found: dict[str, str] = {}
        for name, person in todo:
            if person.dingtalk_userid:
                found[name] = person.dingtalk_userid
            elif not person.mobile:
                results[name] = Result(P, "no_contact", self.cannot_reach(person))
            elif person.mobile in self._userids:
                found[name] = self._userids[person.mobile]
            else:
                answer = await self._call(app, "topapi/v2/user/getbymobile",
                                          {"mobile": person.mobile})
                if isinstance(answer, Result):
                    results[name] = answer
                elif isinstance(userid := (answer.get("result") or {}).get("userid"), str):
                    found[name] = self._userids[person.mobile] = userid
                else:
                    results[name] = Result(P, "unknown_user", "getbymobile answered no userid",
                                           request_id=answer.get("request_id"))
        return found

    async def _deliver(self, app: App, key: str, msg: dict[str, Any],
                       users: dict[str, list[str]]) -> dict[str, Result]:
        """Send ``msg`` to ``users`` (userid → keys), within the limits, and read the outcome."""
        results: dict[str, Result] = {}
        now, digest = self.clock(), msg_digest(msg)
        counts = self._counts.on(self._day(now))
        allowed = []
        for userid, names in users.items():
            if (userid, digest) in counts.reached:
                said = Result(D, "duplicate_content", "already reached with this content today "
                              "(DingTalk delivers the same content to a person once a day)")
            elif counts.per_user.get(userid, 0) >= USER_DAILY_MAX:
                said = Result(T, "daily_limit", f"{USER_DAILY_MAX} notices to this person today, "
                              "DingTalk's daily limit", until_beijing_midnight(now))
            else:
                allowed.append(userid)
                continue
            results.update(dict.fromkeys(names, said))
        room = self._window.room(now)
        if len(allowed) > room:
            wait = self._window.wait(now, len(allowed) - room)
            late = Result(T, "rate_limited", f"{APP_RECIPIENTS_PER_MINUTE} recipients a minute "
                          "for the application", wait)
            for userid in allowed[room:]:
                results.update(dict.fromkeys(users[userid], late))
            allowed = allowed[:room]
        for chunk in chunks(allowed, USERS_PER_CALL):
            results.update(await self._send_chunk(app, key, msg, digest,
                                                  {u: users[u] for u in chunk}))
        return results

    async def _send_chunk(self, app: App, key: str, msg: dict[str, Any], digest: str,
                          users: dict[str, list[str]]) -> dict[str, Result]:
        answer = await self._call(app, "topapi/message/corpconversation/asyncsend_v2", {
            "agent_id": app.agent_id, "userid_list": ",".join(users), "msg": msg})
        if isinstance(answer, Result):
            return {name: answer for names in users.values() for name in names}
        now = self.clock()
        counts = self._counts.on(self._day(now))
        for userid in users:
            counts.per_user[userid] = counts.per_user.get(userid, 0) + 1
        self._window.add(now, len(users))
        task = Task(answer.get("task_id", ""), dict(users), digest, counts.day, now)
        self._pending.setdefault(key, []).append(task)
        while len(self._pending) > PENDING_KEYS:  # a message never retried leaves its task here
            del self._pending[next(iter(self._pending))]
        return await self._read(app, key, task)

    # -- reading a task's outcome ----------------------------------------------------------

    async def _read_pending(self, app: App, key: str) -> dict[str, Result]:
        results: dict[str, Result] = {}
        for task in list(self._pending.get(key, ())):
            if self.clock() - task.sent_at > TASK_READABLE:
                self._forget(key, task)  # unreadable now: its people are sent to again
                continue
            results.update(await self._read(app, key, task))
        return results

    async def _read(self, app: App, key: str, task: Task) -> dict[str, Result]:
        """The Results of ``task``'s people; the task stays pending while any is unknown."""
        answer = await self._call(app, "topapi/message/corpconversation/getsendresult",
                                  {"agent_id": app.agent_id, "task_id": task.task_id})
        if isinstance(answer, Result):
            if answer.outcome is not T:
                self._forget(key, task)
            return {name: answer for names in task.users.values() for name in names}
        said = answer.get("send_result") or {}
        lists = {name: set(said.get(name) or ()) for name in (
            "invalid_user_id_list", "forbidden_user_id_list", "failed_user_id_list",
            "read_user_id_list", "unread_user_id_list")}
        codes = {str(item.get("userid")): str(item.get("code"))
                 for item in said.get("forbidden_list") or () if isinstance(item, dict)}
        results: dict[str, Result] = {}
        for userid, names in list(task.users.items()):
            result = self._person(userid, task, lists, codes, answer.get("request_id"))
            if result.code != "pending":
                del task.users[userid]
            results.update(dict.fromkeys(names, result))
        if not task.users:
            self._forget(key, task)
        return results

    def _person(self, userid: str, task: Task, lists: Mapping[str, set[str]],
                codes: Mapping[str, str], request_id: str | None) -> Result:
        where = f"task {task.task_id}"
        if userid in lists["invalid_user_id_list"]:
            self._userids = {m: u for m, u in self._userids.items() if u != userid}
            return Result(P, "unknown_user", f"{where}: DingTalk knows no user {userid} "
                          "in the organisation", request_id=request_id)
        if userid in lists["forbidden_user_id_list"] or userid in codes:
            code = codes.get(userid, "")
            outcome, ours, retry = FORBIDDEN.get(code, (T, "throttled", THROTTLE_RETRY))
            counts = self._counts.on(self._day(self.clock()))
            if ours == "daily_limit":
                retry = until_beijing_midnight(self.clock())
                if counts.day == task.day:
                    counts.per_user[userid] = USER_DAILY_MAX
            elif ours == "duplicate_content" and counts.day == task.day:
                counts.reached.add((userid, task.digest))
            return Result(outcome, ours, f"{where}: flow control {code or '?'} "
                          "(forbidden_user_id_list)", retry, request_id=request_id)
        if userid in lists["failed_user_id_list"]:
            return Result(T, "failed", f"{where}: DingTalk failed to deliver it",
                          THROTTLE_RETRY, request_id=request_id)
        if userid in lists["read_user_id_list"] | lists["unread_user_id_list"]:
            counts = self._counts.on(self._day(self.clock()))
            if counts.day == task.day:
                counts.reached.add((userid, task.digest))
            read = "read" if userid in lists["read_user_id_list"] else "unread"
            return Result(D, "ok", f"{where}: delivered ({read})", request_id=request_id)
        return Result(T, "pending", f"{where}: DingTalk is still sending it", PENDING_RETRY,
                      request_id=request_id)

    def _forget(self, key: str, task: Task) -> None:
        tasks = self._pending.get(key, [])
        if task in tasks:
            tasks.remove(task)
        if not tasks:
            self._pending.pop(key, None)

    @staticmethod
    def _day(now: float) -> str:
        return datetime.fromtimestamp(now, UTC).astimezone(BEIJING).date().isoformat()

    # -- calls -----------------------------------------------------------------------

    def endpoint(self) -> str:
        return str(self.destination.config.get("endpoint") or ENDPOINT).rstrip("/") + "/"

    async def _call(self, app: App, path: str, body: Mapping[str, Any]) -> dict[str, Any] | Result:
        """POST ``body`` to ``path`` with the access token: DingTalk's answer when errcode is
        0, else its Result. A refused token is fetched again, and the call tried again, once."""
        said = await self._post(app, path, body, fresh=False)
        if isinstance(said, tuple) and said[0] in TOKEN_CODES:
            self._token.forget(self._token.token or "")
            said = await self._post(app, path, body, fresh=True)
        return said[1] if isinstance(said, tuple) else said

    async def _post(self, app: App, path: str, body: Mapping[str, Any], *,
                    fresh: bool) -> dict[str, Any] | tuple[int | None, Result]:
        token = await self._access_token(app, fresh=fresh)
        if isinstance(token, Result):
            return None, token
        url = str(httpx.URL(self.endpoint() + path, params={"access_token": token}))
        answer = await post_json(self.client, url, content=compact_json(body).encode(),
                                 timeout=self.timeout)
        return self._answer(answer, url)

    async def _access_token(self, app: App, *, fresh: bool) -> str | Result:
        now = self.clock()
        if not fresh and (token := self._token.valid(now)) is not None:
            return token
        if self._refused is not None:  # a wrong key stays wrong: do not ask once per person
            return self._refused
        url = str(httpx.URL(self.endpoint() + "gettoken",
                            params={"appkey": app.app_key, "appsecret": app.app_secret}))
        said = self._answer(await self._get(url), url)
        if isinstance(said, tuple):
            self._refused = said[1]
            return said[1]
        token = said.get("access_token")
        if not isinstance(token, str) or not token:
            return Result(P, "no_token", "gettoken answered no access_token")
        ttl = float(said.get("expires_in") or 7200)
        self._token.keep(token, now + ttl - min(TOKEN_MARGIN, ttl / 2))
        return token

    async def _get(self, url: str) -> HttpAnswer | Result:
        return await get_json(self.client, url, timeout=self.timeout)

    def _answer(self, answer: HttpAnswer | Result,
                url: str) -> dict[str, Any] | tuple[int | None, Result]:
        """DingTalk's body when errcode is 0; else (errcode, its Result), masked."""
        def mask(text: object) -> str:
            return scrub(self.secrets, url, str(text))

        if isinstance(answer, Result):
            return None, Result(answer.outcome, answer.code, mask(answer.message or ""),
                                answer.retry_after, answer.latency_ms)
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
            failure = http_failure(answer) or Result(
                P, f"http_{answer.status}", f"not a DingTalk answer: {str(body)[:200]}")
            return None, Result(failure.outcome, failure.code, mask(failure.message or ""),
                                failure.retry_after, answer.latency_ms)
        code: int = body["errcode"]
        if code == 0:
            return body
        text = str(body.get("errmsg", ""))
        if body.get("sub_msg"):
            text += f" ({body.get('sub_code', '')} {body['sub_msg']})"
        outcome, retry = (T, BUSY[code]) if code in BUSY else (P, None)
        if answer.status >= 500:
            outcome, retry = T, retry or 5.0
        if code in UNKNOWN_MOBILE:
            return code, Result(P, "unknown_user", mask(f"{code} {text}"),
                                latency_ms=answer.latency_ms, request_id=body.get("request_id"))
        return code, Result(outcome, str(code), mask(text), retry, answer.latency_ms,
                            request_id=body.get("request_id"))
