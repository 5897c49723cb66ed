"""The ``multitrack_rolls`` encoding: songs -> ``[bars, steps_per_bar, 84, tracks]`` windows in shards (MuseGAN's data).

Sources (``python -m mst.prepare --encoding multitrack_rolls --corpus NAME=SOURCE``):

* a **chorale archive** (a ``.npz`` file: the Coconet ``Jsb16thSeparated.npz`` or mst's embedded
  copy ``mst/data/corpora/jsb_chorales/jsb16th_separated.npz``, see
  :func:`mst.encodings.multitrack.load_chorales`). Each chorale is a song with id
  ``{official split}/{index:03d}`` and **keeps its official split**: ``train`` -> train,
  ``test`` -> test, and ``valid`` as the ``valid_split`` option says (``drop``: not listed, the
  default; or ``train`` / ``test``). The driver's hash split does not apply to them.
* a **MIDI folder**: every file is a song (hash split as for every mst dataset); its notes are
  sorted into ``tracks`` voices by ``midi_track_by``: ``order`` (the n-th non-drum parser track of
  the file; the MIDI reader makes one per MIDI track, channel and program, so a file with one voice
  per channel or per track gets one output track per voice), ``program`` (``midi_track_keys``
  lists one GM program per output track) or ``name`` (one case-insensitive substring of the MIDI
  track name per output track, e.g. ``soprano,alto,tenor,bass``). Notes matching no output track
  are left out. A voice keeps its highest note at each step.

The driver extension this encoder uses (additive, see :mod:`mst.records.prepare_driver`):
``list_sources(path)`` lists the songs of a source that is not a MIDI folder, and
``EncodedFile.split`` fixes a song's split.

Windows (:func:`mst.encodings.multitrack.chorale_windows`): the defaults are the book's recipe
(skip leading 4-step blocks with a silent voice, one window of 2 bars x 16 steps per song,
MIDI pitch = row); ``windows=all`` takes every window (``hop_steps`` apart, default no overlap),
``n_bars`` longer ones.

Record (one ``tf.train.Example`` per window):

====================  ========  ==============================================================
``roll``              bytes     ``np.packbits`` of the bool ``[bars, steps, 84, tracks]`` window,
                                row-major, MSB first (True = +1 in the model's values)
``shape``             int64[4]  ``[bars, steps, 84, tracks]``
``<partition_by>``    bytes     partition name
``split``             bytes     ``train`` | ``test``
``song_id``           bytes     song id
``window_index``      int64     index of the window in its song
``start_step``        int64     first step of the window in the song
====================  ========  ==============================================================

Example:
    >>> options = MultitrackOptions()
    >>> options.n_bars, options.steps_per_bar, options.windows, options.pitch_offset
    (2, 16, 'first', 0)
    >>> MultitrackRollEncoder(options).window_shape
    (2, 16, 84, 4)
"""

from __future__ import annotations

import dataclasses
import functools
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from mst.encodings import multitrack
from mst.records.manifest import DatasetError, check_split, load_manifest, shard_paths
from mst.records.prepare_driver import EncodedFile, SongExample
from mst.records.shards import ShardInfo, tensorflow, write_shards

TRACK_BY = ("order", "program", "name")
VALID_SPLIT = ("drop", "train", "test")
FIXED_FEATURES = ("roll", "shape", "split", "song_id", "window_index", "start_step")
SOURCE_SEPARATOR = "::"
"""Separates the archive path from the song id in a chorale locator (``x.npz::train/000``)."""


@dataclasses.dataclass(frozen=True)
class MultitrackOptions:
    """Options of the ``multitrack_rolls`` encoding (``--option KEY=VALUE``).

    Attributes:
        n_bars: Bars per window (book: 2).
        steps_per_bar: Steps per bar (book: 16 = 16th notes in 4/4).
        tracks: Output tracks (voices); 4 for the chorales.
        windows: ``first`` (book: one window per song) or ``all``.
        hop_steps: Step distance of ``all`` windows (0 = the window length, no overlap).
        skip_silent_start: Skip leading 4-step blocks in which a voice is silent (book: on).
        pitch_offset: MIDI number of pitch row 0 (book: 0; mst's single-track rolls: 24).
        valid_split: Where a chorale archive's ``valid`` chorales go: ``drop``, ``train``, ``test``.
        midi_track_by: MIDI files: ``order``, ``program`` or ``name`` (module docstring).
        midi_track_keys: Comma-separated keys per output track for ``program``/``name``
            (default names: ``soprano,alto,tenor,bass``).
    """

    n_bars: int = 2
    steps_per_bar: int = 16
    tracks: int = 4
    windows: str = "first"
    hop_steps: int = 0
    skip_silent_start: bool = True
    pitch_offset: int = multitrack.BOOK_PITCH_OFFSET
    valid_split: str = "drop"
    midi_track_by: str = "order"
    midi_track_keys: str = ",".join(multitrack.CHORALE_TRACKS)

    def __post_init__(self):
        for name in ("n_bars", "steps_per_bar", "tracks"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.windows not in ("first", "all"):
            raise ValueError(f"windows must be 'first' or 'all', got {self.windows!r}")
        if self.hop_steps < 0:
            raise ValueError(f"hop_steps must be >= 0, got {self.hop_steps}")
        if not 0 <= self.pitch_offset <= 127 - multitrack.NUM_PITCHES + 1:
            raise ValueError(f"pitch_offset must be in 0..44, got {self.pitch_offset}")
        if self.valid_split not in VALID_SPLIT:
            raise ValueError(f"valid_split must be one of {VALID_SPLIT}, got {self.valid_split!r}")
        if self.midi_track_by not in TRACK_BY:
            raise ValueError(f"midi_track_by must be one of {TRACK_BY}, got {self.midi_track_by!r}")
        if self.midi_track_by != "order" and len(self.keys) != self.tracks:
            raise ValueError(f"midi_track_keys needs {self.tracks} comma-separated keys for midi_track_by={self.midi_track_by}, got {self.midi_track_keys!r}")
        if self.midi_track_by == "program":
            try:
                [int(key) for key in self.keys]
            except ValueError:
                raise ValueError(f"midi_track_keys must be integers for midi_track_by={self.midi_track_by}, got {self.midi_track_keys!r}") from None

    @property
    def keys(self) -> list[str]:
        """``midi_track_keys`` split at commas."""
        return [key.strip() for key in self.midi_track_keys.split(",") if key.strip()]

    def to_dict(self) -> dict:
        """JSON-ready dict (the manifest's ``multitrack_options``)."""
        return dataclasses.asdict(self)


@functools.lru_cache(maxsize=4)
def _cached_chorales(path: str, mtime: float) -> dict:
    return multitrack.load_chorales(path)


def chorales_of(path) -> dict[str, list[np.ndarray]]:
    """The chorales of an archive (cached per process while the file is unchanged)."""
    path = str(Path(path).resolve())
    return _cached_chorales(path, os.path.getmtime(path))


def _parser_track_names(path: str) -> list[str]:
    """Names of the parser tracks of a MIDI file, indexed like ``Song.notes["track"]`` (symusic's tracks)."""
    import symusic  # noqa: PLC0415

    return [str(track.name) for track in symusic.Score.from_file(str(path)).tracks]


@dataclasses.dataclass(frozen=True)
class MultitrackRollEncoder:
    """Encodes chorale archives or MIDI files as multi-track windows (see the module docstring)."""

    options: MultitrackOptions = dataclasses.field(default_factory=MultitrackOptions)
    name: ClassVar[str] = "multitrack_rolls"

    @property
    def window_shape(self) -> tuple[int, int, int, int]:
        """``(bars, steps_per_bar, 84, tracks)``."""
        o = self.options
        return (o.n_bars, o.steps_per_bar, multitrack.NUM_PITCHES, o.tracks)

    # ------------------------------------------------------------------ the driver's hooks

    def list_sources(self, source) -> list[tuple[str, str]] | None:
        """``[(locator, song_id)]`` of a chorale archive; ``None`` for a folder (the driver lists its MIDI files).

        Raises:
            ValueError: An unreadable archive, or a path that is neither a folder nor a ``.npz``.
        """
        source = Path(source)
        if source.is_dir():
            return None
        if source.suffix.lower() != ".npz" or not source.is_file():
            raise ValueError(f"{source}: a multitrack_rolls source must be a MIDI folder or a chorale .npz archive")
        listed = []
        for split, chorales in chorales_of(source).items():
            if split == "valid" and self.options.valid_split == "drop":
                continue
            listed += [(f"{source}{SOURCE_SEPARATOR}{split}/{i:03d}", f"{split}/{i:03d}") for i in range(len(chorales))]
        return listed

    def _fixed_split(self, official: str) -> str:
        return self.options.valid_split if official == "valid" else official

    def encode_file(self, path: str) -> EncodedFile:
        """Encodes one chorale (``archive.npz::split/index``) or one MIDI file; bad input is a rejection."""
        o = self.options
        split = None
        if SOURCE_SEPARATOR in path:
            archive, _, song_id = path.rpartition(SOURCE_SEPARATOR)
            official, _, index = song_id.partition("/")
            pitches = chorales_of(archive)[official][int(index)]
            split = self._fixed_split(official)
            if pitches.shape[1] != o.tracks:
                return EncodedFile.rejected("wrong_track_count", f"{path}: {pitches.shape[1]} voices, tracks={o.tracks}", split=split)
        else:
            pitches = self._midi_pitches(path)
            if isinstance(pitches, EncodedFile):
                return pitches
        try:
            windows, starts = multitrack.chorale_windows(
                pitches, n_bars=o.n_bars, steps_per_bar=o.steps_per_bar, windows=o.windows,
                hop_steps=o.hop_steps or None, skip_silent_start=o.skip_silent_start, pitch_offset=o.pitch_offset,
            )
        except ValueError as error:
            return EncodedFile.rejected("pitch_out_of_range", f"{path}: {error}", split=split)
        stats = {"steps": int(len(pitches)), "windows": int(len(windows))}
        if not len(windows):
            return EncodedFile.rejected("too_short", f"{path}: {len(pitches)} steps, no full window of {o.n_bars * o.steps_per_bar} steps after the silent start", stats, split=split)
        payloads = tuple(struct.pack(">q", start) + np.packbits(window.reshape(-1)).tobytes() for window, start in zip(windows, starts))
        return EncodedFile(payloads, tuple(range(len(windows))), stats=stats, split=split)

    def _midi_pitches(self, path: str):
        from mst.music.midi import MidiError, read_midi  # noqa: PLC0415

        o = self.options
        try:
            song = read_midi(path)
        except MidiError as error:
            return EncodedFile.rejected(error.reason, f"{path}: {error.detail}")
        notes = song.notes[~song.notes["is_drum"]]
        song = dataclasses.replace(song, notes=notes)
        if not len(notes):
            return EncodedFile.rejected("no_notes", f"{path}: no non-drum notes")
        if o.midi_track_by == "order":
            groups = np.unique(notes["track"])
            track_of = np.searchsorted(groups, notes["track"])
            track_of = np.where(track_of < o.tracks, track_of, -1)
        elif o.midi_track_by == "program":
            keys = [int(key) for key in o.keys]
            track_of = np.array([keys.index(int(v)) if int(v) in keys else -1 for v in notes["program"]], np.int64)
        else:
            names = [name.lower() for name in _parser_track_names(path)]
            wanted = [key.lower() for key in o.keys]
            by_group = {}
            for group in np.unique(notes["track"]):
                name = names[group] if group < len(names) else ""
                by_group[int(group)] = next((i for i, key in enumerate(wanted) if key in name), -1)
            track_of = np.array([by_group[int(g)] for g in notes["track"]], np.int64)
        if not np.any(track_of >= 0):
            return EncodedFile.rejected("no_matching_tracks", f"{path}: no notes matched midi_track_by={o.midi_track_by} keys {o.keys}")
        return multitrack.song_to_track_pitches(song, track_of, o.tracks)

    def manifest_fields(self, partition_by: str) -> dict:
        """``{"multitrack_options", "window_shape", "record_format"}`` of the manifest."""
        if partition_by in FIXED_FEATURES:
            raise ValueError(f"partition label {partition_by!r} clashes with a record feature ({', '.join(FIXED_FEATURES)})")
        return {
            "multitrack_options": self.options.to_dict(),
            "window_shape": list(self.window_shape),
            "record_format": {
                "roll": "bytes: np.packbits of the bool [bars, steps, 84, tracks] window, row-major, MSB first; True = +1",
                "shape": "int64[4]: [bars, steps, 84, tracks]",
                partition_by: f"bytes: {partition_by} name",
                "split": "bytes: train | test",
                "song_id": "bytes: song id (chorale archives: official split/index)",
                "window_index": "int64: window number in the song",
                "start_step": "int64: first 16th step of the window in the song",
            },
        }

    def write_shards(self, directory, partition: str, split: str, examples: Sequence[SongExample], *, partition_by: str, shard_size: int) -> list[ShardInfo]:
        """Writes the windows as records (see the module docstring)."""
        tf = tensorflow()
        shape = list(self.window_shape)

        def serialize(example: SongExample) -> bytes:
            start = struct.unpack(">q", example.payload[:8])[0]
            feature = {
                "roll": tf.train.Feature(bytes_list=tf.train.BytesList(value=[example.payload[8:]])),
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=shape)),
                partition_by: tf.train.Feature(bytes_list=tf.train.BytesList(value=[partition.encode()])),
                "split": tf.train.Feature(bytes_list=tf.train.BytesList(value=[split.encode()])),
                "song_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[example.song_id.encode()])),
                "window_index": tf.train.Feature(int64_list=tf.train.Int64List(value=[example.index])),
                "start_step": tf.train.Feature(int64_list=tf.train.Int64List(value=[start])),
            }
            return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)

        return write_shards(directory, partition, split, list(examples), serialize, shard_size=shard_size)


# --------------------------------------------------------------------------- reading


def check_multitrack_manifest(manifest: dict, data_dir) -> tuple[int, int, int, int]:
    """The window shape of a ``multitrack_rolls`` dataset.

    Raises:
        DatasetError: The dataset was prepared with another encoding.
    """
    if manifest.get("encoder") != MultitrackRollEncoder.name:
        raise DatasetError(
            f"{Path(data_dir) / 'manifest.json'}: dataset encoding is {manifest.get('encoder')!r}, MuseGAN needs "
            "'multitrack_rolls' (python -m mst.prepare --encoding multitrack_rolls ...)"
        )
    return tuple(int(v) for v in manifest["window_shape"])


@dataclasses.dataclass(frozen=True)
class WindowArrays:
    """One split of a multi-track dataset in memory.

    Attributes:
        rolls: bool ``[N, bars, steps, 84, tracks]``.
        song_ids: Song id per window.
        window_index: Window number per window.
    """

    rolls: np.ndarray
    song_ids: tuple[str, ...]
    window_index: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """float32 {-1, +1} model values."""
        return multitrack.to_model_values(self.rolls)


def load_windows(data_dir, split: str = "train", partitions: Sequence[str] | None = None) -> WindowArrays:
    """Reads every window of one split (all partitions, or the named ones) into memory, in manifest order.

    Raises:
        DatasetError: Missing dataset, another encoding, unknown split, or a missing shard.
    """
    tf = tensorflow()
    check_split(split)
    manifest = load_manifest(data_dir)
    shape = check_multitrack_manifest(manifest, data_dir)
    names = list(manifest["partitions"]) if partitions is None else list(partitions)
    unknown = [name for name in names if name not in manifest["partitions"]]
    if unknown:
        raise DatasetError(f"{data_dir}: no partition {unknown[0]!r}; known: {', '.join(manifest['partitions'])}")
    spec = {
        "roll": tf.io.FixedLenFeature([], tf.string),
        "song_id": tf.io.FixedLenFeature([], tf.string),
        "window_index": tf.io.FixedLenFeature([], tf.int64),
    }
    packed, song_ids, indices = [], [], []
    for name in names:
        paths = shard_paths(data_dir, manifest, name, split)
        if not paths:
            continue
        for raw in tf.data.TFRecordDataset(paths):
            parsed = tf.io.parse_single_example(raw, spec)
            packed.append(np.frombuffer(parsed["roll"].numpy(), np.uint8))
            song_ids.append(parsed["song_id"].numpy().decode())
            indices.append(int(parsed["window_index"].numpy()))
    size = int(np.prod(shape))
    rolls = np.unpackbits(np.stack(packed), axis=1)[:, :size].astype(bool).reshape(-1, *shape) if packed else np.zeros((0, *shape), bool)
    return WindowArrays(rolls, tuple(song_ids), np.array(indices, np.int64))
