"""Prepared datasets: song-level splits, TFRecord shards, the manifest, the record formats, the readers.

A prepared dataset is one folder holding ``manifest.json`` and the shards
``{partition}-{split}.tfrecord-{i:05d}-of-{n:05d}``; its partitions are genres, corpora or any other
label (``partition_by`` in the manifest). ``python -m mst.prepare`` writes one.

Modules, from the bottom up:

* :mod:`mst.records.splits`: the song-level train/test split and the per-epoch data-order seed.
* :mod:`mst.records.manifest`: ``manifest.json`` (format versions 1 and 2), counts, shard paths.
* :mod:`mst.records.shards`: shard names, the atomic shard writer, sha256, verification.
* :mod:`mst.records.pianoroll_examples`: the 64 x 84 phrase record and :func:`phrase_dataset`.
* :mod:`mst.records.pianoroll_reader`: the trainers' per-epoch genre-pair batches (``PairEpochs``).
* :mod:`mst.records.prepare_driver`: MIDI folders -> dataset, for any :class:`~mst.records.prepare_driver.Encoder`.
* :mod:`mst.records.pianoroll_phrase_encoder`: the encoder of the pianoroll phrases.

The names below are re-exported for the callers that only load and read datasets; importing this
package does not import TensorFlow.
"""

from mst.records.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_FORMAT_VERSION,
    MANIFEST_NAME,
    DatasetError,
    count,
    known_partitions,
    load_manifest,
    shard_paths,
    write_manifest,
)
from mst.records.pianoroll_examples import PhraseRecord, pack_rolls, phrase_dataset, unpack_rolls, write_split_shards
from mst.records.shards import sha256_file, verify_shards

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_FORMAT_VERSION",
    "MANIFEST_NAME",
    "DatasetError",
    "PhraseRecord",
    "count",
    "known_partitions",
    "load_manifest",
    "pack_rolls",
    "phrase_dataset",
    "sha256_file",
    "shard_paths",
    "unpack_rolls",
    "verify_shards",
    "write_manifest",
    "write_split_shards",
]
