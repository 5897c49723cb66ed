"""Tests for mst.models.cyclegan.cyclegan_sweep: evaluations in the paper's Table VI and VII–IX layouts."""

from __future__ import annotations

import csv
import json

import pytest

from mst.models.cyclegan import cyclegan_report as report
from mst.models.cyclegan import cyclegan_sweep as sweeps
from mst.models.cyclegan.cyclegan_evaluation import EvaluationInputError
from testing import GENRE_A, GENRE_B, IDENTITY, SWAP, pair_result


def test_variants_sweep_orders_columns_and_shows_the_paper_table(tmp_path):
    runs = []
    for variant, model in (("full", SWAP), ("base", IDENTITY), ("partial", SWAP)):
        folder = tmp_path / variant
        report.write_report(pair_result(GENRE_A, GENRE_B, model, variant, 1.0, variant), folder)
        runs.append(folder)
    sweep, files = sweeps.run_sweep(runs, "variants", tmp_path / "sweep")
    assert [column.variant for column in sweep.columns] == ["base", "partial", "full"]
    assert sweep.paper_table == "VIII"
    assert [column.paper.column.label for column in sweep.columns] == ["M_base, σ_D=0.1", "M_partial, σ_D=1", "M_full, σ_D=1"]
    text = files["report"].read_text(encoding="utf-8")
    assert "| A→B | 80.00 | 45.12 | 20.00 | 38.57 | 20.00 | 26.61 |" in text
    assert "| S^D_tot printed in the paper | — | 33.6 | — | 52.6 | — | 58.1 |" in text
    with open(files["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 7
    total = [row for row in rows if row["column"].startswith("M_partial") and row["row"] == "S^D_tot"][0]
    assert float(total["ours_percent_source"]) == 55.0 and float(total["paper_printed_total"]) == 52.6
    assert json.loads(files["json"].read_text(encoding="utf-8"))["layout"] == "variants"


def test_sigma_sweep_matches_table_vi_for_jazz_classical():
    results = [pair_result("jazz", "classical", SWAP, "base", sigma, f"s{sigma}") for sigma in (5.0, 0.0, 1.0, 0.5)]
    sweep = sweeps.assemble_sweep(results, "sigma")
    assert [column.sigma_d for column in sweep.columns] == [0.0, 0.5, 1.0, 5.0]
    assert sweep.paper_table == "VI"
    papers = [None if column.paper is None else (column.paper.column.table, column.paper.column.label) for column in sweep.columns]
    assert papers == [("VI", "σ_D=0"), None, ("VI", "σ_D=1"), ("VI", "σ_D=5")]
    text = sweeps.format_sweep(sweep)
    assert "Table VI." in text and "ours σ_D=0.5" in text


def test_sweep_swaps_paper_rows_for_a_reversed_pair():
    sweep = sweeps.assemble_sweep([pair_result(GENRE_B, GENRE_A, SWAP, "full", 1.0, "reversed")], "variants")
    paper = sweep.columns[0].paper
    assert paper.swapped and paper.cells.a == 80.04 and paper.cells.b_to_a == 26.61


def test_sweep_refuses_inconsistent_inputs():
    base = pair_result(GENRE_A, GENRE_B, SWAP, "base", 0.1, "a")
    with pytest.raises(EvaluationInputError, match="same genre pair"):
        sweeps.assemble_sweep([base, pair_result("jazz", "pop", SWAP, "full", 0.0, "b")], "variants")
    with pytest.raises(EvaluationInputError, match="same variant"):
        sweeps.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "base", 1.0, "c")], "variants")
    with pytest.raises(EvaluationInputError, match="same σ_D"):
        sweeps.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "base", 0.1, "d")], "sigma")
    with pytest.raises(EvaluationInputError, match="one variant"):
        sweeps.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "full", 1.0, "e")], "sigma")
    with pytest.raises(EvaluationInputError, match="σ_D unknown"):
        sweeps.assemble_sweep([pair_result(GENRE_A, GENRE_B, SWAP, "base", None, "f")], "sigma")
    with pytest.raises(EvaluationInputError, match="layout"):
        sweeps.assemble_sweep([base], "columns")
    with pytest.raises(EvaluationInputError, match="no report folders"):
        sweeps.run_sweep([], "sigma", "unused")
