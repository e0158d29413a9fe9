"""Clock times in `when` (晚7点到9点, 17:30之前) reach the store, the feeds and the reminders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

import plans
import scheduler
from plans import CALENDAR, day_times, parse
from scheduler._models import OccurrenceRow, ReminderRow
from scheduler._reminders import node_moment
from tests.conftest import NOW, render, unfold, vevents

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAN = """\
id: clock-2011
title: 读书班安排
year: 2011
milestones:
  - id: dushuban
    title: 读书班集中学习
    when: 5月10日晚7点到9点
    units: [镇党建办]
  - id: cailiao
    title: 报送学习材料
    when: 5月12日17:30之前
    units: [镇党建办]
"""


def test_day_times_reads_parts_of_the_day_and_clock_times() -> None:
    assert day_times("上午") == (datetime(1, 1, 1, 9).time(), datetime(1, 1, 1, 12).time())
    assert str(day_times("19:00-21:00")) == "(datetime.time(19, 0), datetime.time(21, 0))"
    assert [t.isoformat() for t in day_times("09:30") or ()] == ["09:30:00", "10:30:00"]
    assert day_times(None) is None and day_times("全天") is None


def test_a_deadline_with_a_clock_time_is_due_at_that_time() -> None:
    day = datetime(2011, 5, 12).date()
    assert node_moment("deadline", day, day, "17:30", SHANGHAI) == datetime(
        2011, 5, 12, 17, 30, tzinfo=SHANGHAI)
    assert node_moment("event", day, day, "19:00-21:00", SHANGHAI).hour == 19


def test_clock_times_are_stored_and_become_timed_events(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "clock.yaml"
    path.write_text(PLAN, encoding="utf-8")
    units = tmp_path / "units.yaml"
    units.write_text("units:\n  - name: 镇党建办\n    channels: [{id: c, kind: console}]\n",
                     encoding="utf-8")
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(units), now=NOW)
        scheduler.import_plan(session, plans.load_plan(path, CALENDAR), CALENDAR, now=NOW)
        session.commit()
        stored = dict(session.execute(select(OccurrenceRow.milestone_key,  # type: ignore[call-overload]
                                             OccurrenceRow.part_of_day)).all())
    assert stored == {"dushuban": "19:00-21:00", "cailiao": "17:30"}
    text = render(engine, "plan:clock-2011").body.decode("utf-8")
    event = vevents(text)["clock-2011/dushuban/2011-05-10@jiedian"]
    assert event["DTSTART;TZID=Asia/Shanghai"] == "20110510T190000"
    assert event["DTEND;TZID=Asia/Shanghai"] == "20110510T210000"
    assert "BEGIN:VTIMEZONE" in unfold(text)
    with Session(engine) as session:
        scheduler.sync_reminders(session, CALENDAR, scheduler.Policy(), now=NOW)
        session.commit()
        rows = session.execute(select(OccurrenceRow.milestone_key, ReminderRow.fire_at,  # type: ignore[call-overload]
                                      ReminderRow.node_at)
                               .join(OccurrenceRow, OccurrenceRow.id == ReminderRow.occurrence_id)).all()
    nodes = {milestone: node_at.astimezone(SHANGHAI) for milestone, _, node_at in rows}
    assert nodes["cailiao"] == datetime(2011, 5, 12, 17, 30, tzinfo=SHANGHAI)
    assert nodes["dushuban"] == datetime(2011, 5, 10, 19, 0, tzinfo=SHANGHAI)
    assert all(fire < node for _, fire, node in rows)


@pytest.mark.parametrize(("expression", "clock"), [
    ("2019年9月30日,上午7:00", "07:00"),  # a comma between the day and its hour
    ("10月12日8:30分", "08:30"),  # 8:30 with its 分 written
    ("6月1日上午9:00時", "09:00"),
])
def test_a_day_and_its_hour_as_notices_write_them(expression: str, clock: str) -> None:
    [occurrence] = parse(expression).expand(2019, CALENDAR)
    assert occurrence.part_of_day == clock
