"""Stand-ins for Aliyun SMS (dysmsapi 2017-05-25) and Tencent Cloud SMS (SendSms 2021-01-11).

Each is a handler for :func:`tests.providers.server.serve`. It checks a request the way
the provider does — recomputing the signature from the raw request (Aliyun: the form
body's parameters, POP HMAC-SHA1; Tencent: method, path, the signed headers and the body,
TC3-HMAC-SHA256), its timestamp and (Aliyun) nonce — and answers with the provider's own
error bodies when something is wrong: an unknown key, a bad signature, an unapproved sign
name or template, an illegal number, a number texted again too soon (Aliyun: 1 a minute,
"触发分钟级流控Permits:1"; Tencent: 1 per 30 s), a variable longer than allowed. The
signature code here is written from the providers' documents, independently of
``notifiers``. Time comes from the injected clock; accepted texts are kept in ``sent``.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from tests.providers.server import Reply, Request

__all__ = ["AliyunSms", "FakeClock", "SentSms", "TencentSms"]

CN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
BEIJING = timezone(timedelta(hours=8))


class FakeClock:
    """Seconds since the epoch, moved by the test (never by sleeping)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:  # 2023-11-15 06:13:20 Beijing
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class SentSms:
    """One text the stand-in accepted."""

    number: str
    sign_name: str
    template: str
    params: Any  # Aliyun: the variables' dict; Tencent: the list
    idempotency: str | None  # OutId / SessionContext
    action: str


@dataclass
class _Base:
    clock: Callable[[], float]
    keys: Mapping[str, str]  # key id → secret
    sign_names: frozenset[str] = frozenset({"合江镇党委"})
    sent: list[SentSms] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # each authenticated call
    _last: dict[str, float] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    def _too_soon(self, number: str, window: float) -> bool:
        last = self._last.get(number)
        return last is not None and self.clock() - last < window


# -- Aliyun --------------------------------------------------------------------------

def _pop_encode(value: str) -> str:
    """The documents' recipe: URL-encode, then + → %20, * → %2A, %7E → ~."""
    return quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


@dataclass
class AliyunSms(_Base):
    """dysmsapi: ``SendSms`` / ``SendBatchSms`` over POST, form or query parameters."""

    templates: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"SMS_123": ("content",)})  # code → the variables it needs
    window: float = 60.0  # one text per number per window: 分钟级流控
    param_max: int = 35
    _nonces: set[str] = field(default_factory=set)

    def __call__(self, request: Request) -> Reply:
        rid = str(uuid.uuid4()).upper()
        query = urlsplit(request.path).query
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        if error := self._authenticate(request.method, params):
            status, code, message = error
            return Reply(status, {"RequestId": rid, "HostId": "dysmsapi.aliyuncs.com",
                                  "Code": code, "Message": message,
                                  "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"
                                               "&product=Dysmsapi"})
        self.calls.append(params)
        if error := self._business(params):
            code, message = error
            return Reply(200, {"Message": message, "RequestId": rid, "Code": code})
        biz = f"{next(self._serial) + 900619746936498440}^0"
        return Reply(200, {"Message": "OK", "RequestId": rid, "BizId": biz, "Code": "OK"})

    def _authenticate(self, method: str, params: dict[str, str]) -> tuple[int, str, str] | None:
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "Action",
                     "Version", "SignatureMethod", "SignatureVersion"):
            if name not in params:
                code = "IncompleteSignature" if name == "Signature" else f"MissingParameter.{name}"
                return 400, code, f"{name} is mandatory for this action."
        secret = self.keys.get(params["AccessKeyId"])
        if secret is None:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        when = calendar.timegm(time.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        if abs(when - self.clock()) > 15 * 60:
            return 400, "InvalidTimeStamp.Expired", \
                "Specified time stamp or date value is expired."
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return 400, "InvalidParameter", "Specified signature method is not supported."
        canonical = "&".join(f"{_pop_encode(k)}={_pop_encode(v)}"
                             for k, v in sorted(params.items()) if k != "Signature")
        to_sign = f"{method}&{_pop_encode('/')}&{_pop_encode(canonical)}"
        expected = base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(),
                                             hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, params["Signature"]):
            return 400, "SignatureDoesNotMatch", (
                "Specified signature is not matched with our calculation. "
                f"server string to sign is:{to_sign}")
        if params["SignatureNonce"] in self._nonces:
            return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
        self._nonces.add(params["SignatureNonce"])
        return None

    def _business(self, params: dict[str, str]) -> tuple[str, str] | None:
        action = params["Action"]
        if params["Version"] != "2017-05-25" or action not in ("SendSms", "SendBatchSms"):
            return "InvalidAction.NotFound", "Specified api is not found, please check your url."
        try:
            if action == "SendSms":
                numbers = params["PhoneNumbers"].split(",")
                signs = [params["SignName"]] * len(numbers)
                values = [json.loads(params.get("TemplateParam") or "{}")] * len(numbers)
            else:
                numbers = json.loads(params["PhoneNumberJson"])
                signs = json.loads(params["SignNameJson"])
                values = json.loads(params.get("TemplateParamJson") or "null") or \
                    [{}] * len(numbers)
            template = params["TemplateCode"]
        except (KeyError, ValueError):
            return "isv.INVALID_PARAMETERS", "参数异常"
        if not (len(numbers) == len(signs) == len(values)):
            return "isv.INVALID_PARAMETERS", "参数异常"
        if action == "SendBatchSms" and len(numbers) > 100:
            return "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制，最多支持100条"
        if any(sign not in self.sign_names for sign in signs):
            return "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"
        if template not in self.templates:
            return "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"
        for value in values:
            if not isinstance(value, dict) or any(
                    not isinstance(value.get(v), str) or not value[v]
                    for v in self.templates[template]):
                return "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值"
            if any(len(str(v)) > self.param_max for v in value.values()):
                return "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制"
        if any(not CN_MOBILE.match(str(n)) for n in numbers):
            return "isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误"
        if any(self._too_soon(n, self.window) for n in numbers):
            return "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"
        for number, sign, value in zip(numbers, signs, values, strict=True):
            self._last[number] = self.clock()
            self.sent.append(SentSms(number, sign, template, value, params.get("OutId"), action))
        return None


# -- Tencent -------------------------------------------------------------------------

AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)"
    r"/tc3_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$")


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


@dataclass
class TencentSms(_Base):
    """sms.tencentcloudapi.com: ``SendSms`` 2021-01-11 with TC3-HMAC-SHA256."""

    sdk_app_id: str = "1400000000"
    templates: Mapping[str, int] = field(default_factory=lambda: {"1110": 1})  # id → variables
    window: float = 30.0  # LimitExceeded.PhoneNumberThirtySecondLimit
    daily_max: int | None = None  # LimitExceeded.PhoneNumberDailyLimit after this many a day
    param_max: int = 12  # InvalidParameterValue.TemplateParameterLengthLimit (个人认证)
    _days: dict[tuple[str, str], int] = field(default_factory=dict)

    def __call__(self, request: Request) -> Reply:
        rid = str(uuid.uuid4())
        if error := self._authenticate(request):
            return self._error(rid, *error)
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._error(rid, "FailedOperation.JsonParseFail", "json parse fail")
        self.calls.append({"headers": dict(request.headers), "body": body})
        if error := self._request_error(body):
            return self._error(rid, *error)
        statuses = [self._one(number, body) for number in body["PhoneNumberSet"]]
        return Reply(200, {"Response": {"SendStatusSet": statuses, "RequestId": rid}})

    @staticmethod
    def _error(rid: str, code: str, message: str) -> Reply:
        return Reply(200, {"Response": {"Error": {"Code": code, "Message": message},
                                        "RequestId": rid}})

    def _authenticate(self, request: Request) -> tuple[str, str] | None:
        headers = request.headers
        match = AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            return "AuthFailure.InvalidAuthorization", \
                "Authorization in the request header is invalid."
        key = self.keys.get(match["id"])
        if key is None:
            return "AuthFailure.SecretIdNotFound", \
                "The SecretId is not found, please ensure that your SecretId is correct."
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(timestamp - self.clock()) > 300:
            return "AuthFailure.SignatureExpire", (
                f"Signature expired. Timestamp is {timestamp}, "
                f"server current time is {int(self.clock())}.")
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        names = match["headers"].split(";")
        failure = ("AuthFailure.SignatureFailure", ("The provided credentials could not be "
                   "validated. Please check your signature is correct."))
        if match["date"] != date or match["service"] != "sms" or \
                not {"content-type", "host"} <= set(names) or names != sorted(names):
            return failure
        path, _, query = request.path.partition("?")
        canonical = "\n".join([
            request.method, path or "/", query,
            "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names),
            ";".join(names), hashlib.sha256(request.body).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/sms/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signing = _hmac256(_hmac256(_hmac256(f"TC3{key}".encode(), date), "sms"), "tc3_request")
        expected = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["signature"]):
            return failure
        if headers.get("x-tc-action") != "SendSms":
            return "InvalidAction", "The action does not exist."
        if headers.get("x-tc-version") != "2021-01-11":
            return "NoSuchVersion", "The API version does not exist."
        if not headers.get("x-tc-region"):
            return "MissingParameter", "The request is missing a required parameter `Region`."
        return None

    def _request_error(self, body: dict[str, Any]) -> tuple[str, str] | None:
        numbers = body.get("PhoneNumberSet")
        if not isinstance(numbers, list) or not numbers:
            return "MissingParameter.EmptyPhoneNumberSet", "phone number set is empty"
        if len(numbers) > 200:
            return "LimitExceeded.PhoneNumberCountLimit", \
                "the number of phone numbers in a single request exceeds 200"
        if body.get("SmsSdkAppId") != self.sdk_app_id:
            return "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist"
        if body.get("SignName") not in self.sign_names:
            return "FailedOperation.SignatureIncorrectOrUnapproved", \
                "signature format is incorrect or signature is not approved"
        params = body.get("TemplateParamSet") or []
        if body.get("TemplateId") not in self.templates or \
                len(params) != self.templates[body["TemplateId"]]:
            return "FailedOperation.TemplateIncorrectOrUnapproved", (
                "template is not approved or request content does not match the approved "
                "template content")
        if any(len(str(p)) > self.param_max for p in params):
            return "InvalidParameterValue.TemplateParameterLengthLimit", \
                f"single variable of template exceeds {self.param_max} characters"
        return None

    def _one(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        session = body.get("SessionContext", "")
        match = CN_MOBILE.match(str(number))
        status = {"SerialNo": "", "PhoneNumber": number, "Fee": 0, "SessionContext": session,
                  "IsoCode": "CN" if match else ""}
        if match is None:
            return {**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                    "Message": "incorrect number format"}
        e164 = "+86" + match[1]
        status["PhoneNumber"] = e164
        day = datetime.fromtimestamp(self.clock(), BEIJING).date().isoformat()
        if self.daily_max is not None and self._days.get((e164, day), 0) >= self.daily_max:
            return {**status, "Code": "LimitExceeded.PhoneNumberDailyLimit",
                    "Message": "the number of sms messages sent from a single mobile number "
                               "every day exceeds the upper limit"}
        if self._too_soon(e164, self.window):
            return {**status, "Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                    "Message": "the number of sms messages sent from a single mobile number "
                               "within 30 seconds exceeds the upper limit"}
        self._last[e164] = self.clock()
        self._days[(e164, day)] = self._days.get((e164, day), 0) + 1
        self.sent.append(SentSms(e164, body["SignName"], body["TemplateId"],
                                 list(body.get("TemplateParamSet") or []), session, "SendSms"))
        return {**status, "SerialNo": f"2645:{next(self._serial) + 1_000_000_000}",
                "Fee": 1, "Code": "Ok", "Message": "send success"}
