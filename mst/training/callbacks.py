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

    def row_at(self, step: int) -> dict[str, float] | None:
        """The logged values of global step ``step`` (``None`` if it is not in the history)."""
        for row in reversed(self.rows):
            if row.get("step") == step:
                return {key: value for key, value in row.items() if key not in ("step", "epoch")}
        return None

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
    """TensorBoard scalars per step and images / audio per epoch, numbered by the run's global step.

    Per step it logs each loss's own value (``train/<name>``) and Keras' running epoch mean
    (``train_epoch_mean/<name>``); with ``steps_per_epoch`` unknown only the mean.

    Keras' own ``TensorBoard`` callback counts batches from zero in every ``fit`` call; training is
    split into one ``fit`` per epoch (and resumed runs start mid-way), so this one uses the global
    step from :class:`TrainingState` and numbering stays continuous across restarts.

    Args:
        log_dir: Event file folder (``run_dir/tensorboard``).
        state: The run's training state.
        extra_scalars: Name -> function returning a float, logged with every step (e.g. LR).
        images: Function returning ``{name: float [N, H, W, C] in [0, 1]}`` (or
            :class:`mst.training.summaries.Audio` clips), logged at epoch ends.
        image_every_epochs: Log images every this many epochs (and at the last one).
        total_epochs: Epochs of the whole run.
        steps_per_epoch: Steps of one epoch (needed for the per-step values).
        history: The run's :class:`LossHistory` (the running means before a resumed step).
    """

    def __init__(self, log_dir, state: TrainingState, *, extra_scalars=None, images: Callable[[], dict] | None = None, image_every_epochs: int = 1, total_epochs: int = 1, steps_per_epoch: int | None = None, history=None):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.history = history
        self._means = None
        self.writer = import_tensorflow().summary.create_file_writer(str(log_dir))
        self.state = state
        self.extra_scalars = dict(extra_scalars or {})
        self.images = images
        self.image_every_epochs = max(1, image_every_epochs)
        self.total_epochs = total_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self._means = None  # a new fit call (one per epoch, or the rest of a resumed one)

    def on_train_batch_end(self, batch, logs=None):
        step = self.state.step + 1
        with self.writer.as_default(step=step):
            means = {name: _as_float(value) for name, value in (logs or {}).items()}
            for name, value in means.items():
                summaries.write_scalar(f"train_epoch_mean/{name}", value, step)
            # Keras logs each metric's running mean since the epoch began; the step's own value is
            # k * mean_k - (k - 1) * mean_(k-1), with k the batches of this epoch so far (resumed
            # epochs continue their restored means, whose last values the loss history holds).
            within = (step - 1) % self.steps_per_epoch + 1 if self.steps_per_epoch else None
            previous = self._means
            if within == 1:
                previous = {name: 0.0 for name in means}
            elif previous is None and self.history is not None:
                previous = self.history.row_at(step - 1)
            if within is not None and previous is not None:
                for name, value in means.items():
                    if name in previous:
                        summaries.write_scalar(f"train/{name}", within * value - (within - 1) * previous[name], step)
            self._means = means
            for name, function in self.extra_scalars.items():
                summaries.write_scalar(f"train/{name}", float(function()), step)

    def on_epoch_end(self, epoch, logs=None):
        if self.images is not None and ((epoch + 1) % self.image_every_epochs == 0 or epoch + 1 == self.total_epochs):
            with self.writer.as_default(step=self.state.step):
                for name, value in self.images().items():
                    if isinstance(value, summaries.Audio):
                        summaries.write_audio(name, value, self.state.step)
                    else:
                        summaries.write_images(name, value, self.state.step)
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


class ValidationMonitor(keras.callbacks.Callback):
    """Per-epoch validation, best checkpoint and early stopping, for tasks that ask for it.

    Built by :func:`mst.training.driver.train` from a task's optional ``validation(model,
    context)`` (a :class:`mst.training.driver.Validation`); tasks without that method never meet
    this callback. At the end of every ``every_epochs``-th complete epoch it

    * evaluates the model on the validation dataset (``model.evaluate``) and logs each result as
      ``val_<name>``: into the epoch's last ``history.csv`` row (so ``history.json`` and
      ``loss_curves.png`` show it) and to TensorBoard (``validation/val_<name>``);
    * compares the monitored value (a ``val_*`` result, or a training log such as ``loss``, the
      book's monitor) with the best so far, kept in :attr:`TrainingState.best_metric` (so it is in
      every checkpoint; ``-inf`` = none yet); on improvement it saves the model's weights under
      ``RUN_DIR/best/`` and writes ``best.json``;
    * counts evaluated epochs without improvement; after ``patience`` of them :attr:`stopped`
      becomes true and the driver ends the run after this epoch's checkpoint.

    The epochs already evaluated are re-read from the restored ``history.csv`` rows, so a run
    killed (``kill -9`` included) and resumed continues with the same best value and count.

    Args:
        validation: What to monitor (:class:`mst.training.driver.Validation`).
        state: The run's training state.
        history: The run's :class:`LossHistory` (already loaded up to the restored step).
        run_dir: This process's run folder.
        steps_per_epoch: Steps of one full epoch.
        total_epochs: Epochs of the run.
        log_dir: TensorBoard folder.
    """

    def __init__(self, validation, state: TrainingState, history: LossHistory, run_dir, *, steps_per_epoch: int, total_epochs: int, log_dir):
        super().__init__()
        from mst.training.run_dir import BEST_DIR_NAME, BEST_INFO_NAME  # noqa: PLC0415

        tf = import_tensorflow()
        self.validation = validation
        self.state = state
        self.history = history
        self.run_dir = Path(run_dir)
        self.steps_per_epoch = steps_per_epoch
        self.total_epochs = total_epochs
        self.best_dir = self.run_dir / BEST_DIR_NAME
        self.best_info = self.run_dir / BEST_INFO_NAME
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "validation"))
        self._manager = None
        self.evaluated: list[tuple[int, float]] = []
        for row in history.rows:
            if row["step"] % steps_per_epoch == 0:
                epoch = row["step"] // steps_per_epoch - 1
                if self._due(epoch) and validation.monitor in row:
                    self.evaluated.append((epoch, float(row[validation.monitor])))

    def _due(self, epoch: int) -> bool:
        return (epoch + 1) % self.validation.every_epochs == 0 or epoch + 1 == self.total_epochs

    @property
    def best(self) -> float | None:
        """Best monitored value so far (``None`` before the first evaluation)."""
        value = float(self.state.best_metric.numpy())
        return None if value == float("-inf") else value

    def _better(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        delta = self.validation.min_delta
        return value < best - delta if self.validation.mode == "min" else value > best + delta

    @property
    def best_epoch(self) -> int | None:
        """0-based epoch of the best value (``None`` before the first evaluation)."""
        best = None
        chosen = None
        for epoch, value in self.evaluated:
            if self._better(value, best):
                best, chosen = value, epoch
        return chosen

    @property
    def epochs_without_improvement(self) -> int:
        """Evaluated epochs after the best one."""
        chosen = self.best_epoch
        return 0 if chosen is None else sum(1 for epoch, _ in self.evaluated if epoch > chosen)

    @property
    def stopped(self) -> bool:
        """Whether early stopping has ended the run."""
        patience = self.validation.patience
        return patience is not None and self.epochs_without_improvement >= patience

    @property
    def best_checkpoint(self) -> str | None:
        """Prefix of the best checkpoint (``RUN_DIR/best/best-<step>``), or ``None``."""
        return import_tensorflow().train.latest_checkpoint(str(self.best_dir))

    def manager(self):
        """The ``tf.train.CheckpointManager`` of the best weights (the model only)."""
        if self._manager is None:
            tf = import_tensorflow()
            self._manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=self.model), str(self.best_dir), max_to_keep=1, checkpoint_name="best")
        return self._manager

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training or self.state.step % self.steps_per_epoch != 0 or not self._due(epoch):
            return
        values = {}
        if self.validation.dataset is not None:
            results = self.model.evaluate(self.validation.dataset(), verbose=0, return_dict=True)
            values = {f"val_{name}": _as_float(value) for name, value in results.items()}
        monitor = self.validation.monitor
        if monitor in values:
            value = values[monitor]
        elif logs and monitor in logs:
            value = _as_float(logs[monitor])
        else:
            raise KeyError(f"validation monitor {monitor!r} is neither a validation result ({sorted(values)}) nor a training log ({sorted(logs or {})})")
        if self.history.rows and self.history.rows[-1]["step"] == self.state.step:
            self.history.rows[-1].update(values)
        with self.writer.as_default(step=self.state.step):
            for name, number in values.items():
                summaries.write_scalar(f"validation/{name}", number, self.state.step)
        self.writer.flush()
        previous = self.best
        self.evaluated = [(e, v) for e, v in self.evaluated if e != epoch] + [(epoch, value)]
        shown = ", ".join(f"{name} {number:.4f}" for name, number in values.items()) or f"{monitor} {value:.4f}"
        if self._better(value, previous):
            self.state.best_metric.assign(value)
            path = self.manager().save(checkpoint_number=self.state.step)
            atomic.write_json(self.best_info, {
                "epoch": epoch, "global_step": self.state.step, "checkpoint": Path(path).name,
                "monitor": monitor, "mode": self.validation.mode, "value": value, "values": values,
            })
            print(f"\nmst: epoch {epoch + 1}: {shown}; best {monitor} so far, saved to {self.best_dir}", flush=True)
        else:
            print(f"\nmst: epoch {epoch + 1}: {shown}; best {monitor} {previous:.4f} at epoch {self.best_epoch + 1} "
                  f"({self.epochs_without_improvement} evaluation(s) without improvement)", flush=True)
        if self.stopped:
            print(f"mst: early stopping: {monitor} has not improved for {self.validation.patience} evaluation(s)", flush=True)
