"""Import a plan into the store: expand it, compare with what is stored, write the difference.

Invariants (DESIGN.md, "Storage and invariants"):

- An occurrence's id is ``plan/milestone/start``; re-importing an unchanged
  plan finds every id with the same fingerprint and writes nothing at all.
- A changed occurrence (dates, due date, title, units) keeps its id and gets
  ``sequence + 1``; one that disappeared is cancelled (kept, never deleted),
  so feeds can say STATUS:CANCELLED and reminders can be cancelled.
- The caller owns the transaction: ``plan add`` validates every file first,
  then imports them all in one transaction, so a bad file changes nothing.
- A plan is stored per (plan id, year) (DESIGN.md, "Plans across years"): an
  import compares and writes one year only, so adding 2027 leaves 2026 alone.
  Occurrence ids stay ``plan/milestone/start``; in the rare case that two years
  of one plan give a node the same start (a fixed event date), the later-added
  year's id gets ``@year``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from plans import (
    ChinaCalendar,
    LoadedPlan,
    Node,
    effective_remind,
    expand_plan,
    load_document,
    name_key,
    span_zh,
)
from scheduler._db import mark_stale
from scheduler._models import (
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OCC_UNIT,
    MilestoneRow,
    PlanRow,
    PlanYearRow,
)

__all__ = ["Change", "ImportReport", "import_plan", "remove_plan", "stored_plan", "stored_years"]



@dataclass(frozen=True)
class Change:
    """One occurrence that an import adds, changes or cancels."""

    what: str  # added | changed | cancelled
    occurrence_id: str
    title: str
    start: date
    end: date
    due: date
    detail: str = ""  # for a change: what it was before


_SIGNS = {"added": "+", "changed": "~", "cancelled": "-"}


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    plan_id: str
    year: int = 0  # the stored year the import touched
    new_plan: bool = False  # no year of the plan was stored
    new_year: bool = False  # this year of it was not stored
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def count(self, what: str) -> int:
        return sum(1 for change in self.changes if change.what == what)

    def change_lines(self, limit: int) -> list[str]:
        """The first ``limit`` changes as ``plan add`` lists them (+ added, ~ changed, - cancelled)."""
        lines = [f"  {_SIGNS[c.what]} {span_zh(c.start, c.end)} {c.title} (due {c.due})"
                 + (f" — {c.detail}" if c.detail else "") for c in self.changes[:limit]]
        more = len(self.changes) - limit
        return lines + ([f"  … and {more} more"] if more > 0 else [])

    def summary(self, dry_run: bool = False) -> str:
        """One line: ``plan · year: new plan, 3 added, 1 changed, …`` (``plan add``)."""
        name = f"{self.plan_id} · {self.year}"
        if not self.wrote:
            return f"{name}: unchanged ({self.unchanged} nodes); nothing written"
        new = "new plan, " if self.new_plan else "new year, " if self.new_year else ""
        return (f"{name}: {new}{self.count('added')} {'would add' if dry_run else 'added'}, "
                f"{self.count('changed')} changed, {self.count('cancelled')} cancelled, "
                f"{self.unchanged} unchanged")

    @property
    def wrote(self) -> bool:
        return self.new_year or bool(self.changes)


def _fingerprint(node: Node, plan_title: str) -> str:
    # Everything a feed's VEVENT or a reminder shows: a change to any of it is a new SEQUENCE.
    data = [node.title, node.kind, node.start.isoformat(), node.end.isoformat(),
            node.due.isoformat(), node.part_of_day, sorted(node.lead), sorted(node.units),
            node.source, plan_title, [str(o) for o in node.remind]]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:32]


def occurrence_ids(plan_id: str, nodes: Iterable[Node]) -> dict[str, Node]:
    """Stable ids: ``plan/milestone/start``, with ``~end`` only when two share a start."""
    found: dict[str, Node] = {}
    for node in nodes:
        base = f"{plan_id}/{node.milestone_id}/{node.start.isoformat()}"
        key = base if base not in found else f"{base}~{node.end.isoformat()}"
        found[key] = node
    return found


def _plan_hash(loaded: LoadedPlan, year: int) -> str:
    document = loaded.plan.model_dump(mode="json", by_alias=True)
    text = json.dumps([document, year], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _occurrence_values(oid: str, node: Node, fingerprint: str, now: datetime,
                       year: int) -> dict[str, object]:
    return {
        "id": oid, "plan_id": node.plan_id, "plan_year": year, "milestone_key": node.milestone_id,
        "title": node.title, "kind": node.kind, "start": node.start, "end": node.end,
        "due": node.due, "part_of_day": node.part_of_day, "source": node.source,
        "fingerprint": fingerprint, "sequence": 0, "status": "active",
        "created_at": now, "updated_at": now, "cancelled_at": None,
    }


def _unit_values(oid: str, node: Node) -> list[dict[str, object]]:
    rows = {}
    for role, names in (("lead", node.lead), ("unit", node.units)):
        for name in names:
            rows[(role, name)] = {"occurrence_id": oid, "role": role, "name": name,
                                  "name_key": name_key(name)}
    return list(rows.values())


def import_plan(
    session: Session,
    loaded: LoadedPlan,
    calendar: ChinaCalendar,
    *,
    now: datetime,
    year: int | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Bring the stored plan in line with ``loaded`` expanded for ``year``."""
    plan = loaded.plan
    year = plan.year if year is None else year
    report = ImportReport(plan.id, year)
    nodes = occurrence_ids(plan.id, expand_plan(loaded, calendar, year, report.warnings))
    others = {r[0] for r in session.execute(select(_OCC.c.id).where(
        _OCC.c.plan_id == plan.id, _OCC.c.plan_year != year, _OCC.c.id.in_(list(nodes))))}
    nodes = {(f"{oid}@{year}" if oid in others else oid): node for oid, node in nodes.items()}
    wanted = {oid: (node, _fingerprint(node, plan.title)) for oid, node in nodes.items()}
    stored = {row.id: row for row in session.execute(
        select(_OCC.c.id, _OCC.c.fingerprint, _OCC.c.status, _OCC.c.sequence, _OCC.c.start,
               _OCC.c.end, _OCC.c.due, _OCC.c.title).where(_OCC.c.plan_id == plan.id,
                                                             _OCC.c.plan_year == year))}
    head = session.get(PlanRow, plan.id)
    row = session.get(PlanYearRow, (plan.id, year))
    content_hash = _plan_hash(loaded, year)
    report.new_plan, report.new_year = head is None, row is None
    if head is not None and (head.title, head.issuer) != (plan.title, plan.issuer):
        said = f"“{head.title}”" + (f" ({head.issuer})" if head.issuer else "")
        now_said = f"“{plan.title}”" + (f" ({plan.issuer})" if plan.issuer else "")
        report.warnings.append(
            f"plan id “{plan.id}” is stored as {said} ({head.applied_year}); this file calls it "
            f"{now_said}: if it is another plan, give it its own id")

    inserts, updates, cancels = [], [], []
    for oid, (node, fingerprint) in wanted.items():
        old = stored.get(oid)
        if old is None:
            inserts.append(_occurrence_values(oid, node, fingerprint, now, year))
            report.changes.append(Change("added", oid, node.title, node.start, node.end, node.due))
        elif old.fingerprint != fingerprint or old.status != "active":
            values = _occurrence_values(oid, node, fingerprint, now, year)
            values.pop("created_at")
            values.update(_id=values.pop("id"), sequence=old.sequence + 1)
            updates.append(values)
            detail = "restored" if old.status != "active" else _difference(old, node)
            what = "added" if old.status != "active" else "changed"
            report.changes.append(Change(what, oid, node.title, node.start, node.end, node.due,
                                         detail))
        else:
            report.unchanged += 1
    for oid, old in stored.items():
        if oid not in wanted and old.status == "active":
            cancels.append({"_id": oid, "sequence": old.sequence + 1})
            report.changes.append(Change("cancelled", oid, old.title, old.start, old.end, old.due))

    plan_changed = row is None or row.content_hash != content_hash or row.status != "active"
    if dry_run or not (plan_changed or report.changes):
        return report
    _write_plan(session, loaded, year, content_hash, head, row, now)
    if inserts:
        session.execute(insert(_OCC), inserts)
    if updates:
        session.execute(update(_OCC).where(_OCC.c.id == bindparam("_id")), updates)
    if cancels:
        session.execute(
            update(_OCC).where(_OCC.c.id == bindparam("_id")),
            [{**c, "status": "cancelled", "cancelled_at": now, "updated_at": now} for c in cancels],
        )
    touched = [values["id"] for values in inserts] + [values["_id"] for values in updates]
    if updates:
        session.execute(delete(_OCC_UNIT).where(
            _OCC_UNIT.c.occurrence_id.in_([values["_id"] for values in updates])))
    unit_rows = [r for oid in touched for r in _unit_values(oid, wanted[oid][0])]
    if unit_rows:
        session.execute(insert(_OCC_UNIT), unit_rows)
    mark_stale(session, touched + [c["_id"] for c in cancels])  # the feeds render them when read
    return report


def _difference(old: object, node: Node) -> str:
    parts = []
    if (old.start, old.end) != (node.start, node.end):  # type: ignore[attr-defined]
        parts.append(f"dates {old.start}–{old.end} → {node.start}–{node.end}")  # type: ignore[attr-defined]
    if old.due != node.due:  # type: ignore[attr-defined]
        parts.append(f"due {old.due} → {node.due}")  # type: ignore[attr-defined]
    if old.title != node.title:  # type: ignore[attr-defined]
        parts.append(f"title “{old.title}” → “{node.title}”")  # type: ignore[attr-defined]
    return "; ".join(parts) or "units or details"


def _write_plan(session: Session, loaded: LoadedPlan, year: int, content_hash: str,
                head: PlanRow | None, row: PlanYearRow | None, now: datetime) -> None:
    plan = loaded.plan
    document = plan.model_dump(mode="json", by_alias=True)
    values = {
        "title": plan.title, "issuer": plan.issuer, "base_year": plan.year,
        "source_path": str(loaded.path), "content_hash": content_hash, "document": document,
        "status": "active", "updated_at": now, "removed_at": None,
    }
    if row is None:
        session.add(PlanYearRow(plan_id=plan.id, year=year, created_at=now, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    # the plan's head shows its latest year: its title in lists, feeds and pages
    latest = {
        "title": plan.title, "issuer": plan.issuer, "issued": plan.issued, "year": plan.year,
        "applied_year": year, "timezone": plan.timezone, "source_path": str(loaded.path),
        "content_hash": content_hash, "document": document,
        "status": "active", "updated_at": now, "removed_at": None,
    }
    if head is None:
        session.add(PlanRow(id=plan.id, created_at=now, **latest))
    elif year >= head.applied_year or head.status != "active":
        for key, value in latest.items():
            setattr(head, key, value)
    session.flush()
    session.execute(delete(MilestoneRow).where(MilestoneRow.plan_id == plan.id,  # type: ignore[arg-type]
                                               MilestoneRow.year == year))  # type: ignore[arg-type]
    nodes_kind = {m.id: (m.kind or loaded.rules[m.id].kind) for m in plan.milestones}
    session.add_all([
        MilestoneRow(
            plan_id=plan.id, year=year, key=m.id, position=i, title=m.title, when=m.when,
            kind=nodes_kind[m.id], workdays=m.workdays or ("previous" if nodes_kind[m.id] ==
                                                          "deadline" else "none"),
            remind=list(effective_remind(loaded, m, nodes_kind[m.id])),
            source=m.source,
        )
        for i, m in enumerate(plan.milestones)
    ])
    session.flush()


def stored_years(session: Session, plan_id: str) -> list[PlanYearRow]:
    """The years ``plan_id`` is stored for, oldest first (removed ones too)."""
    return list(session.execute(select(PlanYearRow).where(PlanYearRow.plan_id == plan_id)  # type: ignore[arg-type]
                                .order_by(PlanYearRow.year)).scalars())  # type: ignore[arg-type]


def stored_plan(session: Session, plan_id: str, calendar: ChinaCalendar) -> LoadedPlan:
    """The stored plan's latest year, loaded again from its document (``plan add ID --year Y``:
    next year's nodes without the file). KeyError when no year of it is stored."""
    years = stored_years(session, plan_id)
    active = [y for y in years if y.status == "active"] or years
    if not active:
        raise KeyError(plan_id)
    latest = active[-1]
    return load_document(latest.document, latest.source_path or f"{plan_id} ({latest.year})", calendar)


def remove_plan(session: Session, plan_id: str, calendar: ChinaCalendar, *, today: date,
                now: datetime, year: int | None = None) -> int:
    """Mark a plan's ``year`` (default: every year) removed and cancel its occurrences not
    yet due; return how many. KeyError when the plan, or that year of it, is not stored."""
    head = session.get(PlanRow, plan_id)
    years = [y for y in stored_years(session, plan_id) if year is None or y.year == year]
    if head is None or not years:
        raise KeyError(plan_id)
    for one in years:
        one.status, one.removed_at, one.updated_at = "removed", now, now
    if all(y.status == "removed" for y in stored_years(session, plan_id)):
        head.status, head.removed_at, head.updated_at = "removed", now, now
    future = (_OCC.c.plan_id == plan_id, _OCC.c.plan_year.in_([y.year for y in years]),
              _OCC.c.status == "active", _OCC.c.due >= today)
    ids = [r[0] for r in session.execute(select(_OCC.c.id).where(*future))]
    session.execute(
        update(_OCC).where(*future).values(status="cancelled", cancelled_at=now, updated_at=now,
                                           sequence=_OCC.c.sequence + 1)
    )
    mark_stale(session, ids)
    return len(ids)
