"""Pianoroll grid, phrases and the one place where {0,1} <-> {-1,+1} scaling lives.

Representation contract (stated once, checked at the edges):
    a phrase is ``[PHRASE_STEPS=64, NUM_PITCHES=84]`` (plus a trailing channel axis of 1 in
    TF pipelines), binary, time on axis 0, pitch index 0 = MIDI ``LOWEST_PITCH`` (24, C1),
    index 83 = MIDI 107 (B7); ``STEPS_PER_BEAT`` = 4 steps per quarter note (16 per 4/4 bar).
"""

from __future__ import annotations

import numpy as np

STEPS_PER_BEAT = 4
BEATS_PER_PHRASE = 16
PHRASE_STEPS = STEPS_PER_BEAT * BEATS_PER_PHRASE  # 64
LOWEST_PITCH = 24  # MIDI C1 (C4 = 60)
NUM_PITCHES = 84  # MIDI 24..107
PHRASE_SHAPE = (PHRASE_STEPS, NUM_PITCHES, 1)


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
