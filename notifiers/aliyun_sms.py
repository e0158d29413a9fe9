"""Aliyun SMS (阿里云短信服务, dysmsapi 2017-05-25): ``SendSms`` and ``SendBatchSms``.

Config (a units-directory channel): ``access_key_id_env``, ``access_key_secret_env``,
``sign_name``, ``template_code``, ``endpoint`` (default ``https://dysmsapi.aliyuncs.com/``),
optional ``region`` (``cn-hangzhou``), ``template_params`` (the template's variable name →
the message field that fills it, e.g. ``{plan: plan, node: node, due: due}``; a field is
looked up in ``message.fields``, then ``title`` / ``text``; default ``{content: text}``),
``param_max_chars`` (35) and ``timeout`` (seconds).

Signing: the classic RPC ("POP") signature, SignatureVersion 1.0 / HMAC-SHA1, which the
SMS API reference documents (签名机制, https://help.aliyun.com/document_detail/101343.html;
https://www.alibabacloud.com/help/en/sms/signature-method). All parameters but
``Signature`` are sorted by name, names and values percent-encoded per RFC 3986 (UTF-8;
only ``A-Z a-z 0-9 - _ . ~`` kept; space is ``%20``, ``*`` is ``%2A``, ``~`` stays), joined
``k=v`` with ``&``; ``StringToSign = METHOD + "&" + enc("/") + "&" + enc(that query)``;
``Signature = base64(HMAC-SHA1(key=AccessKeySecret + "&", StringToSign))``. The document's
worked example (AccessKeyId ``testId``, secret ``testSecret``, nonce
``45e25e9b-0a6f-4070-8c85-2956eda1b466`` → ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``) is a unit test.
Requests are ``POST`` with the signed parameters as an ``application/x-www-form-urlencoded``
body, so ``StringToSign`` starts ``POST&%2F&``.

Sending: one number → ``SendSms``; more → ``SendBatchSms`` in chunks of at most 100
numbers (its documented maximum, https://help.aliyun.com/document_detail/102364.html).
Every call carries ``OutId`` = the message's idempotency key (< 256 characters; a longer
key is replaced by its SHA-256): Aliyun itself does not deduplicate (its docs say the
send APIs are not idempotent) but echoes ``OutId`` in delivery receipts, so the receiver
can. Template variables are cut to ``param_max_chars`` characters: "单个变量的长度限制为
1~35个字符" (申请短信模板, https://help.aliyun.com/document_detail/108088.html).

Answers: success is ``{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}``;
anything else is a failure whatever the HTTP status. Aliyun answers one ``Code`` per
call, not per number, so when a batch is refused for one number's sake
(``isv.MOBILE_NUMBER_ILLEGAL``, ``isv.BUSINESS_LIMIT_CONTROL`` …: nothing of it was sent)
the batch is split in halves and resent until the culprits stand alone; every number
gets its own Result in ``recipients``. Codes (API错误码,
https://help.aliyun.com/document_detail/101346.html) map as ``CODES`` below says:
throttling and platform errors are transient (``isv.BUSINESS_LIMIT_CONTROL`` after 60 s,
1 h, or at the next Beijing midnight, by the 分钟级/小时级/天级 in its message); bad
numbers, signatures, templates, keys and balance are permanent. An unknown ``isp.*`` code
or HTTP 5xx is transient, any other unknown code permanent (it needs a person).

Overall outcome of a send to several numbers: delivered when every number is
delivered; transient when any number is transient (retry those: ``recipients`` says
which); otherwise permanent (every number is either delivered or will never be). The
channel object remembers which numbers it delivered for each idempotency key (the last
10,000 keys), so a retry of the same message — the dispatcher resends a transient one
whole — texts only the numbers not yet reached; the others keep their first Result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from notifiers._base import (
    Clock,
    HttpAnswer,
    Message,
    Outcome,
    Result,
    http_failure,
    post_json,
)
from notifiers._config import ChannelConfig, EnvName, HttpUrl, Text
from notifiers._secrets import SecretsError
from notifiers._sms import (
    Remembered,
    SmsChannel,
    chunks,
    config_error,
    cut_chars,
    overall,
    short_key,
    until_beijing_midnight,
)

__all__ = [
    "CODES",
    "AliyunRpcSigner",
    "AliyunSmsChannel",
    "percent_encode",
    "rpc_signature",
    "rpc_string_to_sign",
]

log = logging.getLogger(__name__)

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
VERSION = "2017-05-25"
BATCH_MAX = 100  # SendBatchSms: at most 100 numbers a call
PARAM_MAX_CHARS = 35  # one template variable: 1–35 characters
OUT_ID_MAX = 255  # OutId: "长度小于 256 的字符串"

T, P = Outcome.TRANSIENT, Outcome.PERMANENT
# Provider code → (outcome, retry after in seconds or None).
CODES: dict[str, tuple[Outcome, float | None]] = {
    # Throttling: per number (分钟级/小时级/天级流控, see _business_limit) or per account.
    "isv.BUSINESS_LIMIT_CONTROL": (T, 60.0),
    "Throttling.User": (T, 1.0),
    "Throttling.Api": (T, 1.0),
    "Throttling": (T, 1.0),
    "isv.DAY_LIMIT_CONTROL": (T, None),  # the account's daily cap: until the next day
    "isp.SYSTEM_ERROR": (T, 5.0),
    "isv.SYSTEM_ERROR": (T, 5.0),
    "InternalError": (T, 5.0),
    "ServiceUnavailable": (T, 5.0),
    "SignatureNonceUsed": (T, 0.0),  # a fresh nonce is drawn on every try
    "InvalidTimeStamp.Expired": (T, 60.0),  # our clock is off by > 15 min: fix it, then it works
    # Numbers.
    "isv.MOBILE_NUMBER_ILLEGAL": (P, None),
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": (P, None),
    "isv.MOBILE_COUNT_OVER_LIMIT": (P, None),
    # Signature, template, content.
    "isv.SMS_SIGNATURE_ILLEGAL": (P, None),
    "isv.SMS_SIGN_ILLEGAL": (P, None),
    "isv.SIGN_STATE_ILLEGAL": (P, None),
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": (P, None),
    "isv.SMS_TEMPLATE_ILLEGAL": (P, None),
    "isv.TEMPLATE_MISSING_PARAMETERS": (P, None),
    "isv.TEMPLATE_PARAMS_ILLEGAL": (P, None),
    "isv.INVALID_PARAMETERS": (P, None),
    "isv.INVALID_JSON_PARAM": (P, None),
    "isv.PARAM_LENGTH_LIMIT": (P, None),
    "isv.SMS_CONTENT_ILLEGAL": (P, None),
    "isv.BLACK_KEY_CONTROL_LIMIT": (P, None),
    "isv.EXTEND_CODE_ERROR": (P, None),
    # Account, keys, request signature.
    "SignatureDoesNotMatch": (P, None),
    "IncompleteSignature": (P, None),
    "InvalidAccessKeyId.NotFound": (P, None),
    "InvalidAccessKeyId.Inactive": (P, None),
    "isp.RAM_PERMISSION_DENY": (P, None),
    "Forbidden.RAM": (P, None),
    "isv.OUT_OF_SERVICE": (P, None),  # 业务停机: balance owed
    "isv.AMOUNT_NOT_ENOUGH": (P, None),
    "isv.MONTH_LIMIT_CONTROL": (P, None),  # raise the monthly cap in the console
    "isv.ACCOUNT_NOT_EXISTS": (P, None),
    "isv.ACCOUNT_ABNORMAL": (P, None),
    "isv.PRODUCT_UN_SUBSCRIPT": (P, None),
    "isv.PRODUCT_UNSUBSCRIBE": (P, None),
    "isv.DENY_IP_RANGE": (P, None),
}
# Codes that may be one number's fault: a batch refused with one is split to find it.
PER_NUMBER = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
})


# -- the signature ---------------------------------------------------------------------

def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: only ``A-Za-z0-9-_.~`` stay (POP's special encoding).

    >>> percent_encode("a b*c~d+/é")
    'a%20b%2Ac~d%2B%2F%C3%A9'
    """
    return quote(value, safe="")


def canonical_query(params: Mapping[str, str]) -> str:
    """The sorted, encoded ``k=v&…`` string (everything but ``Signature``)."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                    for k, v in sorted(params.items()) if k != "Signature")


def rpc_string_to_sign(params: Mapping[str, str], method: str = "POST") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def rpc_signature(secret: str, string_to_sign: str) -> str:
    """base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign))."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunRpcSigner:
    """Adds the common parameters and ``Signature`` to an RPC call's parameters.

    The clock gives ``Timestamp``; ``nonce()`` gives ``SignatureNonce`` (fresh per call).
    """

    def __init__(self, access_key_id: str, access_key_secret: str, *, clock: Clock = time.time,
                 nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
                 region: str = "cn-hangzhou") -> None:
        self.access_key_id, self._secret = access_key_id, access_key_secret
        self.clock, self.nonce, self.region = clock, nonce, region

    def __repr__(self) -> str:  # never the secret
        return f"AliyunRpcSigner(access_key_id=…{self.access_key_id[-4:]})"

    def common(self) -> dict[str, str]:
        return {
            "AccessKeyId": self.access_key_id,
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
            "Version": VERSION,
        }

    def sign(self, params: Mapping[str, str], method: str = "POST", *,
             with_common: bool = True) -> dict[str, str]:
        """``params`` (plus the common ones) with ``Signature`` added."""
        signed = {**(self.common() if with_common else {}), **params}
        signed.pop("Signature", None)
        signed["Signature"] = rpc_signature(self._secret, rpc_string_to_sign(signed, method))
        return signed

    def form(self, params: Mapping[str, str]) -> bytes:
        """The signed POST body (``application/x-www-form-urlencoded``)."""
        signed = self.sign(params, "POST")
        return "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                        for k, v in signed.items()).encode("ascii")


# -- template parameters, shared rules -------------------------------------------------


def field_value(message: Message, name: str) -> str | None:
    if name in message.fields:
        return str(message.fields[name])
    if name in ("title", "text"):
        return str(getattr(message, name))
    return None


# -- the channel ----------------------------------------------------------------------

def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class _Call:
    """What every call of one send shares; ``params(numbers)`` is one call's parameters."""

    signer: AliyunRpcSigner
    sign_name: str
    template_code: str
    template_params: Mapping[str, str]
    out_id: str

    def params(self, numbers: list[str]) -> dict[str, str]:
        if len(numbers) == 1:
            params = {"Action": "SendSms", "PhoneNumbers": numbers[0],
                      "SignName": self.sign_name, "TemplateCode": self.template_code,
                      "OutId": self.out_id}
            if self.template_params:
                params["TemplateParam"] = _json(self.template_params)
            return params
        params = {"Action": "SendBatchSms", "PhoneNumberJson": _json(numbers),
                  "SignNameJson": _json([self.sign_name] * len(numbers)),
                  "TemplateCode": self.template_code, "OutId": self.out_id}
        if self.template_params:
            params["TemplateParamJson"] = _json([self.template_params] * len(numbers))
        return params


class AliyunSmsChannel(SmsChannel):
    account: ClassVar[tuple[str, ...]] = ("access_key_id_env", "endpoint")

    class Config(ChannelConfig):
        access_key_id_env: EnvName = None
        access_key_secret_env: EnvName = None
        sign_name: Text = None
        template_code: Text = None
        endpoint: HttpUrl = None
        template_params: dict[str, str] | None = None
        rules: ClassVar[tuple[str, ...]] = ("access_key_id_env*", "access_key_secret_env*",
                                            "sign_name*", "template_code*")

    kind: ClassVar[str] = "aliyun_sms"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remembered = Remembered()

    async def send(self, message: Message) -> Result:
        config = self.destination.config
        numbers = list(dict.fromkeys(m.strip() for m in self.destination.mobiles if m.strip()))
        if not numbers:
            return Result(Outcome.PERMANENT, "no_recipients",
                          f"unit {self.destination.unit or '?'} has no mobile numbers")
        try:
            signer = AliyunRpcSigner(
                self.secrets.get(str(config["access_key_id_env"])),
                self.secrets.get(str(config["access_key_secret_env"])),
                clock=self.clock, region=str(config.get("region") or "cn-hangzhou"))
            sign_name, template = str(config["sign_name"]), str(config["template_code"])
        except (SecretsError, KeyError) as error:
            return config_error(self.destination.channel_id, error, self.secrets.mask)
        params = self.template_params(message)
        if isinstance(params, Result):
            return params
        call = _Call(signer, sign_name, template, params,
                     short_key(message.idempotency_key, OUT_ID_MAX))
        recipients = self.remembered.get(message.idempotency_key)
        for chunk in chunks([n for n in numbers if n not in recipients], BATCH_MAX):
            recipients.update(await self._send_group(chunk, call))
        self.remembered.add(message.idempotency_key, recipients)
        result = overall({number: recipients[number] for number in numbers})
        log.info("aliyun_sms %s key=%s → %s %s (%d numbers)", self.destination.channel_id,
                 message.idempotency_key, result.outcome, result.code, len(numbers))
        return result

    def template_params(self, message: Message) -> dict[str, str] | Result:
        """The template's variables from the message (``template_params``), each cut."""
        config = self.destination.config
        limit = int(config.get("param_max_chars") or PARAM_MAX_CHARS)
        mapping = config.get("template_params")
        if mapping is None:
            return {"content": cut_chars(message.text, limit)}
        params = {}
        for variable, name in dict(mapping).items():
            value = field_value(message, str(name))
            if value is None:
                return Result(Outcome.PERMANENT, "template_field_missing",
                              f"template variable {variable} wants message field {name}, "
                              f"which the message does not have")
            params[str(variable)] = cut_chars(value, limit)
        return params

    async def _send_group(self, numbers: list[str], call: _Call) -> dict[str, Result]:
        """Send to ``numbers`` in one call; split it when one number spoils the call."""
        answer = await post_json(
            self.client, self.endpoint(), content=call.signer.form(call.params(numbers)),
            timeout=self.timeout,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                     "Accept": "application/json"})
        result = self._result(answer)
        if len(numbers) > 1 and result.code in PER_NUMBER:
            middle = len(numbers) // 2
            return {**await self._send_group(numbers[:middle], call),
                    **await self._send_group(numbers[middle:], call)}
        return dict.fromkeys(numbers, result)

    def endpoint(self) -> str:
        return str(self.destination.config.get("endpoint") or ENDPOINT)

    def _result(self, answer: HttpAnswer | Result) -> Result:
        mask = self.secrets.mask
        if isinstance(answer, Result):
            return Result(answer.outcome, answer.code, mask(answer.message or ""),
                          answer.retry_after, answer.latency_ms)
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("Code"), str):
            failure = http_failure(answer) or Result(
                Outcome.PERMANENT, f"http_{answer.status}",
                f"not an Aliyun answer: {str(body)[:200]}", latency_ms=answer.latency_ms)
            return Result(failure.outcome, failure.code, mask(failure.message or ""),
                          failure.retry_after, answer.latency_ms)
        code = body["Code"]
        # A SignatureDoesNotMatch echoes the whole string to sign (key id, numbers): drop it.
        text = str(body.get("Message", "")).split(" server string to sign is:")[0]
        request_id = body.get("RequestId")
        if code == "OK":
            biz = body.get("BizId")
            return Result(Outcome.DELIVERED, code, mask(f"{text} (BizId {biz})" if biz else text),
                          latency_ms=answer.latency_ms, request_id=request_id)
        if code in CODES:
            outcome, retry = CODES[code]
        elif code.startswith("isp.") or answer.status >= 500:
            outcome, retry = Outcome.TRANSIENT, 5.0
        else:
            outcome, retry = Outcome.PERMANENT, None
        if code == "isv.BUSINESS_LIMIT_CONTROL":
            retry = self._business_limit(text)
        elif code == "isv.DAY_LIMIT_CONTROL":
            retry = until_beijing_midnight(self.clock())
        return Result(outcome, mask(code), mask(text), retry, answer.latency_ms,
                      request_id=request_id)

    def _business_limit(self, text: str) -> float:
        """触发分钟级流控 → 60 s; 小时级 → 1 h; 天级 → the next Beijing midnight."""
        if "天级" in text or "day" in text.lower():
            return until_beijing_midnight(self.clock())
        if "小时级" in text or "hour" in text.lower():
            return 3600.0
        return 60.0

