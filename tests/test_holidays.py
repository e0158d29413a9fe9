"""Holiday notices (DESIGN.md): an office types in next year's arrangement before the
library has it; every command that dates anything reads it, and the weekend-only fallback
is never silent."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import plans
from plans import ChinaCalendar, PlanError, load_notice, load_notices
from tests.conftest import DEMO_PLAN as DEMO, Ran, add, import_units, invoke, load, make_daemon

NOTICE_2027 = """\
year: 2027
source: 国办发明电〔2026〕试例
holidays:
  - {name: 元旦, first: 2027-01-01, last: 2027-01-03}
  - {name: 春节, first: 2027-02-05, last: 2027-02-11, work: [2027-02-13, 2027-02-14]}
  - {name: 国庆节, first: 2027-10-01, last: 2027-10-07, work: [2027-09-26, 2027-10-09]}
"""
BAD = """\
year: 2027
holidays:
  - {name: 春节, first: 2027-02-05, last: 2027-02-01}
  - {name: 国庆节, first: 2027-10-01, last: 2027-10-07, work: [2027-10-03, 2028-01-01]}
  - {name: 中秋节, first: 2027-10-05, last: 2027-10-06}
  - {name: 端午节, first: 2027-06-09x, last: 2027-06-11}
  - {name: 中秋节, first: 2027-09-15}
"""


def write(tmp_path: Path, text: str, name: str = "2027.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> Ran:
    return invoke({"COLUMNS": "200", **(env or {})}, *args)


def test_a_notice_gives_its_year_rest_days_and_make_up_days(tmp_path: Path) -> None:
    calendar = ChinaCalendar(load_notices(write(tmp_path, NOTICE_2027)))
    assert calendar.covers(2027) and calendar.source(2027) == "notice"
    assert calendar.holiday_run(date(2027, 10, 4)) == (date(2027, 10, 1), date(2027, 10, 7))
    assert calendar.is_makeup_working_day(date(2027, 9, 26)) and calendar.is_working_day(date(2027, 2, 13))
    assert calendar.is_rest_day(date(2027, 3, 6))  # any other Saturday: a weekend day
    assert calendar.adjust(date(2027, 10, 3), "previous") == date(2027, 9, 30)
    assert calendar.source(2026) == "library" and plans.CALENDAR.source(2027) == "weekends"


def test_every_check_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(PlanError) as caught:
        load_notice(path)
    said = "\n".join(caught.value.problems)
    assert f"{path}:3: holidays[0]: last (2027-02-01) is before first (2027-02-05)" in said
    assert f"{path}:4: holidays[1].work[1]: 2028-01-01 is not in 2027" in said
    assert f"{path}:5: holidays[2] (中秋节 2027-10-05–2027-10-06) overlaps holidays[1]" in said
    assert f"{path}:4: holidays[1].work[0]: 2027-10-03 is a day off of 国庆节" in said
    assert f"{path}:6: holidays[3].first: “2027-06-09x” is not a date" in said
    assert f"{path}:7: holidays[4].last: missing; write a date" in said
    result = cli("holidays", "check", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: {path}:3:" in result.stderr


def test_one_notice_per_year_in_a_folder(tmp_path: Path) -> None:
    write(tmp_path, NOTICE_2027, "a.yaml")
    write(tmp_path, NOTICE_2027, "b.yaml")
    with pytest.raises(PlanError, match="a second notice for 2027"):
        load_notices(tmp_path)
    with pytest.raises(PlanError, match="no such file or folder"):
        load_notices(tmp_path / "missing")


def test_where_the_library_covers_the_year_the_notice_wins_and_each_difference_is_said(tmp_path: Path) -> None:
    short = write(tmp_path, "year: 2026\nsource: 试\nholidays:\n"
                            "  - {name: 国庆节, first: 2026-10-01, last: 2026-10-03}\n", "2026.yaml")
    calendar = ChinaCalendar(load_notices(short))
    assert calendar.is_working_day(date(2026, 10, 5))  # the library's 国庆 runs to 10-07
    said = calendar.disagreements(2026)
    assert any(s.startswith("2026-10-05: the holiday notice") and "chinese_calendar a rest day" in s for s in said)
    assert len(said) == len(set(said))
    result = cli("when", "国庆期间", "--year", "2026", env={"JIEDIAN_HOLIDAYS": str(short)})
    assert result.returncode == 0 and result.stderr.count("2026-10-05: the holiday notice") == 1


def test_when_and_plan_show_read_the_notice_and_flag_the_fallback(tmp_path: Path) -> None:
    notice = write(tmp_path, NOTICE_2027)
    plain = json.loads(cli("when", "国庆期间", "--year", "2027", "--json").stdout)
    assert plain["occurrences"] == [{"start": "2027-10-01", "end": "2027-10-01", "weekday": "周五"}]
    assert any("weekends only" in w for w in plain["warnings"])
    typed = json.loads(cli("when", "国庆期间", "--year", "2027", "--json",
                           env={"JIEDIAN_HOLIDAYS": str(notice)}).stdout)
    assert typed["occurrences"][0]["end"] == "2027-10-07" and typed["warnings"] == []
    plan = write(tmp_path, "id: p\ntitle: 试\nyear: 2027\nmilestones:\n"
                           "  - {id: b, title: 报送, when: 10月3日前}\n", "p.yaml")
    shown = json.loads(cli("plan", "show", str(plan), "--json").stdout)
    assert shown[0]["due"] == "2027-10-01" and any("weekends only" in w for w in shown[0]["warnings"])
    shown = json.loads(cli("plan", "show", str(plan), "--json", env={"JIEDIAN_HOLIDAYS": str(notice)}).stdout)
    assert shown[0]["due"] == "2027-09-30" and shown[0]["warnings"] == []


def test_holidays_show_says_where_each_year_comes_from(tmp_path: Path) -> None:
    notice = write(tmp_path, NOTICE_2027)
    library = json.loads(cli("holidays", "show", "2026", "--json").stdout)
    # each holiday carries its make-up working days (the two weeks either side), as a notice writes them
    assert library["source"] == "library" and {"name": "国庆节", "first": "2026-10-01", "last": "2026-10-07",
                                                "work": ["2026-09-20", "2026-10-10"]} in library["holidays"]
    none = cli("holidays", "show", "2027")
    assert "weekends only" in none.stdout and "weekends only" in none.stderr
    typed = json.loads(cli("holidays", "show", "2027", "--json", env={"JIEDIAN_HOLIDAYS": str(notice)}).stdout)
    assert typed["source"] == "notice" and typed["work"] == ["2027-02-13", "2027-02-14", "2027-09-26",
                                                               "2027-10-09"]
    assert {"name": "春节", "first": "2027-02-05", "last": "2027-02-11",
            "work": ["2027-02-13", "2027-02-14"]} in typed["holidays"]
    checked = cli("holidays", "check", str(notice))
    assert checked.returncode == 0 and "ok" in checked.stdout and "国庆节" in checked.stdout
    helped = cli("holidays", "--help")
    assert "warning:" not in helped.stdout + helped.stderr  # warnings go to stderr, never into --help


def test_the_daemon_names_the_years_ahead_that_have_no_data(
        engine: object, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import_units(engine, tmp_path)  # type: ignore[arg-type]
    add(engine, load(tmp_path, DEMO.replace("year: 2011", "year: 2027")))  # type: ignore[arg-type]
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    daemon = make_daemon(engine, lambda: now)
    try:
        with caplog.at_level(logging.WARNING, logger="jiedian.daemon"):
            daemon.sync(now)
        assert daemon.health()["holiday_data_missing"] == [2027]
        assert any("no official holiday data for 2027" in r.getMessage() for r in caplog.records)
    finally:
        daemon.stop()
    typed = make_daemon(engine, lambda: now,
                        calendar=ChinaCalendar(load_notices(write(tmp_path, NOTICE_2027))))
    try:
        typed.sync(now)
        assert typed.health()["holiday_data_missing"] == [] and typed.health()["holiday_notices"] == [2027]
    finally:
        typed.stop()
