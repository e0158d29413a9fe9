"""The strict rules of bench/extract.py, on hand-made examples."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import bench_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return bench_module("extract")


def test_a_node_finds_a_key_it_holds_whole(bench: ModuleType) -> None:
    found = bench.Found
    assert bench.match(found(1, "“七一”前夕", year=2024), "七一前夕") == bench.CONTAINS
    assert bench.match(found(1, "于4月底前", year=2024), "4月底") == bench.CONTAINS
    # the text as written counts as well as the reading, in either script
    rewritten = found(1, "每半年", written="半年進行一次", year=2024)
    assert bench.match(rewritten, "半年进行一次") == bench.CONTAINS
    # pinyin notes of a conversion are not part of the key
    assert bench.match(found(1, "三八婦女維權周", year=2013), "三八婦女維權(quán)周") == bench.CONTAINS


def test_a_part_of_a_key_does_not_find_it(bench: ModuleType) -> None:
    april = bench.Found(1, "4月", year=2024)
    assert bench.match(april, "4月---5月") is None
    assert bench.match(april, "4月至5月") is None
    assert bench.match(bench.Found(1, "每年", year=2024), "每年至少") is None
    # the same days without the time of day is a part too
    assert bench.match(bench.Found(1, "每周二", year=2024), "每周二晚7点到9点") is None
    score = bench.score_listed([bench.Found(2, "10月1日", year=2018)],
                               {"keys": ["10月1日(星期一)至7日(星期日)"], "year": 2018}, "doc")
    assert (score.matched, score.right, score.recall, score.precision) == (0, 0, 0.0, 0.0)
    assert score.misses == ["10月1日(星期一)至7日(星期日)"]
    assert len(score.extras) == 1 and score.extras[0].startswith("L2 10月1日")


def test_a_node_finds_a_key_that_reads_to_the_same_dates(bench: ModuleType) -> None:
    assert bench.match(bench.Found(1, "5月", year=2024), "5月份") == bench.SAME_DATES
    assert bench.match(bench.Found(1, "5月", year=2024), "6月份") is None
    afternoon = "2024年5月4日下午"
    assert bench.match(bench.Found(1, "5月4日下午", year=2024), afternoon) == bench.SAME_DATES
    assert bench.match(bench.Found(1, "5月4日", year=2024), afternoon) is None
    # the key's year comes first, the node's document year otherwise
    may_2026 = bench.Found(1, "5月", year=2026)
    assert bench.match(may_2026, "2024年5月", year=2024) == bench.SAME_DATES
    assert bench.match(may_2026, "2024年5月") is None
    # both must read: text the engine cannot read never matches by dates
    assert bench.reading("好好学习", 2024) is None
    assert bench.match(bench.Found(1, "好好学习", year=2024), "天天向上") is None


def test_containment_pairs_before_dates_and_each_key_gets_its_node(bench: ModuleType) -> None:
    nodes = [bench.Found(1, "5月", year=2024), bench.Found(2, "5月份", year=2024)]
    score = bench.score_listed(nodes, {"keys": ["5月份"], "year": 2024}, "doc")
    assert (score.matched, score.right) == (1, 2)
    assert len(score.by_dates) == 1 and score.by_dates[0].startswith("L1 5月")
    pairs = bench.assign(["5月份"], [((bench.SAME_DATES, 0, 0), 0, 0),
                                     ((bench.CONTAINS, 0, 1), 0, 1)])
    assert pairs == {0: 1}
    # tightest first: 每年 does not take the node 每年至少 needs
    nodes = [bench.Found(1, "每年至少一次", year=2024), bench.Found(2, "每年", year=2024)]
    score = bench.score_listed(nodes, {"keys": ["每年", "每年至少"], "year": 2024}, "doc")
    assert (score.matched, score.recall) == (2, 1.0)
    # a repeated key may share a node; a different key may not
    once = [bench.Found(3, "每月", year=2024)]
    assert bench.score_listed(once, {"keys": ["每月", "每月"]}, "doc").matched == 2
    assert bench.score_listed(once, {"keys": ["每月", "每季度"]}, "doc").matched == 1


def test_a_list_node_finds_one_key_per_item_held_whole(bench: ModuleType) -> None:
    listed = [bench.Found(1, "上半年、三季度、四季度", year=2020)]
    keys = {"keys": ["上半年", "三季度", "四季度", "第一季度"], "year": 2020}
    score = bench.score_listed(listed, keys, "doc")
    assert (score.matched, score.right, score.misses) == (3, 1, ["第一季度"])
    # a node that is not a list still serves one key only
    ranged = [bench.Found(1, "3月至5月", year=2020)]
    assert bench.score_listed(ranged, {"keys": ["3月", "5月"], "year": 2020}, "doc").matched == 1


def test_a_node_on_a_distractor_is_wrong(bench: ModuleType) -> None:
    nodes = [bench.Found(4, "9月30日前", year=2018),
             bench.Found(9, "二〇一八年九月二十五日", source="L9: 二〇一八年九月二十五日", year=2018)]
    entry = {"keys": ["9月30日前"], "distractors": ["2018年9月25日"], "year": 2018}
    score = bench.score_listed(nodes, entry, "doc")
    assert (score.recall, score.precision, score.right) == (1.0, 0.5, 1)
    assert len(score.extras) == 1
    assert score.extras[0].startswith("L9 ") and "[distractor 2018年9月25日]" in score.extras[0]


def test_units_are_equal_by_name_key_and_split_on_the_enumeration_comma(
        bench: ModuleType) -> None:
    key = bench.name_key
    assert bench.unit_found("镇党委、政府", {key("镇党委"), key("政府")})
    assert bench.unit_found("镇党委、政府", {key("镇党委、政府")})
    assert not bench.unit_found("镇党委、政府", {key("镇党委")})
    assert bench.unit_found("县安监局及有关单位", {key("县安监局"), key("有关单位")})
    assert not bench.unit_found("县安监局及有关单位", {key("县安监局")})
    assert bench.unit_found("各黨(總)支部", {key("各党（总）支部")})
    assert not bench.unit_found("镇党委", {key("镇党委办公室")})
    # named more fully, and a body's people through their body; never the other way round
    assert bench.unit_found("采煤工区党支部", {key("彭庄煤矿采煤工区党支部")})
    assert bench.unit_found("机关党支部书记", {key("机关党支部")})
    assert not bench.unit_found("柳庄社区", {key("社区")})
    assert not bench.unit_found("党委", {key("镇党委")})  # too short to say which body
    assert not bench.unit_found("机关党支部", {key("机关党支部书记")})
    nodes = [bench.Found(1, "3月", year=2024, lead=("镇党委",)),
             bench.Found(5, "4月", year=2024, units=("政府", "各村"))]
    entry = {"keys": ["3月", "4月"], "units": ["镇党委、政府", "牵头部门"], "year": 2024}
    score = bench.score_listed(nodes, entry, "doc")
    assert (score.unit_hits, score.unit_keys, score.units) == (1, 2, 0.5)
    assert "牵头部门" in score.unit_misses[0] and "镇党委、政府" not in score.unit_misses[0]


def test_seed_keys_keep_the_line_rule_and_the_strictness(bench: ModuleType) -> None:
    item = {"line": 12, "when": "元旦、春節", "accept": ["元旦", "元旦、春節慰問"],
            "units": ["各党(总)支部"]}
    assert bench.seed_texts(item) == ["元旦、春節", "元旦、春節慰問"]  # 元旦 is only a part
    key = {"nodes": [item]}
    part = bench.score_seed([bench.Found(12, "元旦", year=2011)], key, "seed")
    assert (part.matched, part.right, part.misses) == (0, 0, ["L12 元旦、春節"])
    far = bench.score_seed([bench.Found(14, "元旦、春节", year=2011)], key, "seed")
    assert far.matched == 0
    near = bench.score_seed([bench.Found(13, "元旦、春节", year=2011, lead=("各黨(總)支部",))],
                            key, "seed")
    assert (near.matched, near.precision, near.unit_hits, near.unit_keys) == (1, 1.0, 1, 1)
    other = bench.score_seed([bench.Found(12, "元旦、春节", year=2011, units=("镇党委",))],
                             key, "seed")
    assert (other.unit_hits, other.unit_keys) == (0, 1)


def test_missing_or_partial_keys_are_skipped_and_named(bench: ModuleType, tmp_path: Path) -> None:
    found, notes = bench.listed(tmp_path / "absent")
    assert found == [] and "does not exist" in notes[0]
    folder = tmp_path / "untuned"
    folder.mkdir()
    (folder / "keys.json").write_text('{"a": {"keys": ["3月', encoding="utf-8")
    found, notes = bench.listed(folder)
    assert found == [] and "cannot be read" in notes[0]
    entry = {"keys": ["3月底前"], "distractors": [], "units": [], "year": 2024}
    (folder / "keys.json").write_text(json.dumps({"a": entry, "b.txt": entry}), encoding="utf-8")
    (folder / "a.txt").write_text("方案\n", encoding="utf-8")
    (folder / "c.txt").write_text("方案\n", encoding="utf-8")
    found, notes = bench.listed(folder)
    assert found == [(folder / "a.txt", entry)]
    assert any(n.startswith("b.txt: no b.txt") for n in notes)
    assert any(n.startswith("c.txt: not in keys.json") for n in notes)


def test_main_scores_a_set_and_writes_the_figures(bench: ModuleType, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "town.txt").write_text("某镇2024年工作方案\n各党支部要在3月底前完成自查。\n",
                                     encoding="utf-8")
    entry = {"keys": ["3月底前"], "distractors": [], "units": [], "year": 2024}
    (folder / "keys.json").write_text(json.dumps({"town": entry}), encoding="utf-8")
    monkeypatch.setattr(bench, "LISTED", {"corpus": folder, "untuned": tmp_path / "none"})
    monkeypatch.setattr(bench, "SEED_DIRS", [])  # no 50,000-character timing here
    out = tmp_path / "figures.json"
    assert bench.main(["--set", "corpus", "--set", "untuned", "--quiet", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "town:" not in printed  # --quiet: totals only
    assert "untuned: " in printed and "does not exist" in printed
    assert "corpus   1 keys" in printed and "recall 100.0% PASS" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["sets"]["corpus"]["total"]["matched"] == 1
    assert figures["sets"]["corpus"]["documents"][0]["document"] == "town"
    assert figures["sets"]["untuned"]["documents"] == []
    assert figures["overall"]["keys"] == 1
