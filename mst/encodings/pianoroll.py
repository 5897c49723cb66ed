"""Pianoroll grid, phrases and the one place where {0,1} <-> {-1,+1} scaling lives.

Representation contract (stated once, checked at the edges):
    a phrase is ``[PHRASE_STEPS=64, NUM_PITCHES=84]`` (plus a trailing channel axis of 1 in
    TF pipelines), binary, time on axis 0, pitch index 0 = MIDI ``LOWEST_PITCH`` (24, C1),
    index 83 = MIDI 107 (B7); ``STEPS_PER_BEAT`` = 4 steps per quarter note (16 per 4/4 bar).

The grid (:func:`song_to_roll`):
    * ``step = floor(tick * 4 / ticks_per_beat + 1/2)`` (round half up), computed from MIDI ticks,
      so it follows the file's own tempo map: tempo changes never move notes off the grid.
      A "beat" here is always a quarter note. pypianoroll and pretty_midi count beats in the
      time signature's denominator note (an eighth note in 6/8, and dotted quarters for compound
      meters), so for x/8 signatures their grid differs; the strict filter rejects those files.
    * A note covers steps ``[onset, offset)``. A note shorter than one step but with positive
      duration gets one step. Zero-length notes (``end == start``) are dropped and counted, as
      are pitches outside 24..107 and (by default) drum notes. All non-drum tracks are merged.
    * The roll is binary and is ``ceil(end_tick * 4 / ticks_per_beat)`` steps long (or longer if
      a one-step minimum note reaches further), i.e. it runs to the song's last event like
      pypianoroll's grid did for the authors, so trailing silence gives empty phrases.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mst.music.midi import Song

STEPS_PER_BEAT = 4
BEATS_PER_PHRASE = 16
PHRASE_STEPS = STEPS_PER_BEAT * BEATS_PER_PHRASE  # 64
LOWEST_PITCH = 24  # MIDI C1 (C4 = 60)
NUM_PITCHES = 84  # MIDI 24..107
PHRASE_SHAPE = (PHRASE_STEPS, NUM_PITCHES, 1)
HIGHEST_PITCH = LOWEST_PITCH + NUM_PITCHES - 1  # MIDI 107 (B7)
# Longest roll built from one file: 100,000 steps = 25,000 quarter notes (6,250 4/4 bars, about
# 3.5 h at 120 BPM), 8.4 MB as bool. Longer files are rejected as ``too_long``.
DEFAULT_MAX_STEPS = 100_000

STEP_NOTE_DTYPE = np.dtype([("start", np.int64), ("end", np.int64), ("pitch", np.int16)])
"""Notes on the grid: ``start``/``end`` in steps (end exclusive), ``pitch`` as a MIDI number."""


def to_signed(roll):
    """Maps a {0,1} (or [0,1]) roll to {-1,+1} ([-1,1]), as the genre classifier expects.

    Works on numpy arrays and tensors alike. This is the only place the scaling is written.
    """
    return roll * 2.0 - 1.0


def from_signed(roll):
    """Inverse of :func:`to_signed`."""
    return (roll + 1.0) / 2.0


def binarize(roll, threshold: float = 0.5):
    """Note on where ``roll > threshold`` (the authors' 0.5 rule), as float32 0/1.

    Works on numpy arrays and TF tensors; the only place the output threshold is written.
    """
    if isinstance(roll, np.ndarray) or np.isscalar(roll) or isinstance(roll, (list, tuple)):
        return (np.asarray(roll) > threshold).astype(np.float32)
    import tensorflow as tf  # noqa: PLC0415  (only reached with tensors)

    return tf.cast(roll > threshold, tf.float32)


# ----------------------------------------------------------------------------------------------
# Song -> roll


def ticks_to_steps(ticks, ticks_per_beat: int) -> np.ndarray:
    """Grid step of each tick: ``floor(tick * 4 / ticks_per_beat + 1/2)``, in exact integer arithmetic."""
    ticks = np.asarray(ticks, dtype=np.int64)
    return (2 * STEPS_PER_BEAT * ticks + ticks_per_beat) // (2 * ticks_per_beat)


def steps_to_ticks(steps, ticks_per_beat: int) -> np.ndarray:
    """Tick of each grid step: ``floor(step * ticks_per_beat / 4 + 1/2)``; :func:`ticks_to_steps` maps it back."""
    steps = np.asarray(steps, dtype=np.int64)
    return (2 * steps * ticks_per_beat + STEPS_PER_BEAT) // (2 * STEPS_PER_BEAT)


def song_length_steps(song: "Song") -> int:
    """Roll length of a song: ``ceil(end_tick * 4 / ticks_per_beat)`` steps (see the module docstring).

    Notes shorter than one step near the end can make :func:`song_to_roll` one step longer.
    """
    end_tick = max(int(song.end_tick), int(song.notes["end"].max()) if song.notes.size else 0)
    return -(-STEPS_PER_BEAT * end_tick // song.ticks_per_beat)


@dataclasses.dataclass(frozen=True)
class RollStats:
    """What :func:`song_to_roll_with_stats` kept and dropped (each note is counted once, first match).

    Attributes:
        notes: Notes in the song.
        drum_notes_dropped: Drum notes dropped (``drop_drums=True``).
        zero_length_notes_dropped: Remaining notes with ``end <= start``.
        out_of_range_notes_dropped: Remaining notes outside MIDI 24..107.
        notes_on_grid: Notes written into the roll.
        steps: Roll length in steps.
    """

    notes: int
    drum_notes_dropped: int
    zero_length_notes_dropped: int
    out_of_range_notes_dropped: int
    notes_on_grid: int
    steps: int

    def to_dict(self) -> dict:
        """The stats as a JSON-ready dict."""
        return dataclasses.asdict(self)


def song_to_roll_with_stats(
    song: "Song", *, drop_drums: bool = True, max_steps: int | None = DEFAULT_MAX_STEPS
) -> tuple[np.ndarray, RollStats]:
    """Merges a song's tracks into one binary roll on the 16th-note grid, with drop counts.

    Args:
        song: The song (ticks).
        drop_drums: Leave out drum notes (the authors did).
        max_steps: Refuse rolls longer than this (``None``: no limit).

    Returns:
        ``(roll, stats)``: ``bool [T, 84]`` and a :class:`RollStats`.

    Raises:
        mst.music.midi.MidiError: ``too_long`` when the roll would exceed ``max_steps``.
    """
    notes = song.notes
    keep = ~notes["is_drum"] if drop_drums else np.ones(notes.shape[0], bool)
    positive = notes["end"] > notes["start"]
    in_range = (notes["pitch"] >= LOWEST_PITCH) & (notes["pitch"] <= HIGHEST_PITCH)
    selected = keep & positive & in_range

    onsets = ticks_to_steps(notes["start"][selected], song.ticks_per_beat)
    offsets = np.maximum(ticks_to_steps(notes["end"][selected], song.ticks_per_beat), onsets + 1)
    pitch_index = notes["pitch"][selected].astype(np.int64) - LOWEST_PITCH
    steps = max(song_length_steps(song), int(offsets.max()) if offsets.size else 0)
    if max_steps is not None and steps > max_steps:
        from mst.music.midi import MidiError  # noqa: PLC0415  (midi imports this module lazily too)

        raise MidiError(song.path, "too_long", f"{steps} grid steps > limit {max_steps}")

    # Difference array: +1 at each onset, -1 at each offset; a cell sounds where the running sum > 0.
    cells = (steps + 1) * NUM_PITCHES
    changes = np.bincount(onsets * NUM_PITCHES + pitch_index, minlength=cells).astype(np.int32)
    changes -= np.bincount(offsets * NUM_PITCHES + pitch_index, minlength=cells).astype(np.int32)
    roll = np.cumsum(changes.reshape(steps + 1, NUM_PITCHES), axis=0, dtype=np.int32)[:steps] > 0

    stats = RollStats(
        notes=int(notes.shape[0]),
        drum_notes_dropped=int(np.count_nonzero(~keep)),
        zero_length_notes_dropped=int(np.count_nonzero(keep & ~positive)),
        out_of_range_notes_dropped=int(np.count_nonzero(keep & positive & ~in_range)),
        notes_on_grid=int(np.count_nonzero(selected)),
        steps=steps,
    )
    return roll, stats


def song_to_roll(song: "Song", *, drop_drums: bool = True, max_steps: int | None = DEFAULT_MAX_STEPS) -> np.ndarray:
    """Merges a song's tracks into one ``bool [T, 84]`` roll; see :func:`song_to_roll_with_stats`."""
    return song_to_roll_with_stats(song, drop_drums=drop_drums, max_steps=max_steps)[0]


# ----------------------------------------------------------------------------------------------
# Phrases


def _check_roll(roll: np.ndarray) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != NUM_PITCHES:
        raise ValueError(f"expected a roll of shape [T, {NUM_PITCHES}], got {roll.shape}")
    return roll


def cut_phrases(roll: np.ndarray, *, keep_tail: bool = False, multiple_of: int = 1) -> np.ndarray:
    """Cuts a roll into consecutive non-overlapping ``[64, 84]`` phrases from step 0.

    Args:
        roll: ``[T, 84]`` roll.
        keep_tail: ``False`` (training, the authors): drop the incomplete tail, then trim the
            phrase count *down* to a multiple of ``multiple_of``. ``True`` (whole-song transfer):
            zero-pad the tail and pad the phrase count *up* to a multiple of ``multiple_of`` with
            empty phrases, so no step of music is lost.
        multiple_of: Phrase-count granularity; 4 reproduces the authors' trim, 1 disables it.

    Returns:
        ``[n, 64, 84]`` array with the roll's dtype (``n`` may be 0).
    """
    roll = _check_roll(roll)
    if int(multiple_of) != multiple_of or multiple_of < 1:
        raise ValueError(f"multiple_of must be a positive integer, got {multiple_of}")
    if keep_tail:
        count = -(-roll.shape[0] // PHRASE_STEPS)
        count = -(-count // multiple_of) * multiple_of
        padded = np.zeros((count * PHRASE_STEPS, NUM_PITCHES), dtype=roll.dtype)
        padded[: roll.shape[0]] = roll
        return padded.reshape(count, PHRASE_STEPS, NUM_PITCHES)
    count = roll.shape[0] // PHRASE_STEPS
    count -= count % multiple_of
    return roll[: count * PHRASE_STEPS].reshape(count, PHRASE_STEPS, NUM_PITCHES).copy()


def drop_empty_phrases(phrases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drops all-zero phrases (the authors kept a phrase only if its max was > 0).

    Args:
        phrases: ``[n, 64, 84]`` (or ``[n, 64, 84, 1]``).

    Returns:
        ``(kept_phrases, kept_indices)``, the indices (int64) into the input.
    """
    phrases = np.asarray(phrases)
    if phrases.ndim < 2:
        raise ValueError(f"expected phrases of shape [n, 64, 84(, 1)], got {phrases.shape}")
    kept = np.flatnonzero(phrases.reshape(phrases.shape[0], -1).any(axis=1))
    return phrases[kept], kept


def stitch_phrases(phrases: np.ndarray, length: int | None = None) -> np.ndarray:
    """Concatenates phrases in time (the inverse of :func:`cut_phrases`).

    Args:
        phrases: ``[n, 64, 84]`` or ``[n, 64, 84, 1]``.
        length: Trim the result to this many steps (the song's roll length); ``None`` keeps all.

    Returns:
        ``[n * 64, 84]`` roll (or ``[length, 84]``), same dtype.
    """
    phrases = np.asarray(phrases)
    if phrases.ndim == 4 and phrases.shape[-1] == 1:
        phrases = phrases[..., 0]
    if phrases.ndim != 3 or phrases.shape[1:] != (PHRASE_STEPS, NUM_PITCHES):
        raise ValueError(f"expected phrases of shape [n, {PHRASE_STEPS}, {NUM_PITCHES}(, 1)], got {phrases.shape}")
    roll = phrases.reshape(-1, NUM_PITCHES)
    if length is not None:
        if not 0 <= length <= roll.shape[0]:
            raise ValueError(f"length {length} is outside 0..{roll.shape[0]} (the stitched steps)")
        roll = roll[:length]
    return roll


# ----------------------------------------------------------------------------------------------
# Roll -> notes


def roll_to_notes(roll: np.ndarray) -> np.ndarray:
    """Turns each maximal run of 1s in a pitch row into one note (the authors' MIDI writer rule).

    Repeated notes of one pitch therefore merge, and notes held across phrase boundaries join.

    Args:
        roll: Binary ``[T, 84]`` (or ``[T, 84, 1]``) roll: bool, or numbers that are all 0 or 1
            (threshold model outputs with :func:`binarize` first).

    Returns:
        :data:`STEP_NOTE_DTYPE` array sorted by (start, pitch): start/end in steps, MIDI pitch.

    Raises:
        ValueError: Wrong shape or values other than 0 and 1.
    """
    roll = np.asarray(roll)
    if roll.ndim == 3 and roll.shape[-1] == 1:
        roll = roll[..., 0]
    roll = _check_roll(roll)
    if roll.dtype != np.bool_:
        if roll.size and not np.all((roll == 0) | (roll == 1)):
            raise ValueError("roll_to_notes needs a binary roll (0/1); threshold it with binarize() first")
        roll = roll.astype(bool)
    padded = np.zeros((roll.shape[0] + 2, NUM_PITCHES), np.int8)
    padded[1:-1] = roll
    edges = np.diff(padded, axis=0)  # +1 where a run starts, -1 one step after it ends
    # Transposed nonzero lists entries pitch-major, so the k-th onset and k-th offset pair up.
    onset_pitch, onset_step = np.nonzero(edges.T == 1)
    _, offset_step = np.nonzero(edges.T == -1)
    notes = np.zeros(onset_step.shape[0], dtype=STEP_NOTE_DTYPE)
    notes["start"] = onset_step
    notes["end"] = offset_step
    notes["pitch"] = onset_pitch + LOWEST_PITCH
    return notes[np.lexsort((notes["pitch"], notes["start"]))]
