"""Genre-classifier exports: the ``classify`` SavedModel endpoint and ``classifier.keras``, and loading them.

An export folder of a classifier (kind ``classifier``) holds the SavedModel with endpoint
``classify`` (``phrases -> {"probabilities": softmax [N, 2]}``, column 0 = genre A) and
``classifier.keras`` (see :mod:`mst.export` for the shared layout). A classifier run also exports
its best-test-accuracy checkpoint to ``RUN_DIR/export_best``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    phrase_spec,
    read_export_info,
    restore_inference_weights,
    run_config,
    write_export,
)
from mst.runtime import import_tensorflow
from mst.training.run_dir import BEST_DIR_NAME, BEST_EXPORT_DIR_NAME, BEST_INFO_NAME, CHECKPOINT_DIR_NAME

KIND = "classifier"
CLASSIFIER_FILE_NAME = "classifier.keras"


def classifier_endpoint(classifier) -> Callable:
    """``phrases -> {"probabilities": softmax [N, 2]}``; the classifier maps {0,1} to {-1,1} itself."""
    tf = import_tensorflow()

    def classify(phrases):
        logits = tf.cast(classifier(phrases, training=False), tf.float32)
        return {"probabilities": tf.nn.softmax(logits, axis=-1)}

    return classify


def export_classifier(classifier, out_dir, *, config=None, info: dict | None = None) -> Path:
    """Exports a genre classifier (SavedModel with ``classify`` + ``classifier.keras``).

    Args:
        classifier: The Keras classifier (input {0, 1} phrases, output 2 logits).
        out_dir: Export folder to create or replace.
        config: Its :class:`mst.models.genre_classifier.genre_classifier_presets.ClassifierConfig` (genres and config go to ``export.json``).
        info: Extra ``export.json`` fields (checkpoint, global step, ...).

    Returns:
        The export folder.
    """
    payload = {"kind": KIND}
    if config is not None:
        payload.update({"genre_a": config.genre_a, "genre_b": config.genre_b, "config": config.to_dict()})
    payload.update(info or {})
    recorded = payload.get("config") or {}
    payload.setdefault("genre_a", recorded.get("genre_a"))
    payload.setdefault("genre_b", recorded.get("genre_b"))
    return write_export(out_dir, {"classify": classifier_endpoint(classifier)}, [classifier], {CLASSIFIER_FILE_NAME: classifier}, payload)


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
        return pianoroll.map_phrase_batches(lambda batch: self._function(tf.convert_to_tensor(batch))["probabilities"], phrases, batch_size, output_shape=(2,))


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
    path = existing_model_path(path, "classifier")
    info = export_info_of_kind(path, KIND)
    if info is not None:
        if not saved_models_trusted() and (path / CLASSIFIER_FILE_NAME).is_file():
            return load_classifier(path / CLASSIFIER_FILE_NAME)  # safe mode (see mst.export.trust_saved_models)
        loaded = load_saved_model(path / info.get("saved_model", SAVED_MODEL_DIR_NAME))
        return GenreClassifier(loaded.classify, source=str(path), kind="saved_model", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=loaded)
    if path.is_dir() and is_saved_model(path):
        loaded = load_saved_model(path)
        if not hasattr(loaded, "classify"):
            raise ExportError(f"SavedModel {path} has no 'classify' endpoint")
        return GenreClassifier(loaded.classify, source=str(path), kind="saved_model", keep_alive=loaded)
    if path.suffix == ".keras":
        model = load_keras(path)
        info = read_export_info(path.parent)
        return GenreClassifier(classifier_endpoint(model), source=str(path), kind="keras", genre_a=info.get("genre_a"), genre_b=info.get("genre_b"), keep_alive=model)
    run_dir, prefix = checkpoint_location(path)
    from mst.models.genre_classifier.genre_classifier import build_classifier_for  # noqa: PLC0415

    if not (run_dir / "config.json").is_file():
        raise ExportError(f"{path} is neither a classifier export, a SavedModel, a .keras file, a run folder nor a checkpoint")
    config = run_config(run_dir, KIND)
    model = build_classifier_for(config)
    subdir = BEST_DIR_NAME if which == "best" and prefix is None else CHECKPOINT_DIR_NAME
    prefix = restore_inference_weights(model, run_dir, prefix, subdir)
    function = import_tensorflow().function(classifier_endpoint(model), input_signature=[phrase_spec()])
    return GenreClassifier(function, source=prefix, kind="checkpoint", genre_a=config.genre_a, genre_b=config.genre_b, keep_alive=model)




def read_best_info(run_dir) -> dict:
    """``best.json`` of a classifier run (empty dict before the first evaluation)."""
    import json  # noqa: PLC0415

    path = Path(run_dir) / BEST_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def export_run(run_dir: Path, config, out_dir: Path, preset: str) -> list[Path]:
    """``train.py --export-only`` for a classifier run: the newest checkpoint to ``out_dir`` and,
    when it exists, the best-test-accuracy checkpoint to ``RUN_DIR/export_best``."""
    from mst.models.genre_classifier.genre_classifier import build_classifier_for  # noqa: PLC0415

    model = build_classifier_for(config)
    prefix = restore_inference_weights(model, run_dir, None, CHECKPOINT_DIR_NAME)
    written = [export_classifier(model, out_dir, config=config, info={"preset": preset, "checkpoint": "last", "global_step": checkpoint_step(prefix)})]
    if import_tensorflow().train.latest_checkpoint(str(run_dir / BEST_DIR_NAME)) is not None:
        restore_inference_weights(model, run_dir, None, BEST_DIR_NAME)
        best = {"preset": preset, "checkpoint": "best", **read_best_info(run_dir)}
        written.append(export_classifier(model, run_dir / BEST_EXPORT_DIR_NAME, config=config, info=best))
    return written
