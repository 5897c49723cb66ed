"""Tests for mst.models.genre_classifier.genre_classifier_evaluation: accuracy under σ_C, the one noise
function, and that the training-time monitor and the evaluate.py table give the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan.cyclegan_evaluation import TestPhrases
from mst.models.genre_classifier import genre_classifier_evaluation as accuracy_table
from testing import GENRE_A, GENRE_B, keras_models, pair_phrases, register_logits, register_phrases, rigged_classifier, write_dataset


def test_classifier_accuracy_without_noise_and_the_thesis_row():
    accuracy = accuracy_table.classifier_accuracy(rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B), sigmas=(0.0,))
    assert accuracy.accuracy[0.0] == pytest.approx(700 / 9)
    assert accuracy.per_genre[0.0] == {GENRE_A: 80.0, GENRE_B: 75.0}
    assert accuracy.thesis_row()[0.5] == 70.28
    text = accuracy_table.format_classifier_report(accuracy)
    assert "thesis Table 5.1 (%) | 84.66" in text and "77.78" in text


def test_noise_is_the_authors_sigma_in_the_signed_scale_and_seeded():
    seen = []

    def recording_logits(x):
        seen.append(np.array(x))
        return register_logits(x)

    classifier = evaluation.as_classifier(recording_logits, output="logits", genres=(GENRE_A, GENRE_B))
    a, b = pair_phrases(GENRE_A), pair_phrases(GENRE_B)
    accuracy_table.classifier_accuracy(classifier, a, b, sigmas=(0.3,), seed=7)
    # The first call holds class 0 (genre A) first, as the training monitor reads the phrases.
    noise = 2 * seen[0][: len(a), ..., 0] - 1 - (2 * a.rolls.astype(np.float32) - 1)  # in the −1/+1 scale
    assert noise.std() == pytest.approx(0.3, rel=0.02) and abs(noise.mean()) < 0.01
    first = accuracy_table.classifier_accuracy(rigged_classifier(), a, b, sigmas=(0.5, 2.0), seed=7)
    again = accuracy_table.classifier_accuracy(rigged_classifier(), a, b, sigmas=(2.0,), seed=7, batch_size=2)
    assert again.accuracy[2.0] == first.accuracy[2.0]  # independent of the other levels and the batch size
    ClassifierAccuracy = accuracy_table.ClassifierAccuracy
    assert ClassifierAccuracy.from_dict(json.loads(json.dumps(first.to_dict()))).accuracy == first.accuracy


def test_huge_noise_drives_accuracy_towards_chance():
    a = TestPhrases.from_rolls(GENRE_A, register_phrases(40, True, 11))
    b = TestPhrases.from_rolls(GENRE_B, register_phrases(40, False, 12))
    accuracy = accuracy_table.classifier_accuracy(rigged_classifier(), a, b, sigmas=(0.0, 50.0), seed=1)
    assert accuracy.accuracy[0.0] == 100.0 and 25.0 < accuracy.accuracy[50.0] < 75.0


def test_noise_seeds_follow_the_monitored_levels_and_the_evaluation_seed():
    x = np.zeros((3, 64, 84, 1), np.float32)
    assert accuracy_table.noisy_phrases(x, 0.0, 0, 0) is x
    streams = {accuracy_table.noise_index(sigma) for sigma in accuracy_table.SIGMA_C_LEVELS}
    assert streams == set(range(6)) and accuracy_table.noise_index(0.5, (0.0, 0.5)) == 1
    base = np.asarray(accuracy_table.noisy_phrases(x, 0.2, 1, 3))
    assert not np.array_equal(base, np.asarray(accuracy_table.noisy_phrases(x, 0.2, 1, 3, seed=1)))
    assert np.array_equal(base, np.asarray(accuracy_table.noisy_phrases(x, 0.2, 1, 3, seed=0)))
    with pytest.raises(ValueError, match=">= 0"):
        accuracy_table.noisy_phrases(x, -0.1, 0, 0)


def _training_monitor(model, config, data_dir, run_dir):
    """The classifier trainer's per-epoch evaluation, as ``train.py`` builds it."""
    from mst.models.genre_classifier.genre_classifier_task import ClassifierEvaluation
    from mst.runtime import import_tensorflow
    from mst.training.checkpointing import TrainingState

    return ClassifierEvaluation(model, config, data_dir, run_dir, TrainingState(), import_tensorflow().distribute.get_strategy())


def test_training_monitor_and_evaluate_table_agree_for_the_same_weights(tmp_path):
    """An export of the weights (what train.py writes at the end): every σ_C, also one the table
    asks for in another order, gives the monitor's accuracy."""
    import keras

    from mst.models.genre_classifier import genre_classifier_export
    from mst.models.genre_classifier.genre_classifier_presets import ClassifierConfig

    data = write_dataset(tmp_path / "data")
    config = ClassifierConfig(genre_a=GENRE_A, genre_b=GENRE_B, sigma_c_eval=(2.0, 0.5))
    classifier = keras_models(keras)[2]
    export_dir = genre_classifier_export.export_classifier(classifier, tmp_path / "export", config=config)
    monitor = _training_monitor(classifier, config, data, tmp_path / "run").accuracies()
    table, files = accuracy_table.run_classifier_evaluation(export_dir, data, tmp_path / "report", sigmas=(0.5, 0.0, 2.0))
    assert set(monitor) == {0.0, 2.0, 0.5}
    for sigma, fraction in monitor.items():
        assert table.accuracy[sigma] == 100.0 * fraction, sigma
    assert len(set(table.accuracy.values())) > 1  # the noise changes predictions: the comparison can fail
    assert files["report"].is_file()


def test_training_monitor_and_evaluate_table_agree_for_a_run_checkpoint(tmp_path):
    """A classifier run folder's checkpoint, loaded by evaluate.py classifier, scores as the monitor did."""
    from mst import registry
    from mst.models.genre_classifier.genre_classifier import build_classifier_for
    from mst.models.genre_classifier.genre_classifier_presets import ClassifierConfig
    from mst.runtime import import_tensorflow
    from mst.training.run_dir import CHECKPOINT_DIR_NAME

    tf = import_tensorflow()
    data = write_dataset(tmp_path / "data")
    run = tmp_path / "run"
    config = ClassifierConfig(genre_a=GENRE_A, genre_b=GENRE_B, filters=2, sigma_c_eval=(1.0, 3.0))
    registry.save_config(config, run / "config.json")
    model = build_classifier_for(config)
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(run / CHECKPOINT_DIR_NAME), max_to_keep=1).save(checkpoint_number=1)
    monitor = _training_monitor(model, config, data, run).accuracies()
    table, _ = accuracy_table.run_classifier_evaluation(run, data, tmp_path / "report", sigmas=(3.0, 1.0, 0.0))
    for sigma, fraction in monitor.items():
        assert table.accuracy[sigma] == 100.0 * fraction, sigma
    assert table.info["classifier"]["checkpoint"] == "last"


def test_docstring_examples():
    import doctest

    result = doctest.testmod(accuracy_table)
    assert result.failed == 0 and result.attempted > 0
