"""Collapse statistics of a transfer model: does its output carry its input, and is it music at all?

A CycleGAN can score well on the genre classifier while writing silence, or one texture whatever the
input. These statistics make that visible, on a fixed batch of source phrases, their continuous
transfers and cycles and (for comparison) real phrases of the target domain. Every statistic that an
empty output could game stands next to one that it cannot:

* ``cycle_l1`` next to ``cycle_l1_zero_floor`` (what an all-zero cycle scores: the source's on-cell
  share); a cycle at the floor reconstructs nothing.
* ``cycle_auc``: how well the continuous cycle separates the source's on-cells from its off-cells
  (0.5 = not at all, 1 = perfectly); an all-zero cycle gets 0.5.
* ``nonempty_transfer`` / ``nonempty_cycle``: share of binarised outputs with at least one note,
  over the non-empty sources.
* ``transfer_sameness`` next to ``target_sameness``: the share of the batch's energy that lies in
  its mean roll (1 = every output identical, about 1/N = unrelated outputs), for the binarised
  transfers and for real target phrases.
* ``density_ratio``: notes of the transfers over notes of the sources.
* ``pitch_class_own`` next to ``pitch_class_other``: pitch-class cosine of each transfer with its
  own source and with another input's source; a transfer that keeps the music is much closer to
  its own. ``onset_f1_own`` / ``onset_f1_other`` and ``cell_f1_own`` likewise.

Example:
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> source = (rng.random((6, 64, 84, 1)) > 0.97).astype("float32")
>>> stats = collapse_statistics(source, transfer=source, cycle=source, target=source)
>>> stats["cycle_auc"], stats["nonempty_transfer"], stats["pitch_class_own"]
(1.0, 1.0, 1.0)
>>> silent = collapse_statistics(source, transfer=0 * source, cycle=0 * source, target=source)
>>> silent["cycle_auc"], silent["nonempty_transfer"], silent["cycle_l1"] == silent["cycle_l1_zero_floor"]
(0.5, 0.0, True)
"""

from __future__ import annotations

import numpy as np

from mst.metrics.music import as_roll_batch, note_count
from mst.metrics.content import onset_precision_recall_f1, pitch_class_cosine_similarity

COLLAPSE_KEYS = (
    "cycle_l1",
    "cycle_l1_zero_floor",
    "cycle_auc",
    "nonempty_transfer",
    "nonempty_cycle",
    "transfer_sameness",
    "target_sameness",
    "density_ratio",
    "pitch_class_own",
    "pitch_class_other",
    "onset_f1_own",
    "onset_f1_other",
    "cell_f1_own",
)
"""Keys of :func:`collapse_statistics`, in report order."""

THRESHOLD = 0.5
CARRIES_INPUT_AUC = 0.7
"""Below this cycle AUC the cycle is reported as carrying nothing of its input (0.5 = chance)."""


def _as_cells(rolls, name: str) -> np.ndarray:
    """``[N, 64, 84(, 1)]`` continuous -> float64 ``[N, 64, 84]``."""
    array = np.asarray(rolls, dtype=np.float64)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(f"{name} must be [N, T, P] or [N, T, P, 1] rolls, got shape {np.shape(rolls)}")
    return array


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (ties count half); NaN if one class.

    Example:
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), np.float64)
    # average ranks of tied groups (Mann-Whitney U)
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    group_ranks = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(group_ranks, ends - starts)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def sameness(rolls) -> float:
    """Share of a batch's energy in its mean roll: ``N·||mean||² / Σ||y_i||²`` / N, in [1/N, 1].

    1 when all rolls are identical (also when all are empty: silence is one texture), about 1/N
    for unrelated sparse rolls.

    Example:
    >>> x = np.zeros((2, 4, 3)); x[0, 0, 0] = 1; x[1, 1, 1] = 1
    >>> sameness(x), sameness(np.stack([x[0], x[0]]))
    (0.5, 1.0)
    """
    cells = _as_cells(rolls, "rolls").reshape(len(rolls), -1)
    total = float((cells**2).sum(axis=1).mean()) if len(cells) else 0.0
    if total == 0.0:
        return 1.0
    return float((cells.mean(axis=0) ** 2).sum() / total)


def _derangement(n: int) -> np.ndarray:
    """Index of "another input" for every phrase: the next one, cyclically."""
    return np.roll(np.arange(n), -1)


def collapse_statistics(source, transfer, cycle, target) -> dict[str, float]:
    """The collapse statistics of one direction (see the module docstring).

    Args:
        source: Source phrases, binary ``[N, 64, 84(, 1)]``.
        transfer: Continuous transfers of ``source`` (sigmoid output), same shape.
        cycle: Continuous cycles (transfer sent back), same shape.
        target: Real phrases of the target domain (any N), binary.

    Returns:
        ``{key: float}`` for every key of :data:`COLLAPSE_KEYS`.
    """
    source_cells = _as_cells(source, "source") > THRESHOLD
    transfer_cells = _as_cells(transfer, "transfer")
    cycle_cells = _as_cells(cycle, "cycle")
    if not (source_cells.shape == transfer_cells.shape == cycle_cells.shape):
        raise ValueError(f"source, transfer and cycle must have one shape, got {source_cells.shape}, {transfer_cells.shape}, {cycle_cells.shape}")
    n = len(source_cells)
    if n < 2:
        raise ValueError(f"collapse statistics need at least 2 source phrases, got {n}")
    transfer_binary = transfer_cells > THRESHOLD
    cycle_binary = cycle_cells > THRESHOLD
    nonempty_source = source_cells.any(axis=(1, 2))
    sources_with_notes = max(int(nonempty_source.sum()), 1)
    source_notes = float(np.sum(note_count(source_cells)))
    other = _derangement(n)
    onset_own = onset_precision_recall_f1(source_cells, transfer_binary).f1
    onset_other = onset_precision_recall_f1(source_cells[other], transfer_binary).f1
    kept = (source_cells & transfer_binary).sum()
    cell_f1 = 2.0 * kept / max(int(source_cells.sum() + transfer_binary.sum()), 1)
    target_cells, _ = as_roll_batch(target, "target")
    return {
        "cycle_l1": float(np.abs(source_cells - cycle_cells).mean()),
        "cycle_l1_zero_floor": float(source_cells.mean()),
        "cycle_auc": roc_auc(source_cells, cycle_cells),
        "nonempty_transfer": float((transfer_binary.any(axis=(1, 2)) & nonempty_source).sum() / sources_with_notes),
        "nonempty_cycle": float((cycle_binary.any(axis=(1, 2)) & nonempty_source).sum() / sources_with_notes),
        "transfer_sameness": sameness(transfer_binary),
        "target_sameness": sameness(target_cells),
        "density_ratio": float(np.sum(note_count(transfer_binary)) / source_notes) if source_notes else float("nan"),
        "pitch_class_own": float(np.mean(pitch_class_cosine_similarity(source_cells, transfer_binary))),
        "pitch_class_other": float(np.mean(pitch_class_cosine_similarity(source_cells[other], transfer_binary))),
        "onset_f1_own": float(np.mean(onset_own)),
        "onset_f1_other": float(np.mean(onset_other)),
        "cell_f1_own": float(cell_f1),
    }


def collapse_warnings(stats: dict[str, float], direction: str) -> list[str]:
    """Plain-language warnings for a direction's statistics (empty list: nothing alarming).

    Example:
    >>> collapse_warnings({"cycle_l1": 0.03, "cycle_l1_zero_floor": 0.03, "cycle_auc": 0.5, "nonempty_transfer": 0.0,
    ...     "nonempty_cycle": 0.0, "transfer_sameness": 1.0, "target_sameness": 0.1, "pitch_class_own": 0.0,
    ...     "pitch_class_other": 0.0}, "a2b")[0]
    'a2b: 100% of transfers are silent'
    """
    out = []
    if stats["nonempty_transfer"] < 0.95:
        out.append(f"{direction}: {1 - stats['nonempty_transfer']:.0%} of transfers are silent")
    if stats["nonempty_cycle"] < 0.95:
        out.append(f"{direction}: {1 - stats['nonempty_cycle']:.0%} of cycles are silent")
    # AUC, not L1, decides: a BCE-trained generator's soft outputs can sit above the all-zero L1
    # floor while still ranking the source's notes above its rests (AUC 0.95 and more).
    if not stats["cycle_auc"] > CARRIES_INPUT_AUC:
        out.append(
            f"{direction}: the cycle is no better than silence (cycle AUC {stats['cycle_auc']:.2f}; cycle L1 {stats['cycle_l1']:.4f}, "
            f"all-zero floor {stats['cycle_l1_zero_floor']:.4f}): it reconstructs nothing"
        )
    if stats["transfer_sameness"] > max(2 * stats["target_sameness"], 0.5) and stats["nonempty_transfer"] > 0:
        out.append(
            f"{direction}: transfers of different inputs are alike (sameness {stats['transfer_sameness']:.2f} vs "
            f"{stats['target_sameness']:.2f} for real target phrases): one texture for every input"
        )
    return out
