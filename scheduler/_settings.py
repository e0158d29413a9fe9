"""Settings from the environment (DESIGN.md: "File formats and settings").

Read once at the edge (the CLI) and passed down; nothing else reads os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = _data_home(env)
        url = env.get("JIEDIAN_DATABASE_URL") or f"sqlite:///{home / 'jiedian.db'}"
        units = env.get("JIEDIAN_UNITS")
        secrets = env.get("JIEDIAN_SECRETS_FILE")
        templates = env.get("JIEDIAN_TEMPLATES")
        return cls(
            home=home,
            database_url=url,
            units_path=Path(units) if units else None,
            quiet_hours=env.get("JIEDIAN_QUIET_HOURS", "21:00-08:00"),
            rest_days=env.get("JIEDIAN_REST_DAYS", "move"),
            secrets_file=Path(secrets) if secrets else None,
            base_url=env.get("JIEDIAN_BASE_URL", "http://127.0.0.1:8000"),
            templates=Path(templates) if templates else None,
            escalate=env.get("JIEDIAN_ESCALATE", "+1d 09:00"),
            holidays=Path(env["JIEDIAN_HOLIDAYS"]) if env.get("JIEDIAN_HOLIDAYS") else None,
        )
