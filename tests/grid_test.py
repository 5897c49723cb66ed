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
