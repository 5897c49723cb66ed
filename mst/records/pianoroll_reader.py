"""Training data of the pianoroll trainers (CycleGAN, genre classifier): checks, epochs, samples.

The trainers read genre pairs of a prepared phrase dataset (:mod:`mst.records.pianoroll_examples`);
"genre" below is the dataset's partition, whatever its ``partition_by`` label.

Every epoch's dataset is built afresh from :func:`mst.records.splits.epoch_seed` ``(config.seed,
epoch)`` and yields the same batches on every iteration, so the order of epoch ``e`` never depends
on how many epochs this process has already run or on how Keras iterates it (see
:class:`PairEpochs` and :mod:`mst.training.loop`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mst.encodings.pianoroll import PHRASE_SHAPE
from mst.records.manifest import MANIFEST_NAME, DatasetError, load_manifest, shard_paths
from mst.records.manifest import count as count_phrases
from mst.records.pianoroll_examples import MAX_SHUFFLE_BUFFER, balanced_uid_threshold, decode_packed_rolls, read_uids
from mst.runtime import import_tensorflow
from mst.records.splits import epoch_seed

SAMPLE_PHRASES = 4
"""Phrases per direction in the fixed sample batch (TensorBoard images, sample MIDI/PNG)."""

EVAL_BATCH_SIZE = 64
READ_BUFFER_BYTES = 1 << 18  # TFRecordDataset's own default, stated to keep its log line quiet


class TrainingDataError(DatasetError):
    """The prepared dataset cannot serve the requested training run."""


def manifest_path(data_dir) -> Path:
    return Path(data_dir) / MANIFEST_NAME


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
    label = manifest["partition_by"]
    known = sorted(manifest["partitions"])
    for genre in genres:
        if genre not in manifest["partitions"]:
            raise TrainingDataError(
                f"{label} {genre!r} is not in {manifest_path(data_dir)} (it has: {', '.join(known) or 'none'}); "
                f"prepare it with `python -m mst.prepare --{'genre' if label == 'genre' else 'corpus'} {genre}=MIDI_DIR ...` "
                "or pick other genres with --set"
            )
        counts[genre] = count_phrases(manifest, genre, split)
        if counts[genre] < minimum:
            raise TrainingDataError(
                f"{label} {genre!r} has {counts[genre]} {split} phrases in {manifest_path(data_dir)}; "
                f"{what} needs at least {minimum}"
            )
    return counts


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
    return decode_packed_rolls(packed)


def _decoder():
    """:func:`_decode_serialized` for ``Dataset.map``; plain graph code, so AutoGraph is skipped."""
    return import_tensorflow().autograph.experimental.do_not_convert(_decode_serialized)


class PairEpochs:
    """Per-epoch batches of a genre pair whose order depends only on ``(seed, epoch)``.

    Each call of :meth:`dataset` builds a new pipeline shuffled with ``epoch_seed(seed, epoch)``
    and ``reshuffle_each_iteration=False``, so *every* iteration of it yields the same batches.
    That matters: under a ``tf.distribute`` strategy Keras' ``fit`` draws one batch from a first
    iteration (to build the model symbolically) and then iterates the dataset again, so a
    pipeline that reshuffles per iteration would train on another order than the one a resumed
    run expects.

    Reading: the shards of the train split in manifest order, the larger side of the pair balanced
    down to the smaller one, shuffling of the packed records (small) before decoding,
    ``drop_remainder=True``. Balancing ``random_per_epoch`` (the authors' code) draws a fresh
    random subset of the larger side every epoch from the epoch's seed (so a resumed run draws the
    same one); ``fixed_subset`` keeps the phrases with the smallest ``uid`` in every epoch (the same
    subset on every machine, whatever the shard layout). The mixed set M (``mixed_genres``, e.g.
    ``[a, b]`` for the paper's *partial* model and ``[a, b, c]`` for *full*) is the union of those
    genres' train phrases, not downsampled, shuffled on its own and repeated, so it never shortens
    the epoch.

    Args:
        data_dir: Dataset folder.
        genre_a: Genre of side A.
        genre_b: Genre of side B.
        batch_size: Batch size of each side (and of M).
        seed: The run's seed.
        mixed_genres: Genres of M, or empty/``None`` for no M.
        balancing: ``"random_per_epoch"`` or ``"fixed_subset"`` (see above).

    Raises:
        DatasetError: Missing dataset or manifest, or an unknown genre.
        TrainingDataError: A equal to B, or fewer train phrases than one batch on a side or in M.
    """

    def __init__(self, data_dir, genre_a: str, genre_b: str, batch_size: int, seed: int, mixed_genres=None, balancing: str = "fixed_subset"):
        if balancing not in ("random_per_epoch", "fixed_subset"):
            raise ValueError(f"balancing must be 'random_per_epoch' or 'fixed_subset', got {balancing!r}")
        self.balancing = balancing
        self.data_dir = data_dir
        self.manifest = load_manifest(data_dir)
        self.genres = (genre_a, genre_b)
        self.batch_size = batch_size
        self.seed = seed
        self.mixed_genres = tuple(mixed_genres or ())
        if genre_a == genre_b:
            raise TrainingDataError(f"the two sides of a pair must differ, both are {genre_a!r}")
        self.counts = {genre: count_phrases(self.manifest, genre, "train") for genre in self.genres}
        self.per_side = min(self.counts.values())
        if self.per_side < batch_size:
            raise TrainingDataError(
                f"{genre_a}: {self.counts[genre_a]} and {genre_b}: {self.counts[genre_b]} train phrases in {data_dir}; "
                f"need at least one full batch of {batch_size} on each side"
            )
        self.mixed_count = sum(count_phrases(self.manifest, genre, "train") for genre in self.mixed_genres)
        if self.mixed_genres and self.mixed_count < batch_size:
            raise TrainingDataError(f"the mixed set {list(self.mixed_genres)} has {self.mixed_count} train phrases in "
                                    f"{data_dir}, fewer than one batch of {batch_size}")
        # uid threshold of the fixed balanced subset, read once (None: the side is kept whole).
        self.uid_limits = {
            genre: None
            if size == self.per_side or balancing == "random_per_epoch"
            else balanced_uid_threshold(read_uids(data_dir, genre, "train", self.manifest), self.per_side)
            for genre, size in self.counts.items()
        }

    @property
    def batches_per_epoch(self) -> int:
        """Full batches in one pass over the balanced pair."""
        return self.per_side // self.batch_size

    def _serialized(self, genres):
        tf = import_tensorflow()
        paths = [path for genre in genres for path in shard_paths(self.data_dir, self.manifest, genre, "train")]
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
            buffer = min(self.counts[genre], MAX_SHUFFLE_BUFFER)
            dataset = dataset.shuffle(buffer, seed=seed + 7, reshuffle_each_iteration=False).take(self.per_side)
        dataset = dataset.shuffle(min(self.per_side, MAX_SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=False)
        return dataset.batch(self.batch_size, drop_remainder=True).map(_decoder(), num_parallel_calls=tf.data.AUTOTUNE)

    def dataset(self, epoch: int):
        """``{"a", "b"[, "m"]}`` float32 ``[B, 64, 84, 1]`` batches of one epoch."""
        tf = import_tensorflow()
        seed = epoch_seed(self.seed, epoch)
        streams = {"a": self._side(self.genres[0], seed), "b": self._side(self.genres[1], seed + 1)}
        if self.mixed_genres:
            buffer = min(self.mixed_count, MAX_SHUFFLE_BUFFER)
            mixed = self._serialized(self.mixed_genres).shuffle(buffer, seed=seed + 2, reshuffle_each_iteration=False).repeat()
            streams["m"] = mixed.batch(self.batch_size, drop_remainder=True).map(_decoder(), num_parallel_calls=tf.data.AUTOTUNE)
        batches = tf.data.Dataset.zip(streams).apply(tf.data.experimental.assert_cardinality(self.batches_per_epoch))
        return _distribution_friendly(batches.prefetch(tf.data.AUTOTUNE))


def load_split_arrays(data_dir, genres, split: str, limit_per_genre: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All phrases of ``genres`` in one split, as ``(float32 [N, 64, 84, 1], int32 labels [N])``.

    Label ``i`` is the index of the phrase's genre in ``genres``; manifest order, no shuffling.
    """
    tf = import_tensorflow()
    manifest = load_manifest(data_dir)
    phrases, labels = [], []
    for label, genre in enumerate(genres):
        dataset = tf.data.TFRecordDataset(shard_paths(data_dir, manifest, genre, split), buffer_size=READ_BUFFER_BYTES)
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
    manifest = load_manifest(data_dir)
    split = "test" if count_phrases(manifest, genre, "test") > 0 else "train"
    phrases, _ = load_split_arrays(data_dir, [genre], split, limit_per_genre=count)
    return phrases, split
