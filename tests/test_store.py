"""The store on SQLite and PostgreSQL: migrations, imports with stable ids, queries."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, inspect, select, text
from sqlmodel import Session

import notifiers
import scheduler
from plans import CALENDAR, Offset
from scheduler._models import MilestoneRow, OccurrenceRow, OccurrenceUnitRow, PlanRow
from tests.conftest import DEMO_PLAN as PLAN, DEMO_UNITS as UNITS, NOW, add, import_units, load


def occurrences(engine: Engine) -> dict[str, OccurrenceRow]:
    with Session(engine) as session:
        return {row.id: row for row in session.execute(select(OccurrenceRow)).scalars()}


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements sent to the database."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.count += 1


def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    engine = scheduler.open_store(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"plan", "milestone", "occurrence", "occurrence_unit", "unit", "unit_alias",
            "unit_membership", "person", "channel", "alembic_version"} <= tables
    engine.dispose()
    scheduler.open_store(database_url).dispose()  # a second start applies nothing and works


def test_replicas_started_together_on_an_empty_store_both_come_up(database_url: str) -> None:
    """Two daemons started at once on an empty database: one applies the migrations (under
    an advisory lock on PostgreSQL), the other waits and finds the schema ready."""
    ready = threading.Barrier(3)
    outcomes: list[object] = []

    def start() -> None:
        ready.wait()
        try:
            scheduler.open_store(database_url).dispose()
            outcomes.append("up")
        except Exception as error:  # noqa: BLE001 (the test reports what went wrong)
            outcomes.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join(60)
    assert outcomes == ["up", "up"]


def test_first_import_adds_every_occurrence_with_stable_ids(engine: Engine, tmp_path: Path) -> None:
    report = add(engine, load(tmp_path, PLAN))
    assert report.new_plan and report.count("added") == 1 + 1 + 4
    rows = occurrences(engine)
    assert "demo-2011/fangan/2011-04-30" in rows
    fangan = rows["demo-2011/fangan/2011-04-30"]
    assert (fangan.due, fangan.kind, fangan.sequence) == (date(2011, 4, 29), "deadline", 0)
    with Session(engine) as session:
        names = session.execute(select(OccurrenceUnitRow.role, OccurrenceUnitRow.name).where(
            OccurrenceUnitRow.occurrence_id == fangan.id)).all()
    assert sorted(names) == [("lead", "镇党建办"), ("unit", "各党(总)支部")]


def test_reminder_offsets_are_stored_as_text_and_read_back_typed(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path, PLAN))
    with Session(engine) as session:
        raw = session.execute(text("SELECT key, remind FROM milestone")).all()
        typed = {m.key: m.remind for m in session.execute(select(MilestoneRow)).scalars()}
    stored = {key: json.loads(value) if isinstance(value, str) else value for key, value in raw}
    assert stored["fangan"] and all(isinstance(t, str) for t in stored["fangan"])
    assert {key: [str(o) for o in offsets] for key, offsets in typed.items()} == stored
    assert all(isinstance(o, Offset) for offsets in typed.values() for o in offsets)


def test_unchanged_reimport_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    loaded = load(tmp_path, PLAN)
    add(engine, loaded)
    before = occurrences(engine)
    counter = WriteCounter(engine)
    report = add(engine, loaded, now=NOW + timedelta(days=1))
    assert counter.count == 0
    assert not report.wrote and report.unchanged == 6
    assert occurrences(engine).keys() == before.keys()


def test_changed_plan_updates_in_place(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path, PLAN))
    changed = PLAN.replace("when: 4月底前", "when: 5月底前").replace(
        "  - id: biaozhang\n    title: 表彰先进\n    when: “七一”前夕\n    lead: [镇党委]\n", "")
    changed = changed.replace("units: [各党(总)支部]\n  - id: baosong", "units: [机关党支部]\n  - id: baosong")
    later = NOW + timedelta(days=3)
    report = add(engine, load(tmp_path, changed), now=later)
    rows = occurrences(engine)
    # 4月底前 → 5月底前 is a new nominal date: a new id, the old one cancelled.
    assert rows["demo-2011/fangan/2011-04-30"].status == "cancelled"
    assert rows["demo-2011/fangan/2011-05-31"].status == "active"
    assert rows["demo-2011/biaozhang/2011-06-30"].status == "cancelled"
    assert rows["demo-2011/biaozhang/2011-06-30"].sequence == 1
    # Quarterly nodes kept their ids and nothing about them changed.
    assert rows["demo-2011/baosong/2011-03-31"].sequence == 0
    assert report.count("added") == 1 and report.count("cancelled") == 2
    assert report.unchanged == 4
    # Now change only the units of a node: same id, sequence bumped, units replaced.
    unit_change = changed.replace("units: [机关党支部]", "units: [镇党委]")
    report = add(engine, load(tmp_path, unit_change), now=later + timedelta(days=1))
    assert report.count("changed") == 1 and report.changes[0].detail == "units or details"
    row = occurrences(engine)["demo-2011/fangan/2011-05-31"]
    assert row.sequence == 1
    with Session(engine) as session:
        units = session.execute(select(OccurrenceUnitRow.name).where(
            OccurrenceUnitRow.occurrence_id == row.id, OccurrenceUnitRow.role == "unit")).all()
    assert [u[0] for u in units] == ["镇党委"]
    # Putting the removed milestone back restores its occurrence with a new SEQUENCE.
    report = add(engine, load(tmp_path, PLAN.replace("when: 4月底前", "when: 5月底前")))
    restored = occurrences(engine)["demo-2011/biaozhang/2011-06-30"]
    assert (restored.status, restored.sequence) == ("active", 2)
    assert any(c.detail == "restored" for c in report.changes)


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    counter = WriteCounter(engine)
    report = add(engine, load(tmp_path, PLAN), dry_run=True)
    assert report.count("added") == 6 and counter.count == 0
    assert occurrences(engine) == {}


def test_plan_applied_to_another_year(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path, PLAN), year=2026)
    with Session(engine) as session:
        plan = session.get(PlanRow, "demo-2011")
        assert plan is not None and (plan.year, plan.applied_year) == (2011, 2026)
    assert "demo-2011/fangan/2026-04-30" in occurrences(engine)


def test_remove_cancels_future_nodes_and_keeps_history(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path, PLAN))
    with Session(engine) as session:
        count = scheduler.remove_plan(session, "demo-2011", CALENDAR, today=date(2011, 6, 1),
                                         now=NOW)
        session.commit()
    rows = occurrences(engine)
    assert count == 4  # 七一前夕 and the three quarter-ends from June on
    assert rows["demo-2011/fangan/2011-04-30"].status == "active"  # history, untouched
    assert rows["demo-2011/baosong/2011-06-30"].status == "cancelled"
    with Session(engine) as session, pytest.raises(KeyError):
        scheduler.remove_plan(session, "nope", CALENDAR, today=date(2011, 6, 1), now=NOW)


def test_units_import_show_and_resync(engine: Engine, tmp_path: Path) -> None:
    report = import_units(engine, tmp_path)
    assert sorted(report.added) == ["各党(总)支部", "机关党支部", "镇党委", "镇党建办"]
    with Session(engine) as session:
        branch = scheduler.show_unit(session, "機關黨支部")
        group = scheduler.show_unit(session, "各黨支部")  # an alias, in Traditional script
        office = scheduler.show_unit(session, "镇党建办")
    assert branch is not None and branch.groups == ("各党(总)支部",)
    assert group is not None and group.is_group and group.members == ("机关党支部",)
    assert office is not None and office.people == (notifiers.Person("张三", "13800000001"),)
    assert office.channels[0][:2] == ("djb-console", "console")
    smaller = UNITS.split("  - name: 机关党支部")[0]
    report = import_units(engine, tmp_path, smaller)
    assert report.removed == ["机关党支部"] and report.kept == ["镇党建办", "镇党委"]
    assert report.changed == ["各党(总)支部"]  # it lost its member
    with Session(engine) as session:
        assert scheduler.show_unit(session, "机关党支部") is None
        assert scheduler.show_unit(session, "各党支部").members == ()  # type: ignore[union-attr]


def test_unknown_units_are_listed_with_the_closest_names(engine: Engine, tmp_path: Path) -> None:
    import_units(engine, tmp_path)
    with Session(engine) as session:
        unknown = scheduler.unknown_units(session, {"镇党建办", "各党支部", "镇党委办", "县委"})
    assert set(unknown) == {"镇党委办", "县委"}
    assert "镇党委" in unknown["镇党委办"]


def test_upcoming_by_unit_includes_its_groups(engine: Engine, tmp_path: Path) -> None:
    import_units(engine, tmp_path)
    add(engine, load(tmp_path, PLAN))
    with Session(engine) as session:
        rows = scheduler.upcoming(session, CALENDAR, today=date(2011, 4, 20), days=80,
                                  unit="机关党支部")
        office = scheduler.upcoming(session, CALENDAR, today=date(2011, 4, 20), days=80,
                                    unit="镇党委")
        everything = scheduler.upcoming(session, CALENDAR, today=date(2011, 4, 20), days=80)
    # 机关党支部 is in 各党(总)支部, which the 方案 and the quarterly reports address.
    assert [r.occurrence_id for r in rows] == ["demo-2011/fangan/2011-04-30",
                                               "demo-2011/baosong/2011-06-30"]
    first = rows[0]
    assert (first.due, first.days_left) == (date(2011, 4, 29), 9)
    assert first.working_days_left == 7  # 04-21 … 04-29, less the weekend
    assert [r.title for r in office] == ["表彰先进"]
    assert [r.due for r in everything] == sorted(r.due for r in everything)
    with Session(engine) as session, pytest.raises(scheduler.UnknownUnitError, match="镇党委"):
        scheduler.upcoming(session, CALENDAR, today=date(2011, 4, 20), unit="镇党委会")
