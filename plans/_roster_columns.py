"""A contact sheet's header row: each field's header words and their synonyms, how a header
cell is normalised to be matched, the row that is the header, and its column → field map.
``Cell`` and ``Header`` say where a value of the sheet came from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plans._sheets import HEADER_ROWS
from plans._text import to_simplified

__all__ = ["WORDS", "Cell", "Header", "find_header"]

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

_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_NOTE = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")  # 手机号码(必填)


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


def _trimmed(cells: Sequence[str]) -> tuple[str, ...]:
    texts = [str(c).strip() for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)

