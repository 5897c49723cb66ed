"""Every command that reads a dataset checks its shards' sha256 against the manifest first (once per process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testing import write_random_dataset

from mst import registry
from mst.cli import evaluate
from mst.records.manifest import DatasetError
from mst.records.shards import verify_dataset_once
from mst.training.driver import RunOptions, train


def flip_a_byte(data_dir: Path) -> Path:
    shard = data_dir / json.loads((data_dir / "manifest.json").read_text())["shards"][0]["file"]
    payload = bytearray(shard.read_bytes())
    payload[len(payload) // 2] ^= 0x01
    shard.write_bytes(bytes(payload))
    return shard


def test_an_intact_dataset_is_hashed_once_per_process(tmp_path):
    data = write_random_dataset(tmp_path / "data")
    assert verify_dataset_once(data) is True
    assert verify_dataset_once(data) is False  # same manifest: not hashed again


def test_a_damaged_shard_stops_training_before_anything_is_written_and_names_the_shard(tmp_path):
    data = write_random_dataset(tmp_path / "data")
    shard = flip_a_byte(data)
    config = registry.get_config("cyclegan_tiny", ["steps_per_epoch=1", "epochs=1"])
    with pytest.raises(DatasetError, match=rf"shard {shard} has sha256 [0-9a-f]{{64}}, the manifest says .*damaged"):
        train(config, data, tmp_path / "run", RunOptions(export=False, verbose=0))
    assert not (tmp_path / "run").exists()


def test_evaluate_checks_the_dataset_of_every_subcommand(tmp_path, capsys):
    data = write_random_dataset(tmp_path / "data")
    shard = flip_a_byte(data)
    status = evaluate.main(["classifier", "--classifier", str(tmp_path / "none"), "--data", str(data), "--out", str(tmp_path / "out")])
    assert status == 2
    error = capsys.readouterr().err
    assert str(shard) in error and "--no-verify" in error
    _, data_dir, verify = evaluate._split_verify_arguments(["--data", str(data), "--no-verify", "--x", "1"])
    assert (data_dir, verify) == (str(data), False)


def test_a_damaged_shard_read_without_the_check_is_named_too(tmp_path):
    data = write_random_dataset(tmp_path / "data")
    shard = flip_a_byte(data)  # the record CRC no longer matches: TensorFlow raises DataLossError
    config = registry.get_config("cyclegan_tiny", ["steps_per_epoch=1", "epochs=1"])
    with pytest.raises(DatasetError, match=rf"shard {shard} has sha256 [0-9a-f]{{64}}, the manifest says .*damaged"):
        train(config, data, tmp_path / "run", RunOptions(export=False, verbose=0, verify_data=False))


def test_explain_read_error_finds_an_unreadable_shard_whose_hash_was_recomputed(tmp_path):
    from mst.records.shards import explain_read_error, sha256_file

    data = write_random_dataset(tmp_path / "data")
    shard = flip_a_byte(data)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["shards"][0]["sha256"] = sha256_file(shard)  # the manifest agrees with the damage
    (data / "manifest.json").write_text(json.dumps(manifest))
    error = explain_read_error(data, RuntimeError("corrupted record at 12"))
    assert isinstance(error, DatasetError)
    assert f"shard {shard} cannot be read (DataLossError: " in str(error) and "prepare the dataset again" in str(error)
