"""The one table of dataset encodings: what ``python -m mst.prepare --encoding NAME`` can build.

Each entry names an encoder class (a frozen dataclass with one ``options`` field, see
:class:`mst.records.prepare_driver.Encoder`) by ``"module:Class"``, so that reading the table
imports no encoder. ``--option KEY=VALUE`` sets a field of the encoder's options dataclass; the
values are parsed by the field's type exactly as ``train.py --set`` parses config fields
(:func:`mst.config.parse_value`).

Adding an encoding is one entry here (and the encoder module); the prepare driver, its shards,
manifest, splits and skip report are shared by all.

Example:
    >>> encoder = make_encoder("pianoroll_phrases", ["time_signature_policy=beat_grid", "phrase_multiple=1"])
    >>> encoder.name, encoder.options.time_signature_policy, encoder.options.phrase_multiple
    ('pianoroll_phrases', 'beat_grid', 1)
    >>> make_encoder("pianoroll_phrases", ["tempo=120"])
    Traceback (most recent call last):
    ...
    mst.records.prepare_driver.PrepareError: pianoroll_phrases has no option 'tempo'; its options: time_signature_policy, phrase_multiple, drop_empty, drop_drums, backend, max_steps
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Sequence

from mst.records.prepare_driver import PrepareError


@dataclasses.dataclass(frozen=True)
class Encoding:
    """One dataset encoding.

    Attributes:
        encoder: ``"module:Class"`` of the encoder (a frozen dataclass with an ``options`` field).
        description: One line for ``--help``.
    """

    encoder: str
    description: str

    def encoder_class(self) -> type:
        """Imports and returns the encoder class."""
        module, _, name = self.encoder.partition(":")
        return getattr(importlib.import_module(module), name)


ENCODINGS: dict[str, Encoding] = {
    "pianoroll_phrases": Encoding(
        "mst.records.pianoroll_phrase_encoder:PianorollPhraseEncoder",
        "64 x 84 pianoroll phrases, 4 bars of 16 steps (CycleGAN, genre classifier); the default",
    ),
    "note_tokens": Encoding(
        "mst.records.note_token_encoder:NoteTokenEncoder",
        "(pitch, duration) token streams, one record per song, vocabulary of the train split (attention RNN)",
    ),
    "multitrack_rolls": Encoding(
        "mst.records.multitrack_rolls:MultitrackRollEncoder",
        "[bars, 16, 84, tracks] multi-track windows from a chorale .npz (official split) or MIDI folders (MuseGAN)",
    ),
    "groove": Encoding(
        "mst.records.music_vae_records:GrooveEncoder",
        "GrooVAE groove tensors [16 x bars, 27] (9 drums x hit, velocity, offset), TFDS-style bar windows, GMD official split (MusicVAE)",
    ),
    "melody_onehot": Encoding(
        "mst.records.music_vae_records:MelodyEncoder",
        "90-class monophonic melody windows of N bars, 1-bar hop, duplicates removed (MusicVAE)",
    ),
}
"""Encoding name -> :class:`Encoding`, in ``--help`` order."""

DEFAULT_ENCODING = "pianoroll_phrases"


def options_class(encoding: str) -> type:
    """The options dataclass of an encoding's encoder."""
    cls = _encoding(encoding).encoder_class()
    return typing.get_type_hints(cls)["options"]


def _encoding(name: str) -> Encoding:
    if name not in ENCODINGS:
        raise PrepareError(f"unknown encoding {name!r}; known: {', '.join(ENCODINGS)}")
    return ENCODINGS[name]


def parse_options(encoding: str, items: Sequence[str] = (), base=None):
    """``KEY=VALUE`` strings -> the encoding's options dataclass (starting from ``base`` or its defaults).

    Raises:
        PrepareError: Unknown encoding or option, a value that does not parse, or options that
            the options class rejects (its ``__post_init__`` ``ValueError`` message).
    """
    from mst.config import ConfigError, parse_value  # noqa: PLC0415  (no TensorFlow)

    cls = options_class(encoding)
    hints = typing.get_type_hints(cls)
    fields = [field.name for field in dataclasses.fields(cls) if field.init]
    changes = {}
    for item in items:
        key, separator, text = item.partition("=")
        key = key.strip()
        if not separator or not key:
            raise PrepareError(f"--option expects KEY=VALUE, got {item!r}")
        if key not in fields:
            raise PrepareError(f"{encoding} has no option {key!r}; its options: {', '.join(fields)}")
        try:
            changes[key] = parse_value(text, hints[key], key)
        except ConfigError as error:
            raise PrepareError(f"{encoding} option {key}: {error}") from None
    try:
        return dataclasses.replace(base, **changes) if base is not None else cls(**changes)
    except (TypeError, ValueError) as error:
        raise PrepareError(f"{encoding} options: {error}") from None


def make_encoder(encoding: str = DEFAULT_ENCODING, items: Sequence[str] = (), base_options=None):
    """The encoder of ``encoding`` with ``--option`` items applied (see :func:`parse_options`)."""
    cls = _encoding(encoding).encoder_class()
    return cls(parse_options(encoding, items, base_options))
