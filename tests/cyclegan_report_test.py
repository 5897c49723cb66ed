"""Tests for mst.models.cyclegan.cyclegan_report: the report folder, its CSVs, results.json and the
collapse section (rigged models of ``tests/testing.py``: the swap model's S^D_tot is 55)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mst import reporting
from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan import cyclegan_report as report
from testing import GENRE_A, GENRE_B, IDENTITY, SILENT, SWAP, pair_phrases, rigged_classifier


@pytest.fixture(scope="module")
def swap_run():
    return evaluation.evaluate_transfer(SWAP, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B), info={"variant": "base", "sigma_d": 0.1, "label": "swap"})


@pytest.fixture(scope="module")
def swap_report(swap_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = report.write_report(swap_run.result, out, swap_run.outputs, examples=2)
    return out, files


def test_report_folder_has_every_file_and_the_table(swap_report):
    out, files = swap_report
    for name in ("report.md", "results.json", "table.csv", "music_metrics.csv", "content_preservation.csv", "distribution.csv", "ranking_a2b.csv", "ranking_b2a.csv", "ranking_a2b.png", "ranking_b2a.png"):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.tmp-*"))
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| A→B | 20.00 | 20.00 |" in text and "| B→A→B | 75.00 | 75.00 |" in text
    assert "**S^D_tot = 55.00 %**" in text
    # classical/pop base at σ_D = 0.1 is the paper's Table VIII M_base column.
    assert "paper Table VIII M_base, σ_D=0.1" in text and "45.12" in text and "33.6" in text
    assert "](ranking_a2b.png)" in text and "How to read this report" in text
    midi = sorted((out / "examples").glob("*.mid"))
    assert len(midi) == 8 and all(path.stat().st_size > 0 for path in midi)  # 2 strongest + 2 weakest per direction
    with open(out / "table.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [row["row"] for row in table[:6]] == list(evaluation.SET_LABELS)
    assert float(table[1]["ours_percent_source"]) == 20.0 and float(table[1]["paper Table VIII M_base, σ_D=0.1"]) == 45.12


def test_ranking_csv_is_sorted_and_complete(swap_report):
    out, _ = swap_report
    with open(out / "ranking_b2a.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and [int(row["rank"]) for row in rows] == [1, 2, 3, 4]
    changes = [float(row["|P_O - P_T|"]) for row in rows]
    assert changes == sorted(changes, reverse=True)
    assert {"Id", "Content_diff", "P_origin", "P_transfer", "P_cycle", "onset_f1", "cycle_l1"} <= set(rows[0])


def test_results_json_round_trips(swap_report, swap_run):
    out, _ = swap_report
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert payload["format"] == "mst.models.cyclegan.cyclegan_evaluation" and payload["strength"]["percent_source"]["total"] == 55.0
    assert payload["files"]["ranking_png_a2b"] == "ranking_a2b.png"
    loaded = evaluation.load_results(out)
    assert loaded.table() == swap_run.result.table() and loaded.strength() == swap_run.result.strength()
    original = json.loads(json.dumps(reporting.jsonable(swap_run.result.to_dict())))
    reloaded = json.loads(json.dumps(reporting.jsonable(loaded.to_dict())))
    reloaded["info"].pop("report_dir")
    assert reloaded == original
    assert loaded.variant == "base" and loaded.sigma_d == 0.1 and loaded.label == "swap"


def test_nan_metrics_are_written_as_null_and_read_back_as_nan(tmp_path):
    run = evaluation.evaluate_transfer(SILENT, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    assert run.result.table().as_dict()["A→B"] == 0.0  # silence: P = 0.5, not the source genre
    report.write_report(run.result, tmp_path)
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    loaded = evaluation.load_results(tmp_path / "results.json")
    assert np.isnan(loaded.set_metrics["A→B"]["pitch_range"]["mean"]) and loaded.set_metrics["A→B"]["pitch_range"]["nan_count"] == 5
    assert loaded.collapse["a2b"]["density_ratio"] == 0.0 and loaded.collapse["a2b"]["nonempty_transfer"] == 0.0


def test_collapse_section_and_results_show_a_silent_model_and_not_an_identity(tmp_path):
    silent = evaluation.evaluate_transfer(SILENT, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    files = report.write_report(silent.result, tmp_path / "silent")
    text = files["report"].read_text(encoding="utf-8")
    assert "## Collapse statistics" in text and "**Collapse warnings:**" in text
    assert "* a2b (classical→pop): 100% of transfers are silent" in text
    assert "| non-empty transfers | 0.000 | 0.000 |" in text
    payload = json.loads(files["results_json"].read_text(encoding="utf-8"))
    assert payload["collapse"]["a2b"]["nonempty_transfer"] == 0.0
    assert "a2b (classical→pop): 100% of transfers are silent" in payload["collapse_warnings"]
    assert evaluation.load_results(tmp_path / "silent").collapse_warnings() == silent.result.collapse_warnings()
    identity = evaluation.evaluate_transfer(IDENTITY, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    text = report.write_report(identity.result, tmp_path / "identity")["report"].read_text(encoding="utf-8")
    assert "**Collapse warnings:** none." in text and "| cycle AUC | 1.000 | 1.000 |" in text
    assert json.loads((tmp_path / "identity" / "results.json").read_text(encoding="utf-8"))["collapse_warnings"] == []


def test_results_read_back_write_a_report_without_ranking_csvs(swap_report, tmp_path):
    out, _ = swap_report
    loaded = evaluation.load_results(out)
    files = report.write_report(loaded, tmp_path)
    assert "ranking_csv_a2b" not in files and (tmp_path / "report.md").is_file()
    with pytest.raises(ValueError, match="no ranking"):
        loaded.a2b.ranking_rows()


def test_examples_must_be_positive(swap_run, tmp_path):
    with pytest.raises(evaluation.EvaluationInputError, match="examples"):
        report.write_report(swap_run.result, tmp_path, examples=0)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(report, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
