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

import dataclasses
import json
import logging
from typing import Any, ClassVar

from notifiers._base import (
    Channel,
    HttpAnswer,
    Message,
    Outcome,
    Result,
    cut_utf8,
    http_failure,
    post_json,
)
from notifiers.webhook import scrub

__all__ = ["WeComChannel"]

log = logging.getLogger(__name__)
TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096
THROTTLED = {45009: 60.0, -1: None}  # errcode → retry after (s)


def _mentions(channel: Channel, message: Message) -> list[str]:
    at = channel.destination.config.get("at_mobiles")
    configured = channel.destination.mobiles if at is True else (at or ())
    return list(dict.fromkeys([*message.mention_mobiles, *configured]))


class WeComChannel(Channel):
    kind: ClassVar[str] = "wecom"
    limits: ClassVar[tuple[tuple[int, float], ...]] = ((20, 60.0),)

    async def send(self, message: Message) -> Result:
        url = self.url()  # url_env unset → SecretsError
        if (limited := self.throttled()) is not None:
            return limited
        body = self.payload(message, _mentions(self, message))
        answer = await post_json(self.client, url, timeout=self.timeout,
                                 content=json.dumps(body, ensure_ascii=False).encode())
        result = self._result(answer, message.idempotency_key, url)
        log.info("wecom %s key=%s → %s %s", self.destination.channel_id,
                 message.idempotency_key, result.outcome, result.code)
        return result

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

    def _result(self, answer: HttpAnswer | Result, key: str, url: str) -> Result:
        if isinstance(answer, Result):
            return dataclasses.replace(answer, request_id=key)

        def mask(text: object) -> str:
            return scrub(self.secrets, url, str(text))

        if (failure := http_failure(answer)) is not None:
            return dataclasses.replace(failure, request_id=key,
                                       message=mask(failure.message or ""))
        body = answer.body if isinstance(answer.body, dict) else {}
        code, text = body.get("errcode"), mask(body.get("errmsg", ""))
        if not isinstance(code, int):
            return Result(Outcome.PERMANENT, f"http_{answer.status}",
                          mask(f"not a WeCom answer: {str(answer.body)[:200]}"),
                          latency_ms=answer.latency_ms, request_id=key)
        if code == 0:
            outcome, retry = Outcome.DELIVERED, None
        elif code in THROTTLED:
            outcome, retry = Outcome.TRANSIENT, THROTTLED[code]
        else:
            outcome, retry = Outcome.PERMANENT, None
        return Result(outcome, str(code), text, retry, answer.latency_ms, request_id=key)
