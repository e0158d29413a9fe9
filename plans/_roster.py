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

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from plans._errors import PlanError
from plans._sheets import BLANK_RUN, HEADER_ROWS, MAX_COLUMNS, MAX_XML_BYTES, _merges, _refuse
from plans._text import to_simplified

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
# A county's 通讯录 is a few hundred units of a few people; past this it is a data export.
MAX_ROWS = 20_000
MAX_CSV_BYTES = 20_000_000

# Each field's header words; of two columns for one field the earlier word wins.
WORDS: dict[str, tuple[str, ...]] = {
    "unit": ("单位名称", "单位", "支部名称", "党组织名称", "部门"),
    "groups": ("所属", "分组", "所属单位", "上级党组织", "所属组"),
    "aliases": ("别名", "简称", "又称"),
    "contact": ("联系人", "姓名", "负责人", "书记"),
    "mobile": ("手机", "手机号", "手机号码", "联系电话", "电话"),
    "email": ("邮箱", "电子邮箱", "email", "e-mail"),
    "dingtalk_userid": ("钉钉userid", "钉钉用户id", "钉钉id"),
    "wecom_userid": ("企业微信userid", "企业微信id", "企微userid"),
    "robot": ("群机器人地址", "机器人地址", "webhook", "机器人webhook"),
    "secret_env": ("加签密钥变量", "机器人密钥变量", "secret_env"),
}
NameKey = Callable[[str], str]  # plans._units.name_key: how the directory matches names
UNIT_FIELDS = ("groups", "aliases", "robot", "secret_env")
PERSON_FIELDS = ("mobile", "email", "dingtalk_userid", "wecom_userid")

_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SEPARATORS = re.compile(r"[、，,;；/／\n]+")
_NOTE = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")  # 手机号码(必填)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SHORT_NUMBER = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")  # 1.38E+10: what Excel shows, digits lost
_ROBOT_HOSTS = {"oapi.dingtalk.com": "dingtalk", "qyapi.weixin.qq.com": "wecom",
                "open.feishu.cn": "feishu", "open.larksuite.com": "feishu"}


def _word(text: str) -> str:
    """A header cell as it is matched: 手机号码（必填）： and *手机号码 are 手机号码."""
    word = re.sub(r"[\s:*]+", "", to_simplified(text).translate(_WIDTH))
    return _NOTE.sub("", word).lower()


_ROLE_OF = {_word(w): (role, rank) for role, words in WORDS.items() for rank, w in enumerate(words)}


def _letter(column: int) -> str:
    """Excel's name of a 1-based column: 1 → A, 27 → AA."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True, order=True)
class Cell:
    """Where a value came from: a row as Excel numbers it, a 1-based column."""

    row: int
    column: int

    def __str__(self) -> str:
        return f"{_letter(self.column)}{self.row}"


@dataclass
class Header:
    """A contact sheet's header row: each known field's column (0-based) and its word."""

    row: int
    columns: dict[str, int]
    labels: tuple[str, ...]  # every cell of the row as written, for repeated headers

    def label(self, role: str) -> str:
        return self.labels[self.columns[role]]


def _header(cells: Sequence[str], number: int) -> Header | None:
    best: dict[str, tuple[int, int]] = {}  # role → (rank, column)
    for column, text in enumerate(cells):
        found = _ROLE_OF.get(_word(text))
        if found and (found[0] not in best or (found[1], column) < best[found[0]]):
            best[found[0]] = (found[1], column)
    if "unit" not in best or len(best) < 2:
        return None
    return Header(number, {role: c for role, (_, c) in best.items()}, _trimmed(cells))


def find_header(rows: Iterable[tuple[int, Sequence[str]]]) -> Header | None:
    """The header among numbered rows (a sheet's first ones): a unit column and another known
    one, the row naming the most fields, the first of equals; None when no row does."""
    found = [h for number, cells in rows if (h := _header(cells, number))]
    return max(found, key=lambda h: (len(h.columns), -h.row)) if found else None


def _looked_for() -> str:
    others = "; ".join(f"{'/'.join(words[:3])}…" for role, words in WORDS.items() if role != "unit")
    return (f"a unit column ({'、'.join(WORDS['unit'])}) and at least one of: {others}, "
            f"in the first {HEADER_ROWS} rows")


# ── cells to text ────────────────────────────────────────────────────────────


def _text(value: Any) -> str:
    """A cell as text: a number cell as its digits (13800000000.0 is 13800000000)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _one_line(text: str) -> str:
    # A line break in a Chinese name is where the cell wrapped, not a space.
    return re.sub(r"\s*\n\s*", "", text).strip()


def _names(text: str) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def _mobile(text: str) -> str:
    digits = re.sub(r"[\s\-–—]", "", text.translate(_WIDTH)).removeprefix("+86")
    # Anything else goes to the directory's own check as written, so its error quotes it.
    return digits if _MOBILE.fullmatch(digits) else text


def _is_secret(text: str) -> bool:
    """Whether a cell of the secret-variable column holds a secret rather than its name:
    DingTalk's SEC + hex, a Standard Webhooks whsec_, or a random mixed-case key (Feishu)."""
    if not _ENV_NAME.fullmatch(text):
        return True
    if re.fullmatch(r"SEC[0-9a-fA-F]{16,}", text) or text.lower().startswith("whsec_"):
        return True
    mixed = all(re.search(p, text) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    return len(text) >= 16 and "_" not in text and mixed


def _refused(role: str, text: str) -> str | None:
    """Why a cell cannot be taken as written, before any other check; None when it can."""
    if role == "secret_env" and _is_secret(text):
        return ("this cell must name the environment variable that holds the robot's signing "
                "secret, not hold the secret: put the secret in the environment or the secrets "
                "file (JIEDIAN_SECRETS_FILE) under a name such as DJB_DING_SECRET, and write "
                "that name here (if this sheet was shared, reset the robot's secret too)")
    if role == "mobile" and _SHORT_NUMBER.fullmatch(text.strip()):
        return (f"“{text.strip()}” is a mobile Excel wrote short, and its digits are lost; in "
                f"Excel set the column's format to Text (文本) or 0, type the number again if "
                f"it shows short there too, and save again")
    return None


def channel_kind(url: str) -> str | None:
    """The robot kind a URL's host names; None for what is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return _ROBOT_HOSTS.get(host.lower().rstrip("."), "webhook")


def channel_id(kind: str, key: str) -> str:
    """A robot channel's id from its unit's name as matched (``name_key``): ASCII, the same
    whatever the row order or the name's script."""
    return f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


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


def _fail(path: Path, message: str) -> PlanError:
    return PlanError([f"{path}: {message}"])


def is_roster(path: str | Path) -> bool:
    """Whether ``path`` is read as a contact sheet (by its suffix) rather than as YAML."""
    return Path(path).suffix.lower() in ROSTER_SUFFIXES


def read_roster(path: str | Path, name_key: NameKey) -> Roster:
    """Read a contact sheet (.xlsx, .xlsm, .csv) into a units mapping, rows naming one unit
    (or one person of it) by ``name_key`` taken as one. PlanError when the file cannot be
    read or has no header row; the problems of its rows are in ``problems``, for
    ``load_units`` to report with the directory's own."""
    path = Path(path)
    found = _read_csv(path) if path.suffix.lower() == ".csv" else _read_workbook(path)
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


Rows = list[tuple[int, list[str]]]


def _trimmed(cells: Sequence[str]) -> tuple[str, ...]:
    texts = [str(c).strip() for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


def _read(path: Path, count: int) -> bytes:
    """Up to ``count`` bytes of the file; PlanError saying why it cannot be read."""
    try:
        with path.open("rb") as file:
            return file.read(count)
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory; give an .xlsx or .csv file") from None
    except OSError as error:
        raise _fail(path, f"cannot be read: {error.strerror}") from None


# ── .csv ─────────────────────────────────────────────────────────────────────


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's “Unicode text”
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK, which Excel on Chinese Windows writes
    except UnicodeDecodeError as error:
        raise _fail(path, f"neither UTF-8 nor GBK text (byte {error.start}); save it "
                    f"again from Excel as “CSV UTF-8 (逗号分隔)”") from None


def _read_csv(path: Path) -> tuple[Header, Rows] | None:
    """The header and the rows below it, with the delimiter (comma or tab) that gives the
    header naming the most fields."""
    data = _read(path, MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise _fail(path, f"larger than {MAX_CSV_BYTES / 1e6:.0f} MB; a contact sheet "
                    f"is far smaller: split it")
    text = _decode(path, data)
    best: tuple[Header, Rows] | None = None
    for delimiter in (",", "\t"):
        try:
            records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            rows = [(n, [c.strip() for c in cells]) for n, cells in enumerate(records, 1)]
        except csv.Error as error:
            raise _fail(path, f"not readable as CSV ({error})") from None
        header = find_header(r for r in rows if r[0] <= HEADER_ROWS)
        if header and (best is None or len(header.columns) > len(best[0].columns)):
            best = header, [r for r in rows if r[0] > header.row]
    return best


# ── .xlsx ────────────────────────────────────────────────────────────────────

Ranges = list[tuple[int, int, int, int]]  # merged ranges: (min_col, min_row, max_col, max_row)


def _read_workbook(path: Path) -> tuple[Header, Rows] | None:
    """The first sheet with a header row: the header and the rows below it, merged cells
    filled down, rows merged across two known columns (section titles) left out."""
    import openpyxl  # only needed for spreadsheet input

    _refuse(path, _read(path, 8))  # an old .xls, an encrypted workbook, not a zip
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise _fail(path, "not an .xlsx workbook (no workbook in it)")
            size = sum(info.file_size for info in archive.infolist()
                       if info.filename.startswith("xl/worksheets/")
                       or info.filename == "xl/sharedStrings.xml")
            if size > MAX_XML_BYTES:  # before openpyxl inflates it: a zip bomb stops here
                raise _fail(path, f"its sheets hold {size / 1e6:.0f} MB of data; the "
                            f"limit is {MAX_XML_BYTES / 1e6:.0f} MB. Delete the sheets that "
                            f"are not the contact list")
            merges = _merges(archive)
        with path.open("rb") as file:
            # A file object, not a name: openpyxl judges a name by its suffix.
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
            try:
                for sheet in workbook.worksheets:
                    found = _sheet(sheet, merges.get(sheet.title, []))
                    if found is not None:
                        return found
            finally:
                workbook.close()
    except PlanError:
        raise
    except Exception as error:  # noqa: BLE001 — a corrupt file breaks openpyxl in many ways
        raise _fail(path, f"not a readable .xlsx workbook ({type(error).__name__}: "
                    f"{error}); open it in Excel or WPS and save it again") from None
    return None


def _sheet(sheet: Any, ranges: Ranges) -> tuple[Header, Rows] | None:
    """A sheet's header and rows below it; None, after its first rows, without a header."""
    rows: dict[int, list[str]] = {}
    header: Header | None = None
    blank = 0
    for number, values in enumerate(_values(sheet), 1):
        cells = [_text(v) for v in values]
        if any(cells):
            rows[number], blank = cells, 0
        else:
            blank += 1
            if blank > BLANK_RUN:  # formatted but empty rows often run to the sheet's end
                break
        if number == HEADER_ROWS:
            header = find_header(sorted(rows.items()))
            if header is None:
                return None  # not a contact sheet: the rest of it need not be read
        if len(rows) > MAX_ROWS + HEADER_ROWS:
            break  # read_roster says the sheet is too long
    header = header or find_header(sorted(rows.items()))
    if header is None:
        return None
    _fill_down(rows, ranges)
    sections = _sections(header, ranges)
    return header, [(n, rows[n]) for n in sorted(rows) if n > header.row and n not in sections]


def _values(sheet: Any) -> Iterator[tuple[Any, ...]]:
    stream = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    try:
        yield from stream
    finally:
        stream.close()


def _fill_down(rows: dict[int, list[str]], ranges: Ranges) -> None:
    """A merged cell's value in every row it covers, in its first column (a unit over its
    people's rows, one 所属 or one robot over several units)."""
    for min_col, min_row, _, max_row in ranges:
        top = rows.get(min_row)
        if top is None or min_col > len(top) or max_row == min_row:
            continue
        for number in range(min_row + 1, max_row + 1):
            cells = rows.get(number)
            if cells is None:
                continue  # a blank row under a long merge stays skipped
            cells += [""] * (min_col - len(cells))
            cells[min_col - 1] = cells[min_col - 1] or top[min_col - 1]


def _sections(header: Header, ranges: Ranges) -> set[int]:
    """Rows a merge spans across two known columns: a section title (一、机关支部), not a unit."""
    known = {c + 1 for c in header.columns.values()}
    return {number for min_col, min_row, max_col, max_row in ranges
            if len(known & set(range(min_col, max_col + 1))) >= 2
            for number in range(min_row, max_row + 1)}
