"""Settings from the environment (DESIGN.md: "File formats and settings").

Read once at the edge (the CLI) and passed down; nothing else reads os.environ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Settings", "SettingsError"]

# The database kinds Jiedian is built and tested on (make_url's backend names).
DATABASE_SCHEMES = ("sqlite", "postgresql")


class SettingsError(ValueError):
    """A JIEDIAN_* setting cannot be used; the message names it and says what to write."""


def _data_home(env: Mapping[str, str]) -> Path:
    if env.get("JIEDIAN_HOME"):
        return Path(env["JIEDIAN_HOME"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "jiedian"


@dataclass(frozen=True)
class Settings:
    """Where Jiedian keeps its data and what it connects to."""

    home: Path
    database_url: str
    units_path: Path | None = None
    quiet_hours: str = "21:00-08:00"
    rest_days: str = "move"
    secrets_file: Path | None = None
    base_url: str = "http://127.0.0.1:8000"
    templates: Path | None = None  # a folder of message templates overriding the wording
    # When the lead unit is told who has not confirmed a deadline: offsets from the due date
    # in calendar days (``+1d 09:00``, or ``-1d 16:00`` before it), comma-separated; empty: never.
    escalate: str = "+1d 09:00"
    holidays: Path | None = None  # a holiday notice, or a folder of them (JIEDIAN_HOLIDAYS)
    # True when JIEDIAN_DATABASE_URL is unset: the embedded store under ``home``, whose folder
    # may be made; a URL the office wrote names a folder that must exist (a typo would
    # otherwise make an empty store somewhere nobody looks).
    default_database: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (default: the process's), checked: SettingsError names the
        first variable that cannot be used and what to write instead."""
        env = os.environ if env is None else env
        home = _data_home(env)
        given = env.get("JIEDIAN_DATABASE_URL")
        url = given or f"sqlite:///{home / 'jiedian.db'}"
        units = env.get("JIEDIAN_UNITS")
        secrets = env.get("JIEDIAN_SECRETS_FILE")
        templates = env.get("JIEDIAN_TEMPLATES")
        settings = cls(
            home=home,
            database_url=url,
            units_path=Path(units) if units else None,
            quiet_hours=env.get("JIEDIAN_QUIET_HOURS", "21:00-08:00"),
            rest_days=env.get("JIEDIAN_REST_DAYS", "move"),
            secrets_file=Path(secrets) if secrets else None,
            base_url=env.get("JIEDIAN_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            templates=Path(templates) if templates else None,
            escalate=env.get("JIEDIAN_ESCALATE", "+1d 09:00"),
            holidays=Path(env["JIEDIAN_HOLIDAYS"]) if env.get("JIEDIAN_HOLIDAYS") else None,
            default_database=not given,
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for a setting that cannot work (checked before anything runs)."""
        _check_database_url(self.database_url)
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.hostname:
            raise SettingsError(f"JIEDIAN_BASE_URL “{self.base_url}” is not a web address; write "
                                f"where units reach this server, e.g. https://jiedian.example.gov.cn")
        if self.templates is not None and not self.templates.is_dir():
            raise SettingsError(f"JIEDIAN_TEMPLATES “{self.templates}” is not a folder; create it, "
                                f"or unset JIEDIAN_TEMPLATES to use the built-in wording")


def _check_database_url(url: str) -> None:
    # The scheme by its form (dialect[+driver]://), not by SQLAlchemy: `jiedian when` reads the
    # settings too and must not pay for importing it. open_store parses the rest.
    scheme = re.match(r"([A-Za-z][A-Za-z0-9]*)(?:\+[A-Za-z0-9_]+)?://", url)
    if scheme is None or scheme[1].lower() not in DATABASE_SCHEMES:
        said = f"“{url.split('://')[0]}://…” is not a kind of database Jiedian works with" \
            if "://" in url else f"“{url}” is not a database URL"
        raise SettingsError(f"JIEDIAN_DATABASE_URL {said}; Jiedian works with SQLite "
                            f"(sqlite:///PATH/jiedian.db) and PostgreSQL "
                            f"(postgresql+psycopg://USER@HOST:5432/DB)")
