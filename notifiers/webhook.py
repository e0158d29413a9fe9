"""The generic webhook channel: a JSON POST signed by the Standard Webhooks spec.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
(test vector from its Python library, ``libraries/python/tests/test_webhooks.py``).
Every request carries three headers:

- ``webhook-id``: the reminder's idempotency key, the same on every retry, so the
  receiver can drop duplicates. The spec forbids ``.`` in ids (they are signed as
  ``id.timestamp.body``) and headers must be ASCII, so a key outside
  ``[A-Za-z0-9_:-]`` is sent as ``msg_`` + 32 hex digits of its SHA-256 (still stable);
  the body's ``id`` always holds the key as it is.
- ``webhook-timestamp``: the attempt's time, unix seconds (receivers allow ±5 minutes).
- ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")),
  the key being the base64-decoded part of a ``whsec_…`` secret (``secret_env``).
  Without ``secret_env`` the request goes unsigned (id and timestamp still sent).

The body (UTF-8 JSON, compact; fields may be added, none renamed)::

    {"type": "jiedian.reminder",        # always
     "id": "<idempotency key>",
     "title": "…", "text": "…",
     "markdown": "…" | null,            # the same message as Markdown, when there is one
     "fields": {"name": "value", …},    # what SMS templates get
     "mention_mobiles": ["138…", …],
     "unit": "镇党建办", "channel": "djb-hook"}

Success is any 2xx (the spec's rule; the answer body is ignored). 429, 408 and 5xx
are transient (``Retry-After`` honoured); any other status, a redirect included,
is permanent: the URL or the receiver needs fixing.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Generator
from typing import ClassVar

import httpx

from notifiers._base import (
    Channel,
    Clock,
    HttpAnswer,
    Message,
    Outcome,
    Result,
    http_failure,
    post_json,
    scrub,
)
from notifiers._config import EnvName, UrlConfig
from notifiers._secrets import SecretsError

__all__ = ["StandardWebhooksAuth", "WebhookChannel", "sign", "webhook_id"]

_SAFE_ID = re.compile(r"[A-Za-z0-9_:\-]{1,200}")


def webhook_id(key: str) -> str:
    """The ``webhook-id`` for an idempotency key: the key itself when the spec allows it."""
    if _SAFE_ID.fullmatch(key):
        return key
    return "msg_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class StandardWebhooksAuth(httpx.Auth):
    """Adds ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` to a request."""

    requires_request_body = True

    def __init__(self, key: bytes | None, msg_id: str, clock: Clock) -> None:
        self.key, self.msg_id, self.clock = key, msg_id, clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(self.clock()))
        request.headers["webhook-id"] = self.msg_id
        request.headers["webhook-timestamp"] = timestamp
        if self.key is not None:
            request.headers["webhook-signature"] = sign(self.key, self.msg_id, timestamp,
                                                        request.content)
        yield request


class WebhookChannel(Channel):
    class Config(UrlConfig):
        secret_env: EnvName = None  # the Standard Webhooks secret (whsec_…)

    kind: ClassVar[str] = "webhook"

    def _key(self) -> bytes | None:
        name = self.destination.config.get("secret_env")
        if not name:
            return None
        value = self.secrets.get(str(name)).removeprefix("whsec_")
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < 24:  # the spec: random, at least 24 bytes
            raise SecretsError(f"secret {name} is not a Standard Webhooks secret "
                               f"(whsec_ followed by the base64 of at least 24 bytes)")
        return key

    async def send(self, message: Message) -> Result:
        url, key = self.url(), self._key()  # configuration errors raise SecretsError
        if (limited := self.throttled()) is not None:
            return limited
        body = json.dumps({
            "type": "jiedian.reminder", "id": message.idempotency_key,
            "title": message.title, "text": message.text, "markdown": message.markdown,
            "fields": dict(message.fields), "mention_mobiles": list(message.mention_mobiles),
            "unit": self.destination.unit, "channel": self.destination.channel_id,
        }, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        msg_id = webhook_id(message.idempotency_key)
        answer = await post_json(self.client, url, content=body, timeout=self.timeout,
                                 auth=StandardWebhooksAuth(key, msg_id, self.clock))
        return self._result(answer, msg_id, url)

    def _result(self, answer: HttpAnswer | Result, msg_id: str, url: str) -> Result:
        if isinstance(answer, Result):
            return dataclasses.replace(answer, request_id=msg_id)
        failure = http_failure(answer)
        if failure is None and 200 <= answer.status < 300:
            return Result(Outcome.DELIVERED, str(answer.status), "accepted",
                          latency_ms=answer.latency_ms, request_id=msg_id)
        if failure is None:
            outcome = Outcome.TRANSIENT if answer.status == 408 else Outcome.PERMANENT
            failure = Result(outcome, f"http_{answer.status}", str(answer.body)[:300])
        return dataclasses.replace(failure, message=scrub(self.secrets, url, failure.message or ""),
                                   latency_ms=answer.latency_ms, request_id=msg_id)
