"""`jiedian units import 通讯录.xlsx`: the units directory out of an office's contact sheet.

The workbooks are built with openpyxl as an office's Excel saves them (a merged title over
the header, merged unit cells, numbers in the mobile column); the CSVs are written as Excel
writes them on Chinese Windows (GBK) and as "CSV UTF-8" (with a BOM).
"""

from __future__ import annotations

import csv
import io
import random
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import Ran

import plans
from notifiers import CHANNEL_CONFIGS
from plans import PlanError, UnitsDirectory, load_units, name_key
from plans._roster import read_roster

DING = "https://oapi.dingtalk.com/robot/send?access_token=d1ng70k3n"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/2f1e0f3c-0000"
LARK = "https://open.larksuite.com/open-apis/bot/v2/hook/77c0ffee-0000"
HOOK = "https://example.org/jiedian"

TITLE = "合江镇党组织通讯录"
# Shuffled on purpose: nothing is found by position. 序号 and 备注 are not fields.
HEADER = ["序号", "手机号码", "联系人", "单位名称", "群机器人地址", "所属", "加签密钥变量", "简称",
          "备注", "邮箱"]
ROWS: list[list[Any]] = [
    [1, 13800000000, "张三", "镇党建办", DING, "各党(总)支部", "DJB_DING_SECRET",
     "党建办、合江镇党建办", "", "zhangsan@example.org"],
    [2, 13900000001.0, "李四", None, None, None, None, None, "同上"],  # the unit above, a float
    [],
    [3, "139-0000-0002", "王五", "兽医站党支部", WECOM, "各党(总)支部、农口支部"],
    [4, "+86 139 0000 0003", "赵六", "镇综治办所在支部", FEISHU, "农口支部", "DJB_FEISHU_SECRET"],
    [5, 13900000004, "钱七", "镇纪委", HOOK, None, "DJB_HOOK"],
    [6, None, "孙八", "镇团委", LARK],
]

# The same directory written by hand; the channel ids are pinned: stored channels keep
# their identity by id, so the formula (kind + SHA-256 of the name) must not drift.
EQUIVALENT = f"""\
groups:
  - name: 各党(总)支部
  - name: 农口支部
units:
  - name: 镇党建办
    aliases: [党建办, 合江镇党建办]
    groups: [各党(总)支部]
    people:
      - {{name: 张三, mobile: "13800000000", email: zhangsan@example.org}}
      - {{name: 李四, mobile: "13900000001"}}
    channels:
      - {{id: dingtalk-ac8251b5, kind: dingtalk, url: "{DING}", secret_env: DJB_DING_SECRET}}
  - name: 兽医站党支部
    groups: [各党(总)支部, 农口支部]
    people: [{{name: 王五, mobile: "13900000002"}}]
    channels: [{{id: wecom-9c508b65, kind: wecom, url: "{WECOM}"}}]
  - name: 镇综治办所在支部
    groups: [农口支部]
    people: [{{name: 赵六, mobile: "13900000003"}}]
    channels:
      - {{id: feishu-d10e89f8, kind: feishu, url: "{FEISHU}", secret_env: DJB_FEISHU_SECRET}}
  - name: 镇纪委
    people: [{{name: 钱七, mobile: "13900000004"}}]
    channels: [{{id: webhook-f03d609a, kind: webhook, url: "{HOOK}", secret_env: DJB_HOOK}}]
  - name: 镇团委
    people: [{{name: 孙八}}]
    channels: [{{id: feishu-181764c1, kind: feishu, url: "{LARK}"}}]
"""


def workbook(path: Path, rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER,
             title: str | None = TITLE, merges: Sequence[str] = (),
             before: Sequence[Sequence[Sequence[Any]]] = ()) -> Path:
    """An .xlsx: sheets ``before`` (no contact list), then the title on row 1 merged over
    the header's width, a note on row 2, the header on row 3 (row 1 without a title)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for k, other in enumerate(before):
        sheet = book.create_sheet(f"说明{k + 1}")
        for row in other:
            sheet.append(list(row))
    sheet = book.create_sheet("通讯录")
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        sheet.append(["填报日期：2024年3月1日"])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for cells in merges:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def as_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str, delimiter: str = ",",
           header: Sequence[str] = HEADER) -> Path:
    """The sheet as Excel saves it as CSV: every cell as the text it shows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([[TITLE], ["填报日期：2024年3月1日"], list(header)])
    writer.writerows([["" if c is None else f"{c:.0f}" if isinstance(c, float) else c
                       for c in row] for row in rows])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_units(path, CHANNEL_CONFIGS)
    return caught.value.problems


def by_hand(tmp_path: Path, text: str = EQUIVALENT) -> UnitsDirectory:
    path = tmp_path / "units.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_units(path, CHANNEL_CONFIGS)


# ── the sheet read as a units directory ──────────────────────────────────────


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".XLSX"])
def test_a_sheet_loads_as_the_same_directory_as_its_units_yaml(tmp_path: Path, suffix: str) -> None:
    sheet = workbook(tmp_path / f"通讯录{suffix}", ROWS)
    directory = plans.load_units(sheet, CHANNEL_CONFIGS)
    assert directory == by_hand(tmp_path)
    # What that equality means, spelt out where it matters most:
    [djb, vet, *_] = directory.units
    assert [(p.name, p.mobile) for p in djb.people] == [("张三", "13800000000"),
                                                       ("李四", "13900000001")]
    assert djb.aliases == ["党建办", "合江镇党建办"] and vet.groups == ["各党(总)支部", "农口支部"]
    assert [[c.kind for c in u.channels] for u in directory.units] == [
        ["dingtalk"], ["wecom"], ["feishu"], ["webhook"], ["feishu"]]
    assert directory.recipients("各党支部") == [] and directory.recipients("农口支部") == [
        "兽医站党支部", "镇综治办所在支部"]


def test_csv_in_utf8_with_bom_and_in_gbk_comma_or_tab(tmp_path: Path) -> None:
    expected = by_hand(tmp_path)
    bom = as_csv(tmp_path / "通讯录.csv", ROWS, encoding="utf-8-sig")
    gbk = as_csv(tmp_path / "gbk.csv", ROWS, encoding="gbk", delimiter="\t")
    plain = as_csv(tmp_path / "plain.csv", ROWS, encoding="utf-8")
    unicode_text = as_csv(tmp_path / "unicode.csv", ROWS, encoding="utf-16", delimiter="\t")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")  # really GBK, as Excel on Chinese Windows saves it
    for path in (bom, gbk, plain, unicode_text):
        assert load_units(path, CHANNEL_CONFIGS) == expected, path.name


def test_header_words_are_matched_in_any_width_script_and_case(tmp_path: Path) -> None:
    header = ["單位名稱：", "＊手机号码（必填）", "姓 名", "E-Mail", "钉钉UserID", "企业微信 userid",
              "別名", "電話"]
    rows = [["鎮黨建辦", "13800000000", "张三", "zhangsan@example.org", "manager4220", "ZhangSan",
             "党建办", "0830-1234567"]]
    [unit] = load_units(workbook(tmp_path / "t.xlsx", rows, header=header, title=None),
                        CHANNEL_CONFIGS).units
    assert unit.name == "鎮黨建辦" and unit.aliases == ["党建办"]
    [person] = unit.people
    # 电话 (an office line) loses to 手机号码: the more specific word wins.
    assert person.model_dump() == {"name": "张三", "mobile": "13800000000",
                                   "email": "zhangsan@example.org",
                                   "dingtalk_userid": "manager4220", "wecom_userid": "ZhangSan"}


def test_merged_cells_count_in_every_row_they_cover(tmp_path: Path) -> None:
    header = ["单位名称", "所属", "联系人", "手机"]
    rows = [["一、机关党支部"],  # row 2: a section title merged across the table
            ["镇党建办", "各党支部", "张三", "13800000000"],
            [None, None, "李四", "13800000001"],
            ["镇纪委", None, "王五", "13800000002"],
            ["镇纪委", None, "赵六", "13800000003"]]
    path = workbook(tmp_path / "t.xlsx", rows, header=header, title=None,
                    merges=["A2:D2", "A3:A4", "B3:B5"])  # 各党支部 over both units
    directory = load_units(path, CHANNEL_CONFIGS)
    assert [(u.name, u.groups, [p.name for p in u.people]) for u in directory.units] == [
        ("镇党建办", ["各党支部"], ["张三", "李四"]), ("镇纪委", ["各党支部"], ["王五", "赵六"])]
    assert [g.name for g in directory.groups] == ["各党支部"]


def test_a_person_on_two_rows_is_one_person(tmp_path: Path) -> None:
    header = ["单位", "联系人", "手机", "邮箱"]
    rows = [["镇党建办", "张三", "13800000000", None], ["镇党建办", "张三", None, "zs@example.org"]]
    [unit] = load_units(workbook(tmp_path / "t.xlsx", rows, header=header), CHANNEL_CONFIGS).units
    assert [(p.name, p.mobile, p.email) for p in unit.people] == [
        ("张三", "13800000000", "zs@example.org")]


def test_channel_ids_are_ascii_and_survive_reordered_rows(tmp_path: Path) -> None:
    def ids(rows: list[list[Any]], name: str) -> dict[str, str]:
        loaded = load_units(workbook(tmp_path / name, rows), CHANNEL_CONFIGS)
        return {u.name: u.channels[0].id for u in loaded.units}

    # Every unit on one row here (the blank-unit row goes), so any order is the same sheet.
    rows = [r for r in ROWS if r and r[3]]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != rows
    first, second = ids(rows, "a.xlsx"), ids(shuffled, "b.xlsx")
    assert first == second and len(set(first.values())) == 5
    assert all(i.isascii() and i.split("-")[0] in CHANNEL_CONFIGS for i in first.values())
    # The id follows the name as units.yaml matches it: Traditional is the same unit.
    traditional = [[*rows[0][:3], "鎮黨建辦", *rows[0][4:]]]
    assert ids(traditional, "c.xlsx") == {"鎮黨建辦": first["镇党建办"]}


def test_the_first_sheet_with_a_header_is_read(tmp_path: Path) -> None:
    notes = [["填表说明"], ["1. 每个单位一行"], ["2. 手机号填11位"]]
    path = workbook(tmp_path / "t.xlsx", ROWS, before=[notes])
    assert load_units(path, CHANNEL_CONFIGS) == by_hand(tmp_path)


def test_the_header_repeated_further_down_is_not_a_unit(tmp_path: Path) -> None:
    path = workbook(tmp_path / "t.xlsx", [*ROWS[:2], HEADER, *ROWS[3:]])
    assert load_units(path, CHANNEL_CONFIGS) == by_hand(tmp_path)


def test_units_import_reads_a_workbook(cli: Callable[..., Ran], tmp_path: Path) -> None:
    path = workbook(tmp_path / "通讯录.xlsx", ROWS)
    done = cli("units", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "5 units, 2 groups" in done.stdout
    shown = cli("units", "show", "党建办")
    assert "张三 13800000000 zhangsan@example.org" in shown.stdout
    assert "dingtalk-ac8251b5" in shown.stdout


# ── problems, cited as file:row:column ───────────────────────────────────────


def test_a_bad_mobile_is_cited_by_row_and_column(tmp_path: Path) -> None:
    rows = [r[:] for r in ROWS]
    rows[3][1] = 1380000  # row 7: the header is on row 3
    path = workbook(tmp_path / "通讯录.xlsx", rows)
    [problem] = problems(path)
    assert problem == (f"{path}:7:B: “1380000” is not a mainland mobile number; write 11 digits "
                       f"starting with 1, e.g. 13800000000 (optionally +86)")


def test_conflicting_groups_of_one_unit_name_both_rows(tmp_path: Path) -> None:
    rows = [r[:] for r in ROWS]
    rows[1][5] = "农口支部"  # 镇党建办's second row (5) says another 所属 than its first (4)
    path = workbook(tmp_path / "t.xlsx", rows)
    [problem] = problems(path)
    assert problem.startswith(f"{path}:5:F: unit “镇党建办” has two different 所属 values, in "
                              f"rows 4 and 5 (“各党(总)支部” and “农口支部”)")


def test_conflicting_robots_name_both_rows_without_their_tokens(tmp_path: Path) -> None:
    rows = [r[:] for r in ROWS]
    rows[1][4] = DING.replace("d1ng70k3n", "07h3r")
    [problem] = problems(workbook(tmp_path / "t.xlsx", rows))
    assert ":5:E: unit “镇党建办” has two different 群机器人地址 values, in rows 4 and 5;" in problem
    assert "d1ng70k3n" not in problem and "07h3r" not in problem


def test_no_header_says_what_it_looks_for(tmp_path: Path) -> None:
    path = workbook(tmp_path / "t.xlsx", [["镇党建办", "张三"]], header=["名单", "人员"])
    [problem] = problems(path)
    assert problem.startswith(f"{path}: no contact sheet found: the header row needs a unit "
                              f"column (单位名称、单位、支部名称、党组织名称、部门)")
    assert all(word in problem for word in ("联系人", "手机", "所属", "群机器人地址", "first 10 rows"))
    csv_path = as_csv(tmp_path / "t.csv", [["镇党建办"]], encoding="utf-8", header=["名单"])
    assert problems(csv_path)[0].startswith(f"{csv_path}: no contact sheet found")


def test_a_header_with_nothing_under_it_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "t.xlsx", [[], [None] * 8 + ["备注 only"]])
    [problem] = problems(path)
    assert problem == (f"{path}:3: the header row has no units under it; write each unit (and "
                       f"its people) on the rows below it")


def test_every_problem_of_the_sheet_at_once(tmp_path: Path) -> None:
    header = ["单位名称", "联系人", "手机", "所属", "群机器人地址", "加签密钥变量"]
    secret = "SEC" + "0123456789abcdef" * 4
    rows = [[None, "张三", "13800000000"],                       # 2: no unit, none above
            ["镇党建办", None, "13800000001"],                    # 3: a mobile without a name
            ["镇党建办", "李四", "1.38E+10"],                      # 4: digits lost (a typed text)
            ["镇纪委", "王五", "13800000002", "镇党建办"],           # 5: a unit is not a group
            ["镇团委", "赵六", "13800000003", None, DING, secret],  # 6: the secret itself
            ["镇妇联", "钱七", "13800000004", None, "oapi.dingtalk.com/robot/send?access_token=s3"],
            ["镇工会", "孙八", "1380000"],                          # 8: the directory's own check
            ["镇武装部", None, None, None, None, "DJB_SECRET"]]     # 9: a secret without a robot
    path = workbook(tmp_path / "t.xlsx", rows, header=header, title=None)
    found = problems(path)
    assert [p.split(": ", 1)[0] for p in found] == [
        f"{path}:{cell}" for cell in
        ("2:A", "3:C", "4:C", "5:D", "6:F", "7:E", "8:C", "9:F")]
    said = dict(p.split(": ", 1) for p in found)
    assert said[f"{path}:2:A"].startswith("this row has no unit, nor a unit above it")
    assert said[f"{path}:3:C"].startswith("this row gives a 手机 but no contact name; write it "
                                          "in column B (联系人)")
    assert said[f"{path}:4:C"].startswith("“1.38E+10” is a mobile Excel wrote short")
    assert said[f"{path}:5:D"].startswith("“镇党建办” is a unit (row 3), not a group")
    assert "put the secret in the environment or the secrets file" in said[f"{path}:6:F"]
    assert said[f"{path}:7:E"].startswith("not an http:// or https:// URL")
    assert said[f"{path}:8:C"].startswith("“1380000” is not a mainland mobile number")
    assert said[f"{path}:9:F"].startswith("a robot secret variable but no robot URL")
    assert not any(s in "\n".join(found) for s in (secret, "s3", "access_token=s3"))


@pytest.mark.parametrize("secret", ["SEC" + "5f2c" * 16, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                    "mAxz8K2pQ9sLr4TnW7vY1b", "SEC 0123"])
def test_a_secret_in_the_variable_column_is_refused_without_echoing_it(
        tmp_path: Path, secret: str) -> None:
    rows = [r[:] for r in ROWS]
    rows[0][6] = secret
    [problem] = problems(workbook(tmp_path / "t.xlsx", rows))
    assert problem.startswith(f"{tmp_path / 't.xlsx'}:4:G: this cell must name the environment "
                              f"variable that holds the robot's signing secret")
    assert secret not in problem


def test_a_mobile_csv_excel_shortened_is_refused(tmp_path: Path) -> None:
    rows = [r[:] for r in ROWS]
    rows[3][1] = "1.39E+10"
    path = as_csv(tmp_path / "t.csv", rows, encoding="gbk")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:7:B: “1.39E+10” is a mobile Excel wrote short")


def test_the_directorys_own_checks_cite_cells_too(tmp_path: Path) -> None:
    header = ["单位名称", "简称", "联系人", "群机器人地址", "加签密钥变量"]
    rows = [["镇党建办", "党建办", "张三", WECOM, "DJB_WECOM"],  # WeCom robots are not signed
            ["镇纪委", "党建办", "李四"]]                        # 党建办 is taken
    path = workbook(tmp_path / "t.xlsx", rows, header=header, title=None)
    assert problems(path) == [f"{path}:2:D: `secret_env` does not apply to a wecom channel"]
    rows[0][4] = None
    path = workbook(tmp_path / "t.xlsx", rows, header=header, title=None)
    # The first use is named as the cell a user finds it in, not as units[0].aliases[0].
    [problem] = problems(path)
    assert problem == (f"{path}:3:B: “党建办” is already used by unit “镇党建办” (B2); names and "
                       f"aliases must be unique (compared in Simplified, without spaces)")


def test_files_that_are_not_sheets(tmp_path: Path) -> None:
    old = tmp_path / "通讯录.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    assert "save it as .xlsx" in problems(old)[0]
    fake = tmp_path / "t.xlsx"
    fake.write_text("单位名称,联系人\n", encoding="utf-8")
    assert problems(fake)[0].startswith(f"{fake}: not a readable .xlsx workbook (not a zip file")
    assert problems(tmp_path / "none.csv") == [f"{tmp_path / 'none.csv'}: no such file"]
    latin = tmp_path / "t.csv"
    latin.write_bytes(b"\xff\xff\xff\x80")
    assert "neither UTF-8 nor GBK" in problems(latin)[0]


def test_every_produced_field_knows_its_cell(tmp_path: Path) -> None:
    roster = read_roster(workbook(tmp_path / "t.xlsx", ROWS), name_key)
    assert roster.problems == []
    assert roster.cite(["units", 0, "people", 1, "mobile"]).endswith(":5:B")
    assert roster.cite(["units", 1, "groups", 1]).endswith(":7:F")
    assert roster.cite(["units", 0, "channels", 0, "secret_env"]).endswith(":4:G")
    assert roster.cite(["units", 2, "channels", 0, "url", "function-after[_http_url()]"]).endswith(
        ":8:E")
    assert roster.cite(["groups", 1, "name"]).endswith(":7:F")
