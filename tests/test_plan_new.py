"""`jiedian plan new`: the interview, driven by a script of answers, and the real command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ruamel.yaml import YAML

from plans import CALENDAR, expand_plan, interview, load_plan
from tests.conftest import invoke


class Script:
    """A fake terminal: answers in order ("" is Enter: the default when there is one)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.lines: list[str] = []

    def ask(self, prompt: str, default: str | None) -> str:
        self.prompts.append(prompt)
        assert self.answers, f"no answer left for {prompt!r}"
        answer = self.answers.pop(0)
        return default if answer == "" and default is not None else answer

    def say(self, line: str) -> None:
        self.lines.append(line)

    def run(self, tmp_path: Path) -> tuple[str, Path]:
        text = interview(self.ask, self.say, CALENDAR)
        assert self.answers == [], f"answers not asked for: {self.answers}"
        path = tmp_path / "plan.yaml"
        path.write_text(text, encoding="utf-8")
        return text, path

    def said(self, fragment: str) -> bool:
        return any(fragment in line for line in self.lines)

    def asked(self, fragment: str) -> int:
        return sum(fragment in prompt for prompt in self.prompts)


HAPPY = (
    "合江镇2011年创先争优活动工作要点", "2011", "hejiang-2011-cxzy", "中共合江镇委员会",
    "形成创建方案交镇党建办", "4月底前", "", "镇党建办", "各党(总)支部、各村党支部", "",
    "党代表接待日", "每周五上午", "y", "", "各党代表, 镇人大", "",
    "",
)


def test_happy_path_two_milestones(tmp_path: Path) -> None:
    script = Script(*HAPPY)
    text, path = script.run(tmp_path)
    assert script.said("2011-04-30 周六 · 截止 2011-04-29 周五")
    assert script.said("截止 deadline") and script.said("活动 event, 52")
    assert script.said("2011-01-07 周五 上午") and script.said("2011-12-30 周五 上午")
    # Chinese intact, `when` quoted, DESIGN.md's field order.
    assert "合江镇2011年创先争优活动工作要点" in text and "\\u" not in text
    assert 'when: "4月底前"' in text and 'when: "每周五上午"' in text
    raw = YAML(typ="rt").load(text)
    assert list(raw) == ["id", "title", "issuer", "year", "timezone", "milestones"]
    assert list(raw["milestones"][0]) == ["id", "title", "when", "kind", "lead", "units"]
    assert list(raw["milestones"][1]) == ["id", "title", "when", "kind", "units"]
    loaded = load_plan(path, CALENDAR)
    plan = loaded.plan
    assert (plan.id, plan.year, plan.issuer) == ("hejiang-2011-cxzy", 2011, "中共合江镇委员会")
    first, second = plan.milestones
    assert (first.id, first.kind, first.lead, first.units) == (
        "m1", "deadline", ["镇党建办"], ["各党(总)支部", "各村党支部"])
    assert (second.id, second.kind, second.lead, second.units) == (
        "m2", "event", [], ["各党代表", "镇人大"])
    nodes = expand_plan(loaded, CALENDAR)
    deadline = [n for n in nodes if n.milestone_id == "m1"]
    assert [(n.end, n.due) for n in deadline] == [(date(2011, 4, 30), date(2011, 4, 29))]
    fridays = [n for n in nodes if n.milestone_id == "m2"]
    assert len(fridays) == 52 and fridays[0].start == date(2011, 1, 7)
    assert all(n.start.weekday() == 4 and n.part_of_day == "上午" for n in fridays)


def test_bad_when_is_shown_and_asked_again(tmp_path: Path) -> None:
    script = Script(
        "Demo plan", "2011", "",
        "召开表彰大会", "适时召开", "“七一”前夕", "", "", "", "",
        "",
    )
    _, path = script.run(tmp_path)
    assert script.said("“适时召开”: is not a time")
    assert script.asked("节点1 时间 when") == 2
    milestone = load_plan(path, CALENDAR).plan.milestones[0]
    assert (milestone.when, milestone.kind) == ("“七一”前夕", "event")
    assert script.said("2011-06-30 周四")


def test_no_means_ask_the_when_again_and_kind_can_be_changed(tmp_path: Path) -> None:
    script = Script(
        "Demo plan", "2011", "",
        "上报材料", "4月底前", "n", "5月底前", "", "", "", "funny", "阶段",
        "",
    )
    text, path = script.run(tmp_path)
    assert script.asked("节点1 时间 when") == 2
    assert script.said("choose deadline, event or phase")
    milestone = load_plan(path, CALENDAR).plan.milestones[0]
    assert (milestone.when, milestone.kind) == ("5月底前", "phase")
    assert "4月底前" not in text


def test_bad_year_and_empty_answers_are_asked_again(tmp_path: Path) -> None:
    script = Script(
        "", "Demo plan", "abc", "1800", "二〇一一年", "",
        "", "Kickoff", "4月", "", "", "", "",
        "",
    )
    _, path = script.run(tmp_path)
    assert script.asked("年份 year") == 3
    assert script.said("“abc” 不是1900–2100之间的年份") and script.said("“1800”")
    assert script.said("至少要有一个节点")
    assert script.asked("计划标题") == 2 and script.asked("节点1 标题") == 2
    plan = load_plan(path, CALENDAR).plan
    assert (plan.id, plan.year, plan.issuer, plan.milestones[0].kind) == (
        "demo-plan", 2011, None, "phase")


def test_plan_id_is_derived_or_asked() -> None:
    script = Script("CXZY work plan 2011", "2011", "", "Kickoff", "4月", "", "", "", "", "")
    interview(script.ask, script.say, CALENDAR)
    assert not script.asked("plan id")
    script = Script("合江镇2011年创先争优活动工作要点", "2011", "bad id!", "", "",
                    "动员", "4月", "", "", "", "", "")
    text = interview(script.ask, script.say, CALENDAR)
    assert script.asked("plan id") == 2 and script.said("“bad id!” 不能作编号")
    assert YAML(typ="rt").load(text)["id"].startswith("plan-2011-")


def test_named_event_asks_its_date_once_and_lands_in_events(tmp_path: Path) -> None:
    script = Script(
        "Shibada plan", "2012", "",
        "召开座谈会", "党的十八大召开前", "2012-13-01", "2012-11-08", "", "", "", "",
        "学习贯彻", "十八大召开后", "", "", "", "",
        "",
    )
    text, path = script.run(tmp_path)
    assert script.asked("“党的十八大召开”的日期") == 2 and script.said("“2012-13-01” 不是日期")
    assert script.said("2012-11-07 周三 · 截止 2012-11-07 周三")
    assert "events: {十八大: 2012-11-08}" in text
    loaded = load_plan(path, CALENDAR)
    assert loaded.plan.events == {"十八大": date(2012, 11, 8)}
    nodes = {n.milestone_id: n for n in expand_plan(loaded, CALENDAR)}
    assert (nodes["m1"].due, nodes["m2"].start, nodes["m2"].end) == (
        date(2012, 11, 7), date(2012, 11, 9), date(2012, 12, 31))


def test_event_given_for_a_when_then_refused_is_not_kept() -> None:
    script = Script(
        "Shibada plan", "2012", "",
        "召开座谈会", "党的十八大召开前", "2012-11-08", "n", "10月底前", "", "", "", "",
        "",
    )
    text = interview(script.ask, script.say, CALENDAR)
    assert "events" not in text


def test_cli_plan_new_end_to_end(tmp_path: Path) -> None:
    target = tmp_path / "p.yaml"
    answers = "\n".join(HAPPY) + "\n"
    env = {"JIEDIAN_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    result = invoke(env, "plan", "new", "-o", str(target), stdin=answers)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2011-04-30 周六 · 截止 2011-04-29 周五" in result.stdout
    assert str(target) in result.stdout and "jiedian plan validate" in result.stdout
    loaded = load_plan(target, CALENDAR)
    assert [m.when for m in loaded.plan.milestones] == ["4月底前", "每周五上午"]
    # An existing file is kept unless --force.
    before = target.read_text(encoding="utf-8")
    again = invoke(env, "plan", "new", "-o", str(target), stdin=answers)
    assert again.returncode == 1 and "--force" in again.stderr
    assert target.read_text(encoding="utf-8") == before
    forced = invoke(env, "plan", "new", "-o", str(target), "--force", stdin=answers)
    assert forced.returncode == 0, forced.stdout + forced.stderr
