"""Benchmark the store at city scale: plan import, unchanged re-import and `upcoming --unit`.

It builds a synthetic city (random.Random(42), so every run is the same): 2,000 units in 20
district groups plus city-wide groups, each unit with a console channel and a person, written as
units.yaml and loaded with plans.load_units; and 30 plans of 50 milestones for 2026 with a mix of
Chinese time expressions, written as YAML and loaded with plans.load_plan (the real validation).
Then, on each backend (a fresh SQLite file; a fresh PostgreSQL database, dropped at the end):
  a. import + expansion of all 30 plans into an empty store in one transaction (median of runs);
  b. re-import of the unchanged plans: every report must say nothing was written, and an
     INSERT/UPDATE/DELETE counter on `before_cursor_execute` must stay at 0 (median of runs);
  c. `upcoming(unit=..., days=30)` with today 2026-03-02 for 50 units (median and p95);
  d. the whole `jiedian upcoming --unit X` process once (informational, incl. Python start-up);
and prints each figure next to its target with PASS or MISS.

Run:  .venv/bin/python bench/store.py [--backend sqlite|postgresql|both]   (or: make bench)
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import plans
import scheduler
from scheduler._models import OccurrenceRow, OccurrenceUnitRow

PG_ADMIN_URL = os.environ.get("JIEDIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW, TODAY, YEAR = datetime(2026, 3, 2, 1, 0, tzinfo=UTC), date(2026, 3, 2), 2026
DISTRICTS, UNITS_PER_DISTRICT, PLANS, MILESTONES, QUERIES = 20, 100, 30, 50, 50
IMPORT_RUNS, REIMPORT_RUNS = 3, 5
TARGET_IMPORT_S, TARGET_REIMPORT_S, TARGET_UPCOMING_MS = 30.0, 5.0, 200.0

CITYWIDE = {"党支部": "各党(总)支部", "镇": "各乡镇党委", "局": "各县区直部门", "街道": "各街道党工委"}
GROUP_ALIASES = {"各党(总)支部": ["各党支部", "各黨（總）支部"], "各乡镇党委": ["各镇党委"]}
WHENS = [  # a realistic mix: deadlines, events, phases, recurring (weighted by repetition)
    "4月底前", "6月底前", "年底前", "10月底前", "每月25日前", "每季度末", "4月底前", "6月底前",
    "“七一”前夕", "每周五上午", "清明节", "春节前后", "国庆期间", "“五四”前后", "3月5日",
    "4-11月", "2月上旬至6月下旬", "上半年", "5月中旬", "9月", "下半年",
    "每月", "每季度", "每半年", "每两个月", "每月上旬",
]
CHARS = "安宝北昌城德东丰福广和河华建江金康蓝乐利林龙明南宁平青清庆仁山胜石泰天通文西祥新兴阳永元云长正中"
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"


def q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def build_city(rng: random.Random, folder: Path) -> tuple[Path, list[Path], list[str]]:
    """Write units.yaml and the plan files; return their paths and the member units' names."""
    names: set[str] = set()

    def fresh(make: Callable[[], str]) -> str:
        while (name := make()) in names:
            pass
        names.add(name)
        return name

    districts = [fresh(lambda: "".join(rng.sample(CHARS, 2)) + rng.choice("县区")) for _ in
                 range(DISTRICTS)]
    groups = [(f"{d}各单位", [f"{d}各县、区委"]) for d in districts]
    groups += [("市直各党工委", []), *((g, GROUP_ALIASES.get(g, [])) for g in CITYWIDE.values())]
    lines = ["groups:", *(f"  - {{name: {q(g)}, aliases: [{', '.join(map(q, a))}]}}"
                          for g, a in groups), "units:"]
    units: list[str] = []
    for d in districts:
        for _ in range(UNITS_PER_DISTRICT):
            kind = rng.choice(list(CITYWIDE))
            name = fresh(lambda d=d, k=kind: d + "".join(rng.sample(CHARS, 2)) + {
                "党支部": rng.choice(["村", "社区", "中学", "医院"]) + "党支部", "镇": "镇",
                "局": rng.choice(["财政", "教育", "民政", "交通", "水利"]) + "局", "街道": "街道"}[k])
            member = [f"{d}各单位", CITYWIDE[kind]] + (["市直各党工委"] if rng.random() < .1 else [])
            alias = f"\n    aliases: [{q(name + '机关')}]" if kind == "局" else ""
            i = len(units)
            person = q(rng.choice(SURNAMES) + rng.choice(GIVEN) * 2)
            lines += [f"  - name: {q(name)}", f"    groups: [{', '.join(map(q, member))}]{alias}",
                      f"    people: [{{name: {person}, mobile: \"138{i:08d}\"}}]",
                      f"    channels: [{{id: u{i:04d}-console, kind: console}}]"]
            units.append(name)
    units_path = folder / "units.yaml"
    units_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    group_names = [g for g, _ in groups]
    plan_paths = []
    for p in range(PLANS):
        lines = [f"id: bench-{p:02d}", f"title: {q(f'{YEAR}年党建工作要点（第{p + 1}号）')}",
                 f"year: {YEAR}", "milestones:"]
        for m in range(MILESTONES):
            addressed = [rng.choice(units if rng.random() < .6 else group_names)
                         for _ in range(rng.randint(1, 3))]
            lines += [f"  - id: m{m:02d}", f"    title: {q(f'第{m + 1}项工作')}",
                      f"    when: {q(rng.choice(WHENS))}",
                      f"    lead: [{q(addressed[0])}]",
                      f"    units: [{', '.join(map(q, dict.fromkeys(addressed[1:])))}]"]
        plan_paths.append(folder / f"bench-{p:02d}.yaml")
        plan_paths[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return units_path, plan_paths, units


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fill(url: str, directory: plans.UnitsDirectory, loaded: list[plans.LoadedPlan]) -> float:
    """Into a fresh store at ``url``: the units, then all plans in one transaction (timed)."""
    engine = scheduler.open_store(url)
    with Session(engine) as session:
        scheduler.import_units(session, directory, now=NOW)
        session.commit()
    start = perf_counter()
    with Session(engine) as session:
        for one in loaded:
            scheduler.import_plan(session, one, plans.CALENDAR, now=NOW, year=YEAR)
        session.commit()
    elapsed = perf_counter() - start
    engine.dispose()
    return elapsed


def run(backend: str, urls: list[str], env: dict[str, str], directory: plans.UnitsDirectory,
        loaded: list[plans.LoadedPlan], sample: list[str]) -> None:
    print(f"\n== {backend} ==")
    imports = [fill(url, directory, loaded) for url in urls]
    engine = scheduler.open_store(urls[0])
    with Session(engine) as session:
        occurrences = session.execute(select(func.count()).select_from(OccurrenceRow)).scalar()
        unit_rows = session.execute(select(func.count()).select_from(OccurrenceUnitRow)).scalar()
    print(f"  a. import + expansion, {len(loaded)} plans, one transaction: median "
          f"{statistics.median(imports):.2f} s of {len(imports)} (" +
          ", ".join(f"{t:.2f}" for t in imports) +
          f")\n     created {occurrences:,} occurrences, {unit_rows:,} occurrence-unit rows")

    writes = 0

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        nonlocal writes
        writes += statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")

    event.listen(engine, "before_cursor_execute", count)
    reimports = []
    for _ in range(REIMPORT_RUNS):
        start = perf_counter()
        with Session(engine) as session:
            reports = [scheduler.import_plan(session, one, plans.CALENDAR, now=NOW, year=YEAR)
                       for one in loaded]
            session.commit()
        reimports.append(perf_counter() - start)
        assert not any(r.wrote for r in reports), [r.plan_id for r in reports if r.wrote]
    event.remove(engine, "before_cursor_execute", count)
    reimport = statistics.median(reimports)
    unchanged = sum(r.unchanged for r in reports)
    print(f"  b. unchanged re-import of {len(loaded)} plans: median {reimport:.2f} s of "
          f"{REIMPORT_RUNS}; {unchanged:,} occurrences unchanged, all plans unchanged, "
          f"{writes} writes")

    times, counts = [], []
    for name in sample:
        start = perf_counter()
        with Session(engine) as session:
            rows = scheduler.upcoming(session, plans.CALENDAR, today=TODAY, days=30, unit=name)
        times.append((perf_counter() - start) * 1000)
        counts.append(len(rows))
    median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
    print(f"  c. upcoming(unit=…, days=30), {len(sample)} units: median {median:.1f} ms, "
          f"p95 {p95:.1f} ms, max {max(times):.1f} ms; rows returned median "
          f"{statistics.median(counts):.0f} (min {min(counts)}, max {max(counts)})")
    engine.dispose()

    jiedian = Path(sys.executable).with_name("jiedian")
    start = perf_counter()
    done = subprocess.run([str(jiedian), "upcoming", "--unit", sample[0]], capture_output=True,
                          env={**os.environ, **env, "JIEDIAN_DATABASE_URL": urls[0]}, check=False)
    wall = perf_counter() - start
    status = "" if done.returncode == 0 else f" (exit {done.returncode}: {done.stderr[-200:]!r})"
    print(f"  d. CLI wall time incl. Python start-up, `jiedian upcoming --unit {sample[0]}`: "
          f"{wall * 1000:.0f} ms{status} (informational)")

    print("  targets:")
    print(f"    [{verdict(statistics.median(imports) < TARGET_IMPORT_S)}] full import + expansion "
          f"< {TARGET_IMPORT_S:.0f} s: {statistics.median(imports):.2f} s")
    print(f"    [{verdict(reimport < TARGET_REIMPORT_S and writes == 0)}] unchanged re-import "
          f"< {TARGET_REIMPORT_S:.0f} s and 0 writes: {reimport:.2f} s, {writes} writes")
    print(f"    [{verdict(p95 < TARGET_UPCOMING_MS)}] upcoming --unit < {TARGET_UPCOMING_MS:.0f} ms "
          f"(p95): median {median:.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    backends = ["sqlite", "postgresql"] if parser.parse_args().backend == "both" else [
        parser.parse_args().backend]
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="jiedian-bench-") as tmp:
        folder = Path(tmp)
        units_path, plan_paths, units = build_city(rng, folder)
        start = perf_counter()
        directory = plans.load_units(units_path)
        units_s, start = perf_counter() - start, perf_counter()
        loaded = [plans.load_plan(path, plans.CALENDAR) for path in plan_paths]
        plans_s = perf_counter() - start
        sample = rng.sample(units, QUERIES)
        print(f"City: {len(directory.units):,} units in {len(directory.groups)} groups "
              f"(load_units {units_s:.2f} s); {len(loaded)} plans x {MILESTONES} milestones "
              f"for {YEAR} (load_plan, all: {plans_s:.2f} s); today {TODAY}")
        env = {"JIEDIAN_HOME": str(folder / "home"), "JIEDIAN_NOW": "2026-03-02T09:00"}
        for backend in backends:
            if backend == "sqlite":
                urls = [f"sqlite:///{folder / f'store-{i}.db'}" for i in range(IMPORT_RUNS)]
                run(backend, urls, env, directory, loaded, sample)
                continue
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as connection:
                    connection.execute(text("select 1"))
            except OperationalError as error:
                print(f"\n== postgresql ==\n  skipped: unreachable at {PG_ADMIN_URL} "
                      f"({str(error.orig).strip().splitlines()[0]})")
                continue
            names = [f"jiedian_bench_{uuid.uuid4().hex[:12]}" for _ in range(IMPORT_RUNS)]
            try:
                with admin.connect() as connection:
                    for name in names:
                        connection.execute(text(f'CREATE DATABASE "{name}"'))
                base = PG_ADMIN_URL.rsplit("/", 1)[0]
                run(backend, [f"{base}/{name}" for name in names], env, directory, loaded, sample)
            finally:
                with admin.connect() as connection:
                    for name in names:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
