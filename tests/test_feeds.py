"""The iCalendar feeds of the bundled plans, read back by independent parsers.

Every feed (everything, each plan, each unit) must be read by the strict ``ical``
package and by ``icalendar``; a unit's feed, expanded by ``recurring_ical_events``,
must hold exactly the nodes ``scheduler.upcoming`` lists for that unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy import Engine, select
from sqlmodel import Session

import plans
import scheduler
from plans import CALENDAR
from tests.conftest import (
    CATALOG,
    NOW,
    TIMED_UNIT,
    import_bundled,
    render,
    tokens,
    unfold,
    vevents,
)


def check_feed(feed: scheduler.Feed) -> icalendar.Calendar:
    """Everything DESIGN.md ("Feeds") promises about one feed; its parsed calendar."""
    body = feed.body
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert max(len(line) for line in body.split(b"\r\n")) <= 75  # octets, not characters
    text = body.decode("utf-8")
    strict = IcsCalendarStream.calendar_from_ics(text)
    assert len(strict.events) == feed.count
    calendar = icalendar.Calendar.from_ical(text)
    assert len(calendar.walk("VEVENT")) == feed.count
    lines = unfold(text).split("\r\n")
    assert sum(line.startswith(("NAME:", "NAME;")) for line in lines) == 1
    assert sum(line.startswith(("X-WR-CALNAME:", "X-WR-CALNAME;")) for line in lines) == 1
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    events = vevents(text)
    assert len(events) == feed.count  # UIDs are unique
    timed = 0
    for uid, event in events.items():
        assert uid.endswith("@jiedian")
        if "DTSTART;VALUE=DATE" in event:
            start = date.fromisoformat(event["DTSTART;VALUE=DATE"])
            end = date.fromisoformat(event["DTEND;VALUE=DATE"])
            assert end > start  # DTEND is exclusive
            if event["SUMMARY"].startswith("【截止】"):
                assert end == start + timedelta(days=1)  # a deadline is its due date
        else:
            timed += 1
            start_time = datetime.fromisoformat(event["DTSTART;TZID=Asia/Shanghai"])
            assert datetime.fromisoformat(event["DTEND;TZID=Asia/Shanghai"]) > start_time
    assert ("BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\n" in text) == (timed > 0)
    for event in strict.events:  # the strict parser's reading of the same dates
        if isinstance(event.dtstart, datetime):
            assert str(event.dtstart.tzinfo) == "Asia/Shanghai"
    return calendar


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite store holding every bundled plan and the bundled units (read only)."""
    engine = scheduler.open_store(f"sqlite:///{tmp_path_factory.mktemp('feeds') / 'jiedian.db'}")
    import_bundled(engine)
    yield engine
    engine.dispose()


def test_every_bundled_feed_parses_strictly(bundled: Engine) -> None:
    everything = render(bundled)
    check_feed(everything)
    check_feed(render(bundled, alarms=False))
    with Session(bundled) as session:
        summaries = scheduler.plan_summaries(session, today=date(2011, 4, 20))
    assert len(summaries) == len(list(CATALOG.glob("*.yaml")))
    counts = [check_feed(feed) and feed.count
              for feed in (render(bundled, f"plan:{plan.id}") for plan in summaries)]
    assert sum(counts) == everything.count and all(counts)
    units = [render(bundled, f"unit:{name}") for name in sorted(tokens(bundled))]
    for feed in units:
        check_feed(feed)
    assert sum(feed.count > 0 for feed in units) > len(units) // 2


def test_titles_dates_and_times_as_the_plans_say(bundled: Engine) -> None:
    huizhou = render(bundled, "plan:huizhou-2011-djcxn")
    calendar = check_feed(huizhou)
    text = unfold(huizhou.body.decode("utf-8"))
    assert "\r\nSUMMARY:【活动】表彰“四百一千”先锋模范\r\n" in text  # Chinese text intact
    assert "X-WR-CALNAME:节点 · 惠州市“党建工作创新年”活动工作方案" in text
    summaries = {str(event["SUMMARY"]) for event in calendar.walk("VEVENT")}
    assert "【活动】“党代表接待日”" in summaries
    event = vevents(huizhou.body.decode())["huizhou-2011-djcxn/dangdaibiao-jiedairi/2011-06-03@jiedian"]
    assert event["DTSTART;TZID=Asia/Shanghai"] == "20110603T090000"  # 每周五上午
    assert event["DTEND;TZID=Asia/Shanghai"] == "20110603T120000"
    award = vevents(huizhou.body.decode())[
        "huizhou-2011-djcxn/qiyi-biaozhang-sibai-yiqian/2011-06-30@jiedian"]
    assert (award["DTSTART;VALUE=DATE"], award["DTEND;VALUE=DATE"]) == ("20110630", "20110701")
    hejiang = render(bundled, "plan:hejiang-2011-cxzy")
    check_feed(hejiang)
    assert b"BEGIN:VTIMEZONE" not in hejiang.body  # all-day only: no VTIMEZONE
    plan = vevents(hejiang.body.decode())["hejiang-2011-cxzy/chuangjian-fangan/2011-04-30@jiedian"]
    # 4月底前: 2011-04-30 is a rest day (劳动节), so the deadline is placed on the 29th.
    assert (plan["DTSTART;VALUE=DATE"], plan["DTEND;VALUE=DATE"]) == ("20110429", "20110430")
    assert "原定4月30日（周六）逢休息日，提前至4月29日" in plan["DESCRIPTION"]


def _span(event: icalendar.Event) -> tuple[date, date]:
    """The first and last day an expanded occurrence covers."""
    start, end = event["DTSTART"].dt, event["DTEND"].dt
    if isinstance(start, datetime):
        return start.date(), end.date()
    return start, end - timedelta(days=1)


@pytest.mark.parametrize(("first", "days"), [
    (date(2011, 4, 20), 72),
    (date(2011, 6, 1), 214),
    (date(2009, 1, 1), 2000),  # everything
])
def test_unit_feed_holds_what_upcoming_lists(bundled: Engine, first: date, days: int) -> None:
    calendar = check_feed(render(bundled, f"unit:{TIMED_UNIT}"))
    last = first + timedelta(days=days)  # upcoming's horizon is inclusive
    expanded = recurring_ical_events.of(calendar).between(first, last + timedelta(days=1))
    in_feed = {str(e["UID"]).removesuffix("@jiedian"): _span(e) for e in expanded}
    # upcoming lists what is ahead: a node that started before the window and ends after
    # it is running, not coming, while the calendar shows it on every day of the window.
    in_feed = {oid: span for oid, span in in_feed.items()
               if not (span[0] < first and span[1] > last)}
    with Session(bundled) as session:
        listed = scheduler.upcoming(session, CALENDAR, today=first, days=days, unit=TIMED_UNIT)
    expected = {node.occurrence_id: (node.due, node.due) if node.kind == "deadline"
                else (node.start, node.end) for node in listed}
    assert in_feed == expected
    kinds = {node.kind for node in listed}
    assert {"deadline", "event"} <= kinds and any(node.part_of_day for node in listed)


def test_unchanged_store_renders_byte_identical(bundled: Engine) -> None:
    for scope in ("all", "plan:huizhou-2011-djcxn", f"unit:{TIMED_UNIT}"):
        one, two = render(bundled, scope), render(bundled, scope)
        assert one.body == two.body and one.etag == two.etag
        assert one.last_modified == two.last_modified == NOW
    everything = render(bundled)
    with Session(bundled) as session:  # what a conditional request is answered from
        assert scheduler.feed_etag(session, scheduler.scope_all(), now=NOW, alarms=True) == \
            (everything.etag, everything.last_modified)
    quiet = render(bundled, alarms=False)
    assert b"BEGIN:VALARM" not in quiet.body and b"BEGIN:VALARM" in render(bundled).body
    assert quiet.etag != render(bundled).etag


# --- changes: on SQLite and PostgreSQL ----------------------------------------------------

HEJIANG = (CATALOG / "hejiang-2011-cxzy.yaml").read_text(encoding="utf-8")
FANGAN = "hejiang-2011-cxzy/chuangjian-fangan/2011-04-30@jiedian"
GONGKAIRI = ["hejiang-2011-cxzy/gongkairi/2011-05-01@jiedian",
             "hejiang-2011-cxzy/gongkairi/2011-10-01@jiedian"]


def import_text(engine: Engine, tmp_path: Path, text: str, now: datetime) -> None:
    path = tmp_path / "hejiang-2011-cxzy.yaml"
    path.write_text(text, encoding="utf-8")
    with Session(engine) as session:
        scheduler.import_plan(session, plans.load_plan(path, CALENDAR), CALENDAR, now=now)
        session.commit()


def test_changed_milestone_bumps_sequence_and_etag(engine: Engine, tmp_path: Path) -> None:
    import_text(engine, tmp_path, HEJIANG, NOW)
    before = render(engine, "plan:hejiang-2011-cxzy")
    assert vevents(before.body.decode())[FANGAN]["SEQUENCE"] == "0"
    later = NOW + timedelta(days=1)
    import_text(engine, tmp_path, HEJIANG.replace("形成创建方案交镇党建办", "形成创建方案交镇党委"),
                later)
    after = render(engine, "plan:hejiang-2011-cxzy", now=later)
    check_feed(after)
    old, new = vevents(before.body.decode()), vevents(after.body.decode())
    assert new[FANGAN]["SEQUENCE"] == "1"
    assert new[FANGAN]["SUMMARY"] == "【截止】形成创建方案交镇党委"
    assert new[FANGAN]["LAST-MODIFIED"] == new[FANGAN]["DTSTAMP"] == "20110421T010000Z"
    assert after.etag != before.etag and after.last_modified == later
    assert {uid: event for uid, event in new.items() if uid != FANGAN} == \
        {uid: event for uid, event in old.items() if uid != FANGAN}


def test_removed_milestone_is_cancelled_then_dropped(engine: Engine, tmp_path: Path) -> None:
    import_text(engine, tmp_path, HEJIANG, NOW)
    before = render(engine, "plan:hejiang-2011-cxzy")
    removed = re.sub(r"  - id: gongkairi\n.*?(?=  - id: )", "", HEJIANG, flags=re.DOTALL)
    assert removed != HEJIANG
    later = NOW + timedelta(days=1)
    import_text(engine, tmp_path, removed, later)
    cancelled = render(engine, "plan:hejiang-2011-cxzy", now=later)
    check_feed(cancelled)
    events = vevents(cancelled.body.decode())
    for uid in GONGKAIRI:
        assert (events[uid]["STATUS"], events[uid]["SEQUENCE"]) == ("CANCELLED", "1")
    assert cancelled.count == before.count and cancelled.etag != before.etag
    kept = render(engine, "plan:hejiang-2011-cxzy", now=later + timedelta(days=29))
    assert all(uid in vevents(kept.body.decode()) for uid in GONGKAIRI)
    gone = render(engine, "plan:hejiang-2011-cxzy", now=later + timedelta(days=31))
    check_feed(gone)
    assert not any(uid in vevents(gone.body.decode()) for uid in GONGKAIRI)
    assert gone.count == before.count - 2 and gone.etag != kept.etag


UNITS_A = """\
groups: [{name: 甲组}, {name: 乙组}]
units: [{name: 某支部, groups: [甲组], channels: [{id: c, kind: console}]}]
"""
TWO_GROUPS = """\
id: zu-2011
title: 两组
year: 2011
milestones:
  - {id: jia, title: 甲组的事, when: 5月10日, kind: event, units: [甲组]}
  - {id: yi, title: 乙组的事, when: 5月12日, kind: event, units: [乙组]}
"""


def test_unit_moved_to_another_group_changes_etag_and_last_modified(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(UNITS_A, encoding="utf-8")
    (tmp_path / "zu.yaml").write_text(TWO_GROUPS, encoding="utf-8")
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(path), now=NOW)
        scheduler.import_plan(session, plans.load_plan(tmp_path / "zu.yaml", CALENDAR), CALENDAR,
                              now=NOW)
        session.commit()
    later = NOW + timedelta(hours=1)  # the same day: the ETag's date part is the same
    before = render(engine, "unit:某支部", now=later)
    path.write_text(UNITS_A.replace("groups: [甲组]", "groups: [乙组]"), encoding="utf-8")
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(path), now=later)
        session.commit()
    after = render(engine, "unit:某支部", now=later)
    assert "乙组的事" in unfold(after.body.decode()) and after.count == before.count == 1
    # Same count, same newest occurrence, same sequences: only the units set tells them apart.
    assert after.etag != before.etag
    assert after.last_modified == later  # so If-Modified-Since does not answer 304 either


def test_writes_leave_vevents_stale_and_the_first_read_or_the_daemon_renders_them(engine: Engine) -> None:
    """Importing renders nothing; a feed read renders what is stale and keeps it; the daemon's
    warm-up renders the rest between ticks. The bytes are the same either way."""
    from scheduler._feeds import render_stale
    from scheduler._models import OccurrenceRow

    def stale() -> int:
        with Session(engine) as session:
            return len(session.execute(select(OccurrenceRow.id).where(
                OccurrenceRow.ical_event.is_(None))).all())  # type: ignore[union-attr]

    import_bundled(engine)
    total = stale()
    with Session(engine) as session:
        assert total == len(session.execute(select(OccurrenceRow.id)).all()) > 100  # none rendered
    with Session(engine) as session:
        found = scheduler.scope_plan(session, "hejiang-2011-cxzy")
        assert found is not None
        first = scheduler.render_feed(session, found, CALENDAR, now=NOW)
        session.commit()
    assert 0 < stale() < total  # the plan's rows, rendered by the read, were kept
    with Session(engine) as session:
        while render_stale(session, CALENDAR, limit=200):
            session.commit()
    assert stale() == 0
    with Session(engine) as session:
        found = scheduler.scope_plan(session, "hejiang-2011-cxzy")
        assert found is not None
        assert scheduler.render_feed(session, found, CALENDAR, now=NOW).body == first.body
