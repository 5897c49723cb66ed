"""Pieces shared by the CycleGAN and classifier trainers: run options, set-up and wrap-up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras

from mst import atomic
from mst.runtime import import_tensorflow
from mst.training import devices
from mst.training.callbacks import LossHistory
from mst.training.run_dir import prepare_run_dir

HISTORY_JSON_NAME = "history.json"
LOSS_CURVES_NAME = "loss_curves.png"
TENSORBOARD_DIR_NAME = "tensorboard"
EXPORT_DIR_NAME = "export"


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

    @property
    def finished(self) -> bool:
        """Whether every planned step has run."""
        return self.final_step >= self.total_steps and self.stopped_on_nan is None


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
    """Where this process writes: the run folder for the chief, ``workers/worker_<id>`` otherwise.

    Under ``multi_worker`` every worker must take part in saving checkpoints (reading
    synchronized variables is a collective op), but only the chief's files are the run's; the
    others keep theirs apart and never export.
    """
    chief, task_id = devices.worker_role(strategy)
    return Path(run_dir) if chief else Path(run_dir) / "workers" / f"worker_{task_id}"


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
