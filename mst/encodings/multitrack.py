"""Multi-track pianorolls (MuseGAN): songs as ``[bars, steps_per_bar, 84, tracks]`` windows and back.

The representation of Foster's MuseGAN chapter (Generative Deep Learning, 1st ed., ch. 7, which
trains on the JSB chorales of the Coconet ``Jsb16thSeparated.npz``):

* one **track per voice** (soprano, alto, tenor, bass for the chorales), 16th-note steps
  (4 per quarter, 16 per 4/4 bar, the grid of :mod:`mst.encodings.grid`);
* **pitch index = MIDI number - pitch_offset** with 84 pitch rows; the book uses offset 0 (rows
  0..83 = MIDI 0..83; the chorales span MIDI 36..81), mst's single-track rolls use 24;
* the model sees **{-1, +1}** values; a rest is an all -1 column. On disk and in this module a
  window is a bool multi-hot array (``True`` = +1), converted by :func:`to_model_values`.

The book's recipe for one chorale (:func:`chorale_windows` with the defaults): skip leading
4-step blocks in which any voice is silent (NaN), take the next ``2 x 16`` steps, reshape to
2 bars of 16 steps, one-hot over 85 classes (the 85th is "silent"), drop the silent class. All 229
training chorales are long enough, so the book gets 229 examples.

Back to notes (:func:`decode_roll`): ``"argmax"`` is the book's decoding (every step of every
track sounds its highest-valued pitch, equal consecutive pitches are merged into one note, but a
note restarts on every beat = every 4th step); ``"threshold"`` also takes the argmax but only where
its value exceeds a threshold, so a voice can rest.

No TensorFlow here: the preparation workers import this module.

Example:
    >>> chorale = np.full((40, 4), np.nan); chorale[4:, :] = [72, 67, 64, 48]
    >>> windows, starts = chorale_windows(chorale)
    >>> windows.shape, starts, windows[0, 0, 0].nonzero()[0].tolist()
    ((1, 2, 16, 84, 4), (4,), [48, 64, 67, 72])
    >>> pitches = decode_roll(to_model_values(windows[0]))
    >>> pitches.shape, pitches[:, 0].tolist()
    ((4, 32), [72, 67, 64, 48])
    >>> [(int(n["start"]), int(n["end"]), int(n["pitch"])) for n in pitches_to_notes(pitches[:1, :8], ticks_per_beat=4)]
    [(0, 4, 72), (4, 8, 72)]
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

NUM_PITCHES = 84
"""Pitch rows of a multi-track roll."""
STEPS_PER_BEAT = 4
"""16th-note steps per quarter note."""
BOOK_PITCH_OFFSET = 0
"""The book's pitch index: row = MIDI number."""
CHORALE_TRACKS = ("soprano", "alto", "tenor", "bass")
"""Track order of the JSB chorales (the npz's voice columns)."""
BOOK_TEMPO_QPM = 66.0
"""Tempo of the book's MIDI output (quarter notes per minute)."""
DECODINGS = ("argmax", "threshold")
"""How :func:`decode_roll` turns model values into notes."""
REST = -1
"""Pitch value of a silent step in decoded pitch sequences."""


# --------------------------------------------------------------------------- values


def to_model_values(windows) -> np.ndarray:
    """Bool multi-hot rolls -> float32 {-1, +1} (the generator's tanh range)."""
    return np.where(np.asarray(windows, bool), np.float32(1.0), np.float32(-1.0))


def from_model_values(values, threshold: float = 0.0) -> np.ndarray:
    """Model values -> bool multi-hot rolls (``value > threshold``)."""
    return np.asarray(values) > threshold


# --------------------------------------------------------------------------- the chorales


def first_full_block(chorale: np.ndarray, block: int = STEPS_PER_BEAT) -> int:
    """The book's start step: the first ``block``-step block (from 0, in steps of ``block``) in which no voice is silent.

    Returns ``len(chorale)`` when there is none.

    Example:
        >>> c = np.full((12, 2), 60.0); c[1, 0] = np.nan; c[5, 1] = np.nan
        >>> first_full_block(c)
        8
    """
    start = 0
    while start < len(chorale) and np.isnan(chorale[start : start + block]).any():
        start += block
    return start


def pitches_to_window(pitches: np.ndarray, *, pitch_offset: int = BOOK_PITCH_OFFSET) -> np.ndarray:
    """``[T, tracks]`` MIDI pitches (NaN = silent) -> bool one-hot ``[T, 84, tracks]`` (a silent step is all False).

    Raises:
        ValueError: A pitch whose row ``pitch - pitch_offset`` is outside ``0..83``, or a non-integer pitch.
    """
    pitches = np.asarray(pitches, np.float64)
    sounding = ~np.isnan(pitches)
    rows = np.where(sounding, pitches, pitch_offset) - pitch_offset
    if np.any(rows[sounding] != np.round(rows[sounding])):
        raise ValueError("pitches must be whole MIDI numbers")
    rows = rows.astype(np.int64)
    if np.any(sounding & ((rows < 0) | (rows >= NUM_PITCHES))):
        bad = pitches[sounding & ((rows < 0) | (rows >= NUM_PITCHES))]
        raise ValueError(f"MIDI pitch {int(bad[0])} is outside the 84 rows from MIDI {pitch_offset} (pitch_offset={pitch_offset})")
    out = np.zeros((pitches.shape[0], NUM_PITCHES, pitches.shape[1]), bool)
    steps, tracks = np.nonzero(sounding)
    out[steps, rows[steps, tracks], tracks] = True
    return out


def window_starts(length: int, first: int, window_steps: int, *, windows: str = "first", hop_steps: int | None = None) -> list[int]:
    """Start steps of the windows of a song of ``length`` steps that starts sounding at ``first``.

    ``windows="first"`` (the book): one window at ``first`` if it fits; ``"all"``: every window
    ``first + k * hop_steps`` that fits (``hop_steps`` defaults to ``window_steps``: no overlap).

    Example:
        >>> window_starts(100, 4, 32), window_starts(100, 4, 32, windows="all"), window_starts(100, 4, 32, windows="all", hop_steps=16)
        ([4], [4, 36, 68], [4, 20, 36, 52, 68])
    """
    if windows not in ("first", "all"):
        raise ValueError(f"windows must be 'first' or 'all', got {windows!r}")
    hop = window_steps if hop_steps is None else hop_steps
    if hop < 1:
        raise ValueError(f"hop_steps must be >= 1, got {hop}")
    starts = list(range(first, length - window_steps + 1, hop))
    return starts[:1] if windows == "first" else starts


def chorale_windows(
    chorale,
    *,
    n_bars: int = 2,
    steps_per_bar: int = 16,
    windows: str = "first",
    hop_steps: int | None = None,
    skip_silent_start: bool = True,
    pitch_offset: int = BOOK_PITCH_OFFSET,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """The book's windows of one chorale (``[T, tracks]`` MIDI pitches, NaN = silent).

    Returns:
        ``(windows bool [n, n_bars, steps_per_bar, 84, tracks], start steps)``; ``n = 0`` when the
        chorale is too short.

    Raises:
        ValueError: A pitch outside the 84 rows (see :func:`pitches_to_window`).
    """
    chorale = np.asarray(chorale, np.float64)
    if chorale.ndim != 2:
        raise ValueError(f"a chorale is [steps, tracks], got shape {chorale.shape}")
    window_steps = n_bars * steps_per_bar
    first = first_full_block(chorale) if skip_silent_start else 0
    starts = window_starts(len(chorale), first, window_steps, windows=windows, hop_steps=hop_steps)
    tracks = chorale.shape[1]
    out = np.zeros((len(starts), n_bars, steps_per_bar, NUM_PITCHES, tracks), bool)
    for i, start in enumerate(starts):
        out[i] = pitches_to_window(chorale[start : start + window_steps], pitch_offset=pitch_offset).reshape(
            n_bars, steps_per_bar, NUM_PITCHES, tracks
        )
    return out, tuple(starts)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (the Coconet npz stores object arrays of arrays)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]
        return getattr(np, name)


def _read_npy_member(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(handle)
        if dtype.hasobject:
            return _NumpyOnlyUnpickler(io.BytesIO(handle.read()), encoding="latin1").load()
        data = np.frombuffer(handle.read(), dtype=dtype)
        return data.reshape(shape, order="F" if fortran else "C")


def load_chorales(path) -> dict[str, list[np.ndarray]]:
    """Reads a chorale archive: ``{split: [chorale float64 [T, 4] MIDI pitches, NaN = silent]}``.

    Two formats: the Coconet ``Jsb16thSeparated.npz`` (keys ``train``/``valid``/``test``, object
    arrays of ``[T, 4]`` float16 arrays; read with an unpickler that only builds numpy arrays, never
    ``allow_pickle=True``), and mst's embedded copy (:func:`save_chorales`: per split
    ``{split}_pitches`` uint8 ``[sum T, 4]`` with 0 = silent and ``{split}_lengths``).

    Raises:
        ValueError: Not a chorale archive (the message names the file and the reason).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[: -len(".npy")]: name for name in archive.namelist() if name.endswith(".npy")}
            out: dict[str, list[np.ndarray]] = {}
            for split in ("train", "valid", "test"):
                if f"{split}_pitches" in members:
                    flat = _read_npy_member(archive, members[f"{split}_pitches"]).astype(np.float64)
                    lengths = _read_npy_member(archive, members[f"{split}_lengths"]).astype(np.int64)
                    flat[flat == 0] = np.nan
                    out[split] = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
                elif split in members:
                    out[split] = [np.asarray(c, np.float64) for c in _read_npy_member(archive, members[split])]
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, KeyError, EOFError) as error:
        raise ValueError(f"{path}: not a readable chorale archive ({error})") from None
    if not out:
        raise ValueError(f"{path}: no train/valid/test chorales in the archive")
    for split, chorales in out.items():
        for index, chorale in enumerate(chorales):
            if chorale.ndim != 2:
                raise ValueError(f"{path}: {split} chorale {index} has shape {chorale.shape}, expected [steps, voices]")
    return out


def save_chorales(path, chorales: dict[str, Sequence[np.ndarray]]) -> Path:
    """Writes chorales in mst's pickle-free archive format (see :func:`load_chorales`), atomically.

    Example:
        >>> import tempfile
        >>> c = np.array([[60, np.nan], [62, 48]])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     back = load_chorales(save_chorales(Path(folder) / "c.npz", {"train": [c]}))
        >>> np.array_equal(back["train"][0], c, equal_nan=True)
        True
    """
    from mst import atomic  # noqa: PLC0415

    arrays = {}
    for split, items in chorales.items():
        items = [np.asarray(c, np.float64) for c in items]
        flat = np.concatenate(items) if items else np.zeros((0, 4))
        if np.any((flat[~np.isnan(flat)] < 1) | (flat[~np.isnan(flat)] > 127)):
            raise ValueError("chorale pitches must be MIDI 1..127 (0 marks silence in the archive)")
        arrays[f"{split}_pitches"] = np.nan_to_num(flat, nan=0.0).astype(np.uint8)
        arrays[f"{split}_lengths"] = np.array([len(c) for c in items], np.int32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic.write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------- MIDI songs


def song_to_track_pitches(song, track_of_note: np.ndarray, n_tracks: int) -> np.ndarray:
    """A :class:`mst.music.midi.Song` -> ``[T, n_tracks]`` MIDI pitches on the 16th grid (NaN = silent).

    ``track_of_note[i]`` is the output track of note ``i`` (-1 = not used). A voice that plays
    several notes at a step keeps the highest one (each track is one voice, as in the chorales).
    """
    from mst.encodings import grid  # noqa: PLC0415

    notes = song.notes
    starts = grid.ticks_to_steps(notes["start"], song.ticks_per_beat)
    ends = np.maximum(grid.ticks_to_steps(notes["end"], song.ticks_per_beat), starts + 1)
    length = int(ends.max()) if len(notes) else 0
    out = np.full((length, n_tracks), np.nan)
    for start, end, pitch, track in zip(starts, ends, notes["pitch"], track_of_note):
        if track < 0:
            continue
        segment = out[start:end, track]
        out[start:end, track] = np.where(np.isnan(segment) | (segment < pitch), pitch, segment)
    return out


# --------------------------------------------------------------------------- back to notes


def decode_roll(values, *, decoding: str = "argmax", threshold: float = 0.0) -> np.ndarray:
    """Model values ``[bars, steps, 84, tracks]`` -> pitch sequences ``int [tracks, bars * steps]`` (MIDI row, -1 = rest).

    Args:
        values: One generated or real window in model values ({-1, +1} or tanh outputs).
        decoding: ``"argmax"`` (the book: every step sounds its best pitch) or ``"threshold"``
            (the best pitch only where its value exceeds ``threshold``, else a rest).
        threshold: Threshold of ``"threshold"`` in model values (0 = the middle of tanh's range).

    Raises:
        ValueError: Unknown decoding or a roll that is not 4-D with 84 pitch rows.
    """
    values = np.asarray(values, np.float32)
    if values.ndim != 4 or values.shape[2] != NUM_PITCHES:
        raise ValueError(f"expected one roll [bars, steps, 84, tracks], got shape {values.shape}")
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    bars, steps, _, tracks = values.shape
    flat = values.reshape(bars * steps, NUM_PITCHES, tracks)
    best = flat.argmax(axis=1)  # [T, tracks]
    if decoding == "threshold":
        best = np.where(flat.max(axis=1) > threshold, best, REST)
    return best.T.astype(np.int64)


def pitches_to_notes(
    pitches,
    *,
    ticks_per_beat: int = 480,
    restart_every: int = STEPS_PER_BEAT,
    pitch_offset: int = BOOK_PITCH_OFFSET,
    programs: Sequence[int] | None = None,
    velocity: int = 100,
) -> np.ndarray:
    """Pitch sequences ``[tracks, T]`` (rows, -1 = rest) -> :data:`mst.music.midi.NOTE_DTYPE` notes, track ``i`` = voice ``i``.

    Equal consecutive pitches become one note, except that a note restarts at every step that is
    a multiple of ``restart_every`` (the book: 4 = every beat; 0 = never).
    """
    from mst.encodings import grid  # noqa: PLC0415
    from mst.music.midi import make_notes  # noqa: PLC0415

    pitches = np.asarray(pitches, np.int64)
    programs = list(programs) if programs is not None else [0] * pitches.shape[0]
    starts, ends, values, tracks, progs = [], [], [], [], []
    for track, sequence in enumerate(pitches):
        begin = None
        for step in range(len(sequence) + 1):
            boundary = (
                step == len(sequence)
                or begin is None
                or sequence[step] != sequence[begin]
                or (restart_every and step % restart_every == 0)
            )
            if boundary and begin is not None and sequence[begin] != REST:
                starts.append(begin), ends.append(step), values.append(sequence[begin] + pitch_offset)
                tracks.append(track), progs.append(programs[track])
            if boundary:
                begin = step if step < len(sequence) else None
    return make_notes(
        grid.steps_to_ticks(np.array(starts, np.int64), ticks_per_beat),
        grid.steps_to_ticks(np.array(ends, np.int64), ticks_per_beat),
        np.array(values, np.int64),
        velocity=velocity,
        program=np.array(progs, np.int64),
        track=np.array(tracks, np.int64),
    )


def write_roll_midi(
    path,
    values,
    *,
    decoding: str = "argmax",
    threshold: float = 0.0,
    qpm: float = BOOK_TEMPO_QPM,
    restart_every: int = STEPS_PER_BEAT,
    pitch_offset: int = BOOK_PITCH_OFFSET,
    programs: Sequence[int] | None = None,
) -> Path:
    """Writes one window (model values ``[bars, steps, 84, tracks]``) as a MIDI file with one track per voice."""
    from mst.music.midi import make_tempos, write_midi  # noqa: PLC0415

    notes = pitches_to_notes(
        decode_roll(values, decoding=decoding, threshold=threshold), restart_every=restart_every, pitch_offset=pitch_offset, programs=programs
    )
    return write_midi(path, notes, ticks_per_beat=480, tempos=make_tempos([0], [qpm]), track_name="musegan")
