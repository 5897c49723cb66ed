"""MusicVAE's 90-class melody encoding: monophonic melodies on the 16th grid, sliced into bar windows.

Re-implemented from the description in ``docs/music_vae.md`` (Magenta's ``OneHotMelodyConverter``
on note-seq's ``Melody``) on mst's tick grid (:mod:`mst.encodings.grid`).

Classes (``MelodyOneHotEncoding(21, 109)``): 0 = *no event* (hold the sounding note or stay
silent), 1 = *note-off* (start a rest), ``2 + p - 21`` = note-on of MIDI pitch ``p`` in 21..108.

Melody extraction per instrument (track/program, drums excluded), like note-seq's
``Melody.from_quantized_sequence`` with ``ignore_polyphonic_notes=True`` inside Magenta's
``extract_melodies``: notes are sorted by start step and falling pitch; of notes starting on the
same step the highest wins; a later note cuts a sounding one short; a melody ends where a
silence of at least ``gap_bars`` bars starts, and the search goes on after it. A melody starts at
the bar line of its first note, is padded to whole bars, truncated to ``max_bars`` and kept if at
least ``min_bars`` long. Windows of ``slice_bars`` bars move by one bar; duplicate windows are
removed (first occurrence kept, in song order).

Example:
    >>> from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures
    >>> notes = make_notes([0, 0, 240, 960], [240, 120, 480, 1200], [60, 64, 62, 67])
    >>> song = Song("", 480, notes, make_tempos([0], [120.0]), make_time_signatures([0], [4], [4]), end_tick=1200)
    >>> melody = extract_melodies(song)[0]
    >>> melody[:12].tolist()
    [45, 1, 43, 0, 1, 0, 0, 0, 48, 0, 1, 0]
    >>> [(int(n["pitch"]), int(n["start"]), int(n["end"])) for n in events_to_notes(melody, ticks_per_beat=480)]
    [(64, 0, 120), (62, 240, 480), (67, 960, 1200)]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mst.encodings.grid import ticks_to_steps
from mst.music.midi import Song, make_notes

MIN_PITCH = 21
MAX_PITCH = 108
NUM_CLASSES = 2 + MAX_PITCH - MIN_PITCH + 1
"""90: no event, note-off, 88 note-ons."""
NO_EVENT = 0
NOTE_OFF = 1
STEPS_PER_BAR = 16
MELODY_PROGRAMS = tuple(range(32))
"""Magenta's ``MEL_PROGRAMS`` (the 2-bar configs keep programs 0-31 only)."""
DEFAULT_VELOCITY = 80


def pitch_class_index(pitch: int) -> int:
    """Class of a note-on of ``pitch`` (21..108)."""
    if not MIN_PITCH <= pitch <= MAX_PITCH:
        raise ValueError(f"pitch {pitch} is outside {MIN_PITCH}..{MAX_PITCH}")
    return 2 + pitch - MIN_PITCH


@dataclasses.dataclass(frozen=True)
class MelodyOptions:
    """How melodies are extracted (Magenta's defaults of the 2-bar and 16-bar melody converters).

    Attributes:
        gap_bars: Silence (bars) that ends a melody.
        min_bars: Shortest melody kept.
        max_bars: Melodies are truncated to this many bars before slicing.
        programs: Programs kept (empty: all; the 2-bar configs use 0-31).
    """

    gap_bars: float = 1.0
    min_bars: int = 1
    max_bars: int = 100
    programs: tuple[int, ...] = ()


def _quantised_notes(song: Song, programs: tuple[int, ...]):
    notes = song.notes[~song.notes["is_drum"]]
    notes = notes[(notes["pitch"] >= MIN_PITCH) & (notes["pitch"] <= MAX_PITCH)]
    if programs:
        notes = notes[np.isin(notes["program"], programs)]
    starts = ticks_to_steps(notes["start"], song.ticks_per_beat)
    ends = np.maximum(ticks_to_steps(notes["end"], song.ticks_per_beat), starts + 1)
    return notes, starts, ends


def _melodies_of_instrument(starts, ends, pitches, options: MelodyOptions) -> list[np.ndarray]:
    order = np.lexsort((-pitches, starts))
    starts, ends, pitches = starts[order], ends[order], pitches[order]
    gap = int(round(options.gap_bars * STEPS_PER_BAR))
    melodies, position = [], 0
    while position < len(starts):
        origin = (int(starts[position]) // STEPS_PER_BAR) * STEPS_PER_BAR
        events: list[int] = []
        last_on = -1
        index = position
        while index < len(starts):
            start, end = int(starts[index]) - origin, int(ends[index]) - origin
            if events:
                if start == last_on:  # polyphony on one step: the highest pitch (already placed) wins
                    index += 1
                    continue
                last_off = len(events) - 1
                if start - last_off >= gap:
                    break
            if len(events) < end + 1:
                events.extend([NO_EVENT] * (end + 1 - len(events)))
            del events[end + 1 :]
            events[start] = pitch_class_index(int(pitches[index]))
            events[start + 1 : end] = [NO_EVENT] * (end - start - 1)
            events[end] = NOTE_OFF
            last_on = start
            index += 1
        position = index
        bars = -(-len(events) // STEPS_PER_BAR)
        events.extend([NO_EVENT] * (bars * STEPS_PER_BAR - len(events)))
        events = events[: options.max_bars * STEPS_PER_BAR]
        if len(events) >= options.min_bars * STEPS_PER_BAR:
            melodies.append(np.asarray(events, np.uint8))
    return melodies


def extract_melodies(song: Song, options: MelodyOptions = MelodyOptions()) -> list[np.ndarray]:
    """Every melody of a song as ``uint8`` class indices (instruments in (track, program) order)."""
    notes, starts, ends = _quantised_notes(song, tuple(options.programs))
    melodies = []
    keys = sorted({(int(t), int(p)) for t, p in zip(notes["track"], notes["program"])})
    for track, program in keys:
        mask = (notes["track"] == track) & (notes["program"] == program)
        melodies.extend(_melodies_of_instrument(starts[mask], ends[mask], notes["pitch"][mask].astype(np.int64), options))
    return melodies


def slice_windows(melodies: list[np.ndarray], slice_bars: int) -> list[np.ndarray]:
    """Windows of ``slice_bars`` bars moved by one bar, duplicates removed (first kept).

    Example:
        >>> m = np.array([2] + [0] * 15 + [3] + [0] * 15 + [2] + [0] * 15, np.uint8)
        >>> len(slice_windows([m], 1)), len(slice_windows([m], 2))
        (2, 2)
    """
    size = slice_bars * STEPS_PER_BAR
    seen, windows = set(), []
    for melody in melodies:
        for stop in range(size, len(melody) + 1, STEPS_PER_BAR):
            window = melody[stop - size : stop]
            key = window.tobytes()
            if key not in seen:
                seen.add(key)
                windows.append(window)
    return windows


def one_hot(events: np.ndarray) -> np.ndarray:
    """``[T]`` class indices -> ``float32 [T, 90]``."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(events, np.int64)]


def events_to_notes(events, *, ticks_per_beat: int = 480, velocity: int = DEFAULT_VELOCITY, program: int = 0,
                    start_tick: int = 0) -> np.ndarray:
    """Class indices ``[T]`` (or one-hot / logits ``[T, 90]``, arg-maxed) back to notes.

    A note-on sounds until the next note-on or note-off (or the end), as note-seq's ``Melody.to_sequence``.
    """
    events = np.asarray(events)
    if events.ndim == 2:
        events = np.argmax(events, axis=-1)
    step_ticks = ticks_per_beat // 4
    starts, ends, pitches = [], [], []
    current = None
    for step, event in enumerate(events.tolist()):
        if event == NO_EVENT:
            continue
        if current is not None:
            starts.append(current[0])
            ends.append(step)
            pitches.append(current[1])
            current = None
        if event >= 2:
            current = (step, MIN_PITCH + event - 2)
    if current is not None:
        starts.append(current[0])
        ends.append(len(events))
        pitches.append(current[1])
    starts = np.asarray(starts, np.int64) * step_ticks + start_tick
    ends = np.asarray(ends, np.int64) * step_ticks + start_tick
    return make_notes(starts, ends, pitches, velocity=velocity, program=program)


def is_4_4(song: Song) -> bool:
    """Whether every time-signature event is 4/4 (none counts as 4/4, as Magenta adds one)."""
    signatures = song.time_signatures
    return bool(np.all((signatures["numerator"] == 4) & (signatures["denominator"] == 4)))
