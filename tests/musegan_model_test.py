"""MuseGAN: parameter counts, the WGAN-GP step (alpha, gradient norm, 5 critic steps), serialization, training, export, CLIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from mst.models.musegan import musegan_evaluation, musegan_generate
from mst.models.musegan.musegan import MuseGAN, build_musegan
from mst.models.musegan.musegan_critic import build_critic
from mst.models.musegan.musegan_demo import prepare_embedded
from mst.models.musegan.musegan_generator import build_bar_generator, build_generator, build_temporal_network
from mst.models.musegan.musegan_presets import PRESETS

BOOK = PRESETS["musegan_jsb"]
TINY = PRESETS["musegan_tiny"]


def test_book_parameter_counts():
    assert build_temporal_network(32, 2).count_params() == 103_584
    assert build_bar_generator(32).count_params() == 1_521_921
    generator = build_generator(BOOK)
    assert generator.count_params() == 6_605_604
    assert sum(int(np.prod(w.shape)) for w in generator.non_trainable_weights) == 28_992
    assert tuple(generator.output.shape) == (None, 2, 16, 84, 4)
    assert build_critic(BOOK).count_params() == 1_446_401
    bn = [layer for layer in generator.get_layer("bar_generator_0").layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and all(layer.momentum == 0.9 for layer in bn)


def test_tracks_and_bars_come_from_their_own_noise():
    """Each track's melody noise moves only that track (the Keras 3 Lambda closure bug would move the last one)."""
    gan = build_musegan(TINY)
    noise = gan.sample_noise(1, seed=3)
    base = gan.generate(noise)
    changed = {name: value.copy() for name, value in noise.items()}
    changed["melody"][0, 1] += 3.0
    moved = np.abs(gan.generate(changed) - base).max(axis=(0, 1, 2, 3))
    assert moved[1] > 0 and moved[0] == moved[2] == moved[3] == 0


@keras.saving.register_keras_serializable(package="mst_test")
class HalfSquare(keras.layers.Layer):
    """D(x) = 0.5 * sum(x^2): its gradient is x itself."""

    def call(self, x):
        return 0.5 * keras.ops.sum(keras.ops.square(x), axis=(1, 2, 3, 4))[:, None]


def _gan_with_critic(critic):
    return MuseGAN(build_generator(TINY), critic, z_dim=TINY.z_dim, n_tracks=4, critic_steps=1, seed=0)


def test_gradient_penalty_norm_covers_every_non_batch_axis():
    inputs = keras.Input((2, 16, 84, 4))
    critic = keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(inputs)))
    w = np.zeros((2 * 16 * 84 * 4, 1), np.float32)
    w.reshape(2, 16, 84, 4)[:, :, :, 3] = 3.0 / np.sqrt(2 * 16 * 84)  # all weight on the last track, ||w|| = 3
    critic.layers[-1].kernel.assign(w)
    gan = _gan_with_critic(critic)
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(2, 8, 2, 16, 84, 4)).astype(np.float32)
    assert float(gan.gradient_penalty(real, fake)) == pytest.approx(4.0, rel=1e-5)  # (3 - 1)^2


@pytest.mark.parametrize("distribution, expected", [("uniform", 1.0), ("normal", 10.0 - 6.0 * np.sqrt(2.0 / np.pi))])
def test_alpha_is_drawn_per_example(distribution, expected):
    """With D = |x|^2 / 2, real = r (|r| = 3), fake = 0: GP = E[(3 |alpha| - 1)^2] = 1 for U(0,1), 10 - 6 sqrt(2/pi) = 5.21 for N(0,1)."""
    inputs = keras.Input((2, 16, 84, 4))
    gan = _gan_with_critic(keras.Model(inputs, HalfSquare()(inputs)))
    gan.alpha_distribution = distribution
    real = np.zeros((2_000, 2, 16, 84, 4), np.float32)
    real[:, 0, 0, 0, 0] = 3.0
    gp = float(gan.gradient_penalty(real, np.zeros_like(real)))  # seeded: the same 2,000 draws every run
    assert gp == pytest.approx(expected, rel=0.15)


def test_train_step_runs_five_critic_updates_per_generator_update():
    config = TINY.replace(critic_steps=5, batch_size=2)
    gan = build_musegan(config)
    adam = lambda: keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9)  # noqa: E731
    gan.compile(adam(), adam())
    real = np.sign(np.random.default_rng(0).normal(size=(5 * 2, 2, 16, 84, 4))).astype(np.float32)
    before = [w.numpy().copy() for w in gan.critic.trainable_weights]
    logs = gan.train_step(real)
    assert sorted(logs) == ["critic_loss", "generator_loss", "gradient_penalty", "wasserstein"]
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(gan.critic_optimizer.iterations) == 5 and int(gan.generator_optimizer.iterations) == 1
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, gan.critic.trainable_weights))


def test_generator_keras_file_reloads_in_safe_mode(tmp_path):
    generator = build_generator(TINY)
    path = tmp_path / "g.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    noise = MuseGAN(generator, build_critic(TINY), z_dim=TINY.z_dim).sample_noise(2, seed=0)
    inputs = [noise[k] for k in ("chords", "style", "melody", "groove")]
    np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(generator(inputs)), atol=1e-6)


def test_control_noise():
    noise, labels = musegan_generate.control_noise("chords", z_dim=4, n_tracks=4, count=3, seed=1)
    assert len(labels) == 3 and np.all(noise["style"] == noise["style"][0]) and not np.all(noise["chords"] == noise["chords"][0])
    noise, _ = musegan_generate.control_noise("melody", z_dim=4, n_tracks=4, count=3, seed=1, track=2)
    assert np.all(noise["melody"][:, [0, 1, 3]] == noise["melody"][0, [0, 1, 3]]) and not np.all(noise["melody"][:, 2] == noise["melody"][0, 2])
    noise, _ = musegan_generate.control_noise("interpolate", z_dim=4, n_tracks=4, count=5, seed=1)
    np.testing.assert_allclose(noise["style"][2], (noise["style"][0] + noise["style"][4]) / 2, atol=1e-6)


def test_nearest_training_finds_a_copy():
    rng = np.random.default_rng(0)
    train = -np.ones((3, 2, 16, 84, 4), np.float32)
    for window in train:
        window[np.arange(2)[:, None, None], np.arange(16)[None, :, None], rng.integers(40, 80, (2, 16, 4)), np.arange(4)] = 1.0
    generated = train[[2]] * 0.7  # a scaled copy of window 2
    (found,) = musegan_generate.nearest_training(generated, train, ["a", "b", "c"])
    assert found["song_id"] == "c" and found["distance"] == 0.0 and found["same_pitch_share"] == 1.0


def test_metrics_on_real_windows(tmp_path):
    from mst.records.multitrack_rolls import load_windows

    prepare_embedded(tmp_path / "data")
    test = load_windows(tmp_path / "data", "test")
    metrics = musegan_evaluation.window_metrics(test.rolls)
    assert all(rate < 0.05 for rate in metrics["empty_bar_rate"])  # the book's start skips silent voices
    assert metrics["polyphony"] == [0.0] * 4  # a chorale voice sings one note at a time
    assert metrics["mean_pitch"][0] > metrics["mean_pitch"][1] > metrics["mean_pitch"][2] > metrics["mean_pitch"][3]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mst.training.driver import RunOptions, train

    root = tmp_path_factory.mktemp("musegan")
    prepare_embedded(root / "data")
    result = train(TINY, root / "data", root / "run", RunOptions(verbose=0), preset="musegan_tiny")
    assert result.final_step == 6 and result.export_dir == root / "run" / "export"
    return root


@pytest.mark.slow
def test_training_writes_history_samples_and_export(tiny_run):
    run = tiny_run / "run"
    history = (run / "history.csv").read_text().splitlines()
    assert {"critic_loss", "generator_loss", "gradient_penalty", "wasserstein"} <= set(history[0].split(","))
    assert len(history) == 1 + 6
    assert (run / "samples" / "epoch_0002.mid").is_file() and (run / "samples" / "epoch_0002.png").is_file()
    info = json.loads((run / "export" / "export.json").read_text())
    assert info["kind"] == "musegan" and info["global_step"] == 6 and sorted(info["endpoints"]) == ["generate", "generate_from_seed"]


@pytest.mark.slow
def test_saved_model_loads_without_mst(tiny_run):
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.generate_from_seed(tf.constant(7, tf.int64), tf.constant(3, tf.int32))\n"
        "again = m.generate(out['chords'], out['style'], out['melody'], out['groove'])\n"
        "assert 'mst' not in sys.modules\n"
        "print(tuple(out['values'].shape), tuple(out['pitches'].shape), float(np.abs(out['values'] - again['values']).max()))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", script, str(tiny_run / "run" / "export" / "saved_model")],
                            capture_output=True, text=True, env=env, cwd=str(tiny_run), check=True)
    shapes = result.stdout.strip().splitlines()[-1]
    assert shapes == "(3, 2, 16, 84, 4) (3, 4, 32) 0.0"  # same seed, same noise, same music through both endpoints


@pytest.mark.slow
def test_generate_and_evaluate_commands(tiny_run, tmp_path, capsys):
    from mst.cli import evaluate, generate

    out = tmp_path / "gen"
    assert generate.main(["musegan", "--model", str(tiny_run / "run" / "export"), "--out", str(out), "--control", "all",
                          "--count", "3", "--data", str(tiny_run / "data")]) == 0
    for control in musegan_generate.CONTROLS:
        assert (out / f"{control}.png").is_file() and (out / f"{control}_00.mid").is_file()
    assert len(list(out.glob("ones_*.mid"))) == 5
    report = json.loads((out / "generate.json").read_text())
    assert report["nearest_summary"]["min_distance"] > 0 and (out / "nearest.png").is_file()
    assert evaluate.main(["musegan", "--model", str(tiny_run / "run"), "--data", str(tiny_run / "data"), "--out", str(tmp_path / "ev"),
                          "--samples", "8"]) == 0
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert set(results["metrics"]) == {"test split", "generated, threshold", "generated, argmax"}
    assert results["metrics"]["generated, argmax"]["empty_bar_rate"] == [0.0] * 4
    assert "wasserstein_test" in results["critic"]
    assert generate.main(["musegan", "--model", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no MuseGAN at" in capsys.readouterr().err
