"""Collapse statistics: each one separates a working transfer from silence and from one texture."""

from __future__ import annotations

import numpy as np
import pytest

from mst.metrics import collapse


def _phrases(count, seed, density=0.04):
    return (np.random.default_rng(seed).random((count, 64, 84, 1)) < density).astype("float32")


def test_roc_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300), 1)  # many ties
    pairs = [(p > n) + 0.5 * (p == n) for p in scores[labels] for n in scores[~labels]]
    assert collapse.roc_auc(labels, scores) == pytest.approx(np.mean(pairs))
    assert np.isnan(collapse.roc_auc(np.ones(4, bool), np.arange(4.0)))


def test_statistics_tell_copying_silence_and_one_texture_apart():
    source, target = _phrases(12, 1), _phrases(40, 2)
    copy = collapse.collapse_statistics(source, source, source, target)
    silent = collapse.collapse_statistics(source, 0 * source, 0 * source, target)
    texture = np.repeat(_phrases(1, 3, density=0.08), len(source), axis=0)  # the same roll for every input
    one_texture = collapse.collapse_statistics(source, texture, source, target)
    assert copy["pitch_class_own"] == 1.0 > copy["pitch_class_other"] and copy["onset_f1_own"] == 1.0 > copy["onset_f1_other"]
    assert copy["transfer_sameness"] == pytest.approx(collapse.sameness(source)) and copy["transfer_sameness"] < 0.5
    assert silent["nonempty_transfer"] == 0.0 and silent["cycle_auc"] == 0.5 and silent["cycle_l1"] == silent["cycle_l1_zero_floor"]
    assert one_texture["transfer_sameness"] == pytest.approx(1.0) and one_texture["pitch_class_own"] == pytest.approx(one_texture["pitch_class_other"])
    assert collapse.collapse_warnings(copy, "a2b") == []
    assert any("silent" in w for w in collapse.collapse_warnings(silent, "a2b"))
    assert any("one texture" in w for w in collapse.collapse_warnings(one_texture, "a2b"))
    with pytest.raises(ValueError, match="at least 2 source phrases"):
        collapse.collapse_statistics(source[:1], source[:1], source[:1], target)
