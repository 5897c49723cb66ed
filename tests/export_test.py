"""Tests for mst.export: SavedModel endpoints without mst, .keras round trips, and every loader input."""

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

from mst import export
from mst.models.genre_classifier import genre_classifier_export
from mst.models.cyclegan import cyclegan_export as cyclegan_exports
from mst import registry
from mst.encodings import pianoroll
from mst.runtime import import_tensorflow
from mst.training.checkpointing import RunCheckpointer, TrainingState
from mst.models.genre_classifier.genre_classifier_task import build_compiled_classifier
from mst.models.cyclegan.cyclegan_task import build_compiled_cyclegan

tf = import_tensorflow()

# Keras' own .keras/SavedModel writers convert variables with np.array(copy=False) (numpy 2 warns).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def binary_phrases(count: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((count, 64, 84, 1)) < 0.08).astype(np.float32)


@pytest.fixture(scope="module")
def cyclegan_export(tmp_path_factory):
    """A tiny CycleGAN after one training step, exported, plus a run folder with its checkpoint."""
    root = tmp_path_factory.mktemp("cyclegan_export")
    config = registry.get_config("cyclegan_tiny")
    model = build_compiled_cyclegan(config, steps_per_epoch=4)
    batch = binary_phrases(config.batch_size, 1)
    model.train_step({"a": batch, "b": binary_phrases(config.batch_size, 2), "m": batch})
    export_dir = cyclegan_exports.export_cyclegan(model, root / "export", config=config, global_step=1, preset="cyclegan_tiny")
    run_dir = root / "run"
    registry.save_config(config, run_dir / "config.json")
    state = TrainingState()
    state.global_step.assign(1)
    RunCheckpointer(run_dir, model, {"generator_optimizer": model.generator_optimizer, "discriminator_optimizer": model.discriminator_optimizer}, state).save()
    phrases = binary_phrases(5, 5)  # the classifier fixture uses the same phrases
    expected = {direction: np.asarray(model.generator(direction)(phrases, training=False)) for direction in ("a2b", "b2a")}
    return {"root": root, "export": export_dir, "run": run_dir, "phrases": phrases, "expected": expected, "model": model}


@pytest.fixture(scope="module")
def classifier_export(tmp_path_factory):
    """A tiny classifier exported, and a run folder whose best and last checkpoints differ."""
    root = tmp_path_factory.mktemp("classifier_export")
    config = registry.get_config("classifier_tiny")
    model = build_compiled_classifier(config, steps_per_epoch=4)
    x, y = binary_phrases(8, 4), np.array([0, 1] * 4)
    run_dir = root / "run"
    registry.save_config(config, run_dir / "config.json")
    best = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(run_dir / "best"), max_to_keep=1, checkpoint_name="best")
    phrases = binary_phrases(5, 5)
    best.save(checkpoint_number=1)
    best_probabilities = tf.nn.softmax(model(phrases)).numpy()
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False)
    state = TrainingState()
    state.global_step.assign(6)
    RunCheckpointer(run_dir, model, {"optimizer": model.optimizer}, state).save()
    export_dir = genre_classifier_export.export_classifier(model, root / "export", config=config, info={"checkpoint": "last"})
    last_probabilities = tf.nn.softmax(model(phrases)).numpy()
    assert not np.allclose(best_probabilities, last_probabilities)
    return {"export": export_dir, "run": run_dir, "phrases": phrases, "last": last_probabilities, "best": best_probabilities}


CLEAN_PROCESS_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.modules["mst"] = None  # any attempt to import mst (or a custom Keras object) now fails
    import numpy as np
    import tensorflow as tf
    generators = tf.saved_model.load(sys.argv[1])
    classifier = tf.saved_model.load(sys.argv[2])
    phrases = tf.constant(np.load(sys.argv[3]))
    result = {"signatures": {}}
    for name, loaded in (("a2b", generators), ("b2a", generators), ("classify", classifier)):
        signature = loaded.signatures[name]
        _, inputs = signature.structured_input_signature
        spec = inputs["phrases"]
        result["signatures"][name] = {"inputs": sorted(inputs), "shape": spec.shape.as_list(), "dtype": spec.dtype.name,
                                      "outputs": sorted(signature.structured_outputs)}
    outputs = {f"{d}_{key}": value.numpy() for d in ("a2b", "b2a") for key, value in getattr(generators, d)(phrases).items()}
    outputs["classify_probabilities"] = classifier.classify(phrases)["probabilities"].numpy()
    np.savez(sys.argv[4], **outputs)
    result["mst_importable"] = "mst" in sys.modules and sys.modules["mst"] is not None
    print(json.dumps(result))
    """
)


def test_saved_models_load_and_run_in_a_process_without_mst(cyclegan_export, classifier_export, tmp_path):
    np.save(tmp_path / "phrases.npy", cyclegan_export["phrases"])
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    completed = subprocess.run(
        [sys.executable, "-c", CLEAN_PROCESS_SCRIPT, str(cyclegan_export["export"] / "saved_model"), str(classifier_export["export"] / "saved_model"),
         str(tmp_path / "phrases.npy"), str(tmp_path / "outputs.npz")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["mst_importable"] is False
    for name in ("a2b", "b2a"):
        assert result["signatures"][name] == {"inputs": ["phrases"], "shape": [None, 64, 84, 1], "dtype": "float32", "outputs": ["probabilities", "roll"]}
    assert result["signatures"]["classify"]["outputs"] == ["probabilities"]
    outputs = np.load(tmp_path / "outputs.npz")
    for direction in ("a2b", "b2a"):
        probabilities = outputs[f"{direction}_probabilities"]
        np.testing.assert_allclose(probabilities, cyclegan_export["expected"][direction], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(outputs[f"{direction}_roll"], pianoroll.binarize(probabilities))
        assert set(np.unique(outputs[f"{direction}_roll"])) <= {0.0, 1.0}
    np.testing.assert_allclose(outputs["classify_probabilities"], classifier_export["last"], atol=1e-6)
    np.testing.assert_allclose(outputs["classify_probabilities"].sum(axis=1), 1.0, atol=1e-6)


def test_keras_files_reload_in_safe_mode_with_identical_outputs(cyclegan_export):
    folder, phrases = cyclegan_export["export"], cyclegan_export["phrases"]
    for direction in ("a2b", "b2a"):
        generator = keras.saving.load_model(folder / f"generator_{direction}.keras", safe_mode=True)
        np.testing.assert_array_equal(np.asarray(generator(phrases, training=False)), cyclegan_export["expected"][direction])
    full = keras.saving.load_model(folder / "cyclegan.keras", safe_mode=True)
    np.testing.assert_array_equal(full.transfer(phrases, "b2a"), cyclegan_export["expected"]["b2a"])
    info = json.loads((folder / "export.json").read_text())
    assert info["kind"] == "cyclegan" and info["genre_a"] == "jazz" and info["genre_b"] == "classical" and info["global_step"] == 1
    assert info["endpoints"]["a2b"]["input"] == {"name": "phrases", "shape": [None, 64, 84, 1], "dtype": "float32", "values": "{0, 1}"}


def test_load_generators_accepts_every_saved_form(cyclegan_export):
    folder, run, expected, phrases = cyclegan_export["export"], cyclegan_export["run"], cyclegan_export["expected"], cyclegan_export["phrases"]
    forms = {
        "export folder": (folder, "saved_model", 1e-6),
        "SavedModel": (folder / "saved_model", "saved_model", 1e-6),
        "generator .keras": (folder / "generator_b2a.keras", "keras", 0),
        "cyclegan .keras": (folder / "cyclegan.keras", "keras", 0),
        "run folder": (run, "checkpoint", 0),
        "checkpoint prefix": (run / "checkpoints" / "ckpt-1", "checkpoint", 0),
        "checkpoint index file": (run / "checkpoints" / "ckpt-1.index", "checkpoint", 0),
    }
    for label, (path, kind, tolerance) in forms.items():
        pair = cyclegan_exports.load_generators(path)
        assert pair.kind == kind, label
        assert sorted(dict(pair)) == ["a2b", "b2a"], label
        for direction in ("a2b", "b2a"):
            np.testing.assert_allclose(pair.transfer(phrases, direction), expected[direction], rtol=0, atol=tolerance, err_msg=label)
        assert (pair.genre_a, pair.genre_b) == ("jazz", "classical"), label


def test_loaders_reject_the_wrong_kind_of_model(cyclegan_export, classifier_export, tmp_path):
    with pytest.raises(export.ExportError, match="is a classifier export, not a CycleGAN"):
        cyclegan_exports.load_generators(classifier_export["export"])
    with pytest.raises(export.ExportError, match="is a cyclegan export, not a classifier"):
        genre_classifier_export.load_classifier(cyclegan_export["export"])
    with pytest.raises(export.ExportError, match="ClassifierConfig run, not a CycleGAN run"):
        cyclegan_exports.load_generators(classifier_export["run"])
    with pytest.raises(export.ExportError, match="neither an export folder"):
        cyclegan_exports.load_generators(tmp_path)
    with pytest.raises(FileNotFoundError):
        cyclegan_exports.load_generators(tmp_path / "missing")
    with pytest.raises(export.ExportError, match="no 'a2b'|no \\['a2b', 'b2a'\\]"):
        cyclegan_exports.load_generators(classifier_export["export"] / "saved_model")


def test_load_classifier_from_export_keras_and_run_folder_best_and_last(classifier_export):
    phrases = classifier_export["phrases"]
    exported = genre_classifier_export.load_classifier(classifier_export["export"])
    assert (exported.kind, exported.genre_a, exported.genre_b) == ("saved_model", "jazz", "classical")
    np.testing.assert_allclose(exported(phrases), classifier_export["last"], atol=1e-6)
    np.testing.assert_allclose(genre_classifier_export.load_classifier(classifier_export["export"] / "saved_model")(phrases[..., 0]), classifier_export["last"], atol=1e-6)
    np.testing.assert_allclose(genre_classifier_export.load_classifier(classifier_export["export"] / "classifier.keras")(phrases), classifier_export["last"], atol=1e-6)
    last = genre_classifier_export.load_classifier(classifier_export["run"])
    assert (last.kind, last.genre_a, last.genre_b) == ("checkpoint", "jazz", "classical")
    np.testing.assert_allclose(last(phrases, batch_size=2), classifier_export["last"], atol=1e-6)
    np.testing.assert_allclose(genre_classifier_export.load_classifier(classifier_export["run"], which="best")(phrases), classifier_export["best"], atol=1e-6)
    with pytest.raises(ValueError, match="phrases must be"):
        last(np.zeros((2, 64, 83)))


def test_export_replaces_an_old_export_without_leftovers(cyclegan_export):
    root, model = cyclegan_export["root"], cyclegan_export["model"]
    target = root / "again"
    cyclegan_exports.export_cyclegan(model, target, global_step=1)
    (target / "stale_file").write_text("from an older export")
    cyclegan_exports.export_cyclegan(model, target, global_step=2)
    assert sorted(p.name for p in target.iterdir()) == ["cyclegan.keras", "export.json", "generator_a2b.keras", "generator_b2a.keras", "saved_model"]
    assert json.loads((target / "export.json").read_text())["global_step"] == 2
    assert not [p.name for p in root.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_export_run_exports_the_newest_checkpoint(cyclegan_export, classifier_export):
    written = export.export_run(cyclegan_export["run"])
    assert written == [cyclegan_export["run"] / "export"]
    assert json.loads((written[0] / "export.json").read_text())["global_step"] == 1
    pair = cyclegan_exports.load_generators(written[0])
    np.testing.assert_allclose(pair.transfer(cyclegan_export["phrases"], "a2b"), cyclegan_export["expected"]["a2b"], atol=1e-6)
    written = export.export_run(classifier_export["run"])
    assert [p.name for p in written] == ["export", "export_best"]
    np.testing.assert_allclose(genre_classifier_export.load_classifier(written[1])(classifier_export["phrases"]), classifier_export["best"], atol=1e-6)
    with pytest.raises(export.ExportError, match="not a training run folder"):
        export.export_run(Path(cyclegan_export["root"]) / "export")
