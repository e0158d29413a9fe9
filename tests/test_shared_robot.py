"""Forty units whose channels all point at one DingTalk group robot (20 messages a minute,
then blocked for ten minutes): one message per window for the whole group, and a limit
that belongs to the robot's URL, shared by every daemon on the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from sqlmodel import Session

import notifiers
import plans
import scheduler
from scheduler._models import REMINDER, DeliveryRow, ReminderRow
from tests.conftest import DEMO_PLAN, add, load
from tests.providers.robots import DingTalkRobot, FakeClock
from tests.providers.server import Server, serve

UNITS = 40
T0 = datetime(2011, 4, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def units_yaml(url: str) -> str:
    lines = ["groups:", "  - name: 各村党支部", "units:"]
    for i in range(UNITS):
        lines += [f"  - name: 第{i}村党支部", "    groups: [各村党支部]",
                  f"    people: [{{name: 书记{i}, mobile: '1380000{i:04d}'}}]",
                  f'    channels: [{{id: ding-{i}, kind: dingtalk, url: "{url}", at_mobiles: true}}]']
    return "\n".join(lines) + "\n"


@pytest.fixture
def robot() -> Iterator[tuple[DingTalkRobot, Server]]:
    stand_in = DingTalkRobot(FakeClock(T0.timestamp()))
    with serve(stand_in) as server:
        yield stand_in, server


@pytest.fixture
def group(engine: Engine, tmp_path: Path, robot: tuple[DingTalkRobot, Server]) -> Engine:
    """The forty units on one robot, and a node; no reminders yet (each test writes its own)."""
    _, server = robot
    (tmp_path / "units.yaml").write_text(units_yaml(f"{server.url}/robot/send?access_token=ding-token"),
                                         encoding="utf-8")
    with Session(engine) as session:
        directory = plans.load_units(tmp_path / "units.yaml", notifiers.CHANNEL_CONFIGS)
        scheduler.import_units(session, directory, now=T0)
        session.commit()
    add(engine, load(tmp_path, DEMO_PLAN), now=T0)
    return engine


def due(engine: Engine, fire_at: list[datetime]) -> None:
    """Unit i's reminder for the 4月底前 node falls due at ``fire_at[i]``."""
    with Session(engine) as session:
        units = {name: uid for uid, name in session.execute(
            select(scheduler._models.UNIT.c.id, scheduler._models.UNIT.c.name))}
        session.execute(insert(REMINDER), [{
            "occurrence_id": "demo-2011/fangan/2011-04-30", "unit_id": units[f"第{i}村党支部"],
            "unit_name": f"第{i}村党支部", "channel_id": f"ding-{i}", "offset": "-7d 09:00",
            "fire_at": fire, "node_at": T0 + timedelta(days=8), "status": "pending", "attempts": 0,
            "late": False, "created_at": T0, "updated_at": T0} for i, fire in enumerate(fire_at)])
        session.commit()


def dispatcher(engine: Engine, worker: str) -> scheduler.Dispatcher:
    return scheduler.Dispatcher(engine, worker=worker, secrets=notifiers.Secrets({}),
                                jitter=lambda: 0.5)


def test_forty_units_on_one_robot_get_one_message(group: Engine,
                                                  robot: tuple[DingTalkRobot, Server]) -> None:
    stand_in, _ = robot
    due(group, [T0] * UNITS)
    d = dispatcher(group, "a")
    report = d.tick(T0)
    d.close()
    assert (report.sent, report.messages) == (UNITS, 1) and stand_in.throttled == 0
    [body] = stand_in.received
    text = body["markdown"]["text"]
    assert all(f"第{i}村党支部" in text for i in range(UNITS))  # each unit's section …
    assert text.count("/ack/") == UNITS  # … with its own confirmation link
    assert sorted(body["at"]["atMobiles"]) == sorted(f"1380000{i:04d}" for i in range(UNITS))
    with Session(group) as session:
        log = list(session.execute(select(DeliveryRow)).scalars())
        statuses = {r.status for r in session.execute(select(ReminderRow)).scalars()}
    assert len(log) == UNITS and {r.outcome for r in log} == {"delivered"}
    assert len({r.batch_key for r in log}) == 1 and statuses == {"sent"}  # one key: one message


def test_two_daemons_trickling_into_one_robot_never_trip_its_limit(
        group: Engine, robot: tuple[DingTalkRobot, Server]) -> None:
    """The units' reminders fall due one every 1.5 s, so each tick has a new one to send; two
    daemons take turns. Per process or per channel row, 40 messages would go in a minute
    and DingTalk would answer 130101 and block the robot. Shared by the robot's URL, 20 go,
    the rest wait for the window and go out together."""
    stand_in, _ = robot
    due(group, [T0 + timedelta(seconds=1.5 * i) for i in range(UNITS)])
    daemons = [dispatcher(group, "a"), dispatcher(group, "b")]
    sent, deferred = 0, 0
    arrivals: list[float] = []
    for step in range(360):  # three minutes of ticks every half second, the daemons in turn
        moment = T0 + timedelta(seconds=0.5 * step)
        stand_in.clock.now = moment.timestamp()
        before = len(stand_in.received)
        report = daemons[step % 2].tick(moment)
        arrivals += [moment.timestamp()] * (len(stand_in.received) - before)
        sent, deferred = sent + report.sent, deferred + report.deferred
        if sent == UNITS:
            break
    for d in daemons:
        d.close()
    assert stand_in.throttled == 0, "the robot answered 130101"
    assert sent == UNITS and deferred > 0
    assert max(sum(1 for t in arrivals if start <= t < start + 60) for start in arrivals) <= 20
    texts = " ".join(body["markdown"]["text"] for body in stand_in.received)
    assert all(f"第{i}村党支部" in texts for i in range(UNITS))
    with Session(group) as session:
        assert {r.status for r in session.execute(select(ReminderRow)).scalars()} == {"sent"}
        workers = {r.worker for r in session.execute(select(DeliveryRow)).scalars()}
    assert workers == {"a", "b"}


def test_a_unit_gone_from_the_directory_leaves_the_rest_of_the_message(
        group: Engine, robot: tuple[DingTalkRobot, Server]) -> None:
    """Between the claim and the send a unit's rows lose their unit (removed by hand, no
    sync): the others still get the group's message; its rows are recorded undeliverable."""
    stand_in, _ = robot
    due(group, [T0] * 3)
    d = dispatcher(group, "a")
    with Session(group) as session:
        claimed = d._claim(session, T0)
        session.commit()
        session.execute(scheduler._models.CHANNEL.delete().where(
            scheduler._models.CHANNEL.c.id == "ding-1"))
        session.commit()
    report = scheduler.TickReport()
    d._send(claimed, T0, report)
    d.close()
    [body] = stand_in.received
    assert "第0村党支部" in body["markdown"]["text"] and "第1村党支部" not in body["markdown"]["text"]
    with Session(group) as session:
        log = {r.unit_name: (r.outcome, r.code) for r in session.execute(select(DeliveryRow)).scalars()}
    assert log == {"第0村党支部": ("delivered", "0"), "第2村党支部": ("delivered", "0"),
                   "第1村党支部": ("permanent", "no_destination")}
