"""Evaluation metrics (pure numpy/scipy; no TensorFlow), one module per concept.

* :mod:`mst.metrics.music`: descriptive per-phrase music metrics (pitch classes, polyphony, ...).
* :mod:`mst.metrics.content`: content preservation between a phrase and its transfer.
* :mod:`mst.metrics.distribution`: KDE overlapping area / KL between two sets (MGEval).
* :mod:`mst.metrics.collapse`: whether a transfer model's output carries its input (collapse monitor).

The most used names are re-exported here.

Example:
    >>> import numpy as np
    >>> from mst import metrics
    >>> float(metrics.empty_beat_rate(np.zeros((64, 84))))
    1.0
"""

from mst.metrics.distribution import (
    DistributionComparison,
    RelativeComparison,
    compare_distributions,
    compare_metric_distributions,
    kde_kl_divergence,
    kde_overlap_area,
    mgeval_relative,
)
from mst.metrics.music import (
    KEY_NAMES,
    SCALAR_METRICS,
    ScaleMatch,
    as_roll_batch,
    empty_bar_rate,
    empty_beat_rate,
    in_scale_ratio,
    mean_pitch,
    note_count,
    note_density,
    note_onsets,
    num_pitch_classes,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    polyphony_rate,
    scalar_metrics,
)
from mst.metrics.content import (
    OnsetScores,
    content_difference,
    content_preservation,
    onset_precision_recall_f1,
    pianoroll_jaccard,
    pitch_class_cosine_similarity,
)

__all__ = [
    "KEY_NAMES",
    "SCALAR_METRICS",
    "DistributionComparison",
    "OnsetScores",
    "RelativeComparison",
    "ScaleMatch",
    "as_roll_batch",
    "compare_distributions",
    "compare_metric_distributions",
    "content_difference",
    "content_preservation",
    "empty_bar_rate",
    "empty_beat_rate",
    "in_scale_ratio",
    "kde_kl_divergence",
    "kde_overlap_area",
    "mean_pitch",
    "mgeval_relative",
    "note_count",
    "note_density",
    "note_onsets",
    "num_pitch_classes",
    "onset_precision_recall_f1",
    "pianoroll_jaccard",
    "pitch_class_cosine_similarity",
    "pitch_class_entropy",
    "pitch_class_histogram",
    "pitch_range",
    "polyphony",
    "polyphony_rate",
    "scalar_metrics",
]
