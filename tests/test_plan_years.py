"""Plans across years (DESIGN.md): a plan is stored per (plan id, year), on SQLite and
PostgreSQL; adding one year leaves the others alone; the migration keeps an old store."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlmodel import Session

import plans
import scheduler
from plans import CALENDAR, load_plan
from scheduler._db import MIGRATIONS
from scheduler._models import (
    AcknowledgementRow,
    MilestoneRow,
    OccurrenceRow,
    PlanRow,
    PlanYearRow,
    ReminderRow,
    UnitRow,
)
from scheduler._reminders import Policy
from tests.conftest import NOW, ROOT, Ran, invoke

PLAN = """\
id: town-cxzy
title: 示范镇创先争优工作要点
year: 2026
milestones:
  - id: fangan
    title: 形成创建方案交镇党建办
    when: 4月底前
    lead: [镇党建办]
  - id: baosong
    title: 报送信息
    when: 每季度末
    units: [镇党建办]
"""
UNITS = """\
units:
  - name: 镇党建办
    channels: [{id: djb-console, kind: console}]
"""
DEC = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def load(tmp_path: Path, body: str = PLAN, name: str = "plan.yaml") -> plans.LoadedPlan:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return load_plan(path, CALENDAR)


def add(engine: Engine, loaded: plans.LoadedPlan, year: int | None = None) -> scheduler.ImportReport:
    with Session(engine) as session:
        report = scheduler.import_plan(session, loaded, CALENDAR, now=DEC, year=year)
        session.commit()
    return report


def by_year(engine: Engine) -> dict[int, dict[str, tuple[str, int]]]:
    """{plan year: {occurrence id: (status, sequence)}}"""
    found: dict[int, dict[str, tuple[str, int]]] = {}
    with Session(engine) as session:
        for row in session.execute(select(OccurrenceRow)).scalars():
            found.setdefault(row.plan_year, {})[row.id] = (row.status, row.sequence)
    return found


def test_adding_another_year_leaves_the_stored_year_alone(engine: Engine, tmp_path: Path) -> None:
    loaded = load(tmp_path)
    first = add(engine, loaded)
    assert first.new_plan and first.year == 2026 and first.count("added") == 5
    before = by_year(engine)[2026]
    second = add(engine, loaded, year=2027)
    assert (second.new_plan, second.new_year, second.count("added"), second.count("cancelled")) == (
        False, True, 5, 0)
    years = by_year(engine)
    assert years[2026] == before  # not cancelled, not even touched
    assert "town-cxzy/fangan/2027-04-30" in years[2027]
    assert add(engine, loaded).wrote is False  # 2026 again: unchanged, nothing written
    with Session(engine) as session:
        stored = [(y.year, y.status) for y in scheduler.stored_years(session, "town-cxzy")]
        assert stored == [(2026, "active"), (2027, "active")]
        assert session.get(PlanRow, "town-cxzy").applied_year == 2027  # the head: latest year
        keys = session.execute(select(MilestoneRow.year, MilestoneRow.key)).all()
        assert sorted(keys) == [(2026, "baosong"), (2026, "fangan"), (2027, "baosong"), (2027, "fangan")]
        summaries = [(s.id, s.applied_year, s.active) for s in scheduler.plan_summaries(session, today=date(2026, 12, 1))]
        assert summaries == [("town-cxzy", 2026, 5), ("town-cxzy", 2027, 5)]


def test_re_adding_one_year_changes_that_year_only(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path))
    add(engine, load(tmp_path), year=2027)
    edited = load(tmp_path, PLAN.replace("when: 4月底前", "when: 5月底前"), "edited.yaml")
    report = add(engine, edited, year=2027)
    assert (report.count("added"), report.count("cancelled")) == (1, 1)
    years = by_year(engine)
    assert years[2026]["town-cxzy/fangan/2026-04-30"] == ("active", 0)
    assert years[2027]["town-cxzy/fangan/2027-04-30"][0] == "cancelled"
    assert years[2027]["town-cxzy/fangan/2027-05-31"][0] == "active"


def test_reminders_are_kept_for_every_stored_year(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(_units(tmp_path)), now=DEC)
        session.commit()
    add(engine, load(tmp_path))
    add(engine, load(tmp_path), year=2027)
    with Session(engine) as session:
        scheduler.sync_reminders(session, CALENDAR, Policy(), now=DEC)
        session.commit()
        rows = session.execute(select(ReminderRow.occurrence_id, ReminderRow.status)).all()
    nodes = {oid for oid, status in rows if status == "pending"}
    assert "town-cxzy/baosong/2026-12-31" in nodes and "town-cxzy/fangan/2027-04-30" in nodes


def test_a_stored_plan_is_applied_to_another_year_without_its_file(engine: Engine, tmp_path: Path) -> None:
    loaded = load(tmp_path)
    add(engine, loaded)
    loaded.path.unlink()
    with Session(engine) as session:
        again = scheduler.stored_plan(session, "town-cxzy", CALENDAR)
    assert again.plan == loaded.plan
    report = add(engine, again, year=2028)
    assert report.new_year and "town-cxzy/baosong/2028-03-31" in by_year(engine)[2028]


def test_removing_one_year_keeps_the_others(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path))
    add(engine, load(tmp_path), year=2027)
    with Session(engine) as session:
        cancelled = scheduler.remove_plan(session, "town-cxzy", CALENDAR, today=date(2026, 12, 1),
                                          now=DEC, year=2027)
        session.commit()
        assert cancelled == 5 and session.get(PlanRow, "town-cxzy").status == "active"
        assert session.get(PlanYearRow, ("town-cxzy", 2027)).status == "removed"
    years = by_year(engine)
    assert all(status == "active" for status, _ in years[2026].values())
    assert all(status == "cancelled" for status, _ in years[2027].values())
    with Session(engine) as session:
        scheduler.remove_plan(session, "town-cxzy", CALENDAR, today=date(2026, 12, 1), now=DEC)
        session.commit()
        assert session.get(PlanRow, "town-cxzy").status == "removed"
    assert years[2026]["town-cxzy/fangan/2026-04-30"] == ("active", 0)  # past nodes: history kept


def test_a_file_with_a_stored_id_but_another_title_says_so(engine: Engine, tmp_path: Path) -> None:
    add(engine, load(tmp_path))
    other = load(tmp_path, PLAN.replace("示范镇创先争优工作要点", "另一个镇的工作要点"), "other.yaml")
    report = add(engine, other, year=2027)
    assert any("“示范镇创先争优工作要点”" in w and "“另一个镇的工作要点”" in w for w in report.warnings)


def _units(tmp_path: Path) -> Path:
    path = tmp_path / "units.yaml"
    path.write_text(UNITS, encoding="utf-8")
    return path


@pytest.mark.parametrize("revision", ["0006", "0007"])
def test_a_store_made_before_years_keeps_everything_when_upgraded(database_url: str, revision: str) -> None:
    """A store of an earlier release (one year per plan), with a plan, its nodes, a sent
    reminder and a confirmation, upgraded: nothing lost, each plan becomes the year it was
    applied to. From 0006, 0007 rebuilds the occurrence table under the reminders pointing
    at it (SQLite: foreign keys are off while migrating)."""
    engine = create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    document = json.dumps({"id": "old", "title": "旧计划", "year": 2011, "milestones": []})
    with engine.begin() as c:
        c.execute(text("INSERT INTO plan (id, title, year, applied_year, timezone, content_hash, document,"
                       " status, created_at, updated_at) VALUES ('old', '旧计划', 2011, 2026,"
                       " 'Asia/Shanghai', 'h', :doc, 'active', :now, :now)"), {"doc": document, "now": NOW})
        c.execute(text('INSERT INTO milestone (plan_id, key, position, title, "when", kind, workdays,'
                       " remind, source) VALUES ('old', 'm', 0, '表彰', '七一前夕', 'event', 'none',"
                       " '[\"-3d\"]', NULL)"))
        c.execute(text('INSERT INTO occurrence (id, plan_id, milestone_key, title, kind, start, "end",'
                       " due, fingerprint, sequence, status, created_at, updated_at, ical_version)"
                       " VALUES ('old/m/2026-06-30', 'old', 'm', '表彰', 'event', '2026-06-30',"
                       " '2026-06-30', '2026-06-30', 'f', 2, 'active', :now, :now, 0)"), {"now": NOW})
        c.execute(text("INSERT INTO unit (name, name_key, is_group, feed_token, created_at, updated_at)"
                       " VALUES ('镇党委', '镇党委', false, 't', :now, :now)"), {"now": NOW})
        unit_id = c.execute(text("SELECT id FROM unit")).scalar_one()
        c.execute(text("INSERT INTO reminder (occurrence_id, unit_id, unit_name, channel_id, \"offset\","
                       " fire_at, node_at, status, attempts, late, created_at, updated_at) VALUES"
                       " ('old/m/2026-06-30', :u, '镇党委', 'c', '-3d', :now, :now, 'sent', 1, false,"
                       " :now, :now)"), {"u": unit_id, "now": NOW})
        c.execute(text("INSERT INTO acknowledgement (occurrence_id, unit_id, unit_name, done_at, source)"
                       " VALUES ('old/m/2026-06-30', :u, '镇党委', :now, 'cli')"), {"u": unit_id, "now": NOW})
    engine.dispose()
    upgraded = scheduler.open_store(database_url)
    columns = {c["name"]: c for c in inspect(upgraded).get_columns("occurrence")}
    assert columns["plan_year"]["nullable"] is False  # on SQLite too: the table is rebuilt
    indexes = {i["name"] for i in inspect(upgraded).get_indexes("occurrence")}
    assert {"ix_occurrence_due_status", "ix_occurrence_plan", "ix_occurrence_plan_year"} <= indexes
    with Session(upgraded) as session:
        year = session.get(PlanYearRow, ("old", 2026))
        assert year is not None and (year.title, year.base_year, year.status) == ("旧计划", 2011, "active")
        milestone = session.execute(select(MilestoneRow)).scalar_one()
        assert (milestone.plan_id, milestone.year, milestone.key) == ("old", 2026, "m")
        assert [str(offset) for offset in milestone.remind] == ["-3d"]  # read back as Offsets
        occurrence = session.get(OccurrenceRow, "old/m/2026-06-30")
        assert (occurrence.plan_year, occurrence.sequence) == (2026, 2)
        assert session.execute(select(ReminderRow.status)).scalar_one() == "sent"
        assert session.execute(select(AcknowledgementRow.unit_name)).scalar_one() == "镇党委"
        unit = session.execute(select(UnitRow)).scalar_one()  # 0011: a confirmation secret of its own
        assert unit.ack_token and unit.ack_token != unit.feed_token
        assert [(s.id, s.applied_year) for s in scheduler.plan_summaries(session, today=date(2026, 1, 1))] == [
            ("old", 2026)]
    upgraded.dispose()


def run(env: dict[str, str], *args: str) -> Ran:
    return invoke({**env, "JIEDIAN_NOW": "2026-12-01T09:00"}, *args)


def test_the_cli_plans_next_year_beside_this_one(env: dict[str, str]) -> None:
    hejiang = str(ROOT / "plans" / "catalog" / "hejiang-2011-cxzy.yaml")
    assert run(env, "plan", "add", hejiang, "--year", "2026", "--quiet").returncode == 0
    tour = run(env, "plan", "add", hejiang, "--quiet")  # the README's own 2011 plan
    assert tour.returncode == 0 and "hejiang-2011-cxzy · 2011: new year, 26 added" in tour.stdout
    dry = run(env, "plan", "add", "hejiang-2011-cxzy", "--year", "2027", "--dry-run", "--quiet")
    assert dry.returncode == 0 and "hejiang-2011-cxzy · 2027: new year, 26 would add" in dry.stdout
    assert run(env, "plan", "add", "hejiang-2011-cxzy", "--year", "2027").returncode == 0
    listed = json.loads(run(env, "plan", "list", "--json").stdout)
    assert [(p["id"], p["applied_year"], p["active"]) for p in listed] == [
        ("hejiang-2011-cxzy", 2011, 26), ("hejiang-2011-cxzy", 2026, 26), ("hejiang-2011-cxzy", 2027, 26)]
    shown = json.loads(run(env, "plan", "show", "hejiang-2011-cxzy", "--year", "2027", "--json").stdout)
    assert shown and all(row["due"].startswith(("2027", "2028")) for row in shown)
    removed = run(env, "plan", "remove", "hejiang-2011-cxzy", "--year", "2027")
    assert removed.returncode == 0 and "(2027): removed; 26 future nodes cancelled" in removed.stdout
    listed = json.loads(run(env, "plan", "list", "--json").stdout)
    assert [(p["applied_year"], p["status"], p["active"]) for p in listed] == [
        (2011, "active", 26), (2026, "active", 26), (2027, "removed", 0)]
    no_year = run(env, "plan", "add", "hejiang-2011-cxzy")
    assert no_year.returncode == 1 and "--year YYYY" in no_year.stderr and "Traceback" not in no_year.stderr
    missing = run(env, "plan", "add", "no-such-plan", "--year", "2027")
    assert missing.returncode == 1 and "no stored plan “no-such-plan”" in missing.stderr


def test_the_migration_goes_back_keeping_the_latest_year(engine: Engine, tmp_path: Path,
                                                           database_url: str) -> None:
    add(engine, load(tmp_path))
    add(engine, load(tmp_path), year=2027)
    engine.dispose()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    back = create_engine(database_url)
    with back.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    with back.connect() as connection:
        milestones = connection.execute(text("SELECT plan_id, key FROM milestone ORDER BY key")).all()
        assert milestones == [("town-cxzy", "baosong"), ("town-cxzy", "fangan")]  # the 2027 version
        assert connection.execute(text("SELECT count(*) FROM occurrence")).scalar_one() == 10
    back.dispose()
    again = scheduler.open_store(database_url)  # and forward again: every node is its plan's head year
    with Session(again) as session:
        assert {row.plan_year for row in session.execute(select(OccurrenceRow)).scalars()} == {2027}
    again.dispose()
