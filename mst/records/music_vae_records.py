"""MusicVAE datasets: the ``groove`` and ``melody_onehot`` encoders, their sequence record and reader.

Both encoders plug into :func:`mst.records.prepare_driver.prepare_dataset` (``python -m mst.prepare
--encoding groove|melody_onehot``); see ``docs/music_vae.md`` for the commands.

* ``groove`` (:class:`GrooveEncoder`): a drum MIDI file -> 4-bar (``split_bars``) groove tensors
  ``[16 * split_bars, 27]`` (:mod:`mst.encodings.drums`). ``windowing="bar_windows"`` (default)
  first cuts the file the way the TFDS ``groove/{N}bar-midionly`` builder does (windows of N bars,
  hop one bar, ``round(end / bar)`` bars), then runs Magenta's converter on each window; that is
  the data ``groovae_4bar`` was trained on. ``windowing="converter"`` runs the converter on the
  whole file (non-overlapping windows, at most ``max_tensors_per_song``). Files that are not 4/4
  or have more than one tempo are rejected (``not_4_4``, ``multiple_tempos``), as in Magenta.
  When the file lies below a folder with the Groove MIDI Dataset's ``info.csv``, each record
  carries its official split (``train``/``validation``/``test``), which the MusicVAE readers use
  instead of the driver's hash split (``split_source="official"``).
* ``melody_onehot`` (:class:`MelodyEncoder`): a MIDI file -> 90-class melody windows of
  ``slice_bars`` bars (:mod:`mst.encodings.melody_onehot`), duplicates removed, at most
  ``max_windows_per_song`` (evenly spaced, deterministic; Magenta samples 5 at random per epoch).

Record (``tf.train.Example``, deterministic serialization):

==================  =======  ===================================================================
feature             type     content
==================  =======  ===================================================================
``payload``         bytes    groove: uint8 MIDI velocities ``[T, 9]`` (0 = no hit) then float32
                             little-endian offsets ``[T, 9]``; melody: uint8 classes ``[T]``
``encoding``        bytes    ``groove`` or ``melody_onehot``
``steps``           int64    ``T``
``official_split``  bytes    GMD split of the source file, or empty
``<partition_by>``  bytes    the partition name
``split``           bytes    the driver's (hash) split, ``train`` or ``test``
``song_id``         bytes    path relative to the partition's folder
``window_index``    int64    index of the window in the song (first bar of a TFDS-style window)
==================  =======  ===================================================================

Example:
    >>> encoder = GrooveEncoder()
    >>> encoder.name, encoder.encode_file("missing.mid").reason
    ('groove', 'unreadable')
    >>> payload = pack_groove(np.zeros((64, 27), np.float32)); len(payload)
    2880
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from mst.encodings import drums, melody_onehot
from mst.records.manifest import DatasetError, load_manifest
from mst.records.prepare_driver import EncodedFile, SongExample
from mst.records.shards import ShardInfo, tensorflow, write_shards

OFFICIAL_SPLITS = ("train", "validation", "test")
GMD_INFO_NAME = "info.csv"
RESERVED_FEATURES = ("payload", "encoding", "steps", "official_split", "split", "song_id", "window_index")


class MusicVAEDataError(DatasetError):
    """A MusicVAE dataset is missing, of the wrong encoding, or too small for the request."""


# --------------------------------------------------------------------------- payloads


def pack_groove(tensor: np.ndarray) -> bytes:
    """``[T, 27]`` groove tensor -> payload bytes (velocities as MIDI integers, offsets float32)."""
    hits, velocities, offsets = drums.split_groove(np.asarray(tensor, np.float32))
    midi = np.where(hits > 0.5, np.clip(np.round(velocities * 127), 1, 127), 0).astype(np.uint8)
    return midi.tobytes() + np.where(hits > 0.5, offsets, 0).astype("<f4").tobytes()


def unpack_groove(payload: bytes, steps: int) -> np.ndarray:
    """Inverse of :func:`pack_groove`: ``float32 [T, 27]``."""
    cells = steps * drums.NUM_DRUMS
    midi = np.frombuffer(payload[:cells], np.uint8).reshape(steps, drums.NUM_DRUMS).astype(np.float32)
    offsets = np.frombuffer(payload[cells:], "<f4").reshape(steps, drums.NUM_DRUMS).astype(np.float32)
    return np.concatenate([(midi > 0).astype(np.float32), midi / 127.0, offsets], axis=1)


# --------------------------------------------------------------------------- GMD metadata


@functools.lru_cache(maxsize=8)
def _gmd_info(folder: str) -> dict[str, dict]:
    with open(Path(folder) / GMD_INFO_NAME, newline="", encoding="utf-8") as handle:
        return {row["midi_filename"]: row for row in csv.DictReader(handle) if "midi_filename" in row}


def gmd_row(path: str | os.PathLike) -> dict | None:
    """The ``info.csv`` row of a Groove MIDI Dataset file (searched in up to 4 parent folders), or ``None``."""
    path = Path(path).resolve()
    for parent in list(path.parents)[:4]:
        if (parent / GMD_INFO_NAME).is_file():
            try:
                return _gmd_info(str(parent)).get(path.relative_to(parent).as_posix())
            except (OSError, KeyError, csv.Error):
                return None
    return None


# --------------------------------------------------------------------------- the encoders


@dataclasses.dataclass(frozen=True)
class GrooveOptions:
    """Options of the ``groove`` encoding (``--option KEY=VALUE``).

    Attributes:
        split_bars: Bars per tensor (4 for ``groovae_4bar``, 2 for the 2-bar configs).
        windowing: ``bar_windows`` (the TFDS builder's hop-1 windows, then the converter) or
            ``converter`` (the converter on the whole file).
        pitch_classes: ``roland`` (training, GMD) or ``gm`` (General MIDI files).
        max_tensors_per_song: Cap for ``converter`` windowing (Magenta: 20).
    """

    split_bars: int = 4
    windowing: str = "bar_windows"
    pitch_classes: str = "roland"
    max_tensors_per_song: int = 20

    def __post_init__(self):
        if self.split_bars < 1:
            raise ValueError(f"split_bars must be >= 1, got {self.split_bars}")
        if self.windowing not in ("bar_windows", "converter"):
            raise ValueError(f"windowing must be 'bar_windows' or 'converter', got {self.windowing!r}")
        if self.pitch_classes not in drums.PITCH_CLASSES:
            raise ValueError(f"pitch_classes must be one of {', '.join(drums.PITCH_CLASSES)}, got {self.pitch_classes!r}")
        if self.max_tensors_per_song < 1:
            raise ValueError(f"max_tensors_per_song must be >= 1, got {self.max_tensors_per_song}")


def _read_song(path: str):
    from mst.music.midi import MidiError, read_midi  # noqa: PLC0415

    try:
        return read_midi(path), None
    except MidiError as error:
        return None, EncodedFile.rejected(error.reason, error.detail)


def midi_end_tick(path: str) -> int:
    """The file's last event of any kind (notes, controllers, pitch bends, tempo/metre) in ticks.

    pretty_midi's ``get_end_time`` counts controllers too (the GMD's hi-hat pedal messages often
    outlast the last note), and the TFDS builder's bar count is based on it.
    """
    import symusic  # noqa: PLC0415

    score = symusic.Score(str(path))
    end = 0
    for track in score.tracks:
        for events in (track.notes, track.controls, track.pitch_bends):
            for event in events:
                end = max(end, int(event.time + getattr(event, "duration", 0)))
    for events in (score.tempos, score.time_signatures):
        for event in events:
            end = max(end, int(event.time))
    return end


@dataclasses.dataclass(frozen=True)
class GrooveEncoder:
    """The ``groove`` encoder (see the module docstring)."""

    options: GrooveOptions = dataclasses.field(default_factory=GrooveOptions)
    name: ClassVar[str] = "groove"

    def encode_file(self, path: str) -> EncodedFile:
        song, rejected = _read_song(path)
        if rejected is not None:
            return rejected
        if not melody_onehot.is_4_4(song):
            found = sorted({f"{n}/{d}" for n, d in song.time_signatures[["numerator", "denominator"]].tolist()})
            return EncodedFile.rejected("not_4_4", f"time signature(s) {', '.join(found)}; the groove converter takes 4/4 only")
        if len({round(float(q), 6) for q in song.tempos["qpm"]}) > 1:
            return EncodedFile.rejected("multiple_tempos", f"{len(song.tempos)} tempo events; the groove converter takes one tempo")
        row = gmd_row(path)
        official = row.get("split", "") if row else ""
        prefix = bytes([OFFICIAL_SPLITS.index(official) + 1 if official in OFFICIAL_SPLITS else 0])
        options = self.options
        if options.windowing == "bar_windows":
            song.end_tick = max(song.end_tick, midi_end_tick(path))
            indices, tensors, cut = drums.bar_window_grooves(song, options.split_bars, options.pitch_classes)
        else:
            onsets = drums.song_onsets(song, options.pitch_classes)
            found = drums.converter_windows(onsets, options.split_bars)[: options.max_tensors_per_song]
            indices, tensors, cut = list(range(len(found))), list(found), len(found)
        stats = {"windows_cut": cut, "tensors": len(tensors)}
        if official:
            stats[f"tensors_{official}"] = len(tensors)
            stats[f"windows_{official}"] = cut
        if not tensors:
            return EncodedFile.rejected("no_groove", f"no {options.split_bars}-bar window with an onset in its last bar", stats)
        return EncodedFile(tuple(prefix + pack_groove(t) for t in tensors), tuple(indices), stats=stats)

    def manifest_fields(self, partition_by: str) -> dict:
        check_partition_feature(partition_by)
        return {"groove_options": dataclasses.asdict(self.options),
                "record_format": record_format_description("groove", self.options.split_bars * drums.STEPS_PER_BAR, partition_by)}

    def write_shards(self, directory, partition: str, split: str, examples: Sequence[SongExample], *, partition_by: str,
                     shard_size: int) -> list[ShardInfo]:
        steps = self.options.split_bars * drums.STEPS_PER_BAR
        return _write(directory, partition, split, examples, partition_by, shard_size, "groove", steps)


@dataclasses.dataclass(frozen=True)
class MelodyOneHotOptions:
    """Options of the ``melody_onehot`` encoding (``--option KEY=VALUE``).

    Attributes:
        slice_bars: Bars per window (2 or 16 in Magenta's configs).
        max_bars: Melodies are truncated to this many bars first (100).
        gap_bars: Silence that ends a melody (1.0).
        melody_programs_only: Keep programs 0-31 only (the 2-bar configs' ``valid_programs``).
        max_windows_per_song: At most this many windows per file (evenly spaced).
    """

    slice_bars: int = 2
    max_bars: int = 100
    gap_bars: float = 1.0
    melody_programs_only: bool = False
    max_windows_per_song: int = 64

    def __post_init__(self):
        if self.slice_bars < 1 or self.max_bars < self.slice_bars:
            raise ValueError(f"need 1 <= slice_bars <= max_bars, got {self.slice_bars}, {self.max_bars}")
        if self.max_windows_per_song < 1:
            raise ValueError(f"max_windows_per_song must be >= 1, got {self.max_windows_per_song}")


@dataclasses.dataclass(frozen=True)
class MelodyEncoder:
    """The ``melody_onehot`` encoder (see the module docstring)."""

    options: MelodyOneHotOptions = dataclasses.field(default_factory=MelodyOneHotOptions)
    name: ClassVar[str] = "melody_onehot"

    def encode_file(self, path: str) -> EncodedFile:
        song, rejected = _read_song(path)
        if rejected is not None:
            return rejected
        if not melody_onehot.is_4_4(song):
            return EncodedFile.rejected("not_4_4", "the melody converter takes 4/4 only")
        options = self.options
        programs = melody_onehot.MELODY_PROGRAMS if options.melody_programs_only else ()
        melodies = melody_onehot.extract_melodies(song, melody_onehot.MelodyOptions(options.gap_bars, 1, options.max_bars, programs))
        windows = melody_onehot.slice_windows(melodies, options.slice_bars)
        stats = {"melodies": len(melodies), "windows": len(windows)}
        if not windows:
            return EncodedFile.rejected("no_melody", f"no melody of {options.slice_bars} bar(s)", stats)
        if len(windows) > options.max_windows_per_song:
            keep = np.linspace(0, len(windows) - 1, options.max_windows_per_song).round().astype(int)
            indices = sorted(set(keep.tolist()))
        else:
            indices = list(range(len(windows)))
        return EncodedFile(tuple(bytes([0]) + windows[i].tobytes() for i in indices), tuple(indices), stats=stats)

    def manifest_fields(self, partition_by: str) -> dict:
        check_partition_feature(partition_by)
        return {"melody_options": dataclasses.asdict(self.options),
                "record_format": record_format_description("melody_onehot", self.options.slice_bars * 16, partition_by)}

    def write_shards(self, directory, partition: str, split: str, examples: Sequence[SongExample], *, partition_by: str,
                     shard_size: int) -> list[ShardInfo]:
        return _write(directory, partition, split, examples, partition_by, shard_size, "melody_onehot", self.options.slice_bars * 16)


# --------------------------------------------------------------------------- records


def check_partition_feature(partition_by: str) -> str:
    """The partition label, if it does not clash with a record feature."""
    if partition_by in RESERVED_FEATURES:
        raise ValueError(f"partition label {partition_by!r} is a MusicVAE record feature; choose another (e.g. 'corpus')")
    return partition_by


def record_format_description(encoding: str, steps: int, partition_by: str) -> dict:
    """The manifest's ``record_format`` entry."""
    return {"name": "mst.music_vae_sequence", "version": 1, "encoding": encoding, "steps": steps,
            "partition_feature": partition_by, "features": list(RESERVED_FEATURES[:4]) + [partition_by, *RESERVED_FEATURES[4:]]}


def _write(directory, partition, split, examples, partition_by, shard_size, encoding, steps):
    train = tensorflow().train

    def _bytes(value: bytes):
        return train.Feature(bytes_list=train.BytesList(value=[value]))

    def _int(value: int):
        return train.Feature(int64_list=train.Int64List(value=[int(value)]))

    def serialize(example: SongExample) -> bytes:
        code, payload = example.payload[0], example.payload[1:]
        official = OFFICIAL_SPLITS[code - 1] if code else ""
        feature = {
            "payload": _bytes(payload), "encoding": _bytes(encoding.encode()), "steps": _int(steps),
            "official_split": _bytes(official.encode()), partition_by: _bytes(partition.encode("utf-8")),
            "split": _bytes(split.encode()), "song_id": _bytes(example.song_id.encode("utf-8")), "window_index": _int(example.index),
        }
        return train.Example(features=train.Features(feature=feature)).SerializeToString(deterministic=True)

    return write_shards(directory, partition, split, list(examples), serialize, shard_size=shard_size)


@dataclasses.dataclass(frozen=True)
class SequenceArrays:
    """Every record of a dataset selection, decoded.

    Attributes:
        tensors: ``float32 [N, T, 27]`` grooves, or ``uint8 [N, T]`` melody classes.
        song_ids: Source file of each record.
        window_indices: Window index of each record.
        official_splits: GMD split of each record (empty strings elsewhere).
        splits: The driver's split of each record.
        encoding: ``groove`` or ``melody_onehot``.
    """

    tensors: np.ndarray
    song_ids: np.ndarray
    window_indices: np.ndarray
    official_splits: np.ndarray
    splits: np.ndarray
    encoding: str

    def select(self, mask) -> "SequenceArrays":
        mask = np.asarray(mask)
        return SequenceArrays(self.tensors[mask], self.song_ids[mask], self.window_indices[mask], self.official_splits[mask],
                              self.splits[mask], self.encoding)

    def __len__(self) -> int:
        return len(self.tensors)


def dataset_encoding(data_dir) -> tuple[str, int]:
    """``(encoding, steps)`` of a MusicVAE dataset.

    Raises:
        MusicVAEDataError: Not a MusicVAE dataset.
    """
    manifest = load_manifest(data_dir)
    record_format = manifest.get("record_format") or {}
    if record_format.get("name") != "mst.music_vae_sequence":
        raise MusicVAEDataError(f"{Path(data_dir) / 'manifest.json'}: encoder {manifest.get('encoder')!r} is not a MusicVAE encoding "
                                "(prepare with --encoding groove or melody_onehot)")
    return record_format["encoding"], int(record_format["steps"])


@functools.lru_cache(maxsize=4)
def _load_all(data_dir: str, mtime: float) -> SequenceArrays:
    tf = tensorflow()
    manifest = load_manifest(data_dir)
    encoding, steps = dataset_encoding(data_dir)
    partition_by = manifest["partition_by"]
    paths = [str(Path(data_dir) / shard["file"]) for shard in manifest["shards"]]
    tensors, song_ids, windows, officials, splits = [], [], [], [], []
    for serialized in tf.data.TFRecordDataset(paths).as_numpy_iterator():
        feature = tf.train.Example.FromString(serialized).features.feature
        payload = feature["payload"].bytes_list.value[0]
        tensors.append(unpack_groove(payload, steps) if encoding == "groove" else np.frombuffer(payload, np.uint8).copy())
        song_ids.append(f"{feature[partition_by].bytes_list.value[0].decode()}/{feature['song_id'].bytes_list.value[0].decode()}")
        windows.append(int(feature["window_index"].int64_list.value[0]))
        officials.append(feature["official_split"].bytes_list.value[0].decode())
        splits.append(feature["split"].bytes_list.value[0].decode())
    shape = (0, steps, drums.GROOVE_DEPTH) if encoding == "groove" else (0, steps)
    stacked = np.stack(tensors) if tensors else np.zeros(shape, np.float32 if encoding == "groove" else np.uint8)
    return SequenceArrays(stacked, np.array(song_ids), np.array(windows, np.int64), np.array(officials), np.array(splits), encoding)


def load_sequences(data_dir, split: str, split_source: str = "official") -> SequenceArrays:
    """The decoded records of one split.

    Args:
        data_dir: Prepared dataset folder.
        split: ``train``, ``validation`` or ``test``.
        split_source: ``official``: the GMD split carried by each record where there is one
            (records without one fall back to the driver's split, ``validation`` = ``test``);
            ``hash``: the driver's song-level split (``validation`` = ``test``).

    Raises:
        MusicVAEDataError: Unknown split, not a MusicVAE dataset.
    """
    if split not in OFFICIAL_SPLITS:
        raise MusicVAEDataError(f"unknown split {split!r}; expected one of {', '.join(OFFICIAL_SPLITS)}")
    if split_source not in ("official", "hash"):
        raise MusicVAEDataError(f"split_source must be 'official' or 'hash', got {split_source!r}")
    manifest_path = Path(data_dir) / "manifest.json"
    everything = _load_all(str(Path(data_dir).resolve()), manifest_path.stat().st_mtime if manifest_path.exists() else 0.0)
    hashed = np.where(everything.splits == "test", "test", "train")
    wanted_hash = "train" if split == "train" else "test"
    if split_source == "hash":
        return everything.select(hashed == wanted_hash)
    has_official = everything.official_splits != ""
    mask = np.where(has_official, everything.official_splits == split, hashed == wanted_hash)
    return everything.select(mask)
