"""TFRecord phrase format, atomic shard writer, dataset manifest and tf.data readers.

A prepared dataset is one folder holding ``manifest.json`` and the shards
``{genre}-{split}.tfrecord-{i:05d}-of-{n:05d}``. The manifest is written last (atomically), so a
folder without ``manifest.json`` is an incomplete dataset and every reader refuses it.

Record format (one ``tf.train.Example`` per phrase, serialized with deterministic map ordering):

================  =========  ===================================================================
feature           type       content
================  =========  ===================================================================
``roll``          bytes      ``np.packbits`` of the ``[64, 84]`` bool roll, row-major (time-major),
                             most significant bit first: 64 * 84 / 8 = 672 bytes. Bit ``k`` of the
                             flattened roll is phrase step ``k // 84``, pitch index ``k % 84``
                             (pitch index 0 = MIDI 24).
``genre``         bytes      lower-case genre name, UTF-8
``split``         bytes      ``train`` or ``test``
``song_id``       bytes      path of the source file relative to its genre folder, ``/`` separated
``phrase_index``  int64      index of the phrase in the song's phrase sequence (before empty
                             phrases were dropped, so gaps mark dropped empty phrases)
``uid``           int64      :func:`phrase_uid` = first 8 bytes of ``sha256(song_id \\0 index)``
                             masked to 63 bits; stable, used for deterministic balancing
================  =========  ===================================================================

Manifest (``manifest.json``, UTF-8, sorted keys) top-level fields:

* ``format`` (``"mst.phrase_dataset"``), ``format_version`` (1), ``record_format`` (the table above
  in words, plus ``roll_bytes`` and ``phrase_shape``).
* ``library_versions``: mst, numpy, symusic, pretty_midi, tensorflow, python.
* ``phrase_options``: the ``mst.encodings.pianoroll_extract.PhraseOptions`` used, as a dict.
* ``split``: ``{"seed", "test_ratio", "method"}``.
* ``genres``: per genre ``source_dir``, ``files_found``, ``files_kept``, ``files_skipped``,
  ``skipped_by_reason`` (reason -> count), ``songs`` and ``phrases`` (each ``{"train", "test"}``),
  ``test_fallback_song`` (see :mod:`mst.records.splits`), ``kept_file_stats`` (``mst.encodings.pianoroll_extract.SongStats`` summed
  over the kept files: notes, drum notes dropped, phrases trimmed, empty phrases dropped, ...).
* ``songs``: per genre, a list of ``{"song_id", "split", "phrases"}`` for every kept song.
* ``skipped``: every skipped file as ``{"genre", "song_id", "reason", "detail"}``.
* ``shards``: ``{"file", "genre", "split", "records", "bytes", "sha256"}`` for every shard.

Readers (:func:`phrase_dataset`, :func:`cyclegan_dataset`) decode in the graph: ``decode_raw`` and
bit shifts, no ``py_function``; batches are ``[B, 64, 84, 1]`` float32 in {0, 1}.

TensorFlow is imported lazily so that the TF-free helpers (:func:`phrase_uid`, :func:`pack_rolls`,
:func:`unpack_rolls`) can be used from the preparation workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings.pianoroll import NUM_PITCHES, PHRASE_STEPS

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "mst.phrase_dataset"
MANIFEST_FORMAT_VERSION = 1
ROLL_BYTES = PHRASE_STEPS * NUM_PITCHES // 8  # 672
DEFAULT_SHARD_SIZE = 1024
MAX_SHUFFLE_BUFFER = 1 << 18
_SHARD_NAME = re.compile(r"^(?P<genre>.+)-(?P<split>[a-z]+)\.tfrecord-(?P<index>\d{5})-of-(?P<total>\d{5})$")
_UID_MASK = (1 << 63) - 1

RECORD_FORMAT_DESCRIPTION = {
    "roll": f"bytes: np.packbits of the [{PHRASE_STEPS}, {NUM_PITCHES}] bool roll, row-major, MSB first",
    "genre": "bytes: genre name",
    "split": "bytes: train | test",
    "song_id": "bytes: path relative to the genre folder, '/' separated",
    "phrase_index": "int64: index of the phrase within the song",
    "uid": "int64: first 8 bytes of sha256(song_id + NUL + phrase_index) masked to 63 bits",
    "roll_bytes": ROLL_BYTES,
    "phrase_shape": [PHRASE_STEPS, NUM_PITCHES],
}


class DatasetError(Exception):
    """A prepared dataset is missing, incomplete, corrupt or cannot serve the request."""


def _tf():
    """TensorFlow, imported quietly on first use.

    Also called inside functions that tf.data traces: the ``sys.modules`` shortcut keeps AutoGraph
    from descending into the import helper (it would warn about ``os.environ.setdefault``).
    """
    loaded = sys.modules.get("tensorflow")
    if loaded is not None:
        return loaded
    from mst.runtime import import_tensorflow  # noqa: PLC0415  (TF only where it is needed)

    return import_tensorflow()


# --------------------------------------------------------------------------- TF-free helpers


def phrase_uid(song_id: str, phrase_index: int) -> int:
    """Stable 63-bit id of a phrase, independent of the dataset it lands in.

    Args:
        song_id: Song identifier (path relative to the genre folder).
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


def shard_file_name(genre: str, split: str, index: int, num_shards: int) -> str:
    """``{genre}-{split}.tfrecord-{index:05d}-of-{num_shards:05d}``."""
    return f"{genre}-{split}.tfrecord-{index:05d}-of-{num_shards:05d}"


def is_shard_file_name(name: str) -> bool:
    """True for a final shard name (temporary ``.tmp-<pid>`` files do not match)."""
    return _SHARD_NAME.match(name) is not None


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- writing


@dataclasses.dataclass(frozen=True)
class PhraseRecord:
    """One phrase ready to be written.

    Attributes:
        genre: Genre name.
        split: ``train`` or ``test``.
        song_id: Path relative to the genre folder.
        phrase_index: Index within the song.
        packed_roll: 672 bytes from :func:`pack_rolls`.
    """

    genre: str
    split: str
    song_id: str
    phrase_index: int
    packed_roll: bytes

    @property
    def uid(self) -> int:
        """:func:`phrase_uid` of this phrase."""
        return phrase_uid(self.song_id, self.phrase_index)


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """What the manifest records about one written shard."""

    file: str
    genre: str
    split: str
    records: int
    bytes: int
    sha256: str


def encode_example(record: PhraseRecord) -> bytes:
    """Serializes one phrase as a ``tf.train.Example`` (deterministic byte output).

    Raises:
        ValueError: If the packed roll is not 672 bytes.
    """
    if len(record.packed_roll) != ROLL_BYTES:
        raise ValueError(f"packed roll of {record.song_id}#{record.phrase_index} has {len(record.packed_roll)} bytes, expected {ROLL_BYTES}")
    train = _tf().train

    def _bytes(value: bytes) -> object:
        return train.Feature(bytes_list=train.BytesList(value=[value]))

    def _int(value: int) -> object:
        return train.Feature(int64_list=train.Int64List(value=[int(value)]))

    example = train.Example(
        features=train.Features(
            feature={
                "roll": _bytes(bytes(record.packed_roll)),
                "genre": _bytes(record.genre.encode("utf-8")),
                "split": _bytes(record.split.encode("utf-8")),
                "song_id": _bytes(record.song_id.encode("utf-8")),
                "phrase_index": _int(record.phrase_index),
                "uid": _int(record.uid),
            }
        )
    )
    return example.SerializeToString(deterministic=True)


def decode_example(serialized: bytes) -> dict:
    """Parses one serialized record in Python (for tests and tools), unpacking the roll.

    Returns:
        ``{"roll": bool [64, 84], "genre", "split", "song_id": str, "phrase_index", "uid": int}``.
    """
    example = _tf().train.Example.FromString(serialized)
    feature = example.features.feature
    packed = np.frombuffer(feature["roll"].bytes_list.value[0], dtype=np.uint8)
    return {
        "roll": unpack_rolls(packed[None])[0],
        "genre": feature["genre"].bytes_list.value[0].decode("utf-8"),
        "split": feature["split"].bytes_list.value[0].decode("utf-8"),
        "song_id": feature["song_id"].bytes_list.value[0].decode("utf-8"),
        "phrase_index": int(feature["phrase_index"].int64_list.value[0]),
        "uid": int(feature["uid"].int64_list.value[0]),
    }


def write_split_shards(
    directory: str | os.PathLike,
    genre: str,
    split: str,
    records: Sequence[PhraseRecord],
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> list[ShardInfo]:
    """Writes one genre/split as ``ceil(len(records) / shard_size)`` shards, each atomically.

    Each shard is written under ``<name>.tmp-<pid>``, flushed to disk and renamed into place, so a
    file with a final shard name is always complete. If writing fails, the temporary file is removed
    and the error propagates. No shard is written for an empty split.

    Args:
        directory: Existing output folder.
        genre: Genre name (goes into the file name and every record).
        split: ``train`` or ``test``.
        records: Phrases in their final order; each must carry this genre and split.
        shard_size: Maximum records per shard (the shards are filled evenly, in order).

    Returns:
        One :class:`ShardInfo` per shard, in order.

    Raises:
        ValueError: For ``shard_size < 1`` or a record of another genre or split.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    for record in records:
        if record.genre != genre or record.split != split:
            raise ValueError(f"record {record.song_id}#{record.phrase_index} is {record.genre}/{record.split}, expected {genre}/{split}")
    directory = Path(directory)
    total = len(records)
    num_shards = -(-total // shard_size)
    tf = _tf()
    infos = []
    for index in range(num_shards):
        start, stop = index * total // num_shards, (index + 1) * total // num_shards
        final = directory / shard_file_name(genre, split, index, num_shards)
        with atomic.atomic_path(final) as temporary:
            with tf.io.TFRecordWriter(str(temporary)) as writer:
                for record in records[start:stop]:
                    writer.write(encode_example(record))
            digest = sha256_file(temporary)
            size = temporary.stat().st_size
        infos.append(ShardInfo(final.name, genre, split, stop - start, size, digest))
    return infos


def write_manifest(directory: str | os.PathLike, manifest: dict) -> Path:
    """Writes ``manifest.json`` atomically (call it last: it marks the dataset complete)."""
    path = Path(directory) / MANIFEST_NAME
    atomic.write_json(path, manifest)
    return path


# --------------------------------------------------------------------------- manifest access


def load_manifest(data_dir: str | os.PathLike) -> dict:
    """Reads and checks ``manifest.json`` of a prepared dataset.

    Raises:
        DatasetError: If the folder or its manifest is missing (an incomplete dataset), the manifest
            is not valid JSON, or it has another format or version.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetError(f"dataset folder {data_dir} does not exist (prepare it with `python -m mst.prepare`)")
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing: {data_dir} is not a prepared dataset, or its preparation did not finish "
            "(the manifest is written last)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from error
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("format_version") != MANIFEST_FORMAT_VERSION:
        raise DatasetError(
            f"{path} has format {manifest.get('format')!r} version {manifest.get('format_version')!r}; "
            f"expected {MANIFEST_FORMAT!r} version {MANIFEST_FORMAT_VERSION}"
        )
    return manifest


def known_genres(manifest: dict) -> list[str]:
    """Genre names of a dataset, sorted."""
    return sorted(manifest["genres"])


def _check_genre(manifest: dict, genre: str, data_dir: str | os.PathLike | None = None) -> None:
    if genre not in manifest["genres"]:
        where = f" in {data_dir}" if data_dir is not None else ""
        raise DatasetError(f"unknown genre {genre!r}{where}; known genres: {', '.join(known_genres(manifest))}")


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}; expected 'train' or 'test'")


def count(manifest: dict, genre: str, split: str) -> int:
    """Number of phrases of one genre and split.

    Raises:
        DatasetError: For an unknown genre or split.
    """
    _check_genre(manifest, genre)
    _check_split(split)
    return int(manifest["genres"][genre]["phrases"][split])


def shard_paths(data_dir: str | os.PathLike, manifest: dict, genre: str, split: str) -> list[str]:
    """Paths of one genre/split's shards in manifest order, checked to exist.

    Raises:
        DatasetError: If a listed shard file is missing.
    """
    paths = []
    for shard in manifest["shards"]:
        if shard["genre"] == genre and shard["split"] == split:
            path = Path(data_dir) / shard["file"]
            if not path.is_file():
                raise DatasetError(f"shard {path} listed in the manifest is missing")
            paths.append(str(path))
    return paths


def verify_shards(data_dir: str | os.PathLike, manifest: dict | None = None, *, genres: Iterable[str] | None = None) -> None:
    """Checks that every shard (of ``genres``, default all) has the manifest's size and sha256.

    Raises:
        DatasetError: Naming the first shard that is missing or differs.
    """
    manifest = load_manifest(data_dir) if manifest is None else manifest
    wanted = set(manifest["genres"] if genres is None else genres)
    for shard in manifest["shards"]:
        if shard["genre"] not in wanted:
            continue
        path = Path(data_dir) / shard["file"]
        if not path.is_file():
            raise DatasetError(f"shard {path} listed in the manifest is missing")
        size = path.stat().st_size
        if size != shard["bytes"]:
            raise DatasetError(f"shard {path} has {size} bytes, the manifest says {shard['bytes']}: the file is damaged")
        digest = sha256_file(path)
        if digest != shard["sha256"]:
            raise DatasetError(f"shard {path} has sha256 {digest}, the manifest says {shard['sha256']}: the file is damaged")


# --------------------------------------------------------------------------- reading


_SHIFTS = np.arange(7, -1, -1, dtype=np.uint8)  # MSB first, as np.packbits


def _feature_spec(tf):
    return {
        "roll": tf.io.FixedLenFeature([], tf.string),
        "genre": tf.io.FixedLenFeature([], tf.string),
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
    tf = _tf()
    packed = tf.io.decode_raw(packed_bytes, tf.uint8)
    packed = tf.ensure_shape(packed, packed_bytes.shape.concatenate([ROLL_BYTES]))
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(packed[..., None], tf.constant(_SHIFTS)), tf.constant(1, tf.uint8))
    leading = tf.shape(packed)[:-1]
    rolls = tf.reshape(bits, tf.concat([leading, [PHRASE_STEPS, NUM_PITCHES, 1]], axis=0))
    rolls = tf.cast(rolls, tf.float32)
    return tf.ensure_shape(rolls, packed_bytes.shape.concatenate([PHRASE_STEPS, NUM_PITCHES, 1]))


def _parse_records(serialized, *, with_metadata: bool):
    """Parses serialized records (scalar or batch) and decodes the rolls in the graph."""
    tf = _tf()
    spec = _feature_spec(tf)
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
    """Serialized records of one genre/split: parallel, deterministic interleave over its shards."""
    tf = _tf()
    files = tf.data.Dataset.from_tensor_slices(paths)
    dataset = files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(len(paths), 8)),
        block_length=max(1, block_length),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return dataset.apply(tf.data.experimental.assert_cardinality(records))


def _genre_records(data_dir, manifest: dict, genre: str, split: str, *, interleaved: bool):
    """Records of one genre/split; file order when ``interleaved`` is False, mixed across shards otherwise."""
    paths = shard_paths(data_dir, manifest, genre, split)
    records = count(manifest, genre, split)
    if records == 0 or not paths:
        raise DatasetError(f"genre {genre!r} has no {split} phrases in {data_dir} (empty split)")
    largest_shard = max(shard["records"] for shard in manifest["shards"] if shard["genre"] == genre and shard["split"] == split)
    return _record_dataset(paths, records, block_length=1 if interleaved else largest_shard)


def _shuffle_buffer(records: int) -> int:
    return max(1, min(records, MAX_SHUFFLE_BUFFER))


def _as_genre_list(genres: str | Sequence[str]) -> list[str]:
    names = [genres] if isinstance(genres, str) else list(genres)
    if not names:
        raise DatasetError("no genre given")
    if len(set(names)) != len(names):
        raise DatasetError(f"genres listed twice: {names}")
    return names


def phrase_dataset(
    data_dir: str | os.PathLike,
    genres: str | Sequence[str],
    split: str = "train",
    *,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
    drop_remainder: bool = False,
    limit_per_genre: int | None = None,
    with_metadata: bool = False,
    verify: bool = False,
):
    """Phrases of one or more genres as a ``tf.data.Dataset``.

    Without shuffling, the order is the manifest's: genre by genre as listed, songs sorted by id,
    phrases by index. With ``shuffle=True`` the records of all genres go through one shuffle buffer
    holding the whole selection (up to 262,144 records), seeded with ``seed`` and reshuffled on
    every iteration, so the sequence of epochs is reproducible.

    Args:
        data_dir: Prepared dataset folder.
        genres: Genre name or names.
        split: ``train`` or ``test``.
        batch_size: Batch size, or ``None`` for single phrases ``[64, 84, 1]``.
        shuffle: Shuffle the phrases.
        seed: Shuffle seed.
        repeat: Repeat forever (after shuffling, so every pass is reshuffled).
        drop_remainder: Drop the last incomplete batch (use it under a distribution strategy).
        limit_per_genre: Keep at most this many phrases per genre (the first ones in manifest order).
        with_metadata: Yield dicts ``{"roll", "genre", "split", "song_id", "phrase_index", "uid"}``
            instead of bare roll tensors.
        verify: Check each shard's sha256 against the manifest before reading.

    Returns:
        A dataset of float32 rolls ``[B, 64, 84, 1]`` in {0, 1} (or dicts); its cardinality is known
        unless ``repeat`` is set.

    Raises:
        DatasetError: Missing dataset or manifest, unknown genre, empty split, damaged shard.
    """
    tf = _tf()
    manifest = load_manifest(data_dir)
    names = _as_genre_list(genres)
    _check_split(split)
    for name in names:
        _check_genre(manifest, name, data_dir)
    if verify:
        verify_shards(data_dir, manifest, genres=names)
    dataset = None
    for name in names:
        # A limit keeps the first phrases in manifest order, so only unlimited reads mix shards.
        part = _genre_records(data_dir, manifest, name, split, interleaved=shuffle and limit_per_genre is None)
        if limit_per_genre is not None:
            if limit_per_genre < 1:
                raise ValueError(f"limit_per_genre must be >= 1, got {limit_per_genre}")
            part = part.take(limit_per_genre)
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
        return _parse_records(serialized, with_metadata=with_metadata)

    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def read_uids(data_dir: str | os.PathLike, genre: str, split: str = "train", manifest: dict | None = None) -> np.ndarray:
    """Reads the ``uid`` column of one genre/split eagerly (int64, manifest order)."""
    tf = _tf()
    manifest = load_manifest(data_dir) if manifest is None else manifest
    _check_genre(manifest, genre, data_dir)
    records = _genre_records(data_dir, manifest, genre, split, interleaved=False)
    spec = {"uid": tf.io.FixedLenFeature([], tf.int64)}

    def parse_uid(serialized):
        return tf.io.parse_example(serialized, spec)["uid"]

    batches = records.batch(4096).map(parse_uid, num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate([batch.numpy() for batch in batches]).astype(np.int64)


def balanced_uid_threshold(uids: np.ndarray, keep: int) -> int:
    """Largest uid kept when keeping the ``keep`` phrases with the smallest uids."""
    if not 1 <= keep <= len(uids):
        raise ValueError(f"cannot keep {keep} of {len(uids)} phrases")
    return int(np.partition(np.asarray(uids, dtype=np.int64), keep - 1)[keep - 1])


def cyclegan_dataset(
    data_dir: str | os.PathLike,
    genre_a: str,
    genre_b: str,
    *,
    mixed_genres: Sequence[str] | None = None,
    batch_size: int = 16,
    seed: int = 0,
    balance: bool = True,
    split: str = "train",
    verify: bool = False,
):
    """Paired, independently shuffled batches for CycleGAN training: ``{"a", "b"[, "m"]}``.

    One iteration is one epoch of ``min(#A, #B) // batch_size`` batches (``drop_remainder=True``,
    cardinality known); each new iteration reshuffles A, B and M (deterministically from ``seed``).

    Balancing (``balance=True``, the paper's per-pair downsampling): the larger side keeps only the
    ``min(#A, #B)`` phrases with the smallest ``uid`` (read once, eagerly), so the subset is
    deterministic, identical across runs and machines, and independent of shard layout. With
    ``balance=False`` both sides keep all phrases and each epoch uses a fresh random part of the
    larger side.

    The mixed set M (``mixed_genres``, e.g. ``[a, b]`` for the paper's *partial* model and
    ``[a, b, c]`` for *full*) is the union of all of those genres' phrases of ``split`` (not
    downsampled), shuffled on its own and repeated, so it never shortens the epoch.

    Args:
        data_dir: Prepared dataset folder.
        genre_a: Genre of domain A (the pair's first genre).
        genre_b: Genre of domain B.
        mixed_genres: Genres of the mixed set M, or ``None`` for no M.
        batch_size: Batch size for A, B and M.
        seed: Shuffle seed (A uses ``seed``, B ``seed + 1``, M ``seed + 2``).
        balance: Downsample the larger side to the smaller side's size.
        split: ``train`` (default) or ``test``.
        verify: Check the shards' sha256 against the manifest first.

    Returns:
        A ``tf.data.Dataset`` of dicts of float32 ``[batch_size, 64, 84, 1]`` tensors in {0, 1}.

    Raises:
        DatasetError: Missing dataset or manifest, unknown genre, empty split, A equal to B, or
            fewer phrases than one batch.
    """
    tf = _tf()
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    manifest = load_manifest(data_dir)
    _check_split(split)
    if genre_a == genre_b:
        raise DatasetError(f"genre_a and genre_b must differ, both are {genre_a!r}")
    mixed = None if mixed_genres is None else _as_genre_list(mixed_genres)
    for name in [genre_a, genre_b, *(mixed or [])]:
        _check_genre(manifest, name, data_dir)
    if verify:
        verify_shards(data_dir, manifest, genres={genre_a, genre_b, *(mixed or [])})
    counts = {name: count(manifest, name, split) for name in (genre_a, genre_b)}
    for name, records in counts.items():
        if records == 0:
            raise DatasetError(f"genre {name!r} has no {split} phrases in {data_dir} (empty split)")
    per_side = min(counts.values())
    if per_side < batch_size:
        raise DatasetError(
            f"{genre_a}: {counts[genre_a]} and {genre_b}: {counts[genre_b]} {split} phrases in {data_dir}; "
            f"need at least one full batch of {batch_size} on each side"
        )

    def side(genre: str, side_seed: int):
        records = _genre_records(data_dir, manifest, genre, split, interleaved=True)
        size = counts[genre]
        if balance and size > per_side:
            threshold = balanced_uid_threshold(read_uids(data_dir, genre, split, manifest), per_side)
            uid_spec = {"uid": tf.io.FixedLenFeature([], tf.int64)}

            def keep(serialized):
                return tf.io.parse_single_example(serialized, uid_spec)["uid"] <= threshold

            records = records.filter(keep).take(per_side).apply(tf.data.experimental.assert_cardinality(per_side))
            size = per_side
        records = records.shuffle(_shuffle_buffer(size), seed=side_seed, reshuffle_each_iteration=True)
        return records.batch(batch_size, drop_remainder=True).map(decode_batch, num_parallel_calls=tf.data.AUTOTUNE)

    def decode_batch(serialized):
        return _parse_records(serialized, with_metadata=False)

    components = {"a": side(genre_a, seed), "b": side(genre_b, seed + 1)}
    if mixed is not None:
        pool = None
        for name in mixed:
            part = _genre_records(data_dir, manifest, name, split, interleaved=True)
            pool = part if pool is None else pool.concatenate(part)
        mixed_size = int(pool.cardinality().numpy())
        if mixed_size < batch_size:
            raise DatasetError(f"mixed set {mixed} has {mixed_size} {split} phrases, fewer than one batch of {batch_size}")
        pool = pool.shuffle(_shuffle_buffer(mixed_size), seed=seed + 2, reshuffle_each_iteration=True).repeat()
        components["m"] = pool.batch(batch_size, drop_remainder=True).map(decode_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return tf.data.Dataset.zip(components).prefetch(tf.data.AUTOTUNE)
