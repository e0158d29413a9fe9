"""The `jiedian` command: parse the arguments, call one use case (scheduler.Office), print.

Settings are read once, in the app callback; a user's mistake (a domain error from plans,
scheduler or notifiers) becomes ``error: …`` and exit 1 in one place (``_Commands``), a bad
option exit 2. Packages load on first use, so `jiedian when` never imports SQLAlchemy.
"""

from __future__ import annotations

import json
import sys
from contextvars import ContextVar
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import notifiers
import plans
import scheduler
from plans import KIND_ZH, day_zh, span_zh

if TYPE_CHECKING:
    from scheduler import Office

SHANGHAI = ZoneInfo("Asia/Shanghai")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class _Usage(Exception):
    """A bad option (exit 2)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    return (plans.PlanError, plans.ExpressionError, scheduler.NotFound, scheduler.CannotWrite, scheduler.Refused, scheduler.StoreError,
            scheduler.SettingsError, scheduler.AckError, scheduler.UnknownUnitError,
            notifiers.SecretsError, _Usage)


class _Commands(typer.core.TyperGroup):
    """The one place a domain error becomes a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            if not isinstance(error, _user_errors()):
                raise
            problems = error.problems if isinstance(error, plans.PlanError) else [str(error)]
            for line in problems:
                err.print(f"[red]error:[/red] {line}", markup=True, soft_wrap=True)
            raise typer.Exit(2 if isinstance(error, _Usage) else 1) from None
        except KeyboardInterrupt:
            _TOLD.append("interrupted")
            office = _OFFICE.get(None)
            err.print("interrupted: " + ("what the command had done before is kept" if office and office.committed
                                         else "nothing was written (a command commits once, at its end)"))
            raise typer.Exit(130) from None


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, cls=_Commands,
                       context_settings={"help_option_names": ["-h", "--help"]})


app = typer.Typer(help="节点 Jiedian: campaign plan milestones → calendars and reminders.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=_Commands,
                  context_settings={"help_option_names": ["-h", "--help"]})
plan_app = _group("Check and show plan files.")
units_app = _group("The units directory: who is reminded and how.")
notify_app = _group("Check that the channels reach people.")
holidays_app = _group("Rest days and make-up working days: the library and the office's notices.")
feeds_app = _group("The iCalendar feeds and calendar pages.")
for _sub, _name in ((feeds_app, "feeds"), (plan_app, "plan"), (notify_app, "notify"),
                    (units_app, "units"), (holidays_app, "holidays")):
    app.add_typer(_sub, name=_name)

Json = Annotated[bool, typer.Option("--json", help="Print JSON (fields as in README's “JSON output”).")]
Unit = Annotated[str | None, typer.Option(help="Only this unit (a group: its members).")]


# ── the clock, the office, printing ───────────────────────────────────────────────────

_OFFICE: ContextVar[Office] = ContextVar("office")
_TOLD: list[str] = []  # what was already said on stderr about an interrupt


def _office() -> Office:
    """The Office the app callback built for this command."""
    return _OFFICE.get()


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        out.print(f"jiedian {version('jiedian')}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version.")] = False,
) -> None:
    """节点 Jiedian: campaign plan milestones → calendars and reminders."""
    from scheduler import _process

    office = scheduler.Office(scheduler.Settings.from_env(), clock=_process.frozen_clock)
    _OFFICE.set(office)
    ctx.call_on_close(lambda: (_warn(office.warnings), office.close()))


def _warn(warnings: list[str] | tuple[str, ...]) -> None:
    for line in dict.fromkeys(warnings):
        err.print(f"[yellow]warning:[/yellow] {line}", soft_wrap=True)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(scheduler.as_data(data), ensure_ascii=False))


def _table(title: str, columns: list[str], rows: list[list[str]], console: Console = out) -> None:
    table = Table(title=title or None)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _listing(rows: list[Any], as_json: bool, title: str, kind: Any) -> None:
    """JSON, or a table of ``kind.COLUMNS`` and each row's ``row()``."""
    if as_json:
        return _print_json(rows)
    _table(title, kind.COLUMNS, [r.row() for r in rows])


def _fallback(days: list[date]) -> list[str]:
    """The weekend-only warning of each year these days fall in that has no holiday data."""
    calendar = _office().calendar
    return [w for year in sorted({d.year for d in days}) if (w := calendar.coverage_warning(year))]


def _date_option(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return _office().today() if value == "today" else date.fromisoformat(value)
    except ValueError:
        raise _Usage(f"{name} “{value}”: write a date as YYYY-MM-DD, or today") from None


# ── time expressions and plan files (no database) ─────────────────────────────────────

@app.command()
def when(
    expression: Annotated[str, typer.Argument(help="A time expression, e.g. 4月底前 or “七一”前夕.")],
    year: Annotated[int | None, typer.Option(help="The year to expand (default: this year).")] = None,
    workdays: Annotated[str | None, typer.Option(
        help="previous | next | none: move a due date off rest days.")] = None,
    events: Annotated[Path | None, typer.Option(help="YAML/JSON mapping of event name to date.")] = None,
    as_json: Json = False,
) -> None:
    """Show the dates a time expression stands for in a year."""
    if workdays not in (None, "previous", "next", "none"):
        raise _Usage(f"--workdays “{workdays}”: choose previous, next or none")
    office = _office()
    year = year or office.today().year
    named = plans.load_events(events) if events else {}
    result = plans.evaluate(expression, year, office.calendar, named, workdays)  # type: ignore[arg-type]
    office.warnings += result.warnings
    if as_json:
        return _print_json(result.as_data())
    kind = result.rule.kind
    _table(f"{expression} · {year} · {KIND_ZH[kind]} {kind}", *result.table(office.calendar))


@plan_app.command("validate")
def plan_validate(files: Annotated[list[Path], typer.Argument(help="Plan files or folders of them.")],
                  as_json: Json = False) -> None:
    """Check plan files: schema, every time expression, every named event."""
    loaded = _office().load_plans(files)
    if as_json:
        return _print_json([{"file": str(i.path), "id": i.plan.id, "year": i.plan.year,
                             "milestones": len(i.plan.milestones)} for i in loaded])
    for item in loaded:
        out.print(f"[green]ok[/green] {item.path}: {item.plan.id}, {len(item.plan.milestones)} milestones")


@plan_app.command("new")
def plan_new(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the plan file.")] = Path("plan.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a plan file by answering questions; every time expression is shown as dates."""
    if output.exists() and not force:
        raise scheduler.Refused(f"{output} already exists; choose another -o/--output, or add --force")

    def ask(prompt: str, default: str | None) -> str:
        if default is None:  # required: typer asks again on an empty answer
            return str(typer.prompt(prompt))
        return str(typer.prompt(prompt, default=default, show_default=bool(default)))

    text = plans.interview(ask, lambda line: out.print(line, markup=False), _office().calendar)
    _office().write_file(output, text)
    out.print(f"written {output}; check it with `jiedian plan validate {output}`, "
              f"store it with `jiedian plan add {output}`", markup=False)


@plan_app.command("extract")
def plan_extract(
    doc: Annotated[Path, typer.Argument(help="The plan: a .txt (UTF-8) or .docx file, or an "
                                              ".xlsx task table (任务分解表).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help=(
        "A .yaml file, a directory for one file per document, or - for standard output (default: "
        "DOC's name, .yaml; a directory when DOC holds several)."))] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Draft a plan file from a plan's text: every time node it finds becomes a milestone."""
    extraction, written = _office().extract(doc, output, force=force)
    if str(output) == "-":  # the draft on stdout, the summary on stderr
        sys.stdout.write(extraction.one_file())
    shown = err if str(output) == "-" else out
    _table("", plans.Extraction.COLUMNS, extraction.rows(), shown)
    for line in extraction.summary()[1 + len(extraction.documents):]:
        shown.print(line, markup=False)
    for path in written:
        out.print(f"written {path}; review it, then `jiedian plan validate {path}`", markup=False)


@plan_app.command("show")
def plan_show(
    targets: Annotated[list[str] | None, typer.Argument(
        help="Plan files or folders (default: the bundled plans), or a stored plan id.")] = None,
    year: Annotated[int | None, typer.Option(help="Apply the plan to another year (default: its "
                                                  "own); for a stored id, show that stored year.")] = None,
    since: Annotated[str | None, typer.Option(help="Only nodes not over by this date (YYYY-MM-DD or today).")] = None,
    as_json: Json = False,
) -> None:
    """Print the dated nodes of plan files (no database needed), or of a stored plan."""
    office, cutoff = _office(), _date_option("--since", since)
    stored_id = scheduler.Office.stored_id(targets or [])
    if stored_id:
        found, rows = office.stored_nodes(stored_id, year, cutoff)
        years = "、".join(str(s.applied_year) for s in found)
        return _print_upcoming(rows, as_json, title=f"{stored_id} · {found[-1].title} · {years}")
    nodes = office.file_nodes([Path(t) for t in targets or []] or [plans.BUNDLED_PLANS], year, cutoff)
    if as_json:
        return _print_json([{**n.as_data(), "warnings": _fallback([n.start, n.due])} for _, n in nodes])
    several = len({item.plan.id for item, _ in nodes}) > 1
    _table(f"{len(nodes)} nodes" + (f" · {year}" if year else ""), plans.Node.COLUMNS + ["计划"] * several,
           [n.row() + [item.plan.id] * several for item, n in nodes])


# ── the store: plans, units, feeds ─────────────────────────────────────────────────────

@plan_app.command("add")
def plan_add(
    targets: Annotated[list[str], typer.Argument(
        help="Plan files or folders of them, or a stored plan's id (with --year).")],
    year: Annotated[int | None, typer.Option(
        help="Apply the plans to this year (default: each file's own); other years stay as stored.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the difference only.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="One summary line per plan.")] = False,
    as_json: Json = False,
) -> None:
    """Validate plan files, then import them for one year in one transaction and print what changed."""
    office, stored_id = _office(), scheduler.Office.stored_id(targets)
    if stored_id and year is None:
        raise scheduler.Refused(f"“{stored_id}” is not a file; to apply the stored plan to another year, "
                     f"give the year: jiedian plan add {stored_id} --year YYYY")
    loaded = [office.stored_as_file(stored_id)] if stored_id else office.load_plans([Path(t) for t in targets])
    result = office.add_plans(loaded, year=year, dry_run=dry_run)
    office.warnings += [w for r in result.reports for w in r.warnings] + result.warnings
    if as_json:
        return _print_json({"dry_run": dry_run, "plans": result.reports, "warnings": office.warnings})
    for report in result.reports:
        out.print("\n".join([report.summary(dry_run), *([] if quiet else report.change_lines(15))]),
                  markup=False)


@plan_app.command("list")
def plan_list(as_json: Json = False) -> None:
    """List the stored plans with their node counts and next due date."""
    summaries = _office().plans()
    _listing(summaries, as_json, f"{len({s.id for s in summaries})} plans, {len(summaries)} stored years", scheduler.PlanSummary)


@plan_app.command("remove")
def plan_remove(
    plan_id: Annotated[str, typer.Argument(help="The stored plan's id.")],
    year: Annotated[int | None, typer.Option(help="Remove only this stored year (default: every year).")] = None,
) -> None:
    """Remove a plan (or one year of it): cancel its nodes not yet due, keep its history."""
    count = _office().remove_plan(plan_id, year)
    which = "every year" if year is None else str(year)
    out.print(f"{plan_id} ({which}): removed; {count} future nodes cancelled, history kept")


def _print_year(calendar: plans.ChinaCalendar, year: int, where: str, as_json: bool) -> None:
    if as_json:
        return _print_json({**calendar.year_data(year), "from": where})
    out.print(f"{year}: {where}")
    _table(f"{year} 放假安排 · rest days and make-up working days",
           ["假日 holiday", "放假 days off", "天数", "调休上班 make-up working days"],
           [[name, span_zh(first, last), str((last - first).days + 1), "、".join(map(day_zh, work)) or "—"]
            for name, first, last, work in calendar.holiday_runs(year)])
    _warn([w for w in [calendar.coverage_warning(year)] if w])


@holidays_app.command("check")
def holidays_check(file: Annotated[Path, typer.Argument(help="A holiday notice file (year, source, holidays).")],
                   as_json: Json = False) -> None:
    """Check a holiday notice you typed in, and print the year it gives."""
    notice = plans.load_notice(file)
    calendar = plans.ChinaCalendar({notice.year: notice})
    _warn([*notice.warnings, *calendar.disagreements(notice.year)])
    source = f" ({notice.source})" if notice.source else ""
    _print_year(calendar, notice.year, f"ok {file}{source}: {len(notice.holidays)} holidays", as_json)


@holidays_app.command("show")
def holidays_show(year: Annotated[int, typer.Argument(help="The year.")], as_json: Json = False) -> None:
    """Where a year's rest days come from (the library, a notice, or weekends only) and what they are."""
    if not 1900 <= year <= 2100:
        raise _Usage(f"{year}: years from 1900 to 2100 are understood")
    calendar = _office().calendar
    _print_year(calendar, year, calendar.source_note(year), as_json)


@app.command("upcoming")
def upcoming_command(
    days: Annotated[int, typer.Option(help="How many days ahead.")] = 30,
    unit: Annotated[str | None, typer.Option(help="Only nodes for this unit (and its groups).")] = None,
    plan: Annotated[str | None, typer.Option(help="Only nodes of this plan.")] = None,
    as_json: Json = False,
) -> None:
    """The next nodes, soonest due first, with days and working days left."""
    if days < 0:
        raise _Usage("--days must be 0 or more")
    rows = _office().upcoming(days, unit=unit, plan=plan)
    _print_upcoming(rows, as_json, title=f"upcoming {days} days" + (f" · {unit}" if unit else ""))


def _print_upcoming(rows: list[scheduler.Upcoming], as_json: bool, title: str) -> None:
    if as_json:
        return _print_json([{**scheduler.as_data(r), "weekday": plans.weekday_zh(r.due),
                             "warnings": _fallback([r.start, r.due])} for r in rows])
    _table(f"{title} · {len(rows)} nodes", scheduler.Upcoming.COLUMNS,  # ⚠: a year without holiday data
           [[cells[0] + (" ⚠" if _fallback([r.due]) else ""), *cells[1:]] for r in rows for cells in [r.row()]])
    _warn(_fallback([d for r in rows for d in (r.start, r.due)]))


@units_app.command("import")
def units_import(
    file: Annotated[Path, typer.Argument(help="A units.yaml file, or the office's 通讯录 as .xlsx or .csv.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Remove stored units the file does not name.")] = False,
    channels: Annotated[Path | None, typer.Option(
        help="A file of `channels:` every unit gets too (the office's application, its mail server).")] = None,
    as_json: Json = False,
) -> None:
    """Load a units directory (units keep their identity by name); removing units takes --replace."""
    done = _office().import_units(file, dry_run=dry_run, replace=replace, channels=channels)
    directory, report = done.directory, done.report
    if as_json:
        return _print_json({"units": len(directory.units), "groups": len(directory.groups),
                            "dry_run": dry_run, **scheduler.as_data(report)})
    counts, *named = report.lines(dry_run)
    out.print("\n".join([f"{file}: {len(directory.units)} units, {len(directory.groups)} groups ({counts})",
                         *named]), markup=False)


@units_app.command("list")
def units_list(as_json: Json = False) -> None:
    """List the units and groups of the directory."""
    details = _office().units()
    _listing(details, as_json, f"{len(details)} units and groups", scheduler.UnitDetail)


@units_app.command("show")
def units_show(name: Annotated[str, typer.Argument(help="A unit or group, by name or alias.")],
               as_json: Json = False) -> None:
    """Show one unit: aliases, groups or members, people and channels (secrets by name only)."""
    d = _office().unit(name)
    if as_json:
        return _print_json(d)
    out.print(f"[bold]{escape(d.name)}[/bold] ({'group' if d.is_group else 'unit'})", markup=True)
    for line in d.lines():
        out.print(line, markup=False)


@app.command("export")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .ics file to write.")],
    plan: Annotated[str | None, typer.Option(help="Only this plan's nodes.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit's nodes (and its groups').")] = None,
    alarms: Annotated[bool, typer.Option(help="Include VALARMs from the reminder offsets.")] = True,
) -> None:
    """Write an iCalendar feed (everything, one plan, or one unit) to a file."""
    if plan and unit:
        raise _Usage("give --plan or --unit, not both")
    feed = _office().export_feed(plan=plan, unit=unit, alarms=alarms)
    _office().write_file(output, feed.body)
    out.print(f"{output}: {feed.count} events")


@units_app.command("feed-url")
def units_feed_url(name: Annotated[str, typer.Argument(help="A unit or group.")], as_json: Json = False) -> None:
    """Print the unit's calendar feed URLs to subscribe to (JIEDIAN_BASE_URL's scheme, and webcal)."""
    web, webcal = _office().feed_urls(name)
    if as_json:
        return _print_json({"unit": name, "url": web, "webcal": webcal})
    out.print(f"{web}\n{webcal}")


@units_app.command("rotate-token")
def units_rotate_token(
    name: Annotated[str, typer.Argument(help="A unit or group.")],
    ack_only: Annotated[bool, typer.Option("--ack-only", help="Only the confirmation links' secret.")] = False,
    feed_only: Annotated[bool, typer.Option("--feed-only", help="Only the feed and page URL.")] = False,
) -> None:
    """Give the unit a new feed URL and new 办结确认 links; the old ones stop working at once."""
    if ack_only and feed_only:
        raise _Usage("give --ack-only or --feed-only, not both")
    unit, url = _office().rotate_token(name, feed=not ack_only, ack=not feed_only)
    out.print(f"{unit}: " + "; ".join(filter(None, [
        "" if ack_only else f"new feed URL {url} (the old one no longer works)",
        "" if feed_only else "new confirmation links (those in messages already sent no longer work)"])))


# ── supervision (督办) ──────────────────────────────────────────────────────────────────

_MARK = {"done": "[green]✓[/green]", "pending": "…", "overdue": "[red]✗[/red]"}


@app.command("done")
def done_command(
    occurrence: Annotated[str, typer.Argument(help="The node's id, e.g. plan/milestone/2011-04-30.")],
    unit: Annotated[str, typer.Option(help="The unit confirming it has done the node.")],
    note: Annotated[str | None, typer.Option(help="A note kept with the confirmation.")] = None,
) -> None:
    """Record that a unit has done a node (办结确认): its reminders for the node stop."""
    out.print(_office().acknowledge(occurrence, unit, note).summary(), markup=False)


@app.command("status")
def status_command(
    plan: Annotated[str | None, typer.Option(help="Every node of this plan.")] = None,
    unit: Unit = None,
    days: Annotated[int, typer.Option(help="Without --plan: nodes due this many days either side of today.")] = 30,
    as_json: Json = False,
) -> None:
    """Who has confirmed which node: nodes × units, ✓ done, … pending, ✗ overdue."""
    matrix = _office().matrix(plan=plan, unit=unit, days=days)
    if as_json:
        return _print_json(matrix)
    if not matrix.rows:
        return out.print("no nodes to confirm" + (f" in {plan}" if plan else f" within {days} days"))
    title = f"办结情况 · {plan or f'±{days} days'}" + (f" · {unit}" if unit else "") + f" · {matrix.today}"
    _table(title, ["截止 due", "节点", *matrix.units],
           [[day_zh(r.due), r.title, *(_MARK.get(r.cells.get(n, ""), "") for n in matrix.units)]
            for r in matrix.rows])
    out.print("  ".join(f"{_MARK[s]} {scheduler.STATE_ZH[s]} {n}" for s, n in matrix.counts().items()))


@app.command("report")
def report_command(
    plan: Annotated[str, typer.Option(help="The stored plan's id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (.csv or .xlsx).")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv | xlsx (default: from the file's name).")] = None,
    unit: Unit = None,
) -> None:
    """The plan's 办结情况 matrix as a CSV or Excel file to hand to a meeting."""
    try:
        fmt = scheduler.report_format(output, fmt)
    except ValueError as error:
        raise _Usage(str(error)) from None
    matrix = _office().write_report(plan, output, fmt, unit)
    out.print(f"{output}: {len(matrix.rows)} nodes × {len(matrix.units)} units")


@notify_app.command("test")
def notify_test(
    unit: Annotated[str, typer.Option(help="The unit whose channels to test.")],
    channel: Annotated[str | None, typer.Option(help="Only this channel id.")] = None,
    as_json: Json = False,
) -> None:
    """Send a test reminder through a unit's channels and print what each provider answered."""
    answers = _office().send_test(unit, channel)
    if as_json:
        _print_json([{"channel": a.channel_id, "kind": a.kind, **scheduler.as_data(a.result)} for a in answers])
    else:
        _table(f"notify test · {unit}", scheduler.ChannelAnswer.COLUMNS, [r for a in answers for r in a.rows()])
    if not all(answer.result.delivered for answer in answers):
        raise typer.Exit(1)


@app.command("reminders")
def reminders_command(
    failed: Annotated[bool, typer.Option("--failed", help="Failed or missed ones.")] = False,
    late: Annotated[bool, typer.Option("--late", help="Ones sent late (补发).")] = False,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Ones to come (the default).")] = False,
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    as_json: Json = False,
) -> None:
    """What will be sent (or failed, or went out late), soonest first."""
    which = "failed" if failed else "late" if late else "upcoming"
    rows = _office().reminders(which, unit, limit)
    _listing(rows, as_json, f"reminders · {which} · {len(rows)}", scheduler.ReminderView)


@app.command("deliveries")
def deliveries_command(
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD; default: 7 days).")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
    as_json: Json = False,
) -> None:
    """Every attempt to send: when, to whom, the provider's answer and its latency."""
    start = _date_option("--since", since) or (_office().today() - timedelta(days=7))
    rows = _office().deliveries(start, unit)
    _listing(rows, as_json, f"deliveries since {start} · {len(rows)}", scheduler.DeliveryView)


# ── the daemon ──────────────────────────────────────────────────────────────────────────

Worker = Annotated[str | None, typer.Option(help="This process's name in leases.")]
Lease = Annotated[float, typer.Option(help="Seconds a claimed reminder is held.")]
InFlight = Annotated[int, typer.Option("--in-flight", min=1,
                                       help="Sends at once (and the most a kill can leave unrecorded).")]
Host = Annotated[str, typer.Option(help="Address to listen on.")]


@app.command("serve")
def serve(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for feeds, pages and /healthz.")] = 8000,
    tick: Annotated[float, typer.Option(help="Seconds between dispatch ticks.")] = 10.0,
    worker: Worker = None,
    lease: Lease = 120.0,
    in_flight: InFlight = 64,
    demo: Annotated[bool, typer.Option(
        "--demo", help="A demo: load the bundled units and plans (this year) into an empty store.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines to stderr.")] = False,
) -> None:
    """Run the daemon: send reminders on time, and serve the feeds and calendar pages."""
    from scheduler import _process

    _process.serve(_office(), host, port, demo=demo, log_json=log_json, worker=worker, lease=lease,
                   tick=tick, in_flight=in_flight)


@feeds_app.command("serve")
def feeds_serve(host: Host = "127.0.0.1",
                port: Annotated[int, typer.Option(help="Port for feeds and pages.")] = 8000) -> None:
    """Serve the feeds and calendar pages only (no reminders are sent)."""
    from scheduler import _process

    _process.serve_feeds(_office(), host, port)


@app.command("dispatch")
def dispatch(
    until_idle: Annotated[bool, typer.Option("--until-idle", help="Keep ticking until nothing is left to send.")] = False,
    tick: Annotated[float, typer.Option(help="Seconds between ticks with --until-idle.")] = 1.0,
    worker: Worker = None,
    lease: Lease = 120.0,
    batch: Annotated[int, typer.Option(help="Reminders claimed at a time.")] = 500,
    in_flight: InFlight = 64,
    as_json: Json = False,
) -> None:
    """Send what is due now, once (for cron), or until nothing is left (--until-idle)."""
    from scheduler import _process

    name, sent = _process.dispatch(_office(), until_idle=until_idle, tick=tick, worker=worker,
                                   lease=lease, batch=batch, in_flight=in_flight)
    if as_json:
        return _print_json({"worker": name, "sent": sent})
    out.print(f"{name}: {sent} reminders sent")


def main() -> None:
    """Entry point: the app, with Ctrl-C and user mistakes said in a line (scheduler._process)."""
    from scheduler import _process

    _process.run_cli(app, _TOLD, err.print)


if __name__ == "__main__":
    main()
