"""Demo and deployment (DESIGN.md): `serve --demo` loads the bundled units and plans on an
empty store and says so; plain `serve` (what deploy/ runs) never loads anything bundled."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

import plans
import scheduler
from scheduler._models import ReminderRow
from tests.conftest import JIEDIAN, ROOT, daemon_environment, free_port, get_health

REAL_UNITS = """\
groups:
  - name: 各党支部
units:
  - name: 机关党支部
    groups: [各党支部]
    channels: [{id: jg-console, kind: console}]
"""


def _stored(env: dict[str, str]) -> list[dict[str, object]]:
    listed = subprocess.run([JIEDIAN, "plan", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    return json.loads(listed.stdout)


def _serve(env: dict[str, str], *flags: str) -> str:
    """Start `jiedian serve`, wait for /healthz, stop it with SIGTERM; its stderr."""
    port = free_port()
    process = subprocess.Popen([JIEDIAN, "serve", "--port", str(port), "--tick", "0.5", *flags],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        get_health(port)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err, err
    return err


def test_serve_demo_loads_the_bundled_plans_for_this_year_and_says_so(
        database_url: str, tmp_path: Path) -> None:
    env = daemon_environment(database_url, tmp_path / "home", "2026-12-01T09:00")
    err = _serve(env, "--demo")
    assert "demo: loaded the bundled units and plans for 2026" in err
    stored = _stored(env)
    assert {p["applied_year"] for p in stored} == {2026} and len(stored) == len(
        plans.load_plans([plans.BUNDLED_PLANS], plans.CALENDAR))
    assert "demo: loaded" not in _serve(env, "--demo")  # a store with plans: nothing loaded again
    # the README's tour then adds the 2011 plan: it sits beside the demo's 2026, which stays
    tour = subprocess.run([JIEDIAN, "plan", "add", str(ROOT / "plans" / "catalog" / "hejiang-2011-cxzy.yaml")],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert tour.returncode == 0 and "0 cancelled" in tour.stdout, tour.stderr
    hejiang = [(p["applied_year"], p["status"], p["active"]) for p in _stored(env) if p["id"] == "hejiang-2011-cxzy"]
    assert hejiang == [(2011, "active", 26), (2026, "active", 26)]


def test_a_deployment_never_loads_anything_bundled(database_url: str, tmp_path: Path) -> None:
    units = tmp_path / "units.yaml"
    units.write_text(REAL_UNITS, encoding="utf-8")
    env = {**daemon_environment(database_url, tmp_path / "home", "2026-12-01T09:00"),
           "JIEDIAN_UNITS": str(units)}
    err = _serve(env)
    assert "demo: loaded" not in err and _stored(env) == []  # 各党支部 gets no other town's plan
    names = subprocess.run([JIEDIAN, "units", "list"], env=env, capture_output=True, text=True,
                           timeout=120, check=True).stdout
    assert "机关党支部" in names and "镇党建办" not in names  # the bundled units stay out too


def test_bootstrap_loads_bundled_things_only_when_asked(database_url: str, tmp_path: Path) -> None:
    settings = scheduler.Settings.from_env({"JIEDIAN_HOME": str(tmp_path),
                                            "JIEDIAN_DATABASE_URL": database_url})
    office = scheduler.Office(settings, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    assert office.bootstrap(demo=False) == [] and office.plans() == []
    [done] = office.bootstrap(demo=True)
    assert "demo: loaded" in done and {p.applied_year for p in office.plans()} == {2026}
    assert office.bootstrap(demo=True) == []  # a store with plans is left alone

    def reminders() -> int:
        with office.session() as session:
            return session.execute(select(func.count()).select_from(ReminderRow)).scalar_one()

    assert reminders() == 0  # the outbox is the daemon's first job, not done twice at start
    daemon = office.daemon(clock=office.clock)
    try:
        daemon.sync(office.now())
    finally:
        daemon.dispatcher.close()
    assert reminders() > 0
    office.close()


def test_make_serve_is_the_demo_and_deploy_is_not() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "jiedian serve --demo" in makefile
    for name in ("Dockerfile", "jiedian.service"):
        assert "--demo" not in (ROOT / "deploy" / name).read_text(encoding="utf-8")
