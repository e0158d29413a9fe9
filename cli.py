"""The `jiedian` command: argument parsing and printing over plans/ (and later scheduler/)."""

from __future__ import annotations

import json
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

import plans

app = typer.Typer(
    help="节点 Jiedian: campaign plan milestones → calendars and reminders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plan_app = typer.Typer(help="Check and show plan files.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

WEEKDAYS = "一二三四五六日"
CATALOG = Path(plans.__file__).parent / "catalog"
Workdays = Annotated[
    str | None,
    typer.Option(help="previous | next | none: move a due date off rest days."),
]


def _weekday(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


def _day_kind(day: date) -> str:
    cal = plans.CALENDAR
    if cal.is_makeup_working_day(day):
        return "调休上班"
    name = cal.holiday_name(day)
    if name:
        return f"休息日 ({name})"
    return "休息日" if cal.is_rest_day(day) else "工作日"


def _span(start: date, end: date) -> str:
    if start == end:
        return f"{start} {_weekday(start)}"
    return f"{start} {_weekday(start)} – {end} {_weekday(end)}"


def _fail(problems: list[str] | str, code: int = 1) -> typer.Exit:
    for line in [problems] if isinstance(problems, str) else problems:
        err.print(f"[red]error:[/red] {line}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def _warn(warnings: list[str] | tuple[str, ...]) -> None:
    for line in warnings:
        err.print(f"[yellow]warning:[/yellow] {line}", soft_wrap=True)


def _policy(value: str | None) -> str | None:
    if value not in (None, "previous", "next", "none"):
        raise _fail(f"--workdays “{value}”: choose previous, next or none", 2)
    return value


def _version(show: bool) -> None:
    if show:
        out.print(f"jiedian {version('jiedian')}")
        raise typer.Exit()


@app.callback()
def main_options(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """节点 Jiedian: campaign plan milestones → calendars and reminders."""


@app.command()
def when(
    expression: Annotated[str, typer.Argument(help="A time expression, e.g. 4月底前 or “七一”前夕.")],
    year: Annotated[int | None, typer.Option(help="The year to expand (default: this year).")] = None,
    workdays: Workdays = None,
    events: Annotated[
        Path | None, typer.Option(help="YAML/JSON mapping of event name to date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the dates a time expression stands for in a year."""
    policy = _policy(workdays)
    year = year or date.today().year
    try:
        named = plans.load_events(events) if events else {}
        result = plans.evaluate(expression, year, plans.CALENDAR, named, policy)  # type: ignore[arg-type]
    except plans.PlanError as error:
        raise _fail(error.problems) from None
    except plans.ExpressionError as error:
        raise _fail(str(error)) from None
    if as_json:
        out.print_json(json.dumps(_when_json(result), ensure_ascii=False))
        _warn(result.warnings)
        return
    table = Table(title=f"{expression} · {year} · {_kind_zh(result.rule.kind)}")
    for column in ("日期", "休息/工作", "截止 (due)" if result.policy else None):
        if column:
            table.add_column(column)
    for occurrence, due in result.occurrences:
        row = [_span(occurrence.start, occurrence.end) + _part(occurrence.part_of_day),
               _day_kind(occurrence.end)]
        if result.policy:
            row.append(f"{due} {_weekday(due)}" if due else "")
        table.add_row(*row)
    out.print(table)
    _warn(result.warnings)


def _part(part_of_day: str | None) -> str:
    return f" {part_of_day}" if part_of_day else ""


def _kind_zh(kind: str) -> str:
    return {"deadline": "截止 deadline", "event": "活动 event", "phase": "阶段 phase"}[kind]


def _when_json(result: plans.WhenResult) -> dict[str, Any]:
    occurrences = []
    for occurrence, due in result.occurrences:
        item: dict[str, Any] = {"start": occurrence.start.isoformat(),
                                "end": occurrence.end.isoformat()}
        if due is not None:
            item["due"] = due.isoformat()
        item["weekday"] = _weekday(occurrence.start)
        if occurrence.part_of_day:
            item["part_of_day"] = occurrence.part_of_day
        occurrences.append(item)
    return {
        "expression": result.rule.expression,
        "kind": result.rule.kind,
        "occurrences": occurrences,
        "year": result.year,
        "normalized": result.rule.normalized,
        "workdays": result.policy,
        "warnings": list(result.warnings),
    }


def _load(files: list[Path]) -> list[plans.LoadedPlan]:
    try:
        return plans.expand_files(files or [CATALOG], plans.CALENDAR)
    except plans.PlanError as error:
        raise _fail(error.problems) from None


@plan_app.command("validate")
def plan_validate(
    files: Annotated[list[Path], typer.Argument(help="Plan files or folders of them.")],
) -> None:
    """Check plan files: schema, every time expression, every named event."""
    loaded = _load(files)
    for item in loaded:
        count = len(item.plan.milestones)
        out.print(f"[green]ok[/green] {item.path}: {item.plan.id}, {count} milestones")


@plan_app.command("show")
def plan_show(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Plan files or folders (default: the bundled plans).")
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Apply the plan to another year (default: its own).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only nodes not over by this date (YYYY-MM-DD or today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the dated nodes of plan files (no database needed)."""
    cutoff = _date_option("--since", since)
    loaded = _load(files or [])
    warnings: list[str] = []
    try:
        rows = [(item, node) for item in loaded
                for node in plans.expand_plan(item, plans.CALENDAR, year, warnings)]
    except plans.ExpressionError as error:
        raise _fail(str(error)) from None
    rows = [row for row in rows if cutoff is None or row[1].end >= cutoff]
    rows.sort(key=lambda row: (row[1].due, row[1].start))
    if as_json:
        out.print_json(json.dumps([_node_json(node) for _, node in rows], ensure_ascii=False))
        _warn(warnings)
        return
    several = len(loaded) > 1
    table = Table(title=f"{len(rows)} nodes" + (f" · {year}" if year else ""))
    for column in ("截止 due", "日期", "类型", "节点", "牵头 / 责任单位", "计划" if several else ""):
        if column:
            table.add_column(column, overflow="fold")
    for item, node in rows:
        table.add_row(
            f"{node.due} {_weekday(node.due)}",
            _span(node.start, node.end) + _part(node.part_of_day),
            _kind_zh(node.kind).split()[0],
            node.title,
            " / ".join(filter(None, ["、".join(node.lead), "、".join(node.units)])),
            *([item.plan.id] if several else []),
        )
    out.print(table)
    _warn(warnings)


def _date_option(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    if value == "today":
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{name} “{value}”: write a date as YYYY-MM-DD, or today", 2) from None


def _node_json(node: plans.Node) -> dict[str, Any]:
    return {
        "plan": node.plan_id, "milestone": node.milestone_id, "title": node.title,
        "kind": node.kind, "start": node.start.isoformat(), "end": node.end.isoformat(),
        "due": node.due.isoformat(), "workdays": node.workdays, "part_of_day": node.part_of_day,
        "lead": list(node.lead), "units": list(node.units),
        "remind": [str(offset) for offset in node.remind], "source": node.source,
    }


def main() -> None:
    """Entry point: run the app; a user's mistake never ends in a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
