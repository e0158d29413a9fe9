"""Supervision (督办): units confirm what they have done; the lead unit sees who has not."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import icalendar
import openpyxl
import pytest
from sqlalchemy import Engine, create_engine, select
from sqlmodel import Session

import notifiers
import scheduler
from notifiers import Channel, Message, Outcome, Result
from plans import CALENDAR
from scheduler._dispatch import Dispatcher
from scheduler._models import AcknowledgementRow, ChannelRow, ReminderRow, UnitRow
from scheduler._reminders import Policy, sync_reminders
from tests.conftest import (
    CHROMIUM,
    DEMO_PLAN as PLAN,
    DEMO_UNITS as UNITS,
    Clock,
    ack_tokens,
    add,
    chromium,
    import_units,
    invoke as run,
    load,
    serve,
    tokens,
)

SCHOOL = """\
  - name: 学校党支部
    groups: [各党(总)支部]
    channels: [{id: xx-console, kind: console}]
"""
UNITS2 = UNITS + SCHOOL
FANGAN = "demo-2011/fangan/2011-04-30"  # lead 镇党建办, units 各党(总)支部; due 2011-04-29
BASE = "http://jiedian.test"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


class Recorder(Channel):
    kind = "recorder"
    sent: ClassVar[list[tuple[str, Message]]] = []

    async def send(self, message: Message) -> Result:
        Recorder.sent.append((self.destination.unit, message))  # type: ignore[attr-defined]
        return Result(Outcome.DELIVERED, "ok", "recorded", retry_after=None)


@pytest.fixture
def store(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    import_units(engine, tmp_path, UNITS2)
    add(engine, load(tmp_path, PLAN))
    monkeypatch.setitem(notifiers.CHANNELS, "recorder", Recorder)
    Recorder.sent = []
    with Session(engine) as session:
        for channel in session.execute(select(ChannelRow)).scalars():
            channel.kind = "recorder"
        session.commit()
    return engine


def sync(engine: Engine, now: datetime) -> scheduler.SyncReport:
    with Session(engine) as session:
        report = sync_reminders(session, CALENDAR, Policy(), now=now)
        session.commit()
    return report


def confirm(engine: Engine, unit: str, now: datetime, occurrence: str = FANGAN,
            source: str = "cli") -> scheduler.AckResult:
    with Session(engine) as session:
        result = scheduler.acknowledge(session, occurrence, unit, CALENDAR, now=now,
                                       source=source, note="已报送")
        session.commit()
    return result


def statuses(engine: Engine, unit: str) -> set[str]:
    with Session(engine) as session:
        return {r.status for r in session.execute(select(ReminderRow).where(
            ReminderRow.occurrence_id == FANGAN, ReminderRow.unit_name == unit)).scalars()}  # type: ignore[arg-type]


def description(engine: Engine, occurrence: str = FANGAN) -> str:
    with Session(engine) as session:
        feed = scheduler.render_feed(session, scheduler.scope_all(), CALENDAR,
                                     now=at("2011-04-21T09:00"))
    events = icalendar.Calendar.from_ical(feed.body).walk("VEVENT")
    return str(next(e for e in events if str(e["UID"]) == f"{occurrence}@jiedian")["DESCRIPTION"])


def test_confirmed_unit_gets_no_more_reminders_and_the_lead_is_told_once(store: Engine) -> None:
    sync(store, at("2011-04-20T09:00"))
    assert "办结情况：已确认 0/2（未确认：学校党支部、机关党支部）" in description(store) or \
        "办结情况：已确认 0/2（未确认：机关党支部、学校党支部）" in description(store)
    first = confirm(store, "机关党支部", at("2011-04-21T10:00"))
    assert first.created and first.source == "cli"
    again = confirm(store, "機關黨支部", at("2011-04-21T11:00"), source="web")  # idempotent
    assert not again.created and again.source == "cli" and again.done_at == first.done_at
    with Session(store) as session:
        acks = list(session.execute(select(AcknowledgementRow)).scalars())
    assert [(a.unit_name, a.source, a.note) for a in acks] == [("机关党支部", "cli", "已报送")]
    assert statuses(store, "机关党支部") == {"done"}
    assert "办结情况：已确认 1/2（未确认：学校党支部）" in description(store)
    assert sync(store, at("2011-04-21T12:00")).created == 0  # no new rows for a confirmed unit
    assert statuses(store, "机关党支部") == {"done"}

    with pytest.raises(scheduler.AckError) as refused:  # 镇党委 has nothing to do with it
        confirm(store, "镇党委", at("2011-04-21T10:00"))
    assert refused.value.reason == "not_addressed"

    d = Dispatcher(store, worker="t", secrets=notifiers.Secrets({}), base_url=BASE,
                   jitter=lambda: 0.5)
    assert d.tick(at("2011-04-22T09:00:30")).messages == 2
    reached = sorted(unit for unit, _ in Recorder.sent)
    assert reached == ["学校党支部", "镇党建办"]  # not 机关党支部: it confirmed
    school = next(m for unit, m in Recorder.sent if unit == "学校党支部")
    token, feed = ack_tokens(store)["学校党支部"], tokens(store)["学校党支部"]
    assert f"办结确认：{BASE}/ack/{token}/{FANGAN}" in school.text
    assert f"[办结确认]({BASE}/ack/{token}/{FANGAN})" in school.markdown
    assert f"/ack/{feed}/" not in school.text and f"/feeds/u/{feed}.ics" in school.text

    Recorder.sent = []
    d.tick(at("2011-04-30T08:59"))
    assert not [m for _, m in Recorder.sent if "督办" in m.title]
    report = d.tick(at("2011-04-30T09:00:10"))  # the day after the due date, 09:00
    escalations = [(unit, m) for unit, m in Recorder.sent if "督办" in m.title]
    assert [unit for unit, _ in escalations] == ["镇党建办"] and report.messages == 1
    message = escalations[0][1]
    assert "未确认办结（1/2）：学校党支部" in message.text and "机关党支部" not in message.text
    lead = tokens(store)["镇党建办"]  # its own 督办 view, which JIEDIAN_ADMIN_TOKEN does not close
    assert f"{BASE}/u/{lead}/status?plan=demo-2011" in message.text
    assert d.tick(at("2011-04-30T10:00")).claimed == 0  # once
    sync(store, at("2011-04-30T11:00"))
    assert d.tick(at("2011-05-01T09:00")).claimed == 0
    with Session(store) as session:
        rows = list(session.execute(select(ReminderRow).where(
            ReminderRow.kind == "escalation")).scalars())
    assert [(r.unit_name, r.status, r.offset) for r in rows] == [("镇党建办", "sent", "+1d 09:00")]
    d.close()


def test_no_escalation_when_everyone_confirmed(store: Engine) -> None:
    confirm(store, "机关党支部", at("2011-04-21T10:00"))
    confirm(store, "学校党支部", at("2011-04-21T10:00"))
    assert "办结情况：已确认 2/2（全部确认）" in description(store)
    d = Dispatcher(store, worker="t", secrets=notifiers.Secrets({}), jitter=lambda: 0.5)
    d.tick(at("2011-04-30T09:00:10"))
    assert not [m for _, m in Recorder.sent if "督办" in m.title]
    d.close()


def test_status_matrix(store: Engine) -> None:
    confirm(store, "机关党支部", at("2011-04-28T10:00"))
    with Session(store) as session:
        matrix = scheduler.status_matrix(session, today=date(2011, 5, 1), plan="demo-2011")
        branch = scheduler.status_matrix(session, today=date(2011, 5, 1), plan="demo-2011",
                                         unit="各党支部")
        with pytest.raises(scheduler.AckError):
            scheduler.status_matrix(session, today=date(2011, 5, 1), unit="不存在的单位")
    rows = {r.occurrence_id: r.cells for r in matrix.rows}
    assert rows[FANGAN] == {"机关党支部": "done", "学校党支部": "overdue"}
    assert rows["demo-2011/biaozhang/2011-06-30"] == {"镇党委": "pending"}  # no 责任单位: the lead
    assert rows["demo-2011/baosong/2011-06-30"] == {"机关党支部": "pending", "学校党支部": "pending"}
    assert set(matrix.units) == {"镇党委", "机关党支部", "学校党支部"}
    assert set(branch.units) == {"机关党支部", "学校党支部"}
    assert "demo-2011/biaozhang/2011-06-30" not in {r.occurrence_id for r in branch.rows}


def test_acknowledgement_over_http(store: Engine) -> None:
    clock = Clock(at("2011-04-21T10:00").astimezone(UTC))
    names, feeds = ack_tokens(store), tokens(store)
    with serve(store, clock) as base, httpx.Client(timeout=30, trust_env=False) as http:
        # the right to read is not the right to confirm: the feed's token opens no ack page
        reader = http.post(scheduler.ack_url(base, feeds["学校党支部"], FANGAN), data={"note": "冒充"})
        assert reader.status_code == 404 and "链接无效" in reader.text
        link = scheduler.ack_url(base, names["学校党支部"], FANGAN)
        shown = http.get(link)
        assert shown.status_code == 200 and "<form method='post'>" in shown.text
        assert "形成创建方案交镇党建办" in shown.text and shown.headers["cache-control"] == "no-store"
        assert statuses(store, "学校党支部") in ({"pending"}, set())  # a GET changes nothing
        with Session(store) as session:
            assert session.execute(select(AcknowledgementRow)).first() is None

        done = http.post(link, data={"note": "已交"})
        assert done.status_code == 200 and "已确认办结" in done.text
        repeat = http.post(link, data={})
        assert repeat.status_code == 200 and "此前已确认" in repeat.text and "未作改动" in repeat.text
        assert "此前已确认" in http.get(link).text
        with Session(store) as session:
            acks = list(session.execute(select(AcknowledgementRow)).scalars())
        assert [(a.unit_name, a.source, a.note) for a in acks] == [("学校党支部", "web", "已交")]

        wrong = http.post(scheduler.ack_url(base, "not-a-token", FANGAN))
        assert wrong.status_code == 404 and "链接无效" in wrong.text
        elsewhere = http.post(scheduler.ack_url(base, names["镇党委"], FANGAN))
        assert elsewhere.status_code == 404 and "不是发给镇党委的" in elsewhere.text
        unknown = http.post(scheduler.ack_url(base, names["机关党支部"], "demo-2011/nope/2011-01-01"))
        assert unknown.status_code == 404 and "没有这个节点" in unknown.text

        old = scheduler.ack_url(base, names["机关党支部"], FANGAN)
        with Session(store) as session:  # a new feed URL alone leaves the ack links as they are
            scheduler.rotate_token(session, "机关党支部", now=at("2011-04-21T10:00"), ack=False)
            session.commit()
        assert http.get(old).status_code == 200
        with Session(store) as session:  # rotating (both, by default) revokes the ack links
            scheduler.rotate_token(session, "机关党支部", now=at("2011-04-21T10:00"))
            session.commit()
        revoked = http.post(old)
        assert revoked.status_code == 404 and "链接无效" in revoked.text
        assert http.get(scheduler.ack_url(base, ack_tokens(store)["机关党支部"], FANGAN)).status_code == 200
        with Session(store) as session:
            assert len(session.execute(select(AcknowledgementRow)).all()) == 1

        page = http.get(f"{base}/status?plan=demo-2011")
        assert page.status_code == 200
        assert "data-unit='学校党支部' data-state='done'" in page.text
        assert "data-unit='机关党支部' data-state='pending'" in page.text
        assert http.get(f"{base}/status?plan=nope").status_code == 404
        # a lead unit's view: the nodes it leads only (镇党建办 leads 形成创建方案, not 表彰)
        led = http.get(f"{base}/u/{feeds['镇党建办']}/status?plan=demo-2011")
        assert led.status_code == 200 and "形成创建方案" in led.text and "data-unit='学校党支部'" in led.text
        assert "demo-2011/biaozhang" not in led.text and "表彰" not in led.text
        assert http.get(f"{base}/u/not-a-token/status").status_code == 404


def test_a_confirmation_body_is_bounded(store: Engine) -> None:
    """A confirmation is a few hundred bytes: a huge POST is refused (413) without being read
    whole, declared or streamed in chunks, and confirms nothing."""
    clock = Clock(at("2011-04-21T10:00").astimezone(UTC))
    link_of = ack_tokens(store)
    with serve(store, clock) as base, httpx.Client(timeout=30, trust_env=False) as http:
        link = scheduler.ack_url(base, link_of["学校党支部"], FANGAN)
        declared = http.post(link, content=b"note=" + b"x" * 10_000_000,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert declared.status_code == 413 and "内容过长" in declared.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
            yield b"note="
            for _ in range(200):
                yield b"x" * 65_536

        streamed = http.post(link, content=chunks(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert streamed.status_code == 413
        with Session(store) as session:
            assert session.execute(select(AcknowledgementRow)).first() is None
        note = "已报送" * 160  # 480 characters, the longest note a person writes here
        assert http.post(link, data={"note": note}).status_code == 200
        with Session(store) as session:
            assert session.execute(select(AcknowledgementRow.note)).scalar_one() == note


def test_status_page_in_chromium(store: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium")
    confirm(store, "机关党支部", at("2011-04-28T10:00"))
    with serve(store, Clock(at("2011-05-01T10:00").astimezone(UTC))) as base:
        dumped = chromium(tmp_path, f"{base}/status?plan=demo-2011", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "办结情况 · 示范镇2011年创先争优工作要点" in dom
    row = dom.split(f'data-id="{FANGAN}"')[1].split("</tr>")[0]
    assert 'data-unit="机关党支部" data-state="done"' in row and "✓" in row
    assert 'data-unit="学校党支部" data-state="overdue"' in row and "✗" in row
    overdue = dom.count('data-state="overdue"')  # 学校党支部 late for 形成创建方案, both for Q1
    assert overdue == 3 and f'<b data-count="overdue">{overdue}</b>' in dom


# --- the CLI ------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    units, plan = tmp_path / "units.yaml", tmp_path / "plan.yaml"
    units.write_text(UNITS2, encoding="utf-8")
    plan.write_text(PLAN, encoding="utf-8")
    yield units, plan


def test_done_status_and_report_from_the_cli(env: dict[str, str], files: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    units, plan = files
    assert run(env, "units", "import", str(units)).returncode == 0
    assert run(env, "plan", "add", str(plan)).returncode == 0
    done = run(env, "done", FANGAN, "--unit", "机关党支部", "--note", "已报送")
    assert done.returncode == 0, done.stderr
    assert "机关党支部: confirmed “形成创建方案交镇党建办”" in done.stdout
    again = run(env, "done", FANGAN, "--unit", "机关党支部")
    assert again.returncode == 0 and "already confirmed" in again.stdout and "(cli)" in again.stdout
    refused = run(env, "done", FANGAN, "--unit", "镇党委")
    assert refused.returncode == 1 and "not addressed to 镇党委" in refused.stderr
    assert run(env, "done", "demo-2011/nope", "--unit", "机关党支部").returncode == 1

    late = {**env, "JIEDIAN_NOW": "2011-05-01T09:00"}
    status = run(late, "status", "--plan", "demo-2011")
    assert status.returncode == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if "形成创建方案" in x)
    assert "✓" in line and "✗" in line
    assert "✓ 已确认 1" in status.stdout and "✗ 逾期未确认 3" in status.stdout
    assert "学校党支部" in run(late, "status", "--unit", "学校党支部").stdout
    assert run(late, "status", "--unit", "不存在").returncode == 1

    table = tmp_path / "report.csv"
    assert run(late, "report", "--plan", "demo-2011", "--format", "csv", "-o", str(table)).returncode == 0
    rows = list(csv.reader(table.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    assert header[:3] == ["截止", "节点", "节点编号"] and header[-2:] == ["已确认", "未确认"]
    fangan = next(r for r in rows if r[2] == FANGAN)
    assert fangan[header.index("机关党支部")] == "已确认"
    assert fangan[header.index("学校党支部")] == "逾期未确认"
    assert fangan[-2:] == ["1/2", "学校党支部"]

    book = tmp_path / "report.xlsx"
    made = run(late, "report", "--plan", "demo-2011", "--format", "xlsx", "-o", str(book))
    assert made.returncode == 0, made.stderr
    workbook = openpyxl.load_workbook(book)
    sheet = workbook.active
    values = [["" if c is None else c for c in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    assert values[0][0] == "办结情况 · demo-2011 · 2011-05-01"
    assert values[1:] == rows  # the same matrix as the CSV
    assert run(late, "report", "--plan", "demo-2011", "--format", "pdf", "-o",
               str(tmp_path / "x.pdf")).returncode == 2
    missing = run(late, "report", "--plan", "demo-2011", "-o", str(tmp_path / "no" / "r.csv"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "r.csv: cannot be written" in missing.stderr
    assert sorted(p.name for p in tmp_path.glob(".report*")) == []  # no temporary left behind


def test_a_failed_report_leaves_the_last_good_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler import _report

    target = tmp_path / "report.xlsx"
    target.write_bytes(b"last week's report")

    def broken(output: Path, *_: object) -> None:
        output.write_bytes(b"half a wor")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report, "_write_xlsx", broken)
    matrix = scheduler.Matrix(units=["机关党支部"], rows=[], today=date(2011, 5, 1))
    with pytest.raises(OSError):
        scheduler.write_report(matrix, "demo", target, "xlsx")
    assert target.read_bytes() == b"last week's report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_escalations_are_a_kind_of_reminder_and_the_migration_goes_both_ways(
        store: Engine, database_url: str) -> None:
    """0009 turns the old "escalate +1d 09:00" offsets into kind = escalation, offset +1d 09:00
    (a reminder may then share the offset), and back."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    offset = "+1d 09:00"
    with Session(store) as session:
        unit = session.execute(select(UnitRow).where(UnitRow.name == "镇党建办")).scalar_one()
        channel = session.execute(select(ChannelRow).where(ChannelRow.unit_id == unit.id)).scalars().first()
        assert channel is not None
        moment = at("2011-04-30T09:00")
        for kind in ("reminder", "escalation"):
            session.add(ReminderRow(occurrence_id=FANGAN, unit_id=unit.id, unit_name=unit.name,
                                    channel_id=channel.id, kind=kind, offset=offset, fire_at=moment,
                                    node_at=moment, created_at=moment, updated_at=moment))
        session.commit()
    store.dispose()
    config = Config()
    config.set_main_option("script_location", str(Path(scheduler.__file__).parent / "migrations"))
    back = create_engine(database_url)
    with back.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with back.connect() as connection:
        offsets = sorted(r[0] for r in connection.execute(text('SELECT "offset" FROM reminder')))
    back.dispose()
    assert f"escalate {offset}" in offsets and offset in offsets
    again = scheduler.open_store(database_url)
    with Session(again) as session:
        rows = session.execute(select(ReminderRow.kind, ReminderRow.offset).where(
            ReminderRow.offset == offset)).all()
    again.dispose()
    assert sorted(rows) == [("escalation", offset), ("reminder", offset)]
