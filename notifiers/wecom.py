"""The WeCom (企业微信) group robot channel (群机器人, ``qyapi.weixin.qq.com/cgi-bin/webhook/send``).

Reference: https://developer.work.weixin.qq.com/document/path/91770 (群机器人配置说明).
There is no signature: the ``key`` in the webhook URL is the credential, so give
the URL as ``url_env`` and it is masked in every message this channel returns.

Messages: ``text`` ``{content, mentioned_mobile_list}`` (content ≤ 2048 UTF-8 bytes)
or ``markdown`` ``{content}`` (≤ 4096 bytes), both cut at a character boundary with
:func:`notifiers._base.cut_utf8`. Markdown is used when the message has it — unless
someone is to be mentioned: only text messages can @ by mobile, and a reminder
that fails to @ the person responsible has lost its point, so then text is sent.
Mentioned: ``at_mobiles`` (true: the unit's people; or a list) plus the message's
``mention_mobiles``.

Answers (HTTP 200 either way) are ``{"errcode": 0, "errmsg": "ok"}`` or an error, see
https://developer.work.weixin.qq.com/document/path/90313 (全局错误码): 45009 (api freq
out of limit) is transient, retried after 60 s (a per-minute block lasts 60 seconds,
https://developer.work.weixin.qq.com/document/path/90454), as is -1 (系统繁忙); anything
else is permanent — 93000 (invalid webhook url: wrong key or robot removed), 40008
(invalid message type), 40058 (invalid parameter) …
Limit: 20 messages a minute per robot. Robots have no idempotency header: the
reminder's key is the Result's ``request_id`` and is logged with each answer.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from notifiers._base import HttpAnswer, Message, Result, cut_utf8
from notifiers._config import AtMobiles, UrlConfig
from notifiers._robot import RobotChannel

__all__ = ["WeComChannel"]

TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096
THROTTLED = {45009: 60.0, -1: None}  # errcode → retry after (s)


class WeComChannel(RobotChannel):
    class Config(UrlConfig):
        at_mobiles: AtMobiles = None

    kind: ClassVar[str] = "wecom"
    provider: ClassVar[str] = "WeCom"
    limits: ClassVar[tuple[tuple[int, float], ...]] = ((20, 60.0),)

    async def send(self, message: Message) -> Result:
        url = self.url()  # url_env unset → SecretsError
        if (limited := self.throttled()) is not None:
            return limited
        body = self.payload(message, self.mentions(message))
        content = json.dumps(body, ensure_ascii=False).encode()
        return await self.post(url, content, message.idempotency_key)

    @staticmethod
    def payload(message: Message, mobiles: list[str]) -> dict[str, Any]:
        if message.markdown and not mobiles:
            return {"msgtype": "markdown",
                    "markdown": {"content": cut_utf8(message.markdown, MARKDOWN_BYTES)}}
        text: dict[str, Any] = {"content": cut_utf8(f"{message.title}\n{message.text}",
                                                    TEXT_BYTES)}
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return {"msgtype": "text", "text": text}

    def retry_of(self, code: int, text: str, answer: HttpAnswer) -> tuple[bool, float | None]:
        return (True, THROTTLED[code]) if code in THROTTLED else (False, None)
