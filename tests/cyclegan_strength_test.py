"""Classifier table rows, the transfer-strength formula and the authors' ranking."""

import numpy as np
import pytest

from mst.models.cyclegan import strength


# Direction A->B, 5 test phrases of A (P_A per phrase) and B->A, 4 phrases of B (P_B per phrase).
A_TO_B = strength.DirectionProbabilities(
    origin=[0.95, 0.80, 0.60, 0.50, 0.30],  # > 0.5: 3 of 5 (0.50 is a tie, not A)
    transfer=[0.10, 0.40, 0.70, 0.20, 0.05],  # 1 of 5
    cycle=[0.90, 0.55, 0.45, 0.65, 0.70],  # 4 of 5
)
B_TO_A = strength.DirectionProbabilities(
    origin=[0.90, 0.85, 0.70, 0.20],  # 3 of 4
    transfer=[0.60, 0.30, 0.20, 0.10],  # 1 of 4
    cycle=[0.80, 0.40, 0.60, 0.30],  # 2 of 4
)


def test_percent_classified_as_source():
    table = strength.classifier_table(A_TO_B, B_TO_A)
    assert table.as_dict() == {"A": 60.0, "A→B": 20.0, "A→B→A": 80.0, "B": 75.0, "B→A": 25.0, "B→A→B": 50.0}


def test_mean_probability_statistic():
    table = strength.classifier_table(A_TO_B, B_TO_A, "mean_probability")
    # A: (0.95+0.80+0.60+0.50+0.30)/5 = 3.15/5 = 0.63; A->B: 1.45/5 = 0.29; A->B->A: 3.25/5 = 0.65
    # B: 2.65/4 = 0.6625; B->A: 1.20/4 = 0.30; B->A->B: 2.10/4 = 0.525
    expected = [63.0, 29.0, 65.0, 66.25, 30.0, 52.5]
    assert list(table.as_dict().values()) == pytest.approx(expected)


def test_strength_formula_by_hand():
    table = strength.classifier_table(A_TO_B, B_TO_A)
    scores = strength.transfer_strength(table)
    # S_AB = ½[(60 - 20) + (80 - 20)] = 50; S_BA = ½[(75 - 25) + (50 - 25)] = 37.5; total 43.75
    assert scores == pytest.approx((50.0, 37.5, 43.75))
    assert table.strength() == scores


def test_strength_formula_distinguishes_transfer_from_cycle():
    # Swapping the transfer and cycle rows must change the score: transfer is subtracted twice.
    base = strength.ClassifierTable(90, 10, 80, 90, 10, 80)
    swapped = strength.ClassifierTable(90, 80, 10, 90, 80, 10)
    assert base.strength().total == pytest.approx(75.0)  # ½[(90-10)+(80-10)] = 75 per direction
    assert swapped.strength().total == pytest.approx(-30.0)  # ½[(90-80)+(10-80)] = -30
    # Directions are averaged, not summed: only A->B transfers -> total is half of S_AB.
    one_sided = strength.ClassifierTable(100, 0, 100, 100, 100, 100)
    assert one_sided.strength() == pytest.approx((100.0, 0.0, 50.0))


def test_direction_strength_range():
    assert strength.direction_strength(100, 0, 100) == 100
    assert strength.direction_strength(0, 100, 0) == -100


def test_summarize_threshold_is_strict():
    assert strength.summarize_probabilities([0.5, 0.5000001, 0.4999999]) == pytest.approx(100 / 3)


def test_source_probability_from_logits():
    logits = np.array([[2.0, 0.0], [0.0, 3.0], [1000.0, 0.0]])  # last row would overflow a naive exp
    p_a = strength.source_probability(logits, 0)
    np.testing.assert_allclose(p_a, [1 / (1 + np.exp(-2)), 1 / (1 + np.exp(3)), 1.0])
    np.testing.assert_allclose(strength.source_probability(logits, 1), 1 - p_a)
    with pytest.raises(ValueError):
        strength.source_probability(logits, 2)


def test_invalid_probabilities_are_rejected():
    with pytest.raises(ValueError, match="lengths"):
        strength.DirectionProbabilities([0.1, 0.2], [0.1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        strength.DirectionProbabilities([0.1, 1.2], [0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        strength.summarize_probabilities([np.nan])
    with pytest.raises(ValueError, match="1-D"):
        strength.summarize_probabilities([[0.2, 0.8]])
    with pytest.raises(ValueError, match="statistic"):
        strength.summarize_probabilities([0.2], "median")


def _phrases() -> tuple[np.ndarray, np.ndarray]:
    origin = np.zeros((4, 64, 84), dtype=bool)
    transfer = np.zeros((4, 64, 84), dtype=bool)
    origin[:, 0:4, 36] = True
    transfer[0, 0:4, 36] = True  # phrase 0: identical -> content diff 0
    transfer[1, 0:4, 37] = True  # phrase 1: moved a semitone -> 8 differing cells
    transfer[2] = origin[2]
    transfer[2, 10, 50] = True  # phrase 2: one extra cell
    # phrase 3: everything removed -> 4 differing cells
    return origin, transfer


def test_rank_transfers_orders_by_probability_change():
    origin, transfer = _phrases()
    # dyadic values so that the three 0.5 changes tie exactly
    p_origin = [0.75, 0.875, 0.625, 0.5]
    p_transfer = [0.25, 0.125, 0.125, 0.0]  # |change| = 0.5, 0.75, 0.5, 0.5
    p_cycle = [0.7, 0.8, 0.6, 0.4]
    ranking = strength.rank_transfers(origin, transfer, p_origin, p_transfer, p_cycle)
    assert ranking.phrase_id.tolist() == [1, 0, 2, 3]  # 0.75 first, ties in id order
    np.testing.assert_allclose(ranking.abs_probability_change, [0.75, 0.5, 0.5, 0.5])
    cells = 64 * 84
    np.testing.assert_allclose(ranking.content_diff, [8 / cells, 0.0, 1 / cells, 4 / cells])
    np.testing.assert_allclose(ranking.p_cycle, [0.8, 0.7, 0.6, 0.4])
    assert ranking.rows()[0][0] == 1 and len(ranking) == 4
    header, first = ranking.to_text().splitlines()[:2]
    assert header.split("\t") == list(strength.RANKING_COLUMNS)
    assert first.split("\t")[:3] == ["1", f"{8 / cells:.6f}", "0.750000"]
    # ties are broken by the caller's ids, not by position
    by_id = strength.rank_transfers(origin, transfer, p_origin, p_transfer, p_cycle, phrase_ids=[30, 20, 10, 0])
    assert by_id.phrase_id.tolist() == [20, 0, 10, 30]


def test_rank_transfers_with_ids_and_errors():
    origin, transfer = _phrases()
    probabilities = ([0.9] * 4, [0.1, 0.2, 0.3, 0.4], [0.9] * 4)
    ranking = strength.rank_transfers(origin, transfer, *probabilities, phrase_ids=[10, 11, 12, 13])
    assert ranking.phrase_id.tolist() == [10, 11, 12, 13]
    with pytest.raises(ValueError, match="probabilities"):
        strength.rank_transfers(origin, transfer, [0.9] * 3, [0.1] * 3, [0.9] * 3)
    with pytest.raises(ValueError, match="phrase_ids"):
        strength.rank_transfers(origin, transfer, *probabilities, phrase_ids=[1, 2])
    with pytest.raises(ValueError, match="same shape"):
        strength.rank_transfers(origin, transfer[:3], *probabilities)
