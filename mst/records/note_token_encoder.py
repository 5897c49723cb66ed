"""The note-token encoder: a MIDI file -> (pitch, duration) token streams -> one record per song.

The :class:`mst.records.prepare_driver.Encoder` of ``python -m mst.prepare --encoding note_tokens``
(the attention RNN's data). Workers turn each file into events (:mod:`mst.encodings.note_tokens`)
and send them as compact JSON; :meth:`NoteTokenEncoder.write_shards` writes one record per song
and transposition (transpositions only in the training split); :meth:`NoteTokenEncoder.split_fields`
builds the vocabularies **from the training split only** (every transposition included) and counts
the windows, and the driver stores both in ``manifest.json`` (``vocabulary``, ``token_counts``).

Record format (one ``tf.train.Example`` per song and transposition):

=================  ======  ================================================================
feature            type    content
=================  ======  ================================================================
``pitch``          bytes*  the pitch tokens, one per event (``"G2.D3.B3"``, ``"rest"``)
``duration``       bytes*  the duration tokens, one per event (``"1/4"``), exact fractions
``<partition_by>`` bytes   partition name (``corpus``, ...)
``split``          bytes   ``train`` or ``test``
``song_id``        bytes   path relative to the partition folder
``transposition``  int64   semitones the song was shifted by (0 for the test split)
=================  ======  ================================================================

Records hold token *strings*, not ids: the ids come from the vocabulary in the manifest (or the
one an export carries), applied in the input pipeline (:mod:`mst.records.note_token_reader`).

Example:
    >>> encoder = NoteTokenEncoder(NoteTokenOptions(rests="drop"))
    >>> encoder.name, encoder.encode_file("missing.mid").reason
    ('note_tokens', 'unreadable')
    >>> sorted(encoder.manifest_fields("corpus"))
    ['note_token_options', 'record_format']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import ClassVar

from mst.encodings import note_tokens as nt
from mst.encodings.note_tokens import NoteTokenOptions
from mst.music.midi import MidiError, read_midi
from mst.records.prepare_driver import EncodedFile, SongExample
from mst.records.shards import ShardInfo, tensorflow, write_shards
from mst.records.splits import TEST, TRAIN

FIXED_FEATURES = ("pitch", "duration", "split", "song_id", "transposition")
TOO_FEW_EVENTS = "too_few_events"


def record_format_description(partition_by: str) -> dict:
    """The record format in words (the manifest's ``record_format``).

    Raises:
        ValueError: ``partition_by`` is a record field name.
    """
    if partition_by in FIXED_FEATURES:
        raise ValueError(f"partition label {partition_by!r} is taken by a note-token record field; pick another")
    return {
        "pitch": "bytes list: pitch tokens, one per event ('G2.D3.B3', 'B3', 'rest')",
        "duration": "bytes list: duration tokens in quarter notes, exact fractions ('1/4', '1/3', '3/2')",
        partition_by: f"bytes: {partition_by} name",
        "split": "bytes: train | test",
        "song_id": f"bytes: path relative to the {partition_by} folder, '/' separated",
        "transposition": "int64: semitones the song was transposed by (training split only)",
        "windows": f"input pipeline: {nt.SEQ_LEN} START tokens + events + one START (the end), every "
        f"{nt.SEQ_LEN} consecutive tokens -> the next one",
    }


def windows_of(events: int) -> int:
    """Training windows of a song with ``events`` events: one per event plus the final START."""
    return events + 1


@dataclasses.dataclass(frozen=True)
class NoteTokenEncoder:
    """Encodes MIDI files as note-token records (see the module docstring).

    Attributes:
        options: Tokenisation options (rests, chords, transpositions, grid, ...).
    """

    options: NoteTokenOptions = dataclasses.field(default_factory=NoteTokenOptions)
    name: ClassVar[str] = "note_tokens"

    def encode_file(self, path: str) -> EncodedFile:
        """Reads one file and turns it into events; unreadable or near-empty files are rejected."""
        try:
            song = read_midi(path, backend=self.options.backend)
        except MidiError as error:
            return EncodedFile.rejected(error.reason, error.detail)
        notes = song.notes[~song.notes["is_drum"]] if self.options.drop_drums else song.notes
        events = nt.events_from_notes(
            zip(notes["start"].tolist(), notes["end"].tolist(), notes["pitch"].tolist()), song.ticks_per_beat,
            grid=self.options.grid, rests=self.options.rests, chords=self.options.chords,
        )
        stats = {
            "notes": int(len(notes)),
            "events": len(events),
            "rest_events": sum(1 for p, _ in events if not p),
            "chord_events": sum(1 for p, _ in events if len(p) > 1),
        }
        if len(events) < self.options.min_events:
            return EncodedFile.rejected(TOO_FEW_EVENTS, f"{len(events)} events < min_events={self.options.min_events}", stats)
        return EncodedFile((nt.events_to_json(events),), (0,), stats=stats)

    def manifest_fields(self, partition_by: str) -> dict:
        """``{"note_token_options", "record_format"}``.

        Raises:
            ValueError: ``partition_by`` is a record field name.
        """
        return {"note_token_options": self.options.to_dict(), "record_format": record_format_description(partition_by)}

    def _token_streams(self, example: SongExample, split: str):
        events = nt.events_from_json(example.payload)
        shifts = self.options.transpositions if split == TRAIN else (0,)
        for shift in shifts:
            if nt.fits_transposition(events, shift):
                yield shift, nt.event_tokens(events, shift)

    def split_fields(self, examples: Mapping[str, Mapping[str, Sequence[SongExample]]]) -> dict:
        """Manifest fields computed from all partitions' splits: the training-split vocabulary and counts.

        Args:
            examples: ``{partition: {split: [SongExample, ...]}}``.

        Returns:
            ``{"vocabulary": Vocabulary.to_dict(), "token_counts": {partition: {split: {...}}}}``.
        """
        train_streams = []
        counts = {}
        for partition, by_split in examples.items():
            counts[partition] = {}
            for split in (TRAIN, TEST):
                songs = windows = records = 0
                for example in by_split.get(split, ()):
                    songs += 1
                    for _, (pitches, durations) in self._token_streams(example, split):
                        records += 1
                        windows += windows_of(len(pitches))
                        if split == TRAIN:
                            train_streams.append((pitches, durations))
                counts[partition][split] = {"songs": songs, "records": records, "windows": windows}
        vocabulary = nt.build_vocabulary(train_streams)
        return {
            "vocabulary": {**vocabulary.to_dict(), "built_from": "train split (all partitions, all transpositions)",
                           "sizes": {"pitch": vocabulary.sizes[0], "duration": vocabulary.sizes[1]}},
            "token_counts": counts,
        }

    def write_shards(
        self,
        directory: str | os.PathLike,
        partition: str,
        split: str,
        examples: Sequence[SongExample],
        *,
        partition_by: str,
        shard_size: int,
    ) -> list[ShardInfo]:
        """Writes one record per song and transposition (:func:`mst.records.shards.write_shards`)."""
        records = [
            (example.song_id, shift, pitches, durations)
            for example in examples
            for shift, (pitches, durations) in self._token_streams(example, split)
        ]
        tf = tensorflow() if records else None

        def serialize(record) -> bytes:
            song_id, shift, pitches, durations = record

            def strings(values):
                return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))

            features = {
                "pitch": strings(pitches),
                "duration": strings(durations),
                partition_by: strings([partition]),
                "split": strings([split]),
                "song_id": strings([song_id]),
                "transposition": tf.train.Feature(int64_list=tf.train.Int64List(value=[shift])),
            }
            return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString(deterministic=True)

        return write_shards(directory, partition, split, records, serialize, shard_size=shard_size)
