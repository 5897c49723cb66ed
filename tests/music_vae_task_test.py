"""End-to-end tests of the MusicVAE family: train through the driver, resume, export, load without mst, generate, evaluate."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mst import registry
from mst.cli import evaluate as evaluate_cli
from mst.cli import generate as generate_cli
from mst.models.music_vae import music_vae_task
from mst.models.music_vae.music_vae_demo import CORPUS_DIR, held_out_beat
from mst.models.music_vae.music_vae_export import load_music_vae
from mst.records import music_vae_records as records
from mst.records.prepare_driver import prepare_dataset
from mst.training.driver import RunOptions, train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def groove_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music_vae") / "data"
    prepare_dataset({"gmd": CORPUS_DIR}, folder, records.GrooveEncoder(), partition_by="corpus")
    return folder


@pytest.fixture(scope="module")
def trained(groove_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("music_vae") / "run"
    config = registry.get_config("groovae_tiny", ["steps_per_epoch=3", "sample_every_epochs=1"])
    result = train(config, groove_data, run_dir, RunOptions(verbose=0), preset="groovae_tiny")
    return config, run_dir, result


def test_registry_entry_and_dataset_checks(groove_data):
    family = registry.family("music_vae")
    assert family.cli_name == "music-vae" and registry.family_of(registry.get_config("groovae_4bar")) is family
    for entry in ("task", "loader", "run_exporter", "generate", "evaluate", "demo"):
        assert callable(family.resolve(entry))
    task = music_vae_task.MusicVAETask(registry.get_config("groovae_2bar_humanize_cpu"))
    with pytest.raises(records.MusicVAEDataError, match="split_bars=2"):
        task.steps_per_epoch(groove_data)
    task = music_vae_task.MusicVAETask(registry.get_config("groovae_tiny"))
    assert task.steps_per_epoch(groove_data) == len(records.load_sequences(groove_data, "train")) // 8


def test_model_inputs_apply_the_presets_transforms(groove_data):
    arrays = records.load_sequences(groove_data, "validation")
    inputs, targets = music_vae_task.model_inputs(registry.get_config("groovae_2bar_tap_fixed_velocity"), arrays.tensors[:4], training=True)
    assert np.array_equal(targets, arrays.tensors[:4])
    assert not inputs[..., 9:18].any() and np.count_nonzero(np.delete(inputs, [3, 21], axis=-1)) == 0
    config = registry.get_config("music_vae_tiny")
    events = np.full((50, 32), 40, np.int64)
    one_hot, same = music_vae_task.model_inputs(config, events, np.random.default_rng(0), training=True)
    assert one_hot is same and set(np.unique(one_hot.argmax(-1))) <= set(range(38, 43)) and len(set(one_hot.argmax(-1)[:, 0])) > 1


def test_training_run_files_and_resume(trained, groove_data):
    config, run_dir, result = trained
    assert result.finished and result.final_step == 6
    history = list(csv.DictReader(open(run_dir / "history.csv")))
    assert {"loss", "reconstruction", "kl_bits", "beta", "sampling_probability", "accuracy", "learning_rate_used"} <= set(history[0])
    assert float(history[0]["beta"]) == 0.0 and float(history[1]["beta"]) == pytest.approx(0.2)
    assert [float(r["learning_rate_used"]) for r in history[:2]] == pytest.approx([1e-3, 1e-3 * 0.9999 + 1e-5 * (1 - 0.9999)], rel=1e-4)
    validation = list(csv.DictReader(open(run_dir / "validation.csv")))
    assert [int(r["epoch"]) for r in validation] == [0, 1] and float(validation[-1]["loss"]) > 0
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["epoch_0001.mid", "epoch_0001.png", "epoch_0002.mid", "epoch_0002.png"]
    again = train(config, groove_data, run_dir, RunOptions(verbose=0, export=False), preset="groovae_tiny")
    assert again.start_step == 6 and again.final_step == 6


def test_export_signatures_load_without_mst(trained, tmp_path):
    _, run_dir, _ = trained
    export = run_dir / "export"
    info = json.loads((export / "export.json").read_text())
    assert info["kind"] == "music_vae" and set(info["endpoints"]) == {"encode", "decode", "sample"}
    script = f"""
import sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load({str(export / 'saved_model')!r})
x = np.zeros((2, 64, 27), np.float32); x[:, ::4, 0] = 1; x[:, ::4, 9] = 0.7
enc = loaded.signatures["encode"](inputs=tf.constant(x))
dec = loaded.signatures["decode"](z=enc["mu"], temperature=tf.constant(0.5))["outputs"].numpy()
smp = loaded.signatures["sample"](n=tf.constant(3), temperature=tf.constant(0.5))
hits = dec[..., :9]
assert set(np.unique(hits)) <= {{0.0, 1.0}}, np.unique(hits)
assert np.all((dec[..., 9:18] >= 0) & (dec[..., 9:18] <= 1)) and np.all(np.abs(dec[..., 18:]) <= 1)
print(enc["mu"].shape, dec.shape, smp["outputs"].shape, smp["z"].shape, "mst" in sys.modules)
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "(2, 8) (2, 64, 27) (3, 64, 27) (3, 8) False"
    keras_model = load_music_vae(export / "music_vae.keras")
    run_model = load_music_vae(run_dir)
    z = np.zeros((2, 8), np.float32)
    assert keras_model.decode(z, 0.5, seed=1).shape == run_model.decode(z, 0.5, seed=1).shape == (2, 64, 27)
    np.testing.assert_allclose(keras_model.encode(np.zeros((1, 64, 27)))[0], run_model.encode(np.zeros((1, 64, 27)))[0], atol=1e-6)


def test_generate_subcommands(trained, tmp_path, capsys):
    _, run_dir, _ = trained
    model = str(run_dir / "export")
    beat = str(held_out_beat())
    other = str(CORPUS_DIR / "drummer1" / "session1" / "81_dance-breakbeat_170_beat_4-4.mid")
    assert generate_cli.main(["music-vae", "sample", "--model", model, "--out", str(tmp_path / "s"), "--n", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["sample_00.mid", "sample_00.png", "sample_01.mid", "sample_01.png", "samples.mid", "samples.png"]
    assert generate_cli.main(["music-vae", "interpolate", "--model", model, "--out", str(tmp_path / "i"), "--start", beat, "--end", other,
                              "--steps", "3", "--pitch-classes", "roland"]) == 0
    assert len(list((tmp_path / "i").glob("step_*.mid"))) == 3
    for command in ("reconstruct", "humanize", "tap2drum"):
        assert generate_cli.main(["music-vae", command, "--model", model, "--out", str(tmp_path / command), "--input", beat, "--pitch-classes", "roland",
                                  "--max-windows", "2"]) == 0
        assert (tmp_path / command / "output.mid").is_file() and (tmp_path / command / "comparison.png").is_file()
    status = generate_cli.main(["music-vae", "reconstruct", "--model", model, "--out", str(tmp_path / "bad"), "--input", str(tmp_path / "none.mid")])
    assert status == 2 and "error:" in capsys.readouterr().err


def test_evaluate_command(trained, groove_data, tmp_path):
    _, run_dir, _ = trained
    status = evaluate_cli.main(["music-vae", "--model", str(run_dir / "export"), "--data", str(groove_data), "--out", str(tmp_path / "r"), "--limit", "16"])
    assert status == 0
    result = json.loads((tmp_path / "r" / "results.json").read_text())
    assert result["examples"] == 16 and result["split"] == "test"
    for decoding in ("teacher_forced", "sampled"):
        scores = result[decoding]
        assert 0 <= scores["f1"] <= 1 and 0 <= scores["accuracy"] <= 1
        assert scores["silent_accuracy"] > 0.5  # most cells of a groove are empty: why F1 is reported next to accuracy
    assert set(result["timing"]) >= {"data", "sampled_reconstructions"}
    assert result["baselines"]["offset_mae_quantised_steps"] == pytest.approx(result["timing"]["data"]["overall_mean_abs_offset_steps"])
    assert (tmp_path / "r" / "report.md").read_text().startswith("# MusicVAE evaluation: groovae_tiny")
