"""The DingTalk work notice channel against a stand-in of DingTalk's server API.

Every call goes over real HTTP to ``tests/providers/dingtalk_app.py`` (on 127.0.0.1), which
issues and checks tokens, looks users up by mobile, takes notices and reports their
outcome the way DingTalk documents it; channel and stand-in share one fake clock, so token
expiry, daily counts and Beijing midnight are tested without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from notifiers import Destination, Message, Outcome, Person, Result, Secrets, http_client
from notifiers._sms import until_beijing_midnight
from notifiers.dingtalk_notice import DingTalkNoticeChannel, notice_msg
from tests.providers.dingtalk_app import AFTER, DingTalkApp, User
from tests.providers.robots import FakeClock
from tests.providers.server import DROP, Reply, Server, serve

APP_KEY, APP_SECRET = "dingjiedianappkey0001", "jiedianAppSecret-0123456789abcdefXYZ"
ENV = {"DJB_APP_KEY": APP_KEY, "DJB_APP_SECRET": APP_SECRET}
ZHANG = Person("张三", mobile="13800000001", dingtalk_userid="zhangsan")
LI = Person("李四", mobile="13800000002")  # found by mobile
NOBODY = Person("赵六", email="zhaoliu@example.org")
USERS = (User("zhangsan", "13800000001"), User("lisi", "13800000002"),
         User("wangwu", "13900000003"))
SEND = "/topapi/message/corpconversation/asyncsend_v2"
RESULT = "/topapi/message/corpconversation/getsendresult"
BY_MOBILE = "/topapi/v2/user/getbymobile"

R = TypeVar("R")
Send = Callable[[Message], Awaitable[Result]]


def message(key: str = "rem-42", text: str = "请于4月底前形成创建方案交镇党建办",
            markdown: str | None = "### 【节点提醒】形成创建方案\n\n- 截止：2011-04-29") -> Message:
    return Message(title="节点提醒：形成创建方案", text=text, idempotency_key=key,
                   markdown=markdown)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def dingtalk(clock: FakeClock, **options: Any) -> DingTalkApp:
    return DingTalkApp(clock, APP_KEY, APP_SECRET, users=options.pop("users", USERS), **options)


def run(app: DingTalkApp, script: Callable[[Send], Awaitable[R]], *,
        people: Sequence[Person] = (ZHANG, LI), env: dict[str, str] = ENV,
        **config: Any) -> tuple[R, Server]:
    """``script(send)`` against ``app``, with one channel object for all its sends (as the
    dispatcher keeps one per destination); every Result is checked for secrets."""
    with serve(app) as server:
        async def go() -> R:
            async with http_client() as client:
                destination = Destination("djb-notice", "dingtalk_notice", {
                    "app_key_env": "DJB_APP_KEY", "app_secret_env": "DJB_APP_SECRET",
                    "agent_id": "1234567", "endpoint": server.url + "/", "timeout": 5,
                    **config}, unit="镇党建办", people=tuple(people))
                channel = DingTalkNoticeChannel(destination, client=client,
                                                secrets=Secrets(env=dict(env)), clock=app.clock)

                async def send(msg: Message) -> Result:
                    result = await channel.send(msg)
                    assert_clean(result, app)
                    return result
                return await script(send)
        return asyncio.run(go()), server


def once(msg: Message) -> Callable[[Send], Awaitable[Result]]:
    async def script(send: Send) -> Result:
        return await send(msg)
    return script


def assert_clean(result: Result, app: DingTalkApp) -> None:
    """No AppKey, AppSecret or access token anywhere in the Result, recipients included."""
    text = repr(result)
    for value in (APP_KEY, APP_SECRET, *app.issued):
        assert value not in text


def paths(server: Server) -> list[str]:
    return [r.path.split("?")[0] for r in server.requests]


# -- delivering -------------------------------------------------------------------------

def test_delivers_to_one_person_by_userid_and_one_by_mobile(clock: FakeClock) -> None:
    app = dingtalk(clock, readers={"lisi"})
    result, server = run(app, once(message()))
    assert result.outcome is Outcome.DELIVERED and result.code == "ok"
    assert set(result.recipients) == {"张三", "李四"}
    assert "unread" in (result.recipients["张三"].message or "")
    assert "(read)" in (result.recipients["李四"].message or "")
    assert paths(server) == ["/gettoken", BY_MOBILE, SEND, RESULT]
    assert server.requests[0].method == "GET"
    (body,) = app.sends()
    assert body["agent_id"] == 1234567 and body["userid_list"] == "zhangsan,lisi"
    assert body["msg"] == {"msgtype": "markdown", "markdown": {
        "title": "节点提醒：形成创建方案", "text": "### 【节点提醒】形成创建方案\n\n- 截止：2011-04-29"}}
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 1, "lisi": 1}
    assert result.recipients["张三"].request_id  # DingTalk's request id, for support


def test_token_and_mobile_lookups_are_cached(clock: FakeClock) -> None:
    app = dingtalk(clock)

    async def script(send: Send) -> list[Result]:
        first = await send(message("rem-1", markdown="第一条"))
        clock.advance(3600)
        return [first, await send(message("rem-2", markdown="第二条"))]
    results, server = run(app, script)
    assert all(r.delivered for r in results)
    assert app.token_requests == 1 and paths(server).count(BY_MOBILE) == 1
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 2, "lisi": 2}


def test_text_notice_when_there_is_no_markdown(clock: FakeClock) -> None:
    app = dingtalk(clock)
    result, _ = run(app, once(message(markdown=None)), people=(ZHANG,))
    assert result.delivered
    assert app.sends()[0]["msg"] == {"msgtype": "text", "text": {
        "content": "节点提醒：形成创建方案\n请于4月底前形成创建方案交镇党建办"}}


def test_long_content_is_cut_to_the_2048_byte_msg(clock: FakeClock) -> None:
    app = dingtalk(clock)
    long = "### 节点\n\n" + "各党支部要高度重视，\"认真\"组织。\n" * 200
    result, _ = run(app, once(message(markdown=long)), people=(ZHANG,))
    assert result.delivered  # the stand-in refuses a msg over 2,048 bytes with 45002
    sent = app.sends()[0]["msg"]
    size = len(json.dumps(sent, ensure_ascii=False, separators=(",", ":")).encode())
    assert 2000 < size <= 2048
    assert sent["markdown"]["text"].endswith("…") and long.startswith(sent["markdown"]["text"][:-1])


def test_notice_msg_fits_whatever_the_escapes() -> None:
    for text in ("\n" * 5000, "\"" * 3000, "a" * 2100, "节" * 1000):
        msg = notice_msg(message(markdown=text))
        assert len(json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()) <= 2048
    assert notice_msg(message(markdown="短"))["markdown"]["text"] == "短"


def test_many_people_are_sent_in_calls_of_100(clock: FakeClock) -> None:
    users = tuple(User(f"user{i:03d}") for i in range(150))
    people = [Person(f"党员{i:03d}", dingtalk_userid=u.userid) for i, u in enumerate(users)]
    app = dingtalk(clock, users=users)
    result, _ = run(app, once(message()), people=people)
    assert result.delivered and len(result.recipients) == 150
    assert [len(b["userid_list"].split(",")) for b in app.sends()] == [100, 50]
    assert len(app.received) == 150


def test_the_same_name_twice_gets_two_results(clock: FakeClock) -> None:
    app = dingtalk(clock)
    twin = Person("张三", dingtalk_userid="wangwu")
    result, _ = run(app, once(message()), people=(ZHANG, twin))
    assert set(result.recipients) == {"张三", "张三#2"} and result.delivered


# -- tokens -----------------------------------------------------------------------------

@pytest.mark.parametrize("expired_code", [40014, 42001])
def test_token_dying_mid_run_is_fetched_again_exactly_once(clock: FakeClock,
                                                           expired_code: int) -> None:
    # DingTalk says 7,200 s, but the token dies after an hour (a reset secret, say)
    app = dingtalk(clock, lifetime=3600, expired_code=expired_code)

    async def script(send: Send) -> list[Result]:
        first = await send(message("rem-1", markdown="第一条"))
        clock.advance(3601)
        return [first, await send(message("rem-2", markdown="第二条"))]
    results, server = run(app, script, people=(ZHANG,))
    assert all(r.delivered for r in results)
    assert app.token_requests == 2 and len(app.issued) == 2
    assert app.rejected == [expired_code]  # one refused call, then the fresh token worked
    assert paths(server) == ["/gettoken", SEND, RESULT, SEND, "/gettoken", SEND, RESULT]
    assert len(app.received["zhangsan"]) == 2


def test_token_is_fetched_again_before_expires_in_runs_out(clock: FakeClock) -> None:
    app = dingtalk(clock)

    async def script(send: Send) -> list[Result]:
        first = await send(message("rem-1", markdown="第一条"))
        clock.advance(7100)  # within DingTalk's 7,200 s, past the channel's margin
        return [first, await send(message("rem-2", markdown="第二条"))]
    results, _ = run(app, script, people=(ZHANG,))
    assert all(r.delivered for r in results)
    assert app.token_requests == 2 and app.rejected == []


def test_a_token_refused_twice_is_permanent_after_one_refetch(clock: FakeClock) -> None:
    app = dingtalk(clock, lifetime=0)  # every token is dead on arrival
    result, _ = run(app, once(message()), people=(ZHANG,))
    assert result.outcome is Outcome.PERMANENT and result.code == "40014"
    assert app.token_requests == 2 and app.rejected == [40014, 40014]
    assert app.received == {}


def test_wrong_app_secret_is_permanent_and_not_echoed(clock: FakeClock) -> None:
    app = dingtalk(clock)
    wrong = "notTheRightAppSecret-0123456789"
    result, server = run(app, once(message()), env={**ENV, "DJB_APP_SECRET": wrong})
    assert result.outcome is Outcome.PERMANENT and result.code == "40089"
    assert paths(server) == ["/gettoken"]  # once for both people: it is not retried
    assert wrong not in repr(result)


def test_an_answer_echoing_the_secret_and_token_is_masked(clock: FakeClock) -> None:
    app = dingtalk(clock)

    async def script(send: Send) -> Result:
        token = app.issued[0] if app.issued else ""
        app.fail(SEND, Reply(200, {"errcode": 40035, "errmsg": f"不合法的参数 access_token="
                                   f"{token} appsecret={APP_SECRET}"}))
        return await send(message())

    async def warm_then(send: Send) -> Result:
        await send(message("warm-up", markdown="预热"))
        return await script(send)
    result, _ = run(app, warm_then, people=(ZHANG,))
    assert result.outcome is Outcome.PERMANENT and result.code == "40035"
    assert "***" in (result.message or "")  # assert_clean checked token and secret are gone


def test_secrets_stay_out_of_the_logs(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    app = dingtalk(clock)
    with caplog.at_level(logging.DEBUG):
        result, _ = run(app, once(message()))
    assert result.delivered
    assert "gettoken?appkey=***&appsecret=***" in caplog.text  # httpx logs each request
    for value in (APP_KEY, APP_SECRET, *app.issued):
        assert value not in caplog.text


# -- people DingTalk does not know, or that cannot be reached ----------------------------

def test_unknown_userid_is_permanent_and_the_others_delivered(clock: FakeClock) -> None:
    app = dingtalk(clock)
    ghost = Person("王五", dingtalk_userid="left-the-party")
    result, _ = run(app, once(message()), people=(ZHANG, ghost, LI))
    assert result.recipients["王五"].outcome is Outcome.PERMANENT
    assert result.recipients["王五"].code == "unknown_user"
    assert result.recipients["张三"].delivered and result.recipients["李四"].delivered
    assert result.outcome is Outcome.PERMANENT and result.code == "partial"
    assert "2 delivered" in (result.message or "")


def test_mobile_nobody_has_is_permanent_unknown_user(clock: FakeClock) -> None:
    app = dingtalk(clock)
    stranger = Person("钱七", mobile="13700000007")
    result, _ = run(app, once(message()), people=(ZHANG, stranger))
    assert result.recipients["钱七"].outcome is Outcome.PERMANENT
    assert result.recipients["钱七"].code == "unknown_user"
    assert "60121" in (result.recipients["钱七"].message or "")
    assert result.recipients["张三"].delivered
    assert app.sends()[0]["userid_list"] == "zhangsan"


def test_person_with_neither_userid_nor_mobile_is_no_contact(clock: FakeClock) -> None:
    app = dingtalk(clock)
    result, _ = run(app, once(message()), people=(ZHANG, NOBODY, LI))
    skipped = result.recipients["赵六"]
    assert skipped.outcome is Outcome.PERMANENT and skipped.code == "no_contact"
    assert skipped.message == "no dingtalk_userid and no mobile"
    assert result.recipients["张三"].delivered and result.recipients["李四"].delivered
    assert set(app.received) == {"zhangsan", "lisi"}


def test_cannot_reach() -> None:
    assert DingTalkNoticeChannel.cannot_reach(NOBODY) == "no dingtalk_userid and no mobile"
    assert DingTalkNoticeChannel.cannot_reach(LI) is None
    assert DingTalkNoticeChannel.cannot_reach(Person("孙八", dingtalk_userid="sunba")) is None


def test_no_people_is_permanent(clock: FakeClock) -> None:
    result, server = run(dingtalk(clock), once(message()), people=())
    assert result.outcome is Outcome.PERMANENT and result.code == "no_recipients"
    assert server.requests == []


# -- throttling, limits and retries -------------------------------------------------------

def test_throttled_call_is_transient_with_retry_after(clock: FakeClock) -> None:
    app = dingtalk(clock, throttle=90002)

    async def script(send: Send) -> list[Result]:
        first = await send(message())
        app.throttle = None
        clock.advance(first.retry_after or 0)
        return [first, await send(message())]
    (first, second), _ = run(app, script)
    assert first.outcome is Outcome.TRANSIENT and first.code == "90002"
    assert first.retry_after == 60.0 and first.recipients["李四"].code == "90002"
    assert second.delivered
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 1, "lisi": 1}


def test_flow_controlled_person_is_transient_and_only_they_are_retried(
        clock: FakeClock) -> None:
    app = dingtalk(clock, per_minute=1)  # the application's recipients a minute, made small

    async def script(send: Send) -> list[Result]:
        first = await send(message())
        clock.advance(first.retry_after or 0)
        return [first, await send(message())]
    (first, second), _ = run(app, script)
    assert first.outcome is Outcome.TRANSIENT and first.retry_after == 60.0
    assert first.recipients["张三"].delivered
    assert first.recipients["李四"].code == "throttled"
    assert "143103" in (first.recipients["李四"].message or "")
    assert second.delivered and second.recipients["张三"] == first.recipients["张三"]
    assert [b["userid_list"] for b in app.sends()] == ["zhangsan,lisi", "lisi"]
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 1, "lisi": 1}


def test_dropped_connection_is_transient_and_the_retry_reaches_only_the_others(
        clock: FakeClock) -> None:
    app = dingtalk(clock)
    app.fail(BY_MOBILE, DROP)

    async def script(send: Send) -> list[Result]:
        return [await send(message()), await send(message())]
    (first, second), _ = run(app, script)
    assert first.outcome is Outcome.TRANSIENT
    assert first.recipients["李四"].code == "network" and first.recipients["张三"].delivered
    assert second.delivered
    assert [b["userid_list"] for b in app.sends()] == ["zhangsan", "lisi"]
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 1, "lisi": 1}


def test_connection_dropped_after_dingtalk_took_the_notice_notifies_once(
        clock: FakeClock) -> None:
    app = dingtalk(clock)
    app.fail(SEND, AFTER)  # DingTalk sent it, but the answer (and its task_id) is lost

    async def script(send: Send) -> list[Result]:
        return [await send(message()), await send(message())]
    (first, second), _ = run(app, script)
    assert first.outcome is Outcome.TRANSIENT and first.code == "network"
    assert second.delivered and second.recipients["李四"].code == "duplicate_content"
    assert len(app.sends()) == 2  # no task id to read: sent again, and DingTalk drops the copy
    assert {u: len(m) for u, m in app.received.items()} == {"zhangsan": 1, "lisi": 1}


def test_lost_send_result_is_read_again_without_sending_again(clock: FakeClock) -> None:
    app = dingtalk(clock)
    app.fail(RESULT, DROP)

    async def script(send: Send) -> list[Result]:
        return [await send(message()), await send(message())]
    (first, second), server = run(app, script)
    assert first.outcome is Outcome.TRANSIENT and first.code == "network"
    assert second.delivered and second.code == "ok"
    assert paths(server).count(SEND) == 1 and paths(server).count(RESULT) == 2


def test_result_not_ready_is_pending_and_the_task_is_read_later(clock: FakeClock) -> None:
    app = dingtalk(clock, processing=30)

    async def script(send: Send) -> list[Result]:
        first = await send(message())
        clock.advance(first.retry_after or 0)
        second = await send(message())
        clock.advance(30)
        return [first, second, await send(message())]
    (first, second, third), server = run(app, script)
    assert first.outcome is Outcome.TRANSIENT and first.code == "pending"
    assert first.retry_after == 5.0
    assert second.code == "pending"
    assert third.delivered
    assert paths(server).count(SEND) == 1 and paths(server).count(RESULT) == 3


def test_same_content_is_not_sent_twice_the_same_day(clock: FakeClock) -> None:
    app = dingtalk(clock)
    msg = message("rem-1")

    async def script(send: Send) -> list[Result]:
        first = await send(msg)
        again = await send(message("rem-2"))  # another reminder, word for word the same
        clock.advance(until_beijing_midnight(clock()) + 60)
        return [first, again, await send(message("rem-3"))]
    (first, again, tomorrow), _ = run(app, script, people=(ZHANG,))
    assert first.delivered
    assert again.delivered and again.code == "duplicate_content"
    assert tomorrow.delivered and tomorrow.code == "ok"
    assert len(app.sends()) == 2 and len(app.received["zhangsan"]) == 2


def test_500_notices_a_person_a_day_then_transient_until_midnight(clock: FakeClock) -> None:
    app = dingtalk(clock)
    midnight: list[float] = []

    async def script(send: Send) -> list[Result]:
        results = [await send(message(f"rem-{i}", markdown=f"第{i}条")) for i in range(501)]
        midnight.append(until_beijing_midnight(clock()))
        clock.advance(midnight[0] + 1)
        return [*results, await send(message("rem-501", markdown="第501条"))]
    results, _ = run(app, script, people=(ZHANG,))
    assert all(r.delivered for r in results[:500])
    over = results[500]
    assert over.outcome is Outcome.TRANSIENT and over.code == "daily_limit"
    assert over.retry_after == midnight[0]
    assert results[501].delivered  # a new day
    assert len(app.sends()) == 501 and len(app.received["zhangsan"]) == 501


def test_dingtalks_own_daily_count_is_transient_until_midnight(clock: FakeClock) -> None:
    app = dingtalk(clock, daily_max=1)  # another process already used this person's day

    async def script(send: Send) -> list[Result]:
        return [await send(message(f"rem-{i}", markdown=f"第{i}条")) for i in range(3)]
    (first, second, third), _ = run(app, script, people=(ZHANG,))
    assert first.delivered
    assert second.outcome is Outcome.TRANSIENT and second.code == "daily_limit"
    assert second.retry_after == until_beijing_midnight(clock())
    assert "143105" in (second.message or "")
    assert third.code == "daily_limit" and len(app.sends()) == 2  # known now: no call


def test_server_error_is_transient(clock: FakeClock) -> None:
    app = dingtalk(clock)
    app.fail(SEND, Reply(502, "<html>Bad Gateway</html>"))
    result, _ = run(app, once(message()), people=(ZHANG,))
    assert result.outcome is Outcome.TRANSIENT and result.code == "http_502"


def test_system_busy_is_transient(clock: FakeClock) -> None:
    app = dingtalk(clock)
    app.fail(SEND, Reply(200, {"errcode": -1, "errmsg": "系统繁忙"}))
    result, _ = run(app, once(message()), people=(ZHANG,))
    assert result.outcome is Outcome.TRANSIENT and result.code == "-1"


# -- configuration --------------------------------------------------------------------------

def test_missing_secret_is_permanent_and_sends_nothing(clock: FakeClock) -> None:
    app = dingtalk(clock)
    result, server = run(app, once(message()), env={"DJB_APP_KEY": APP_KEY})
    assert result.outcome is Outcome.PERMANENT and result.code == "secret_missing"
    assert "DJB_APP_SECRET" in (result.message or "")
    assert server.requests == []
    assert APP_KEY not in repr(result) and APP_SECRET not in repr(result)


def test_destination_key_is_one_per_application() -> None:
    config = {"app_key_env": "DJB_APP_KEY", "app_secret_env": "DJB_APP_SECRET",
              "agent_id": "1234567"}
    key = DingTalkNoticeChannel.destination_key(config)
    assert key is not None and key.startswith("dingtalk_notice:") and len(key) <= 64
    assert DingTalkNoticeChannel.destination_key({**config, "endpoint": "http://x/"}) == key
    assert DingTalkNoticeChannel.destination_key({**config, "agent_id": "7654321"}) != key
    assert DingTalkNoticeChannel.destination_key({"agent_id": "1"}) is None


def test_config_fields() -> None:
    config = DingTalkNoticeChannel.Config.model_validate({
        "app_key_env": "DJB_APP_KEY", "app_secret_env": "DJB_APP_SECRET", "agent_id": 1234567,
        "endpoint": "https://oapi.dingtalk.com/", "timeout": 5})
    assert config.agent_id == "1234567"
    assert set(DingTalkNoticeChannel.Config.rules) == {"app_key_env*", "app_secret_env*",
                                                       "agent_id*"}
    with pytest.raises(ValueError, match="environment variable"):
        DingTalkNoticeChannel.Config.model_validate({"app_secret_env": "not a name!"})
    with pytest.raises(ValueError, match="http"):
        DingTalkNoticeChannel.Config.model_validate({"endpoint": "oapi.dingtalk.com"})


def test_the_channels_of_one_application_share_its_token(clock: FakeClock) -> None:
    """The dispatcher keeps a channel object per unit's channel: three units on the office's
    application ask gettoken once, not three times."""
    app = dingtalk(clock)
    with serve(app) as server:
        async def go() -> list[Result]:
            async with http_client() as client:
                channels = [DingTalkNoticeChannel(Destination(f"notice-{i}", "dingtalk_notice", {
                    "app_key_env": "DJB_APP_KEY", "app_secret_env": "DJB_APP_SECRET", "agent_id": "1234567",
                    "endpoint": server.url + "/", "timeout": 5}, unit=f"第{i}村党支部", people=(ZHANG,)),
                    client=client, secrets=Secrets(env=dict(ENV)), clock=clock) for i in range(3)]
                return [await c.send(message(key=f"rem-{i}", markdown=f"### 第{i}村党支部的节点"))
                        for i, c in enumerate(channels)]
        results = asyncio.run(go())
    assert all(r.delivered for r in results)
    assert app.token_requests == 1 and len(app.received["zhangsan"]) == 3
