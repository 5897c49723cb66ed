"""MusicVAE's training task (:class:`mst.training.driver.TrainingTask`) for ``train.py --preset groovae_4bar`` etc.

Data: a dataset prepared with ``--encoding groove`` (grooves, ``split_bars`` must match the
preset's ``max_seq_len``) or ``--encoding melody_onehot``. The training split is the GMD's
official ``train`` split (``split_source="official"``, grooves) or the driver's hash split.
One epoch is one pass over the training examples in an order fixed by ``(seed, epoch)``
(``steps_per_epoch`` caps it); the last incomplete batch is dropped. Groove inputs get the
preset's transforms (``humanize``, ``tapify``, ``fixed_velocities``, note dropout drawn per epoch);
melodies are transposed by up to ``transpose_range`` semitones (training only; a transposition
that would leave 21..108 leaves the window as it is).

Per epoch (epoch actions): the validation losses (Magenta's evaluation: scheduled-sampling
configs at sampling probability 1) of up to 512 validation examples go to ``validation.csv``
and TensorBoard; every ``sample_every_epochs`` epochs four samples at the preset's temperature
go to ``samples/epoch_XXXX.{mid,png}``.

The learning rate: the optimizer runs on Magenta's exponential decay
(:class:`mst.models.music_vae.music_vae.MagentaExponentialDecay`); the value each step used is
logged as ``learning_rate_used`` (history, TensorBoard), and :meth:`MusicVAETask.learning_rate_schedule`
gives the schedule itself, which the trainer driver logs as ``learning_rate``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import drums, melody_onehot
from mst.records import music_vae_records as records
from mst.records.splits import epoch_seed
from mst.runtime import import_tensorflow
from mst.training.run_dir import EXPORT_DIR_NAME, SAMPLES_DIR_NAME, TENSORBOARD_DIR_NAME

VALIDATION_NAME = "validation.csv"
VALIDATION_EXAMPLES = 512
SAMPLES_PER_EPOCH = 4


def check_dataset(config, data_dir) -> None:
    """Raises :class:`~mst.records.music_vae_records.MusicVAEDataError` if the dataset does not fit the config."""
    encoding, steps = records.dataset_encoding(data_dir)
    if encoding != config.encoding or steps != config.max_seq_len:
        raise records.MusicVAEDataError(
            f"{Path(data_dir) / 'manifest.json'}: the dataset holds {encoding} examples of {steps} steps, preset {config.name} needs "
            f"{config.encoding} of {config.max_seq_len} steps (prepare with --encoding {config.encoding} --option "
            f"{'split_bars' if config.encoding == 'groove' else 'slice_bars'}={config.max_seq_len // 16})")


def model_inputs(config, tensors: np.ndarray, rng: np.random.Generator | None = None, *, training: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(encoder inputs, targets)`` float32 ``[N, T, D]`` of decoded records.

    Grooves: targets are the tensors, inputs get the config's transforms (note dropout only
    when ``training``). Melodies: one-hot; ``training`` with a ``transpose_range`` transposes
    each window by a random amount (the same for input and target).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if config.encoding == "groove":
        targets = np.asarray(tensors, np.float32)
        inputs = np.stack([drums.transform_input(t, humanize=config.humanize, tapify=config.tapify, fixed_velocities=config.fixed_velocities,
                                                 max_note_dropout=config.max_note_dropout if training else 0.0, rng=rng) for t in targets]) if len(targets) else targets
        return inputs.astype(np.float32), targets
    events = np.asarray(tensors, np.int64)
    if training and config.transpose_range and len(events):
        shifts = rng.integers(-config.transpose_range, config.transpose_range + 1, size=len(events))
        moved = np.where(events >= 2, events + shifts[:, None], events)
        fits = np.all((moved >= 0) & (moved < melody_onehot.NUM_CLASSES) & ((events < 2) | (moved >= 2)), axis=1)
        events = np.where(fits[:, None], moved, events)
    one_hot = np.eye(melody_onehot.NUM_CLASSES, dtype=np.float32)[events]
    return one_hot, one_hot


class MusicVAETask:
    """The MusicVAE / GrooVAE :class:`mst.training.driver.TrainingTask`.

    Args:
        config: A :class:`~mst.models.music_vae.music_vae_presets.MusicVAEConfig`.
    """

    def __init__(self, config):
        self.config = config
        self._train = None

    @property
    def title(self) -> str:
        return f"{self.config.name}: {self.config.decoder} MusicVAE, {self.config.encoding}, {self.config.max_seq_len} steps"

    def training_arrays(self, data_dir):
        if self._train is None:
            check_dataset(self.config, data_dir)
            self._train = records.load_sequences(data_dir, "train", self.config.split_source)
        return self._train

    def steps_per_epoch(self, data_dir) -> int:
        train = self.training_arrays(data_dir)
        steps = len(train) // self.config.batch_size
        if steps < 1:
            raise records.MusicVAEDataError(f"{Path(data_dir) / 'manifest.json'}: {len(train)} training examples, fewer than one batch of {self.config.batch_size}")
        return steps if self.config.steps_per_epoch is None else min(steps, self.config.steps_per_epoch)

    def learning_rate_schedule(self, steps_per_epoch: int | None = None):
        """The schedule the optimizer runs on (what a driver should log as ``learning_rate``)."""
        from mst.models.music_vae.music_vae import MagentaExponentialDecay  # noqa: PLC0415

        return MagentaExponentialDecay(self.config.learning_rate, self.config.decay_rate, self.config.min_learning_rate)

    def build(self, steps_per_epoch: int, *, jit_compile: bool):
        from mst.models.music_vae.music_vae import build_music_vae, make_optimizer  # noqa: PLC0415

        model = build_music_vae(self.config)
        model.compile(optimizer=make_optimizer(self.config), jit_compile=jit_compile)
        model.optimizer.build(model.trainable_variables)
        return model

    def optimizers(self, model) -> dict:
        return {"optimizer": model.optimizer}

    def epoch_dataset(self, data_dir):
        tf = import_tensorflow()
        config = self.config
        train = self.training_arrays(data_dir)
        steps = self.steps_per_epoch(data_dir)
        batch = config.batch_size

        def dataset(epoch: int):
            rng = np.random.default_rng(epoch_seed(config.seed, epoch))
            order = rng.permutation(len(train))[: steps * batch]
            inputs, targets = model_inputs(config, train.tensors[order], rng, training=True)
            return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch, drop_remainder=True).prefetch(2)

        return dataset

    def before_restore(self, model, epoch_dataset) -> None:
        return None

    def epoch_actions(self, model, context):
        actions = [(ValidationLog(model, self.config, context), 1)]
        if self.config.sample_every_epochs:
            actions.append((SampleWriter(model, self.config, context.run_dir), self.config.sample_every_epochs))
        return actions

    def tensorboard_images(self, model, context):
        return None

    def export(self, model, context) -> list[Path]:
        from mst.models.music_vae import music_vae_export  # noqa: PLC0415

        out = context.run_dir / EXPORT_DIR_NAME
        return [music_vae_export.export_music_vae(model, out, config=self.config,
                                                  info={"preset": context.preset, "global_step": context.state.step})]


class ValidationLog:
    """Validation losses after every epoch (``validation.csv`` and TensorBoard ``validation/``)."""

    def __init__(self, model, config, context):
        tf = import_tensorflow()
        self.model = model
        self.config = config
        self.state = context.state
        self.path = Path(context.run_dir) / VALIDATION_NAME
        split = "validation"
        try:
            arrays = records.load_sequences(context.data_dir, split, config.split_source)
        except records.MusicVAEDataError:
            arrays = None
        self.inputs = None
        if arrays is not None and len(arrays):
            rng = np.random.default_rng(config.seed)
            chosen = np.sort(rng.permutation(len(arrays))[:VALIDATION_EXAMPLES])
            self.inputs, self.targets = model_inputs(config, arrays.tensors[chosen], training=False)
        self.writer = tf.summary.create_file_writer(str(Path(context.run_dir) / TENSORBOARD_DIR_NAME / "validation"))
        self.rows = []
        if self.path.is_file():
            with open(self.path, newline="", encoding="utf-8") as handle:
                self.rows = [{k: (int(v) if k in ("epoch", "step") else float(v)) for k, v in row.items()} for row in csv.DictReader(handle)]
            self.rows = [row for row in self.rows if row["step"] <= self.state.step]

    def __call__(self, epoch: int) -> None:
        if self.inputs is None:
            return
        from mst.training import summaries  # noqa: PLC0415

        values = evaluate_losses(self.model, self.config, self.inputs, self.targets)
        row = {"epoch": epoch, "step": self.state.step, **values}
        self.rows = [r for r in self.rows if r["epoch"] != epoch] + [row]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic.write_text(self.path, buffer.getvalue())
        with self.writer.as_default(step=self.state.step):
            for name, value in values.items():
                summaries.write_scalar(f"validation/{name}", value, self.state.step)
        self.writer.flush()
        print(f"mst: epoch {epoch + 1} validation ({len(self.inputs)} examples): "
              + ", ".join(f"{k} {v:.4g}" for k, v in values.items()), flush=True)


def evaluate_losses(model, config, inputs, targets, batch_size: int = 128) -> dict[str, float]:
    """Mean loss terms over examples (Magenta's evaluation mode, fixed noise)."""
    tf = import_tensorflow()
    totals, count = {}, 0
    probability = tf.constant(1.0) if config.scheduled_sampling else None
    for start in range(0, len(inputs), batch_size):
        x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
        terms, _, _ = model.compute_terms(tf.constant(x), tf.constant(y), model.optimizer.iterations if model.optimizer else 0,
                                          training=False, sampling_probability=probability, seed=tf.constant([config.seed, start]))
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + float(value) * len(x)
        count += len(x)
    return {name: value / count for name, value in totals.items()}


class SampleWriter:
    """Four samples from ``z ~ N(0, I)`` at the config's temperature: ``samples/epoch_XXXX.{mid,png}``."""

    def __init__(self, model, config, run_dir):
        self.model = model
        self.config = config
        self.folder = Path(run_dir) / SAMPLES_DIR_NAME

    def __call__(self, epoch: int) -> None:
        from mst.models.music_vae import music_vae_outputs  # noqa: PLC0415

        outputs = self.model.sample(SAMPLES_PER_EPOCH, temperature=self.config.temperature, seed=self.config.seed + epoch).numpy()
        music_vae_outputs.write_outputs(self.folder / f"epoch_{epoch + 1:04d}", self.config.encoding, outputs,
                                        title=f"{self.config.name} epoch {epoch + 1}: samples at temperature {self.config.temperature}")
