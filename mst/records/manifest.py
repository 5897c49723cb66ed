"""The manifest of a prepared dataset (``manifest.json``): what it holds and where its shards are.

A prepared dataset is one folder holding ``manifest.json`` and the shards of
:mod:`mst.records.shards`. The manifest is written last (atomically), so a folder without
``manifest.json`` is an incomplete dataset and every reader refuses it.

Partitions. The songs of a dataset come in named partitions, one per source folder, each split
into ``train`` and ``test`` songs (:mod:`mst.records.splits`). ``partition_by`` says what the
partitions are: ``"genre"`` for the genre-transfer datasets (jazz, classical, pop), ``"corpus"``
for, say, cello suites and chorales, or any other lower-case label such as ``"drummer"``.
Partition names are lower-case letters, digits and ``_`` (they become part of file names).

Format version 2 (written now; ``manifest.json`` is UTF-8 JSON with sorted keys), top-level fields:

* ``format`` (``"mst.phrase_dataset"``), ``format_version`` (2), ``partition_by`` (the label).
* ``encoder``: name of the encoder that wrote the records (``"pianoroll_phrases"``), plus the
  fields it adds: for the pianoroll phrases ``phrase_options`` (the
  :class:`mst.encodings.pianoroll_extract.PhraseOptions`) and ``record_format`` (see
  :mod:`mst.records.pianoroll_examples`).
* ``library_versions``: mst, numpy, symusic, pretty_midi, tensorflow, python.
* ``split``: ``{"seed", "test_ratio", "method"}``.
* ``partitions``: per partition ``source_dir``, ``files_found``, ``files_kept``,
  ``files_skipped``, ``skipped_by_reason`` (reason -> count), ``songs`` and ``phrases`` (each
  ``{"train", "test"}``; a "phrase" is one record, whatever the encoder cuts from a song),
  ``test_fallback_song`` (see :mod:`mst.records.splits`) and ``kept_file_stats`` (the encoder's
  per-file counts summed over the kept files).
* ``songs``: per partition, a list of ``{"song_id", "split", "phrases"}`` for every kept song.
* ``skipped``: every skipped file as ``{"partition", "song_id", "reason", "detail"}``.
* ``shards``: ``{"file", "partition", "split", "records", "bytes", "sha256"}`` for every shard.

Version 1 (mst 0.1) has the partitions hard-wired to genres: ``genres`` instead of
``partitions``, ``genre`` instead of ``partition`` in ``skipped`` and ``shards``, no
``partition_by`` and no ``encoder`` (its records are pianoroll phrases). Its shard files are the
ones version 2 writes for a genre dataset. :func:`load_manifest` reads both versions and returns
the version-2 layout, with ``format_version`` left as the file has it.

Example:
    >>> manifest = upgrade_manifest({"format": MANIFEST_FORMAT, "format_version": 1,
    ...     "genres": {"jazz": {"phrases": {"train": 3, "test": 1}}},
    ...     "shards": [{"file": "jazz-train.tfrecord-00000-of-00001", "genre": "jazz", "split": "train",
    ...                 "records": 3, "bytes": 100, "sha256": "0" * 64}]})
    >>> manifest["partition_by"], known_partitions(manifest), count(manifest, "jazz", "train")
    ('genre', ['jazz'], 3)
    >>> manifest["shards"][0]["partition"]
    'jazz'
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from mst import atomic
from mst.records.splits import SPLITS
from mst.errors import InputError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "mst.phrase_dataset"
MANIFEST_FORMAT_VERSION = 2
"""The version this module writes."""
READABLE_FORMAT_VERSIONS = (1, 2)
DEFAULT_PARTITION_BY = "genre"
"""The partition label of version-1 manifests and of the genre-transfer datasets."""


class DatasetError(InputError):
    """A prepared dataset is missing, incomplete, corrupt or cannot serve the request."""


def write_manifest(directory: str | os.PathLike, manifest: dict) -> Path:
    """Writes ``manifest.json`` atomically (call it last: it marks the dataset complete)."""
    path = Path(directory) / MANIFEST_NAME
    atomic.write_json(path, manifest)
    return path


def dataset_files(data_dir: str | os.PathLike) -> list[str] | None:
    """The files a prepared dataset consists of, as its manifest lists them, manifest last.

    Everything mst writes into a dataset folder is listed here: the shards (every encoder writes
    its records through :func:`mst.records.shards.write_shards`; vocabularies and counts live in
    the manifest itself) and ``manifest.json``. This is what ``--overwrite`` may replace and what
    a retired copy may lose (:func:`mst.atomic.remove_owned`): files nobody listed are not mst's.

    Returns:
        Plain file names (the manifest last, so that an interrupted deletion still proves what
        the rest was), or ``None`` if there is no readable manifest of this format: nothing then
        shows that mst wrote the folder.
    """
    path = Path(data_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    shards = manifest.get("shards")
    if not isinstance(shards, list):
        return None
    names = [
        shard["file"] for shard in shards
        if isinstance(shard, dict) and isinstance(shard.get("file"), str)
        and shard["file"] not in ("", ".", "..", MANIFEST_NAME) and "/" not in shard["file"] and "\\" not in shard["file"]
    ]
    return [*dict.fromkeys(names), MANIFEST_NAME]


def upgrade_manifest(manifest: dict) -> dict:
    """The version-2 layout of a manifest dict (a copy for version 1, ``manifest`` itself for 2).

    Raises:
        DatasetError: For another format or version, or a manifest without its partitions.
    """
    version = manifest.get("format_version")
    if manifest.get("format") != MANIFEST_FORMAT or version not in READABLE_FORMAT_VERSIONS:
        raise DatasetError(
            f"format {manifest.get('format')!r} version {version!r}; expected {MANIFEST_FORMAT!r} "
            f"version {' or '.join(map(str, READABLE_FORMAT_VERSIONS))}"
        )
    if version == 1:
        manifest = copy.deepcopy(manifest)
        manifest["partition_by"] = DEFAULT_PARTITION_BY
        manifest["partitions"] = manifest.pop("genres", None)
        for entry in [*manifest.get("shards", []), *manifest.get("skipped", [])]:
            entry["partition"] = entry.pop("genre")
    if not isinstance(manifest.get("partition_by"), str) or not isinstance(manifest.get("partitions"), dict):
        raise DatasetError(f"version {version} manifest without 'partition_by' and 'partitions'")
    return manifest


def load_manifest(data_dir: str | os.PathLike) -> dict:
    """Reads and checks ``manifest.json`` of a prepared dataset (version 1 or 2).

    Returns:
        The manifest in the version-2 layout (:func:`upgrade_manifest`).

    Raises:
        DatasetError: If the folder or its manifest is missing (an incomplete dataset), the manifest
            is not valid JSON, or it has another format or version.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        left = atomic.interrupted_swap(data_dir)
        if left:
            raise DatasetError(f"dataset folder {data_dir} does not exist: a `python -m mst.prepare` run was killed while "
                               f"replacing it (its copies: {', '.join(path.name for path in left)}); run the same command "
                               "again, it puts the dataset back first")
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
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path} holds a JSON {type(manifest).__name__}, not an object")
    try:
        return upgrade_manifest(manifest)
    except DatasetError as error:
        raise DatasetError(f"{path} has {error}") from None


def known_partitions(manifest: dict) -> list[str]:
    """Partition names of a dataset, sorted."""
    return sorted(manifest["partitions"])


def _plural(label: str) -> str:
    if label.endswith(("s", "x", "ch", "sh")):
        return label + "es"
    if label.endswith("y") and label[-2:-1] not in tuple("aeiou"):
        return label[:-1] + "ies"
    return label + "s"


def check_partition(manifest: dict, partition: str, data_dir: str | os.PathLike | None = None) -> str:
    """Returns ``partition`` if the dataset has it.

    Raises:
        DatasetError: Naming the dataset's partitions (``unknown genre 'rock' in ...; known genres: ...``).
    """
    if partition not in manifest["partitions"]:
        label = manifest["partition_by"]
        where = f" in {data_dir}" if data_dir is not None else ""
        raise DatasetError(f"unknown {label} {partition!r}{where}; known {_plural(label)}: "
                           f"{', '.join(known_partitions(manifest))}")
    return partition


def check_split(split: str) -> str:
    """Returns ``split`` if it is ``train`` or ``test``; raises :class:`DatasetError` otherwise."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected 'train' or 'test'")
    return split


def count(manifest: dict, partition: str, split: str) -> int:
    """Number of records ("phrases") of one partition and split.

    Raises:
        DatasetError: For an unknown partition or split.
    """
    check_partition(manifest, partition)
    check_split(split)
    return int(manifest["partitions"][partition]["phrases"][split])


def shard_entries(manifest: dict, partition: str, split: str) -> list[dict]:
    """The manifest's entries of one partition/split's shards, in manifest order."""
    return [shard for shard in manifest["shards"] if shard["partition"] == partition and shard["split"] == split]


def shard_paths(data_dir: str | os.PathLike, manifest: dict, partition: str, split: str) -> list[str]:
    """Paths of one partition/split's shards in manifest order, checked to exist.

    Raises:
        DatasetError: If a listed shard file is missing.
    """
    paths = []
    for shard in shard_entries(manifest, partition, split):
        path = Path(data_dir) / shard["file"]
        if not path.is_file():
            raise DatasetError(f"shard {path} listed in the manifest is missing")
        paths.append(str(path))
    return paths
