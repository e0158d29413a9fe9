"""Scheduler: the store (plans, units, occurrences), imports with stable ids, queries.

The engine is built from settings by `open_store` and passed in as sessions;
``now``/``today`` always come from the caller (only the CLI and the daemon
read the clock).
"""

import importlib as _importlib
from typing import Any as _Any

# Each public name and the module defining it, imported on first use (PEP 562), so a
# command pays only for what it touches (`jiedian when` needs no SQLAlchemy or httpx).
_EXPORTS = {name: f"scheduler.{module}" for module, names in {
    "_daemon": "Daemon",
    "_db": "StoreError migrate open_store",
    "_dispatch": "Dispatcher TickReport",
    "_feeds": "Feed FeedScope feed_etag render_feed scope_all scope_plan scope_unit_token unit_feed_urls",
    "_importer": "Change ImportReport import_plan remove_plan stored_plan stored_years",
    "_messages": "ReminderItem Templates render",
    "_data": "as_data",
    "_metrics": "Metrics",
    "_office": "AddResult CannotWrite NotFound Office Refused UnitsImport",
    "_directory": "Directory UnknownUnitError destinations find_unit load_directory unit_keys",
    "_channel_test": "ChannelAnswer send_test",
    "_queries": "DeliveryView PlanSummary ReminderView Upcoming list_deliveries list_reminders plan_summaries upcoming",
    "_reminders": "Policy SyncReport sync_reminders",
    "_report": "REPORT_FORMATS STATE_ZH report_format report_table write_report",
    "_settings": "Settings SettingsError",
    "_supervision": "AckError AckResult Matrix MatrixRow ack_url acknowledge parse_escalations queue_escalations status_matrix",
    "_units_store": "UnitDetail UnitsReport import_units list_units rotate_token show_unit unknown_units unreachable",
    "_web": "create_app",
}.items() for name in names.split()}

__all__ = [
    "REPORT_FORMATS",
    "STATE_ZH",
    "AckError",
    "AckResult",
    "AddResult",
    "CannotWrite",
    "Change",
    "ChannelAnswer",
    "Daemon",
    "DeliveryView",
    "Directory",
    "Dispatcher",
    "Feed",
    "FeedScope",
    "ImportReport",
    "Matrix",
    "MatrixRow",
    "Metrics",
    "NotFound",
    "Office",
    "PlanSummary",
    "Policy",
    "Refused",
    "ReminderItem",
    "ReminderView",
    "Settings",
    "SettingsError",
    "StoreError",
    "SyncReport",
    "Templates",
    "TickReport",
    "UnitDetail",
    "UnitsImport",
    "UnitsReport",
    "UnknownUnitError",
    "Upcoming",
    "ack_url",
    "acknowledge",
    "as_data",
    "create_app",
    "destinations",
    "feed_etag",
    "find_unit",
    "import_plan",
    "import_units",
    "list_deliveries",
    "list_reminders",
    "list_units",
    "load_directory",
    "migrate",
    "open_store",
    "parse_escalations",
    "plan_summaries",
    "queue_escalations",
    "remove_plan",
    "render",
    "render_feed",
    "report_format",
    "report_table",
    "rotate_token",
    "scope_all",
    "scope_plan",
    "scope_unit_token",
    "send_test",
    "show_unit",
    "status_matrix",
    "stored_plan",
    "stored_years",
    "sync_reminders",
    "unit_feed_urls",
    "unit_keys",
    "unknown_units",
    "unreachable",
    "upcoming",
    "write_report",
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
