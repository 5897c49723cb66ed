"""MIDI I/O: read a file into a tick-based :class:`Song`, write notes back, convert to other libraries.

Everything here is in MIDI ticks, so the beat grid follows the file's own tempo map (tempo changes do
not move notes off the grid). Two parsers are supported and agree on real data (tested):

* ``backend="symusic"`` (default): C++ parser; about 1 ms per real file including this module's
  checks and normalisation.
* ``backend="pretty_midi"``: the parser the authors' pipeline used (through pypianoroll), 20-50x
  slower; kept as a reference and for cross-checking.

Normalisations applied so that both backends return the same :class:`Song`:

* **Note pairing** follows pretty_midi: a note-off ends *every* sounding note of that pitch on that
  channel (symusic pairs first-in-first-out; its output is re-paired, see
  :func:`_end_on_first_note_off`). Overlapping same-pitch notes are common in hand-played files
  (about a third of piano-midi.de), so this matters.
* **Events after a track's end-of-track event are ignored** (the SMF spec makes end-of-track the
  last event; symusic stops there, the pretty_midi path cuts the track there).
* **Tempo and time-signature events are collected from all tracks** (pretty_midi itself only reads
  track 0; the pretty_midi path collects them itself).
* **Zero-length notes** (note-on and note-off at the same tick) are kept by symusic and silently
  dropped by pretty_midi; :mod:`mst.encodings.pianoroll` drops and counts them, so rolls agree.

Known residual differences (not seen on POP909, piano-midi.de or WJazzD): a note-on that is never
paired first-in-first-out is dropped by symusic but may be closed by pretty_midi; a program change
between a note-on and its note-off assigns the note to the old program (symusic) or the new one
(pretty_midi).

Limits (both backends; each gives a :class:`MidiError` reason):

* ``unreadable``: the path is not a regular file (a FIFO would block the reader forever, a device
  may never end; checked with ``os.stat`` before opening), or the file is larger than
  :data:`MAX_FILE_BYTES` = 64 MiB (``read_midi(..., max_file_bytes=...)`` overrides it; real files
  are below 1 MiB, the largest of POP909, piano-midi.de, WJazzD, Nottingham and the Groove MIDI
  Dataset is 155 KiB). Only the 14 header bytes are read before the ``MThd`` check, so a huge file
  that is not MIDI costs no memory. A chunk type that is not 4 printable ASCII characters, a chunk
  running past the end of the file, or a garbled event stream (see ``absurd_ticks``) is
  ``unreadable`` too, with the byte offset.
* ``absurd_ticks``: the time division is not ticks-per-quarter (SMPTE) or is 0, or an event lies at
  or beyond :data:`MAX_TICK` = 10,000,000 ticks (the limit pretty_midi enforces, so both backends
  accept the same files; at 480 ticks per quarter it is 20,833 quarter notes, about 2.9 h at
  120 BPM). symusic counts ticks in int32: past 2**31 they go negative, past 2**32 they wrap to
  small positive values, and the events it drops (sysex, unknown meta events) carry the running
  time through the negative window unseen, so its output cannot tell such a file from a good
  one. The limit is therefore checked on the raw bytes before parsing: each track's delta-times
  are summed exactly (Python ints), stepping through the events as the parsers do (running
  status, 1 data byte for 0xC0-0xDF and 2 for other channel messages, length-prefixed meta and
  sysex data); the end-of-track event ends a track and its delta-time does not count. The scan
  costs about 0.12 microseconds per event (0.4 ms for a POP909 file of 3,600 events; symusic
  parses it in 0.05 ms, and its whole path, normalisation included, takes 0.45 ms). It rejects
  none of the 3,925 files of POP909, piano-midi.de, WJazzD, Nottingham, the Groove MIDI Dataset,
  the Bach cello suites, OpenEWLD and the embedded data. The grid-step limit (``too_long``) belongs to the
  encodings: :mod:`mst.music.file_filter` checks it, and :mod:`mst.encodings.pianoroll` raises
  :class:`mst.encodings.errors.EncodingError`.
* ``absurd_tempo``: a tempo event of 0 microseconds per quarter (an infinite tempo; pretty_midi
  divides by it). Implausible but finite tempos are rejected by :mod:`mst.music.file_filter`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import symusic

from mst import atomic
from mst.errors import FileReasonError

if TYPE_CHECKING:  # heavy optional imports, only for annotations
    import pretty_midi
    from note_seq.protobuf import music_pb2

NOTE_DTYPE = np.dtype(
    [
        ("start", np.int64),
        ("end", np.int64),
        ("pitch", np.int16),
        ("velocity", np.int16),
        ("program", np.int16),
        ("is_drum", np.bool_),
        ("track", np.int32),  # int16 overflowed: a one-note track takes 24 bytes, a file can hold 10**6
    ]
)
TEMPO_DTYPE = np.dtype([("tick", np.int64), ("qpm", np.float64)])
TIME_SIGNATURE_DTYPE = np.dtype([("tick", np.int64), ("numerator", np.int16), ("denominator", np.int16)])

BACKENDS = ("symusic", "pretty_midi")
MAX_TICK = 10_000_000
# Largest file read_midi reads (its max_file_bytes): real files are below 1 MiB, and reading a
# multi-gigabyte file only to reject it would take as much memory.
MAX_FILE_BYTES = 64 * 2**20
DEFAULT_TICKS_PER_BEAT = 480
# The authors' write_midi.py default; generated phrases carry no tempo of their own.
DEFAULT_QPM = 80.0
DEFAULT_VELOCITY = 100
MIDI_DEFAULT_QPM = 120.0  # what the SMF spec assumes before the first tempo event

MIDI_ERROR_REASONS = frozenset({"unreadable", "empty_file", "not_midi", "absurd_ticks", "absurd_tempo"})


class MidiError(FileReasonError):
    """A MIDI file that cannot be turned into a :class:`Song`.

    Attributes:
        path: The file, as given.
        reason: Machine-readable code, one of :data:`MIDI_ERROR_REASONS` (a subset of
            :data:`mst.music.file_filter.REASONS`).
        detail: Human-readable explanation.
    """

    @classmethod
    def check_reason(cls, reason: str) -> None:
        if reason not in MIDI_ERROR_REASONS:
            raise ValueError(f"unknown MidiError reason {reason!r}; expected one of {sorted(MIDI_ERROR_REASONS)}")


@dataclasses.dataclass
class Song:
    """A parsed MIDI file, in ticks.

    Attributes:
        path: Source file (``""`` for songs built in memory).
        ticks_per_beat: Ticks per quarter note (the MIDI time division).
        notes: Structured array of :data:`NOTE_DTYPE`, sorted by (start, pitch, end, track).
            ``track`` numbers the parser's tracks (one per MIDI track, channel and program); it is
            not comparable across backends.
        tempos: Structured array of :data:`TEMPO_DTYPE` (all tempo events, in file order per tick).
        time_signatures: Structured array of :data:`TIME_SIGNATURE_DTYPE` (all events, duplicates
            at the same tick included: the strict filter counts them).
        end_tick: The last note-off or tempo/time-signature event (control changes, pitch bends
            and text do not count: they are silent on the grid and the parsers report them
            differently).
    """

    path: str
    ticks_per_beat: int
    notes: np.ndarray
    tempos: np.ndarray
    time_signatures: np.ndarray
    end_tick: int

    def __post_init__(self):
        for name, dtype in (("notes", NOTE_DTYPE), ("tempos", TEMPO_DTYPE), ("time_signatures", TIME_SIGNATURE_DTYPE)):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.dtype != dtype or value.ndim != 1:
                raise TypeError(f"Song.{name} must be a 1-D numpy array of dtype {dtype}, got {type(value).__name__}"
                                f" {getattr(value, 'dtype', '')}")
        self.path = str(self.path)
        self.ticks_per_beat = int(self.ticks_per_beat)
        self.end_tick = int(self.end_tick)


def make_notes(start, end, pitch, velocity=DEFAULT_VELOCITY, program=0, is_drum=False, track=0) -> np.ndarray:
    """Builds a :data:`NOTE_DTYPE` array from columns (scalars broadcast), sorted like :class:`Song` notes."""
    start = np.asarray(start, dtype=np.int64).reshape(-1)
    notes = np.zeros(start.shape[0], dtype=NOTE_DTYPE)
    notes["start"] = start
    notes["end"] = end
    notes["pitch"] = pitch
    notes["velocity"] = velocity
    notes["program"] = program
    notes["is_drum"] = is_drum
    notes["track"] = track
    return _sorted_notes(notes)


def make_tempos(ticks, qpms) -> np.ndarray:
    """Builds a :data:`TEMPO_DTYPE` array from columns."""
    ticks = np.asarray(ticks, dtype=np.int64).reshape(-1)
    tempos = np.zeros(ticks.shape[0], dtype=TEMPO_DTYPE)
    tempos["tick"] = ticks
    tempos["qpm"] = qpms
    return tempos


def make_time_signatures(ticks, numerators, denominators) -> np.ndarray:
    """Builds a :data:`TIME_SIGNATURE_DTYPE` array from columns."""
    ticks = np.asarray(ticks, dtype=np.int64).reshape(-1)
    signatures = np.zeros(ticks.shape[0], dtype=TIME_SIGNATURE_DTYPE)
    signatures["tick"] = ticks
    signatures["numerator"] = numerators
    signatures["denominator"] = denominators
    return signatures


def _sorted_notes(notes: np.ndarray) -> np.ndarray:
    order = np.lexsort((notes["track"], notes["end"], notes["pitch"], notes["start"]))
    return notes[order]


def _end_tick(notes: np.ndarray, tempos: np.ndarray, time_signatures: np.ndarray) -> int:
    candidates = [0]
    for column in (notes["end"], tempos["tick"], time_signatures["tick"]):
        if column.size:
            candidates.append(int(column.max()))
    return max(candidates)


# ----------------------------------------------------------------------------------------------
# Reading


def read_midi(path: str | os.PathLike, backend: str = "symusic", *, max_file_bytes: int = MAX_FILE_BYTES) -> Song:
    """Reads a Standard MIDI File into a :class:`Song`.

    The file is checked before it is parsed (see "Limits" in the module docstring): it must be a
    regular file of at most ``max_file_bytes`` bytes starting with an ``MThd`` header, its chunks
    must fit the file, and every track's running tick, summed exactly, must stay below
    :data:`MAX_TICK`.

    Args:
        path: The ``.mid`` file.
        backend: ``"symusic"`` (fast, default) or ``"pretty_midi"`` (reference).
        max_file_bytes: Largest file read (default :data:`MAX_FILE_BYTES` = 64 MiB).

    Returns:
        The song, in ticks (see the module docstring for the normalisations).

    Raises:
        MidiError: ``empty_file`` (0 bytes), ``not_midi`` (no ``MThd`` header), ``unreadable``
            (missing file, not a regular file, larger than ``max_file_bytes``, truncated chunk,
            garbled event stream, parser failure), ``absurd_ticks``, ``absurd_tempo``.
        ValueError: For an unknown backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown MIDI backend {backend!r}; expected one of {BACKENDS}")
    path_str = str(path)
    data = _read_smf_bytes(path_str, max_file_bytes)
    _check_smf_structure(path_str, data)
    if backend == "symusic":
        return _read_with_symusic(path_str, data)
    return _read_with_pretty_midi(path_str, data)


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _not_regular(path: str, mode: int) -> MidiError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), f"file type {stat.S_IFMT(mode):#o}")
    return MidiError(path, "unreadable", f"not a regular file ({kind})")


def _read_smf_bytes(path: str, max_file_bytes: int) -> bytes:
    """Reads a file's bytes after checking its type, size and header, in that order.

    A FIFO blocks a reader forever and a device may never end, so the type is checked with
    ``os.stat`` before opening; the file is then opened without blocking and checked again
    (``fstat``), in case it was replaced in between. Only the 14 header bytes are read before the
    ``MThd`` check, and never more than ``max_file_bytes + 1`` bytes in all, even if the file grows.
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(descriptor, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise _not_regular(path, status.st_mode)
            header = file.read(_HEADER_BYTES)
            _check_smf_header(path, header)
            if status.st_size > max_file_bytes:
                raise MidiError(path, "unreadable", f"{status.st_size} bytes > limit {max_file_bytes} "
                                "(read_midi's max_file_bytes)")
            # From the start again rather than header + rest: that concatenation doubles the peak memory.
            file.seek(0)
            data = file.read(min(status.st_size, max_file_bytes) + 1)
    except OSError as error:
        raise MidiError(path, "unreadable", f"{type(error).__name__}: {error}") from error
    if len(data) > max_file_bytes:  # grew after the size check
        raise MidiError(path, "unreadable", f"more than {max_file_bytes} bytes (read_midi's max_file_bytes)")
    return data


_HEADER_BYTES = 14  # b"MThd", length 6, format, track count, division


def _check_smf_header(path: str, data: bytes) -> None:
    """Checks the first 14 bytes: ``MThd``, a header length of at least 6, a tick-based division."""
    if not data:
        raise MidiError(path, "empty_file", "0 bytes")
    if data[:4] != b"MThd":
        raise MidiError(path, "not_midi", f"starts with {data[:4]!r}, not b'MThd'")
    if len(data) < _HEADER_BYTES:
        raise MidiError(path, "unreadable", f"truncated header ({len(data)} bytes)")
    header_length, _format, _tracks, division = struct.unpack(">IHHH", data[4:14])
    if header_length < 6:
        raise MidiError(path, "unreadable", f"header chunk length {header_length} < 6")
    if division & 0x8000:
        raise MidiError(path, "absurd_ticks", "SMPTE time division (frames per second) has no beat grid")
    if division == 0:
        raise MidiError(path, "absurd_ticks", "0 ticks per quarter note")


def _check_smf_structure(path: str, data: bytes) -> None:
    """Checks the header, the chunks and every track's exact running tick over the raw bytes.

    Both parsers then see the same, complete files, and no tick wraps around in symusic's int32
    counters (see "Limits" in the module docstring).
    """
    _check_smf_header(path, data[:_HEADER_BYTES])
    header_length, _format, declared_tracks, _division = struct.unpack(">IHHH", data[4:14])
    offset, tracks_found, size = 8 + header_length, 0, len(data)
    # Bytes after the declared tracks are ignored (parsers stop there; some files carry padding).
    while offset + 8 <= size and tracks_found < declared_tracks:
        chunk_type = data[offset:offset + 4]
        if not chunk_type.isascii() or not chunk_type.decode("ascii").isprintable():
            # A chunk type is 4 ASCII letters; anything else is garbage (e.g. a zero-filled file),
            # and walking it 8 bytes at a time would take minutes on a large file.
            raise MidiError(path, "unreadable", f"garbage at byte {offset}: chunk type {chunk_type!r} is not "
                            "4 printable ASCII characters")
        (chunk_length,) = struct.unpack(">I", data[offset + 4:offset + 8])
        if offset + 8 + chunk_length > size:
            raise MidiError(path, "unreadable", f"truncated: {chunk_type!r} chunk at byte {offset} declares "
                            f"{chunk_length} bytes, {size - offset - 8} present")
        if chunk_type == b"MTrk":
            _check_track_events(path, data, offset + 8, offset + 8 + chunk_length)
            tracks_found += 1
        offset += 8 + chunk_length
    if tracks_found < declared_tracks:
        raise MidiError(path, "unreadable", f"truncated: header declares {declared_tracks} tracks, "
                        f"{tracks_found} present")


# Data bytes of a channel message by status byte (0 for the non-channel statuses 0x00-0x7F, 0xF0-0xFF).
_CHANNEL_DATA_BYTES = bytes(0 if s < 0x80 or s >= 0xF0 else 1 if 0xC0 <= s < 0xE0 else 2 for s in range(256))


def _check_track_events(path: str, data: bytes, start: int, end: int) -> None:
    """Steps through one ``MTrk`` chunk's events, summing delta-times exactly (Python ints).

    Raises ``absurd_ticks`` when an event's tick reaches :data:`MAX_TICK` (as soon as a multi-byte
    delta-time gets there; one-byte delta-times add at most 127 per event and are checked once at
    the end), and ``unreadable`` (with the byte offset) for a stream that cannot be stepped
    through: an event running past the chunk end, a data byte with no running status (also right
    after a sysex event, which cancels running status: symusic then misreads the following bytes),
    a delta-time longer than 4 bytes (symusic reads 4 and misparses the rest), a system status
    byte (0xF1-0xF6, 0xF8-0xFE), which has no place in a file, or a sysex escape event (0xF7)
    carrying data (symusic steps over it with another length than mido, so the ticks after it
    differ; none of the 3,901 staged real files has one). Running status survives meta
    events, as in both parsers. The end-of-track event ends the scan (the parsers stop there) and
    its delta-time is not counted (a late end-of-track is not music).

    This is a plain loop over ``bytes``, the hot path kept short: about 0.12 microseconds per event.
    """
    pos, tick, running, lengths = start, 0, 0, _CHANNEL_DATA_BYTES
    try:
        while pos < end:
            delta = data[pos]
            pos += 1
            if delta & 0x80:  # a quarter of real delta-times take 2 bytes: inline that case
                byte = data[pos]
                pos += 1
                delta = ((delta & 0x7F) << 7) | (byte & 0x7F)
                if byte & 0x80:
                    delta, pos = _long_delta(path, data, pos, delta)
                if tick + delta >= MAX_TICK and not (data[pos] == 0xFF and pos + 1 < end and data[pos + 1] == 0x2F):
                    raise MidiError(path, "absurd_ticks", f"event at byte {pos} lies at tick {tick + delta} "
                                    f">= limit {MAX_TICK}")
            tick += delta
            status = data[pos]
            if status < 0x80:
                if not running:
                    raise _garbled(path, pos, f"data byte {status:#04x} with no running status")
                pos += lengths[running]
            elif status < 0xF0:
                running = status
                pos += 1 + lengths[status]
            elif status == 0xFF:
                if pos + 1 < end and data[pos + 1] == 0x2F:
                    tick -= delta
                    break
                pos = _skip_vlq_data(path, data, pos + 2, end)
            elif status == 0xF0 or status == 0xF7:
                if status == 0xF7 and pos + 1 < end and data[pos + 1] != 0:
                    # An escape/continuation packet with data: symusic steps over it with another
                    # length than the SMF spec (and mido) give, so every tick after it is off.
                    raise _garbled(path, pos, "sysex escape event (0xF7) with data, which the parsers read differently")
                running = 0
                pos = _skip_vlq_data(path, data, pos + 1, end)
            else:
                raise _garbled(path, pos, f"system message status {status:#04x} in a track")
    except IndexError:  # read past the end of the file (an event cut by the last chunk's end)
        raise _garbled(path, end, "the last event runs past the end of the file") from None
    if pos > end:  # only the last event of the chunk can run past its end: the loop stops there
        raise _garbled(path, end, f"the last event runs {pos - end} bytes past the end of the track chunk")
    if tick >= MAX_TICK:
        raise MidiError(path, "absurd_ticks", f"track ends at tick {tick} >= limit {MAX_TICK}")


def _long_delta(path: str, data: bytes, pos: int, high: int) -> tuple[int, int]:
    """Finishes a delta-time of 3 or 4 bytes whose first two give ``high``; returns (value, position after)."""
    for _ in range(2):
        byte = data[pos]
        pos += 1
        high = (high << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return high, pos
    raise _garbled(path, pos - 4, "delta-time longer than 4 bytes")


def _skip_vlq_data(path: str, data: bytes, pos: int, end: int) -> int:
    """Position after a variable-length quantity and the data bytes it counts."""
    length = 0
    for _ in range(4):
        if pos >= end:
            raise _garbled(path, pos, "event length runs past the end of the track chunk")
        byte = data[pos]
        pos += 1
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return pos + length
    raise _garbled(path, pos - 4, "event length longer than 4 bytes")


def _garbled(path: str, offset: int, what: str) -> MidiError:
    return MidiError(path, "unreadable", f"garbled track at byte {offset}: {what}")


def _check_tick_range(path: str, max_tick: int, min_tick: int = 0) -> None:
    if min_tick < 0:
        raise MidiError(path, "absurd_ticks", f"negative tick {min_tick} (delta-time overflow)")
    if max_tick >= MAX_TICK:
        raise MidiError(path, "absurd_ticks", f"event at tick {max_tick} >= limit {MAX_TICK}")


def _read_with_symusic(path: str, data: bytes) -> Song:
    try:
        score = symusic.Score.from_midi(data)
    except Exception as error:  # symusic raises RuntimeError/ValueError subclasses for bad bytes
        raise MidiError(path, "unreadable", f"{type(error).__name__}: {error}") from error

    columns = {name: [] for name in ("start", "end", "pitch", "velocity", "program", "is_drum", "track")}
    for track_index, track in enumerate(score.tracks):
        arrays = track.notes.numpy()
        count = arrays["time"].shape[0]
        if count == 0:
            continue
        start = arrays["time"].astype(np.int64)
        columns["start"].append(start)
        columns["end"].append(start + arrays["duration"].astype(np.int64))
        columns["pitch"].append(arrays["pitch"].astype(np.int16))
        columns["velocity"].append(arrays["velocity"].astype(np.int16))
        columns["program"].append(np.full(count, track.program, np.int16))
        columns["is_drum"].append(np.full(count, track.is_drum, np.bool_))
        columns["track"].append(np.full(count, track_index, np.int32))
    notes = np.zeros(sum(c.shape[0] for c in columns["start"]), dtype=NOTE_DTYPE)
    for name, parts in columns.items():
        if parts:
            notes[name] = np.concatenate(parts)

    tempo_arrays = score.tempos.numpy()
    mspq = tempo_arrays["mspq"].astype(np.int64)
    if np.any(mspq <= 0):
        raise MidiError(path, "absurd_tempo", "tempo event of 0 microseconds per quarter note")
    tempos = make_tempos(tempo_arrays["time"], 60_000_000.0 / mspq) if mspq.size else np.zeros(0, TEMPO_DTYPE)
    signature_arrays = score.time_signatures.numpy()
    time_signatures = make_time_signatures(
        signature_arrays["time"], signature_arrays["numerator"], signature_arrays["denominator"]
    )

    all_ticks = [notes["start"], notes["end"], tempos["tick"], time_signatures["tick"]]
    nonempty = [column for column in all_ticks if column.size]
    if nonempty:
        _check_tick_range(path, max(int(c.max()) for c in nonempty), min(int(c.min()) for c in nonempty))
    _check_tick_range(path, int(score.end()))

    notes["end"] = _end_on_first_note_off(notes)
    return Song(
        path=path,
        ticks_per_beat=int(score.ticks_per_quarter),
        notes=_sorted_notes(notes),
        tempos=tempos,
        time_signatures=time_signatures,
        end_tick=_end_tick(notes, tempos, time_signatures),
    )


def _end_on_first_note_off(notes: np.ndarray) -> np.ndarray:
    """Re-pairs first-in-first-out note ends the way pretty_midi pairs them.

    pretty_midi ends every sounding note of a (track, channel, pitch) at the next note-off strictly
    after its onset. The note-off ticks are exactly the FIFO notes' ends (zero-length notes
    included), so each positive-length note's new end is the first such tick after its start,
    looked up for all notes at once with one searchsorted over (group, tick) keys.

    Args:
        notes: :data:`NOTE_DTYPE` notes, one symusic track per ``track`` value.

    Returns:
        The new ``end`` column (zero-length notes keep theirs).
    """
    if notes.shape[0] == 0:
        return notes["end"].copy()
    group = notes["track"].astype(np.int64) * 128 + notes["pitch"].astype(np.int64)
    span = int(notes["end"].max()) + 1  # keys of one group never reach the next group's
    off_keys = np.sort(group * span + notes["end"])
    first_off = np.searchsorted(off_keys, group * span + notes["start"], side="right")
    # A positive-length note's own end is a later off in its group, so first_off is in range.
    positive = notes["end"] > notes["start"]
    new_end = notes["end"].copy()
    new_end[positive] = off_keys[first_off[positive]] - group[positive] * span
    return new_end


def _read_with_pretty_midi(path: str, data: bytes) -> Song:
    import mido  # noqa: PLC0415  (pretty_midi's own parser; imported lazily to keep workers light)

    try:
        midi_file = mido.MidiFile(file=io.BytesIO(data))
    except Exception as error:  # mido raises EOFError/OSError/ValueError/KeyError for bad bytes
        raise MidiError(path, "unreadable", f"{type(error).__name__}: {error}") from error

    tempo_rows, signature_rows, max_tick = [], [], 0
    for index, track in enumerate(midi_file.tracks):
        kept, tick = mido.MidiTrack(), 0
        for message in track:
            if message.is_meta and message.type == "end_of_track":
                # Zero delta: a late end-of-track must not count as the file's length.
                kept.append(message.copy(time=0))
                break
            tick += message.time
            max_tick = max(max_tick, tick)
            if message.type == "set_tempo":
                if message.tempo <= 0:
                    raise MidiError(path, "absurd_tempo", "tempo event of 0 microseconds per quarter note")
                tempo_rows.append((tick, 60_000_000.0 / message.tempo))
            elif message.type == "time_signature":
                signature_rows.append((tick, message.numerator, message.denominator))
            kept.append(message)
        midi_file.tracks[index] = kept
    _check_tick_range(path, max_tick)

    import pretty_midi  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            # Meta events outside track 0 are collected above; pretty_midi's warning does not apply.
            warnings.filterwarnings("ignore", message="Tempo, Key or Time signature change events found on non-zero")
            pm = pretty_midi.PrettyMIDI(mido_object=midi_file)
    except Exception as error:
        raise MidiError(path, "unreadable", f"{type(error).__name__}: {error}") from error
    song = song_from_pretty_midi(pm, path=path)
    # Stable sort: events at one tick keep file order (track by track), like symusic.
    tempos = _stable_by_tick(np.array(tempo_rows, dtype=TEMPO_DTYPE))
    signatures = _stable_by_tick(np.array(signature_rows, dtype=TIME_SIGNATURE_DTYPE))
    return Song(path, song.ticks_per_beat, song.notes, tempos, signatures, _end_tick(song.notes, tempos, signatures))


def _stable_by_tick(events: np.ndarray) -> np.ndarray:
    return events[np.argsort(events["tick"], kind="stable")]


# ----------------------------------------------------------------------------------------------
# Tempo map: ticks <-> seconds


def _tempo_segments(tempos: np.ndarray, ticks_per_beat: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (segment start ticks, segment start seconds, seconds per tick) of the tempo map.

    The SMF default of 120 quarter notes per minute applies before the first tempo event; of
    several events at one tick the last wins.
    """
    ticks = np.concatenate([[0], tempos["tick"]]).astype(np.int64)
    qpms = np.concatenate([[MIDI_DEFAULT_QPM], tempos["qpm"]]).astype(np.float64)
    order = np.argsort(ticks, kind="stable")
    ticks, qpms = ticks[order], qpms[order]
    last_of_tick = np.r_[ticks[1:] != ticks[:-1], True]
    ticks, qpms = ticks[last_of_tick], qpms[last_of_tick]
    seconds_per_tick = 60.0 / (qpms * ticks_per_beat)
    start_seconds = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * seconds_per_tick[:-1])])
    return ticks, start_seconds, seconds_per_tick


def ticks_to_seconds(ticks, tempos: np.ndarray, ticks_per_beat: int) -> np.ndarray:
    """Converts ticks to seconds with a :data:`TEMPO_DTYPE` tempo map (vectorised)."""
    ticks = np.asarray(ticks, dtype=np.int64)
    seg_ticks, seg_seconds, seconds_per_tick = _tempo_segments(tempos, ticks_per_beat)
    segment = np.searchsorted(seg_ticks, ticks, side="right") - 1
    return seg_seconds[segment] + (ticks - seg_ticks[segment]) * seconds_per_tick[segment]


def seconds_to_ticks(seconds, tempos: np.ndarray, ticks_per_beat: int) -> np.ndarray:
    """Converts seconds to the nearest tick with a :data:`TEMPO_DTYPE` tempo map (vectorised).

    Rounds half up (``floor(x + 0.5)``) so that ticks -> seconds -> ticks is the identity.
    """
    seconds = np.asarray(seconds, dtype=np.float64)
    seg_ticks, seg_seconds, seconds_per_tick = _tempo_segments(tempos, ticks_per_beat)
    segment = np.clip(np.searchsorted(seg_seconds, seconds, side="right") - 1, 0, None)
    exact = seg_ticks[segment] + (seconds - seg_seconds[segment]) / seconds_per_tick[segment]
    return np.floor(exact + 0.5).astype(np.int64)


def _pretty_midi_seconds_to_ticks(pm: "pretty_midi.PrettyMIDI", seconds: np.ndarray) -> np.ndarray:
    """Inverts pretty_midi's own tick -> seconds map (track-0 tempos) for many times at once.

    Equivalent to calling ``pm.time_to_tick`` on each value (tested), without the per-call cost.
    """
    change_seconds, qpms = pm.get_tempo_changes()
    change_ticks = np.array([pm.time_to_tick(t) for t in change_seconds], dtype=np.int64)
    segment = np.clip(np.searchsorted(change_seconds, seconds, side="right") - 1, 0, None)
    ticks_per_second = qpms * pm.resolution / 60.0
    exact = change_ticks[segment] + (seconds - change_seconds[segment]) * ticks_per_second[segment]
    return np.floor(exact + 0.5).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Interop


def song_from_pretty_midi(pm: "pretty_midi.PrettyMIDI", path: str = "") -> Song:
    """Converts a ``pretty_midi.PrettyMIDI`` object to a :class:`Song` (seconds back to ticks).

    Tempos and time signatures are the ones pretty_midi exposes (track 0 only); :func:`read_midi`
    replaces them with the events of all tracks.
    """
    starts, ends, rows = [], [], []
    for index, instrument in enumerate(pm.instruments):
        if not instrument.notes:
            continue
        starts.append(np.fromiter((n.start for n in instrument.notes), np.float64, len(instrument.notes)))
        ends.append(np.fromiter((n.end for n in instrument.notes), np.float64, len(instrument.notes)))
        rows.append((
            np.fromiter((n.pitch for n in instrument.notes), np.int16, len(instrument.notes)),
            np.fromiter((n.velocity for n in instrument.notes), np.int16, len(instrument.notes)),
            instrument.program, instrument.is_drum, index,
        ))
    notes = np.zeros(sum(s.shape[0] for s in starts), dtype=NOTE_DTYPE)
    if starts:
        notes["start"] = _pretty_midi_seconds_to_ticks(pm, np.concatenate(starts))
        notes["end"] = _pretty_midi_seconds_to_ticks(pm, np.concatenate(ends))
        notes["pitch"] = np.concatenate([r[0] for r in rows])
        notes["velocity"] = np.concatenate([r[1] for r in rows])
        notes["program"] = np.concatenate([np.full(r[0].shape[0], r[2]) for r in rows])
        notes["is_drum"] = np.concatenate([np.full(r[0].shape[0], r[3]) for r in rows])
        notes["track"] = np.concatenate([np.full(r[0].shape[0], r[4]) for r in rows])
    change_seconds, qpms = pm.get_tempo_changes()
    tempos = make_tempos(_pretty_midi_seconds_to_ticks(pm, change_seconds), qpms)
    signatures = pm.time_signature_changes
    signature_ticks = _pretty_midi_seconds_to_ticks(pm, np.array([s.time for s in signatures], np.float64))
    time_signatures = make_time_signatures(
        signature_ticks, [s.numerator for s in signatures], [s.denominator for s in signatures]
    )
    notes = _sorted_notes(notes)
    return Song(str(path), int(pm.resolution), notes, tempos, time_signatures,
                _end_tick(notes, tempos, time_signatures))


def song_to_pretty_midi(song: Song) -> "pretty_midi.PrettyMIDI":
    """Converts a :class:`Song` to ``pretty_midi.PrettyMIDI`` exactly (through MIDI bytes, in ticks)."""
    import pretty_midi  # noqa: PLC0415

    return pretty_midi.PrettyMIDI(io.BytesIO(song_to_midi_bytes(song)))


def song_to_note_sequence(song: Song) -> "music_pb2.NoteSequence":
    """Converts a :class:`Song` to a note-seq ``NoteSequence`` (seconds from the song's tempo map).

    ``instrument`` is the song's ``track`` number; ``ticks_per_quarter`` is kept so that
    :func:`song_from_note_sequence` restores the ticks exactly.
    """
    from note_seq.protobuf import music_pb2  # noqa: PLC0415  (slow import: ~2 s)

    sequence = music_pb2.NoteSequence()
    sequence.ticks_per_quarter = song.ticks_per_beat
    notes = song.notes
    starts = ticks_to_seconds(notes["start"], song.tempos, song.ticks_per_beat)
    ends = ticks_to_seconds(notes["end"], song.tempos, song.ticks_per_beat)
    for index in range(notes.shape[0]):
        sequence.notes.add(
            start_time=float(starts[index]), end_time=float(ends[index]), pitch=int(notes["pitch"][index]),
            velocity=int(notes["velocity"][index]), program=int(notes["program"][index]),
            is_drum=bool(notes["is_drum"][index]), instrument=int(notes["track"][index]),
        )
    tempo_seconds = ticks_to_seconds(song.tempos["tick"], song.tempos, song.ticks_per_beat)
    for seconds, qpm in zip(tempo_seconds, song.tempos["qpm"]):
        sequence.tempos.add(time=float(seconds), qpm=float(qpm))
    signature_seconds = ticks_to_seconds(song.time_signatures["tick"], song.tempos, song.ticks_per_beat)
    for seconds, signature in zip(signature_seconds, song.time_signatures):
        sequence.time_signatures.add(time=float(seconds), numerator=int(signature["numerator"]),
                                     denominator=int(signature["denominator"]))
    sequence.total_time = float(ticks_to_seconds(song.end_tick, song.tempos, song.ticks_per_beat))
    if song.path:
        sequence.filename = song.path
    return sequence


def song_from_note_sequence(sequence: "music_pb2.NoteSequence", path: str = "") -> Song:
    """Converts a note-seq ``NoteSequence`` to a :class:`Song` (seconds to ticks via its tempos).

    Uses ``sequence.ticks_per_quarter`` (note-seq's default 220 when unset).
    """
    ticks_per_beat = int(sequence.ticks_per_quarter) or 220
    ordered = sorted(sequence.tempos, key=lambda event: event.time)
    # Each tempo event's tick depends on the tempos before it: walk the segments in time order.
    tempo_ticks, tick, seconds, qpm = [], 0, 0.0, MIDI_DEFAULT_QPM
    for event in ordered:
        tick += int(np.floor((event.time - seconds) * qpm * ticks_per_beat / 60.0 + 0.5))
        tempo_ticks.append(tick)
        seconds, qpm = event.time, event.qpm
    tempos = make_tempos(tempo_ticks, [event.qpm for event in ordered])

    def to_ticks(values) -> np.ndarray:
        return seconds_to_ticks(np.array(values, np.float64), tempos, ticks_per_beat)

    source = sequence.notes
    notes = make_notes(
        start=to_ticks([n.start_time for n in source]), end=to_ticks([n.end_time for n in source]),
        pitch=[n.pitch for n in source], velocity=[n.velocity for n in source],
        program=[n.program for n in source], is_drum=[n.is_drum for n in source],
        track=[n.instrument for n in source],
    )
    signatures = sequence.time_signatures
    time_signatures = make_time_signatures(
        to_ticks([s.time for s in signatures]), [s.numerator for s in signatures],
        [s.denominator for s in signatures],
    )
    return Song(str(path or sequence.filename), ticks_per_beat, notes, tempos, time_signatures,
                _end_tick(notes, tempos, time_signatures))


# ----------------------------------------------------------------------------------------------
# Writing


def _build_score(ticks_per_beat: int, notes: np.ndarray, tempos: np.ndarray, time_signatures: np.ndarray,
                 track_names: dict[int, str] | None = None) -> symusic.Score:
    """One symusic track per (track, program, is_drum) group of :data:`NOTE_DTYPE` notes."""
    score = symusic.Score(int(ticks_per_beat))
    keys = np.stack([notes["track"].astype(np.int64), notes["program"], notes["is_drum"]], axis=1)
    unique_keys, group_of_note = (np.unique(keys, axis=0, return_inverse=True) if notes.size
                                  else (np.zeros((0, 3), np.int64), np.zeros(0, np.int64)))
    for group, (track, program, is_drum) in enumerate(unique_keys):
        members = notes[group_of_note.reshape(-1) == group]
        name = (track_names or {}).get(int(track), "")
        track_obj = symusic.Track(name=name, program=int(program), is_drum=bool(is_drum))
        track_obj.notes = symusic.Note.from_numpy(
            time=members["start"].astype(np.int32),
            duration=(members["end"] - members["start"]).astype(np.int32),
            pitch=members["pitch"].astype(np.int8),
            velocity=members["velocity"].astype(np.int8),
        )
        score.tracks.append(track_obj)
    if tempos.size:
        score.tempos = symusic.Tempo.from_numpy(
            time=tempos["tick"].astype(np.int32),
            mspq=np.rint(60_000_000.0 / tempos["qpm"]).astype(np.int32),
        )
    if time_signatures.size:
        score.time_signatures = symusic.TimeSignature.from_numpy(
            time=time_signatures["tick"].astype(np.int32),
            numerator=time_signatures["numerator"].astype(np.uint8),
            denominator=time_signatures["denominator"].astype(np.uint8),
        )
    return score


def song_to_midi_bytes(song: Song) -> bytes:
    """Serialises a :class:`Song` (all tracks, tempos, time signatures) to Standard MIDI File bytes."""
    _validate_notes_for_writing(song.notes, "Song.notes")
    return bytes(_build_score(song.ticks_per_beat, song.notes, song.tempos, song.time_signatures).dumps_midi())


def _validate_notes_for_writing(notes: np.ndarray, what: str) -> None:
    if notes.size == 0:
        return
    if np.any(notes["end"] <= notes["start"]) or np.any(notes["start"] < 0):
        raise ValueError(f"{what}: every note needs 0 <= start < end")
    if np.any((notes["pitch"] < 0) | (notes["pitch"] > 127)):
        raise ValueError(f"{what}: pitches must be in 0..127")
    if np.any((notes["velocity"] < 1) | (notes["velocity"] > 127)):
        raise ValueError(f"{what}: velocities must be in 1..127")
    if int(notes["end"].max()) >= 2**31:
        raise ValueError(f"{what}: ticks must be below 2**31")


def write_midi(
    path: str | os.PathLike,
    notes: np.ndarray,
    *,
    ticks_per_beat: int | None = None,
    tempos: np.ndarray | None = None,
    time_signatures: np.ndarray | None = None,
    source: Song | None = None,
    track_name: str = "",
) -> Path:
    """Writes notes (in ticks) to a MIDI file atomically (temp name, then ``os.replace``).

    Args:
        path: Output ``.mid`` file.
        notes: :data:`NOTE_DTYPE` notes in ticks of the output file (``Song.notes``, or built with
            :func:`make_notes`); one output track per (``track``, ``program``, ``is_drum``).
            Notes on a step grid are converted by their encoding first
            (:func:`mst.encodings.pianoroll.write_roll_midi`).
        ticks_per_beat: Time division; default ``source.ticks_per_beat`` or 480.
        tempos: :data:`TEMPO_DTYPE` tempo map in output ticks; default ``source.tempos`` (the
            source's tempo map, so a transferred song keeps its timing exactly), else one tempo of
            :data:`DEFAULT_QPM` = 80 quarter notes per minute, the authors' writer default.
        time_signatures: :data:`TIME_SIGNATURE_DTYPE` events; default ``source.time_signatures``,
            else one 4/4 at tick 0.
        source: Song whose division, tempo map and time signatures are the defaults above.
        track_name: Name of the output track(s).

    Returns:
        The written path.

    Raises:
        ValueError: Notes of another dtype, or notes, tempos or a division that MIDI cannot hold.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     song = read_midi(write_midi(Path(folder) / "a.mid", make_notes([0, 480], [480, 960], [60, 64])))
        >>> song.notes[["start", "end", "pitch"]].tolist()
        [(0, 480, 60), (480, 960, 64)]
    """
    notes = np.asarray(notes)
    if notes.dtype != NOTE_DTYPE:
        raise ValueError(f"write_midi takes NOTE_DTYPE notes in ticks (see make_notes), got dtype {notes.dtype}")
    if ticks_per_beat is None:
        ticks_per_beat = source.ticks_per_beat if source is not None else DEFAULT_TICKS_PER_BEAT
    if not 1 <= ticks_per_beat < 2**15:
        raise ValueError(f"ticks_per_beat must be in 1..32767, got {ticks_per_beat}")
    if tempos is None:
        tempos = source.tempos if source is not None else make_tempos([0], [DEFAULT_QPM])
    if time_signatures is None:
        time_signatures = source.time_signatures if source is not None else make_time_signatures([0], [4], [4])
    if tempos.size and not np.all(np.isfinite(tempos["qpm"]) & (tempos["qpm"] > 0)):
        raise ValueError("tempos must be finite and positive")
    _validate_notes_for_writing(notes, f"write_midi({path})")
    score = _build_score(ticks_per_beat, _sorted_notes(notes), tempos, time_signatures,
                         track_names={int(t): track_name for t in np.unique(notes["track"])})
    return atomic.write_bytes(path, bytes(score.dumps_midi()))
