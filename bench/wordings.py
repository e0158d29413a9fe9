"""How many real wordings `jiedian when` reads right: ../shared/untuned/wordings.json.

Each entry (collected from public plan pages by a reader who had not seen the grammar)
is {"text", "year", "expect": [[start, end], ...] or "refuse"}. Right means: the
occurrences' (start, end) equal ``expect``, or the expression is refused when "refuse".
Prints the share right, then every wrong one with what was read.

Run:  .venv/bin/python bench/wordings.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from plans import CALENDAR, ExpressionError, parse

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT.parent / "shared" / "untuned" / "wordings.json", Path("/work/shared/untuned/wordings.json")]
TARGET = 0.95


def read(text: str, year: int) -> list[list[str]] | str:
    try:
        return [[o.start.isoformat(), o.end.isoformat()] for o in parse(text).expand(year, CALENDAR)]
    except ExpressionError as error:
        return f"refused: {error.message}"


def main() -> int:
    path = next((p for p in FILES if p.is_file()), None)
    if path is None:
        print("no wordings.json beside the project (../shared/untuned/); nothing to score")
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))
    wrong = []
    for entry in entries:
        got = read(entry["text"], int(entry.get("year") or 2024))
        expect = entry["expect"]
        ok = isinstance(got, str) if expect == "refuse" else got == expect
        if not ok:
            wrong.append((entry["text"], expect, got))
    right = len(entries) - len(wrong)
    share = right / len(entries) if entries else 1.0
    print(f"wordings: {right}/{len(entries)} read right ({share:.1%}; target ≥ {TARGET:.0%}) "
          f"{'PASS' if share >= TARGET else 'MISS'}")
    for text, expect, got in wrong:
        shown = got if isinstance(got, str) else f"{got[:3]}{' …' if len(got) > 3 else ''}"
        wanted = expect if expect == "refuse" else f"{expect[:3]}{' …' if len(expect) > 3 else ''}"
        print(f"  {text}: expected {wanted}, read {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
