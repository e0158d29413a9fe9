"""Reminder messages: Chinese text a unit's secretary is glad to receive.

One reminder (or a digest of several for the same unit and channel) becomes a
:class:`notifiers.Message` with a title, plain text, Markdown and the fields
that SMS templates map to their variables. Deployments can override the
wording with templates (``string.Template`` files ``title.txt``, ``text.txt``,
``markdown.md``, ``item.txt`` and ``item.md`` in a folder); the variables are
those of :func:`item_fields` (``$ack`` is the node's 办结确认 link for this unit,
``$ack_line`` the line showing it, empty without one) and ``$count``, ``$items``,
``$link``, ``$unit``. :func:`render_escalation` words the 督办 message to a lead unit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from notifiers import Message
from plans import KIND_ZH, month_day_zh, weekday_zh

__all__ = ["ReminderItem", "Templates", "countdown", "item_fields", "plain", "render", "render_escalation",
           "render_group"]



@dataclass(frozen=True)
class ReminderItem:
    """One node a reminder is about, as seen from ``today``."""

    plan_title: str
    title: str
    kind: str  # deadline | event | phase
    start: date
    end: date
    due: date
    lead: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    part_of_day: str | None = None
    late: bool = False  # 补发: sent after its planned time (the daemon was down)
    ack: str = ""  # where this unit confirms it has done the node (办结确认)
    missing: tuple[str, ...] = ()  # escalations: the units that have not confirmed
    owed: int = 0  # escalations: how many units are expected to confirm


def countdown(item: ReminderItem, today: date) -> str:
    """还有3天 / 明天截止 / 今天截止 for deadlines; 明天 / 今天开始 … for the others."""
    target = item.due if item.kind == "deadline" else item.start
    days = (target - today).days
    if item.kind == "deadline":
        return {0: "今天截止", 1: "明天截止"}.get(days, f"还有{days}天" if days > 0 else "已过期")
    if item.kind == "phase" and target <= today <= item.end:
        return "进行中" if target < today else "今天开始"
    return {0: "今天", 1: "明天"}.get(days, f"还有{days}天" if days > 0 else "已过")


# Plan text is somebody's document, not the office's voice: whatever in it would mention a
# whole group (DingTalk's and WeCom's @all, Feishu's <at user_id="all">, WeCom's <@all>) or
# embed a link or an image in a markdown message is sent as plain text.
_EVERYONE = re.compile(r"@(?=(?:all|everyone|here|所有人)\b|所有人)", re.IGNORECASE)
_TAG = re.compile(r"<(?=\s*/?\s*(?:at\b|@))", re.IGNORECASE)
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]*)[^)\n]*\)")


def plain(text: str) -> str:
    """``text`` from a plan with its mentions of everyone and its markdown links and images
    made harmless: ＠all, ＜at …, and ``[words](url)`` as ``words（url）``."""
    text = _LINK.sub(lambda m: f"{m[1]}（{m[2]}）" if m[2] else m[1], text)
    return _TAG.sub("＜", _EVERYONE.sub("＠", text))


def item_fields(item: ReminderItem, today: date) -> dict[str, str]:
    """The variables of one node, for templates and SMS template parameters."""
    when = month_day_zh(item.due) if item.kind == "deadline" else month_day_zh(item.start)
    if item.kind == "phase" and item.end != item.start:
        when = f"{month_day_zh(item.start)}至{month_day_zh(item.end)}"
    if item.part_of_day:
        when += item.part_of_day
    return {
        "plan": plain(item.plan_title),
        "node": plain(item.title),
        "kind": KIND_ZH[item.kind],
        "when_label": "截止" if item.kind == "deadline" else "时间",
        "when": when,
        "due": item.due.isoformat(),
        "weekday": weekday_zh(item.due),
        "countdown": countdown(item, today),
        "lead": plain("、".join(item.lead)) or "—",
        "units": plain("、".join(item.units)) or "—",
        "late": "（补发）" if item.late else "",
        "ack": item.ack or "—",
        "ack_line": f"\n办结确认：{item.ack}" if item.ack else "",
        "ack_md": f"\n- [办结确认]({item.ack})" if item.ack else "",
    }


DEFAULTS = {
    "title.txt": "【节点提醒】$head",
    "item.txt": ("【$plan】$node$late\n$when_label：$when，$countdown\n牵头单位：$lead\n"
                 "责任单位：$units$ack_line"),
    "item.md": ("**$node**$late\n- 计划：$plan\n- $when_label：$when，**$countdown**\n"
                "- 牵头单位：$lead\n- 责任单位：$units$ack_md"),
    "text.txt": "$items\n\n日历订阅：$link",
    "markdown.md": "### 【节点提醒】$head\n\n$items\n\n[订阅$unit的日历]($link)",
}


class Templates:
    """The wording, with per-deployment overrides read once from a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.templates = {name: string.Template(text) for name, text in DEFAULTS.items()}
        if folder is not None:
            for name in DEFAULTS:
                path = folder / name
                if path.exists():
                    template = string.Template(path.read_text(encoding="utf-8").strip())
                    if not template.is_valid():
                        raise ValueError(f"{path}: not a valid template ($name or ${{name}})")
                    self.templates[name] = template

    def fill(self, name: str, values: dict[str, str]) -> str:
        return self.templates[name].safe_substitute(values)


def render(
    items: Sequence[ReminderItem],
    *,
    today: date,
    idempotency_key: str,
    unit: str = "",
    link: str = "",
    mobiles: tuple[str, ...] = (),
    templates: Templates | None = None,
) -> Message:
    """One message for one or more nodes (a digest lists them soonest first)."""
    templates = templates or Templates()
    ordered = sorted(items, key=lambda i: (i.due, i.start, i.title))
    fields = [item_fields(item, today) for item in ordered]
    head = (f"{fields[0]['node']} · {fields[0]['countdown']}" if len(fields) == 1
            else f"{len(fields)}个节点即将到来")
    common = {"head": head, "count": str(len(fields)), "unit": unit, "link": link or "—"}
    text_items = "\n\n".join(templates.fill("item.txt", f) for f in fields)
    md_items = "\n\n".join(templates.fill("item.md", f) for f in fields)
    return Message(
        title=templates.fill("title.txt", {**fields[0], **common}),
        text=templates.fill("text.txt", {**fields[0], **common, "items": text_items}),
        markdown=templates.fill("markdown.md", {**fields[0], **common, "items": md_items}),
        idempotency_key=idempotency_key,
        fields={**fields[0], **common},
        mention_mobiles=mobiles,
    )


def render_group(
    sections: Sequence[tuple[str, Sequence[ReminderItem], str]],
    *,
    today: date,
    idempotency_key: str,
    mobiles: tuple[str, ...] = (),
    templates: Templates | None = None,
) -> Message:
    """One message for several units on one destination (a group robot): per unit, its
    name, its nodes (with its own confirmation links) and its calendar link; every unit's
    people mentioned. ``sections``: (unit, nodes, feed link), in the order to show them."""
    templates = templates or Templates()
    count = sum(len(items) for _, items, _ in sections)
    head = f"{len(sections)}个单位的{count}个节点"
    common = {"head": head, "count": str(count), "unit": "、".join(u for u, _, _ in sections)}
    texts, marks = [], []
    for unit, items, link in sections:
        fields = [item_fields(item, today) for item in sorted(items, key=lambda i: (i.due, i.start, i.title))]
        texts.append(f"▌{plain(unit)}\n" + "\n\n".join(templates.fill("item.txt", f) for f in fields)
                     + f"\n日历订阅：{link or '—'}")
        marks.append(f"#### {plain(unit)}\n\n" + "\n\n".join(templates.fill("item.md", f) for f in fields)
                     + (f"\n\n[订阅{plain(unit)}的日历]({link})" if link else ""))
    first = item_fields(sections[0][1][0], today)
    return Message(
        title=templates.fill("title.txt", {**first, **common}),
        text="\n\n".join(texts),
        markdown=f"### 【节点提醒】{head}\n\n" + "\n\n".join(marks),
        idempotency_key=idempotency_key,
        fields={**first, **common},
        mention_mobiles=mobiles,
    )


def render_escalation(
    items: Sequence[ReminderItem],
    *,
    today: date,
    idempotency_key: str,
    unit: str = "",
    link: str = "",
    mobiles: tuple[str, ...] = (),
) -> Message:
    """One 督办 message to a lead unit: the nodes and, for each, who has not confirmed."""
    ordered = sorted(items, key=lambda i: (i.due, i.start, i.title))
    fields = [item_fields(item, today) for item in ordered]
    texts, marks = [], []
    for item, f in zip(ordered, fields, strict=True):
        confirmed = item.owed - len(item.missing)
        state = (f"未确认办结（{len(item.missing)}/{item.owed}）：{'、'.join(item.missing)}"
                 if item.missing else f"已全部确认办结（{confirmed}/{item.owed}）")
        texts.append(f"【{f['plan']}】{f['node']}\n{f['when_label']}：{f['when']}，{f['countdown']}\n"
                     f"{state}")
        marks.append(f"**{f['node']}**\n- 计划：{f['plan']}\n- {f['when_label']}：{f['when']}，"
                     f"**{f['countdown']}**\n- {state}")
    missing = sorted({name for item in ordered for name in item.missing})
    head = (f"{fields[0]['node']} · {len(ordered[0].missing)}个单位未确认" if len(fields) == 1
            else f"{len(fields)}个节点有单位未确认")
    common = {"head": head, "count": str(len(fields)), "unit": unit, "link": link or "—",
              "missing": "、".join(missing) or "—"}
    return Message(
        title=f"【督办提醒】{head}",
        text="\n\n".join(texts) + f"\n\n办结情况：{link or '—'}",
        markdown=f"### 【督办提醒】{head}\n\n" + "\n\n".join(marks)
        + (f"\n\n[查看办结情况]({link})" if link else ""),
        idempotency_key=idempotency_key,
        fields={**fields[0], **common},
        mention_mobiles=mobiles,
    )
