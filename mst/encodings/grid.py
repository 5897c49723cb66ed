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


def bar_start_steps(song: "Song", num_steps: int | None = None) -> np.ndarray:
    """The grid step at which each bar begins, following the song's time signatures.

    A bar of ``n/d`` lasts ``n * 4 / d`` quarter notes, i.e. ``16 * n / d`` steps (16 for 4/4, 12
    for 3/4 and 6/8, 14 for 7/8). Bars are counted from tick 0 in 4/4 (the SMF default) until the
    first signature, and every signature event starts a new bar, as sequencers count them; of
    several events at one tick the last one counts. Positions are computed in exact integer
    arithmetic from ticks and rounded to the grid like notes (:func:`ticks_to_steps`); bars that
    round onto one step (shorter than a step) are listed once.

    Args:
        song: The song (its ``time_signatures`` and ``ticks_per_beat``).
        num_steps: Bars starting at or after this step are left out (default:
            :func:`song_length_steps`).

    Returns:
        Ascending ``int64`` steps, the first 0 (at least that one).

    Example:
        >>> from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures
        >>> waltz = Song("", 480, make_notes([0], [5760], [60]), make_tempos([0], [120.0]),
        ...              make_time_signatures([0], [3], [4]), end_tick=5760)
        >>> bar_start_steps(waltz).tolist()  # four bars of 3/4
        [0, 12, 24, 36]
    """
    end = song_length_steps(song) if num_steps is None else int(num_steps)
    tpb = int(song.ticks_per_beat)
    signatures = song.time_signatures[np.argsort(song.time_signatures["tick"], kind="stable")]
    signatures = signatures[(signatures["numerator"] >= 1) & (signatures["denominator"] >= 1)]
    if signatures.size:
        last_of_tick = np.r_[signatures["tick"][1:] != signatures["tick"][:-1], True]
        signatures = signatures[last_of_tick]
    # Segments (start tick, numerator, denominator); 4/4 from tick 0 until the first signature.
    segments = [(int(s["tick"]), int(s["numerator"]), int(s["denominator"])) for s in signatures]
    if not segments or segments[0][0] > 0:
        segments.insert(0, (0, 4, 4))
    end_tick = -(-end * tpb // STEPS_PER_BEAT)  # the first tick at or past the grid's end
    starts = []
    for index, (tick, numerator, denominator) in enumerate(segments):
        stop = segments[index + 1][0] if index + 1 < len(segments) else max(end_tick, tick + 1)
        # Bar k of the segment starts at tick + k * numerator * 4 * tpb / denominator; all in
        # units of 1/denominator tick, so no rounding happens before the grid rounding.
        bar = numerator * 4 * tpb
        count = -(-(stop - tick) * denominator // bar)
        scaled = tick * denominator + np.arange(count, dtype=np.int64) * bar
        starts.append((2 * STEPS_PER_BEAT * scaled + denominator * tpb) // (2 * denominator * tpb))
    steps = np.unique(np.concatenate(starts))
    return steps[(steps < end) | (steps == 0)]


def holding_ticks_per_beat(ticks_per_beat: int) -> tuple[int, int]:
    """The smallest multiple of ``ticks_per_beat`` that holds the grid exactly, and the factor.

    A division divisible by :data:`STEPS_PER_BEAT` puts every step on a whole tick; coarser or
    odd divisions (2 ticks per quarter note cannot hold a 16th note at all) are multiplied by the
    smallest integer that makes them so. Multiplying every tick of a file by that integer keeps its
    timing exactly (tempos are per quarter note).

    Example:
        >>> holding_ticks_per_beat(2), holding_ticks_per_beat(6), holding_ticks_per_beat(480)
        ((4, 2), (12, 2), (480, 1))
    """
    ticks_per_beat = int(ticks_per_beat)
    if ticks_per_beat < 1:
        raise ValueError(f"ticks_per_beat must be >= 1, got {ticks_per_beat}")
    factor = STEPS_PER_BEAT // np.gcd(ticks_per_beat, STEPS_PER_BEAT)
    return ticks_per_beat * int(factor), int(factor)
