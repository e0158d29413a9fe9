"""A destination's own rate limit (``rate_limit`` in its units-file entry), for a webhook
receiver and an SMS account: it belongs to the destination — the URL, the account — not
to a channel row or a process, so units whose channels share one, sent by two daemons
taking turns, never go past it; the rest wait for the window and none is lost or repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from sqlmodel import Session

import notifiers
import plans
import scheduler
from notifiers._config import parse_rate_limit
from scheduler._models import REMINDER, UNIT, DeliveryRow, ReminderRow
from tests.conftest import DEMO_PLAN, add, load
from tests.providers.robots import FakeClock, WebhookReceiver
from tests.providers.server import serve
from tests.providers.sms import TencentSms
from tests.providers.wecom_app import WeComApp

T0 = datetime(2011, 4, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TC_ID, TC_KEY = "AKIDjiedianTestSecretId0123456789", "jiedianTencentKey0123456789abcd"


def store(engine: Engine, tmp_path: Path, channel: Callable[[int], str], units: int,
          person: Callable[[int], str] = lambda i: f"{{name: 书记{i}, mobile: '1380000{i:04d}'}}",
          every: float = 0.0) -> Engine:
    """``units`` units, unit i with one person ``person(i)`` and the channel ``channel(i)``;
    the demo plan and each unit's reminder, unit i's due at T0 + i × ``every`` seconds."""
    lines = ["units:"]
    for i in range(units):
        lines += [f"  - name: 第{i}村党支部", f"    people: [{person(i)}]", f"    channels: [{channel(i)}]"]
    (tmp_path / "units.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(tmp_path / "units.yaml", notifiers.CHANNEL_CONFIGS),
                               now=T0)
        session.commit()
    add(engine, load(tmp_path, DEMO_PLAN), now=T0)
    with Session(engine) as session:
        ids = dict(session.execute(select(UNIT.c.name, UNIT.c.id)).all())
        channels = {row.unit_id: row.id for row in session.execute(select(scheduler._models.CHANNEL))}
        session.execute(insert(REMINDER), [{
            "occurrence_id": "demo-2011/fangan/2011-04-30", "unit_id": ids[f"第{i}村党支部"],
            "unit_name": f"第{i}村党支部", "channel_id": channels[ids[f"第{i}村党支部"]],
            "offset": "-7d 09:00", "fire_at": T0 + timedelta(seconds=i * every), "node_at": T0 + timedelta(days=8), "status": "pending",
            "attempts": 0, "late": False, "created_at": T0, "updated_at": T0} for i in range(units)])
        session.commit()
    return engine


def take_turns(engine: Engine, clock: FakeClock, received: Callable[[], int], secrets: dict[str, str],
               units: int, step: float = 2.0) -> tuple[list[float], int]:
    """Two daemons tick in turn every ``step`` s (the receiver's clock with them) until
    ``units`` reminders are sent; the arrival times and how many sends were deferred."""
    daemons = [scheduler.Dispatcher(engine, worker=w, secrets=notifiers.Secrets(secrets), jitter=lambda: 0.5)
               for w in ("a", "b")]
    arrivals: list[float] = []
    sent = deferred = 0
    try:
        for n in range(400):
            moment = T0 + timedelta(seconds=step * n)
            clock.now = moment.timestamp()
            before = received()
            report = daemons[n % 2].tick(moment)
            arrivals += [moment.timestamp()] * (received() - before)
            sent, deferred = sent + report.sent, deferred + report.deferred
            if sent >= units:
                break
    finally:
        for d in daemons:
            d.close()
    return arrivals, deferred


def most_in_a_minute(arrivals: list[float]) -> int:
    return max(sum(1 for t in arrivals if start <= t < start + 60) for start in arrivals)


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    stand_in = WebhookReceiver(FakeClock(T0.timestamp()))
    with serve(stand_in) as server:
        yield stand_in, f"{server.url}/hook"


def test_units_sharing_a_webhook_url_keep_its_rate_limit_across_daemons(
        engine: Engine, tmp_path: Path, receiver: tuple[WebhookReceiver, str]) -> None:
    stand_in, url = receiver
    store(engine, tmp_path, lambda i: f"{{id: hook-{i}, kind: webhook, url: '{url}', rate_limit: 5/min}}", 12)
    arrivals, deferred = take_turns(engine, stand_in.clock, lambda: len(stand_in.received), {}, 12)
    assert len(arrivals) == 12 and deferred > 0
    assert most_in_a_minute(arrivals) == 5  # per row or per process, all 12 would go at once
    assert sorted(body["unit"] for body in stand_in.received) == sorted(f"第{i}村党支部" for i in range(12))
    with Session(engine) as session:
        assert {r.status for r in session.execute(select(ReminderRow)).scalars()} == {"sent"}
        assert {r.worker for r in session.execute(select(DeliveryRow)).scalars()} == {"a", "b"}


def test_without_a_rate_limit_the_same_units_go_at_once(
        engine: Engine, tmp_path: Path, receiver: tuple[WebhookReceiver, str]) -> None:
    stand_in, url = receiver
    store(engine, tmp_path, lambda i: f"{{id: hook-{i}, kind: webhook, url: '{url}'}}", 12)
    arrivals, deferred = take_turns(engine, stand_in.clock, lambda: len(stand_in.received), {}, 12)
    assert len(arrivals) == 12 and deferred == 0 and most_in_a_minute(arrivals) == 12


def test_units_texting_through_one_sms_account_keep_its_rate_limit(engine: Engine, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp())
    provider = TencentSms(clock, {TC_ID: TC_KEY})
    with serve(provider) as server:
        store(engine, tmp_path, lambda i: (
            f"{{id: sms-{i}, kind: tencent_sms, secret_id_env: TC_ID, secret_key_env: TC_KEY, "
            f"sdk_app_id: '1400000000', sign_name: 合江镇党委, template_id: '1110', region: ap-guangzhou, "
            f"endpoint: '{server.url}/', rate_limit: 2/min}}"), 6)
        arrivals, deferred = take_turns(engine, clock, lambda: len(provider.sent),
                                        {"TC_ID": TC_ID, "TC_KEY": TC_KEY}, 6)
    assert len(arrivals) == 6 and deferred > 0 and most_in_a_minute(arrivals) == 2
    assert sorted(t.number for t in provider.sent) == sorted(f"+861380000{i:04d}" for i in range(6))


def test_a_rate_limit_that_is_not_one_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text("units:\n  - name: 镇党建办\n    channels:\n"
                    "      - {id: hook, kind: webhook, url: 'https://example.org/h', rate_limit: fast}\n",
                    encoding="utf-8")
    with pytest.raises(plans.PlanError) as error:
        plans.load_units(path, notifiers.CHANNEL_CONFIGS)
    assert "units.yaml:4: units[0].channels[0].rate_limit: “fast” is not a rate limit; write sends " \
           "per period, e.g. 30/min" in str(error.value)
    assert parse_rate_limit("5/s, 100/分钟") == ((5, 1.0), (100, 60.0))
    with pytest.raises(ValueError, match="“0/min” is not a rate limit"):
        parse_rate_limit("0/min")


def wecom_units(engine: Engine, tmp_path: Path, url: str, units: int, every: float = 0.0) -> None:
    """``units`` branches whose one secretary is 张三, each branch's channel the office's
    WeCom application."""
    store(engine, tmp_path, lambda i: (
        f"{{id: wx-{i}, kind: wecom_app, corp_id: ww0123456789abcdef, corp_secret_env: DJB_WX_SECRET, "
        f"agent_id: '1000002', endpoint: '{url}/'}}"), units,
        person=lambda i: "{name: 张三, wecom_userid: ZhangSan}", every=every)


WX_SECRET = "wxAppSecret-0123456789abcdefGHIJKLmnop"


def test_one_secretary_of_forty_branches_gets_one_message_listing_them(engine: Engine, tmp_path: Path) -> None:
    """Forty branches' reminders due together, all reaching the same one person through one
    application: a section per branch, three to a message (what a notice's 2,048 bytes
    hold), fourteen messages instead of forty, none cut."""
    clock = FakeClock(T0.timestamp())
    wecom = WeComApp(clock, "ww0123456789abcdef", WX_SECRET, 1000002, {"ZhangSan": "13800000001"})
    with serve(wecom) as server:
        wecom_units(engine, tmp_path, server.url, 40)
        arrivals, _ = take_turns(engine, clock, lambda: len(wecom.delivered), {"DJB_WX_SECRET": WX_SECRET}, 40)
    assert len(wecom.delivered) == len(arrivals) == 14
    for _, _, content in wecom.delivered:
        assert content.count("#### 第") in (0, 3) and content.endswith(".ics)")  # whole, not cut (the 40th alone)
    listed = " ".join(content for _, _, content in wecom.delivered)
    assert all(f"第{i}村党支部" in listed for i in range(40))
    with Session(engine) as session:
        assert {r.status for r in session.execute(select(ReminderRow)).scalars()} == {"sent"}


def test_one_person_gets_at_most_wecoms_per_member_limit_across_daemons(engine: Engine, tmp_path: Path) -> None:
    """Eighty branches of one secretary whose reminders fall due one a second: eighty
    messages to one member, more than the 30 a minute WeCom takes (it drops the rest without
    an error). The member's window, kept in the store, holds the rest for the next minute,
    whichever of the two daemons sends."""
    clock = FakeClock(T0.timestamp())
    wecom = WeComApp(clock, "ww0123456789abcdef", WX_SECRET, 1000002, {"ZhangSan": "13800000001"})
    with serve(wecom) as server:
        wecom_units(engine, tmp_path, server.url, 80, every=1.0)
        arrivals, deferred = take_turns(engine, clock, lambda: len(wecom.delivered),
                                        {"DJB_WX_SECRET": WX_SECRET}, 80, step=1.0)
    assert len(wecom.delivered) == len(arrivals) and wecom.dropped_over_limit == [] and deferred > 0
    assert most_in_a_minute(arrivals) == 30
    units_reached = " ".join(content for _, _, content in wecom.delivered)
    assert all(f"第{i}村党支部" in units_reached for i in range(80))
