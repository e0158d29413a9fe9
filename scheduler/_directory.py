"""Whom a name reaches, and through which destinations: the stored units directory.

One module answers it for everybody: the outbox (``sync_reminders``: a name reaches its unit or
group and the group's members), supervision (who must confirm: the units, not the groups),
the feeds and queries (``unit_keys``: the names that address a unit), ``notify test`` and the
dispatcher (``destinations``: a unit's enabled channels with its people, in the order the
units file lists them; ``stored_person``: a stored person as the channels see one).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from notifiers import Destination, Person
from plans import name_key, unit_tag
from scheduler._models import (
    OCCURRENCE_UNIT as _OU,
    ChannelRow,
    PersonRow,
    UnitAliasRow,
    UnitMembershipRow,
    UnitRow,
)

__all__ = ["Directory", "UnknownUnitError", "destinations", "find_unit", "load_directory", "stored_person",
           "unit_keys"]


class UnknownUnitError(LookupError):
    """A unit name that neither the directory nor any plan knows."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name, self.suggestions = name, suggestions
        hint = f"; did you mean {'、'.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown unit “{name}”{hint}")


@dataclass(frozen=True)
class Directory:
    """The stored directory, read once: names, groups, who belongs where, enabled channels."""

    names: dict[int, str]  # unit id → name
    groups: set[int]  # the ids that are groups
    key_unit: dict[str, int]  # name key or alias key → unit id
    members: dict[int, list[int]]  # group id → member unit ids
    channels: dict[int, list[str]]  # unit id → its enabled channel ids

    def reach(self, key: str) -> list[int]:
        """The units (not groups) a name key stands for: who must confirm."""
        uid = self.key_unit.get(key)
        if uid is None:
            return []
        return sorted(self.members.get(uid, [])) if uid in self.groups else [uid]

    def addressed(self, key: str) -> list[int]:
        """The unit or group a name key names and, for a group, its members: who is reminded."""
        uid = self.key_unit.get(key)
        return [] if uid is None else sorted({uid, *self.members.get(uid, [])})


def load_directory(session: Session) -> Directory:
    units = list(session.execute(select(UnitRow)).scalars())
    keys: dict[str, int] = {u.name_key: u.id for u in units}  # type: ignore[misc]
    for alias in session.execute(select(UnitAliasRow)).scalars():
        keys.setdefault(alias.name_key, alias.unit_id)
    members: dict[int, list[int]] = {}
    for link in session.execute(select(UnitMembershipRow)).scalars():
        members.setdefault(link.group_id, []).append(link.unit_id)
    channels: dict[int, list[str]] = {u.id: [] for u in units}  # type: ignore[misc]
    for channel in session.execute(select(ChannelRow).where(ChannelRow.enabled)  # type: ignore[arg-type]
                                   .order_by(ChannelRow.id)).scalars():  # type: ignore[arg-type]
        channels.setdefault(channel.unit_id, []).append(channel.id)
    return Directory({u.id: u.name for u in units}, {u.id for u in units if u.is_group},  # type: ignore[misc]
                     keys, members, channels)


def find_unit(session: Session, name: str) -> UnitRow | None:
    """A stored unit or group by name or alias, in any script; None when unknown."""
    key = name_key(name)
    row = session.execute(select(UnitRow).where(UnitRow.name_key == key)).scalars().first()  # type: ignore[arg-type]
    if row is None:
        alias = session.get(UnitAliasRow, key)
        row = session.get(UnitRow, alias.unit_id) if alias else None
    return row


def unit_keys(session: Session, name: str) -> set[str]:
    """The name keys that address ``name``: itself, its aliases, its groups and theirs.

    Raises UnknownUnitError (with the closest names) when neither the directory
    nor any stored occurrence knows the name.
    """
    key = name_key(name)
    unit = find_unit(session, name)
    if unit is None:
        if session.execute(select(_OU.c.name_key).where(_OU.c.name_key == key).limit(1)).first():
            return {key}
        known = [row[0] for row in session.execute(select(UnitRow.name))]  # type: ignore[call-overload]
        known += [row[0] for row in session.execute(select(_OU.c.name).distinct())]
        raise UnknownUnitError(name, difflib.get_close_matches(name, known, n=3, cutoff=0.4))
    ids = {unit.id} | {row[0] for row in session.execute(
        select(UnitMembershipRow.group_id).where(UnitMembershipRow.unit_id == unit.id))}  # type: ignore[call-overload,arg-type]
    keys = {row[0] for row in session.execute(select(UnitRow.name_key).where(UnitRow.id.in_(ids)))}  # type: ignore[call-overload,union-attr]
    keys |= {row[0] for row in session.execute(
        select(UnitAliasRow.name_key).where(UnitAliasRow.unit_id.in_(ids)))}  # type: ignore[call-overload,attr-defined]
    return keys


PERSON_COLUMNS = ("name", "mobile", "email", "dingtalk_userid", "wecom_userid")


def stored_person(row: object) -> Person:
    """A person, stored (a PersonRow or a row with its columns) or from the units file, as the
    channels see one."""
    return Person(**{column: getattr(row, column) for column in PERSON_COLUMNS})


def destinations(session: Session, unit: UnitRow, channel_id: str | None = None) -> list[Destination]:
    """The unit's enabled channels (or the one asked for) as destinations, with its people
    in the units file's order."""
    query = select(ChannelRow).where(ChannelRow.unit_id == unit.id)  # type: ignore[arg-type]
    if channel_id:
        # an office-wide channel by the id written once (notice), or by the unit's copy's
        ids = [channel_id, f"{channel_id}-{unit_tag(unit.name)}"]
        query = query.where(ChannelRow.id.in_(ids))  # type: ignore[attr-defined]
    people = tuple(stored_person(p) for p in session.execute(
        select(PersonRow).where(PersonRow.unit_id == unit.id)  # type: ignore[arg-type]
        .order_by(PersonRow.position)).scalars())  # type: ignore[arg-type]
    mobiles = tuple(p.mobile for p in people if p.mobile)
    return [
        Destination(row.id, row.kind, row.config, mobiles, unit.name, people)
        for row in session.execute(query.order_by(ChannelRow.id)).scalars()  # type: ignore[arg-type]
        if row.enabled or channel_id
    ]
