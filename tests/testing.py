"""Shared test helpers (not a test file; keras-hub's ``test_case.py`` in spirit).

* :func:`write_phrase_dataset` / :func:`write_random_dataset`: the one writer of prepared
  datasets (shards + manifest through mst's own record writer) for every test that needs one.
* :func:`assert_keras_round_trip`: ``get_config``/``from_config`` and ``.keras`` save/load give
  the same outputs.
* Rigged data and models of the evaluation tests (below).

Rigged evaluation data and models:

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

import dataclasses
from pathlib import Path

import numpy as np

from mst import records
from mst.models.cyclegan import cyclegan_evaluation as evaluation
from mst.models.cyclegan.cyclegan_evaluation import TestPhrases

GENRE_A, GENRE_B = "classical", "pop"
SPLIT_PITCH = 42
# (regular, odd) test phrases per genre, and train phrases; jazz has no test split at all.
TEST_LAYOUT = {GENRE_A: (4, 1), GENRE_B: (3, 1)}
TRAIN_COUNT = 3


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


def rigged_classifier(genres=(GENRE_A, GENRE_B)):
    return evaluation.as_classifier(register_logits, output="logits", genres=genres, source="rigged")


SWAP = {"a2b": swap_registers, "b2a": swap_registers}
IDENTITY = {"a2b": lambda x: np.asarray(x, np.float32), "b2a": lambda x: np.asarray(x, np.float32)}
SILENT = {"a2b": lambda x: np.zeros(np.shape(x), np.float32), "b2a": lambda x: np.zeros(np.shape(x), np.float32)}


def pair_phrases(genre: str) -> TestPhrases:
    return TestPhrases.from_rolls(genre, genre_test_phrases(genre))


def write_phrase_dataset(directory, layout, *, shard_size: int = 16, phrases_per_song: int = 4, partition_by: str = "genre", song_name: str = "{partition}/song{song:03d}.mid"):
    """Writes a prepared dataset: ``layout = {partition: {split: bool rolls [n, 64, 84]}}``.

    Shards go through :func:`mst.records.write_split_shards`, the manifest through
    :func:`mst.records.write_manifest` (format of this mst version); every split a partition lacks
    counts 0. Consecutive ``phrases_per_song`` phrases share a song id.

    Returns:
        ``{(partition, split): [PhraseRecord, ...]}`` in written order.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shards, counts, written = [], {}, {}
    for partition, splits in layout.items():
        counts[partition] = {"train": 0, "test": 0}
        for split, phrases in splits.items():
            packed = records.pack_rolls(np.asarray(phrases, bool))
            written[(partition, split)] = [
                records.PhraseRecord(partition, split, song_name.format(partition=partition, song=index // phrases_per_song), index % phrases_per_song, packed[index].tobytes())
                for index in range(len(packed))
            ]
            shards += records.write_split_shards(directory, partition, split, written[(partition, split)], shard_size=shard_size, partition_by=partition_by)
            counts[partition][split] = len(packed)
    manifest = {
        "format": records.MANIFEST_FORMAT,
        "format_version": records.MANIFEST_FORMAT_VERSION,
        "partition_by": partition_by,
        "partitions": {partition: {"phrases": per_split} for partition, per_split in counts.items()},
        "shards": [dataclasses.asdict(shard) for shard in shards],
    }
    records.write_manifest(directory, manifest)
    return written


def random_phrases(count: int, seed, density: float = 0.05) -> np.ndarray:
    """``count`` random sparse binary phrases ``[count, 64, 84]``."""
    return np.random.default_rng(seed).random((count, 64, 84)) < density


SYNTHETIC_COUNTS = {
    "jazz": {"train": 32, "test": 6},
    "classical": {"train": 40, "test": 5},
    "pop": {"train": 20, "test": 3},
}
"""Phrases per genre and split of :func:`write_random_dataset` (cyclegan_tiny: 32 // 4 = 8 steps per epoch)."""


def write_random_dataset(directory, counts=None, seed: int = 0) -> Path:
    """A dataset of random sparse phrases (``counts = {genre: {split: n}}``); returns the folder."""
    counts = SYNTHETIC_COUNTS if counts is None else counts
    layout = {
        genre: {split: random_phrases(count, [seed, genre_index, len(split)]) for split, count in per_split.items()}
        for genre_index, (genre, per_split) in enumerate(counts.items())
    }
    write_phrase_dataset(directory, layout)
    return Path(directory)


RECORDS_COUNTS = {"jazz": {"train": 40, "test": 6}, "pop": {"train": 70, "test": 9}, "classical": {"train": 25, "test": 0}}
"""Phrases per genre and split of :func:`write_records_dataset` (pop is the larger side of jazz/pop)."""


def write_records_dataset(directory, shard_size: int = 16, counts=None, partition_by: str = "genre"):
    """The records tests' dataset (density 0.1, 7 phrases per song); returns the records per (partition, split)."""
    counts = RECORDS_COUNTS if counts is None else counts
    layout = {
        partition: {split: random_phrases(count, seed * 10 + len(split), density=0.1) for split, count in per_split.items()}
        for seed, (partition, per_split) in enumerate(counts.items())
    }
    return write_phrase_dataset(directory, layout, shard_size=shard_size, phrases_per_song=7, partition_by=partition_by)


def packed_set(rolls: np.ndarray) -> set[bytes]:
    """The phrases of a float ``[N, 64, 84, 1]`` batch as a set of packed rolls."""
    return {row.tobytes() for row in records.pack_rolls(np.asarray(rolls)[..., 0] > 0)}


def write_dataset(directory: Path) -> Path:
    """The rigged evaluation dataset: classical and pop with test splits, jazz with train phrases only."""
    layout = {
        GENRE_A: {"train": register_phrases(TRAIN_COUNT, True, 5), "test": genre_test_phrases(GENRE_A)},
        GENRE_B: {"train": register_phrases(TRAIN_COUNT, False, 6), "test": genre_test_phrases(GENRE_B)},
        "jazz": {"train": register_phrases(TRAIN_COUNT, True, 7)},
    }
    write_phrase_dataset(directory, layout, shard_size=3, phrases_per_song=2, song_name="{partition}_song{song}.mid")
    return directory


def assert_keras_round_trip(model, inputs, tmp_path, *, atol: float = 1e-6):
    """``from_config(get_config())`` rebuilds the same architecture, and a ``.keras`` file saved and
    loaded in safe mode (after ``mst.registry.register_keras_objects``) gives the same outputs.

    Returns:
        The reloaded model.
    """
    import keras  # noqa: PLC0415

    from mst import registry  # noqa: PLC0415

    rebuilt = type(model).from_config(model.get_config())
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    path = Path(tmp_path) / f"{model.name}.keras"
    model.save(path)
    registry.register_keras_objects()
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(reloaded(inputs)), np.asarray(model(inputs)), atol=atol)
    return reloaded


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
