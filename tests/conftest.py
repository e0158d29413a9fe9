"""Shared fixtures and helpers: a real store on SQLite (a file) and on the machine's
PostgreSQL, and the `jiedian` command run in-process (``invoke``, the ``cli`` fixture) or as
a real process (``JIEDIAN``, for the few smoke tests that need one)."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.types import ASGIApp

import notifiers
import plans
import scheduler
from plans import CALENDAR, load_plan
from scheduler._models import UnitRow

# The PostgreSQL server of this machine (trust auth). Each test gets a database of its own.
PG_ADMIN_URL = os.environ.get(
    "JIEDIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2011, 4, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the plans' own time
ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "plans" / "catalog"
UNITS = ROOT / "plans" / "units.yaml"
JIEDIAN = shutil.which("jiedian", path=str(Path(sys.executable).parent)) or "jiedian"


@dataclass
class Ran:
    """What a command did, shaped like subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Ran:
    """``jiedian ARGS`` in this process (typer's CliRunner) with ``env`` as the environment.
    A crash is not an exit code: it fails the test with its traceback."""
    from typer.testing import CliRunner

    import cli

    unset = {k: None for k in os.environ if k.startswith("JIEDIAN_") and k not in env}
    result = CliRunner().invoke(cli.app, list(args), env={**unset, **env},
                                input=stdin, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"jiedian {' '.join(args)} crashed:\n{trace}")
    return Ran(result.exit_code, result.stdout, result.stderr)


def _pg_admin() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError:
        engine.dispose()
        return None
    return engine


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine | None]:
    engine = _pg_admin()
    yield engine
    if engine is not None:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jiedian.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    if admin is None:
        pytest.skip(f"no PostgreSQL server reachable at {PG_ADMIN_URL}")
    name = f"jiedian_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = scheduler.open_store(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "COLUMNS": "200",
        "JIEDIAN_HOME": str(tmp_path / "home"),
        "JIEDIAN_DATABASE_URL": database_url,
        "JIEDIAN_NOW": "2011-04-20T09:00",
    }


@pytest.fixture
def cli(env: dict[str, str]) -> Callable[..., Ran]:
    """``cli("plan", "list")``: the command in-process on this test's store."""
    return lambda *args, stdin=None: invoke(env, *args, stdin=stdin)


# ── feeds and pages (the bundled plans on a real store, a real uvicorn server) ─────────

TIMED_UNIT = "市委党联办"  # addressed by 惠州's weekly “党代表接待日” (每周五上午)


def import_bundled(engine: Engine, now: datetime = NOW) -> None:
    """The bundled units directory and every bundled plan, in one transaction."""
    with Session(engine) as session:
        scheduler.import_units(session, plans.load_units(UNITS), now=now)
        for path in sorted(CATALOG.glob("*.yaml")):
            scheduler.import_plan(session, plans.load_plan(path, CALENDAR), CALENDAR, now=now)
        session.commit()


def tokens(engine: Engine) -> dict[str, str]:
    """Unit name → feed token."""
    with Session(engine) as session:
        return dict(session.execute(select(UnitRow.name, UnitRow.feed_token)).all())  # type: ignore[call-overload]


def ack_tokens(engine: Engine) -> dict[str, str]:
    """Unit name → the secret of its confirmation links."""
    with Session(engine) as session:
        return dict(session.execute(select(UnitRow.name, UnitRow.ack_token)).all())  # type: ignore[call-overload]


def render(engine: Engine, scope: str = "all", *, now: datetime = NOW,
           alarms: bool = True) -> scheduler.Feed:
    """The feed of ``all``, ``plan:ID`` or ``unit:NAME``."""
    with Session(engine) as session:
        if scope == "all":
            found = scheduler.scope_all()
        elif scope.startswith("plan:"):
            found = scheduler.scope_plan(session, scope.removeprefix("plan:"))
        else:
            found = scheduler.scope_unit_token(session, tokens(engine)[scope.removeprefix("unit:")])
        assert found is not None, scope
        return scheduler.render_feed(session, found, CALENDAR, now=now, alarms=alarms)


def unfold(text: str) -> str:
    return re.sub(r"\r\n[ \t]", "", text)


def vevents(text: str) -> dict[str, dict[str, str]]:
    """UID → {"NAME;PARAMS": value} of each VEVENT's own lines (unfolded, VALARMs left out)."""
    found = {}
    for block in re.findall(r"BEGIN:VEVENT\r\n(.*?)END:VEVENT\r\n", unfold(text), re.DOTALL):
        block = re.sub(r"BEGIN:VALARM\r\n.*?END:VALARM\r\n", "", block, flags=re.DOTALL)
        lines = dict(line.split(":", 1) for line in block.split("\r\n") if line)
        found[lines["UID"]] = lines
    return found


CHROMIUM = Path("/usr/bin/chromium")
ICS = "text/calendar; charset=utf-8"


class Clock:
    """The injected clock; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def serve(engine: Engine, clock: Clock, **options: Any) -> Iterator[str]:
    """The app on uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with running(scheduler.create_app(engine, CALENDAR, clock=clock, base_url=base_url, **options), sock):
        yield base_url


@contextmanager
def running(app: ASGIApp, sock: socket.socket) -> Iterator[None]:
    """``app`` on uvicorn, listening on the bound ``sock``, in a thread, until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:  # poll the startup flag
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def chromium(tmp_path: Path, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-proxy-server", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", *options, url],
        capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=180,
        check=False,
    )


# ── a small demo store: one plan, four units (test_store, test_reminders, test_supervision …) ──

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """An ISO date-time in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


DEMO_PLAN = """\
id: demo-2011
title: 示范镇2011年创先争优工作要点
year: 2011
milestones:
  - id: fangan
    title: 形成创建方案交镇党建办
    when: 4月底前
    lead: [镇党建办]
    units: [各党(总)支部]
  - id: biaozhang
    title: 表彰先进
    when: “七一”前夕
    lead: [镇党委]
  - id: baosong
    title: 报送信息
    when: 每季度末
    units: [各党(总)支部]
"""

DEMO_UNITS = """\
groups:
  - name: 各党(总)支部
    aliases: [各党支部]
units:
  - name: 镇党建办
    people: [{name: 张三, mobile: "13800000001"}]
    channels: [{id: djb-console, kind: console}]
  - name: 镇党委
    channels: [{id: dw-console, kind: console}]
  - name: 机关党支部
    groups: [各党(总)支部]
    channels: [{id: jg-console, kind: console}]
"""


def load(tmp_path: Path, text: str, name: str = "plan.yaml") -> plans.LoadedPlan:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_plan(path, CALENDAR)


def add(engine: Engine, loaded: plans.LoadedPlan, now: datetime = NOW,
        **options: object) -> scheduler.ImportReport:
    with Session(engine) as session:
        report = scheduler.import_plan(session, loaded, CALENDAR, now=now, **options)  # type: ignore[arg-type]
        session.commit()
    return report


def import_units(engine: Engine, tmp_path: Path, text: str = DEMO_UNITS) -> scheduler.UnitsReport:
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    with Session(engine) as session:
        report = scheduler.import_units(session, plans.load_units(path), now=NOW)
        session.commit()
    return report


# ── real processes and daemons (test_daemon, test_demo, test_holidays) ──────────────────

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"jiedian-test-secret-0123456789ab").decode()


def daemon_environment(database_url: str, home: Path, now: str) -> dict[str, str]:
    """The environment of a `jiedian` process on ``database_url``, its clock at ``now``."""
    return {"PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "JIEDIAN_HOME": str(home), "JIEDIAN_DATABASE_URL": database_url,
            "JIEDIAN_NOW": now, "HOOK_SECRET": WEBHOOK_SECRET, "JIEDIAN_QUIET_HOURS": ""}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_health(port: int, *, settled: bool = False) -> dict[str, object]:
    """/healthz once the server answers; with ``settled``, once nothing is pending: the sink
    counts a message when it answers, the daemon records it a moment later."""
    health: dict[str, object] = {}
    for _ in range(300):  # the server's start-up and that moment: poll until it holds
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if response.status_code in (200, 503):
                health = dict(response.json())
                if not settled or health.get("pending") == 0:
                    return health
        except httpx.TransportError:
            pass
        threading.Event().wait(0.1)
    raise AssertionError(f"serve never answered /healthz as asked; last: {health}")


def make_daemon(engine: object, clock: Callable[[], datetime],
                tick_seconds: float = 10.0, calendar: plans.ChinaCalendar = plans.CALENDAR) -> scheduler.Daemon:
    """A daemon over ``engine`` with a console-only dispatcher (no secrets) on ``clock``."""
    dispatcher = scheduler.Dispatcher(engine, worker="t", secrets=notifiers.Secrets({}))  # type: ignore[arg-type]
    return scheduler.Daemon(engine, calendar, dispatcher,  # type: ignore[arg-type]
                            policy=scheduler.Policy(), clock=clock, tick_seconds=tick_seconds)


def bench_module(name: str) -> Any:
    """``bench/NAME.py`` loaded as a module (the extraction scorer, the wordings bench)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
