"""Shared fixtures and helpers: a real store on SQLite (a file) and on the machine's
PostgreSQL, and the `jiedian` command run in-process (``invoke``, the ``cli`` fixture) or as
a real process (``JIEDIAN``, for the few smoke tests that need one)."""

from __future__ import annotations

import os
import shutil
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

import scheduler

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
