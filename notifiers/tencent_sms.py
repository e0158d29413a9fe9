"""Tencent Cloud SMS (腾讯云短信, API 3.0 ``SendSms``, version 2021-01-11).

Config (a units-directory channel): ``secret_id_env``, ``secret_key_env``, ``sdk_app_id``,
``sign_name``, ``template_id``, ``region`` (default ``ap-guangzhou``), ``endpoint`` (default
``https://sms.tencentcloudapi.com/``), optional ``template_params``, ``param_max_chars``
(12) and ``timeout`` (seconds). Tencent templates number their variables ``{1}``, ``{2}`` …,
so ``template_params`` is a list of message field names in that order (``[plan, node,
due]``), or a mapping whose keys are the numbers (``{1: plan, 2: node}``; a mapping with
other keys is taken in its written order). A field is looked up in ``message.fields``, then
``title`` / ``text``; the default is ``[text]``.

Signing: TC3-HMAC-SHA256 (签名方法 v3, https://www.tencentcloud.com/document/product/382/40468,
https://cloud.tencent.com/document/api/382/52072)::

    CanonicalRequest = "POST\\n/\\n\\n" + "content-type:…\\nhost:…\\n" + "\\n"
                       + "content-type;host" + "\\n" + hex(sha256(body))
    StringToSign     = "TC3-HMAC-SHA256\\n{timestamp}\\n{date}/sms/tc3_request\\n"
                       + hex(sha256(CanonicalRequest))
    SecretDate = HMAC("TC3" + SecretKey, date); SecretService = HMAC(SecretDate, "sms")
    SecretSigning = HMAC(SecretService, "tc3_request")
    Authorization = "TC3-HMAC-SHA256 Credential={SecretId}/{date}/sms/tc3_request, "
                    "SignedHeaders=content-type;host, Signature=" + hex(HMAC(SecretSigning, …))

with ``date`` the UTC date of ``X-TC-Timestamp``; the action, version and region travel
in ``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``, ``X-TC-Region``. The document's
worked example (SecretKey ``Gu5t9xGARNpq86cd98joQYCN3EXAMPLE``, timestamp 1551113065, cvm
DescribeInstances → ``Signature=72e494ea…5168``) is a unit test. :class:`TC3Auth` is the
``httpx.Auth`` that signs a request as it is sent.

Sending (https://cloud.tencent.com/document/api/382/55981): ``PhoneNumberSet`` in E.164
(``13800000000`` is sent as ``+8613800000000``), at most 200 numbers a call;
``TemplateParamSet`` the variables, each cut to ``param_max_chars`` characters (个人认证
accounts may not exceed 12 a variable, InvalidParameterValue.TemplateParameterLengthLimit;
企业认证 accounts have no such limit and may raise it); ``SessionContext`` = the message's
idempotency key (< 512 bytes, else its SHA-256), which Tencent returns as is in every
status and receipt so the receiver can deduplicate.

Answers are HTTP 200. ``Response.Error`` (``{"Code", "Message"}``) refuses the whole call;
otherwise ``Response.SendStatusSet`` has one entry per number with ``Code`` ``"Ok"`` when
sent. Codes (SDK ``sms/v20210111/errorcodes.py`` and
https://cloud.tencent.com/document/api/382/59177): ``RequestLimitExceeded*``,
``InternalError*`` (including ``InternalError.Timeout``) and the ``LimitExceeded.*``
frequency limits are transient — ``PhoneNumberThirtySecondLimit`` after 30 s,
``PhoneNumberOneHourLimit`` after 1 h, and the daily ones (``PhoneNumberDailyLimit``,
``PhoneNumberSameContentDailyLimit``, ``AppDailyLimit``, ``DailyLimit``) at the next
midnight in Beijing, when Tencent's day counters reset: transient with a long
``retry_after`` rather than permanent, because the reminder can still go out tomorrow and
only the caller knows whether tomorrow is too late. ``AuthFailure.SignatureExpire`` and
``InternalError.RequestTimeException`` (our clock is off) are transient too. Bad numbers
(``InvalidParameterValue.IncorrectPhoneNumber``, ``FailedOperation.PhoneNumberInBlacklist``),
unapproved signatures or templates (``FailedOperation.SignatureIncorrectOrUnapproved``,
``FailedOperation.TemplateIncorrectOrUnapproved``), keys (``AuthFailure.SignatureFailure``,
``AuthFailure.SecretIdNotFound``), balance and every other ``FailedOperation``,
``InvalidParameter*``, ``MissingParameter*``, ``UnauthorizedOperation*`` and
``UnsupportedOperation*`` code are permanent; an unknown code is permanent. A whole call
refused for one number's sake is split in halves to find it.

The overall outcome is the one ``aliyun_sms`` uses: delivered when every number is;
transient when any is transient; otherwise permanent; ``recipients`` has each number.
As there, a channel object remembers the numbers it delivered per idempotency key, and a
retry of the same message texts only the numbers not yet reached.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import Field

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
    "TC3Auth",
    "TencentSmsChannel",
    "e164",
    "tc3_authorization",
    "tc3_canonical_request",
    "tc3_signature",
    "tc3_string_to_sign",
]

log = logging.getLogger(__name__)

ENDPOINT = "https://sms.tencentcloudapi.com/"
SERVICE, ACTION, VERSION = "sms", "SendSms", "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
BATCH_MAX = 200  # PhoneNumberSet: at most 200 numbers a call
PARAM_MAX_CHARS = 12  # a variable, for 个人认证 accounts
SESSION_MAX = 511  # SessionContext: "长度需小于512字节"
MIDNIGHT = -1.0  # retry_after marker: at the next Beijing midnight

T, P = Outcome.TRANSIENT, Outcome.PERMANENT
# Exact codes; prefixes below decide the rest.
CODES: dict[str, tuple[Outcome, float | None]] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": (T, 30.0),
    "LimitExceeded.PhoneNumberOneHourLimit": (T, 3600.0),
    "LimitExceeded.PhoneNumberDailyLimit": (T, MIDNIGHT),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": (T, MIDNIGHT),
    "LimitExceeded.AppDailyLimit": (T, MIDNIGHT),
    "LimitExceeded.DailyLimit": (T, MIDNIGHT),
    "LimitExceeded.DeliveryFrequencyLimit": (T, 60.0),
    "LimitExceeded.PhoneNumberCountLimit": (P, None),  # > 200 numbers: our bug
    "RequestLimitExceeded": (T, 1.0),
    "InternalError": (T, 5.0),
    "InternalError.RequestTimeException": (T, 60.0),
    "AuthFailure.SignatureExpire": (T, 60.0),
    "FailedOperation.MarketingSendTimeConstraint": (T, 3600.0),
    "InvalidParameterValue.IncorrectPhoneNumber": (P, None),
    "FailedOperation.PhoneNumberInBlacklist": (P, None),
    "FailedOperation.PhoneNumberOnBlacklist": (P, None),
    "FailedOperation.SignatureIncorrectOrUnapproved": (P, None),
    "FailedOperation.TemplateIncorrectOrUnapproved": (P, None),
    "FailedOperation.InsufficientBalanceInSmsPackage": (P, None),
    "AuthFailure.SignatureFailure": (P, None),
    "AuthFailure.SecretIdNotFound": (P, None),
}
PREFIXES: tuple[tuple[str, tuple[Outcome, float | None]], ...] = (
    ("RequestLimitExceeded", (T, 1.0)),
    ("InternalError", (T, 5.0)),
    ("LimitExceeded", (T, 60.0)),
    ("ResourceUnavailable", (T, 60.0)),
)
# Whole-call errors that may be one number's fault: the call is split to find it.
PER_NUMBER = frozenset({
    "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.PhoneNumberOnBlacklist",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
})


# -- the signature ---------------------------------------------------------------------

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_canonical_request(method: str, uri: str, query: str, headers: Mapping[str, str],
                          signed_headers: Sequence[str], payload: bytes) -> str:
    """Method, URI, query, ``key:value\\n`` headers (lower case, sorted), names, body hash."""
    lower = {k.lower().strip(): v.strip().lower() for k, v in headers.items()}
    names = sorted(h.lower() for h in signed_headers)
    canonical_headers = "".join(f"{name}:{lower[name]}\n" for name in names)
    return "\n".join([method.upper(), uri, query, canonical_headers, ";".join(names),
                      _sha256(payload)])


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def tc3_string_to_sign(timestamp: int, service: str, canonical_request: str) -> str:
    scope = f"{_date(timestamp)}/{service}/tc3_request"
    return f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{_sha256(canonical_request.encode())}"


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    secret_date = _hmac(f"TC3{secret_key}".encode(), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(secret_id: str, secret_key: str, *, service: str, timestamp: int,
                      headers: Mapping[str, str], payload: bytes, method: str = "POST",
                      uri: str = "/", query: str = "",
                      signed_headers: Sequence[str] = ("content-type", "host")) -> str:
    """The ``Authorization`` header value for one request."""
    canonical = tc3_canonical_request(method, uri, query, headers, signed_headers, payload)
    string_to_sign = tc3_string_to_sign(timestamp, service, canonical)
    signature = tc3_signature(secret_key, _date(timestamp), service, string_to_sign)
    names = ";".join(sorted(h.lower() for h in signed_headers))
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{_date(timestamp)}/{service}/tc3_request, "
            f"SignedHeaders={names}, Signature={signature}")


class TC3Auth(httpx.Auth):
    """Signs a request as it is sent: sets ``X-TC-Timestamp`` (from the clock) and
    ``Authorization`` over its method, path, query, ``Content-Type``, ``Host`` and body."""

    def __init__(self, secret_id: str, secret_key: str, *, service: str = SERVICE,
                 clock: Clock = time.time) -> None:
        self.secret_id, self._secret_key = secret_id, secret_key
        self.service, self.clock = service, clock

    def __repr__(self) -> str:  # never the key
        return f"TC3Auth(secret_id=…{self.secret_id[-4:]}, service={self.service})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = int(self.clock())
        request.headers["X-TC-Timestamp"] = str(timestamp)
        request.headers["Authorization"] = tc3_authorization(
            self.secret_id, self._secret_key, service=self.service, timestamp=timestamp,
            method=request.method, uri=request.url.path or "/",
            query=request.url.query.decode("ascii"), headers=request.headers,
            payload=request.content)
        yield request


# -- message → call --------------------------------------------------------------------

def e164(number: str) -> str:
    """A Chinese mainland mobile in E.164 (``+86…``); anything else as written.

    >>> [e164(n) for n in ("13800000000", "8613800000000", "008613800000000", "+85291234567")]
    ['+8613800000000', '+8613800000000', '+8613800000000', '+85291234567']
    """
    digits = number.replace(" ", "").replace("-", "")
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("86") and len(digits) == 13:
        return "+" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return digits


@dataclass(frozen=True)
class _Call:
    """What every call of one send shares; ``body(numbers)`` is one call's JSON body."""

    auth: TC3Auth
    sdk_app_id: str
    sign_name: str
    template_id: str
    params: tuple[str, ...]
    session: str

    def body(self, numbers: list[str]) -> bytes:
        return json.dumps({
            "PhoneNumberSet": numbers, "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name, "TemplateId": self.template_id,
            "TemplateParamSet": list(self.params), "SessionContext": self.session,
        }, ensure_ascii=False).encode("utf-8")




# -- the channel ----------------------------------------------------------------------


class TencentSmsChannel(SmsChannel):
    account: ClassVar[tuple[str, ...]] = ("secret_id_env", "sdk_app_id")

    class Config(ChannelConfig):
        secret_id_env: EnvName = None
        secret_key_env: EnvName = None
        sdk_app_id: Annotated[str | None, Field(pattern=r"^\d+$")] = None
        sign_name: Text = None
        template_id: Text = None
        region: Annotated[str | None, Field(pattern=r"^[a-z]+(-[a-z0-9]+)+$")] = None
        endpoint: HttpUrl = None
        template_params: dict[str, str] | None = None
        rules: ClassVar[tuple[str, ...]] = ("secret_id_env*", "secret_key_env*", "sdk_app_id*",
                                            "sign_name*", "template_id*")

    kind: ClassVar[str] = "tencent_sms"

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
            auth = TC3Auth(self.secrets.get(str(config["secret_id_env"])),
                           self.secrets.get(str(config["secret_key_env"])), clock=self.clock)
            call_parts = (str(config["sdk_app_id"]), str(config["sign_name"]),
                          str(config["template_id"]))
        except (SecretsError, KeyError) as error:
            return config_error(self.destination.channel_id, error, self.secrets.mask)
        params = self.template_params(message)
        if isinstance(params, Result):
            return params
        call = _Call(auth, *call_parts, tuple(params),
                     short_key(message.idempotency_key, SESSION_MAX))
        done = self.remembered.get(message.idempotency_key)
        wanted = {number: e164(number) for number in numbers if number not in done}
        sent: dict[str, Result] = {}
        for chunk in chunks(list(dict.fromkeys(wanted.values())), BATCH_MAX):
            sent.update(await self._send_group(chunk, call))
        recipients = {**done, **{number: sent[e] for number, e in wanted.items()}}
        self.remembered.add(message.idempotency_key, recipients)
        result = overall({number: recipients[number] for number in numbers})
        log.info("tencent_sms %s key=%s → %s %s (%d numbers)", self.destination.channel_id,
                 message.idempotency_key, result.outcome, result.code, len(numbers))
        return result

    def template_params(self, message: Message) -> list[str] | Result:
        """``TemplateParamSet`` from the message (``template_params``), each value cut."""
        config = self.destination.config
        limit = int(config.get("param_max_chars") or PARAM_MAX_CHARS)
        spec = config.get("template_params")
        if spec is None:
            names = ["text"]
        elif isinstance(spec, Mapping):
            keys = [str(k) for k in spec]
            items = list(spec.items())
            if all(k.isdigit() for k in keys):
                items.sort(key=lambda item: int(str(item[0])))
            names = [str(name) for _, name in items]
        else:
            names = [str(name) for name in spec]
        values = []
        for position, name in enumerate(names, 1):
            if name in message.fields:
                value = str(message.fields[name])
            elif name in ("title", "text"):
                value = str(getattr(message, name))
            else:
                return Result(Outcome.PERMANENT, "template_field_missing",
                              f"template variable {{{position}}} wants message field {name}, "
                              f"which the message does not have")
            values.append(cut_chars(value, limit))
        return values

    def endpoint(self) -> str:
        return str(self.destination.config.get("endpoint") or ENDPOINT)

    async def _send_group(self, numbers: list[str], call: _Call) -> dict[str, Result]:
        """Send to ``numbers`` (E.164) in one call; split it when one number spoils it."""
        headers = {"Content-Type": CONTENT_TYPE, "X-TC-Action": ACTION, "X-TC-Version": VERSION,
                   "X-TC-Region": str(self.destination.config.get("region") or "ap-guangzhou")}
        answer = await post_json(self.client, self.endpoint(), content=call.body(numbers),
                                 headers=headers, auth=call.auth, timeout=self.timeout)
        whole, statuses, request_id = self._read(answer)
        if whole is not None:
            if len(numbers) > 1 and whole.code in PER_NUMBER:
                middle = len(numbers) // 2
                return {**await self._send_group(numbers[:middle], call),
                        **await self._send_group(numbers[middle:], call)}
            return dict.fromkeys(numbers, whole)
        latency = answer.latency_ms
        by_number = {str(s.get("PhoneNumber")): s for s in statuses if isinstance(s, dict)}
        results = {}
        for index, number in enumerate(numbers):  # matched by number, else by position
            status = by_number.get(number)
            if status is None and len(statuses) == len(numbers):
                status = statuses[index]
            if not isinstance(status, dict):
                results[number] = Result(Outcome.TRANSIENT, "no_status",
                                         "the answer has no status for this number",
                                         latency_ms=latency, request_id=request_id)
                continue
            code = str(status.get("Code"))
            text = str(status.get("Message", ""))
            if code == "Ok":
                serial = status.get("SerialNo")
                results[number] = Result(
                    Outcome.DELIVERED, code,
                    self.secrets.mask(f"{text} (SerialNo {serial})" if serial else text),
                    latency_ms=latency, request_id=request_id)
            else:
                results[number] = self._failure(code, text, latency, request_id)
        return results

    def _read(self, answer: HttpAnswer | Result) -> tuple[Result | None, list[Any], str | None]:
        """(a Result for the whole call, or None and the per-number statuses; request id)."""
        mask = self.secrets.mask
        if isinstance(answer, Result):
            return (Result(answer.outcome, answer.code, mask(answer.message or ""),
                           answer.retry_after, answer.latency_ms), [], None)
        body = answer.body
        response = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(response, dict):
            failure = http_failure(answer) or Result(
                Outcome.PERMANENT, f"http_{answer.status}",
                f"not a Tencent Cloud answer: {str(body)[:200]}", latency_ms=answer.latency_ms)
            return (Result(failure.outcome, failure.code, mask(failure.message or ""),
                           failure.retry_after, answer.latency_ms), [], None)
        request_id = response.get("RequestId")
        error = response.get("Error")
        if isinstance(error, dict):
            return (self._failure(str(error.get("Code")), str(error.get("Message", "")),
                                  answer.latency_ms, request_id), [], request_id)
        statuses = response.get("SendStatusSet")
        if not isinstance(statuses, list):
            return (Result(Outcome.PERMANENT, "no_status", "the answer has no SendStatusSet",
                           latency_ms=answer.latency_ms, request_id=request_id), [], request_id)
        return None, statuses, request_id

    def _failure(self, code: str, text: str, latency_ms: float, request_id: str | None) -> Result:
        outcome, retry = CODES.get(code) or next(
            (rule for prefix, rule in PREFIXES if code.startswith(prefix)), (P, None))
        if retry == MIDNIGHT:
            retry = until_beijing_midnight(self.clock())
        mask = self.secrets.mask
        return Result(outcome, mask(code), mask(text), retry, latency_ms, request_id=request_id)
