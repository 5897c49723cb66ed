"""The pianoroll phrase record: one ``tf.train.Example`` per 64 x 84 phrase, and its tf.data readers.

Record format (serialized with deterministic map ordering):

====================  =========  ================================================================
feature               type       content
====================  =========  ================================================================
``roll``              bytes      ``np.packbits`` of the ``[64, 84]`` bool roll, row-major
                                 (time-major), most significant bit first: 64 * 84 / 8 = 672
                                 bytes. Bit ``k`` of the flattened roll is phrase step ``k // 84``,
                                 pitch index ``k % 84`` (pitch index 0 = MIDI 24).
``<partition_by>``    bytes      the partition name, UTF-8. The feature is named after the
                                 dataset's partition label: ``genre`` for the genre datasets
                                 (the name mst 0.1 used), ``corpus``, ...
``split``             bytes      ``train`` or ``test``
``song_id``           bytes      path of the source file relative to its partition's folder,
                                 ``/`` separated
``phrase_index``      int64      index of the phrase in the song's phrase sequence (before empty
                                 phrases were dropped, so gaps mark dropped empty phrases)
``uid``               int64      :func:`phrase_uid` = first 8 bytes of ``sha256(song_id \\0 index)``
                                 masked to 63 bits; stable, used for deterministic balancing
====================  =========  ================================================================

Readers (:func:`phrase_dataset`, :mod:`mst.records.pianoroll_reader`) decode in the graph:
``decode_raw`` and bit shifts, no ``py_function``; batches are ``[B, 64, 84, 1]`` float32 in {0, 1}.

TensorFlow is imported lazily, so the TF-free helpers (:func:`phrase_uid`, :func:`pack_rolls`,
:func:`unpack_rolls`) run in the preparation workers.

Example:
    >>> phrases = np.zeros((1, 64, 84), bool); phrases[0, 0, 0] = phrases[0, 63, 83] = True
    >>> packed = pack_rolls(phrases)
    >>> packed.shape, hex(packed[0, 0]), hex(packed[0, -1])
    ((1, 672), '0x80', '0x1')
    >>> bool((unpack_rolls(packed) == phrases).all())
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence

import numpy as np

from mst.encodings.pianoroll import NUM_PITCHES, PHRASE_STEPS
from mst.records.manifest import (
    DEFAULT_PARTITION_BY,
    DatasetError,
    check_partition,
    check_split,
    count,
    load_manifest,
    shard_entries,
    shard_paths,
)
from mst.records.shards import DEFAULT_SHARD_SIZE, ShardInfo, tensorflow, verify_shards, write_shards

ROLL_BYTES = PHRASE_STEPS * NUM_PITCHES // 8  # 672
MAX_SHUFFLE_BUFFER = 1 << 18
FIXED_FEATURES = ("roll", "split", "song_id", "phrase_index", "uid")
"""Feature names of every phrase record; the partition feature is named by the dataset's label."""
_UID_MASK = (1 << 63) - 1
_SHIFTS = np.arange(7, -1, -1, dtype=np.uint8)  # MSB first, as np.packbits


def record_format_description(partition_by: str = DEFAULT_PARTITION_BY) -> dict:
    """The record format in words, as the manifest's ``record_format`` stores it.

    Raises:
        ValueError: If ``partition_by`` is one of :data:`FIXED_FEATURES`.
    """
    check_partition_feature(partition_by)
    return {
        "roll": f"bytes: np.packbits of the [{PHRASE_STEPS}, {NUM_PITCHES}] bool roll, row-major, MSB first",
        partition_by: f"bytes: {partition_by} name",
        "split": "bytes: train | test",
        "song_id": f"bytes: path relative to the {partition_by} folder, '/' separated",
        "phrase_index": "int64: index of the phrase within the song",
        "uid": "int64: first 8 bytes of sha256(song_id + NUL + phrase_index) masked to 63 bits",
        "roll_bytes": ROLL_BYTES,
        "phrase_shape": [PHRASE_STEPS, NUM_PITCHES],
    }


def check_partition_feature(partition_by: str) -> str:
    """Returns ``partition_by`` if it can name the partition feature; raises ``ValueError`` otherwise."""
    if partition_by in FIXED_FEATURES or partition_by in ("roll_bytes", "phrase_shape"):
        raise ValueError(f"partition label {partition_by!r} is taken by a phrase record field; pick another")
    return partition_by


# --------------------------------------------------------------------------- TF-free helpers


def phrase_uid(song_id: str, phrase_index: int) -> int:
    """Stable 63-bit id of a phrase, independent of the dataset it lands in.

    Args:
        song_id: Song identifier (path relative to the partition's folder).
        phrase_index: Index of the phrase within the song.

    Returns:
        A non-negative int below ``2**63`` (fits an int64 feature).
    """
    digest = hashlib.sha256(f"{song_id}\0{int(phrase_index)}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & _UID_MASK


def pack_rolls(phrases: np.ndarray) -> np.ndarray:
    """Bit-packs phrases ``[n, 64, 84]`` (any dtype, nonzero = note) into ``uint8 [n, 672]``.

    Raises:
        ValueError: If the shape is not ``[n, 64, 84]`` (a trailing channel axis of 1 is accepted).
    """
    phrases = np.asarray(phrases)
    if phrases.ndim == 4 and phrases.shape[-1] == 1:
        phrases = phrases[..., 0]
    if phrases.ndim != 3 or phrases.shape[1:] != (PHRASE_STEPS, NUM_PITCHES):
        raise ValueError(f"phrases must have shape [n, {PHRASE_STEPS}, {NUM_PITCHES}], got {phrases.shape}")
    flat = (phrases != 0).reshape(phrases.shape[0], PHRASE_STEPS * NUM_PITCHES)
    return np.packbits(flat, axis=1)


def unpack_rolls(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_rolls`: ``uint8 [n, 672]`` -> ``bool [n, 64, 84]``."""
    packed = np.asarray(packed, dtype=np.uint8)
    if packed.ndim != 2 or packed.shape[1] != ROLL_BYTES:
        raise ValueError(f"packed rolls must have shape [n, {ROLL_BYTES}], got {packed.shape}")
    bits = np.unpackbits(packed, axis=1).astype(bool)
    return bits.reshape(packed.shape[0], PHRASE_STEPS, NUM_PITCHES)


@dataclasses.dataclass(frozen=True)
class PhraseRecord:
    """One phrase ready to be written.

    Attributes:
        partition: Partition name (a genre, a corpus, ...).
        split: ``train`` or ``test``.
        song_id: Path relative to the partition's folder.
        phrase_index: Index within the song.
        packed_roll: 672 bytes from :func:`pack_rolls`.
    """

    partition: str
    split: str
    song_id: str
    phrase_index: int
    packed_roll: bytes

    @property
    def uid(self) -> int:
        """:func:`phrase_uid` of this phrase."""
        return phrase_uid(self.song_id, self.phrase_index)


# --------------------------------------------------------------------------- writing


def encode_example(record: PhraseRecord, partition_by: str = DEFAULT_PARTITION_BY) -> bytes:
    """Serializes one phrase as a ``tf.train.Example`` (deterministic byte output).

    Args:
        record: The phrase.
        partition_by: The dataset's partition label, which names the partition feature.

    Raises:
        ValueError: If the packed roll is not 672 bytes or the label is taken.
    """
    if len(record.packed_roll) != ROLL_BYTES:
        raise ValueError(f"packed roll of {record.song_id}#{record.phrase_index} has {len(record.packed_roll)} bytes, expected {ROLL_BYTES}")
    check_partition_feature(partition_by)
    train = tensorflow().train

    def _bytes(value: bytes) -> object:
        return train.Feature(bytes_list=train.BytesList(value=[value]))

    def _int(value: int) -> object:
        return train.Feature(int64_list=train.Int64List(value=[int(value)]))

    example = train.Example(
        features=train.Features(
            feature={
                "roll": _bytes(bytes(record.packed_roll)),
                partition_by: _bytes(record.partition.encode("utf-8")),
                "split": _bytes(record.split.encode("utf-8")),
                "song_id": _bytes(record.song_id.encode("utf-8")),
                "phrase_index": _int(record.phrase_index),
                "uid": _int(record.uid),
            }
        )
    )
    return example.SerializeToString(deterministic=True)


def decode_example(serialized: bytes, partition_by: str = DEFAULT_PARTITION_BY) -> dict:
    """Parses one serialized record in Python (for tests and tools), unpacking the roll.

    Returns:
        ``{"roll": bool [64, 84], partition_by, "split", "song_id": str, "phrase_index", "uid": int}``.
    """
    example = tensorflow().train.Example.FromString(serialized)
    feature = example.features.feature
    packed = np.frombuffer(feature["roll"].bytes_list.value[0], dtype=np.uint8)
    return {
        "roll": unpack_rolls(packed[None])[0],
        partition_by: feature[partition_by].bytes_list.value[0].decode("utf-8"),
        "split": feature["split"].bytes_list.value[0].decode("utf-8"),
        "song_id": feature["song_id"].bytes_list.value[0].decode("utf-8"),
        "phrase_index": int(feature["phrase_index"].int64_list.value[0]),
        "uid": int(feature["uid"].int64_list.value[0]),
    }


def write_split_shards(
    directory: str | os.PathLike,
    partition: str,
    split: str,
    records: Sequence[PhraseRecord],
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    partition_by: str = DEFAULT_PARTITION_BY,
) -> list[ShardInfo]:
    """Writes one partition/split of phrases as shards (:func:`mst.records.shards.write_shards`).

    Args:
        directory: Existing output folder.
        partition: Partition name (goes into the file names and every record).
        split: ``train`` or ``test``.
        records: Phrases in their final order; each must carry this partition and split.
        shard_size: Maximum records per shard.
        partition_by: The dataset's partition label (names the partition feature).

    Returns:
        One :class:`mst.records.shards.ShardInfo` per shard, in order.

    Raises:
        ValueError: For ``shard_size < 1`` or a record of another partition or split.
    """
    for record in records:
        if record.partition != partition or record.split != split:
            raise ValueError(f"record {record.song_id}#{record.phrase_index} is {record.partition}/{record.split}, "
                             f"expected {partition}/{split}")
    check_partition_feature(partition_by)

    def serialize(record: PhraseRecord) -> bytes:
        return encode_example(record, partition_by)

    return write_shards(directory, partition, split, records, serialize, shard_size=shard_size)


# --------------------------------------------------------------------------- reading


def _feature_spec(tf, partition_by: str) -> dict:
    return {
        "roll": tf.io.FixedLenFeature([], tf.string),
        partition_by: tf.io.FixedLenFeature([], tf.string),
        "split": tf.io.FixedLenFeature([], tf.string),
        "song_id": tf.io.FixedLenFeature([], tf.string),
        "phrase_index": tf.io.FixedLenFeature([], tf.int64),
        "uid": tf.io.FixedLenFeature([], tf.int64),
    }


def decode_packed_rolls(packed_bytes):
    """In-graph decoding of packed rolls: string tensor ``[...]`` -> float32 ``[..., 64, 84, 1]``.

    Uses ``tf.io.decode_raw`` and bit shifts only (no ``py_function``), so it runs inside tf.data's
    parallel map and under ``tf.function``.
    """
    tf = tensorflow()
    packed = tf.io.decode_raw(packed_bytes, tf.uint8)
    packed = tf.ensure_shape(packed, packed_bytes.shape.concatenate([ROLL_BYTES]))
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(packed[..., None], tf.constant(_SHIFTS)), tf.constant(1, tf.uint8))
    leading = tf.shape(packed)[:-1]
    rolls = tf.reshape(bits, tf.concat([leading, [PHRASE_STEPS, NUM_PITCHES, 1]], axis=0))
    rolls = tf.cast(rolls, tf.float32)
    return tf.ensure_shape(rolls, packed_bytes.shape.concatenate([PHRASE_STEPS, NUM_PITCHES, 1]))


def parse_records(serialized, *, with_metadata: bool, partition_by: str = DEFAULT_PARTITION_BY):
    """Parses serialized records (scalar or batch) and decodes the rolls in the graph.

    Returns:
        The float32 rolls, or (``with_metadata``) a dict of every feature with the decoded roll.
    """
    tf = tensorflow()
    spec = _feature_spec(tf, partition_by)
    if not with_metadata:
        spec = {"roll": spec["roll"]}
    if serialized.shape.rank == 0:
        features = tf.io.parse_single_example(serialized, spec)
    else:
        features = tf.io.parse_example(serialized, spec)
    rolls = decode_packed_rolls(features["roll"])
    if not with_metadata:
        return rolls
    features["roll"] = rolls
    return features


def _record_dataset(paths: list[str], records: int, *, block_length: int):
    """Serialized records of one partition/split: parallel, deterministic interleave over its shards."""
    tf = tensorflow()
    files = tf.data.Dataset.from_tensor_slices(paths)
    dataset = files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(len(paths), 8)),
        block_length=max(1, block_length),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return dataset.apply(tf.data.experimental.assert_cardinality(records))


def _partition_records(data_dir, manifest: dict, partition: str, split: str, *, interleaved: bool):
    """Records of one partition/split; file order when ``interleaved`` is False, mixed across shards otherwise."""
    paths = shard_paths(data_dir, manifest, partition, split)
    records = count(manifest, partition, split)
    if records == 0 or not paths:
        raise DatasetError(f"{manifest['partition_by']} {partition!r} has no {split} phrases in {data_dir} (empty split)")
    largest_shard = max(shard["records"] for shard in shard_entries(manifest, partition, split))
    return _record_dataset(paths, records, block_length=1 if interleaved else largest_shard)


def _shuffle_buffer(records: int) -> int:
    return max(1, min(records, MAX_SHUFFLE_BUFFER))


def _as_name_list(names: str | Sequence[str], label: str) -> list[str]:
    listed = [names] if isinstance(names, str) else list(names)
    if not listed:
        raise DatasetError(f"no {label} given")
    if len(set(listed)) != len(listed):
        raise DatasetError(f"{label} names listed twice: {listed}")
    return listed


def phrase_dataset(
    data_dir: str | os.PathLike,
    partitions: str | Sequence[str],
    split: str = "train",
    *,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
    drop_remainder: bool = False,
    limit_per_partition: int | None = None,
    with_metadata: bool = False,
    verify: bool = False,
):
    """Phrases of one or more partitions (genres, corpora, ...) as a ``tf.data.Dataset``.

    Without shuffling, the order is the manifest's: partition by partition as listed, songs sorted
    by id, phrases by index. With ``shuffle=True`` the records of all partitions go through one
    shuffle buffer holding the whole selection (up to 262,144 records), seeded with ``seed`` and
    reshuffled on every iteration, so the sequence of epochs is reproducible.

    Args:
        data_dir: Prepared dataset folder.
        partitions: Partition name or names.
        split: ``train`` or ``test``.
        batch_size: Batch size, or ``None`` for single phrases ``[64, 84, 1]``.
        shuffle: Shuffle the phrases.
        seed: Shuffle seed.
        repeat: Repeat forever (after shuffling, so every pass is reshuffled).
        drop_remainder: Drop the last incomplete batch (use it under a distribution strategy).
        limit_per_partition: Keep at most this many phrases per partition (the first ones in
            manifest order).
        with_metadata: Yield dicts ``{"roll", <partition_by>, "split", "song_id", "phrase_index",
            "uid"}`` (``<partition_by>`` is e.g. ``"genre"``) instead of bare roll tensors.
        verify: Check each shard's sha256 against the manifest before reading.

    Returns:
        A dataset of float32 rolls ``[B, 64, 84, 1]`` in {0, 1} (or dicts); its cardinality is known
        unless ``repeat`` is set.

    Raises:
        DatasetError: Missing dataset or manifest, unknown partition, empty split, damaged shard.
    """
    tf = tensorflow()
    manifest = load_manifest(data_dir)
    label = manifest["partition_by"]
    names = _as_name_list(partitions, label)
    check_split(split)
    for name in names:
        check_partition(manifest, name, data_dir)
    if verify:
        verify_shards(data_dir, manifest, partitions=names)
    dataset = None
    for name in names:
        # A limit keeps the first phrases in manifest order, so only unlimited reads mix shards.
        part = _partition_records(data_dir, manifest, name, split, interleaved=shuffle and limit_per_partition is None)
        if limit_per_partition is not None:
            if limit_per_partition < 1:
                raise ValueError(f"limit_per_partition must be >= 1, got {limit_per_partition}")
            part = part.take(limit_per_partition)
        dataset = part if dataset is None else dataset.concatenate(part)
    if shuffle:
        total = int(dataset.cardinality().numpy())
        dataset = dataset.shuffle(_shuffle_buffer(total), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def parse(serialized):
        return parse_records(serialized, with_metadata=with_metadata, partition_by=label)

    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def read_uids(data_dir: str | os.PathLike, partition: str, split: str = "train", manifest: dict | None = None) -> np.ndarray:
    """Reads the ``uid`` column of one partition/split eagerly (int64, manifest order)."""
    tf = tensorflow()
    manifest = load_manifest(data_dir) if manifest is None else manifest
    check_partition(manifest, partition, data_dir)
    records = _partition_records(data_dir, manifest, partition, split, interleaved=False)
    spec = {"uid": tf.io.FixedLenFeature([], tf.int64)}

    def parse_uid(serialized):
        return tf.io.parse_example(serialized, spec)["uid"]

    batches = records.batch(4096).map(parse_uid, num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate([batch.numpy() for batch in batches]).astype(np.int64)


def balanced_uid_threshold(uids: np.ndarray, keep: int) -> int:
    """Largest uid kept when keeping the ``keep`` phrases with the smallest uids.

    Example:
        >>> balanced_uid_threshold(np.array([50, 10, 40, 20]), keep=2)
        20
    """
    if not 1 <= keep <= len(uids):
        raise ValueError(f"cannot keep {keep} of {len(uids)} phrases")
    return int(np.partition(np.asarray(uids, dtype=np.int64), keep - 1)[keep - 1])
