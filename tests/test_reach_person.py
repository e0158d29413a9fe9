"""Channels that reach a person, end to end through the CLI: a units file with people's
addresses and userids, `notify test` printing each person's outcome, and the dispatcher
recording each person's outcome in the delivery log. The providers are the stand-ins of
tests/providers (a real SMTP server, real HTTP servers on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import notifiers
import plans
from tests.conftest import CATALOG, Ran
from tests.providers.dingtalk_app import DingTalkApp, User
from tests.providers.server import serve
from tests.providers.sms import FakeClock
from tests.providers.smtp import Certificate, MailServer, make_certificate, serve_smtp
from tests.providers.wecom_app import WeComApp

USER, PASSWORD = "dj@example.org", "Jiedian-mail-pass-0123"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def units_file(tmp_path: Path, channel: str, people: str) -> Path:
    path = tmp_path / "units.yaml"
    path.write_text(f"units:\n  - name: 镇党建办\n    people: {people}\n    channels:\n      - {channel}\n",
                    encoding="utf-8")
    return path


def test_email_notify_test_and_dispatch_record_each_person(
        cli: Callable[..., Ran], env: dict[str, str], tmp_path: Path, certificate: Certificate) -> None:
    env.update({"DJB_MAIL_USER": USER, "DJB_MAIL_PASS": PASSWORD})
    mails = MailServer(FakeClock(), users={USER: PASSWORD}, owners={USER: "dj@example.org"})
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        units = units_file(
            tmp_path, f"{{id: djb-mail, kind: email, host: 127.0.0.1, port: {port}, security: starttls, "
            "username_env: DJB_MAIL_USER, password_env: DJB_MAIL_PASS, sender: '合江镇党委 <dj@example.org>', "
            f"ca_file: '{certificate.cert}'}}",
            "[{name: 张三, email: zhangsan@example.org}, {name: 王五, mobile: '13900000002'}]")
        imported = cli("units", "import", str(units))
        assert imported.returncode == 0, imported.stderr
        assert "王五: channel djb-mail (email) cannot reach them (no email)" in imported.stderr
        tested = cli("notify", "test", "--unit", "镇党建办", "--channel", "djb-mail")
        assert tested.returncode == 0, tested.stdout + tested.stderr  # 王五 is skipped, not a failure
        lines = tested.stdout.splitlines()
        assert any("· 张三" in line and "delivered" in line and "250" in line for line in lines)
        assert any("· 王五" in line and "no_contact" in line and "no email" in line for line in lines)
        answer = json.loads(cli("notify", "test", "--unit", "镇党建办", "--json").stdout)
        assert {who: r["code"] for who, r in answer[0]["recipients"].items()} == {"张三": "250", "王五": "no_contact"}
        assert [m.rcpt_tos for m in mails.received] == [("zhangsan@example.org",)] * 2

        assert cli("plan", "add", str(CATALOG / "hejiang-2011-cxzy.yaml")).returncode == 0
        env["JIEDIAN_NOW"] = "2011-04-22T09:00"  # 形成创建方案交镇党建办 (due 04-29): its -7d reminder
        sent = cli("dispatch", "--until-idle")
        assert sent.returncode == 0, sent.stderr
        log = json.loads(cli("deliveries", "--since", "2011-04-01", "--json").stdout)
    assert len(mails.received) == 3 and "形成创建方案交镇党建办" in mails.received[2].message["Subject"]
    (row,) = log
    assert row["outcome"] == "delivered" and "张三 delivered" in row["message"]
    assert "王五 permanent no_contact: no email" in row["message"]
    for output in (imported, tested, sent):
        assert PASSWORD not in output.stdout + output.stderr


def test_work_notice_and_application_message_reach_each_person_once(
        cli: Callable[..., Ran], env: dict[str, str], tmp_path: Path) -> None:
    """A unit with both a DingTalk work-notice and a WeCom application channel: one person
    by userid, one looked up by mobile, one the providers cannot reach. `notify test` and
    the dispatcher each reach the two once; the delivery log names each person's outcome;
    a second dispatch sends nothing."""
    env.update({"DJB_APP_KEY": "dingappkey0123", "DJB_APP_SECRET": "dingappsecret-0123456789",
                "DJB_WX_SECRET": "wxAppSecret-0123456789abcdefGHIJKLmnop"})
    ding = DingTalkApp(FakeClock(), "dingappkey0123", "dingappsecret-0123456789",
                       users=(User("zhangsan", "13800000001"), User("lisi", "13900000002")))
    wecom = WeComApp(FakeClock(), "ww0123456789abcdef", "wxAppSecret-0123456789abcdefGHIJKLmnop", 1000002,
                     {"ZhangSan": "13800000001", "lisi": "13900000002"})
    with serve(ding) as ding_server, serve(wecom) as wecom_server:
        units = tmp_path / "units.yaml"
        units.write_text(
            "units:\n  - name: 镇党建办\n    people:\n"
            "      - {name: 张三, mobile: '13800000001', dingtalk_userid: zhangsan, wecom_userid: ZhangSan}\n"
            "      - {name: 李四, mobile: '13900000002'}\n"
            "      - {name: 王五, email: wangwu@example.org}\n"
            "    channels:\n"
            "      - {id: djb-notice, kind: dingtalk_notice, app_key_env: DJB_APP_KEY, app_secret_env: DJB_APP_SECRET,"
            f" agent_id: '1234567', endpoint: '{ding_server.url}/'}}\n"
            "      - {id: djb-wxapp, kind: wecom_app, corp_id: ww0123456789abcdef, corp_secret_env: DJB_WX_SECRET,"
            f" agent_id: '1000002', endpoint: '{wecom_server.url}/'}}\n", encoding="utf-8")
        imported = cli("units", "import", str(units))
        assert imported.returncode == 0, imported.stderr
        assert "王五: channel djb-notice (dingtalk_notice) cannot reach them (no dingtalk_userid and no mobile)" \
            in imported.stderr
        assert "王五: channel djb-wxapp (wecom_app) cannot reach them (no wecom_userid and no mobile)" \
            in imported.stderr
        answers = json.loads(cli("notify", "test", "--unit", "镇党建办", "--json").stdout)
        outcomes = {a["channel"]: {who: r["outcome"] for who, r in a["recipients"].items()} for a in answers}
        assert outcomes == {channel: {"张三": "delivered", "李四": "delivered", "王五": "permanent"}
                            for channel in ("djb-notice", "djb-wxapp")}
        assert cli("plan", "add", str(CATALOG / "hejiang-2011-cxzy.yaml")).returncode == 0
        env["JIEDIAN_NOW"] = "2011-04-22T09:00"
        assert cli("dispatch", "--until-idle").returncode == 0
        assert cli("dispatch", "--until-idle").returncode == 0  # nothing left: nothing twice
        log = json.loads(cli("deliveries", "--since", "2011-04-01", "--json").stdout)
    assert {row["channel_id"]: row["outcome"] for row in log} == {"djb-notice": "delivered",
                                                                  "djb-wxapp": "delivered"}
    assert all("张三 delivered" in row["message"] and "李四 delivered" in row["message"]
               and "王五 permanent no_contact" in row["message"] for row in log)
    # each person: the test notice and the reminder, once each
    assert {user: len(notices) for user, notices in ding.received.items()} == {"zhangsan": 2, "lisi": 2}
    assert sorted(userid for userid, _, _ in wecom.delivered) == ["ZhangSan", "ZhangSan", "lisi", "lisi"]
    for secret in ("dingappsecret-0123456789", "wxAppSecret-0123456789abcdefGHIJKLmnop"):
        assert all(secret not in (row["message"] or "") for row in log)


def test_office_wide_channels_reach_every_unit_of_a_sheet(
        cli: Callable[..., Ran], tmp_path: Path) -> None:
    """The 通讯录 names units and people; the office's application is written once, in
    `channels:`, and every unit gets it (in units.yaml, or beside a sheet with --channels)."""
    sheet = tmp_path / "通讯录.csv"
    sheet.write_text("单位名称,联系人,手机,钉钉userid\n镇党建办,张三,13800000001,zhangsan\n"
                     "机关党支部,王五,,\n", encoding="utf-8-sig")
    office = tmp_path / "channels.yaml"
    office.write_text("channels:\n  - {id: notice, kind: dingtalk_notice, app_key_env: DJB_APP_KEY,"
                      " app_secret_env: DJB_APP_SECRET, agent_id: '1234567'}\n", encoding="utf-8")
    done = cli("units", "import", str(sheet), "--channels", str(office), "--json")
    assert done.returncode == 0, done.stderr
    assert "机关党支部: 王五: channel notice-" in done.stderr and "no dingtalk_userid and no mobile" in done.stderr
    units = {u["name"]: u for u in json.loads(cli("units", "list", "--json").stdout)}
    ids = {name: [c[0] for c in u["channels"]] for name, u in units.items()}
    assert all(len(channel_ids) == 1 and channel_ids[0].startswith("notice-") for channel_ids in ids.values())
    assert ids["镇党建办"] != ids["机关党支部"]
    # the id as written once finds the unit's copy (no secrets set here: nothing is sent)
    tested = json.loads(cli("notify", "test", "--unit", "镇党建办", "--channel", "notice", "--json").stdout)
    assert [(a["channel"], a["code"]) for a in tested] == [(ids["镇党建办"][0], "secret_missing")]
    again = cli("units", "import", str(sheet), "--channels", str(office), "--dry-run", "--json")
    assert json.loads(again.stdout)["kept"] == ["镇党建办", "机关党支部"]  # the same ids: nothing changed
    both = tmp_path / "units.yaml"
    both.write_text("units:\n  - name: 镇党建办\n", encoding="utf-8")
    refused = cli("units", "import", str(sheet), "--channels", str(both))
    assert refused.returncode == 1 and "--channels takes a file of `channels:` only" in refused.stderr


def test_top_level_channels_in_a_units_file_go_to_every_unit(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text("channels:\n  - {id: mail, kind: email, host: smtp.example.org, sender: dj@example.org}\n"
                    "units:\n  - name: 镇党建办\n    channels: [{id: djb, kind: console}]\n  - name: 镇党委\n",
                    encoding="utf-8")
    directory = plans.load_units(path, notifiers.CHANNEL_CONFIGS)
    kinds = {u.name: [(c.id.split("-")[0], c.kind) for c in u.channels] for u in directory.units}
    assert kinds == {"镇党建办": [("djb", "console"), ("mail", "email")], "镇党委": [("mail", "email")]}
    path.write_text("channels:\n  - {id: mail, kind: email, host: smtp.example.org}\nunits: []\n", encoding="utf-8")
    with pytest.raises(plans.PlanError, match=r"units.yaml:2: channels\[0\]: an email channel needs sender"):
        plans.load_units(path, notifiers.CHANNEL_CONFIGS)
