"""Tests for mst.models.cyclegan.cyclegan_evaluation: the classifier table, S^D_tot, ranking, metrics,
collapse statistics, test phrases, model descriptions and results files.

The rigged data and models (``tests/testing.py``) make every number known in advance: the swap
model gives A 80, A→B 20, A→B→A 80, B 75, B→A 25, B→A→B 75, hence S^D_tot = 55.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan.cyclegan_evaluation import EvaluationError, EvaluationInputError, TestPhrases
from mst.models.cyclegan.strength import rank_transfers
from testing import (
    GENRE_A,
    GENRE_B,
    IDENTITY,
    SILENT,
    SWAP,
    genre_test_phrases,
    pair_phrases,
    register_logits,
    rigged_classifier,
    swap_registers,
    write_dataset,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("eval_data") / "prepared")


@pytest.fixture(scope="module")
def swap_run():
    return evaluation.evaluate_transfer(SWAP, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B), info={"variant": "base", "sigma_d": 0.1, "label": "swap"})


# --------------------------------------------------------------------------- the classifier table


def test_identity_generator_leaves_every_row_as_its_origin_and_strength_zero():
    run = evaluation.evaluate_transfer(IDENTITY, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    cells = run.result.table().as_dict()
    assert cells["A→B"] == cells["A"] == cells["A→B→A"] == 80.0
    assert cells["B→A"] == cells["B"] == cells["B→A→B"] == 75.0
    assert run.result.strength() == (0.0, 0.0, 0.0)
    content = run.result.a2b.metric_summary()
    assert content["onset_f1"]["mean"] == 1.0 and content["content_difference"]["mean"] == 0.0 and content["cycle_l1"]["mean"] == 0.0


def test_swap_generator_with_rigged_classifier_gives_the_predicted_table(swap_run):
    result = swap_run.result
    assert result.table().as_dict() == {"A": 80.0, "A→B": 20.0, "A→B→A": 80.0, "B": 75.0, "B→A": 25.0, "B→A→B": 75.0}
    strength = result.strength()
    assert (strength.a_to_b, strength.b_to_a, strength.total) == (60.0, 50.0, 55.0)
    means = result.table("mean_probability").as_dict()  # saturated softmax: means equal the shares
    assert means["A→B"] == pytest.approx(20.0, abs=1e-6) and means["B"] == pytest.approx(75.0, abs=1e-6)
    # Register swap: nothing of the origin survives in the transfer, the cycle restores it exactly.
    a2b = result.a2b.metric_summary()
    assert a2b["onset_f1"]["mean"] == 0.0 and a2b["pianoroll_jaccard"]["mean"] == 0.0
    assert a2b["cycle_l1"]["mean"] == 0.0 and a2b["cycle_onset_f1"]["mean"] == 1.0
    # Octave-blind pitch classes: rolling by 42 semitones moves every pitch class by 6 (a tritone).
    assert a2b["pitch_class_cosine"]["mean"] < 1.0


def test_cycle_comes_from_the_continuous_transfer_before_binarizing():
    # a2b outputs 0.3 where a note was; binarized that is silence, but the continuous 0.3 fed to
    # b2a (×3) gives 0.9 again. Binarizing first would lose the notes in the cycle.
    model = {"a2b": lambda x: np.asarray(x, np.float32) * 0.3, "b2a": lambda x: np.clip(np.asarray(x, np.float32) * 3.0, 0, 1)}
    x = genre_test_phrases(GENRE_A)
    transfer, cycle, l1 = evaluation.transfer_and_cycle(model, x, "a2b")
    assert not transfer.any()
    np.testing.assert_array_equal(cycle, x)
    np.testing.assert_allclose(l1, 0.1 * x.mean(axis=(1, 2)), rtol=1e-5)


def test_batch_size_does_not_change_the_results(swap_run):
    one_by_one = evaluation.evaluate_transfer(SWAP, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B), batch_size=1)
    np.testing.assert_array_equal(one_by_one.result.a2b.p_transfer, swap_run.result.a2b.p_transfer)
    np.testing.assert_array_equal(one_by_one.outputs["b2a"].cycle, swap_run.outputs["b2a"].cycle)


def test_swapped_classifier_class_order_is_mapped_by_genre_name():
    def reversed_logits(x):
        return register_logits(x)[:, ::-1]

    classifier = evaluation.as_classifier(reversed_logits, output="logits", genres=(GENRE_B, GENRE_A))
    run = evaluation.evaluate_transfer(SWAP, classifier, pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    assert run.result.table().as_dict()["A→B"] == 20.0 and run.result.strength().total == 55.0
    assert run.result.info["classifier_class_of_genre"] == {GENRE_A: 1, GENRE_B: 0}
    assert any("reverse" in note for note in run.result.info["notes"])


def test_classifier_of_another_pair_is_rejected():
    with pytest.raises(EvaluationInputError, match="jazz vs pop"):
        evaluation.evaluate_transfer(SWAP, rigged_classifier(("jazz", "pop")), pair_phrases(GENRE_A), pair_phrases(GENRE_B))


def test_generator_output_shape_nan_and_one_direction_are_clear_errors():
    a, b = pair_phrases(GENRE_A), pair_phrases(GENRE_B)
    cropped = {"a2b": lambda x: np.asarray(x)[:, :32], "b2a": swap_registers}
    with pytest.raises(EvaluationError, match="a2b generator failed"):
        evaluation.evaluate_transfer(cropped, rigged_classifier(), a, b)
    diverged = {"a2b": lambda x: np.full(np.shape(x), np.nan, np.float32), "b2a": swap_registers}
    with pytest.raises(EvaluationError, match="NaN"):
        evaluation.evaluate_transfer(diverged, rigged_classifier(), a, b)
    with pytest.raises(EvaluationInputError, match="no b2a generator"):
        evaluation.evaluate_transfer({"a2b": swap_registers}, rigged_classifier(), a, b)


def test_classifier_with_wrong_output_shape_or_unknown_output_kind_fails_clearly():
    three_classes = evaluation.as_classifier(lambda x: np.zeros((len(x), 3)), output="logits")
    with pytest.raises(EvaluationError, match=r"\[N, 2\]"):
        evaluation.classify(three_classes, genre_test_phrases(GENRE_A))
    bare = evaluation.as_classifier(register_logits)
    with pytest.raises(EvaluationError, match="logits or probabilities"):
        evaluation.classify(bare, genre_test_phrases(GENRE_A))
    not_softmax = evaluation.as_classifier(lambda x: np.full((len(x), 2), 0.9), output="probabilities")
    with pytest.raises(EvaluationError, match="softmax"):
        evaluation.classify(not_softmax, genre_test_phrases(GENRE_A))
    with pytest.raises(EvaluationError, match=r"\[N, 64, 84"):
        evaluation.classify(rigged_classifier(), np.zeros((2, 64, 83)))


def test_ranking_follows_the_authors_order_and_matches_rank_transfers(swap_run):
    result, outputs = swap_run
    run = outputs["a2b"]
    expected = rank_transfers(run.phrases.rolls, run.transfer, run.probabilities.origin, run.probabilities.transfer, run.probabilities.cycle)
    rows = result.a2b.ranking_rows()
    assert [row["Id"] for row in rows] == expected.phrase_id.tolist()
    np.testing.assert_allclose([row["Content_diff"] for row in rows], expected.content_diff)
    changes = [row["|P_O - P_T|"] for row in rows]
    assert changes == sorted(changes, reverse=True)
    assert rows[-1]["Id"] == 4  # the odd (high-register) classical phrase: P_A ≈ 0 before and after
    assert rows[0]["song_id"] == "phrase" and isinstance(rows[0]["phrase_index"], int)


def test_distribution_of_transfers_moves_to_the_target_register(swap_run):
    comparisons = swap_run.result.distribution["a2b"]
    transfer, source = comparisons["transfer_vs_target"]["mean_pitch"], comparisons["source_vs_target"]["mean_pitch"]
    assert transfer["overlap_area"] > source["overlap_area"] + 0.3
    assert transfer["kl_divergence"] < source["kl_divergence"]
    sets = swap_run.result.set_metrics
    assert set(sets) == set(evaluation.SET_LABELS)
    assert sets["A→B"]["mean_pitch"]["mean"] > sets["A"]["mean_pitch"]["mean"] + 20
    assert sets["A→B→A"]["mean_pitch"]["mean"] == pytest.approx(sets["A"]["mean_pitch"]["mean"])


def test_real_keras_builders_run_through_the_evaluation():
    from mst.models.cyclegan.cyclegan_generator import build_generator
    from mst.models.genre_classifier.genre_classifier import build_genre_classifier

    generator = build_generator(filters=2, num_residual_blocks=1, seed=0, name="g")
    classifier = build_genre_classifier(filters=2, seed=0, name="c")
    a = TestPhrases.from_rolls(GENRE_A, genre_test_phrases(GENRE_A)[:3])
    b = TestPhrases.from_rolls(GENRE_B, genre_test_phrases(GENRE_B)[:2])
    run = evaluation.evaluate_transfer({"a2b": generator, "b2a": generator}, classifier, a, b, classifier_genres=(GENRE_A, GENRE_B), batch_size=2)
    probabilities = run.outputs["a2b"].probabilities
    assert len(probabilities) == 3 and np.all((probabilities.transfer >= 0) & (probabilities.transfer <= 1))
    # The classifier's own logits through softmax equal what the evaluation used.
    logits = classifier.predict(a.rolls[..., None].astype(np.float32), verbose=0)
    expected = np.exp(logits[:, 0]) / np.exp(logits).sum(axis=1)
    np.testing.assert_allclose(probabilities.origin, expected, rtol=1e-5)
    # The generator, called by the evaluation in batches of 2, gives what it gives on its own.
    direct = np.asarray(generator(a.rolls[..., None].astype(np.float32), training=False))
    np.testing.assert_array_equal(run.outputs["a2b"].transfer, direct[..., 0] > 0.5)


# --------------------------------------------------------------------------- collapse statistics


def test_a_silent_model_raises_every_collapse_warning_and_an_identity_none():
    silent = evaluation.evaluate_transfer(SILENT, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B)).result
    stats = silent.collapse["a2b"]
    assert stats["nonempty_transfer"] == 0.0 and stats["cycle_auc"] == 0.5 and stats["cycle_l1"] == stats["cycle_l1_zero_floor"]
    warnings = silent.collapse_warnings()
    for direction in ("a2b (classical→pop)", "b2a (pop→classical)"):
        assert f"{direction}: 100% of transfers are silent" in warnings
        assert any(w.startswith(f"{direction}: the cycle is no better than silence") for w in warnings)
    identity = evaluation.evaluate_transfer(IDENTITY, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B)).result
    assert identity.collapse_warnings() == []
    stats = identity.collapse["b2a"]
    assert stats["cycle_l1"] == 0.0 and stats["cycle_auc"] == 1.0 and stats["pitch_class_own"] == pytest.approx(1.0)
    assert stats["pitch_class_own"] > stats["pitch_class_other"] and stats["onset_f1_own"] == 1.0
    assert stats["transfer_sameness"] < 0.5 and stats["density_ratio"] == 1.0


def test_collapse_statistics_use_the_continuous_outputs_and_the_real_target_phrases():
    from mst.metrics.collapse import collapse_statistics

    soft = {"a2b": lambda x: np.asarray(x, np.float32) * 0.8, "b2a": lambda x: np.asarray(x, np.float32) * 0.8}
    a, b = pair_phrases(GENRE_A), pair_phrases(GENRE_B)
    result = evaluation.evaluate_transfer(soft, rigged_classifier(), a, b).result
    x = a.rolls.astype(np.float32)
    expected = collapse_statistics(x, transfer=0.8 * x, cycle=0.64 * x, target=b.rolls)
    assert result.collapse["a2b"] == pytest.approx(expected)
    assert result.collapse["a2b"]["cycle_l1"] == pytest.approx(0.36 * x.mean())  # continuous, not binarized (0)


def test_collapse_statistics_need_two_phrases_per_direction():
    one = TestPhrases.from_rolls(GENRE_A, genre_test_phrases(GENRE_A)[:1])
    result = evaluation.evaluate_transfer(IDENTITY, rigged_classifier(), one, pair_phrases(GENRE_B)).result
    assert result.collapse["a2b"] is None and result.collapse["b2a"] is not None
    assert result.to_dict()["collapse"]["a2b"] is None


# --------------------------------------------------------------------------- data loading


def test_load_test_phrases_reads_metadata_and_limits_with_the_seed(dataset):
    phrases = evaluation.load_test_phrases(dataset, GENRE_A)
    np.testing.assert_array_equal(phrases.rolls, genre_test_phrases(GENRE_A))
    assert phrases.phrase_ids[:3] == ["classical_song0.mid#0", "classical_song0.mid#1", "classical_song1.mid#0"]
    limited = evaluation.load_test_phrases(dataset, GENRE_A, limit=2, seed=3)
    again = evaluation.load_test_phrases(dataset, GENRE_A, limit=2, seed=3)
    assert len(limited) == 2 and limited.available == 5 and limited.phrase_ids == again.phrase_ids
    other_seeds = {tuple(evaluation.load_test_phrases(dataset, GENRE_A, limit=2, seed=seed).phrase_ids) for seed in range(6)}
    assert len(other_seeds) > 1


def test_test_phrases_come_in_the_order_of_the_training_readers(dataset):
    from mst.records.pianoroll_reader import load_split_arrays

    rolls, labels = load_split_arrays(dataset, [GENRE_A, GENRE_B], "test")
    ours = np.concatenate([evaluation.load_test_phrases(dataset, genre).rolls for genre in (GENRE_A, GENRE_B)])
    np.testing.assert_array_equal(ours, rolls[..., 0] > 0.5)
    assert labels.tolist() == [0] * 5 + [1] * 4


def test_dataset_errors_name_the_problem(dataset, tmp_path):
    with pytest.raises(EvaluationInputError, match="does not exist"):
        evaluation.load_test_phrases(tmp_path / "missing", GENRE_A)
    with pytest.raises(EvaluationInputError, match="'rock' is not in the dataset.*classical, jazz, pop"):
        evaluation.check_test_split(dataset, ["rock"])
    with pytest.raises(EvaluationInputError, match="'jazz' has no test phrases"):
        evaluation.check_test_split(dataset, [GENRE_A, "jazz"])
    summary = evaluation.dataset_summary(dataset, [GENRE_A, GENRE_B])
    assert summary["phrases"] == {GENRE_A: {"train": 3, "test": 5}, GENRE_B: {"train": 3, "test": 4}}
    assert len(summary["manifest_sha256"]) == 64


def test_describe_model_reads_run_configs_and_exports(tmp_path):
    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    config = {"config_class": "CycleGANConfig", "config": {"genre_a": "jazz", "genre_b": "pop", "variant": "partial", "sigma_d": 0.01, "name": "p"}}
    (run / "config.json").write_text(json.dumps(config))
    (run / "run.json").write_text(json.dumps({"preset": "cyclegan_jazz_pop_partial"}))
    described = evaluation.describe_model(run)
    assert (described.kind, described.genres, described.variant, described.sigma_d, described.preset) == ("cyclegan", ("jazz", "pop"), "partial", 0.01, "cyclegan_jazz_pop_partial")
    export_info = {"kind": "classifier", "config": {"genre_a": "pop", "genre_b": "jazz", "sigma_c_eval": [0.5]}, "checkpoint": "best"}
    (run / "export" / "export.json").write_text(json.dumps(export_info))
    inner = evaluation.describe_model(run / "export" / "classifier.keras")
    assert (inner.kind, inner.genres, inner.checkpoint, inner.sigma_c_eval) == ("classifier", ("pop", "jazz"), "best", (0.5,))
    assert evaluation.describe_model(tmp_path / "bare.keras").config_source is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert evaluation.describe_model(tmp_path / "broken").kind is None


def test_load_results_rejects_missing_or_foreign_files(tmp_path):
    with pytest.raises(EvaluationInputError, match="no evaluation results"):
        evaluation.load_results(tmp_path)
    (tmp_path / "results.json").write_text('{"format": "something else"}')
    with pytest.raises(EvaluationInputError, match="not an mst.models.cyclegan.cyclegan_evaluation"):
        evaluation.load_results(tmp_path)


def test_check_models_rejects_models_of_another_shape():
    evaluation.check_models(SWAP, rigged_classifier())  # the rigged models pass
    with pytest.raises(EvaluationInputError, match="b2a generator does not work"):
        evaluation.check_models({"a2b": swap_registers, "b2a": lambda x: np.asarray(x)[:, ::2]})
    with pytest.raises(EvaluationInputError, match="classifier does not work"):
        evaluation.check_models(classifier=evaluation.as_classifier(lambda x: np.zeros((len(x), 3)), output="logits"))
