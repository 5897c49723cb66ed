"""Tests for mst.atomic: the one atomic-write implementation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mst import atomic

REPO = Path(__file__).resolve().parents[1]


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


# --------------------------------------------------------------------------- crash recovery of folder swaps


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    pid = int(process.stdout)
    assert not atomic.process_is_alive(pid)
    return pid


def make_folder(path, files: dict[str, str]):
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def listing(folder) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_process_is_alive_tells_running_from_exited_processes():
    assert atomic.process_is_alive(os.getpid())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert atomic.process_is_alive(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not atomic.process_is_alive(sleeper.pid)


def test_recovery_finishes_a_swap_whose_old_copy_was_moved_aside(tmp_path):
    pid = dead_pid()
    final = tmp_path / "data"
    make_folder(atomic.sibling_folder(final, "old", pid), {"a": "old"})
    make_folder(atomic.sibling_folder(final, "ready", pid), {"a": "new"})
    recovery = atomic.recover_folder(final)
    assert listing(final) == {"a": "new"}
    assert recovery.completed_from == atomic.sibling_folder(final, "ready", pid) and recovery.restored_from is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert "finished the replacement" in recovery.messages()[0]


def test_recovery_restores_the_old_copy_when_no_complete_staging_exists(tmp_path):
    pid = dead_pid()
    final = tmp_path / "data"
    make_folder(atomic.sibling_folder(final, "old", pid), {"a": "old"})
    make_folder(atomic.sibling_folder(final, "tmp", pid), {"a": "half"})  # what mst <= 0.x left: never complete
    recovery = atomic.recover_folder(final)
    assert listing(final) == {"a": "old"} and recovery.restored_from is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_recovery_keeps_the_folder_and_deletes_stale_siblings(tmp_path):
    first, second = dead_pid(), dead_pid()
    final = make_folder(tmp_path / "data", {"a": "current"})
    for tag, pid in (("tmp", first), ("ready", second), ("old", first)):
        make_folder(atomic.sibling_folder(final, tag, pid), {"a": tag})
    (tmp_path / "notes.txt").write_text("mine")
    make_folder(tmp_path / ".data.backup-7", {"b": "mine"})  # not a name mst makes
    recovery = atomic.recover_folder(final)
    assert listing(final) == {"a": "current"} and len(recovery.removed) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".data.backup-7", "data", "notes.txt"]


def test_recovery_leaves_folders_of_running_processes_alone(tmp_path):
    final = tmp_path / "data"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ours = make_folder(atomic.sibling_folder(final, "tmp"), {"a": "writing"})
        theirs = make_folder(atomic.sibling_folder(final, "old", sleeper.pid), {"a": "swapping"})
        recovery = atomic.recover_folder(final)
        assert not final.exists() and ours.is_dir() and theirs.is_dir() and recovery.removed == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_old_copy_loses_only_the_files_its_owner_lists(tmp_path, caplog):
    pid = dead_pid()
    final = make_folder(tmp_path / "data", {"a": "current"})
    old = make_folder(atomic.sibling_folder(final, "old", pid), {"shard": "x", "manifest": "y", "notes.txt": "mine"})
    (old / "sub").mkdir()
    (old / "sub" / "more.txt").write_text("mine too")
    owned = lambda folder: ["shard", "../data/a", "sub", "manifest"]  # noqa: E731  (an escaping path and a folder are skipped)
    with caplog.at_level("WARNING", logger="mst.atomic"):
        recovery = atomic.recover_folder(final, owned=owned)
    assert sorted(p.name for p in old.iterdir()) == ["notes.txt", "sub"] and (old / "sub" / "more.txt").is_file()
    assert listing(final) == {"a": "current"}
    assert recovery.kept == [(old, [old / "notes.txt", old / "sub"])]
    assert "notes.txt" in caplog.text and "did not write" in caplog.text
    assert atomic.remove_owned(tmp_path / "missing", owned) == []
    only_listed = make_folder(tmp_path / "listed", {"shard": "x", "manifest": "y"})
    assert atomic.remove_owned(only_listed, owned) == [] and not only_listed.exists()
    unproven = make_folder(tmp_path / "unproven", {"shard": "x"})
    assert atomic.remove_owned(unproven, lambda folder: None) == [unproven / "shard"]


def test_an_error_inside_the_swap_keeps_the_old_folder(tmp_path, monkeypatch):
    final = make_folder(tmp_path / "data", {"a": "old"})
    staging = atomic.fresh_staging_folder(final)
    (staging / "a").write_text("new")
    real_replace, failures = os.replace, []

    def failing_replace(source, target):
        if Path(target) == final and Path(source).name.startswith(".data.ready-") and not failures:
            failures.append(source)
            raise OSError("simulated rename failure")
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic.replace_folder(staging, final)
    assert failures and listing(final) == {"a": "old"} and listing(staging) == {"a": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [staging.name, "data"]


SWAP_KILLER = """
import os, signal, sys
from pathlib import Path
from mst import atomic
final, kill_after = Path(sys.argv[1]), int(sys.argv[2])
staging = atomic.fresh_staging_folder(final)
(staging / "a").write_text("new")
real_replace, calls = os.replace, []
def replace_then_die(source, target):
    real_replace(source, target)
    calls.append(target)
    if len(calls) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
atomic.os.replace = replace_then_die
atomic.replace_folder(staging, final)
"""


@pytest.mark.parametrize("kill_after, expected", [(1, "old"), (2, "new"), (3, "new")])
def test_a_kill_at_any_step_of_the_swap_is_repaired_by_the_next_run(tmp_path, kill_after, expected):
    final = make_folder(tmp_path / "data", {"a": "old"})
    (tmp_path / "notes.txt").write_text("mine")
    killed = subprocess.run([sys.executable, "-c", SWAP_KILLER, str(final), str(kill_after)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert final.exists() == (kill_after != 2)  # between the two renames the folder is missing
    atomic.recover_folder(final)
    assert listing(final) == {"a": expected}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]
