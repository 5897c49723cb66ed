"""CycleGAN exports: the generators' SavedModel endpoints and ``.keras`` files, and loading them back.

An export folder of a CycleGAN (kind ``cyclegan``) holds the SavedModel with endpoints ``a2b`` and
``b2a`` (each ``phrases -> {"probabilities", "roll"}``: the sigmoid output and its
:func:`mst.encodings.pianoroll.binarize` 0.5-threshold, float32 ``[N, 64, 84, 1]``),
``generator_a2b.keras``, ``generator_b2a.keras`` and ``cyclegan.keras`` (see
:mod:`mst.export` for the shared layout).

Serving without mst::

    import tensorflow as tf
    model = tf.saved_model.load("runs/jc/export/saved_model")
    out = model.a2b(tf.zeros([1, 64, 84, 1]))          # {"probabilities", "roll"}

:func:`load_generators` accepts an export folder, a SavedModel folder, a ``.keras`` file, a
training run folder (latest checkpoint) or a checkpoint prefix; ``transfer.py`` and
``evaluate.py`` use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from mst.encodings import pianoroll
from mst.export import (
    existing_model_path,
    export_info_of_kind,
    saved_models_trusted,
    SAVED_MODEL_DIR_NAME,
    ExportError,
    checkpoint_location,
    checkpoint_step,
    is_saved_model,
    load_keras,
    load_saved_model,
    read_export_info,
    restore_inference_weights,
    run_config,
    write_export,
)
from mst.models.cyclegan.cyclegan_presets import DIRECTIONS, other_direction
from mst.runtime import import_tensorflow
from mst.training.run_dir import CHECKPOINT_DIR_NAME

KIND = "cyclegan"
GENERATOR_FILE_NAMES = {"a2b": "generator_a2b.keras", "b2a": "generator_b2a.keras"}
CYCLEGAN_FILE_NAME = "cyclegan.keras"


def generator_endpoint(generator) -> Callable:
    """``phrases -> {"probabilities", "roll"}`` for one generator, always float32 out."""
    tf = import_tensorflow()

    def transfer(phrases):
        probabilities = tf.cast(generator(phrases, training=False), tf.float32)
        return {"probabilities": probabilities, "roll": pianoroll.binarize(probabilities)}

    return transfer


def export_cyclegan(model, out_dir, *, config=None, global_step: int | None = None, preset: str | None = None) -> Path:
    """Exports a trained :class:`mst.models.cyclegan.cyclegan.CycleGAN`.

    Writes the SavedModel (``a2b``, ``b2a``), ``generator_a2b.keras``, ``generator_b2a.keras`` and
    ``cyclegan.keras`` (the whole model with discriminators, pool and optimizers; it reloads with
    ``keras.saving.load_model(..., safe_mode=True)`` but holds no RNG state, so resume training
    from the run's checkpoints, not from it).

    Args:
        model: The CycleGAN.
        out_dir: Export folder to create or replace.
        config: Its :class:`mst.models.cyclegan.cyclegan_presets.CycleGANConfig` (recorded in ``export.json``).
        global_step: Training step of the weights.
        preset: Preset name.

    Returns:
        The export folder.
    """
    info = {"kind": KIND, "global_step": global_step, "preset": preset}
    if config is not None:
        info.update({"genre_a": config.genre_a, "genre_b": config.genre_b, "config": config.to_dict()})
    generators = {"a2b": model.generator_a2b, "b2a": model.generator_b2a}
    endpoints = {direction: generator_endpoint(generators[direction]) for direction in DIRECTIONS}
    keras_files = {GENERATOR_FILE_NAMES[direction]: generators[direction] for direction in DIRECTIONS}
    keras_files[CYCLEGAN_FILE_NAME] = model
    return write_export(out_dir, endpoints, list(generators.values()), keras_files, info)


class GeneratorPair(Mapping):
    """The two generators of a model as a read-only mapping ``{"a2b": g, "b2a": g}``.

    Each value maps float32 ``[N, 64, 84, 1]`` {0, 1} phrases to probabilities of the same shape:
    a Keras model, or a SavedModel endpoint returning ``{"probabilities", "roll"}``.
    :meth:`transfer` gives NumPy probabilities for either kind.

    Attributes:
        source: Where the generators were loaded from.
        kind: ``"saved_model"``, ``"keras"`` or ``"checkpoint"``.
        genre_a: Genre of domain A, when known.
        genre_b: Genre of domain B, when known.
    """

    def __init__(self, generators: Mapping[str, object], *, source: str, kind: str, genre_a: str | None = None, genre_b: str | None = None, keep_alive=None):
        self._generators = {direction: generators[direction] for direction in DIRECTIONS if generators.get(direction) is not None}
        self.source = source
        self.kind = kind
        self.genre_a = genre_a
        self.genre_b = genre_b
        self._keep_alive = keep_alive  # the loaded SavedModel owns the endpoints' variables

    def __getitem__(self, direction: str):
        return self._generators[direction]

    def __iter__(self) -> Iterator[str]:
        return iter(self._generators)

    def __len__(self) -> int:
        return len(self._generators)

    def transfer(self, phrases, direction: str, batch_size: int = 64) -> np.ndarray:
        """Generator probabilities for ``[N, 64, 84(, 1)]`` phrases as float32 NumPy ``[N, 64, 84, 1]``."""
        tf = import_tensorflow()
        generator = self[direction]

        def run(batch):
            output = generator(tf.convert_to_tensor(batch))
            return output["probabilities"] if isinstance(output, Mapping) else output

        return pianoroll.map_phrase_batches(run, phrases, batch_size)


def load_generators(path) -> GeneratorPair:
    """Loads both generators of a CycleGAN from any of the forms mst saves.

    Accepted ``path``:

    * an export folder (``export.json`` + ``saved_model/``): the SavedModel endpoints, or its
      ``.keras`` files when SavedModels are not trusted (:func:`mst.export.trust_saved_models`);
    * a SavedModel folder (``saved_model.pb``) with ``a2b``/``b2a`` endpoints;
    * a ``.keras`` file: ``cyclegan.keras`` (both generators), or ``generator_a2b.keras`` /
      ``generator_b2a.keras`` (the other direction is taken from the same folder when present);
    * a training run folder (its newest checkpoint) or a checkpoint prefix
      ``RUN_DIR/checkpoints/ckpt-N``: the model is rebuilt from ``config.json``.

    Returns:
        A :class:`GeneratorPair`; ``dict(pair)`` gives ``{"a2b": g, "b2a": g}``.

    Raises:
        ExportError: Nothing loadable at ``path`` (the message says what was expected).
        FileNotFoundError: ``path`` does not exist.
    """
    path = existing_model_path(path, "model")
    info = export_info_of_kind(path, KIND)
    if info is not None:
        if not saved_models_trusted():  # the export's .keras files, in safe mode
            for name in (GENERATOR_FILE_NAMES["a2b"], GENERATOR_FILE_NAMES["b2a"], CYCLEGAN_FILE_NAME):
                if (path / name).is_file():
                    return load_generators(path / name)
        loaded = load_saved_model(path / info.get("saved_model", SAVED_MODEL_DIR_NAME))
        return GeneratorPair({d: getattr(loaded, d) for d in DIRECTIONS}, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.is_dir() and is_saved_model(path):
        loaded = load_saved_model(path)
        missing = [d for d in DIRECTIONS if not hasattr(loaded, d)]
        if missing:
            raise ExportError(f"SavedModel {path} has no {missing} endpoint(s); it is not a CycleGAN export")
        info = read_export_info(path.parent)
        return GeneratorPair({d: getattr(loaded, d) for d in DIRECTIONS}, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.suffix == ".keras":
        info = read_export_info(path.parent)
        model = load_keras(path)
        if hasattr(model, "generator_a2b"):
            generators = {"a2b": model.generator_a2b, "b2a": model.generator_b2a}
        else:
            direction = next((d for d, name in GENERATOR_FILE_NAMES.items() if path.name == name), None)
            if direction is None:
                raise ExportError(f"{path} is a single model whose direction is unknown; name it {' or '.join(GENERATOR_FILE_NAMES.values())}")
            other = other_direction(direction)
            sibling = path.parent / GENERATOR_FILE_NAMES[other]
            generators = {direction: model, other: load_keras(sibling) if sibling.is_file() else None}
        return GeneratorPair(generators, source=str(path), kind="keras", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"))
    run_dir, prefix = checkpoint_location(path)
    from mst.models.cyclegan.cyclegan import build_cyclegan  # noqa: PLC0415

    if not (run_dir / "config.json").is_file():
        raise ExportError(
            f"{path} is neither an export folder, a SavedModel, a .keras file, a training run folder nor a checkpoint"
        )
    config = run_config(run_dir, KIND)
    model = build_cyclegan(config)
    prefix = restore_inference_weights(model, run_dir, prefix, CHECKPOINT_DIR_NAME)
    return GeneratorPair({"a2b": model.generator_a2b, "b2a": model.generator_b2a}, source=prefix, kind="checkpoint", genre_a=config.genre_a, genre_b=config.genre_b, keep_alive=model)




def export_run(run_dir: Path, config, out_dir: Path, preset: str) -> list[Path]:
    """``train.py --export-only`` for a CycleGAN run: the newest checkpoint to ``out_dir``."""
    from mst.models.cyclegan.cyclegan import build_cyclegan  # noqa: PLC0415

    model = build_cyclegan(config)
    prefix = restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
    return [export_cyclegan(model, out_dir, config=config, global_step=checkpoint_step(prefix), preset=preset)]
