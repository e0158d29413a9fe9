"""The console channel: prints the message. The embedded default, so nothing needs an account."""

from __future__ import annotations

import sys
from typing import ClassVar, TextIO

from notifiers._base import Channel, Message, Outcome, Result

__all__ = ["ConsoleChannel"]


class ConsoleChannel(Channel):
    kind: ClassVar[str] = "console"
    stream: TextIO | None = None  # None: the current sys.stdout

    async def send(self, message: Message) -> Result:
        stream = self.stream or sys.stdout
        unit = f" → {self.destination.unit}" if self.destination.unit else ""
        print(f"[{self.destination.channel_id}{unit}] {message.title}\n{message.text}\n",
              file=stream, flush=True)
        return Result(Outcome.DELIVERED, "0", "printed", request_id=message.idempotency_key)
