"""bench/wordings.py scores `when` on expressions and `plan extract` on sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import bench_module


def test_expressions_and_sentences_are_both_scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    entries = [
        {"text": "4月底前", "year": 2024, "expect": [["2024-04-30", "2024-04-30"]]},
        {"text": "4月30日以前完成申报材料", "year": 2024, "expect": [["2024-04-30", "2024-04-30"]]},
        {"text": "另行通知", "year": 2024, "expect": "refuse"},
        {"text": "5月开展读书活动", "year": 2024, "expect": [["2024-06-01", "2024-06-30"]]},
    ]
    path = tmp_path / "wordings.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    bench = bench_module("wordings")
    monkeypatch.setattr(bench, "FILES", [path])
    assert bench.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("wordings: 3/4 read right (75.0%")
    assert "1 read by `when` as written" in out
    assert "5月开展读书活动: expected" in out and "2024-05-01" in out
