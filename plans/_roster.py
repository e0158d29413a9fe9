"""The units directory out of an office's contact sheet (通讯录): an .xlsx/.xlsm sheet or a CSV.

`read_roster` turns the sheet into the same mapping a units.yaml holds (``groups``, ``units``
with ``aliases``, ``groups``, ``people``, ``channels``), so ``load_units`` validates and stores
it unchanged; every field it makes remembers the cell it came from, and every problem, the
sheet's own or the directory's, is cited as ``file:row:column`` (the row as Excel numbers
it, the column by its letter). How the sheet is read:

- The header row is found by its words in the first `HEADER_ROWS` rows, in any column
  order: the row naming a unit column and at least one other known column (the one naming
  the most, of several). Words are compared without spaces, colons, asterisks or a trailing
  note (手机号码（必填）), full-width as half-width, Traditional as Simplified, Latin in
  any case. Of two columns for one field, the one whose word is listed first below wins
  (手机 over 电话, an office line); unknown columns are ignored. The first sheet with a
  header is read.
- A unit's people are on one row each: its name repeated, or left blank (a merged cell,
  or the previous row's unit). Its other cells (所属, 别名, the robot) may be repeated or
  blank on later rows; two different values are an error naming both rows. A person's
  name on two rows of a unit is one person, the same way. A merged cell counts in every
  row it covers; a row merged across the table (一、机关支部) is a section title, skipped.
- Groups (所属, separated by 、，,;；/ or a line break, as are aliases) become the top-level
  ``groups``; naming a unit there is an error, a unit cannot contain a unit.
- A robot URL becomes a channel of the kind its host says (oapi.dingtalk.com → dingtalk,
  qyapi.weixin.qq.com → wecom, open.feishu.cn / open.larksuite.com → feishu, any other
  http(s) host → webhook), id ``kind-`` and 8 hex digits of the SHA-256 of the unit's
  name as the directory matches it (``name_key``, which ``load_units`` hands in, as it
  decides which rows are one unit), so ids survive reordered rows and Traditional or
  Simplified spellings. The URL is kept (it carries the robot's token, allowed in
  units.yaml as ``url``); the signing secret is not: that column names an environment
  variable, and a cell holding a secret (SEC…, whsec_…, a random key) is refused without
  echoing it.
- Mobiles: a number cell (13800000000 or 1.38e10) is read back as its 11 digits; spaces,
  dashes and +86 are dropped. A cell reading 1.38E+10 (what Excel writes in a CSV for a
  number it shows short) has lost the digits: refused.
- CSV: UTF-8 with or without BOM, else GBK/GB18030 (Excel on Chinese Windows), or UTF-16
  with its BOM; comma or tab delimited, whichever gives a header row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plans._errors import PlanError
from plans._roster_cells import MAX_ROWS, _fail, read_rows
from plans._roster_columns import WORDS, Cell, Header, _letter, _looked_for, _trimmed, find_header
from plans._roster_values import _mobile, _names, _one_line, _refused, channel_id, channel_kind

__all__ = [
    "ROSTER_SUFFIXES",
    "Cell",
    "Header",
    "Roster",
    "channel_id",
    "channel_kind",
    "find_header",
    "is_roster",
    "read_roster",
]

# .xls and .et are named here only to be refused with how to save them as .xlsx.
ROSTER_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".xls", ".et")

NameKey = Callable[[str], str]  # plans._units.name_key: how the directory matches names
UNIT_FIELDS = ("groups", "aliases", "robot", "secret_env")
PERSON_FIELDS = ("mobile", "email", "dingtalk_userid", "wecom_userid")


# ── the rows to the directory ────────────────────────────────────────────────


@dataclass
class _Value:
    text: str
    cell: Cell

    def same(self, other: _Value, role: str, name_key: NameKey) -> bool:
        """Whether two cells say the same: names as matched, mobiles as digits."""
        return self.key(role, name_key) == other.key(role, name_key)

    def key(self, role: str, name_key: NameKey) -> object:
        if role in ("groups", "aliases"):
            return tuple(name_key(n) for n in _names(self.text))
        if role == "mobile":
            return _mobile(self.text)
        return self.text.lower() if role == "email" else self.text


@dataclass
class _Person:
    name: str
    cell: Cell
    fields: dict[str, _Value] = field(default_factory=dict)


@dataclass
class _Unit:
    name: str
    cell: Cell
    fields: dict[str, _Value] = field(default_factory=dict)
    people: dict[str, _Person] = field(default_factory=dict)


class _Reader:
    """The data rows of one sheet, gathered per unit and per person, problems noted by cell."""

    def __init__(self, header: Header, name_key: NameKey) -> None:
        self.header, self.name_key = header, name_key
        self.units: dict[str, _Unit] = {}
        self.problems: list[tuple[Cell, str]] = []
        self.previous: _Unit | None = None

    def note(self, cell: Cell, message: str) -> None:
        self.problems.append((cell, message))

    def cell(self, number: int, role: str) -> Cell:
        return Cell(number, self.header.columns.get(role, self.header.columns["unit"]) + 1)

    def row(self, number: int, cells: Sequence[str]) -> None:
        columns = self.header.columns
        values = {role: cells[c] if c < len(cells) else "" for role, c in columns.items()}
        if not any(values.values()):
            return  # empty, or only columns this reader does not know (序号, 备注)
        unit = self.unit(number, _one_line(values["unit"]))
        if unit is None:
            return
        for role in UNIT_FIELDS:
            if values.get(role):
                self.keep(unit.fields, role, _Value(values[role], self.cell(number, role)), unit)
        given = {role: values[role] for role in PERSON_FIELDS if values.get(role)}
        contact = _one_line(values.get("contact", ""))
        if contact:
            self.person(unit, number, contact, given)
        elif given:
            role = next(iter(given))
            where = (f"write it in column {_letter(columns['contact'] + 1)} "
                     f"({self.header.label('contact')})" if "contact" in columns
                     else f"add a {WORDS['contact'][0]} column (the contact's name)")
            self.note(self.cell(number, role),
                      f"this row gives a {self.header.label(role)} but no contact name; {where}")

    def unit(self, number: int, name: str) -> _Unit | None:
        if not name:
            if self.previous is None:
                self.note(self.cell(number, "unit"), "this row has no unit, nor a unit above "
                          "it; write the unit's name in this cell")
            return self.previous
        unit = self.units.setdefault(self.name_key(name), _Unit(name, self.cell(number, "unit")))
        self.previous = unit
        return unit

    def person(self, unit: _Unit, number: int, name: str, given: dict[str, str]) -> None:
        found = _Person(name, self.cell(number, "contact"))
        person = unit.people.setdefault(self.name_key(name), found)
        for role, text in given.items():
            self.keep(person.fields, role, _Value(text, self.cell(number, role)), unit, person)

    def keep(self, fields: dict[str, _Value], role: str, value: _Value, unit: _Unit,
             person: _Person | None = None) -> None:
        """A value for a unit's (or a person's) field: the first one, a repeat, or a conflict."""
        if (refused := _refused(role, value.text)) is not None:
            self.note(value.cell, refused)
            return
        first = fields.setdefault(role, value)
        if first is value or first.same(value, role, self.name_key):
            return
        whose = f"“{person.name}” of “{unit.name}”" if person else f"unit “{unit.name}”"
        # A robot's URL carries its token: it is not echoed.
        said = ("" if role == "robot"
                else f" (“{_one_line(first.text)}” and “{_one_line(value.text)}”)")
        fix = ("if they are two people, tell their names apart" if person
               else "make them the same, or leave the later rows blank")
        self.note(value.cell, f"{whose} has two different {self.header.label(role)} values, "
                  f"in rows {first.cell.row} and {value.cell.row}{said}; {fix}")

    def directory(self) -> tuple[dict[str, Any], dict[tuple[Any, ...], Cell]]:
        """The units.yaml mapping, and the cell each of its locations came from."""
        cells: dict[tuple[Any, ...], Cell] = {(): self.cell(self.header.row, "unit")}
        units: list[dict[str, Any]] = []
        groups: dict[str, tuple[str, Cell]] = {}
        for i, unit in enumerate(self.units.values()):
            at = ("units", i)
            cells[at] = cells[(*at, "name")] = unit.cell
            entry: dict[str, Any] = {"name": unit.name}
            for role in ("aliases", "groups"):
                if value := unit.fields.get(role):
                    names = self.names(value, role)
                    entry[role] = names
                    cells[(*at, role)] = value.cell
                    cells.update({(*at, role, k): value.cell for k in range(len(names))})
                    if role == "groups":
                        for name in names:
                            groups.setdefault(self.name_key(name), (name, value.cell))
            people = [self.person_entry(person, (*at, "people", j), cells)
                      for j, person in enumerate(unit.people.values())]
            if people:
                entry["people"] = people
            if channel := self.channel(unit, (*at, "channels", 0), cells):
                entry["channels"] = [channel]
            units.append(entry)
        listed = list(groups.values())
        for k, (_, cell) in enumerate(listed):
            cells[("groups", k)] = cells[("groups", k, "name")] = cell
        return {"groups": [{"name": name} for name, _ in listed], "units": units}, cells

    def names(self, value: _Value, role: str) -> list[str]:
        names = _names(value.text)
        if role != "groups":
            return names
        kept = []
        for name in names:
            unit = self.units.get(self.name_key(name))
            if unit is None:
                kept.append(name)
                continue
            self.note(value.cell, f"“{name}” is a unit (row {unit.cell.row}), not a group: a "
                      f"unit cannot be in another unit; name a group (e.g. 各党支部) or leave it out")
        return kept

    @staticmethod
    def person_entry(person: _Person, at: tuple[Any, ...],
                     cells: dict[tuple[Any, ...], Cell]) -> dict[str, Any]:
        cells[at] = cells[(*at, "name")] = person.cell
        entry: dict[str, Any] = {"name": person.name}
        for role, value in person.fields.items():
            entry[role] = _mobile(value.text) if role == "mobile" else _one_line(value.text)
            cells[(*at, role)] = value.cell
        return entry

    def channel(self, unit: _Unit, at: tuple[Any, ...],
                cells: dict[tuple[Any, ...], Cell]) -> dict[str, Any] | None:
        robot, secret = unit.fields.get("robot"), unit.fields.get("secret_env")
        if robot is None:
            if secret is not None:
                self.note(secret.cell, "a robot secret variable but no robot URL; write the "
                          f"group robot's address in the {WORDS['robot'][0]} column, or clear "
                          "this cell")
            return None
        url = _one_line(robot.text)
        kind = channel_kind(url)
        if kind is None:
            self.note(robot.cell, "not an http:// or https:// URL; write the group robot's "
                      "webhook address, e.g. https://oapi.dingtalk.com/robot/send?access_token=…")
            return None
        cells.update({at: robot.cell, **{(*at, f): robot.cell for f in ("id", "kind", "url")}})
        channel = {"id": channel_id(kind, self.name_key(unit.name)), "kind": kind, "url": url}
        if secret is not None:
            channel["secret_env"] = secret.text
            cells[(*at, "secret_env")] = secret.cell
        return channel


# ── the directory and its cells ──────────────────────────────────────────────

_PATH = re.compile(r"\b(?:units|groups)\[\d+\](?:\[\d+\]|\.[A-Za-z_]+)*")  # units[3].name


@dataclass
class Roster:
    """A contact sheet read as a units mapping (``raw``), the problems found in its rows
    (``problems``, already cited), and the cell behind every location of ``raw``."""

    path: Path
    raw: dict[str, Any]
    problems: list[str]
    cells: dict[tuple[Any, ...], Cell]

    def cell(self, loc: Iterable[Any]) -> Cell:
        """The cell of the deepest location on ``loc`` that came from one."""
        # pydantic puts a failing validator's name in union/annotated locations: not a key.
        keys = tuple(k for k in loc if not (isinstance(k, str) and "[" in k))
        while keys not in self.cells:
            keys = keys[:-1]
        return self.cells[keys]

    def cite(self, loc: Iterable[Any]) -> str:
        """``file:row:column`` of a location of ``raw``."""
        cell = self.cell(loc)
        return f"{self.path}:{cell.row}:{_letter(cell.column)}"

    def problem(self, loc: Iterable[Any], message: str) -> str:
        """A problem at ``loc`` cited by its cell; a location the message names (“already used
        by unit X (units[3].name)”) is written as the cell a user finds it in (B7)."""
        def address(found: re.Match[str]) -> str:
            keys = re.findall(r"\[(\d+)\]|\.?([A-Za-z_]+)", found[0])
            return str(self.cell(int(n) if n else name for n, name in keys))

        return f"{self.cite(loc)}: {_PATH.sub(address, message)}"

    def validation_problems(self, error: ValidationError) -> list[str]:
        """The directory's pydantic errors, each cited by the cell it came from."""
        problems = []
        for item in error.errors(include_url=False):
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "required field is missing"
            problems.append(self.problem(item["loc"], message))
        return problems


def is_roster(path: str | Path) -> bool:
    """Whether ``path`` is read as a contact sheet (by its suffix) rather than as YAML."""
    return Path(path).suffix.lower() in ROSTER_SUFFIXES


def read_roster(path: str | Path, name_key: NameKey) -> Roster:
    """Read a contact sheet (.xlsx, .xlsm, .csv) into a units mapping, rows naming one unit
    (or one person of it) by ``name_key`` taken as one. PlanError when the file cannot be
    read or has no header row; the problems of its rows are in ``problems``, for
    ``load_units`` to report with the directory's own."""
    path = Path(path)
    found = read_rows(path)
    if found is None:
        raise _fail(path, f"no contact sheet found: the header row needs {_looked_for()}")
    header, rows = found
    if len(rows) > MAX_ROWS:
        raise _fail(path, f"more than {MAX_ROWS:,} rows under the header (row "
                    f"{header.row}); a contact sheet is smaller: split it")
    reader = _Reader(header, name_key)
    for number, cells in rows:
        if _trimmed(cells) != header.labels:  # the header again, as a long list prints it
            reader.row(number, cells)
    if not reader.units and not reader.problems:
        said = (f"{path}:{header.row}: the header row has no units under it; write each unit "
                f"(and its people) on the rows below it")
        raise PlanError([said])
    raw, cells = reader.directory()
    problems = [f"{path}:{cell.row}:{_letter(cell.column)}: {message}"
                for cell, message in sorted(reader.problems, key=lambda p: p[0])]
    return Roster(path, raw, problems, cells)
