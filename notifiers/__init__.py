"""Notifiers: one module per channel behind one small interface (see ``_base``).

``build(destination, client=…, secrets=…, clock=…)`` returns the channel for a
destination's ``kind``; a new channel is one module that subclasses
:class:`Channel` and one line in ``CHANNELS``.
"""

from __future__ import annotations

import time

import httpx

from notifiers._base import (
    Channel,
    Clock,
    Destination,
    Message,
    Outcome,
    RateLimiter,
    Result,
    cut_utf8,
    deliver,
)
from notifiers._http import http_client
from notifiers._secrets import Secrets, SecretsError
from notifiers.aliyun_sms import AliyunSmsChannel
from notifiers.console import ConsoleChannel
from notifiers.dingtalk import DingTalkChannel
from notifiers.feishu import FeishuChannel
from notifiers.tencent_sms import TencentSmsChannel
from notifiers.webhook import WebhookChannel
from notifiers.wecom import WeComChannel

__all__ = [
    "CHANNELS",
    "Channel",
    "Clock",
    "Destination",
    "Message",
    "Outcome",
    "RateLimiter",
    "Result",
    "Secrets",
    "SecretsError",
    "build",
    "cut_utf8",
    "deliver",
    "http_client",
]

CHANNELS: dict[str, type[Channel]] = {
    ConsoleChannel.kind: ConsoleChannel,
    AliyunSmsChannel.kind: AliyunSmsChannel,
    TencentSmsChannel.kind: TencentSmsChannel,
    WebhookChannel.kind: WebhookChannel,
    DingTalkChannel.kind: DingTalkChannel,
    WeComChannel.kind: WeComChannel,
    FeishuChannel.kind: FeishuChannel,
}


def build(
    destination: Destination,
    *,
    client: httpx.AsyncClient,
    secrets: Secrets,
    clock: Clock = time.time,
) -> Channel:
    """The channel object for ``destination`` (one per destination: it keeps its rate limits)."""
    try:
        cls = CHANNELS[destination.kind]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise ValueError(f"unknown channel kind “{destination.kind}”; known: {known}") from None
    return cls(destination, client=client, secrets=secrets, clock=clock)
