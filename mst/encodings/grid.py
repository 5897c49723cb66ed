"""The time grid of the step-based encodings: 4 steps per quarter note, computed from MIDI ticks.

``step = floor(tick * 4 / ticks_per_beat + 1/2)`` (round half up), in exact integer arithmetic. The
grid follows the file's own tempo map, because it is computed from ticks: tempo changes never move
notes off the grid. A "beat" here is always a quarter note (pypianoroll and pretty_midi count beats
in the time signature's denominator note, so their grid differs for x/8 signatures).

The way back, ``tick = floor(step * ticks_per_beat / 4 + 1/2)``, reads back to the same step for
every division of at least 4 ticks per quarter note.

Example:
    >>> ticks_to_steps([0, 59, 60, 480], ticks_per_beat=480).tolist()
    [0, 0, 1, 4]
    >>> steps_to_ticks([1, 4], ticks_per_beat=480).tolist()
    [120, 480]
    >>> ticks_to_steps(steps_to_ticks([3, 5], ticks_per_beat=7), ticks_per_beat=7).tolist()
    [3, 5]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mst.music.midi import Song

STEPS_PER_BEAT = 4
"""Grid steps per quarter note (16 per 4/4 bar)."""

DEFAULT_MAX_STEPS = 100_000
"""Longest grid built from one file: 25,000 quarter notes (6,250 4/4 bars, about 3.5 h at 120 BPM);
an 84-pitch bool roll of it is 8.4 MB. Longer files are rejected as ``too_long``."""


def ticks_to_steps(ticks, ticks_per_beat: int) -> np.ndarray:
    """Grid step of each tick: ``floor(tick * 4 / ticks_per_beat + 1/2)``, in exact integer arithmetic.

    Example:
        >>> ticks_to_steps([60, 179, 180], 480).tolist()  # half a step (60 ticks) rounds up
        [1, 1, 2]
    """
    ticks = np.asarray(ticks, dtype=np.int64)
    return (2 * STEPS_PER_BEAT * ticks + ticks_per_beat) // (2 * ticks_per_beat)


def steps_to_ticks(steps, ticks_per_beat: int) -> np.ndarray:
    """Tick of each grid step: ``floor(step * ticks_per_beat / 4 + 1/2)``; :func:`ticks_to_steps` maps it back.

    Example:
        >>> int(steps_to_ticks(4, 480))  # one quarter note
        480
    """
    steps = np.asarray(steps, dtype=np.int64)
    return (2 * steps * ticks_per_beat + STEPS_PER_BEAT) // (2 * STEPS_PER_BEAT)


def song_length_steps(song: "Song") -> int:
    """Grid length of a song: ``ceil(end_tick * 4 / ticks_per_beat)`` steps, ``end_tick`` being the
    later of ``song.end_tick`` and the last note-off.

    The grid runs to the song's last event, as pypianoroll's did for the authors, so trailing
    silence gives empty phrases. A note shorter than one step near the end can make the pianoroll
    one step longer (:func:`mst.encodings.pianoroll.song_to_roll` gives every note at least one).

    Example:
        >>> from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures
        >>> song = Song("", 480, make_notes([0], [480], [60]), make_tempos([0], [120.0]),
        ...             make_time_signatures([0], [4], [4]), end_tick=4801)
        >>> song_length_steps(song)  # ceil(40.008)
        41
    """
    end_tick = max(int(song.end_tick), int(song.notes["end"].max()) if song.notes.size else 0)
    return -(-STEPS_PER_BEAT * end_tick // song.ticks_per_beat)
