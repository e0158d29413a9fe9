"""Scheduler: the store (plans, units, occurrences), imports with stable ids, queries.

The engine is built from settings by `open_store` and passed in as sessions;
``now``/``today`` always come from the caller (only the CLI and the daemon
read the clock).
"""

from scheduler._bootstrap import bootstrap
from scheduler._daemon import Daemon
from scheduler._db import StoreError, migrate, open_store
from scheduler._dispatch import Dispatcher, TickReport
from scheduler._feeds import (
    Feed,
    FeedScope,
    feed_etag,
    render_feed,
    scope_all,
    scope_plan,
    scope_unit_token,
    unit_feed_urls,
)
from scheduler._importer import (
    Change,
    ImportReport,
    import_plan,
    remove_plan,
    stored_plan,
    stored_years,
)
from scheduler._messages import ReminderItem, Templates, render
from scheduler._notify import ChannelAnswer, destinations, send_test
from scheduler._queries import (
    DeliveryView,
    PlanSummary,
    ReminderView,
    UnknownUnitError,
    Upcoming,
    list_deliveries,
    list_reminders,
    plan_summaries,
    unit_keys,
    upcoming,
)
from scheduler._reminders import Policy, SyncReport, sync_reminders
from scheduler._report import REPORT_FORMATS, STATE_ZH, report_table, write_report
from scheduler._settings import Settings
from scheduler._supervision import (
    AckError,
    AckResult,
    Matrix,
    MatrixRow,
    ack_url,
    acknowledge,
    parse_escalations,
    queue_escalations,
    status_matrix,
)
from scheduler._units_store import (
    UnitDetail,
    UnitsReport,
    find_unit,
    import_units,
    list_units,
    rotate_token,
    show_unit,
    unknown_units,
)
from scheduler._web import create_app

__all__ = [
    "REPORT_FORMATS",
    "STATE_ZH",
    "AckError",
    "AckResult",
    "Change",
    "ChannelAnswer",
    "Daemon",
    "DeliveryView",
    "Dispatcher",
    "Feed",
    "FeedScope",
    "ImportReport",
    "Matrix",
    "MatrixRow",
    "PlanSummary",
    "Policy",
    "ReminderItem",
    "ReminderView",
    "Settings",
    "StoreError",
    "SyncReport",
    "Templates",
    "TickReport",
    "UnitDetail",
    "UnitsReport",
    "UnknownUnitError",
    "Upcoming",
    "ack_url",
    "acknowledge",
    "bootstrap",
    "create_app",
    "destinations",
    "feed_etag",
    "find_unit",
    "import_plan",
    "import_units",
    "list_deliveries",
    "list_reminders",
    "list_units",
    "migrate",
    "open_store",
    "parse_escalations",
    "plan_summaries",
    "queue_escalations",
    "remove_plan",
    "render",
    "render_feed",
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
    "upcoming",
    "write_report",
]
