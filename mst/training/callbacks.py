"""Keras callbacks of a resumable training run.

Order matters and :func:`mst.training.loop.fit_resumable` keeps it: the progress bar, the NaN
guard, the per-step history, TensorBoard, epoch-end work (samples, evaluations) and, last, the
checkpoint writer, so that a checkpoint is never written after a NaN step and always includes
the epoch-end state (e.g. the best test accuracy).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import numpy as np

from mst import atomic
from mst.runtime import import_tensorflow
from mst.training import summaries
from mst.training.checkpointing import RunCheckpointer, TrainingState
from mst.training.run_dir import HISTORY_CSV_NAME



def _as_float(value) -> float:
    """A logged value as a Python float holding a float32 number (what the CSV stores exactly)."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    return float(np.float32(np.asarray(value)))


class RunProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras progress bar that counts epochs and steps of the whole run across resumed ``fit`` calls.

    ``fit`` is called once per epoch (see :mod:`mst.training.loop`); this logger shows
    ``Epoch e/E`` with the run's ``E`` and, for a resumed partial epoch, steps from where the
    epoch was interrupted.

    Args:
        total_epochs: Epochs of the whole run.
        steps_per_epoch: Steps of one full epoch.
    """

    def __init__(self, total_epochs: int, steps_per_epoch: int):
        super().__init__()
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_offset = 0

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.total_epochs
        self.target = self.steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.total_epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch + self.batch_offset, logs)

    def on_epoch_end(self, epoch, logs=None):
        # A run stopped by max steps ends mid-epoch: close the bar where it is.
        self.target = self.seen or self.target
        super().on_epoch_end(epoch, logs)
        self.target = self.steps_per_epoch


class TerminateOnNaNLosses(keras.callbacks.TerminateOnNaN):
    """``keras.callbacks.TerminateOnNaN`` for models that report several losses.

    The stock callback only looks at ``logs["loss"]``; GANs report ``g_loss``, ``d_loss``, ... .
    This one checks every logged value whose name ends in ``loss`` and records where it stopped.

    Attributes:
        bad_loss: ``(name, value)`` of the first non-finite loss, or ``None``.
    """

    def __init__(self):
        super().__init__(raise_error=False)
        self.bad_loss: tuple[str, float] | None = None

    def on_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if name.endswith("loss"):
                number = _as_float(value)
                if not math.isfinite(number):
                    self.bad_loss = (name, number)
                    print(f"\n{name} became {number} at batch {batch}: stopping training", flush=True)
                    self.model.stop_training = True
                    return


class LossHistory(keras.callbacks.Callback):
    """Per-step losses of the whole run, kept consistent with the checkpoints.

    Rows are ``{"step", "epoch", <logged values>, <extra scalars>}`` (``step`` is the 1-based
    global step, ``epoch`` 0-based; logged losses are Keras' running means over the epoch so far). :meth:`flush` rewrites ``history.csv`` atomically and is called right before each
    checkpoint, so after a restart at step ``S`` the file holds at least the rows up to ``S``;
    :meth:`load` drops any row beyond ``S`` (written before a kill that came before the checkpoint).

    Args:
        run_dir: Run folder (``history.csv`` goes there).
        state: The run's training state (for the global step).
        steps_per_epoch: Steps of one full epoch.
        extra_scalars: Name -> function returning a float, logged with every step (e.g. LR).
    """

    def __init__(self, run_dir, state: TrainingState, steps_per_epoch: int, extra_scalars: Mapping[str, Callable[[], float]] | None = None):
        super().__init__()
        self.path = Path(run_dir) / HISTORY_CSV_NAME
        self.state = state
        self.steps_per_epoch = steps_per_epoch
        self.extra_scalars = dict(extra_scalars or {})
        self.rows: list[dict] = []

    def load(self, up_to_step: int) -> None:
        """Reads an existing ``history.csv`` and keeps the rows with ``step <= up_to_step``."""
        self.rows = []
        if not self.path.is_file():
            return
        with open(self.path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                parsed = {key: (int(value) if key in ("step", "epoch") else float(np.float32(value))) for key, value in row.items() if value != ""}
                if parsed["step"] <= up_to_step:
                    self.rows.append(parsed)

    def on_train_batch_end(self, batch, logs=None):
        # The checkpoint callback increments the step after this callback ran: +1 here.
        step = self.state.step + 1
        row = {"step": step, "epoch": (step - 1) // self.steps_per_epoch}
        for name, value in (logs or {}).items():
            row[name] = _as_float(value)
        for name, function in self.extra_scalars.items():
            row[name] = _as_float(function())
        self.rows.append(row)

    def columns(self) -> list[str]:
        """CSV columns: ``step``, ``epoch``, then every other name in order of first appearance."""
        names: dict[str, None] = {"step": None, "epoch": None}
        for row in self.rows:
            for name in row:
                names.setdefault(name, None)
        return list(names)

    def flush(self) -> None:
        """Rewrites ``history.csv`` atomically with every row so far."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns(), lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({key: (value if isinstance(value, int) else f"{value:.9g}") for key, value in row.items()})
        atomic.write_text(self.path, buffer.getvalue())

    def epoch_summary(self) -> list[dict]:
        """One entry per epoch: the values logged at its last step.

        Keras logs each loss as the running mean over the epoch so far (its metrics are reset at
        every epoch start), so the last row of an epoch holds that epoch's mean losses.

        Returns:
            ``[{"epoch", "steps", "last_step", <name>: value}, ...]``, epochs 0-based.
        """
        by_epoch: dict[int, list[dict]] = {}
        for row in self.rows:
            by_epoch.setdefault(row["epoch"], []).append(row)
        summary = []
        for epoch, rows in sorted(by_epoch.items()):
            entry = {"epoch": epoch, "steps": len(rows), "last_step": rows[-1]["step"]}
            entry.update({name: value for name, value in rows[-1].items() if name not in ("step", "epoch")})
            summary.append(entry)
        return summary


class TensorBoardLogger(keras.callbacks.Callback):
    """TensorBoard scalars per step and images per epoch, numbered by the run's global step.

    Keras' own ``TensorBoard`` callback counts batches from zero in every ``fit`` call; training is
    split into one ``fit`` per epoch (and resumed runs start mid-way), so this one uses the global
    step from :class:`TrainingState` and numbering stays continuous across restarts.

    Args:
        log_dir: Event file folder (``run_dir/tensorboard``).
        state: The run's training state.
        extra_scalars: Name -> function returning a float, logged with every step (e.g. LR).
        images: Function returning ``{name: float [N, H, W, C] in [0, 1]}``, logged at epoch ends.
        image_every_epochs: Log images every this many epochs (and at the last one).
        total_epochs: Epochs of the whole run.
    """

    def __init__(self, log_dir, state: TrainingState, *, extra_scalars=None, images: Callable[[], dict] | None = None, image_every_epochs: int = 1, total_epochs: int = 1):
        super().__init__()
        self.writer = import_tensorflow().summary.create_file_writer(str(log_dir))
        self.state = state
        self.extra_scalars = dict(extra_scalars or {})
        self.images = images
        self.image_every_epochs = max(1, image_every_epochs)
        self.total_epochs = total_epochs

    def on_train_batch_end(self, batch, logs=None):
        step = self.state.step + 1
        with self.writer.as_default(step=step):
            for name, value in (logs or {}).items():
                summaries.write_scalar(f"train/{name}", _as_float(value), step)
            for name, function in self.extra_scalars.items():
                summaries.write_scalar(f"train/{name}", float(function()), step)

    def on_epoch_end(self, epoch, logs=None):
        if self.images is not None and ((epoch + 1) % self.image_every_epochs == 0 or epoch + 1 == self.total_epochs):
            with self.writer.as_default(step=self.state.step):
                for name, image in self.images().items():
                    summaries.write_images(name, image, self.state.step)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.flush()


class EpochEndAction(keras.callbacks.Callback):
    """Runs ``action(epoch)`` after every ``every_epochs`` epochs (and after the run's last epoch).

    Used for sample MIDI/PNG files and test evaluations. ``epoch`` is 0-based.
    """

    def __init__(self, action: Callable[[int], None], *, every_epochs: int, total_epochs: int, steps_per_epoch: int, state: TrainingState):
        super().__init__()
        self.action = action
        self.every_epochs = max(1, every_epochs)
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.state = state

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        completed_epoch = self.state.step % self.steps_per_epoch == 0
        if not completed_epoch:
            return  # a run capped by max steps stopped mid-epoch
        if (epoch + 1) % self.every_epochs == 0 or epoch + 1 == self.total_epochs:
            self.action(epoch)


class ResumeMetricState(keras.callbacks.Callback):
    """Puts restored metric states back after ``fit`` has reset them, for a resumed partial epoch.

    Keras resets every metric at the start of each epoch. Losses are reported as running means
    over the epoch, so a run resumed mid-epoch must continue from the restored sums and counts to
    report the same numbers as an uninterrupted run.

    Args:
        checkpointer: The run's checkpointer (after :meth:`RunCheckpointer.restore_latest`).
        steps_per_epoch: Steps of one full epoch.
    """

    def __init__(self, checkpointer: RunCheckpointer, steps_per_epoch: int):
        super().__init__()
        self.values = checkpointer.restored_metric_values
        self.partial_epoch = checkpointer.state.step % steps_per_epoch != 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.values is not None and self.partial_epoch:
            for variable, value in zip(self.model.metrics_variables, self.values):
                variable.assign(value)
        self.values = None


class CheckpointEverySteps(keras.callbacks.Callback):
    """Advances the global step and checkpoints every ``every_steps`` steps and at each epoch end.

    Keep it last in the callback list (see the module docstring). Nothing is saved once the NaN
    guard has stopped training, so the newest checkpoint is always a finite state.

    Args:
        checkpointer: The run's :class:`RunCheckpointer`.
        history: The :class:`LossHistory`, flushed right before each checkpoint.
        every_steps: Checkpoint period in steps (``0`` or less: only at epoch ends).
        steps_per_epoch: Steps of one full epoch.
        progress: Function returning extra ``progress.json`` fields.
    """

    def __init__(self, checkpointer: RunCheckpointer, history: LossHistory, *, every_steps: int, steps_per_epoch: int, progress: Callable[[], dict] | None = None):
        super().__init__()
        self.checkpointer = checkpointer
        self.state = checkpointer.state
        self.history = history
        self.every_steps = every_steps
        self.steps_per_epoch = steps_per_epoch
        self.progress = progress or dict

    def save_now(self) -> None:
        """Flushes the history and writes a checkpoint at the current step (if not yet saved)."""
        if self.checkpointer.last_saved_step == self.state.step:
            return
        self.history.flush()
        self.checkpointer.save(self.progress())

    def on_train_batch_end(self, batch, logs=None):
        if self.model.stop_training:
            return
        self.state.global_step.assign_add(1)
        step = self.state.step
        at_epoch_end = step % self.steps_per_epoch == 0
        # The epoch-end checkpoint is written in on_epoch_end, after the epoch-end callbacks.
        if self.every_steps > 0 and step % self.every_steps == 0 and not at_epoch_end:
            self.save_now()

    def on_epoch_end(self, epoch, logs=None):
        if not self.model.stop_training:
            self.save_now()
