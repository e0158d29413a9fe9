"""Load plan files with errors that say ``file:line: field: message``.

ruamel.yaml keeps the line of every key and value, so a pydantic error at
``milestones[3].when`` can be traced back to the line a person has to fix.
All problems of a file are collected before raising, so one run shows them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from plans._calendar import ChinaCalendar
from plans._errors import ExpressionError, PlanError
from plans._expressions import Rule, parse
from plans._schema import Plan

__all__ = [
    "LoadedPlan",
    "field_path",
    "line_of",
    "load_events",
    "load_plan",
    "load_plans",
    "plan_files",
    "read_yaml",
    "validation_problems",
]


@dataclass
class LoadedPlan:
    """A validated plan, where it came from, and its parsed rules by milestone id."""

    plan: Plan
    path: Path
    rules: dict[str, Rule]
    lines: dict[str, int] = field(default_factory=dict)  # milestone id -> line of its `when`
    span: tuple[date, date] | None = None  # the campaign's first and last day (from/until)


def read_yaml(path: Path) -> Any:
    """Read YAML (or JSON) keeping line numbers; raise PlanError naming file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise PlanError([f"{path}: is a directory; give a .yaml file"]) from None
    except UnicodeDecodeError as error:
        problem = f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save as UTF-8"
        raise PlanError([problem]) from None
    except OSError as error:
        raise PlanError([f"{path}: cannot be read: {error.strerror}"]) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or error.context or "invalid YAML"
        raise PlanError([f"{path}:{line}: YAML: {problem}"]) from None
    except YAMLError as error:
        raise PlanError([f"{path}: YAML: {error}"]) from None
    except RecursionError:  # a list in a list … a thousand deep: no plan looks like that
        raise PlanError([f"{path}: YAML: nested too deeply to be a plan or units file"]) from None
    except ValueError as error:  # a date YAML reads but the calendar has not (2011-02-30)
        raise PlanError([_bad_date(path, text, error)]) from None


_YAML_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")


def _bad_date(path: Path, text: str, error: ValueError) -> str:
    """file:line of the first date in ``text`` that is not a day (2011-02-30), for ruamel's
    bare ValueError, which says neither."""
    for number, line in enumerate(text.splitlines(), 1):
        for m in _YAML_DATE.finditer(line.split("#")[0]):
            try:
                date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError as why:
                return f"{path}:{number}: “{m[0]}” is not a date ({why}); write an existing day"
    return f"{path}: YAML: {error}"


def line_of(root: Any, loc: Iterable[Any]) -> int:
    """The 1-based line of the deepest node on ``loc`` that has a position."""
    node, line = root, getattr(getattr(root, "lc", None), "line", 0)
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and key in node:
                line = lc.key(key)[0] if lc else line
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                line = lc.item(key)[0] if lc else line
            else:
                break
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line + 1


def field_path(loc: Iterable[Any], whole: str = "plan") -> str:
    """``milestones[3].when`` for a pydantic location; ``whole`` for the empty one."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or whole


def validation_problems(
    path: Path, raw: Any, error: ValidationError, what: str = "plan"
) -> list[str]:
    """Map pydantic errors to ``file:line: field: message``; ``what`` names the file's kind."""
    problems = []
    for item in error.errors(include_url=False):
        # pydantic puts the failing validator's name at the end of union/annotated locations.
        loc = [k for k in item["loc"] if not (isinstance(k, str) and "[" in k)]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field (check its spelling against DESIGN.md's {what} file)"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(f"{path}:{line_of(raw, loc)}: {field_path(loc, what)}: {message}")
    return problems


def load_plan(path: str | Path, calendar: ChinaCalendar) -> LoadedPlan:
    """Load, validate and expand-check one plan file; raise PlanError with every problem."""
    path = Path(path)
    return load_document(read_yaml(path), path, calendar)


def load_document(raw: Any, path: str | Path, calendar: ChinaCalendar) -> LoadedPlan:
    """Validate and expand-check a plan already read (a stored plan's document, re-applied
    to another year without its file); ``path`` is where it came from, for messages."""
    path = Path(path)
    if not isinstance(raw, Mapping):
        raise PlanError([f"{path}:1: plan: expected a mapping with id, title, year, milestones"])
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as error:
        raise PlanError(validation_problems(path, raw, error)) from None
    problems: list[str] = []
    span = _span(path, raw, plan, calendar, problems)
    rules: dict[str, Rule] = {}
    lines: dict[str, int] = {}
    for index, milestone in enumerate(plan.milestones):
        where = f"milestones[{index}]"
        when_line = line_of(raw, ["milestones", index, "when"])
        if milestone.id in rules or milestone.id in lines:
            problems.append(f"{path}:{line_of(raw, ['milestones', index, 'id'])}: {where}.id: "
                            f"“{milestone.id}” is used twice; milestone ids must be unique")
            continue
        lines[milestone.id] = when_line
        try:
            rule = parse(milestone.when)
            rule.expand(plan.year, calendar, plan.events)
        except ExpressionError as error:
            problems.append(f"{path}:{when_line}: {where}.when: {error}")
            continue
        rules[milestone.id] = rule
    if problems:
        raise PlanError(problems)
    return LoadedPlan(plan, path, rules, lines, span)


def _span(path: Path, raw: Any, plan: Plan, calendar: ChinaCalendar,
          problems: list[str]) -> tuple[date, date] | None:
    """The plan's ``from``/``until`` as (first day, last day), read in the base year:
    ``from`` is where its expression starts, ``until`` where it ends; either defaults to
    the base year's edge. None when the plan has neither."""
    if plan.starts is None and plan.until is None:
        return None
    edges = [date(plan.year, 1, 1), date(plan.year, 12, 31)]
    for index, (name, text) in enumerate((("from", plan.starts), ("until", plan.until))):
        if text is None:
            continue
        if text in plan.events:  # until: 十八大
            edges[index] = plan.events[text]
            continue
        try:
            found = parse(text).expand(plan.year, calendar, plan.events)
        except ExpressionError as error:
            problems.append(f"{path}:{line_of(raw, [name])}: {name}: {error}; write a date "
                            f"(2010-08-01), a month (2010年8月) or one of the plan's events")
            return None
        if not found:
            problems.append(f"{path}:{line_of(raw, [name])}: {name}: “{text}” gives no date "
                            f"in {plan.year}")
            return None
        edges[index] = found[0].start if index == 0 else max(o.end for o in found)
    if edges[0] > edges[1]:
        problems.append(f"{path}:{line_of(raw, ['until'])}: until: the plan would end "
                        f"({edges[1]}) before it starts ({edges[0]}); check from and until")
        return None
    return edges[0], edges[1]


def plan_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their *.yaml files, sorted; keep files as given."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found


def load_plans(paths: Iterable[str | Path], calendar: ChinaCalendar) -> list[LoadedPlan]:
    """Load every file; raise one PlanError listing the problems of all of them."""
    loaded, problems = [], []
    for path in plan_files(paths):
        try:
            loaded.append(load_plan(path, calendar))
        except PlanError as error:
            problems += error.problems
    if problems:
        raise PlanError(problems)
    return loaded


def load_events(path: str | Path) -> dict[str, date]:
    """Read an events file: a YAML or JSON mapping of event name to date."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, Mapping):
        raise PlanError([f"{path}:1: events: expected a mapping of name to date (十八大: 2012-11-08)"])
    events, problems = {}, []
    for key, value in raw.items():
        if isinstance(value, str):
            with suppress(ValueError):
                value = date.fromisoformat(value)
        if not isinstance(value, date):
            problems.append(f"{path}:{line_of(raw, [key])}: events.{key}: “{value}” is not a "
                            f"date; write YYYY-MM-DD")
            continue
        events[str(key)] = value
    if problems:
        raise PlanError(problems)
    return events
