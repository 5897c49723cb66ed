"""MuseGAN's training task (``musegan_*`` presets) for :func:`mst.training.driver.train`.

Data: the ``train`` windows of a ``multitrack_rolls`` dataset (all partitions), held in memory as
{-1, +1} values. Each training step gets ``critic_steps x batch_size`` windows drawn uniformly
**with replacement** (the book's ``np.random.randint`` batches), one real batch per critic update;
epoch ``e``'s draws come from ``epoch_seed(seed, e)``, so a resumed run sees the same batches.

Both Adams use ``learning_rate``, ``beta_1``, ``beta_2`` on
:class:`mst.training.schedules.ConstantThenLinearDecay` (constant when ``epoch_step = epochs``, the
book), which is also the rate the driver logs.

Every ``sample_every_epochs`` epochs the task writes ``samples/epoch_XXXX.{mid,png}``: ``samples``
windows from a fixed noise (seed ``seed``), so the files of successive epochs show the same
noise's music as training goes on (the MIDI holds the first window, argmax-decoded, the PNG all).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from mst.encodings import multitrack
from mst.records import multitrack_rolls
from mst.records.manifest import DatasetError, load_manifest
from mst.records.splits import epoch_seed
from mst.runtime import import_tensorflow
from mst.training.run_dir import EXPORT_DIR_NAME
from mst.training.schedules import ConstantThenLinearDecay

SAMPLES_DIR_NAME = "samples"


class MuseGANDataError(DatasetError):
    """The dataset does not fit the MuseGAN config."""


def check_dataset(config, data_dir) -> int:
    """Checks a dataset for a config; returns its number of training windows.

    Raises:
        MuseGANDataError: Another encoding, another window shape, or no training window.
    """
    manifest = load_manifest(data_dir)
    shape = multitrack_rolls.check_multitrack_manifest(manifest, data_dir)
    if tuple(shape) != tuple(config.window_shape):
        raise MuseGANDataError(f"{Path(data_dir) / 'manifest.json'}: windows are {list(shape)}, the config needs {list(config.window_shape)}")
    count = sum(int(info["phrases"]["train"]) for info in manifest["partitions"].values())
    if count < 1:
        raise MuseGANDataError(f"{Path(data_dir) / 'manifest.json'}: no training window")
    return count


def build_compiled_musegan(config, steps_per_epoch: int, *, jit_compile: bool = False):
    """Builds the :class:`~mst.models.musegan.musegan.MuseGAN` and compiles it with the two Adams."""
    from mst.models.musegan.musegan import build_musegan  # noqa: PLC0415

    model = build_musegan(config)

    def adam(name):
        schedule = ConstantThenLinearDecay(config.learning_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step)
        return keras.optimizers.Adam(learning_rate=schedule, beta_1=config.beta_1, beta_2=config.beta_2, name=name)

    model.compile(adam("generator_adam"), adam("critic_adam"), jit_compile=jit_compile)
    return model


class RealBatches:
    """Epoch datasets of real windows drawn with replacement (see the module docstring)."""

    def __init__(self, config, data_dir, steps_per_epoch: int):
        self.values = multitrack_rolls.load_windows(data_dir, "train").values
        self.config = config
        self.steps_per_epoch = steps_per_epoch

    def indices(self, epoch: int) -> np.ndarray:
        """``[steps, critic_steps * batch]`` window indices of one epoch."""
        rng = np.random.default_rng(epoch_seed(self.config.seed, epoch))
        return rng.integers(0, len(self.values), size=(self.steps_per_epoch, self.config.critic_steps * self.config.batch_size))

    def dataset(self, epoch: int):
        tf = import_tensorflow()
        values = tf.constant(self.values)

        @tf.autograph.experimental.do_not_convert
        def gather(index):
            return tf.gather(values, index)

        return tf.data.Dataset.from_tensor_slices(self.indices(epoch)).map(gather).prefetch(2)


class SampleWriter:
    """Writes ``samples/epoch_XXXX.{mid,png}`` from a fixed noise."""

    def __init__(self, model, config, run_dir):
        self.model = model
        self.config = config
        self.folder = Path(run_dir) / SAMPLES_DIR_NAME
        self.noise = model.sample_noise(config.samples, seed=config.seed)

    def __call__(self, epoch: int) -> None:
        from mst.models.musegan.musegan_plots import save_windows_png  # noqa: PLC0415

        windows = self.model.generate(self.noise)
        stem = self.folder / f"epoch_{epoch + 1:04d}"
        self.folder.mkdir(parents=True, exist_ok=True)
        multitrack.write_roll_midi(stem.with_suffix(".mid"), windows[0])
        save_windows_png(stem.with_suffix(".png"), windows, titles=[f"epoch {epoch + 1}, sample {i}" for i in range(len(windows))])


class MuseGANTask:
    """MuseGAN's :class:`mst.training.driver.TrainingTask`."""

    def __init__(self, config):
        self.config = config

    @property
    def title(self) -> str:
        return f"{self.config.name}: MuseGAN WGAN-GP ({self.config.critic_steps} critic steps per generator step)"

    def steps_per_epoch(self, data_dir) -> int:
        check_dataset(self.config, data_dir)
        return int(self.config.steps_per_epoch)

    def build(self, steps_per_epoch: int, *, jit_compile: bool):
        self._steps = steps_per_epoch
        return build_compiled_musegan(self.config, steps_per_epoch, jit_compile=jit_compile)

    def optimizers(self, model) -> dict:
        return {"generator_optimizer": model.generator_optimizer, "critic_optimizer": model.critic_optimizer}

    def epoch_dataset(self, data_dir):
        batches = RealBatches(self.config, data_dir, self.config.steps_per_epoch)
        return batches.dataset

    def before_restore(self, model, epoch_dataset) -> None:
        """Nothing to create: the optimizers' slots, the metrics and the noise seed exist already."""

    def epoch_actions(self, model, context):
        if not self.config.sample_every_epochs or not context.chief:
            return []
        return [(SampleWriter(model, self.config, context.run_dir), self.config.sample_every_epochs)]

    def tensorboard_images(self, model, context):
        return None

    def export(self, model, context) -> list[Path]:
        from mst.models.musegan.musegan_export import export_musegan  # noqa: PLC0415

        return [export_musegan(model, context.run_dir / EXPORT_DIR_NAME, config=self.config,
                               info={"preset": context.preset, "global_step": context.state.step})]
