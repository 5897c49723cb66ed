"""Tests for mst.encodings.grid: ticks <-> steps and the song length on the 16th-note grid."""

from __future__ import annotations

import numpy as np
import pytest

from mst.encodings import grid
from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures


def test_ticks_to_steps_rounds_half_up():
    ticks = np.array([0, 59, 60, 61, 119, 120, 179, 180, 181])
    # 120 ticks per step at 480 tpq: 60 ticks is exactly half a step and rounds up (also at 180).
    assert grid.ticks_to_steps(ticks, 480).tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("ticks_per_beat", [1, 3, 96, 220, 480, 960])
def test_steps_to_ticks_is_inverted_by_ticks_to_steps(ticks_per_beat):
    steps = np.arange(0, 2000)
    ticks = grid.steps_to_ticks(steps, ticks_per_beat)
    assert np.all(np.diff(ticks) >= 0)
    if ticks_per_beat >= grid.STEPS_PER_BEAT:  # coarser divisions cannot represent every step
        np.testing.assert_array_equal(grid.ticks_to_steps(ticks, ticks_per_beat), steps)
    assert grid.steps_to_ticks(4, 480) == 480  # one quarter note


def test_song_length_runs_to_the_last_event_or_note_off():
    def song(end_tick: int, note_end: int = 480, ticks_per_beat: int = 480) -> Song:
        return Song("", ticks_per_beat, make_notes([0], [note_end], [60]), make_tempos([0], [120.0]),
                    make_time_signatures([0], [4], [4]), end_tick)

    assert grid.song_length_steps(song(10 * 480 + 1)) == 41  # ceil(40.008)
    assert grid.song_length_steps(song(0, note_end=481)) == 5  # the note-off counts too
    assert grid.song_length_steps(song(96, note_end=96, ticks_per_beat=96)) == 4
    assert grid.DEFAULT_MAX_STEPS == 100_000


def _signature_song(ticks_per_beat, ticks, numerators, denominators, end_tick) -> Song:
    return Song("", ticks_per_beat, make_notes([0], [end_tick], [60]), make_tempos([0], [120.0]),
                make_time_signatures(ticks, numerators, denominators), end_tick=end_tick)


def test_bar_start_steps_follow_the_time_signatures():
    waltz = _signature_song(480, [0], [3], [4], 32 * 3 * 480)  # 32 bars of 3/4
    starts = grid.bar_start_steps(waltz)
    assert len(starts) == 32 and np.all(np.diff(starts) == 12)
    # No signature: 4/4; then 6/8 from bar 3 (tick 3840), 7/8 from tick 3840 + 2 * 1440.
    mixed = _signature_song(480, [3840, 6720], [6, 7], [8, 8], 6720 + 2 * 1680)
    assert grid.bar_start_steps(mixed).tolist() == [0, 16, 32, 44, 56, 70]
    # A signature in the middle of a 4/4 bar starts a new bar there; the last event of a tick wins.
    odd = _signature_song(480, [0, 0, 960], [4, 2, 3], [4, 4, 4], 960 + 3 * 480)
    assert grid.bar_start_steps(odd).tolist() == [0, 8]
    assert grid.bar_start_steps(odd, num_steps=100).tolist() == [0, 8, 20, 32, 44, 56, 68, 80, 92]
    # Off-grid divisions round like notes; an empty song still has its first bar.
    assert grid.bar_start_steps(_signature_song(5, [0], [3], [8], 15)).tolist() == [0, 6]
    assert grid.bar_start_steps(_signature_song(480, [0], [4], [4], 0)).tolist() == [0]


@pytest.mark.parametrize("ticks_per_beat, expected", [(1, (4, 4)), (2, (4, 2)), (3, (12, 4)), (4, (4, 1)),
                                                       (6, (12, 2)), (96, (96, 1)), (220, (220, 1)), (481, (1924, 4))])
def test_holding_ticks_per_beat_is_the_smallest_multiple_on_the_grid(ticks_per_beat, expected):
    assert grid.holding_ticks_per_beat(ticks_per_beat) == expected
    division, _ = expected
    steps = np.arange(64)
    assert np.all(grid.steps_to_ticks(steps, division) * grid.STEPS_PER_BEAT == steps * division)
