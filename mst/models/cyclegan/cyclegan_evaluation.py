"""Evaluation of a genre-transfer model: the paper's classifier table, S^D_tot and metrics beyond it.

What :func:`run_evaluation` (``evaluate.py``) does, following the authors' protocol (spec
``cyclegan.md`` §6.3 and §7):

1. Every **test** phrase of genre A goes through G_A→B, every test phrase of B through G_B→A. The
   cycle is computed from the **continuous** transfer (as ``cyclegan.test`` did); only then are the
   transfer and the cycle each binarized at 0.5 (:func:`mst.encodings.pianoroll.binarize`).
2. The pair's genre classifier scores origin, transfer and cycle (softmax). Rows A, A→B, A→B→A hold
   P_A of A's phrases, rows B, B→A, B→A→B hold P_B of B's. Each cell is the percentage of phrases
   classified as the **source** genre (P_source > 0.5, the code's argmax count); the mean
   probabilities are reported too. S^D_tot follows spec §6.3 (:mod:`mst.models.cyclegan.strength`).
3. The authors' per-phrase ranking file (Content_diff, |P_O − P_T|, P_origin, P_transfer, P_cycle),
   per direction, as CSV, plus PNGs and MIDI files of the strongest and weakest transfers.
4. Beyond the classifier (``ecosystem.md`` §4.8): per-set music metrics (mean ± std), content
   preservation between each phrase and its transfer (onset P/R/F1, Jaccard, pitch-class cosine),
   cycle L1, and the KDE overlapping area / KL divergence between the transferred phrases and the
   target genre's real test phrases, next to the same numbers for source versus target (the
   reference line: how far apart the two genres are before any transfer).

Two more tools share the loading code: :func:`classifier_accuracy` (the thesis' accuracy table
under test-time Gaussian noise σ_C, ``evaluate.py classifier``) and :func:`assemble_sweep`
(several evaluations in the layout of the paper's Table VI or Tables VII–IX, ``evaluate.py sweep``).

Everything is deterministic for a given ``seed``: inference has no randomness, the seed drives the
optional subsampling (``limit``) and the σ_C noise. Every file is written atomically (temporary name,
then ``os.replace``).

Example (in-memory models: an identity "generator" leaves every phrase as it is, so each transfer
row equals its origin row and the transfer strength is 0):
    >>> import numpy as np
    >>> a = TestPhrases.from_rolls("jazz", np.eye(64, 84, dtype=bool)[None].repeat(3, 0))
    >>> b = TestPhrases.from_rolls("pop", np.eye(64, 84, k=20, dtype=bool)[None].repeat(2, 0))
    >>> identity = {"a2b": lambda x: x, "b2a": lambda x: x}
    >>> def pitch_classifier(x):  # class 0 (jazz) when the notes sit low
    ...     low, high = x[:, :, :42].sum(axis=(1, 2, 3)), x[:, :, 42:].sum(axis=(1, 2, 3))
    ...     return np.stack([low - high, high - low], axis=1)
    >>> run = evaluate_transfer(identity, GenreClassifier(pitch_classifier, output="logits"), a, b)
    >>> run.result.table().as_dict()["A→B"], run.result.strength().total
    (100.0, 0.0)
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mst import atomic
from mst.encodings import pianoroll
from mst.configs import SIGMA_C_EVAL
from mst.metrics.content import content_difference, content_preservation, onset_precision_recall_f1
from mst.metrics.distribution import compare_metric_distributions
from mst.metrics.music import SCALAR_METRICS, scalar_metrics
from mst.models.cyclegan.strength import (
    RANKING_COLUMNS,
    STATISTICS,
    TABLE_ROW_LABELS,
    ClassifierTable,
    DirectionProbabilities,
    StrengthScores,
    TransferRanking,
    classifier_table,
    transfer_strength,
)
from mst.models.cyclegan.paper_tables import PaperColumn, format_paper_table, paper_columns

RESULTS_FORMAT = "mst.models.cyclegan.cyclegan_evaluation"
RESULTS_FORMAT_VERSION = 1
CLASSIFIER_FORMAT = "mst.classifier_accuracy"
SWEEP_FORMAT = "mst.evaluation_sweep"

DIRECTIONS = ("a2b", "b2a")
DEFAULT_BATCH_SIZE = 64
DEFAULT_EXAMPLES = 3
"""Strongest and weakest transfers shown per direction (PNG rows and MIDI files each)."""
CLASSIFIER_CHECKPOINTS = ("last", "best")
SWEEP_LAYOUTS = ("sigma", "variants")
VARIANT_ORDER = ("base", "partial", "full")
SIGMA_C_LEVELS: tuple[float, ...] = tuple(float(sigma) for sigma in SIGMA_C_EVAL)
"""Test-time noise levels σ_C of the thesis' classifier table: 0, 0.01, 0.1, 0.2, 0.3, 0.5."""

# Report folder contents.
REPORT_NAME = "report.md"
RESULTS_NAME = "results.json"
TABLE_CSV_NAME = "table.csv"
MUSIC_METRICS_CSV_NAME = "music_metrics.csv"
CONTENT_CSV_NAME = "content_preservation.csv"
DISTRIBUTION_CSV_NAME = "distribution.csv"
EXAMPLES_DIR_NAME = "examples"
CLASSIFIER_REPORT_NAME = "classifier_accuracy.md"
CLASSIFIER_CSV_NAME = "classifier_accuracy.csv"
CLASSIFIER_JSON_NAME = "classifier_accuracy.json"
SWEEP_REPORT_NAME = "sweep.md"
SWEEP_CSV_NAME = "sweep.csv"
SWEEP_JSON_NAME = "sweep.json"


def ranking_csv_name(direction: str) -> str:
    """``ranking_a2b.csv`` / ``ranking_b2a.csv``."""
    return f"ranking_{direction}.csv"


def ranking_png_name(direction: str) -> str:
    """``ranking_a2b.png`` / ``ranking_b2a.png``."""
    return f"ranking_{direction}.png"


THESIS_CLASSIFIER_ACCURACY: dict[tuple[str, str], dict[float, float]] = {
    ("jazz", "classical"): {0.0: 88.89, 0.01: 88.53, 0.1: 87.87, 0.2: 84.71, 0.3: 83.07, 0.5: 74.93},
    ("classical", "pop"): {0.0: 84.66, 0.01: 83.42, 0.1: 81.97, 0.2: 81.12, 0.3: 78.14, 0.5: 70.28},
    ("jazz", "pop"): {0.0: 67.07, 0.01: 66.18, 0.1: 63.78, 0.2: 62.40, 0.3: 61.72, 0.5: 59.96},
}
"""Test accuracy (%) of the authors' genre classifiers under test-time noise σ_C.

Source: Sumu Zhao's thesis, "Table 5.1: average genre classifier accuracy with Gaussian input noise
added during testing", reproduced as ``imgs/Picture3.png`` in the authors' repository
``CycleGAN-Music-Style-Transfer`` (spec ``cyclegan.md`` §6.2). Keys are the paper's pair order; the
noise N(0, σ_C²) was added to the inputs in the classifier's −1/+1 scale (``style_classifier.py``).
"""


class EvaluationError(Exception):
    """An evaluation could not be completed (a model failed, produced NaN, ...)."""


class EvaluationInputError(EvaluationError):
    """The inputs of an evaluation are unusable: a missing model, classifier or dataset, a genre the
    dataset does not have, an empty test split, genres that do not match the models, bad options."""


# ============================================================================ small helpers


def _jsonable(value):
    """Plain JSON values: numpy → Python, NaN/inf → ``None`` (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json_atomic(path: Path, payload: Mapping) -> Path:
    text = json.dumps(_jsonable(payload), indent=1, sort_keys=False, ensure_ascii=False, allow_nan=False)
    return atomic.write_text(path, text + "\n")


def _write_csv_atomic(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else _csv_cell(cell) for cell in row])
    return atomic.write_text(path, buffer.getvalue())


def _csv_cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else f"{float(value):.6g}"
    return value


def _float_array(values) -> np.ndarray:
    """A list from JSON (``None`` for NaN) back to float64."""
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _percent(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def escape(cell) -> str:
        return str(cell).replace("|", "\\|")

    lines = ["| " + " | ".join(escape(cell) for cell in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _genre_seed(seed: int, genre: str, *extra: int) -> np.random.Generator:
    """A generator that depends on the seed and the genre name only (not on the pair or its order)."""
    return np.random.default_rng([int(seed), zlib.crc32(genre.encode("utf-8")), *extra])


def _check_positive_int(name: str, value, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EvaluationInputError(f"{name} must be a positive integer, got {value!r}")


def _other(direction: str) -> str:
    return "b2a" if direction == "a2b" else "a2b"


# ============================================================================ models and configs


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What the files next to a model say about it (``config.json`` of a run, ``export.json``).

    Attributes:
        path: The path as given.
        kind: ``"cyclegan"``, ``"classifier"`` or ``None`` when unknown.
        genre_a: Genre A (class 0 of a classifier), or ``None``.
        genre_b: Genre B (class 1), or ``None``.
        variant: CycleGAN variant (``base``/``partial``/``full``), or ``None``.
        sigma_d: σ_D the CycleGAN was trained with, or ``None``.
        preset: Preset name, or ``None``.
        config_source: The file the description was read from, or ``None`` when none was found.
        checkpoint: For a classifier export: ``"last"`` or ``"best"`` when recorded.
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

    @property
    def genres(self) -> tuple[str, str] | None:
        """``(genre_a, genre_b)`` when both are known."""
        return (self.genre_a, self.genre_b) if self.genre_a and self.genre_b else None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


def _read_json(path: Path) -> dict | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _description_from_fields(path, source: Path, fields: Mapping, kind: str | None, extra: Mapping) -> ModelDescription:
    genres = extra.get("genres")
    genre_a = fields.get("genre_a") or extra.get("genre_a") or (genres[0] if isinstance(genres, (list, tuple)) and len(genres) == 2 else None)
    genre_b = fields.get("genre_b") or extra.get("genre_b") or (genres[1] if isinstance(genres, (list, tuple)) and len(genres) == 2 else None)
    sigma_d = fields.get("sigma_d", extra.get("sigma_d"))
    return ModelDescription(
        path=os.fspath(path),
        kind=kind,
        genre_a=genre_a,
        genre_b=genre_b,
        variant=fields.get("variant", extra.get("variant")),
        sigma_d=None if sigma_d is None else float(sigma_d),
        preset=extra.get("preset") or fields.get("name"),
        config_source=str(source),
        checkpoint=extra.get("checkpoint"),
    )


def _describe_folder(path, folder: Path) -> ModelDescription | None:
    export_info = _read_json(folder / "export.json")
    if export_info is not None:
        config = export_info.get("config") if isinstance(export_info.get("config"), Mapping) else {}
        if isinstance(config.get("config"), Mapping):  # a config JSON nested as written by save_config
            config = config["config"]
        return _description_from_fields(path, folder / "export.json", config, export_info.get("kind"), export_info)
    config_info = _read_json(folder / "config.json")
    if config_info is not None:
        config = config_info.get("config") if isinstance(config_info.get("config"), Mapping) else config_info
        config_class = config_info.get("config_class")
        kind = {"CycleGANConfig": "cyclegan", "ClassifierConfig": "classifier"}.get(config_class)
        run_info = _read_json(folder / "run.json") or {}
        return _description_from_fields(path, folder / "config.json", config, kind, run_info)
    return None


def describe_model(path) -> ModelDescription:
    """Reads genres, variant and σ_D of a model from the files saved next to it.

    Looks at the model's folder and its parent (and, for a ``saved_model`` folder, the one above),
    so a run folder, its ``export/`` folder, ``export/saved_model`` and ``export/generator_a2b.keras``
    all find their description; in each folder ``export.json`` is preferred over a run's
    ``config.json`` (+ ``run.json``).

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
    if folder.name == "saved_model":  # RUN/export/saved_model: the run folder is two levels up
        candidates.append(folder.parent.parent)
    for candidate in dict.fromkeys(candidates):
        description = _describe_folder(path, candidate)
        if description is not None:
            return description
    return ModelDescription(path=os.fspath(path))


def _is_keras_layer(obj) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.layers.Layer)


class GenreClassifier:
    """A genre classifier as a function of {0, 1} phrases, returning softmax probabilities ``[N, 2]``.

    Column ``k`` of the result is class ``k`` (0 = the classifier's genre A). The wrapped object may
    be a Keras model producing logits (:func:`mst.models.genre_classifier.genre_classifier.build_genre_classifier`), a
    SavedModel with a ``classify`` endpoint (``{"probabilities": ...}``, :mod:`mst.export`), or any
    callable on ``float32 [n, 64, 84, 1]``.

    Args:
        function: The classifier.
        output: What the callable returns: ``"logits"``, ``"probabilities"`` or ``"auto"`` (Keras
            models give logits, a dict result is read by its ``"probabilities"`` or ``"logits"`` key;
            a bare array needs an explicit choice).
        genres: The classifier's ``(class 0, class 1)`` genres when known.
        source: Where the classifier came from (for messages).
    """

    def __init__(self, function, *, output: str = "auto", genres: tuple[str, str] | None = None, source: str = "<in memory>"):
        if output not in ("auto", "logits", "probabilities"):
            raise ValueError(f"output must be 'auto', 'logits' or 'probabilities', got {output!r}")
        export = sys.modules.get("mst.export")
        loaded_by_export = export is not None and isinstance(function, getattr(export, "GenreClassifier", ()))
        if not _is_keras_layer(function) and not loaded_by_export and hasattr(function, "classify"):
            function = function.classify  # a SavedModel written by mst.export
        if not callable(function):
            raise TypeError(f"classifier must be a Keras model or a callable, got {type(function)!r}")
        if output == "auto" and _is_keras_layer(function):
            output = "logits"
        if output == "auto" and loaded_by_export:
            output = "probabilities"  # mst.export.load_classifier returns softmax probabilities
        self.output = output
        self.genres = genres or (_recorded_genres(function) if loaded_by_export else None)
        self.source = source
        self._function = self._compiled(function)

    @staticmethod
    def _compiled(function) -> Callable:
        if not _is_keras_layer(function):
            return function
        from mst.runtime import import_tensorflow  # noqa: PLC0415

        tf = import_tensorflow()

        @tf.function(input_signature=[tf.TensorSpec([None, *pianoroll.PHRASE_SHAPE], tf.float32)])
        def call(x):
            return function(x, training=False)

        return call

    def _as_probabilities(self, value, batch_size: int) -> np.ndarray:
        kind = self.output
        if isinstance(value, Mapping):
            if "probabilities" in value:
                value, kind = value["probabilities"], "probabilities"
            elif "logits" in value:
                value, kind = value["logits"], "logits"
            else:
                raise EvaluationError(f"{self.source}: the classifier returned a dict without 'probabilities' or 'logits' (keys: {sorted(value)})")
        if hasattr(value, "numpy"):
            value = value.numpy()
        array = np.asarray(value, dtype=np.float64)
        if array.shape != (batch_size, 2):
            raise EvaluationError(
                f"{self.source}: the classifier returned shape {list(array.shape)} for {batch_size} phrases; "
                "a genre-pair classifier must return [N, 2] (class 0 = genre A, class 1 = genre B)"
            )
        if not np.all(np.isfinite(array)):
            raise EvaluationError(f"{self.source}: the classifier returned NaN or infinite values")
        if kind == "auto":
            raise EvaluationError(f"{self.source}: the classifier returned a bare array; say whether it is logits or probabilities (output=...)")
        if kind == "logits":
            shifted = np.exp(array - array.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        if np.any(array < -1e-6) or np.any(array > 1 + 1e-6) or np.any(np.abs(array.sum(axis=1) - 1) > 1e-3):
            raise EvaluationError(f"{self.source}: the classifier's 'probabilities' are not a softmax (rows must lie in [0, 1] and sum to 1)")
        return np.clip(array, 0.0, 1.0)

    def probabilities(self, phrases, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Softmax probabilities ``float64 [N, 2]`` of phrases ``[N, 64, 84(, 1)]`` in {0, 1}.

        Raises:
            EvaluationError: Wrong phrase shape, or the classifier fails or returns a wrong shape.
        """
        _check_positive_int("batch_size", batch_size)
        x = np.asarray(phrases, dtype=np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[1:] != pianoroll.PHRASE_SHAPE:
            raise EvaluationError(f"phrases must be [N, 64, 84(, 1)], got {list(np.shape(phrases))}")
        outputs = []
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            try:
                value = self._function(batch)
            except EvaluationError:
                raise
            except Exception as error:  # noqa: BLE001  (any framework error becomes one clear message)
                raise EvaluationError(f"{self.source}: the classifier failed on a [{len(batch)}, 64, 84, 1] batch: {error}") from error
            outputs.append(self._as_probabilities(value, len(batch)))
        return np.concatenate(outputs) if outputs else np.zeros((0, 2), np.float64)

    def __call__(self, phrases, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        return self.probabilities(phrases, batch_size)


def as_genre_classifier(classifier) -> GenreClassifier:
    """Wraps a Keras model, SavedModel or callable as a :class:`GenreClassifier` (returned as is)."""
    return classifier if isinstance(classifier, GenreClassifier) else GenreClassifier(classifier)


def _as_transfer_model(model):
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    try:
        transfer_model = transfer.as_transfer_model(model)
    except (TypeError, ValueError) as error:
        raise EvaluationInputError(f"unusable transfer model: {error}") from error
    missing = [direction for direction in DIRECTIONS if direction not in transfer_model.directions]
    if missing:
        raise EvaluationInputError(
            f"{transfer_model.source} has no {' and no '.join(missing)} generator; the evaluation needs both "
            "directions (give an export folder, a SavedModel with a2b/b2a endpoints or a training run folder)"
        )
    return transfer_model


def _require_path(path, what: str) -> Path:
    if path is None:
        raise EvaluationInputError(f"no {what} given")
    resolved = Path(path)
    if not resolved.exists():
        raise EvaluationInputError(f"{what} not found: {path}")
    return resolved


def load_transfer_model(path):
    """Loads both generators of a CycleGAN (:func:`mst.models.cyclegan.song_transfer.load_model`, i.e. :mod:`mst.export`).

    Args:
        path: Export folder, SavedModel folder with ``a2b``/``b2a`` endpoints, ``.keras`` file or
            training run folder.

    Returns:
        A :class:`mst.models.cyclegan.song_transfer.TransferModel` with both directions.

    Raises:
        EvaluationInputError: Missing path, an unloadable model or only one direction.
    """
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    resolved = _require_path(path, "model")
    try:
        model = transfer.load_model(resolved)
    except EvaluationError:
        raise
    except Exception as error:  # noqa: BLE001  (loader errors of every kind get one clear message)
        raise EvaluationInputError(f"cannot load the CycleGAN from {path}: {error}") from error
    return _as_transfer_model(model)


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and not (path / "export.json").is_file()


def resolve_classifier_path(path, checkpoint: str = "last") -> Path:
    """The classifier location to load for ``checkpoint`` (``"last"`` or ``"best"``).

    A finished classifier training run folder holds ``export/`` (last checkpoint) and
    ``export_best/`` (best noise-free test accuracy); the matching export is used when present,
    otherwise the run folder itself (:func:`mst.export.load_classifier` then restores the newest
    checkpoint, or the ``best/`` one). The authors' ``test()`` loads the latest checkpoint, hence the
    default. A path that is not a run folder is returned unchanged.

    Raises:
        EvaluationInputError: Unknown ``checkpoint`` or a missing path.
    """
    if checkpoint not in CLASSIFIER_CHECKPOINTS:
        raise EvaluationInputError(f"classifier checkpoint must be one of {CLASSIFIER_CHECKPOINTS}, got {checkpoint!r}")
    path = _require_path(path, "classifier")
    if not _is_run_folder(path):
        return path
    export_dir = path / ("export_best" if checkpoint == "best" else "export")
    return export_dir if (export_dir / "export.json").is_file() else path


def _describe_classifier(path, checkpoint: str) -> ModelDescription:
    resolved = resolve_classifier_path(path, checkpoint)
    description = describe_model(resolved)
    if description.checkpoint is None and _is_run_folder(resolved):
        description = dataclasses.replace(description, checkpoint=checkpoint)
    return description


def load_genre_classifier(path, checkpoint: str = "last") -> GenreClassifier:
    """Loads a genre classifier with :func:`mst.export.load_classifier`, as a :class:`GenreClassifier`.

    Args:
        path: Export folder, SavedModel folder with a ``classify`` endpoint, ``.keras`` file or
            classifier training run folder.
        checkpoint: For a run folder: ``"last"`` (``export/`` or the newest checkpoint, the authors'
            choice) or ``"best"`` (``export_best/`` or the ``best/`` checkpoint).

    Raises:
        EvaluationInputError: Missing path or an unloadable classifier.
    """
    resolved = resolve_classifier_path(path, checkpoint)
    from mst import export  # noqa: PLC0415

    try:
        loaded = export.load_classifier(resolved, which=checkpoint)
    except Exception as error:  # noqa: BLE001  (loader errors of every kind get one clear message)
        raise EvaluationInputError(f"cannot load the genre classifier from {path}: {error}") from error
    genres = _recorded_genres(loaded) or describe_model(resolved).genres
    return GenreClassifier(loaded, output="probabilities", genres=genres, source=os.fspath(path))


def _recorded_genres(obj) -> tuple[str, str] | None:
    genre_a, genre_b = getattr(obj, "genre_a", None), getattr(obj, "genre_b", None)
    return (genre_a, genre_b) if isinstance(genre_a, str) and isinstance(genre_b, str) else None


def check_models(model=None, classifier=None) -> None:
    """Runs one silent phrase through each generator and the classifier to check their shapes.

    Args:
        model: Transfer model with both directions, or ``None`` to skip.
        classifier: Genre classifier, or ``None`` to skip.

    Raises:
        EvaluationInputError: A model that does not map ``[N, 64, 84, 1]`` phrases to phrases of the
            same shape (generators) or to ``[N, 2]`` (classifier), naming the model.

    Example:
        >>> check_models({"a2b": lambda x: x[:, :, :42], "b2a": lambda x: x})
        Traceback (most recent call last):
        ...
        mst.models.cyclegan.cyclegan_evaluation.EvaluationInputError: <in memory>: the a2b generator does not work on [N, 64, 84, 1] phrases (... returned [1, 64, 42, 1] for input [1, 64, 84, 1])
    """
    probe = np.zeros((1, *pianoroll.PHRASE_SHAPE), np.float32)
    if model is not None:
        model = _as_transfer_model(model)
        for direction in DIRECTIONS:
            try:
                model.predict(probe, direction, batch_size=1)
            except Exception as error:  # noqa: BLE001
                raise EvaluationInputError(f"{model.source}: the {direction} generator does not work on [N, 64, 84, 1] phrases ({error})") from error
    if classifier is not None:
        classifier = as_genre_classifier(classifier)
        try:
            classifier.probabilities(probe, 1)
        except EvaluationError as error:
            raise EvaluationInputError(f"the genre classifier does not work on [N, 64, 84, 1] phrases: {error}") from error


# ============================================================================ data


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
        _check_positive_int("limit", limit, allow_none=True)
        if limit is None or limit >= len(self):
            return self
        keep = np.sort(_genre_seed(seed, self.genre).choice(len(self), size=limit, replace=False))
        return TestPhrases(self.genre, self.rolls[keep], tuple(self.song_ids[i] for i in keep), self.phrase_indices[keep], self.available)


def _load_manifest(data_dir) -> dict:
    from mst import records  # noqa: PLC0415

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
    manifest = _load_manifest(data_dir) if manifest is None else manifest
    known = sorted(manifest.get("genres", {}))
    counts = {}
    for genre in genres:
        if genre not in manifest.get("genres", {}):
            raise EvaluationInputError(
                f"genre {genre!r} is not in the dataset {data_dir} (it has: {', '.join(known) or 'no genres'}); "
                "pick the genres with --genre-a/--genre-b or prepare the genre with `python -m mst.prepare`"
            )
        phrases = manifest["genres"][genre].get("phrases", {})
        counts[genre] = int(phrases.get("test", 0))
        if counts[genre] == 0:
            raise EvaluationInputError(
                f"genre {genre!r} has no test phrases in {data_dir} (empty test split: "
                f"{int(phrases.get('train', 0))} train phrases); prepare the dataset with a test split "
                "(python -m mst.prepare --test-ratio ...) or from more than one song per genre"
            )
    return counts


def load_test_phrases(data_dir, genre: str, *, limit: int | None = None, seed: int = 0) -> TestPhrases:
    """Reads the test phrases of one genre from a prepared dataset (:func:`mst.records.phrase_dataset`).

    Args:
        data_dir: Prepared dataset folder.
        genre: Genre name.
        limit: Keep at most this many phrases, a seeded random subset (see :meth:`TestPhrases.subset`).
        seed: Seed of the subset.

    Raises:
        EvaluationInputError: Missing dataset, unknown genre, empty test split or a damaged shard.
    """
    from mst import records  # noqa: PLC0415

    _check_positive_int("limit", limit, allow_none=True)
    check_test_split(data_dir, [genre])
    rolls, song_ids, indices = [], [], []
    try:
        dataset = records.phrase_dataset(data_dir, [genre], "test", batch_size=256, with_metadata=True)
        for batch in dataset:
            rolls.append(batch["roll"].numpy()[..., 0] > 0.5)
            song_ids += [value.decode("utf-8") for value in batch["song_id"].numpy().tolist()]
            indices.append(batch["phrase_index"].numpy())
    except records.DatasetError as error:
        raise EvaluationInputError(str(error)) from error
    except Exception as error:  # noqa: BLE001  (tf.data read errors: damaged or truncated shards)
        raise EvaluationInputError(f"cannot read the {genre} test phrases of {data_dir}: {error}") from error
    phrases = TestPhrases(genre, np.concatenate(rolls), tuple(song_ids), np.concatenate(indices), sum(len(r) for r in rolls))
    return phrases.subset(limit, seed)


def dataset_summary(data_dir, genres: Sequence[str] | None = None) -> dict:
    """Identity of a prepared dataset: folder, sha256 of ``manifest.json``, phrase counts, split.

    Raises:
        EvaluationInputError: Missing dataset or manifest.
    """
    from mst import records  # noqa: PLC0415

    manifest = _load_manifest(data_dir)
    names = sorted(manifest.get("genres", {})) if genres is None else list(genres)
    counts = {}
    for genre in names:
        phrases = manifest.get("genres", {}).get(genre, {}).get("phrases", {})
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
    """

    direction: str
    source_genre: str
    target_genre: str
    phrases: TestPhrases
    transfer: np.ndarray
    cycle: np.ndarray
    cycle_l1: np.ndarray
    probabilities: DirectionProbabilities


def transfer_and_cycle(model, rolls: np.ndarray, direction: str, batch_size: int = DEFAULT_BATCH_SIZE):
    """Transfers phrases and cycles them back from the continuous transfer (spec §7.2).

    Args:
        model: A :class:`mst.models.cyclegan.song_transfer.TransferModel` (or anything :func:`mst.models.cyclegan.song_transfer.as_transfer_model`
            accepts) with both directions.
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
    if direction not in DIRECTIONS:
        raise EvaluationInputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    _check_positive_int("batch_size", batch_size)
    model = _as_transfer_model(model)
    x = np.asarray(rolls, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    transfers, cycles, l1 = [], [], []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        transferred = _predict(model, batch, direction)
        cycled = _predict(model, transferred, _other(direction))
        transfers.append(pianoroll.binarize(transferred)[..., 0] > 0.5)
        cycles.append(pianoroll.binarize(cycled)[..., 0] > 0.5)
        l1.append(np.abs(batch.astype(np.float64) - cycled.astype(np.float64)).mean(axis=(1, 2, 3)))
    if not transfers:
        empty = np.zeros((0, pianoroll.PHRASE_STEPS, pianoroll.NUM_PITCHES), bool)
        return empty, empty.copy(), np.zeros(0)
    return np.concatenate(transfers), np.concatenate(cycles), np.concatenate(l1)


def _predict(model, batch: np.ndarray, direction: str) -> np.ndarray:
    try:
        output = model.predict(batch, direction, batch_size=len(batch))
    except Exception as error:  # noqa: BLE001  (Keras/TF/shape errors become one clear message)
        raise EvaluationError(f"{model.source}: the {direction} generator failed on a {list(batch.shape)} batch: {error}") from error
    if not np.all(np.isfinite(output)):
        raise EvaluationError(f"{model.source}: the {direction} generator produced NaN or infinite values (a diverged model?)")
    return output


def run_direction(model, classifier, phrases: TestPhrases, direction: str, target_genre: str, source_class: int, *, batch_size: int = DEFAULT_BATCH_SIZE) -> DirectionOutputs:
    """Transfers, cycles and classifies one direction's test phrases.

    Args:
        model: Transfer model with both generators.
        classifier: A :class:`GenreClassifier` (or what :func:`as_genre_classifier` accepts).
        phrases: The source genre's test phrases.
        direction: ``"a2b"`` or ``"b2a"``.
        target_genre: Name of the target genre.
        source_class: The classifier's class index of the source genre.
        batch_size: Phrases per model call.

    Returns:
        A :class:`DirectionOutputs`.
    """
    classifier = as_genre_classifier(classifier)
    transfer, cycle, cycle_l1 = transfer_and_cycle(model, phrases.rolls, direction, batch_size)
    probabilities = DirectionProbabilities(
        origin=classifier.probabilities(phrases.rolls, batch_size)[:, source_class],
        transfer=classifier.probabilities(transfer, batch_size)[:, source_class],
        cycle=classifier.probabilities(cycle, batch_size)[:, source_class],
    )
    return DirectionOutputs(direction, phrases.genre, target_genre, phrases, transfer, cycle, cycle_l1, probabilities)


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
    """

    direction: str
    source_genre: str
    target_genre: str
    phrase_ids: tuple[str, ...]
    p_origin: np.ndarray
    p_transfer: np.ndarray
    p_cycle: np.ndarray
    phrase_metrics: dict[str, np.ndarray]

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

    def __len__(self) -> int:
        return len(self.phrase_ids)

    @property
    def probabilities(self) -> DirectionProbabilities:
        """The three probability arrays as :class:`mst.models.cyclegan.strength.DirectionProbabilities`."""
        return DirectionProbabilities(self.p_origin, self.p_transfer, self.p_cycle)

    def metric_summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean", "std"}}`` of the per-phrase metrics (NaN ignored)."""
        return {name: _mean_std(values) for name, values in self.phrase_metrics.items()}

    def ranking_rows(self) -> list[dict]:
        """The authors' ranking (largest |P_O − P_T| first), one dict per phrase with extra columns."""
        ranking = self._ranking()
        rows = []
        for rank, index in enumerate(ranking.phrase_id.tolist(), start=1):
            song_id, _, phrase_index = self.phrase_ids[index].rpartition("#")
            row = {
                "rank": rank,
                "Id": index,
                "Content_diff": ranking.content_diff[rank - 1],
                "|P_O - P_T|": ranking.abs_probability_change[rank - 1],
                "P_origin": ranking.p_origin[rank - 1],
                "P_transfer": ranking.p_transfer[rank - 1],
                "P_cycle": ranking.p_cycle[rank - 1],
                "song_id": song_id,
                "phrase_index": int(phrase_index) if phrase_index.lstrip("-").isdigit() else phrase_index,
            }
            row.update({name: float(self.phrase_metrics[name][index]) for name in PHRASE_METRICS if name != "content_difference" and name in self.phrase_metrics})
            rows.append(row)
        return rows

    def _ranking(self) -> TransferRanking:
        change = np.abs(self.p_origin - self.p_transfer)
        order = np.lexsort((np.arange(len(self)), -change))
        content = self.phrase_metrics.get("content_difference", np.full(len(self), np.nan))
        return TransferRanking(order, content[order], change[order], self.p_origin[order], self.p_transfer[order], self.p_cycle[order])

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN → ``None``)."""
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
        """Inverse of :meth:`to_dict`."""
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


def _mean_std(values) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    return {
        "mean": float(finite.mean()) if finite.size else float("nan"),
        "std": float(finite.std()) if finite.size else float("nan"),
        "count": int(finite.size),
        "nan_count": int(array.size - finite.size),
    }


def _summary_from_json(summary: Mapping) -> dict:
    return {key: (float("nan") if value is None else value) for key, value in summary.items()}


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
    """

    genre_a: str
    genre_b: str
    a2b: DirectionResult
    b2a: DirectionResult
    set_metrics: dict
    distribution: dict
    info: dict = dataclasses.field(default_factory=dict)

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
        set_metrics = {name: {metric: _summary_from_json(summary) for metric, summary in metrics.items()} for name, metrics in payload["set_metrics"].items()}
        distribution = {
            direction: {
                comparison: {metric: _summary_from_json(values) for metric, values in metrics.items()}
                for comparison, metrics in comparisons.items()
            }
            for direction, comparisons in payload["distribution"].items()
        }
        return cls(
            payload["genre_a"],
            payload["genre_b"],
            DirectionResult.from_dict(payload["directions"]["a2b"]),
            DirectionResult.from_dict(payload["directions"]["b2a"]),
            set_metrics,
            distribution,
            dict(payload.get("info", {})),
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
        if isinstance(error, EvaluationInputError):
            raise
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
    return DirectionResult(
        outputs.direction,
        outputs.source_genre,
        outputs.target_genre,
        tuple(outputs.phrases.phrase_ids),
        probabilities.origin,
        probabilities.transfer,
        probabilities.cycle,
        metrics,
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
    set_metrics = {name: {metric: _mean_std(metric_values[metric]) for metric in SCALAR_METRICS} for name, metric_values in values.items()}
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
        model: Transfer model with ``a2b`` and ``b2a`` (a :class:`mst.models.cyclegan.song_transfer.TransferModel`, a
            mapping of Keras generators / callables, see :func:`mst.models.cyclegan.song_transfer.as_transfer_model`).
        classifier: The pair's genre classifier (:class:`GenreClassifier` or a Keras model).
        phrases_a: Test phrases of genre A.
        phrases_b: Test phrases of genre B.
        classifier_genres: The classifier's ``(class 0, class 1)`` genres when known (defaults to
            the classifier's own ``genres``); see :func:`classifier_class_indices`.
        batch_size: Phrases per model call (instance norm is per phrase, so any size gives the
            authors' batch-1 results).
        info: Extra metadata stored in ``result.info``.

    Returns:
        An :class:`EvaluationRun`.
    """
    classifier = as_genre_classifier(classifier)
    genre_a, genre_b = phrases_a.genre, phrases_b.genre
    if genre_a == genre_b:
        raise EvaluationInputError(f"genre A and genre B must differ, both are {genre_a!r}")
    (class_a, class_b), note = classifier_class_indices(genre_a, genre_b, classifier_genres or classifier.genres)
    model = _as_transfer_model(model)
    a2b = run_direction(model, classifier, phrases_a, "a2b", genre_b, class_a, batch_size=batch_size)
    b2a = run_direction(model, classifier, phrases_b, "b2a", genre_a, class_b, batch_size=batch_size)
    set_metrics, distribution = music_metric_sets(a2b, b2a)
    details = dict(info or {})
    details.setdefault("notes", [])
    if note:
        details["notes"] = [*details["notes"], note]
    details["classifier_class_of_genre"] = {genre_a: class_a, genre_b: class_b}
    details["phrases"] = {genre_a: {"evaluated": len(phrases_a), "available": phrases_a.available}, genre_b: {"evaluated": len(phrases_b), "available": phrases_b.available}}
    details["batch_size"] = batch_size
    result = EvaluationResult(genre_a, genre_b, _direction_result(a2b), _direction_result(b2a), set_metrics, distribution, details)
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


def _report_paper_matches(result: EvaluationResult) -> tuple[list[PaperMatch], str]:
    """Columns for the main table and a sentence on how they were chosen."""
    variant, sigma = result.variant, result.sigma_d
    pair = f"{result.genre_a}/{result.genre_b}"
    if not paper_matches(result.genre_a, result.genre_b):
        return [], f"The paper has no table for {pair}."
    if variant is None:
        return [], f"The paper reports {pair}, but the model's variant is unknown (pass --variant), so no column is shown in this table."
    exact = [] if sigma is None else paper_matches(result.genre_a, result.genre_b, variant, sigma)
    if exact:
        return exact, f"Paper column(s) for the same pair, variant ({variant}) and σ_D ({sigma:g})."
    same_variant = paper_matches(result.genre_a, result.genre_b, variant, tables=("VII", "VIII", "IX"))
    sigma_text = "unknown" if sigma is None else f"{sigma:g}"
    if same_variant:
        return same_variant, f"Paper column for the same pair and variant ({variant}); the paper's σ_D differs from ours ({sigma_text})."
    return [], f"The paper has no {variant} column for {pair}."


# ============================================================================ report


_READING_GUIDE = """\
## How to read this report

* **Classifier table.** Rows A and B show how often the classifier recognises *real* test phrases
  of each genre: they are the ceiling for everything below. A good transfer has a **low A→B**
  (transferred phrases no longer sound like A to the classifier) and a **high A→B→A** (the cycle
  gets back to A, so the transfer kept enough of the original); likewise for B→A and B→A→B.
* **S^D_tot** rewards exactly that: for each direction it is the average of (origin − transfer) and
  (cycle − transfer), in percentage points, and the total averages both directions. 0 means the
  classifier sees no change; the paper's models reach 30–72 % (Tables VII–IX). Negative values mean the
  transfers look *more* like the source than the originals do.
* **Content preservation.** Style transfer should change the style, not replace the music. Onset
  F1, Jaccard and pitch-class cosine near 1 mean the transfer kept the notes; near 0 means it wrote
  something else. A high S^D_tot with near-zero content scores points to a generator that ignores
  its input (for example, one that always produces the same target-genre texture).
* **Distribution similarity.** For each music metric, the overlapping area (OA, 0..1, higher is
  closer) and KL divergence (lower is closer) between the target genre's real phrases and the
  transfers. The *source vs target* line is the same comparison before any transfer: if the
  transfers' OA is above it, the transfer moved that property toward the target genre.
* **Ranking and examples.** The ranking CSV lists every phrase by |P_O − P_T| (how much the
  classifier's belief in the source genre dropped), as the authors used it to pick listening
  examples; the PNGs and MIDI files show the strongest and weakest transfers. Listen: the
  classifier is only a proxy (the authors' own Jazz vs Pop classifier reached 67 % on real data).
"""


def _describe(description: Mapping | None) -> str:
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


def _table_rows(result: EvaluationResult, matches: Sequence[PaperMatch]) -> tuple[list[str], list[list]]:
    ours = result.table().as_dict()
    means = result.table("mean_probability").as_dict()
    header = ["row", "ours: % classified as source", "ours: mean P_source (%)", *(match.heading for match in matches)]
    rows = []
    for label in TABLE_ROW_LABELS:
        rows.append([label, ours[label], means[label], *(match.cells.as_dict()[label] for match in matches)])
    strength, strength_mean = result.strength(), result.strength("mean_probability")
    rows.append(["S^D_A→B", strength.a_to_b, strength_mean.a_to_b, *(transfer_strength(m.cells).a_to_b for m in matches)])
    rows.append(["S^D_B→A", strength.b_to_a, strength_mean.b_to_a, *(transfer_strength(m.cells).b_to_a for m in matches)])
    rows.append(["S^D_tot", strength.total, strength_mean.total, *(transfer_strength(m.cells).total for m in matches)])
    rows.append(["S^D_tot printed in the paper", None, None, *(m.column.printed_total for m in matches)])
    return header, rows


def _set_genres(label: str, genre_a: str, genre_b: str) -> str:
    names = {"A": genre_a, "B": genre_b}
    return "→".join(names[part] for part in label.split("→"))


def _set_heading(label: str, genre_a: str, genre_b: str) -> str:
    return f"{label} ({_set_genres(label, genre_a, genre_b)})"


def format_report(result: EvaluationResult, files: Mapping[str, str] | None = None) -> str:
    """The markdown report of one evaluation.

    Args:
        result: The evaluation.
        files: ``{kind: relative path}`` of the files written next to the report (PNGs, CSVs, MIDI),
            linked from the report.

    Returns:
        Markdown text.
    """
    files = dict(files or {})
    info = result.info
    a, b = result.genre_a, result.genre_b
    lines = [f"# Genre transfer evaluation: {a} (A) ↔ {b} (B)", ""]
    lines.append("## What was evaluated")
    lines.append("")
    data = info.get("dataset", {})
    phrases = info.get("phrases", {})
    evaluated = ", ".join(
        f"{genre}: {counts.get('evaluated')} of {counts.get('available')} test phrases" for genre, counts in phrases.items()
    )
    facts = [
        ("label", info.get("label", result.label)),
        ("model", _describe(info.get("model"))),
        ("variant / σ_D", f"{result.variant or 'unknown'} / {'unknown' if result.sigma_d is None else f'{result.sigma_d:g}'}"),
        ("classifier", _describe(info.get("classifier"))),
        ("classifier classes", ", ".join(f"{genre} = class {index}" for genre, index in info.get("classifier_class_of_genre", {}).items()) or "—"),
        ("dataset", f"`{data.get('data_dir', '—')}`, manifest sha256 `{data.get('manifest_sha256', '—')}`"),
        ("phrases", evaluated or "—"),
        ("seed / limit", f"{info.get('seed', '—')} / {info.get('limit') or 'all'}"),
        ("protocol", "transfer; cycle from the continuous transfer; transfer and cycle binarized at 0.5; softmax P of the source genre"),
    ]
    lines += [f"* **{name}**: {value}" for name, value in facts]
    for note in info.get("notes", []):
        lines.append(f"* **note**: {note}")
    lines.append("")

    lines.append("## Classifier table (the paper's layout)")
    lines.append("")
    matches, how = _report_paper_matches(result)
    header, rows = _table_rows(result, matches)
    lines.append(_markdown_table(header, [[row[0], *(_percent(value, 1 if row[0].startswith("S^D_tot printed") else 2) for value in row[1:])] for row in rows]))
    lines.append("")
    lines.append(
        "Cells: percentage of phrases the classifier assigns to the **source** genre (P_source > 0.5; "
        f"rows A… use P({a}), rows B… use P({b})); the second column averages P_source instead. {how}"
    )
    strength = result.strength()
    lines.append("")
    lines.append(f"**S^D_tot = {strength.total:.2f} %** (A→B {strength.a_to_b:.2f}, B→A {strength.b_to_a:.2f}).")
    lines.append("")
    ordered = paper_matches(a, b)
    if ordered and not ordered[0].swapped:
        for table in dict.fromkeys(match.column.table for match in ordered):
            lines.append("```")
            lines.append(format_paper_table(table, ours={"ours": result.table()}))
            lines.append("```")
            lines.append("")

    lines.append("## Content preservation (origin vs transfer, origin vs cycle)")
    lines.append("")
    content_rows = []
    for name in PHRASE_METRICS:
        cells = [name]
        for direction in DIRECTIONS:
            summary = result.direction(direction).metric_summary().get(name)
            cells.append("—" if summary is None else f"{_number(summary['mean'])} ± {_number(summary['std'])}")
        cells.append(PHRASE_METRIC_DESCRIPTIONS[name])
        content_rows.append(cells)
    lines.append(_markdown_table(["metric", f"A→B ({a}→{b})", f"B→A ({b}→{a})", "meaning"], content_rows))
    lines.append("")

    lines.append("## Music metrics per set (mean ± std over phrases)")
    lines.append("")
    set_names = [label for label in SET_LABELS if label in result.set_metrics]
    metric_rows = []
    for metric in SCALAR_METRICS:
        cells = [metric]
        for label in set_names:
            summary = result.set_metrics[label].get(metric, {})
            cells.append(f"{_number(summary.get('mean'))} ± {_number(summary.get('std'))}")
        metric_rows.append(cells)
    lines.append(_markdown_table(["metric", *(_set_heading(label, a, b) for label in set_names)], metric_rows))
    lines.append("")
    lines.append("Undefined values (e.g. the pitch range of an empty phrase) are left out of the mean; see music_metrics.csv for the counts.")
    lines.append("")

    lines.append("## Distribution similarity to the target genre (KDE overlapping area, KL divergence)")
    lines.append("")
    for direction in DIRECTIONS:
        source, target = (a, b) if direction == "a2b" else (b, a)
        comparisons = result.distribution.get(direction, {})
        transfer_values = comparisons.get("transfer_vs_target", {})
        source_values = comparisons.get("source_vs_target", {})
        rows = []
        for metric in SCALAR_METRICS:
            transfer_entry, source_entry = transfer_values.get(metric, {}), source_values.get(metric, {})
            oa_t, oa_s = transfer_entry.get("overlap_area"), source_entry.get("overlap_area")
            moved = "—" if oa_t is None or oa_s is None or not (math.isfinite(oa_t) and math.isfinite(oa_s)) else f"{oa_t - oa_s:+.3f}"
            rows.append([metric, _number(oa_t), _number(oa_s), moved, _number(transfer_entry.get("kl_divergence")), _number(source_entry.get("kl_divergence"))])
        lines.append(f"**{source} → {target}** (reference: real {target} test phrases)")
        lines.append("")
        lines.append(_markdown_table(["metric", "OA transfer", f"OA {source} (no transfer)", "OA change", "KL transfer", f"KL {source} (no transfer)"], rows))
        lines.append("")

    lines.append("## Strongest and weakest transfers")
    lines.append("")
    for direction in DIRECTIONS:
        source, target = (a, b) if direction == "a2b" else (b, a)
        entries = []
        if f"ranking_png_{direction}" in files:
            entries.append(f"![{source} → {target} ranking]({files[f'ranking_png_{direction}']})")
        if f"ranking_csv_{direction}" in files:
            entries.append(f"Full ranking: [{files[f'ranking_csv_{direction}']}]({files[f'ranking_csv_{direction}']})")
        midi = sorted(value for key, value in files.items() if key.startswith(f"example_{direction}_"))
        if midi:
            entries.append("MIDI (origin | transfer | cycle, one bar of rest between): " + ", ".join(f"[{Path(path).name}]({path})" for path in midi))
        lines.append(f"**{source} → {target}**")
        lines.append("")
        lines += [f"{entry}\n" for entry in entries] or ["(not written)\n"]
    other = [files[key] for key in ("table_csv", "music_metrics_csv", "content_csv", "distribution_csv", "results_json") if key in files]
    if other:
        lines.append("Data files: " + ", ".join(f"[{path}]({path})" for path in other))
        lines.append("")
    lines.append(_READING_GUIDE)
    return "\n".join(lines)


def _example_midi(path: Path, origin: np.ndarray, transfer: np.ndarray, cycle: np.ndarray) -> Path:
    from mst.music import midi  # noqa: PLC0415

    rest = np.zeros((pianoroll.STEPS_PER_BEAT * 4, pianoroll.NUM_PITCHES), bool)
    roll = np.concatenate([origin, rest, transfer, rest, cycle])
    path.parent.mkdir(parents=True, exist_ok=True)
    return midi.write_midi(path, pianoroll.roll_to_notes(roll), unit="steps")


def write_report(result: EvaluationResult, out_dir, outputs: Mapping[str, DirectionOutputs] | None = None, *, examples: int = DEFAULT_EXAMPLES) -> dict[str, Path]:
    """Writes the report folder: ``report.md``, ``results.json``, CSVs, and (with ``outputs``) PNGs and MIDI.

    Args:
        result: The evaluation.
        out_dir: Report folder (created if missing; files in it are replaced one by one, atomically).
        outputs: The in-memory :class:`DirectionOutputs` (needed for PNGs and example MIDI files).
        examples: Strongest and weakest transfers shown per direction.

    Returns:
        ``{kind: path}`` of every file written; ``"report"`` is ``report.md``.
    """
    _check_positive_int("examples", examples)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if outputs:
        from mst.plotting import save_ranking_png  # noqa: PLC0415

        for direction in DIRECTIONS:
            run = outputs[direction]
            probabilities = np.stack([run.probabilities.origin, run.probabilities.transfer, run.probabilities.cycle], axis=1)
            written[f"ranking_png_{direction}"] = Path(
                save_ranking_png(out / ranking_png_name(direction), run.phrases.rolls, run.transfer, run.cycle, probabilities, n_each=examples)
            )
            ranked = [row["Id"] for row in result.direction(direction).ranking_rows()]
            picks = [("strongest", rank, index) for rank, index in enumerate(ranked[:examples], start=1)]
            if len(ranked) > examples:
                tail = ranked[-min(examples, len(ranked) - examples) :]
                picks += [("weakest", len(tail) - k, index) for k, index in enumerate(tail)]
            for kind, rank, index in picks:
                name = f"{direction}_{kind}_{rank}_id{index}.mid"
                written[f"example_{direction}_{kind}_{rank}"] = _example_midi(
                    out / EXAMPLES_DIR_NAME / name, run.phrases.rolls[index], run.transfer[index], run.cycle[index]
                )
    for direction in DIRECTIONS:
        rows = result.direction(direction).ranking_rows()
        header = ["rank", *RANKING_COLUMNS, "song_id", "phrase_index", *(name for name in PHRASE_METRICS if name != "content_difference")]
        written[f"ranking_csv_{direction}"] = _write_csv_atomic(out / ranking_csv_name(direction), header, [[row.get(key) for key in header] for row in rows])
    written["table_csv"] = _write_table_csv(result, out / TABLE_CSV_NAME)
    written["music_metrics_csv"] = _write_csv_atomic(
        out / MUSIC_METRICS_CSV_NAME,
        ["set", "genres", "metric", "mean", "std", "count", "nan_count"],
        [
            [label, _set_genres(label, result.genre_a, result.genre_b), metric, summary["mean"], summary["std"], summary["count"], summary["nan_count"]]
            for label, metrics in result.set_metrics.items()
            for metric, summary in metrics.items()
        ],
    )
    written["content_csv"] = _write_csv_atomic(
        out / CONTENT_CSV_NAME,
        ["direction", "metric", "mean", "std", "count", "nan_count"],
        [
            [direction, metric, summary["mean"], summary["std"], summary["count"], summary["nan_count"]]
            for direction in DIRECTIONS
            for metric, summary in result.direction(direction).metric_summary().items()
        ],
    )
    written["distribution_csv"] = _write_csv_atomic(
        out / DISTRIBUTION_CSV_NAME,
        ["direction", "comparison", "metric", "overlap_area", "kl_divergence"],
        [
            [direction, comparison, metric, values["overlap_area"], values["kl_divergence"]]
            for direction, comparisons in result.distribution.items()
            for comparison, metrics in comparisons.items()
            for metric, values in metrics.items()
        ],
    )
    relative = {key: path.relative_to(out).as_posix() for key, path in written.items()}
    relative["results_json"] = RESULTS_NAME
    payload = result.to_dict()
    payload["files"] = dict(sorted(relative.items()))
    written["results_json"] = _write_json_atomic(out / RESULTS_NAME, payload)
    written["report"] = atomic.write_text(out / REPORT_NAME, format_report(result, relative))
    return written


def _write_table_csv(result: EvaluationResult, path: Path) -> Path:
    matches, _ = _report_paper_matches(result)
    header, rows = _table_rows(result, matches)
    header = ["row", "ours_percent_source", "ours_mean_probability", *header[3:]]
    return _write_csv_atomic(path, header, rows)


# ============================================================================ the whole pipeline


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


def run_evaluation(
    model_path,
    classifier_path,
    data_dir,
    out_dir,
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
    examples: int = DEFAULT_EXAMPLES,
) -> tuple[EvaluationResult, dict[str, Path]]:
    """Loads a CycleGAN, its pair's classifier and the test phrases, evaluates and writes the report.

    Args:
        model_path: CycleGAN export folder, SavedModel folder, ``.keras`` file or training run folder.
        classifier_path: Classifier export folder, SavedModel, ``.keras`` file or training run folder.
        data_dir: Prepared dataset folder (``python -m mst.prepare``) with test splits.
        out_dir: Report folder.
        genre_a, genre_b: The pair; default: from the model's recorded config, else the classifier's.
        seed: Seed of the ``limit`` subsampling (recorded in the report).
        limit: Evaluate at most this many test phrases per genre (a seeded random subset).
        batch_size: Phrases per model call.
        classifier_checkpoint: ``"last"`` or ``"best"`` for a classifier run folder.
        variant, sigma_d: Override (or supply) the model's variant and σ_D, used to pick the paper's
            column.
        label: Name of this model in sweeps (default: preset or model path).
        examples: Strongest/weakest transfers shown per direction.

    Returns:
        ``(result, {kind: path})``.

    Raises:
        EvaluationInputError: Missing or mismatching inputs (see the messages).
        EvaluationError: A model failed during the evaluation.
    """
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("limit", limit, allow_none=True)
    _check_positive_int("examples", examples)
    if variant is not None and variant not in VARIANT_ORDER:
        raise EvaluationInputError(f"variant must be one of {VARIANT_ORDER}, got {variant!r}")
    _require_path(model_path, "model")
    classifier_description = _describe_classifier(classifier_path, classifier_checkpoint)
    manifest = _load_manifest(data_dir)
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
    model = load_transfer_model(model_path)
    classifier = load_genre_classifier(classifier_path, classifier_checkpoint)
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
        "versions": _versions(),
    }
    run = evaluate_transfer(model, classifier, phrases_a, phrases_b, classifier_genres=classifier_description.genres, batch_size=batch_size, info=info)
    files = write_report(run.result, out_dir, run.outputs, examples=examples)
    return run.result, files


def _versions() -> dict:
    import mst  # noqa: PLC0415

    versions = {"mst": getattr(mst, "__version__", None), "python": sys.version.split()[0], "numpy": np.__version__}
    for package in ("tensorflow", "keras"):
        module = sys.modules.get(package)
        versions[package] = getattr(module, "__version__", None) if module is not None else None
    return versions


# ============================================================================ classifier accuracy


def add_signed_noise(phrases: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Adds the authors' test-time noise N(0, σ_C²) in the classifier's −1/+1 input scale.

    The authors feed ``x·2 − 1 + n`` with ``n ~ N(0, σ_C²)`` (``style_classifier.py``). mst's
    classifiers take {0, 1} phrases and rescale them themselves (``2x − 1``), so the same input is
    ``x + n/2``: noise of standard deviation ``σ_C / 2`` in the {0, 1} scale (the same noise the
    classifier trainer's per-epoch monitor adds, through ``to_signed``/``from_signed``).

    Example:
        >>> x = np.zeros((200, 64, 84, 1), np.float32)
        >>> noisy = add_signed_noise(x, 0.5, np.random.default_rng(0))
        >>> round(float((2 * noisy - 1).std()), 2)   # σ_C in the classifier's −1/+1 scale
        0.5
    """
    if not sigma >= 0:
        raise EvaluationInputError(f"σ_C must be >= 0, got {sigma}")
    x = np.asarray(phrases, dtype=np.float32)
    if sigma == 0:
        return x
    return x + np.float32(sigma / 2.0) * rng.standard_normal(x.shape, dtype=np.float32)


@dataclasses.dataclass(eq=False)
class ClassifierAccuracy:
    """Test accuracy of a genre classifier under test-time noise σ_C.

    Attributes:
        genre_a, genre_b: The classifier's classes 0 and 1.
        sigmas: Noise levels σ_C (in the classifier's −1/+1 scale, as the authors).
        accuracy: ``{σ_C: accuracy in %}`` over the test phrases of both genres together.
        per_genre: ``{σ_C: {genre: accuracy in %}}``.
        counts: ``{genre: test phrases used}``.
        info: Classifier, dataset, seed, limit.
    """

    genre_a: str
    genre_b: str
    sigmas: tuple[float, ...]
    accuracy: dict[float, float]
    per_genre: dict[float, dict[str, float]]
    counts: dict[str, int]
    info: dict = dataclasses.field(default_factory=dict)

    def thesis_row(self) -> dict[float, float] | None:
        """The thesis' accuracies for this pair (either order), or ``None``."""
        return THESIS_CLASSIFIER_ACCURACY.get((self.genre_a, self.genre_b)) or THESIS_CLASSIFIER_ACCURACY.get((self.genre_b, self.genre_a))

    def to_dict(self) -> dict:
        """JSON-ready dict (σ_C keys as strings)."""
        thesis = self.thesis_row()
        return {
            "format": CLASSIFIER_FORMAT,
            "format_version": 1,
            "genre_a": self.genre_a,
            "genre_b": self.genre_b,
            "noise": "zero-mean Gaussian N(0, sigma_c^2) added to the test inputs in the classifier's -1/+1 scale (the authors' way)",
            "sigmas": list(self.sigmas),
            "accuracy": {f"{sigma:g}": value for sigma, value in self.accuracy.items()},
            "per_genre": {f"{sigma:g}": values for sigma, values in self.per_genre.items()},
            "counts": self.counts,
            "thesis_accuracy": None if thesis is None else {f"{sigma:g}": value for sigma, value in thesis.items()},
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, payload: Mapping) -> "ClassifierAccuracy":
        """Inverse of :meth:`to_dict`."""
        if payload.get("format") != CLASSIFIER_FORMAT:
            raise EvaluationInputError(f"not an {CLASSIFIER_FORMAT} file")
        return cls(
            payload["genre_a"],
            payload["genre_b"],
            tuple(float(sigma) for sigma in payload["sigmas"]),
            {float(sigma): value for sigma, value in payload["accuracy"].items()},
            {float(sigma): dict(values) for sigma, values in payload["per_genre"].items()},
            dict(payload["counts"]),
            dict(payload.get("info", {})),
        )


def classifier_accuracy(
    classifier,
    phrases_a: TestPhrases,
    phrases_b: TestPhrases,
    *,
    sigmas: Sequence[float] = SIGMA_C_LEVELS,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    classifier_genres: tuple[str, str] | None = None,
    info: Mapping | None = None,
) -> ClassifierAccuracy:
    """Accuracy of a genre classifier on the pair's test phrases under noise σ_C (thesis Table 5.1).

    The noise for genre ``g`` at level ``σ_C`` comes from a generator seeded by ``(seed, g, σ_C)``,
    so each cell is reproducible and does not depend on the other levels or the batch size. See
    :func:`add_signed_noise` for the scale.

    Args:
        classifier: A :class:`GenreClassifier` (or Keras model).
        phrases_a, phrases_b: Test phrases of the classifier's genres.
        sigmas: Noise levels σ_C.
        seed: Noise seed.
        batch_size: Phrases per classifier call.
        classifier_genres: The classifier's class order when known (maps classes by genre name).
        info: Extra metadata.

    Returns:
        A :class:`ClassifierAccuracy` (percentages).
    """
    classifier = as_genre_classifier(classifier)
    sigma_values = tuple(float(sigma) for sigma in sigmas)
    if not sigma_values or any(not sigma >= 0 for sigma in sigma_values):
        raise EvaluationInputError(f"σ_C levels must be non-empty and >= 0, got {list(sigmas)}")
    (class_a, class_b), note = classifier_class_indices(phrases_a.genre, phrases_b.genre, classifier_genres or classifier.genres)
    accuracy, per_genre = {}, {}
    for sigma in sigma_values:
        correct, total, genre_cells = 0, 0, {}
        for phrases, label in ((phrases_a, class_a), (phrases_b, class_b)):
            rng = _genre_seed(seed, phrases.genre, int(round(sigma * 1_000_000)))
            hits = 0
            for start in range(0, len(phrases), batch_size):
                batch = add_signed_noise(phrases.rolls[start : start + batch_size, ..., None], sigma, rng)
                hits += int(np.sum(np.argmax(classifier.probabilities(batch, batch_size), axis=1) == label))
            genre_cells[phrases.genre] = 100.0 * hits / len(phrases)
            correct += hits
            total += len(phrases)
        accuracy[sigma] = 100.0 * correct / total
        per_genre[sigma] = genre_cells
    details = dict(info or {})
    details.setdefault("seed", seed)
    if note:
        details["notes"] = [*details.get("notes", []), note]
    return ClassifierAccuracy(
        phrases_a.genre, phrases_b.genre, sigma_values, accuracy, per_genre, {phrases_a.genre: len(phrases_a), phrases_b.genre: len(phrases_b)}, details
    )


def format_classifier_report(result: ClassifierAccuracy) -> str:
    """Markdown of the accuracy table, ours next to the thesis' row for the pair."""
    thesis = result.thesis_row()
    header = ["σ_C", *(f"{sigma:g}" for sigma in result.sigmas)]
    rows = [[f"ours: {result.genre_a} vs {result.genre_b} (%)", *(_percent(result.accuracy[sigma]) for sigma in result.sigmas)]]
    for genre in (result.genre_a, result.genre_b):
        rows.append([f"ours: {genre} test phrases only (%)", *(_percent(result.per_genre[sigma][genre]) for sigma in result.sigmas)])
    if thesis is not None:
        rows.append(["thesis Table 5.1 (%)", *(_percent(thesis.get(sigma)) for sigma in result.sigmas)])
    info = result.info
    data = info.get("dataset", {})
    lines = [
        f"# Genre classifier accuracy: {result.genre_a} vs {result.genre_b}",
        "",
        f"* **classifier**: {_describe(info.get('classifier'))}",
        f"* **dataset**: `{data.get('data_dir', '—')}`, manifest sha256 `{data.get('manifest_sha256', '—')}`",
        f"* **test phrases**: " + ", ".join(f"{genre}: {count}" for genre, count in result.counts.items()),
        f"* **seed / limit**: {info.get('seed', '—')} / {info.get('limit') or 'all'}",
        *(f"* **note**: {note}" for note in info.get("notes", [])),
        "",
        _markdown_table(header, rows),
        "",
        "Noise: zero-mean Gaussian N(0, σ_C²) added to every test input in the classifier's −1/+1 scale "
        "(x·2 − 1 + n), as the authors' `style_classifier.py` did; no noise in training. The accuracy "
        "counts a phrase as correct when the softmax argmax is its genre.",
        "",
    ]
    if thesis is None:
        lines.append("The thesis reports no classifier for this pair (it has jazz/classical, classical/pop and jazz/pop).")
    else:
        lines.append(
            "The thesis row is Sumu Zhao's Table 5.1 (`imgs/Picture3.png` in the authors' repository), "
            "on the authors' test split, which is not ours: compare the trend over σ_C more than the digits. "
            "The paper's Tables VI–IX caption their classifier with \"σ_C = 1\", a value not in this table "
            "whose meaning cannot be recovered (spec §6.2)."
        )
    return "\n".join(lines) + "\n"


def write_classifier_report(result: ClassifierAccuracy, out_dir) -> dict[str, Path]:
    """Writes ``classifier_accuracy.{md,csv,json}`` into ``out_dir`` (atomically, file by file)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    thesis = result.thesis_row() or {}
    rows = [
        [f"{sigma:g}", result.accuracy[sigma], result.per_genre[sigma][result.genre_a], result.per_genre[sigma][result.genre_b], thesis.get(sigma)]
        for sigma in result.sigmas
    ]
    written = {
        "csv": _write_csv_atomic(out / CLASSIFIER_CSV_NAME, ["sigma_c", "accuracy", f"accuracy_{result.genre_a}", f"accuracy_{result.genre_b}", "thesis_accuracy"], rows),
        "json": _write_json_atomic(out / CLASSIFIER_JSON_NAME, result.to_dict()),
    }
    written["report"] = atomic.write_text(out / CLASSIFIER_REPORT_NAME, format_classifier_report(result))
    return written


def run_classifier_evaluation(
    classifier_path,
    data_dir,
    out_dir,
    *,
    genre_a: str | None = None,
    genre_b: str | None = None,
    sigmas: Sequence[float] = SIGMA_C_LEVELS,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint: str = "last",
) -> tuple[ClassifierAccuracy, dict[str, Path]]:
    """Loads a classifier and the pair's test phrases, measures accuracy per σ_C, writes the report.

    Genres default to the classifier's recorded config. Raises :class:`EvaluationInputError` for
    missing inputs, unknown genres, empty test splits or genres that differ from the classifier's.
    """
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("limit", limit, allow_none=True)
    description = _describe_classifier(classifier_path, checkpoint)
    manifest = _load_manifest(data_dir)
    if description.kind == "cyclegan":
        raise EvaluationInputError(f"{classifier_path} is a CycleGAN, not a genre classifier")
    if (genre_a is None) != (genre_b is None):
        raise EvaluationInputError("give both --genre-a and --genre-b, or neither (then they are read from the classifier's config)")
    if genre_a is None:
        if description.genres is None:
            raise EvaluationInputError(f"the classifier at {classifier_path} has no recorded config; pass --genre-a and --genre-b")
        genre_a, genre_b = description.genres
    if genre_a == genre_b:
        raise EvaluationInputError(f"--genre-a and --genre-b must differ, both are {genre_a!r}")
    classifier_class_indices(genre_a, genre_b, description.genres)
    check_test_split(data_dir, [genre_a, genre_b], manifest)
    phrases_a = load_test_phrases(data_dir, genre_a, limit=limit, seed=seed)
    phrases_b = load_test_phrases(data_dir, genre_b, limit=limit, seed=seed)
    classifier = load_genre_classifier(classifier_path, checkpoint)
    check_models(None, classifier)
    info = {
        "classifier": description.to_dict(),
        "dataset": dataset_summary(data_dir, [genre_a, genre_b]),
        "seed": seed,
        "limit": limit,
        "versions": _versions(),
    }
    result = classifier_accuracy(classifier, phrases_a, phrases_b, sigmas=sigmas, seed=seed, batch_size=batch_size, classifier_genres=description.genres, info=info)
    return result, write_classifier_report(result, out_dir)


# ============================================================================ sweeps


@dataclasses.dataclass(frozen=True)
class SweepColumn:
    """One column of a sweep: our evaluation and the paper's matching column (if any)."""

    heading: str
    label: str
    variant: str | None
    sigma_d: float | None
    cells: ClassifierTable
    mean_cells: ClassifierTable
    source: str
    paper: PaperMatch | None


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Several evaluations of one genre pair in one of the paper's layouts.

    Attributes:
        layout: ``"sigma"`` (Table VI: one variant, columns σ_D) or ``"variants"`` (Tables VII–IX:
            columns base / partial / full).
        genre_a, genre_b: The pair.
        columns: The columns in table order.
        paper_table: The paper's table these columns are compared with, or ``None``.
    """

    layout: str
    genre_a: str
    genre_b: str
    columns: tuple[SweepColumn, ...]
    paper_table: str | None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "format": SWEEP_FORMAT,
            "format_version": 1,
            "layout": self.layout,
            "genre_a": self.genre_a,
            "genre_b": self.genre_b,
            "paper_table": self.paper_table,
            "columns": [
                {
                    "heading": column.heading,
                    "label": column.label,
                    "variant": column.variant,
                    "sigma_d": column.sigma_d,
                    "source": column.source,
                    "cells": column.cells.as_dict(),
                    "mean_probability_cells": column.mean_cells.as_dict(),
                    "strength": transfer_strength(column.cells)._asdict(),
                    "paper": None
                    if column.paper is None
                    else {
                        "table": column.paper.column.table,
                        "label": column.paper.column.label,
                        "swapped": column.paper.swapped,
                        "cells": column.paper.cells.as_dict(),
                        "printed_total": column.paper.column.printed_total,
                        "calculated_total": transfer_strength(column.paper.cells).total,
                    },
                }
                for column in self.columns
            ],
        }


def _format_sigma(sigma: float | None) -> str:
    return "?" if sigma is None else f"{sigma:g}"


def assemble_sweep(results: Sequence[EvaluationResult], layout: str) -> Sweep:
    """Arranges evaluations of one pair into the paper's Table VI or Tables VII–IX layout.

    ``"sigma"``: every result must have the same variant and a known σ_D, all different; columns
    are sorted by σ_D and matched with the paper's Table VI (Jazz/Classic base) or another column of
    that pair, variant and σ_D. ``"variants"``: every result must have a known, different variant;
    columns follow base, partial, full and are matched with the paper's column of that variant in
    Tables VII–IX (whose σ_D may differ from ours; the heading says both).

    Raises:
        EvaluationInputError: No results, different genre pairs, or a missing/duplicate σ_D or variant.
    """
    if layout not in SWEEP_LAYOUTS:
        raise EvaluationInputError(f"layout must be one of {SWEEP_LAYOUTS}, got {layout!r}")
    if not results:
        raise EvaluationInputError("a sweep needs at least one evaluation")
    pairs = {(result.genre_a, result.genre_b) for result in results}
    if len(pairs) != 1:
        raise EvaluationInputError(f"all evaluations of a sweep must have the same genre pair (in the same order); got {sorted(pairs)}")
    genre_a, genre_b = next(iter(pairs))

    def source(result):
        return str(result.info.get("report_dir") or result.label)

    if layout == "sigma":
        variants = {result.variant for result in results}
        if len(variants) != 1:
            raise EvaluationInputError(f"a σ_D sweep compares one variant; got variants {sorted(map(str, variants))}")
        variant = next(iter(variants))
        missing = [source(result) for result in results if result.sigma_d is None]
        if missing:
            raise EvaluationInputError(f"σ_D unknown for {missing}; evaluate with --sigma-d or from a run with a recorded config")
        sigmas = [result.sigma_d for result in results]
        if len(set(sigmas)) != len(sigmas):
            raise EvaluationInputError(f"two evaluations have the same σ_D: {sorted(sigmas)}")
        ordered = sorted(results, key=lambda result: result.sigma_d)
        columns = []
        for result in ordered:
            found = paper_matches(genre_a, genre_b, variant, result.sigma_d) if variant is not None else []
            match = found[0] if found else None
            columns.append(_sweep_column(result, f"σ_D={result.sigma_d:g}", source(result), match))
        tables = {column.paper.column.table for column in columns if column.paper is not None}
        paper_table = "VI" if "VI" in tables else (sorted(tables)[0] if tables else None)
        return Sweep(layout, genre_a, genre_b, tuple(columns), paper_table)

    missing = [source(result) for result in results if result.variant is None]
    if missing:
        raise EvaluationInputError(f"variant unknown for {missing}; evaluate with --variant or from a run with a recorded config")
    variants = [result.variant for result in results]
    if len(set(variants)) != len(variants):
        raise EvaluationInputError(f"two evaluations have the same variant: {sorted(variants)}")
    ordered = sorted(results, key=lambda result: VARIANT_ORDER.index(result.variant))
    columns = []
    for result in ordered:
        found = paper_matches(genre_a, genre_b, result.variant, tables=("VII", "VIII", "IX"))
        match = found[0] if found else None
        columns.append(_sweep_column(result, f"M_{result.variant}, σ_D={_format_sigma(result.sigma_d)}", source(result), match))
    tables = {column.paper.column.table for column in columns if column.paper is not None}
    return Sweep(layout, genre_a, genre_b, tuple(columns), sorted(tables)[0] if tables else None)


def _sweep_column(result: EvaluationResult, heading: str, source: str, match: PaperMatch | None) -> SweepColumn:
    return SweepColumn(heading, result.label, result.variant, result.sigma_d, result.table(), result.table("mean_probability"), source, match)


def format_sweep(sweep: Sweep) -> str:
    """Markdown of a sweep: our columns interleaved with the paper's, then the mean-probability table."""
    caption = {"sigma": "one variant over σ_D (the paper's Table VI layout)", "variants": "base / partial / full (the paper's Tables VII–IX layout)"}[sweep.layout]
    lines = [f"# Sweep: {sweep.genre_a} (A) ↔ {sweep.genre_b} (B), {caption}", ""]
    header = ["row"]
    for column in sweep.columns:
        header.append(f"ours {column.heading}")
        if column.paper is not None:
            header.append(column.paper.heading)
    rows = []
    for label in (*TABLE_ROW_LABELS, "S^D_tot", "S^D_tot printed in the paper"):
        row = [label]
        for column in sweep.columns:
            if label == "S^D_tot":
                row.append(_percent(transfer_strength(column.cells).total))
            elif label.startswith("S^D_tot printed"):
                row.append("—")
            else:
                row.append(_percent(column.cells.as_dict()[label]))
            if column.paper is not None:
                if label == "S^D_tot":
                    row.append(_percent(transfer_strength(column.paper.cells).total))
                elif label.startswith("S^D_tot printed"):
                    row.append(f"{column.paper.column.printed_total:.1f}")
                else:
                    row.append(_percent(column.paper.cells.as_dict()[label]))
        rows.append(row)
    lines.append(_markdown_table(header, rows))
    lines.append("")
    lines.append("Cells: % of test phrases classified as the source genre (P_source > 0.5). Paper columns: the printed cells; its S^D_tot row is recomputed from them with the spec §6.3 formula, the printed value is below.")
    if sweep.paper_table is None:
        lines.append("")
        lines.append("The paper has no matching columns for this pair/variant.")
    elif sweep.layout == "variants":
        lines.append("")
        lines.append("Each paper column is the paper's model of that variant, trained with its own selected σ_D (in the heading); ours may differ.")
    lines += ["", "## Mean source probability (%)", ""]
    mean_rows = []
    for label in TABLE_ROW_LABELS:
        mean_rows.append([label, *(_percent(column.mean_cells.as_dict()[label]) for column in sweep.columns)])
    mean_rows.append(["S^D_tot", *(_percent(transfer_strength(column.mean_cells).total) for column in sweep.columns)])
    lines.append(_markdown_table(["row", *(f"ours {column.heading}" for column in sweep.columns)], mean_rows))
    lines += ["", "## Sources", ""]
    lines += [f"* {column.heading}: {column.label} — `{column.source}`" for column in sweep.columns]
    if sweep.paper_table is not None and not any(column.paper.swapped for column in sweep.columns if column.paper is not None):
        lines += ["", f"## The paper's Table {sweep.paper_table} with our columns", "", "```"]
        lines.append(format_paper_table(sweep.paper_table, ours={f"ours {column.heading}": column.cells for column in sweep.columns}))
        lines.append("```")
    return "\n".join(lines) + "\n"


def write_sweep(sweep: Sweep, out_dir) -> dict[str, Path]:
    """Writes ``sweep.md``, ``sweep.csv`` (long format: one row per column × table row) and ``sweep.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for column in sweep.columns:
        ours = {**column.cells.as_dict(), "S^D_tot": transfer_strength(column.cells).total}
        means = {**column.mean_cells.as_dict(), "S^D_tot": transfer_strength(column.mean_cells).total}
        paper = None
        if column.paper is not None:
            paper = {**column.paper.cells.as_dict(), "S^D_tot": transfer_strength(column.paper.cells).total}
        for label in (*TABLE_ROW_LABELS, "S^D_tot"):
            rows.append(
                [
                    column.heading,
                    column.variant,
                    column.sigma_d,
                    label,
                    ours[label],
                    means[label],
                    None if paper is None else f"Table {column.paper.column.table} {column.paper.column.label}",
                    None if paper is None else paper[label],
                    None if column.paper is None or label != "S^D_tot" else column.paper.column.printed_total,
                    column.source,
                ]
            )
    written = {
        "csv": _write_csv_atomic(
            out / SWEEP_CSV_NAME,
            ["column", "variant", "sigma_d", "row", "ours_percent_source", "ours_mean_probability", "paper_column", "paper", "paper_printed_total", "source"],
            rows,
        ),
        "json": _write_json_atomic(out / SWEEP_JSON_NAME, sweep.to_dict()),
    }
    written["report"] = atomic.write_text(out / SWEEP_REPORT_NAME, format_sweep(sweep))
    return written


def run_sweep(report_dirs: Sequence, layout: str, out_dir) -> tuple[Sweep, dict[str, Path]]:
    """Loads ``results.json`` of each report folder, assembles and writes the sweep."""
    if not report_dirs:
        raise EvaluationInputError("no report folders given (--runs)")
    sweep = assemble_sweep([load_results(path) for path in report_dirs], layout)
    return sweep, write_sweep(sweep, out_dir)


__all__ = [
    "CLASSIFIER_CHECKPOINTS",
    "DIRECTIONS",
    "PHRASE_METRICS",
    "SET_LABELS",
    "SIGMA_C_LEVELS",
    "SWEEP_LAYOUTS",
    "THESIS_CLASSIFIER_ACCURACY",
    "ClassifierAccuracy",
    "DirectionOutputs",
    "DirectionResult",
    "EvaluationError",
    "EvaluationInputError",
    "EvaluationResult",
    "EvaluationRun",
    "GenreClassifier",
    "ModelDescription",
    "PaperMatch",
    "Sweep",
    "SweepColumn",
    "TestPhrases",
    "add_signed_noise",
    "as_genre_classifier",
    "assemble_sweep",
    "check_models",
    "check_test_split",
    "classifier_accuracy",
    "classifier_class_indices",
    "dataset_summary",
    "describe_model",
    "evaluate_transfer",
    "format_classifier_report",
    "format_report",
    "format_sweep",
    "load_genre_classifier",
    "load_results",
    "load_test_phrases",
    "load_transfer_model",
    "music_metric_sets",
    "paper_matches",
    "resolve_classifier_path",
    "run_classifier_evaluation",
    "run_direction",
    "run_evaluation",
    "run_sweep",
    "transfer_and_cycle",
    "write_classifier_report",
    "write_report",
    "write_sweep",
]
