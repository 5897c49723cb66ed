"""The CycleGAN family's training task: model and optimizers, epoch data, samples, collapse monitor, export.

:class:`CycleGANTask` is what :func:`mst.training.driver.train` runs for a
:class:`~mst.models.cyclegan.cyclegan_presets.CycleGANConfig`. Besides the sample transfers it runs
the *collapse monitor* (:class:`CollapseMonitor`) at every epoch end: on a fixed held-out batch per
direction it logs whether the cycle carries anything (loss next to the best input-independent
output, cycle AUC), whether the outputs are silent or all alike, and whether a transfer is closer to
its own source than to another input's (:mod:`mst.metrics.collapse`), to ``monitor.csv``,
``monitor.png`` and TensorBoard, and prints a plain warning when the run is at the floor.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from pathlib import Path

import numpy as np

from mst import atomic, plotting
from mst.encodings import pianoroll
from mst.metrics.collapse import COLLAPSE_KEYS, collapse_statistics, collapse_warnings
from mst.models.cyclegan.cyclegan import build_cyclegan
from mst.models.cyclegan.cyclegan_presets import DIRECTIONS, other_direction
from mst.records import pianoroll_reader as data
from mst.runtime import import_tensorflow
from mst.training import summaries
from mst.training.run_dir import EXPORT_DIR_NAME, MONITOR_CSV_NAME, MONITOR_PNG_NAME, SAMPLES_DIR_NAME, TENSORBOARD_DIR_NAME
from mst.training.schedules import adam_with_decay

def cyclegan_steps_per_epoch(config, data_dir) -> int:
    """Checks the dataset for a CycleGAN config and returns the steps of one epoch.

    One epoch is one pass over the balanced pair, ``min(#A, #B) // batch_size`` batches (the
    authors' loop), capped by ``config.steps_per_epoch``.

    Raises:
        TrainingDataError: Missing dataset/manifest, unknown genre, fewer phrases than one batch.
    """
    manifest = data.load_manifest(data_dir)
    counts = data.check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="train", minimum=config.batch_size, what=f"one batch of batch_size={config.batch_size}")
    if config.mixed_genres:
        mixed = data.check_genres(manifest, data_dir, config.mixed_genres, split="train", minimum=0, what="the mixed set")
        if sum(mixed.values()) < config.batch_size:
            raise data.TrainingDataError(
                f"the mixed set {list(config.mixed_genres)} has {sum(mixed.values())} train phrases in "
                f"{data.manifest_path(data_dir)}; one batch needs {config.batch_size}"
            )
    steps = min(counts.values()) // config.batch_size
    return steps if config.steps_per_epoch is None else min(steps, config.steps_per_epoch)


def cyclegan_epochs(config, data_dir) -> data.PairEpochs:
    """The :class:`PairEpochs` of a CycleGAN config (global batch per side)."""
    return data.PairEpochs(data_dir, config.genre_a, config.genre_b, config.batch_size, config.seed, config.mixed_genres, balancing=config.balancing)


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
        self._soundfont = None
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
                pianoroll.write_roll_midi(path, roll, track_name=self.genres[direction][0])

    def write(self, epoch: int) -> None:
        """Writes ``epoch_XXXX_{a2b,b2a}.{mid,png}`` (``XXXX`` = completed epochs, 1-based)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for direction in DIRECTIONS:
            source_genre, target_genre = self.genres[direction]
            transfer, cycle = self._outputs(direction)
            binary = pianoroll.binarize(transfer)
            stem = self.directory / f"epoch_{epoch + 1:04d}_{direction}"
            pianoroll.write_roll_midi(stem.with_suffix(".mid"), pianoroll.stitch_phrases(binary), track_name=f"{source_genre} to {target_genre}")
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
        """TensorBoard per direction: source | generator output | binarized side by side, and audio."""
        images = {}
        for direction in DIRECTIONS:
            transfer, _ = self._outputs(direction)
            source = self.inputs[direction]
            panels = [source, transfer, pianoroll.binarize(transfer)]
            separator = np.full((source.shape[0], 2, source.shape[2], 1), 0.5, np.float32)
            stacked = np.concatenate([panels[0], separator, panels[1], separator, panels[2]], axis=1)
            images[f"transfer/{direction}"] = _pianoroll_image(stacked.astype(np.float32))
            images[f"transfer_audio/{direction}"] = self._audio(direction, source, pianoroll.binarize(transfer))
        return images

    AUDIO_PHRASES = 2
    """Phrases per TensorBoard clip (two 4-bar phrases: about 16 s at 120 bpm)."""
    AUDIO_SAMPLE_RATE = 16000

    def _audio(self, direction: str, source: np.ndarray, binary: np.ndarray) -> summaries.Audio:
        """TensorBoard clips: the first source phrases, then their transfer (a General MIDI
        SoundFont when one is installed, else mst's sine SoundFont: see :mod:`mst.audio`)."""
        from mst import audio  # noqa: PLC0415

        if self._soundfont is None:
            self._soundfont, _ = audio.soundfont_or_sine()
        clips = []
        for rolls in (source[: self.AUDIO_PHRASES, ..., 0] > 0, binary[: self.AUDIO_PHRASES, ..., 0] > 0):
            with tempfile.TemporaryDirectory() as scratch:
                midi = Path(scratch) / "clip.mid"
                pianoroll.write_roll_midi(midi, pianoroll.stitch_phrases(rolls))
                clips.append(audio.synthesize(midi, self._soundfont, sample_rate=self.AUDIO_SAMPLE_RATE, stereo=False)[0])
        length = max(len(clip) for clip in clips)
        stacked = np.stack([np.pad(clip, (0, length - len(clip))) for clip in clips])[..., None]
        peak = float(np.max(np.abs(stacked))) or 1.0
        source_genre, target_genre = self.genres[direction]
        return summaries.Audio(stacked / peak * 0.9, self.AUDIO_SAMPLE_RATE, (f"{source_genre} source", f"{direction}: transfer to {target_genre}"))


def cycle_loss_floor(kind: str, on_share: float) -> float:
    """Per-domain cycle loss of the best *input-independent* output, for a criterion of the model.

    A cycle that scores no better than this reconstructs nothing of its input. For ``l1`` the best
    constant is silence (the per-cell median of sparse rolls), costing the on-cell share ρ; for
    ``balanced_l1`` any constant costs 0.5; for ``bce`` the best constant is ρ itself, costing the
    entropy H(ρ).

    Example:
    >>> cycle_loss_floor("l1", 0.04), cycle_loss_floor("balanced_l1", 0.04), round(cycle_loss_floor("bce", 0.04), 4)
    (0.04, 0.5, 0.1679)
    """
    if kind == "l1":
        return float(on_share)
    if kind == "balanced_l1":
        return 0.5
    if kind == "bce":
        rho = min(max(float(on_share), 1e-12), 1 - 1e-12)
        return float(-(rho * math.log(rho) + (1 - rho) * math.log(1 - rho)))
    raise ValueError(f"unknown cycle loss {kind!r}")


def _numpy_reconstruction(kind: str, target: np.ndarray, probabilities: np.ndarray) -> float:
    """:func:`mst.models.cyclegan.cyclegan.reconstruction_loss` on NumPy arrays (BCE from the sigmoid output)."""
    from mst.models.cyclegan.cyclegan import reconstruction_loss  # noqa: PLC0415

    if kind == "bce":
        # logits recovered from the sigmoid output, clipped like float32 saturation
        clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
        return float(reconstruction_loss(kind, target, probabilities, np.log(clipped) - np.log1p(-clipped)))
    return float(reconstruction_loss(kind, target, probabilities))


class CollapseMonitor:
    """The collapse monitor of a CycleGAN run (see the module docstring).

    The held-out batch is ``config.monitor_phrases`` test phrases per source genre, drawn once with
    the run's seed (train phrases when a genre has no test split); the target reference is up to
    256 test phrases of the other genre. Rows already in ``monitor.csv`` past the resumed step are
    dropped, so a resumed run's file matches an uninterrupted one's.

    Args:
        model: The CycleGAN being trained.
        config: Its config.
        data_dir: Dataset folder.
        run_dir: Run folder.
        state: The run's training state (for the global step).
    """

    REFERENCE_PHRASES = 256

    def __init__(self, model, config, data_dir, run_dir, state):
        self.model = model
        self.config = config
        self.run_dir = Path(run_dir)
        self.state = state
        rng = np.random.default_rng(config.seed)
        self.sources, self.references = {}, {}
        for direction in DIRECTIONS:
            source_genre, target_genre = config.direction_genres(direction)
            self.sources[direction] = _seeded_subset(data_dir, source_genre, config.monitor_phrases, rng)
            self.references[direction] = _seeded_subset(data_dir, target_genre, self.REFERENCE_PHRASES, rng)
        self.rows = _read_rows(self.run_dir / MONITOR_CSV_NAME, state.step)
        self.writer = import_tensorflow().summary.create_file_writer(str(self.run_dir / TENSORBOARD_DIR_NAME / "monitor"))

    def statistics(self) -> dict[str, float]:
        """One monitor row: per-direction collapse statistics and the cycle loss next to its floor."""
        row: dict[str, float] = {}
        cycle_loss = floor = 0.0
        for direction in DIRECTIONS:
            source = self.sources[direction]
            transfer = self.model.transfer(source, direction)
            cycle = self.model.transfer(transfer, other_direction(direction))
            stats = collapse_statistics(source, transfer, cycle, self.references[direction])
            row.update({f"{direction}_{key}": value for key, value in stats.items()})
            cycle_loss += _numpy_reconstruction(self.config.cycle_loss, source, cycle)
            floor += cycle_loss_floor(self.config.cycle_loss, float(np.mean(source)))
        row["cycle_loss"] = self.config.lambda_cycle * cycle_loss
        row["cycle_loss_floor"] = self.config.lambda_cycle * floor
        return row

    def warnings(self, row: dict[str, float]) -> list[str]:
        """Plain-language warnings for a row (:func:`mst.metrics.collapse.collapse_warnings`)."""
        out = []
        for direction in DIRECTIONS:
            source_genre, target_genre = self.config.direction_genres(direction)
            stats = {key: row[f"{direction}_{key}"] for key in COLLAPSE_KEYS}
            out += collapse_warnings(stats, f"{source_genre}->{target_genre}")
        return out

    def __call__(self, epoch: int) -> None:
        row = {"epoch": epoch + 1, "step": self.state.step, **self.statistics()}
        self.rows = [r for r in self.rows if r["epoch"] != row["epoch"]] + [row]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic.write_text(self.run_dir / MONITOR_CSV_NAME, buffer.getvalue())
        with self.writer.as_default(step=self.state.step):
            for key, value in row.items():
                if key not in ("epoch", "step") and math.isfinite(value):
                    summaries.write_scalar(f"monitor/{key}", value, self.state.step)
        self.writer.flush()
        self._plot()
        for warning in self.warnings(row):
            print(f"mst: warning: epoch {epoch + 1}: {warning}", flush=True)

    def _plot(self) -> None:
        def series(key):
            return [r[key] for r in self.rows]

        panels = {"cycle loss (monitor batch)": {"model": series("cycle_loss"), "best input-independent output": series("cycle_loss_floor")}}
        for direction in DIRECTIONS:
            source_genre, target_genre = self.config.direction_genres(direction)
            name = f"{source_genre}->{target_genre}"
            panels[f"{name}: cycle AUC"] = {"cycle AUC": series(f"{direction}_cycle_auc")}
            panels[f"{name}: non-empty share"] = {"transfers": series(f"{direction}_nonempty_transfer"), "cycles": series(f"{direction}_nonempty_cycle")}
            panels[f"{name}: sameness"] = {"transfers": series(f"{direction}_transfer_sameness"), "real target phrases": series(f"{direction}_target_sameness")}
            panels[f"{name}: pitch-class cosine"] = {"own source": series(f"{direction}_pitch_class_own"), "another input": series(f"{direction}_pitch_class_other")}
            panels[f"{name}: density ratio"] = {"transfer / source notes": series(f"{direction}_density_ratio")}
        plotting.save_curve_panels_png(self.run_dir / MONITOR_PNG_NAME, panels, title=f"{self.config.name}: collapse monitor")


def _seeded_subset(data_dir, genre: str, count: int, rng: np.random.Generator) -> np.ndarray:
    phrases, _ = data.sample_phrases(data_dir, genre, count=None)
    if len(phrases) > count:
        phrases = phrases[np.sort(rng.choice(len(phrases), size=count, replace=False))]
    return phrases


def _read_rows(path: Path, step: int) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [{key: (int(value) if key in ("epoch", "step") else float(value)) for key, value in row.items()} for row in csv.DictReader(handle)]
    return [row for row in rows if row["step"] <= step]


class CycleGANTask:
    """The CycleGAN family's :class:`mst.training.driver.TrainingTask`.

    Args:
        config: A :class:`~mst.models.cyclegan.cyclegan_presets.CycleGANConfig` (batch = global batch).
    """

    def __init__(self, config):
        self.config = config

    @property
    def title(self) -> str:
        return f"{self.config.name}: {self.config.genre_a} / {self.config.genre_b}"

    def steps_per_epoch(self, data_dir) -> int:
        return cyclegan_steps_per_epoch(self.config, data_dir)

    def build(self, steps_per_epoch: int, *, jit_compile: bool):
        return build_compiled_cyclegan(self.config, steps_per_epoch, jit_compile=jit_compile)

    def optimizers(self, model) -> dict:
        return {"generator_optimizer": model.generator_optimizer, "discriminator_optimizer": model.discriminator_optimizer}

    def epoch_dataset(self, data_dir):
        return cyclegan_epochs(self.config, data_dir).dataset

    def before_restore(self, model, epoch_dataset) -> None:
        """Nothing: every variable exists once the model is compiled."""

    def _samples(self, model, context) -> CycleGANSamples:
        if getattr(self, "_sample_writer", None) is None:
            self._sample_writer = CycleGANSamples(model, context.run_dir, self.config, context.data_dir)
        return self._sample_writer

    def epoch_actions(self, model, context):
        samples = self._samples(model, context)
        samples.write_sources()
        actions = [(samples.write, self.config.sample_every_epochs)]
        if self.config.monitor_phrases:
            actions.append((CollapseMonitor(model, self.config, context.data_dir, context.run_dir, context.state), 1))
        return actions

    def tensorboard_images(self, model, context):
        return self._samples(model, context).images

    def export(self, model, context) -> list[Path]:
        from mst.models.cyclegan import cyclegan_export  # noqa: PLC0415

        return [cyclegan_export.export_cyclegan(model, context.run_dir / EXPORT_DIR_NAME, config=self.config, global_step=context.state.step, preset=context.preset)]
