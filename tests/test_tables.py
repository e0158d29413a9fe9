"""`jiedian plan extract` on task tables (任务分解表): .xlsx sheets and .docx tables, and the
inputs it refuses (too large, corrupt, old formats, password-protected) without a traceback."""

from __future__ import annotations

import os
import zipfile
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from ruamel.yaml import YAML

from plans import CALENDAR, PlanError, extract_file, load_plan
from plans._segment import MAX_TEXT_BYTES
from plans._sheets import MAX_ROWS
from tests.conftest import Ran, invoke

ROOT = Path(__file__).resolve().parent.parent
CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file's first bytes (.xls, .doc)


def run(*args: str, cwd: Path) -> Ran:
    """The CLI as a user runs it in ``cwd`` (in-process)."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return invoke({"COLUMNS": "200", "JIEDIAN_HOME": str(cwd / ".home")}, *args)
    finally:
        os.chdir(before)


def loads(text: str, tmp_path: Path) -> dict:
    path = tmp_path / "check.yaml"
    path.write_text(text, encoding="utf-8")
    load_plan(path, CALENDAR)  # raises PlanError if the draft is not a valid plan
    return YAML(typ="safe").load(text)


def task_workbook(path: Path) -> Path:
    """A sheet as offices write them: a merged title on row 1, a note on row 2, the header on
    row 3 in its own column order, a task group merged over two rows, a section row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "任务分解"
    sheet["A1"] = "某县2024年基层党建重点任务分解表"
    sheet.merge_cells("A1:F1")
    sheet["A2"] = "填报单位：县委组织部"
    sheet.append(["工作任务", "序号", "完成时限", "牵头单位", "牵头领导", "责任单位"])
    sheet.append(["开展党员轮训，全面提升党员素质", 1, "6月底前完成", "县委组织部", "张三",
                  "各乡镇党委、县直各单位"])
    sheet.append([None, 2, "每季度末", "县委组织部", None, "各乡镇党委"])
    sheet.merge_cells("A4:A5")  # one task, two deadlines
    sheet.append(["推进软弱涣散党组织整顿", 3, "长期坚持", "县委组织部", None, "各乡镇党委"])
    sheet.append(["建立党建联系点制度", 4, "2024年9月30日前完成并上报", "县委办；县委组织部", None,
                  "县直各单位 各乡镇"])
    sheet.append(["二、作风建设"])
    sheet.merge_cells("A8:F8")
    sheet.append(["召开专题民主生活会", 5, datetime(2024, 12, 20), "县纪委", None, None])
    sheet.append(["完成年度考核", 6, "12月", "县委组织部", "李四", None])
    book.save(path)
    return path


def test_an_xlsx_task_table_gives_one_milestone_per_row(tmp_path: Path) -> None:
    extraction = extract_file(task_workbook(tmp_path / "任务.xlsx"))
    [doc] = extraction.documents
    assert (doc.title, doc.year, doc.first_line, doc.last_line) == (
        "某县2024年基层党建重点任务分解表", 2024, 3, 10)
    assert [(n.line, n.when, n.kind, n.title, n.lead, n.units) for n in doc.nodes] == [
        (4, "6月底前完成", "deadline", "开展党员轮训", ["县委组织部"], ["各乡镇党委", "县直各单位"]),
        (5, "每季度末", "deadline", "开展党员轮训", ["县委组织部"], ["各乡镇党委"]),
        (7, "2024年9月30日前完成", "deadline", "建立党建联系点制度", ["县委办", "县委组织部"],
         ["县直各单位", "各乡镇"]),
        (9, "2024年12月20日", "deadline", "召开专题民主生活会", ["县纪委"], []),
        (10, "12月", "deadline", "完成年度考核", ["县委组织部"], []),
    ]
    first, _, linked, _, last = doc.nodes
    assert first.source == ("R4: 工作任务 开展党员轮训，全面提升党员素质 | 序号 1 | 完成时限 6月底前完成 | "
                            "牵头单位 县委组织部 | 牵头领导 张三 | 责任单位 各乡镇党委、县直各单位")
    assert first.note is None  # the whole cell reads
    # 并上报 is not part of a time: the cell without it reads, and the note quotes the cell
    assert (linked.note, linked.written) == ("表中“2024年9月30日前完成并上报”", "2024年9月30日前完成并上报")
    assert doc.nodes[1].source.startswith("R5: 工作任务 开展党员轮训，全面提升党员素质 | 序号 2 |")
    assert last.note == "表中完成时限“12月”: read as a deadline (by the end of it)"
    assert "李四" not in last.lead  # 牵头领导 is a person, not a unit
    [unread] = doc.unread  # the section row 二、作风建设 is neither a node nor a comment
    assert (unread.line, unread.text) == (6, "长期坚持")
    assert "ongoing task" in unread.reason
    plan = loads(doc.yaml, tmp_path)
    assert [m["id"] for m in plan["milestones"]] == ["l4", "l5", "l7", "l9", "l10"]
    assert [m["when"] for m in plan["milestones"]][:3] == ["6月底前完成", "每季度末", "2024年9月30日前完成"]
    assert doc.yaml.startswith("# Draft written by `jiedian plan extract` from 任务.xlsx, "
                               "sheet 任务分解, rows 3–10.")
    assert "#   R6: “长期坚持”: an ongoing task" in doc.yaml


def test_any_column_order_several_sheets_and_a_header_in_two_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表由县委办汇总"])  # no header: not a task sheet
    first = book.create_sheet("组织工作")
    first.append(["责任单位", "完成时间", "序号", "重点任务", "牵头部门"])
    first.append(["各村党组织", "于3月底前全面完成", 1, "1.完成村级换届选举工作，选优配强班子", "镇组织办"])
    first.append(["各村、社区", "即日起至6月底", 2, "开展“三会一课”专项检查", "镇纪委"])
    long = "表彰一批优秀共产党员、先进基层党组织和党务工作者并召开庆祝中国共产党成立103周年暨总结表彰大会"
    first.append(["", "“七一”前夕", 3, long, "镇党委"])
    second = book.create_sheet("宣传工作")
    second.append(["序号", "工作任务", "责任主体", None, "时间安排"])
    second.append([None, None, "牵头单位", "配合单位", None])
    for cells in ("A1:A2", "B1:B2", "C1:D1", "E1:E2"):
        second.merge_cells(cells)
    second.append([1, "举办道德讲堂", "镇宣传办", "各村、镇文化站", "每月"])
    second.append([2, "开展“我们的节日”主题活动", "镇宣传办", None, "春节、清明节、端午节、中秋节"])
    path = tmp_path / "2024年工作任务.xlsx"
    book.save(path)

    extraction = extract_file(path, CALENDAR)
    organised, publicity = extraction.documents
    assert (organised.title, organised.year, publicity.title) == ("组织工作", 2024, "宣传工作")
    assert [(n.line, n.when, n.lead, n.units) for n in organised.nodes] == [
        (2, "3月底前", ["镇组织办"], ["各村党组织"]),
        (3, "即日起至6月底", ["镇纪委"], ["各村", "社区"]),
        (4, "“七一”前夕", ["镇党委"], []),
    ]
    assert organised.nodes[0].title == "完成村级换届选举工作"  # first clause, no number
    assert len(long) > 40 and organised.nodes[2].title == long[:39] + "…"
    assert organised.nodes[1].source == ("R3: 责任单位 各村、社区 | 完成时间 即日起至6月底 | 序号 2 | "
                                         "重点任务 开展“三会一课”专项检查 | 牵头部门 镇纪委")
    # the header's lower row names 牵头单位 and 配合单位; the merged cells above it fill in
    assert [(n.line, n.when, n.kind, n.title, n.lead, n.units) for n in publicity.nodes] == [
        (3, "每月", "phase", "举办道德讲堂", ["镇宣传办"], ["各村", "镇文化站"]),
        (4, "春节、清明节、端午节、中秋节", "event", "开展“我们的节日”主题活动", ["镇宣传办"], []),
    ]
    assert len({d.plan_id for d in extraction.documents}) == 2
    written = extraction.write(tmp_path / "drafts")
    assert sorted(p.name for p in written) == sorted(f"{d.plan_id}.yaml" for d in extraction.documents)
    for file in written:
        load_plan(file, CALENDAR)


def test_a_docx_task_table_is_read_row_by_row(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("某镇2024年党建工作要点")
    document.add_paragraph("各党支部要在3月底前制定年度工作计划。")
    table = document.add_table(rows=5, cols=4)
    rows = [["重点任务", "具体任务", "时间节点", "责任单位"],
            ["组织建设", "开展支部换届", "6月底前完成", "各党支部"],
            ["", "召开组织生活会", "“七一”前夕", "各党支部、镇党建办"],
            ["二、作风建设", "", "", ""],
            ["作风建设", "开展作风整治", "长期坚持", "镇纪委"]]
    for i, cells in enumerate(rows):
        for j, text in enumerate(cells):
            table.cell(i, j).text = text
    table.cell(1, 0).merge(table.cell(2, 0))  # 组织建设 over two rows
    table.cell(3, 0).merge(table.cell(3, 3))  # a section row across the table
    contacts = document.add_table(rows=2, cols=2)  # no task header: flattened as before
    contacts.cell(0, 0).text, contacts.cell(0, 1).text = "联系人", "事项"
    contacts.cell(1, 0).text, contacts.cell(1, 1).text = "镇党建办", "请于11月底前报送总结。"
    path = tmp_path / "plan.docx"
    document.save(str(path))

    [doc] = extract_file(path).documents
    # lines 2 and 9 are the text path's (its titles and units are its own business)
    assert [(n.line, n.when) for n in doc.nodes] == [
        (2, "3月底前"), (4, "6月底前完成"), (5, "“七一”前夕"), (9, "11月底前")]
    assert [(n.title, n.units) for n in doc.nodes[1:3]] == [
        ("开展支部换届", ["各党支部"]), ("召开组织生活会", ["各党支部", "镇党建办"])]
    assert doc.nodes[1].source == ("L4: 重点任务 组织建设 | 具体任务 开展支部换届 | 时间节点 6月底前完成 | "
                                   "责任单位 各党支部")
    assert doc.nodes[3].source.startswith("L9: 镇党建办")  # the text path read it, as before
    assert [(u.line, u.text) for u in doc.unread] == [(7, "长期坚持")]
    loads(doc.yaml, tmp_path)


def test_the_cli_extracts_a_workbook_and_the_draft_validates(tmp_path: Path) -> None:
    task_workbook(tmp_path / "tasks.xlsx")
    result = run("plan", "extract", "tasks.xlsx", "-o", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "total: 5 nodes (deadline 5), 6 units, 1 expressions kept as comments" in result.stdout
    assert "written out.yaml" in result.stdout
    result = run("plan", "validate", "out.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok out.yaml:") and "5 milestones" in result.stdout
    again = run("plan", "extract", "tasks.xlsx", "-o", "out.yaml", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_dash_as_output_prints_the_draft_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "plan.txt").write_text("某局2024年整改方案\n一、要求\n各单位要在4月底前完成整改。\n",
                                       encoding="utf-8")
    result = run("plan", "extract", "plan.txt", "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'when: "4月底前"' in result.stdout and "total: 1 nodes" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.txt"]  # no file, no folder "-"
    (tmp_path / "draft.yaml").write_text(result.stdout, encoding="utf-8")
    assert run("plan", "validate", "draft.yaml", cwd=tmp_path).returncode == 0


def test_too_large_inputs_are_refused_with_what_to_do(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    line = "各党支部要在6月底前完成换届选举。\n".encode()
    big.write_bytes(line * (MAX_TEXT_BYTES // len(line) + 1))
    with pytest.raises(PlanError) as caught:
        extract_file(big)
    message = str(caught.value)
    assert message.startswith(f"{big}: 2.0 MB, too large to extract (the limit is 2 MB")
    assert "split the file" in message
    result = run("plan", "extract", "big.txt", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "big.txt: 2.0 MB, too large" in result.stderr

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("任务")
    sheet.append(["序号", "工作任务", "完成时限"])
    for number in range(1, MAX_ROWS + 2):
        sheet.append([number, f"第{number}项任务", "12月底前"])
    rows = tmp_path / "rows.xlsx"
    book.save(rows)
    with pytest.raises(PlanError, match=r"rows\.xlsx: has more than 2,000 rows of tasks "
                                        r"\(sheet 任务\); the limit is 2,000 rows\. Split"):
        extract_file(rows)


def test_bad_inputs_give_a_clear_error_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "random.xlsx").write_bytes(b"this is not a workbook")
    valid = task_workbook(tmp_path / "valid.xlsx").read_bytes()
    (tmp_path / "truncated.xlsx").write_bytes(valid[: len(valid) // 2])
    with zipfile.ZipFile(tmp_path / "valid.xlsx") as source, \
            zipfile.ZipFile(tmp_path / "corrupt.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, b"<workbook" if item.filename == "xl/workbook.xml" else data)
    headless = openpyxl.Workbook()
    headless.active.append(["姓名", "单位", "电话"])
    headless.active.append(["张三", "县委办", "12345"])
    headless.save(tmp_path / "headless.xlsx")
    (tmp_path / "old.xls").write_bytes(CFB + bytes(2000))
    # An encrypted OOXML file is an OLE file whose directory names an EncryptedPackage stream.
    locked = CFB + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(500)
    (tmp_path / "locked.xlsx").write_bytes(locked)
    (tmp_path / "locked.docx").write_bytes(locked)
    (tmp_path / "old.doc.docx").write_bytes(CFB + bytes(2000))

    expected = {
        "random.xlsx": "not a readable .xlsx workbook (not a zip file: damaged, or another format)",
        "truncated.xlsx": "not a readable .xlsx workbook (not a zip file",
        "corrupt.xlsx": "not a readable .xlsx workbook (",
        "headless.xlsx": ("no task table found: the header row needs a 任务 column "
                          "(工作任务, 重点任务, 工作内容 …) and a 时间 column"),
        "old.xls": "is an old-format workbook (.xls, or WPS .et), not .xlsx; open it in Excel or WPS "
                   "and save it as .xlsx",
        "locked.xlsx": "is password-protected; open it, remove the password",
        "locked.docx": "is password-protected; open it, remove the password",
        "old.doc.docx": "is an old-format Word (.doc) file",
    }
    for name, message in expected.items():
        with pytest.raises(PlanError) as caught:
            extract_file(tmp_path / name)
        assert str(caught.value).startswith(f"{tmp_path / name}: {message}"), name
    for name in ("corrupt.xlsx", "headless.xlsx", "locked.docx"):  # a process each: ~2 s
        result = run("plan", "extract", name, cwd=tmp_path)
        assert result.returncode == 1, name
        assert "Traceback" not in result.stderr, name
        assert result.stderr.startswith(f"error: {name}: {expected[name]}"), name
        assert not (tmp_path / f"{Path(name).stem}.yaml").exists()
