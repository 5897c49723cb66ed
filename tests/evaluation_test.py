"""Tests for mst.models.cyclegan.cyclegan_evaluation: the classifier table, S^D_tot, ranking, metrics, reports, sweeps, σ_C.

The models are rigged so every number is known in advance. Genre A (classical) phrases sound in
the low register (pitch indices 0..41), genre B (pop) in the high one (42..83), except one "odd"
test phrase per genre in the other register. The classifier calls a phrase classical when more of
its cells are low than high (logit difference = cell difference, so probabilities saturate). The
"swap" generator rolls the pitch axis by 42 (its own inverse), so a transfer moves a phrase into
the other register and the cycle restores it exactly; the identity generator changes nothing.

With 5 classical test phrases (4 low) and 4 pop ones (3 high), the swap model gives
A 80, A→B 20, A→B→A 80, B 75, B→A 25, B→A→B 75, hence S^D_A→B = 60, S^D_B→A = 50, S^D_tot = 55.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mst import records
from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan.cyclegan_evaluation import EvaluationError, EvaluationInputError, GenreClassifier, TestPhrases
from mst.models.cyclegan.strength import rank_transfers

GENRE_A, GENRE_B = "classical", "pop"
SPLIT_PITCH = 42
# (regular, odd) test phrases per genre, and train phrases; jazz has no test split at all.
TEST_LAYOUT = {GENRE_A: (4, 1), GENRE_B: (3, 1)}
TRAIN_COUNT = 3


# --------------------------------------------------------------------------- rigged data and models


def register_phrases(count: int, low: bool, seed: int) -> np.ndarray:
    """``count`` phrases of eight 4-step notes at random pitches of one register."""
    rng = np.random.default_rng(seed)
    phrases = np.zeros((count, 64, 84), bool)
    low_pitch, high_pitch = (0, SPLIT_PITCH) if low else (SPLIT_PITCH, 84)
    for phrase in phrases:
        for start in range(0, 64, 8):
            phrase[start : start + 4, rng.integers(low_pitch, high_pitch)] = True
    return phrases


def genre_test_phrases(genre: str) -> np.ndarray:
    regular, odd = TEST_LAYOUT[genre]
    low = genre == GENRE_A
    seed = 1 if low else 2
    return np.concatenate([register_phrases(regular, low, seed), register_phrases(odd, not low, seed + 10)])


def swap_registers(x):
    """The swap generator on numpy: roll the pitch axis by 42 (low ↔ high)."""
    return np.roll(np.asarray(x, np.float32), SPLIT_PITCH, axis=2)


def register_logits(x):
    """Rigged classifier logits: class 0 (classical) when more cells are low than high."""
    x = np.asarray(x, np.float64)
    difference = x[:, :, :SPLIT_PITCH].sum(axis=(1, 2, 3)) - x[:, :, SPLIT_PITCH:].sum(axis=(1, 2, 3))
    return np.stack([difference, -difference], axis=1)


def rigged_classifier(genres=(GENRE_A, GENRE_B)) -> GenreClassifier:
    return GenreClassifier(register_logits, output="logits", genres=genres, source="rigged")


SWAP = {"a2b": swap_registers, "b2a": swap_registers}
IDENTITY = {"a2b": lambda x: np.asarray(x, np.float32), "b2a": lambda x: np.asarray(x, np.float32)}


def pair_phrases(genre: str) -> TestPhrases:
    return TestPhrases.from_rolls(genre, genre_test_phrases(genre))


def write_dataset(directory: Path) -> Path:
    """A prepared dataset (records shards + minimal manifest): classical and pop with test splits,
    jazz with train phrases only."""
    directory.mkdir(parents=True, exist_ok=True)
    layout = {
        GENRE_A: {"train": register_phrases(TRAIN_COUNT, True, 5), "test": genre_test_phrases(GENRE_A)},
        GENRE_B: {"train": register_phrases(TRAIN_COUNT, False, 6), "test": genre_test_phrases(GENRE_B)},
        "jazz": {"train": register_phrases(TRAIN_COUNT, True, 7)},
    }
    shards, counts = [], {}
    for genre, splits in layout.items():
        counts[genre] = {"train": 0, "test": 0}
        for split, phrases in splits.items():
            packed = records.pack_rolls(phrases)
            phrase_records = [
                records.PhraseRecord(genre, split, f"{genre}_song{index // 2}.mid", index % 2, packed[index].tobytes())
                for index in range(len(phrases))
            ]
            shards += records.write_split_shards(directory, genre, split, phrase_records, shard_size=3)
            counts[genre][split] = len(phrases)
    manifest = {
        "format": records.MANIFEST_FORMAT,
        "format_version": records.MANIFEST_FORMAT_VERSION,
        "genres": {genre: {"phrases": per_split} for genre, per_split in counts.items()},
        "shards": [dataclasses.asdict(shard) for shard in shards],
    }
    records.write_manifest(directory, manifest)
    return directory


def keras_models(keras):
    """The swap generator, the identity generator and the rigged classifier as plain Keras models
    (built-in layers only, so they export and reload without custom objects)."""

    def pitch_map(matrix, name):
        inputs = keras.Input((64, 84, 1))
        x = keras.layers.Reshape((64, 84))(inputs)
        x = keras.layers.Dense(84, use_bias=False, name="pitch_map")(x)
        outputs = keras.layers.Reshape((64, 84, 1))(x)
        model = keras.Model(inputs, outputs, name=name)
        model.get_layer("pitch_map").set_weights([matrix.astype(np.float32)])
        return model

    swap = np.roll(np.eye(84), SPLIT_PITCH, axis=1)  # out[j] = in[j - 42]
    inputs = keras.Input((64, 84, 1))
    logits = keras.layers.Dense(2, use_bias=False, name="register")(keras.layers.Flatten()(inputs))
    classifier = keras.Model(inputs, logits, name="register_classifier")
    sign = np.where(np.arange(64 * 84) % 84 < SPLIT_PITCH, 1.0, -1.0)
    classifier.get_layer("register").set_weights([np.stack([sign, -sign], axis=1).astype(np.float32)])
    return pitch_map(swap, "swap"), pitch_map(np.eye(84), "identity"), classifier


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
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


def test_swapped_classifier_class_order_is_mapped_by_genre_name():
    def reversed_logits(x):
        return register_logits(x)[:, ::-1]

    classifier = GenreClassifier(reversed_logits, output="logits", genres=(GENRE_B, GENRE_A))
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
    three_classes = GenreClassifier(lambda x: np.zeros((len(x), 3)), output="logits")
    with pytest.raises(EvaluationError, match=r"\[N, 2\]"):
        three_classes.probabilities(genre_test_phrases(GENRE_A))
    bare = GenreClassifier(register_logits)
    with pytest.raises(EvaluationError, match="logits or probabilities"):
        bare.probabilities(genre_test_phrases(GENRE_A))
    not_softmax = GenreClassifier(lambda x: np.full((len(x), 2), 0.9), output="probabilities")
    with pytest.raises(EvaluationError, match="softmax"):
        not_softmax.probabilities(genre_test_phrases(GENRE_A))
    with pytest.raises(EvaluationError, match=r"\[N, 64, 84"):
        rigged_classifier().probabilities(np.zeros((2, 64, 83)))


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
    export_info = {"kind": "classifier", "config": {"genre_a": "pop", "genre_b": "jazz"}, "checkpoint": "best"}
    (run / "export" / "export.json").write_text(json.dumps(export_info))
    inner = evaluation.describe_model(run / "export" / "classifier.keras")
    assert (inner.kind, inner.genres, inner.checkpoint) == ("classifier", ("pop", "jazz"), "best")
    assert evaluation.describe_model(tmp_path / "bare.keras").config_source is None


# --------------------------------------------------------------------------- reports and JSON


@pytest.fixture(scope="module")
def swap_report(swap_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = evaluation.write_report(swap_run.result, out, swap_run.outputs, examples=2)
    return out, files


def test_report_folder_has_every_file_and_the_table(swap_report):
    out, files = swap_report
    for name in ("report.md", "results.json", "table.csv", "music_metrics.csv", "content_preservation.csv", "distribution.csv", "ranking_a2b.csv", "ranking_b2a.csv", "ranking_a2b.png", "ranking_b2a.png"):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.tmp-*"))
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| A→B | 20.00 | 20.00 |" in report and "| B→A→B | 75.00 | 75.00 |" in report
    assert "**S^D_tot = 55.00 %**" in report
    # classical/pop base at σ_D = 0.1 is the paper's Table VIII M_base column.
    assert "paper Table VIII M_base, σ_D=0.1" in report and "45.12" in report and "33.6" in report
    assert "](ranking_a2b.png)" in report and "How to read this report" in report
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
    original = json.loads(json.dumps(evaluation._jsonable(swap_run.result.to_dict())))
    reloaded = json.loads(json.dumps(evaluation._jsonable(loaded.to_dict())))
    reloaded["info"].pop("report_dir")
    assert reloaded == original
    assert loaded.variant == "base" and loaded.sigma_d == 0.1 and loaded.label == "swap"


def test_nan_metrics_are_written_as_null_and_read_back_as_nan(tmp_path):
    silent = {"a2b": lambda x: np.zeros(np.shape(x), np.float32), "b2a": lambda x: np.zeros(np.shape(x), np.float32)}
    run = evaluation.evaluate_transfer(silent, rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B))
    assert run.result.table().as_dict()["A→B"] == 0.0  # silence: P = 0.5, not the source genre
    evaluation.write_report(run.result, tmp_path)
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    loaded = evaluation.load_results(tmp_path / "results.json")
    assert np.isnan(loaded.set_metrics["A→B"]["pitch_range"]["mean"]) and loaded.set_metrics["A→B"]["pitch_range"]["nan_count"] == 5


def test_load_results_rejects_missing_or_foreign_files(tmp_path):
    with pytest.raises(EvaluationInputError, match="no evaluation results"):
        evaluation.load_results(tmp_path)
    (tmp_path / "results.json").write_text('{"format": "something else"}')
    with pytest.raises(EvaluationInputError, match="not an mst.models.cyclegan.cyclegan_evaluation"):
        evaluation.load_results(tmp_path)


# --------------------------------------------------------------------------- sweeps


_PAIR_RESULTS: dict = {}


def pair_result(genre_a: str, genre_b: str, model, variant: str | None, sigma_d: float | None, label: str):
    """An evaluation of ``model`` on the rigged phrases under other genre names and model metadata
    (the evaluation itself is computed once per pair and model, then relabelled)."""
    key = (genre_a, genre_b, model is SWAP)
    if key not in _PAIR_RESULTS:
        a = TestPhrases.from_rolls(genre_a, genre_test_phrases(GENRE_A))
        b = TestPhrases.from_rolls(genre_b, genre_test_phrases(GENRE_B))
        _PAIR_RESULTS[key] = evaluation.evaluate_transfer(model, rigged_classifier((genre_a, genre_b)), a, b).result
    result = _PAIR_RESULTS[key]
    return dataclasses.replace(result, info={**result.info, "variant": variant, "sigma_d": sigma_d, "label": label})


def test_variants_sweep_orders_columns_and_shows_the_paper_table(tmp_path):
    runs = []
    for variant, model in (("full", SWAP), ("base", IDENTITY), ("partial", SWAP)):
        folder = tmp_path / variant
        evaluation.write_report(pair_result(GENRE_A, GENRE_B, model, variant, 1.0, variant), folder)
        runs.append(folder)
    sweep, files = evaluation.run_sweep(runs, "variants", tmp_path / "sweep")
    assert [column.variant for column in sweep.columns] == ["base", "partial", "full"]
    assert sweep.paper_table == "VIII"
    assert [column.paper.column.label for column in sweep.columns] == ["M_base, σ_D=0.1", "M_partial, σ_D=1", "M_full, σ_D=1"]
    report = files["report"].read_text(encoding="utf-8")
    assert "| A→B | 80.00 | 45.12 | 20.00 | 38.57 | 20.00 | 26.61 |" in report
    assert "| S^D_tot printed in the paper | — | 33.6 | — | 52.6 | — | 58.1 |" in report
    with open(files["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 7
    total = [row for row in rows if row["column"].startswith("M_partial") and row["row"] == "S^D_tot"][0]
    assert float(total["ours_percent_source"]) == 55.0 and float(total["paper_printed_total"]) == 52.6
    assert json.loads(files["json"].read_text(encoding="utf-8"))["layout"] == "variants"


def test_sigma_sweep_matches_table_vi_for_jazz_classical():
    results = [pair_result("jazz", "classical", SWAP, "base", sigma, f"s{sigma}") for sigma in (5.0, 0.0, 1.0, 0.5)]
    sweep = evaluation.assemble_sweep(results, "sigma")
    assert [column.sigma_d for column in sweep.columns] == [0.0, 0.5, 1.0, 5.0]
    assert sweep.paper_table == "VI"
    papers = [None if column.paper is None else (column.paper.column.table, column.paper.column.label) for column in sweep.columns]
    assert papers == [("VI", "σ_D=0"), None, ("VI", "σ_D=1"), ("VI", "σ_D=5")]
    text = evaluation.format_sweep(sweep)
    assert "Table VI." in text and "ours σ_D=0.5" in text


def test_sweep_swaps_paper_rows_for_a_reversed_pair():
    sweep = evaluation.assemble_sweep([pair_result(GENRE_B, GENRE_A, SWAP, "full", 1.0, "reversed")], "variants")
    paper = sweep.columns[0].paper
    assert paper.swapped and paper.cells.a == 80.04 and paper.cells.b_to_a == 26.61


def test_sweep_refuses_inconsistent_inputs():
    base = pair_result(GENRE_A, GENRE_B, SWAP, "base", 0.1, "a")
    with pytest.raises(EvaluationInputError, match="same genre pair"):
        evaluation.assemble_sweep([base, pair_result("jazz", "pop", SWAP, "full", 0.0, "b")], "variants")
    with pytest.raises(EvaluationInputError, match="same variant"):
        evaluation.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "base", 1.0, "c")], "variants")
    with pytest.raises(EvaluationInputError, match="same σ_D"):
        evaluation.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "base", 0.1, "d")], "sigma")
    with pytest.raises(EvaluationInputError, match="one variant"):
        evaluation.assemble_sweep([base, pair_result(GENRE_A, GENRE_B, SWAP, "full", 1.0, "e")], "sigma")
    with pytest.raises(EvaluationInputError, match="σ_D unknown"):
        evaluation.assemble_sweep([pair_result(GENRE_A, GENRE_B, SWAP, "base", None, "f")], "sigma")
    with pytest.raises(EvaluationInputError, match="layout"):
        evaluation.assemble_sweep([base], "columns")


# --------------------------------------------------------------------------- classifier accuracy under σ_C


def test_classifier_accuracy_without_noise_and_the_thesis_row():
    accuracy = evaluation.classifier_accuracy(rigged_classifier(), pair_phrases(GENRE_A), pair_phrases(GENRE_B), sigmas=(0.0,))
    assert accuracy.accuracy[0.0] == pytest.approx(700 / 9)
    assert accuracy.per_genre[0.0] == {GENRE_A: 80.0, GENRE_B: 75.0}
    assert accuracy.thesis_row()[0.5] == 70.28
    text = evaluation.format_classifier_report(accuracy)
    assert "thesis Table 5.1 (%) | 84.66" in text and "77.78" in text


def test_noise_is_the_authors_sigma_in_the_signed_scale_and_seeded():
    seen = []

    def recording_logits(x):
        seen.append(np.array(x))
        return register_logits(x)

    classifier = GenreClassifier(recording_logits, output="logits", genres=(GENRE_A, GENRE_B))
    a, b = pair_phrases(GENRE_A), pair_phrases(GENRE_B)
    evaluation.classifier_accuracy(classifier, a, b, sigmas=(0.3,), seed=7)
    noise = 2 * seen[0][..., 0] - 1 - (2 * a.rolls.astype(np.float32) - 1)  # in the −1/+1 scale
    assert noise.std() == pytest.approx(0.3, rel=0.02) and abs(noise.mean()) < 0.01
    first = evaluation.classifier_accuracy(rigged_classifier(), a, b, sigmas=(0.5, 2.0), seed=7)
    again = evaluation.classifier_accuracy(rigged_classifier(), a, b, sigmas=(2.0,), seed=7, batch_size=2)
    assert again.accuracy[2.0] == first.accuracy[2.0]  # independent of the other levels and the batch size
    ClassifierAccuracy = evaluation.ClassifierAccuracy
    assert ClassifierAccuracy.from_dict(json.loads(json.dumps(first.to_dict()))).accuracy == first.accuracy


def test_huge_noise_drives_accuracy_towards_chance():
    a = TestPhrases.from_rolls(GENRE_A, register_phrases(40, True, 11))
    b = TestPhrases.from_rolls(GENRE_B, register_phrases(40, False, 12))
    accuracy = evaluation.classifier_accuracy(rigged_classifier(), a, b, sigmas=(0.0, 50.0), seed=1)
    assert accuracy.accuracy[0.0] == 100.0 and 25.0 < accuracy.accuracy[50.0] < 75.0


def test_check_models_rejects_models_of_another_shape():
    evaluation.check_models(SWAP, rigged_classifier())  # the rigged models pass
    with pytest.raises(EvaluationInputError, match="b2a generator does not work"):
        evaluation.check_models({"a2b": swap_registers, "b2a": lambda x: np.asarray(x)[:, ::2]})
    with pytest.raises(EvaluationInputError, match="classifier does not work"):
        evaluation.check_models(classifier=GenreClassifier(lambda x: np.zeros((len(x), 3)), output="logits"))


def test_docstring_examples():
    import doctest

    result = doctest.testmod(evaluation, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
