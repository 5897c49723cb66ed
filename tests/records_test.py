"""Tests for mst.records: record format, atomic shards, manifest checks and the tf.data readers."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from mst import records
from mst.records import DatasetError, PhraseRecord

tf = records._tf()

# Synthetic dataset: phrase counts per genre and split (pop is the larger side of jazz/pop).
COUNTS = {"jazz": {"train": 40, "test": 6}, "pop": {"train": 70, "test": 9}, "classical": {"train": 25, "test": 0}}


def random_phrases(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 64, 84)) < 0.1


def make_records(genre: str, split: str, count: int, seed: int) -> list[PhraseRecord]:
    packed = records.pack_rolls(random_phrases(count, seed))
    return [
        PhraseRecord(genre, split, f"{genre}/song{index // 7:03d}.mid", index % 7, packed[index].tobytes())
        for index in range(count)
    ]


def write_dataset(directory, shard_size: int = 16) -> dict[tuple[str, str], list[PhraseRecord]]:
    """Writes the synthetic dataset with a minimal manifest; returns the records per (genre, split)."""
    written, shards = {}, []
    for seed, (genre, per_split) in enumerate(COUNTS.items()):
        genre_records = {}
        for split, count in per_split.items():
            genre_records[split] = make_records(genre, split, count, seed * 10 + len(split))
            written[(genre, split)] = genre_records[split]
            shards += records.write_split_shards(directory, genre, split, genre_records[split], shard_size=shard_size)
    manifest = {
        "format": records.MANIFEST_FORMAT,
        "format_version": records.MANIFEST_FORMAT_VERSION,
        "genres": {genre: {"phrases": dict(per_split)} for genre, per_split in COUNTS.items()},
        "shards": [dataclasses.asdict(shard) for shard in shards],
    }
    records.write_manifest(directory, manifest)
    return written


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("records_dataset")
    return directory, write_dataset(directory)


def packed_set(rolls: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in records.pack_rolls(rolls[..., 0])}


# --------------------------------------------------------------------------- format


def test_pack_unpack_round_trip_is_bit_exact_and_msb_first():
    phrases = random_phrases(5, 0)
    phrases[1] = True
    phrases[2] = False
    packed = records.pack_rolls(phrases)
    assert packed.shape == (5, records.ROLL_BYTES) and packed.dtype == np.uint8
    np.testing.assert_array_equal(records.unpack_rolls(packed), phrases)
    single = np.zeros((1, 64, 84), bool)
    single[0, 0, 0] = True  # step 0, pitch index 0 -> most significant bit of byte 0
    single[0, 63, 83] = True  # last step, last pitch -> least significant bit of the last byte
    packed_single = records.pack_rolls(single)[0]
    assert packed_single[0] == 0x80 and packed_single[-1] == 0x01 and packed_single[1:-1].sum() == 0


def test_pack_rolls_rejects_wrong_shape():
    with pytest.raises(ValueError, match="64, 84"):
        records.pack_rolls(np.zeros((2, 32, 84), bool))


def test_example_round_trip_and_deterministic_bytes():
    record = make_records("jazz", "train", 3, seed=1)[2]
    serialized = records.encode_example(record)
    assert serialized == records.encode_example(record)
    decoded = records.decode_example(serialized)
    np.testing.assert_array_equal(decoded["roll"], records.unpack_rolls(np.frombuffer(record.packed_roll, np.uint8)[None])[0])
    assert decoded["genre"] == "jazz" and decoded["split"] == "train"
    assert decoded["song_id"] == record.song_id and decoded["phrase_index"] == record.phrase_index
    assert decoded["uid"] == records.phrase_uid(record.song_id, record.phrase_index) == record.uid


def test_phrase_uid_is_stable_63_bit_and_distinguishes_phrases():
    assert records.phrase_uid("a/b.mid", 3) == records.phrase_uid("a/b.mid", 3)
    uids = {records.phrase_uid(f"song{song}.mid", index) for song in range(50) for index in range(20)}
    assert len(uids) == 1000
    assert all(0 <= uid < 2**63 for uid in uids)
    # Pinned value: the uid is part of the on-disk format and must never change.
    assert records.phrase_uid("pop/song.mid", 0) == int.from_bytes(
        __import__("hashlib").sha256(b"pop/song.mid\x000").digest()[:8], "big"
    ) & (2**63 - 1)


def test_encode_rejects_wrong_roll_length():
    with pytest.raises(ValueError, match="672"):
        records.encode_example(PhraseRecord("pop", "train", "x.mid", 0, b"\x00" * 10))


def test_in_graph_decoding_matches_numpy_for_batches_and_single_records():
    batch = make_records("pop", "train", 8, seed=3)
    serialized = tf.constant([records.encode_example(record) for record in batch])
    expected = records.unpack_rolls(np.stack([np.frombuffer(r.packed_roll, np.uint8) for r in batch]))
    decoded = records._parse_records(serialized, with_metadata=False).numpy()
    assert decoded.shape == (8, 64, 84, 1) and decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded[..., 0], expected.astype(np.float32))
    single = records._parse_records(serialized[3], with_metadata=True)
    np.testing.assert_array_equal(single["roll"].numpy()[..., 0], expected[3])
    assert single["song_id"].numpy().decode() == batch[3].song_id


# --------------------------------------------------------------------------- shard writer


def test_write_split_shards_names_counts_and_checksums(tmp_path):
    recs = make_records("pop", "train", 50, seed=0)
    infos = records.write_split_shards(tmp_path, "pop", "train", recs, shard_size=16)
    assert [info.file for info in infos] == [f"pop-train.tfrecord-{i:05d}-of-00004" for i in range(4)]
    assert sum(info.records for info in infos) == 50 and max(info.records for info in infos) <= 16
    assert sorted(os.listdir(tmp_path)) == [info.file for info in infos]
    for info in infos:
        assert records.sha256_file(tmp_path / info.file) == info.sha256
        assert (tmp_path / info.file).stat().st_size == info.bytes
    read_back = [records.decode_example(r.numpy()) for r in tf.data.TFRecordDataset([str(tmp_path / i.file) for i in infos])]
    assert [(r["song_id"], r["phrase_index"]) for r in read_back] == [(r.song_id, r.phrase_index) for r in recs]


def test_empty_split_writes_no_shard_and_bad_arguments_are_refused(tmp_path):
    assert records.write_split_shards(tmp_path, "pop", "test", [], shard_size=4) == []
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="shard_size"):
        records.write_split_shards(tmp_path, "pop", "train", make_records("pop", "train", 2, 0), shard_size=0)
    with pytest.raises(ValueError, match="expected jazz/train"):
        records.write_split_shards(tmp_path, "jazz", "train", make_records("pop", "train", 2, 0))


def test_crash_while_writing_a_shard_leaves_no_complete_looking_shard(tmp_path, monkeypatch):
    recs = make_records("pop", "train", 40, seed=0)
    real_encode = records.encode_example
    calls = {"n": 0}

    def encode_then_crash(record):
        calls["n"] += 1
        if calls["n"] == 25:  # in the middle of the second shard (shards of 13/13/14)
            raise RuntimeError("simulated crash")
        return real_encode(record)

    monkeypatch.setattr(records, "encode_example", encode_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        records.write_split_shards(tmp_path, "pop", "train", recs, shard_size=14)
    names = sorted(os.listdir(tmp_path))
    assert names == ["pop-train.tfrecord-00000-of-00003"]  # only the finished first shard, no temp file
    assert len(list(tf.data.TFRecordDataset(str(tmp_path / names[0])))) == 13


# --------------------------------------------------------------------------- manifest


def test_load_manifest_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        records.load_manifest(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="manifest.json is missing.*did not finish"):
        records.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        records.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(DatasetError, match="format 'other'"):
        records.load_manifest(tmp_path)


def test_count_and_unknown_genre(dataset):
    directory, _ = dataset
    manifest = records.load_manifest(directory)
    assert records.count(manifest, "pop", "train") == 70
    assert records.known_genres(manifest) == ["classical", "jazz", "pop"]
    with pytest.raises(DatasetError, match="unknown genre 'rock'.*classical, jazz, pop"):
        records.count(manifest, "rock", "train")
    with pytest.raises(DatasetError, match="unknown split"):
        records.count(manifest, "pop", "valid")


def test_verify_detects_a_damaged_shard(tmp_path):
    write_dataset(tmp_path)
    records.verify_shards(tmp_path)
    shard = tmp_path / "jazz-train.tfrecord-00001-of-00003"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="jazz-train.tfrecord-00001-of-00003 has sha256"):
        records.phrase_dataset(tmp_path, "jazz", verify=True)
    records.phrase_dataset(tmp_path, "pop", verify=True)  # other genres are not affected
    shard.unlink()
    with pytest.raises(DatasetError, match="missing"):
        records.phrase_dataset(tmp_path, "jazz")


# --------------------------------------------------------------------------- phrase_dataset


def test_phrase_dataset_shapes_values_order_and_cardinality(dataset):
    directory, written = dataset
    ds = records.phrase_dataset(directory, ["jazz", "pop"], "train", batch_size=16)
    assert int(ds.cardinality()) == -(-110 // 16)
    batches = [batch.numpy() for batch in ds]
    assert batches[0].shape == (16, 64, 84, 1) and batches[0].dtype == np.float32
    rolls = np.concatenate(batches)
    assert set(np.unique(rolls)) == {0.0, 1.0}
    expected = np.concatenate([
        records.unpack_rolls(np.stack([np.frombuffer(r.packed_roll, np.uint8) for r in written[(g, "train")]]))
        for g in ("jazz", "pop")
    ])
    np.testing.assert_array_equal(rolls[..., 0], expected)  # manifest order without shuffling


def test_manifest_order_holds_with_more_shards_than_parallel_readers(tmp_path):
    written = write_dataset(tmp_path, shard_size=3)  # pop/train: 24 shards, 8 read in parallel
    metadata = records.phrase_dataset(tmp_path, "pop", "train", with_metadata=True, batch_size=100)
    batch = next(iter(metadata))
    keys = list(zip([s.decode() for s in batch["song_id"].numpy()], batch["phrase_index"].numpy().tolist()))
    assert keys == [(r.song_id, r.phrase_index) for r in written[("pop", "train")]]


def test_phrase_dataset_metadata_limit_and_drop_remainder(dataset):
    directory, written = dataset
    ds = records.phrase_dataset(directory, "pop", "test", with_metadata=True, limit_per_genre=5)
    items = list(ds.as_numpy_iterator())
    assert len(items) == 5 and items[0]["roll"].shape == (64, 84, 1)
    assert [(i["song_id"].decode(), int(i["phrase_index"])) for i in items] == [
        (r.song_id, r.phrase_index) for r in written[("pop", "test")][:5]
    ]
    assert {i["split"].decode() for i in items} == {"test"} and {i["genre"].decode() for i in items} == {"pop"}
    shuffled = records.phrase_dataset(directory, "pop", "train", limit_per_genre=20, shuffle=True, batch_size=20)
    assert packed_set(next(iter(shuffled)).numpy()) == {r.packed_roll for r in written[("pop", "train")][:20]}
    dropped = records.phrase_dataset(directory, "pop", "train", batch_size=16, drop_remainder=True)
    assert int(dropped.cardinality()) == 4 and all(b.shape[0] == 16 for b in dropped)


def test_shuffle_is_deterministic_with_a_seed_and_reshuffles_each_epoch(dataset):
    directory, _ = dataset

    def epoch_orders(seed):
        ds = records.phrase_dataset(directory, ["jazz", "pop"], "train", batch_size=110, shuffle=True, seed=seed)
        return [next(iter(ds)).numpy() for _ in range(2)]

    first, second = epoch_orders(7), epoch_orders(7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])  # a new iteration is a new order
    assert packed_set(first[0]) == packed_set(first[1])  # ... of the same phrases
    assert not np.array_equal(first[0], epoch_orders(8)[0])


def test_repeat_gives_an_infinite_dataset(dataset):
    directory, _ = dataset
    ds = records.phrase_dataset(directory, "jazz", "train", batch_size=16, shuffle=True, repeat=True)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    assert len(list(ds.take(10))) == 10


def test_phrase_dataset_errors(dataset, tmp_path):
    directory, _ = dataset
    with pytest.raises(DatasetError, match="unknown genre 'rock'.*known genres: classical, jazz, pop"):
        records.phrase_dataset(directory, ["pop", "rock"])
    with pytest.raises(DatasetError, match="'classical' has no test phrases"):
        records.phrase_dataset(directory, "classical", "test")
    with pytest.raises(DatasetError, match="does not exist"):
        records.phrase_dataset(tmp_path / "missing", "pop")
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        records.phrase_dataset(tmp_path, "pop")


# --------------------------------------------------------------------------- cyclegan_dataset


def test_cyclegan_dataset_balances_by_smallest_uid(dataset):
    directory, written = dataset
    ds = records.cyclegan_dataset(directory, "jazz", "pop", batch_size=8, seed=3)
    assert int(ds.cardinality()) == 40 // 8
    epoch = list(ds.as_numpy_iterator())
    assert len(epoch) == 5 and set(epoch[0]) == {"a", "b"}
    assert epoch[0]["a"].shape == (8, 64, 84, 1) and epoch[0]["b"].dtype == np.float32
    b_seen = set().union(*(packed_set(batch["b"]) for batch in epoch))
    pop = sorted(written[("pop", "train")], key=lambda r: r.uid)
    assert b_seen == {r.packed_roll for r in pop[:40]}  # exactly the 40 smallest uids of the larger side
    a_seen = set().union(*(packed_set(batch["a"]) for batch in epoch))
    assert a_seen == {r.packed_roll for r in written[("jazz", "train")]}
    again = list(records.cyclegan_dataset(directory, "jazz", "pop", batch_size=8, seed=3).as_numpy_iterator())
    np.testing.assert_array_equal(epoch[2]["b"], again[2]["b"])
    second_epoch = list(ds.as_numpy_iterator())
    assert not np.array_equal(epoch[0]["a"], second_epoch[0]["a"])


def test_cyclegan_dataset_without_balance_uses_min_size_epochs(dataset):
    directory, written = dataset
    ds = records.cyclegan_dataset(directory, "pop", "classical", batch_size=8, balance=False)
    assert int(ds.cardinality()) == 25 // 8
    pop_seen = set()
    for _ in range(6):
        for batch in ds.as_numpy_iterator():
            pop_seen |= packed_set(batch["a"])
    assert len(pop_seen) > 25  # different epochs draw different parts of the larger side
    assert pop_seen <= {r.packed_roll for r in written[("pop", "train")]}


def test_cyclegan_mixed_set_is_the_union_of_the_named_genres(dataset):
    directory, written = dataset
    ds = records.cyclegan_dataset(directory, "jazz", "pop", mixed_genres=["jazz", "pop", "classical"], batch_size=8)
    assert int(ds.cardinality()) == 5
    mixed_seen = set()
    for _ in range(4):
        for batch in ds.as_numpy_iterator():
            assert batch["m"].shape == (8, 64, 84, 1)
            mixed_seen |= packed_set(batch["m"])
    union = {r.packed_roll for g in ("jazz", "pop", "classical") for r in written[(g, "train")]}
    assert mixed_seen <= union
    assert mixed_seen & {r.packed_roll for r in written[("classical", "train")]}
    pop_by_uid = sorted(written[("pop", "train")], key=lambda r: r.uid)
    assert mixed_seen & {r.packed_roll for r in pop_by_uid[40:]}  # M is not downsampled


def test_cyclegan_dataset_errors(dataset):
    directory, _ = dataset
    with pytest.raises(DatasetError, match="unknown genre 'rock'"):
        records.cyclegan_dataset(directory, "jazz", "rock")
    with pytest.raises(DatasetError, match="unknown genre 'folk'"):
        records.cyclegan_dataset(directory, "jazz", "pop", mixed_genres=["folk"])
    with pytest.raises(DatasetError, match="must differ"):
        records.cyclegan_dataset(directory, "jazz", "jazz")
    with pytest.raises(DatasetError, match="'classical' has no test phrases"):
        records.cyclegan_dataset(directory, "jazz", "classical", split="test")
    with pytest.raises(DatasetError, match="at least one full batch of 16"):
        records.cyclegan_dataset(directory, "jazz", "pop", split="test", batch_size=16)
