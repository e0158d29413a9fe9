"""The use cases: what each `jiedian` command does, each in one transaction.

An :class:`Office` is built once per command (in the CLI's app callback) from
:class:`~scheduler.Settings` and a clock. The CLI parses arguments, calls one method and
prints what it returns; every method that writes commits once, after the outbox has been
brought in line with the occurrences it touched (a units import: all of them, since whom a
node reaches may change anywhere). ``bootstrap`` leaves the outbox to the daemon it
precedes, whose first act is a full sync.

Mistakes a user can fix come out as exceptions carrying the message to show:
``plans.PlanError`` (with its problems), ``plans.ExpressionError``, :class:`NotFound`,
``StoreError``, ``SettingsError``, ``AckError``, ``UnknownUnitError`` and
``notifiers.SecretsError``. The CLI turns them into ``error: …`` lines and an exit code in
one place.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import notifiers
import plans
import scheduler
from scheduler._settings import Settings, SettingsError

if TYPE_CHECKING:  # the store's parts load when a method first needs them (`jiedian when` never does)
    from sqlalchemy import Engine
    from sqlmodel import Session

    from plans import ChinaCalendar, Extraction, LoadedPlan, Node
    from scheduler import (
        AckResult,
        ChannelAnswer,
        Daemon,
        DeliveryView,
        Feed,
        ImportReport,
        Matrix,
        PlanSummary,
        Policy,
        ReminderView,
        Templates,
        UnitDetail,
        UnitsReport,
        Upcoming,
    )

__all__ = ["AddResult", "CannotWrite", "NotFound", "Office", "Refused", "UnitsImport"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


class NotFound(LookupError):
    """A plan, unit, channel or node that is not stored; the message says where to look."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class Refused(Exception):
    """A command that cannot go on as asked: it would do more than asked (remove stored
    units) without the flag that says so, or a file is in the way; the message says what to do."""


class CannotWrite(OSError):
    """A file the command was asked to write that cannot be written; the message names it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot be written"


@dataclass
class AddResult:
    """What ``plan add`` did: one report per plan, and warnings for the whole import."""

    reports: list[ImportReport]
    warnings: list[str] = field(default_factory=list)


@dataclass
class UnitsImport:
    directory: plans.UnitsDirectory
    report: UnitsReport


class Office:
    """One office's Jiedian: its settings, its calendar, its store, and what can be done."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.warnings: list[str] = []  # said once while working (a notice disagreeing …)
        self.committed = False  # whether this command has written anything yet (for Ctrl-C)
        self._engine: Engine | None = None

    # ── what every command shares ────────────────────────────────────────────────────

    @cached_property
    def calendar(self) -> ChinaCalendar:
        """The China calendar with the office's holiday notices (JIEDIAN_HOLIDAYS)."""
        if self.settings.holidays is None:
            return plans.CALENDAR
        notices = plans.load_notices(self.settings.holidays)
        calendar = plans.ChinaCalendar(notices)
        for year, notice in sorted(notices.items()):
            self.warnings += [*notice.warnings, *calendar.disagreements(year)]
        return calendar

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.now().astimezone(SHANGHAI).date()

    @property
    def engine(self) -> Engine:
        """The store, opened (and migrated) on first use."""
        if self._engine is None:
            self._engine = scheduler.open_store(self.settings.database_url,
                                                create_folder=self.settings.default_database)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        from sqlmodel import Session  # here: see the imports above

        with Session(self.engine) as session:
            yield session

    def _commit(self, session: Session) -> None:
        session.commit()
        self.committed = True

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @cached_property
    def policy(self) -> Policy:
        try:
            return scheduler.Policy.parse(self.settings.quiet_hours, self.settings.rest_days)
        except ValueError as error:
            raise SettingsError(str(error)) from None

    def _sync(self, session: Session, ids: Iterable[str] | None) -> None:
        """The outbox in line with ``ids`` (None: every stored node), in the caller's transaction."""
        ids = None if ids is None else sorted(set(ids))
        if ids == []:
            return
        scheduler.sync_reminders(session, self.calendar, self.policy, now=self.now(), occurrence_ids=ids)

    # ── plans ────────────────────────────────────────────────────────────────────────

    def extract(self, doc: Path, output: Path | None, *, force: bool = False) -> tuple[Extraction, list[Path]]:
        """Draft plan files from ``doc``: the extraction and the files written (none when
        ``output`` is "-": the caller prints the draft). Refused when a file is in the way."""
        extraction = plans.extract_file(doc, self.calendar)
        if str(output) == "-":
            return extraction, []
        try:
            return extraction, extraction.write(output, force=force)
        except FileExistsError as error:
            raise Refused(str(error)) from None
        except OSError as error:
            raise CannotWrite(f"{output}: cannot be written: {error.strerror}") from None

    @staticmethod
    def write_file(path: Path, content: str | bytes) -> None:
        """Write ``content`` (text as UTF-8) to ``path``; CannotWrite says why it could not."""
        try:
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        except OSError as error:
            raise CannotWrite(f"{path}: cannot be written: {error.strerror}") from None

    @staticmethod
    def stored_id(targets: list[str]) -> str | None:
        """The stored plan id ``plan add``/``plan show`` were given instead of files, if so."""
        one = targets[0] if len(targets) == 1 else ""
        return one if one and not Path(one).exists() and "/" not in one \
            and not one.endswith((".yaml", ".yml", ".json")) else None

    def load_plans(self, files: list[Path]) -> list[LoadedPlan]:
        return plans.load_plans(files, self.calendar)

    def file_nodes(self, files: list[Path], year: int | None = None,
                   since: date | None = None) -> list[tuple[LoadedPlan, Node]]:
        """The dated nodes of plan files (no store), soonest due first; ``since``: not over by then."""
        nodes = [(item, node) for item in self.load_plans(files)
                 for node in plans.expand_plan(item, self.calendar, year, self.warnings)]
        return sorted([n for n in nodes if since is None or n[1].end >= since],
                      key=lambda n: (n[1].due, n[1].start))

    def stored_as_file(self, plan_id: str) -> LoadedPlan:
        """A stored plan's latest year, as if read from its file (``plan add ID --year Y``)."""
        with self.session() as session:
            try:
                return scheduler.stored_plan(session, plan_id, self.calendar)
            except KeyError:
                raise NotFound(f"no such file and no stored plan “{plan_id}”; "
                               f"see `jiedian plan list`") from None

    def add_plans(self, loaded: list[LoadedPlan], *, year: int | None = None,
                  dry_run: bool = False) -> AddResult:
        """Import ``loaded`` for one year each, in one transaction (none on a dry run)."""
        ids = [item.plan.id for item in loaded]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise plans.PlanError([f"plan id “{i}” is in more than one file; ids must be unique"
                                   for i in twice])
        now = self.now()
        result = AddResult([])
        with self.session() as session:
            for item in loaded:
                try:
                    result.reports.append(scheduler.import_plan(session, item, self.calendar, now=now,
                                                      year=year, dry_run=dry_run))
                except plans.ExpressionError as error:
                    raise plans.PlanError([f"{item.path}: {error}"]) from None
            names = {n for item in loaded for m in item.plan.milestones for n in (*m.lead, *m.units)}
            for name, close in scheduler.unknown_units(session, names).items():
                hint = f"; closest known: {'、'.join(close)}" if close else ""
                result.warnings.append(f"unit “{name}” is not in the units directory{hint}")
            if dry_run:
                session.rollback()
                return result
            self._sync(session, (c.occurrence_id for r in result.reports for c in r.changes))
            self._commit(session)
        return result

    def remove_plan(self, plan_id: str, year: int | None = None) -> int:
        """Cancel the plan's (or one year's) nodes not yet due; how many."""
        from sqlalchemy import select  # here: see the imports above

        from scheduler._models import OCCURRENCE

        now = self.now()
        with self.session() as session:
            try:
                count = scheduler.remove_plan(session, plan_id, self.calendar, today=self.today(),
                                              now=now, year=year)
            except KeyError:
                stored = "" if year is None else f" for {year}"
                raise NotFound(f"no stored plan “{plan_id}”{stored}; see `jiedian plan list`") from None
            cancelled = session.execute(select(OCCURRENCE.c.id).where(  # what it just cancelled
                OCCURRENCE.c.plan_id == plan_id, OCCURRENCE.c.cancelled_at == now)).scalars()
            self._sync(session, cancelled)
            self._commit(session)
        return count

    def plans(self) -> list[PlanSummary]:
        with self.session() as session:
            return scheduler.plan_summaries(session, today=self.today())

    def stored_nodes(self, plan_id: str, year: int | None = None,
                     since: date | None = None) -> tuple[list[PlanSummary], list[Upcoming]]:
        """A stored plan's years, and its nodes since ``since`` (default: all of them),
        counted down from today."""
        with self.session() as session:
            found = [s for s in scheduler.plan_summaries(session, today=self.today())
                     if s.id == plan_id and (year is None or s.applied_year == year)]
            if not found:
                stored = "" if year is None else f" for {year}"
                raise NotFound(f"no stored plan “{plan_id}”{stored} and no such file; "
                               f"see `jiedian plan list`")
            rows = scheduler.upcoming(session, self.calendar, today=self.today(), since=since or date(1900, 1, 1),
                            days=400 * 365, plan=plan_id, year=year)
        return found, rows

    def upcoming(self, days: int, unit: str | None = None, plan: str | None = None) -> list[Upcoming]:
        with self.session() as session:
            return scheduler.upcoming(session, self.calendar, today=self.today(), days=days, unit=unit, plan=plan)

    # ── units ────────────────────────────────────────────────────────────────────────

    def import_units(self, path: Path, *, dry_run: bool = False, replace: bool = False,
                     channels: Path | None = None) -> UnitsImport:
        """Make the stored directory ``path``'s (units keep their identity by name), in one
        transaction. Removing stored units takes ``replace``: a file of one unit must not
        silently drop the other fifty (Refused, nothing written). ``dry_run``: say only.
        ``channels``: a units file whose ``channels:`` every unit gets too (a 通讯录 sheet
        names people and robots; the office's application or mail server is written once)."""
        directory = plans.load_units(path, notifiers.CHANNEL_CONFIGS)
        if channels is not None:
            extra = plans.load_units(channels, notifiers.CHANNEL_CONFIGS)
            if extra.units or extra.groups or not extra.channels:
                said = (f"{channels}:1: --channels takes a file of `channels:` only (the channels "
                        f"every unit gets), without units or groups")
                raise plans.PlanError([said])
            directory = plans.every_unit(directory, extra.channels)
        self.warnings += scheduler.unreachable(directory, str(path))
        with self.session() as session:
            report = scheduler.import_units(session, directory, now=self.now())
            if dry_run:
                session.rollback()
                return UnitsImport(directory, report)
            if report.removed and not replace:
                session.rollback()
                names = "、".join(report.removed[:10]) + ("…" if len(report.removed) > 10 else "")
                raise Refused(f"{path} would remove {len(report.removed)} stored units ({names}); "
                              f"nothing was written. To remove them, run it again with --replace "
                              f"(see what changes first with --dry-run)")
            self._sync(session, None)  # whom each node reaches may have changed anywhere
            self._commit(session)
        return UnitsImport(directory, report)

    def units(self) -> list[UnitDetail]:
        with self.session() as session:
            return scheduler.list_units(session)

    def unit(self, name: str) -> UnitDetail:
        with self.session() as session:
            detail = scheduler.show_unit(session, name)
            if detail is None:
                close = scheduler.unknown_units(session, {name}).get(name, [])
                hint = f"; did you mean {'、'.join(close)}?" if close else "; see `jiedian units list`"
                raise NotFound(f"unknown unit “{name}”{hint}")
            return detail

    def _token(self, session: Session, name: str) -> str:
        row = scheduler.find_unit(session, name)
        if row is None:
            raise NotFound(f"unknown unit “{name}”; see `jiedian units list`")
        return str(row.feed_token)

    def feed_urls(self, name: str) -> tuple[str, str]:
        """The unit's feed as (the base URL's scheme, webcal); a warning when that is http."""
        with self.session() as session:
            web, webcal = scheduler.unit_feed_urls(self.settings.base_url, self._token(session, name))
        if web.startswith("http://"):
            self.warnings.append("JIEDIAN_BASE_URL is http://, so these links are too; phone calendars "
                                 "subscribe only to https (set JIEDIAN_BASE_URL to the https address "
                                 "units reach)")
        return web, webcal

    def rotate_token(self, name: str, *, feed: bool = True, ack: bool = True) -> tuple[str, str]:
        """A new feed URL and confirmation secret for the unit (the old ones stop at once;
        ``feed``/``ack``: only one of them): (its name, its feed URL)."""
        with self.session() as session:
            try:
                row = scheduler.rotate_token(session, name, now=self.now(), feed=feed, ack=ack)
            except LookupError as error:
                raise NotFound(str(error).strip("'\"")) from None
            self._commit(session)
            return str(row.name), scheduler.unit_feed_urls(self.settings.base_url, str(row.feed_token))[0]

    def export_feed(self, *, plan: str | None = None, unit: str | None = None,
                    alarms: bool = True) -> Feed:
        with self.session() as session:
            scope = scheduler.scope_all()
            if plan:
                scope = scheduler.scope_plan(session, plan)  # type: ignore[assignment]
                if scope is None:
                    raise NotFound(f"no stored plan “{plan}”; see `jiedian plan list`")
            elif unit:
                scope = scheduler.scope_unit_token(session, self._token(session, unit))  # type: ignore[assignment]
            feed = scheduler.render_feed(session, scope, self.calendar, now=self.now(), alarms=alarms)
            self._commit(session)  # what it rendered is kept
            return feed

    # ── supervision (督办) ────────────────────────────────────────────────────────────

    def acknowledge(self, occurrence: str, unit: str, note: str | None = None) -> AckResult:
        with self.session() as session:
            result = scheduler.acknowledge(session, occurrence, unit, self.calendar, now=self.now(),
                                 source="cli", note=note)
            self._commit(session)
        return result

    def matrix(self, *, plan: str | None = None, unit: str | None = None, days: int = 30) -> Matrix:
        """Nodes × units: every node of ``plan``, else those due ``days`` either side of today."""
        today = self.today()
        with self.session() as session:
            if plan is not None and plan not in {p.id for p in scheduler.plan_summaries(session, today=today)}:
                raise NotFound(f"no stored plan “{plan}”; see `jiedian plan list`")
            if unit is not None:
                detail = scheduler.show_unit(session, unit)
                if detail is not None and detail.is_group and not detail.members:
                    raise NotFound(f"“{detail.name}” is a group with no member units: it reaches "
                                   f"no unit; give it members in the units file")
            window = (None, None) if plan else (today - timedelta(days=days), today + timedelta(days=days))
            return scheduler.status_matrix(session, today=today, plan=plan, unit=unit,
                                 start=window[0], end=window[1])

    def write_report(self, plan: str, output: Path, fmt: str, unit: str | None = None) -> Matrix:
        """The plan's matrix as a ``fmt`` file (one of REPORT_FORMATS)."""
        matrix = self.matrix(plan=plan, unit=unit, days=0)
        try:
            scheduler.write_report(matrix, plan, output, fmt)
        except OSError as error:
            raise CannotWrite(f"{output}: cannot be written: {error.strerror}") from None
        return matrix

    def reminders(self, which: str, unit: str | None = None, limit: int = 200) -> list[ReminderView]:
        with self.session() as session:
            return scheduler.list_reminders(session, which=which, unit=unit, now=self.now(), limit=limit)

    def deliveries(self, since: date, unit: str | None = None) -> list[DeliveryView]:
        moment = datetime.combine(since, datetime.min.time(), SHANGHAI)
        with self.session() as session:
            return scheduler.list_deliveries(session, since=moment, unit=unit)

    # ── delivery ─────────────────────────────────────────────────────────────────────

    @cached_property
    def secrets(self) -> notifiers.Secrets:
        return notifiers.Secrets.load(self.settings.secrets_file)

    @cached_property
    def templates(self) -> Templates:
        try:
            return scheduler.Templates(self.settings.templates)
        except (ValueError, OSError) as error:
            raise SettingsError(f"JIEDIAN_TEMPLATES: {error}") from None

    def send_test(self, unit: str, channel: str | None = None) -> list[ChannelAnswer]:
        with self.session() as session:
            try:
                return scheduler.send_test(session, unit, today=self.today(), secrets=self.secrets,
                                 channel_id=channel, link=self.settings.base_url + "/",
                                 templates=self.templates)
            except LookupError as error:
                raise NotFound(str(error).strip("'\"")) from None

    def bootstrap(self, *, demo: bool) -> list[str]:
        """What ``serve`` loads at start: JIEDIAN_UNITS, and for a demo on an empty store the
        bundled units and plans for this year. A deployment never loads anything bundled:
        the demo plans of other towns must not reach real units whose names match (各党支部).
        Returns what was done, for the log."""
        done: list[str] = []
        units_path = self.settings.units_path
        if not (units_path or demo):
            return done
        today, now = self.today(), self.now()
        with self.session() as session:
            if units_path:
                scheduler.import_units(session, plans.load_units(units_path, notifiers.CHANNEL_CONFIGS), now=now)
            if demo and not scheduler.plan_summaries(session, today=today):
                if not units_path and not scheduler.list_units(session):
                    scheduler.import_units(session, plans.load_units(plans.BUNDLED_UNITS, notifiers.CHANNEL_CONFIGS), now=now)
                for item in plans.load_plans([plans.BUNDLED_PLANS], self.calendar):
                    scheduler.import_plan(session, item, self.calendar, now=now, year=today.year)
                done.append(f"demo: loaded the bundled units and plans for {today.year} into an "
                            f"empty store (a deployment runs `jiedian serve` without --demo and "
                            f"adds its own plans)")
            self._commit(session)  # no outbox sync here: the daemon it precedes syncs as it starts
        return done

    def daemon(self, *, clock: Callable[[], datetime], worker: str | None = None,
               lease: float = 120.0, batch: int = 500, tick: float = 10.0,
               in_flight: int = 64) -> Daemon:
        """The dispatcher and its scheduler over the store (started by the caller)."""
        try:
            escalate = scheduler.parse_escalations(self.settings.escalate)
        except ValueError as error:
            raise SettingsError(f"JIEDIAN_ESCALATE: {error}") from None
        dispatcher = scheduler.Dispatcher(self.engine, worker=worker or f"{socket.gethostname()}-{os.getpid()}",
                                secrets=self.secrets, templates=self.templates,
                                base_url=self.settings.base_url, lease=timedelta(seconds=lease),
                                batch=batch, escalate=escalate, in_flight=in_flight,
                                metrics=scheduler.Metrics(self.engine, clock))
        return scheduler.Daemon(self.engine, self.calendar, dispatcher, policy=self.policy, clock=clock,
                      tick_seconds=tick)

    def web(self, *, clock: Callable[[], datetime],
            health: Callable[[], dict[str, Any]] | None = None, metrics: Any = None) -> Any:
        """The feeds and calendar pages (an ASGI app); /healthz and /metrics beside a daemon."""
        return scheduler.create_app(self.engine, self.calendar, clock=clock, base_url=self.settings.base_url,
                                    health=health, admin_token=self.admin_token, metrics=metrics)

    @property
    def admin_token(self) -> str | None:
        """JIEDIAN_ADMIN_TOKEN (the environment or the secrets file): the office's own pages."""
        return self.secrets.find("JIEDIAN_ADMIN_TOKEN")
