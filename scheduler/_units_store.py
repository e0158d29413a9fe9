"""Store the units directory and answer questions about it.

``import_units`` makes the stored directory equal to the file: a unit keeps
its row (and later its feed token) across imports as long as its name does;
aliases, memberships, people and channels are replaced; units no longer in
the file are removed with what hangs off them. The report says which units were added,
changed (any of those replaced parts differs), kept as they were and removed.
"""

from __future__ import annotations

import difflib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlmodel import Session

from notifiers import CHANNELS, Person
from plans import UnitsDirectory, name_key
from scheduler._db import bump_generation
from scheduler._directory import find_unit, stored_person
from scheduler._models import (
    ChannelRow,
    PersonRow,
    UnitAliasRow,
    UnitMembershipRow,
    UnitRow,
)

__all__ = [
    "UnitDetail",
    "UnitsReport",
    "import_units",
    "list_units",
    "rotate_token",
    "show_unit",
    "unknown_units",
    "unreachable",
]


@dataclass
class UnitsReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # kept, with other aliases/people/channels
    kept: list[str] = field(default_factory=list)  # kept as they were
    removed: list[str] = field(default_factory=list)

    def lines(self, dry_run: bool = False) -> list[str]:
        """``units import``'s counts, then the names added and changed (on a dry run) and removed."""
        verbs = (("would add", "would change", "would keep", "would remove") if dry_run
                 else ("new", "changed", "unchanged", "removed"))
        lists = (self.added, self.changed, self.kept, self.removed)
        counts = ", ".join(f"{len(names)} {verb}" for verb, names in zip(verbs, lists, strict=True))
        named = [(verb, names) for verb, names in
                 (("added", self.added), ("changed", self.changed), ("removed", self.removed))
                 if names and (dry_run or verb == "removed")]
        return [counts] + [f"{'would be ' if dry_run else ''}{verb}: " + "、".join(names)
                           for verb, names in named]


def unreachable(directory: UnitsDirectory, source: str = "") -> list[str]:
    """A warning for each person an enabled channel cannot reach (what it lacks), and for
    each unit whose channel reaches people but which has none: that channel skips them."""
    said = []
    where = f"{source}: " if source else ""
    for unit in directory.units:
        for channel in unit.channels:
            cls = CHANNELS.get(channel.kind)
            if cls is None or not channel.enabled or not cls.reaches_people:
                continue
            if not unit.people:
                said.append(f"{where}{unit.name}: channel {channel.id} ({channel.kind}) reaches people "
                            f"and the unit lists none: add people: to it")
            for p in unit.people:
                reason = cls.cannot_reach(stored_person(p))  # the file's person, as a channel sees one
                if reason:
                    said.append(f"{where}{unit.name}: {p.name}: channel {channel.id} ({channel.kind}) "
                                f"cannot reach them ({reason}); it will skip them")
    return said


def _children(unit_ids: list[int]) -> list[Any]:
    return [
        delete(UnitAliasRow).where(UnitAliasRow.unit_id.in_(unit_ids)),  # type: ignore[attr-defined]
        delete(UnitMembershipRow).where(UnitMembershipRow.unit_id.in_(unit_ids)),  # type: ignore[attr-defined]
        delete(UnitMembershipRow).where(UnitMembershipRow.group_id.in_(unit_ids)),  # type: ignore[attr-defined]
        delete(PersonRow).where(PersonRow.unit_id.in_(unit_ids)),  # type: ignore[attr-defined]
        delete(ChannelRow).where(ChannelRow.unit_id.in_(unit_ids)),  # type: ignore[attr-defined]
    ]


def import_units(session: Session, directory: UnitsDirectory, *, now: datetime) -> UnitsReport:
    """Make the stored directory equal to ``directory`` (the caller commits)."""
    report = UnitsReport()
    stored = {row.name_key: row for row in session.execute(select(UnitRow)).scalars()}
    before = {key: _contents(session, row) for key, row in stored.items()}
    entries = [(g, True) for g in directory.groups] + [(u, False) for u in directory.units]
    rows: dict[str, UnitRow] = {}
    for entry, is_group in entries:
        key = name_key(entry.name)
        row = stored.pop(key, None)
        if row is None:
            row = UnitRow(name=entry.name, name_key=key, is_group=is_group, created_at=now,
                          updated_at=now, feed_token=secrets.token_urlsafe(24),
                          ack_token=secrets.token_urlsafe(24))
            session.add(row)
            report.added.append(entry.name)
        else:
            row.name, row.is_group, row.updated_at = entry.name, is_group, now
        rows[key] = row
    session.flush()
    if stored:
        gone = [row.id for row in stored.values()]
        for statement in _children(gone):  # type: ignore[arg-type]
            session.execute(statement)
        session.execute(delete(UnitRow).where(UnitRow.id.in_(gone)))  # type: ignore[union-attr]
        report.removed = sorted(row.name for row in stored.values())
    for statement in _children([row.id for row in rows.values()]):  # type: ignore[misc]
        session.execute(statement)
    session.flush()
    for entry, _ in entries:
        row = rows[name_key(entry.name)]
        for alias in entry.aliases:
            if name_key(alias) != row.name_key:
                session.add(UnitAliasRow(name_key=name_key(alias), alias=alias, unit_id=row.id))
    for unit in directory.units:
        row = rows[name_key(unit.name)]
        for group in directory.groups_of(unit):
            session.add(UnitMembershipRow(unit_id=row.id, group_id=rows[name_key(group.name)].id))
        for position, person in enumerate(unit.people):
            session.add(PersonRow(unit_id=row.id, position=position, name=person.name,
                                  mobile=person.mobile, email=person.email,
                                  dingtalk_userid=person.dingtalk_userid,
                                  wecom_userid=person.wecom_userid))
        for channel in unit.channels:
            session.add(ChannelRow(id=channel.id, unit_id=row.id, kind=channel.kind,
                                   config=channel.config(), enabled=channel.enabled))
    session.flush()
    for key, row in rows.items():
        if key in before:
            same = _contents(session, row) == before[key]
            (report.kept if same else report.changed).append(row.name)
    bump_generation(session)  # groups and tokens decide what each unit's feed holds
    return report


def _known(session: Session) -> dict[str, str]:
    known = {row.name_key: row.name for row in session.execute(select(UnitRow)).scalars()}
    for alias in session.execute(select(UnitAliasRow)).scalars():
        known.setdefault(alias.name_key, alias.alias)
    return known


def unknown_units(session: Session, names: set[str]) -> dict[str, list[str]]:
    """Names the stored directory does not know, each with up to three closest known names."""
    known = _known(session)
    unknown = {}
    for name in sorted(names):
        if name_key(name) not in known:
            close = difflib.get_close_matches(name_key(name), list(known), n=3, cutoff=0.5)
            unknown[name] = list(dict.fromkeys(known[key] for key in close))
    return unknown


@dataclass(frozen=True)
class UnitDetail:
    name: str
    is_group: bool
    aliases: tuple[str, ...]
    groups: tuple[str, ...]
    members: tuple[str, ...]
    people: tuple[Person, ...]
    channels: tuple[tuple[str, str, bool, dict[str, Any]], ...]

    COLUMNS: ClassVar = ["名称 name", "类型", "别名 aliases", "所属/成员", "联系人", "渠道 channels"]

    def row(self) -> list[str]:
        """The unit as a ``units list`` table row."""
        return [self.name, "组 group" if self.is_group else "单位 unit", "、".join(self.aliases),
                "、".join(self.members if self.is_group else self.groups), str(len(self.people)),
                ", ".join(f"{kind}:{channel_id}" for channel_id, kind, *_ in self.channels)]

    def lines(self) -> list[str]:
        """The unit as ``units show`` prints it after its name (secrets by name only)."""
        lines = [f"{label}: " + "、".join(names) for label, names in
                 (("aliases", self.aliases), ("groups", self.groups), ("members", self.members)) if names]
        lines += ["person: " + " ".join(filter(None, [p.name, p.mobile, p.email,
                                                      p.dingtalk_userid and f"钉钉:{p.dingtalk_userid}",
                                                      p.wecom_userid and f"企业微信:{p.wecom_userid}"]))
                  for p in self.people]
        return lines + [f"channel: {channel_id} ({kind}{'' if enabled else ', disabled'}) "
                        + ", ".join(f"{k}={_masked(k, v)}" for k, v in sorted(config.items()))
                        for channel_id, kind, enabled, config in self.channels]


def _masked(field_name: str, value: object) -> object:
    """A URL's query values shown as ***: a robot's URL carries its token (access_token=…,
    key=…), and `units show` output ends up in chats and tickets."""
    if not field_name.endswith("url") or not isinstance(value, str) or "?" not in value:
        return value
    head, _, query = value.partition("?")
    return head + "?" + "&".join(f"{k}=***" if v else k for k, _, v in
                                 (part.partition("=") for part in query.split("&")))


def list_units(session: Session) -> list[UnitDetail]:
    """Every stored unit and group, groups first, by name."""
    rows = session.execute(select(UnitRow).order_by(UnitRow.is_group.desc(), UnitRow.name)).scalars()  # type: ignore[attr-defined]
    return [_detail(session, row) for row in rows]


def rotate_token(session: Session, name: str, *, now: datetime, feed: bool = True,
                 ack: bool = True) -> UnitRow:
    """Give the unit a new feed token (its old feed and page URLs stop at once) and a new
    confirmation secret (the 办结确认 links already sent stop too); ``feed``/``ack``: only one."""
    row = find_unit(session, name)
    if row is None:
        raise LookupError(f"unknown unit “{name}”")
    if feed:
        row.feed_token = secrets.token_urlsafe(24)
    if ack:
        row.ack_token = secrets.token_urlsafe(24)
    row.updated_at = now
    session.flush()
    bump_generation(session)
    return row


def show_unit(session: Session, name: str) -> UnitDetail | None:
    """One unit by name or alias (any script), or None."""
    row = find_unit(session, name)
    return _detail(session, row) if row else None


def _contents(session: Session, row: UnitRow) -> tuple[object, ...]:
    """What an import replaces of a unit: aliases, groups, members, people, channels."""
    d = _detail(session, row)
    return d.aliases, d.groups, d.members, d.people, d.channels


def _detail(session: Session, row: UnitRow) -> UnitDetail:
    def names(ids: list[int]) -> tuple[str, ...]:
        if not ids:
            return ()
        found = session.execute(select(UnitRow.name).where(UnitRow.id.in_(ids)))  # type: ignore[call-overload,union-attr]
        return tuple(sorted(r[0] for r in found))

    memberships = session.execute(select(UnitMembershipRow).where(
        (UnitMembershipRow.unit_id == row.id) | (UnitMembershipRow.group_id == row.id))).scalars().all()  # type: ignore[arg-type]
    aliases = session.execute(select(UnitAliasRow.alias).where(UnitAliasRow.unit_id == row.id))  # type: ignore[call-overload,arg-type]
    people = session.execute(select(PersonRow).where(PersonRow.unit_id == row.id)  # type: ignore[arg-type]
                             .order_by(PersonRow.position)).scalars()  # type: ignore[arg-type]
    channels = session.execute(select(ChannelRow).where(ChannelRow.unit_id == row.id)  # type: ignore[arg-type]
                               .order_by(ChannelRow.id)).scalars()  # type: ignore[arg-type]
    return UnitDetail(
        row.name, row.is_group, tuple(sorted(a[0] for a in aliases)),
        names([m.group_id for m in memberships if m.unit_id == row.id]),
        names([m.unit_id for m in memberships if m.group_id == row.id]),
        tuple(stored_person(p) for p in people),
        tuple((c.id, c.kind, c.enabled, c.config) for c in channels),
    )
