"""Reading note-token datasets: vocabulary, token sequences and tf.data windows of 32 -> next token.

Every record (:mod:`mst.records.note_token_encoder`) is one song's token streams. The input
pipeline maps the strings to ids with the dataset's (or a model's) vocabulary in the graph
(``tf.lookup.StaticHashTable``, unseen tokens -> ``<unk>``), puts 32 ``START`` tokens (duration
``0``) before the song and one ``START`` after it, and cuts every ``seq_len`` consecutive tokens
with the one after them (``tf.signal.frame`` per song, then ``unbatch``): the windows are never
materialised for the whole corpus. Batches are ``({"pitch": int32 [B, 32], "duration": int32 [B,
32]}, {"pitch": int32 [B], "duration": int32 [B]})``; their order is a function of ``(seed,
epoch)`` only (a shuffle of all windows with :func:`mst.records.splits.epoch_seed`).
"""

from __future__ import annotations

import os
from pathlib import Path

from mst.encodings import note_tokens as nt
from mst.records.manifest import DatasetError, load_manifest, shard_entries
from mst.records.splits import epoch_seed
from mst.records.shards import tensorflow

ENCODER_NAME = "note_tokens"
SHUFFLE_BUFFER = 1 << 17


class TokenDataError(DatasetError):
    """A dataset that cannot feed the attention RNN (wrong encoder, missing split, too few windows)."""


def load_token_manifest(data_dir: str | os.PathLike) -> dict:
    """The manifest of a ``note_tokens`` dataset.

    Raises:
        TokenDataError: Missing manifest, or a dataset of another encoder.
    """
    try:
        manifest = load_manifest(data_dir)
    except DatasetError as error:
        raise TokenDataError(str(error)) from None
    if manifest.get("encoder") != ENCODER_NAME or "vocabulary" not in manifest:
        raise TokenDataError(
            f"{Path(data_dir) / 'manifest.json'}: a {manifest.get('encoder', 'pianoroll_phrases')} dataset, not note tokens "
            "(prepare it with python -m mst.prepare --encoding note_tokens)"
        )
    return manifest


def dataset_vocabulary(data_dir_or_manifest) -> nt.Vocabulary:
    """The training-split vocabulary stored in a dataset's manifest."""
    manifest = data_dir_or_manifest if isinstance(data_dir_or_manifest, dict) else load_token_manifest(data_dir_or_manifest)
    return nt.Vocabulary.from_dict(manifest["vocabulary"])


def window_count(manifest: dict, split: str, partitions=None) -> int:
    """Windows of one split (over ``partitions``, default all), from the manifest's ``token_counts``."""
    counts = manifest["token_counts"]
    names = list(counts) if partitions is None else list(partitions)
    missing = [name for name in names if name not in counts]
    if missing:
        raise TokenDataError(f"the dataset has no partition {missing[0]!r}; it has {', '.join(counts)}")
    return sum(counts[name][split]["windows"] for name in names)


def shard_files(data_dir, manifest: dict, split: str, partitions=None) -> list[str]:
    """Shard paths of one split, in manifest order (checked to exist)."""
    names = list(manifest["token_counts"]) if partitions is None else list(partitions)
    paths = []
    for name in names:
        for shard in shard_entries(manifest, name, split):
            path = Path(data_dir) / shard["file"]
            if not path.is_file():
                raise TokenDataError(f"shard {path} listed in the manifest is missing")
            paths.append(str(path))
    return paths


def _parse(serialized):
    tf = tensorflow()
    spec = {
        "pitch": tf.io.RaggedFeature(tf.string),
        "duration": tf.io.RaggedFeature(tf.string),
        "song_id": tf.io.FixedLenFeature([], tf.string),
        "transposition": tf.io.FixedLenFeature([], tf.int64),
    }
    return tf.io.parse_single_example(serialized, spec)


def record_dataset(data_dir, split: str, partitions=None, manifest: dict | None = None):
    """tf.data of ``{"pitch": string [n], "duration": string [n], "song_id", "transposition"}`` per song."""
    tf = tensorflow()
    manifest = manifest or load_token_manifest(data_dir)
    files = shard_files(data_dir, manifest, split, partitions)
    if not files:
        raise TokenDataError(f"{data_dir}: the {split} split holds no record")
    return tf.data.TFRecordDataset(files).map(_parse)


def read_sequences(data_dir, split: str, partitions=None, *, transposed: bool = False) -> list[tuple[str, list[str], list[str]]]:
    """``[(song_id, pitch tokens, duration tokens)]`` of a split (untransposed records unless ``transposed``)."""
    out = []
    for record in record_dataset(data_dir, split, partitions).as_numpy_iterator():
        if record["transposition"] != 0 and not transposed:
            continue
        out.append((record["song_id"].decode(), [t.decode() for t in record["pitch"]], [t.decode() for t in record["duration"]]))
    return out


def lookup_tables(vocabulary: nt.Vocabulary):
    """``(pitch table, duration table)``: ``tf.lookup.StaticHashTable`` string -> int32 id, default ``<unk>``."""
    tf = tensorflow()

    def table(tokens):
        initializer = tf.lookup.KeyValueTensorInitializer(tf.constant(list(tokens)), tf.range(len(tokens), dtype=tf.int32))
        return tf.lookup.StaticHashTable(initializer, default_value=nt.UNK_INDEX)

    return table(vocabulary.pitch), table(vocabulary.duration)


def window_dataset(records, vocabulary: nt.Vocabulary, seq_len: int = nt.SEQ_LEN):
    """Song records -> single ``(inputs, targets)`` windows (see the module docstring)."""
    tf = tensorflow()
    pitch_table, duration_table = lookup_tables(vocabulary)

    @tf.autograph.experimental.do_not_convert
    def frames(record):
        def ids(table, tokens, start):
            body = table.lookup(tokens)
            pad = tf.fill([seq_len], tf.constant(start, tf.int32))
            sequence = tf.concat([pad, body, pad[:1]], axis=0)
            return tf.signal.frame(sequence, seq_len + 1, 1, axis=0)

        pitch = ids(pitch_table, record["pitch"], nt.START_INDEX)
        duration = ids(duration_table, record["duration"], nt.START_INDEX)
        return tf.data.Dataset.from_tensor_slices((pitch, duration))

    @tf.autograph.experimental.do_not_convert
    def split_window(pitch, duration):
        return ({"pitch": pitch[:seq_len], "duration": duration[:seq_len]}, {"pitch": pitch[seq_len], "duration": duration[seq_len]})

    return records.flat_map(frames).map(split_window)


class TokenEpochs:
    """The attention RNN's training (or validation) batches, per epoch.

    Args:
        data_dir: A ``note_tokens`` dataset.
        vocabulary: Token -> id mapping (the dataset's training-split vocabulary).
        batch_size: Global batch size.
        seed: Run seed (the order of epoch ``e`` depends on ``(seed, e)`` only).
        split: ``train`` or ``test``.
        partitions: Partitions to read (default all).
        seq_len: Window length.
    """

    def __init__(self, data_dir, vocabulary: nt.Vocabulary, batch_size: int, seed: int, *, split: str = "train",
                 partitions=None, seq_len: int = nt.SEQ_LEN):
        self.data_dir = Path(data_dir)
        self.manifest = load_token_manifest(data_dir)
        self.vocabulary = vocabulary
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.split = split
        self.partitions = partitions
        self.seq_len = seq_len
        self.windows = window_count(self.manifest, split, partitions)

    @property
    def batches_per_epoch(self) -> int:
        """Full batches of one pass over the windows."""
        return self.windows // self.batch_size

    def windows_dataset(self):
        """Every window once, in file order."""
        return window_dataset(record_dataset(self.data_dir, self.split, self.partitions, self.manifest), self.vocabulary, self.seq_len)

    def dataset(self, epoch: int):
        """Shuffled full batches of epoch ``epoch`` (the same on every iteration)."""
        seed = epoch_seed(self.seed, epoch)
        tf = tensorflow()
        windows = self.windows_dataset().shuffle(min(SHUFFLE_BUFFER, max(1, self.windows)), seed=seed, reshuffle_each_iteration=False)
        batches = windows.batch(self.batch_size, drop_remainder=True)
        return batches.apply(tf.data.experimental.assert_cardinality(self.batches_per_epoch)).prefetch(2)

    def evaluation_batch_size(self, limit: int = 2048) -> int:
        """A batch size that divides the window count (so every batch has the same static shape).

        Keras weights its per-output loss metrics by the *static* batch size, so a short last batch
        of unknown size skews ``val_pitch_loss`` / ``val_duration_loss`` (the summed ``val_loss``
        stays exact). The largest divisor of the window count up to ``limit`` avoids that; a count
        with no divisor >= 8 there is one batch.
        """
        best = max(d for d in range(1, min(limit, self.windows) + 1) if self.windows % d == 0)
        return best if best >= 8 or self.windows <= limit else self.windows

    def evaluation_dataset(self):
        """Every window once, in order, in equal batches of :meth:`evaluation_batch_size`."""
        tf = tensorflow()
        size = self.evaluation_batch_size()
        batches = self.windows_dataset().batch(size, drop_remainder=True)
        # A known length: Keras then stops without probing past the end. Probing an exhausted dataset
        # of unknown length adds an empty step that halves its per-output loss metrics.
        return batches.apply(tf.data.experimental.assert_cardinality(self.windows // size)).prefetch(2)
