"""The `jiedian` command: argument parsing and printing over plans/ (and later scheduler/)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlmodel import Session

import notifiers
import plans
import scheduler

app = typer.Typer(
    help="节点 Jiedian: campaign plan milestones → calendars and reminders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plan_app = typer.Typer(help="Check and show plan files.", no_args_is_help=True)
units_app = typer.Typer(help="The units directory: who is reminded and how.", no_args_is_help=True)
notify_app = typer.Typer(help="Check that the channels reach people.", no_args_is_help=True)
holidays_app = typer.Typer(help="Rest days and make-up working days: the library and the office's notices.",
                           no_args_is_help=True)
feeds_app = typer.Typer(help="The iCalendar feeds and calendar pages.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(plan_app, name="plan")
app.add_typer(notify_app, name="notify")
app.add_typer(units_app, name="units")
app.add_typer(holidays_app, name="holidays")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

WEEKDAYS = "一二三四五六日"
CATALOG = plans.BUNDLED_PLANS
Workdays = Annotated[
    str | None,
    typer.Option(help="previous | next | none: move a due date off rest days."),
]


@lru_cache(maxsize=1)
def _calendar() -> plans.ChinaCalendar:
    """The China calendar with the office's holiday notices (JIEDIAN_HOLIDAYS), built once;
    each day a notice and the library disagree on is warned about here, once."""
    path = scheduler.Settings.from_env().holidays
    if path is None:
        return plans.CALENDAR
    try:
        notices = plans.load_notices(path)
    except plans.PlanError as error:
        raise _fail(error.problems) from None
    calendar = plans.ChinaCalendar(notices)
    for year, notice in sorted(notices.items()):
        _warn([*notice.warnings, *calendar.disagreements(year)])
    return calendar


def _weekday(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


def _day_kind(day: date) -> str:
    cal = _calendar()
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
        result = plans.evaluate(expression, year, _calendar(), named, policy)  # type: ignore[arg-type]
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
        return plans.expand_files(files or [CATALOG], _calendar())
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


@plan_app.command("new")
def plan_new(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the plan file.")
    ] = Path("plan.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a plan file by answering questions; every time expression is shown as dates."""
    if output.exists() and not force:
        raise _fail(f"{output} already exists; choose another -o/--output, or add --force")

    def ask(prompt: str, default: str | None) -> str:
        if default is None:  # required: typer asks again on an empty answer
            return str(typer.prompt(prompt))
        return str(typer.prompt(prompt, default=default, show_default=bool(default)))

    text = plans.interview(ask, lambda line: out.print(line, markup=False), _calendar())
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"{output}: cannot be written: {error.strerror}") from None
    out.print(f"written {output}; check it with `jiedian plan validate {output}`, "
              f"store it with `jiedian plan add {output}`", markup=False)


@plan_app.command("extract")
def plan_extract(
    doc: Annotated[Path, typer.Argument(help="The plan: a .txt (UTF-8) or .docx file, or an "
                                              ".xlsx task table (任务分解表).")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="A .yaml file, a directory for one file per "
                     "document, or - for standard output (default: DOC's name, .yaml; a "
                     "directory when DOC holds several)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Draft a plan file from a plan's text: every time node it finds becomes a milestone."""
    try:
        extraction = plans.extract_file(doc, _calendar())
    except plans.PlanError as error:
        raise _fail(error.problems) from None
    if str(output) == "-":  # the draft on stdout, the summary on stderr
        sys.stdout.write(extraction.one_file())
        written: list[Path] = []
    else:
        written = _write_drafts(extraction, output, force)
    table = Table("#", "lines", "document", "year", "nodes", "units", "comments")
    for number, draft in enumerate(extraction.documents, 1):
        counts = draft.counts()
        nodes = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"
        table.add_row(str(number), f"{draft.first_line}–{draft.last_line}", draft.title,
                      str(draft.year), f"{len(draft.nodes)} ({nodes})",
                      str(len(draft.unit_names())), str(len(draft.unread)))
    shown = err if str(output) == "-" else out
    shown.print(table)
    for line in extraction.summary()[1 + len(extraction.documents):]:
        shown.print(line, markup=False)
    for path in written:
        out.print(f"written {path}; review it, then `jiedian plan validate {path}`", markup=False)


def _write_drafts(extraction: plans.Extraction, output: Path | None, force: bool) -> list[Path]:
    try:
        return extraction.write(output, force=force)
    except FileExistsError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"{output}: cannot be written: {error.strerror}") from None


@plan_app.command("show")
def plan_show(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Plan files or folders (default: the bundled plans), or a stored plan id."),
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Apply the plan to another year (default: its own); for a stored id, show that stored year.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only nodes not over by this date (YYYY-MM-DD or today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the dated nodes of plan files (no database needed), or of a stored plan."""
    cutoff = _date_option("--since", since)
    stored_id = _stored_id(targets or [])
    if stored_id:
        _show_stored_plan(stored_id, year, cutoff, as_json)
        return
    loaded = _load([Path(t) for t in targets or []])
    warnings: list[str] = []
    try:
        rows = [(item, node) for item in loaded
                for node in plans.expand_plan(item, _calendar(), year, warnings)]
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
            _units_text(node.lead, node.units),
            *([item.plan.id] if several else []),
        )
    out.print(table)
    _warn(warnings)


def _units_text(lead: tuple[str, ...] | list[str], units: tuple[str, ...] | list[str]) -> str:
    return " / ".join(filter(None, ["、".join(lead), "、".join(units)]))


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
        "warnings": _fallback([node.start, node.due]),
    }


def _fallback(days: list[date]) -> list[str]:
    """The weekend-only warning of each year these days fall in that has no holiday data."""
    return [w for year in sorted({d.year for d in days}) if (w := _calendar().coverage_warning(year))]


# --- the store ------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _now() -> datetime:
    """The clock, read here only. JIEDIAN_NOW (ISO 8601) freezes it for tests and demos."""
    frozen = os.environ.get("JIEDIAN_NOW")
    if frozen:
        try:
            moment = datetime.fromisoformat(frozen)
        except ValueError:
            raise _fail(f"JIEDIAN_NOW “{frozen}”: write an ISO date-time, 2011-04-20T09:00") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
    return datetime.now(UTC)


def _today() -> date:
    return _now().astimezone(SHANGHAI).date()


@contextmanager
def _session() -> Iterator[Session]:
    settings = scheduler.Settings.from_env()
    try:
        engine = scheduler.open_store(settings.database_url)
    except scheduler.StoreError as error:
        raise _fail(str(error)) from None
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _policy_settings(settings: scheduler.Settings) -> scheduler.Policy:
    try:
        return scheduler.Policy.parse(settings.quiet_hours, settings.rest_days)
    except ValueError as error:
        raise _fail(str(error)) from None


def _sync_outbox(session: Session) -> None:
    """Bring the reminders in line with what was just written (same transaction)."""
    policy = _policy_settings(scheduler.Settings.from_env())
    scheduler.sync_reminders(session, _calendar(), policy, now=_now())


_SIGN = {"added": "[green]+[/green]", "changed": "[yellow]~[/yellow]", "cancelled": "[red]-[/red]"}


def _print_report(report: scheduler.ImportReport, dry_run: bool, limit: int = 15) -> None:
    verb = "would add" if dry_run else "added"
    name = f"{report.plan_id} · {report.year}"
    new = "new plan, " if report.new_plan else "new year, " if report.new_year else ""
    head = (f"{name}: {new}"
            f"{report.count('added')} {verb}, {report.count('changed')} changed, "
            f"{report.count('cancelled')} cancelled, {report.unchanged} unchanged")
    out.print(head if report.changes or report.new_year else f"{name}: unchanged "
              f"({report.unchanged} nodes); nothing written")
    for change in report.changes[:limit]:
        detail = f" — {change.detail}" if change.detail else ""
        out.print(f"  {_SIGN[change.what]} {_span(change.start, change.end)} {change.title} "
                  f"(due {change.due}){detail}", markup=True)
    if limit and len(report.changes) > limit:
        out.print(f"  … and {len(report.changes) - limit} more")


def _stored_id(targets: list[str]) -> str | None:
    """The stored plan id ``plan add``/``plan show`` were given instead of files, if so."""
    if len(targets) == 1 and not Path(targets[0]).exists() and "/" not in targets[0] \
            and not targets[0].endswith((".yaml", ".yml", ".json")):
        return targets[0]
    return None


def _reapplied(plan_id: str, year: int | None) -> list[plans.LoadedPlan]:
    """``plan add ID --year Y``: the stored plan's latest year, to apply to Y."""
    if year is None:
        raise _fail(f"“{plan_id}” is not a file; to apply the stored plan to another year, "
                    f"give the year: jiedian plan add {plan_id} --year YYYY")
    with _session() as session:
        try:
            return [scheduler.stored_plan(session, plan_id, _calendar())]
        except KeyError:
            raise _fail(f"no such file and no stored plan “{plan_id}”; see `jiedian plan list`") from None
        except plans.PlanError as error:
            raise _fail(error.problems) from None


@plan_app.command("add")
def plan_add(
    targets: Annotated[list[str], typer.Argument(
        help="Plan files or folders of them, or a stored plan's id (with --year).")],
    year: Annotated[int | None, typer.Option(
        help="Apply the plans to this year (default: each file's own); other years stay as stored.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the difference only.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="One summary line per plan.")] = False,
) -> None:
    """Validate plan files, then import them for one year in one transaction and print what changed."""
    stored_id = _stored_id(targets)
    loaded = _reapplied(stored_id, year) if stored_id else _load([Path(t) for t in targets])
    ids = [item.plan.id for item in loaded]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise _fail([f"plan id “{i}” is in more than one file; ids must be unique" for i in twice])
    now = _now()
    reports, warnings = [], []
    with _session() as session, Progress(console=err, transient=True) as progress:
        task = progress.add_task("importing", total=len(loaded))
        try:
            for item in loaded:
                reports.append(scheduler.import_plan(session, item, _calendar(), now=now,
                                                     year=year, dry_run=dry_run))
                progress.advance(task)
        except plans.ExpressionError as error:
            session.rollback()
            raise _fail(f"{item.path}: {error}") from None
        names = {n for item in loaded for m in item.plan.milestones for n in (*m.lead, *m.units)}
        for name, close in scheduler.unknown_units(session, names).items():
            hint = f"; closest known: {'、'.join(close)}" if close else ""
            warnings.append(f"unit “{name}” is not in the units directory{hint}")
        if dry_run:
            session.rollback()
        else:
            _sync_outbox(session)
            session.commit()
    for report in reports:
        _print_report(report, dry_run, limit=0 if quiet else 15)
        _warn(report.warnings)
    _warn(warnings)


@plan_app.command("list")
def plan_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the stored plans with their node counts and next due date."""
    with _session() as session:
        summaries = scheduler.plan_summaries(session, today=_today())
    if as_json:
        out.print_json(json.dumps([{**vars(s), "next_due": s.next_due and s.next_due.isoformat()}
                                   for s in summaries], ensure_ascii=False))
        return
    table = Table(title=f"{len({s.id for s in summaries})} plans, {len(summaries)} stored years")
    for column in ("id", "标题 title", "年份 year", "节点 nodes", "下一个截止 next due", "状态"):
        table.add_column(column, overflow="fold")
    for s in summaries:
        year = str(s.year) if s.year == s.applied_year else f"{s.year} → {s.applied_year}"
        nodes = f"{s.active}" + (f" (+{s.cancelled} cancelled)" if s.cancelled else "")
        due = f"{s.next_due} {_weekday(s.next_due)}" if s.next_due else "—"
        table.add_row(s.id, s.title, year, nodes, due, s.status)
    out.print(table)


def _show_stored_plan(plan_id: str, year: int | None, cutoff: date | None, as_json: bool) -> None:
    with _session() as session:
        found = [s for s in scheduler.plan_summaries(session, today=_today())
                 if s.id == plan_id and (year is None or s.applied_year == year)]
        if not found:
            stored = "" if year is None else f" for {year}"
            raise _fail(f"no stored plan “{plan_id}”{stored} and no such file; see `jiedian plan list`")
        rows = scheduler.upcoming(session, _calendar(), today=cutoff or date(1900, 1, 1),
                                  days=400 * 365, plan=plan_id, year=year)
    years = "、".join(str(s.applied_year) for s in found)
    _print_upcoming(rows, as_json, title=f"{plan_id} · {found[-1].title} · {years}")


@plan_app.command("remove")
def plan_remove(
    plan_id: Annotated[str, typer.Argument(help="The stored plan's id.")],
    year: Annotated[int | None, typer.Option(help="Remove only this stored year (default: every year).")] = None,
) -> None:
    """Remove a plan (or one year of it): cancel its nodes not yet due, keep its history."""
    with _session() as session:
        try:
            count = scheduler.remove_plan(session, plan_id, _calendar(), today=_today(),
                                          now=_now(), year=year)
        except KeyError:
            stored = "" if year is None else f" for {year}"
            raise _fail(f"no stored plan “{plan_id}”{stored}; see `jiedian plan list`") from None
        _sync_outbox(session)
        session.commit()
    which = "every year" if year is None else str(year)
    out.print(f"{plan_id} ({which}): removed; {count} future nodes cancelled, history kept")


def _print_year(calendar: plans.ChinaCalendar, year: int, where: str, as_json: bool) -> None:
    holidays = calendar.holidays_of(year)
    makeup = calendar.makeup_days(year)
    if as_json:
        out.print_json(json.dumps({
            "year": year, "source": calendar.source(year), "from": where,
            "holidays": [{"name": n, "first": a.isoformat(), "last": b.isoformat()} for n, a, b in holidays],
            "work": [d.isoformat() for d in makeup],
            "warnings": [w for w in [calendar.coverage_warning(year), *calendar.disagreements(year)] if w],
        }, ensure_ascii=False))
        return
    out.print(f"{year}: {where}")
    table = Table(title=f"{year} 放假安排 · rest days and make-up working days")
    for column in ("假日 holiday", "放假 days off", "天数", "调休上班 make-up working days"):
        table.add_column(column)
    for name, first, last in holidays:
        work = [d for d in makeup if abs((d - first).days) <= 14 or abs((d - last).days) <= 14]
        table.add_row(name, _span(first, last), str((last - first).days + 1),
                      "、".join(f"{d} {_weekday(d)}" for d in work) or "—")
    out.print(table)
    _warn([w for w in [calendar.coverage_warning(year)] if w])


@holidays_app.command("check")
def holidays_check(
    file: Annotated[Path, typer.Argument(help="A holiday notice file (year, source, holidays).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a holiday notice you typed in, and print the year it gives."""
    try:
        notice = plans.load_notice(file)
    except plans.PlanError as error:
        raise _fail(error.problems) from None
    calendar = plans.ChinaCalendar({notice.year: notice})
    _warn([*notice.warnings, *calendar.disagreements(notice.year)])
    source = f" ({notice.source})" if notice.source else ""
    _print_year(calendar, notice.year, f"ok {file}{source}: {len(notice.holidays)} holidays", as_json)


@holidays_app.command("show")
def holidays_show(
    year: Annotated[int, typer.Argument(help="The year.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Where a year's rest days come from (the library, a notice, or weekends only) and what they are."""
    if not 1900 <= year <= 2100:
        raise _fail(f"{year}: years from 1900 to 2100 are understood")
    _print_year(_calendar(), year, _calendar().source_note(year), as_json)


@app.command("upcoming")
def upcoming_command(
    days: Annotated[int, typer.Option(help="How many days ahead.")] = 30,
    unit: Annotated[str | None, typer.Option(help="Only nodes for this unit (and its groups).")] = None,
    plan: Annotated[str | None, typer.Option(help="Only nodes of this plan.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The next nodes, soonest due first, with days and working days left."""
    if days < 0:
        raise _fail("--days must be 0 or more", 2)
    with _session() as session:
        try:
            rows = scheduler.upcoming(session, _calendar(), today=_today(), days=days,
                                      unit=unit, plan=plan)
        except scheduler.UnknownUnitError as error:
            raise _fail(str(error)) from None
    _print_upcoming(rows, as_json, title=f"upcoming {days} days" + (f" · {unit}" if unit else ""))


def _countdown(row: scheduler.Upcoming) -> str:
    if row.days_left == 0:
        return "今天截止"
    if row.days_left == 1:
        return "明天截止"
    return f"还有{row.days_left}天 ({row.working_days_left}个工作日)"


def _print_upcoming(rows: list[scheduler.Upcoming], as_json: bool, title: str) -> None:
    if as_json:
        out.print_json(json.dumps([
            {**{k: v.isoformat() if isinstance(v, date) else v for k, v in vars(r).items()},
             "lead": list(r.lead), "units": list(r.units), "weekday": _weekday(r.due),
             "warnings": _fallback([r.start, r.due])}
            for r in rows], ensure_ascii=False))
        return
    table = Table(title=f"{title} · {len(rows)} nodes")
    for column in ("截止 due", "剩余 left", "节点", "类型", "牵头 / 责任单位", "计划"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(f"{r.due} {_weekday(r.due)}" + (" ⚠" if _fallback([r.due]) else ""), _countdown(r),
                      r.title, _kind_zh(r.kind).split()[0], _units_text(r.lead, r.units), r.plan_id)
    out.print(table)
    _warn(_fallback([d for r in rows for d in (r.start, r.due)]))


@units_app.command("import")
def units_import(file: Annotated[Path, typer.Argument(help="A units.yaml file.")]) -> None:
    """Load a units directory, replacing the stored one (units keep their identity by name)."""
    try:
        directory = plans.load_units(file)
    except plans.PlanError as error:
        raise _fail(error.problems) from None
    with _session() as session:
        report = scheduler.import_units(session, directory, now=_now())
        _sync_outbox(session)
        session.commit()
    out.print(f"{file}: {len(directory.units)} units, {len(directory.groups)} groups "
              f"({len(report.added)} new, {len(report.kept)} kept, {len(report.removed)} removed)")
    if report.removed:
        out.print("removed: " + "、".join(report.removed))


@units_app.command("list")
def units_list() -> None:
    """List the units and groups of the directory."""
    with _session() as session:
        details = scheduler.list_units(session)
    table = Table(title=f"{len(details)} units and groups")
    for column in ("名称 name", "类型", "别名 aliases", "所属/成员", "联系人", "渠道 channels"):
        table.add_column(column, overflow="fold")
    for d in details:
        related = d.members if d.is_group else d.groups
        table.add_row(d.name, "组 group" if d.is_group else "单位 unit", "、".join(d.aliases),
                      "、".join(related), str(len(d.people)),
                      ", ".join(f"{c[1]}:{c[0]}" for c in d.channels))
    out.print(table)


@units_app.command("show")
def units_show(name: Annotated[str, typer.Argument(help="A unit or group, by name or alias.")]) -> None:
    """Show one unit: aliases, groups or members, people and channels (secrets by name only)."""
    with _session() as session:
        detail = scheduler.show_unit(session, name)
        if detail is None:
            close = scheduler.unknown_units(session, {name}).get(name, [])
            hint = f"; did you mean {'、'.join(close)}?" if close else ""
            raise _fail(f"unknown unit “{name}”{hint}")
    out.print(f"[bold]{detail.name}[/bold] ({'group' if detail.is_group else 'unit'})", markup=True)
    if detail.aliases:
        out.print("aliases: " + "、".join(detail.aliases))
    if detail.groups:
        out.print("groups: " + "、".join(detail.groups))
    if detail.members:
        out.print("members: " + "、".join(detail.members))
    for person, mobile in detail.people:
        out.print(f"person: {person} {mobile or ''}")
    for channel_id, kind, enabled, config in detail.channels:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(config.items()))
        out.print(f"channel: {channel_id} ({kind}{'' if enabled else ', disabled'}) {settings}")


@app.command("export")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .ics file to write.")],
    plan: Annotated[str | None, typer.Option(help="Only this plan's nodes.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit's nodes (and its groups').")] = None,
    alarms: Annotated[bool, typer.Option(help="Include VALARMs from the reminder offsets.")] = True,
) -> None:
    """Write an iCalendar feed (everything, one plan, or one unit) to a file."""
    if plan and unit:
        raise _fail("give --plan or --unit, not both", 2)
    with _session() as session:
        scope = scheduler.scope_all()
        if plan:
            scope = scheduler.scope_plan(session, plan)
            if scope is None:
                raise _fail(f"no stored plan “{plan}”; see `jiedian plan list`")
        elif unit:
            row = scheduler.find_unit(session, unit)
            if row is None:
                raise _fail(f"unknown unit “{unit}”; see `jiedian units list`")
            scope = scheduler.scope_unit_token(session, row.feed_token)  # type: ignore[assignment]
        feed = scheduler.render_feed(session, scope, _calendar(), now=_now(),  # type: ignore[arg-type]
                                     alarms=alarms)
    try:
        output.write_bytes(feed.body)
    except OSError as error:
        raise _fail(f"{output}: cannot be written: {error.strerror}") from None
    out.print(f"{output}: {feed.count} events")


@units_app.command("feed-url")
def units_feed_url(name: Annotated[str, typer.Argument(help="A unit or group.")]) -> None:
    """Print the unit's calendar feed URLs (https and webcal) to subscribe to."""
    settings = scheduler.Settings.from_env()
    with _session() as session:
        row = scheduler.find_unit(session, name)
        if row is None:
            raise _fail(f"unknown unit “{name}”; see `jiedian units list`")
        https, webcal = scheduler.unit_feed_urls(settings.base_url, row.feed_token)
    out.print(https)
    out.print(webcal)


@units_app.command("rotate-token")
def units_rotate_token(name: Annotated[str, typer.Argument(help="A unit or group.")]) -> None:
    """Give the unit a new feed URL; the old one stops working at once."""
    settings = scheduler.Settings.from_env()
    with _session() as session:
        try:
            row = scheduler.rotate_token(session, name, now=_now())
        except LookupError as error:
            raise _fail(str(error).strip("'\"")) from None
        session.commit()
        https, _ = scheduler.unit_feed_urls(settings.base_url, row.feed_token)
    out.print(f"{row.name}: new feed URL {https} (the old one no longer works)")


# --- supervision (督办) ------------------------------------------------------------------

@app.command("done")
def done_command(
    occurrence: Annotated[str, typer.Argument(help="The node's id, e.g. plan/milestone/2011-04-30.")],
    unit: Annotated[str, typer.Option(help="The unit confirming it has done the node.")],
    note: Annotated[str | None, typer.Option(help="A note kept with the confirmation.")] = None,
) -> None:
    """Record that a unit has done a node (办结确认): its reminders for the node stop."""
    with _session() as session:
        try:
            result = scheduler.acknowledge(session, occurrence, unit, _calendar(), now=_now(),
                                           source="cli", note=note)
        except scheduler.AckError as error:
            raise _fail(str(error)) from None
        session.commit()
    when = result.done_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if result.created:
        out.print(f"{result.unit}: confirmed “{result.title}” at {when}")
    else:
        out.print(f"{result.unit}: already confirmed “{result.title}” at {when} "
                  f"({result.source}); nothing changed")


_MARK = {"done": "[green]✓[/green]", "pending": "…", "overdue": "[red]✗[/red]"}
_STATE_ZH = scheduler.STATE_ZH


def _matrix(session: Session, plan: str | None, unit: str | None, days: int) -> scheduler.Matrix:
    today = _today()
    if plan is not None and plan not in {p.id for p in scheduler.plan_summaries(session, today=today)}:
        raise _fail(f"no stored plan “{plan}”; see `jiedian plan list`")
    window = (None, None) if plan else (today - timedelta(days=days), today + timedelta(days=days))
    try:
        return scheduler.status_matrix(session, today=today, plan=plan, unit=unit,
                                       start=window[0], end=window[1])
    except scheduler.AckError as error:
        raise _fail(str(error)) from None


@app.command("status")
def status_command(
    plan: Annotated[str | None, typer.Option(help="Every node of this plan.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit (a group: its members).")] = None,
    days: Annotated[int, typer.Option(help="Without --plan: nodes due this many days either "
                                           "side of today.")] = 30,
) -> None:
    """Who has confirmed which node: nodes × units, ✓ done, … pending, ✗ overdue."""
    with _session() as session:
        matrix = _matrix(session, plan, unit, days)
    if not matrix.rows:
        out.print("no nodes to confirm" + (f" in {plan}" if plan else f" within {days} days"))
        return
    table = Table(title=f"办结情况 · {plan or f'±{days} days'}" + (f" · {unit}" if unit else "")
                  + f" · {matrix.today}")
    table.add_column("截止 due")
    table.add_column("节点", overflow="fold")
    for name in matrix.units:
        table.add_column(name, justify="center", overflow="fold")
    for row in matrix.rows:
        table.add_row(f"{row.due} {_weekday(row.due)}", row.title,
                      *(_MARK.get(row.cells.get(name, ""), "") for name in matrix.units))
    out.print(table)
    counts = matrix.counts()
    out.print("  ".join(f"{_MARK[state]} {_STATE_ZH[state]} {counts[state]}" for state in _MARK))


@app.command("report")
def report_command(
    plan: Annotated[str, typer.Option(help="The stored plan's id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx")] = "csv",
    unit: Annotated[str | None, typer.Option(help="Only this unit (a group: its members).")] = None,
) -> None:
    """The plan's 办结情况 matrix as a CSV or Excel file to hand to a meeting."""
    if fmt not in scheduler.REPORT_FORMATS:
        raise _fail(f"--format “{fmt}”: choose csv or xlsx", 2)
    with _session() as session:
        matrix = _matrix(session, plan, unit, 0)
    try:
        scheduler.write_report(matrix, plan, output, fmt)
    except OSError as error:
        raise _fail(f"{output}: cannot be written: {error.strerror}") from None
    out.print(f"{output}: {len(matrix.rows)} nodes × {len(matrix.units)} units")


@notify_app.command("test")
def notify_test(
    unit: Annotated[str, typer.Option(help="The unit whose channels to test.")],
    channel: Annotated[str | None, typer.Option(help="Only this channel id.")] = None,
) -> None:
    """Send a test reminder through a unit's channels and print what each provider answered."""
    settings = scheduler.Settings.from_env()
    try:
        secrets = notifiers.Secrets.load(settings.secrets_file)
        templates = scheduler.Templates(settings.templates)
    except (notifiers.SecretsError, ValueError, OSError) as error:
        raise _fail(str(error)) from None
    with _session() as session:
        try:
            answers = scheduler.send_test(session, unit, today=_today(), secrets=secrets,
                                          channel_id=channel, link=settings.base_url + "/",
                                          templates=templates)
        except LookupError as error:
            raise _fail(str(error).strip("'\"")) from None
    table = Table(title=f"notify test · {unit}")
    for column in ("channel", "kind", "result", "provider code", "provider message", "ms"):
        table.add_column(column, overflow="fold")
    colour = {"delivered": "green", "transient": "yellow", "permanent": "red"}
    for answer in answers:
        r = answer.result
        table.add_row(answer.channel_id, answer.kind,
                      f"[{colour[r.outcome.value]}]{r.outcome.value}[/]", r.code or "",
                      r.message or "", f"{r.latency_ms:.0f}")
    out.print(table)
    if not all(answer.result.delivered for answer in answers):
        raise typer.Exit(1)


# --- the daemon ------------------------------------------------------------------------

_STARTED = time.monotonic()


def _clock() -> datetime:
    """The daemon's clock: real, or JIEDIAN_NOW fast-forwarded by the time since start."""
    if os.environ.get("JIEDIAN_NOW"):
        return _now() + timedelta(seconds=time.monotonic() - _STARTED)
    return datetime.now(UTC)


def _dispatcher(engine: Any, settings: scheduler.Settings, worker: str,
                lease: float, batch: int = 500) -> scheduler.Dispatcher:
    try:
        secrets = notifiers.Secrets.load(settings.secrets_file)
        templates = scheduler.Templates(settings.templates)
    except (notifiers.SecretsError, ValueError, OSError) as error:
        raise _fail(str(error)) from None
    try:
        escalate = scheduler.parse_escalations(settings.escalate)
    except ValueError as error:
        raise _fail(str(error)) from None
    return scheduler.Dispatcher(engine, worker=worker, secrets=secrets, templates=templates,
                                base_url=settings.base_url, lease=timedelta(seconds=lease),
                                batch=batch, escalate=escalate)


def _daemon(settings: scheduler.Settings, worker: str | None, lease: float, batch: int,
            tick: float, *, bundled: bool = False) -> tuple[Any, scheduler.Daemon]:
    """The store (migrated, bootstrapped when asked) and a daemon over it."""
    policy = _policy_settings(settings)
    try:
        engine = scheduler.open_store(settings.database_url)
    except scheduler.StoreError as error:
        raise _fail(str(error)) from None
    if bundled or settings.units_path:
        _bootstrap(engine, settings, bundled)
    name = worker or f"{socket.gethostname()}-{os.getpid()}"
    dispatcher = _dispatcher(engine, settings, name, lease, batch)
    return engine, scheduler.Daemon(engine, _calendar(), dispatcher, policy=policy,
                                    clock=_clock, tick_seconds=tick)


def _bootstrap(engine: Any, settings: scheduler.Settings, bundled: bool) -> None:
    with Session(engine) as session:
        try:
            done = scheduler.bootstrap(session, _calendar(), units_path=settings.units_path,
                                       bundled=bundled, now=_now(), today=_today())
        except plans.PlanError as error:
            raise _fail(error.problems) from None
        session.commit()
    for line in done:
        err.print(line)


def _uvicorn_server() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, minus its signal handling: ours stops the daemon first, then exits 0."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for feeds, pages and /healthz.")] = 8000,
    tick: Annotated[float, typer.Option(help="Seconds between dispatch ticks.")] = 10.0,
    worker: Annotated[str | None, typer.Option(help="This process's name in leases.")] = None,
    lease: Annotated[float, typer.Option(help="Seconds a claimed reminder is held.")] = 120.0,
    demo: Annotated[bool, typer.Option(
        "--demo", help="A demo: load the bundled units and plans (this year) into an empty store.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines to stderr.")] = False,
) -> None:
    """Run the daemon: send reminders on time, and serve the feeds and calendar pages."""
    import uvicorn

    server_class = _uvicorn_server()
    _logging(log_json)
    settings = scheduler.Settings.from_env()
    engine, daemon = _daemon(settings, worker, lease, 500, tick, bundled=demo)
    name = daemon.dispatcher.worker
    web = scheduler.create_app(engine, _calendar(), clock=_clock, base_url=settings.base_url,
                               health=daemon.health)
    logging.getLogger("jiedian").info(
        "serving feeds and the calendar at http://%s:%d/ (links as %s); database %s; worker %s",
        host, port, settings.base_url, engine.url.render_as_string(), name)
    server = server_class(uvicorn.Config(web, host=host, port=port, log_config=None,
                                    access_log=False))

    def stop(_signum: int, _frame: object) -> None:
        server.should_exit = True  # uvicorn stops accepting, finishes requests, returns

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    daemon.start()
    try:
        server.run()
    finally:
        released = daemon.stop()
        logging.getLogger("jiedian").info("stopped; %d claimed reminders given back", released)
        engine.dispose()


@feeds_app.command("serve")
def feeds_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for feeds and pages.")] = 8000,
) -> None:
    """Serve the feeds and calendar pages only (no reminders are sent)."""
    import uvicorn

    _logging(False)
    settings = scheduler.Settings.from_env()
    try:
        engine = scheduler.open_store(settings.database_url)
    except scheduler.StoreError as error:
        raise _fail(str(error)) from None
    web = scheduler.create_app(engine, _calendar(), clock=_clock, base_url=settings.base_url)
    logging.getLogger("jiedian").info("serving feeds at http://%s:%d/", host, port)
    try:
        uvicorn.run(web, host=host, port=port, log_config=None, access_log=False)
    finally:
        engine.dispose()


@app.command("dispatch")
def dispatch(
    until_idle: Annotated[bool, typer.Option("--until-idle",
                                             help="Keep ticking until nothing is left to send.")] = False,
    tick: Annotated[float, typer.Option(help="Seconds between ticks with --until-idle.")] = 1.0,
    worker: Annotated[str | None, typer.Option(help="This process's name in leases.")] = None,
    lease: Annotated[float, typer.Option(help="Seconds a claimed reminder is held.")] = 120.0,
    batch: Annotated[int, typer.Option(help="Reminders claimed at a time.")] = 500,
) -> None:
    """Send what is due now, once (for cron), or until nothing is left (--until-idle)."""
    _logging(False)
    engine, daemon = _daemon(scheduler.Settings.from_env(), worker, lease, batch, tick)
    name = daemon.dispatcher.worker
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    total = 0
    try:
        while True:
            report = daemon.tick()
            total += report.sent
            if not until_idle or stopping or not daemon.dispatcher.outstanding(_clock()):
                break
            time.sleep(tick)  # the process's own pace between ticks
    finally:
        daemon.stop()
        engine.dispose()
    out.print(f"{name}: {total} reminders sent")


def _logging(as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("jiedian")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "apscheduler"):
        logging.getLogger(name).handlers[:] = [handler]
        logging.getLogger(name).setLevel(logging.WARNING if name == "apscheduler" else logging.INFO)
    logging.getLogger("uvicorn.error").handlers[:] = []  # it propagates to "uvicorn"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


@app.command("reminders")
def reminders_command(
    failed: Annotated[bool, typer.Option("--failed", help="Failed or missed ones.")] = False,
    late: Annotated[bool, typer.Option("--late", help="Ones sent late (补发).")] = False,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Ones to come (the default).")] = False,
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
) -> None:
    """What will be sent (or failed, or went out late), soonest first."""
    which = "failed" if failed else "late" if late else "upcoming"
    with _session() as session:
        try:
            rows = scheduler.list_reminders(session, which=which, unit=unit, now=_now(),
                                            limit=limit)
        except scheduler.UnknownUnitError as error:
            raise _fail(str(error)) from None
    table = Table(title=f"reminders · {which} · {len(rows)}")
    for column in ("时间 fire at", "节点", "截止 due", "单位 unit", "渠道", "提前", "状态", "answer"):
        table.add_column(column, overflow="fold")
    for r in rows:
        local = r.fire_at.astimezone(SHANGHAI)
        state = r.status + (" 补发" if r.late else "") + (f" ×{r.attempts}" if r.attempts > 1 else "")
        answer = " ".join(filter(None, [r.last_code, r.last_message]))
        table.add_row(f"{local:%Y-%m-%d %H:%M} 周{WEEKDAYS[local.weekday()]}", r.title,
                      f"{r.due}", r.unit, r.channel_id, r.offset, state, answer)
    out.print(table)


@app.command("deliveries")
def deliveries_command(
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD; default: 7 days).")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
) -> None:
    """Every attempt to send: when, to whom, the provider's answer and its latency."""
    start = _date_option("--since", since) or (_today() - timedelta(days=7))
    moment = datetime.combine(start, datetime.min.time(), SHANGHAI)
    with _session() as session:
        try:
            rows = scheduler.list_deliveries(session, since=moment, unit=unit)
        except scheduler.UnknownUnitError as error:
            raise _fail(str(error)) from None
    table = Table(title=f"deliveries since {start} · {len(rows)}")
    for column in ("时间", "单位 unit", "渠道", "结果", "provider answer", "ms", "提醒数", "key"):
        table.add_column(column, overflow="fold")
    for d in rows:
        answer = " ".join(filter(None, [d.code, d.message]))
        table.add_row(f"{d.attempted_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}", d.unit,
                      d.channel_id, d.outcome, answer, f"{d.latency_ms:.0f}", str(d.reminders),
                      d.batch_key)
    out.print(table)


def main() -> None:
    """Entry point: run the app; a user's mistake never ends in a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
