"""Scheduler: the store (plans, units, occurrences), imports with stable ids, queries.

The engine is built from settings by `open_store` and passed in as sessions;
``now``/``today`` always come from the caller (only the CLI and the daemon
read the clock).
"""

from scheduler._db import StoreError, migrate, open_store
from scheduler._importer import Change, ImportReport, import_plan, remove_plan
from scheduler._messages import ReminderItem, Templates, render
from scheduler._notify import ChannelAnswer, destinations, send_test
from scheduler._queries import (
    PlanSummary,
    UnknownUnitError,
    Upcoming,
    plan_summaries,
    unit_keys,
    upcoming,
)
from scheduler._settings import Settings
from scheduler._units_store import (
    UnitDetail,
    UnitsReport,
    find_unit,
    import_units,
    list_units,
    show_unit,
    unknown_units,
)

__all__ = [
    "Change",
    "ChannelAnswer",
    "ImportReport",
    "PlanSummary",
    "ReminderItem",
    "Settings",
    "StoreError",
    "Templates",
    "UnitDetail",
    "UnitsReport",
    "UnknownUnitError",
    "Upcoming",
    "destinations",
    "find_unit",
    "import_plan",
    "import_units",
    "list_units",
    "migrate",
    "open_store",
    "plan_summaries",
    "remove_plan",
    "render",
    "send_test",
    "show_unit",
    "unit_keys",
    "unknown_units",
    "upcoming",
]
