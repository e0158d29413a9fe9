"""How fast `jiedian` starts: `jiedian --help` and `jiedian when 4月底前`, as a user types them.

Each command runs as its own process RUNS times; the median, min and max wall time are
printed next to the target (issue 14: under 0.3 s), and which heavy packages a `when`
imports (none of SQLAlchemy, Alembic, httpx or the extractor: the packages load their names
on first use; nor pydantic, which typer 0.29's parameter adapters import: pyproject keeps
typer below 0.29).

Run:  .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS, TARGET = 15, 0.3
JIEDIAN = str(Path(sys.executable).parent / "jiedian")
COMMANDS = {"jiedian --help": ["--help"], "jiedian when 4月底前": ["when", "4月底前", "--year", "2026"]}


def wall(args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDIAN_")}
    start = time.perf_counter()
    subprocess.run([JIEDIAN, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    for args in COMMANDS.values():
        wall(args)  # warm the OS's file cache
    print(f"startup, {RUNS} runs each, alternating (this machine's speed drifts):")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(RUNS):
        for name, args in COMMANDS.items():
            times[name].append(wall(args))
    for name, found in times.items():
        median = statistics.median(found)
        verdict = "PASS" if median < TARGET else "MISS"
        print(f"  [{verdict}] {name:<24} median {median * 1000:6.0f} ms   min {min(found) * 1000:5.0f}"
              f"   max {max(found) * 1000:5.0f}   (target < {TARGET * 1000:.0f} ms)")
    code = ("import sys; from typer.testing import CliRunner; import cli; "
            "CliRunner().invoke(cli.app, ['when', '4月底前']); "
            "print(' '.join(m for m in ('sqlalchemy', 'alembic', 'httpx', 'pydantic', 'plans._extract') "
            "if m in sys.modules) or 'none')")
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parent.parent).stdout.strip()
    print(f"  heavy packages a `when` imports: {heavy}")


if __name__ == "__main__":
    main()
