"""How close two sets of per-phrase values are: Gaussian-KDE overlapping area (OA) and KL divergence.

Typical use: ``reference`` = a metric on the target genre's real test phrases, ``candidate`` = the
same metric on the transferred phrases. Two procedures, both after Yang & Lerch (MGEval):

* **absolute** (:func:`compare_distributions`): a Gaussian KDE (``scipy.stats.gaussian_kde``,
  Scott's rule) of each set, evaluated on one common grid that covers both sets plus six bandwidths
  on each side; OA = ∫ min(p_ref, p_cand) dx (trapezoid rule, 1 = identical, 0 = disjoint) and
  KL(reference ‖ candidate) in nats.
* **relative** (:func:`mgeval_relative`): distances within the reference set (intra) and between
  the sets (inter), then OA and KL(intra ‖ inter) of those two distance distributions.

Conventions:

* NaN values (e.g. pitch range of an empty phrase) are dropped with ``nan_policy="omit"`` (default)
  or rejected with ``"raise"``; at least one finite value per set must remain. Infinite values are
  always an error.
* Bandwidth floor: a KDE bandwidth is never below ``min_bandwidth``; by default 1 % of the pooled
  standard deviation of both sets, or 1.0 when every value of both sets is the same. A constant set
  (whose Scott bandwidth is 0, where ``gaussian_kde`` fails) thus becomes one narrow Gaussian: two
  equal constants give OA = 1 and KL = 0, two different constants OA ≈ 0.
* The grid step is at most a quarter of the narrower bandwidth (``grid_size`` points at least,
  65,536 at most), so narrow peaks are integrated accurately.
* KL: both densities are turned into probability vectors on the grid, ``epsilon`` is added to every
  entry and each vector renormalised, so KL is finite even for disjoint sets. KL weighs the tails:
  where the reference has mass beyond the candidate's samples, the candidate KDE only has its
  Gaussian kernel tails, so KL(wide ‖ narrow) comes out above the analytic value for the true
  densities. OA is the robust number; read KL as a ranking aid.

Everything is deterministic (the relative procedure subsamples with a fixed ``seed``).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> same = compare_distributions(rng.normal(0, 1, 2000), rng.normal(0, 1, 2000))
    >>> bool(same.overlap_area > 0.95 and same.kl_divergence < 0.05)
    True
"""

from __future__ import annotations

from typing import Literal, Mapping, NamedTuple

import numpy as np
from scipy import stats
from scipy.integrate import trapezoid
from scipy.spatial.distance import cdist, pdist

NanPolicy = Literal["omit", "raise"]
KDE_TAIL_BANDWIDTHS = 6.0  # grid margin: a Gaussian has < 1e-8 of its mass beyond 6 sigma
MAX_GRID_POINTS = 65_536
DEFAULT_EPSILON = 1e-10


class DistributionComparison(NamedTuple):
    """OA of the two KDEs (symmetric, 0..1) and KL(reference ‖ candidate) in nats (≥ 0)."""

    overlap_area: float
    kl_divergence: float


def _finite_samples(values, name: str, nan_policy: NanPolicy) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of values; got shape {array.shape}")
    if nan_policy not in ("omit", "raise"):
        raise ValueError(f"nan_policy must be 'omit' or 'raise'; got {nan_policy!r}")
    nan = np.isnan(array)
    if nan.any() and nan_policy == "raise":
        raise ValueError(f"{name} contains {int(nan.sum())} NaN values (use nan_policy='omit' to drop them)")
    array = array[~nan]
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    if array.size == 0:
        raise ValueError(f"{name} has no finite values")
    return array


def _default_min_bandwidth(first: np.ndarray, second: np.ndarray) -> float:
    pooled_std = float(np.std(np.concatenate([first, second])))
    return 0.01 * pooled_std if pooled_std > 0 else 1.0


class _Density:
    """A 1-D Gaussian KDE with Scott's bandwidth floored at ``min_bandwidth``."""

    def __init__(self, samples: np.ndarray, min_bandwidth: float):
        spread = float(np.std(samples, ddof=1)) if samples.size > 1 else 0.0
        self.samples = samples
        if spread > 0:
            kde = stats.gaussian_kde(samples)  # bandwidth = Scott factor × sample std (ddof=1)
            if kde.factor * spread < min_bandwidth:
                kde = stats.gaussian_kde(samples, bw_method=min_bandwidth / spread)
            self.bandwidth = float(kde.factor * spread)
            self._kde = kde
        else:
            # All samples equal: gaussian_kde would fail on the zero covariance.
            self.bandwidth = float(min_bandwidth)
            self._kde = None

    def __call__(self, grid: np.ndarray) -> np.ndarray:
        if self._kde is not None:
            return self._kde(grid)
        return stats.norm.pdf(grid, loc=self.samples[0], scale=self.bandwidth)


def _densities_on_common_grid(first, second, grid_size: int, min_bandwidth: float | None):
    if grid_size < 2:
        raise ValueError(f"grid_size must be at least 2; got {grid_size}")
    floor = _default_min_bandwidth(first, second) if min_bandwidth is None else float(min_bandwidth)
    if not floor > 0:
        raise ValueError(f"min_bandwidth must be positive; got {min_bandwidth}")
    first_density, second_density = _Density(first, floor), _Density(second, floor)
    margin = KDE_TAIL_BANDWIDTHS * max(first_density.bandwidth, second_density.bandwidth)
    low = min(first.min(), second.min()) - margin
    high = max(first.max(), second.max()) + margin
    narrowest = min(first_density.bandwidth, second_density.bandwidth)
    num_points = int(np.clip(np.ceil((high - low) / (narrowest / 4)) + 1, grid_size, MAX_GRID_POINTS))
    grid = np.linspace(low, high, num_points)
    return grid, first_density(grid), second_density(grid)


def _overlap_area(grid, first_pdf, second_pdf) -> float:
    return float(np.clip(trapezoid(np.minimum(first_pdf, second_pdf), grid), 0.0, 1.0))


def _kl_on_grid(reference_pdf, candidate_pdf, epsilon: float) -> float:
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive; got {epsilon}")
    p = reference_pdf / reference_pdf.sum() + epsilon
    q = candidate_pdf / candidate_pdf.sum() + epsilon
    p, q = p / p.sum(), q / q.sum()
    return float(max(np.sum(p * np.log(p / q)), 0.0))  # clamp tiny negative rounding


def compare_distributions(
    reference,
    candidate,
    *,
    grid_size: int = 2048,
    min_bandwidth: float | None = None,
    epsilon: float = DEFAULT_EPSILON,
    nan_policy: NanPolicy = "omit",
) -> DistributionComparison:
    """KDE overlapping area and KL(reference ‖ candidate) of two sets of scalar values.

    Args:
        reference: ``[n]`` values of the reference set (e.g. the target genre's real phrases).
        candidate: ``[m]`` values of the compared set (e.g. transferred phrases).
        grid_size: Minimum number of grid points.
        min_bandwidth: KDE bandwidth floor (default: 1 % of the pooled std, see the module doc).
        epsilon: Added to each grid probability before the KL (keeps it finite).
        nan_policy: ``"omit"`` drops NaNs, ``"raise"`` rejects them.

    Example:
        >>> far = compare_distributions([0.0, 0.1, 0.2], [50.0, 50.1, 50.2])
        >>> round(far.overlap_area, 6), far.kl_divergence > 10
        (0.0, True)
    """
    reference = _finite_samples(reference, "reference", nan_policy)
    candidate = _finite_samples(candidate, "candidate", nan_policy)
    grid, reference_pdf, candidate_pdf = _densities_on_common_grid(reference, candidate, grid_size, min_bandwidth)
    return DistributionComparison(
        _overlap_area(grid, reference_pdf, candidate_pdf), _kl_on_grid(reference_pdf, candidate_pdf, epsilon)
    )


def kde_overlap_area(first, second, **options) -> float:
    """Overlapping area of the two Gaussian KDEs (symmetric). Options as :func:`compare_distributions`.

    Example:
        >>> round(kde_overlap_area([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), 6)
        1.0
    """
    return compare_distributions(first, second, **options).overlap_area


def kde_kl_divergence(reference, candidate, **options) -> float:
    """KL(reference ‖ candidate) of the two KDEs, in nats. Options as :func:`compare_distributions`.

    Example:
        >>> kde_kl_divergence([4.0, 4.0], [4.0])   # equal constants: identical narrow Gaussians
        0.0
    """
    return compare_distributions(reference, candidate, **options).kl_divergence


def compare_metric_distributions(
    reference_metrics: Mapping[str, np.ndarray], candidate_metrics: Mapping[str, np.ndarray], **options
) -> dict[str, DistributionComparison]:
    """:func:`compare_distributions` for every metric the two mappings share (sorted by name).

    Typically ``scalar_metrics(target_real_phrases)`` and ``scalar_metrics(transferred_phrases)``.
    NaNs are omitted (unless ``nan_policy="raise"``). A metric with no finite value in either set
    (e.g. the pitch range of all-empty transfers) gets ``DistributionComparison(nan, nan)`` instead of
    stopping the report.

    Example:
        >>> reference = {"x": [1.0, 2.0], "y": [np.nan], "only_here": [1.0]}
        >>> result = compare_metric_distributions(reference, {"x": [1.0, 2.0], "y": [3.0]})
        >>> list(result), round(result["x"].overlap_area, 6), result["y"]
        (['x', 'y'], 1.0, DistributionComparison(overlap_area=nan, kl_divergence=nan))
    """
    results = {}
    for name in sorted(set(reference_metrics) & set(candidate_metrics)):
        reference = np.asarray(reference_metrics[name], dtype=np.float64)
        candidate = np.asarray(candidate_metrics[name], dtype=np.float64)
        if np.isnan(reference).all() or np.isnan(candidate).all():
            results[name] = DistributionComparison(float("nan"), float("nan"))
        else:
            results[name] = compare_distributions(reference, candidate, **options)
    return results


class RelativeComparison(NamedTuple):
    """MGEval relative result: OA and KL(intra ‖ inter), plus the distances they were computed from."""

    overlap_area: float
    kl_divergence: float
    intra_reference_distances: np.ndarray
    inter_set_distances: np.ndarray


def _feature_matrix(features, name: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be [n] or [n, d] features; got shape {np.shape(features)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (drop phrases whose feature is NaN first)")
    return array


def _subsample(values: np.ndarray, max_count: int, rng: np.random.Generator) -> np.ndarray:
    if values.size <= max_count:
        return values
    return rng.choice(values, size=max_count, replace=False)


def mgeval_relative(
    reference,
    candidate,
    *,
    max_distances: int = 20_000,
    seed: int = 0,
    grid_size: int = 2048,
    min_bandwidth: float | None = None,
    epsilon: float = DEFAULT_EPSILON,
) -> RelativeComparison:
    """MGEval's relative comparison of a candidate set with a reference set.

    Intra-set distances are the Euclidean distances between all pairs of distinct reference samples
    (each unordered pair once; MGEval's leave-one-out loop lists each pair twice, which does not change
    the distribution). Inter-set distances are between every reference and every candidate sample.
    OA and KL(intra ‖ inter) of the two distance distributions follow :func:`compare_distributions`.
    High OA / low KL: the candidates sit among the reference samples like the reference samples do
    among themselves.

    Args:
        reference: ``[n]`` scalar or ``[n, d]`` vector features (e.g. pitch-class histograms), n ≥ 2.
        candidate: ``[m]`` or ``[m, d]`` features of the compared set, same ``d``.
        max_distances: Each distance list is subsampled (without replacement, fixed ``seed``) to at
            most this many values, which bounds the KDE cost for large sets.
        seed: Seed of the subsampling.
        grid_size, min_bandwidth, epsilon: As in :func:`compare_distributions`.

    Example:
        >>> result = mgeval_relative([0.0, 1.0, 3.0], [10.0])
        >>> result.intra_reference_distances.tolist(), result.inter_set_distances.tolist()
        ([1.0, 2.0, 3.0], [7.0, 9.0, 10.0])
    """
    reference = _feature_matrix(reference, "reference")
    candidate = _feature_matrix(candidate, "candidate")
    if reference.shape[0] < 2:
        raise ValueError("reference needs at least 2 samples for intra-set distances")
    if reference.shape[1] != candidate.shape[1]:
        raise ValueError(f"feature sizes differ: {reference.shape[1]} vs {candidate.shape[1]}")
    if max_distances < 2:
        raise ValueError(f"max_distances must be at least 2; got {max_distances}")
    rng = np.random.default_rng(seed)
    intra = np.sort(_subsample(pdist(reference), max_distances, rng))
    inter = np.sort(_subsample(cdist(reference, candidate).reshape(-1), max_distances, rng))
    comparison = compare_distributions(
        intra, inter, grid_size=grid_size, min_bandwidth=min_bandwidth, epsilon=epsilon, nan_policy="raise"
    )
    return RelativeComparison(comparison.overlap_area, comparison.kl_divergence, intra, inter)
