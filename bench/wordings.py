"""How many real wordings `jiedian when` reads right: ../shared/untuned/wordings.json.

Each entry (collected from public plan pages by a reader who had not seen the grammar)
is {"text", "year", "expect": [[start, end], ...] or "refuse"}. A text is a time
expression (4月底前) or the sentence it was written in (4月30日以前完成项目申报材料).
It is read as `jiedian when` reads it; when `when` refuses it, as `plan extract` reads
the sentence (the union of its nodes' occurrences, the year given as the document's).
Right means: the occurrences' (start, end) equal ``expect``, or, for "refuse", that
`when` refuses it and extraction finds no node. Prints the share right, how many were
read each way, then every wrong one with what was read.

Run:  .venv/bin/python bench/wordings.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from plans import CALENDAR, ExpressionError, extract_text, parse

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT.parent / "shared" / "untuned" / "wordings.json", Path("/work/shared/untuned/wordings.json")]
TARGET = 0.95


def read(text: str, year: int) -> list[list[str]] | str:
    """What `when` reads, or "refused: …"."""
    try:
        return [[o.start.isoformat(), o.end.isoformat()] for o in parse(text).expand(year, CALENDAR)]
    except ExpressionError as error:
        return f"refused: {error.message}"


def extracted(text: str, year: int) -> list[list[str]] | str:
    """The occurrences of the nodes `plan extract` finds in ``text`` as a plan of ``year``."""
    found: set[tuple[str, str]] = set()
    for doc in extract_text(f"{year}年工作安排\n一、工作安排\n{text}\n").documents:
        for node in doc.nodes:
            try:
                found |= {(o.start.isoformat(), o.end.isoformat())
                          for o in parse(node.when).expand(doc.year, CALENDAR, doc.events)}
            except ExpressionError:
                continue
    return [list(pair) for pair in sorted(found)] if found else "no node found"


def main() -> int:
    path = next((p for p in FILES if p.is_file()), None)
    if path is None:
        print("no wordings.json beside the project (../shared/untuned/); nothing to score")
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))
    wrong = []
    by_when = 0
    for entry in entries:
        year = int(entry.get("year") or 2024)
        got = read(entry["text"], year)
        if isinstance(got, str):
            from_sentence = extracted(entry["text"], year)
            got = got if isinstance(from_sentence, str) else from_sentence
        else:
            by_when += 1
        expect = entry["expect"]
        ok = isinstance(got, str) if expect == "refuse" else got == expect
        if not ok:
            wrong.append((entry["text"], expect, got))
    right = len(entries) - len(wrong)
    share = right / len(entries) if entries else 1.0
    print(f"wordings: {right}/{len(entries)} read right ({share:.1%}; target ≥ {TARGET:.0%}) "
          f"{'PASS' if share >= TARGET else 'MISS'}; {by_when} read by `when` as written, "
          f"the rest from their sentence by `plan extract`")
    for text, expect, got in wrong:
        shown = got if isinstance(got, str) else f"{got[:3]}{' …' if len(got) > 3 else ''}"
        wanted = expect if expect == "refuse" else f"{expect[:3]}{' …' if len(expect) > 3 else ''}"
        print(f"  {text}: expected {wanted}, read {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
