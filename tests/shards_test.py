"""Tests for mst.records.shards: shard names, the atomic writer for any records, verification."""

from __future__ import annotations

import os

import pytest
from testing import write_records_dataset as write_dataset

from mst.records import shards
from mst.records.manifest import DatasetError

tf = shards.tensorflow()


def test_shard_names_round_trip_and_temporary_files_do_not_match():
    name = shards.shard_file_name("chorales", "test", 2, 10)
    assert name == "chorales-test.tfrecord-00002-of-00010" and shards.is_shard_file_name(name)
    assert shards.is_shard_file_name("cello_suites-train.tfrecord-00000-of-00001")
    for other in (name + ".tmp-123", "manifest.json", "pop-train.tfrecord-0-of-1", "pop-TRAIN.tfrecord-00000-of-00001"):
        assert not shards.is_shard_file_name(other)


def test_write_shards_takes_any_records_and_a_serializer(tmp_path):
    records = [f"token sequence {i}".encode() for i in range(7)]
    infos = shards.write_shards(tmp_path, "drummer_a", "train", records, lambda record: record, shard_size=3)
    assert [(info.file, info.records) for info in infos] == [
        ("drummer_a-train.tfrecord-00000-of-00003", 2),
        ("drummer_a-train.tfrecord-00001-of-00003", 2),
        ("drummer_a-train.tfrecord-00002-of-00003", 3),
    ]
    read_back = [r.numpy() for r in tf.data.TFRecordDataset([str(tmp_path / info.file) for info in infos])]
    assert read_back == records
    for info in infos:
        assert info.partition == "drummer_a" and info.split == "train"
        assert info.sha256 == shards.sha256_file(tmp_path / info.file) and info.bytes == (tmp_path / info.file).stat().st_size
    assert shards.write_shards(tmp_path, "drummer_a", "test", [], bytes) == []
    with pytest.raises(ValueError, match="shard_size"):
        shards.write_shards(tmp_path, "x", "train", records, bytes, shard_size=0)


def test_a_failing_serializer_leaves_only_the_finished_shards(tmp_path):
    def serialize(record: int) -> bytes:
        if record == 5:
            raise RuntimeError("simulated crash")
        return bytes([record])

    with pytest.raises(RuntimeError, match="simulated crash"):
        shards.write_shards(tmp_path, "pop", "train", list(range(9)), serialize, shard_size=3)
    assert sorted(os.listdir(tmp_path)) == ["pop-train.tfrecord-00000-of-00003"]


def test_verify_detects_a_damaged_or_missing_shard(tmp_path):
    from mst.records.pianoroll_examples import phrase_dataset  # noqa: PLC0415

    write_dataset(tmp_path)
    shards.verify_shards(tmp_path)
    shard = tmp_path / "jazz-train.tfrecord-00001-of-00003"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="jazz-train.tfrecord-00001-of-00003 has sha256"):
        shards.verify_shards(tmp_path)
    with pytest.raises(DatasetError, match="jazz-train.tfrecord-00001-of-00003 has sha256"):
        phrase_dataset(tmp_path, "jazz", verify=True)
    shards.verify_shards(tmp_path, partitions=["pop", "classical"])  # other partitions are not affected
    phrase_dataset(tmp_path, "pop", verify=True)
    shard.write_bytes(bytes(data[:-1]))
    with pytest.raises(DatasetError, match="bytes, the manifest says"):
        shards.verify_shards(tmp_path, partitions=["jazz"])
    shard.unlink()
    with pytest.raises(DatasetError, match="missing"):
        phrase_dataset(tmp_path, "jazz")
