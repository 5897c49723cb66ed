"""KDE overlapping area / KL divergence and the MGEval relative procedure."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from mst.metrics import distribution, music



def _normal(mean: float, std: float, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, std, size)


def test_identical_sets_overlap_fully():
    values = _normal(3.0, 2.0, 500, seed=1)
    result = distribution.compare_distributions(values, values)
    assert result.overlap_area == pytest.approx(1.0, abs=1e-4)
    assert result.kl_divergence == pytest.approx(0.0, abs=1e-9)


def test_far_apart_sets_do_not_overlap():
    result = distribution.compare_distributions(_normal(0, 1, 300, seed=1), _normal(100, 1, 300, seed=2))
    assert result.overlap_area < 1e-6
    assert result.kl_divergence > 10.0


@pytest.mark.parametrize("distance", [1.0, 2.0])
def test_overlap_of_two_unit_gaussians_matches_closed_form(distance):
    # N(0, 1) vs N(d, 1): the densities cross at d/2, so OA = 2 Φ(-d/2)
    # (d=1: 0.6171, d=2: 0.3173). Large samples keep the KDE close to the true densities.
    result = distribution.compare_distributions(_normal(0, 1, 10_000, seed=3), _normal(distance, 1, 10_000, seed=4))
    assert result.overlap_area == pytest.approx(2 * norm.cdf(-distance / 2), abs=0.015)
    # KL(N(0,1) || N(d,1)) = d²/2
    assert result.kl_divergence == pytest.approx(distance**2 / 2, rel=0.08)


def test_kl_direction_is_reference_given_candidate():
    # KL(N(0,1) || N(0,2²)) = ln 2 + 1/8 - 1/2 ≈ 0.318; the reverse, ln(1/2) + 2 - 1/2 ≈ 0.807, is
    # larger, and the KDE estimate of it larger still (≈ 1.0): the narrow set's KDE has Gaussian
    # tails of width h ≈ 0.15 beyond its samples, where the wide set still has mass.
    narrow, wide = _normal(0, 1, 10_000, seed=5), _normal(0, 2, 10_000, seed=6)
    forward = distribution.compare_distributions(narrow, wide)
    backward = distribution.compare_distributions(wide, narrow)
    assert forward.kl_divergence == pytest.approx(math.log(2) + 1 / 8 - 1 / 2, abs=0.04)
    assert backward.kl_divergence > math.log(0.5) + 2 - 1 / 2 - 0.05 > forward.kl_divergence + 0.4
    assert forward.overlap_area == pytest.approx(backward.overlap_area)  # OA is symmetric


def test_constant_sets_use_the_bandwidth_floor():
    same = distribution.compare_distributions([7.0] * 20, [7.0] * 5)
    assert same.overlap_area == pytest.approx(1.0, abs=1e-6) and same.kl_divergence == pytest.approx(0.0, abs=1e-9)
    different = distribution.compare_distributions([7.0] * 20, [8.0] * 20)
    assert different.overlap_area < 1e-6
    # a constant set against a spread one: a narrow spike overlaps only a sliver of the other density
    spread = np.arange(13, dtype=np.float64)
    spike = distribution.compare_distributions(spread, [6.0] * 10)
    assert 0.0 < spike.overlap_area < 0.1
    assert np.isfinite(spike.kl_divergence)
    # an explicit wider floor widens the spike and raises the overlap
    wider = distribution.compare_distributions(spread, [6.0] * 10, min_bandwidth=2.0)
    assert wider.overlap_area > spike.overlap_area


def test_single_value_sets_work():
    assert distribution.kde_overlap_area([1.0], [1.0]) == pytest.approx(1.0, abs=1e-6)


def test_nan_policy():
    values = np.array([1.0, 2.0, np.nan, 3.0])
    omitted = distribution.compare_distributions(values, [1.0, 2.0, 3.0])
    assert omitted.overlap_area == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="NaN"):
        distribution.compare_distributions(values, [1.0, 2.0], nan_policy="raise")
    with pytest.raises(ValueError, match="no finite"):
        distribution.compare_distributions([np.nan], [1.0])
    with pytest.raises(ValueError, match="infinite"):
        distribution.compare_distributions([np.inf, 1.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        distribution.compare_distributions([[1.0, 2.0]], [1.0])


def test_results_are_deterministic():
    first, second = _normal(0, 1, 1000, seed=7), _normal(0.5, 1.5, 800, seed=8)
    assert distribution.compare_distributions(first, second) == distribution.compare_distributions(first, second)


def test_compare_metric_distributions_on_music_metrics():
    rng = np.random.default_rng(9)
    sparse = rng.random((40, 64, 84)) > 0.99
    dense = rng.random((40, 64, 84)) > 0.9
    reference = music.scalar_metrics(sparse)
    results = distribution.compare_metric_distributions(reference, music.scalar_metrics(dense))
    assert list(results) == sorted(music.SCALAR_METRICS)
    assert results["empty_beat_rate"].overlap_area < 0.05  # ~0.7 empty vs ~0 empty beats
    assert distribution.compare_metric_distributions(reference, reference)["note_density"].overlap_area > 0.999
    # all-empty transfers: pitch range is NaN everywhere -> NaN result for that metric, not an error
    empty = music.scalar_metrics(np.zeros((5, 64, 84), dtype=bool))
    with_empty = distribution.compare_metric_distributions(reference, empty)
    assert math.isnan(with_empty["pitch_range"].overlap_area) and math.isnan(with_empty["mean_pitch"].kl_divergence)
    assert with_empty["empty_bar_rate"].overlap_area < 0.01  # all bars empty vs almost none


def test_mgeval_relative_distances_by_hand():
    # 2-D features: reference points (0,0), (3,4), (6,8) -> intra distances 5, 5, 10
    # candidate (0,8): distances 8, 5, 6 from the three reference points
    result = distribution.mgeval_relative([[0, 0], [3, 4], [6, 8]], [[0, 8]])
    assert result.intra_reference_distances.tolist() == [5.0, 5.0, 10.0]
    assert result.inter_set_distances.tolist() == pytest.approx([5.0, 6.0, 8.0])
    assert 0.0 <= result.overlap_area <= 1.0 and result.kl_divergence >= 0.0


def test_mgeval_relative_separates_matching_from_shifted_sets():
    reference = _normal(0, 1, 400, seed=10)
    matching = distribution.mgeval_relative(reference, _normal(0, 1, 400, seed=11), max_distances=5000)
    shifted = distribution.mgeval_relative(reference, _normal(4, 1, 400, seed=12), max_distances=5000)
    assert matching.overlap_area > 0.85
    assert shifted.overlap_area < 0.3
    assert matching.kl_divergence < shifted.kl_divergence


def test_mgeval_relative_subsampling_is_seeded():
    reference, candidate = _normal(0, 1, 300, seed=13), _normal(0.3, 1, 300, seed=14)
    first = distribution.mgeval_relative(reference, candidate, max_distances=500, seed=1)
    again = distribution.mgeval_relative(reference, candidate, max_distances=500, seed=1)
    other = distribution.mgeval_relative(reference, candidate, max_distances=500, seed=2)
    assert first.intra_reference_distances.size == first.inter_set_distances.size == 500
    np.testing.assert_array_equal(first.inter_set_distances, again.inter_set_distances)
    assert first.overlap_area == again.overlap_area
    assert not np.array_equal(first.inter_set_distances, other.inter_set_distances)


def test_mgeval_relative_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        distribution.mgeval_relative([1.0], [1.0])
    with pytest.raises(ValueError, match="feature sizes"):
        distribution.mgeval_relative([[1.0, 2.0], [2.0, 3.0]], [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="finite"):
        distribution.mgeval_relative([1.0, np.nan], [1.0])
