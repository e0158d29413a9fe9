"""`jiedian plan new`: write a plan file by answering questions, milestone by milestone.

The interview is plain logic over two injected functions, ``ask(prompt, default)``
(``default`` None: an answer is required) and ``say(line)``, so the CLI passes
typer.prompt and its console and the tests pass a script. Every ``when`` is read
at once and shown back as dates with weekdays (and due dates for deadlines) to be
confirmed; a named event's date is asked for and kept under ``events:``. The YAML
returned has been loaded with :func:`load_plan` before it leaves this module.
"""

from __future__ import annotations

import re
import tempfile
import zlib
from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from plans._calendar import ChinaCalendar
from plans._errors import ExpressionError, MissingEventError, PlanError
from plans._expand import WhenResult, evaluate
from plans._expressions import Occurrence
from plans._loader import load_plan
from plans._text import normalize
from plans._words import KIND_ZH, day_zh, span_zh

__all__ = ["interview"]

Ask = Callable[[str, str | None], str]
Say = Callable[[str], None]

KINDS = {kind: f"{zh} {kind}" for kind, zh in KIND_ZH.items()}  # 截止 deadline …
_KIND_WORDS = {"截止": "deadline", "活动": "event", "阶段": "phase"}
_YES = {"y", "yes", "是", "对", "好"}
_SEPARATORS = re.compile(r"[,，、;；]")
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")
_SHOWN = 10  # occurrences listed one by one before "… N more"


def interview(ask: Ask, say: Say, calendar: ChinaCalendar) -> str:
    """Ask for a plan, milestone by milestone; return the YAML text of a valid plan file."""
    title = _required(ask, say, "计划标题 plan title")
    year = _year(ask, say)
    plan_id = _plan_id(ask, say, title, year)
    issuer = ask("发文单位 issuer (Enter 跳过 to skip)", "").strip()
    events: dict[str, date] = {}
    milestones: list[dict[str, Any]] = []
    while True:
        number = len(milestones) + 1
        prompt = f"节点{number} 标题 milestone title" + (" (Enter 结束 to finish)" if milestones else "")
        name = ask(prompt, "" if milestones else None).strip()
        if not name:
            if milestones:
                break
            say("至少要有一个节点 a plan needs at least one milestone")
            continue
        when, result = _when(ask, say, calendar, year, events, number)
        lead = _names(ask("牵头单位 lead units (用、或逗号分隔 separate with 、 or ,; Enter 跳过)", ""))
        units = _names(ask("责任单位 responsible units (用、或逗号分隔; Enter 跳过)", ""))
        kind = _kind(ask, say, result.rule.kind)
        milestones.append({"id": f"m{number}", "title": name, "when": when, "kind": kind,
                           "lead": lead, "units": units})
    text = _dump(plan_id, title, issuer, year, events, milestones)
    _check(text, calendar)
    return text


def _required(ask: Ask, say: Say, prompt: str) -> str:
    while not (answer := ask(prompt, None).strip()):
        say("必填 this answer is required")
    return answer


def _year(ask: Ask, say: Say) -> int:
    while True:
        answer = _required(ask, say, "年份 year (the plan's base year, e.g. 2011)")
        digits = normalize(answer).removesuffix("年")
        if digits.isascii() and digits.isdigit() and 1900 <= int(digits) <= 2100:
            return int(digits)
        say(f"“{answer}” 不是1900–2100之间的年份 is not a year between 1900 and 2100")


def _plan_id(ask: Ask, say: Say, title: str, year: int) -> str:
    """The title's ASCII words as a slug if one has a letter (not just 2011), else asked."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    if any(re.search(r"[A-Za-z]", word) for word in words):
        return "-".join(words).lower()[:120].rstrip("-")
    default = f"plan-{year}-{zlib.crc32(title.encode()) % 10000}"
    while True:
        answer = ask("计划编号 plan id (ASCII letters, digits, - _ .)", default).strip() or default
        if _SLUG.fullmatch(answer):
            return answer
        say(f"“{answer}” 不能作编号 is not an id: use ASCII letters, digits, - _ . (e.g. {default})")


def _when(ask: Ask, say: Say, calendar: ChinaCalendar, year: int, events: dict[str, date],
          number: int) -> tuple[str, WhenResult]:
    """Ask until an expression is read and its dates confirmed; confirmed events join ``events``."""
    while True:
        when = _required(ask, say, f"节点{number} 时间 when (e.g. 4月底前, “七一”前夕, 每周五上午)")
        known = dict(events)
        try:
            result = _evaluate(ask, say, when, year, calendar, known)
        except ExpressionError as error:
            say(f"看不懂 not understood: {error}")
            continue
        _show(say, result)
        if (ask("对吗? correct? (y/n)", "y").strip().lower() or "y") in _YES:
            events.update(known)
            return when, result


def _evaluate(ask: Ask, say: Say, when: str, year: int, calendar: ChinaCalendar,
              events: dict[str, date]) -> WhenResult:
    """Evaluate ``when``, asking the date of each named event not yet in ``events``."""
    while True:
        try:
            return evaluate(when, year, calendar, events)
        except MissingEventError as error:
            key = _event_key(error.event)
            if key in events:  # the short name did not match: fall back to the full one
                if error.event in events:
                    raise
                key = error.event
            events[key] = _date(ask, say, f"“{error.event}”的日期 date of the event (YYYY-MM-DD)")


def _event_key(event: str) -> str:
    """十八大 for 党的十八大召开: the short name MissingEventError suggests."""
    short = event
    for suffix in ("胜利召开", "召开", "开幕", "举行", "闭幕"):
        short = short.removesuffix(suffix)
    return short.removeprefix("党的") or event


def _date(ask: Ask, say: Say, prompt: str) -> date:
    while True:
        answer = _required(ask, say, prompt)
        try:
            return date.fromisoformat(answer)
        except ValueError:
            say(f"“{answer}” 不是日期 is not a date; write YYYY-MM-DD, e.g. 2012-11-08")


def _show(say: Say, result: WhenResult) -> None:
    found = result.occurrences
    say(f"  → {KINDS[result.rule.kind]}, {len(found)} 次 occurrence(s):")
    listed = found if len(found) <= _SHOWN + 1 else found[:_SHOWN]
    for occurrence, due in listed:
        say("    " + _line(occurrence, due))
    if len(listed) < len(found):
        say(f"    … 还有{len(found) - len(listed)}次 more; 最后 last: {_line(*found[-1])}")
    for warning in result.warnings:
        say(f"  ! {warning}")


def _line(occurrence: Occurrence, due: date | None) -> str:
    text = span_zh(occurrence.start, occurrence.end, occurrence.part_of_day)
    return text + (f" · 截止 {day_zh(due)}" if due else "")


def _names(answer: str) -> list[str]:
    return [name.strip() for name in _SEPARATORS.split(answer) if name.strip()]


def _kind(ask: Ask, say: Say, inferred: str) -> str:
    while True:
        answer = ask("类型 kind (deadline 截止 / event 活动 / phase 阶段)", inferred).strip()
        kind = _KIND_WORDS.get(answer, answer.lower() or inferred)
        if kind in KINDS:
            return kind
        say(f"“{answer}”: choose deadline, event or phase")


def _dump(plan_id: str, title: str, issuer: str, year: int, events: dict[str, date],
          milestones: list[dict[str, Any]]) -> str:
    """The plan as YAML in DESIGN.md's field order; ``when`` quoted so it stays text."""
    root = CommentedMap([("id", plan_id), ("title", title)])
    if issuer:
        root["issuer"] = issuer
    root["year"] = year
    root["timezone"] = "Asia/Shanghai"
    if events:
        root["events"] = CommentedMap(events)
        root["events"].fa.set_flow_style()
    root["milestones"] = items = CommentedSeq()
    for m in milestones:
        item = CommentedMap([("id", m["id"]), ("title", m["title"]),
                             ("when", DoubleQuotedScalarString(m["when"])), ("kind", m["kind"])])
        for field in ("lead", "units"):
            if m[field]:
                item[field] = CommentedSeq(m[field])
                item[field].fa.set_flow_style()
        items.append(item)
    yaml = YAML(typ="rt")
    yaml.allow_unicode = True
    yaml.width = 4096  # never fold a long title
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = StringIO()
    yaml.dump(root, stream)
    return stream.getvalue()


def _check(text: str, calendar: ChinaCalendar) -> None:
    """Load the text as a plan file; failing here is a bug in this module, not the user's."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_plan(path, calendar)
        except PlanError as error:
            raise RuntimeError(f"bug: the drafted plan does not load:\n{error}\n---\n{text}") from None
