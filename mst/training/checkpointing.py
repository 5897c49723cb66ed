"""Resumable training state: counters, RNG states, atomic checkpoints and the progress file.

A checkpoint holds everything a run needs to continue bit-for-bit at the step it was written:

* the model's weights (under ``model/...``, following Keras' attribute tracking) and the model
  state that this tracking does not reach, listed explicitly by Keras path under
  ``untracked_model_variables/...``: ``SeedGenerator`` states (noise and history-pool draws) and
  the metrics' running sums (the epoch's mean losses so far);
* each optimizer (iteration counter, learning-rate variable, moments);
* :class:`TrainingState`: the global step, a best-metric slot, and the Python / NumPy RNG states
  and TensorFlow's global ``tf.random.Generator``.

``tf.train.CheckpointManager`` writes the data and index files first and then replaces the small
``checkpoint`` state file atomically, so a process killed mid-save leaves the previous checkpoint
as the latest one. What such a kill leaves behind (the save's ``ckpt-<step>_temp/`` folder, a
``progress.json.tmp-<pid>``) is deleted when the run is resumed
(:func:`mst.training.run_dir.remove_dead_leftovers`). ``progress.json`` (written after each save,
atomically) tells humans and tests which step is safely on disk.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np

from mst import atomic
from mst.runtime import import_tensorflow
from mst.training.run_dir import CHECKPOINT_DIR_NAME, PROGRESS_FILE_NAME
from mst.errors import InputError



class CheckpointError(RuntimeError, InputError):
    """A run's checkpoint does not fit the model built from its config."""


def _python_rng_to_json() -> str:
    version, internal, gauss_next = random.getstate()
    return json.dumps([version, list(internal), gauss_next])


def _python_rng_from_json(text: str) -> None:
    version, internal, gauss_next = json.loads(text)
    random.setstate((version, tuple(internal), gauss_next))


def _numpy_rng_to_json() -> str:
    name, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    return json.dumps([name, keys.tolist(), int(position), int(has_gauss), float(cached)])


def _numpy_rng_from_json(text: str) -> None:
    name, keys, position, has_gauss, cached = json.loads(text)
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))


def untracked_model_variables(model) -> dict:
    """The model's variables that ``tf.train.Checkpoint(model=model)`` would not reach, by path.

    Keras 3 does not track every variable as a checkpoint dependency of the model (e.g. seed
    generator states, some LSTM cell weights reached only through the optimizer); the run
    checkpoint stores them under ``untracked_model_variables`` and every restore must pass them
    again, or they silently keep their initial values.
    """
    tf = import_tensorflow()
    reachable = {id(trackable) for trackable in tf.train.TrackableView(model).descendants()}
    return _by_path(v for v in (*model.variables, *model.metrics_variables) if id(v) not in reachable)


def _by_path(variables) -> dict:
    """Variables keyed by their Keras path (``noise_seed/seed_generator_state``).

    Keys make checkpoint entries readable and independent of the order of ``model.variables``;
    a repeated path gets ``#n`` appended in order of appearance.
    """
    keyed = {}
    for variable in variables:
        key = variable.path
        suffix = 1
        while key in keyed:
            suffix += 1
            key = f"{variable.path}#{suffix}"
        keyed[key] = variable
    return keyed


class TrainingState:
    """Counters and host RNG states that live in the checkpoint next to the model.

    The variables are created on the host CPU outside any strategy scope: they are only read and
    written from Python between steps, and string variables cannot live on accelerators.

    Attributes:
        global_step: Training steps completed (int64).
        best_metric: Best monitored value so far (float64, ``-inf`` before the first evaluation).
        trackables: Dict of objects to pass to ``tf.train.Checkpoint``.
    """

    def __init__(self):
        tf = import_tensorflow()
        with tf.device("/cpu:0"):
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.best_metric = tf.Variable(float("-inf"), dtype=tf.float64, trainable=False, name="best_metric")
            self._python_rng = tf.Variable("", dtype=tf.string, trainable=False, name="python_rng")
            self._numpy_rng = tf.Variable("", dtype=tf.string, trainable=False, name="numpy_rng")
        self.trackables = {
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "python_rng": self._python_rng,
            "numpy_rng": self._numpy_rng,
            "tf_global_generator": tf.random.get_global_generator(),
        }

    @property
    def step(self) -> int:
        """The global step as a Python int."""
        return int(self.global_step.numpy())

    def capture_host_rngs(self) -> None:
        """Copies the Python and NumPy global RNG states into their variables (before a save)."""
        self._python_rng.assign(_python_rng_to_json())
        self._numpy_rng.assign(_numpy_rng_to_json())

    def restore_host_rngs(self) -> None:
        """Re-seeds Python's and NumPy's global RNGs from the restored variables (after a restore)."""
        python_state = self._python_rng.numpy().decode("utf-8")
        numpy_state = self._numpy_rng.numpy().decode("utf-8")
        if python_state:
            _python_rng_from_json(python_state)
        if numpy_state:
            _numpy_rng_from_json(numpy_state)


class RunCheckpointer:
    """Checkpoints of a model, its optimizers and a :class:`TrainingState` under ``run_dir/checkpoints``.

    Build the model and *build* the optimizers (inside the strategy scope) before creating the
    checkpointer, so that a restore assigns every slot variable directly instead of deferring.

    Args:
        run_dir: Training run folder.
        model: The Keras model (all of its variables and metric variables are saved, see the
            module docstring).
        optimizers: Name -> optimizer (e.g. ``{"generator_optimizer": ..., ...}``).
        state: The run's :class:`TrainingState`.
        max_to_keep: Checkpoints kept (older ones are deleted after a new one is complete).
        restore_from: Checkpoint folder :meth:`restore_latest` reads instead of ``run_dir``'s own
            (a non-chief multi-worker process restores the chief's checkpoints; ``None``: own).
    """

    def __init__(self, run_dir, model, optimizers: dict, state: TrainingState, *, max_to_keep: int = 3, restore_from=None):
        tf = import_tensorflow()
        self.state = state
        self.directory = Path(run_dir) / CHECKPOINT_DIR_NAME
        self.progress_path = Path(run_dir) / PROGRESS_FILE_NAME
        self.model = model
        self.checkpoint = tf.train.Checkpoint(
            model=model,
            untracked_model_variables=untracked_model_variables(model),
            state=tf.train.Checkpoint(**state.trackables),
            **optimizers,
        )
        self.restored_metric_values: list | None = None
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=max_to_keep, checkpoint_name="ckpt")
        self.restore_from = None if restore_from is None else Path(restore_from)
        self._last_saved_step: int | None = None

    @property
    def latest_path(self) -> str | None:
        """Prefix of the newest complete checkpoint, or ``None``."""
        return self.manager.latest_checkpoint

    @property
    def last_saved_step(self) -> int | None:
        """Global step of the checkpoint written or restored last by this object."""
        return self._last_saved_step

    def restore_latest(self) -> int | None:
        """Restores the newest checkpoint, if any, and re-seeds the host RNGs from it.

        Returns:
            The restored global step, or ``None`` when the run has no checkpoint yet.

        Raises:
            CheckpointError: The checkpoint does not match the model (e.g. ``--force`` with a
                config that changes the architecture).
        """
        tf = import_tensorflow()
        path = self.manager.latest_checkpoint if self.restore_from is None else tf.train.latest_checkpoint(str(self.restore_from))
        if path is None:
            return None
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise CheckpointError(
                f"checkpoint {path} does not fit the model built from the run's config (was the "
                f"architecture changed with --force?); start a new --out folder instead. Details: {error}"
            ) from error
        self.state.restore_host_rngs()
        # Keras resets metrics when fit starts an epoch; keep the restored running means so a
        # resumed partial epoch reports what the uninterrupted run would (see ResumeMetricState).
        self.restored_metric_values = [variable.numpy() for variable in self.model.metrics_variables]
        self._last_saved_step = self.state.step
        return self._last_saved_step

    def save(self, progress: dict | None = None) -> str:
        """Writes a checkpoint numbered by the global step, then ``progress.json``.

        Args:
            progress: Extra fields for ``progress.json`` (epoch, steps per epoch, ...).

        Returns:
            The checkpoint prefix written.
        """
        self.state.capture_host_rngs()
        step = self.state.step
        path = self.manager.save(checkpoint_number=step)
        self._last_saved_step = step
        payload = {"global_step": step, "checkpoint": os.path.basename(path)}
        payload.update(progress or {})
        atomic.write_json(self.progress_path, payload)
        return path


def read_progress(run_dir) -> dict | None:
    """Contents of ``run_dir/progress.json``, or ``None`` if it does not exist yet."""
    path = Path(run_dir) / PROGRESS_FILE_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
