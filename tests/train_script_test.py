"""End-to-end tests of ``train.py`` in subprocesses: kill -9 and resume, CLI errors, GPU flags, export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from testing import write_random_dataset

from mst import export
from mst.models.genre_classifier import genre_classifier_export
from mst.models.cyclegan import cyclegan_export
from mst import registry
from mst.runtime import import_tensorflow
from mst.training.run_dir import prepare_run_dir

tf = import_tensorflow()

REPO = Path(__file__).resolve().parents[1]
TRAIN = [sys.executable, str(REPO / "train.py")]
STEPS_PER_EPOCH = 8  # cyclegan_tiny (batch 4) on the synthetic set (32 jazz phrases)
EPOCHS = 2
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH
RESUME_ARGS = [
    "--preset", "cyclegan_tiny", "--set", f"epochs={EPOCHS}", "sample_every_epochs=2",
    "--checkpoint-every-steps", "1", "--deterministic", "--no-export", "--verbose", "2",
]  # fmt: skip
KILL_AFTER_STEP = 3  # mid-epoch, five steps before the epoch boundary the test must not reach


def environment() -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("PYTHONPATH", None)
    return env


def run_train(*args, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAIN, *map(str, args)], cwd=REPO, env=environment(), capture_output=True, text=True, timeout=timeout)


def checkpoint_tensors(run_dir: Path) -> dict[str, np.ndarray]:
    """Every tensor of the newest checkpoint except the save counter (it counts saves, not steps)."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    names = [name for name in reader.get_variable_to_shape_map() if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and not name.startswith("save_counter")]
    return {name: np.asarray(reader.get_tensor(name)) for name in names}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_random_dataset(tmp_path_factory.mktemp("script_data"))


class BackgroundRun:
    """A ``train.py`` process started now and awaited later (it overlaps with the run to be killed)."""

    def __init__(self, args, run_dir: Path, log_path: Path):
        self.run_dir = run_dir
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen([*TRAIN, *map(str, args)], cwd=REPO, env=environment(), stdout=self.log, stderr=subprocess.STDOUT)

    def finish(self, timeout: int = 400) -> Path:
        """Waits for the run and returns its folder (fails the test if it failed)."""
        returncode = self.process.wait(timeout=timeout)
        self.log.close()
        assert returncode == 0, self.log_path.read_text()[-3000:]
        return self.run_dir

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)
        self.log.close()


@pytest.mark.slow
def test_kill_minus_nine_resumes_at_the_saved_step_with_no_lost_work(dataset, tmp_path):
    # An uninterrupted run of the same length, running meanwhile, is the reference.
    reference = BackgroundRun([*RESUME_ARGS, "--data", dataset, "--out", tmp_path / "reference"], tmp_path / "reference", tmp_path / "reference.log")
    try:
        run_dir = tmp_path / "killed"
        with open(tmp_path / "first.log", "w") as log:
            process = subprocess.Popen([*TRAIN, *RESUME_ARGS, "--data", str(dataset), "--out", str(run_dir)], cwd=REPO, env=environment(), stdout=log, stderr=subprocess.STDOUT)
            try:
                progress_path = run_dir / "progress.json"
                deadline = time.monotonic() + 300
                while True:
                    assert process.poll() is None, "training ended before it could be killed: " + (tmp_path / "first.log").read_text()[-2000:]
                    assert time.monotonic() < deadline, "no checkpoint progress within 300 s"
                    if progress_path.is_file() and json.loads(progress_path.read_text())["global_step"] >= KILL_AFTER_STEP:
                        os.kill(process.pid, signal.SIGKILL)
                        break
                    time.sleep(0.01)
            finally:
                if process.poll() is None:
                    process.kill()  # only reached when an assertion above failed
                process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
        saved_step = int(Path(tf.train.latest_checkpoint(str(run_dir / "checkpoints"))).name.split("-")[1])
        assert KILL_AFTER_STEP <= saved_step < STEPS_PER_EPOCH, "the kill must land mid-epoch for this test"

        resumed = run_train(*RESUME_ARGS, "--data", dataset, "--out", run_dir)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        epoch, done = divmod(saved_step, STEPS_PER_EPOCH)
        assert f"resuming {run_dir} at global step {saved_step} (epoch {epoch + 1}, after batch {done} of {STEPS_PER_EPOCH})" in resumed.stdout
        assert f"step {TOTAL_STEPS} of {TOTAL_STEPS}" in resumed.stdout

        # Same weights, optimizer moments and iteration counts, history pool, RNG states and counters
        # as the uninterrupted run: bit for bit (op determinism on; see mst.training.loop).
        expected, actual = checkpoint_tensors(reference.finish()), checkpoint_tensors(run_dir)
    finally:
        reference.stop()
    assert sorted(actual) == sorted(expected)
    for part in ("_trainable_variables", "history_pool", "seed_generator_state", "_iterations", "g_loss", "global_step", "numpy_rng"):
        assert any(part in name for name in actual), part
    mismatched = [name for name in expected if not np.array_equal(expected[name], actual[name], equal_nan=expected[name].dtype.kind == "f")]
    assert not mismatched
    # Every step's logged losses match too: no step was lost or run twice.
    assert (run_dir / "history.csv").read_text() == (tmp_path / "reference" / "history.csv").read_text()
    steps = [int(line.split(",")[0]) for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, TOTAL_STEPS + 1))


def test_refuses_a_different_config_force_continues_and_export_only_exports(dataset, tmp_path):
    run_dir = tmp_path / "run"
    prepare_run_dir(run_dir, registry.get_config("cyclegan_tiny"), dataset, preset="cyclegan_tiny")
    changed = run_train("--preset", "cyclegan_tiny", "--set", "sigma_d=1", "--data", dataset, "--out", run_dir)
    assert changed.returncode == 2
    assert "different config" in changed.stderr and "sigma_d: recorded 0.1, now 1.0" in changed.stderr and "--force" in changed.stderr
    assert not (run_dir / "checkpoints").exists()

    forced = run_train("--preset", "cyclegan_tiny", "--set", "sigma_d=1", "--data", dataset, "--out", run_dir, "--force", "--max-steps", 2, "--no-export", "--verbose", 0)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "--force: continuing" in forced.stdout and "step 2 of 2" in forced.stdout
    assert json.loads((run_dir / "config.json").read_text())["config"]["sigma_d"] == 1.0
    assert not (run_dir / "export").exists()

    exported = run_train("--out", run_dir, "--export-only")
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert f"exported to {run_dir / 'export'}" in exported.stdout
    info = json.loads((run_dir / "export" / "export.json").read_text())
    assert (info["kind"], info["global_step"], info["preset"], info["config"]["sigma_d"]) == ("cyclegan", 2, "cyclegan_tiny", 1.0)
    pair = cyclegan_export.load_generators(run_dir / "export")
    assert pair.transfer(np.zeros((2, 64, 84, 1), np.float32), "a2b").shape == (2, 64, 84, 1)
    missing = run_train("--out", tmp_path / "nothing_here", "--export-only")
    assert missing.returncode == 2 and "is not a training run folder" in missing.stderr


def test_clear_errors_for_bad_presets_datasets_and_batches(dataset, tmp_path):
    # Genre and phrase-count errors are checked at the library level in training_test.py.
    cases = [
        (["--preset", "cyclegan_nope", "--data", dataset], "unknown preset 'cyclegan_nope'"),
        (["--preset", "cyclegan_tiny", "--set", "epochz=3", "--data", dataset], "unknown CycleGANConfig field 'epochz'"),
        (["--preset", "cyclegan_tiny", "--data", dataset, "--max-steps", "0"], "max_steps must be >= 1"),
        (["--preset", "cyclegan_tiny", "--set", "genre_b=rock", "--data", dataset], f"genre 'rock' is not in {dataset / 'manifest.json'}"),
        (["--preset", "cyclegan_tiny", "--set", "batch_size=3", "--data", dataset, "--logical-cpus", "2", "--strategy", "mirrored"], "batch_size=3 is the global batch and must be divisible by the 2 replicas"),
    ]
    for index, (args, message) in enumerate(cases):
        completed = run_train(*args, "--out", tmp_path / f"run{index}")
        assert completed.returncode == 2, (args, completed.stderr[-2000:])
        assert message in completed.stderr, (args, completed.stderr[-2000:])
        assert "Traceback" not in completed.stderr
    assert not (tmp_path / "run3").exists()  # a dataset error writes no run folder


@pytest.mark.slow
def test_mixed_precision_and_xla_run_on_cpu(dataset, tmp_path):
    completed = run_train("--preset", "classifier_tiny", "--data", dataset, "--out", tmp_path / "clf", "--mixed-precision", "--xla", "--max-steps", 2, "--verbose", 0)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "dtype policy mixed_float16, XLA on" in completed.stdout
    assert json.loads((tmp_path / "clf" / "progress.json").read_text())["global_step"] == 2
    classifier = genre_classifier_export.load_classifier(tmp_path / "clf" / "export")
    probabilities = classifier(np.zeros((3, 64, 84, 1), np.float32))
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)


@pytest.mark.slow
def test_mixed_precision_cyclegan_runs_on_cpu(dataset, tmp_path):
    completed = run_train("--preset", "cyclegan_tiny", "--data", dataset, "--out", tmp_path / "gan", "--mixed-precision", "--max-steps", 2, "--verbose", 0)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "dtype policy mixed_float16" in completed.stdout
    pair = cyclegan_export.load_generators(tmp_path / "gan" / "export")
    probabilities = pair.transfer(np.zeros((1, 64, 84, 1), np.float32), "a2b")
    assert probabilities.dtype == np.float32 and np.all((probabilities >= 0) & (probabilities <= 1))
