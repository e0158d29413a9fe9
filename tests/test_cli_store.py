"""`jiedian plan add/list/show/remove`, `upcoming` and `units` as a user runs them."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session

import scheduler
from tests.conftest import CATALOG, UNITS, Ran, ack_tokens, invoke, tokens

run = invoke  # in-process: each test here is a user's session of commands on one store


def test_add_show_list_upcoming_remove(env: dict[str, str]) -> None:
    assert run(env, "units", "import", str(UNITS)).returncode == 0
    hejiang = str(CATALOG / "hejiang-2011-cxzy.yaml")
    first = run(env, "plan", "add", hejiang)
    assert first.returncode == 0, first.stderr
    assert "hejiang-2011-cxzy · 2011: new plan, 26 added" in first.stdout
    assert "not in the units directory" not in first.stderr  # the bundled directory knows them
    again = run(env, "plan", "add", hejiang)
    assert "hejiang-2011-cxzy · 2011: unchanged (26 nodes); nothing written" in again.stdout
    listed = run(env, "plan", "list", "--json")
    assert [p["id"] for p in json.loads(listed.stdout)] == ["hejiang-2011-cxzy"]
    shown = run(env, "plan", "show", "hejiang-2011-cxzy", "--json")
    assert len(json.loads(shown.stdout)) == 26
    ahead = json.loads(run(env, "upcoming", "--unit", "镇党建办", "--json").stdout)
    assert [(r["title"], r["due"], r["days_left"], r["working_days_left"]) for r in ahead] == [
        ("形成创建方案交镇党建办", "2011-04-29", 9, 7)]
    table = run(env, "upcoming", "--unit", "镇党建办")
    assert "还有9天 (7个工作日)" in table.stdout and "周五" in table.stdout
    removed = run(env, "plan", "remove", "hejiang-2011-cxzy")
    assert removed.returncode == 0 and "cancelled" in removed.stdout
    assert json.loads(run(env, "upcoming", "--unit", "镇党建办", "--json").stdout) == []


def test_changed_plan_prints_the_difference_and_dry_run_writes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = (CATALOG / "hejiang-2011-cxzy.yaml").read_text(encoding="utf-8")
    plan = tmp_path / "hejiang.yaml"
    plan.write_text(source, encoding="utf-8")
    run(env, "plan", "add", str(plan))
    plan.write_text(source.replace("when: 清明節", "when: 清明節前后"), encoding="utf-8")
    dry = run(env, "plan", "add", "--dry-run", str(plan))
    assert "1 would add, 0 changed, 1 cancelled" in dry.stdout
    assert "+ 2011-03-29" in dry.stdout and "- 2011-04-05" in dry.stdout
    real = run(env, "plan", "add", str(plan))
    assert "1 added, 0 changed, 1 cancelled" in real.stdout
    assert "nothing written" in run(env, "plan", "add", str(plan)).stdout


def test_a_bad_file_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: 坏\nyear: 2011\nmilestones:\n  - id: a\n    title: x\n"
                   "    when: 适时\n", encoding="utf-8")
    result = run(env, "plan", "add", str(CATALOG / "hejiang-2011-cxzy.yaml"), str(bad))
    assert result.returncode == 1 and f"{bad}:7: milestones[0].when" in result.stderr
    assert json.loads(run(env, "plan", "list", "--json").stdout) == []


def test_unknown_units_are_warned_with_the_closest_names(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "units", "import", str(UNITS))
    plan = tmp_path / "p.yaml"
    plan.write_text("id: p\ntitle: t\nyear: 2011\nmilestones:\n  - id: a\n    title: x\n"
                    "    when: 4月底前\n    lead: [镇党建室]\n", encoding="utf-8")
    result = run(env, "plan", "add", str(plan))
    assert result.returncode == 0
    assert "unit “镇党建室” is not in the units directory; closest known: 镇党建办" in result.stderr


def test_units_commands(env: dict[str, str]) -> None:
    run(env, "units", "import", str(UNITS))
    listed = run(env, "units", "list")
    assert "镇党建办" in listed.stdout and "各党(总)支部" in listed.stdout
    shown = run(env, "units", "show", "各黨（總）支部")
    assert shown.returncode == 0 and "members:" in shown.stdout
    missing = run(env, "units", "show", "镇党建")
    assert missing.returncode == 1 and "did you mean 镇党建办" in missing.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "remove", "nope"], "no stored plan “nope”"),
        (["plan", "show", "nope"], "no stored plan “nope”"),
        (["upcoming", "--unit", "不存在的单位"], "unknown unit “不存在的单位”"),
        (["units", "import", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
    ],
)
def test_store_mistakes_are_clear(env: dict[str, str], args: list[str], says: str) -> None:
    result = run(env, *args)
    assert result.returncode != 0 and says in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    env = {"PATH": str(Path(sys.executable).parent), "JIEDIAN_HOME": str(tmp_path),
           "JIEDIAN_DATABASE_URL": "nonsense"}
    result = run(env, "plan", "list")
    assert result.returncode == 1 and "is not a database URL" in result.stderr
    env["JIEDIAN_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = run(env, "plan", "list")
    assert result.returncode == 1 and "cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_during_plan_add_says_so_and_writes_nothing(env: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(env, "units", "import", str(UNITS)).returncode == 0
    calls = []

    def interrupted(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == 2:  # the second plan: the first is imported but not committed
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    import scheduler

    real = scheduler.import_plan
    monkeypatch.setattr(scheduler, "import_plan", interrupted)
    stopped = run(env, "plan", "add", str(CATALOG))
    assert stopped.returncode == 130 and "interrupted: nothing was written" in stopped.stderr
    monkeypatch.undo()
    assert json.loads(run(env, "plan", "list", "--json").stdout) == []


def test_removing_a_plan_cancels_its_pending_reminders_and_no_other_plans(env: dict[str, str]) -> None:
    """plan remove syncs the outbox for the nodes it cancelled, and only those."""
    assert run(env, "units", "import", str(UNITS)).returncode == 0
    for name in ("hejiang-2011-cxzy.yaml", "huizhou-2011-djcxn.yaml"):
        assert run(env, "plan", "add", str(CATALOG / name)).returncode == 0

    def pending() -> Counter[str]:
        rows = json.loads(run(env, "reminders", "--upcoming", "--limit", "100000", "--json").stdout)
        return Counter(r["plan_id"] for r in rows)

    before = pending()
    assert before["hejiang-2011-cxzy"] > 0 and before["huizhou-2011-djcxn"] > 0
    assert run(env, "plan", "remove", "hejiang-2011-cxzy").returncode == 0
    after = pending()
    assert after["hejiang-2011-cxzy"] == 0 and after["huizhou-2011-djcxn"] == before["huizhou-2011-djcxn"]


def test_rotate_token_can_renew_one_secret_alone(cli: Callable[..., Ran], env: dict[str, str]) -> None:
    import_demo = cli("units", "import", str(UNITS))
    assert import_demo.returncode == 0, import_demo.stderr
    engine = scheduler.open_store(env["JIEDIAN_DATABASE_URL"])
    before = (tokens(engine)["镇党建办"], ack_tokens(engine)["镇党建办"])
    ack = cli("units", "rotate-token", "镇党建办", "--ack-only")
    assert ack.returncode == 0 and "new confirmation links" in ack.stdout and "feed URL" not in ack.stdout
    middle = (tokens(engine)["镇党建办"], ack_tokens(engine)["镇党建办"])
    assert middle[0] == before[0] and middle[1] != before[1]
    feed = cli("units", "rotate-token", "镇党建办", "--feed-only")
    assert feed.returncode == 0 and "new feed URL" in feed.stdout and "confirmation" not in feed.stdout
    assert (tokens(engine)["镇党建办"], ack_tokens(engine)["镇党建办"])[1] == middle[1]
    both = cli("units", "rotate-token", "镇党建办", "--ack-only", "--feed-only")
    assert both.returncode == 2 and "not both" in both.stderr
    engine.dispose()


def test_people_contacts_are_stored_shown_and_warned_about(
        cli: Callable[..., Ran], env: dict[str, str], tmp_path: Path) -> None:
    """A person's email and userids go through the store to `units show` and to the channels'
    destinations; a person a channel cannot reach is a warning naming them and the channel."""
    units = tmp_path / "units.yaml"
    units.write_text(
        "units:\n  - name: 镇党建办\n    people:\n"
        "      - {name: 张三, mobile: '13800000000', email: zhangsan@example.org, dingtalk_userid: manager4220,"
        " wecom_userid: ZhangSan}\n"
        "      - {name: 李四}\n"
        "    channels:\n      - {id: djb-sms, kind: tencent_sms, secret_id_env: TC_ID, secret_key_env: TC_KEY,"
        " sdk_app_id: '1400000000', sign_name: 合江镇党委, template_id: '1110'}\n"
        "  - name: 镇党委\n    channels:\n      - {id: dw-sms, kind: tencent_sms, secret_id_env: TC_ID,"
        " secret_key_env: TC_KEY, sdk_app_id: '1400000000', sign_name: 合江镇党委, template_id: '1110'}\n",
        encoding="utf-8")
    done = cli("units", "import", str(units))
    assert done.returncode == 0, done.stderr
    assert "镇党建办: 李四: channel djb-sms (tencent_sms) cannot reach them (no mobile)" in done.stderr
    assert "镇党委: channel dw-sms (tencent_sms) reaches people and the unit lists none" in done.stderr
    assert "张三" not in done.stderr
    shown = cli("units", "show", "镇党建办")
    assert "person: 张三 13800000000 zhangsan@example.org 钉钉:manager4220 企业微信:ZhangSan" in shown.stdout
    assert "person: 李四\n" in shown.stdout
    engine = scheduler.open_store(env["JIEDIAN_DATABASE_URL"])
    with Session(engine) as session:
        unit = scheduler.find_unit(session, "镇党建办")
        assert unit is not None
        (destination,) = scheduler.destinations(session, unit)
    engine.dispose()
    assert destination.mobiles == ("13800000000",)
    assert [(p.name, p.email, p.dingtalk_userid, p.wecom_userid) for p in destination.people] == [
        ("张三", "zhangsan@example.org", "manager4220", "ZhangSan"), ("李四", None, None, None)]
    bad = tmp_path / "bad.yaml"
    bad.write_text("units:\n  - name: 镇党建办\n    people: [{name: 张三, email: zhangsan.example.org}]\n",
                   encoding="utf-8")
    refused = cli("units", "import", str(bad), "--replace")
    assert refused.returncode == 1
    assert "bad.yaml:3: units[0].people[0].email: “zhangsan.example.org” is not an email address" in refused.stderr


def test_units_import_removes_stored_units_only_with_replace(cli: Callable[..., Ran], tmp_path: Path) -> None:
    """Importing a one-unit file used to drop the other units silently. Now it says how many
    it would remove and writes nothing; --dry-run shows the change; --replace does it."""
    assert cli("units", "import", str(UNITS)).returncode == 0
    before = cli("units", "list", "--json").stdout
    one = tmp_path / "one.yaml"
    one.write_text("units:\n  - name: 镇党建办\n    channels: [{id: djb, kind: console}]\n", encoding="utf-8")
    refused = cli("units", "import", str(one))
    assert refused.returncode == 1 and "--replace" in refused.stderr and "nothing was written" in refused.stderr
    assert cli("units", "list", "--json").stdout == before
    dry = cli("units", "import", str(one), "--dry-run")
    assert dry.returncode == 0 and "would remove" in dry.stdout and "would be removed: " in dry.stdout
    assert cli("units", "list", "--json").stdout == before
    dry_json = json.loads(cli("units", "import", str(one), "--dry-run", "--json").stdout)
    # its channels are not the bundled file's: kept, but changed
    assert dry_json["dry_run"] is True and dry_json["changed"] == ["镇党建办"] and len(dry_json["removed"]) > 10
    assert "would be changed: 镇党建办" in dry.stdout
    done = cli("units", "import", str(one), "--replace")
    assert done.returncode == 0 and "removed: " in done.stdout
    assert [u["name"] for u in json.loads(cli("units", "list", "--json").stdout)] == ["镇党建办"]
