"""Tests for mst.records.pianoroll_examples: the phrase record format, its shards and phrase_dataset.

``write_dataset`` (a synthetic dataset with a minimal manifest) is also used by the shard,
manifest and reader tests.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from mst.records import manifest as manifests
from mst.records import pianoroll_examples as examples
from mst.records.manifest import DatasetError
from mst.records.pianoroll_examples import PhraseRecord
from mst.records.shards import tensorflow
from testing import RECORDS_COUNTS as COUNTS
from testing import packed_set, random_phrases, write_records_dataset

tf = tensorflow()

def make_records(partition: str, split: str, count: int, seed: int) -> list[PhraseRecord]:
    packed = examples.pack_rolls(random_phrases(count, seed, density=0.1))
    return [
        PhraseRecord(partition, split, f"{partition}/song{index // 7:03d}.mid", index % 7, packed[index].tobytes())
        for index in range(count)
    ]


def unpacked(records) -> np.ndarray:
    return examples.unpack_rolls(np.stack([np.frombuffer(record.packed_roll, np.uint8) for record in records]))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("phrase_dataset")
    return directory, write_records_dataset(directory)


# --------------------------------------------------------------------------- format


def test_pack_unpack_round_trip_is_bit_exact_and_msb_first():
    phrases = random_phrases(5, 0, density=0.1)
    phrases[1] = True
    phrases[2] = False
    packed = examples.pack_rolls(phrases)
    assert packed.shape == (5, examples.ROLL_BYTES) and packed.dtype == np.uint8
    np.testing.assert_array_equal(examples.unpack_rolls(packed), phrases)
    single = np.zeros((1, 64, 84), bool)
    single[0, 0, 0] = True  # step 0, pitch index 0 -> most significant bit of byte 0
    single[0, 63, 83] = True  # last step, last pitch -> least significant bit of the last byte
    packed_single = examples.pack_rolls(single)[0]
    assert packed_single[0] == 0x80 and packed_single[-1] == 0x01 and packed_single[1:-1].sum() == 0


def test_pack_rolls_rejects_wrong_shape():
    with pytest.raises(ValueError, match="64, 84"):
        examples.pack_rolls(np.zeros((2, 32, 84), bool))


def test_example_round_trip_and_deterministic_bytes():
    record = make_records("jazz", "train", 3, seed=1)[2]
    serialized = examples.encode_example(record)
    assert serialized == examples.encode_example(record)
    decoded = examples.decode_example(serialized)
    np.testing.assert_array_equal(decoded["roll"], unpacked([record])[0])
    assert decoded["genre"] == "jazz" and decoded["split"] == "train"
    assert decoded["song_id"] == record.song_id and decoded["phrase_index"] == record.phrase_index
    assert decoded["uid"] == examples.phrase_uid(record.song_id, record.phrase_index) == record.uid


def test_the_partition_feature_is_named_after_the_label():
    record = make_records("cello", "train", 1, seed=2)[0]
    serialized = examples.encode_example(record, partition_by="corpus")
    feature = tf.train.Example.FromString(serialized).features.feature
    assert sorted(feature) == ["corpus", "phrase_index", "roll", "song_id", "split", "uid"]
    assert examples.decode_example(serialized, partition_by="corpus")["corpus"] == "cello"
    assert examples.record_format_description("corpus")["corpus"] == "bytes: corpus name"
    for taken in ("roll", "uid", "song_id"):
        with pytest.raises(ValueError, match="taken by a phrase record field"):
            examples.encode_example(record, partition_by=taken)


def test_genre_records_are_the_version_1_record_format():
    """Pinned bytes: the genre datasets keep the record format mst 0.1 wrote (the legacy fixture)."""
    record = PhraseRecord("jazz", "train", "a/b.mid", 3, bytes(range(256)) * 2 + bytes(160))
    digest = "8082bb2a359af72e6cc374851de7cb2db22112d3806fd7dba1fdc5cc1aaf80a7"  # mst 0.1's encode_example
    assert hashlib.sha256(examples.encode_example(record)).hexdigest() == digest
    assert examples.record_format_description() == {
        "roll": "bytes: np.packbits of the [64, 84] bool roll, row-major, MSB first",
        "genre": "bytes: genre name",
        "split": "bytes: train | test",
        "song_id": "bytes: path relative to the genre folder, '/' separated",
        "phrase_index": "int64: index of the phrase within the song",
        "uid": "int64: first 8 bytes of sha256(song_id + NUL + phrase_index) masked to 63 bits",
        "roll_bytes": 672,
        "phrase_shape": [64, 84],
    }


def test_phrase_uid_is_stable_63_bit_and_distinguishes_phrases():
    assert examples.phrase_uid("a/b.mid", 3) == examples.phrase_uid("a/b.mid", 3)
    uids = {examples.phrase_uid(f"song{song}.mid", index) for song in range(50) for index in range(20)}
    assert len(uids) == 1000
    assert all(0 <= uid < 2**63 for uid in uids)
    # Pinned value: the uid is part of the on-disk format and must never change.
    assert examples.phrase_uid("pop/song.mid", 0) == int.from_bytes(
        hashlib.sha256(b"pop/song.mid\x000").digest()[:8], "big"
    ) & (2**63 - 1)


def test_encode_rejects_wrong_roll_length():
    with pytest.raises(ValueError, match="672"):
        examples.encode_example(PhraseRecord("pop", "train", "x.mid", 0, b"\x00" * 10))


def test_in_graph_decoding_matches_numpy_for_batches_and_single_records():
    batch = make_records("pop", "train", 8, seed=3)
    serialized = tf.constant([examples.encode_example(record) for record in batch])
    decoded = examples.parse_records(serialized, with_metadata=False).numpy()
    assert decoded.shape == (8, 64, 84, 1) and decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded[..., 0], unpacked(batch).astype(np.float32))
    single = examples.parse_records(serialized[3], with_metadata=True)
    np.testing.assert_array_equal(single["roll"].numpy()[..., 0], unpacked(batch)[3])
    assert single["song_id"].numpy().decode() == batch[3].song_id


# --------------------------------------------------------------------------- phrase shards


def test_write_split_shards_names_counts_and_checksums(tmp_path):
    from mst.records.shards import sha256_file  # noqa: PLC0415

    recs = make_records("pop", "train", 50, seed=0)
    infos = examples.write_split_shards(tmp_path, "pop", "train", recs, shard_size=16)
    assert [info.file for info in infos] == [f"pop-train.tfrecord-{i:05d}-of-00004" for i in range(4)]
    assert sum(info.records for info in infos) == 50 and max(info.records for info in infos) <= 16
    assert {info.partition for info in infos} == {"pop"}
    assert sorted(os.listdir(tmp_path)) == [info.file for info in infos]
    for info in infos:
        assert sha256_file(tmp_path / info.file) == info.sha256
        assert (tmp_path / info.file).stat().st_size == info.bytes
    read_back = [examples.decode_example(r.numpy()) for r in tf.data.TFRecordDataset([str(tmp_path / i.file) for i in infos])]
    assert [(r["song_id"], r["phrase_index"]) for r in read_back] == [(r.song_id, r.phrase_index) for r in recs]


def test_empty_split_writes_no_shard_and_bad_arguments_are_refused(tmp_path):
    assert examples.write_split_shards(tmp_path, "pop", "test", [], shard_size=4) == []
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="shard_size"):
        examples.write_split_shards(tmp_path, "pop", "train", make_records("pop", "train", 2, 0), shard_size=0)
    with pytest.raises(ValueError, match="expected jazz/train"):
        examples.write_split_shards(tmp_path, "jazz", "train", make_records("pop", "train", 2, 0))


def test_crash_while_encoding_a_phrase_leaves_no_complete_looking_shard(tmp_path, monkeypatch):
    recs = make_records("pop", "train", 40, seed=0)
    real_encode = examples.encode_example
    calls = {"n": 0}

    def encode_then_crash(record, partition_by="genre"):
        calls["n"] += 1
        if calls["n"] == 25:  # in the middle of the second shard (shards of 13/13/14)
            raise RuntimeError("simulated crash")
        return real_encode(record, partition_by)

    monkeypatch.setattr(examples, "encode_example", encode_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        examples.write_split_shards(tmp_path, "pop", "train", recs, shard_size=14)
    names = sorted(os.listdir(tmp_path))
    assert names == ["pop-train.tfrecord-00000-of-00003"]  # only the finished first shard, no temp file
    assert len(list(tf.data.TFRecordDataset(str(tmp_path / names[0])))) == 13


# --------------------------------------------------------------------------- phrase_dataset


def test_phrase_dataset_shapes_values_order_and_cardinality(dataset):
    directory, written = dataset
    ds = examples.phrase_dataset(directory, ["jazz", "pop"], "train", batch_size=16)
    assert int(ds.cardinality()) == -(-110 // 16)
    batches = [batch.numpy() for batch in ds]
    assert batches[0].shape == (16, 64, 84, 1) and batches[0].dtype == np.float32
    rolls = np.concatenate(batches)
    assert set(np.unique(rolls)) == {0.0, 1.0}
    expected = np.concatenate([unpacked(written[(g, "train")]) for g in ("jazz", "pop")])
    np.testing.assert_array_equal(rolls[..., 0], expected)  # manifest order without shuffling


def test_manifest_order_holds_with_more_shards_than_parallel_readers(tmp_path):
    written = write_records_dataset(tmp_path, shard_size=3)  # pop/train: 24 shards, 8 read in parallel
    metadata = examples.phrase_dataset(tmp_path, "pop", "train", with_metadata=True, batch_size=100)
    batch = next(iter(metadata))
    keys = list(zip([s.decode() for s in batch["song_id"].numpy()], batch["phrase_index"].numpy().tolist()))
    assert keys == [(r.song_id, r.phrase_index) for r in written[("pop", "train")]]


def test_phrase_dataset_metadata_limit_and_drop_remainder(dataset):
    directory, written = dataset
    ds = examples.phrase_dataset(directory, "pop", "test", with_metadata=True, limit_per_partition=5)
    items = list(ds.as_numpy_iterator())
    assert len(items) == 5 and items[0]["roll"].shape == (64, 84, 1)
    assert [(i["song_id"].decode(), int(i["phrase_index"])) for i in items] == [
        (r.song_id, r.phrase_index) for r in written[("pop", "test")][:5]
    ]
    assert {i["split"].decode() for i in items} == {"test"} and {i["genre"].decode() for i in items} == {"pop"}
    shuffled = examples.phrase_dataset(directory, "pop", "train", limit_per_partition=20, shuffle=True, batch_size=20)
    assert packed_set(next(iter(shuffled)).numpy()) == {r.packed_roll for r in written[("pop", "train")][:20]}
    dropped = examples.phrase_dataset(directory, "pop", "train", batch_size=16, drop_remainder=True)
    assert int(dropped.cardinality()) == 4 and all(b.shape[0] == 16 for b in dropped)


def test_phrase_dataset_reads_any_partition_label(tmp_path):
    written = write_records_dataset(tmp_path, counts={"cello": {"train": 9, "test": 2}, "chorales": {"train": 5, "test": 1}},
                            partition_by="corpus")
    items = list(examples.phrase_dataset(tmp_path, ["chorales", "cello"], "train", with_metadata=True).as_numpy_iterator())
    assert [item["corpus"].decode() for item in items] == ["chorales"] * 5 + ["cello"] * 9
    assert "genre" not in items[0]
    assert packed_set(np.stack([item["roll"] for item in items])) == {
        r.packed_roll for name in ("cello", "chorales") for r in written[(name, "train")]
    }
    with pytest.raises(DatasetError, match="unknown corpus 'jazz'.*known corpuses: cello, chorales"):
        examples.phrase_dataset(tmp_path, "jazz")


def test_shuffle_is_deterministic_with_a_seed_and_reshuffles_each_epoch(dataset):
    directory, _ = dataset

    def epoch_orders(seed):
        ds = examples.phrase_dataset(directory, ["jazz", "pop"], "train", batch_size=110, shuffle=True, seed=seed)
        return [next(iter(ds)).numpy() for _ in range(2)]

    first, second = epoch_orders(7), epoch_orders(7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])  # a new iteration is a new order
    assert packed_set(first[0]) == packed_set(first[1])  # ... of the same phrases
    assert not np.array_equal(first[0], epoch_orders(8)[0])


def test_repeat_gives_an_infinite_dataset(dataset):
    directory, _ = dataset
    ds = examples.phrase_dataset(directory, "jazz", "train", batch_size=16, shuffle=True, repeat=True)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    assert len(list(ds.take(10))) == 10


def test_phrase_dataset_errors(dataset, tmp_path):
    directory, _ = dataset
    with pytest.raises(DatasetError, match="unknown genre 'rock'.*known genres: classical, jazz, pop"):
        examples.phrase_dataset(directory, ["pop", "rock"])
    with pytest.raises(DatasetError, match="'classical' has no test phrases"):
        examples.phrase_dataset(directory, "classical", "test")
    with pytest.raises(DatasetError, match="listed twice"):
        examples.phrase_dataset(directory, ["pop", "pop"])
    with pytest.raises(DatasetError, match="does not exist"):
        examples.phrase_dataset(tmp_path / "missing", "pop")
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        examples.phrase_dataset(tmp_path, "pop")


def test_read_uids_and_the_balanced_threshold(dataset):
    directory, written = dataset
    uids = examples.read_uids(directory, "pop", "train")
    assert uids.tolist() == [r.uid for r in written[("pop", "train")]]
    threshold = examples.balanced_uid_threshold(uids, 40)
    assert int((uids <= threshold).sum()) == 40
    with pytest.raises(ValueError, match="cannot keep 71 of 70"):
        examples.balanced_uid_threshold(uids, 71)
