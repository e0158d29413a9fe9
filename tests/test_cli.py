"""The `jiedian` command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CATALOG, JIEDIAN


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JIEDIAN, *args], check=False, capture_output=True, text=True,
                          timeout=60, env={"PATH": str(Path(sys.executable).parent), "COLUMNS": "200"})


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("jiedian ")


def test_when_json_contract() -> None:
    result = run("when", "4月底前", "--year", "2011", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["expression"] == "4月底前"
    assert data["kind"] == "deadline"
    assert [(o["start"], o["end"], o["due"]) for o in data["occurrences"]] == [
        ("2011-04-30", "2011-04-30", "2011-04-29")
    ]


def test_when_json_with_workdays_and_events(tmp_path: Path) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("十八大: 2012-11-08\n", encoding="utf-8")
    result = run("when", "党的十八大召开前", "--year", "2012", "--events", str(events), "--json")
    assert json.loads(result.stdout)["occurrences"][0]["start"] == "2012-11-07"
    result = run("when", "国庆", "--year", "2012", "--workdays", "next", "--json")
    assert json.loads(result.stdout)["occurrences"][0]["due"] == "2012-10-08"
    result = run("when", "每周五", "--year", "2011", "--json")
    data = json.loads(result.stdout)
    assert len(data["occurrences"]) == 52 and "due" not in data["occurrences"][0]


def test_when_table_shows_weekday_rest_day_and_due() -> None:
    result = run("when", "9月底前", "--year", "2012")
    assert result.returncode == 0
    assert "2012-09-30 周日" in result.stdout and "休息日 (中秋节)" in result.stdout
    assert "2012-09-29 周六" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["when", "适时召开", "--year", "2011"], "“适时召开”: is not a time"),
        (["when", "党的十八大召开前", "--year", "2012"], "--events FILE"),
        (["when", "4月", "--workdays", "sometimes"], "choose previous, next or none"),
        (["when", "4月", "--events", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
        (["plan", "validate", "/nonexistent.yaml"], "no such file"),
    ],
)
def test_user_mistakes_exit_non_zero_without_traceback(args: list[str], says: str) -> None:
    result = run(*args)
    assert result.returncode != 0
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_plan_validate_reports_file_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: t\nyear: 2011\nmilestones:\n  - id: a\n    title: b\n"
                   "    when: 随便\n", encoding="utf-8")
    result = run("plan", "validate", str(CATALOG), str(bad))
    assert result.returncode == 1
    assert f"{bad}:7: milestones[0].when: “随便”" in result.stderr


def test_plan_validate_and_show_bundled_plans() -> None:
    result = run("plan", "validate", str(CATALOG))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") == len(list(CATALOG.glob("*.yaml")))
    result = run("plan", "show", str(CATALOG / "hejiang-2011-cxzy.yaml"), "--json")
    nodes = json.loads(result.stdout)
    assert nodes and all(n["plan"] == "hejiang-2011-cxzy" for n in nodes)
    assert [n["due"] for n in nodes] == sorted(n["due"] for n in nodes)


def test_plan_show_for_another_year() -> None:
    result = run("plan", "show", str(CATALOG / "huizhou-2011-djcxn.yaml"), "--year", "2026",
                 "--json")
    assert result.returncode == 0, result.stderr
    assert {n["start"][:4] for n in json.loads(result.stdout)} == {"2026"}
