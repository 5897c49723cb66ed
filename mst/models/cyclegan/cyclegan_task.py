"""Training a CycleGAN preset: model and optimizers under the strategy, callbacks, samples, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mst import plotting
from mst.music import midi
from mst.encodings import pianoroll
from mst.models.cyclegan.cyclegan import build_cyclegan
from mst.training.schedules import ConstantThenLinearDecay, adam_with_decay
from mst.records import pianoroll_reader as data
from mst.training.callbacks import CheckpointEverySteps, EpochEndAction, LossHistory, ResumeMetricState, TensorBoardLogger
from mst.training.checkpointing import RunCheckpointer, TrainingState
from mst.training.driver import EXPORT_DIR_NAME, TENSORBOARD_DIR_NAME, RunOptions, TrainResult, announce_start, start_run, write_history_outputs
from mst.training.loop import StepPlan, fit_resumable

SAMPLES_DIR_NAME = "samples"
DIRECTIONS = ("a2b", "b2a")


def build_optimizers(config, steps_per_epoch: int):
    """The authors' two Adams (generators, discriminators) on the constant-then-linear-decay schedule.

    Returns:
        ``(generator_optimizer, discriminator_optimizer)``.
    """
    def adam(name):
        return adam_with_decay(
            config.learning_rate, config.beta_1, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step, name=name
        )

    return adam("generator_adam"), adam("discriminator_adam")


def build_compiled_cyclegan(config, steps_per_epoch: int, *, jit_compile: bool = False):
    """Builds and compiles the CycleGAN of a config; call inside the strategy scope.

    ``CycleGAN.compile`` builds both optimizers' slots right away, which the distributed train
    step needs (slots created lazily inside a replica function fail).
    """
    model = build_cyclegan(config)
    generator_optimizer, discriminator_optimizer = build_optimizers(config, steps_per_epoch)
    model.compile(generator_optimizer, discriminator_optimizer, jit_compile=jit_compile)
    return model


def _pianoroll_image(phrases: np.ndarray) -> np.ndarray:
    """``[n, 64, 84, 1]`` -> ``[n, 84, 64, 1]`` with the highest pitch in the top row (image layout)."""
    return np.flip(np.transpose(phrases, (0, 2, 1, 3)), axis=1)


class CycleGANSamples:
    """Transfers of a fixed batch of phrases: MIDI + PNG files and TensorBoard images.

    The batch is the first :data:`mst.records.pianoroll_reader.SAMPLE_PHRASES` test phrases of each genre
    (train phrases when a genre has no test split), the same in every epoch and every resumed
    process, so samples of different epochs compare like with like.

    Args:
        model: The CycleGAN being trained.
        run_dir: Run folder (files go to ``run_dir/samples``).
        config: The run's config.
        data_dir: Dataset folder.
    """

    def __init__(self, model, run_dir, config, data_dir):
        self.model = model
        self.directory = Path(run_dir) / SAMPLES_DIR_NAME
        self.genres = {"a2b": (config.genre_a, config.genre_b), "b2a": (config.genre_b, config.genre_a)}
        self.inputs = {}
        self.splits = {}
        for direction, (source, _) in self.genres.items():
            self.inputs[direction], self.splits[direction] = data.sample_phrases(data_dir, source)

    def _outputs(self, direction: str) -> tuple[np.ndarray, np.ndarray]:
        """``(continuous transfer, continuous cycle)`` of the fixed batch, float32."""
        other = "b2a" if direction == "a2b" else "a2b"
        transfer = np.asarray(self.model.transfer(self.inputs[direction], direction), dtype=np.float32)
        cycle = np.asarray(self.model.transfer(transfer, other), dtype=np.float32)
        return transfer, cycle

    def write_sources(self) -> None:
        """Writes the untransferred sample phrases once: ``source_{a,b}.mid``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for direction, side in (("a2b", "a"), ("b2a", "b")):
            path = self.directory / f"source_{side}.mid"
            if not path.exists():
                roll = pianoroll.stitch_phrases(self.inputs[direction][..., 0] > 0)
                midi.write_midi(path, pianoroll.roll_to_notes(roll), track_name=self.genres[direction][0])

    def write(self, epoch: int) -> None:
        """Writes ``epoch_XXXX_{a2b,b2a}.{mid,png}`` (``XXXX`` = completed epochs, 1-based)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for direction in DIRECTIONS:
            source_genre, target_genre = self.genres[direction]
            transfer, cycle = self._outputs(direction)
            binary = pianoroll.binarize(transfer)
            stem = self.directory / f"epoch_{epoch + 1:04d}_{direction}"
            midi.write_midi(stem.with_suffix(".mid"), pianoroll.roll_to_notes(pianoroll.stitch_phrases(binary)), track_name=f"{source_genre} to {target_genre}")
            rolls = np.stack([pianoroll.stitch_phrases(x[..., 0]) for x in (self.inputs[direction], transfer, binary, pianoroll.binarize(cycle))])
            split = self.splits[direction]
            titles = [
                f"{source_genre}: first {len(binary)} {split} phrases",
                f"{direction}: generator output (epoch {epoch + 1})",
                f"{direction}: binarized (> 0.5) = {target_genre} transfer",
                f"cycle back to {source_genre}, binarized",
            ]
            plotting.save_pianoroll_png(stem.with_suffix(".png"), rolls, titles=titles)

    def images(self) -> dict[str, np.ndarray]:
        """TensorBoard images per direction: source | generator output | binarized, side by side."""
        images = {}
        for direction in DIRECTIONS:
            transfer, _ = self._outputs(direction)
            source = self.inputs[direction]
            panels = [source, transfer, pianoroll.binarize(transfer)]
            separator = np.full((source.shape[0], 2, source.shape[2], 1), 0.5, np.float32)
            stacked = np.concatenate([panels[0], separator, panels[1], separator, panels[2]], axis=1)
            images[f"transfer/{direction}"] = _pianoroll_image(stacked.astype(np.float32))
        return images


def train_cyclegan(config, data_dir, run_dir, options: RunOptions | None = None, *, preset: str | None = None) -> TrainResult:
    """Trains (or resumes) a CycleGAN run; see :mod:`mst.training` for the files it writes.

    Args:
        config: A :class:`mst.configs.CycleGANConfig` (batch size = global batch).
        data_dir: Prepared dataset folder (``python -m mst.prepare``).
        run_dir: Run folder; an existing one with the same config is resumed.
        options: Runtime options.
        preset: Preset name, recorded in ``run.json`` and the export.

    Returns:
        A :class:`mst.training.driver.TrainResult`.
    """
    options = options or RunOptions()
    run_dir = Path(run_dir)
    steps_per_epoch = data.cyclegan_steps_per_epoch(config, data_dir)  # dataset errors before anything is written
    strategy, run_dir, chief = start_run(config, data_dir, run_dir, options, preset=preset)
    plan = StepPlan(steps_per_epoch, config.epochs, options.max_steps)
    with strategy.scope():
        model = build_compiled_cyclegan(config, steps_per_epoch, jit_compile=options.xla)
    state = TrainingState()
    checkpointer = RunCheckpointer(
        run_dir,
        model,
        {"generator_optimizer": model.generator_optimizer, "discriminator_optimizer": model.discriminator_optimizer},
        state,
        max_to_keep=options.keep_checkpoints,
    )
    checkpointer.restore_latest()
    announce_start(run_dir, state.step, steps_per_epoch, plan.total_steps)

    # Both Adams run on this schedule; evaluated at the index of the step just taken it is the
    # rate that step used (optimizer.learning_rate would already show the next step's).
    schedule = ConstantThenLinearDecay(config.learning_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step)
    extra_scalars = {"learning_rate": lambda: float(schedule(state.step))}
    history = LossHistory(run_dir, state, steps_per_epoch, extra_scalars)
    history.load(state.step)
    samples = CycleGANSamples(model, run_dir, config, data_dir)
    samples.write_sources()
    every = options.checkpoint_every_steps or config.checkpoint_every_steps or 0
    callbacks = [
        ResumeMetricState(checkpointer, steps_per_epoch),
        history,
        TensorBoardLogger(run_dir / TENSORBOARD_DIR_NAME, state, extra_scalars=extra_scalars, images=samples.images, image_every_epochs=1, total_epochs=plan.total_epochs),
        EpochEndAction(samples.write, every_epochs=config.sample_every_epochs, total_epochs=plan.total_epochs, steps_per_epoch=steps_per_epoch, state=state),
        CheckpointEverySteps(
            checkpointer,
            history,
            every_steps=every,
            steps_per_epoch=steps_per_epoch,
            progress=lambda: {"epoch": state.step // steps_per_epoch, "steps_per_epoch": steps_per_epoch, "total_steps": plan.total_steps},
        ),
    ]
    epochs = data.cyclegan_epochs(config, data_dir)
    outcome = fit_resumable(model, epochs.dataset, plan, state, callbacks, verbose=options.verbose)
    write_history_outputs(run_dir, history, title=f"{config.name}: {config.genre_a} / {config.genre_b}")
    export_dir = None
    if chief and options.export and outcome.stopped_on_nan is None and state.step >= plan.total_steps:
        from mst import export  # noqa: PLC0415

        export_dir = export.export_cyclegan(model, run_dir / EXPORT_DIR_NAME, config=config, global_step=state.step, preset=preset or config.name)
        print(f"mst: exported to {export_dir}", flush=True)
    return TrainResult(
        run_dir=run_dir,
        start_step=outcome.start_step,
        final_step=state.step,
        total_steps=plan.total_steps,
        steps_per_epoch=steps_per_epoch,
        stopped_on_nan=outcome.stopped_on_nan,
        export_dir=export_dir,
        replicas=strategy.num_replicas_in_sync,
        checkpoint_step=checkpointer.last_saved_step,
    )
