"""Exporting trained models for inference, and loading them back from any saved form.

An export folder (``train.py`` writes ``RUN_DIR/export`` at the end of a run) holds:

==========================  ====================================================================
``saved_model/``            TensorFlow SavedModel built with ``keras.export.ExportArchive``. CycleGAN:
                            endpoints ``a2b`` and ``b2a``; classifier: endpoint ``classify``. Every
                            endpoint takes one float32 tensor ``[None, 64, 84, 1]`` named ``phrases``
                            (the project's {0, 1} rolls). Generators return ``{"probabilities": ...,
                            "roll": ...}`` (sigmoid output and its :func:`mst.encodings.pianoroll.binarize`
                            0.5-threshold, both float32 ``[N, 64, 84, 1]``); the classifier returns
                            ``{"probabilities": [N, 2]}`` (softmax; column 0 = genre A).
                            Loading needs TensorFlow only, not mst or Keras custom objects.
``generator_a2b.keras``     Each generator as a native Keras file (``keras.saving.load_model(...,
``generator_b2a.keras``     safe_mode=True)`` after ``import mst.layers``); ``classifier.keras`` for a
                            classifier.
``export.json``             What was exported: kind, genres, preset, global step, endpoint specs.
==========================  ====================================================================

Serving without mst::

    import tensorflow as tf
    model = tf.saved_model.load("runs/jc/export/saved_model")
    out = model.a2b(tf.zeros([1, 64, 84, 1]))          # {"probabilities", "roll"}

The whole folder is written under a temporary name and renamed into place, so a reader never
sees a half-written export.

:func:`load_generators` and :func:`load_classifier` accept an export folder, a SavedModel folder,
a ``.keras`` file, a training run folder (latest checkpoint) or a checkpoint prefix; ``transfer.py``
and ``evaluate.py`` use them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import pianoroll
from mst.runtime import import_tensorflow

SAVED_MODEL_DIR_NAME = "saved_model"
EXPORT_INFO_NAME = "export.json"
GENERATOR_FILE_NAMES = {"a2b": "generator_a2b.keras", "b2a": "generator_b2a.keras"}
CLASSIFIER_FILE_NAME = "classifier.keras"
CYCLEGAN_FILE_NAME = "cyclegan.keras"
DIRECTIONS = ("a2b", "b2a")
INPUT_NAME = "phrases"
EXPORT_FORMAT_VERSION = 1


class ExportError(Exception):
    """A model cannot be exported or an exported/saved model cannot be loaded."""


def _phrase_spec():
    tf = import_tensorflow()
    return tf.TensorSpec([None, *pianoroll.PHRASE_SHAPE], tf.float32, name=INPUT_NAME)


def _generator_endpoint(generator) -> Callable:
    """``phrases -> {"probabilities", "roll"}`` for one generator, always float32 out."""
    tf = import_tensorflow()

    def transfer(phrases):
        probabilities = tf.cast(generator(phrases, training=False), tf.float32)
        return {"probabilities": probabilities, "roll": pianoroll.binarize(probabilities)}

    return transfer


def _classifier_endpoint(classifier) -> Callable:
    """``phrases -> {"probabilities": softmax [N, 2]}``; the classifier maps {0,1} to {-1,1} itself."""
    tf = import_tensorflow()

    def classify(phrases):
        logits = tf.cast(classifier(phrases, training=False), tf.float32)
        return {"probabilities": tf.nn.softmax(logits, axis=-1)}

    return classify


def _replace_directory(temporary: Path, final: Path) -> None:
    """Moves a finished folder into place, replacing an older one (old one removed afterwards)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(temporary, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_export(out_dir, endpoints: Mapping[str, Callable], tracked: list, keras_files: Mapping[str, object], info: dict) -> Path:
    """Writes SavedModel + ``.keras`` files + ``export.json`` into ``out_dir`` atomically."""
    import keras  # noqa: PLC0415

    final = Path(out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        archive = keras.export.ExportArchive()
        for resource in tracked:
            archive.track(resource)
        for name, function in endpoints.items():
            archive.add_endpoint(name=name, fn=function, input_signature=[_phrase_spec()])
        archive.write_out(str(temporary / SAVED_MODEL_DIR_NAME), verbose=False)
        for file_name, model in keras_files.items():
            model.save(temporary / file_name)  # inside the temporary folder: atomic with it
        payload = {
            "format": "mst.export",
            "format_version": EXPORT_FORMAT_VERSION,
            "saved_model": SAVED_MODEL_DIR_NAME,
            "keras_files": sorted(keras_files),
            "endpoints": {
                name: {"input": {"name": INPUT_NAME, "shape": [None, *pianoroll.PHRASE_SHAPE], "dtype": "float32", "values": "{0, 1}"}}
                for name in endpoints
            },
            "versions": _versions(),
        }
        payload.update(info)
        atomic.write_json(temporary / EXPORT_INFO_NAME, payload)
        _replace_directory(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def _versions() -> dict:
    import keras  # noqa: PLC0415

    import mst  # noqa: PLC0415

    return {"mst": mst.__version__, "keras": keras.__version__, "tensorflow": import_tensorflow().__version__}


def export_classifier(classifier, out_dir, *, config=None, info: dict | None = None) -> Path:
    """Exports a genre classifier (SavedModel with ``classify`` + ``classifier.keras``).

    Args:
        classifier: The Keras classifier (input {0, 1} phrases, output 2 logits).
        out_dir: Export folder to create or replace.
        config: Its :class:`mst.configs.ClassifierConfig` (genres and config go to ``export.json``).
        info: Extra ``export.json`` fields (checkpoint, global step, ...).

    Returns:
        The export folder.
    """
    payload = {"kind": "classifier"}
    if config is not None:
        payload.update({"genre_a": config.genre_a, "genre_b": config.genre_b, "config": config.to_dict()})
    payload.update(info or {})
    recorded = payload.get("config") or {}
    payload.setdefault("genre_a", recorded.get("genre_a"))
    payload.setdefault("genre_b", recorded.get("genre_b"))
    return _write_export(out_dir, {"classify": _classifier_endpoint(classifier)}, [classifier], {CLASSIFIER_FILE_NAME: classifier}, payload)


def export_cyclegan(model, out_dir, *, config=None, global_step: int | None = None, preset: str | None = None) -> Path:
    """Exports a trained :class:`mst.models.cyclegan.cyclegan.CycleGAN`.

    Writes the SavedModel (``a2b``, ``b2a``), ``generator_a2b.keras``, ``generator_b2a.keras`` and
    ``cyclegan.keras`` (the whole model with discriminators, pool and optimizers; it reloads with
    ``keras.saving.load_model(..., safe_mode=True)`` but holds no RNG state, so resume training
    from the run's checkpoints, not from it).

    Args:
        model: The CycleGAN.
        out_dir: Export folder to create or replace.
        config: Its :class:`mst.configs.CycleGANConfig` (recorded in ``export.json``).
        global_step: Training step of the weights.
        preset: Preset name.

    Returns:
        The export folder.
    """
    info = {"kind": "cyclegan", "global_step": global_step, "preset": preset}
    if config is not None:
        info.update({"genre_a": config.genre_a, "genre_b": config.genre_b, "config": config.to_dict()})
    generators = {"a2b": model.generator_a2b, "b2a": model.generator_b2a}
    endpoints = {direction: _generator_endpoint(generators[direction]) for direction in DIRECTIONS}
    keras_files = {GENERATOR_FILE_NAMES[direction]: generators[direction] for direction in DIRECTIONS}
    keras_files[CYCLEGAN_FILE_NAME] = model
    return _write_export(out_dir, endpoints, list(generators.values()), keras_files, info)


# --------------------------------------------------------------------------------------- loading


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

    def transfer(self, phrases, direction: str) -> np.ndarray:
        """Generator probabilities for ``[N, 64, 84, 1]`` phrases as float32 NumPy."""
        tf = import_tensorflow()
        output = self[direction](tf.convert_to_tensor(np.asarray(phrases, np.float32)))
        if isinstance(output, Mapping):
            output = output["probabilities"]
        return np.asarray(output, dtype=np.float32)


def _read_export_info(directory: Path) -> dict:
    path = directory / EXPORT_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _is_saved_model(directory: Path) -> bool:
    return (directory / "saved_model.pb").is_file()


def _load_saved_model(directory: Path):
    return import_tensorflow().saved_model.load(str(directory))


def _load_keras(path: Path):
    import keras  # noqa: PLC0415

    import mst.layers  # noqa: F401, PLC0415  (registers the custom layers)
    import mst.models  # noqa: F401, PLC0415  (registers CycleGAN, HistoryPool)
    import mst.training.schedules  # noqa: F401, PLC0415  (registers the learning-rate schedule of saved optimizers)

    return keras.saving.load_model(str(path), safe_mode=True)


def _checkpoint_location(path: Path) -> tuple[Path, str | None]:
    """``(run_dir, checkpoint prefix or None for the latest)`` for a run folder or checkpoint path."""
    from mst.training.checkpointing import CHECKPOINT_DIR_NAME  # noqa: PLC0415

    if path.is_dir():
        if path.name == CHECKPOINT_DIR_NAME:
            return path.parent, None
        return path, None
    prefix = str(path)
    for suffix in (".index",):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    checkpoint_dir = Path(prefix).parent
    run_dir = checkpoint_dir.parent if checkpoint_dir.name == CHECKPOINT_DIR_NAME else checkpoint_dir
    return run_dir, prefix


def _restore_inference_weights(model, run_dir: Path, prefix: str | None, checkpoint_subdir: str) -> str:
    """Restores a model's weights from a training checkpoint (optimizer state etc. ignored)."""
    tf = import_tensorflow()
    if prefix is None:
        prefix = tf.train.latest_checkpoint(str(run_dir / checkpoint_subdir))
        if prefix is None:
            raise ExportError(f"{run_dir / checkpoint_subdir} holds no checkpoint yet")
    if not Path(prefix + ".index").is_file():
        raise ExportError(f"checkpoint {prefix} does not exist")
    tf.train.Checkpoint(model=model).restore(prefix).expect_partial().assert_existing_objects_matched()
    return prefix


def _run_config(run_dir: Path):
    from mst.training.run_dir import load_run_config  # noqa: PLC0415

    return load_run_config(run_dir)


def load_generators(path) -> GeneratorPair:
    """Loads both generators of a CycleGAN from any of the forms mst saves.

    Accepted ``path``:

    * an export folder (``export.json`` + ``saved_model/``): the SavedModel endpoints;
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
    path = Path(path)
    if not path.exists() and not Path(str(path) + ".index").exists():
        raise FileNotFoundError(f"no model at {path}")
    if path.is_dir() and (path / EXPORT_INFO_NAME).is_file():
        info = _read_export_info(path)
        if info.get("kind") != "cyclegan":
            raise ExportError(f"{path} is a {info.get('kind')} export, not a CycleGAN")
        loaded = _load_saved_model(path / info.get("saved_model", SAVED_MODEL_DIR_NAME))
        return GeneratorPair({d: getattr(loaded, d) for d in DIRECTIONS}, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.is_dir() and _is_saved_model(path):
        loaded = _load_saved_model(path)
        missing = [d for d in DIRECTIONS if not hasattr(loaded, d)]
        if missing:
            raise ExportError(f"SavedModel {path} has no {missing} endpoint(s); it is not a CycleGAN export")
        info = _read_export_info(path.parent)
        return GeneratorPair({d: getattr(loaded, d) for d in DIRECTIONS}, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.suffix == ".keras":
        info = _read_export_info(path.parent)
        model = _load_keras(path)
        if hasattr(model, "generator_a2b"):
            generators = {"a2b": model.generator_a2b, "b2a": model.generator_b2a}
        else:
            direction = next((d for d, name in GENERATOR_FILE_NAMES.items() if path.name == name), None)
            if direction is None:
                raise ExportError(f"{path} is a single model whose direction is unknown; name it {' or '.join(GENERATOR_FILE_NAMES.values())}")
            other = "b2a" if direction == "a2b" else "a2b"
            sibling = path.parent / GENERATOR_FILE_NAMES[other]
            generators = {direction: model, other: _load_keras(sibling) if sibling.is_file() else None}
        return GeneratorPair(generators, source=str(path), kind="keras", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"))
    run_dir, prefix = _checkpoint_location(path)
    from mst.configs import CycleGANConfig  # noqa: PLC0415
    from mst.models.cyclegan.cyclegan import build_cyclegan  # noqa: PLC0415
    from mst.training.checkpointing import CHECKPOINT_DIR_NAME  # noqa: PLC0415

    if not (run_dir / "config.json").is_file():
        raise ExportError(
            f"{path} is neither an export folder, a SavedModel, a .keras file, a training run folder nor a checkpoint"
        )
    config = _run_config(run_dir)
    if not isinstance(config, CycleGANConfig):
        raise ExportError(f"{run_dir} is a {type(config).__name__} run, not a CycleGAN run")
    model = build_cyclegan(config)
    prefix = _restore_inference_weights(model, run_dir, prefix, CHECKPOINT_DIR_NAME)
    return GeneratorPair({"a2b": model.generator_a2b, "b2a": model.generator_b2a}, source=prefix, kind="checkpoint", genre_a=config.genre_a, genre_b=config.genre_b, keep_alive=model)


class GenreClassifier:
    """A loaded genre classifier: ``classifier(phrases) -> float32 [N, 2]`` softmax probabilities.

    Column 0 is genre A (the pair's first genre), column 1 genre B. Inputs are {0, 1} phrases
    ``[N, 64, 84, 1]`` (or ``[N, 64, 84]``); the {-1, +1} rescaling happens inside the model.

    Attributes:
        source: Where it was loaded from.
        kind: ``"saved_model"``, ``"keras"`` or ``"checkpoint"``.
        genre_a: Genre of class 0, when known.
        genre_b: Genre of class 1, when known.
    """

    def __init__(self, function: Callable, *, source: str, kind: str, genre_a: str | None = None, genre_b: str | None = None, keep_alive=None):
        self._function = function
        self.source = source
        self.kind = kind
        self.genre_a = genre_a
        self.genre_b = genre_b
        self._keep_alive = keep_alive

    def __call__(self, phrases, batch_size: int = 256) -> np.ndarray:
        tf = import_tensorflow()
        x = np.asarray(phrases, np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[1:] != pianoroll.PHRASE_SHAPE:
            raise ValueError(f"phrases must be [N, 64, 84(, 1)], got {np.shape(phrases)}")
        outputs = [np.asarray(self._function(tf.convert_to_tensor(x[i : i + batch_size]))["probabilities"], np.float32) for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0, 2), np.float32)


def load_classifier(path, which: str = "last") -> GenreClassifier:
    """Loads a genre classifier from an export folder, SavedModel, ``.keras`` file or run folder.

    Args:
        path: Export folder (``export.json``), SavedModel folder with a ``classify`` endpoint,
            ``classifier.keras``, a classifier run folder or a checkpoint prefix.
        which: For a run folder: ``"last"`` (newest checkpoint, what the authors' test used) or
            ``"best"`` (best noise-free test accuracy).

    Returns:
        A :class:`GenreClassifier`.

    Raises:
        ExportError: Nothing loadable at ``path``, or no best checkpoint yet.
        FileNotFoundError: ``path`` does not exist.
    """
    if which not in ("last", "best"):
        raise ValueError(f"which must be 'last' or 'best', got {which!r}")
    path = Path(path)
    if not path.exists() and not Path(str(path) + ".index").exists():
        raise FileNotFoundError(f"no classifier at {path}")
    if path.is_dir() and (path / EXPORT_INFO_NAME).is_file():
        info = _read_export_info(path)
        if info.get("kind") != "classifier":
            raise ExportError(f"{path} is a {info.get('kind')} export, not a classifier")
        loaded = _load_saved_model(path / info.get("saved_model", SAVED_MODEL_DIR_NAME))
        return GenreClassifier(loaded.classify, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.is_dir() and _is_saved_model(path):
        loaded = _load_saved_model(path)
        if not hasattr(loaded, "classify"):
            raise ExportError(f"SavedModel {path} has no 'classify' endpoint")
        return GenreClassifier(loaded.classify, source=str(path), kind="saved_model", keep_alive=loaded)
    if path.suffix == ".keras":
        model = _load_keras(path)
        info = _read_export_info(path.parent)
        return GenreClassifier(_classifier_endpoint(model), source=str(path), kind="keras", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=model)
    run_dir, prefix = _checkpoint_location(path)
    from mst.configs import ClassifierConfig  # noqa: PLC0415
    from mst.models.genre_classifier.genre_classifier import build_genre_classifier  # noqa: PLC0415
    from mst.training.checkpointing import CHECKPOINT_DIR_NAME  # noqa: PLC0415
    from mst.models.genre_classifier.genre_classifier_task import BEST_DIR_NAME  # noqa: PLC0415

    if not (run_dir / "config.json").is_file():
        raise ExportError(f"{path} is neither a classifier export, a SavedModel, a .keras file, a run folder nor a checkpoint")
    config = _run_config(run_dir)
    if not isinstance(config, ClassifierConfig):
        raise ExportError(f"{run_dir} is a {type(config).__name__} run, not a classifier run")
    model = build_genre_classifier(config.filters, seed=config.seed, name=f"classifier_{config.genre_a}_{config.genre_b}")
    subdir = BEST_DIR_NAME if which == "best" and prefix is None else CHECKPOINT_DIR_NAME
    prefix = _restore_inference_weights(model, run_dir, prefix, subdir)
    function = import_tensorflow().function(_classifier_endpoint(model), input_signature=[_phrase_spec()])
    return GenreClassifier(function, source=prefix, kind="checkpoint", genre_a=config.genre_a, genre_b=config.genre_b, keep_alive=model)


def _checkpoint_step(prefix: str) -> int | None:
    """Global step stored in a training checkpoint (``None`` if it has none)."""
    reader = import_tensorflow().train.load_checkpoint(prefix)
    key = "state/global_step/.ATTRIBUTES/VARIABLE_VALUE"
    return int(reader.get_tensor(key)) if reader.has_tensor(key) else None


def export_run(run_dir, out_dir=None) -> list[Path]:
    """Exports a training run's newest checkpoint (``train.py --export-only``).

    CycleGAN runs go to ``out_dir`` (default ``RUN_DIR/export``). Classifier runs export the
    newest checkpoint there and, when it exists, the best-test-accuracy checkpoint to
    ``RUN_DIR/export_best``.

    Args:
        run_dir: Training run folder.
        out_dir: Export folder (default ``RUN_DIR/export``).

    Returns:
        The export folders written.

    Raises:
        ExportError: The folder is not a run or has no checkpoint yet.
    """
    from mst.configs import CycleGANConfig  # noqa: PLC0415
    from mst.training.checkpointing import CHECKPOINT_DIR_NAME  # noqa: PLC0415
    from mst.training.driver import EXPORT_DIR_NAME  # noqa: PLC0415
    from mst.training.run_dir import RunDirError, load_run_config, load_run_info  # noqa: PLC0415

    run_dir = Path(run_dir)
    try:
        config = load_run_config(run_dir)
    except RunDirError as error:
        raise ExportError(str(error)) from error
    preset = load_run_info(run_dir).get("preset", config.name)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / EXPORT_DIR_NAME
    if isinstance(config, CycleGANConfig):
        from mst.models.cyclegan.cyclegan import build_cyclegan  # noqa: PLC0415

        model = build_cyclegan(config)
        prefix = _restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
        return [export_cyclegan(model, out_dir, config=config, global_step=_checkpoint_step(prefix), preset=preset)]
    from mst.models.genre_classifier.genre_classifier import build_genre_classifier  # noqa: PLC0415
    from mst.models.genre_classifier.genre_classifier_task import BEST_DIR_NAME, BEST_EXPORT_DIR_NAME, read_best_info  # noqa: PLC0415

    model = build_genre_classifier(config.filters, seed=config.seed, name=f"classifier_{config.genre_a}_{config.genre_b}")
    prefix = _restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
    written = [export_classifier(model, out_dir, config=config, info={"preset": preset, "checkpoint": "last", "global_step": _checkpoint_step(prefix)})]
    if import_tensorflow().train.latest_checkpoint(str(run_dir / BEST_DIR_NAME)) is not None:
        _restore_inference_weights(model, run_dir, None, BEST_DIR_NAME)
        best = {"preset": preset, "checkpoint": "best", **read_best_info(run_dir)}
        written.append(export_classifier(model, run_dir / BEST_EXPORT_DIR_NAME, config=config, info=best))
    return written
