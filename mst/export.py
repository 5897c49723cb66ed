"""Exporting trained models for inference and loading them back: the part every family shares.

An export folder (``train.py`` writes ``RUN_DIR/export`` at the end of a run) holds:

==========================  ====================================================================
``saved_model/``            TensorFlow SavedModel built with ``keras.export.ExportArchive``; its
                            endpoints depend on the family (CycleGAN: ``a2b`` and ``b2a``; genre
                            classifier: ``classify``). The pianoroll families' endpoints take one
                            float32 tensor ``[None, 64, 84, 1]`` named ``phrases`` (the project's
                            {0, 1} rolls). Loading needs TensorFlow only, not mst or Keras custom
                            objects.
``*.keras``                 The models as native Keras files (``keras.saving.load_model(...,
                            safe_mode=True)`` after ``import mst``).
``export.json``             What was exported: ``kind`` (the family, see :mod:`mst.registry`),
                            labels, preset, global step, endpoint specs.
==========================  ====================================================================

The whole folder is written under a temporary name and renamed into place, so a reader never
sees a half-written export. Family specifics live in the family folders
(:mod:`mst.models.cyclegan.cyclegan_export`, :mod:`mst.models.genre_classifier.genre_classifier_export`);
:func:`load` and :func:`export_run` dispatch to them through the registry.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from mst import atomic, registry
from mst.encodings import pianoroll
from mst.runtime import import_tensorflow
from mst.training.run_dir import CHECKPOINT_DIR_NAME, EXPORT_DIR_NAME, RunDirError, load_run_config, load_run_info
from mst.errors import InputError

SAVED_MODEL_DIR_NAME = "saved_model"
EXPORT_INFO_NAME = "export.json"
INPUT_NAME = "phrases"
EXPORT_FORMAT_VERSION = 1


class ExportError(InputError):
    """A model cannot be exported or an exported/saved model cannot be loaded."""


def phrase_spec():
    """The endpoints' input signature: float32 ``[None, 64, 84, 1]`` named ``phrases``."""
    tf = import_tensorflow()
    return tf.TensorSpec([None, *pianoroll.PHRASE_SHAPE], tf.float32, name=INPUT_NAME)


def write_export(out_dir, endpoints: Mapping[str, Callable], tracked: list, keras_files: Mapping[str, object], info: dict) -> Path:
    """Writes SavedModel + ``.keras`` files + ``export.json`` into ``out_dir`` atomically.

    Args:
        out_dir: Export folder to create or replace.
        endpoints: Endpoint name -> function of one ``phrases`` tensor.
        tracked: Keras objects whose variables the SavedModel holds.
        keras_files: File name -> Keras model saved next to it.
        info: Extra ``export.json`` fields (``kind`` at least).

    Returns:
        The export folder.
    """
    import keras  # noqa: PLC0415

    final = Path(out_dir)
    temporary = atomic.fresh_staging_folder(final)
    try:
        archive = keras.export.ExportArchive()
        for resource in tracked:
            archive.track(resource)
        for name, function in endpoints.items():
            archive.add_endpoint(name=name, fn=function, input_signature=[phrase_spec()])
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
            "versions": versions(),
        }
        payload.update(info)
        atomic.write_json(temporary / EXPORT_INFO_NAME, payload)
        atomic.replace_folder(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def versions() -> dict:
    import keras  # noqa: PLC0415

    import mst  # noqa: PLC0415

    return {"mst": mst.__version__, "keras": keras.__version__, "tensorflow": import_tensorflow().__version__}


def read_export_info(directory: Path) -> dict:
    path = directory / EXPORT_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def existing_model_path(path, what: str) -> Path:
    """``Path(path)`` if something loadable may be there: the path itself or a checkpoint prefix's ``.index``.

    Raises:
        FileNotFoundError: Neither exists (``"no <what> at <path>"``).
    """
    path = Path(path)
    if not path.exists() and not Path(str(path) + ".index").exists():
        raise FileNotFoundError(f"no {what} at {path}")
    return path


def export_info_of_kind(path: Path, kind: str) -> dict | None:
    """``export.json`` of ``path`` if it is an export folder of ``kind``; ``None`` if it is no export folder.

    Every family's loader starts here, so a wrong kind gives the same message everywhere.

    Raises:
        ExportError: ``path`` is an export of another kind.
    """
    path = Path(path)
    if not (path.is_dir() and (path / EXPORT_INFO_NAME).is_file()):
        return None
    info = read_export_info(path)
    if info.get("kind") != kind:
        name = registry.family(kind).display_name
        article = "an" if name[:1].lower() in "aeiou" else "a"
        raise ExportError(f"{path} is a {info.get('kind')} export, not {article} {name}")
    return info


def is_saved_model(directory: Path) -> bool:
    return (directory / "saved_model.pb").is_file()


class UntrustedSavedModelError(ExportError):
    """A SavedModel was about to be loaded while SavedModels are not trusted (see :func:`trust_saved_models`)."""


_saved_models_trusted = True


def trust_saved_models(trusted: bool) -> None:
    """Sets whether :func:`load_saved_model` may load SavedModels in this process.

    A SavedModel is a TensorFlow graph: loading and calling it runs whatever ops it holds, which
    can read and write files (``tf.io.write_file``) or start other work; Keras' safe mode does not
    apply to it. mst's command lines (``transfer.py``, ``evaluate.py``, ``generate.py``) therefore
    call ``trust_saved_models(False)`` unless given ``--trust-saved-model`` and load an export's
    ``.keras`` files instead (safe mode: no code runs). The library default is ``True``: code that
    calls a loader on a path of its own choosing has chosen to trust it.
    """
    global _saved_models_trusted
    _saved_models_trusted = bool(trusted)


def saved_models_trusted() -> bool:
    """Whether SavedModels may be loaded (see :func:`trust_saved_models`)."""
    return _saved_models_trusted


def load_saved_model(directory: Path):
    """``tf.saved_model.load`` when SavedModels are trusted.

    Raises:
        UntrustedSavedModelError: SavedModels are not trusted in this process (the message says
            why and how to load it anyway).
    """
    if not _saved_models_trusted:
        raise UntrustedSavedModelError(
            f"{directory} is a SavedModel: loading one runs the TensorFlow ops it contains (they can read and write files), "
            "so mst's commands load the .keras files of an export in safe mode instead; give a .keras file or an export "
            "folder that has them, or pass --trust-saved-model if you trust where this SavedModel came from"
        )
    return import_tensorflow().saved_model.load(str(directory))


def load_keras(path: Path):
    """Loads a ``.keras`` file in safe mode (no Lambda code runs) with mst's classes registered."""
    import keras  # noqa: PLC0415

    registry.register_keras_objects()
    return keras.saving.load_model(str(path), safe_mode=True)


def checkpoint_location(path: Path) -> tuple[Path, str | None]:
    """``(run_dir, checkpoint prefix or None for the latest)`` for a run folder or checkpoint path."""
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


def restore_inference_weights(model, run_dir: Path, prefix: str | None, checkpoint_subdir: str) -> str:
    """Restores a model's weights from a training checkpoint (optimizer state etc. ignored).

    Variables outside the model's checkpoint dependencies
    (:func:`mst.training.checkpointing.untracked_model_variables`) are restored too; the model
    must be built (its variables created) first.
    """
    tf = import_tensorflow()
    if prefix is None:
        prefix = tf.train.latest_checkpoint(str(run_dir / checkpoint_subdir))
        if prefix is None:
            raise ExportError(f"{run_dir / checkpoint_subdir} holds no checkpoint yet")
    if not Path(prefix + ".index").is_file():
        raise ExportError(f"checkpoint {prefix} does not exist")
    from mst.training.checkpointing import untracked_model_variables  # noqa: PLC0415

    tf.train.Checkpoint(model=model).restore(prefix).expect_partial().assert_existing_objects_matched()
    # The variables a run checkpoint keeps outside the model's dependency graph come back too
    # (without them they would silently stay at their initial values); checkpoints written by
    # other code may not have them (metric trackers, seed states), hence no assertion here.
    untracked = untracked_model_variables(model)
    if untracked:
        tf.train.Checkpoint(untracked_model_variables=untracked).restore(prefix).expect_partial()
    return prefix


def run_config(run_dir: Path, family_name: str):
    """The config of a training run folder, checked to belong to ``family_name``."""
    try:
        config = load_run_config(run_dir)
    except RunDirError as error:
        raise ExportError(str(error)) from error
    expected = registry.family(family_name)
    if registry.family_of(config) is not expected:
        raise ExportError(f"{run_dir} is a {type(config).__name__} run, not a {expected.display_name} run")
    return config


def checkpoint_step(prefix: str) -> int | None:
    """Global step stored in a training checkpoint (``None`` if it has none)."""
    reader = import_tensorflow().train.load_checkpoint(prefix)
    key = "state/global_step/.ATTRIBUTES/VARIABLE_VALUE"
    return int(reader.get_tensor(key)) if reader.has_tensor(key) else None


def export_kind(path) -> str | None:
    """The family ``kind`` of an export folder, a ``.keras`` file in one, or a run folder (else ``None``)."""
    path = Path(path)
    folder = path.parent if path.suffix == ".keras" else path
    kind = read_export_info(folder).get("kind")
    if kind is None and (folder / "config.json").is_file():
        try:
            kind = registry.family_of(load_run_config(folder)).kind
        except (RunDirError, ValueError):
            return None
    return kind


def load(path):
    """Loads any model mst exported, dispatching on its family (``export.json`` or the run's config).

    Returns what the family's loader returns (e.g. a
    :class:`mst.models.cyclegan.cyclegan_export.GeneratorPair` or a
    :class:`mst.models.genre_classifier.genre_classifier_export.GenreClassifier`).

    Raises:
        ExportError: The family cannot be told from ``path``.
    """
    kind = export_kind(path)
    if kind is None:
        raise ExportError(f"{path} is not an mst export folder, .keras file in one, or training run folder")
    return registry.family(kind).resolve("loader")(path)


def export_run(run_dir, out_dir=None) -> list[Path]:
    """Exports a training run's newest checkpoint (``train.py --export-only``), by its family.

    Args:
        run_dir: Training run folder.
        out_dir: Export folder (default ``RUN_DIR/export``).

    Returns:
        The export folders written.

    Raises:
        ExportError: The folder is not a run or has no checkpoint yet.
    """
    run_dir = Path(run_dir)
    try:
        config = load_run_config(run_dir)
    except RunDirError as error:
        raise ExportError(str(error)) from error
    preset = load_run_info(run_dir).get("preset", config.name)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / EXPORT_DIR_NAME
    return registry.family_of(config).resolve("run_exporter")(run_dir, config, out_dir, preset)
