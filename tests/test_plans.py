"""Plan files: loading, line-numbered errors, expansion, the bundled catalog."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from pathlib import Path

import pytest

import plans
from plans import CALENDAR, PlanError, expand_plan, load_plan

CATALOG = Path(plans.__file__).parent / "catalog"
CATALOG_FILES = sorted(CATALOG.glob("*.yaml"))

GOOD = """\
id: hejiang-2011-cxzy
title: 合江镇2011年创先争优活动工作要点
issuer: 中共合江镇委员会
issued: 2011-04-14
year: 2011
events: {十八大: 2012-11-08}
remind: ["-7d 09:00", "-1wd 09:00", "0d 09:00"]
milestones:
  - id: chuangjian-fangan
    title: 形成创建方案交镇党建办
    when: 4月底前
    lead: [镇党建办]
    units: [各党(总)支部]
    source: 创建方案于4月底交镇党建办。
  - id: biaozhang
    title: 表彰先进
    when: “七一”前夕
    units: 各党(总)支部
    remind: ["-1wd 14:30"]
  - id: jiedairi
    title: 党代表接待日
    when: 每周五上午
"""


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(path, CALENDAR)
    return caught.value.problems


def test_catalog_holds_only_plans_and_all_bundled_documents() -> None:
    assert {p.suffix for p in CATALOG.iterdir() if p.is_file()} <= {".yaml"}
    ids = {load_plan(p, CALENDAR).plan.id for p in CATALOG_FILES}
    assert len(ids) == len(CATALOG_FILES) >= 9
    assert {p.stem for p in CATALOG_FILES} == ids


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: p.stem)
def test_every_bundled_plan_validates_and_expands(path: Path) -> None:
    loaded = load_plan(path, CALENDAR)
    plan = loaded.plan
    nodes = expand_plan(loaded, CALENDAR)
    assert plan.milestones and nodes
    assert {n.milestone_id for n in nodes} == {m.id for m in plan.milestones}
    for milestone in plan.milestones:
        assert milestone.source, f"{milestone.id} has no source sentence"
    for node in nodes:
        assert node.start <= node.end
        assert node.due <= node.end or node.workdays == "next"
    # Reused for this session's current year, as `make serve` does.
    assert expand_plan(loaded, CALENDAR, 2026)


def test_plan_fields_and_expansion(tmp_path: Path) -> None:
    loaded = load_plan(write(tmp_path, GOOD), CALENDAR)
    nodes = expand_plan(loaded, CALENDAR)
    first = next(n for n in nodes if n.milestone_id == "chuangjian-fangan")
    assert (first.kind, first.end, first.due) == ("deadline", date(2011, 4, 30), date(2011, 4, 29))
    assert first.lead == ("镇党建办",) and first.units == ("各党(总)支部",)
    assert [str(o) for o in first.remind] == ["-7d 09:00", "-1wd 09:00", "0d 09:00"]
    eve = next(n for n in nodes if n.milestone_id == "biaozhang")
    assert (eve.kind, eve.start, eve.workdays) == ("event", date(2011, 6, 30), "none")
    assert eve.units == ("各党(总)支部",) and [str(o) for o in eve.remind] == ["-1wd 14:30"]
    fridays = [n for n in nodes if n.milestone_id == "jiedairi"]
    assert len(fridays) == 52 and fridays[0].part_of_day == "上午"
    assert [n.due for n in nodes] == sorted(n.due for n in nodes)


def test_plan_applied_to_another_year(tmp_path: Path) -> None:
    loaded = load_plan(write(tmp_path, GOOD), CALENDAR)
    nodes = expand_plan(loaded, CALENDAR, 2012)
    first = next(n for n in nodes if n.milestone_id == "chuangjian-fangan")
    # 2012-04-30 is 劳动节's day off; Saturday 04-28 was worked in exchange (调休上班).
    assert (first.end, first.due) == (date(2012, 4, 30), date(2012, 4, 28))
    assert CALENDAR.is_makeup_working_day(first.due)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("    when: 4月底前", "    when: 适时"), "plan.yaml:11: milestones[0].when: “适时”"),
        (GOOD.replace("    lead: [镇党建办]", "    leads: [镇党建办]"),
         "plan.yaml:12: milestones[0].leads: unknown field"),
        (GOOD.replace("title: 合江镇2011年创先争优活动工作要点\n", ""), "plan.yaml:1: title: required"),
        (GOOD.replace("year: 2011", "year: 二〇一一"), "plan.yaml:5: year:"),
        (GOOD.replace('remind: ["-1wd 14:30"]', 'remind: ["1 day before"]'),
         "plan.yaml:19: milestones[1].remind: “1 day before” is not a reminder offset"),
        (GOOD.replace("id: biaozhang", "id: chuangjian-fangan"),
         "plan.yaml:15: milestones[1].id: “chuangjian-fangan” is used twice"),
        (GOOD.replace("events: {十八大: 2012-11-08}\n", "").replace("“七一”前夕", "党的十八大召开前"),
         "plan.yaml:16: milestones[1].when: “党的十八大召开前”: refers to the event"),
        (GOOD.replace("    kind: x\n", "").replace("    lead: [镇党建办]", "    kind: soon"),
         "plan.yaml:12: milestones[0].kind:"),
        (GOOD.replace("timezone", "").replace("year: 2011", "year: 2011\ntimezone: Mars/Base"),
         "plan.yaml:6: timezone: unknown time zone"),
        ("id: x\ntitle: [unclosed\n", "plan.yaml:3: YAML:"),
        ("- just\n- a list\n", "plan.yaml:1: plan: expected a mapping"),
    ],
)
def test_errors_say_file_line_field(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write(tmp_path, text))
    assert any(expected in problem for problem in found), found


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("4月底前", "13月").replace("每周五上午", "随时")
    found = problems(write(tmp_path, text))
    assert len(found) == 2


def test_file_errors(tmp_path: Path) -> None:
    assert "no such file" in problems(tmp_path / "missing.yaml")[0]
    (tmp_path / "gbk.yaml").write_bytes("标题".encode("gbk"))
    assert "not UTF-8" in problems(tmp_path / "gbk.yaml")[0]


def test_events_file(tmp_path: Path) -> None:
    path = write(tmp_path, "十八大: 2012-11-08\n", "events.yaml")
    assert plans.load_events(path) == {"十八大": date(2012, 11, 8)}
    json_path = write(tmp_path, '{"十八大": "2012-11-08"}', "events.json")
    assert plans.load_events(json_path) == {"十八大": date(2012, 11, 8)}
    bad = write(tmp_path, "十八大: 2012-11-08\n十九大: soon\n", "bad.yaml")
    with pytest.raises(PlanError, match=re.escape("bad.yaml:2: events.十九大: “soon” is not a date")):
        plans.load_events(bad)


CAMPAIGN = """\
id: gonghui-2010
title: 党群共建创先争优活动实施方案
year: 2010
from: 2010年8月
until: 十八大
events: {十八大: 2012-11-08}
milestones:
  - id: meiyue
    title: 每月活动情况报送
    when: 每月
    kind: deadline
  - id: chunjie
    title: 春节送温暖
    when: 春节前夕
  - id: biaozhang
    title: 表彰
    when: 2011年“七一”前夕
  - id: zongjie
    title: 总结完善阶段
    when: 2012年7月—党的十八大召开前
"""


def test_a_campaign_span_repeats_undated_milestones_in_each_year(tmp_path: Path) -> None:
    loaded = load_plan(write(tmp_path, CAMPAIGN), CALENDAR)
    assert loaded.span == (date(2010, 8, 1), date(2012, 11, 8))
    nodes = expand_plan(loaded, CALENDAR)
    by = {m: [n for n in nodes if n.milestone_id == m] for m in
          ("meiyue", "chunjie", "biaozhang", "zongjie")}
    # Every month from August 2010 to October 2012; November 2012 falls due after the end.
    assert [n.end for n in by["meiyue"]][:2] == [date(2010, 8, 31), date(2010, 9, 30)]
    assert len(by["meiyue"]) == 27 and by["meiyue"][-1].end == date(2012, 10, 31)
    # 春节 2010 (Feb 14) is before the campaign: only 2011 and 2012 (Feb 3, Jan 23).
    assert [n.start for n in by["chunjie"]] == [date(2011, 2, 2), date(2012, 1, 22)]
    assert [n.start for n in by["biaozhang"]] == [date(2011, 6, 30)]  # named year: once
    assert [(n.start, n.end) for n in by["zongjie"]] == [(date(2012, 7, 1), date(2012, 11, 7))]


def test_a_campaign_span_moves_with_the_plan(tmp_path: Path) -> None:
    nodes = expand_plan(load_plan(write(tmp_path, CAMPAIGN), CALENDAR), CALENDAR, 2026)
    months = [n.end for n in nodes if n.milestone_id == "meiyue"]
    assert months[0] == date(2026, 8, 31) and months[-1] == date(2028, 10, 31)


def test_without_a_span_a_plan_covers_its_base_year(tmp_path: Path) -> None:
    text = CAMPAIGN.replace("from: 2010年8月\n", "").replace("until: 十八大\n", "")
    loaded = load_plan(write(tmp_path, text), CALENDAR)
    assert loaded.span is None
    months = [n.end for n in expand_plan(loaded, CALENDAR) if n.milestone_id == "meiyue"]
    assert len(months) == 12 and months[0] == date(2010, 1, 31)


def test_only_from_runs_to_the_end_of_the_base_year(tmp_path: Path) -> None:
    loaded = load_plan(write(tmp_path, CAMPAIGN.replace("until: 十八大\n", "")), CALENDAR)
    assert loaded.span == (date(2010, 8, 1), date(2010, 12, 31))


@pytest.mark.parametrize(("edit", "expected"), [
    (("until: 十八大", "until: 党代会"), r"plan\.yaml:5: until: .*党代会"),
    (("from: 2010年8月", "from: 2013-01-01"), (r"plan\.yaml:5: until: the plan would end "
                                              r"\(2012-11-08\) before it starts \(2013-01-01\)")),
])
def test_span_errors_say_where(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    found = problems(write(tmp_path, CAMPAIGN.replace(*edit)))
    assert len(found) == 1 and re.search(expected, found[0]), found


def test_a_milestone_outside_the_span_is_warned_about(tmp_path: Path) -> None:
    text = CAMPAIGN.replace("2011年“七一”前夕", "2013年“七一”前夕")
    warnings: list[str] = []
    nodes = expand_plan(load_plan(write(tmp_path, text), CALENDAR), CALENDAR, None, warnings)
    assert not [n for n in nodes if n.milestone_id == "biaozhang"]
    assert any("biaozhang" in w and "outside the plan's span" in w for w in warnings), warnings
