"""What ``jiedian serve`` loads at start: JIEDIAN_UNITS, and, for a demo (``--demo``, which
``make serve`` passes) on an empty store, the bundled units and plans, so the embedded
default has something to show and send. A deployment never loads anything bundled: the
demo plans of other towns must not reach real units whose names match (各党支部 …)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

import plans
from plans import ChinaCalendar
from scheduler._importer import import_plan
from scheduler._queries import plan_summaries
from scheduler._units_store import import_units, list_units

__all__ = ["bootstrap"]


def bootstrap(session: Session, calendar: ChinaCalendar, *, units_path: Path | None,
              bundled: bool, now: datetime, today: date) -> list[str]:
    """Load ``units_path`` when given; with ``bundled`` and no plan stored, the bundled plans
    applied to ``today``'s year (and the bundled units when there are none). Returns what
    was done, for the log; raises PlanError for a bad units file. The caller commits."""
    done = []
    if units_path:
        import_units(session, plans.load_units(units_path), now=now)
    if bundled and not plan_summaries(session, today=today):
        if not units_path and not list_units(session):
            import_units(session, plans.load_units(plans.BUNDLED_UNITS), now=now)
        for item in plans.expand_files([plans.BUNDLED_PLANS], calendar):
            import_plan(session, item, calendar, now=now, year=today.year)
        done.append(f"demo: loaded the bundled units and plans for {today.year} into an empty store "
                    f"(a deployment runs `jiedian serve` without --demo and adds its own plans)")
    return done
