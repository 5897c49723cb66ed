"""MuseGAN exports: a SavedModel with ``generate`` and ``generate_from_seed``, ``.keras`` files, and loading them.

An export folder (kind ``musegan``; shared layout in :mod:`mst.export`) holds:

* ``saved_model/`` (loadable with ``tf.saved_model.load`` alone, no mst, no Keras objects):

  - ``generate(chords [N, z], style [N, z], melody [N, tracks, z], groove [N, tracks, z])``
    -> ``{"values": float32 [N, bars, 16, 84, tracks] in (-1, 1), "pitches": int32
    [N, tracks, bars * 16]}`` (``pitches`` = the book's argmax decoding: pitch row per step,
    row = MIDI number - pitch_offset);
  - ``generate_from_seed(seed int64 [], count int32 [])`` -> the same plus the four noise tensors,
    drawn with ``tf.random.stateless_normal`` from ``seed`` (the same seed gives the same music).

* ``generator.keras`` and ``critic.keras`` (``keras.saving.load_model(..., safe_mode=True)`` after
  importing :mod:`mst.models.musegan.musegan_generator`);
* ``export.json``: kind, config, preset, global step, the endpoints' signatures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from mst import atomic
from mst.export import (
    EXPORT_FORMAT_VERSION,
    EXPORT_INFO_NAME,
    existing_model_path,
    export_info_of_kind,
    SAVED_MODEL_DIR_NAME,
    ExportError,
    checkpoint_location,
    checkpoint_step,
    load_keras,
    restore_inference_weights,
    run_config,
    versions,
)
from mst.models.musegan.musegan_generator import NOISE_NAMES
from mst.runtime import import_tensorflow
from mst.training.run_dir import CHECKPOINT_DIR_NAME

KIND = "musegan"
GENERATOR_FILE_NAME = "generator.keras"
CRITIC_FILE_NAME = "critic.keras"


def noise_specs(z_dim: int, n_tracks: int) -> list:
    """The ``generate`` endpoint's input signature."""
    tf = import_tensorflow()
    return [
        tf.TensorSpec([None, z_dim], tf.float32, name="chords"),
        tf.TensorSpec([None, z_dim], tf.float32, name="style"),
        tf.TensorSpec([None, n_tracks, z_dim], tf.float32, name="melody"),
        tf.TensorSpec([None, n_tracks, z_dim], tf.float32, name="groove"),
    ]


def generator_endpoints(generator, z_dim: int, n_tracks: int) -> dict:
    """``{"generate": fn(4 noises), "generate_from_seed": fn(seed, count)}``."""
    tf = import_tensorflow()

    def outputs(values):
        values = tf.cast(values, tf.float32)
        shape = tf.shape(values)
        flat = tf.reshape(values, [shape[0], shape[1] * shape[2], shape[3], shape[4]])  # [N, T, 84, tracks]
        pitches = tf.transpose(tf.argmax(flat, axis=2, output_type=tf.int32), [0, 2, 1])
        return {"values": values, "pitches": pitches}

    def generate(chords, style, melody, groove):
        return outputs(generator([chords, style, melody, groove], training=False))

    def generate_from_seed(seed, count):
        base = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        noise = {}
        for index, name in enumerate(NOISE_NAMES):
            shape = [count, z_dim] if name in ("chords", "style") else [count, n_tracks, z_dim]
            noise[name] = tf.random.stateless_normal(shape, seed=base + tf.constant([0, index + 1], tf.int64))
        return {**outputs(generator([noise[name] for name in NOISE_NAMES], training=False)), **noise}

    return {"generate": generate, "generate_from_seed": generate_from_seed}


def export_musegan(model, out_dir, *, config, info: dict | None = None) -> Path:
    """Writes the export folder of a trained :class:`~mst.models.musegan.musegan.MuseGAN` atomically.

    Returns:
        The export folder.
    """
    import keras  # noqa: PLC0415

    tf = import_tensorflow()
    final = Path(out_dir)
    temporary = atomic.fresh_staging_folder(final)
    try:
        endpoints = generator_endpoints(model.generator, config.z_dim, config.n_tracks)
        archive = keras.export.ExportArchive()
        archive.track(model.generator)
        archive.add_endpoint("generate", endpoints["generate"], input_signature=noise_specs(config.z_dim, config.n_tracks))
        archive.add_endpoint("generate_from_seed", endpoints["generate_from_seed"],
                             input_signature=[tf.TensorSpec([], tf.int64, name="seed"), tf.TensorSpec([], tf.int32, name="count")])
        archive.write_out(str(temporary / SAVED_MODEL_DIR_NAME), verbose=False)
        model.generator.save(temporary / GENERATOR_FILE_NAME)
        model.critic.save(temporary / CRITIC_FILE_NAME)
        shape = [None, *config.window_shape]
        payload = {
            "format": "mst.export",
            "format_version": EXPORT_FORMAT_VERSION,
            "saved_model": SAVED_MODEL_DIR_NAME,
            "keras_files": [CRITIC_FILE_NAME, GENERATOR_FILE_NAME],
            "endpoints": {
                "generate": {"inputs": {"chords": [None, config.z_dim], "style": [None, config.z_dim],
                                        "melody": [None, config.n_tracks, config.z_dim], "groove": [None, config.n_tracks, config.z_dim]},
                             "outputs": {"values": shape, "pitches": [None, config.n_tracks, config.n_bars * config.steps_per_bar]}},
                "generate_from_seed": {"inputs": {"seed": "int64 scalar", "count": "int32 scalar"},
                                       "outputs": ["values", "pitches", *NOISE_NAMES]},
            },
            "versions": versions(),
            "kind": KIND,
            "config": config.to_dict(),
            **(info or {}),
        }
        atomic.write_json(temporary / EXPORT_INFO_NAME, payload)
        atomic.replace_folder(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


class LoadedMuseGAN:
    """A loaded MuseGAN generator (and critic when available).

    Attributes:
        config: The :class:`~mst.models.musegan.musegan_presets.MuseGANConfig` it was trained with.
        generator: Keras generator (``None`` for a SavedModel-only load).
        critic: Keras critic, or ``None``.
        source: Where it was loaded from.
    """

    def __init__(self, config, generator, critic, source: str, saved_model=None):
        self.config = config
        self.generator = generator
        self.critic = critic
        self.source = source
        self._saved_model = saved_model

    def generate(self, noise: dict, batch_size: int = 64) -> np.ndarray:
        """``[N, bars, 16, 84, tracks]`` float32 values for a dict of numpy noises."""
        tf = import_tensorflow()
        n = len(noise["chords"])
        parts = []
        for start in range(0, n, batch_size):
            batch = [tf.convert_to_tensor(np.asarray(noise[name][start : start + batch_size], np.float32)) for name in NOISE_NAMES]
            if self.generator is not None:
                parts.append(np.asarray(self.generator(batch, training=False), np.float32))
            else:
                parts.append(self._saved_model.generate(*batch)["values"].numpy())
        return np.concatenate(parts)

    def critic_scores(self, windows, batch_size: int = 64) -> np.ndarray:
        """Critic scores ``[N]`` (needs the critic)."""
        if self.critic is None:
            raise ExportError(f"{self.source} has no critic")
        windows = np.asarray(windows, np.float32)
        return np.concatenate([np.asarray(self.critic(windows[i : i + batch_size], training=False)).reshape(-1) for i in range(0, len(windows), batch_size)])


def load_musegan(path) -> LoadedMuseGAN:
    """Loads a MuseGAN from an export folder, a run folder or a checkpoint prefix.

    Raises:
        ExportError: Nothing loadable at ``path``.
        FileNotFoundError: ``path`` does not exist.
    """
    from mst import registry  # noqa: PLC0415

    path = existing_model_path(path, "MuseGAN")
    info = export_info_of_kind(path, KIND)
    if info is not None:
        config = registry.family(KIND).config_class.from_dict(info["config"])
        generator = load_keras(path / GENERATOR_FILE_NAME)
        critic = load_keras(path / CRITIC_FILE_NAME) if (path / CRITIC_FILE_NAME).is_file() else None
        return LoadedMuseGAN(config, generator, critic, str(path))
    run_dir, prefix = checkpoint_location(path)
    if not (run_dir / "config.json").is_file():
        raise ExportError(f"{path} is neither a MuseGAN export, a run folder nor a checkpoint")
    from mst.models.musegan.musegan import build_musegan  # noqa: PLC0415

    config = run_config(run_dir, "musegan")
    model = build_musegan(config)
    prefix = restore_inference_weights(model, run_dir, prefix, CHECKPOINT_DIR_NAME)
    return LoadedMuseGAN(config, model.generator, model.critic, prefix)


def export_run(run_dir: Path, config, out_dir: Path, preset: str) -> list[Path]:
    """``train.py --export-only`` for a MuseGAN run: its newest checkpoint to ``out_dir``."""
    from mst.models.musegan.musegan import build_musegan  # noqa: PLC0415

    model = build_musegan(config)
    prefix = restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
    return [export_musegan(model, out_dir, config=config, info={"preset": preset, "global_step": checkpoint_step(prefix)})]
