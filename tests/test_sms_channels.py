"""Aliyun and Tencent SMS channels against stand-ins that check signatures as the providers do.

Every send goes over real HTTP to ``tests/providers/sms.py``; the clock is injected
(channel and stand-in share it), so rate limits and timestamps are tested without sleeping.
The signers are also checked against the worked examples the providers publish.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from notifiers import Destination, Message, Outcome, Result, Secrets, build, http_client
from notifiers._base import HttpAnswer
from notifiers.aliyun_sms import (
    AliyunRpcSigner,
    AliyunSmsChannel,
    overall as aliyun_overall,
    percent_encode,
    rpc_signature,
    rpc_string_to_sign,
)
from notifiers.tencent_sms import (
    TC3Auth,
    TencentSmsChannel,
    e164,
    overall as tencent_overall,
    tc3_authorization,
    tc3_canonical_request,
    tc3_signature,
    tc3_string_to_sign,
    until_beijing_midnight,
)
from tests.providers.server import DROP, Reply, Request, serve
from tests.providers.sms import AliyunSms, FakeClock, TencentSms

ALI_ID, ALI_SECRET = "LTAI5tJiedianTestKeyId", "jiedianAliyunSecret0123456789ab"
TC_ID, TC_KEY = "AKIDjiedianTestSecretId0123456789", "jiedianTencentKey0123456789abcd"
ENV = {"ALI_ID": ALI_ID, "ALI_SECRET": ALI_SECRET, "TC_ID": TC_ID, "TC_KEY": TC_KEY}
SECRET_VALUES = (ALI_ID, ALI_SECRET, TC_ID, TC_KEY)
SIGN = "合江镇党委"
GOOD = ("13800000001", "13900000002", "15000000003")
BAD = "12345678901"  # 11 digits, but no Chinese mobile starts 12
FIELDS = {"plan": "合江镇2011年创先争优活动工作要点", "node": "形成创建方案交镇党建办",
          "due": "2011-04-29"}


def message(key: str = "rem-42", text: str = "【提醒】4月底前形成创建方案交镇党建办",
            fields: Mapping[str, str] | None = None) -> Message:
    return Message(title="节点提醒", text=text, idempotency_key=key, fields=dict(fields or {}))


def aliyun_destination(url: str, mobiles: tuple[str, ...] = GOOD[:1], **config: Any) -> Destination:
    return Destination("djb-sms", "aliyun_sms", {
        "access_key_id_env": "ALI_ID", "access_key_secret_env": "ALI_SECRET",
        "sign_name": SIGN, "template_code": "SMS_123", "endpoint": url + "/", "timeout": 5,
        **config}, mobiles=mobiles, unit="镇党建办")


def tencent_destination(url: str, mobiles: tuple[str, ...] = GOOD[:1],
                        **config: Any) -> Destination:
    return Destination("djb-tsms", "tencent_sms", {
        "secret_id_env": "TC_ID", "secret_key_env": "TC_KEY", "sdk_app_id": "1400000000",
        "sign_name": SIGN, "template_id": "1110", "region": "ap-guangzhou",
        "endpoint": url + "/", "timeout": 5, **config}, mobiles=mobiles, unit="镇党建办")


def send(destination: Destination, msg: Message, clock: FakeClock,
         env: Mapping[str, str] = ENV) -> Result:
    async def go() -> Result:
        async with http_client() as client:
            channel = build(destination, client=client, secrets=Secrets(env=dict(env)),
                            clock=clock)
            return await channel.send(msg)
    result = asyncio.run(go())
    assert_clean(result)
    return result


def send_twice(destination: Destination, msg: Message, clock: FakeClock,
               between: float) -> tuple[Result, Result]:
    """``msg`` sent twice, ``between`` s apart, by one channel object (as the dispatcher does)."""
    async def go() -> tuple[Result, Result]:
        async with http_client() as client:
            channel = build(destination, client=client, secrets=Secrets(env=dict(ENV)),
                            clock=clock)
            first = await channel.send(msg)
            clock.advance(between)
            return first, await channel.send(msg)
    first, second = asyncio.run(go())
    assert_clean(first)
    assert_clean(second)
    return first, second


def assert_clean(result: Result) -> None:
    """No secret (nor key id) anywhere in the Result, its recipients included."""
    text = repr(result)
    for value in SECRET_VALUES:
        assert value not in text


def numbers(count: int) -> tuple[str, ...]:
    return tuple(f"1380000{i:04d}" for i in range(count))


# -- Aliyun --------------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def aliyun(clock: FakeClock, **options: Any) -> AliyunSms:
    return AliyunSms(clock, {ALI_ID: ALI_SECRET}, **options)


def tencent(clock: FakeClock, **options: Any) -> TencentSms:
    return TencentSms(clock, {TC_ID: TC_KEY}, **options)


def test_aliyun_is_registered() -> None:
    from notifiers import CHANNELS
    assert CHANNELS["aliyun_sms"] is AliyunSmsChannel
    assert CHANNELS["tencent_sms"] is TencentSmsChannel


def test_aliyun_delivers_with_template_params_and_out_id(clock: FakeClock) -> None:
    provider = aliyun(clock, templates={"SMS_123": ("plan", "node", "due")})
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, template_params={
            "plan": "plan", "node": "node", "due": "due"}), message(fields=FIELDS), clock)
    assert result.outcome is Outcome.DELIVERED and result.code == "OK"
    assert result.request_id and "BizId" in (result.message or "")
    assert set(result.recipients) == {GOOD[0]} and result.recipients[GOOD[0]].delivered
    (call,) = provider.calls
    assert call["Action"] == "SendSms" and call["PhoneNumbers"] == GOOD[0]
    assert call["SignName"] == SIGN and call["TemplateCode"] == "SMS_123"
    assert call["OutId"] == "rem-42" and call["Format"] == "JSON"
    assert json.loads(call["TemplateParam"]) == {
        "plan": "合江镇2011年创先争优活动工作要点", "node": "形成创建方案交镇党建办", "due": "2011-04-29"}
    assert [(s.number, s.idempotency) for s in provider.sent] == [(GOOD[0], "rem-42")]
    request = server.requests[0]
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")


def test_aliyun_default_content_is_cut_to_35_characters(clock: FakeClock) -> None:
    provider = aliyun(clock)
    long_text = "请各党支部于4月底前形成创建方案并报镇党建办，同时做好宣传发动、组织动员和氛围营造工作。"
    assert len(long_text) > 35
    with serve(provider) as server:
        result = send(aliyun_destination(server.url), message(text=long_text), clock)
    assert result.delivered
    (sent,) = provider.sent
    assert len(sent.params["content"]) == 35 and sent.params["content"].endswith("…")
    assert long_text.startswith(sent.params["content"][:-1])


def test_aliyun_too_long_variable_is_the_providers_permanent_error(clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, param_max_chars=60), message(text="长" * 50),
                      clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "isv.PARAM_LENGTH_LIMIT"


def test_aliyun_missing_template_field_is_permanent_without_a_request(clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, template_params={"plan": "plan"}),
                      message(), clock)
        assert server.requests == []
    assert result.outcome is Outcome.PERMANENT and result.code == "template_field_missing"


def test_aliyun_batches_150_numbers_in_two_calls(clock: FakeClock) -> None:
    provider = aliyun(clock)
    many = numbers(150)
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, mobiles=many), message(), clock)
    assert result.delivered and result.code == "OK"
    assert [c["Action"] for c in provider.calls] == ["SendBatchSms", "SendBatchSms"]
    sizes = [len(json.loads(c["PhoneNumberJson"])) for c in provider.calls]
    assert sizes == [100, 50]
    for call, size in zip(provider.calls, sizes, strict=True):
        assert json.loads(call["SignNameJson"]) == [SIGN] * size
        assert len(json.loads(call["TemplateParamJson"])) == size
        assert call["OutId"] == "rem-42"
    assert sorted(s.number for s in provider.sent) == sorted(many)
    assert set(result.recipients) == set(many)
    assert len({r.request_id for r in result.recipients.values()}) == 2


def test_aliyun_one_bad_number_among_good_ones(clock: FakeClock) -> None:
    provider = aliyun(clock)
    mobiles = (GOOD[0], BAD, GOOD[1], GOOD[2])
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, mobiles=mobiles), message(), clock)
    bad = result.recipients[BAD]
    assert bad.outcome is Outcome.PERMANENT and bad.code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert all(result.recipients[n].delivered for n in GOOD)
    # The batch was refused as a whole, split, and every good number sent exactly once.
    assert sorted(s.number for s in provider.sent) == sorted(GOOD)
    assert result.outcome is Outcome.PERMANENT and result.code == "partial"
    assert "3 delivered" in (result.message or "")


def test_aliyun_throttling_is_transient_and_passes(clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        destination = aliyun_destination(server.url)
        assert send(destination, message(), clock).delivered
        again = send(destination, message(), clock)
        assert again.outcome is Outcome.TRANSIENT
        assert again.code == "isv.BUSINESS_LIMIT_CONTROL" and again.retry_after == 60.0
        assert again.recipients[GOOD[0]].code == "isv.BUSINESS_LIMIT_CONTROL"
        clock.advance(61)
        assert send(destination, message(), clock).delivered
    assert len(provider.sent) == 2


def test_aliyun_throttled_number_in_a_batch_does_not_hold_back_the_others(
        clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        assert send(aliyun_destination(server.url, mobiles=GOOD[:1]), message(), clock).delivered
        result = send(aliyun_destination(server.url, mobiles=GOOD), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.retry_after == 60.0
    assert result.recipients[GOOD[0]].outcome is Outcome.TRANSIENT
    assert result.recipients[GOOD[1]].delivered and result.recipients[GOOD[2]].delivered


def test_aliyun_retry_texts_only_the_numbers_not_yet_reached(clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        assert send(aliyun_destination(server.url), message(key="other"), clock).delivered
        first, second = send_twice(aliyun_destination(server.url, mobiles=GOOD), message(),
                                   clock, between=61)
    assert first.outcome is Outcome.TRANSIENT
    assert second.delivered and second.recipients[GOOD[1]] == first.recipients[GOOD[1]]
    retry = provider.calls[-1]
    assert (retry["Action"], retry["PhoneNumbers"]) == ("SendSms", GOOD[0])
    assert sorted(s.number for s in provider.sent) == sorted([GOOD[0], *GOOD])


def test_aliyun_wrong_secret_is_permanent_with_the_providers_code(clock: FakeClock) -> None:
    provider = aliyun(clock)
    with serve(provider) as server:
        result = send(aliyun_destination(server.url, mobiles=GOOD), message(), clock,
                      env={**ENV, "ALI_SECRET": "notTheRightSecret0123456789abcd"})
        assert server.requests[0].headers.get("content-type", "").startswith("application/x-www")
    assert result.outcome is Outcome.PERMANENT and result.code == "SignatureDoesNotMatch"
    assert "not matched" in (result.message or "")
    assert "string to sign" not in (result.message or "")  # it would echo the numbers
    assert provider.sent == []
    assert "notTheRightSecret0123456789abcd" not in repr(result)


def test_aliyun_unknown_key_is_permanent(clock: FakeClock) -> None:
    provider = AliyunSms(clock, {"LTAIsomeoneElse": ALI_SECRET})
    with serve(provider) as server:
        result = send(aliyun_destination(server.url), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "InvalidAccessKeyId.NotFound"


def test_aliyun_unapproved_sign_name_is_permanent(clock: FakeClock) -> None:
    provider = aliyun(clock, sign_names=frozenset({"别的签名"}))
    with serve(provider) as server:
        result = send(aliyun_destination(server.url), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "isv.SMS_SIGNATURE_ILLEGAL"


def test_aliyun_clock_off_by_20_minutes_is_transient(clock: FakeClock) -> None:
    provider = aliyun(FakeClock(clock.now + 20 * 60))
    with serve(provider) as server:
        result = send(aliyun_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "InvalidTimeStamp.Expired"


def test_aliyun_timeout_is_transient(clock: FakeClock) -> None:
    def slow(request: Request) -> Reply:
        return Reply(200, {"Code": "OK", "Message": "OK"}, delay=1.0)
    with serve(slow) as server:
        result = send(aliyun_destination(server.url, timeout=0.3), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "timeout"
    assert result.recipients[GOOD[0]].code == "timeout"


def test_aliyun_dropped_connection_is_transient(clock: FakeClock) -> None:
    with serve(lambda request: DROP) as server:
        result = send(aliyun_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "network"


def test_aliyun_server_error_without_a_code_is_transient(clock: FakeClock) -> None:
    with serve(lambda request: Reply(503, "<html>Service Unavailable</html>")) as server:
        result = send(aliyun_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "http_503"


def test_aliyun_missing_secret_is_a_permanent_config_error(clock: FakeClock) -> None:
    with serve(aliyun(clock)) as server:
        result = send(aliyun_destination(server.url), message(), clock,
                      env={k: v for k, v in ENV.items() if k != "ALI_SECRET"})
        assert server.requests == []
    assert result.outcome is Outcome.PERMANENT and result.code == "secret_missing"
    assert "ALI_SECRET" in (result.message or "")


def test_aliyun_no_mobiles_is_permanent(clock: FakeClock) -> None:
    with serve(aliyun(clock)) as server:
        result = send(aliyun_destination(server.url, mobiles=()), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "no_recipients"


@pytest.mark.parametrize(("status", "body", "outcome", "retry_after"), [
    (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5"},
     Outcome.TRANSIENT, 3600.0),
    (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发天级流控Permits:10"},
     Outcome.TRANSIENT, 64000.0),  # the fixture clock: 06:13:20 in Beijing
    (200, {"Code": "isv.DAY_LIMIT_CONTROL", "Message": "触发日发送限额"},
     Outcome.TRANSIENT, 64000.0),
    (400, {"Code": "Throttling.User", "Message": "Request was denied due to user flow control."},
     Outcome.TRANSIENT, 1.0),
    (200, {"Code": "isp.SOMETHING_NEW", "Message": "?"}, Outcome.TRANSIENT, 5.0),
    (500, {"Code": "Unheard.Of", "Message": "?"}, Outcome.TRANSIENT, 5.0),
    (200, {"Code": "isv.SOMETHING_NEW", "Message": "?"}, Outcome.PERMANENT, None),
    (200, {"Code": "isv.OUT_OF_SERVICE", "Message": "业务停机"}, Outcome.PERMANENT, None),
    (200, "<html>?</html>", Outcome.PERMANENT, None),
])
def test_aliyun_answers(clock: FakeClock, status: int, body: Any, outcome: Outcome,
                        retry_after: float | None) -> None:
    channel = AliyunSmsChannel(aliyun_destination("http://127.0.0.1:9"),
                               client=None,  # type: ignore[arg-type]  # no request is made
                               secrets=Secrets(env=ENV), clock=clock)
    result = channel._result(HttpAnswer(status, body, httpx.Headers(), 1.0))
    assert (result.outcome, result.retry_after) == (outcome, retry_after)


# The worked example of Aliyun's 签名机制 (https://help.aliyun.com/document_detail/101343.html):
# a GET SendSms with AccessKeyId testId and AccessKeySecret testSecret.
ALIYUN_EXAMPLE = {
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "AccessKeyId": "testId", "SignatureVersion": "1.0", "Timestamp": "2017-07-12T02:42:19Z",
    "Format": "XML", "Action": "SendSms", "Version": "2017-05-25", "RegionId": "cn-hangzhou",
    "PhoneNumbers": "15300000001", "SignName": "阿里云短信测试专用",
    "TemplateParam": '{"customer":"test"}', "TemplateCode": "SMS_71390007", "OutId": "123",
}
ALIYUN_EXAMPLE_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF"
    "%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce"
    "%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25")


def test_aliyun_signer_matches_the_published_example() -> None:
    assert rpc_string_to_sign(ALIYUN_EXAMPLE, "GET") == ALIYUN_EXAMPLE_STRING_TO_SIGN
    assert rpc_signature("testSecret", ALIYUN_EXAMPLE_STRING_TO_SIGN) == \
        "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    signer = AliyunRpcSigner("testId", "testSecret")
    signed = signer.sign(ALIYUN_EXAMPLE, "GET", with_common=False)
    assert percent_encode(signed["Signature"]) == "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D"
    assert "testSecret" not in repr(signer)


def test_aliyun_signer_adds_the_common_parameters() -> None:
    signer = AliyunRpcSigner("testId", "testSecret", clock=lambda: 1499827339.0,
                             nonce=lambda: "45e25e9b-0a6f-4070-8c85-2956eda1b466")
    signed = signer.sign({"Action": "SendSms"})
    assert signed["Timestamp"] == "2017-07-12T02:42:19Z" and signed["Format"] == "JSON"
    assert signed["SignatureNonce"] == "45e25e9b-0a6f-4070-8c85-2956eda1b466"
    assert signed["Signature"] == rpc_signature("testSecret", rpc_string_to_sign(signed, "POST"))


def test_percent_encoding_is_rfc3986() -> None:
    assert percent_encode("a b*c~d+/é") == "a%20b%2Ac~d%2B%2F%C3%A9"


# -- Tencent -------------------------------------------------------------------------

def test_tencent_delivers_with_template_params_and_session_context(clock: FakeClock) -> None:
    provider = tencent(clock, templates={"1110": 3}, param_max=40)
    with serve(provider) as server:
        result = send(tencent_destination(server.url, template_params=["plan", "node", "due"],
                                          param_max_chars=40),
                      message(fields=FIELDS), clock)
    assert result.outcome is Outcome.DELIVERED and result.code == "Ok"
    assert "SerialNo" in (result.message or "") and result.request_id
    assert result.recipients[GOOD[0]].delivered
    (call,) = provider.calls
    headers, body = call["headers"], call["body"]
    assert headers["x-tc-action"] == "SendSms" and headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert headers["x-tc-timestamp"] == str(int(clock.now))
    assert headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={TC_ID}/2023-11-14/"
                                               "sms/tc3_request, SignedHeaders=content-type;host")
    assert body["PhoneNumberSet"] == ["+86" + GOOD[0]]
    assert body["SmsSdkAppId"] == "1400000000" and body["TemplateId"] == "1110"
    assert body["SignName"] == SIGN and body["SessionContext"] == "rem-42"
    assert body["TemplateParamSet"] == [FIELDS["plan"], FIELDS["node"], FIELDS["due"]]


def test_tencent_numbered_mapping_orders_the_variables(clock: FakeClock) -> None:
    provider = tencent(clock, templates={"1110": 2})
    with serve(provider) as server:
        result = send(tencent_destination(server.url, template_params={"2": "due", "1": "node"}),
                      message(fields=FIELDS), clock)
    assert result.delivered
    assert provider.sent[0].params == ["形成创建方案交镇党建办", "2011-04-29"]


def test_tencent_default_text_is_cut_to_12_characters(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        result = send(tencent_destination(server.url), message(), clock)
    assert result.delivered
    (sent,) = provider.sent
    assert sent.params == ["【提醒】4月底前形成创…"] and len(sent.params[0]) == 12


def test_tencent_too_long_variable_is_the_providers_permanent_error(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        result = send(tencent_destination(server.url, param_max_chars=30), message(), clock)
    assert result.outcome is Outcome.PERMANENT
    assert result.code == "InvalidParameterValue.TemplateParameterLengthLimit"


def test_tencent_sends_150_numbers_in_one_call_and_201_in_two(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        result = send(tencent_destination(server.url, mobiles=numbers(150)), message(), clock)
        assert result.delivered and len(provider.calls) == 1
        assert len(provider.calls[0]["body"]["PhoneNumberSet"]) == 150
        assert set(result.recipients) == set(numbers(150))
        clock.advance(60)
        result = send(tencent_destination(server.url, mobiles=numbers(201)), message(), clock)
    assert result.delivered
    assert [len(c["body"]["PhoneNumberSet"]) for c in provider.calls[1:]] == [200, 1]


def test_tencent_per_number_results(clock: FakeClock) -> None:
    provider = tencent(clock)
    mobiles = (GOOD[0], BAD, GOOD[1])
    with serve(provider) as server:
        result = send(tencent_destination(server.url, mobiles=mobiles), message(), clock)
    assert len(provider.calls) == 1  # Tencent answers per number: no splitting
    bad = result.recipients[BAD]
    assert bad.outcome is Outcome.PERMANENT
    assert bad.code == "InvalidParameterValue.IncorrectPhoneNumber"
    assert result.recipients[GOOD[0]].delivered and result.recipients[GOOD[1]].delivered
    assert result.outcome is Outcome.PERMANENT and result.code == "partial"
    assert sorted(s.number for s in provider.sent) == sorted("+86" + n for n in GOOD[:2])


def test_tencent_call_refused_for_one_number_is_split(clock: FakeClock) -> None:
    """Should a whole call be refused over one number, halves are resent to find it."""
    provider = tencent(clock)

    def strict(request: Request) -> Reply:
        if "+86" + BAD in request.body.decode():  # an account that refuses the whole call
            return Reply(200, {"Response": {"Error": {
                "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                "Message": "incorrect number format"}, "RequestId": "r-bad"}})
        return provider(request)

    mobiles = (GOOD[0], GOOD[1], "86" + BAD, GOOD[2])
    with serve(strict) as server:
        result = send(tencent_destination(server.url, mobiles=mobiles), message(), clock)
    assert result.recipients["86" + BAD].code == "InvalidParameterValue.IncorrectPhoneNumber"
    assert all(result.recipients[n].delivered for n in GOOD)
    assert sorted(s.number for s in provider.sent) == sorted("+86" + n for n in GOOD)
    assert result.outcome is Outcome.PERMANENT


def test_tencent_missing_setting_is_a_permanent_config_error(clock: FakeClock) -> None:
    with serve(tencent(clock)) as server:
        destination = tencent_destination(server.url)
        config = {k: v for k, v in destination.config.items() if k != "sdk_app_id"}
        result = send(Destination("djb-tsms", "tencent_sms", config, GOOD[:1]), message(), clock)
        assert server.requests == []
    assert result.outcome is Outcome.PERMANENT and result.code == "config"
    assert "sdk_app_id" in (result.message or "")


def test_tencent_answer_that_is_not_json_is_permanent(clock: FakeClock) -> None:
    with serve(lambda request: Reply(404, "<html>no such page</html>")) as server:
        result = send(tencent_destination(server.url), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "http_404"


def test_tencent_throttling_is_transient_and_passes(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        destination = tencent_destination(server.url, mobiles=GOOD[:2])
        assert send(tencent_destination(server.url), message(), clock).delivered
        result = send(destination, message(), clock)
        first = result.recipients[GOOD[0]]
        assert first.outcome is Outcome.TRANSIENT and first.retry_after == 30.0
        assert first.code == "LimitExceeded.PhoneNumberThirtySecondLimit"
        assert result.recipients[GOOD[1]].delivered
        assert result.outcome is Outcome.TRANSIENT and result.retry_after == 30.0
        clock.advance(31)
        assert send(tencent_destination(server.url), message(), clock).delivered


def test_tencent_retry_texts_only_the_numbers_not_yet_reached(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        assert send(tencent_destination(server.url), message(key="other"), clock).delivered
        first, second = send_twice(tencent_destination(server.url, mobiles=GOOD), message(),
                                   clock, between=31)
        clock.advance(31)
        again = send_twice(tencent_destination(server.url, mobiles=GOOD), message(key="k2"),
                           clock, between=31)
    assert first.outcome is Outcome.TRANSIENT and second.delivered
    assert [c["body"]["PhoneNumberSet"] for c in provider.calls[1:3]] == [
        ["+86" + n for n in GOOD], ["+86" + GOOD[0]]]
    assert all(r.delivered for r in again)  # all delivered the first time: no second call
    assert len(provider.calls) == 4


def test_tencent_daily_limit_waits_for_beijing_midnight(clock: FakeClock) -> None:
    provider = tencent(clock, daily_max=1)
    with serve(provider) as server:
        assert send(tencent_destination(server.url), message(), clock).delivered
        clock.advance(60)
        result = send(tencent_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT
    assert result.code == "LimitExceeded.PhoneNumberDailyLimit"
    # 2023-11-15 06:14:20 in Beijing: 17 h 45 min 40 s to midnight.
    assert result.retry_after == until_beijing_midnight(clock.now) == 63940.0


def test_tencent_wrong_secret_is_permanent_with_the_providers_code(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        result = send(tencent_destination(server.url, mobiles=GOOD), message(), clock,
                      env={**ENV, "TC_KEY": "notTheRightKey0123456789abcdefgh"})
    assert result.outcome is Outcome.PERMANENT and result.code == "AuthFailure.SignatureFailure"
    assert set(result.recipients) == set(GOOD)
    assert provider.sent == []
    assert "notTheRightKey0123456789abcdefgh" not in repr(result)


def test_tencent_unapproved_template_is_permanent(clock: FakeClock) -> None:
    provider = tencent(clock)
    with serve(provider) as server:
        result = send(tencent_destination(server.url, template_id="9999"), message(), clock)
    assert result.outcome is Outcome.PERMANENT
    assert result.code == "FailedOperation.TemplateIncorrectOrUnapproved"


def test_tencent_clock_off_by_10_minutes_is_transient(clock: FakeClock) -> None:
    provider = tencent(FakeClock(clock.now - 600))
    with serve(provider) as server:
        result = send(tencent_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "AuthFailure.SignatureExpire"


def test_tencent_timeout_is_transient(clock: FakeClock) -> None:
    def slow(request: Request) -> Reply:
        return Reply(200, {"Response": {"SendStatusSet": [], "RequestId": "x"}}, delay=1.0)
    with serve(slow) as server:
        result = send(tencent_destination(server.url, timeout=0.3), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "timeout"


def test_tencent_dropped_connection_is_transient(clock: FakeClock) -> None:
    with serve(lambda request: DROP) as server:
        result = send(tencent_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "network"


def test_tencent_internal_error_is_transient(clock: FakeClock) -> None:
    def broken(request: Request) -> Reply:
        return Reply(200, {"Response": {"Error": {"Code": "InternalError.Timeout",
                                                  "Message": "request timeout"},
                                        "RequestId": "r-1"}})
    with serve(broken) as server:
        result = send(tencent_destination(server.url), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "InternalError.Timeout"
    assert result.request_id == "r-1"


def test_tencent_answers_without_a_status_are_not_taken_for_delivered(clock: FakeClock) -> None:
    answers = iter([
        {"Response": {"SendStatusSet": [], "RequestId": "r-1"}},
        {"Response": {"RequestId": "r-2"}},
    ])
    with serve(lambda request: Reply(200, next(answers))) as server:
        first = send(tencent_destination(server.url), message(), clock)
        second = send(tencent_destination(server.url), message(), clock)
    assert (first.outcome, first.code) == (Outcome.TRANSIENT, "no_status")
    assert (second.outcome, second.code) == (Outcome.PERMANENT, "no_status")


def test_e164() -> None:
    assert e164("13800000000") == "+8613800000000"
    assert e164("0086 138-0000-0000") == "+8613800000000"
    assert e164("+85291234567") == "+85291234567"


# The worked example of Tencent Cloud's 签名方法 v3
# (https://www.tencentcloud.com/document/product/382/40468): cvm DescribeInstances.
TENCENT_PAYLOAD = (b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], '
                   b'"Name": "instance-name"}]}')
TENCENT_HEADERS = {"Content-Type": "application/json; charset=utf-8",
                   "Host": "cvm.tencentcloudapi.com"}
TENCENT_AUTHORIZATION = (
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
    "SignedHeaders=content-type;host, "
    "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_tencent_signer_matches_the_published_example() -> None:
    canonical = tc3_canonical_request("POST", "/", "", TENCENT_HEADERS, ("content-type", "host"),
                                      TENCENT_PAYLOAD)
    assert canonical == ("POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
                         "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
                         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    to_sign = tc3_string_to_sign(1551113065, "cvm", canonical)
    assert to_sign == ("TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
                       "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    assert tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25", "cvm", to_sign) == \
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert tc3_authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm", timestamp=1551113065, headers=TENCENT_HEADERS,
        payload=TENCENT_PAYLOAD) == TENCENT_AUTHORIZATION


def test_tencent_auth_signs_the_request_as_sent() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={})

    auth = TC3Auth("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                   service="cvm", clock=lambda: 1551113065.4)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.post("https://cvm.tencentcloudapi.com/", content=TENCENT_PAYLOAD, auth=auth,
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert seen["authorization"] == TENCENT_AUTHORIZATION
    assert seen["x-tc-timestamp"] == "1551113065"
    assert "Gu5t9x" not in repr(auth)


# -- the overall outcome ------------------------------------------------------------

@pytest.mark.parametrize("overall", [aliyun_overall, tencent_overall])
@pytest.mark.parametrize(("outcomes", "expected"), [
    ((Outcome.DELIVERED, Outcome.DELIVERED), Outcome.DELIVERED),
    ((Outcome.PERMANENT, Outcome.PERMANENT), Outcome.PERMANENT),
    ((Outcome.DELIVERED, Outcome.TRANSIENT), Outcome.TRANSIENT),
    ((Outcome.PERMANENT, Outcome.TRANSIENT), Outcome.TRANSIENT),
    ((Outcome.DELIVERED, Outcome.PERMANENT), Outcome.PERMANENT),
])
def test_overall_outcome(overall: Callable[[Mapping[str, Result]], Result],
                         outcomes: tuple[Outcome, ...], expected: Outcome) -> None:
    recipients = {str(i): Result(o, o.value, retry_after=9.0 if o is Outcome.TRANSIENT else None)
                  for i, o in enumerate(outcomes)}
    result = overall(recipients)
    assert result.outcome is expected
    assert result.recipients == recipients
    assert result.retry_after == (9.0 if expected is Outcome.TRANSIENT else None)
