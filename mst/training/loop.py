"""The resumable epoch loop shared by the CycleGAN and classifier trainers.

How a run continues at exactly the step it was checkpointed (kill -9 included):

1. The data order of epoch ``e`` is a pure function of ``(seed, e)``: every epoch gets a fresh
   dataset shuffled with :func:`mst.records.splits.epoch_seed` ``(seed, e)`` that yields the same batches however
   often it is iterated (:class:`mst.records.pianoroll_reader.PairEpochs`).
2. On start, the newest checkpoint restores weights, optimizer slots, RNG states and the global
   step ``S``. With ``E`` steps per epoch the run continues in epoch ``S // E``; that epoch's dataset
   is rebuilt and its first ``S % E`` batches are skipped (``Dataset.skip``), so the remaining
   batches are exactly the ones the interrupted process would have seen next.
3. ``model.fit`` is called once per epoch (``initial_epoch=e, epochs=e + 1``) with the callbacks
   of :mod:`mst.training.callbacks`, which number TensorBoard points and history rows by the global
   step, so logs continue seamlessly; the epoch's running mean losses are restored too.

On a CPU the continuation is bit-identical to an uninterrupted run (weights, optimizer moments,
pool, RNG states; tested with ``--deterministic``); under a multi-replica strategy the weights
are too, while the restored running means may differ in the last bit (a SUM-synchronized metric
is split across replicas on restore).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from mst.training.callbacks import RunProgbarLogger, TerminateOnNaNLosses
from mst.training.checkpointing import TrainingState


@dataclasses.dataclass(frozen=True)
class StepPlan:
    """How many steps a run takes.

    Attributes:
        steps_per_epoch: Batches in one full epoch.
        epochs: Epochs the run is configured for.
        max_steps: Optional cap on the total number of steps (``None``: no cap).
    """

    steps_per_epoch: int
    epochs: int
    max_steps: int | None = None

    def __post_init__(self):
        if self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or unset, got {self.max_steps}")

    @property
    def total_steps(self) -> int:
        """Steps of the whole run: ``epochs * steps_per_epoch``, capped by ``max_steps``."""
        full = self.epochs * self.steps_per_epoch
        return full if self.max_steps is None else min(full, self.max_steps)

    @property
    def total_epochs(self) -> int:
        """Epochs touched by the run (the last one may be partial when ``max_steps`` caps it)."""
        return -(-self.total_steps // self.steps_per_epoch)

    def position(self, step: int) -> tuple[int, int]:
        """``(epoch, steps already done in that epoch)`` for a global step."""
        return divmod(step, self.steps_per_epoch)


@dataclasses.dataclass
class FitOutcome:
    """How :func:`fit_resumable` ended.

    Attributes:
        start_step: Global step the call started from (``> 0`` for a resumed run).
        final_step: Global step when it returned.
        stopped_on_nan: ``(loss name, value)`` if the NaN guard stopped the run, else ``None``.
    """

    start_step: int
    final_step: int
    stopped_on_nan: tuple[str, float] | None


def fit_resumable(
    model,
    make_epoch_dataset: Callable[[int], object],
    plan: StepPlan,
    state: TrainingState,
    callbacks: Sequence,
    *,
    verbose: int | str = 1,
    should_stop: Callable[[], bool] | None = None,
) -> FitOutcome:
    """Trains from ``state.global_step`` to ``plan.total_steps``, one ``fit`` call per epoch.

    Args:
        model: A compiled Keras model.
        make_epoch_dataset: ``epoch -> tf.data.Dataset`` yielding that epoch's batches in an order
            that depends only on the run's seed and ``epoch``, the same on every iteration (at
            least ``steps_per_epoch`` of them).
        plan: Step plan of the run.
        state: The (possibly restored) training state; its global step is advanced by the
            checkpoint callback among ``callbacks``.
        callbacks: Run callbacks in order; the progress bar and the NaN guard are put in front.
        verbose: Keras verbosity (0 silent, 1 progress bar, 2 one line per epoch).
        should_stop: Checked before every epoch's ``fit``; ``True`` ends the run early (early
            stopping, :class:`mst.training.callbacks.ValidationMonitor`). ``None``: never.

    Returns:
        A :class:`FitOutcome`.
    """
    start_step = state.step
    progbar = RunProgbarLogger(plan.total_epochs, plan.steps_per_epoch)
    nan_guard = TerminateOnNaNLosses()
    all_callbacks = [progbar, nan_guard, *callbacks]
    while state.step < plan.total_steps and not (should_stop is not None and should_stop()):
        epoch, done = plan.position(state.step)
        steps = min(plan.steps_per_epoch - done, plan.total_steps - state.step)
        dataset = make_epoch_dataset(epoch)
        if done:
            dataset = dataset.skip(done)
        dataset = dataset.take(steps)
        progbar.batch_offset = done
        before = state.step
        model.fit(
            dataset,
            epochs=epoch + 1,
            initial_epoch=epoch,
            steps_per_epoch=steps,
            callbacks=all_callbacks,
            verbose=verbose,
            shuffle=False,
        )
        if nan_guard.bad_loss is not None:
            break
        if state.step != before + steps:
            raise RuntimeError(
                f"epoch {epoch} ran {state.step - before} of {steps} steps: its dataset ran out of batches "
                "(the dataset changed since the run started?)"
            )
    return FitOutcome(start_step=start_step, final_step=state.step, stopped_on_nan=nan_guard.bad_loss)
