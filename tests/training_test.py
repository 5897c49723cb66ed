"""Tests for mst.training: data checks, run folder, checkpoints, callbacks and a tiny in-process run.

Datasets come from ``tests/testing.py`` (``write_random_dataset``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import load_script
from testing import write_random_dataset
from mst import records
from mst import registry
from mst.records import DatasetError
from mst.runtime import import_tensorflow
from mst.training import devices
from mst.training.driver import RunOptions, train
from mst.training.callbacks import CheckpointEverySteps, LossHistory
from mst.training.checkpointing import CheckpointError, RunCheckpointer, TrainingState, read_progress
from mst.models.cyclegan.cyclegan_task import cyclegan_epochs, cyclegan_steps_per_epoch
from mst.models.genre_classifier.genre_classifier_task import classifier_epoch_dataset, classifier_epochs, classifier_steps_per_epoch
from mst.records.pianoroll_reader import TrainingDataError, load_split_arrays
from mst.records.splits import epoch_seed
from mst.training.loop import StepPlan, fit_resumable
from mst.training.run_dir import RunDirError, prepare_run_dir, remove_dead_leftovers

tf = import_tensorflow()

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_random_dataset(tmp_path_factory.mktemp("synthetic"))


def read_events(log_dir) -> dict[str, list[tuple[int, str]]]:
    """``{tag: [(step, plugin name), ...]}`` of every event file under ``log_dir``."""
    events = {}
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                events.setdefault(value.tag, []).append((event.step, value.metadata.plugin_data.plugin_name))
    return events


def read_scalars(log_dir, tag: str) -> dict[int, float]:
    """``{step: value}`` of one scalar tag under ``log_dir`` (the last write of a step wins)."""
    values = {}
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


# ------------------------------------------------------------------------------------- step plan


def test_epoch_seed_is_stable_and_distinct_per_seed_and_epoch():
    seeds = {epoch_seed(seed, epoch) for seed in range(5) for epoch in range(50)}
    assert len(seeds) == 250
    # pinned: a changed hash would give resumed runs of older checkpoints another data order
    assert (epoch_seed(19, 3), epoch_seed(0, 0)) == (75487777228922, 134220478314527)
    assert all(0 <= s < 2**48 for s in seeds)


def test_step_plan_positions_and_caps():
    plan = StepPlan(steps_per_epoch=8, epochs=3)
    assert plan.total_steps == 24 and plan.total_epochs == 3
    assert plan.position(0) == (0, 0) and plan.position(13) == (1, 5) and plan.position(16) == (2, 0)
    capped = StepPlan(steps_per_epoch=8, epochs=3, max_steps=10)
    assert capped.total_steps == 10 and capped.total_epochs == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        StepPlan(steps_per_epoch=0, epochs=1)


# ------------------------------------------------------------------------------------- data checks


def test_steps_per_epoch_follow_the_balanced_pair_and_the_cap(dataset):
    tiny = registry.get_config("cyclegan_tiny")
    assert cyclegan_steps_per_epoch(tiny, dataset) == 32 // 4
    assert cyclegan_steps_per_epoch(tiny.replace(steps_per_epoch=3), dataset) == 3
    classifier = registry.get_config("classifier_tiny")
    assert classifier_steps_per_epoch(classifier, dataset) == 32 // 2


def test_missing_dataset_genre_and_too_few_phrases_give_clear_errors(dataset, tmp_path):
    tiny = registry.get_config("cyclegan_tiny")
    with pytest.raises(DatasetError, match="does not exist"):
        cyclegan_steps_per_epoch(tiny, tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        cyclegan_steps_per_epoch(tiny, tmp_path)
    with pytest.raises(TrainingDataError, match=r"genre 'rock' is not in .*manifest\.json.*jazz"):
        cyclegan_steps_per_epoch(tiny.replace(genre_b="rock", mixed_genres=None), dataset)
    with pytest.raises(TrainingDataError, match=r"genre 'jazz' has 32 train phrases in .*manifest\.json.*batch_size=64"):
        cyclegan_steps_per_epoch(tiny.replace(batch_size=64), dataset)
    with pytest.raises(TrainingDataError, match="must be even"):
        classifier_steps_per_epoch(registry.get_config("classifier_tiny").replace(batch_size=5), dataset)
    no_test = write_random_dataset(tmp_path / "no_test", {"jazz": {"train": 8, "test": 0}, "classical": {"train": 8, "test": 2}})
    with pytest.raises(TrainingDataError, match="genre 'jazz' has 0 test phrases.*test accuracy"):
        classifier_steps_per_epoch(registry.get_config("classifier_tiny"), no_test)


def _packed(batches, key) -> list[bytes]:
    """Every phrase of ``batches[*][key]`` as packed bytes, sorted (the multiset of phrases)."""
    return sorted(row.tobytes() for batch in batches for row in records.pack_rolls(batch[key].numpy()))


def test_epoch_batches_repeat_on_every_iteration_and_balance_the_larger_side(dataset):
    tiny = registry.get_config("cyclegan_tiny")
    assert tiny.balancing == "random_per_epoch"  # the authors' code: a fresh subset every epoch
    epochs = cyclegan_epochs(tiny, dataset)
    assert epochs.batches_per_epoch == 8
    first, again, next_epoch = (list(epochs.dataset(e)) for e in (0, 0, 1))
    assert len(first) == 8 and sorted(first[0]) == ["a", "b", "m"] and first[0]["a"].shape == (4, 64, 84, 1)
    for one, other in zip(first, again):
        for key in ("a", "b", "m"):
            np.testing.assert_array_equal(one[key].numpy(), other[key].numpy())
    assert any(not np.array_equal(one["a"].numpy(), other["a"].numpy()) for one, other in zip(first, next_epoch))
    all_jazz, _ = load_split_arrays(dataset, ["jazz"], "train")
    all_classical, _ = load_split_arrays(dataset, ["classical"], "train")
    assert len(all_jazz) == 32 < len(all_classical)
    everything = _packed([{"b": tf_constant(all_classical)}], "b")
    subsets = []
    for batches in (first, next_epoch):
        # the smaller side (jazz) is whole every epoch; classical is a 32-phrase subset without repeats
        assert _packed(batches, "a") == _packed([{"a": tf_constant(all_jazz)}], "a")
        subset = _packed(batches, "b")
        assert len(subset) == 32 == len(set(subset)) and set(subset) <= set(everything)
        subsets.append(subset)
    assert subsets[0] != subsets[1]
    fixed = cyclegan_epochs(tiny.replace(balancing="fixed_subset"), dataset)
    assert _packed(list(fixed.dataset(0)), "b") == _packed(list(fixed.dataset(3)), "b")
    classifier_batch = next(iter(classifier_epoch_dataset(classifier_epochs(registry.get_config("classifier_tiny"), dataset), 0)))
    assert classifier_batch[0].shape == (4, 64, 84, 1) and classifier_batch[1].numpy().tolist() == [0, 1, 0, 1]


def tf_constant(array):
    import tensorflow as tf  # noqa: PLC0415

    return tf.constant(array)


# ------------------------------------------------------------------------------------- run folder


def test_run_folder_records_config_and_refuses_a_different_one(dataset, tmp_path):
    tiny = registry.get_config("cyclegan_tiny")
    run = tmp_path / "run"
    assert prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny") is False
    assert registry.load_config(run / "config.json") == tiny
    assert json.loads((run / "run.json").read_text())["preset"] == "cyclegan_tiny"
    assert prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny") is True
    changed = registry.get_config("cyclegan_tiny", ["sigma_d=1", "epochs=3"])
    with pytest.raises(RunDirError, match=r"different config(.|\n)*epochs: recorded 2, now 3(.|\n)*sigma_d: recorded 0.1, now 1.0(.|\n)*--force"):
        prepare_run_dir(run, changed, dataset, preset="cyclegan_tiny")
    assert registry.load_config(run / "config.json") == tiny  # refused: nothing rewritten
    with pytest.raises(RunDirError, match="config class: recorded CycleGANConfig, now ClassifierConfig"):
        prepare_run_dir(run, registry.get_config("classifier_tiny"), dataset, preset="classifier_tiny")
    assert prepare_run_dir(run, changed, dataset, preset="cyclegan_tiny", force=True) is True
    assert registry.load_config(run / "config.json") == changed


def test_run_folder_refuses_another_dataset_once_it_has_a_checkpoint(dataset, tmp_path):
    tiny = registry.get_config("cyclegan_tiny")
    other = write_random_dataset(tmp_path / "other", seed=7)
    run = tmp_path / "run"
    prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny")
    prepare_run_dir(run, tiny, other, preset="cyclegan_tiny")  # no checkpoint yet: just re-recorded
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    with pytest.raises(RunDirError, match="would not see the same batches"):
        prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny")
    prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny", force=True)


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_removes_half_written_leftovers_of_dead_runs_only(dataset, tmp_path):
    tiny = registry.get_config("cyclegan_tiny")
    run = tmp_path / "run"
    prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny")
    dead, alive, own = _dead_pid(), os.getppid(), os.getpid()
    garbage = [
        f"progress.json.tmp-{dead}",
        f"samples/epoch_0001_a2b.png.tmp-{dead}",
        "checkpoints/ckpt-40_temp/part-00000-of-00001.data-00000-of-00001",
        "best/best-3_temp/part-00000-of-00001.index",
    ]
    kept = [
        f"history.csv.tmp-{alive}",  # another live process is writing it
        f"loss_curves.png.tmp-{own}",  # this process is writing it
        "checkpoints/ckpt-20.index",
        "checkpoints/my_temp/notes.txt",  # no step number: not TensorFlow's
        "samples_temp/a.mid",  # a _temp folder outside the checkpoint folders
        "notes.tmp",  # no PID
        f".export.tmp-{dead}/saved_model.pb.tmp-{dead}",  # staging folders are mst.atomic's
    ]
    for name in garbage + kept:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("x")

    refused = registry.get_config("cyclegan_tiny", ["epochs=3"])
    with pytest.raises(RunDirError):
        prepare_run_dir(run, refused, dataset, preset="cyclegan_tiny")
    assert all((run / name).exists() for name in garbage)  # a refused resume changes nothing

    assert prepare_run_dir(run, tiny, dataset, preset="cyclegan_tiny") is True
    assert [name for name in garbage if (run / name).exists()] == []
    assert not (run / "checkpoints" / "ckpt-40_temp").exists() and not (run / "best" / "best-3_temp").exists()
    assert [name for name in kept if not (run / name).exists()] == []
    assert remove_dead_leftovers(run) == []  # nothing left to do


# ------------------------------------------------------------------------------------- devices


def test_global_batch_must_split_over_the_replicas():
    class FakeStrategy:
        num_replicas_in_sync = 4

    assert devices.per_replica_batch_size(16, FakeStrategy()) == 4
    with pytest.raises(devices.DeviceSetupError, match="batch_size=6 is the global batch.*4 replicas"):
        devices.per_replica_batch_size(6, FakeStrategy())
    with pytest.raises(devices.DeviceSetupError, match="unknown strategy 'gpu'"):
        devices.make_strategy("gpu")
    with pytest.raises(ValueError, match="unknown strategy"):
        RunOptions(strategy="horovod")


def test_train_script_parses_repeated_overrides_and_lists_presets_without_tensorflow():
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    root = Path(__file__).resolve().parents[1]
    probe = (
        "import runpy, sys; sys.argv = ['train.py', '--list-presets']\n"
        "try:\n    runpy.run_path('train.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('TF_LOADED' if 'tensorflow' in sys.modules else 'TF_NOT_LOADED')"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True).stdout
    assert "cyclegan_tiny" in out and "classifier_tiny" in out and out.strip().endswith("TF_NOT_LOADED")
    script = load_script(root / "train.py", "train_script")
    parser = script.build_argument_parser()
    args = parser.parse_args(["--preset", "p", "--data", "d", "--out", "o", "--set", "a=1", "b=2", "--set", "c=3", "--strategy", "mirrored"])
    assert args.overrides == [["a=1", "b=2"], ["c=3"]] and args.strategy == "mirrored" and args.export is True


def test_logical_cpus_cannot_be_configured_after_tensorflow_started():
    tf.constant(1.0) + 1.0  # make sure the runtime is initialised in this process
    current = len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(devices.DeviceSetupError, match="already initialised"):
        devices.configure_logical_cpus(current + 1)
    with pytest.raises(devices.DeviceSetupError, match="at least 1"):
        devices.configure_logical_cpus(0)


# ------------------------------------------------------------------------------------- checkpoints


class CountingModel(keras.Model):
    """A toy model whose logged loss becomes NaN at a chosen step (a stand-in for a diverging GAN)."""

    def __init__(self, nan_at_step: int):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.nan_at_step = nan_at_step
        self.tracker = keras.metrics.Mean(name="g_loss")

    def call(self, x):
        return self.dense(x)

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(x) - y))
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
        step = tf.cast(self.optimizer.iterations, tf.float32)
        self.tracker.update_state(tf.where(step >= self.nan_at_step, float("nan"), loss))
        return {"g_loss": self.tracker.result()}


def test_nan_loss_stops_training_and_the_newest_checkpoint_stays_finite(tmp_path):
    model = CountingModel(nan_at_step=5)
    model(np.zeros((1, 3), np.float32))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.optimizer.build(model.trainable_variables)
    state = TrainingState()
    checkpointer = RunCheckpointer(tmp_path, model, {"optimizer": model.optimizer}, state)
    history = LossHistory(tmp_path, state, steps_per_epoch=4)
    x = np.random.default_rng(0).random((32, 3)).astype(np.float32)

    def epoch_dataset(epoch):
        return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4, drop_remainder=True)

    outcome = fit_resumable(
        model,
        epoch_dataset,
        StepPlan(steps_per_epoch=4, epochs=3),
        state,
        [history, CheckpointEverySteps(checkpointer, history, every_steps=1, steps_per_epoch=4)],
        verbose=0,
    )
    assert outcome.stopped_on_nan is not None and outcome.stopped_on_nan[0] == "g_loss"
    assert outcome.final_step == 4 and state.step == 4
    assert read_progress(tmp_path)["global_step"] == 4
    assert checkpointer.latest_path.endswith("ckpt-4")


def test_checkpoint_restores_weights_optimizer_counters_and_host_rngs(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(model.trainable_variables)
    state = TrainingState()
    checkpointer = RunCheckpointer(tmp_path, model, {"optimizer": optimizer}, state)
    optimizer.apply([tf.ones_like(v) for v in model.trainable_variables], model.trainable_variables)
    state.global_step.assign(7)
    random.seed(3)
    np.random.seed(4)
    checkpointer.save({"epoch": 1})
    expected = ([v.numpy() for v in model.variables], [v.numpy() for v in optimizer.variables], random.random(), np.random.random())
    optimizer.apply([tf.ones_like(v) for v in model.trainable_variables], model.trainable_variables)
    state.global_step.assign(99)
    random.seed(100)
    np.random.seed(100)
    assert RunCheckpointer(tmp_path, model, {"optimizer": optimizer}, state).restore_latest() == 7
    for saved, now in zip(expected[0] + expected[1], [v.numpy() for v in model.variables] + [v.numpy() for v in optimizer.variables]):
        np.testing.assert_array_equal(saved, now)
    assert random.random() == expected[2] and np.random.random() == expected[3]
    assert read_progress(tmp_path) == {"global_step": 7, "checkpoint": "ckpt-7", "epoch": 1}
    wider = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    with pytest.raises(CheckpointError, match="does not fit the model.*--force"):
        RunCheckpointer(tmp_path, wider, {}, TrainingState()).restore_latest()


def test_loss_history_keeps_rows_up_to_the_restored_step(tmp_path):
    state = TrainingState()
    history = LossHistory(tmp_path, state, steps_per_epoch=2, extra_scalars={"learning_rate": lambda: 0.5})
    for step in range(5):
        history.on_train_batch_end(step, {"g_loss": tf.constant(1.0 / (step + 1))})
        state.global_step.assign_add(1)
    history.flush()
    restored = LossHistory(tmp_path, state, steps_per_epoch=2)
    restored.load(up_to_step=3)
    assert [row["step"] for row in restored.rows] == [1, 2, 3]
    assert restored.rows == history.rows[:3]  # float32 values survive the CSV exactly
    assert [entry["epoch"] for entry in history.epoch_summary()] == [0, 1, 2]
    assert history.epoch_summary()[1]["g_loss"] == history.rows[3]["g_loss"]


# ------------------------------------------------------------------------------------- a tiny run


def test_tiny_cyclegan_run_writes_logs_samples_and_resumes_mid_epoch(dataset, tmp_path):
    tiny = registry.get_config("cyclegan_tiny", ["steps_per_epoch=3"])
    run = tmp_path / "run"
    first = train(tiny, dataset, run, RunOptions(max_steps=4, checkpoint_every_steps=2, export=False, verbose=0), preset="cyclegan_tiny")
    assert (first.start_step, first.final_step, first.total_steps, first.finished) == (0, 4, 4, True)
    assert read_progress(run)["global_step"] == 4
    second = train(tiny, dataset, run, RunOptions(checkpoint_every_steps=2, export=False, verbose=0), preset="cyclegan_tiny")
    assert (second.start_step, second.final_step, second.total_steps) == (4, 6, 6)  # 2 epochs of 3

    rows = (run / "history.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["step", "epoch"] and "g_loss" in rows[0] and "learning_rate" in rows[0]
    assert [int(line.split(",")[0]) for line in rows[1:]] == [1, 2, 3, 4, 5, 6]
    summary = json.loads((run / "history.json").read_text())["epochs"]
    assert [entry["last_step"] for entry in summary] == [3, 6]
    assert (run / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    samples = sorted(p.name for p in (run / "samples").iterdir())
    assert samples == [
        "epoch_0001_a2b.mid", "epoch_0001_a2b.png", "epoch_0001_b2a.mid", "epoch_0001_b2a.png",
        "epoch_0002_a2b.mid", "epoch_0002_a2b.png", "epoch_0002_b2a.mid", "epoch_0002_b2a.png",
        "source_a.mid", "source_b.mid",
    ]  # fmt: skip
    events = read_events(run / "tensorboard")
    assert sorted(step for step, _ in events["train/g_loss"]) == [1, 2, 3, 4, 5, 6]  # continuous across the resume
    assert {plugin for _, plugin in events["train/learning_rate"]} == {"scalars"}
    assert {plugin for _, plugin in events["transfer/a2b"]} == {"images"}
    assert {plugin for _, plugin in events["transfer_audio/b2a"]} == {"audio"} and {3, 6} <= {step for step, _ in events["transfer_audio/b2a"]}
    # train/<loss> is each step's own value, train_epoch_mean/<loss> Keras' running mean (= history.csv)
    means = {int(line.split(",")[0]): float(line.split(",")[rows[0].split(",").index("g_loss")]) for line in rows[1:]}
    values = read_scalars(run / "tensorboard", "train/g_loss")
    assert read_scalars(run / "tensorboard", "train_epoch_mean/g_loss") == pytest.approx(means, rel=1e-6)
    for step in (1, 2, 3, 4, 5, 6):
        within = (step - 1) % 3 + 1
        own = within * means[step] - (within - 1) * (means[step - 1] if within > 1 else 0.0)
        assert values[step] == pytest.approx(own, rel=1e-4, abs=1e-5), step
    assert values[2] != pytest.approx(means[2], rel=1e-6)  # a step's value is not the running mean
    # collapse monitor: one row per epoch (the resumed run rewrites none twice), PNG, TensorBoard
    monitor = (run / "monitor.csv").read_text().splitlines()
    header = monitor[0].split(",")
    assert header[:2] == ["epoch", "step"] and {"cycle_loss", "cycle_loss_floor", "a2b_cycle_auc", "b2a_pitch_class_own", "b2a_target_sameness"} <= set(header)
    assert [line.split(",")[:2] for line in monitor[1:]] == [["1", "3"], ["2", "6"]]
    row = dict(zip(header, map(float, monitor[-1].split(","))))
    assert 0 <= row["a2b_cycle_auc"] <= 1 and row["cycle_loss_floor"] > 0 and 0 < row["a2b_target_sameness"] <= 1
    assert (run / "monitor.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(step for step, _ in read_events(run / "tensorboard" / "monitor")["monitor/a2b_cycle_auc"]) == [3, 6]
    assert not any(p.name.startswith(".") or ".tmp-" in p.name for p in run.rglob("*"))


def test_collapse_monitor_warns_when_the_generators_write_silence(dataset, tmp_path, capsys):
    from mst.models.cyclegan.cyclegan import build_cyclegan  # noqa: PLC0415
    from mst.models.cyclegan.cyclegan_task import CollapseMonitor, cycle_loss_floor  # noqa: PLC0415

    config = registry.get_config("cyclegan_tiny")
    model = build_cyclegan(config)
    for generator in model.generators:  # last conv to zero: sigmoid(0) = 0.5 everywhere, binarised (> 0.5) to silence
        kernel = generator.get_layer("conv_out").kernel
        kernel.assign(np.zeros(kernel.shape, np.float32))
    state = TrainingState()
    monitor = CollapseMonitor(model, config, dataset, tmp_path, state)
    row = monitor.statistics()
    assert row["a2b_nonempty_transfer"] == 0.0 and row["b2a_nonempty_cycle"] == 0.0 and row["a2b_cycle_auc"] == 0.5
    assert row["a2b_transfer_sameness"] == 1.0 and row["a2b_target_sameness"] < 0.5  # silence is one texture; real phrases are not
    monitor(0)
    out = capsys.readouterr().out
    assert "100% of transfers are silent" in out and "no better than silence" in out
    assert cycle_loss_floor("l1", 0.25) == 0.25 and row["cycle_loss_floor"] == pytest.approx(
        config.lambda_cycle * sum(float(np.mean(monitor.sources[d])) for d in ("a2b", "b2a"))
    )
