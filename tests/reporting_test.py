"""Tests for mst.reporting: strict JSON, CSV cells, markdown tables, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mst import reporting


def test_json_is_strict_and_keeps_the_key_order(tmp_path):
    payload = {"z": np.float64("nan"), "a": [np.int32(1), np.inf], "m": {2: np.array([0.5, -np.inf])}}
    path = reporting.write_json(tmp_path / "out" / "r.json", payload)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text and text.endswith("}\n")
    assert list(json.loads(text)) == ["z", "a", "m"]
    assert json.loads(text) == {"z": None, "a": [1, None], "m": {"2": [0.5, None]}}


def test_unserializable_payload_leaves_the_old_file(tmp_path):
    path = reporting.write_json(tmp_path / "r.json", {"ok": 1})
    with pytest.raises(TypeError):
        reporting.write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_csv_cells_and_markdown_escaping(tmp_path):
    path = reporting.write_csv(tmp_path / "t.csv", ["a", "b"], [[np.float32(0.1), None], ["x,y", float("inf")]])
    assert path.read_text(encoding="utf-8") == 'a,b\n0.1,\n"x,y",\n'
    table = reporting.markdown_table(["|h|"], [["a|b"]])
    assert table.splitlines() == ["| \\|h\\| |", "|---|", "| a\\|b |"]
    assert (reporting.percent(12.345), reporting.number(float("-inf")), reporting.percent(1, 0)) == ("12.35", "—", "1")


def test_docstring_examples():
    import doctest

    result = doctest.testmod(reporting)
    assert result.failed == 0 and result.attempted > 0
