"""The DingTalk (钉钉) custom group robot channel (自定义机器人, ``oapi.dingtalk.com/robot/send``).

Signing (加签, ``secret_env`` holds the ``SEC…`` secret): ``timestamp`` is the time in
milliseconds (DingTalk refuses one more than an hour off), and
``sign = urlEncode(base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))``; both
go in the query string. The signer returns the *plain* base64 and lets httpx
percent-encode it, exactly once (a sign encoded twice, ``%252B``, fails with 310000).
Recipe and its Python example: DingTalk's 自定义机器人安全设置 page, quoted e.g. at
https://blog.csdn.net/weixin_43564241/article/details/139138811 and
https://blog.csdn.net/u014199409/article/details/106235361 (the tests reproduce it and
check it against ``openssl dgst -sha256 -hmac``). Without ``secret_env`` nothing is
added (a robot secured by keyword or IP list).

Messages: ``markdown`` (``{title, text}``) when the message has Markdown, else ``text``
(title, newline, text). ``at_mobiles`` (true: the unit's people; or a list) and the
message's ``mention_mobiles`` go in ``at.atMobiles``; DingTalk only renders a mention
whose ``@138…`` also appears in the text, so missing ones are appended. No size limit
is documented for robot messages; texts are cut at 20,000 UTF-8 bytes as a safeguard.

Answers are HTTP 200 with ``{"errcode": N, "errmsg": "…"}``: 0 is delivered; 130101
("send too fast, exceed 20 times per minute"; over 20 a minute a robot is throttled for
10 minutes, https://blog.csdn.net/jialiuyang/article/details/118615052,
https://juejin.cn/post/7129698690297495583) and 410100 (发送速度太快而限流) are transient,
retried after 600 s; -1 (系统繁忙) is transient. Everything else is permanent: 310000
(sign not match / keywords not in content / ip not in whitelist / invalid timestamp,
https://cloud.tencent.com/developer/information/errmsg-article), 300001 and 400101
(token), 400102 (robot stopped), 400013 (group dissolved), 430xxx (content refused).
Limit: 20 messages a minute per robot. Robots have no idempotency header: the
reminder's key is the Result's ``request_id`` and is logged with each answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Generator
from typing import Any, ClassVar

import httpx

from notifiers._base import Clock, HttpAnswer, Message, Result, cut_utf8
from notifiers._config import AtMobiles, EnvName, UrlConfig
from notifiers._robot import RobotChannel

__all__ = ["DingTalkAuth", "DingTalkChannel", "dingtalk_sign"]

MAX_BYTES = 20_000
THROTTLED = {130101: 600.0, 410100: 600.0, -1: None}  # errcode → retry after (s)


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, "timestamp\\nsecret")), NOT url-encoded (httpx does that)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkAuth(httpx.Auth):
    """Sets ``timestamp`` (ms) and ``sign`` in the request's query string."""

    def __init__(self, secret: str, clock: Clock) -> None:
        self.secret, self.clock = secret, clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(round(self.clock() * 1000))
        request.url = request.url.copy_set_param("timestamp", timestamp).copy_set_param(
            "sign", dingtalk_sign(self.secret, timestamp))
        yield request


class DingTalkChannel(RobotChannel):
    class Config(UrlConfig):
        secret_env: EnvName = None  # 加签 secret (SEC…)
        at_mobiles: AtMobiles = None

    kind: ClassVar[str] = "dingtalk"
    provider: ClassVar[str] = "DingTalk"
    limits: ClassVar[tuple[tuple[int, float], ...]] = ((20, 60.0),)

    async def send(self, message: Message) -> Result:
        url = self.url()
        secret_env = self.destination.config.get("secret_env")
        secret = self.secrets.get(str(secret_env)) if secret_env else None
        if (limited := self.throttled()) is not None:
            return limited
        body = self.payload(message, self.mentions(message))
        request = httpx.Request("POST", url)
        if secret is not None:
            request = next(DingTalkAuth(secret, self.clock).sync_auth_flow(request))
        content = json.dumps(body, ensure_ascii=False).encode()
        return await self.post(str(request.url), content, message.idempotency_key)

    @staticmethod
    def payload(message: Message, mobiles: list[str]) -> dict[str, Any]:
        content = message.markdown or f"{message.title}\n{message.text}"
        content = cut_utf8(content, MAX_BYTES - 2 - 13 * len(mobiles))
        missing = [m for m in mobiles if f"@{m}" not in content]
        if missing:
            content += ("\n\n" if message.markdown else "\n") + " ".join(f"@{m}" for m in missing)
        at = {"atMobiles": mobiles, "isAtAll": False}
        if message.markdown:
            return {"msgtype": "markdown", "markdown": {"title": message.title, "text": content},
                    "at": at}
        return {"msgtype": "text", "text": {"content": content}, "at": at}

    def retry_of(self, code: int, text: str, answer: HttpAnswer) -> tuple[bool, float | None]:
        return (True, THROTTLED[code]) if code in THROTTLED else (False, None)
