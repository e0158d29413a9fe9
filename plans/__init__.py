"""Plans: the plan file, Chinese time expressions and the China calendar.

>>> from plans import CALENDAR, parse
>>> [o.start.isoformat() for o in parse("“七一”前夕").expand(2011, CALENDAR)]
['2011-06-30']
"""

import importlib as _importlib
from pathlib import Path as _Path
from typing import Any as _Any

# Each public name and the module defining it, imported on first use (PEP 562), so a
# command pays only for what it touches (`jiedian when` needs no SQLAlchemy or httpx).
_EXPORTS = {name: f"plans.{module}" for module, names in {
    "_calendar": "CALENDAR ChinaCalendar",
    "_draft": "interview",
    "_errors": "ExpressionError MissingEventError PlanError",
    "_expand": "Node WhenResult due_date effective_remind evaluate expand_plan workday_policy",
    "_expressions": "Occurrence Rule parse",
    "_extract": "Extraction extract_file extract_text",
    "_grammar": "day_times",
    "_holidays": "Holiday Notice load_notice load_notices",
    "_loader": "LoadedPlan load_document load_events load_plan load_plans plan_files",
    "_schema": "Milestone Offset Plan parse_offset",
    "_text": "normalize to_simplified",
    "_units": "UnitsDirectory every_unit load_units name_key unit_tag",
    "_words": "KIND_ZH WEEKDAYS countdown_zh day_zh month_day_zh span_zh units_zh weekday_zh",
}.items() for name in names.split()}

BUNDLED_PLANS = _Path(__file__).parent / "catalog"  # the transcribed seed plans
BUNDLED_UNITS = _Path(__file__).parent / "units.yaml"  # their units, console channels only

__all__ = [
    "BUNDLED_PLANS",
    "BUNDLED_UNITS",
    "CALENDAR",
    "KIND_ZH",
    "WEEKDAYS",
    "ChinaCalendar",
    "ExpressionError",
    "Extraction",
    "Holiday",
    "LoadedPlan",
    "Milestone",
    "MissingEventError",
    "Node",
    "Notice",
    "Occurrence",
    "Offset",
    "Plan",
    "PlanError",
    "Rule",
    "UnitsDirectory",
    "WhenResult",
    "countdown_zh",
    "day_times",
    "day_zh",
    "due_date",
    "effective_remind",
    "evaluate",
    "every_unit",
    "expand_plan",
    "extract_file",
    "extract_text",
    "interview",
    "load_document",
    "load_events",
    "load_notice",
    "load_notices",
    "load_plan",
    "load_plans",
    "load_units",
    "month_day_zh",
    "name_key",
    "normalize",
    "parse",
    "parse_offset",
    "plan_files",
    "span_zh",
    "to_simplified",
    "unit_tag",
    "units_zh",
    "weekday_zh",
    "workday_policy",
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
