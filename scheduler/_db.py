"""Open the store: an engine from settings, migrated to the newest schema.

The engine is built here, from settings, and passed on; nothing creates one
at import time. SQLite gets foreign keys and WAL (readers never block the
writer); PostgreSQL needs nothing special.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import ColumnElement, Engine, any_, bindparam, create_engine, event, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

__all__ = ["StoreError", "among", "bump_generation", "generation", "migrate", "open_store"]

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be opened or migrated (the message says which and why)."""


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_store(database_url: str, *, migrate_schema: bool = True, create_folder: bool = True) -> Engine:
    """Create the engine for ``database_url`` and bring its schema up to date.

    ``create_folder``: make a SQLite file's folder when missing (the embedded default under
    JIEDIAN_HOME); False for a URL the office wrote, where a missing folder is a typo.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StoreError(f"JIEDIAN_DATABASE_URL “{database_url}” is not a database URL; "
                         f"e.g. postgresql+psycopg://postgres@127.0.0.1:5432/jiedian") from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().parent
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise StoreError(f"JIEDIAN_DATABASE_URL names a SQLite file in {folder}, which does "
                             f"not exist; create the folder, or fix the URL")
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ImportError, NoSuchModuleError) as error:  # a driver not installed (postgresql+pg8000)
        raise StoreError(f"JIEDIAN_DATABASE_URL: the driver for “{url.drivername}” is not installed "
                         f"({error}); use postgresql+psycopg:// or sqlite:///") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate_schema:
        migrate(engine)
    return engine


def bump_generation(session: Session) -> None:
    """Note that something a feed shows has changed (same transaction as the change)."""
    session.execute(text("UPDATE store_state SET generation = generation + 1 WHERE id = 1"))


def mark_stale(session: Session, ids: Iterable[str]) -> int:
    """Forget the stored VEVENTs of these occurrences: the next feed read renders them again
    (so writing a node never waits for the feeds, and supervision needs no feed code)."""
    ids = list(ids)
    stale = text("UPDATE occurrence SET ical_event = NULL WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    for chunk in range(0, len(ids), 500):
        session.execute(stale, {"ids": ids[chunk:chunk + 500]})
    if ids:
        bump_generation(session)
    return len(ids)


def generation(session: Session) -> int:
    """The store's generation: equal numbers mean no feed has changed in between."""
    return int(session.execute(text("SELECT generation FROM store_state WHERE id = 1"))
               .scalar_one())


MIGRATION_LOCK = 0x6A69_6564_6961_6E  # "jiedian": the advisory lock key migrations hold


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, an flock on ``<file>.lock`` while migrating: two processes started
    at once take turns (Alembic's check-then-create would otherwise race to "table already
    exists"). A file of its own, never the database: closing any descriptor of the database
    file drops every POSIX lock the process holds on it, SQLite's included, and that
    corrupts a store in WAL mode (sqlite.org/howtocorrupt.html, 2.2)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(Path(database).expanduser().with_name(Path(database).name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Apply every migration not yet applied (idempotent, one transaction).

    On SQLite, foreign keys are off while migrating and checked after: a migration that
    rebuilds a table (SQLite's way to alter a column) drops it first, which the reminders
    and confirmations pointing at it would otherwise forbid on any store with data.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.url.get_backend_name() == "sqlite"
    try:
        with _sqlite_file_lock(engine), engine.connect() as connection:
            if sqlite:  # outside a transaction, or SQLite ignores it
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                if not sqlite:  # replicas started together: one migrates, the others wait and
                    # then find the schema at head (the lock ends with this transaction)
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
                if broken:
                    raise StoreError(f"the database {engine.url.render_as_string()} has rows whose "
                                     f"references are gone after migrating ({broken[:3]}); restore "
                                     f"the backup and report this")
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise StoreError(f"cannot open the database {engine.url.render_as_string()}: "
                         f"{reason}") from None


def among(session: Session, column: ColumnElement, values: Iterable[object]) -> ColumnElement[bool]:  # type: ignore[type-arg]
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter: an IN of
    a batch's thousands of ids was a statement SQLAlchemy expanded and psycopg parsed again
    on every call (a tenth of a millisecond per reminder, bench/dispatch.py)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)
