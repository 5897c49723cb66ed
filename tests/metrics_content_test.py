"""Hand-computed checks of the content-preservation scores in mst.metrics.content."""

import math

import numpy as np
import pytest

from mst.metrics import content as transfer

from conftest import melody_and_chord_phrase, pitch_index


SOURCE = melody_and_chord_phrase()


def edited_transfer() -> np.ndarray:
    """SOURCE with four edits, each changing the scores in a known way.

    1. C4 (steps 0-3) re-struck: steps 0-1 and 3, step 2 off -> extra onset (3, C4), one cell lost
    2. F#4 (steps 24-27) removed                                -> onset and 4 cells lost
    3. G3 (steps 50-53) moved to G#3                             -> onset lost, onset added, 4 cells moved
    4. C6 (steps 62-63) removed                                  -> onset and 2 cells lost
    """
    roll = SOURCE.copy()
    roll[2, pitch_index(60)] = False
    roll[24:28, pitch_index(66)] = False
    roll[50:54, pitch_index(55)] = False
    roll[50:54, pitch_index(56)] = True
    roll[62:64, pitch_index(84)] = False
    return roll


EDITED = edited_transfer()


def test_onset_precision_recall_f1_by_hand():
    # source onsets 11; transfer onsets 11 + 1 (re-strike) - 1 (F#4) - 1 + 1 (G3 -> G#3) - 1 (C6) = 10
    # matches: 11 - F#4 - G3 - C6 = 8
    scores = transfer.onset_precision_recall_f1(SOURCE, EDITED)
    assert scores.precision == pytest.approx(8 / 10)
    assert scores.recall == pytest.approx(8 / 11)
    assert scores.f1 == pytest.approx(2 * 8 / (11 + 10))  # = 16/21 = 2PR/(P+R)
    swapped = transfer.onset_precision_recall_f1(EDITED, SOURCE)  # roles swap precision and recall
    assert (swapped.precision, swapped.recall) == pytest.approx((8 / 11, 8 / 10))


def test_pianoroll_jaccard_by_hand():
    # transfer cells: 50 - 1 - 4 - 4 + 4 - 2 = 43; shared: 50 - 1 - 4 - 4 - 2 = 39; union 50 + 43 - 39 = 54
    assert transfer.pianoroll_jaccard(SOURCE, EDITED) == pytest.approx(39 / 54)


def test_pitch_class_cosine_by_hand():
    # source:   C14 C#4 D4 D#4 E12 F4 F#4 G4
    # transfer: C11 C#4 D4 D#4 E12 F4 G#4      (C4 lost a cell and C6 went; F#, G moved away)
    dot = 14 * 11 + 4 * (4 * 4) + 12 * 12  # C, then C# D D# F, then E = 362
    source_norm_sq = 14**2 + 12**2 + 6 * 4**2  # 436
    transfer_norm_sq = 11**2 + 12**2 + 5 * 4**2  # 345
    expected = dot / math.sqrt(source_norm_sq * transfer_norm_sq)
    assert transfer.pitch_class_cosine_similarity(SOURCE, EDITED) == pytest.approx(expected)


def test_content_difference_is_share_of_differing_cells():
    # symmetric difference = union - shared = 54 - 39 = 15 cells of 64 * 84
    assert transfer.content_difference(SOURCE, EDITED) == pytest.approx(15 / (64 * 84))


def test_octave_shift_keeps_pitch_classes_but_no_onsets():
    up_an_octave = np.roll(SOURCE, 12, axis=1)  # top note C6 -> C7 (index 72), still in range
    assert not up_an_octave[:, :12].any()
    assert transfer.pitch_class_cosine_similarity(SOURCE, up_an_octave) == pytest.approx(1.0)
    assert transfer.onset_precision_recall_f1(SOURCE, up_an_octave).f1 == 0.0
    assert transfer.pianoroll_jaccard(SOURCE, up_an_octave) == 0.0
    # a semitone shift changes the pitch classes, so the cosine drops below 1
    assert transfer.pitch_class_cosine_similarity(SOURCE, np.roll(SOURCE, 1, axis=1)) < 0.9


def test_identical_rolls_score_perfectly():
    scores = transfer.content_preservation(SOURCE, SOURCE)
    for name in ("onset_precision", "onset_recall", "onset_f1", "pianoroll_jaccard", "pitch_class_cosine"):
        assert scores[name] == pytest.approx(1.0), name
    assert scores["content_difference"] == 0.0


def test_empty_conventions():
    empty = np.zeros_like(SOURCE)
    both_empty = transfer.content_preservation(empty, empty)
    assert all(both_empty[name] == 1.0 for name in ("onset_precision", "onset_recall", "onset_f1"))
    assert both_empty["pianoroll_jaccard"] == 1.0 and both_empty["pitch_class_cosine"] == 1.0
    for reference, candidate in ((SOURCE, empty), (empty, SOURCE)):
        one_empty = transfer.content_preservation(reference, candidate)
        for name in ("onset_precision", "onset_recall", "onset_f1", "pianoroll_jaccard", "pitch_class_cosine"):
            assert one_empty[name] == 0.0, name
    assert transfer.content_difference(SOURCE, empty) == pytest.approx(50 / (64 * 84))


def test_batches_give_per_phrase_values():
    references = np.stack([SOURCE, SOURCE, np.zeros_like(SOURCE)])[..., np.newaxis].astype(np.float32)
    candidates = np.stack([SOURCE, EDITED, np.zeros_like(SOURCE)])[..., np.newaxis].astype(np.float32)
    scores = transfer.content_preservation(references, candidates)
    np.testing.assert_allclose(scores["onset_f1"], [1.0, 16 / 21, 1.0])
    np.testing.assert_allclose(scores["pianoroll_jaccard"], [1.0, 39 / 54, 1.0])
    assert all(values.shape == (3,) for values in scores.values())


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        transfer.pianoroll_jaccard(SOURCE, SOURCE[:32])
    with pytest.raises(ValueError, match="same shape"):
        transfer.onset_precision_recall_f1(SOURCE, SOURCE[np.newaxis])
    with pytest.raises(ValueError, match="binar"):
        transfer.content_difference(SOURCE, SOURCE * 0.5)
