"""Shard files: their names, the atomic shard writer, sha256 checksums and verification.

The records of one partition and split are stored in TFRecord files named
``{partition}-{split}.tfrecord-{i:05d}-of-{n:05d}`` (``jazz-train.tfrecord-00000-of-00003``), each
written under a temporary name and renamed into place when complete, so a file with a shard name
is never half written. The manifest (:mod:`mst.records.manifest`) lists every shard with its
record count, size and sha256.

The writer takes any records and a function that serializes one; what a record holds is the
encoder's business (:mod:`mst.records.pianoroll_examples` for the pianoroll phrases).

TensorFlow is imported on first use (:func:`tensorflow`), so preparation workers that only name or
hash files never load it.

Example:
    >>> shard_file_name("jazz", "train", 0, 3)
    'jazz-train.tfrecord-00000-of-00003'
    >>> is_shard_file_name("jazz-train.tfrecord-00000-of-00003"), is_shard_file_name("x.tmp-12")
    (True, False)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from mst import atomic
from mst.errors import first_line
from mst.records.manifest import DatasetError, load_manifest

DEFAULT_SHARD_SIZE = 1024
_SHARD_NAME = re.compile(r"^(?P<partition>.+)-(?P<split>[a-z]+)\.tfrecord-(?P<index>\d{5})-of-(?P<total>\d{5})$")

Record = TypeVar("Record")


def tensorflow():
    """TensorFlow, imported quietly on first use.

    Also called inside functions that tf.data traces: the ``sys.modules`` shortcut keeps AutoGraph
    from descending into the import helper (it would warn about ``os.environ.setdefault``).
    """
    loaded = sys.modules.get("tensorflow")
    if loaded is not None:
        return loaded
    from mst.runtime import import_tensorflow  # noqa: PLC0415  (TF only where it is needed)

    return import_tensorflow()


def shard_file_name(partition: str, split: str, index: int, num_shards: int) -> str:
    """``{partition}-{split}.tfrecord-{index:05d}-of-{num_shards:05d}``."""
    return f"{partition}-{split}.tfrecord-{index:05d}-of-{num_shards:05d}"


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


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """What the manifest records about one written shard (``dataclasses.asdict`` is the entry)."""

    file: str
    partition: str
    split: str
    records: int
    bytes: int
    sha256: str


def write_shards(
    directory: str | os.PathLike,
    partition: str,
    split: str,
    records: Sequence[Record],
    serialize: Callable[[Record], bytes],
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> list[ShardInfo]:
    """Writes one partition/split as ``ceil(len(records) / shard_size)`` shards, each atomically.

    Each shard is written under ``<name>.tmp-<pid>``, flushed to disk and renamed into place, so a
    file with a final shard name is always complete. If writing fails (``serialize`` raising
    included), the temporary file is removed and the error propagates; the shards finished before
    stay. No shard is written for an empty split.

    Args:
        directory: Existing output folder.
        partition: Partition name (goes into the file names).
        split: ``train`` or ``test``.
        records: Records in their final order.
        serialize: Turns one record into the bytes of one TFRecord entry; called shard by shard.
        shard_size: Maximum records per shard (the shards are filled evenly, in order).

    Returns:
        One :class:`ShardInfo` per shard, in order.

    Raises:
        ValueError: For ``shard_size < 1``.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    directory = Path(directory)
    total = len(records)
    num_shards = -(-total // shard_size)
    tf = tensorflow() if num_shards else None
    infos = []
    for index in range(num_shards):
        start, stop = index * total // num_shards, (index + 1) * total // num_shards
        final = directory / shard_file_name(partition, split, index, num_shards)
        with atomic.atomic_path(final) as temporary:
            with tf.io.TFRecordWriter(str(temporary)) as writer:
                for record in records[start:stop]:
                    writer.write(serialize(record))
            digest = sha256_file(temporary)
            size = temporary.stat().st_size
        infos.append(ShardInfo(final.name, partition, split, stop - start, size, digest))
    return infos


def verify_shards(
    data_dir: str | os.PathLike, manifest: dict | None = None, *, partitions: Iterable[str] | None = None
) -> None:
    """Checks that every shard (of ``partitions``, default all) has the manifest's size and sha256.

    Raises:
        DatasetError: Naming the first shard that is missing or differs.
    """
    manifest = load_manifest(data_dir) if manifest is None else manifest
    wanted = set(manifest["partitions"] if partitions is None else partitions)
    for shard in manifest["shards"]:
        if shard["partition"] not in wanted:
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


_VERIFIED: set[tuple[str, int, int]] = set()


def verify_dataset_once(data_dir: str | os.PathLike) -> bool:
    """:func:`verify_shards` for every shard of a dataset, at most once per process and manifest.

    Training, evaluation and generation call this before reading a dataset: a shard whose bytes
    differ from the sha256 the manifest recorded (a flipped byte, a truncated copy, even one with a
    recomputed TFRecord CRC) stops the command with one line naming the shard, instead of training
    on it or ending in TensorFlow's ``DataLossError``. Hashing runs at disk speed (hundreds of MB/s)
    and is skipped when the same manifest was verified before in this process.

    Returns:
        ``True`` if the shards were hashed now, ``False`` if this manifest was already verified.

    Raises:
        DatasetError: A missing or damaged shard (the message names it), or no manifest.
    """
    manifest_file = Path(data_dir) / "manifest.json"
    if not manifest_file.is_file():
        load_manifest(data_dir)  # raises the readers' "not a prepared dataset" error
    stat = manifest_file.stat()
    key = (str(manifest_file.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _VERIFIED:
        return False
    verify_shards(data_dir)
    _VERIFIED.add(key)
    return True



def explain_read_error(data_dir: str | os.PathLike, error: BaseException) -> DatasetError:
    """Turns TensorFlow's error while reading a dataset into one that names the bad shard.

    TensorFlow's ``DataLossError`` ("corrupted record at 1234") does not say which file; this
    hashes every shard against the manifest (uncached: the file may have changed since the start
    check, or the check was turned off) and, when every hash matches, reads each shard's records
    until one fails.

    Returns:
        A :class:`DatasetError` to raise (``from error``).
    """
    try:
        verify_shards(data_dir)
    except DatasetError as damaged:
        return damaged
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    for shard in load_manifest(data_dir)["shards"]:
        path = Path(data_dir) / shard["file"]
        try:
            for _ in tf.data.TFRecordDataset(str(path)):
                pass
        except tf.errors.OpError as failure:
            return DatasetError(f"shard {path} cannot be read ({type(failure).__name__}: {first_line(failure)}); prepare the dataset again")
    return DatasetError(f"reading the dataset {data_dir} failed ({type(error).__name__}: {first_line(error)}), although every shard matches its manifest")
