"""Pianoroll phrases: the 64 x 84 binary rolls of the CycleGAN genre transfer, and their MIDI.

Representation contract (stated once, checked at the edges):
    a phrase is ``[PHRASE_STEPS=64, NUM_PITCHES=84]`` (plus a trailing channel axis of 1 in
    TF pipelines, :func:`as_phrase_batch`), binary, time on axis 0, pitch index 0 = MIDI
    ``LOWEST_PITCH`` (24, C1), index 83 = MIDI 107 (B7); ``STEPS_PER_BEAT`` = 4 steps per quarter
    note (16 per 4/4 bar) on the tick-based grid of :mod:`mst.encodings.grid`. The one place where
    the {0, 1} <-> {-1, +1} scaling and the 0.5 output threshold are written is here, too.

The roll (:func:`song_to_roll`):
    * Each note covers steps ``[onset, offset)`` of the grid (:func:`mst.encodings.grid.ticks_to_steps`).
      A note shorter than one step but with positive duration gets one step. Zero-length notes
      (``end == start``) are dropped and counted, as are pitches outside 24..107 and (by default)
      drum notes. All non-drum tracks are merged.
    * The roll is binary and :func:`mst.encodings.grid.song_length_steps` steps long (or longer if
      a one-step minimum note reaches further), i.e. it runs to the song's last event like
      pypianoroll's grid did for the authors, so trailing silence gives empty phrases.

And back (:func:`write_roll_midi`): each maximal run of 1s of a pitch becomes one note
(:func:`roll_to_notes`, the authors' writer rule), steps become ticks of the output file. The file
is as long as the source (or the roll): trailing silence is kept by a last tempo event, and a
source division that cannot hold the grid (2 ticks per quarter note) is multiplied up exactly.

Example:
    >>> roll = np.zeros((64, NUM_PITCHES), bool); roll[0:4, 60 - LOWEST_PITCH] = True
    >>> roll_to_notes(roll).tolist()
    [(0, 4, 60)]
    >>> as_phrase_batch(roll[None]).shape
    (1, 64, 84, 1)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from mst.encodings.errors import EncodingError
from mst.encodings.grid import (
    DEFAULT_MAX_STEPS,
    STEPS_PER_BEAT,
    holding_ticks_per_beat,
    song_length_steps,
    steps_to_ticks,
    ticks_to_steps,
)
from mst.music import midi
from mst.music.midi import Song

BEATS_PER_PHRASE = 16
PHRASE_STEPS = STEPS_PER_BEAT * BEATS_PER_PHRASE  # 64
LOWEST_PITCH = 24  # MIDI C1 (C4 = 60)
NUM_PITCHES = 84  # MIDI 24..107
PHRASE_SHAPE = (PHRASE_STEPS, NUM_PITCHES, 1)
HIGHEST_PITCH = LOWEST_PITCH + NUM_PITCHES - 1  # MIDI 107 (B7)

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
    song: Song, *, drop_drums: bool = True, max_steps: int | None = DEFAULT_MAX_STEPS
) -> tuple[np.ndarray, RollStats]:
    """Merges a song's tracks into one binary roll on the 16th-note grid, with drop counts.

    Args:
        song: The song (ticks).
        drop_drums: Leave out drum notes (the authors did).
        max_steps: Refuse rolls longer than this (``None``: no limit).

    Returns:
        ``(roll, stats)``: ``bool [T, 84]`` and a :class:`RollStats`.

    Raises:
        mst.encodings.errors.EncodingError: ``too_long`` when the roll would exceed ``max_steps``.
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
        raise EncodingError(song.path, "too_long", f"{steps} grid steps > limit {max_steps}")

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


def song_to_roll(song: Song, *, drop_drums: bool = True, max_steps: int | None = DEFAULT_MAX_STEPS) -> np.ndarray:
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


def as_phrase_batch(phrases) -> np.ndarray:
    """A batch of phrases as the models take it: ``float32 [N, 64, 84, 1]``.

    Accepts ``[N, 64, 84]`` or ``[N, 64, 84, 1]`` of any numeric or bool dtype (numpy arrays,
    lists, eager tensors); values are converted, not checked (continuous inputs are allowed).

    Example:
        >>> as_phrase_batch(np.zeros((2, 64, 84), bool)).shape
        (2, 64, 84, 1)
        >>> as_phrase_batch(np.zeros((64, 84)))
        Traceback (most recent call last):
        ...
        ValueError: phrases must be [N, 64, 84] or [N, 64, 84, 1], got shape (64, 84)

    Raises:
        ValueError: For any other shape (the message names it).
    """
    batch = np.asarray(phrases, dtype=np.float32)
    if batch.ndim == 3:
        batch = batch[..., None]
    if batch.ndim != 4 or batch.shape[1:] != PHRASE_SHAPE:
        raise ValueError(f"phrases must be [N, {PHRASE_STEPS}, {NUM_PITCHES}] or [N, {PHRASE_STEPS}, {NUM_PITCHES}, 1], "
                         f"got shape {tuple(np.shape(phrases))}")
    return batch


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


# ----------------------------------------------------------------------------------------------
# Roll -> MIDI file


def write_roll_midi(
    path: str | os.PathLike,
    roll,
    *,
    source: Song | None = None,
    ticks_per_beat: int | None = None,
    program: int = 0,
    velocity: int = midi.DEFAULT_VELOCITY,
    track_name: str = "",
    extra_notes: np.ndarray | None = None,
) -> Path:
    """Writes a roll (or its step notes) as a one-track MIDI file, atomically.

    Each maximal run of 1s of a pitch becomes one note (:func:`roll_to_notes`); grid steps become
    ticks of the output file with :func:`mst.encodings.grid.steps_to_ticks`, which read back to
    the same steps for any division of at least 4 ticks per quarter note.

    The file keeps its length: when the music ends before the song does (a silent last bar, an
    empty last phrase), a repeat of the tempo in effect is written at the end, so the file does
    not stop at the last note-off and reads back with the same ``end_tick``. The end is the
    source's ``end_tick`` when a source is given, else the roll's last step (step notes have no
    end of their own: they end at their last note-off).

    Args:
        path: Output ``.mid`` file.
        roll: Binary ``[T, 84]`` or ``[T, 84, 1]`` roll (threshold model outputs with
            :func:`binarize` first), or :data:`STEP_NOTE_DTYPE` notes (:func:`roll_to_notes`).
        source: The song the roll came from: the file gets its tempo map and time signatures (so
            it lines up with the source in a DAW) and its division, multiplied by the smallest
            integer that makes it hold the 16th-note grid exactly
            (:func:`mst.encodings.grid.holding_ticks_per_beat`: 2 ticks per quarter note become
            4, 480 stay 480), every source tick multiplied alike so the timing is unchanged.
            Without it: 480 ticks per quarter note, one tempo of 80 quarter notes per minute
            (the authors' writer default) and 4/4.
        ticks_per_beat: Time division of the output, at least 4 (default: see ``source``, else
            480). With a source it must be a multiple of the source's division.
        program: General MIDI program of the track (0 = Acoustic Grand Piano, as the authors).
        velocity: Velocity of every note (100, as the authors' writer).
        track_name: Name of the output track(s).
        extra_notes: :data:`mst.music.midi.NOTE_DTYPE` notes written too (e.g. the source's
            drums, as their own track), in the source's ticks when a source is given (they are
            scaled with it), else in output ticks.

    Returns:
        The written path.

    Raises:
        ValueError: A roll that is not binary, notes that MIDI cannot hold, or a division that
            cannot hold the grid or the source's ticks.

    Example:
        >>> import tempfile
        >>> roll = np.zeros((16, NUM_PITCHES), bool); roll[4:8, 60 - LOWEST_PITCH] = True
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = midi.read_midi(write_roll_midi(Path(folder) / "c.mid", roll))
        >>> written.notes[["start", "end", "pitch"]].tolist(), written.ticks_per_beat, written.end_tick
        ([(480, 960, 60)], 480, 1920)
    """
    notes = np.asarray(roll)
    roll_steps = None
    if notes.dtype != STEP_NOTE_DTYPE:
        notes = roll_to_notes(notes)
        roll_steps = int(np.shape(roll)[0])
    ticks_per_beat, factor = _output_division(source, ticks_per_beat)
    tick_notes = midi.make_notes(
        start=steps_to_ticks(notes["start"], ticks_per_beat),
        end=steps_to_ticks(notes["end"], ticks_per_beat),
        pitch=notes["pitch"],
        velocity=velocity,
        program=program,
        is_drum=False,
        track=0,
    )
    if extra_notes is not None:
        extra = np.array(extra_notes, dtype=midi.NOTE_DTYPE)  # a copy: the caller's ticks stay
        if source is not None:
            extra["start"] *= factor
            extra["end"] *= factor
        tick_notes = np.concatenate([tick_notes, extra])
    if source is not None:
        tempos, signatures = source.tempos.copy(), source.time_signatures.copy()
        tempos["tick"] *= factor
        signatures["tick"] *= factor
        end_tick = int(source.end_tick) * factor
    else:
        tempos, signatures = midi.make_tempos([0], [midi.DEFAULT_QPM]), midi.make_time_signatures([0], [4], [4])
        end_tick = int(steps_to_ticks(roll_steps, ticks_per_beat)) if roll_steps is not None else 0
    tempos = _with_end_marker(tempos, tick_notes, signatures, end_tick)
    return midi.write_midi(
        path, tick_notes, ticks_per_beat=ticks_per_beat, tempos=tempos, time_signatures=signatures, track_name=track_name
    )


def _output_division(source: Song | None, ticks_per_beat: int | None) -> tuple[int, int]:
    """``(ticks per quarter note of the output, factor from the source's ticks to the output's)``."""
    if ticks_per_beat is None:
        return holding_ticks_per_beat(source.ticks_per_beat if source is not None else midi.DEFAULT_TICKS_PER_BEAT)
    ticks_per_beat = int(ticks_per_beat)
    if ticks_per_beat < STEPS_PER_BEAT:
        raise ValueError(f"ticks_per_beat={ticks_per_beat} cannot hold the grid of {STEPS_PER_BEAT} steps per "
                         f"quarter note (a one-step note would last 0 ticks); use at least {STEPS_PER_BEAT}")
    if source is None:
        return ticks_per_beat, 1
    if ticks_per_beat % source.ticks_per_beat:
        raise ValueError(f"ticks_per_beat={ticks_per_beat} is not a multiple of the source's "
                         f"{source.ticks_per_beat}: its tempo map and time signatures cannot be moved exactly")
    return ticks_per_beat, ticks_per_beat // source.ticks_per_beat


def _with_end_marker(tempos: np.ndarray, notes: np.ndarray, signatures: np.ndarray, end_tick: int) -> np.ndarray:
    """``tempos`` plus a repeat of the last tempo at ``end_tick`` when nothing else reaches it.

    A MIDI track ends at its last event, so a silent ending is lost unless an event sits there.
    A tempo event changes nothing (same tempo), counts for :attr:`mst.music.midi.Song.end_tick`
    on reading, and, unlike a repeated time signature, does not trip the strict filter's
    one-signature rule when the output is read again.
    """
    last = max([0] + [int(column.max()) for column in (notes["end"], tempos["tick"], signatures["tick"]) if column.size])
    if end_tick <= last:
        return tempos
    if tempos.size:
        order = np.argsort(tempos["tick"], kind="stable")
        qpm = float(tempos["qpm"][order][-1])
    else:
        qpm = midi.MIDI_DEFAULT_QPM  # what a file without tempo events plays at
    return np.concatenate([tempos, midi.make_tempos([end_tick], [qpm])])


def map_phrase_batches(function, phrases, batch_size: int, *, output_shape: tuple[int, ...] = PHRASE_SHAPE) -> np.ndarray:
    """Runs ``function`` over a phrase batch in slices of ``batch_size``: the one batching loop.

    Every phrase callable of mst (generators, classifiers, SavedModel endpoints, their wrappers)
    goes through here: the input is normalised with :func:`as_phrase_batch`, an empty batch never
    reaches the model (oneDNN fails on empty convolutions) and the outputs are concatenated.

    Args:
        function: ``float32 [n, 64, 84, 1] -> [n, *output_shape]`` (NumPy, tensor or anything
            ``np.asarray`` converts).
        phrases: ``[N, 64, 84]`` or ``[N, 64, 84, 1]``.
        batch_size: Phrases per call (>= 1).
        output_shape: Shape of one output row (the phrase shape for generators, ``(2,)`` for a
            two-class classifier), used for the empty result and checked on every call.

    Returns:
        ``float32 [N, *output_shape]``.

    Raises:
        ValueError: Bad input shape, batch size, or an output of the wrong shape.

    Example:
        >>> calls = []
        >>> def double(x):
        ...     calls.append(len(x))
        ...     return 2 * x
        >>> map_phrase_batches(double, np.ones((5, 64, 84)), 2).shape, calls
        ((5, 64, 84, 1), [2, 2, 1])
        >>> map_phrase_batches(double, np.zeros((0, 64, 84, 1)), 2).shape
        (0, 64, 84, 1)
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size}")
    x = as_phrase_batch(phrases)
    outputs = [np.zeros((0, *output_shape), np.float32)]
    for start in range(0, len(x), int(batch_size)):
        batch = x[start : start + int(batch_size)]
        output = function(batch)
        output = np.asarray(output.numpy() if hasattr(output, "numpy") else output, dtype=np.float32)
        if output.shape != (len(batch), *output_shape):
            expected = ", ".join(["N", *map(str, output_shape)])
            raise ValueError(f"returned {list(output.shape)} for input {list(batch.shape)} (expected [{expected}])")
        outputs.append(output)
    return np.concatenate(outputs)
