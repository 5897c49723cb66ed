"""Hand-computed checks of mst.metrics.music on deliberately asymmetric rolls."""

import math

import numpy as np
import pytest

from mst import metrics
from mst.metrics import music

from conftest import melody_and_chord_phrase, pitch_index


PHRASE = melody_and_chord_phrase()


def test_fixture_cell_and_note_counts():
    # cells: melody 7*4 = 28, C3 8, E3 8, G3 4, C6 2 -> 50; notes: 7 + 3 + 1 = 11
    assert PHRASE.sum() == 50
    assert music.note_count(PHRASE) == 11


def test_pitch_class_histogram_duration_weighted():
    # C: C4 4 + C3 8 + C6 2 = 14; E: E4 4 + E3 8 = 12; C#, D, D#, F, F#, G: 4 each; total 50
    expected = np.zeros(12)
    expected[[0, 1, 2, 3, 4, 5, 6, 7]] = [14, 4, 4, 4, 12, 4, 4, 4]
    np.testing.assert_allclose(music.pitch_class_histogram(PHRASE, normalize=False), expected)
    np.testing.assert_allclose(music.pitch_class_histogram(PHRASE), expected / 50)


def test_pitch_class_histogram_onset_weighted():
    # notes per class: C 3 (C4, C3, C6), E 2 (E4, E3), C#, D, D#, F, F#, G 1 each; 11 notes
    expected = np.zeros(12)
    expected[[0, 1, 2, 3, 4, 5, 6, 7]] = [3, 1, 1, 1, 2, 1, 1, 1]
    np.testing.assert_allclose(music.pitch_class_histogram(PHRASE, "onset"), expected / 11)


def test_pitch_classes_are_octave_folded_not_consecutive_semitones():
    # C1, C2, C3 (indices 0, 12, 24) are one pitch class. Grouping 7 (MuseGAN) or 10 (pypianoroll)
    # consecutive semitones would put them in bins 0, 1, 3 or 0, 1, 2.
    roll = np.zeros((12, 84), dtype=bool)
    roll[0:4, 0] = roll[4:8, 12] = roll[8:12, 24] = True
    assert music.num_pitch_classes(roll) == 1
    np.testing.assert_allclose(music.pitch_class_histogram(roll), np.eye(12)[0])
    # The top pitch, index 83 = MIDI 107 = B7, is pitch class 11 (B); index 7 = G1 is class 7.
    top = np.zeros((4, 84), dtype=bool)
    top[0:3, 83] = True
    top[3, 7] = True
    np.testing.assert_allclose(music.pitch_class_histogram(top), [0, 0, 0, 0, 0, 0, 0, 0.25, 0, 0, 0, 0.75])


def test_pypianoroll_regression_fixture():
    # The probe of docs/reference/cyclegan.md#evaluation-beyond-the-paper: 16 consecutive quarter
    # notes cycling C4..F#4. pypianoroll 1.0.4 reports 1 pitch class (10-semitone blocks) and
    # empty-beat rate 1.0 (the non-empty share).
    roll = np.zeros((64, 84), dtype=bool)
    for beat in range(16):
        roll[4 * beat : 4 * beat + 4, pitch_index(60 + beat % 7)] = True
    assert music.num_pitch_classes(roll) == 7
    assert music.empty_beat_rate(roll) == 0.0
    assert music.note_count(roll) == 16


def test_num_pitch_classes_of_fixture():
    # C, C#, D, D#, E, F, F#, G; 7-semitone grouping would give bins {5, 6, 3, 4, 8} = 5
    assert music.num_pitch_classes(PHRASE) == 8


def test_pitch_class_entropy():
    # p = 14/50, 12/50 and six times 4/50
    expected = -(0.28 * math.log2(0.28) + 0.24 * math.log2(0.24) + 6 * 0.08 * math.log2(0.08))
    assert music.pitch_class_entropy(PHRASE) == pytest.approx(expected, abs=1e-12)
    # onset weighting: 3/11, 2/11, six times 1/11
    onset_expected = -(3 / 11 * math.log2(3 / 11) + 2 / 11 * math.log2(2 / 11) + 6 / 11 * math.log2(1 / 11))
    assert music.pitch_class_entropy(PHRASE, "onset") == pytest.approx(onset_expected, abs=1e-12)
    single_class = np.zeros((4, 84), dtype=bool)
    single_class[:, [0, 12]] = True
    assert music.pitch_class_entropy(single_class) == 0.0


def test_polyphony_and_polyphony_rate():
    # sounding steps: 28 (melody) + 8 (chord, steps 50-57) + 2 (C6) = 38; active cells 50
    assert music.polyphony(PHRASE) == pytest.approx(50 / 38)
    # >= 2 pitches at steps 50-57 (8 of 64); >= 3 only at steps 50-53 (4 of 64)
    assert music.polyphony_rate(PHRASE, min_pitches=2) == pytest.approx(8 / 64)
    assert music.polyphony_rate(PHRASE, min_pitches=3) == pytest.approx(4 / 64)  # '>' would give 0
    assert music.polyphony_rate(PHRASE, min_pitches=4) == 0.0
    assert music.polyphony_rate(PHRASE, min_pitches=1) == pytest.approx(38 / 64)


def test_empty_beat_rate_is_the_empty_share():
    # empty beats: 7 (steps 28-31) and 8..11 (bar 3) -> 5 of 16; the non-empty share would be 11/16.
    # Beat 12 is non-empty through steps 50-51 only, beat 14 through the held chord (56-57).
    assert music.empty_beat_rate(PHRASE) == pytest.approx(5 / 16)


def test_empty_bar_rate():
    # bar 3 (steps 32-47) is the only empty bar -> 1/4 (non-empty share would be 3/4)
    assert music.empty_bar_rate(PHRASE) == pytest.approx(0.25)
    assert music.empty_beat_rate(PHRASE, steps_per_beat=32) == 0.0  # two halves, both sound


def test_trailing_partial_window_is_its_own_beat():
    # T = 10 -> beats [0,4), [4,8), [8,10); only step 9 sounds -> 2 of 3 beats empty
    roll = np.zeros((10, 84), dtype=bool)
    roll[9, 40] = True
    assert music.empty_beat_rate(roll) == pytest.approx(2 / 3)
    assert music.empty_bar_rate(roll) == 0.0  # a single (short) bar, not empty


def test_note_onsets_and_density():
    roll = np.zeros((8, 84), dtype=bool)
    roll[[0, 1, 3, 4, 5, 7], 30] = True  # runs 0-1, 3-5, 7 -> onsets 0, 3, 7
    roll[0:8, 31] = True  # held through: one onset at 0
    onsets = music.note_onsets(roll)
    assert np.flatnonzero(onsets[:, 30]).tolist() == [0, 3, 7]
    assert np.flatnonzero(onsets[:, 31]).tolist() == [0]
    assert music.note_count(roll) == 4
    assert music.note_density(roll) == pytest.approx(4 / (8 / 16))  # half a bar -> 8 notes per bar
    assert music.note_density(PHRASE) == pytest.approx(11 / 4)


def test_pitch_range_and_mean_pitch():
    assert music.pitch_range(PHRASE) == 36.0  # C6 (84) - C3 (48)
    # duration: (4*(60+...+66) + 48*8 + 52*8 + 55*4 + 84*2) / 50 = (1764+384+416+220+168) / 50
    assert music.mean_pitch(PHRASE) == pytest.approx(2952 / 50)
    # onset: (60+...+66 + 48 + 52 + 55 + 84) / 11 = 680 / 11
    assert music.mean_pitch(PHRASE, "onset") == pytest.approx(680 / 11)
    one_pitch = np.zeros((4, 84), dtype=bool)
    one_pitch[:, 5] = True
    assert music.pitch_range(one_pitch) == 0.0


def test_in_scale_ratio_of_fixture():
    # C major {C D E F G A B} holds C14 + D4 + E12 + F4 + G4 = 38 of 50. G major, F major and their
    # relative minors also reach 38; the tonic weight (C = 14 beats E = 12, G = F = D = 4) picks C major.
    match = music.in_scale_ratio(PHRASE)
    assert match.ratio == pytest.approx(38 / 50)
    assert music.KEY_NAMES[match.key] == "C major"
    onset_match = music.in_scale_ratio(PHRASE, "onset")  # C3 + D1 + E2 + F1 + G1 = 8 of 11 notes
    assert onset_match.ratio == pytest.approx(8 / 11)
    assert music.KEY_NAMES[onset_match.key] == "C major"


def test_in_scale_ratio_prefers_heavier_tonic_among_tied_scales():
    # A3 x4, C4 x3, C#4 x1: A minor and C major both hold 7 of 8; tonic A (4) beats tonic C (3).
    roll = np.zeros((8, 84), dtype=bool)
    roll[0:4, pitch_index(57)] = True
    roll[4:7, pitch_index(60)] = True
    roll[7, pitch_index(61)] = True
    match = music.in_scale_ratio(roll)
    assert match.ratio == pytest.approx(7 / 8)
    assert music.KEY_NAMES[match.key] == "A minor"


def test_empty_roll_conventions():
    empty = np.zeros((64, 84), dtype=bool)
    assert math.isnan(music.pitch_class_entropy(empty))
    assert math.isnan(music.polyphony(empty))
    assert math.isnan(music.pitch_range(empty))
    assert math.isnan(music.mean_pitch(empty))
    match = music.in_scale_ratio(empty)
    assert math.isnan(match.ratio) and match.key == -1
    assert music.num_pitch_classes(empty) == 0
    assert music.polyphony_rate(empty) == 0.0
    assert music.empty_beat_rate(empty) == 1.0
    assert music.empty_bar_rate(empty) == 1.0
    assert music.note_density(empty) == 0.0
    np.testing.assert_array_equal(music.pitch_class_histogram(empty), np.zeros(12))


def test_batch_results_match_single_rolls_and_accept_channel_axis():
    shifted = np.roll(PHRASE, 5, axis=1)  # transpose up a fourth
    reversed_in_time = PHRASE[::-1]
    rolls = [PHRASE, np.zeros_like(PHRASE), shifted, reversed_in_time]
    batch = np.stack(rolls).astype(np.float32)[..., np.newaxis]  # [4, 64, 84, 1] float 0/1
    metrics = music.scalar_metrics(batch)
    assert set(metrics) == set(music.SCALAR_METRICS)
    for name, values in metrics.items():
        assert values.shape == (4,), name
        singles = [music.scalar_metrics(roll)[name] for roll in rolls]
        np.testing.assert_array_equal(values, np.array(singles), err_msg=name)
    # reversing time moves the silent bar from bar 3 to bar 2; transposing adds 5 to every pitch
    assert metrics["empty_bar_rate"][3] == 0.25
    assert metrics["mean_pitch"][2] == pytest.approx(2952 / 50 + 5)
    assert music.pitch_class_histogram(batch).shape == (4, 12)


def test_single_roll_returns_scalars():
    assert np.ndim(music.polyphony(PHRASE)) == 0
    assert music.note_count(PHRASE[:, :, np.newaxis]) == 11  # [T, 84, 1] is one roll too
    assert np.ndim(music.in_scale_ratio(PHRASE).key) == 0
    assert music.pitch_class_histogram(PHRASE).shape == (12,)


@pytest.mark.parametrize(
    "bad_shape",
    [(64, 83), (2, 64, 84, 2), (64, 84, 2), (0, 64, 84), (2, 0, 84), (84,), (1, 2, 64, 84)],
)
def test_bad_shapes_are_rejected(bad_shape):
    with pytest.raises(ValueError, match="rolls"):
        music.empty_beat_rate(np.zeros(bad_shape))


def test_non_binary_values_are_rejected():
    soft = PHRASE.astype(np.float32) * 0.7
    with pytest.raises(ValueError, match="binarize"):
        music.note_count(soft)
    with pytest.raises(ValueError, match="binary"):
        music.polyphony(np.full((64, 84), np.nan))


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="weighting"):
        music.pitch_class_histogram(PHRASE, "velocity")
    with pytest.raises(ValueError, match="min_pitches"):
        music.polyphony_rate(PHRASE, min_pitches=0)
    with pytest.raises(ValueError, match="window"):
        music.empty_beat_rate(PHRASE, steps_per_beat=0)
