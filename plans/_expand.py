"""Expand a plan into dated nodes for one year (no storage: that is scheduler/'s job)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from plans._calendar import ChinaCalendar
from plans._expressions import Occurrence, Rule, parse
from plans._words import KIND_ZH, day_zh, span_zh, units_zh, weekday_zh

if TYPE_CHECKING:  # `jiedian when` reads expressions without loading the plan file's schema
    from plans._loader import LoadedPlan
    from plans._schema import Kind, Milestone, Offset, WorkdayPolicy

__all__ = [
    "Node",
    "WhenResult",
    "due_date",
    "effective_remind",
    "evaluate",
    "expand_plan",
    "workday_policy",
]

# DESIGN.md: a deadline moves to the working day before when it falls on a
# rest day; events and phases stay where they are unless the plan says.
DEFAULT_REMIND: dict[str, tuple[str, ...]] = {
    "deadline": ("-7d 09:00", "-1wd 09:00", "0d 09:00"),
    "event": ("-1wd 09:00",),
    "phase": ("0d 09:00",),
}


@dataclass(frozen=True)
class Node:
    """One dated occurrence of a milestone."""

    plan_id: str
    milestone_id: str
    title: str
    kind: Kind
    start: date
    end: date
    due: date  # the end after the workday policy (== end under "none")
    workdays: WorkdayPolicy
    part_of_day: str | None
    lead: tuple[str, ...]
    units: tuple[str, ...]
    remind: tuple[Offset, ...]
    source: str | None

    COLUMNS: ClassVar = ["截止 due", "日期", "类型", "节点", "牵头 / 责任单位"]

    def row(self) -> list[str]:
        """The node as a ``plan show`` table row (``COLUMNS``)."""
        return [day_zh(self.due), span_zh(self.start, self.end, self.part_of_day), KIND_ZH[self.kind],
                self.title, units_zh(self.lead, self.units)]

    def as_data(self) -> dict[str, object]:
        """The node as JSON-ready data (``plan show --json``; README's “JSON output”)."""
        return {"plan": self.plan_id, "milestone": self.milestone_id, "title": self.title,
                "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "due": self.due.isoformat(), "workdays": self.workdays, "part_of_day": self.part_of_day,
                "lead": list(self.lead), "units": list(self.units), "remind": [str(o) for o in self.remind],
                "source": self.source}


def workday_policy(kind: str, given: WorkdayPolicy | None) -> WorkdayPolicy:
    if given is not None:
        return given
    return "previous" if kind == "deadline" else "none"


def due_date(
    occurrence: Occurrence, policy: WorkdayPolicy, calendar: ChinaCalendar, warnings: list[str]
) -> date:
    """The occurrence's end after ``policy``; note when the year has no holiday data."""
    if policy != "none":
        message = calendar.coverage_warning(occurrence.end.year)
        if message and message not in warnings:
            warnings.append(message)
    return calendar.adjust(occurrence.end, policy)


def effective_remind(loaded: LoadedPlan, milestone: Milestone, kind: str) -> tuple[Offset, ...]:
    """The milestone's reminder offsets: its own, else the plan's, else the kind's default."""
    offsets = milestone.remind or loaded.plan.remind
    if offsets is None:
        from plans._schema import parse_offset

        return tuple(parse_offset(text) for text in DEFAULT_REMIND[kind])
    return tuple(offsets)


def _shift_year(day: date, years: int) -> date:
    if not years:
        return day
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 02-29 in a year without one
        return day.replace(year=day.year + years, day=28)


def expand_plan(
    loaded: LoadedPlan,
    calendar: ChinaCalendar,
    year: int | None = None,
    warnings: list[str] | None = None,
) -> list[Node]:
    """Every node of the plan in ``year`` (default: the plan's own), sorted by due date.

    For another year the whole plan moves: a date the plan writes with its own
    year (2011年10月1日 in a 2011 plan) and the dates of its named events land
    in the same place of ``year``, so a campaign's phases keep their order.
    """
    plan = loaded.plan
    year = plan.year if year is None else year
    warnings = [] if warnings is None else warnings
    events = {name: _shift_year(day, year - plan.year) for name, day in plan.events.items()}
    nodes = []
    for milestone in plan.milestones:
        rule = loaded.rules[milestone.id]
        kind: Kind = milestone.kind or rule.kind  # type: ignore[assignment]
        policy = workday_policy(kind, milestone.workdays)
        remind = effective_remind(loaded, milestone, kind)
        occurrences = _in_span(loaded, milestone.id, rule, kind, year, calendar, events,
                               warnings)
        for occurrence in occurrences:
            nodes.append(Node(
                plan.id, milestone.id, milestone.title, kind, occurrence.start, occurrence.end,
                due_date(occurrence, policy, calendar, warnings), policy,
                occurrence.part_of_day, tuple(milestone.lead), tuple(milestone.units), remind,
                milestone.source,
            ))
    nodes.sort(key=lambda n: (n.due, n.start, n.plan_id, n.milestone_id))
    return nodes


def _in_span(loaded: LoadedPlan, milestone_id: str, rule: Rule, kind: Kind, year: int,
             calendar: ChinaCalendar, events: dict[str, date],
             warnings: list[str]) -> list[Occurrence]:
    """The milestone's occurrences: in ``year``, or in every year of the plan's from/until
    span (moved with the plan to ``year``) keeping those that start inside it (a deadline:
    that fall due inside it; the monthly report of the month the campaign ends is not owed)."""
    shift = year - loaded.plan.year
    if loaded.span is None:
        return rule.expand(year, calendar, events, shift=shift, warnings=warnings)
    first, last = (_shift_year(day, shift) for day in loaded.span)
    found: set[Occurrence] = set()
    for each in range(first.year, last.year + 1):
        found.update(rule.expand(each, calendar, events, shift=shift, warnings=warnings))
    kept = sorted((o for o in found if first <= o.start <= last
                   and (kind != "deadline" or o.end <= last)), key=lambda o: (o.start, o.end))
    if found and not kept:
        warnings.append(f"{loaded.path}:{loaded.lines.get(milestone_id, 1)}: {milestone_id}: "
                        f"“{rule.expression}” falls outside the plan's span ({first} to {last})")
    return kept


@dataclass(frozen=True)
class WhenResult:
    """What ``jiedian when`` reports: the rule, its occurrences and their due dates."""

    rule: Rule
    year: int
    policy: WorkdayPolicy | None  # None: no due dates (an event without --workdays)
    occurrences: tuple[tuple[Occurrence, date | None], ...]
    warnings: tuple[str, ...]

    def table(self, calendar: ChinaCalendar) -> tuple[list[str], list[list[str]]]:
        """``jiedian when``'s columns and rows: each occurrence, what kind of day it ends on,
        and its due date when there is one."""
        due = ["截止 (due)"] if self.policy else []
        return ["日期", "休息/工作", *due], [
            [span_zh(o.start, o.end, o.part_of_day), calendar.day_label(o.end),
             *([day_zh(d) if d else ""] if self.policy else [])] for o, d in self.occurrences]

    def as_data(self) -> dict[str, object]:
        """The result as JSON-ready data (``when --json``; README's “JSON output”)."""
        rows = [{"start": o.start.isoformat(), "end": o.end.isoformat(),
                 **({"due": due.isoformat()} if due else {}), "weekday": weekday_zh(o.start),
                 **({"part_of_day": o.part_of_day} if o.part_of_day else {})}
                for o, due in self.occurrences]
        return {"expression": self.rule.expression, "kind": self.rule.kind, "occurrences": rows,
                "year": self.year, "normalized": self.rule.normalized, "workdays": self.policy,
                "warnings": list(self.warnings)}


def evaluate(
    expression: str,
    year: int,
    calendar: ChinaCalendar,
    events: dict[str, date] | None = None,
    workdays: WorkdayPolicy | None = None,
) -> WhenResult:
    """Parse and expand one expression; deadlines (and any --workdays) get due dates."""
    rule = parse(expression)
    warnings: list[str] = []
    occurrences = rule.expand(year, calendar, events, warnings=warnings)
    # Deadlines always have a due date; anything else only when a policy is asked for.
    policy = workdays or ("previous" if rule.kind == "deadline" else None)
    dated = tuple(
        (o, due_date(o, policy, calendar, warnings) if policy else None) for o in occurrences
    )
    return WhenResult(rule, year, policy, dated, tuple(warnings))
