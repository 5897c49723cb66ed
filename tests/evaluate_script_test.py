"""Tests for the ``evaluate.py`` command line: the subcommands, exit codes and error messages.

The models are the rigged Keras models of ``tests/testing.py`` (register-swap generator, register
classifier), exported like ``train.py`` does, so the command line loads them through the real
loaders.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script
from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan import cyclegan_report
from testing import GENRE_A, GENRE_B, SWAP, keras_models, pair_result, write_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_evaluate_script():
    return load_script(REPO_ROOT / "evaluate.py", "evaluate_script")


script = load_evaluate_script()


def run_cli(argv, capsys) -> tuple[int, str, str]:
    code = script.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, Path]:
    """A dataset; the swap generators as .keras files under a run folder's config.json; the rigged
    classifier exported like train.py does; bare copies without configs; a NaN model; a real tiny
    CycleGAN exported with mst.export."""
    import keras

    from mst.models.genre_classifier import genre_classifier_export
    from mst.models.cyclegan import cyclegan_export
    from mst import registry
    from mst.models.cyclegan import cyclegan_presets
    from mst.models.genre_classifier import genre_classifier_presets
    from mst.models.cyclegan.cyclegan import build_cyclegan

    root = tmp_path_factory.mktemp("cli")
    swap, _, classifier = keras_models(keras)
    swap_run = root / "swap_run"
    registry.save_config(cyclegan_presets.CycleGANConfig(genre_a=GENRE_A, genre_b=GENRE_B, variant="base", sigma_d=0.1, name="swap_test"), swap_run / "config.json")
    (swap_run / "models").mkdir()
    for name in ("generator_a2b.keras", "generator_b2a.keras"):
        swap.save(swap_run / "models" / name)
    classifier_config = genre_classifier_presets.ClassifierConfig(genre_a=GENRE_A, genre_b=GENRE_B, name="register_test")
    classifier_dir = genre_classifier_export.export_classifier(classifier, root / "classifier_export", info={"config": classifier_config.to_dict(), "checkpoint": "last", "preset": "register_test"})
    bare = root / "bare"
    bare.mkdir()
    for name in ("generator_a2b.keras", "generator_b2a.keras"):
        shutil.copy(swap_run / "models" / name, bare / name)
    shutil.copy(classifier_dir / "classifier.keras", bare / "classifier.keras")
    other_pair = root / "jazz_pop_classifier"
    shutil.copytree(classifier_dir, other_pair)
    info = json.loads((other_pair / "export.json").read_text())
    info["config"] = genre_classifier_presets.ClassifierConfig(genre_a="jazz", genre_b="pop").to_dict()
    (other_pair / "export.json").write_text(json.dumps(info))
    diverged = root / "diverged"
    diverged.mkdir()
    swap.get_layer("pitch_map").set_weights([np.full((84, 84), np.nan, np.float32)])
    for name in ("generator_a2b.keras", "generator_b2a.keras"):
        swap.save(diverged / name)
    wrong_shape = root / "wrong_shape"
    wrong_shape.mkdir()
    inputs = keras.Input((64, 42, 1))
    half = keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs), name="half_range")
    for name in ("generator_a2b.keras", "generator_b2a.keras"):
        half.save(wrong_shape / name)
    tiny_config = registry.get_config(
        "cyclegan_tiny", [f"genre_a={GENRE_A}", f"genre_b={GENRE_B}", "variant=base", "generator_filters=2", "generator_residual_blocks=1", "discriminator_filters=2"]
    )
    tiny_export = cyclegan_export.export_cyclegan(build_cyclegan(tiny_config), root / "tiny_run" / "export", config=tiny_config, global_step=0, preset="cyclegan_tiny")
    return {
        "root": root,
        "data": write_dataset(root / "prepared"),
        "model": swap_run / "models" / "generator_a2b.keras",
        "classifier": classifier_dir,
        "bare": bare,
        "other_pair": other_pair,
        "diverged": diverged,
        "wrong_shape": wrong_shape,
        "tiny_export": tiny_export,
    }


def test_full_evaluation_writes_the_report_and_prints_its_path(workspace, capsys):
    out = workspace["root"] / "report_full"
    code, stdout, stderr = run_cli(["--model", workspace["model"], "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", out], capsys)
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out / "report.md")
    assert "S^D_tot 55.00 %" in stdout
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| A→B | 20.00 | 20.00 | 45.12 |" in report  # genres, variant and σ_D came from export.json
    assert "swap_test" in report and "manifest sha256" in report
    results = evaluation.load_results(out)
    assert results.strength().total == 55.0 and results.info["model"]["preset"] == "swap_test"
    assert results.info["model"]["config_source"].endswith("config.json")
    assert results.info["classifier"]["checkpoint"] == "last"
    assert results.a2b.phrase_ids[0] == "classical_song0.mid#0"
    for name in ("ranking_a2b.png", "ranking_b2a.csv", "table.csv", "distribution.csv"):
        assert (out / name).is_file()
    assert "## Collapse statistics" in report and "**Collapse warnings:** none." in report
    assert set(json.loads((out / "results.json").read_text(encoding="utf-8"))["collapse"]) == {"a2b", "b2a"}


def test_cyclegan_subcommand_is_the_form_without_a_subcommand(workspace, capsys):
    out, alias = workspace["root"] / "report_subcommand", workspace["root"] / "report_alias"
    arguments = ["--model", workspace["model"], "--classifier", workspace["classifier"], "--data", workspace["data"], "--limit", "3"]
    code, stdout, stderr = run_cli(["cyclegan", *arguments, "--out", out], capsys)
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out / "report.md")
    code, _, stderr = run_cli([*arguments, "--out", alias], capsys)
    assert code == 0, stderr
    ours, theirs = evaluation.load_results(out), evaluation.load_results(alias)
    assert ours.table() == theirs.table() and ours.a2b.phrase_ids == theirs.a2b.phrase_ids


def test_exported_cyclegan_runs_end_to_end(workspace, capsys):
    out = workspace["root"] / "report_tiny"
    argv = ["--model", workspace["tiny_export"], "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", out, "--examples", "1"]
    code, stdout, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    results = evaluation.load_results(out)
    # Rows A and B score the real phrases: the classifier's accuracy, whatever the generator does.
    cells = results.table().as_dict()
    assert (cells["A"], cells["B"]) == (80.0, 75.0)
    assert results.variant == "base" and results.sigma_d == 0.1 and results.info["model"]["preset"] == "cyclegan_tiny"
    assert "paper Table VIII M_base, σ_D=0.1" in (out / "report.md").read_text(encoding="utf-8")
    assert len(list((out / "examples").glob("*.mid"))) == 4
    # The SavedModel folder inside the export works too; its description comes from export.json above it.
    out_saved = workspace["root"] / "report_tiny_saved_model"
    argv = ["--model", workspace["tiny_export"] / "saved_model", "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", out_saved, "--limit", "1"]
    code, _, stderr = run_cli(argv, capsys)
    assert code == 2 and "is a SavedModel" in stderr and "--trust-saved-model" in stderr  # never loaded without consent
    code, _, stderr = run_cli([*argv, "--trust-saved-model"], capsys)
    assert code == 0, stderr
    again = evaluation.load_results(out_saved)
    assert again.variant == "base" and again.info["phrases"][GENRE_B]["evaluated"] == 1


def test_keras_files_without_configs_need_explicit_genres_and_respect_limit(workspace, capsys):
    bare = workspace["bare"]
    base = ["--model", bare / "generator_a2b.keras", "--classifier", bare / "classifier.keras", "--data", workspace["data"]]
    code, _, stderr = run_cli([*base, "--out", workspace["root"] / "unused"], capsys)
    assert code == 2 and "pass --genre-a and --genre-b" in stderr
    out = workspace["root"] / "report_bare"
    code, stdout, stderr = run_cli([*base, "--out", out, "--genre-a", GENRE_A, "--genre-b", GENRE_B, "--limit", "2", "--seed", "3"], capsys)
    assert code == 0, stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["info"]["phrases"][GENRE_A] == {"evaluated": 2, "available": 5}
    assert results["info"]["seed"] == 3 and results["info"]["limit"] == 2
    assert any("assumed" in note for note in results["info"]["notes"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "model's variant is unknown" in report


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "missing_model"}, "model not found"),
        ({"--classifier": "missing_classifier"}, "classifier not found"),
        ({"--data": "missing_data"}, "does not exist"),
        ({"--genre-a": GENRE_B, "--genre-b": GENRE_A}, "genre order mismatch: the model's A is classical"),
        ({"--genre-a": GENRE_A, "--genre-b": "jazz"}, "genre mismatch: the model was trained on classical"),
        ({"--classifier": "other_pair"}, "the classifier separates jazz vs pop"),
        ({"--model": "classifier", "--classifier": "model"}, "is a genre classifier, not a CycleGAN"),
        ({"--limit": "0"}, "expected a positive integer"),
    ],
)
def test_bad_inputs_exit_2_with_a_clear_message(workspace, capsys, change, message):
    arguments = {"--model": workspace["model"], "--classifier": workspace["classifier"], "--data": workspace["data"], "--out": workspace["root"] / "never"}
    for key, value in change.items():
        arguments[key] = workspace.get(value, workspace["root"] / value) if key in ("--model", "--classifier", "--data") else value
    code, stdout, stderr = run_cli([item for pair in arguments.items() for item in pair], capsys)
    assert code == 2
    assert message in stderr and stdout == ""
    assert not (workspace["root"] / "never" / "report.md").exists()


def test_dataset_without_the_genre_or_its_test_split_exits_2(workspace, capsys):
    bare = workspace["bare"]
    base = ["--model", bare / "generator_a2b.keras", "--classifier", bare / "classifier.keras", "--data", workspace["data"], "--out", workspace["root"] / "never"]
    code, _, stderr = run_cli([*base, "--genre-a", GENRE_A, "--genre-b", "rock"], capsys)
    assert code == 2 and "'rock' is not in the dataset" in stderr and "classical, jazz, pop" in stderr
    code, _, stderr = run_cli([*base, "--genre-a", "jazz", "--genre-b", GENRE_B], capsys)
    assert code == 2 and "'jazz' has no test phrases" in stderr


def test_a_diverged_model_exits_1(workspace, capsys):
    diverged = workspace["diverged"]
    argv = ["--model", diverged / "generator_a2b.keras", "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", workspace["root"] / "never", "--genre-a", GENRE_A, "--genre-b", GENRE_B]
    code, _, stderr = run_cli(argv, capsys)
    assert code == 1 and "evaluation failed" in stderr and "NaN" in stderr


def test_a_model_for_other_phrase_shapes_exits_2(workspace, capsys):
    argv = ["--model", workspace["wrong_shape"] / "generator_a2b.keras", "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", workspace["root"] / "never", "--genre-a", GENRE_A, "--genre-b", GENRE_B]
    code, _, stderr = run_cli(argv, capsys)
    assert code == 2 and "a2b generator does not work on [N, 64, 84, 1] phrases" in stderr


def test_classifier_mode_reports_accuracy_next_to_the_thesis(workspace, capsys):
    out = workspace["root"] / "classifier_report"
    code, stdout, stderr = run_cli(["classifier", "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", out, "--sigma-c", "0", "0.5"], capsys)
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out / "classifier_accuracy.md")
    assert "σ_C=0: 77.78 %" in stdout
    report = (out / "classifier_accuracy.md").read_text(encoding="utf-8")
    assert "| thesis Table 5.1 (%) | 84.66 | 70.28 |" in report and "| ours: classical vs pop (%) | 77.78 |" in report
    with open(out / "classifier_accuracy.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["sigma_c"] for row in rows] == ["0", "0.5"] and float(rows[0]["accuracy_pop"]) == 75.0
    code, _, stderr = run_cli(["classifier", "--classifier", workspace["classifier"], "--data", workspace["data"], "--out", out, "--genre-a", "jazz", "--genre-b", GENRE_B], capsys)
    assert code == 2 and "genre mismatch" in stderr


def test_sweep_mode_assembles_report_folders(tmp_path, capsys):
    runs = []
    for variant in ("base", "partial", "full"):
        runs.append(tmp_path / variant)
        cyclegan_report.write_report(pair_result(GENRE_A, GENRE_B, SWAP, variant, 1.0, variant), runs[-1])
    code, stdout, stderr = run_cli(["sweep", "--runs", *runs, "--layout", "variants", "--out", tmp_path / "sweep"], capsys)
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(tmp_path / "sweep" / "sweep.md")
    assert "M_full, σ_D=1: S^D_tot 55.00 %" in stdout
    assert "Table VIII" in (tmp_path / "sweep" / "sweep.md").read_text(encoding="utf-8")
    code, _, stderr = run_cli(["sweep", "--runs", *runs, tmp_path / "nothing", "--layout", "variants", "--out", tmp_path / "sweep2"], capsys)
    assert code == 2 and "no evaluation results" in stderr
    code, _, stderr = run_cli(["sweep", "--runs", *runs, "--layout", "sigma", "--out", tmp_path / "sweep3"], capsys)
    assert code == 2 and "one variant" in stderr


def test_help_and_usage_errors_use_argparse_codes(capsys):
    for argv in (["--help"], ["cyclegan", "--help"], ["sweep", "--help"], ["classifier", "--help"]):
        code, stdout, _ = run_cli(argv, capsys)
        assert code == 0 and "usage: evaluate.py" in stdout
    code, stdout, _ = run_cli(["cyclegan", "--help"], capsys)
    assert "usage: evaluate.py cyclegan" in stdout and "--model" in stdout
    code, _, stderr = run_cli(["cyclegan"], capsys)
    assert code == 2 and "--model" in stderr
    code, _, stderr = run_cli(["sweep", "--runs", "x", "--layout", "diagonal", "--out", "y"], capsys)
    assert code == 2 and "invalid choice" in stderr
    code, _, stderr = run_cli([], capsys)
    assert code == 2 and "--model" in stderr


def test_script_runs_as_a_program(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "evaluate.py"), "--model", str(tmp_path / "nope"), "--classifier", str(tmp_path), "--data", str(tmp_path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "evaluate.py: error: model not found" in completed.stderr


def test_help_does_not_import_tensorflow():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['evaluate.py', 'cyclegan', '--help']\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    print('exit', stop.code, 'tensorflow' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert completed.stdout.strip().splitlines()[-1] == "exit 0 False", completed.stderr
