"""The units directory (``units.yaml``): who a plan's 牵头单位 / 责任单位 are and how to reach them.

The file (field names fixed by DESIGN.md) has ``groups: [{name, aliases}]`` and
``units: [{name, aliases, groups, people: [{name, mobile}], channels: [...]}]``.
The rules, each reported as ``file:line: field: message`` (all of a file at once):

- Names are matched by `name_key`: Traditional → Simplified, full-width → ASCII
  (so （） → ()), no whitespace; 各黨（總）支部 is 各党(总)支部. Unit and group
  names share one namespace and are unique under it; an alias may not be
  another unit's or group's name or alias (repeating one's own name is harmless).
- A unit's ``groups`` name declared groups (by name or alias).
- People's mobiles are mainland numbers: 11 digits starting with 1, optionally
  ``+86``; they are kept as the 11 digits.
- A channel has an ``id`` (a slug, unique in the whole file), a ``kind``,
  ``enabled`` (default true) and the kind's own fields. This module knows no provider:
  ``load_units(path, schemas)`` checks each channel with its kind's schema, as the caller
  hands them (``notifiers.CHANNEL_CONFIGS``: a pydantic model per kind, declared beside the
  channel's code, with ``rules`` such as ``url|url_env*``: exactly one, required). A field
  of another kind "does not apply", one of no kind is unknown. Without schemas the kind's
  fields are kept as written, unchecked.
- Secrets never go in the file: ``secret``, ``access_key_secret``, ``secret_key``,
  ``token``, ``key`` and ``password`` are refused without echoing their value.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from plans._errors import PlanError
from plans._loader import field_path, line_of, read_yaml, validation_problems
from plans._roster import is_roster, read_roster
from plans._schema import UnitNames
from plans._text import to_simplified

__all__ = ["Channel", "Group", "Person", "Unit", "UnitsDirectory", "every_unit", "load_units", "name_key",
           "unit_tag"]

SECRET_FIELDS = ("secret", "access_key_secret", "secret_key", "token", "key", "password")

_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# Quotes are how a plan happens to write a name (“创先争优”), not part of it.
_NAME_FORM: dict[int, int | None] = {**_FULL_WIDTH, **{ord(q): None for q in "“”‘’\"'「」『』"}}
_MOBILE = re.compile(r"1[3-9]\d{9}")


def name_key(name: str) -> str:
    """The form unit names are matched in: Simplified, ASCII punctuation, no quotes or spaces.

    >>> name_key("各黨（總）支部") == name_key("各党(总)支部") == "各党(总)支部"
    True
    >>> name_key('工会"创先争优"小组') == name_key("工会“创先争优”小组")
    True
    """
    return "".join(to_simplified(str(name)).translate(_NAME_FORM).split())


def _secret_message(field: str) -> str:
    hint = f"{field}_env" if "secret" in field else "secret_env, or url_env for a URL with a token"
    return (f"`{field}` looks like an inline secret; secrets never go in the units file: "
            f"name an environment variable with *_env instead ({hint})")


def _mobile(value: object) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    digits = re.sub(r"[\s-]", "", text).removeprefix("+86")
    if not _MOBILE.fullmatch(digits):
        raise ValueError(f"“{value}” is not a mainland mobile number; write 11 digits starting "
                         f"with 1, e.g. 13800000000 (optionally +86)")
    return digits


# One @, something before it, a dot after it, no spaces: what a mail server will accept
# for sure; the full RFC 5322 grammar would admit typos an office never means.
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")


def _email(value: object) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"“{value}” is not an email address; write it as name@example.org")
    return text


def _userid(value: object) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text or len(text) > 64 or re.search(r"\s", text):
        raise ValueError(f"“{value}” is not a userid: write the account id from the DingTalk or "
                         f"WeCom admin console (1–64 characters, no spaces)")
    return text


def _distinct(names: list[str]) -> list[str]:
    # Aliases or groups written twice (in any script) count once; the first spelling stays.
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name_key(name), name)
    return list(first.values())


Name = Annotated[str, Field(min_length=1)]
Distinct = Annotated[UnitNames, AfterValidator(_distinct)]
Mobile = Annotated[str, BeforeValidator(_mobile)]
Email = Annotated[str, BeforeValidator(_email)]
# A userid is the provider's own account id (DingTalk: up to 64 characters; WeCom: 1–64 of
# letters, digits, _-@.); spaces inside are always a typo.
UserId = Annotated[str, BeforeValidator(_userid)]


class Channel(BaseModel):
    """One way to reach a unit: id, kind, on/off, and the kind's own fields (``config``)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, hide_input_in_errors=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=120)]
    kind: Annotated[str, Field(min_length=1)]
    enabled: bool = True
    # Declared only so that an inline secret is refused at its own line (see _no_inline_secret).
    secret: Any = Field(None, exclude=True)
    access_key_secret: Any = Field(None, exclude=True)
    secret_key: Any = Field(None, exclude=True)
    token: Any = Field(None, exclude=True)
    key: Any = Field(None, exclude=True)
    password: Any = Field(None, exclude=True)

    @field_validator(*SECRET_FIELDS, mode="before")
    @classmethod
    def _no_inline_secret(cls, value: object, info: ValidationInfo) -> NoReturn:
        raise ValueError(_secret_message(str(info.field_name)))

    def config(self) -> dict[str, Any]:
        """The channel's settings without id and kind, for storage (None left out)."""
        own = {k: v for k, v in (self.model_extra or {}).items() if v is not None}
        return {"enabled": self.enabled, **own}


def _channel_problems(raw: Any, schemas: Mapping[str, type[BaseModel]]) -> list[tuple[list[Any], str]]:
    """Each channel of ``raw`` checked with its kind's schema: (loc, message)."""
    problems: list[tuple[list[Any], str]] = []
    known = {name for schema in schemas.values() for name in schema.model_fields}
    units = raw.get("units") if isinstance(raw, Mapping) else None
    lists = [(["units", i, "channels"], unit.get("channels") if isinstance(unit, Mapping) else None)
             for i, unit in enumerate(units if isinstance(units, list) else [])]
    lists.append((["channels"], raw.get("channels") if isinstance(raw, Mapping) else None))
    for where, channels in lists:
        for j, channel in enumerate(channels if isinstance(channels, list) else []):
            if not isinstance(channel, Mapping) or not isinstance(channel.get("kind"), str):
                continue  # the shape's own error says so
            at, kind = [*where, j], channel["kind"]
            schema = schemas.get(kind)
            if schema is None:
                said = f"“{kind}” is not a channel kind; use one of {', '.join(schemas)}"
                problems.append(([*at, "kind"], said))
                continue
            given = {k for k, v in channel.items() if v is not None
                     and k not in {"id", "kind", "enabled", *SECRET_FIELDS}}
            own = set(schema.model_fields)
            a_kind = ("an " if kind[:1] in "aeiou" else "a ") + kind  # an email channel, a webhook one
            joint = [f"`{f}` does not apply to {a_kind} channel" for f in sorted(given - own) if f in known]
            problems += [([*at, f], "unknown field (check its spelling against DESIGN.md's units file)")
                         for f in sorted(given - own - known)]
            for rule in getattr(schema, "rules", ()):
                names = rule.rstrip("*").split("|")
                if rule.endswith("*") and not given & set(names):
                    joint.append(f"{a_kind} channel needs {' or '.join(names)}")
                if len(given & set(names)) > 1:
                    joint.append(f"give {' or '.join(names)}, not both")
            if joint:
                problems.append((at, "; ".join(joint)))
            try:
                schema.model_validate({k: channel[k] for k in given & own})
            except ValidationError as error:
                problems += [([*at, *item["loc"]], item["msg"].removeprefix("Value error, "))
                             for item in error.errors(include_url=False)]
    return problems


def _normalise_channels(directory: UnitsDirectory, schemas: Mapping[str, type[BaseModel]]) -> None:
    """Each channel's fields as its schema reads them (mobiles as 11 digits, ids as text)."""
    for channel in [*directory.channels, *(c for unit in directory.units for c in unit.channels)]:
        own = {k: v for k, v in (channel.model_extra or {}).items() if v is not None}
        checked = schemas[channel.kind].model_validate(own)
        channel.__pydantic_extra__ = checked.model_dump(exclude_none=True)


class Person(BaseModel):
    """Someone at a unit: SMS channels send to their mobiles, robots @ them, work notices
    and application messages reach their userids (or their mobiles, looked up), email
    their address. All but the name optional; a channel that needs what a person lacks
    skips them with a reason (``units import`` warns)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    mobile: Mobile | None = None
    email: Email | None = None
    dingtalk_userid: UserId | None = None
    wecom_userid: UserId | None = None


class Group(BaseModel):
    """A collective name in plans (各党(总)支部); units join it with their ``groups``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    aliases: Distinct = []


class Unit(BaseModel):
    """A unit that can be reminded: its names, groups, people and channels."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    aliases: Distinct = []
    groups: Distinct = []
    people: list[Person] = []
    channels: list[Channel] = []


class UnitsDirectory(BaseModel):
    """The whole file. Load it with `load_units`, which also checks names across entries."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    groups: list[Group] = []
    units: list[Unit] = []
    # Every unit's channels besides its own: the office's DingTalk or WeCom application, its
    # mail server. `load_units` gives each unit a copy, ``<id>-<8 hex of the unit's name>``.
    channels: list[Channel] = []
    _index: dict[str, Group | Unit] | None = PrivateAttr(default=None)

    def _entries(self) -> dict[str, Group | Unit]:
        if self._index is None:
            index: dict[str, Group | Unit] = {}
            for entry in [*self.groups, *self.units]:
                for written in (entry.name, *entry.aliases):
                    index.setdefault(name_key(written), entry)
            self._index = index
        return self._index

    def get(self, name: str) -> Group | Unit | None:
        """The unit or group a written name (or alias, in any script) refers to."""
        return self._entries().get(name_key(name))

    def resolve(self, name: str) -> list[str]:
        """The canonical names a written name refers to ([] when none)."""
        entry = self.get(name)
        return [entry.name] if entry else []

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` canonical names spelt most like ``name``, for “did you mean”."""
        entries = self._entries()
        keys = difflib.get_close_matches(name_key(name), entries, n=len(entries), cutoff=0.5)
        return list(dict.fromkeys(entries[key].name for key in keys))[:n]

    def groups_of(self, unit: Unit) -> list[Group]:
        """The declared groups a unit belongs to, each once (by name or alias)."""
        groups = {id(g): g for g in map(self.get, unit.groups) if isinstance(g, Group)}
        return list(groups.values())

    def recipients(self, name: str) -> list[str]:
        """The units to remind for a written name: the unit, or a group's member units."""
        entry = self.get(name)
        if isinstance(entry, Unit):
            return [entry.name]
        return [u.name for u in self.units if any(g is entry for g in self.groups_of(u))]

    def expand_unit(self, name: str) -> set[str]:
        """Name keys a plan may use for ``name``: the unit, its aliases, its groups and theirs.

        For a group, its own name and aliases; for an unknown name, its own key.
        """
        entry = self.get(name)
        if entry is None:
            return {name_key(name)}
        related = [entry, *self.groups_of(entry)] if isinstance(entry, Unit) else [entry]
        return {name_key(w) for e in related for w in (e.name, *e.aliases)}


def _cross_checks(directory: UnitsDirectory) -> list[tuple[list[Any], str]]:
    """Names, aliases, group references and channel ids across the file: (loc, message)."""
    problems: list[tuple[list[Any], str]] = []
    seen: dict[str, tuple[Group | Unit, list[Any]]] = {}
    entries = [*enumerate(directory.groups), *enumerate(directory.units)]
    for i, entry in entries:
        section = "units" if isinstance(entry, Unit) else "groups"
        aliases = [(["aliases", k], alias) for k, alias in enumerate(entry.aliases)]
        written = [(["name"], entry.name), *aliases]
        for where, text in written:
            loc, first = [section, i, *where], seen.get(name_key(text))
            if first and first[0] is not entry:
                what = "unit" if isinstance(first[0], Unit) else "group"
                message = (f"“{text}” is already used by {what} “{first[0].name}” "
                           f"({field_path(first[1])}); names and aliases must be unique "
                           f"(compared in Simplified, without spaces)")
                problems.append((loc, message))
            elif not first:
                seen[name_key(text)] = (entry, loc)
    known = {name_key(w): g.name for g in directory.groups for w in (g.name, *g.aliases)}
    channel_ids: dict[str, list[Any]] = {}
    for i, unit in enumerate(directory.units):
        for k, group in enumerate(unit.groups):
            if name_key(group) not in known:
                close = difflib.get_close_matches(name_key(group), known, n=3, cutoff=0.5)
                hint = f"did you mean {'、'.join(dict.fromkeys(known[c] for c in close))}?"
                hint = hint if close else "declare it under groups"
                message = f"“{group}” is not a declared group; {hint}"
                problems.append((["units", i, "groups", k], message))
        for j, channel in enumerate(unit.channels):
            loc = ["units", i, "channels", j, "id"]
            if channel.id in channel_ids:
                message = (f"channel id “{channel.id}” is used twice (also at "
                           f"{field_path(channel_ids[channel.id][:4])}); it must be unique")
                problems.append((loc, message))
            channel_ids.setdefault(channel.id, loc)
    for j, channel in enumerate(directory.channels):
        loc = ["channels", j, "id"]
        if channel.id in channel_ids:
            message = (f"channel id “{channel.id}” is used twice (also at "
                       f"{field_path(channel_ids[channel.id][:4])}); it must be unique")
            problems.append((loc, message))
        channel_ids.setdefault(channel.id, loc)
    return problems


def unit_tag(name: str) -> str:
    """8 hex digits of a unit's name as matched: the suffix of its copy of an office-wide
    channel (``notice`` → ``notice-ac8251b5``), the same while rows or scripts change."""
    return hashlib.sha256(name_key(name).encode()).hexdigest()[:8]


def every_unit(directory: UnitsDirectory, channels: list[Channel]) -> UnitsDirectory:
    """``directory`` with each of ``channels`` given to every unit, as ``<id>-<unit_tag>``."""
    for unit in directory.units:
        tag = unit_tag(unit.name)
        unit.channels = [*unit.channels, *(c.model_copy(update={"id": f"{c.id}-{tag}"}, deep=True)
                                           for c in channels)]
    return directory


def load_units(path: str | Path, schemas: Mapping[str, type[BaseModel]] | None = None) -> UnitsDirectory:
    """Load and check a units directory (each channel with its kind's schema from ``schemas``,
    kind → pydantic model); raise PlanError listing every problem. An office's contact sheet
    (.xlsx, .xlsm, .csv) is read into the same mapping by ``plans._roster``, and its problems
    are cited as ``file:row:column``."""
    path = Path(path)
    sheet = read_roster(path, name_key) if is_roster(path) else None
    raw = read_yaml(path) if sheet is None else sheet.raw
    if raw is None:
        return UnitsDirectory()
    if not isinstance(raw, Mapping):
        raise PlanError([f"{path}:1: units file: expected a mapping with groups and units"])

    def cited(loc: list[Any], message: str) -> str:
        if sheet is not None:
            return sheet.problem(loc, message)
        return f"{path}:{line_of(raw, loc)}: {field_path(loc, 'units')}: {message}"

    def by_line(problems: list[str]) -> list[str]:  # a file's line, or a sheet's row
        return sorted(problems, key=lambda p: int(p.removeprefix(f"{path}:").split(":")[0]))

    channels = _channel_problems(raw, schemas) if schemas is not None else []
    said = [*(sheet.problems if sheet else []), *(cited(loc, m) for loc, m in channels)]
    try:
        directory = UnitsDirectory.model_validate(raw)
    except ValidationError as error:
        found = (sheet.validation_problems(error) if sheet is not None
                 else validation_problems(path, raw, error, "units"))
        raise PlanError(by_line(found + said)) from None
    if said:
        raise PlanError(by_line(said))
    if schemas is not None:
        _normalise_channels(directory, schemas)
    crossed = sorted(_cross_checks(directory),
                     key=lambda p: (line_of(raw, p[0]), field_path(p[0]), p[1]))
    problems = by_line([cited(loc, message) for loc, message in crossed])
    if problems:
        raise PlanError(problems)
    return every_unit(directory, directory.channels)
