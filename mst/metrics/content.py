"""Content preservation between a phrase and its transfer (or cycle), one value per phrase pair.

Both arguments are binary rolls of the same shape, ``[T, 84]``, ``[N, T, 84]`` or ``[N, T, 84, 1]``
(see :mod:`mst.metrics.music` for the validation and the note/onset conventions). ``reference`` is
the source phrase, ``candidate`` its transfer. Empty-roll conventions, chosen so that "nothing to
keep and nothing added" is a perfect score and "everything lost" or "everything invented" is zero:

* both rolls empty: precision = recall = F1 = Jaccard = cosine = 1;
* exactly one empty: all of them 0 (precision of an empty candidate is 0, as in mir_eval).

Example:
    >>> import numpy as np
    >>> source = np.zeros((8, 84), bool); source[0:4, 36] = True; source[4:8, 40] = True
    >>> transfer = np.zeros((8, 84), bool); transfer[0:4, 36] = True; transfer[4:8, 43] = True
    >>> scores = onset_precision_recall_f1(source, transfer)
    >>> float(scores.precision), float(scores.recall), float(scores.f1)
    (0.5, 0.5, 0.5)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mst.metrics.music import Weighting, _onsets, _per_phrase, as_roll_batch, pitch_class_histogram


def _paired(reference, candidate) -> tuple[np.ndarray, np.ndarray, bool]:
    reference_batch, single = as_roll_batch(reference, "reference")
    candidate_batch, candidate_single = as_roll_batch(candidate, "candidate")
    if reference_batch.shape != candidate_batch.shape or single != candidate_single:
        raise ValueError(
            "reference and candidate must have the same shape; got "
            f"{np.shape(reference)} and {np.shape(candidate)}"
        )
    return reference_batch, candidate_batch, single


def _ratio_with_empty_convention(numerator, denominator, both_empty) -> np.ndarray:
    """``numerator / denominator``, 1 where both rolls are empty, 0 where only the denominator is 0."""
    numerator = numerator.astype(np.float64)
    ratio = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return np.where(both_empty, 1.0, ratio)


class OnsetScores(NamedTuple):
    """Per-phrase onset precision, recall and F1 (see :func:`onset_precision_recall_f1`)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray


def onset_precision_recall_f1(reference, candidate) -> OnsetScores:
    """Exact-match note-onset precision, recall and F1 of ``candidate`` against ``reference``.

    An onset is a ``(time step, pitch)`` cell where a run of 1s starts; a candidate onset matches only
    a reference onset at the same step and pitch (no time or pitch tolerance). Precision is the share
    of candidate onsets that match, recall the share of reference onsets that are kept, and
    F1 = 2·matches / (#reference + #candidate) (equal to 2PR/(P+R)).

    Example:
        >>> source = np.zeros((8, 84), bool); source[0:8, 36] = True     # one whole-phrase note
        >>> transfer = np.zeros((8, 84), bool); transfer[0:8:2, 36] = True  # re-struck 4 times
        >>> [round(float(v), 3) for v in onset_precision_recall_f1(source, transfer)]
        [0.25, 1.0, 0.4]
    """
    reference_batch, candidate_batch, single = _paired(reference, candidate)
    reference_onsets = _onsets(reference_batch)
    candidate_onsets = _onsets(candidate_batch)
    matches = (reference_onsets & candidate_onsets).sum(axis=(1, 2))
    num_reference = reference_onsets.sum(axis=(1, 2))
    num_candidate = candidate_onsets.sum(axis=(1, 2))
    both_empty = (num_reference == 0) & (num_candidate == 0)
    precision = _ratio_with_empty_convention(matches, num_candidate, both_empty)
    recall = _ratio_with_empty_convention(matches, num_reference, both_empty)
    f1 = _ratio_with_empty_convention(2 * matches, num_reference + num_candidate, both_empty)
    return OnsetScores(*(_per_phrase(values, single) for values in (precision, recall, f1)))


def pianoroll_jaccard(reference, candidate) -> np.ndarray:
    """Jaccard index of the active cells, ``|x ∧ y| / |x ∨ y|``; 1 when both rolls are empty.

    Example:
        >>> source = np.zeros((4, 84), bool); source[0:4, 10] = True
        >>> transfer = np.zeros((4, 84), bool); transfer[2:4, 10] = True; transfer[0:2, 11] = True
        >>> float(pianoroll_jaccard(source, transfer))   # 2 shared / 6 in the union
        0.3333333333333333
    """
    reference_batch, candidate_batch, single = _paired(reference, candidate)
    shared = (reference_batch & candidate_batch).sum(axis=(1, 2))
    union = (reference_batch | candidate_batch).sum(axis=(1, 2))
    return _per_phrase(_ratio_with_empty_convention(shared, union, union == 0), single)


def pitch_class_cosine_similarity(reference, candidate, weighting: Weighting = "duration") -> np.ndarray:
    """Cosine similarity of the two 12-bin pitch-class histograms (in [0, 1]).

    Transposition-sensitive and octave-blind: moving every note an octave keeps 1.0, moving it a
    semitone usually lowers it. Both empty: 1; one empty: 0.

    Example:
        >>> source = np.zeros((4, 84), bool); source[:, 0] = True              # C only
        >>> transfer = np.zeros((4, 84), bool); transfer[:2, 12] = True; transfer[2:, 7] = True
        >>> round(float(pitch_class_cosine_similarity(source, transfer)), 4)   # C and G equally
        0.7071
    """
    reference_batch, candidate_batch, single = _paired(reference, candidate)
    reference_histogram = pitch_class_histogram(reference_batch, weighting, normalize=False)
    candidate_histogram = pitch_class_histogram(candidate_batch, weighting, normalize=False)
    dot = (reference_histogram * candidate_histogram).sum(axis=1)
    norms = np.linalg.norm(reference_histogram, axis=1) * np.linalg.norm(candidate_histogram, axis=1)
    both_empty = (reference_histogram.sum(axis=1) == 0) & (candidate_histogram.sum(axis=1) == 0)
    cosine = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    return _per_phrase(np.where(both_empty, 1.0, cosine), single)


def content_difference(origin, transfer) -> np.ndarray:
    """The authors' ``Content_diff``: mean squared difference of the binary rolls.

    For binary rolls this is the share of cells that differ (0 = identical).

    Example:
        >>> origin = np.zeros((64, 84), bool); origin[0:4, 0] = True
        >>> float(content_difference(origin, np.zeros((64, 84), bool))) == 4 / (64 * 84)
        True
    """
    origin_batch, transfer_batch, single = _paired(origin, transfer)
    return _per_phrase((origin_batch != transfer_batch).mean(axis=(1, 2)), single)


def content_preservation(reference, candidate) -> dict[str, np.ndarray]:
    """All content-preservation scores at once, float64 per phrase.

    Keys: ``onset_precision``, ``onset_recall``, ``onset_f1``, ``pianoroll_jaccard``,
    ``pitch_class_cosine``, ``content_difference``.

    Example:
        >>> roll = np.zeros((2, 64, 84, 1)); roll[:, 0:4, 30, 0] = 1
        >>> scores = content_preservation(roll, roll)
        >>> scores["onset_f1"].tolist(), scores["content_difference"].tolist()
        ([1.0, 1.0], [0.0, 0.0])
    """
    onset_scores = onset_precision_recall_f1(reference, candidate)
    return {
        "onset_precision": np.asarray(onset_scores.precision, dtype=np.float64),
        "onset_recall": np.asarray(onset_scores.recall, dtype=np.float64),
        "onset_f1": np.asarray(onset_scores.f1, dtype=np.float64),
        "pianoroll_jaccard": np.asarray(pianoroll_jaccard(reference, candidate), dtype=np.float64),
        "pitch_class_cosine": np.asarray(pitch_class_cosine_similarity(reference, candidate), dtype=np.float64),
        "content_difference": np.asarray(content_difference(reference, candidate), dtype=np.float64),
    }
