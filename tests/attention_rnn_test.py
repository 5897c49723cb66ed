"""Tests of the attention RNN family: model, in-graph sampling, training with validation/early stopping, export, CLIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from mst import registry
from mst.encodings import note_tokens as nt
from mst.models.attention_rnn import attention_rnn_evaluation, attention_rnn_generate
from mst.models.attention_rnn import attention_rnn_sampling as sampling
from mst.models.attention_rnn.attention_rnn import SingleQueryAttention, build_attention_rnn
from mst.models.attention_rnn.attention_rnn_export import load_attention_rnn
from mst.music.midi import read_midi
from mst.records.note_token_encoder import NoteTokenEncoder
from mst.records.prepare_driver import prepare_dataset
from mst.runtime import import_tensorflow
from mst.training.driver import RunOptions, train

tf = import_tensorflow()
CORPUS = Path(__file__).resolve().parents[1] / "mst" / "data" / "corpora" / "cello_suites"


def test_book_parameter_count_layers_and_outputs():
    model = build_attention_rnn(387, 18, seed=0)
    assert model.count_params() == 1_138_122
    counts = {layer.name: layer.count_params() for layer in model.layers if layer.count_params()}
    assert counts == {"pitch_embedding": 38_700, "duration_embedding": 1_800, "lstm_1": 467_968, "lstm_2": 525_312,
                      "attention": 257, "pitch_head": 99_459, "duration_head": 4_626}
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    assert [i.dtype for i in model.inputs] == ["int32", "int32"]
    x = np.random.default_rng(0).integers(0, 18, (3, 20)).astype("int32")
    out = model({"pitch": x, "duration": x})
    np.testing.assert_allclose(np.sum(out["attention"], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.sum(out["pitch"], axis=1), 1.0, rtol=1e-5)
    assert tuple(out["attention"].shape) == (3, 20)  # the sequence length is free
    assert any(isinstance(layer, keras.layers.Dropout) for layer in build_attention_rnn(10, 5, dropout=0.2).layers)


def test_attention_layer_is_the_weighted_sum_and_round_trips(tmp_path):
    layer = SingleQueryAttention(kernel_seed=3)
    hidden = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    context, alpha = layer(hidden)
    scores = np.tanh(hidden @ layer.score.kernel.numpy() + layer.score.bias.numpy())[..., 0]
    expected = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    np.testing.assert_allclose(alpha, expected, rtol=1e-5)
    np.testing.assert_allclose(context, (hidden * expected[..., None]).sum(1), rtol=1e-5)
    model = build_attention_rnn(12, 6, embedding_size=4, rnn_units=8, seed=2)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = {"pitch": np.ones((1, 32), "int32"), "duration": np.ones((1, 32), "int32")}
    np.testing.assert_allclose(again(x)["pitch"], model(x)["pitch"], rtol=1e-6)


def _rig_pitch_head(model, favourite: int, second: int | None = None):
    head = model.get_layer("pitch_head")
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    bias = np.zeros(head.bias.shape, "float32")
    bias[favourite] = 20.0
    if second is not None:
        bias[second] = 10.0
    head.bias.assign(bias)


def test_in_graph_sampling_is_seeded_greedy_matches_next_token_and_stops_on_start():
    model = build_attention_rnn(30, 8, embedding_size=4, rnn_units=8, seed=5)
    sample = sampling.make_sample_function(model, (30, 8))
    next_token = sampling.make_next_token_function(model)
    empty = tf.constant([], tf.int32)

    def run(length, t, seed, seed_pitch=empty, seed_duration=empty):
        return sample(seed_pitch, seed_duration, tf.constant(length), tf.constant(t), tf.constant(t), tf.constant(seed, tf.int64))

    a, b, c = run(40, 1.0, 1), run(40, 1.0, 1), run(40, 1.0, 2)
    assert a["pitch"].numpy().tolist() == b["pitch"].numpy().tolist() and a["pitch"].numpy().tolist() != c["pitch"].numpy().tolist()
    assert nt.UNK_INDEX not in a["pitch"].numpy() and not set(a["duration"].numpy()) & {nt.START_INDEX, nt.UNK_INDEX}
    # T = 0 is argmax; it equals a Python loop over next_token with the same masking.
    greedy = run(12, 0.0, 0, tf.constant([5, 6], tf.int32), tf.constant([3, 4], tf.int32))
    window_p, window_d = [0] * 30 + [5, 6], [0] * 30 + [3, 4]
    expected = []
    for _ in range(len(greedy["pitch"])):
        out = next_token(tf.constant([window_p[-32:]]), tf.constant([window_d[-32:]]))
        p = out["pitch_probabilities"].numpy()[0]
        d = out["duration_probabilities"].numpy()[0]
        p[nt.UNK_INDEX] = d[nt.START_INDEX] = d[nt.UNK_INDEX] = -1
        expected.append(int(p.argmax()))
        window_p.append(expected[-1])
        window_d.append(int(d.argmax()))
    assert greedy["pitch"].numpy().tolist() == expected
    assert greedy["attention"].shape == (len(expected), 32)
    # A model that always predicts START generates nothing; one preferring <unk> never draws it.
    _rig_pitch_head(model, nt.START_INDEX)
    stopped = run(10, 0.0, 0)
    assert stopped["pitch"].shape[0] == 0 and bool(stopped["stopped_on_start"])
    _rig_pitch_head(model, nt.UNK_INDEX, second=5)
    assert run(10, 0.0, 0)["pitch"].numpy().tolist() == [5] * 10


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny preset trained with a learning rate too small to change a float32 weight: validation
    never improves after epoch 1, so patience 1 stops the run after epoch 2 (of 4), across a resume."""
    root = tmp_path_factory.mktemp("arnn")
    data_dir, run_dir = root / "data", root / "run"
    prepare_dataset({"cello": CORPUS}, data_dir, NoteTokenEncoder(), partition_by="corpus", test_ratio=0.2)
    config = registry.get_config("attention_rnn_tiny", ["learning_rate=1e-12", "epochs=4", "patience=1", "steps_per_epoch=2", "sample_every_epochs=2"])
    first = train(config, data_dir, run_dir, RunOptions(verbose=0, max_steps=3), preset="attention_rnn_tiny")
    second = train(config, data_dir, run_dir, RunOptions(verbose=0), preset="attention_rnn_tiny")
    third = train(config, data_dir, run_dir, RunOptions(verbose=0), preset="attention_rnn_tiny")
    return data_dir, run_dir, (first, second, third)


def test_validation_best_checkpoint_and_early_stopping_survive_a_resume(trained):
    data_dir, run_dir, (first, second, third) = trained
    assert (first.final_step, first.total_steps, first.early_stopped) == (3, 3, False)  # max_steps caps the plan
    assert (second.start_step, second.final_step, second.early_stopped, second.total_steps) == (3, 4, True, 8)
    assert second.finished and second.export_dir == run_dir / "export"
    assert (third.start_step, third.final_step, third.early_stopped) == (4, 4, True)  # nothing left to do
    best = json.loads((run_dir / "best.json").read_text())
    assert (best["epoch"], best["global_step"], best["monitor"]) == (0, 2, "val_loss")
    epochs = json.loads((run_dir / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert epochs[0]["val_loss"] == pytest.approx(epochs[0]["val_pitch_loss"] + epochs[0]["val_duration_loss"], rel=1e-5)
    assert epochs[1]["val_loss"] == epochs[0]["val_loss"] == best["value"]
    assert (run_dir / "tensorboard" / "validation").is_dir() and (run_dir / "loss_curves.png").is_file()
    assert (run_dir / "samples" / "epoch_0002.mid").is_file() and (run_dir / "samples" / "epoch_0002_attention.png").is_file()
    assert (run_dir / "export_best" / "export.json").is_file()


def test_export_loads_without_mst_and_matches_the_run(trained, tmp_path):
    data_dir, run_dir, _ = trained
    export = run_dir / "export_best"
    info = json.loads((export / "export.json").read_text())
    vocabulary = nt.Vocabulary.from_dict(json.loads((export / "vocabulary.json").read_text())["vocabulary"])
    assert info["kind"] == "attention_rnn" and info["vocabulary_sizes"] == {"pitch": vocabulary.sizes[0], "duration": vocabulary.sizes[1]}
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        m = tf.saved_model.load({str(export / 'saved_model')!r})
        out = m.sample(tf.constant([], tf.int32), tf.constant([], tf.int32), tf.constant(20), tf.constant(0.5), tf.constant(0.5), tf.constant(7, tf.int64))
        nxt = m.next_token(tf.zeros([2, 32], tf.int32), tf.zeros([2, 32], tf.int32))
        voc = m.vocabulary()
        print(json.dumps({{"pitch": out["pitch"].numpy().tolist(), "mst": any(k.startswith("mst") for k in sys.modules),
                          "shape": nxt["pitch_probabilities"].shape.as_list(), "vocab": [t.decode() for t in voc["pitch"].numpy()]}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["mst"] is False and result["shape"] == [2, vocabulary.sizes[0]] and tuple(result["vocab"]) == vocabulary.pitch
    # The same seed gives the same tokens from the SavedModel, the .keras file and the run's best checkpoint.
    empty = tf.constant([], tf.int32)
    args = (empty, empty, tf.constant(20), tf.constant(0.5), tf.constant(0.5), tf.constant(7, tf.int64))
    for source in (export / "attention_rnn.keras", run_dir):
        loaded = load_attention_rnn(source)
        assert loaded.sample(*args)["pitch"].numpy().tolist() == result["pitch"], source
    keras_model = keras.saving.load_model(export / "attention_rnn.keras", safe_mode=True)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in keras_model.layers)


def test_generate_cli_writes_midi_tokens_and_pngs(trained, tmp_path):
    _, run_dir, _ = trained
    out = tmp_path / "x.mid"
    seed_file = sorted(CORPUS.glob("*.mid"))[0]
    status = attention_rnn_generate.main(["--model", str(run_dir / "export_best"), "--temperature", "1.0", "--length", "30", "--out", str(out),
                                          "--seed-midi", str(seed_file), "--seed-tokens", "8", "--png"])
    assert status == 0
    tokens = json.loads(out.with_suffix(".tokens.json").read_text())
    assert len(tokens["seed"]["pitch"]) == 8 and 1 <= len(tokens["generated"]["pitch"]) <= 30
    pitch = tokens["seed"]["pitch"] + tokens["generated"]["pitch"]
    expected_notes = sum(len(nt.token_pitches(t)) for t in pitch)
    assert len(read_midi(out).notes) == expected_notes and set(read_midi(out).notes["program"]) == {42}
    for suffix in (".png", "_attention.png", "_pitch_probabilities.png"):
        assert (tmp_path / f"x{suffix}").stat().st_size > 2000
    assert attention_rnn_generate.main(["--model", str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_evaluate_cli_reproduces_the_validation_loss(trained, tmp_path):
    data_dir, run_dir, _ = trained
    status = attention_rnn_evaluation.main(["--model", str(run_dir / "export_best"), "--data", str(data_dir), "--out", str(tmp_path / "r"),
                                            "--samples", "2", "--length", "20", "--temperatures", "0.5,1", "--no-png"])
    assert status == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    best = json.loads((run_dir / "best.json").read_text())
    assert results["likelihood"]["loss"] == pytest.approx(best["value"], rel=1e-4)
    assert results["likelihood"]["pitch"]["perplexity"] == pytest.approx(np.exp(best["values"]["val_pitch_loss"]), rel=1e-3)
    assert set(results["samples"]) == {"0.5", "1"} and results["samples"]["1"]["pieces"] == 2
    held = results["heldout"]
    assert held["pitch_class_overlap"] == pytest.approx(1.0) and held["longest_copy_max"] >= 1


def test_memorisation_and_histogram_metrics():
    index = attention_rnn_evaluation.CopyIndex([[("C4", "1")] * 3 + [("D4", "1"), ("E4", "1/2")]])
    assert index.longest_copy([("D4", "1"), ("E4", "1/2"), ("C4", "1")]) == 2
    assert index.longest_copy([("C4", "1")] * 5) == 3 and index.longest_copy([]) == 0
    p = np.array([0.5, 0.5, 0.0])
    assert attention_rnn_evaluation.overlap(p, np.array([0.0, 0.0, 1.0])) == 0.0
    assert attention_rnn_evaluation.kl_divergence(p, np.zeros(3)) == float("inf")  # an empty output cannot score
