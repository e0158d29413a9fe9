"""Reminder wording, templates, and `jiedian notify test` through the console channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from notifiers import Secrets, SecretsError
from scheduler import ReminderItem, Templates, render
from scheduler._messages import countdown
from tests.conftest import UNITS, invoke as run

DEADLINE = ReminderItem("合江镇2011年创先争优活动工作要点", "形成创建方案交镇党建办", "deadline",
                        date(2011, 4, 30), date(2011, 4, 30), date(2011, 4, 29),
                        ("镇党建办",), ("各党(总)支部",))
EVENT = ReminderItem("惠州市“党建工作创新年”活动工作方案", "党代表接待日", "event",
                     date(2011, 4, 22), date(2011, 4, 22), date(2011, 4, 22), (), ("市委组织部",),
                     part_of_day="上午")


@pytest.mark.parametrize(
    ("item", "today", "expected"),
    [
        (DEADLINE, date(2011, 4, 26), "还有3天"),
        (DEADLINE, date(2011, 4, 28), "明天截止"),
        (DEADLINE, date(2011, 4, 29), "今天截止"),
        (EVENT, date(2011, 4, 21), "明天"),
        (EVENT, date(2011, 4, 22), "今天"),
    ],
)
def test_countdown(item: ReminderItem, today: date, expected: str) -> None:
    assert countdown(item, today) == expected


def test_one_reminder_reads_well() -> None:
    message = render([DEADLINE], today=date(2011, 4, 26), idempotency_key="k1", unit="镇党建办",
                     link="https://jiedian.example/u/abc")
    assert message.title == "【节点提醒】形成创建方案交镇党建办 · 还有3天"
    assert "截止：4月29日（周五），还有3天" in message.text
    assert "牵头单位：镇党建办" in message.text and "责任单位：各党(总)支部" in message.text
    assert "https://jiedian.example/u/abc" in message.text
    assert message.markdown and "**还有3天**" in message.markdown
    assert message.fields["due"] == "2011-04-29" and message.fields["weekday"] == "周五"
    assert message.idempotency_key == "k1"


def test_digest_lists_nodes_soonest_first() -> None:
    message = render([DEADLINE, EVENT], today=date(2011, 4, 21), idempotency_key="k2")
    assert message.title == "【节点提醒】2个节点即将到来"
    assert message.text.index("党代表接待日") < message.text.index("形成创建方案")
    assert "时间：4月22日（周五）上午，明天" in message.text


def test_templates_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "title.txt").write_text("[$plan] $node ($countdown)", encoding="utf-8")
    message = render([DEADLINE], today=date(2011, 4, 28), idempotency_key="k",
                     templates=Templates(tmp_path))
    assert message.title == "[合江镇2011年创先争优活动工作要点] 形成创建方案交镇党建办 (明天截止)"
    (tmp_path / "text.txt").write_text("bad $", encoding="utf-8")
    with pytest.raises(ValueError, match=r"text\.txt: not a valid template"):
        Templates(tmp_path)


def test_notify_test_through_the_console(env: dict[str, str]) -> None:
    run(env, "units", "import", str(UNITS))
    result = run(env, "notify", "test", "--unit", "镇党建办")
    assert result.returncode == 0, result.stderr
    assert "【节点提醒】测试消息" in result.stdout and "delivered" in result.stdout
    missing = run(env, "notify", "test", "--unit", "镇党建办", "--channel", "nope")
    assert missing.returncode == 1 and "has no channel “nope”" in missing.stderr
    unknown = run(env, "notify", "test", "--unit", "不存在")
    assert unknown.returncode == 1 and "unknown unit “不存在”" in unknown.stderr


def test_insecure_secrets_file_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("DJB_DING_SECRET=SECabcdef123456\n", encoding="utf-8")
    secrets.chmod(0o644)
    env = {**env, "JIEDIAN_SECRETS_FILE": str(secrets)}
    result = run(env, "notify", "test", "--unit", "镇党建办")
    assert result.returncode == 1 and "readable by others" in result.stderr
    assert "SECabcdef123456" not in result.stderr + result.stdout


def test_the_secrets_file_is_read_as_a_dotenv_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# the office's secrets\nA_TOKEN=abc123  # the robot's\nexport B_KEY='two words'\n"
                       'C_SECRET="quoted # not a comment"\n', encoding="utf-8")
    secrets.chmod(0o600)
    loaded = Secrets.load(secrets, env={})
    assert (loaded.get("A_TOKEN"), loaded.get("B_KEY")) == ("abc123", "two words")
    assert loaded.get("C_SECRET") == "quoted # not a comment"
    secrets.write_text("A_TOKEN=abc123\nB_KEY=\"s3cr3tvalue\nC=3\n", encoding="utf-8")
    with pytest.raises(SecretsError, match=r"secrets\.env:2: expected NAME=value") as caught:
        Secrets.load(secrets, env={})
    assert "s3cr3tvalue" not in str(caught.value) and "abc123" not in str(caught.value)


def test_plan_text_mentions_nobody_and_embeds_nothing() -> None:
    """A plan's words are sent as plain text in every channel: whatever in them would mention
    a whole group or embed a link or an image is made harmless; the office's own link stays."""
    hostile = replace(DEADLINE, plan_title="[点此](http://evil.example/x)要点",
                      title='请@all 和@所有人 注意<at user_id="all">所有人</at><@all>![图](http://evil.example/a.png)',
                      lead=("<@all>",), ack="https://jiedian.example/ack/t/o")
    message = render([hostile], today=date(2011, 4, 20), idempotency_key="k", link="https://jiedian.example/f.ics")
    for body in (message.title, message.text, message.markdown or ""):
        lowered = body.lower()
        assert "@all" not in lowered and "@所有人" not in body and "<at" not in lowered and "<@" not in body
        assert "](http://evil" not in body and "![" not in body
        assert "evil.example/a.png" in body  # shown, not embedded
    assert "[办结确认](https://jiedian.example/ack/t/o)" in (message.markdown or "")
    assert "邮箱 a@allen.com" in render([replace(DEADLINE, title="邮箱 a@allen.com")], today=date(2011, 4, 20),
                                      idempotency_key="k").text
