"""Shared fixtures: a real store on SQLite (a file) and on the machine's PostgreSQL."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
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
