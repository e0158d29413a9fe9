"""Scheduler: the store (plans, units, occurrences), imports with stable ids, queries.

The engine is built from settings by `open_store` and passed in as sessions;
``now``/``today`` always come from the caller (only the CLI and the daemon
read the clock).
"""

from scheduler._db import StoreError, migrate, open_store
from scheduler._importer import Change, ImportReport, import_plan, remove_plan
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
    import_units,
    list_units,
    show_unit,
    unknown_units,
)

__all__ = [
    "Change",
    "ImportReport",
    "PlanSummary",
    "Settings",
    "StoreError",
    "UnitDetail",
    "UnitsReport",
    "UnknownUnitError",
    "Upcoming",
    "import_plan",
    "import_units",
    "list_units",
    "migrate",
    "open_store",
    "plan_summaries",
    "remove_plan",
    "show_unit",
    "unit_keys",
    "unknown_units",
    "upcoming",
]
