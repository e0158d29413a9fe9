"""The WeCom application-message channel against a local stand-in (tests/providers/wecom_app.py).

Every call goes over real HTTP to 127.0.0.1; the stand-in issues and checks tokens, knows its
members, answers WeCom's error codes and applies its duplicate check and limits. Time is a
FakeClock shared by channel and stand-in: tokens expire and limits reset without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from notifiers import Destination, Message, Outcome, Person, Result, Secrets
from notifiers._sms import until_beijing_midnight
from notifiers.wecom_app import NOT_REACHED, WeComAppChannel
from tests.providers.robots import FakeClock
from tests.providers.server import Reply, Server, serve
from tests.providers.wecom_app import WeComApp

CORP_ID, AGENT_ID = "ww0123456789abcdef", 1000002
SECRET = "wxAppSecret-0123456789abcdefGHIJKLmnop"
ENV = {"DJB_WX_SECRET": SECRET}
USERS = {"ZhangSan": "13800000001", "lisi": "13900000002", "zhaoliu": "15000000003"}
ZHANG = Person("张三", mobile="13800000001", wecom_userid="ZhangSan")
LI = Person("李四", mobile="13900000002")  # no userid: looked up by mobile
GHOST = Person("王五", wecom_userid="GhostUser")  # not a member of the corp
ZHAO = Person("赵六", wecom_userid="zhaoliu")  # a member without a licence
NOBODY = Person("钱七")


def message(key: str = "occ-17:djb-wxapp:2011-04-23T09:00", *, text: str = "4月底前交镇党建办。",
            markdown: str | None = None) -> Message:
    return Message(title="形成创建方案", text=text, idempotency_key=key, markdown=markdown)


def destination(url: str, people: tuple[Person, ...], **config: Any) -> Destination:
    return Destination("djb-wxapp", "wecom_app", {
        "corp_id": CORP_ID, "corp_secret_env": "DJB_WX_SECRET", "agent_id": str(AGENT_ID),
        "endpoint": url + "/", "timeout": 5, **config}, unit="镇党建办", people=people)


@contextmanager
def stand_in(**options: Any) -> Iterator[tuple[WeComApp, Server]]:
    provider = WeComApp(FakeClock(), CORP_ID, SECRET, AGENT_ID, USERS, **options)
    with serve(provider) as server:
        yield provider, server


Step = Message | Callable[[], object]


def run(provider: WeComApp, server: Server, people: tuple[Person, ...], *steps: Step,
        env: dict[str, str] | None = None, **config: Any) -> list[Result]:
    """Send each Message of ``steps`` by one channel object (as the dispatcher keeps one),
    calling the other steps (advance the clock, inject a fault) in between."""
    async def go() -> list[Result]:
        async with httpx.AsyncClient() as client:
            channel = WeComAppChannel(destination(server.url, people, **config), client=client,
                                      secrets=Secrets(env=ENV if env is None else env),
                                      clock=provider.clock)
            results = []
            for step in steps:
                if isinstance(step, Message):
                    results.append(await channel.send(step))
                else:
                    step()
            return results
    results = asyncio.run(go())
    for result in results:
        text = repr(result)
        assert SECRET not in text
        assert not any(token in text for token in provider.tokens_issued)
    return results


def advance(provider: WeComApp, seconds: float) -> Callable[[], None]:
    clock = provider.clock
    assert isinstance(clock, FakeClock)
    return lambda: clock.advance(seconds)


def gettoken_calls(server: Server) -> int:
    return sum(r.path.startswith("/cgi-bin/gettoken") for r in server.requests)


def outcomes(result: Result) -> dict[str, tuple[Outcome, str | None]]:
    return {name: (r.outcome, r.code) for name, r in result.recipients.items()}


# -- delivery ------------------------------------------------------------------------

def test_delivers_by_userid_and_by_mobile_lookup() -> None:
    with stand_in() as (provider, server):
        first, second = run(provider, server, (ZHANG, LI), message("a"), message("b"))
    assert first.outcome is Outcome.DELIVERED and first.code == "0"
    assert outcomes(first) == {"张三": (Outcome.DELIVERED, "0"), "李四": (Outcome.DELIVERED, "0")}
    assert first.recipients["张三"].request_id == first.recipients["李四"].request_id
    assert first.request_id and first.request_id.startswith("msg")
    assert second.delivered
    assert provider.per_user == {"ZhangSan": 2, "lisi": 2}
    # One token and one lookup serve both messages (both cached).
    assert gettoken_calls(server) == 1 and provider.lookups == ["13900000002"]
    body = provider.sends[0]
    assert body == {"touser": "ZhangSan|lisi", "agentid": AGENT_ID, "msgtype": "text",
                    "text": {"content": "形成创建方案\n4月底前交镇党建办。"},
                    "enable_duplicate_check": 1, "duplicate_check_interval": 1800}


def test_more_than_1000_people_take_more_than_one_call() -> None:
    people = tuple(Person(f"成员{i}", wecom_userid=f"u{i}") for i in range(1001))
    with stand_in() as (provider, server):
        provider.users = {f"u{i}": None for i in range(1001)}
        (result,) = run(provider, server, people, message())
    assert result.delivered and len(result.recipients) == 1001
    assert [len(s["touser"].split("|")) for s in provider.sends] == [1000, 1]
    assert provider.refused == {}  # the stand-in refuses more than 1000 (40032)


def test_markdown_is_sent_as_markdown_and_long_contents_are_cut() -> None:
    long = "党" * 1000  # 3000 UTF-8 bytes
    with stand_in() as (provider, server):
        results = run(provider, server, (ZHANG,), message("md", markdown=f"**提醒**\n{long}"),
                      message("tx", text=long))
    assert all(r.delivered for r in results)
    (_, kind_md, markdown), (_, kind_tx, text) = provider.delivered
    assert (kind_md, kind_tx) == ("markdown", "text")
    assert markdown.startswith("**提醒**") and markdown.endswith("…")
    assert len(markdown.encode()) <= 2048 and len(text.encode()) <= 2048
    assert provider.refused == {}  # the markdown was cut before WeCom could refuse it (45002)


# -- the access token ------------------------------------------------------------------

def test_a_token_invalidated_mid_run_is_fetched_again_once() -> None:
    with stand_in() as (provider, server):
        results = run(provider, server, (ZHANG, LI), message("a"), provider.expire_tokens,
                      message("b"))
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert provider.refused == {42001: 1}  # the refused call, repeated with a fresh token
    assert gettoken_calls(server) == 2 and len(provider.tokens_issued) == 2
    assert provider.per_user == {"ZhangSan": 2, "lisi": 2}


def test_the_token_is_kept_until_expires_in_by_the_clock() -> None:
    with stand_in(token_lifetime=7200) as (provider, server):
        calls: list[int] = []

        def count() -> None:
            calls.append(gettoken_calls(server))
        results = run(provider, server, (ZHANG,), message("a"), advance(provider, 6800),
                      message("b"), count, advance(provider, 150), message("c"), count,
                      advance(provider, 249), message("d"), count, advance(provider, 2),
                      message("e"), count)
    assert all(r.delivered for r in results)
    # b: cached. c: within five minutes of expiry, asked again — WeCom hands back the same
    # token with 250 s left, used to its end (d). e: past it, a new token. None refused.
    assert calls == [1, 2, 2, 3]
    assert len(provider.tokens_issued) == 2 and provider.refused == {}


def test_channels_of_one_application_share_its_token_and_lookups() -> None:
    with stand_in() as (provider, server):
        async def go() -> list[Result]:
            async with httpx.AsyncClient() as client:
                units = [WeComAppChannel(destination(server.url, people), client=client,
                                         secrets=Secrets(env=ENV), clock=provider.clock)
                         for people in ((ZHANG, LI), (LI,))]
                return [await unit.send(message(f"unit{i}")) for i, unit in enumerate(units)]
        results = asyncio.run(go())
    assert all(r.delivered for r in results)
    assert gettoken_calls(server) == 1 and provider.lookups == ["13900000002"]


def test_a_token_refused_again_after_a_refetch_is_not_fetched_forever() -> None:
    refused = Reply(200, {"errcode": 40014, "errmsg": "invalid access_token"})
    with stand_in(faults={"send": [refused, refused]}) as (provider, server):
        (result,) = run(provider, server, (ZHANG,), message())
    assert result.outcome is Outcome.PERMANENT and result.code == "40014"
    assert gettoken_calls(server) == 2 and provider.per_user == {}


# -- per-person outcomes ---------------------------------------------------------------

def test_partial_success_invalid_and_unlicensed_users_are_permanent() -> None:
    with stand_in(unlicensed=frozenset({"zhaoliu"})) as (provider, server):
        first, again = run(provider, server, (ZHANG, GHOST, ZHAO), message(), message())
    assert first.outcome is Outcome.PERMANENT and first.code == "partial"
    assert outcomes(first) == {"张三": (Outcome.DELIVERED, "0"),
                               "王五": (Outcome.PERMANENT, "unknown_user"),
                               "赵六": (Outcome.PERMANENT, "unlicensed_user")}
    assert "GhostUser" in (first.recipients["王五"].message or "")
    assert first.message == "1 delivered; 1 permanent unknown_user; 1 permanent unlicensed_user"
    # The resend goes to the two not reached only; 张三 keeps the first Result.
    assert [s["touser"] for s in provider.sends] == ["ZhangSan|GhostUser|zhaoliu",
                                                     "GhostUser|zhaoliu"]
    assert again.recipients["张三"] == first.recipients["张三"]
    assert provider.per_user == {"ZhangSan": 1}


def test_when_every_recipient_is_invalid_each_is_unknown() -> None:
    with stand_in() as (provider, server):
        (result,) = run(provider, server, (GHOST,), message())
    assert provider.refused == {81013: 1}
    assert outcomes(result) == {"王五": (Outcome.PERMANENT, "unknown_user")}


def test_a_mobile_wecom_does_not_know_is_unknown_and_not_asked_again() -> None:
    stranger = Person("孙八", mobile="13700000009")
    with stand_in() as (provider, server):
        first, second = run(provider, server, (ZHANG, stranger), message(), message("next"))
    for result in (first, second):
        assert outcomes(result)["孙八"] == (Outcome.PERMANENT, "unknown_user")
        assert "13700000009" in (result.recipients["孙八"].message or "")
    assert provider.lookups == ["13700000009"]  # the miss is cached: errors cost WeCom quota


def test_a_person_with_neither_userid_nor_mobile_is_skipped() -> None:
    assert WeComAppChannel.cannot_reach(NOBODY) == NOT_REACHED == "no wecom_userid and no mobile"
    assert WeComAppChannel.cannot_reach(LI) is None and WeComAppChannel.cannot_reach(GHOST) is None
    with stand_in() as (provider, server):
        result, alone = run(provider, server, (NOBODY, ZHANG), message())[0], \
            run(provider, server, (NOBODY,), message("nobody"))[0]
    assert result.recipients["钱七"] == Result(Outcome.PERMANENT, "no_contact", NOT_REACHED)
    assert result.recipients["张三"].delivered
    # Someone skipped so (units import warned) does not fail the send for the others …
    assert result.outcome is Outcome.DELIVERED
    assert "1 permanent no_contact" in (result.message or "")
    assert [s["touser"] for s in provider.sends] == ["ZhangSan"]
    # … but a send that reaches nobody is permanent.
    assert (alone.outcome, alone.code) == (Outcome.PERMANENT, "no_contact")


# -- throttling and failures -----------------------------------------------------------

@pytest.mark.parametrize(("errcode", "retry_after"), [(45009, 60.0), (45033, 1.0), (-1, 5.0)])
def test_a_throttled_answer_is_transient_with_retry_after(errcode: int,
                                                          retry_after: float) -> None:
    with stand_in(throttle=errcode) as (provider, server):
        def clear() -> None:
            provider.throttle = None
        first, second = run(provider, server, (ZHANG, LI), message(), clear, message())
    assert first.outcome is Outcome.TRANSIENT and first.code == str(errcode)
    assert first.retry_after == retry_after
    assert {r.outcome for r in first.recipients.values()} == {Outcome.TRANSIENT}
    assert first.recipients["张三"].request_id == f"{errcode}_stand-in"  # WeCom's hint
    assert second.delivered and provider.per_user == {"ZhangSan": 1, "lisi": 1}


def test_a_connection_dropped_after_delivery_does_not_deliver_twice() -> None:
    with stand_in(faults={"send": ["drop_after"]}) as (provider, server):
        first, second = run(provider, server, (ZHANG, LI), message(), message())
    assert first.outcome is Outcome.TRANSIENT and first.code in ("network", "timeout")
    assert second.delivered
    # The resend was the same request JSON: WeCom's duplicate check answered it unsent.
    assert provider.sends[0] == provider.sends[1] and provider.duplicates == 1
    assert provider.per_user == {"ZhangSan": 1, "lisi": 1}


def test_another_reminder_worded_the_same_is_not_swallowed_by_the_check() -> None:
    with stand_in(faults={"send": ["drop_after"]}) as (provider, server):
        results = run(provider, server, (ZHANG,), message("a"), message("a"), message("b"),
                      message("b"))
    assert [r.outcome for r in results] == [Outcome.TRANSIENT] + [Outcome.DELIVERED] * 3
    # a's resend is checked (WeCom answers it unsent); b, the same words, goes with the check
    # off — and is remembered, so b's second send sends nothing.
    assert [s["enable_duplicate_check"] for s in provider.sends] == [1, 1, 0]
    assert provider.duplicates == 1 and provider.per_user == {"ZhangSan": 2}


def test_a_connection_dropped_before_delivery_delivers_on_the_retry() -> None:
    with stand_in(faults={"send": ["drop"]}) as (provider, server):
        first, second = run(provider, server, (ZHANG, LI), message(), message())
    assert first.outcome is Outcome.TRANSIENT and second.delivered
    assert provider.duplicates == 0 and provider.per_user == {"ZhangSan": 1, "lisi": 1}


def test_a_retry_after_a_partial_failure_reaches_only_the_others() -> None:
    with stand_in(faults={"getuserid": ["drop"]}) as (provider, server):
        first, second = run(provider, server, (ZHANG, LI), message(), message())
    assert outcomes(first)["张三"] == (Outcome.DELIVERED, "0")
    assert outcomes(first)["李四"][0] is Outcome.TRANSIENT and first.outcome is Outcome.TRANSIENT
    assert second.delivered and second.recipients["张三"] == first.recipients["张三"]
    assert [s["touser"] for s in provider.sends] == ["ZhangSan", "lisi"]
    assert provider.per_user == {"ZhangSan": 1, "lisi": 1}


@pytest.mark.parametrize(("fault", "outcome", "code"), [
    (Reply(502, "bad gateway", headers={"Content-Type": "text/plain"}), Outcome.TRANSIENT,
     "http_502"),
    (Reply(200, {"errcode": 60020, "errmsg": "not allow to access from your ip"}),
     Outcome.PERMANENT, "60020"),
    (Reply(200, {"errcode": 40056, "errmsg": "invalid agentid"}), Outcome.PERMANENT, "40056"),
    (Reply(200, "<html>gateway</html>", headers={"Content-Type": "text/html"}),
     Outcome.PERMANENT, "http_200"),
])
def test_other_answers(fault: Reply, outcome: Outcome, code: str) -> None:
    with stand_in(faults={"send": [fault]}) as (provider, server):
        (result,) = run(provider, server, (ZHANG,), message())
    assert (result.outcome, result.code) == (outcome, code)


# -- secrets -------------------------------------------------------------------------

def test_a_missing_secret_is_permanent_and_sends_nothing() -> None:
    with stand_in() as (provider, server):
        (result,) = run(provider, server, (ZHANG, LI), message(), env={})
        assert server.requests == []
    assert result.outcome is Outcome.PERMANENT and result.code == "secret_missing"
    assert "DJB_WX_SECRET" in (result.message or "")


def test_a_wrong_secret_is_permanent_and_never_shown() -> None:
    wrong = "wrongSecret-0123456789abcdef"
    with stand_in() as (provider, server):
        (result,) = run(provider, server, (ZHANG, LI), message(), env={"DJB_WX_SECRET": wrong})
    assert result.outcome is Outcome.PERMANENT and result.code == "40001"
    assert set(outcomes(result).values()) == {(Outcome.PERMANENT, "40001")}
    assert wrong not in repr(result)


def test_secrets_and_tokens_echoed_by_wecom_are_masked() -> None:
    echo_secret = Reply(200, {"errcode": 40001, "errmsg": f"invalid credential {SECRET}"})
    with stand_in(faults={"gettoken": [echo_secret]}) as (provider, server):
        (first,) = run(provider, server, (ZHANG,), message())
    assert "***" in (first.message or "")  # run() asserts the secret itself is gone
    echo_token = Reply(200, {"errcode": 60020, "errmsg": "ip denied for wxtoken-0001-" + "x" * 40})
    with stand_in(faults={"send": [echo_token]}) as (provider, server):
        (second,) = run(provider, server, (ZHANG,), message())
    assert second.code == "60020" and "***" in (second.message or "")


# -- limits enforced before sending ----------------------------------------------------

def test_one_member_gets_at_most_30_messages_a_minute() -> None:
    with stand_in() as (provider, server):
        steps: list[Step] = []
        for i in range(31):
            steps += [message(f"m{i}"), advance(provider, 1)]
        *sent, held, still, later = run(provider, server, (ZHANG,), *steps[:-1],
                                        advance(provider, 29.5), message("m30"),
                                        advance(provider, 0.5), message("m30"))
    assert all(r.delivered for r in sent) and len(sent) == 30
    assert (held.outcome, held.code) == (Outcome.TRANSIENT, "rate_limited")
    assert held.retry_after == pytest.approx(30.0)  # when the first of the 30 leaves the minute
    assert still.code == "rate_limited" and still.retry_after == pytest.approx(0.5)
    assert later.delivered
    # Held back by the channel, not dropped unsaid by WeCom: 31 sends, 31 delivered.
    assert len(provider.sends) == 31 and provider.dropped_over_limit == []
    assert provider.per_user == {"ZhangSan": 31}


def test_sends_wecom_refused_do_not_use_up_the_limits() -> None:
    with stand_in(throttle=45009) as (provider, server):
        def clear() -> None:
            provider.throttle = None
        steps: list[Step] = []
        for i in range(30):
            steps += [message(f"t{i}"), advance(provider, 1)]
        *refused, sent = run(provider, server, (ZHANG, GHOST), *steps, clear, message("t30"),
                             account_limit=1)
    assert {r.code for r in refused} == {"45009"}
    # 30 refusals in 30 s, then the 31st send is still within the member's 30 a minute.
    assert sent.recipients["张三"].delivered and provider.per_user == {"ZhangSan": 1}


def test_the_daily_person_times_of_the_application_are_kept() -> None:
    users = {f"u{i}": f"1380000{i:04d}" for i in range(7)}
    people = tuple(Person(f"成员{i}", wecom_userid=f"u{i}") for i in range(7))
    with stand_in(daily_limit=200) as (provider, server):
        provider.users = users
        steps: list[Step] = []
        for i in range(29):  # 28 × 7 = 196 person-times, then room for 4 of the 7
            steps += [message(f"d{i}"), advance(provider, 2)]
        results = run(provider, server, people, *steps, account_limit=1)
        last = results[-1]
        now = provider.clock()
        assert all(r.delivered for r in results[:-1])
        assert [r.code for r in last.recipients.values()] == ["0"] * 4 + ["daily_limit"] * 3
        held = last.recipients["成员6"]
        assert held.outcome is Outcome.TRANSIENT
        assert held.retry_after == pytest.approx(until_beijing_midnight(now - 2), abs=1)
        assert provider.refused == {} and sum(provider.per_user.values()) == 200
        # The next Beijing day brings the room back.
        (next_day,) = run(provider, server, people, advance(provider, held.retry_after or 0),
                          message("d29"), account_limit=1)
    assert next_day.delivered


# -- configuration ---------------------------------------------------------------------

def test_destination_key_is_one_per_application_without_secrets() -> None:
    config = {"corp_id": CORP_ID, "corp_secret_env": "DJB_WX_SECRET", "agent_id": "1000002"}
    key = WeComAppChannel.destination_key(config)
    assert key and key.startswith("wecom_app:")
    assert WeComAppChannel.destination_key({**config, "corp_secret_env": "OTHER",
                                            "endpoint": "http://127.0.0.1:1/"}) == key
    assert WeComAppChannel.destination_key({**config, "agent_id": "1000003"}) != key
    assert WeComAppChannel.destination_key({"corp_secret_env": "DJB_WX_SECRET"}) is None


def test_config_fields() -> None:
    config = WeComAppChannel.Config
    checked = config.model_validate({
        "corp_id": CORP_ID, "corp_secret_env": "DJB_WX_SECRET", "agent_id": 1000002,
        "endpoint": "https://qyapi.weixin.qq.com/", "timeout": 5})
    assert checked.agent_id == "1000002"
    assert config.rules == ("corp_id*", "corp_secret_env*", "agent_id*")
    for bad in ({"agent_id": "10000x2"}, {"corp_secret_env": SECRET + "!"},
                {"endpoint": "ftp://qyapi"}, {"timeout": 0}, {"corp_secret": SECRET}):
        with pytest.raises(ValueError, match=r"."):
            config.model_validate(bad)


def test_two_people_of_one_name_are_two_people() -> None:
    """Two 李四 in one unit (it happens): both reached, each with a Result of their own."""
    other = Person("李四", wecom_userid="zhaoliu")
    with stand_in() as (provider, server):
        (result,) = run(provider, server, (ZHANG, LI, other), message())
    assert set(result.recipients) == {"张三", "李四", "李四#2"} and result.delivered
    assert sorted(u for u, _, _ in provider.delivered) == ["ZhangSan", "lisi", "zhaoliu"]
