"""Plans: the plan file, Chinese time expressions and the China calendar.

>>> from plans import CALENDAR, parse
>>> [o.start.isoformat() for o in parse("“七一”前夕").expand(2011, CALENDAR)]
['2011-06-30']
"""

from pathlib import Path as _Path

from plans._calendar import CALENDAR, ChinaCalendar
from plans._draft import interview
from plans._errors import ExpressionError, MissingEventError, PlanError
from plans._expand import (
    Node,
    WhenResult,
    due_date,
    effective_remind,
    evaluate,
    expand_plan,
    workday_policy,
)
from plans._expressions import Occurrence, Rule, parse
from plans._extract import Extraction, extract_file, extract_text
from plans._grammar import day_times
from plans._holidays import Holiday, Notice, load_notice, load_notices
from plans._loader import (
    LoadedPlan,
    expand_files,
    load_document,
    load_events,
    load_plan,
    plan_files,
)
from plans._schema import Milestone, Offset, Plan, parse_offset
from plans._text import normalize, to_simplified
from plans._units import UnitsDirectory, load_units, name_key

BUNDLED_PLANS = _Path(__file__).parent / "catalog"  # the transcribed seed plans
BUNDLED_UNITS = _Path(__file__).parent / "units.yaml"  # their units, console channels only

__all__ = [
    "BUNDLED_PLANS",
    "BUNDLED_UNITS",
    "CALENDAR",
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
    "day_times",
    "due_date",
    "effective_remind",
    "evaluate",
    "expand_files",
    "expand_plan",
    "extract_file",
    "extract_text",
    "interview",
    "load_document",
    "load_events",
    "load_notice",
    "load_notices",
    "load_plan",
    "load_units",
    "name_key",
    "normalize",
    "parse",
    "parse_offset",
    "plan_files",
    "to_simplified",
    "workday_policy",
]
