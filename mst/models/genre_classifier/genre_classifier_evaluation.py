"""The genre classifier's test accuracy under test-time noise σ_C (Sumu Zhao's thesis, Table 5.1).

The authors measured their classifiers with zero-mean Gaussian noise ``N(0, σ_C²)`` added to the
test inputs in the classifier's −1/+1 input scale (``x·2 − 1 + n``, ``style_classifier.py``; no
noise in training). :func:`noisy_phrases` is the one implementation of that noise in mst: the
classifier trainer's per-epoch monitor
(:class:`mst.models.genre_classifier.genre_classifier_task.ClassifierEvaluation`) and the table of
:func:`classifier_accuracy` (``evaluate.py classifier``) both call it, with the same seeds, on the
same phrases in the same batches, so for one set of weights they report the same accuracy.

The noise of one batch is drawn with ``tf.random.stateless_normal`` from the seed
``(1_000_003 + σ index, batch index)``: the σ index is the position of σ_C in the levels the
training run monitors (``0`` first, then the config's ``sigma_c_eval``), the batch index counts
batches of :data:`NOISE_BATCH_SIZE` phrases over the test phrases of class 0 followed by those of
class 1. The table also accepts an evaluation seed; seed 0 is the training monitor's noise.

Example (a rigged classifier that calls a phrase genre A when more of its notes sit low):
    >>> from mst.models.cyclegan.cyclegan_evaluation import TestPhrases, as_classifier
    >>> low = np.zeros((4, 64, 84), bool); low[:, :, 10] = True
    >>> def register(x):
    ...     x = np.asarray(x)
    ...     difference = x[:, :, :42].sum(axis=(1, 2, 3)) - x[:, :, 42:].sum(axis=(1, 2, 3))
    ...     return np.stack([difference, -difference], axis=1)
    >>> rigged = as_classifier(register, output="logits", genres=("jazz", "pop"))
    >>> table = classifier_accuracy(rigged, TestPhrases.from_rolls("jazz", low),
    ...                             TestPhrases.from_rolls("pop", low[:, :, ::-1]), sigmas=(0.0, 0.5))
    >>> table.accuracy
    {0.0: 100.0, 0.5: 100.0}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import pianoroll
from mst.models.cyclegan.cyclegan_evaluation import (
    DEFAULT_BATCH_SIZE,
    EvaluationInputError,
    TestPhrases,
    as_classifier,
    check_models,
    check_positive_int,
    check_test_split,
    classifier_class_indices,
    classify,
    dataset_summary,
    describe_classifier,
    format_description,
    library_versions,
    load_classifier,
    load_dataset_manifest,
    load_test_phrases,
    recorded_genres,
)
from mst.models.genre_classifier.genre_classifier_presets import SIGMA_C_EVAL
from mst.records.pianoroll_reader import EVAL_BATCH_SIZE
from mst.reporting import markdown_table, percent, write_csv, write_json
from mst.runtime import import_tensorflow

CLASSIFIER_FORMAT = "mst.classifier_accuracy"
CLASSIFIER_REPORT_NAME = "classifier_accuracy.md"
CLASSIFIER_CSV_NAME = "classifier_accuracy.csv"
CLASSIFIER_JSON_NAME = "classifier_accuracy.json"

NOISE_SEED = 1_000_003
"""First word of every noise seed (plus the σ index)."""
NOISE_BATCH_SIZE = EVAL_BATCH_SIZE
"""Phrases per noise batch: the training monitor's evaluation batch on one device."""
_UNLISTED_STREAMS = 1_000
"""σ indices of levels the training run did not monitor start here (see :func:`noise_index`)."""


def monitored_sigmas(sigma_c_eval: Sequence[float] = SIGMA_C_EVAL) -> tuple[float, ...]:
    """The σ_C levels a classifier training run monitors: 0, then ``sigma_c_eval`` (no repeats).

    Example:
        >>> monitored_sigmas((0.5, 0.0, 0.1))
        (0.0, 0.5, 0.1)
    """
    return tuple(dict.fromkeys((0.0, *(float(sigma) for sigma in sigma_c_eval))))


SIGMA_C_LEVELS: tuple[float, ...] = monitored_sigmas(SIGMA_C_EVAL)
"""Test-time noise levels σ_C of the thesis' classifier table: 0, 0.01, 0.1, 0.2, 0.3, 0.5."""


def noise_index(sigma: float, monitored: Sequence[float] = SIGMA_C_LEVELS) -> int:
    """The σ index of :func:`noisy_phrases` for ``sigma``: its position in the monitored levels.

    A level the training run did not monitor gets an index derived from its value alone, so its
    noise does not depend on which other levels are evaluated.

    Example:
        >>> noise_index(0.5), noise_index(0.5, monitored_sigmas((0.5,))), noise_index(2.0)
        (5, 1, 2001000)
    """
    sigma = float(sigma)
    monitored = tuple(float(level) for level in monitored)
    if sigma in monitored:
        return monitored.index(sigma)
    return _UNLISTED_STREAMS + int(round(sigma * 1_000_000))


def noisy_phrases(phrases, sigma: float, sigma_index, batch_index, *, seed: int = 0):
    """Adds the authors' test-time noise N(0, σ_C²) to one batch, in the classifier's −1/+1 scale.

    The authors feed ``x·2 − 1 + n`` with ``n ~ N(0, σ_C²)``. mst's classifiers take {0, 1} phrases
    and rescale them themselves, so the noise is added in the signed scale and mapped back
    (:func:`mst.encodings.pianoroll.to_signed` / ``from_signed``): ``x + n/2`` in the {0, 1} scale.
    Works eagerly and inside ``tf.data`` (``batch_index`` may be a tensor).

    Args:
        phrases: One batch ``[B, 64, 84, 1]`` (NumPy or tensor, {0, 1}).
        sigma: σ_C (>= 0); 0 returns ``phrases`` unchanged.
        sigma_index: The level's index (:func:`noise_index`).
        batch_index: Index of the batch among the batches of :data:`NOISE_BATCH_SIZE` phrases.
        seed: Evaluation seed; 0 is the training monitor's noise.

    Returns:
        The noisy batch as a float32 tensor (``phrases`` itself when ``sigma`` is 0).

    Example:
        >>> x = np.zeros((200, 64, 84, 1), np.float32)
        >>> noisy = np.asarray(noisy_phrases(x, 0.5, 5, 0))
        >>> round(float((2 * noisy - 1).std()), 2)   # σ_C in the classifier's −1/+1 scale
        0.5
        >>> bool(np.array_equal(noisy, np.asarray(noisy_phrases(x, 0.5, 5, 0)))), bool(np.array_equal(noisy, np.asarray(noisy_phrases(x, 0.5, 5, 1))))
        (True, False)
    """
    if not sigma >= 0:
        raise ValueError(f"σ_C must be >= 0, got {sigma}")
    if sigma == 0:
        return phrases
    tf = import_tensorflow()
    batch = tf.convert_to_tensor(phrases, tf.float32)
    second = tf.cast(batch_index, tf.int64) + tf.constant((int(seed) % 2**31) << 32, tf.int64)
    stateless_seed = tf.stack([tf.constant(NOISE_SEED + sigma_index, tf.int64), second])
    noise = sigma * tf.random.stateless_normal(tf.shape(batch), seed=stateless_seed)
    return pianoroll.from_signed(pianoroll.to_signed(batch) + noise)


THESIS_CLASSIFIER_ACCURACY: dict[tuple[str, str], dict[float, float]] = {
    ("jazz", "classical"): {0.0: 88.89, 0.01: 88.53, 0.1: 87.87, 0.2: 84.71, 0.3: 83.07, 0.5: 74.93},
    ("classical", "pop"): {0.0: 84.66, 0.01: 83.42, 0.1: 81.97, 0.2: 81.12, 0.3: 78.14, 0.5: 70.28},
    ("jazz", "pop"): {0.0: 67.07, 0.01: 66.18, 0.1: 63.78, 0.2: 62.40, 0.3: 61.72, 0.5: 59.96},
}
"""Test accuracy (%) of the authors' genre classifiers under test-time noise σ_C.

Source: Sumu Zhao's thesis, "Table 5.1: average genre classifier accuracy with Gaussian input noise
added during testing", reproduced as ``imgs/Picture3.png`` in the authors' repository
``CycleGAN-Music-Style-Transfer``. Keys are the paper's pair order; the noise N(0, σ_C²) was added
to the inputs in the classifier's −1/+1 scale (``style_classifier.py``).
"""


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


def _noisy(padded: np.ndarray, sigma: float, sigma_index: int, seed: int) -> np.ndarray:
    """The noisy copy of zero-padded phrases, batch by batch of :data:`NOISE_BATCH_SIZE`."""
    batches = [
        np.asarray(noisy_phrases(padded[start : start + NOISE_BATCH_SIZE], sigma, sigma_index, index, seed=seed), np.float32)
        for index, start in enumerate(range(0, len(padded), NOISE_BATCH_SIZE))
    ]
    return np.concatenate(batches)


def classifier_accuracy(
    classifier,
    phrases_a: TestPhrases,
    phrases_b: TestPhrases,
    *,
    sigmas: Sequence[float] = SIGMA_C_LEVELS,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    classifier_genres: tuple[str, str] | None = None,
    monitored: Sequence[float] | None = None,
    info: Mapping | None = None,
) -> ClassifierAccuracy:
    """Accuracy of a genre classifier on the pair's test phrases under noise σ_C (thesis Table 5.1).

    The phrases are arranged as the training monitor reads them: the classifier's class 0 first,
    zero-padded to whole noise batches. Each level's noise comes from :func:`noisy_phrases` with
    :func:`noise_index`, so a cell does not depend on the other levels or on ``batch_size``.

    Args:
        classifier: A genre classifier (see :func:`mst.models.cyclegan.cyclegan_evaluation.as_classifier`).
        phrases_a, phrases_b: Test phrases of the classifier's genres.
        sigmas: Noise levels σ_C.
        seed: Evaluation seed of the noise (0: the training monitor's noise).
        batch_size: Phrases per classifier call.
        classifier_genres: The classifier's class order when known (maps classes by genre name).
        monitored: The levels the classifier's training run monitored (:func:`monitored_sigmas` of
            its ``sigma_c_eval``; default the thesis' levels); they number the noise streams.
        info: Extra metadata.

    Returns:
        A :class:`ClassifierAccuracy` (percentages).
    """
    check_positive_int("batch_size", batch_size)
    classifier = as_classifier(classifier)
    sigma_values = tuple(float(sigma) for sigma in sigmas)
    if not sigma_values or any(not sigma >= 0 for sigma in sigma_values):
        raise EvaluationInputError(f"σ_C levels must be non-empty and >= 0, got {list(sigmas)}")
    (class_a, class_b), note = classifier_class_indices(phrases_a.genre, phrases_b.genre, classifier_genres or recorded_genres(classifier))
    ordered = sorted(((class_a, phrases_a), (class_b, phrases_b)), key=lambda item: item[0])
    rolls = pianoroll.as_phrase_batch(np.concatenate([phrases.rolls for _, phrases in ordered]))
    labels = np.concatenate([np.full(len(phrases), label) for label, phrases in ordered])
    padding = -len(rolls) % NOISE_BATCH_SIZE
    padded = np.concatenate([rolls, np.zeros((padding, *rolls.shape[1:]), np.float32)])
    levels = SIGMA_C_LEVELS if monitored is None else monitored_sigmas(monitored)
    accuracy, per_genre = {}, {}
    for sigma in sigma_values:
        noisy = _noisy(padded, sigma, noise_index(sigma, levels), seed)
        correct = np.argmax(classify(classifier, noisy, batch_size)[: len(labels)], axis=1) == labels
        accuracy[sigma] = 100.0 * float(np.mean(correct))
        per_genre[sigma] = {phrases.genre: 100.0 * float(np.mean(correct[labels == label])) for label, phrases in ((class_a, phrases_a), (class_b, phrases_b))}
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
    rows = [[f"ours: {result.genre_a} vs {result.genre_b} (%)", *(percent(result.accuracy[sigma]) for sigma in result.sigmas)]]
    for genre in (result.genre_a, result.genre_b):
        rows.append([f"ours: {genre} test phrases only (%)", *(percent(result.per_genre[sigma][genre]) for sigma in result.sigmas)])
    if thesis is not None:
        rows.append(["thesis Table 5.1 (%)", *(percent(thesis.get(sigma)) for sigma in result.sigmas)])
    info = result.info
    data = info.get("dataset", {})
    lines = [
        f"# Genre classifier accuracy: {result.genre_a} vs {result.genre_b}",
        "",
        f"* **classifier**: {format_description(info.get('classifier'))}",
        f"* **dataset**: `{data.get('data_dir', '—')}`, manifest sha256 `{data.get('manifest_sha256', '—')}`",
        "* **test phrases**: " + ", ".join(f"{genre}: {count}" for genre, count in result.counts.items()),
        f"* **seed / limit**: {info.get('seed', '—')} / {info.get('limit') or 'all'}",
        *(f"* **note**: {note}" for note in info.get("notes", [])),
        "",
        markdown_table(header, rows),
        "",
        "Noise: zero-mean Gaussian N(0, σ_C²) added to every test input in the classifier's −1/+1 scale "
        "(x·2 − 1 + n), as the authors' `style_classifier.py` did; no noise in training. The accuracy "
        "counts a phrase as correct when the softmax argmax is its genre. With seed 0 and all test "
        "phrases the noise is the one the classifier's training run drew for its per-epoch "
        "`test_accuracy.csv`, so the numbers of the same weights agree.",
        "",
    ]
    if thesis is None:
        lines.append("The thesis reports no classifier for this pair (it has jazz/classical, classical/pop and jazz/pop).")
    else:
        lines.append(
            "The thesis row is Sumu Zhao's Table 5.1 (`imgs/Picture3.png` in the authors' repository), "
            "on the authors' test split, which is not ours: compare the trend over σ_C more than the digits. "
            "The paper's Tables VI–IX caption their classifier with \"σ_C = 1\", a value not in this table "
            "whose meaning cannot be recovered."
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
        "csv": write_csv(out / CLASSIFIER_CSV_NAME, ["sigma_c", "accuracy", f"accuracy_{result.genre_a}", f"accuracy_{result.genre_b}", "thesis_accuracy"], rows),
        "json": write_json(out / CLASSIFIER_JSON_NAME, result.to_dict()),
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

    Genres default to the classifier's recorded config; so do the levels its training run
    monitored (they number the noise streams, see :func:`classifier_accuracy`).

    Raises:
        EvaluationInputError: Missing inputs, unknown genres, empty test splits or genres that
            differ from the classifier's.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("limit", limit, allow_none=True)
    description = describe_classifier(classifier_path, checkpoint)
    manifest = load_dataset_manifest(data_dir)
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
    classifier = load_classifier(classifier_path, checkpoint)
    check_models(None, classifier)
    info = {
        "classifier": description.to_dict(),
        "dataset": dataset_summary(data_dir, [genre_a, genre_b]),
        "seed": seed,
        "limit": limit,
        "versions": library_versions(),
    }
    result = classifier_accuracy(
        classifier,
        phrases_a,
        phrases_b,
        sigmas=sigmas,
        seed=seed,
        batch_size=batch_size,
        classifier_genres=description.genres,
        monitored=description.sigma_c_eval,
        info=info,
    )
    return result, write_classifier_report(result, out_dir)


__all__ = [
    "CLASSIFIER_FORMAT",
    "NOISE_BATCH_SIZE",
    "NOISE_SEED",
    "SIGMA_C_LEVELS",
    "THESIS_CLASSIFIER_ACCURACY",
    "ClassifierAccuracy",
    "classifier_accuracy",
    "format_classifier_report",
    "monitored_sigmas",
    "noise_index",
    "noisy_phrases",
    "run_classifier_evaluation",
    "write_classifier_report",
]
