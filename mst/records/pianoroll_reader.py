"""Training data for the trainers: manifest checks, per-epoch datasets, fixed sample batches.

Every epoch's dataset is built afresh from ``epoch_seed(config.seed, epoch)`` and yields the same
batches on every iteration, so the order of epoch ``e`` never depends on how many epochs this
process has already run or on how Keras iterates it (see :class:`PairEpochs` and
:mod:`mst.training.loop`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mst import records
from mst.encodings.pianoroll import PHRASE_SHAPE
from mst.runtime import import_tensorflow
from mst.training.loop import epoch_seed

SAMPLE_PHRASES = 4
"""Phrases per direction in the fixed sample batch (TensorBoard images, sample MIDI/PNG)."""

EVAL_BATCH_SIZE = 64
READ_BUFFER_BYTES = 1 << 18  # TFRecordDataset's own default, stated to keep its log line quiet


class TrainingDataError(records.DatasetError):
    """The prepared dataset cannot serve the requested training run."""


def _manifest_path(data_dir) -> Path:
    return Path(data_dir) / records.MANIFEST_NAME


def check_genres(manifest: dict, data_dir, genres, *, split: str, minimum: int, what: str) -> dict[str, int]:
    """Checks that each genre exists in the manifest and has at least ``minimum`` phrases of ``split``.

    Args:
        manifest: Loaded manifest.
        data_dir: Dataset folder (for messages).
        genres: Genre names.
        split: ``train`` or ``test``.
        minimum: Phrases needed per genre.
        what: What the phrases are needed for (for messages).

    Returns:
        ``{genre: phrase count}``.

    Raises:
        TrainingDataError: Naming the manifest file and the genre.
    """
    counts = {}
    known = sorted(manifest.get("genres", {}))
    for genre in genres:
        if genre not in manifest.get("genres", {}):
            raise TrainingDataError(
                f"genre {genre!r} is not in {_manifest_path(data_dir)} (it has: {', '.join(known) or 'no genres'}); "
                f"prepare it with `python -m mst.prepare --genre {genre}=MIDI_DIR ...` or pick other genres with --set"
            )
        counts[genre] = records.count(manifest, genre, split)
        if counts[genre] < minimum:
            raise TrainingDataError(
                f"genre {genre!r} has {counts[genre]} {split} phrases in {_manifest_path(data_dir)}; "
                f"{what} needs at least {minimum}"
            )
    return counts


def cyclegan_steps_per_epoch(config, data_dir) -> int:
    """Checks the dataset for a CycleGAN config and returns the steps of one epoch.

    One epoch is one pass over the balanced pair, ``min(#A, #B) // batch_size`` batches (the
    authors' loop), capped by ``config.steps_per_epoch``.

    Raises:
        TrainingDataError: Missing dataset/manifest, unknown genre, fewer phrases than one batch.
    """
    manifest = records.load_manifest(data_dir)
    counts = check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="train", minimum=config.batch_size, what=f"one batch of batch_size={config.batch_size}")
    if config.mixed_genres:
        mixed = check_genres(manifest, data_dir, config.mixed_genres, split="train", minimum=0, what="the mixed set")
        if sum(mixed.values()) < config.batch_size:
            raise TrainingDataError(
                f"the mixed set {list(config.mixed_genres)} has {sum(mixed.values())} train phrases in "
                f"{_manifest_path(data_dir)}; one batch needs {config.batch_size}"
            )
    steps = min(counts.values()) // config.batch_size
    return steps if config.steps_per_epoch is None else min(steps, config.steps_per_epoch)


def _distribution_friendly(dataset):
    """Shards by element under multi-worker strategies (the zipped streams have no single file list)."""
    tf = import_tensorflow()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _decode_serialized(serialized):
    """Batch of serialized records -> float32 ``[B, 64, 84, 1]`` rolls (the records format's ``roll``)."""
    tf = import_tensorflow()
    packed = tf.io.parse_example(serialized, {"roll": tf.io.FixedLenFeature([], tf.string)})["roll"]
    return records.decode_packed_rolls(packed)


def _decoder():
    """:func:`_decode_serialized` for ``Dataset.map``; plain graph code, so AutoGraph is skipped."""
    return import_tensorflow().autograph.experimental.do_not_convert(_decode_serialized)


class PairEpochs:
    """Per-epoch batches of a genre pair whose order depends only on ``(seed, epoch)``.

    Each call of :meth:`dataset` builds a new pipeline shuffled with ``epoch_seed(seed, epoch)``
    and ``reshuffle_each_iteration=False``, so *every* iteration of it yields the same batches.
    That matters: under a ``tf.distribute`` strategy Keras' ``fit`` draws one batch from a first
    iteration (to build the model symbolically) and then iterates the dataset again, so a
    pipeline that reshuffles per iteration (like :func:`mst.records.cyclegan_dataset`) would
    train on another order than the one a resumed run expects.

    Reading: the shards of the train split in manifest order, the larger side of the pair balanced
    down to the smaller one, shuffling of the packed records (small) before decoding,
    ``drop_remainder=True``. Balancing ``random_per_epoch`` (the authors' code) draws a fresh
    random subset of the larger side every epoch from the epoch's seed (so a resumed run draws the
    same one); ``fixed_subset`` keeps the phrases with the smallest ``uid`` in every epoch. The mixed set M (``mixed_genres``)
    is shuffled on its own and repeated, so it never shortens the epoch.

    Args:
        data_dir: Dataset folder.
        genre_a: Genre of side A.
        genre_b: Genre of side B.
        batch_size: Batch size of each side (and of M).
        seed: The run's seed.
        mixed_genres: Genres of M, or empty/``None`` for no M.
        balancing: ``"random_per_epoch"`` or ``"fixed_subset"`` (see above).
    """

    def __init__(self, data_dir, genre_a: str, genre_b: str, batch_size: int, seed: int, mixed_genres=None, balancing: str = "fixed_subset"):
        if balancing not in ("random_per_epoch", "fixed_subset"):
            raise ValueError(f"balancing must be 'random_per_epoch' or 'fixed_subset', got {balancing!r}")
        self.balancing = balancing
        self.data_dir = data_dir
        self.manifest = records.load_manifest(data_dir)
        self.genres = (genre_a, genre_b)
        self.batch_size = batch_size
        self.seed = seed
        self.mixed_genres = tuple(mixed_genres or ())
        self.counts = {genre: records.count(self.manifest, genre, "train") for genre in self.genres}
        self.per_side = min(self.counts.values())
        # uid threshold of the fixed balanced subset, read once (None: the side is kept whole).
        self.uid_limits = {
            genre: None
            if count == self.per_side or balancing == "random_per_epoch"
            else records.balanced_uid_threshold(records.read_uids(data_dir, genre, "train", self.manifest), self.per_side)
            for genre, count in self.counts.items()
        }

    @property
    def batches_per_epoch(self) -> int:
        """Full batches in one pass over the balanced pair."""
        return self.per_side // self.batch_size

    def _serialized(self, genres):
        tf = import_tensorflow()
        paths = [path for genre in genres for path in records.shard_paths(self.data_dir, self.manifest, genre, "train")]
        return tf.data.TFRecordDataset(paths, buffer_size=READ_BUFFER_BYTES)

    def _side(self, genre: str, seed: int):
        tf = import_tensorflow()
        dataset = self._serialized([genre])
        limit = self.uid_limits[genre]
        if limit is not None:
            uid_spec = {"uid": tf.io.FixedLenFeature([], tf.int64)}

            @tf.autograph.experimental.do_not_convert
            def keep(serialized):
                return tf.io.parse_single_example(serialized, uid_spec)["uid"] <= limit

            dataset = dataset.filter(keep).take(self.per_side)
        elif self.counts[genre] > self.per_side:
            # a fresh random subset per epoch: shuffle the whole side with the epoch's seed, then cut
            buffer = min(self.counts[genre], records.MAX_SHUFFLE_BUFFER)
            dataset = dataset.shuffle(buffer, seed=seed + 7, reshuffle_each_iteration=False).take(self.per_side)
        dataset = dataset.shuffle(min(self.per_side, records.MAX_SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=False)
        return dataset.batch(self.batch_size, drop_remainder=True).map(_decoder(), num_parallel_calls=tf.data.AUTOTUNE)

    def dataset(self, epoch: int):
        """``{"a", "b"[, "m"]}`` float32 ``[B, 64, 84, 1]`` batches of one epoch."""
        tf = import_tensorflow()
        seed = epoch_seed(self.seed, epoch)
        streams = {"a": self._side(self.genres[0], seed), "b": self._side(self.genres[1], seed + 1)}
        if self.mixed_genres:
            total = sum(records.count(self.manifest, genre, "train") for genre in self.mixed_genres)
            buffer = min(total, records.MAX_SHUFFLE_BUFFER)
            mixed = self._serialized(self.mixed_genres).shuffle(buffer, seed=seed + 2, reshuffle_each_iteration=False).repeat()
            streams["m"] = mixed.batch(self.batch_size, drop_remainder=True).map(_decoder(), num_parallel_calls=tf.data.AUTOTUNE)
        batches = tf.data.Dataset.zip(streams).apply(tf.data.experimental.assert_cardinality(self.batches_per_epoch))
        return _distribution_friendly(batches.prefetch(tf.data.AUTOTUNE))


def cyclegan_epochs(config, data_dir) -> PairEpochs:
    """The :class:`PairEpochs` of a CycleGAN config (global batch per side)."""
    return PairEpochs(data_dir, config.genre_a, config.genre_b, config.batch_size, config.seed, config.mixed_genres, balancing=config.balancing)


def classifier_steps_per_epoch(config, data_dir) -> int:
    """Checks the dataset for a classifier config and returns the steps of one epoch.

    Each batch holds ``batch_size / 2`` phrases of each genre of the balanced pair, so one epoch is
    ``min(#A, #B) // (batch_size / 2)`` batches, capped by ``config.steps_per_epoch``.

    Raises:
        TrainingDataError: Odd batch size, missing dataset, unknown genre, too few train phrases,
            or an empty test split (the classifier is evaluated on it every epoch).
    """
    if config.batch_size % 2:
        raise TrainingDataError(f"the classifier's batch_size must be even (half genre A, half genre B), got {config.batch_size}")
    half = config.batch_size // 2
    manifest = records.load_manifest(data_dir)
    counts = check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="train", minimum=half, what=f"half a batch of batch_size={config.batch_size}")
    check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="test", minimum=1, what="the per-epoch test accuracy")
    steps = min(counts.values()) // half
    return steps if config.steps_per_epoch is None else min(steps, config.steps_per_epoch)


def classifier_epoch_dataset(epochs: PairEpochs, epoch: int):
    """``(phrases [B, 64, 84, 1], labels [B] int32)`` batches of one classifier epoch.

    ``epochs`` reads ``B/2`` phrases per side; every batch interleaves them as A, B, A, B, ...
    (labels 0, 1, 0, 1, ...) so that every replica of a strategy sees both genres.
    """
    tf = import_tensorflow()
    half = epochs.batch_size
    labels = tf.tile(tf.constant([0, 1], tf.int32), [half])

    @tf.autograph.experimental.do_not_convert
    def interleave(batch):
        phrases = tf.reshape(tf.stack([batch["a"], batch["b"]], axis=1), [2 * half, *batch["a"].shape[1:]])
        return phrases, labels

    return epochs.dataset(epoch).map(interleave)


def classifier_epochs(config, data_dir) -> PairEpochs:
    """The :class:`PairEpochs` of a classifier config (half the global batch per side, no M)."""
    return PairEpochs(data_dir, config.genre_a, config.genre_b, config.batch_size // 2, config.seed)


def load_split_arrays(data_dir, genres, split: str, limit_per_genre: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All phrases of ``genres`` in one split, as ``(float32 [N, 64, 84, 1], int32 labels [N])``.

    Label ``i`` is the index of the phrase's genre in ``genres``; manifest order, no shuffling.
    """
    tf = import_tensorflow()
    manifest = records.load_manifest(data_dir)
    phrases, labels = [], []
    for label, genre in enumerate(genres):
        dataset = tf.data.TFRecordDataset(records.shard_paths(data_dir, manifest, genre, split), buffer_size=READ_BUFFER_BYTES)
        if limit_per_genre is not None:
            dataset = dataset.take(limit_per_genre)
        for serialized in dataset.batch(EVAL_BATCH_SIZE).map(_decoder()):
            phrases.append(serialized.numpy())
            labels.append(np.full(serialized.shape[0], label, np.int32))
    if not phrases:
        return np.zeros((0, *PHRASE_SHAPE), np.float32), np.zeros((0,), np.int32)
    return np.concatenate(phrases), np.concatenate(labels)


def sample_phrases(data_dir, genre: str, count: int = SAMPLE_PHRASES) -> tuple[np.ndarray, str]:
    """The first ``count`` test phrases of a genre (train phrases when it has no test split).

    Returns:
        ``(float32 [n, 64, 84, 1], split used)``.
    """
    manifest = records.load_manifest(data_dir)
    split = "test" if records.count(manifest, genre, "test") > 0 else "train"
    phrases, _ = load_split_arrays(data_dir, [genre], split, limit_per_genre=count)
    return phrases, split
