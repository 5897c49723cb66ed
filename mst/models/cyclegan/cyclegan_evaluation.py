"""The evaluation protocol of a CycleGAN genre-transfer model: the paper's classifier table and more.

What :func:`evaluate_model` (``evaluate.py cyclegan``) computes, following Brunner et al. 2018 and
the authors' code (``cyclegan.test``, ``style_classifier.py``):

1. Every **test** phrase of genre A goes through G_A→B, every test phrase of B through G_B→A. The
   cycle is computed from the **continuous** transfer (as ``cyclegan.test`` did); only then are the
   transfer and the cycle each binarized at 0.5 (:func:`mst.encodings.pianoroll.binarize`).
2. The pair's genre classifier scores origin, transfer and cycle (softmax). Rows A, A→B, A→B→A hold
   P_A of A's phrases, rows B, B→A, B→A→B hold P_B of B's. Each cell is the percentage of phrases
   classified as the **source** genre (P_source > 0.5, the code's argmax count); the mean
   probabilities are kept too. The transfer strength S^D_tot comes from
   :mod:`mst.models.cyclegan.strength`, which also ranks the phrases as the authors' ranking file.
3. Beyond the classifier: per-set music metrics (mean ± std), content preservation between each
   phrase and its transfer (onset P/R/F1, Jaccard, pitch-class cosine), cycle L1, the KDE
   overlapping area / KL divergence between the transfers and the target genre's real test phrases
   next to the same numbers for source versus target (how far apart the genres are before any
   transfer), and the collapse statistics of :mod:`mst.metrics.collapse` (does the output carry
   its input, is it music at all?).

The report files are written by :mod:`mst.models.cyclegan.cyclegan_report`, sweeps over several
evaluations by :mod:`mst.models.cyclegan.cyclegan_sweep`, and the classifier's own accuracy table
by :mod:`mst.models.genre_classifier.genre_classifier_evaluation`; all of them load models, test
phrases and run folders through this module.

Everything is deterministic for a given ``seed``: inference has no randomness, the seed drives only
the optional subsampling (``limit``).

Example (in-memory models: an identity "generator" leaves every phrase as it is, so each transfer
row equals its origin row and the transfer strength is 0):
    >>> import numpy as np
    >>> a = TestPhrases.from_rolls("jazz", np.eye(64, 84, dtype=bool)[None].repeat(3, 0))
    >>> b = TestPhrases.from_rolls("pop", np.eye(64, 84, k=20, dtype=bool)[None].repeat(2, 0))
    >>> identity = {"a2b": lambda x: x, "b2a": lambda x: x}
    >>> def pitch_classifier(x):  # class 0 (jazz) when the notes sit low
    ...     x = np.asarray(x)
    ...     low, high = x[:, :, :42].sum(axis=(1, 2, 3)), x[:, :, 42:].sum(axis=(1, 2, 3))
    ...     return np.stack([low - high, high - low], axis=1)
    >>> run = evaluate_transfer(identity, as_classifier(pitch_classifier, output="logits"), a, b)
    >>> run.result.table().as_dict()["A→B"], run.result.strength().total
    (100.0, 0.0)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mst import export, records, registry
from mst.encodings import pianoroll
from mst.metrics.collapse import collapse_statistics, collapse_warnings
from mst.metrics.content import content_difference, content_preservation, onset_precision_recall_f1
from mst.metrics.distribution import compare_metric_distributions
from mst.metrics.music import SCALAR_METRICS, scalar_metrics
from mst.models.cyclegan import cyclegan_export
from mst.models.cyclegan.cyclegan_presets import DIRECTIONS, other_direction
from mst.models.cyclegan.paper_tables import PaperColumn, paper_columns
from mst.models.cyclegan.strength import (
    STATISTICS,
    TABLE_ROW_LABELS,
    ClassifierTable,
    DirectionProbabilities,
    StrengthScores,
    TransferRanking,
    classifier_table,
    rank_transfers,
    transfer_strength,
)
from mst.models.genre_classifier import genre_classifier_export
from mst.records import pianoroll_reader
from mst.runtime import import_tensorflow
from mst.training import run_dir

RESULTS_FORMAT = "mst.models.cyclegan.cyclegan_evaluation"
RESULTS_FORMAT_VERSION = 1
RESULTS_NAME = "results.json"
"""The results file of a report folder (what :func:`load_results` reads)."""

DEFAULT_BATCH_SIZE = 64
CLASSIFIER_CHECKPOINTS = ("last", "best")
VARIANT_ORDER = ("base", "partial", "full")


class EvaluationError(Exception):
    """An evaluation could not be completed (a model failed, produced NaN, ...)."""


class EvaluationInputError(EvaluationError):
    """The inputs of an evaluation are unusable: a missing model, classifier or dataset, a genre the
    dataset does not have, an empty test split, genres that do not match the models, bad options."""


# ============================================================================ small helpers


def check_positive_int(name: str, value, *, allow_none: bool = False) -> None:
    """Raises :class:`EvaluationInputError` unless ``value`` is an integer >= 1 (or ``None`` if allowed).

    Example:
        >>> check_positive_int("limit", None, allow_none=True)
        >>> check_positive_int("batch_size", 0)
        Traceback (most recent call last):
        ...
        mst.models.cyclegan.cyclegan_evaluation.EvaluationInputError: batch_size must be a positive integer, got 0
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EvaluationInputError(f"{name} must be a positive integer, got {value!r}")


def _genre_rng(seed: int, genre: str, *extra: int) -> np.random.Generator:
    """A generator that depends on the seed and the genre name only (not on the pair or its order)."""
    return np.random.default_rng([int(seed), zlib.crc32(genre.encode("utf-8")), *extra])


def _float_array(values) -> np.ndarray:
    """A list from JSON (``None`` for NaN) back to float64."""
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _nan_for_none(summary: Mapping) -> dict:
    """A JSON summary dict with ``None`` (written for NaN) read back as NaN."""
    return {key: (float("nan") if value is None else value) for key, value in summary.items()}


def mean_std(values) -> dict[str, float]:
    """``{"mean", "std", "count", "nan_count"}`` of an array, NaN entries left out.

    Example:
        >>> mean_std([1.0, 3.0, float("nan")])
        {'mean': 2.0, 'std': 1.0, 'count': 2, 'nan_count': 1}
    """
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    return {
        "mean": float(finite.mean()) if finite.size else float("nan"),
        "std": float(finite.std()) if finite.size else float("nan"),
        "count": int(finite.size),
        "nan_count": int(array.size - finite.size),
    }


def library_versions() -> dict:
    """Versions of mst, Python, NumPy, TensorFlow and Keras (:func:`mst.export.versions`), for the records."""
    recorded = export.versions()
    return {"mst": recorded["mst"], "python": sys.version.split()[0], "numpy": np.__version__, "tensorflow": recorded["tensorflow"], "keras": recorded["keras"]}


def _require_path(path, what: str) -> Path:
    if path is None:
        raise EvaluationInputError(f"no {what} given")
    resolved = Path(path)
    if not resolved.exists():
        raise EvaluationInputError(f"{what} not found: {path}")
    return resolved


# ============================================================================ what a model folder says


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What the files next to a model say about it (a run's ``config.json`` + ``run.json``, ``export.json``).

    Attributes:
        path: The path as given.
        kind: ``"cyclegan"``, ``"classifier"`` or ``None`` when unknown.
        genre_a: Genre A (class 0 of a classifier), or ``None``.
        genre_b: Genre B (class 1), or ``None``.
        variant: CycleGAN variant (``base``/``partial``/``full``), or ``None``.
        sigma_d: σ_D the CycleGAN was trained with, or ``None``.
        preset: Preset name, or ``None``.
        config_source: The file the description was read from, or ``None`` when none was found.
        checkpoint: For a classifier: ``"last"`` or ``"best"`` when recorded.
        sigma_c_eval: For a classifier: the σ_C levels its training-time monitor used, or ``None``.
    """

    path: str
    kind: str | None = None
    genre_a: str | None = None
    genre_b: str | None = None
    variant: str | None = None
    sigma_d: float | None = None
    preset: str | None = None
    config_source: str | None = None
    checkpoint: str | None = None
    sigma_c_eval: tuple[float, ...] | None = None

    @property
    def genres(self) -> tuple[str, str] | None:
        """``(genre_a, genre_b)`` when both are known."""
        return (self.genre_a, self.genre_b) if self.genre_a and self.genre_b else None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


def _levels(values) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(value) for value in values)


def _describe_export(path, folder: Path) -> ModelDescription | None:
    if not (folder / export.EXPORT_INFO_NAME).is_file():
        return None
    try:
        info = export.read_export_info(folder)
    except (OSError, ValueError):
        return None  # an unreadable export.json describes nothing
    if not isinstance(info, dict):
        return None
    fields = info.get("config") if isinstance(info.get("config"), Mapping) else {}
    if isinstance(fields.get("config"), Mapping):  # a whole config file nested as the config
        fields = fields["config"]
    genres = info.get("genres")
    pair = genres if isinstance(genres, (list, tuple)) and len(genres) == 2 else (None, None)
    sigma_d = fields.get("sigma_d", info.get("sigma_d"))
    return ModelDescription(
        path=os.fspath(path),
        kind=info.get("kind"),
        genre_a=fields.get("genre_a") or info.get("genre_a") or pair[0],
        genre_b=fields.get("genre_b") or info.get("genre_b") or pair[1],
        variant=fields.get("variant", info.get("variant")),
        sigma_d=None if sigma_d is None else float(sigma_d),
        preset=info.get("preset") or fields.get("name"),
        config_source=str(folder / export.EXPORT_INFO_NAME),
        checkpoint=info.get("checkpoint"),
        sigma_c_eval=_levels(fields.get("sigma_c_eval")),
    )


def _describe_run(path, folder: Path) -> ModelDescription | None:
    if not (folder / run_dir.CONFIG_FILE_NAME).is_file():
        return None
    try:
        config = run_dir.load_run_config(folder)
        kind = registry.family_of(config).kind
    except (OSError, ValueError, KeyError, TypeError, run_dir.RunDirError):
        return None  # an unreadable config describes nothing
    try:
        run_info = run_dir.load_run_info(folder)
    except (OSError, ValueError):
        run_info = {}
    sigma_d = getattr(config, "sigma_d", None)
    return ModelDescription(
        path=os.fspath(path),
        kind=kind,
        genre_a=config.genre_a,
        genre_b=config.genre_b,
        variant=getattr(config, "variant", None),
        sigma_d=None if sigma_d is None else float(sigma_d),
        preset=run_info.get("preset") or config.name,
        config_source=str(folder / run_dir.CONFIG_FILE_NAME),
        sigma_c_eval=_levels(getattr(config, "sigma_c_eval", None)),
    )


def describe_model(path) -> ModelDescription:
    """Reads genres, variant and σ_D of a model from the files saved next to it.

    Looks at the model's folder and its parent (and, for a ``saved_model`` folder, the one above),
    so a run folder, its ``export/`` folder, ``export/saved_model`` and ``export/generator_a2b.keras``
    all find their description; in each folder ``export.json`` is preferred over a run's
    ``config.json`` (read with :func:`mst.training.run_dir.load_run_config`, + ``run.json``).

    Args:
        path: A training run folder, an export folder, a SavedModel folder or a ``.keras`` file.

    Returns:
        A :class:`ModelDescription`; its fields are ``None`` where nothing was recorded.

    Example:
        >>> import tempfile, json, pathlib
        >>> run = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (run / "config.json").write_text(json.dumps({"config_class": "CycleGANConfig",
        ...     "config": {"genre_a": "classical", "genre_b": "pop", "variant": "full", "sigma_d": 1.0}}))
        >>> description = describe_model(run / "export" / "saved_model")
        >>> description.genres, description.variant, description.sigma_d
        (('classical', 'pop'), 'full', 1.0)
    """
    start = Path(path)
    folder = start if start.is_dir() or start.suffix == "" else start.parent
    candidates = [folder, folder.parent]
    if folder.name == export.SAVED_MODEL_DIR_NAME:  # RUN/export/saved_model: the run folder is two levels up
        candidates.append(folder.parent.parent)
    for candidate in dict.fromkeys(candidates):
        description = _describe_export(path, candidate) or _describe_run(path, candidate)
        if description is not None:
            return description
    return ModelDescription(path=os.fspath(path))


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / run_dir.CONFIG_FILE_NAME).is_file() and not (path / export.EXPORT_INFO_NAME).is_file()


def describe_classifier(path, checkpoint: str = "last") -> ModelDescription:
    """:func:`describe_model` of a classifier, with the checkpoint a run folder is loaded from.

    Raises:
        EvaluationInputError: Unknown ``checkpoint`` or a missing path.
    """
    if checkpoint not in CLASSIFIER_CHECKPOINTS:
        raise EvaluationInputError(f"classifier checkpoint must be one of {CLASSIFIER_CHECKPOINTS}, got {checkpoint!r}")
    resolved = _require_path(path, "classifier")
    description = describe_model(resolved)
    if description.checkpoint is None and _is_run_folder(resolved):
        description = dataclasses.replace(description, checkpoint=checkpoint)
    return description


def format_description(description: Mapping | None) -> str:
    """One markdown line for a :meth:`ModelDescription.to_dict` (path, preset, genres, checkpoint).

    Example:
        >>> format_description({"path": "runs/cp", "preset": "cp_base", "genre_a": "classical", "genre_b": "pop"})
        '`runs/cp`, preset cp_base, genres classical / pop, no recorded config'
    """
    if not description:
        return "—"
    parts = [f"`{description.get('path')}`"]
    if description.get("preset"):
        parts.append(f"preset {description['preset']}")
    if description.get("genre_a") and description.get("genre_b"):
        parts.append(f"genres {description['genre_a']} / {description['genre_b']}")
    if description.get("checkpoint"):
        parts.append(f"checkpoint {description['checkpoint']}")
    if not description.get("config_source"):
        parts.append("no recorded config")
    return ", ".join(parts)


# ============================================================================ models


def _is_keras_layer(obj) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.layers.Layer)


def as_generators(model) -> cyclegan_export.GeneratorPair:
    """The two generators of a model as a :class:`mst.cyclegan_export.GeneratorPair`.

    Args:
        model: A :class:`mst.cyclegan_export.GeneratorPair` (returned as is), a trained
            :class:`mst.models.cyclegan.cyclegan.CycleGAN` or a mapping ``{"a2b": g, "b2a": g}`` of
            Keras generators or callables on float32 ``[N, 64, 84, 1]`` phrases.

    Raises:
        EvaluationInputError: Anything else, or a model without both directions.
    """
    if isinstance(model, cyclegan_export.GeneratorPair):
        pair = model
    elif hasattr(model, "generator_a2b") and hasattr(model, "generator_b2a"):
        pair = cyclegan_export.GeneratorPair({"a2b": model.generator_a2b, "b2a": model.generator_b2a}, source=getattr(model, "name", "<CycleGAN>"), kind="keras")
    elif isinstance(model, Mapping):
        pair = cyclegan_export.GeneratorPair(
            model,
            source=getattr(model, "source", "<in memory>"),
            kind="in_memory",
            genre_a=getattr(model, "genre_a", None),
            genre_b=getattr(model, "genre_b", None),
            keep_alive=model,
        )
    else:
        raise EvaluationInputError(f"unusable transfer model: expected a CycleGAN, a loaded export or a mapping {{'a2b': g, 'b2a': g}}, got {type(model).__name__}")
    missing = [direction for direction in DIRECTIONS if direction not in pair]
    if missing:
        raise EvaluationInputError(
            f"{pair.source} has no {' and no '.join(missing)} generator; the evaluation needs both "
            "directions (give an export folder, a SavedModel with a2b/b2a endpoints or a training run folder)"
        )
    for direction in DIRECTIONS:
        if not callable(pair[direction]):
            raise EvaluationInputError(f"{pair.source}: the {direction} generator is not callable ({type(pair[direction]).__name__})")
    return pair


def load_generators(path) -> cyclegan_export.GeneratorPair:
    """Loads both generators of a CycleGAN with :func:`mst.cyclegan_export.load_generators`.

    Args:
        path: Export folder, SavedModel folder with ``a2b``/``b2a`` endpoints, ``.keras`` file or
            training run folder.

    Raises:
        EvaluationInputError: Missing path, an unloadable model or only one direction.
    """
    resolved = _require_path(path, "model")
    try:
        pair = cyclegan_export.load_generators(resolved)
    except Exception as error:  # noqa: BLE001  (loader errors of every kind get one clear message)
        raise EvaluationInputError(f"cannot load the CycleGAN from {path}: {error}") from error
    return as_generators(pair)


def _compiled(model) -> Callable:
    """A Keras model as one ``tf.function`` on ``[None, 64, 84, 1]`` (one trace, ``training=False``)."""
    tf = import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None, *pianoroll.PHRASE_SHAPE], tf.float32)])
    def call(x):
        return model(x, training=False)

    return call


def _probabilities_endpoint(function: Callable, output: str, source: str) -> Callable:
    """``phrases -> {"probabilities": ...}`` (the form :class:`mst.genre_classifier_export.GenreClassifier` calls)."""

    def endpoint(x):
        value, kind = function(x), output
        if isinstance(value, Mapping):
            if "probabilities" in value:
                value, kind = value["probabilities"], "probabilities"
            elif "logits" in value:
                value, kind = value["logits"], "logits"
            else:
                raise EvaluationError(f"{source}: the classifier returned a dict without 'probabilities' or 'logits' (keys: {sorted(value)})")
        if kind == "auto":
            raise EvaluationError(f"{source}: the classifier returned a bare array; say whether it is logits or probabilities (output=...)")
        array = np.asarray(value, dtype=np.float64)
        if kind == "logits" and array.ndim == 2:
            shifted = np.exp(array - array.max(axis=1, keepdims=True))
            array = shifted / shifted.sum(axis=1, keepdims=True)
        return {"probabilities": array}

    return endpoint


def as_classifier(classifier, *, output: str = "auto", genres: tuple[str, str] | None = None, source: str = "<in memory>") -> genre_classifier_export.GenreClassifier:
    """A genre classifier as a :class:`mst.genre_classifier_export.GenreClassifier` (softmax probabilities ``[N, 2]``).

    A loaded :class:`mst.genre_classifier_export.GenreClassifier` is returned as is (with ``genres``, when given, as
    its class order). Anything else is adapted: a Keras model producing logits
    (:func:`mst.models.genre_classifier.genre_classifier.build_genre_classifier`), a SavedModel
    with a ``classify`` endpoint, or any callable on float32 ``[n, 64, 84, 1]``.

    Args:
        classifier: The classifier.
        output: What a callable returns: ``"logits"``, ``"probabilities"`` or ``"auto"`` (Keras models
            give logits, a dict result is read by its ``"probabilities"`` or ``"logits"`` key; a
            bare array needs an explicit choice).
        genres: The classifier's ``(class 0, class 1)`` genres when known.
        source: Where the classifier came from (for messages).

    Example:
        >>> classifier = as_classifier(lambda x: np.zeros((len(x), 2)), output="logits", genres=("jazz", "pop"))
        >>> classify(classifier, np.zeros((3, 64, 84))).tolist(), classifier.genre_a
        ([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], 'jazz')
    """
    if isinstance(classifier, genre_classifier_export.GenreClassifier):
        if genres is not None:
            classifier.genre_a, classifier.genre_b = genres
        return classifier
    if output not in ("auto", "logits", "probabilities"):
        raise ValueError(f"output must be 'auto', 'logits' or 'probabilities', got {output!r}")
    function = classifier
    if not _is_keras_layer(function) and hasattr(function, "classify"):
        function = function.classify  # a SavedModel written by mst.export
    if not callable(function):
        raise TypeError(f"classifier must be a Keras model or a callable, got {type(function)!r}")
    if _is_keras_layer(function):
        output = "logits" if output == "auto" else output
        function = _compiled(function)
    genre_a, genre_b = genres or (None, None)
    endpoint = _probabilities_endpoint(function, output, source)
    return genre_classifier_export.GenreClassifier(endpoint, source=source, kind="in_memory", genre_a=genre_a, genre_b=genre_b, keep_alive=classifier)


def recorded_genres(classifier) -> tuple[str, str] | None:
    """The ``(class 0, class 1)`` genres a classifier records, or ``None``."""
    genre_a, genre_b = getattr(classifier, "genre_a", None), getattr(classifier, "genre_b", None)
    return (genre_a, genre_b) if isinstance(genre_a, str) and isinstance(genre_b, str) else None


def classify(classifier, phrases, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Softmax probabilities ``float64 [N, 2]`` of phrases ``[N, 64, 84(, 1)]``, checked.

    The classifier (anything :func:`as_classifier` accepts) runs in batches of ``batch_size``
    (:class:`mst.genre_classifier_export.GenreClassifier` batches them).

    Raises:
        EvaluationError: Wrong phrase shape, or the classifier fails, returns another shape than
            ``[N, 2]``, NaN, or "probabilities" that are not a softmax.
    """
    check_positive_int("batch_size", batch_size)
    classifier = as_classifier(classifier)
    try:
        x = pianoroll.as_phrase_batch(phrases)
    except ValueError as error:
        raise EvaluationError(str(error)) from None
    source = classifier.source
    try:
        value = classifier(x, batch_size)
    except EvaluationError:
        raise
    except Exception as error:  # noqa: BLE001  (any framework error becomes one clear message)
        raise EvaluationError(f"{source}: the classifier failed on [{min(len(x), batch_size)}, 64, 84, 1] batches: {error}") from error
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (len(x), 2):
        raise EvaluationError(
            f"{source}: the classifier returned shape {list(array.shape)} for {len(x)} phrases; "
            "a genre-pair classifier must return [N, 2] (class 0 = genre A, class 1 = genre B)"
        )
    if not np.all(np.isfinite(array)):
        raise EvaluationError(f"{source}: the classifier returned NaN or infinite values")
    if np.any(array < -1e-6) or np.any(array > 1 + 1e-6) or np.any(np.abs(array.sum(axis=1) - 1) > 1e-3):
        raise EvaluationError(f"{source}: the classifier's 'probabilities' are not a softmax (rows must lie in [0, 1] and sum to 1)")
    return np.clip(array, 0.0, 1.0)


def load_classifier(path, checkpoint: str = "last") -> genre_classifier_export.GenreClassifier:
    """Loads a genre classifier with :func:`mst.genre_classifier_export.load_classifier`.

    Args:
        path: Export folder, SavedModel folder with a ``classify`` endpoint, ``.keras`` file or
            classifier training run folder.
        checkpoint: For a run folder: ``"last"`` (the newest checkpoint, what the authors' ``test()``
            loads) or ``"best"`` (the best noise-free test accuracy, ``best/``).

    Returns:
        The classifier; its genres fall back to the description next to it when it records none.

    Raises:
        EvaluationInputError: Unknown ``checkpoint``, missing path or an unloadable classifier.
    """
    if checkpoint not in CLASSIFIER_CHECKPOINTS:
        raise EvaluationInputError(f"classifier checkpoint must be one of {CLASSIFIER_CHECKPOINTS}, got {checkpoint!r}")
    resolved = _require_path(path, "classifier")
    try:
        loaded = genre_classifier_export.load_classifier(resolved, which=checkpoint)
    except Exception as error:  # noqa: BLE001  (loader errors of every kind get one clear message)
        raise EvaluationInputError(f"cannot load the genre classifier from {path}: {error}") from error
    if recorded_genres(loaded) is None:
        loaded.genre_a, loaded.genre_b = describe_model(resolved).genres or (None, None)
    return loaded


def _run_generator(pair: cyclegan_export.GeneratorPair, batch: np.ndarray, direction: str) -> np.ndarray:
    """One generator call through :meth:`mst.cyclegan_export.GeneratorPair.transfer`, its shape checked."""
    try:
        output = pair.transfer(batch, direction)
    except Exception as error:  # noqa: BLE001  (Keras/TF/shape errors become one clear message)
        raise EvaluationError(f"{pair.source}: the {direction} generator failed on a {list(batch.shape)} batch: {error}") from error
    if output.shape != batch.shape:
        raise EvaluationError(
            f"{pair.source}: the {direction} generator failed on a {list(batch.shape)} batch: "
            f"it returned {list(output.shape)} for input {list(batch.shape)}"
        )
    return output


def check_models(model=None, classifier=None) -> None:
    """Runs one silent phrase through each generator and the classifier to check their shapes.

    Args:
        model: Transfer model with both directions (see :func:`as_generators`), or ``None`` to skip.
        classifier: Genre classifier (see :func:`as_classifier`), or ``None`` to skip.

    Raises:
        EvaluationInputError: A model that does not map ``[N, 64, 84, 1]`` phrases to phrases of the
            same shape (generators) or to ``[N, 2]`` (classifier), naming the model.

    Example:
        >>> check_models({"a2b": lambda x: x[:, :, :42], "b2a": lambda x: x})
        Traceback (most recent call last):
        ...
        mst.models.cyclegan.cyclegan_evaluation.EvaluationInputError: <in memory>: the a2b generator does not work on [N, 64, 84, 1] phrases (... returned [1, 64, 42, 1] for input [1, 64, 84, 1]...)
    """
    probe = np.zeros((1, *pianoroll.PHRASE_SHAPE), np.float32)
    if model is not None:
        pair = as_generators(model)
        for direction in DIRECTIONS:
            try:
                _run_generator(pair, probe, direction)
            except EvaluationError as error:
                raise EvaluationInputError(f"{pair.source}: the {direction} generator does not work on [N, 64, 84, 1] phrases ({error})") from error
    if classifier is not None:
        try:
            classify(classifier, probe, 1)
        except EvaluationError as error:
            raise EvaluationInputError(f"the genre classifier does not work on [N, 64, 84, 1] phrases: {error}") from error


def classifier_class_indices(genre_a: str, genre_b: str, classifier_genres: tuple[str, str] | None) -> tuple[tuple[int, int], str | None]:
    """The classifier's class index of genre A and of genre B, with a note when they are swapped.

    Args:
        genre_a, genre_b: The evaluated pair.
        classifier_genres: The classifier's ``(class 0, class 1)`` genres, or ``None`` when unknown
            (then class 0 is assumed to be A, as the authors' labels (1, 0) for A).

    Returns:
        ``((class of A, class of B), note or None)``.

    Raises:
        EvaluationInputError: The classifier was trained on other genres.

    Example:
        >>> classifier_class_indices("classical", "pop", ("pop", "classical"))[0]
        (1, 0)
    """
    if classifier_genres is None:
        return (0, 1), "the classifier's genres are not recorded; class 0 is assumed to be genre A"
    if tuple(classifier_genres) == (genre_a, genre_b):
        return (0, 1), None
    if tuple(classifier_genres) == (genre_b, genre_a):
        return (1, 0), (
            f"the classifier's class order is ({genre_b}, {genre_a}), the reverse of the model's pair; "
            "its classes were mapped by genre name"
        )
    raise EvaluationInputError(
        f"genre mismatch: the classifier separates {classifier_genres[0]} vs {classifier_genres[1]}, "
        f"but the evaluated pair is {genre_a} (A) vs {genre_b} (B); use the classifier trained on this pair"
    )


# ============================================================================ test phrases


@dataclasses.dataclass(frozen=True, eq=False)
class TestPhrases:
    """The test phrases of one genre, in manifest order (or a seeded subset of them).

    Attributes:
        genre: Genre name.
        rolls: ``bool [N, 64, 84]``.
        song_ids: ``N`` song ids (paths relative to the genre folder).
        phrase_indices: ``int64 [N]`` index of each phrase within its song.
        available: Test phrases the dataset has for the genre (``N`` unless a limit was applied).
    """

    __test__ = False  # not a pytest test class despite its name

    genre: str
    rolls: np.ndarray
    song_ids: tuple[str, ...]
    phrase_indices: np.ndarray
    available: int

    def __post_init__(self):
        rolls = np.asarray(self.rolls)
        if rolls.ndim == 4 and rolls.shape[-1] == 1:
            rolls = rolls[..., 0]
        if rolls.ndim != 3 or rolls.shape[1:] != (pianoroll.PHRASE_STEPS, pianoroll.NUM_PITCHES):
            raise EvaluationInputError(f"{self.genre}: test phrases must be [N, 64, 84(, 1)], got {list(np.shape(self.rolls))}")
        if len(rolls) == 0:
            raise EvaluationInputError(f"{self.genre}: no test phrases")
        if rolls.dtype != bool:
            if not np.all((rolls == 0) | (rolls == 1)):
                raise EvaluationInputError(f"{self.genre}: test phrases must be binary (0/1)")
            rolls = rolls.astype(bool)
        if len(self.song_ids) != len(rolls) or len(self.phrase_indices) != len(rolls):
            raise EvaluationInputError(f"{self.genre}: one song id and phrase index per phrase needed")
        object.__setattr__(self, "rolls", rolls)
        object.__setattr__(self, "song_ids", tuple(self.song_ids))
        object.__setattr__(self, "phrase_indices", np.asarray(self.phrase_indices, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.rolls)

    @property
    def phrase_ids(self) -> list[str]:
        """``"song_id#phrase_index"`` per phrase."""
        return [f"{song}#{index}" for song, index in zip(self.song_ids, self.phrase_indices.tolist())]

    @classmethod
    def from_rolls(cls, genre: str, rolls) -> "TestPhrases":
        """Phrases without dataset metadata (song ids ``phrase``, indices ``0..N-1``).

        Example:
            >>> TestPhrases.from_rolls("pop", np.zeros((2, 64, 84))).phrase_ids
            ['phrase#0', 'phrase#1']
        """
        count = len(np.asarray(rolls))
        return cls(genre, rolls, ("phrase",) * count, np.arange(count), count)

    def subset(self, limit: int | None, seed: int) -> "TestPhrases":
        """At most ``limit`` phrases, drawn without replacement with a generator seeded by
        ``(seed, genre)`` and kept in their original order (all phrases when ``limit`` is ``None``
        or not smaller than ``N``)."""
        check_positive_int("limit", limit, allow_none=True)
        if limit is None or limit >= len(self):
            return self
        keep = np.sort(_genre_rng(seed, self.genre).choice(len(self), size=limit, replace=False))
        return TestPhrases(self.genre, self.rolls[keep], tuple(self.song_ids[i] for i in keep), self.phrase_indices[keep], self.available)


def load_dataset_manifest(data_dir) -> dict:
    """The dataset's ``manifest.json`` (:func:`mst.records.load_manifest`).

    Raises:
        EvaluationInputError: No folder given, or a missing or invalid dataset.
    """
    if data_dir is None:
        raise EvaluationInputError("no data folder given")
    try:
        return records.load_manifest(data_dir)
    except records.DatasetError as error:
        raise EvaluationInputError(str(error)) from error


def check_test_split(data_dir, genres: Sequence[str], manifest: dict | None = None) -> dict[str, int]:
    """Checks that the dataset has each genre with a non-empty test split.

    Returns:
        ``{genre: number of test phrases}``.

    Raises:
        EvaluationInputError: Missing dataset, unknown genre or empty test split (the message names
            the dataset's genres and how to prepare a test split).
    """
    manifest = load_dataset_manifest(data_dir) if manifest is None else manifest
    known = sorted(manifest.get("partitions", {}))
    counts = {}
    for genre in genres:
        if genre not in manifest.get("partitions", {}):
            raise EvaluationInputError(
                f"genre {genre!r} is not in the dataset {data_dir} (it has: {', '.join(known) or 'no genres'}); "
                "pick the genres with --genre-a/--genre-b or prepare the genre with `python -m mst.prepare`"
            )
        phrases = manifest["partitions"][genre].get("phrases", {})
        counts[genre] = int(phrases.get("test", 0))
        if counts[genre] == 0:
            raise EvaluationInputError(
                f"genre {genre!r} has no test phrases in {data_dir} (empty test split: "
                f"{int(phrases.get('train', 0))} train phrases); prepare the dataset with a test split "
                "(python -m mst.prepare --test-ratio ...) or from more than one song per genre"
            )
    return counts


def _read_phrase_ids(data_dir, manifest: dict, genre: str) -> tuple[list[str], np.ndarray]:
    """``song_id`` and ``phrase_index`` of a genre's test records, in the order
    :func:`mst.records.pianoroll_reader.load_split_arrays` reads the rolls (shard by shard)."""
    tf = import_tensorflow()
    spec = {"song_id": tf.io.FixedLenFeature([], tf.string), "phrase_index": tf.io.FixedLenFeature([], tf.int64)}
    dataset = tf.data.TFRecordDataset(records.shard_paths(data_dir, manifest, genre, "test"), buffer_size=pianoroll_reader.READ_BUFFER_BYTES)
    song_ids, indices = [], [np.zeros(0, np.int64)]
    for serialized in dataset.batch(4096):
        features = tf.io.parse_example(serialized, spec)
        song_ids += [value.decode("utf-8") for value in features["song_id"].numpy().tolist()]
        indices.append(features["phrase_index"].numpy())
    return song_ids, np.concatenate(indices)


def load_test_phrases(data_dir, genre: str, *, limit: int | None = None, seed: int = 0) -> TestPhrases:
    """Reads the test phrases of one genre with :func:`mst.records.pianoroll_reader.load_split_arrays`.

    The phrases come in the order every test-split reader of mst uses (manifest order, shard by
    shard), with each phrase's song id and index.

    Args:
        data_dir: Prepared dataset folder.
        genre: Genre name.
        limit: Keep at most this many phrases, a seeded random subset (see :meth:`TestPhrases.subset`).
        seed: Seed of the subset.

    Raises:
        EvaluationInputError: Missing dataset, unknown genre, empty test split or a damaged shard.
    """
    check_positive_int("limit", limit, allow_none=True)
    manifest = load_dataset_manifest(data_dir)
    check_test_split(data_dir, [genre], manifest)
    try:
        rolls, _ = pianoroll_reader.load_split_arrays(data_dir, [genre], "test")
        song_ids, indices = _read_phrase_ids(data_dir, manifest, genre)
    except records.DatasetError as error:
        raise EvaluationInputError(str(error)) from error
    except Exception as error:  # noqa: BLE001  (tf.data read errors: damaged or truncated shards)
        raise EvaluationInputError(f"cannot read the {genre} test phrases of {data_dir}: {error}") from error
    if len(song_ids) != len(rolls):
        raise EvaluationInputError(f"cannot read the {genre} test phrases of {data_dir}: {len(rolls)} rolls but {len(song_ids)} song ids")
    phrases = TestPhrases(genre, rolls[..., 0] > 0.5, tuple(song_ids), indices, len(rolls))
    return phrases.subset(limit, seed)


def dataset_summary(data_dir, genres: Sequence[str] | None = None) -> dict:
    """Identity of a prepared dataset: folder, sha256 of ``manifest.json``, phrase counts, split.

    Raises:
        EvaluationInputError: Missing dataset or manifest.
    """
    manifest = load_dataset_manifest(data_dir)
    names = sorted(manifest.get("partitions", {})) if genres is None else list(genres)
    counts = {}
    for genre in names:
        phrases = manifest.get("partitions", {}).get(genre, {}).get("phrases", {})
        counts[genre] = {"train": int(phrases.get("train", 0)), "test": int(phrases.get("test", 0))}
    return {
        "data_dir": str(Path(data_dir).resolve()),
        "manifest_sha256": records.sha256_file(Path(data_dir) / records.MANIFEST_NAME),
        "phrases": counts,
        "split": manifest.get("split"),
    }


# ============================================================================ running a direction


@dataclasses.dataclass(frozen=True, eq=False)
class DirectionOutputs:
    """Everything one direction produced, kept in memory for plots and example MIDI.

    Attributes:
        direction: ``"a2b"`` or ``"b2a"``.
        source_genre, target_genre: Genre names.
        phrases: The source test phrases.
        transfer: ``bool [N, 64, 84]`` binarized transfers.
        cycle: ``bool [N, 64, 84]`` binarized cycles (computed from the continuous transfer).
        cycle_l1: ``[N]`` mean |origin − continuous cycle| per phrase (the cycle loss' L1).
        probabilities: Source-genre probabilities of origin, transfer and cycle.
        collapse: :func:`mst.metrics.collapse.collapse_statistics` of the direction (continuous
            transfer and cycle, real target phrases), or ``None`` when not computed.
    """

    direction: str
    source_genre: str
    target_genre: str
    phrases: TestPhrases
    transfer: np.ndarray
    cycle: np.ndarray
    cycle_l1: np.ndarray
    probabilities: DirectionProbabilities
    collapse: dict[str, float] | None = None


def _transfer_continuous(model, rolls, direction: str, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous transfers and their continuous cycles, float32 ``[N, 64, 84, 1]`` each."""
    if direction not in DIRECTIONS:
        raise EvaluationInputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    check_positive_int("batch_size", batch_size)
    pair = as_generators(model)
    transfers = pianoroll.map_phrase_batches(lambda batch: _finite_transfer(pair, batch, direction), rolls, batch_size)
    cycles = pianoroll.map_phrase_batches(lambda batch: _finite_transfer(pair, batch, other_direction(direction)), transfers, batch_size)
    return transfers, cycles


def _finite_transfer(pair: cyclegan_export.GeneratorPair, batch: np.ndarray, direction: str) -> np.ndarray:
    output = _run_generator(pair, batch, direction)
    if not np.all(np.isfinite(output)):
        raise EvaluationError(f"{pair.source}: the {direction} generator produced NaN or infinite values (a diverged model?)")
    return output


def _binary(probabilities: np.ndarray) -> np.ndarray:
    return pianoroll.binarize(probabilities)[..., 0] > 0.5


def _cycle_l1(rolls, cycle: np.ndarray) -> np.ndarray:
    origin = np.asarray(rolls, dtype=np.float64).reshape(cycle.shape)
    return np.abs(origin - cycle.astype(np.float64)).mean(axis=(1, 2, 3))


def transfer_and_cycle(model, rolls: np.ndarray, direction: str, batch_size: int = DEFAULT_BATCH_SIZE):
    """Transfers phrases and cycles them back from the continuous transfer, as ``cyclegan.test`` did.

    Args:
        model: Transfer model with both directions (anything :func:`as_generators` accepts).
        rolls: ``[N, 64, 84(, 1)]`` phrases in {0, 1}.
        direction: ``"a2b"`` (cycle with ``b2a``) or ``"b2a"``.
        batch_size: Phrases per generator call.

    Returns:
        ``(transfer bool [N, 64, 84], cycle bool [N, 64, 84], cycle_l1 float64 [N])``: transfer and
        cycle binarized at 0.5 (:func:`mst.encodings.pianoroll.binarize`); the cycle L1 is measured on the
        continuous cycle.

    Raises:
        EvaluationError: A generator fails, returns another shape, or returns NaN.

    Example:
        >>> x = np.zeros((2, 64, 84), bool); x[:, :4, 40] = True
        >>> soft = {"a2b": lambda v: v * 0.8, "b2a": lambda v: v * 0.8}   # 1 → 0.8 → 0.64
        >>> transfer, cycle, l1 = transfer_and_cycle(soft, x, "a2b")
        >>> bool((transfer == x).all() and (cycle == x).all()), round(float(l1[0] * 64 * 84), 4)
        (True, 1.44)
    """
    transfer, cycle = _transfer_continuous(model, rolls, direction, batch_size)
    return _binary(transfer), _binary(cycle), _cycle_l1(rolls, cycle)


def _collapse(source: np.ndarray, transfer: np.ndarray, cycle: np.ndarray, target: np.ndarray | None) -> dict[str, float] | None:
    if target is None or len(source) < 2 or len(target) == 0:
        return None  # the statistics compare each phrase with another one: two phrases at least
    return collapse_statistics(source, transfer=transfer, cycle=cycle, target=target)


def run_direction(
    model,
    classifier,
    phrases: TestPhrases,
    direction: str,
    target_genre: str,
    source_class: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    target: np.ndarray | None = None,
) -> DirectionOutputs:
    """Transfers, cycles and classifies one direction's test phrases.

    Args:
        model: Transfer model with both generators (see :func:`as_generators`).
        classifier: The genre classifier (see :func:`as_classifier`).
        phrases: The source genre's test phrases.
        direction: ``"a2b"`` or ``"b2a"``.
        target_genre: Name of the target genre.
        source_class: The classifier's class index of the source genre.
        batch_size: Phrases per model call.
        target: Real test phrases of the target genre ``[M, 64, 84]``; with them (and at least two
            source phrases) the collapse statistics are computed.

    Returns:
        A :class:`DirectionOutputs`.
    """
    transfer_p, cycle_p = _transfer_continuous(model, phrases.rolls, direction, batch_size)
    transfer, cycle = _binary(transfer_p), _binary(cycle_p)
    probabilities = DirectionProbabilities(
        origin=classify(classifier, phrases.rolls, batch_size)[:, source_class],
        transfer=classify(classifier, transfer, batch_size)[:, source_class],
        cycle=classify(classifier, cycle, batch_size)[:, source_class],
    )
    collapse = _collapse(phrases.rolls, transfer_p, cycle_p, target)
    return DirectionOutputs(direction, phrases.genre, target_genre, phrases, transfer, cycle, _cycle_l1(phrases.rolls, cycle_p), probabilities, collapse)


# ============================================================================ results


PHRASE_METRICS: tuple[str, ...] = (
    "content_difference",
    "onset_precision",
    "onset_recall",
    "onset_f1",
    "pianoroll_jaccard",
    "pitch_class_cosine",
    "cycle_l1",
    "cycle_l1_binary",
    "cycle_onset_f1",
)
"""Per-phrase content scores: origin vs transfer (the first six), then origin vs cycle."""

PHRASE_METRIC_DESCRIPTIONS = {
    "content_difference": "share of cells that differ between origin and transfer (the authors' Content_diff; 0 = unchanged)",
    "onset_precision": "share of the transfer's note onsets that are also onsets of the origin",
    "onset_recall": "share of the origin's note onsets kept by the transfer",
    "onset_f1": "harmonic mean of onset precision and recall (1 = same onsets)",
    "pianoroll_jaccard": "shared active cells / active cells of either (1 = identical rolls)",
    "pitch_class_cosine": "cosine similarity of the 12-bin pitch-class histograms (harmony kept)",
    "cycle_l1": "mean |origin − continuous cycle| (the training cycle loss' L1; 0 = perfect reconstruction)",
    "cycle_l1_binary": "share of cells that differ between origin and binarized cycle",
    "cycle_onset_f1": "onset F1 of the binarized cycle against the origin",
}


@dataclasses.dataclass(frozen=True, eq=False)
class DirectionResult:
    """The JSON-serialisable per-phrase results of one direction.

    Attributes:
        direction: ``"a2b"`` or ``"b2a"``.
        source_genre, target_genre: Genre names.
        phrase_ids: ``"song_id#phrase_index"`` per phrase, in evaluation order.
        p_origin, p_transfer, p_cycle: ``[N]`` source-genre probabilities.
        phrase_metrics: ``{name: [N]}`` for every name in :data:`PHRASE_METRICS`.
        ranking: The authors' ranking of the phrases (:func:`mst.models.cyclegan.strength.rank_transfers`,
            computed from the rolls); ``None`` for results read back from ``results.json``, which
            does not store the rolls.
    """

    direction: str
    source_genre: str
    target_genre: str
    phrase_ids: tuple[str, ...]
    p_origin: np.ndarray
    p_transfer: np.ndarray
    p_cycle: np.ndarray
    phrase_metrics: dict[str, np.ndarray]
    ranking: TransferRanking | None = None

    def __post_init__(self):
        probabilities = DirectionProbabilities(self.p_origin, self.p_transfer, self.p_cycle)  # validates
        object.__setattr__(self, "p_origin", probabilities.origin)
        object.__setattr__(self, "p_transfer", probabilities.transfer)
        object.__setattr__(self, "p_cycle", probabilities.cycle)
        object.__setattr__(self, "phrase_ids", tuple(self.phrase_ids))
        if len(self.phrase_ids) != len(probabilities):
            raise ValueError(f"{self.direction}: {len(self.phrase_ids)} phrase ids for {len(probabilities)} phrases")
        metrics = {name: np.asarray(values, dtype=np.float64) for name, values in self.phrase_metrics.items()}
        for name, values in metrics.items():
            if values.shape != (len(probabilities),):
                raise ValueError(f"{self.direction}: phrase metric {name!r} has shape {values.shape}, expected ({len(probabilities)},)")
        object.__setattr__(self, "phrase_metrics", metrics)
        if self.ranking is not None and len(self.ranking) != len(probabilities):
            raise ValueError(f"{self.direction}: a ranking of {len(self.ranking)} phrases for {len(probabilities)} phrases")

    def __len__(self) -> int:
        return len(self.phrase_ids)

    @property
    def probabilities(self) -> DirectionProbabilities:
        """The three probability arrays as :class:`mst.models.cyclegan.strength.DirectionProbabilities`."""
        return DirectionProbabilities(self.p_origin, self.p_transfer, self.p_cycle)

    def metric_summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean", "std", "count", "nan_count"}}`` of the per-phrase metrics (NaN ignored)."""
        return {name: mean_std(values) for name, values in self.phrase_metrics.items()}

    def ranking_rows(self) -> list[dict]:
        """The authors' ranking (largest |P_O − P_T| first), one dict per phrase with extra columns.

        Raises:
            ValueError: The result has no :attr:`ranking` (it was read from ``results.json``).
        """
        if self.ranking is None:
            raise ValueError(f"{self.direction}: no ranking (results read back from {RESULTS_NAME} carry none; the ranking CSVs next to it have it)")
        ranking = self.ranking
        rows = []
        for rank, index in enumerate(ranking.phrase_id.tolist(), start=1):
            song_id, _, phrase_index = self.phrase_ids[index].rpartition("#")
            row = {
                "rank": rank,
                "Id": index,
                "Content_diff": float(ranking.content_diff[rank - 1]),
                "|P_O - P_T|": float(ranking.abs_probability_change[rank - 1]),
                "P_origin": float(ranking.p_origin[rank - 1]),
                "P_transfer": float(ranking.p_transfer[rank - 1]),
                "P_cycle": float(ranking.p_cycle[rank - 1]),
                "song_id": song_id,
                "phrase_index": int(phrase_index) if phrase_index.lstrip("-").isdigit() else phrase_index,
            }
            row.update({name: float(self.phrase_metrics[name][index]) for name in PHRASE_METRICS if name != "content_difference" and name in self.phrase_metrics})
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN → ``None`` once written with :func:`mst.reporting.write_json`)."""
        return {
            "direction": self.direction,
            "source_genre": self.source_genre,
            "target_genre": self.target_genre,
            "phrase_ids": list(self.phrase_ids),
            "p_origin": self.p_origin,
            "p_transfer": self.p_transfer,
            "p_cycle": self.p_cycle,
            "phrase_metrics": self.phrase_metrics,
        }

    @classmethod
    def from_dict(cls, payload: Mapping) -> "DirectionResult":
        """Inverse of :meth:`to_dict` (without a ranking)."""
        return cls(
            payload["direction"],
            payload["source_genre"],
            payload["target_genre"],
            tuple(payload["phrase_ids"]),
            _float_array(payload["p_origin"]),
            _float_array(payload["p_transfer"]),
            _float_array(payload["p_cycle"]),
            {name: _float_array(values) for name, values in payload["phrase_metrics"].items()},
        )


SET_LABELS = TABLE_ROW_LABELS
"""The six phrase sets, named like the table rows: A, A→B, A→B→A, B, B→A, B→A→B."""
DISTRIBUTION_COMPARISONS = ("transfer_vs_target", "source_vs_target")


@dataclasses.dataclass(eq=False)
class EvaluationResult:
    """Everything an evaluation computed (what ``results.json`` holds).

    Attributes:
        genre_a, genre_b: The pair (A is the first genre).
        a2b, b2a: Per-phrase results of each direction.
        set_metrics: ``{set label: {metric: {"mean", "std", "count", "nan_count"}}}`` for the six
            sets of :data:`SET_LABELS`, every metric of :data:`mst.metrics.SCALAR_METRICS`.
        distribution: ``{direction: {comparison: {metric: {"overlap_area", "kl_divergence"}}}}``:
            ``transfer_vs_target`` compares the target genre's real test phrases (reference) with
            the transfers, ``source_vs_target`` the target's with the source's real phrases.
        info: What was evaluated: model, classifier, dataset, seed, limit, variant, σ_D, label, ...
        collapse: ``{direction: statistics or None}``, the
            :func:`mst.metrics.collapse.collapse_statistics` of each direction on its test phrases
            (``None`` when a direction has fewer than two).
    """

    genre_a: str
    genre_b: str
    a2b: DirectionResult
    b2a: DirectionResult
    set_metrics: dict
    distribution: dict
    info: dict = dataclasses.field(default_factory=dict)
    collapse: dict = dataclasses.field(default_factory=dict)

    def direction(self, name: str) -> DirectionResult:
        """The :class:`DirectionResult` of ``"a2b"`` or ``"b2a"``."""
        if name not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {name!r}")
        return self.a2b if name == "a2b" else self.b2a

    def table(self, statistic: str = "percent_source") -> ClassifierTable:
        """The six cells (``"percent_source"``: the paper's reading; ``"mean_probability"``)."""
        return classifier_table(self.a2b.probabilities, self.b2a.probabilities, statistic)

    def strength(self, statistic: str = "percent_source") -> StrengthScores:
        """S^D_{A→B}, S^D_{B→A} and S^D_tot of :meth:`table`."""
        return transfer_strength(self.table(statistic))

    def collapse_warnings(self) -> list[str]:
        """:func:`mst.metrics.collapse.collapse_warnings` of both directions (empty: nothing alarming)."""
        warnings = []
        for direction in DIRECTIONS:
            stats = self.collapse.get(direction)
            if stats is not None:
                result = self.direction(direction)
                warnings += collapse_warnings(stats, f"{direction} ({result.source_genre}→{result.target_genre})")
        return warnings

    @property
    def label(self) -> str:
        """Short name of the evaluated model (``info["label"]``, else preset, else model path)."""
        return str(self.info.get("label") or self.info.get("model", {}).get("preset") or self.info.get("model", {}).get("path") or "model")

    @property
    def variant(self) -> str | None:
        """The model variant when known."""
        return self.info.get("variant")

    @property
    def sigma_d(self) -> float | None:
        """σ_D of the model when known."""
        value = self.info.get("sigma_d")
        return None if value is None else float(value)

    def to_dict(self) -> dict:
        """JSON-ready dict (the content of ``results.json``)."""
        tables = {statistic: self.table(statistic).as_dict() for statistic in STATISTICS}
        strengths = {statistic: self.strength(statistic)._asdict() for statistic in STATISTICS}
        return {
            "format": RESULTS_FORMAT,
            "format_version": RESULTS_FORMAT_VERSION,
            "genre_a": self.genre_a,
            "genre_b": self.genre_b,
            "info": self.info,
            "table": tables,
            "strength": strengths,
            "content_summary": {direction: self.direction(direction).metric_summary() for direction in DIRECTIONS},
            "set_metrics": self.set_metrics,
            "distribution": self.distribution,
            "collapse": {direction: self.collapse.get(direction) for direction in DIRECTIONS},
            "collapse_warnings": self.collapse_warnings(),
            "directions": {direction: self.direction(direction).to_dict() for direction in DIRECTIONS},
        }

    @classmethod
    def from_dict(cls, payload: Mapping) -> "EvaluationResult":
        """Inverse of :meth:`to_dict` (derived fields such as the table are recomputed).

        Raises:
            EvaluationInputError: Not an ``mst.models.cyclegan.cyclegan_evaluation`` results payload.
        """
        if not isinstance(payload, Mapping) or payload.get("format") != RESULTS_FORMAT:
            raise EvaluationInputError(f"not an {RESULTS_FORMAT} results file (format {payload.get('format') if isinstance(payload, Mapping) else None!r})")
        if payload.get("format_version") != RESULTS_FORMAT_VERSION:
            raise EvaluationInputError(f"results format version {payload.get('format_version')!r} is not supported (expected {RESULTS_FORMAT_VERSION})")
        set_metrics = {name: {metric: _nan_for_none(summary) for metric, summary in metrics.items()} for name, metrics in payload["set_metrics"].items()}
        distribution = {
            direction: {
                comparison: {metric: _nan_for_none(values) for metric, values in metrics.items()}
                for comparison, metrics in comparisons.items()
            }
            for direction, comparisons in payload["distribution"].items()
        }
        collapse = {direction: None if stats is None else _nan_for_none(stats) for direction, stats in (payload.get("collapse") or {}).items()}
        return cls(
            payload["genre_a"],
            payload["genre_b"],
            DirectionResult.from_dict(payload["directions"]["a2b"]),
            DirectionResult.from_dict(payload["directions"]["b2a"]),
            set_metrics,
            distribution,
            dict(payload.get("info", {})),
            collapse,
        )


def load_results(path) -> EvaluationResult:
    """Reads ``results.json`` (or a report folder holding one).

    Raises:
        EvaluationInputError: Missing or invalid file.
    """
    path = Path(path)
    file = path / RESULTS_NAME if path.is_dir() else path
    if not file.is_file():
        raise EvaluationInputError(f"no evaluation results at {path} (expected {RESULTS_NAME}; run evaluate.py first)")
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationInputError(f"{file} is not valid JSON: {error}") from error
    try:
        result = EvaluationResult.from_dict(payload)
    except (KeyError, TypeError, ValueError) as error:
        raise EvaluationInputError(f"{file} is incomplete or damaged: {error!r}") from error
    result.info.setdefault("report_dir", str(file.parent))
    return result


def _direction_result(outputs: DirectionOutputs) -> DirectionResult:
    origin = outputs.phrases.rolls
    content = content_preservation(origin, outputs.transfer)
    metrics = {name: content[name] for name in PHRASE_METRICS[:6]}
    metrics["cycle_l1"] = np.asarray(outputs.cycle_l1, dtype=np.float64)
    metrics["cycle_l1_binary"] = np.asarray(content_difference(origin, outputs.cycle), dtype=np.float64)
    metrics["cycle_onset_f1"] = np.asarray(onset_precision_recall_f1(origin, outputs.cycle).f1, dtype=np.float64)
    probabilities = outputs.probabilities
    ranking = rank_transfers(origin, outputs.transfer, probabilities.origin, probabilities.transfer, probabilities.cycle)
    return DirectionResult(
        outputs.direction,
        outputs.source_genre,
        outputs.target_genre,
        tuple(outputs.phrases.phrase_ids),
        probabilities.origin,
        probabilities.transfer,
        probabilities.cycle,
        metrics,
        ranking,
    )


def _set_rolls(a2b: DirectionOutputs, b2a: DirectionOutputs) -> dict[str, np.ndarray]:
    return {
        "A": a2b.phrases.rolls,
        "A→B": a2b.transfer,
        "A→B→A": a2b.cycle,
        "B": b2a.phrases.rolls,
        "B→A": b2a.transfer,
        "B→A→B": b2a.cycle,
    }


def _comparisons_as_dict(comparisons) -> dict[str, dict[str, float]]:
    return {name: {"overlap_area": float(value.overlap_area), "kl_divergence": float(value.kl_divergence)} for name, value in comparisons.items()}


def music_metric_sets(a2b: DirectionOutputs, b2a: DirectionOutputs) -> tuple[dict, dict]:
    """Per-set metric summaries and the distribution comparisons of both directions.

    Returns:
        ``(set_metrics, distribution)`` as stored in :class:`EvaluationResult`.
    """
    values = {name: scalar_metrics(rolls) for name, rolls in _set_rolls(a2b, b2a).items()}
    set_metrics = {name: {metric: mean_std(metric_values[metric]) for metric in SCALAR_METRICS} for name, metric_values in values.items()}
    distribution = {
        "a2b": {
            "transfer_vs_target": _comparisons_as_dict(compare_metric_distributions(values["B"], values["A→B"])),
            "source_vs_target": _comparisons_as_dict(compare_metric_distributions(values["B"], values["A"])),
        },
        "b2a": {
            "transfer_vs_target": _comparisons_as_dict(compare_metric_distributions(values["A"], values["B→A"])),
            "source_vs_target": _comparisons_as_dict(compare_metric_distributions(values["A"], values["B"])),
        },
    }
    return set_metrics, distribution


class EvaluationRun(NamedTuple):
    """What :func:`evaluate_transfer` returns: the serialisable result and the in-memory outputs."""

    result: EvaluationResult
    outputs: dict[str, DirectionOutputs]


def evaluate_transfer(
    model,
    classifier,
    phrases_a: TestPhrases,
    phrases_b: TestPhrases,
    *,
    classifier_genres: tuple[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    info: Mapping | None = None,
) -> EvaluationRun:
    """Runs the whole evaluation on phrases already in memory.

    Args:
        model: Transfer model with ``a2b`` and ``b2a`` (see :func:`as_generators`).
        classifier: The pair's genre classifier (see :func:`as_classifier`).
        phrases_a: Test phrases of genre A.
        phrases_b: Test phrases of genre B.
        classifier_genres: The classifier's ``(class 0, class 1)`` genres when known (defaults to
            the genres the classifier records); see :func:`classifier_class_indices`.
        batch_size: Phrases per model call (instance norm is per phrase, so any size gives the
            authors' batch-1 results).
        info: Extra metadata stored in ``result.info``.

    Returns:
        An :class:`EvaluationRun`.
    """
    classifier = as_classifier(classifier)
    genre_a, genre_b = phrases_a.genre, phrases_b.genre
    if genre_a == genre_b:
        raise EvaluationInputError(f"genre A and genre B must differ, both are {genre_a!r}")
    (class_a, class_b), note = classifier_class_indices(genre_a, genre_b, classifier_genres or recorded_genres(classifier))
    pair = as_generators(model)
    a2b = run_direction(pair, classifier, phrases_a, "a2b", genre_b, class_a, batch_size=batch_size, target=phrases_b.rolls)
    b2a = run_direction(pair, classifier, phrases_b, "b2a", genre_a, class_b, batch_size=batch_size, target=phrases_a.rolls)
    set_metrics, distribution = music_metric_sets(a2b, b2a)
    details = dict(info or {})
    details.setdefault("notes", [])
    if note:
        details["notes"] = [*details["notes"], note]
    details["classifier_class_of_genre"] = {genre_a: class_a, genre_b: class_b}
    details["phrases"] = {genre_a: {"evaluated": len(phrases_a), "available": phrases_a.available}, genre_b: {"evaluated": len(phrases_b), "available": phrases_b.available}}
    details["batch_size"] = batch_size
    collapse = {direction: outputs.collapse for direction, outputs in (("a2b", a2b), ("b2a", b2a))}
    result = EvaluationResult(genre_a, genre_b, _direction_result(a2b), _direction_result(b2a), set_metrics, distribution, details, collapse)
    return EvaluationRun(result, {"a2b": a2b, "b2a": b2a})



# ============================================================================ paper columns


class PaperMatch(NamedTuple):
    """A paper column shown next to ours, its cells oriented to our pair.

    ``swapped`` is True when our pair is the paper's in reverse order (our A is the paper's B), in
    which case ``cells`` has the paper's B rows in our A rows.
    """

    column: PaperColumn
    cells: ClassifierTable
    swapped: bool

    @property
    def heading(self) -> str:
        """``"paper Table VIII M_full, σ_D=1"``."""
        return f"paper Table {self.column.table} {self.column.label}" + (" (A/B swapped)" if self.swapped else "")


def _swap(cells: ClassifierTable) -> ClassifierTable:
    return ClassifierTable(cells.b, cells.b_to_a, cells.b_to_a_to_b, cells.a, cells.a_to_b, cells.a_to_b_to_a)


def paper_matches(genre_a: str, genre_b: str, variant: str | None = None, sigma_d: float | None = None, tables: Sequence[str] | None = None) -> list[PaperMatch]:
    """Paper columns for a pair (either order), optionally filtered by variant, σ_D and table.

    Example:
        >>> [(m.column.table, m.swapped) for m in paper_matches("pop", "classical", "full")]
        [('VIII', True)]
        >>> paper_matches("pop", "classical", "full")[0].cells.a   # the paper's B (pop) row
        80.04
    """
    found = []
    for column in paper_columns():
        if tables is not None and column.table not in tables:
            continue
        if variant is not None and column.model != variant:
            continue
        if sigma_d is not None and abs(column.sigma_d - float(sigma_d)) > 1e-12:
            continue
        if (column.genre_a, column.genre_b) == (genre_a, genre_b):
            found.append(PaperMatch(column, column.cells, False))
        elif (column.genre_a, column.genre_b) == (genre_b, genre_a):
            found.append(PaperMatch(column, _swap(column.cells), True))
    return found


# ============================================================================ from saved models


def _resolve_genres(genre_a, genre_b, model: ModelDescription, classifier: ModelDescription) -> tuple[str, str]:
    if (genre_a is None) != (genre_b is None):
        raise EvaluationInputError("give both --genre-a and --genre-b, or neither (then they are read from the model's config)")
    if genre_a is not None:
        if genre_a == genre_b:
            raise EvaluationInputError(f"--genre-a and --genre-b must differ, both are {genre_a!r}")
        if model.genres is not None and model.genres != (genre_a, genre_b):
            if model.genres == (genre_b, genre_a):
                raise EvaluationInputError(
                    f"genre order mismatch: the model's A is {model.genre_a} and its B is {model.genre_b} "
                    f"({model.config_source}), but --genre-a {genre_a} --genre-b {genre_b} was given; "
                    f"a2b maps {model.genre_a} to {model.genre_b}, so pass --genre-a {model.genre_a} --genre-b {model.genre_b}"
                )
            raise EvaluationInputError(
                f"genre mismatch: the model was trained on {model.genre_a} (A) / {model.genre_b} (B) "
                f"({model.config_source}), not {genre_a} / {genre_b}"
            )
        return genre_a, genre_b
    if model.genres is not None:
        return model.genres
    if classifier.genres is not None:
        return classifier.genres
    raise EvaluationInputError("cannot tell the genres: neither the model nor the classifier has a recorded config; pass --genre-a and --genre-b")


def evaluate_model(
    model_path,
    classifier_path,
    data_dir,
    *,
    genre_a: str | None = None,
    genre_b: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    classifier_checkpoint: str = "last",
    variant: str | None = None,
    sigma_d: float | None = None,
    label: str | None = None,
) -> EvaluationRun:
    """Loads a CycleGAN, its pair's classifier and the test phrases, and evaluates.

    Every input is checked before a model is loaded (paths, genres against the recorded configs,
    the test splits); :func:`mst.models.cyclegan.cyclegan_report.run_evaluation` also writes the
    report folder.

    Args:
        model_path: CycleGAN export folder, SavedModel folder, ``.keras`` file or training run folder.
        classifier_path: Classifier export folder, SavedModel, ``.keras`` file or training run folder.
        data_dir: Prepared dataset folder (``python -m mst.prepare``) with test splits.
        genre_a, genre_b: The pair; default: from the model's recorded config, else the classifier's.
        seed: Seed of the ``limit`` subsampling (recorded in the result).
        limit: Evaluate at most this many test phrases per genre (a seeded random subset).
        batch_size: Phrases per model call.
        classifier_checkpoint: ``"last"`` or ``"best"`` for a classifier run folder.
        variant, sigma_d: Override (or supply) the model's variant and σ_D, used to pick the paper's
            column.
        label: Name of this model in sweeps (default: preset or model path).

    Returns:
        An :class:`EvaluationRun`.

    Raises:
        EvaluationInputError: Missing or mismatching inputs (see the messages).
        EvaluationError: A model failed during the evaluation.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("limit", limit, allow_none=True)
    if variant is not None and variant not in VARIANT_ORDER:
        raise EvaluationInputError(f"variant must be one of {VARIANT_ORDER}, got {variant!r}")
    _require_path(model_path, "model")
    classifier_description = describe_classifier(classifier_path, classifier_checkpoint)
    manifest = load_dataset_manifest(data_dir)
    model_description = describe_model(model_path)
    if model_description.kind == "classifier":
        raise EvaluationInputError(f"{model_path} is a genre classifier, not a CycleGAN (swap --model and --classifier?)")
    if classifier_description.kind == "cyclegan":
        raise EvaluationInputError(f"{classifier_path} is a CycleGAN, not a genre classifier (swap --model and --classifier?)")
    genre_a, genre_b = _resolve_genres(genre_a, genre_b, model_description, classifier_description)
    classifier_class_indices(genre_a, genre_b, classifier_description.genres)  # fail before loading models
    check_test_split(data_dir, [genre_a, genre_b], manifest)
    phrases_a = load_test_phrases(data_dir, genre_a, limit=limit, seed=seed)
    phrases_b = load_test_phrases(data_dir, genre_b, limit=limit, seed=seed)
    model = load_generators(model_path)
    classifier = load_classifier(classifier_path, classifier_checkpoint)
    check_models(model, classifier)
    info = {
        "label": label or model_description.preset or Path(model_path).name,
        "model": model_description.to_dict(),
        "classifier": classifier_description.to_dict(),
        "dataset": dataset_summary(data_dir, [genre_a, genre_b]),
        "seed": seed,
        "limit": limit,
        "variant": variant or model_description.variant,
        "sigma_d": model_description.sigma_d if sigma_d is None else float(sigma_d),
        "versions": library_versions(),
    }
    return evaluate_transfer(model, classifier, phrases_a, phrases_b, classifier_genres=classifier_description.genres, batch_size=batch_size, info=info)


__all__ = [
    "CLASSIFIER_CHECKPOINTS",
    "DEFAULT_BATCH_SIZE",
    "DIRECTIONS",
    "PHRASE_METRICS",
    "RESULTS_FORMAT",
    "RESULTS_NAME",
    "SET_LABELS",
    "VARIANT_ORDER",
    "DirectionOutputs",
    "DirectionResult",
    "EvaluationError",
    "EvaluationInputError",
    "EvaluationResult",
    "EvaluationRun",
    "ModelDescription",
    "PaperMatch",
    "TestPhrases",
    "as_classifier",
    "as_generators",
    "check_models",
    "check_positive_int",
    "check_test_split",
    "classifier_class_indices",
    "classify",
    "dataset_summary",
    "describe_classifier",
    "describe_model",
    "evaluate_model",
    "evaluate_transfer",
    "format_description",
    "library_versions",
    "load_classifier",
    "load_dataset_manifest",
    "load_generators",
    "load_results",
    "load_test_phrases",
    "mean_std",
    "music_metric_sets",
    "paper_matches",
    "recorded_genres",
    "run_direction",
    "transfer_and_cycle",
]
