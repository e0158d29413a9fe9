"""What the group robots share (DingTalk, WeCom, Feishu): one webhook URL per group, the
people to mention, reading the provider's JSON answer, and masking the URL's token in
whatever the provider says back.

A robot channel is a :class:`RobotChannel` that builds its payload and says how its answer
reads: ``answer_code`` (the code and message in the body), ``retry_of`` (which codes mean
"throttled, try again later", and after how long). Everything else — the HTTP call, a
non-JSON or failed answer, the log line, the reminder's key as the request id — is here
once.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar

from notifiers._base import (
    Channel,
    HttpAnswer,
    Message,
    Outcome,
    Result,
    http_failure,
    post_json,
    scrub,
)

__all__ = ["RobotChannel"]


class RobotChannel(Channel):
    """A group robot: subclasses give ``provider`` (for messages) and read their answers."""

    provider: ClassVar[str] = "robot"
    groups: ClassVar[bool] = True  # one group, one message for all its units

    def mentions(self, message: Message) -> list[str]:
        """The mobiles to @: the message's own, then ``at_mobiles`` (true: the unit's people;
        a list: those numbers), each once."""
        at = self.destination.config.get("at_mobiles")
        configured = self.destination.mobiles if at is True else (at or ())
        return list(dict.fromkeys([*message.mention_mobiles, *configured]))

    async def post(self, url: str, content: bytes, key: str) -> Result:
        """POST ``content`` (JSON) to the robot's ``url`` and read the answer."""
        answer = await post_json(self.client, url, content=content, timeout=self.timeout)
        result = self.read(answer, key, url)
        logging.getLogger(f"notifiers.{self.kind}").info(
            "%s %s key=%s → %s %s", self.kind, self.destination.channel_id, key, result.outcome,
            result.code)
        return result

    def read(self, answer: HttpAnswer | Result, key: str, url: str) -> Result:
        """The provider's answer as a Result: 0 is delivered, ``retry_of`` says which codes
        are worth another try, anything else is permanent; the URL's token is masked."""
        if isinstance(answer, Result):  # the connection failed: no answer to read
            return dataclasses.replace(answer, request_id=key)

        def mask(text: object) -> str:
            return scrub(self.secrets, url, str(text))

        if (failure := http_failure(answer)) is not None:
            return dataclasses.replace(failure, request_id=key, message=mask(failure.message or ""),
                                       retry_after=failure.retry_after or self.retry_hint(answer))
        body = answer.body if isinstance(answer.body, dict) else {}
        code, said = self.answer_code(body)
        text = mask(said or "")
        if not isinstance(code, int):
            return Result(Outcome.PERMANENT, f"http_{answer.status}",
                          mask(f"not a {self.provider} answer: {str(answer.body)[:200]}"),
                          latency_ms=answer.latency_ms, request_id=key)
        if code == 0:
            return Result(Outcome.DELIVERED, "0", text, None, answer.latency_ms, request_id=key)
        again, retry = self.retry_of(code, text, answer)
        outcome = Outcome.TRANSIENT if again else Outcome.PERMANENT
        return Result(outcome, str(code), text, retry, answer.latency_ms, request_id=key)

    @staticmethod
    def answer_code(body: dict[str, Any]) -> tuple[object, str]:
        """The body's code and message (DingTalk and WeCom: errcode, errmsg)."""
        return body.get("errcode"), str(body.get("errmsg", ""))

    def retry_of(self, code: int, text: str, answer: HttpAnswer) -> tuple[bool, float | None]:
        """(worth another try, after how many seconds or None for the usual backoff)."""
        return False, None

    def retry_hint(self, answer: HttpAnswer) -> float | None:
        """A wait the provider states outside its body (a header), for an HTTP failure."""
        return None
