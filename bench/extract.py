"""Score `jiedian plan extract` strictly against answer keys, and time it.

Three sets, each scored per document and in total:

  seeds    ../shared/seeds/*.txt against tests/data/keys/*.yaml, one entry per node:
             - {line: 12, when: 4月底, accept: [4月底前], kind: deadline, units: [各党(总)支部]}
  corpus   ../shared/corpus/*.txt against ../shared/corpus/keys.json:
             {"doc": {"keys": [...], "distractors": [...], "units": [...], "year": 2021}}
  dev2     ../shared/dev2/*.txt against ../shared/dev2/keys.json: a second development set
           (same form), keyed by a reader who had not seen the rules
  untuned3 … untuned19  ../shared/untuned3/ …: further held-out sets, keyed
           the same way (skipped when absent)
  untuned  ../shared/untuned/*.txt against ../shared/untuned/keys.json (same form; documents
           without a key, and keys without a document, are skipped and named)

(../shared is next to the repository; /work/shared when it is not there.)

The rule is strict. A key is found by an extracted node when the node's `when` or `written`
holds the WHOLE key (after `plans.normalize` on both sides, pinyin notes such as 權(quán)
dropped as the extractor drops them), or when the two read to the same dates: both parse
and expand, in the key's year (else the node's document year), to the same set of
(start, end, part of day) occurrences. A part does not count: `4月` does not find
`4月至5月`, nor `每周二` find `每周二晚7点到9点`. Each key (each list item, even a
repeated string) gets its own node when there are enough: pairs are made greedily,
containment before same dates, tightest first; a key that repeats an already found key
may share its node; a list node (上半年、三季度、四季度: one milestone dating each item) may
find one key per item, each held whole. A seed key node also needs the node within ±1 line; its `accept`
strings count as alternative keys, except those that are only a part of its `when`
(元旦 for 元旦、春節), which would break the rule.

  recall     keys found / keys                                       (target ≥ 95%)
  precision  extracted nodes that find a key of their document / extracted nodes:
             a node that finds nothing, or only a distractor, is wrong (target ≥ 90%)
  units      corpus: the document's key units found among every node's lead + units,
             equal by `name_key`, or named more fully (彭庄煤矿采煤工区党支部 finds
             采煤工区党支部), or, for a body's people (机关党支部书记), their body (a key
             unit 镇党委、政府 or 县安监局及有关单位 is also found when each of its parts is); seeds: the found key nodes naming units whose units are all
             found that way in their node's lead + units                 (target ≥ 85%)
  time       one document's extraction (after a warm-up), and a 50,000-character
             document made of the seeds repeated, median of 3 runs       (target < 1 s)

Run:  .venv/bin/python bench/extract.py [--set seeds|corpus|untuned] [--quiet] [--json FILE]
      .venv/bin/python bench/extract.py DOC KEY      one seed document against one YAML key
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from time import perf_counter
from typing import Any

from ruamel.yaml import YAML

from plans import CALENDAR, Extraction, extract_text, name_key, normalize, parse
from plans._segment import read_document

ROOT = Path(__file__).resolve().parent.parent
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()),
              ROOT.parent / "shared")
KEYS = ROOT / "tests" / "data" / "keys"
SEED_DIRS = [ROOT / "tests" / "data" / "seeds",
             Path(os.environ.get("JIEDIAN_SEEDS", "/nonexistent")), SHARED / "seeds"]
LISTED = {"corpus": SHARED / "corpus", "dev2": SHARED / "dev2", "untuned": SHARED / "untuned",
          **{f"untuned{n}": SHARED / f"untuned{n}" for n in range(3, 20)}}
SETS = ("seeds", "corpus", "dev2", "untuned", *(f"untuned{n}" for n in range(3, 20)))
TARGET_RECALL, TARGET_PRECISION, TARGET_UNITS, TARGET_50K_SECONDS = 0.95, 0.90, 0.85, 1.0
BIG = 50_000
CONTAINS, SAME_DATES = 0, 1  # how a node finds a key, best first


# ── matching: small pure functions ───────────────────────────────────────────

@dataclass(frozen=True)
class Found:
    """An extracted node as the scorer sees it, with its document's year and events."""

    line: int
    when: str
    written: str = ""
    year: int = 2000
    source: str = ""
    lead: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    events: tuple[tuple[str, date], ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.when, self.written) if self.written else (self.when,)


def found_nodes(extraction: Extraction) -> list[Found]:
    """The extraction's nodes, in line order, each with its document's year and events."""
    nodes = [Found(n.line, n.when, n.written or n.when, d.year, n.source, tuple(n.lead),
                   tuple(n.units), tuple(sorted(d.events.items())))
             for d in extraction.documents for n in d.nodes]
    return sorted(nodes, key=lambda n: n.line)


# Pinyin notes a conversion leaves after a character (維權(quán)周); the extractor drops them
# from the text, so they are dropped from both sides here too.
_PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")


@cache
def norm(text: str) -> str:
    """``plans.normalize`` of the text without pinyin notes."""
    return normalize(_PINYIN.sub("", str(text)))


@cache
def reading(expr: str, year: int, events: tuple[tuple[str, date], ...] = ()
            ) -> frozenset[tuple[date, date, str | None]] | None:
    """The (start, end, part of day) occurrences of ``expr`` in ``year``; None when it does
    not read. The part of day is kept so that 每周二 does not read as 每周二晚7点到9点."""
    try:
        occurrences = parse(expr).expand(year, CALENDAR, dict(events))
    except (ValueError, OverflowError):  # ExpressionError, MissingEventError, PlanError
        return None
    return frozenset((o.start, o.end, o.part_of_day) for o in occurrences) or None


def match(node: Found, key: str, year: int | None = None) -> int | None:
    """CONTAINS when the node's when or written holds the whole key, SAME_DATES when they read
    to the same dates (in ``year``, else the node's document year), else None."""
    wanted = norm(key)
    if not wanted:
        return None
    if any(wanted in norm(t) for t in node.texts):
        return CONTAINS
    year = node.year if year is None else year
    dates = reading(key, year, node.events)
    if dates is not None and any(reading(t, year, node.events) == dates for t in node.texts):
        return SAME_DATES
    return None


def items(node: Found) -> int:
    """How many list items the node's when has (上半年、三季度、四季度: 3): one milestone of
    the draft that dates each of them, so it may find that many keys, each held whole."""
    try:
        return max(1, len(parse(node.when).items))
    except ValueError:
        return 1


def slack(node: Found, key: str) -> int:
    """How much longer than the key the node's closest text is (tighter pairs first)."""
    return min(abs(len(norm(t)) - len(norm(key))) for t in node.texts)


def assign(keys: Sequence[str], candidates: Iterable[tuple[tuple[int, ...], int, int]],
           capacity: Sequence[int] = ()) -> dict[int, int]:
    """Pair keys with nodes greedily, best rank first: {key index: node index}.

    ``candidates`` are (rank, key index, node index) for every node that finds a key.
    Each node serves one key, a list node (``capacity``: its number of items) one per
    item; afterwards a key still unpaired that repeats a paired key (same normalised
    text) may share a node that finds it.
    """
    candidates = sorted(candidates)
    pairs: dict[int, int] = {}
    used: Counter[int] = Counter()
    for rank, k, e in candidates:
        room = capacity[e] if e < len(capacity) and rank[0] == CONTAINS else 1
        if k not in pairs and used[e] < room:
            pairs[k] = e
            used[e] += 1
    paired_texts = {norm(keys[k]) for k in pairs}
    for _, k, e in candidates:
        if k not in pairs and norm(keys[k]) in paired_texts:
            pairs[k] = e
    return pairs


def seed_texts(item: Mapping[str, Any]) -> list[str]:
    """A seed key node's `when` and those `accept` strings that are not a mere part of it."""
    when = str(item["when"])
    return [when] + [str(a) for a in item.get("accept") or []
                     if norm(str(a)) and norm(str(a)) not in norm(when)]


# A key naming several units at once: 镇党委、政府; 县安监局及有关单位; 市级各部门及各县区政府.
_UNIT_LIST = re.compile(r"、|以及|及|和|与|[,，]")


def unit_parts(name: str) -> list[str]:
    return [p for p in (name_key(part) for part in _UNIT_LIST.split(_PINYIN.sub("", str(name)))) if p]


# The people of a body, written after it (党支部书记, 支委成员): a reminder reaches them
# through their body, which is what extraction names on purpose.
_BODY_PEOPLE = re.compile(r"(?:全体)?(?:主要)?(?:书记|副书记|主任|副主任|成员|委员|负责人|负责同志|组长|领导)$")


def one_found(key: str, found: set[str]) -> bool:
    """One key name among ``found``: equal; or a found name ending with it (彭庄煤矿采煤工区党支部
    for 采煤工区党支部: the same body named more fully); or, for a body's people (机关党支部书记),
    their body."""
    if key in found:
        return True
    if len(key) >= 4 and any(f.endswith(key) for f in found):
        return True
    body = _BODY_PEOPLE.sub("", key)
    return body != key and len(body) >= 2 and body in found


def unit_found(name: str, found: set[str]) -> bool:
    """Whether a key unit is among ``found`` (name_keys, see one_found): whole, or every
    part of a list of them (、 及 和 与 ,), pinyin notes dropped, as for time keys."""
    parts = unit_parts(name)
    return one_found(name_key(_PINYIN.sub("", str(name))), found) or (
        bool(parts) and all(one_found(p, found) for p in parts))


def unit_keys_of(nodes: Iterable[Found]) -> set[str]:
    return {name_key(u) for n in nodes for u in (*n.lead, *n.units)}


# ── scoring ──────────────────────────────────────────────────────────────────

@dataclass
class Score:
    document: str
    keys: int = 0
    extracted: int = 0
    matched: int = 0  # keys found
    right: int = 0  # extracted nodes that find a key
    unit_keys: int = 0  # corpus: key units; seeds: found key nodes that name units
    unit_hits: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    unit_misses: list[str] = field(default_factory=list)
    by_dates: list[str] = field(default_factory=list)  # nodes right only by reading the dates

    @property
    def recall(self) -> float:
        return self.matched / self.keys if self.keys else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.extracted if self.extracted else 1.0

    @property
    def units(self) -> float:
        return self.unit_hits / self.unit_keys if self.unit_keys else 1.0

    @property
    def unit_nodes(self) -> int:  # the older name (tests/test_extract.py)
        return self.unit_keys

    def passes(self) -> tuple[bool, bool, bool]:
        return (self.recall >= TARGET_RECALL, self.precision >= TARGET_PRECISION,
                self.units >= TARGET_UNITS)

    def figures(self) -> dict[str, Any]:
        return {"document": self.document, "keys": self.keys, "extracted": self.extracted,
                "matched": self.matched, "right": self.right, "recall": self.recall,
                "precision": self.precision, "unit_keys": self.unit_keys,
                "unit_hits": self.unit_hits, "units": self.units, "seconds": self.seconds,
                "misses": self.misses, "extras": self.extras, "unit_misses": self.unit_misses,
                "by_dates": self.by_dates}


def describe(node: Found) -> str:
    text = node.source.split(": ", 1)[1] if node.source.startswith("L") else node.source
    at = max(text.find(node.written or node.when), 0)
    snippet = text[max(at - 12, 0):][:48]
    written = f" (written {node.written})" if node.written and node.written != node.when else ""
    return f"L{node.line} {node.when}{written} «{snippet}»"


def dates_only(how: Mapping[tuple[int, int], int], labels: Sequence[str],
               nodes: Sequence[Found]) -> list[str]:
    """The nodes counted right only because they read to a key's dates, with that key."""
    best: dict[int, tuple[int, int]] = {}
    for (k, e), found in how.items():
        best[e] = min(best.get(e, (found, k)), (found, k))
    return [f"{describe(nodes[e])} reads as {labels[k]}"
            for e, (found, k) in sorted(best.items()) if found == SAME_DATES]


def distractor_note(node: Found, distractors: Sequence[str], year: int | None) -> str:
    for d in distractors:
        if match(node, d, year) is not None:
            return f"  [distractor {d}]"
    for d in distractors:
        if norm(node.written or node.when) and norm(node.written or node.when) in norm(d):
            return f"  [inside distractor {d}]"
    return ""


def score_listed(nodes: Sequence[Found], entry: Mapping[str, Any], document: str,
                 seconds: float = 0.0) -> Score:
    """Score one document's nodes against a keys.json entry."""
    keys = [str(k) for k in entry.get("keys") or []]
    distractors = [str(d) for d in entry.get("distractors") or []]
    year = entry.get("year")
    year = int(year) if year is not None else None
    result = Score(document, keys=len(keys), extracted=len(nodes), seconds=seconds)
    candidates, right, how = [], set(), {}
    for k, key in enumerate(keys):
        for e, node in enumerate(nodes):
            found = match(node, key, year)
            if found is not None:
                candidates.append(((found, slack(node, key), e), k, e))
                how[k, e] = found
                right.add(e)
    pairs = assign(keys, candidates, [items(node) for node in nodes])
    result.matched, result.right = len(pairs), len(right)
    result.misses = [key for k, key in enumerate(keys) if k not in pairs]
    result.by_dates = dates_only(how, keys, nodes)
    result.extras = [describe(node) + distractor_note(node, distractors, year)
                     for e, node in enumerate(nodes) if e not in right]
    wanted = [str(u) for u in entry.get("units") or []]
    found_units = unit_keys_of(nodes)
    result.unit_keys = len(wanted)
    result.unit_hits = sum(unit_found(u, found_units) for u in wanted)
    missed = [u for u in wanted if not unit_found(u, found_units)]
    if missed:
        result.unit_misses = [(f"missed {', '.join(missed)}; extracted "
                               f"{', '.join(sorted(found_units)) or 'none'}")]
    return result


def score_seed(nodes: Sequence[Found], key: Mapping[str, Any], document: str,
               seconds: float = 0.0) -> Score:
    """Score one seed document's nodes against its YAML key (line ±1, strict texts)."""
    wanted = list(key.get("nodes") or [])
    result = Score(document, keys=len(wanted), extracted=len(nodes), seconds=seconds)
    candidates, right, how = [], set(), {}
    for k, item in enumerate(wanted):
        texts = seed_texts(item)
        for e, node in enumerate(nodes):
            distance = abs(node.line - int(item["line"]))
            found = [f for f in (match(node, t) for t in texts) if f is not None]
            if distance <= 1 and found:
                rank = (distance, min(found), min(slack(node, t) for t in texts), e)
                candidates.append((rank, k, e))
                how[k, e] = min(found)
                right.add(e)
    labels = [f"L{item['line']} {item['when']}" for item in wanted]
    pairs = assign(labels, candidates)
    result.matched, result.right = len(pairs), len(right)
    for k, e in sorted(pairs.items()):
        item, node = wanted[k], nodes[e]
        units = [str(u) for u in item.get("units") or []]
        if not units:
            continue
        result.unit_keys += 1
        found_units = unit_keys_of([node])
        if all(unit_found(u, found_units) for u in units):
            result.unit_hits += 1
        else:
            result.unit_misses.append(f"L{item['line']} {item['when']}: key {units}, "
                                      f"found {sorted(found_units)}")
    result.misses = [label for k, label in enumerate(labels) if k not in pairs]
    result.by_dates = dates_only(how, labels, nodes)
    result.extras = [describe(node) for e, node in enumerate(nodes) if e not in right]
    return result


def total(name: str, scores: Sequence[Score]) -> Score:
    """The sums of a set's documents (ratios of sums, not means of ratios)."""
    result = Score(name)
    for s in scores:
        for attr in ("keys", "extracted", "matched", "right", "unit_keys", "unit_hits",
                     "seconds"):
            setattr(result, attr, getattr(result, attr) + getattr(s, attr))
    return result


# ── documents and keys ───────────────────────────────────────────────────────

def extract_timed(document: Path) -> tuple[list[Found], float]:
    text = read_document(document)
    extract_text(text, source=str(document))  # warm the caches (calendar, regexes)
    start = perf_counter()
    extraction = extract_text(text, source=str(document))
    return found_nodes(extraction), perf_counter() - start


def run(document: Path, key_path: Path) -> Score:
    """Score one seed document against its YAML key."""
    key = YAML(typ="safe").load(key_path.read_text(encoding="utf-8")) or {}
    nodes, seconds = extract_timed(document)
    return score_seed(nodes, key, document.name, seconds)


def run_listed(document: Path, entry: Mapping[str, Any]) -> Score:
    """Score one corpus (or untuned) document against its keys.json entry."""
    nodes, seconds = extract_timed(document)
    return score_listed(nodes, entry, document.stem, seconds)


def find_document(name: str, key_path: Path) -> Path | None:
    for folder in [key_path.parent, *SEED_DIRS]:
        if (folder / name).is_file():
            return folder / name
    return None


def pairs(argv: list[str]) -> list[tuple[Path | None, Path]]:
    """(seed document, YAML key) pairs: the one given, or every key in tests/data/keys."""
    if len(argv) == 2:
        return [(Path(argv[0]), Path(argv[1]))]
    if argv:
        raise SystemExit("usage: bench/extract.py [DOC KEY]")
    found = []
    for key_path in sorted(KEYS.glob("*.yaml")):
        key = YAML(typ="safe").load(key_path.read_text(encoding="utf-8")) or {}
        found.append((find_document(str(key.get("document", "")), key_path), key_path))
    return found


def listed(folder: Path) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """(document, keys.json entry) pairs of a folder, and notes on what was skipped."""
    keys_path = folder / "keys.json"
    if not folder.is_dir():
        return [], [f"{folder} does not exist; set skipped"]
    if not keys_path.is_file():
        return [], [f"{keys_path} does not exist; set skipped"]
    try:
        entries = json.loads(keys_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return [], [f"{keys_path} cannot be read ({error}); set skipped"]
    if not isinstance(entries, dict):
        return [], [f"{keys_path} is not an object of documents; set skipped"]
    found, notes, keyed = [], [], set()
    for name, entry in entries.items():
        stem = name.removesuffix(".txt")
        keyed.add(stem)
        document = folder / f"{stem}.txt"
        if not isinstance(entry, dict):
            notes.append(f"{name}: its entry is not an object; skipped")
        elif not document.is_file():
            notes.append(f"{name}: no {document.name} in {folder}; skipped")
        else:
            found.append((document, entry))
    notes += [f"{p.name}: not in keys.json; not scored"
              for p in sorted(folder.glob("*.txt")) if p.stem not in keyed]
    return found, notes


def score_set(name: str, argv: list[str]) -> tuple[list[Score], list[str]]:
    if name != "seeds":
        documents, notes = listed(LISTED[name])
        return [run_listed(document, entry) for document, entry in documents], notes
    scores, notes = [], []
    for document, key_path in pairs(argv):
        if document is None or not document.is_file():
            notes.append(f"{key_path.name}: its document was not found; skipped")
        else:
            scores.append(run(document, key_path))
    return scores, notes


def clear_caches() -> None:
    """Forget what the parser and the name readers memoised."""
    from plans._clauses import _subject_of
    from plans._expressions import clear_caches as clear_parser
    from plans._unitnames import is_unit

    clear_parser()
    _subject_of.cache_clear()
    is_unit.cache_clear()


def big_document(runs: int = 3) -> tuple[int, float]:
    """The size and median extraction time of 50,000 characters of the seeds repeated."""
    texts = [read_document(p) for folder in SEED_DIRS if folder.is_dir()
             for p in sorted(folder.glob("*.txt"))]
    if not texts:
        return 0, 0.0
    text = ""
    while len(text) < BIG:
        text += "\n".join(texts) + "\n"
    text = text[:BIG]
    times = []
    for _ in range(runs):
        clear_caches()  # each run as the first: nothing memoised from the last
        start = perf_counter()
        extract_text(text, source="50k.txt")
        times.append(perf_counter() - start)
    return len(text), statistics.median(times)


# ── report ───────────────────────────────────────────────────────────────────

def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def document_lines(s: Score) -> list[str]:
    head = (f"{s.document}: {s.keys} keys, {s.extracted} extracted, {s.matched} matched; "
            f"recall {s.recall:.1%}, precision {s.precision:.1%} ({s.right}/{s.extracted}), "
            f"units {s.units:.1%} ({s.unit_hits}/{s.unit_keys}), {s.seconds * 1000:.1f} ms")
    lines = [head]
    lines += [f"    missed  {m}" for m in s.misses]
    lines += [f"    extra   {m}" for m in s.extras]
    lines += [f"    units   {m}" for m in s.unit_misses]
    lines += [f"    dates   {m}" for m in s.by_dates]
    return lines


def total_line(s: Score) -> str:
    ok_recall, ok_precision, ok_units = s.passes()
    return (f"{s.document:8} {s.keys} keys, {s.extracted} extracted, {s.matched} matched: "
            f"recall {s.recall:.1%} {mark(ok_recall)}, "
            f"precision {s.precision:.1%} ({s.right}/{s.extracted}) {mark(ok_precision)}, "
            f"units {s.units:.1%} ({s.unit_hits}/{s.unit_keys}) {mark(ok_units)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", nargs="*", metavar="DOC KEY",
                        help="one seed document and its YAML key")
    parser.add_argument("--set", choices=SETS, action="append", dest="sets",
                        help="score only this set (may be repeated)")
    parser.add_argument("--quiet", action="store_true", help="print the totals only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    args = parser.parse_args(argv)
    if args.pair and len(args.pair) != 2:
        parser.error("give a document and its key, or neither")
    names = ["seeds"] if args.pair else (args.sets or list(SETS))
    results: dict[str, tuple[list[Score], list[str]]] = {}
    lines: list[str] = []
    for name in names:
        scores, notes = score_set(name, args.pair)
        results[name] = (scores, notes)
        lines += [f"{name}: {note}" for note in notes]
        if not args.quiet:
            lines += [line for s in scores for line in document_lines(s)]
    if lines:
        print("\n".join(lines) + "\n")
    totals = {name: total(name, scores) for name, (scores, _) in results.items() if scores}
    for name in names:
        print(total_line(totals[name]) if name in totals else f"{name:8} no documents scored")
    overall = total("overall", list(totals.values()))
    if len(totals) > 1:
        print(total_line(overall))
    size, seconds = big_document()
    if size:
        print(f"{size:,}-character document: {seconds:.3f} s, median of 3 "
              f"(target < {TARGET_50K_SECONDS:.0f} s) {mark(seconds < TARGET_50K_SECONDS)}")
    if args.json:
        figures = {
            "targets": {"recall": TARGET_RECALL, "precision": TARGET_PRECISION,
                        "units": TARGET_UNITS, "seconds_50k": TARGET_50K_SECONDS},
            "sets": {name: {"total": total(name, scores).figures() if scores else None,
                            "notes": notes,
                            "documents": [s.figures() for s in scores]}
                     for name, (scores, notes) in results.items()},
            "overall": overall.figures(),
            "big": {"characters": size, "seconds": seconds},
        }
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
