"""The channel registry: a channel kind → its class (one line per channel)."""

from __future__ import annotations

import time

import httpx

from notifiers._base import Channel, Clock, Destination
from notifiers._secrets import Secrets
from notifiers.aliyun_sms import AliyunSmsChannel
from notifiers.console import ConsoleChannel
from notifiers.dingtalk import DingTalkChannel
from notifiers.dingtalk_notice import DingTalkNoticeChannel
from notifiers.email import EmailChannel
from notifiers.feishu import FeishuChannel
from notifiers.tencent_sms import TencentSmsChannel
from notifiers.webhook import WebhookChannel
from notifiers.wecom import WeComChannel
from notifiers.wecom_app import WeComAppChannel

__all__ = ["CHANNELS", "CHANNEL_CONFIGS", "build"]

CHANNELS: dict[str, type[Channel]] = {
    ConsoleChannel.kind: ConsoleChannel,
    WebhookChannel.kind: WebhookChannel,
    DingTalkChannel.kind: DingTalkChannel,
    WeComChannel.kind: WeComChannel,
    FeishuChannel.kind: FeishuChannel,
    AliyunSmsChannel.kind: AliyunSmsChannel,
    TencentSmsChannel.kind: TencentSmsChannel,
    EmailChannel.kind: EmailChannel,
    DingTalkNoticeChannel.kind: DingTalkNoticeChannel,
    WeComAppChannel.kind: WeComAppChannel,
}

# What each kind may hold in units.yaml, for the units loader (plans.load_units(path, CHANNEL_CONFIGS)).
CHANNEL_CONFIGS = {kind: cls.Config for kind, cls in CHANNELS.items()}


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
