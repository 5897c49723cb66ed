"""tf.distribute: two logical CPUs under MirroredStrategy train like the default strategy.

Each run is a ``train.py`` subprocess, because logical devices must be configured before
TensorFlow initialises (``--logical-cpus``). The tiny preset is the *partial* variant with σ_D
noise and the history pool, so this also checks that noise and pool draws do not depend on the
number of replicas.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from testing import write_random_dataset

from mst.runtime import import_tensorflow

tf = import_tensorflow()

REPO = Path(__file__).resolve().parents[1]
STEPS = 4
LEARNING_RATE = 2e-4  # cyclegan_tiny
COMMON = ["--preset", "cyclegan_tiny", "--max-steps", str(STEPS), "--checkpoint-every-steps", str(STEPS), "--no-export", "--verbose", "0"]


def environment() -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("PYTHONPATH", None)
    return env


def start(args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *map(str, args)], cwd=REPO, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def history(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "history.csv", newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if "_trainable_variables" in name}


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_the_default_strategy(tmp_path):
    data = write_random_dataset(tmp_path / "data")
    mirrored = start([*COMMON, "--data", data, "--out", tmp_path / "mirrored", "--logical-cpus", 2, "--strategy", "mirrored"])
    default = start([*COMMON, "--data", data, "--out", tmp_path / "default", "--strategy", "default"])
    outputs = {}
    for name, process in (("mirrored", mirrored), ("default", default)):
        stdout, stderr = process.communicate(timeout=400)
        assert process.returncode == 0, f"{name}: {stderr[-3000:]}"
        outputs[name] = stdout
    assert "MirroredStrategy with 2 replica(s)" in outputs["mirrored"]
    assert "with 1 replica(s)" in outputs["default"]

    rows = {name: history(tmp_path / name) for name in outputs}
    assert [row["step"] for row in rows["mirrored"]] == [row["step"] for row in rows["default"]] == list(range(1, STEPS + 1))
    for mirrored_row, default_row in zip(rows["mirrored"], rows["default"]):
        assert mirrored_row.keys() == default_row.keys()
        for loss in ("g_loss", "cycle_loss", "d_loss", "d_mixed_loss", "g_adv_a2b", "d_a_loss"):
            assert mirrored_row[loss] == pytest.approx(default_row[loss], rel=1e-4, abs=1e-5), (int(mirrored_row["step"]), loss)
    # Summing two half-batch gradients rounds differently from one full-batch gradient; Adam
    # divides each update by the gradient's running magnitude, so near-zero gradients can turn
    # a rounding difference into an update of up to ±lr. Hence: every weight within 2·lr·steps,
    # and the weights as a whole nearly equal.
    mirrored_weights, default_weights = weights(tmp_path / "mirrored"), weights(tmp_path / "default")
    assert mirrored_weights.keys() == default_weights.keys() and len(mirrored_weights) > 10
    adam_bound = 2 * LEARNING_RATE * STEPS
    for name in default_weights:
        np.testing.assert_allclose(mirrored_weights[name], default_weights[name], rtol=0, atol=adam_bound, err_msg=name)
    difference = np.sqrt(sum(np.sum((mirrored_weights[n] - default_weights[n]) ** 2) for n in default_weights))
    norm = np.sqrt(sum(np.sum(default_weights[n] ** 2) for n in default_weights))
    assert difference / norm < 1e-3


STRATEGY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from mst.training import devices
    devices.configure_logical_cpus(3)
    devices.configure_logical_cpus(3)  # same layout again: accepted
    names = {}
    for name in ("multi_worker", "default", "one_device", "mirrored"):  # multi_worker must come first (collective ops setup)
        strategy = devices.make_strategy(name)
        names[name] = (type(strategy).__name__, strategy.num_replicas_in_sync)
    print(json.dumps(names, sort_keys=True))
    print(devices.per_replica_batch_size(12, devices.make_strategy("mirrored")))
    print(devices.set_precision(True), devices.set_precision(False))
    """
)


def test_strategy_names_map_to_tf_distribute_strategies(tmp_path):
    completed = subprocess.run([sys.executable, "-c", STRATEGY_SCRIPT, str(REPO)], cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert json.loads(lines[-3]) == {
        "default": ["_DefaultDistributionStrategy", 1],
        "one_device": ["OneDeviceStrategy", 1],
        "mirrored": ["MirroredStrategy", 3],
        "multi_worker": ["NestedReduceMultiWorkerMirroredStrategy", 1],
    }
    assert lines[-2] == "4"
    assert lines[-1] == "mixed_float16 float32"


# --------------------------------------------------------------------------- two worker processes


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_workers(args, ports) -> list[subprocess.Popen]:
    workers = []
    for index in range(len(ports)):
        env = environment()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]}, "task": {"type": "worker", "index": index}})
        workers.append(subprocess.Popen([sys.executable, str(REPO / "train.py"), *map(str, args)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


def wait_for_checkpoint(run_dir: Path, workers, timeout: float = 400) -> int:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = run_dir / "progress.json"
        if progress.is_file():
            return json.loads(progress.read_text())["global_step"]
        failed = [worker for worker in workers if worker.poll() is not None]
        assert not failed, failed[0].communicate()[1][-3000:]
        time.sleep(0.5)
    raise AssertionError(f"no checkpoint in {run_dir} after {timeout} s")


@pytest.mark.slow
def test_two_worker_processes_train_agree_on_the_weights_and_resume_after_a_worker_is_killed(tmp_path):
    """`--strategy multi_worker` as two processes on localhost (the path users scale out with)."""
    data = write_random_dataset(tmp_path / "data")
    run_dir = tmp_path / "run"
    args = ["--preset", "cyclegan_tiny", "--strategy", "multi_worker", "--data", data, "--out", run_dir, "--max-steps", 6, "--checkpoint-every-steps", 2, "--verbose", 0]

    first = start_workers(args, free_ports(2))
    assert wait_for_checkpoint(run_dir, first) >= 2
    first[1].kill()  # kill -9 of the non-chief worker
    first[1].communicate(timeout=60)
    _, chief_error = first[0].communicate(timeout=300)
    assert first[0].returncode == 3, chief_error[-3000:]  # the chief stops with a resume hint, no hang
    assert "start every worker again" in chief_error and "Traceback" not in chief_error

    second = start_workers(args, free_ports(2))
    outputs = []
    for worker in second:
        stdout, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
        outputs.append(stdout)
    assert all("CollectiveAllReduce" in out or "MultiWorkerMirrored" in out for out in outputs), outputs
    assert "resuming" in outputs[0] and "resuming" in outputs[1]  # both restored the chief's checkpoint
    fingerprints = [line.split("fingerprint ")[1].split()[0] for out in outputs for line in out.splitlines() if "weights fingerprint" in line]
    assert len(fingerprints) == 2 and fingerprints[0] == fingerprints[1], outputs
    # Only the chief writes the run: its checkpoints reach the last step, the export is its alone.
    assert json.loads((run_dir / "progress.json").read_text())["global_step"] == 6
    assert (run_dir / "export").is_dir() and not (run_dir / "workers").exists()
    assert "exported to" in outputs[0] and "exported to" not in outputs[1]
