"""`jiedian notify test`: one test message through a unit's channels, and what each provider answered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import httpx
from rich.markup import escape
from sqlmodel import Session

import notifiers
from notifiers import Result, Secrets
from scheduler._directory import destinations, find_unit
from scheduler._messages import ReminderItem, Templates, render

__all__ = ["ChannelAnswer", "send_test"]


@dataclass(frozen=True)
class ChannelAnswer:
    channel_id: str
    kind: str
    result: Result

    COLUMNS: ClassVar = ["channel", "kind", "result", "provider code", "provider message", "ms"]
    _COLOUR: ClassVar = {"delivered": "green", "transient": "yellow", "permanent": "red"}

    def rows(self) -> list[list[str]]:
        """The answer as ``notify test`` table rows (results coloured, rich markup): the
        channel's, then one per person or number when the channel reaches several."""
        first = [self.channel_id, self.kind, *self._cells(self.result), f"{self.result.latency_ms:.0f}"]
        return [first] + [["", f"· {escape(who)}", *self._cells(r), ""]
                          for who, r in self.result.recipients.items()]

    def _cells(self, result: Result) -> list[str]:
        outcome = result.outcome.value
        return [f"[{self._COLOUR[outcome]}]{outcome}[/]", escape(result.code or ""),
                escape(result.message or "")]


def send_test(
    session: Session,
    unit_name: str,
    *,
    today: date,
    secrets: Secrets,
    channel_id: str | None = None,
    link: str = "",
    templates: Templates | None = None,
    clock: Callable[[], float] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[ChannelAnswer]:
    """Send a test reminder through the unit's channels; return each provider's answer.

    Raises LookupError for an unknown unit or channel; a missing secret is that
    channel's permanent failure, reported like any provider's answer.
    """
    unit = find_unit(session, unit_name)
    if unit is None:
        raise LookupError(f"unknown unit “{unit_name}”")
    targets = destinations(session, unit, channel_id)
    if not targets:
        what = f"no channel “{channel_id}”" if channel_id else "no enabled channels"
        own = [d.channel_id for d in destinations(session, unit)] if channel_id else []
        listed = f" (its channels: {', '.join(own)})" if own else ""
        raise LookupError(f"unit “{unit.name}” has {what}{listed}; see `jiedian units show {unit.name}`")
    item = ReminderItem("Jiedian 测试计划", "测试消息：收到即表示渠道可用", "deadline",
                        today + timedelta(days=3), today + timedelta(days=3),
                        today + timedelta(days=3), ("镇党建办",), (unit.name,))
    message = render([item], today=today, idempotency_key=f"test-{uuid.uuid4().hex}",
                     unit=unit.name, link=link, mobiles=targets[0].mobiles, templates=templates)

    async def run() -> list[ChannelAnswer]:
        async with notifiers.http_client(transport=transport) as client:
            channels = [notifiers.build(d, client=client, secrets=secrets,
                                        **({"clock": clock} if clock else {}))
                        for d in targets]
            results = await asyncio.gather(*(notifiers.deliver(c, message) for c in channels))
        return [ChannelAnswer(d.channel_id, d.kind, r) for d, r in zip(targets, results,
                                                                       strict=True)]

    return asyncio.run(run())
