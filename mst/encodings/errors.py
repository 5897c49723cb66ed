"""The error of the encodings layer: a song that an encoding cannot represent.

The MIDI layer (:mod:`mst.music.midi`) raises :class:`mst.music.midi.MidiError` for files it cannot
read; everything that turns a readable song into model input raises :class:`EncodingError`. Both
carry the file and a machine-readable reason, which batch jobs write to their reports unchanged.
"""

from __future__ import annotations

import re

from mst.errors import FileReasonError

_REASON = re.compile(r"^[a-z][a-z0-9_]*$")


class EncodingError(FileReasonError):
    """A song that an encoding cannot represent.

    Attributes:
        path: The source file, as given (``""`` for songs built in memory).
        reason: Machine-readable code in ``snake_case``, e.g. ``"too_long"`` (the grid would exceed
            its step limit); pianoroll codes are among :data:`mst.music.file_filter.REASONS`.
        detail: Human-readable explanation.

    Example:
        >>> import pickle
        >>> error = pickle.loads(pickle.dumps(EncodingError("a.mid", "too_long", "4000 grid steps > limit 3999")))
        >>> error.reason, str(error)
        ('too_long', 'a.mid: too_long (4000 grid steps > limit 3999)')
    """

    @classmethod
    def check_reason(cls, reason: str) -> None:
        if not isinstance(reason, str) or not _REASON.match(reason):
            raise ValueError(f"EncodingError reason must be a snake_case code, got {reason!r}")
