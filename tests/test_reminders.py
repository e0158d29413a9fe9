"""Reminder policy and dispatch on a frozen, fast-forwarded clock (no sleeping)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session

import notifiers
import plans
import scheduler
from notifiers import Channel, Message, Outcome, Result
from plans import CALENDAR, parse_offset
from scheduler._dispatch import Dispatcher, TickReport
from scheduler._models import ChannelRow, DeliveryRow, ReminderRow
from scheduler._reminders import Policy, fire_time, node_moment, sync_reminders
from tests.conftest import DEMO_PLAN as PLAN, Clock, add, at, import_units, load, serve

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("kind", "day", "offset", "expected"),
    [
        ("deadline", "2012-09-29", "-7d 09:00", "2012-09-24 09:00"),
        ("deadline", "2012-09-29", "-1wd 09:00", "2012-09-28 09:00"),
        ("deadline", "2012-09-29", "0d 09:00", "2012-09-29 09:00"),  # a make-up working Saturday
        ("deadline", "2012-09-29", "0d 22:00", "2012-09-29 20:59"),  # quiet hours: back, same day
        ("deadline", "2012-09-29", "-1d 07:00", "2012-09-28 08:00"),  # quiet hours: forward
        ("deadline", "2011-05-03", "-2d 09:00", "2011-05-03 09:00"),  # 05-01 holiday → next working
        ("event", "2011-05-01", "0d 09:00", "2011-04-29 09:00"),  # a holiday: back before the node
        ("event", "2011-05-01", "-1wd 09:00", "2011-04-29 09:00"),
    ],
)
def test_fire_time(kind: str, day: str, offset: str, expected: str) -> None:
    base = date.fromisoformat(day)
    node = node_moment(kind, base, base, None, SH)
    fired = fire_time(parse_offset(offset), base, node, Policy(), CALENDAR)
    assert fired == at(expected)
    assert fired < node


def test_policy_settings() -> None:
    assert Policy.parse("", "send").quiet is None
    with pytest.raises(ValueError, match="JIEDIAN_QUIET_HOURS"):
        Policy.parse("late", "move")
    with pytest.raises(ValueError, match="JIEDIAN_REST_DAYS"):
        Policy.parse("21:00-08:00", "never")
    fired = fire_time(parse_offset("0d 09:00"), date(2011, 5, 1),
                      node_moment("event", date(2011, 5, 1), date(2011, 5, 1), None, SH),
                      Policy.parse("21:00-08:00", "send"), CALENDAR)
    assert fired == at("2011-05-01 09:00")


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    import_units(engine, tmp_path)
    add(engine, load(tmp_path, PLAN))
    return engine


def sync(engine: Engine, now: datetime) -> scheduler._reminders.SyncReport:
    with Session(engine) as session:
        report = sync_reminders(session, CALENDAR, Policy(), now=now)
        session.commit()
    return report


def reminders(engine: Engine) -> list[ReminderRow]:
    with Session(engine) as session:
        return list(session.execute(select(ReminderRow).order_by(ReminderRow.fire_at,  # type: ignore[arg-type]
                                                                 ReminderRow.id)).scalars())


def test_sync_creates_one_row_per_unit_channel_offset(store: Engine) -> None:
    report = sync(store, at("2011-04-20 09:00"))
    rows = reminders(store)
    fangan = [r for r in rows if r.occurrence_id == "demo-2011/fangan/2011-04-30"]
    # lead 镇党建办 and group 各党(总)支部 (member 机关党支部): 2 units x 3 default offsets
    assert sorted({r.unit_name for r in fangan}) == ["机关党支部", "镇党建办"]
    assert len(fangan) == 6 and report.created == len(rows)
    assert {r.fire_at.astimezone(SH) if r.fire_at.tzinfo else r.fire_at.replace(tzinfo=UTC).astimezone(SH)
            for r in fangan} == {at("2011-04-22 09:00"), at("2011-04-28 09:00"), at("2011-04-29 09:00")}
    again = sync(store, at("2011-04-20 10:00"))
    assert (again.created, again.rescheduled, again.cancelled) == (0, 0, 0)


def test_changed_plan_reschedules_pending_and_cancels_removed(store: Engine, tmp_path: Path) -> None:
    sync(store, at("2011-04-20 09:00"))
    moved = PLAN.replace("when: 4月底前", "when: 4月28日前")
    add(store, load(tmp_path, moved), now=datetime(2011, 4, 21, tzinfo=UTC))
    report = sync(store, at("2011-04-21 09:00"))
    # 4月底前 is cancelled (a new id for 04-28), its pending rows with it.
    assert report.cancelled == 6 and report.created >= 6
    statuses = {r.status for r in reminders(store) if r.occurrence_id.endswith("2011-04-30")}
    assert statuses == {"cancelled"}


class Recorder(Channel):
    """A channel that records what it is asked to send and answers as told; with ``hold``
    set, the sends from the ``hold_from``-th on wait for it (a receiver still answering)."""

    kind = "recorder"
    answers: ClassVar[list[Outcome]] = []
    sent: ClassVar[list[Message]] = []
    units: ClassVar[list[str]] = []
    hold: ClassVar[threading.Event | None] = None
    hold_from: ClassVar[int] = 1

    async def send(self, message: Message) -> Result:
        Recorder.sent.append(message)
        Recorder.units.append(self.destination.unit)
        if Recorder.hold is not None and len(Recorder.sent) >= Recorder.hold_from:
            await asyncio.to_thread(Recorder.hold.wait, 30)
        outcome = Recorder.answers.pop(0) if Recorder.answers else Outcome.DELIVERED
        return Result(outcome, "x", "recorded", retry_after=None)


@pytest.fixture
def recorder(store: Engine, monkeypatch: pytest.MonkeyPatch) -> type[Recorder]:
    monkeypatch.setitem(notifiers.CHANNELS, "recorder", Recorder)
    Recorder.answers, Recorder.sent, Recorder.units, Recorder.hold, Recorder.hold_from = [], [], [], None, 1
    with Session(store) as session:  # every unit's console channel becomes a recorder
        for channel in session.execute(select(ChannelRow)).scalars():
            channel.kind = "recorder"
        session.commit()
    return Recorder


def dispatcher(engine: Engine, **options: object) -> Dispatcher:
    return Dispatcher(engine, worker="test", secrets=notifiers.Secrets({}), jitter=lambda: 0.5,
                      **options)  # type: ignore[arg-type]


def deliveries(engine: Engine) -> list[DeliveryRow]:
    with Session(engine) as session:
        return list(session.execute(select(DeliveryRow).order_by(DeliveryRow.id)).scalars())  # type: ignore[arg-type]


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (10 s at most) for what a tick running in another thread writes."""
    for _ in range(1000):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"never happened: {what}")


def ticking(d: Dispatcher, now: datetime) -> tuple[threading.Thread, list[TickReport]]:
    reports: list[TickReport] = []
    thread = threading.Thread(target=lambda: reports.append(d.tick(now)))
    thread.start()
    return thread, reports


def test_each_reminder_is_sent_once_at_its_time(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    assert d.tick(at("2011-04-22 08:59")).claimed == 0
    first = d.tick(at("2011-04-22 09:00:30"))
    assert first.sent == 2 and first.messages == 2  # one per unit
    assert d.tick(at("2011-04-22 09:01")).claimed == 0  # never twice
    texts = [m.text for m in recorder.sent]
    assert all("形成创建方案交镇党建办" in t and "还有7天" in t for t in texts)
    assert len({m.idempotency_key for m in recorder.sent}) == 2
    with Session(store) as session:
        deliveries = list(session.execute(select(DeliveryRow)).scalars())
    assert len(deliveries) == 2 and all(x.outcome == "delivered" for x in deliveries)
    d.close()


def test_downtime_sends_late_once_and_marks_missed(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    # Down from 04-21 until 04-29 10:00: -7d and -1wd are late, 0d 09:00 too; one digest each.
    report = d.tick(at("2011-04-29 10:00"))
    assert report.messages == 2 and report.sent == 6 and report.late == 6
    assert all("（补发）" in m.text for m in recorder.sent)
    assert d.tick(at("2011-04-29 10:01")).claimed == 0
    # Past the node: what is left of a node that is over is missed, not sent.
    later = d.tick(at("2011-07-01 10:00"))
    assert later.missed > 0
    assert not any("表彰先进" in m.text for m in recorder.sent)
    d.close()


def test_digest_groups_a_units_morning(store: Engine, recorder: type[Recorder], tmp_path: Path) -> None:
    two = PLAN.replace("remind: []", "") + """\
  - id: ziliao
    title: 报送活动资料
    when: 4月29日前
    lead: [镇党建办]
    remind: ["0d 11:00"]
"""
    add(store, load(tmp_path, two), now=datetime(2011, 4, 20, tzinfo=UTC))
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    d.tick(at("2011-04-28 09:00"))
    d.tick(at("2011-04-29 09:00"))
    office = [m for m in recorder.sent if "镇党建办" in m.text and "报送活动资料" in m.text]
    assert len(office) == 1 and "2个节点" in office[0].title  # 09:00 and 11:00 in one message
    assert "补发" not in office[0].text
    assert d.tick(at("2011-04-29 11:00")).claimed == 0  # the 11:00 one went with the digest
    d.close()


def test_transient_failures_retry_with_backoff_then_fail(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    recorder.answers = [Outcome.TRANSIENT, Outcome.TRANSIENT]
    first = d.tick(at("2011-04-22 09:00"))
    assert first.retried == 2
    assert d.tick(at("2011-04-22 09:00:10")).claimed == 0  # backoff: not yet
    second = d.tick(at("2011-04-22 09:01"))  # 30 s x jitter 1.0 later
    assert second.sent == 2
    recorder.answers = [Outcome.PERMANENT] * 10
    third = d.tick(at("2011-04-28 09:00"))
    assert third.failed == 2
    with Session(store) as session:
        failed = session.execute(select(ReminderRow).where(ReminderRow.status == "failed")).all()  # type: ignore[arg-type]
    assert len(failed) == 2
    d.close()


def test_expired_lease_is_claimed_again_with_the_same_key(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    crashed = dispatcher(store)
    with Session(store) as session:  # a daemon that claimed and then died
        claimed = crashed._claim(session, at("2011-04-22 09:00"))
        session.commit()
    keys = {r.batch_key for r in claimed}
    other = Dispatcher(store, worker="other", secrets=notifiers.Secrets({}), jitter=lambda: 0.5)
    assert other.tick(at("2011-04-22 09:01")).claimed == 0  # the lease still holds
    report = other.tick(at("2011-04-22 09:03"))  # lease of 2 minutes is over
    assert report.sent == 2
    assert {m.idempotency_key for m in recorder.sent} == keys
    # the crashed worker's attempts are in the log, their outcome unknown, then the resend
    log = [(d.worker, d.outcome, d.code, d.batch_key) for d in deliveries(store)]
    assert sorted(log[:2]) == sorted(("test", "unknown", "lease_expired", key) for key in keys)
    assert sorted(log[2:]) == sorted(("other", "delivered", "x", key) for key in keys)
    crashed.close()
    other.close()


def test_each_answer_is_recorded_while_the_others_are_still_in_flight(
        store: Engine, recorder: type[Recorder]) -> None:
    """A daemon killed mid-batch resends only what was in flight: the first answer is in the
    store while the second message still waits for its receiver."""
    sync(store, at("2011-04-20 09:00"))
    recorder.hold, recorder.hold_from = threading.Event(), 2
    d = dispatcher(store, in_flight=1)
    thread, reports = ticking(d, at("2011-04-22 09:00"))
    try:
        until(lambda: len(recorder.sent) == 2, "the second message with its receiver")
        until(lambda: [r.status for r in reminders(store)].count("sent") == 1, "the first answer recorded")
        assert [r.outcome for r in deliveries(store)] == ["delivered"]
        assert [r.status for r in reminders(store)].count("claimed") == 1  # the one in flight
    finally:
        recorder.hold.set()
        thread.join(30)
        d.close()
    assert reports[0].sent == 2 and [r.status for r in reminders(store)].count("sent") == 2


def test_the_lease_is_renewed_while_a_slow_receiver_answers(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    recorder.hold = threading.Event()
    now = at("2011-04-22 09:00")
    d = dispatcher(store, in_flight=1, lease=timedelta(seconds=0.6))
    thread, _ = ticking(d, now)

    def leases() -> set[datetime]:
        return {r.lease_until if r.lease_until.tzinfo else r.lease_until.replace(tzinfo=UTC)
                for r in reminders(store) if r.status == "claimed" and r.lease_until}

    other = Dispatcher(store, worker="other", secrets=notifiers.Secrets({}))
    try:
        until(lambda: bool(leases()) and min(leases()) > now + timedelta(seconds=0.7), "a renewed lease")
        assert other.tick(now + timedelta(seconds=0.65)).claimed == 0  # past the first lease
    finally:
        recorder.hold.set()
        thread.join(30)
        other.close()
        d.close()
    assert len(recorder.sent) == 2 and {r.worker for r in deliveries(store)} == {"test"}


def test_a_node_moved_after_the_claim_goes_out_at_its_new_date(store: Engine, recorder: type[Recorder],
                                                               tmp_path: Path) -> None:
    """The plan is re-added with the node moved (4月底前 → 5月10日前) while its reminders are
    claimed: nothing goes out for the old date after the re-add, and the moved node's own
    reminders are there and go out at their time, with its new date."""
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    with Session(store) as session:
        claimed = d._claim(session, at("2011-04-22 09:00"))
        session.commit()
    moved = PLAN.replace("when: 4月底前", "when: 5月10日前")
    assert moved != PLAN
    add(store, load(tmp_path, moved), now=at("2011-04-22 09:00"))
    sync(store, at("2011-04-22 09:00"))  # what plan add does in the same transaction
    report = TickReport()
    d._send(claimed, at("2011-04-22 09:00"), report)
    assert recorder.sent == [] and report.skipped == len(claimed)
    later = d.tick(at("2011-05-03 09:00"))  # -7d of 5月10日 (a Tuesday): its first reminders
    d.close()
    assert later.sent == 2 and all("5月10日" in m.text and "4月29日" not in m.text for m in recorder.sent)


def test_a_node_cancelled_after_the_claim_is_not_sent(store: Engine, recorder: type[Recorder],
                                                      tmp_path: Path) -> None:
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    with Session(store) as session:
        claimed = d._claim(session, at("2011-04-22 09:00"))
        session.commit()
    assert sorted(c.unit_name for c in claimed) == ["机关党支部", "镇党建办"]
    drop_jiguan(store, tmp_path)  # 机关党支部 leaves the directory: its reminders are cancelled …
    sync(store, at("2011-04-22 09:00"))  # … the claimed one too
    report = TickReport()
    d._send(claimed, at("2011-04-22 09:00"), report)
    assert report.sent == 1 and report.skipped == 1  # (the re-import made the channels console again)
    assert sorted((r.unit_name, r.outcome, r.code) for r in deliveries(store)) == [
        ("机关党支部", "skipped", "node_changed"), ("镇党建办", "delivered", "0")]
    ids = {c.id for c in claimed}
    assert {r.unit_name: r.status for r in reminders(store) if r.id in ids} == {
        "机关党支部": "cancelled", "镇党建办": "sent"}
    d.close()


def test_a_node_changed_during_the_sends_is_sent_as_it_is_now(store: Engine, recorder: type[Recorder],
                                                               tmp_path: Path) -> None:
    """Never a stale message: the node's title changes (same dates) while the first of its
    two messages is with the receiver; the second is not sent as worded at the claim."""
    sync(store, at("2011-04-20 09:00"))
    recorder.hold = threading.Event()
    d = dispatcher(store, in_flight=1)
    thread, reports = ticking(d, at("2011-04-22 09:00"))
    try:
        until(lambda: len(recorder.sent) == 1, "the first message with its receiver")
        retitled = PLAN.replace("title: 形成创建方案", "title: 形成创建方案（修订）")
        assert retitled != PLAN
        add(store, load(tmp_path, retitled), now=at("2011-04-22 09:00"))
    finally:
        recorder.hold.set()
        thread.join(30)
        if thread.is_alive() or not reports:
            d.close()
    # the second message was not sent as claimed: it went back to the outbox and out again
    # (the tick claims once more) worded for the node as it is, under a new key
    first, second = recorder.sent
    assert "（修订）" not in first.text and "（修订）" in second.text
    assert reports[0].sent == 2 and reports[0].skipped == 1
    log = deliveries(store)
    assert [(r.outcome, r.code) for r in log] == [("delivered", "x"), ("skipped", "node_changed"),
                                                   ("delivered", "x")]
    assert log[1].batch_key != second.idempotency_key == log[2].batch_key
    d.close()


def test_the_claim_reads_an_index_not_the_table(store: Engine) -> None:
    """However many rows were sent before, the claim walks the (status, fire_at) index."""
    if store.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; bench/dispatch.py measures PostgreSQL")
    sync(store, at("2011-04-20 09:00"))
    statements: list[tuple[str, object]] = []

    def keep(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.startswith("SELECT") and "FROM reminder" in statement:
            statements.append((statement, parameters))

    event.listen(store, "before_cursor_execute", keep)
    d = dispatcher(store)
    try:
        with Session(store) as session:
            d._claim(session, at("2011-04-22 09:00"))
            session.rollback()
    finally:
        event.remove(store, "before_cursor_execute", keep)
        d.close()
    assert len(statements) >= 2, statements  # the expired claims, then the due rows
    with store.connect() as conn:
        for statement, parameters in statements[:2]:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()  # type: ignore[arg-type]
            details = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX ix_reminder_due" in details and "TEMP B-TREE" not in details, details


def test_release_gives_back_unsent_claims(store: Engine, recorder: type[Recorder]) -> None:
    sync(store, at("2011-04-20 09:00"))
    d = dispatcher(store)
    with Session(store) as session:
        d._claim(session, at("2011-04-22 09:00"))
        session.commit()
    assert d.release(at("2011-04-22 09:00")) == 2
    assert d.tick(at("2011-04-22 09:00:05")).sent == 2
    d.close()


def drop_jiguan(store: Engine, tmp_path: Path) -> None:
    """Re-import the units directory cut before 机关党支部 (its last unit)."""
    smaller = Path(tmp_path / "units.yaml").read_text(encoding="utf-8").split("  - name: 机关党支部")[0]
    (tmp_path / "units.yaml").write_text(smaller, encoding="utf-8")
    with Session(store) as session:
        scheduler.import_units(session, plans.load_units(tmp_path / "units.yaml"),
                               now=datetime(2011, 4, 21, tzinfo=UTC))
        session.commit()


def test_units_dropped_from_the_directory_get_nothing(store: Engine, recorder: type[Recorder],
                                                     tmp_path: Path) -> None:
    sync(store, at("2011-04-20 09:00"))
    drop_jiguan(store, tmp_path)
    report = sync(store, at("2011-04-21 09:00"))
    assert report.cancelled == 6  # 机关党支部's three reminders for each of two nodes


def test_sync_cancels_a_row_claimed_after_it_read_it(store: Engine, tmp_path: Path) -> None:
    """The hourly sync and dispatch run side by side (and several daemons share PostgreSQL):
    a reminder claimed between the sync's read and its write is cancelled all the same, its
    lease dropped, so no stale message goes out for it."""
    if store.dialect.name != "postgresql":
        pytest.skip("SQLite: the daemon runs sync and dispatch in turns (one writer at a time)")
    from sqlalchemy import create_engine, event, update

    sync(store, at("2011-04-20 09:00"))
    drop_jiguan(store, tmp_path)
    other = create_engine(store.url)
    claimed: list[int] = []

    def dispatcher_claims_first(_conn: object, _cursor: object, statement: str,
                                parameters: object, *_: object) -> None:
        rows = parameters if isinstance(parameters, list) else [parameters]
        if claimed or not statement.startswith("UPDATE reminder") or not rows \
                or not isinstance(rows[0], dict) or rows[0].get("status") != "cancelled":
            return
        claimed.extend(row["_id"] for row in rows)
        with other.begin() as conn:  # another daemon claims them now, and commits
            conn.execute(update(ReminderRow.__table__).where(  # type: ignore[attr-defined]
                ReminderRow.__table__.c.id.in_(claimed)).values(  # type: ignore[attr-defined]
                status="claimed", lease_owner="other"))

    event.listen(store, "before_cursor_execute", dispatcher_claims_first)
    try:
        sync(store, at("2011-04-21 09:00"))
    finally:
        event.remove(store, "before_cursor_execute", dispatcher_claims_first)
        other.dispose()
    assert len(claimed) == 6  # 机关党支部's reminders, which the sync meant to cancel
    # cancelled all the same: the dispatcher holding them reads them again before it sends
    # (test_a_node_cancelled_after_the_claim_is_not_sent) and records no answer on them
    states = {r.id: (r.status, r.lease_owner) for r in reminders(store)}
    assert {states[i] for i in claimed} == {("cancelled", None)}


def test_metrics_in_the_prometheus_text_format(store: Engine, recorder: type[Recorder]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    sync(store, at("2011-04-20 09:00"))
    now = at("2011-04-22 09:00")
    metrics = scheduler.Metrics(store, lambda: now)
    d = dispatcher(store, metrics=metrics)
    daemon = scheduler.Daemon(store, CALENDAR, d, policy=Policy(), clock=lambda: now)
    recorder.answers = [Outcome.DELIVERED, Outcome.TRANSIENT]
    daemon.tick(sync=False)
    with serve(store, Clock(now), metrics=metrics) as base, \
            httpx.Client(timeout=30, trust_env=False) as http:
        answer = http.get(f"{base}/metrics")
    d.close()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(answer.text) for s in family.samples}
    assert samples[("jiedian_messages_total", (("channel", "recorder"), ("outcome", "delivered")))] == 1
    assert samples[("jiedian_messages_total", (("channel", "recorder"), ("outcome", "transient")))] == 1
    assert samples[("jiedian_reminders_total", (("outcome", "sent"),))] == 1
    assert samples[("jiedian_reminders_total", (("outcome", "retried"),))] == 1
    assert samples[("jiedian_provider_latency_seconds_count", (("channel", "recorder"),))] == 2
    assert samples[("jiedian_tick_seconds_count", ())] == 1
    assert samples[("jiedian_claim_seconds_count", ())] >= 1
    pending = len([r for r in reminders(store) if r.status in ("pending", "claimed")])
    assert samples[("jiedian_reminders_pending", ())] == pending > 0
    assert samples[("jiedian_reminders_late", ())] == 0
