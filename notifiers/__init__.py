"""Notifiers: one module per channel behind one small interface (see ``_base``).

``build(destination, client=…, secrets=…, clock=…)`` returns the channel for a
destination's ``kind``; a new channel is one module that subclasses
:class:`Channel` and one line in ``CHANNELS`` (``_registry``).
"""

import importlib as _importlib
from typing import Any as _Any

# Each public name and the module defining it, imported on first use (PEP 562), so a
# command pays only for what it touches (`jiedian when` needs no SQLAlchemy or httpx).
_EXPORTS = {name: f"notifiers.{module}" for module, names in {
    "_base": "Channel Clock Destination Message Outcome Person RateLimiter Result cut_utf8 deliver",
    "_http": "http_client",
    "_secrets": "Secrets SecretsError",
    "_registry": "CHANNELS CHANNEL_CONFIGS build",
}.items() for name in names.split()}

__all__ = [
    "CHANNELS",
    "CHANNEL_CONFIGS",
    "Channel",
    "Clock",
    "Destination",
    "Message",
    "Outcome",
    "Person",
    "RateLimiter",
    "Result",
    "Secrets",
    "SecretsError",
    "build",
    "cut_utf8",
    "deliver",
    "http_client",
]


def __getattr__(name: str) -> _Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
