"""mst.cli.errors: every command ends an error the same way (one line, documented exit status)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mst.cli import errors
from mst.errors import EnvironmentProblem, InputError

ROOT = Path(__file__).resolve().parents[1]


class FakeOpError(Exception):
    """Stands in for tf.errors.OpError (matched by class name and module, as TensorFlow's are)."""


FakeOpError.__name__ = "OpError"
FakeOpError.__module__ = "tensorflow.python.framework.errors_impl"


class ResourceExhaustedError(FakeOpError):
    pass


class DataLossError(FakeOpError):
    pass


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("x"), 2),
        (ValueError("bad value"), 2),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "a.mid"), 2),
        (FileExistsError(errno.EEXIST, "File exists", "out"), 2),
        (OSError(errno.ENOSPC, "No space left on device", "out/x"), 3),
        (OSError(errno.EROFS, "Read-only file system", "out/x"), 3),
        (PermissionError(errno.EACCES, "Permission denied", "out/x"), 3),
        (EnvironmentProblem("worker lost"), 3),
        (MemoryError(), 3),
        (ResourceExhaustedError("out/x; No space left on device"), 3),
        (DataLossError("corrupted record at 12"), 2),
        (KeyboardInterrupt(), 130),
        (ZeroDivisionError("division by zero"), 4),
        (TypeError("unsupported operand"), 4),
    ],
)
def test_exit_status_of_each_kind_of_error(error, status):
    assert errors.exit_status(error) == status


def test_mst_errors_are_sorted_by_their_base_classes():
    from mst.config import ConfigError
    from mst.records.manifest import DatasetError
    from mst.records.prepare_driver import PrepareError
    from mst.runtime import TensorFlowMissingError
    from mst.training.devices import DeviceSetupError
    from mst.training.driver import WorkerLostError

    for cls in (ConfigError, DatasetError, PrepareError):
        assert errors.exit_status(cls("x")) == 2, cls
    for cls in (TensorFlowMissingError, DeviceSetupError, WorkerLostError):
        assert errors.exit_status(cls("x")) == 3, cls


def test_one_line_messages():
    assert errors.one_line(OSError(errno.EROFS, "Read-only file system", "/ro/x")) == "/ro/x: Read-only file system (the file system is read-only)"
    assert errors.one_line(InputError("a.mid:\n  too long")) == "a.mid: too long"
    assert errors.one_line(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"
    assert errors.one_line(DataLossError("corrupted record at 12\n\t [[{{node IteratorGetNext}}]]")) == "DataLossError: corrupted record at 12"


def test_a_name_that_is_not_utf8_gets_a_hint():
    error = UnicodeEncodeError("utf-8", "bad\udcff", 3, 4, "surrogates not allowed")
    assert errors.exit_status(error) == 2 and "not valid UTF-8" in errors.one_line(error)


def _main_raising(error):
    @errors.command("tool")
    def main(argv=None):
        assert "--debug" not in argv  # the wrapper takes it away before the command parses
        if error is not None:
            raise error
        return 0

    return main


def test_command_prints_one_line_and_no_traceback(capsys):
    assert _main_raising(InputError("x.mid: not_midi"))(["--a"]) == 2
    assert capsys.readouterr().err == "tool: error: x.mid: not_midi\n"
    assert _main_raising(OSError(errno.ENOSPC, "No space left on device", "d/s.tfrecord"))([]) == 3
    assert capsys.readouterr().err == "tool: environment error: d/s.tfrecord: No space left on device (the disk or quota is full)\n"
    assert _main_raising(None)(["--debug"]) == 0


def test_command_debug_and_internal_errors_show_the_traceback(capsys, monkeypatch):
    assert _main_raising(InputError("x"))(["--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.splitlines()[-1] == "tool: error: x"
    monkeypatch.setenv("MST_DEBUG", "1")
    assert _main_raising(InputError("x"))([]) == 2
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.delenv("MST_DEBUG")
    assert _main_raising(ZeroDivisionError("division by zero"))([]) == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: ZeroDivisionError: division by zero" in err and "please report" in err


def test_command_lets_argparse_exit_and_maps_ctrl_c(capsys):
    with pytest.raises(SystemExit):
        _main_raising(SystemExit(2))([])
    assert _main_raising(KeyboardInterrupt())([]) == 130
    assert capsys.readouterr().err == "tool: error: interrupted\n"


def _run(*argv, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def _assert_one_line_error(done, status, *fragments):
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


def test_read_only_output_is_an_environment_error():
    # /sys refuses new entries for every user (root included) on Linux.
    if not Path("/sys").is_dir():
        pytest.skip("needs Linux /sys")
    done = _run("-m", "mst.prepare", "--embedded", "--out", "/sys/mst_cli_errors_test", "--workers", "1", "--quiet")
    _assert_one_line_error(done, 3, "mst.prepare: environment error: /sys/", "mst_cli_errors_test")  # (its staging folder)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 256 KiB tmpfs (needs root; skipped elsewhere): a real full disk."""
    mount_point = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_is_an_environment_error_and_leaves_nothing_half_written(tiny_filesystem):
    out = tiny_filesystem / "dataset"
    done = _run("-m", "mst.prepare", "--embedded", "--out", out, "--workers", "1", "--quiet")
    _assert_one_line_error(done, 3, "environment error", "No space left on device")
    assert not out.exists() and list(tiny_filesystem.iterdir()) == []  # the staging folder is gone too


def test_output_folders_that_are_files_fail_before_any_work(tmp_path):
    existing = tmp_path / "report.txt"
    existing.write_text("mine")
    done = _run("evaluate.py", "--model", tmp_path / "m", "--classifier", tmp_path / "c", "--data", tmp_path / "d", "--out", existing, timeout=120)
    _assert_one_line_error(done, 2, "evaluate.py: error: --out", "is a file")
    done = _run("train.py", "--preset", "cyclegan_tiny", "--data", tmp_path / "d", "--out", existing, timeout=120)
    _assert_one_line_error(done, 2, "train.py: error: --out", "is a file")
    assert existing.read_text() == "mine"


@pytest.mark.slow
def test_training_onto_a_full_disk_is_an_environment_error(tiny_filesystem, tmp_path):
    data = tmp_path / "data"
    done = _run("-m", "mst.prepare", "--embedded", "--out", data, "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    done = _run("train.py", "--preset", "cyclegan_tiny", "--data", data, "--out", tiny_filesystem / "run", "--verbose", "0", "--set", "epochs=1")
    _assert_one_line_error(done, 3, "train.py: environment error: ")
