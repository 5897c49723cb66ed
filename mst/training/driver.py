"""The one trainer driver: every family's training run, from set-up to export, in one template.

:func:`train` does what every run needs (strategy, seeds, run folder and resume checks,
checkpoints, loss history, TensorBoard, the step plan, resumable ``fit``, export on the chief)
and asks the config's family, through :mod:`mst.registry`, for a *task* that supplies what
differs (see :class:`TrainingTask`). A new family writes a task class and registers it; it
writes no training loop.

Running on accelerators (the config's ``batch_size`` is always the **global** batch; with ``N``
replicas each gets ``batch_size / N`` and the batch size must be divisible by ``N``):

* **One GPU** (install the GPU extra, see the README)::

      python train.py --preset cyclegan_jazz_classical_base --data data/jc --out runs/jc_base \\
          --mixed-precision --xla

  ``--strategy default`` (the default) uses the first GPU; ``one_device`` pins ``/gpu:0``.
  ``--mixed-precision`` sets the Keras ``mixed_float16`` policy (float16 math, float32 weights);
  ``--xla`` compiles the train step with XLA (``jit_compile=True``; Keras leaves it off by default
  under tf.distribute, and it does not help on CPU).
* **Several GPUs in one machine**: ``--strategy mirrored`` (``tf.distribute.MirroredStrategy`` over
  all visible GPUs; pick them with ``CUDA_VISIBLE_DEVICES``). Scale ``--set batch_size=`` with the
  GPU count to keep the per-GPU batch.
* **Several machines**: ``--strategy multi_worker`` on every machine, each with its own
  ``TF_CONFIG`` (``{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker",
  "index": i}}``) and the same ``--out`` on shared storage. The chief (the ``chief`` task, else
  worker 0) is the only process that writes into the run folder (checkpoints, history, samples,
  export). The other workers restore from the chief's checkpoints and take part in every save
  (reading synchronized variables is a collective op) into a private scratch folder that is
  deleted when they finish. Every worker prints the same ``weights fingerprint`` at the end.
  After a worker dies the others stop with a collective-op error; start every worker again with
  the same command and the run resumes at the chief's newest checkpoint.
* **TPU**: ``--strategy tpu [--tpu NAME_OR_GRPC_ADDRESS]`` (empty address: the local TPU VM /
  Colab runtime); ``--mixed-precision`` selects ``mixed_bfloat16`` there. The dataset must be
  readable by the TPU hosts (e.g. a ``gs://`` bucket).
* **Testing distribution on a CPU**: ``--logical-cpus 2 --strategy mirrored`` splits the CPU into
  two logical devices (configured before TensorFlow initialises), giving two replicas.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import keras
import numpy as np

from mst import atomic, registry
from mst.runtime import import_tensorflow
from mst.training import devices
from mst.training.callbacks import CheckpointEverySteps, EpochEndAction, LossHistory, ResumeMetricState, TensorBoardLogger, ValidationMonitor
from mst.training.checkpointing import RunCheckpointer, TrainingState
from mst.training.loop import StepPlan, fit_resumable
from mst.training.run_dir import (
    CHECKPOINT_DIR_NAME,
    EXPORT_DIR_NAME,
    HISTORY_JSON_NAME,
    LOSS_CURVES_NAME,
    TENSORBOARD_DIR_NAME,
    prepare_run_dir,
    worker_dir_name,
)
from mst.records.shards import explain_read_error, verify_dataset_once
from mst.training.schedules import ConstantThenLinearDecay
from mst.errors import EnvironmentProblem


class WorkerLostError(RuntimeError, EnvironmentProblem):
    """A multi-worker run lost a peer (killed, crashed, unreachable); the message says how to resume."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How to run a training job (everything that is not part of the model's config).

    Changing these between a run and its resumption is allowed: they do not change what is
    trained, only where and how fast (mixed precision and XLA change rounding).

    Attributes:
        strategy: ``default`` | ``one_device`` | ``mirrored`` | ``multi_worker`` | ``tpu``.
        tpu_address: TPU name or ``grpc://`` address for ``tpu`` (``None``: local TPU).
        mixed_precision: Keras ``mixed_float16`` policy (``mixed_bfloat16`` on TPU).
        xla: Compile the train step with XLA (``jit_compile=True``).
        deterministic: ``tf.config.experimental.enable_op_determinism()`` (bit-exact resumes and
            re-runs; may be slower, and raises for ops without a deterministic kernel on GPU).
        force: Resume even if the config or dataset differs from the recorded one.
        checkpoint_every_steps: Overrides the config's checkpoint period (``None``: config's).
        max_steps: Stop after this many global steps (``None``: run all epochs).
        keep_checkpoints: How many step checkpoints to keep.
        export: Export the model to ``RUN_DIR/export`` when training ends.
        verbose: Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.
        verify_data: Check every shard's sha256 against the manifest before training
            (:func:`mst.records.shards.verify_dataset_once`; ``--no-verify`` turns it off).
    """

    strategy: str = "default"
    tpu_address: str | None = None
    mixed_precision: bool = False
    xla: bool = False
    deterministic: bool = False
    force: bool = False
    checkpoint_every_steps: int | None = None
    max_steps: int | None = None
    keep_checkpoints: int = 3
    export: bool = True
    verbose: int = 1
    verify_data: bool = True

    def __post_init__(self):
        if self.strategy not in devices.STRATEGY_NAMES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(devices.STRATEGY_NAMES)}")
        if self.checkpoint_every_steps is not None and self.checkpoint_every_steps < 1:
            raise ValueError(f"checkpoint_every_steps must be >= 1, got {self.checkpoint_every_steps}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")


@dataclasses.dataclass
class TrainResult:
    """What a training call did.

    Attributes:
        run_dir: The run folder.
        start_step: Global step the call started from (0 for a fresh run).
        final_step: Global step reached.
        total_steps: Steps the run is planned for.
        steps_per_epoch: Steps of one epoch.
        stopped_on_nan: ``(loss, value)`` when a non-finite loss stopped training.
        export_dir: Where the model was exported, or ``None``.
        replicas: Replicas of the strategy used.
        checkpoint_step: Global step of the newest checkpoint on disk (``None``: none yet).
        early_stopped: Whether early stopping ended the run (see :class:`Validation`).
    """

    run_dir: Path
    start_step: int
    final_step: int
    total_steps: int
    steps_per_epoch: int
    stopped_on_nan: tuple[str, float] | None
    export_dir: Path | None
    replicas: int
    checkpoint_step: int | None
    early_stopped: bool = False

    @property
    def finished(self) -> bool:
        """Whether every planned step has run (or early stopping ended the run)."""
        return (self.final_step >= self.total_steps or self.early_stopped) and self.stopped_on_nan is None


def set_up_runtime(seed: int, options: RunOptions):
    """Creates the strategy, seeds every RNG, optionally enables op determinism, sets precision.

    Returns:
        The ``tf.distribute.Strategy``.
    """
    tf = import_tensorflow()
    # First: a multi-worker strategy must exist before any op or variable is created.
    strategy = devices.make_strategy(options.strategy, tpu_address=options.tpu_address)
    keras.utils.set_random_seed(seed)
    # TF's global tf.random.Generator starts from OS entropy, not from the global seed.
    tf.random.set_global_generator(tf.random.Generator.from_seed(seed))
    if options.deterministic:
        tf.config.experimental.enable_op_determinism()
    policy = devices.set_precision(options.mixed_precision, strategy)
    print(
        f"mst: strategy {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s), "
        f"dtype policy {policy}, XLA {'on' if options.xla else 'off'}",
        flush=True,
    )
    return strategy


def worker_run_dir(run_dir, strategy) -> Path:
    """Where this process writes: the run folder for the chief, a private scratch folder otherwise.

    Under ``multi_worker`` every worker must take part in saving checkpoints (reading
    synchronized variables is a collective op), but only the chief's files are the run's: the
    others write into a temporary folder (deleted by :func:`train` at the end) and never export.
    """
    chief, task_id = devices.worker_role(strategy)
    if chief:
        return Path(run_dir)
    return Path(tempfile.mkdtemp(prefix=f"mst-{worker_dir_name(task_id)}-"))


def weights_fingerprint(model) -> str:
    """sha256 (first 16 hex digits) of every model variable's bytes, in variable order.

    Workers of one multi-worker run print it at the end; equal fingerprints mean equal weights.
    """
    digest = hashlib.sha256()
    for variable in model.variables:
        digest.update(variable.path.encode())
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(variable.value)).tobytes())
    return digest.hexdigest()[:16]


def start_run(config, data_dir, run_dir, options: RunOptions, *, preset: str | None):
    """The set-up every trainer shares: strategy and seeds, batch split check, this process's run
    folder (``run.json``/``config.json`` checked or written).

    Returns:
        ``(strategy, own_run_dir, is_chief)``.
    """
    strategy = set_up_runtime(config.seed, options)
    devices.per_replica_batch_size(config.batch_size, strategy)
    own_dir = worker_run_dir(run_dir, strategy)
    prepare_run_dir(own_dir, config, data_dir, preset=preset or config.name, force=options.force)
    return strategy, own_dir, own_dir == Path(run_dir)


def announce_start(run_dir, start_step: int, steps_per_epoch: int, total_steps: int) -> None:
    """Prints where the run starts (fresh, resumed mid-epoch, or already finished)."""
    epoch, done = divmod(start_step, steps_per_epoch)
    if start_step == 0:
        print(f"mst: new run in {run_dir}: {total_steps} steps, {steps_per_epoch} per epoch", flush=True)
    elif start_step >= total_steps:
        print(f"mst: {run_dir} already finished ({start_step} of {total_steps} steps)", flush=True)
    else:
        print(
            f"mst: resuming {run_dir} at global step {start_step} (epoch {epoch + 1}, "
            f"after batch {done} of {steps_per_epoch}); {total_steps - start_step} steps to go",
            flush=True,
        )


def write_history_outputs(run_dir, history: LossHistory, title: str) -> None:
    """Writes ``history.csv``, ``history.json`` (per epoch) and ``loss_curves.png``."""
    from mst import plotting  # noqa: PLC0415  (matplotlib only when a run ends)

    history.flush()
    summary = history.epoch_summary()
    atomic.write_json(Path(run_dir) / HISTORY_JSON_NAME, {"epochs": summary, "note": "values are each epoch's mean (Keras' running mean at its last step)"})
    if not summary:
        return
    names = [name for name in summary[0] if name not in ("epoch", "steps", "last_step")]
    curves = {name: [entry.get(name, float("nan")) for entry in summary] for name in names}
    plotting.save_loss_curves_png(Path(run_dir) / LOSS_CURVES_NAME, curves, title=title)


@dataclasses.dataclass
class RunContext:
    """What a task sees of the run it takes part in.

    Attributes:
        run_dir: This process's run folder (the chief's is the run's; see :func:`worker_run_dir`).
        data_dir: Prepared dataset folder.
        strategy: The ``tf.distribute`` strategy.
        state: Global step and best metric (checkpointed).
        plan: Steps per epoch, epochs, total steps.
        options: Runtime options.
        preset: Preset name (recorded in exports).
        chief: Whether this process writes the run's files and exports.
        checkpointer: The run's checkpointer (tasks may restore other weights for an export and
            must restore the last ones afterwards).
        validation: The run's :class:`mst.training.callbacks.ValidationMonitor` (best value,
            best checkpoint, early stopping) when the task has a ``validation`` method, else ``None``.
    """

    run_dir: Path
    data_dir: Path
    strategy: object
    state: TrainingState
    plan: StepPlan
    options: RunOptions
    preset: str
    chief: bool
    checkpointer: RunCheckpointer
    validation: ValidationMonitor | None = None


@dataclasses.dataclass(frozen=True)
class Validation:
    """What a task's optional ``validation(model, context)`` method returns (``None``: no validation).

    Tasks without the method train exactly as before. With it, the driver adds a
    :class:`mst.training.callbacks.ValidationMonitor`: ``val_*`` results per epoch in the history
    and TensorBoard, the best weights in ``RUN_DIR/best/`` (+ ``best.json``), the best value in
    the checkpointed ``TrainingState.best_metric``, and early stopping.

    Attributes:
        dataset: ``() -> tf.data.Dataset`` of finite ``(inputs, targets)`` validation batches,
            evaluated with ``model.evaluate`` (results logged as ``val_<name>``); ``None`` to
            monitor a training log only.
        monitor: The value to watch: ``"val_loss"``, another ``val_*`` result, or a training log
            such as ``"loss"`` (the epoch's mean).
        mode: ``"min"`` or ``"max"``.
        patience: Stop after this many evaluations without improvement (``None``: never stop).
        every_epochs: Evaluate after every this many epochs (and after the last).
        min_delta: Smallest change that counts as an improvement.
    """

    dataset: Callable[[], object] | None = None
    monitor: str = "val_loss"
    mode: str = "min"
    patience: int | None = None
    every_epochs: int = 1
    min_delta: float = 0.0

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.every_epochs < 1:
            raise ValueError(f"every_epochs must be >= 1, got {self.every_epochs}")
        if self.dataset is None and self.monitor.startswith("val_"):
            raise ValueError(f"monitor {self.monitor!r} needs a validation dataset")


class TrainingTask(Protocol):
    """What a family supplies to :func:`train` (registered as :attr:`mst.registry.Family.task`).

    A task is built with the run's config (``Task(config)``); the config derives from
    :class:`mst.config.TrainerConfig`, whose optimiser, batch, epoch and seed fields the driver
    reads itself.
    """

    config: object

    @property
    def title(self) -> str:
        """Title of the run's loss-curve PNG."""

    def steps_per_epoch(self, data_dir) -> int:
        """Checks the dataset for this config (raising a ``records.DatasetError`` subclass whose
        message names the file and what is missing) and returns the steps of one epoch. Called
        before anything is written."""

    def build(self, steps_per_epoch: int, *, jit_compile: bool) -> keras.Model:
        """The compiled model, optimizer slots built (called inside the strategy scope)."""

    def optimizers(self, model) -> dict:
        """``{name: optimizer}`` to checkpoint with the model."""

    def epoch_dataset(self, data_dir) -> Callable[[int], object]:
        """``epoch -> tf.data.Dataset`` whose batches depend only on (seed, epoch)."""

    def before_restore(self, model, epoch_dataset) -> None:
        """Creates any variable that must exist before the checkpoint is restored."""

    def epoch_actions(self, model, context: RunContext) -> list[tuple[Callable[[int], None], int]]:
        """``(action(epoch), every_epochs)`` to run at epoch ends (samples, evaluations, monitors)."""

    def tensorboard_images(self, model, context: RunContext) -> Callable[[], dict] | None:
        """``() -> {tag: [N, H, W, C] images}`` logged every epoch, or ``None``."""

    def export(self, model, context: RunContext) -> list[Path]:
        """Exports the trained model (called on the chief once every step has run)."""

    # Optional: ``validation(model, context) -> Validation | None`` (see :class:`Validation`);
    # tasks without it get no validation callback.
    # Optional: ``learning_rate_schedule(steps_per_epoch)`` -> the schedule its optimizers use (what
    # the driver logs as ``learning_rate``); without it, ``ConstantThenLinearDecay`` of the config.


def train(config, data_dir, run_dir, options: RunOptions | None = None, *, preset: str | None = None) -> TrainResult:
    """Trains (or resumes) the run of any registered family's config.

    Files: see :mod:`mst.training.run_dir`. Restarting with the same ``run_dir`` resumes at the
    newest checkpoint's global step, mid-epoch included, with the same remaining batches
    (:mod:`mst.training.loop` explains how).

    Args:
        config: A config of a family registered in :mod:`mst.registry`.
        data_dir: Prepared dataset folder (``python -m mst.prepare``).
        run_dir: Run folder; an existing one with the same config is resumed.
        options: Runtime options (strategy, precision, XLA, ...).
        preset: Preset name the config came from (``run.json``, exports).

    Returns:
        A :class:`TrainResult`.
    """
    task = registry.task_for(config)
    options = options or RunOptions()
    run_dir = Path(run_dir)
    preset = preset or config.name
    if options.verify_data:
        verify_dataset_once(data_dir)  # a damaged shard is named before anything is written
    steps_per_epoch = task.steps_per_epoch(data_dir)  # dataset errors before anything is written
    strategy, own_dir, chief = start_run(config, data_dir, run_dir, options, preset=preset)
    plan = StepPlan(steps_per_epoch, config.epochs, options.max_steps)
    with strategy.scope():
        model = task.build(steps_per_epoch, jit_compile=options.xla)
    epoch_dataset = task.epoch_dataset(data_dir)
    task.before_restore(model, epoch_dataset)
    state = TrainingState()
    checkpointer = RunCheckpointer(
        own_dir, model, task.optimizers(model), state, max_to_keep=options.keep_checkpoints,
        restore_from=None if chief else run_dir / CHECKPOINT_DIR_NAME,  # workers resume where the chief's run is
    )
    checkpointer.restore_latest()
    announce_start(own_dir, state.step, steps_per_epoch, plan.total_steps)

    # The optimizers' schedule: a task's own (optional ``learning_rate_schedule(steps_per_epoch)``),
    # else the constant-then-linear decay every other task uses. Evaluated at the index of the step
    # just taken it is the rate that step used (optimizer.learning_rate would show the next step's).
    if hasattr(task, "learning_rate_schedule"):
        schedule = task.learning_rate_schedule(steps_per_epoch)
    else:
        schedule = ConstantThenLinearDecay(config.learning_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step)
    extra_scalars = {"learning_rate": lambda: float(schedule(state.step))}
    history = LossHistory(own_dir, state, steps_per_epoch, extra_scalars)
    history.load(state.step)
    context = RunContext(own_dir, Path(data_dir), strategy, state, plan, options, preset, chief, checkpointer)
    validation = task.validation(model, context) if hasattr(task, "validation") else None
    if validation is not None:
        context.validation = ValidationMonitor(validation, state, history, own_dir, steps_per_epoch=steps_per_epoch,
                                               total_epochs=plan.total_epochs, log_dir=own_dir / TENSORBOARD_DIR_NAME)
        context.validation.set_model(model)  # its best checkpoint is usable before (or without) fit
    every = options.checkpoint_every_steps or config.checkpoint_every_steps or 0
    callbacks = [
        ResumeMetricState(checkpointer, steps_per_epoch),
        history,
        TensorBoardLogger(
            own_dir / TENSORBOARD_DIR_NAME, state, extra_scalars=extra_scalars, images=task.tensorboard_images(model, context), image_every_epochs=1, total_epochs=plan.total_epochs,
            steps_per_epoch=steps_per_epoch, history=history,
        ),
        *((context.validation,) if context.validation is not None else ()),
        *(
            EpochEndAction(action, every_epochs=every_epochs, total_epochs=plan.total_epochs, steps_per_epoch=steps_per_epoch, state=state)
            for action, every_epochs in task.epoch_actions(model, context)
        ),
        CheckpointEverySteps(
            checkpointer,
            history,
            every_steps=every,
            steps_per_epoch=steps_per_epoch,
            progress=lambda: {"epoch": state.step // steps_per_epoch, "steps_per_epoch": steps_per_epoch, "total_steps": plan.total_steps},
        ),
    ]
    monitor = context.validation
    should_stop = (lambda: monitor.stopped) if monitor is not None else None
    tf = import_tensorflow()
    try:
        outcome = fit_resumable(model, epoch_dataset, plan, state, callbacks, verbose=options.verbose, should_stop=should_stop)
    except tf.errors.DataLossError as error:  # a shard damaged since the start check, or --no-verify
        raise explain_read_error(data_dir, error) from error
    except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError) as error:
        if options.strategy != "multi_worker":
            raise
        newest = checkpointer.latest_path if chief else (tf.train.latest_checkpoint(str(run_dir / CHECKPOINT_DIR_NAME)) or "none yet")
        raise WorkerLostError(
            f"a worker of the multi-worker run stopped answering at global step {state.step} ({type(error).__name__}); "
            f"start every worker again with the same command to resume from the chief's newest checkpoint ({newest})"
        ) from None
    write_history_outputs(own_dir, history, title=task.title)
    early_stopped = monitor is not None and monitor.stopped
    export_dirs = []
    if chief and options.export and outcome.stopped_on_nan is None and (state.step >= plan.total_steps or early_stopped):
        export_dirs = task.export(model, context)
        print(f"mst: exported to {' and '.join(str(d) for d in export_dirs)}", flush=True)
    if strategy.num_replicas_in_sync > 1 or not chief:
        print(f"mst: weights fingerprint {weights_fingerprint(model)} at step {state.step} ({'chief' if chief else 'worker'})", flush=True)
    if not chief:
        shutil.rmtree(own_dir, ignore_errors=True)  # a worker's scratch: only the chief's files are the run's
        own_dir = run_dir
    return TrainResult(
        run_dir=own_dir,
        start_step=outcome.start_step,
        final_step=state.step,
        total_steps=plan.total_steps,
        steps_per_epoch=steps_per_epoch,
        stopped_on_nan=outcome.stopped_on_nan,
        export_dir=export_dirs[0] if export_dirs else None,
        replicas=strategy.num_replicas_in_sync,
        checkpoint_step=checkpointer.last_saved_step,
        early_stopped=early_stopped,
    )
