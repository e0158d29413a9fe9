"""The signed webhook, DingTalk, WeCom and Feishu channels against real local stand-ins.

Each stand-in (tests/providers/robots.py) checks the signature from the raw request
with its own code and answers with the provider's bodies; time is a shared
FakeClock, so nothing here sleeps to wait (only the slow-provider stand-in sleeps,
being slow).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from providers.robots import DingTalkRobot, FakeClock, FeishuRobot, WebhookReceiver, WeComRobot
from providers.server import DROP, Reply, serve

from notifiers import (
    CHANNELS,
    Channel,
    Destination,
    Message,
    Outcome,
    Result,
    Secrets,
    SecretsError,
    build,
    http_client,
)
from notifiers.dingtalk import MAX_BYTES, DingTalkAuth, DingTalkChannel, dingtalk_sign
from notifiers.feishu import MAX_BODY, FeishuChannel, feishu_sign
from notifiers.webhook import StandardWebhooksAuth, WebhookChannel, sign, webhook_id
from notifiers.wecom import WeComChannel

MOBILES = ("13800000000", "13900000001")
HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test secret
DING_SECRET = "SECtest0123456789abcdef0123456789abcdef"
DING_TOKEN = "ding-token-0123456789"
WECOM_KEY = "wecom-key-0123-4567-89ab"
FEISHU_SECRET = "feishuTestSecret0123"
FEISHU_TOKEN = "feishu-hook-0123-4567"
SECRETS = (HOOK_SECRET, DING_SECRET, DING_TOKEN, WECOM_KEY, FEISHU_SECRET, FEISHU_TOKEN)


def message(key: str = "occ-17:djb:2011-04-23T09:00", **extra: Any) -> Message:
    return Message(title="形成创建方案交镇党建办", text="4月底前交镇党建办。\n请各党支部按时完成。",
                   idempotency_key=key, **extra)


@dataclass(frozen=True)
class Case:
    kind: str
    robot: Callable[[FakeClock], Any]
    config: Callable[[str], dict[str, Any]]  # server URL → the channel's config
    env: Callable[[str], dict[str, str]]  # server URL → the environment (secrets)

    def channel(self, client: httpx.AsyncClient, url: str, clock: FakeClock, *,
                env: dict[str, str] | None = None, **config: Any) -> Channel:
        destination = Destination(f"djb-{self.kind}", self.kind, {**self.config(url), **config},
                                  MOBILES, "镇党建办")
        secrets = Secrets(env=self.env(url) if env is None else env)
        return build(destination, client=client, secrets=secrets, clock=clock)


CASES = {
    "webhook": Case(
        "webhook", lambda clock: WebhookReceiver(clock, secret=HOOK_SECRET),
        lambda url: {"url": f"{url}/jiedian", "secret_env": "DJB_HOOK_SECRET"},
        lambda url: {"DJB_HOOK_SECRET": HOOK_SECRET}),
    "dingtalk": Case(
        "dingtalk", lambda clock: DingTalkRobot(clock, secret=DING_SECRET, token=DING_TOKEN),
        lambda url: {"url": f"{url}/robot/send?access_token={DING_TOKEN}",
                     "secret_env": "DJB_DING_SECRET", "at_mobiles": True},
        lambda url: {"DJB_DING_SECRET": DING_SECRET}),
    "wecom": Case(
        "wecom", lambda clock: WeComRobot(clock, key=WECOM_KEY),
        lambda url: {"url_env": "DJB_WECOM_URL", "at_mobiles": True},
        lambda url: {"DJB_WECOM_URL": f"{url}/cgi-bin/webhook/send?key={WECOM_KEY}"}),
    "feishu": Case(
        "feishu", lambda clock: FeishuRobot(clock, secret=FEISHU_SECRET, token=FEISHU_TOKEN),
        lambda url: {"url": f"{url}/open-apis/bot/v2/hook/{FEISHU_TOKEN}",
                     "secret_env": "DJB_FEISHU_SECRET"},
        lambda url: {"DJB_FEISHU_SECRET": FEISHU_SECRET}),
}
KINDS = list(CASES)


def run(fn: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with http_client() as client:
            return await fn(client)
    return asyncio.run(main())


def sends(case: Case, robot: Any, clock: FakeClock, messages: list[Message],
          **config: Any) -> list[Result]:
    """Send ``messages`` in turn through one channel object to ``robot`` behind a real server."""
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> list[Result]:
            channel = case.channel(client, server.url, clock, **config)
            return [await channel.send(m) for m in messages]
        return run(go)


def assert_clean(*results: Result) -> None:
    for result in results:
        for secret in SECRETS:
            assert secret not in (result.message or ""), result


# ---------------------------------------------------------------- signers, published vectors


def test_standard_webhooks_published_vector() -> None:
    # standard-webhooks/standard-webhooks libraries/python/tests/test_webhooks.py::test_sign_function
    key = base64.b64decode(HOOK_SECRET.removeprefix("whsec_"))
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                b'{"test": 2432232314}') == expected
    request = httpx.Request("POST", "https://example.org/hook", content=b'{"test": 2432232314}')
    auth = StandardWebhooksAuth(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", lambda: 1614265330.7)
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert signed.headers["webhook-timestamp"] == "1614265330"
    assert signed.headers["webhook-signature"] == expected


def test_webhook_id_is_the_key_or_a_stable_spec_safe_digest() -> None:
    assert webhook_id("occ-17:djb:2011-04-23T09:00") == "occ-17:djb:2011-04-23T09:00"
    odd = webhook_id("党建.提醒 1")
    assert odd == webhook_id("党建.提醒 1") and odd.startswith("msg_") and len(odd) == 36
    assert "." not in odd and odd.isascii()


def test_dingtalk_sign_reproduces_the_documented_python_example() -> None:
    secret, timestamp = "this is secret", "1700000000001"
    # DingTalk's own example: quote_plus(b64encode(hmac(secret, f"{timestamp}\n{secret}")))
    hmac_code = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                         digestmod=hashlib.sha256).digest()
    documented = urllib.parse.quote_plus(base64.b64encode(hmac_code))
    # and independently: printf '1700000000001\nthis is secret' | openssl dgst -sha256 \
    #   -hmac 'this is secret' -binary | base64
    assert dingtalk_sign(secret, timestamp) == "aOZ0Y/R7BCg4xs87AcG5MYf26YmwfVRTLD0z3X+p/mM="
    request = httpx.Request("POST", "https://oapi.dingtalk.com/robot/send?access_token=t")
    signed = next(DingTalkAuth(secret, lambda: 1_700_000_000.001).sync_auth_flow(request))
    query = signed.url.query.decode()
    assert query == f"access_token=t&timestamp={timestamp}&sign={documented}"
    assert "%25" not in query  # encoded exactly once


def test_feishu_sign_reproduces_the_documented_python_example() -> None:
    secret, timestamp = "this is secret", "1599360473"
    key = f"{timestamp}\n{secret}".encode()  # the string to sign is the KEY
    documented = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    # printf '' | openssl dgst -sha256 -hmac $'1599360473\nthis is secret' -binary | base64
    assert feishu_sign(secret, timestamp) == documented == \
        "/eYKrXQBzTjUZJ3s6NX16VxGbTwmK7AEs8/FnvC1CSw="


def test_channels_are_registered_with_their_limits() -> None:
    assert CHANNELS["webhook"] is WebhookChannel and WebhookChannel.limits == ()
    assert CHANNELS["dingtalk"] is DingTalkChannel and DingTalkChannel.limits == ((20, 60.0),)
    assert CHANNELS["wecom"] is WeComChannel and WeComChannel.limits == ((20, 60.0),)
    assert CHANNELS["feishu"] is FeishuChannel
    assert FeishuChannel.limits == ((100, 60.0), (5, 1.0))


# ---------------------------------------------------------------- delivery


def test_webhook_delivers_a_verified_documented_body_once_per_key() -> None:
    case, clock = CASES["webhook"], FakeClock()
    receiver = case.robot(clock)
    md = message(markdown="**4月底前**交镇党建办", fields={"due": "2011-04-29"},
                 mention_mobiles=("13800000000",))
    first, retry = sends(case, receiver, clock, [md, md])
    assert first.delivered and retry.delivered and first.code == "200"
    assert first.request_id == md.idempotency_key
    assert receiver.received == [{
        "type": "jiedian.reminder", "id": md.idempotency_key, "title": md.title,
        "text": md.text, "markdown": md.markdown, "fields": {"due": "2011-04-29"},
        "mention_mobiles": ["13800000000"], "unit": "镇党建办", "channel": "djb-webhook"}]
    assert len(receiver.seen) == 1  # the retry carried the same webhook-id


def test_webhook_sends_a_digest_id_for_a_key_the_spec_forbids() -> None:
    case, clock = CASES["webhook"], FakeClock()
    receiver = case.robot(clock)
    with serve(receiver) as server:
        async def go(client: httpx.AsyncClient) -> Result:
            return await case.channel(client, server.url, clock).send(message("a.b 党"))
        result = run(go)
        assert result.delivered
        assert server.requests[0].headers["webhook-id"] == webhook_id("a.b 党")
    assert receiver.received[0]["id"] == "a.b 党"


def test_dingtalk_text_mentions_and_signature_in_the_query() -> None:
    case, clock = CASES["dingtalk"], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> Result:
            return await case.channel(client, server.url, clock).send(message())
        result = run(go)
        path = server.requests[0].path
    assert result.delivered and result.code == "0" and result.message == "ok"
    assert result.request_id == message().idempotency_key
    assert "%25" not in path and "&sign=" in path
    (body,) = robot.received
    assert body["msgtype"] == "text"
    assert body["at"] == {"atMobiles": list(MOBILES), "isAtAll": False}
    assert body["text"]["content"].startswith("形成创建方案交镇党建办\n4月底前交镇党建办。")
    assert body["text"]["content"].endswith("@13800000000 @13900000001")


def test_dingtalk_prefers_markdown_and_cuts_long_text() -> None:
    case, clock = CASES["dingtalk"], FakeClock()
    robot = case.robot(clock)
    md = message("k1", markdown="### 形成创建方案\n- 4月底前 @13800000000")
    long = Message("标题", "党" * 30_000, "k2", mention_mobiles=("13700000002",))
    results = sends(case, robot, clock, [md, long], at_mobiles=["13800000000"])
    assert all(r.delivered for r in results)
    first, second = robot.received
    assert first["msgtype"] == "markdown" and first["markdown"]["title"] == md.title
    assert first["markdown"]["text"] == md.markdown  # the mobile is already in the text
    assert first["at"]["atMobiles"] == ["13800000000"]
    content = second["text"]["content"]
    assert len(content.encode()) <= MAX_BYTES and "…" in content
    assert content.endswith("@13700000002 @13800000000")


def test_wecom_markdown_unless_someone_is_mentioned_and_size_cuts() -> None:
    case, clock = CASES["wecom"], FakeClock()
    robot = case.robot(clock)
    md = message("k1", markdown="## 形成创建方案\n" + "党" * 3000)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> list[Result]:
            plain = case.channel(client, server.url, clock, at_mobiles=None)
            mentioning = case.channel(client, server.url, clock)
            long = Message("标题", "党" * 1000, "k3")
            return [await plain.send(md), await mentioning.send(md),
                    await mentioning.send(long)]
        results = run(go)
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3
    markdown, text, cut = robot.received
    assert markdown["msgtype"] == "markdown"
    assert 4000 < len(markdown["markdown"]["content"].encode()) <= 4096
    assert text["msgtype"] == "text" and text["text"]["mentioned_mobile_list"] == list(MOBILES)
    assert 2000 < len(cut["text"]["content"].encode()) <= 2048
    assert cut["text"]["content"].endswith("…")


def test_feishu_text_post_and_the_20kb_body_limit() -> None:
    case, clock = CASES["feishu"], FakeClock()
    robot = case.robot(clock)
    md = message("k1", markdown="**4月底前**")
    huge = Message("标题", "第一行\n" + "党" * 12_000, "k2", markdown="x")
    results = sends(case, robot, clock, [message(), md, huge])
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3
    text, post, cut = robot.received
    assert text["msg_type"] == "text"
    assert text["content"]["text"] == f"{message().title}\n{message().text}"
    assert text["timestamp"] == str(int(clock())) and text["sign"]
    assert post["msg_type"] == "post"
    assert post["content"]["post"]["zh_cn"] == {"title": md.title, "content": [
        [{"tag": "text", "text": "4月底前交镇党建办。"}],
        [{"tag": "text", "text": "请各党支部按时完成。"}]]}
    assert len(json.dumps(cut, ensure_ascii=False).encode()) <= MAX_BODY
    assert cut["content"]["post"]["zh_cn"]["content"][-1][0]["text"].endswith("…")


def test_feishu_title_alone_over_20kb_is_sent_and_refused_not_looped() -> None:
    case, clock = CASES["feishu"], FakeClock()
    (result,) = sends(case, case.robot(clock), clock, [Message("党" * 8000, "正文", "k")])
    assert result.outcome is Outcome.PERMANENT and result.code == "9499"


# ---------------------------------------------------------------- throttling


@pytest.mark.parametrize(("kind", "burst", "code", "retry_after"), [
    ("dingtalk", 20, "130101", 600.0), ("wecom", 20, "45009", 60.0), ("feishu", 5, "11232", 60.0),
])
def test_the_providers_throttle_answer_is_transient(kind: str, burst: int, code: str,
                                                    retry_after: float) -> None:
    # Another sender (a second daemon) shares the robot: our limiter cannot see its sends.
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> tuple[list[Result], Result]:
            ours, theirs = (case.channel(client, server.url, clock) for _ in range(2))
            first = [await theirs.send(message(f"t{i}")) for i in range(burst)]
            return first, await ours.send(message())
        first, result = run(go)
    assert all(r.delivered for r in first)
    assert result.outcome is Outcome.TRANSIENT and result.code == code
    assert result.retry_after == retry_after and result.request_id == message().idempotency_key
    assert_clean(result)


def test_the_webhook_receivers_429_is_transient_with_its_retry_after() -> None:
    case, clock = CASES["webhook"], FakeClock()
    receiver = WebhookReceiver(clock, secret=HOOK_SECRET, limit=1)
    ok, throttled = sends(case, receiver, clock, [message("k1"), message("k2")])
    assert ok.delivered
    assert throttled.outcome is Outcome.TRANSIENT and throttled.code == "http_429"
    assert throttled.retry_after == 30.0


@pytest.mark.parametrize("kind", ["dingtalk", "wecom"])
def test_our_limiter_stops_the_21st_robot_message_before_sending(kind: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> list[Result]:
            channel = case.channel(client, server.url, clock)
            results = [await channel.send(message(f"k{i}")) for i in range(21)]
            clock.advance(60)
            return [*results, await channel.send(message("later"))]
        results = run(go)
        assert len(server.requests) == 21  # 20, then none, then the one a minute later
    assert all(r.delivered for r in results[:20]) and results[21].delivered
    assert results[20].outcome is Outcome.TRANSIENT and results[20].code == "rate_limited"
    assert results[20].retry_after == 60.0


def test_our_limiter_keeps_feishu_under_5_a_second() -> None:
    case, clock = CASES["feishu"], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> list[Result]:
            channel = case.channel(client, server.url, clock)
            results = [await channel.send(message(f"k{i}")) for i in range(6)]
            clock.advance(1)
            return [*results, await channel.send(message("next second"))]
        results = run(go)
        assert len(server.requests) == 6
    assert all(r.delivered for r in results[:5]) and results[6].delivered
    assert results[5].code == "rate_limited" and results[5].retry_after == pytest.approx(1.0)


def test_our_limiter_keeps_feishu_under_100_a_minute() -> None:
    case, clock = CASES["feishu"], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> tuple[list[Result], Result]:
            channel = case.channel(client, server.url, clock)
            results = []
            for second in range(20):
                results += [await channel.send(message(f"k{second}-{i}")) for i in range(5)]
                clock.advance(1)
            return results, await channel.send(message("101st"))
        results, hundred_first = run(go)
        assert len(server.requests) == 100
    assert all(r.delivered for r in results)
    assert hundred_first.outcome is Outcome.TRANSIENT and hundred_first.code == "rate_limited"
    assert hundred_first.retry_after == pytest.approx(40.0)


def test_a_send_refused_by_one_window_does_not_count_in_another() -> None:
    async def go(client: httpx.AsyncClient) -> None:
        clock = FakeClock()
        channel = CASES["feishu"].channel(client, "http://127.0.0.1:9", clock)
        for _second in range(20):
            assert [channel.throttled() for _ in range(5)] == [None] * 5
            assert channel.throttled() is not None  # a sixth in the same second: refused
            clock.advance(1)
        refused = channel.throttled()  # 100 sent in the last minute (not 120)
        assert refused is not None and refused.retry_after == pytest.approx(40.0)
        clock.advance(40)
        assert channel.throttled() is None
    run(go)


# ---------------------------------------------------------------- bad signatures, stale clocks


@pytest.mark.parametrize(("kind", "env", "code", "text"), [
    ("webhook", {"DJB_HOOK_SECRET": "whsec_" + base64.b64encode(b"another key, 24 bytes!!!")
                 .decode()}, "http_401", "invalid signature"),
    ("dingtalk", {"DJB_DING_SECRET": "SECanother0123456789"}, "310000", "sign not match"),
    ("feishu", {"DJB_FEISHU_SECRET": "anotherSecret0123"}, "19021", "sign match fail"),
    ("wecom", {"DJB_WECOM_URL": "{url}/cgi-bin/webhook/send?key=not-the-key-0000"}, "93000",
     "invalid webhook url"),
])
def test_a_wrong_secret_is_permanent_with_the_providers_code(kind: str, env: dict[str, str],
                                                             code: str, text: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    with serve(robot) as server:
        wrong = {k: v.format(url=server.url) for k, v in env.items()}

        async def go(client: httpx.AsyncClient) -> Result:
            return await case.channel(client, server.url, clock, env=wrong).send(message())
        result = run(go)
    assert result.outcome is Outcome.PERMANENT and result.code == code
    assert text in (result.message or "") and robot.received == []
    assert_clean(result)


@pytest.mark.parametrize(("kind", "skew", "code"), [
    ("webhook", 301, "http_401"), ("dingtalk", 3601, "310000"), ("feishu", 3601, "19021"),
])
def test_a_clock_off_beyond_the_providers_tolerance_is_refused(kind: str, skew: float,
                                                               code: str) -> None:
    case, sender_clock, provider_clock = CASES[kind], FakeClock(), FakeClock()
    provider_clock.advance(skew)
    robot = case.robot(provider_clock)
    (result,) = sends(case, robot, sender_clock, [message()])
    assert result.outcome is Outcome.PERMANENT and result.code == code


# ---------------------------------------------------------------- network failures


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_provider_is_a_transient_timeout(kind: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    robot.override = Reply(200, {"errcode": 0, "errmsg": "ok"}, delay=0.6)
    (result,) = sends(case, robot, clock, [message()], timeout=0.3)
    assert result.outcome is Outcome.TRANSIENT and result.code == "timeout"
    assert result.request_id == message().idempotency_key


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_connection_is_transient(kind: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    robot.override = DROP
    (result,) = sends(case, robot, clock, [message()])
    assert result.outcome is Outcome.TRANSIENT and result.code == "network"
    assert_clean(result)


# ---------------------------------------------------------------- answers, secrets


ECHOES = {  # provider errors that echo the credentials back
    "webhook": Reply(400, f"bad signature with {HOOK_SECRET}", {"Content-Type": "text/plain"}),
    "dingtalk": Reply(200, {"errcode": 310000,
                            "errmsg": f"sign not match for {DING_SECRET}, token {DING_TOKEN}"}),
    "wecom": Reply(200, {"errcode": 93000, "errmsg": f"invalid webhook url, key={WECOM_KEY}"}),
    "feishu": Reply(200, {"code": 19021, "msg": f"sign {FEISHU_SECRET} {FEISHU_TOKEN}"}),
}


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_echoed_by_a_provider_are_masked(kind: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    robot.override = ECHOES[kind]
    (result,) = sends(case, robot, clock, [message()])
    assert result.outcome is Outcome.PERMANENT and "***" in (result.message or "")
    assert_clean(result)


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_secret_is_a_clear_secrets_error_before_anything_is_sent(kind: str) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    name = next(iter(case.env("http://x")))
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> Result:
            return await case.channel(client, server.url, clock, env={}).send(message())
        with pytest.raises(SecretsError, match=f"secret {name} is not set"):
            run(go)
        assert server.requests == []


def test_a_webhook_secret_that_is_not_whsec_base64_is_refused_without_echoing_it() -> None:
    case, clock = CASES["webhook"], FakeClock()
    with serve(case.robot(clock)) as server:
        async def go(client: httpx.AsyncClient) -> Result:
            env = {"DJB_HOOK_SECRET": "whsec_not base64!"}
            return await case.channel(client, server.url, clock, env=env).send(message())
        with pytest.raises(SecretsError, match="DJB_HOOK_SECRET is not a Standard") as error:
            run(go)
    assert "not base64!" not in str(error.value)


@pytest.mark.parametrize(("reply", "outcome", "code", "retry_after"), [
    (Reply(200, {"code": 9499, "msg": "too many request", "data": {}}),
     Outcome.TRANSIENT, "9499", 60.0),
    (Reply(200, {"code": 9499, "msg": "Bad Request", "data": {}}), Outcome.PERMANENT, "9499", None),
    (Reply(429, {"code": 99991400, "msg": "request trigger frequency limit"},
           {"x-ogw-ratelimit-reset": "52"}), Outcome.TRANSIENT, "http_429", 52.0),
    (Reply(200, {"StatusCode": 0, "StatusMessage": "success"}), Outcome.DELIVERED, "0", None),
    (Reply(200, "<html>portal</html>", {"Content-Type": "text/html"}),
     Outcome.PERMANENT, "http_200", None),
])
def test_feishu_answers(reply: Reply, outcome: Outcome, code: str,
                        retry_after: float | None) -> None:
    case, clock = CASES["feishu"], FakeClock()
    robot = case.robot(clock)
    robot.override = reply
    (result,) = sends(case, robot, clock, [message()])
    assert (result.outcome, result.code, result.retry_after) == (outcome, code, retry_after)


@pytest.mark.parametrize(("kind", "body", "outcome"), [
    ("dingtalk", {"errcode": 400102, "errmsg": "机器人已停用"}, Outcome.PERMANENT),
    ("dingtalk", {"errcode": -1, "errmsg": "系统繁忙"}, Outcome.TRANSIENT),
    ("wecom", {"errcode": 40008, "errmsg": "invalid message type"}, Outcome.PERMANENT),
    ("wecom", {"errcode": -1, "errmsg": "system busy"}, Outcome.TRANSIENT),
])
def test_robot_error_codes(kind: str, body: dict[str, Any], outcome: Outcome) -> None:
    case, clock = CASES[kind], FakeClock()
    robot = case.robot(clock)
    robot.override = Reply(200, body)
    (result,) = sends(case, robot, clock, [message()])
    assert result.outcome is outcome and result.code == str(body["errcode"])
    assert result.message == body["errmsg"]


def test_an_unsigned_robot_gets_no_signature() -> None:
    case, clock = CASES["dingtalk"], FakeClock()
    robot = DingTalkRobot(clock, secret=None, token=DING_TOKEN)
    with serve(robot) as server:
        async def go(client: httpx.AsyncClient) -> Result:
            return await case.channel(client, server.url, clock, secret_env=None).send(message())
        assert run(go).delivered
        assert "sign=" not in server.requests[0].path
