"""Score `jiedian plan extract` against answer keys, and time it.

A key (tests/data/keys/*.yaml) lists the time nodes a person found in one seed document:

    document: 000_31c8d16939a6f3dc.txt
    nodes:
      - {line: 12, when: 4月底, accept: [4月底前], kind: deadline, units: [各党(总)支部], note: …}

An extracted node matches a key node when it is on the same line ±1 and its `when` —
or, when the extractor rewrote the expression into one the engine reads (半年进行一次 →
每半年, 上半年5月1日和下半年10月1日 → 5月1日和10月1日), the text as written (`written`) —
overlaps the key's `when` or one of its `accept` strings (after `plans.normalize`: one
contains the other, or they share most of the shorter one). Each node matches at most
once; nearer lines and containment are paired first. Per document it prints:

  recall     key nodes matched / key nodes             (target ≥ 90%)
  precision  extracted nodes matched / extracted nodes (target ≥ 85%)
  units      matched key nodes that name units whose units are found: the extracted
             lead + units, by `name_key`, equal the key's or contain them (target ≥ 90%)
  time       extraction time of the document

then the misses and the extras, and the time to extract a 50,000-character document
made of the seeds' text repeated (target < 2 s).

Run:  .venv/bin/python bench/extract.py              every key in tests/data/keys/
      .venv/bin/python bench/extract.py DOC KEY      one document against one key
The documents are looked for next to the key, in tests/data/seeds/, in $JIEDIAN_SEEDS
and in /work/shared/seeds/.
"""

from __future__ import annotations

import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from ruamel.yaml import YAML

from plans import extract_text, name_key, normalize
from plans._segment import read_document

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "tests" / "data" / "keys"
SEED_DIRS = [ROOT / "tests" / "data" / "seeds",
             Path(os.environ.get("JIEDIAN_SEEDS", "/nonexistent")), Path("/work/shared/seeds")]
TARGET_RECALL, TARGET_PRECISION, TARGET_UNITS, TARGET_50K_SECONDS = 0.90, 0.85, 0.90, 2.0
BIG = 50_000


@dataclass
class Score:
    document: str
    keys: int = 0
    extracted: int = 0
    matched: int = 0
    unit_nodes: int = 0  # matched key nodes that name units
    unit_hits: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    unit_misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.matched / self.keys if self.keys else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.extracted if self.extracted else 1.0

    @property
    def units(self) -> float:
        return self.unit_hits / self.unit_nodes if self.unit_nodes else 1.0


def overlaps(found: str, wanted: str) -> int | None:
    """0 when one contains the other, 1 when they share most of the shorter, else None."""
    a, b = normalize(found), normalize(wanted)
    if not a or not b:
        return None
    if a in b or b in a:
        return 0
    shorter = min(len(a), len(b))
    return 1 if _common(a, b) >= max(2, 0.6 * shorter) else None


def _common(a: str, b: str) -> int:
    """Length of the longest common substring."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def score(nodes: list[Any], key: dict[str, Any], document: str, seconds: float = 0.0) -> Score:
    """Match extracted nodes (with .line .when .written .lead .units) to the key's nodes."""
    wanted = list(key.get("nodes") or [])
    result = Score(document, keys=len(wanted), extracted=len(nodes), seconds=seconds)
    pairs = []
    for k, item in enumerate(wanted):
        texts = [str(item["when"])] + [str(t) for t in item.get("accept") or []]
        for e, node in enumerate(nodes):
            distance = abs(node.line - int(item["line"]))
            if distance > 1:
                continue
            found = {node.when, getattr(node, "written", node.when)}
            how = [o for o in (overlaps(f, t) for f in found for t in texts) if o is not None]
            if how:
                pairs.append((distance, min(how), k, e))
    used_k: set[int] = set()
    used_e: set[int] = set()
    for _, _, k, e in sorted(pairs):
        if k in used_k or e in used_e:
            continue
        used_k.add(k)
        used_e.add(e)
        result.matched += 1
        units = [name_key(u) for u in wanted[k].get("units") or []]
        if units:
            result.unit_nodes += 1
            found = {name_key(u) for u in [*nodes[e].lead, *nodes[e].units]}
            if set(units) <= found:
                result.unit_hits += 1
            else:
                result.unit_misses.append(
                    f"L{wanted[k]['line']} {wanted[k]['when']}: key {units}, found {sorted(found)}")
    result.misses = [f"L{item['line']} {item['when']}" for k, item in enumerate(wanted)
                     if k not in used_k]
    result.extras = [f"L{node.line} {node.when} ({node.title})" for e, node in enumerate(nodes)
                     if e not in used_e]
    return result


def run(document: Path, key_path: Path) -> Score:
    key = YAML(typ="safe").load(key_path.read_text(encoding="utf-8")) or {}
    text = read_document(document)
    extract_text(text, source=str(document))  # warm the caches (calendar, regexes)
    start = perf_counter()
    extraction = extract_text(text, source=str(document))
    seconds = perf_counter() - start
    return score(extraction.nodes, key, document.name, seconds)


def find_document(name: str, key_path: Path) -> Path | None:
    for folder in [key_path.parent, *SEED_DIRS]:
        if (folder / name).is_file():
            return folder / name
    return None


def pairs(argv: list[str]) -> list[tuple[Path | None, Path]]:
    if len(argv) == 2:
        return [(Path(argv[0]), Path(argv[1]))]
    if argv:
        raise SystemExit("usage: bench/extract.py [DOC KEY]")
    found = []
    for key_path in sorted(KEYS.glob("*.yaml")):
        key = YAML(typ="safe").load(key_path.read_text(encoding="utf-8")) or {}
        found.append((find_document(str(key.get("document", "")), key_path), key_path))
    return found


def big_document(seconds_runs: int = 3) -> tuple[int, float]:
    texts = [read_document(p) for folder in SEED_DIRS if folder.is_dir()
             for p in sorted(folder.glob("*.txt"))]
    if not texts:
        return 0, 0.0
    text = ""
    while len(text) < BIG:
        text += "\n".join(texts) + "\n"
    text = text[:BIG]
    times = []
    for _ in range(seconds_runs):
        start = perf_counter()
        extract_text(text, source="50k.txt")
        times.append(perf_counter() - start)
    return len(text), statistics.median(times)


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str]) -> int:
    scores = []
    for document, key_path in pairs(argv):
        if document is None or not document.is_file():
            print(f"{key_path.name}: its document was not found; skipped")
            continue
        scores.append(run(document, key_path))
    if not scores:
        print(f"no keys with documents found (looked in {KEYS})")
    for s in scores:
        print(f"{s.document}: {s.keys} key nodes, {s.extracted} extracted, {s.matched} matched")
        print(f"  recall    {s.recall:7.1%}  (target ≥ {TARGET_RECALL:.0%}) "
              f"{mark(s.recall >= TARGET_RECALL)}")
        print(f"  precision {s.precision:7.1%}  (target ≥ {TARGET_PRECISION:.0%}) "
              f"{mark(s.precision >= TARGET_PRECISION)}")
        print(f"  units     {s.units:7.1%}  ({s.unit_hits}/{s.unit_nodes} matched key nodes "
              f"naming units; target ≥ {TARGET_UNITS:.0%}) {mark(s.units >= TARGET_UNITS)}")
        print(f"  time      {s.seconds * 1000:7.1f} ms")
        for line in s.misses:
            print(f"    missed  {line}")
        for line in s.extras:
            print(f"    extra   {line}")
        for line in s.unit_misses:
            print(f"    units   {line}")
    if scores:
        keys = sum(s.keys for s in scores)
        found = sum(s.extracted for s in scores)
        matched = sum(s.matched for s in scores)
        unit_nodes = sum(s.unit_nodes for s in scores)
        unit_hits = sum(s.unit_hits for s in scores)
        print(f"all: recall {matched / max(keys, 1):.1%}, precision {matched / max(found, 1):.1%}, "
              f"units {unit_hits / max(unit_nodes, 1):.1%} ({unit_hits}/{unit_nodes})")
    size, seconds = big_document()
    if size:
        print(f"{size:,}-character document: {seconds:.3f} s (target < {TARGET_50K_SECONDS:.0f} s) "
              f"{mark(seconds < TARGET_50K_SECONDS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
