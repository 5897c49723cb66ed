"""Tests for mst.records.manifest: loading (format versions 1 and 2), counts, partitions, shard paths.

The version-1 reader is checked on the dataset that mst 0.1 wrote (tests/fixtures/legacy_v0_1).
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import FIXTURES_DIR
from testing import write_records_dataset as write_dataset

from mst.records import manifest as manifests
from mst.records.manifest import DatasetError

LEGACY_DATASET = FIXTURES_DIR / "legacy_v0_1" / "dataset"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("manifest_dataset")
    write_dataset(directory)
    return directory


def test_load_manifest_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        manifests.load_manifest(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="manifest.json is missing.*did not finish"):
        manifests.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        manifests.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(DatasetError, match="format 'other'"):
        manifests.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": manifests.MANIFEST_FORMAT, "format_version": 3}))
    with pytest.raises(DatasetError, match="version 3; expected 'mst.phrase_dataset' version 1 or 2"):
        manifests.load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": manifests.MANIFEST_FORMAT, "format_version": 2, "genres": {}}))
    with pytest.raises(DatasetError, match="without 'partition_by' and 'partitions'"):
        manifests.load_manifest(tmp_path)


def test_count_partitions_and_unknown_names(dataset):
    manifest = manifests.load_manifest(dataset)
    assert manifest["partition_by"] == "genre" and manifest["format_version"] == 2
    assert manifests.count(manifest, "pop", "train") == 70
    assert manifests.known_partitions(manifest) == ["classical", "jazz", "pop"]
    with pytest.raises(DatasetError, match="unknown genre 'rock'.*known genres: classical, jazz, pop"):
        manifests.count(manifest, "rock", "train")
    with pytest.raises(DatasetError, match="unknown split"):
        manifests.count(manifest, "pop", "valid")
    paths = manifests.shard_paths(dataset, manifest, "pop", "train")
    assert [p.rsplit("/", 1)[1] for p in paths] == [f"pop-train.tfrecord-{i:05d}-of-00005" for i in range(5)]
    assert manifests.shard_paths(dataset, manifest, "classical", "test") == []


def test_labels_name_the_partitions_in_messages():
    manifest = {"partition_by": "corpus", "partitions": {"cello": {}, "chorales": {}}}
    with pytest.raises(DatasetError, match="unknown corpus 'jazz'; known corpuses: cello, chorales"):
        manifests.check_partition(manifest, "jazz")
    manifest["partition_by"] = "drummer"
    with pytest.raises(DatasetError, match="known drummers"):
        manifests.check_partition(manifest, "x")


def test_version_1_manifest_of_mst_0_1_loads_in_the_version_2_layout():
    raw = json.loads((LEGACY_DATASET / "manifest.json").read_text())
    assert raw["format_version"] == 1 and "genres" in raw and "partitions" not in raw
    manifest = manifests.load_manifest(LEGACY_DATASET)
    assert manifest["format_version"] == 1 and manifest["partition_by"] == "genre"
    assert manifest["partitions"] == raw["genres"] and "genres" not in manifest
    assert manifests.known_partitions(manifest) == ["classical", "jazz"]
    assert [shard["partition"] for shard in manifest["shards"]] == [shard["genre"] for shard in raw["shards"]]
    assert all("genre" not in shard for shard in manifest["shards"])
    assert manifests.count(manifest, "jazz", "train") == 78 and manifests.count(manifest, "classical", "test") == 40
    assert len(manifests.shard_paths(LEGACY_DATASET, manifest, "jazz", "train")) == 2
    assert manifests.upgrade_manifest(raw) == manifest and raw["format_version"] == 1 and "genres" in raw  # not mutated


def test_version_1_dataset_reads_and_verifies_with_the_current_readers():
    from mst.records.pianoroll_examples import phrase_dataset  # noqa: PLC0415
    from mst.records.pianoroll_reader import PairEpochs, load_split_arrays  # noqa: PLC0415
    from mst.records.prepare_driver import format_summary  # noqa: PLC0415
    from mst.records.shards import verify_shards  # noqa: PLC0415

    verify_shards(LEGACY_DATASET)
    items = list(phrase_dataset(LEGACY_DATASET, "classical", "test", with_metadata=True).as_numpy_iterator())
    assert len(items) == 40 and {item["genre"].decode() for item in items} == {"classical"}
    phrases, labels = load_split_arrays(LEGACY_DATASET, ["jazz", "classical"], "test")
    assert phrases.shape == (72, 64, 84, 1) and labels.tolist() == [0] * 32 + [1] * 40
    epochs = PairEpochs(LEGACY_DATASET, "jazz", "classical", batch_size=8, seed=0, balancing="fixed_subset")
    assert epochs.batches_per_epoch == 4 and len(list(epochs.dataset(0))) == 4
    summary = format_summary(manifests.load_manifest(LEGACY_DATASET))
    assert summary.splitlines()[0].split() == ["classical", "jazz"] and "(tiny-genre fallback)" in summary


def test_preparing_the_legacy_songs_again_gives_the_same_shard_files(tmp_path):
    """The genre datasets keep their files: mst 0.1's shards are rewritten byte for byte (README there)."""
    from mst.prepare import EMBEDDED_DATA_DIR, main  # noqa: PLC0415

    legacy = manifests.load_manifest(LEGACY_DATASET)
    arguments = []
    order = list(dict.fromkeys(shard["partition"] for shard in legacy["shards"]))  # jazz first, as it was run
    for genre in order:
        songs = legacy["songs"][genre]
        folder = tmp_path / "midi" / genre
        folder.mkdir(parents=True)
        for song in songs:
            shutil.copyfile(EMBEDDED_DATA_DIR / genre / song["song_id"], folder / song["song_id"])
        arguments += ["--genre", f"{genre}={folder}"]
    out = tmp_path / "dataset"
    assert main([*arguments, "--out", str(out), "--test-ratio", "0.3", "--shard-size", "64", "--seed", "3",
                 "--workers", "1", "--quiet"], stdout=open(tmp_path / "stdout", "w")) == 0
    shard_files = sorted(path.name for path in LEGACY_DATASET.iterdir() if path.name != manifests.MANIFEST_NAME)
    assert sorted(path.name for path in out.iterdir() if path.name != manifests.MANIFEST_NAME) == shard_files
    for name in shard_files:
        assert (out / name).read_bytes() == (LEGACY_DATASET / name).read_bytes(), name
    manifest = manifests.load_manifest(out)
    assert manifest["format_version"] == 2 and manifest["partition_by"] == "genre"
    for key in ("songs", "split", "phrase_options", "record_format"):
        assert manifest[key] == legacy[key], key
    assert manifest["shards"] == legacy["shards"]
    for genre, info in legacy["partitions"].items():
        assert {**manifest["partitions"][genre], "source_dir": ""} == {**info, "source_dir": ""}


def test_dataset_files_are_the_listed_shards_then_the_manifest(dataset, tmp_path):
    manifest = manifests.load_manifest(dataset)
    files = manifests.dataset_files(dataset)
    assert files == [*(shard["file"] for shard in manifest["shards"]), manifests.MANIFEST_NAME]
    assert manifests.dataset_files(LEGACY_DATASET)[-1] == manifests.MANIFEST_NAME  # version 1 lists shards the same way
    assert manifests.dataset_files(tmp_path) is None  # no manifest: nothing proves whose files these are
    (tmp_path / "manifest.json").write_text("[1]")
    assert manifests.dataset_files(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"format": manifests.MANIFEST_FORMAT, "shards": [
        {"file": "a-train.tfrecord-00000-of-00001"}, {"file": "../escape"}, {"file": "sub/x"}, {"file": 3}, "junk"]}))
    assert manifests.dataset_files(tmp_path) == ["a-train.tfrecord-00000-of-00001", "manifest.json"]
