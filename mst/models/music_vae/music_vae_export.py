"""MusicVAE exports: a SavedModel with ``encode`` / ``decode`` / ``sample`` signatures, ``music_vae.keras``, and loading.

An export folder (kind ``music_vae``) holds:

* ``saved_model/`` (``tf.saved_model.save`` of a ``tf.Module``; needs TensorFlow only):

  - ``encode(inputs: float32 [N, T, D]) -> {"mu", "sigma": float32 [N, z]}``;
  - ``decode(z: float32 [N, z], temperature: float32 []) -> {"outputs": float32 [N, T, D]}``,
    sampled in the graph (grooves: hits drawn from Bernoulli(sigmoid(logits / T)), velocities
    and offsets their sigmoid / tanh values; melodies: one-hot draws from softmax(logits / T));
  - ``sample(n: int32 [], temperature: float32 []) -> {"outputs", "z"}`` (``z ~ N(0, I)``);

  ``T`` = ``max_seq_len`` and ``D`` = 27 (groove: 9 hits, 9 velocities, 9 offsets) or 90 (melody).
* ``music_vae.keras`` (``keras.saving.load_model(..., safe_mode=True)`` after ``import mst``);
* ``export.json`` (``kind``, ``config``, preset, global step, signature specs).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from mst import atomic
from mst.export import EXPORT_INFO_NAME, SAVED_MODEL_DIR_NAME, ExportError, existing_model_path, export_info_of_kind, checkpoint_location, checkpoint_step, load_keras, run_config, versions
from mst.runtime import import_tensorflow
from mst.training.run_dir import CHECKPOINT_DIR_NAME

KIND = "music_vae"
KERAS_FILE_NAME = "music_vae.keras"


def inference_module(model):
    """A ``tf.Module`` holding the model with the three signatures' functions."""
    tf = import_tensorflow()
    steps, depth, z_size = model.max_seq_len, model.output_depth, model.z_size

    class MusicVAEModule(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None, steps, depth], tf.float32, name="inputs")])
        def encode(self, inputs):
            mu, sigma = self.model.encode(inputs, training=False)
            return {"mu": mu, "sigma": sigma}

        @tf.function(input_signature=[tf.TensorSpec([None, z_size], tf.float32, name="z"), tf.TensorSpec([], tf.float32, name="temperature")])
        def decode(self, z, temperature):
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
            outputs, _ = self.model.decode_sampled(z, temperature, seed)
            return {"outputs": outputs}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n"), tf.TensorSpec([], tf.float32, name="temperature")])
        def sample(self, n, temperature):
            z = tf.random.normal([n, z_size])
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
            outputs, _ = self.model.decode_sampled(z, temperature, seed)
            return {"outputs": outputs, "z": z}

    return MusicVAEModule()


def export_music_vae(model, out_dir, *, config=None, info: dict | None = None) -> Path:
    """Writes the export folder atomically (see the module docstring); returns it."""
    tf = import_tensorflow()
    final = Path(out_dir)
    temporary = atomic.fresh_staging_folder(final)
    try:
        module = inference_module(model)
        tf.saved_model.save(module, str(temporary / SAVED_MODEL_DIR_NAME),
                            signatures={"encode": module.encode, "decode": module.decode, "sample": module.sample})
        model.save(temporary / KERAS_FILE_NAME)
        spec = [None, model.max_seq_len, model.output_depth]
        payload = {
            "format": "mst.export", "format_version": 1, "kind": KIND, "saved_model": SAVED_MODEL_DIR_NAME, "keras_files": [KERAS_FILE_NAME],
            "endpoints": {
                "encode": {"inputs": {"shape": spec, "dtype": "float32"}, "outputs": ["mu", "sigma"]},
                "decode": {"z": {"shape": [None, model.z_size], "dtype": "float32"}, "temperature": {"shape": [], "dtype": "float32"}, "outputs": ["outputs"]},
                "sample": {"n": {"shape": [], "dtype": "int32"}, "temperature": {"shape": [], "dtype": "float32"}, "outputs": ["outputs", "z"]},
            },
            "encoding": "groove" if model.output_depth == 27 else "melody_onehot",
            "versions": versions(),
        }
        if config is not None:
            payload["config"] = config.to_dict()
            payload["config_class"] = type(config).__name__
        payload.update(info or {})
        atomic.write_json(temporary / EXPORT_INFO_NAME, payload)
        atomic.replace_folder(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def restore_run_weights(model, run_dir: Path, prefix: str | None, config=None) -> str:
    """Restores a model's weights from a training checkpoint, the untracked ones included.

    The driver's checkpoints hold the weights Keras' attribute tracking reaches under ``model/``
    and the rest (here the bidirectional encoder's inner LSTMs) by Keras path under
    ``untracked_model_variables/`` (:mod:`mst.training.checkpointing`); both are restored.

    Raises:
        ExportError: No checkpoint, or one that does not fit the model.
    """
    tf = import_tensorflow()
    if getattr(model, "optimizer", None) is None and config is not None:
        # Compiled as in training: Keras' attribute tracking reaches the LSTM cells' weights
        # through the optimizer only, so the checkpoint's layout needs it.
        from mst.models.music_vae.music_vae import make_optimizer  # noqa: PLC0415

        model.compile(optimizer=make_optimizer(config))
        model.optimizer.build(model.trainable_variables)
    if prefix is None:
        prefix = tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR_NAME))
        if prefix is None:
            raise ExportError(f"{Path(run_dir) / CHECKPOINT_DIR_NAME} holds no checkpoint yet")
    if not Path(prefix + ".index").is_file():
        raise ExportError(f"checkpoint {prefix} does not exist")
    reachable = {id(t) for t in tf.train.TrackableView(model).descendants()}
    untracked, seen = {}, set()
    for variable in model.variables:
        if id(variable) in reachable or id(variable) in seen:
            continue
        seen.add(id(variable))
        key, suffix = variable.path, 1
        while key in untracked:
            suffix += 1
            key = f"{variable.path}#{suffix}"
        untracked[key] = variable
    for variable in model.metrics_variables:
        if id(variable) not in reachable and id(variable) not in seen:
            seen.add(id(variable))
            key, suffix = variable.path, 1
            while key in untracked:
                suffix += 1
                key = f"{variable.path}#{suffix}"
            untracked[key] = variable
    # Dropout seed states do not matter for inference (and their names depend on the mst version).
    untracked = {key: variable for key, variable in untracked.items() if not key.endswith("seed_generator_state")}
    try:
        tf.train.Checkpoint(model=model, untracked_model_variables=untracked).restore(prefix).expect_partial().assert_existing_objects_matched()
    except AssertionError as error:
        raise ExportError(f"checkpoint {prefix} does not fit the model of the run's config: {error}") from None
    return prefix


class LoadedMusicVAE:
    """A loaded MusicVAE: ``encode``, ``decode``, ``sample`` on numpy arrays, from any source.

    Attributes:
        model: The Keras model (``None`` for a SavedModel).
        config: The config when known (``None`` otherwise).
        source: Where it was loaded from.
        kind: ``saved_model``, ``keras`` or ``checkpoint``.
    """

    def __init__(self, *, model=None, saved=None, config=None, source: str = "", kind: str = ""):
        self.model = model
        self._saved = saved
        self.config = config
        self.source = source
        self.kind = kind
        if model is not None:
            self.max_seq_len, self.output_depth, self.z_size = model.max_seq_len, model.output_depth, model.z_size
        else:
            spec = saved.signatures["decode"].structured_input_signature[1]["z"]
            self.z_size = int(spec.shape[-1])
            encode_spec = saved.signatures["encode"].structured_input_signature[1]["inputs"]
            self.max_seq_len, self.output_depth = int(encode_spec.shape[1]), int(encode_spec.shape[2])

    @property
    def encoding(self) -> str:
        return "groove" if self.output_depth == 27 else "melody_onehot"

    def encode(self, inputs) -> tuple[np.ndarray, np.ndarray]:
        tf = import_tensorflow()
        inputs = tf.constant(np.asarray(inputs, np.float32))
        if self.model is not None:
            mu, sigma = self.model.encode(inputs)
            return mu.numpy(), sigma.numpy()
        out = self._saved.signatures["encode"](inputs=inputs)
        return out["mu"].numpy(), out["sigma"].numpy()

    def decode(self, z, temperature: float = 0.5, seed: int | None = None) -> np.ndarray:
        tf = import_tensorflow()
        z = tf.constant(np.asarray(z, np.float32))
        if self.model is not None:
            seed = np.random.default_rng().integers(0, 2**31 - 1) if seed is None else seed
            return self.model.decode_sampled(z, float(temperature), (int(seed), 7))[0].numpy()
        return self._saved.signatures["decode"](z=z, temperature=tf.constant(float(temperature)))["outputs"].numpy()

    def sample(self, n: int, temperature: float = 0.5, seed: int | None = None) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, self.z_size)).astype(np.float32)
        return self.decode(z, temperature, seed)


def load_music_vae(path) -> LoadedMusicVAE:
    """Loads a MusicVAE from an export folder, its SavedModel, ``music_vae.keras``, a run folder or a checkpoint.

    Raises:
        ExportError: Nothing loadable at ``path``.
        FileNotFoundError: ``path`` does not exist.
    """
    path = existing_model_path(path, "MusicVAE")
    tf = import_tensorflow()
    info = export_info_of_kind(path, KIND)
    if info is not None:
        config = None
        if "config" in info:
            from mst.models.music_vae.music_vae_presets import MusicVAEConfig  # noqa: PLC0415

            config = MusicVAEConfig.from_dict(info["config"])
        model = load_keras(path / KERAS_FILE_NAME) if (path / KERAS_FILE_NAME).is_file() else None
        if model is not None:
            return LoadedMusicVAE(model=model, config=config, source=str(path), kind="keras")
        return LoadedMusicVAE(saved=tf.saved_model.load(str(path / SAVED_MODEL_DIR_NAME)), config=config, source=str(path), kind="saved_model")
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return LoadedMusicVAE(saved=tf.saved_model.load(str(path)), source=str(path), kind="saved_model")
    if path.suffix == ".keras":
        return LoadedMusicVAE(model=load_keras(path), source=str(path), kind="keras")
    run_dir, prefix = checkpoint_location(path)
    if not (run_dir / "config.json").is_file():
        raise ExportError(f"{path} is neither a MusicVAE export, a SavedModel, a .keras file, a run folder nor a checkpoint")
    config = run_config(run_dir, KIND)
    from mst.models.music_vae.music_vae import build_music_vae  # noqa: PLC0415

    model = build_music_vae(config)
    prefix = restore_run_weights(model, run_dir, prefix, config)
    return LoadedMusicVAE(model=model, config=config, source=prefix, kind="checkpoint")


def export_run(run_dir: Path, config, out_dir: Path, preset: str) -> list[Path]:
    """``train.py --export-only`` for a MusicVAE run (the newest checkpoint)."""
    from mst.models.music_vae.music_vae import build_music_vae  # noqa: PLC0415

    model = build_music_vae(config)
    prefix = restore_run_weights(model, Path(run_dir), None, config)
    return [export_music_vae(model, out_dir, config=config, info={"preset": preset, "global_step": checkpoint_step(prefix)})]
