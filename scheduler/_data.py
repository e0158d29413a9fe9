"""Results as JSON-ready data: what `--json` prints (README's "JSON output")."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any

__all__ = ["as_data"]


def as_data(value: Any) -> Any:
    """``value`` as JSON data: dataclasses as objects, dates as ISO text, enums by value,
    tuples and sets as lists; anything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [as_data(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value.value if isinstance(value, enum.Enum) else value
