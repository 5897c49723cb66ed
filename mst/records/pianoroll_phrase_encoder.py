"""The pianoroll phrase encoder: a MIDI file -> 64 x 84 phrases -> phrase records (the CycleGAN data).

The first :class:`mst.records.prepare_driver.Encoder`: :func:`mst.encodings.pianoroll_extract.extract_song`
reads, filters and cuts a file with the authors' settings (or other
:class:`~mst.encodings.pianoroll_extract.PhraseOptions`), each phrase travels from the worker as its
672 packed bytes (:func:`mst.records.pianoroll_examples.pack_rolls`), and the shards hold one
phrase record per phrase (:mod:`mst.records.pianoroll_examples`). The manifest gets
``phrase_options`` and ``record_format``.

Example:
    >>> from mst.encodings.pianoroll_extract import PhraseOptions
    >>> encoder = PianorollPhraseEncoder(PhraseOptions(time_signature_policy="beat_grid"))
    >>> encoder.name, encoder.encode_file("missing.mid").reason
    ('pianoroll_phrases', 'unreadable')
    >>> sorted(encoder.manifest_fields("genre"))
    ['phrase_options', 'record_format']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from mst.encodings.pianoroll_extract import PhraseOptions, extract_song
from mst.records import pianoroll_examples
from mst.records.pianoroll_examples import PhraseRecord, pack_rolls, record_format_description
from mst.records.prepare_driver import EncodedFile, PrepareError, SongExample
from mst.records.shards import ShardInfo


@dataclasses.dataclass(frozen=True)
class PianorollPhraseEncoder:
    """Encodes MIDI files as pianoroll phrases (see the module docstring).

    Attributes:
        options: How files become phrases (default: the authors' settings).
    """

    options: PhraseOptions = dataclasses.field(default_factory=PhraseOptions)
    name: ClassVar[str] = "pianoroll_phrases"

    def encode_file(self, path: str) -> EncodedFile:
        """Extracts the phrases of one file and packs them; a rejected file keeps its reason and stats.

        Raises:
            ValueError: If the extraction returns a kept file without matching phrase indices (a bug).
        """
        song = extract_song(str(path), self.options)
        stats = song.stats.to_dict()
        if song.rejection is not None:
            return EncodedFile.rejected(song.rejection.reason, song.rejection.detail, stats)
        indices = tuple(int(index) for index in np.asarray(song.phrase_indices).tolist())
        if len(indices) != len(song.phrases) or not indices:
            raise ValueError(f"{len(song.phrases)} phrases with {len(indices)} phrase indices for a kept file")
        return EncodedFile(tuple(row.tobytes() for row in pack_rolls(song.phrases)), indices, stats=stats)

    def manifest_fields(self, partition_by: str) -> dict:
        """``{"phrase_options", "record_format"}`` of the manifest.

        Raises:
            ValueError: If ``partition_by`` is the name of a record field (``roll``, ``uid``, ...).
        """
        return {"phrase_options": self.options.to_dict(), "record_format": record_format_description(partition_by)}

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
        """Writes the phrases as phrase records (:func:`mst.records.pianoroll_examples.write_split_shards`)."""
        records = [PhraseRecord(partition, split, example.song_id, example.index, example.payload) for example in examples]
        return pianoroll_examples.write_split_shards(directory, partition, split, records, shard_size=shard_size,
                                                     partition_by=partition_by)


def make_phrase_options(time_signature_policy: str | None = None, phrase_multiple: int | None = None) -> PhraseOptions:
    """``PhraseOptions`` with the given policy / phrase multiple, library defaults for ``None``.

    Raises:
        mst.records.prepare_driver.PrepareError: For an unknown policy or a phrase multiple below 1.
    """
    changes = {}
    if time_signature_policy is not None:
        changes["time_signature_policy"] = time_signature_policy
    if phrase_multiple is not None:
        changes["phrase_multiple"] = phrase_multiple
    try:
        return PhraseOptions(**changes)
    except ValueError as error:
        raise PrepareError(str(error)) from error
