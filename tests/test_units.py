"""The units directory: loading, line-numbered errors, name matching, the bundled file."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import plans
from notifiers import CHANNEL_CONFIGS
from plans import CALENDAR, PlanError, UnitsDirectory, load_plan, load_units, name_key

BUNDLED = Path(plans.__file__).parent / "units.yaml"
CATALOG_FILES = sorted((Path(plans.__file__).parent / "catalog").glob("*.yaml"))

GOOD = """\
groups:
  - name: 各党(总)支部
    aliases: [各党支部, 各黨(總)支部]
units:
  - name: 镇党建办
    aliases: [合江镇党建办]
    groups: []
    people: [{name: 张三, mobile: "13800000000"}, {name: 李四, mobile: +86 139-0000-0001}]
    channels:
      - {id: djb-console, kind: console}
      - {id: djb-ding, kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=x",
         secret_env: DJB_DING_SECRET, at_mobiles: true}
      - {id: djb-wecom, kind: wecom, url_env: DJB_WECOM_URL}
      - {id: djb-feishu, kind: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/x",
         secret_env: DJB_FEISHU_SECRET}
      - {id: djb-hook, kind: webhook, url: "http://127.0.0.1:8080/jiedian", secret_env: DJB_HOOK}
      - {id: djb-sms, kind: aliyun_sms, access_key_id_env: ALI_ID,
         access_key_secret_env: ALI_SECRET,
         sign_name: 合江镇党委, template_code: SMS_123, endpoint: "https://dysmsapi.aliyuncs.com/",
         template_params: {title: "{title}"}}
      - {id: djb-tsms, kind: tencent_sms, secret_id_env: TC_ID, secret_key_env: TC_KEY,
         sdk_app_id: 1400000000, sign_name: 合江镇党委, template_id: 1110, region: ap-guangzhou,
         enabled: false}
  - name: 兽医站党支部
    groups: 各党(總)支部
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "units.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_units(path, CHANNEL_CONFIGS)  # the channels' schemas, as scheduler hands them in
    return caught.value.problems


def one_unit(channel: str = "{id: a, kind: console}", mobile: str = '"13800000000"') -> str:
    return ("groups: [{name: 各部门}]\nunits:\n  - name: 镇党建办\n    groups: [各部门]\n"
            f"    people: [{{name: 张三, mobile: {mobile}}}]\n    channels:\n      - {channel}\n")


def test_bundled_directory_loads_and_names_every_unit_of_every_bundled_plan() -> None:
    directory = load_units(BUNDLED, CHANNEL_CONFIGS)
    assert len(directory.units) >= 20 and len(directory.groups) >= 10
    assert all(unit.people and unit.channels for unit in directory.units)
    assert all(ch.kind == "console" for unit in directory.units for ch in unit.channels)
    mobiles = [p.mobile for unit in directory.units for p in unit.people]
    assert len(set(mobiles)) == len(mobiles)
    assert "invented" in BUNDLED.read_text(encoding="utf-8").split("\n\n")[0].lower()
    named = {name for path in CATALOG_FILES for m in load_plan(path, CALENDAR).plan.milestones
             for name in (*m.lead, *m.units)}
    assert len(named) > 40
    assert [name for name in sorted(named) if not directory.resolve(name)] == []
    assert set(directory.recipients("各党(总)支部")) >= {"兽医站党支部", "镇综治办所在支部"}


def test_good_file_channels_people_and_config(tmp_path: Path) -> None:
    directory = load_units(write(tmp_path, GOOD), CHANNEL_CONFIGS)
    unit = directory.units[0]
    assert [p.mobile for p in unit.people] == ["13800000000", "13900000001"]
    channels = {ch.id: ch for ch in unit.channels}
    assert channels["djb-console"].config() == {"enabled": True}
    assert channels["djb-ding"].config() == {
        "enabled": True, "url": "https://oapi.dingtalk.com/robot/send?access_token=x",
        "secret_env": "DJB_DING_SECRET", "at_mobiles": True,
    }
    tsms = channels["djb-tsms"].config()
    assert tsms["sdk_app_id"] == "1400000000" and tsms["template_id"] == "1110"
    assert tsms["enabled"] is False and "id" not in tsms and "kind" not in tsms
    assert channels["djb-sms"].config()["template_params"] == {"title": "{title}"}


def test_names_resolve_in_any_script_and_width(tmp_path: Path) -> None:
    directory = load_units(write(tmp_path, GOOD), CHANNEL_CONFIGS)
    assert name_key("各黨（總）支部") == name_key("各党(总)支部") == "各党(总)支部"
    assert name_key(" 镇 党建办\u3000") == "镇党建办"
    assert directory.resolve("各黨（總）支部") == ["各党(总)支部"]
    assert directory.resolve("各党支部") == ["各党(总)支部"]
    assert directory.resolve("合江鎮黨建辦") == ["镇党建办"]
    assert directory.resolve("镇纪委") == []
    assert directory.closest("镇党建") == ["镇党建办"]
    assert directory.closest("各党（总）支部们")[0] == "各党(总)支部"


def test_expand_unit_includes_groups_and_aliases(tmp_path: Path) -> None:
    directory = load_units(write(tmp_path, GOOD), CHANNEL_CONFIGS)
    assert directory.expand_unit("兽医站党支部") == {"兽医站党支部", "各党(总)支部", "各党支部"}
    assert directory.expand_unit("合江镇党建办") == {"镇党建办", "合江镇党建办"}
    assert directory.expand_unit("各党支部") == {"各党(总)支部", "各党支部"}
    assert directory.expand_unit("不在名录") == {"不在名录"}
    assert directory.recipients("各黨(總)支部") == ["兽医站党支部"]
    assert directory.recipients("镇党建办") == ["镇党建办"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (one_unit().replace("groups: [各部门]", "groups: [各部]"),
         "units.yaml:4: units[0].groups[0]: “各部” is not a declared group; did you mean 各部门?"),
        (one_unit() + "  - {name: 鎮黨建辦}\n",
         "units.yaml:8: units[1].name: “鎮黨建辦” is already used by unit “镇党建办” (units[0].name)"),
        (one_unit() + "  - {name: 镇党委, aliases: [各部门]}\n",
         "units.yaml:8: units[1].aliases[0]: “各部门” is already used by group “各部门”"),
        (one_unit(mobile='"1380000000"'),
         "units.yaml:5: units[0].people[0].mobile: “1380000000” is not a mainland mobile number"),
        (one_unit(mobile="23800000000"),
         "units.yaml:5: units[0].people[0].mobile: “23800000000” is not a mainland mobile number"),
        (one_unit("{id: a, kind: dingtalk, secret_env: DING}"),
         "units.yaml:7: units[0].channels[0]: a dingtalk channel needs url or url_env"),
        (one_unit("{id: a, kind: pager}"),
         ("units.yaml:7: units[0].channels[0].kind: “pager” is not a channel kind; use one of "
         "console, webhook")),
        (one_unit('{id: a, kind: webhook, url: "ftp://example.org/hook"}'),
         "units.yaml:7: units[0].channels[0].url: must be an http:// or https:// URL"),
        (one_unit('{id: a, kind: aliyun_sms, access_key_id_env: A, access_key_secret_env: B,\n'
                  '         sign_name: 党委, template_code: SMS_1,\n'
                  '         endpoint: "dysmsapi.aliyuncs.com"}'),
         ("units.yaml:9: units[0].channels[0].endpoint: must be an http:// or https:// URL "
         "(got no scheme)")),
        (one_unit("{id: a, kind: tencent_sms, secret_id_env: A, secret_key_env: B}"),
         ("units.yaml:7: units[0].channels[0]: a tencent_sms channel needs sdk_app_id; "
         "a tencent_sms channel needs sign_name; a tencent_sms channel needs template_id")),
        (one_unit('{id: a, kind: wecom, url: "https://x.org", url_env: U, sign_name: 党委}'),
         ("units.yaml:7: units[0].channels[0]: `sign_name` does not apply to a wecom channel; "
         "give url or url_env, not both")),
        (one_unit("{id: a, kind: console, colour: red}"),
         "units.yaml:7: units[0].channels[0].colour: unknown field"),
        (one_unit("{id: a, kind: console}\n      - {id: a, kind: console}"),
         "units.yaml:8: units[0].channels[1].id: channel id “a” is used twice"),
        ("- 镇党建办\n", "units.yaml:1: units file: expected a mapping with groups and units"),
    ],
)
def test_errors_say_file_line_field(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write(tmp_path, text))
    assert any(p.endswith(expected) or expected in p for p in found), found


@pytest.mark.parametrize("field", ["secret", "access_key_secret", "secret_key", "token", "key",
                                   "password"])
def test_inline_secrets_are_refused_without_echoing_them(tmp_path: Path, field: str) -> None:
    channel = ("id: a\n        kind: dingtalk\n        url: https://oapi.dingtalk.com/robot/send\n"
               f"        {field}: SEC-hunter2-VALUE")
    found = problems(write(tmp_path, one_unit(channel)))
    assert len(found) == 1
    assert re.search(rf"units.yaml:10: units\[0\]\.channels\[0\]\.{field}: .*secrets never go in "
                     r"the units file.*\*_env", found[0]), found
    assert "hunter2" not in found[0]


def test_an_env_name_holding_a_secret_is_not_echoed(tmp_path: Path) -> None:
    found = problems(write(tmp_path, one_unit("{id: a, kind: feishu, url_env: U, "
                                              "secret_env: 'SEC hunter2'}")))
    assert "units[0].channels[0].secret_env: must name an environment variable" in found[0]
    assert "hunter2" not in "\n".join(found)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = one_unit("{id: a, kind: pager}", mobile="123") + "  - {name: 鎮黨建辦}\n"
    assert len(problems(write(tmp_path, text))) == 2  # shape errors first, then names
    text = one_unit().replace("[各部门]", "[各部]") + "  - {name: 鎮黨建辦}\n"
    assert [p.split(": ")[0] for p in problems(write(tmp_path, text))] == [
        f"{tmp_path / 'units.yaml'}:4", f"{tmp_path / 'units.yaml'}:8"]


def test_empty_file_is_an_empty_directory(tmp_path: Path) -> None:
    assert load_units(write(tmp_path, "# nobody yet\n")) == UnitsDirectory()


def test_repeated_aliases_and_groups_count_once(tmp_path: Path) -> None:
    text = GOOD.replace("groups: 各党(總)支部", "groups: [各党(總)支部, 各党支部, 各黨(總)支部]")
    directory = load_units(write(tmp_path, text.replace("[合江镇党建办]", "[合江镇党建办, 合江鎮黨建辦]")))
    assert directory.units[0].aliases == ["合江镇党建办"]
    assert [g.name for g in directory.groups_of(directory.units[1])] == ["各党(总)支部"]


def test_pydantic_errors_do_not_carry_secrets_either() -> None:
    channel = {"id": "a", "kind": "webhook", "url": "https://x.org", "token": "hunter2"}
    with pytest.raises(ValueError, match="secrets never go in the units file") as caught:
        UnitsDirectory.model_validate({"units": [{"name": "镇党委", "channels": [channel]}]})
    assert "hunter2" not in str(caught.value)


def test_a_channel_kind_is_checked_with_the_schema_the_loader_is_handed(tmp_path: Path) -> None:
    """plans knows no provider: a new kind is its schema, handed in (as notifiers hands its own)."""
    from typing import ClassVar

    from pydantic import BaseModel, ConfigDict

    class PagerConfig(BaseModel):
        model_config = ConfigDict(extra="forbid")
        number_env: str | None = None
        rules: ClassVar[tuple[str, ...]] = ("number_env*",)

    path = write(tmp_path, one_unit("{id: p, kind: pager, number_env: PAGER_NO}"))
    [unit] = load_units(path, {"pager": PagerConfig}).units
    assert unit.channels[0].config() == {"enabled": True, "number_env": "PAGER_NO"}
    with pytest.raises(PlanError, match="“pager” is not a channel kind; use one of console"):
        load_units(path, CHANNEL_CONFIGS)
    missing = write(tmp_path, one_unit("{id: p, kind: pager}"))
    with pytest.raises(PlanError, match=r"channels\[0\]: a pager channel needs number_env"):
        load_units(missing, {"pager": PagerConfig})
