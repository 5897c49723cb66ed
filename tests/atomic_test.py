"""Tests for mst.atomic: the one atomic-write implementation."""

from __future__ import annotations

import json
import os

import pytest

from mst import atomic


def test_write_json_keeps_old_file_when_serialization_fails(tmp_path):
    path = tmp_path / "manifest.json"
    atomic.write_json(path, {"b": 2, "a": 1})
    assert path.read_text() == '{\n "a": 1,\n "b": 2\n}\n'  # key-sorted, final newline
    with pytest.raises(TypeError):
        atomic.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1, "b": 2}
    assert os.listdir(tmp_path) == ["manifest.json"]


def test_atomic_path_failure_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "shard.bin"
    atomic.write_bytes(path, b"old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic.atomic_path(path) as temporary:
            temporary.write_bytes(b"half")
            assert temporary.name == f"shard.bin.tmp-{os.getpid()}"
            assert path.read_bytes() == b"old"  # the real name is untouched while writing
            raise RuntimeError("simulated crash")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["shard.bin"]


def test_write_text_creates_parents_and_keeps_newlines(tmp_path):
    path = tmp_path / "a" / "b" / "report.md"
    atomic.write_text(path, "x\r\ny\n")
    assert path.read_bytes() == b"x\r\ny\n"


def test_a_staged_folder_replaces_the_old_one_in_one_rename(tmp_path):
    final = tmp_path / "export"
    final.mkdir()
    (final / "old.txt").write_text("old")
    staging = atomic.fresh_staging_folder(final)
    assert staging.parent == tmp_path and staging.name.startswith(".export.tmp-") and not any(staging.iterdir())
    (staging / "new.txt").write_text("new")
    assert atomic.replace_folder(staging, final) == final
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging or retired folder left
    again = atomic.fresh_staging_folder(tmp_path / "deep" / "new")  # parents are created
    assert again.parent == tmp_path / "deep"
