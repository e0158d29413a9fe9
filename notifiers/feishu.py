"""The Feishu (飞书) custom bot channel (自定义机器人, ``open.feishu.cn/open-apis/bot/v2/hook/…``).

Reference: 自定义机器人使用指南,
https://open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN (also at
open.feishu.cn). Signing (签名校验, ``secret_env``) goes in the BODY: ``timestamp`` is
unix seconds as a string (within an hour of Feishu's clock) and ``sign`` is
``base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))`` — the string is the KEY
and the message is empty, unlike DingTalk (see :func:`feishu_sign`; the official
Python example is quoted at http://www.createh5.com/post/277.html and
https://blog.csdn.net/zhanglili1993/article/details/136473704).

Messages: ``text`` (title, newline, text), or ``post`` (rich text: the title, then one
paragraph per line of the text) when the message has Markdown — a custom bot's post
does not render Markdown syntax, so the plain text fills the paragraphs and the
title shows as the heading. Custom bots can only @ by open_id/user_id, never by
mobile, so ``mention_mobiles`` are not used. The request body must stay under 20 KB:
the text is cut (at a character boundary) until the body is under 20,000 bytes.

Answers are ``{"code": 0, "msg": "success", "data": {}}`` (older bots:
``{"StatusCode": 0, "StatusMessage": "success"}``). 11232 (frequency limited; the bot
allows 100 a minute and 5 a second) is transient, as is 9499 when it says "too many
request" and HTTP 429 (its ``x-ogw-ratelimit-reset`` header is honoured, see
https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control); otherwise
the retry is after 60 s. Permanent: 19021 (sign match fail or timestamp not within
one hour, https://github.com/feiyu563/PrometheusAlert/issues/422), 19022 (Ip Not
Allowed), 19024 (Key Words Not Found), 9499 "Bad Request" (malformed or > 20 KB),
19001 (param invalid). Bots have no idempotency header: the reminder's key is the
Result's ``request_id`` and is logged with each answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, ClassVar

from notifiers._base import HttpAnswer, Message, Result, cut_utf8
from notifiers._config import EnvName, UrlConfig
from notifiers._robot import RobotChannel

__all__ = ["FeishuChannel", "feishu_sign"]

MAX_BODY = 20_000
RETRY_AFTER = 60.0


def feishu_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key="timestamp\\nsecret", msg="")): the body's ``sign``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuChannel(RobotChannel):
    class Config(UrlConfig):
        secret_env: EnvName = None  # 签名校验 secret

    kind: ClassVar[str] = "feishu"
    provider: ClassVar[str] = "Feishu"
    limits: ClassVar[tuple[tuple[int, float], ...]] = ((100, 60.0), (5, 1.0))

    async def send(self, message: Message) -> Result:
        url = self.url()
        secret_env = self.destination.config.get("secret_env")
        secret = self.secrets.get(str(secret_env)) if secret_env else None
        if (limited := self.throttled()) is not None:
            return limited
        signature: dict[str, str] = {}
        if secret is not None:
            timestamp = str(int(self.clock()))
            signature = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp)}
        text, budget = message.text, len(message.text.encode())
        while True:
            body = json.dumps({**signature, **self.payload(message, text)},
                              ensure_ascii=False).encode()
            if len(body) <= MAX_BODY or not text:  # a title alone too long: Feishu says so
                break
            budget -= len(body) - MAX_BODY + 16
            text = cut_utf8(message.text, budget) if budget > 8 else ""
        return await self.post(url, body, message.idempotency_key)

    @staticmethod
    def payload(message: Message, text: str) -> dict[str, Any]:
        if not message.markdown:
            return {"msg_type": "text", "content": {"text": f"{message.title}\n{text}"}}
        lines = [[{"tag": "text", "text": line}] for line in text.splitlines()]
        return {"msg_type": "post",
                "content": {"post": {"zh_cn": {"title": message.title, "content": lines}}}}

    @staticmethod
    def answer_code(body: dict[str, Any]) -> tuple[object, str]:
        return body.get("code", body.get("StatusCode")), str(body.get("msg") or body.get("StatusMessage") or "")

    def retry_of(self, code: int, text: str, answer: HttpAnswer) -> tuple[bool, float | None]:
        if code == 11232 or (code == 9499 and "too many" in text.lower()):
            return True, self.retry_hint(answer) or RETRY_AFTER
        return False, None

    def retry_hint(self, answer: HttpAnswer) -> float | None:
        reset = answer.headers.get("x-ogw-ratelimit-reset", "")
        return float(reset) if reset.isdigit() else None
