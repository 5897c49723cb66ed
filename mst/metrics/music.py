"""Descriptive music metrics of binary pianorolls, one value per phrase.

Every function takes one roll ``[T, 84]`` / ``[T, 84, 1]`` or a batch ``[N, T, 84]`` / ``[N, T, 84, 1]`` of binary
values (bool, or numbers that are exactly 0 or 1) and returns one value per phrase: an array ``[N]``
for a batch, a numpy scalar for a single roll. Pitch index ``i`` is MIDI ``i + LOWEST_PITCH``
(index 0 = MIDI 24 = C1), so its pitch class is ``(i + 24) % 12`` (0 = C).

Conventions shared by all metrics:

* A cell is *active* (the note sounds) when it is 1. Duration weighting counts active cells.
* A note is a maximal run of 1s along time in one pitch row; its *onset* is the first cell of the
  run. A run that is already sounding at step 0 counts as an onset at step 0 (a phrase cut through
  a held note starts a new note), and a note that has not ended by the last step is still one note.
* Beats are the windows ``[k * steps_per_beat, (k + 1) * steps_per_beat)``, bars likewise with
  ``steps_per_bar``. When ``T`` is not a multiple of the window, the shorter trailing window is a
  beat (bar) of its own, so every step belongs to exactly one window.
* Quantities that are undefined when nothing sounds (entropy, polyphony, pitch range, mean pitch,
  in-scale ratio) are NaN for an empty roll; counts and rates over steps/beats are defined (0 notes,
  empty-beat rate 1).

Example:
    >>> import numpy as np
    >>> roll = np.zeros((16, 84), bool)
    >>> roll[0:4, 60 - 24] = True            # C4 quarter note on beat 1
    >>> roll[8:12, [64 - 24, 67 - 24]] = True  # E4+G4 on beat 3; beats 2 and 4 are silent
    >>> float(empty_beat_rate(roll)), int(num_pitch_classes(roll))
    (0.5, 3)
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from mst.encodings.pianoroll import LOWEST_PITCH, NUM_PITCHES, STEPS_PER_BEAT

Weighting = Literal["duration", "onset"]
WEIGHTINGS: tuple[str, ...] = ("duration", "onset")
STEPS_PER_BAR = 4 * STEPS_PER_BEAT  # 4/4 bars only (the data pipeline keeps 4/4 songs)

PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor (aeolian), as in muspy
# Keys 0..11 are the major keys on C..B, 12..23 the minor keys on C..B.
KEY_NAMES: tuple[str, ...] = tuple(f"{name} major" for name in PITCH_CLASS_NAMES) + tuple(
    f"{name} minor" for name in PITCH_CLASS_NAMES
)

# Row i is the one-hot pitch class of pitch index i. Folding through this matrix groups
# octave-equivalent pitches (C1, C2, ... share a bin), unlike reshaping the pitch axis into
# blocks of consecutive semitones (the MuseGAN/pypianoroll chroma bug).
PITCH_CLASS_OF_INDEX = (np.arange(NUM_PITCHES) + LOWEST_PITCH) % 12
_PITCH_TO_CLASS = np.eye(12, dtype=np.int64)[PITCH_CLASS_OF_INDEX]  # [84, 12]
_MIDI_PITCH = np.arange(NUM_PITCHES) + LOWEST_PITCH


def _scale_masks() -> np.ndarray:
    masks = np.zeros((24, 12), dtype=np.int64)
    for root in range(12):
        masks[root, [(root + step) % 12 for step in MAJOR_SCALE]] = 1
        masks[12 + root, [(root + step) % 12 for step in MINOR_SCALE]] = 1
    return masks


_KEY_SCALE_MASKS = _scale_masks()  # [24, 12]
_KEY_TONICS = np.concatenate([np.arange(12), np.arange(12)])


def as_roll_batch(rolls, name: str = "rolls") -> tuple[np.ndarray, bool]:
    """Validates binary rolls and returns them as a bool batch ``[N, T, 84]``.

    Args:
        rolls: ``[T, 84]`` or ``[T, 84, 1]`` (one roll), ``[N, T, 84]`` or ``[N, T, 84, 1]`` (a
            batch); bool or numbers exactly 0/1.
        name: Argument name used in error messages.

    Returns:
        ``(batch, single)``: the bool batch and whether the input was a single roll.

    Raises:
        ValueError: On another shape, an empty time or batch axis, or non-binary values.

    Example:
        >>> batch, single = as_roll_batch(np.zeros((64, 83)))
        Traceback (most recent call last):
        ...
        ValueError: rolls must be [T, 84], [T, 84, 1], [N, T, 84] or [N, T, 84, 1]; got shape (64, 83)
        >>> as_roll_batch(np.zeros((64, 84, 1)))[0].shape
        (1, 64, 84)
        >>> batch, single = as_roll_batch(np.zeros((2, 64, 84, 1)))
        >>> batch.shape, batch.dtype, single
        ((2, 64, 84), dtype('bool'), False)
    """
    array = np.asarray(rolls)
    shape = array.shape
    if array.ndim in (3, 4) and shape[-1] == 1:
        array = array[..., 0]  # drop the TF channel axis
    single = array.ndim == 2
    if single:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[-1] != NUM_PITCHES:
        raise ValueError(
            f"{name} must be [T, {NUM_PITCHES}], [T, {NUM_PITCHES}, 1], [N, T, {NUM_PITCHES}] or "
            f"[N, T, {NUM_PITCHES}, 1]; got shape {shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} needs at least one phrase and one time step; got shape {shape}")
    if array.dtype == bool:
        return array, single
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric or bool; got dtype {array.dtype}")
    is_one = array == 1
    if not np.all(is_one | (array == 0)):
        raise ValueError(
            f"{name} must be binary (every value 0 or 1); binarize model outputs first with "
            "mst.encodings.pianoroll.binarize"
        )
    return is_one, single


def _per_phrase(values: np.ndarray, single: bool):
    return values[0] if single else values


def _check_weighting(weighting: str) -> None:
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}; got {weighting!r}")


def _onsets(batch: np.ndarray) -> np.ndarray:
    previous = np.zeros_like(batch)
    previous[:, 1:] = batch[:, :-1]
    return batch & ~previous


def _pitch_weights(batch: np.ndarray, weighting: str) -> np.ndarray:
    """Per-pitch weight ``[N, 84]``: active cells (duration) or onsets (onset)."""
    _check_weighting(weighting)
    cells = batch if weighting == "duration" else _onsets(batch)
    return cells.sum(axis=1, dtype=np.int64)


def _pitch_class_counts(batch: np.ndarray, weighting: str) -> np.ndarray:
    return _pitch_weights(batch, weighting) @ _PITCH_TO_CLASS  # [N, 12] int64


def _window_is_empty(batch: np.ndarray, window: int) -> np.ndarray:
    """``[N, ceil(T / window)]``: True where a window has no active cell (trailing one may be short)."""
    if int(window) != window or window < 1:
        raise ValueError(f"window length must be a positive integer; got {window}")
    window = int(window)
    num_steps = batch.shape[1]
    num_windows = -(-num_steps // window)
    active_steps = batch.any(axis=2)
    padded = np.zeros((batch.shape[0], num_windows * window), dtype=bool)
    padded[:, :num_steps] = active_steps
    return ~padded.reshape(batch.shape[0], num_windows, window).any(axis=2)


def note_onsets(rolls) -> np.ndarray:
    """Bool mask of note onsets, same layout as the input (channel axis dropped).

    A cell is an onset when it is active and the cell before it in the same pitch row is not
    (or it is at step 0).

    Example:
        >>> roll = np.zeros((6, 84), bool)
        >>> roll[[0, 1, 3, 4, 5], 0] = True   # two notes on C1: steps 0-1 and 3-5
        >>> np.flatnonzero(note_onsets(roll)[:, 0]).tolist()
        [0, 3]
    """
    batch, single = as_roll_batch(rolls)
    return _per_phrase(_onsets(batch), single)


def note_count(rolls) -> np.ndarray:
    """Number of notes (maximal runs of 1s per pitch row), as int64.

    Example:
        >>> roll = np.zeros((8, 84), bool)
        >>> roll[0:8, 10] = True; roll[2:3, 20] = True; roll[5:7, 20] = True
        >>> int(note_count(roll))
        3
    """
    batch, single = as_roll_batch(rolls)
    return _per_phrase(_onsets(batch).sum(axis=(1, 2), dtype=np.int64), single)


def pitch_class_histogram(rolls, weighting: Weighting = "duration", normalize: bool = True) -> np.ndarray:
    """12-bin pitch-class histogram ``[N, 12]`` (bin 0 = C), octave-folded.

    Args:
        rolls: Binary roll(s), see the module docstring.
        weighting: ``"duration"`` counts active cells (a half note weighs twice a quarter note, as in
            MGEval); ``"onset"`` counts notes.
        normalize: Divide each row by its total so it sums to 1. An empty roll gives all zeros.

    Example:
        >>> roll = np.zeros((8, 84), bool)
        >>> roll[0:6, 60 - 24] = True   # C4, 6 steps
        >>> roll[6:8, 43 - 24] = True   # G2, 2 steps
        >>> pitch_class_histogram(roll)[[0, 7]].tolist()
        [0.75, 0.25]
        >>> pitch_class_histogram(roll, "onset")[[0, 7]].tolist()
        [0.5, 0.5]
    """
    batch, single = as_roll_batch(rolls)
    counts = _pitch_class_counts(batch, weighting).astype(np.float64)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        counts = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return _per_phrase(counts, single)


def pitch_class_entropy(rolls, weighting: Weighting = "duration") -> np.ndarray:
    """Shannon entropy in bits (log2) of the normalised pitch-class histogram; NaN for an empty roll.

    Ranges from 0 (one pitch class) to log2(12) ≈ 3.585 (all twelve equally).

    Example:
        >>> roll = np.zeros((8, 84), bool)
        >>> roll[0:4, 0] = True; roll[4:8, 4] = True   # C and E, equal durations
        >>> float(pitch_class_entropy(roll))
        1.0
    """
    batch, single = as_roll_batch(rolls)
    counts = _pitch_class_counts(batch, weighting).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    terms = np.zeros_like(probabilities)
    np.multiply(probabilities, np.log2(probabilities, where=probabilities > 0, out=terms), out=terms)
    entropy = -terms.sum(axis=1)
    entropy = np.where(totals[:, 0] > 0, entropy + 0.0, np.nan)  # + 0.0 turns -0.0 into 0.0
    return _per_phrase(entropy, single)


def num_pitch_classes(rolls) -> np.ndarray:
    """Number of distinct pitch classes (0..12) with at least one active cell, as int64.

    Example:
        >>> roll = np.zeros((4, 84), bool)
        >>> roll[0, [0, 12, 24]] = True    # C1, C2, C3: one pitch class
        >>> int(num_pitch_classes(roll))
        1
    """
    batch, single = as_roll_batch(rolls)
    used = (_pitch_class_counts(batch, "duration") > 0).sum(axis=1)
    return _per_phrase(used.astype(np.int64), single)


def polyphony(rolls) -> np.ndarray:
    """Mean number of active pitches over the steps with at least one active pitch; NaN if none.

    Example:
        >>> roll = np.zeros((4, 84), bool)
        >>> roll[0, [0, 4, 7]] = True; roll[1, 0] = True   # 3 pitches, then 1, then 2 silent steps
        >>> float(polyphony(roll))
        2.0
    """
    batch, single = as_roll_batch(rolls)
    active_per_step = batch.sum(axis=2)
    sounding_steps = (active_per_step > 0).sum(axis=1)
    totals = active_per_step.sum(axis=1).astype(np.float64)
    mean = np.divide(totals, sounding_steps, out=np.full_like(totals, np.nan), where=sounding_steps > 0)
    return _per_phrase(mean, single)


def polyphony_rate(rolls, min_pitches: int = 2) -> np.ndarray:
    """Share of *all* steps (silent ones included) with **at least** ``min_pitches`` active pitches.

    Note the ``>=``: muspy's ``polyphony_rate(threshold=2)`` counts steps with more than 2 pitches;
    ``polyphony_rate(x, min_pitches=3)`` here equals that.

    Example:
        >>> roll = np.zeros((4, 84), bool)
        >>> roll[0, [0, 4, 7]] = True; roll[1, [0, 4]] = True; roll[2, 0] = True
        >>> float(polyphony_rate(roll, 2)), float(polyphony_rate(roll, 3))
        (0.5, 0.25)
    """
    if int(min_pitches) != min_pitches or min_pitches < 1:
        raise ValueError(f"min_pitches must be a positive integer; got {min_pitches}")
    batch, single = as_roll_batch(rolls)
    rate = (batch.sum(axis=2) >= min_pitches).mean(axis=1)
    return _per_phrase(rate, single)


def empty_beat_rate(rolls, steps_per_beat: int = STEPS_PER_BEAT) -> np.ndarray:
    """Share of beats in which no cell is active (the *empty* share, not the non-empty one).

    A note held across a beat boundary makes both beats non-empty. With ``T`` not a multiple of
    ``steps_per_beat`` the short trailing window counts as one beat.

    Example:
        >>> roll = np.zeros((16, 84), bool)
        >>> roll[2:6, 30] = True    # crosses from beat 1 into beat 2; beats 3 and 4 silent
        >>> float(empty_beat_rate(roll))
        0.5
    """
    batch, single = as_roll_batch(rolls)
    return _per_phrase(_window_is_empty(batch, steps_per_beat).mean(axis=1), single)


def empty_bar_rate(rolls, steps_per_bar: int = STEPS_PER_BAR) -> np.ndarray:
    """Share of bars (``steps_per_bar`` = 16 steps in 4/4) in which no cell is active.

    Example:
        >>> roll = np.zeros((64, 84), bool)
        >>> roll[15:17, 30] = True   # touches bars 1 and 2; bars 3 and 4 silent
        >>> float(empty_bar_rate(roll))
        0.5
    """
    batch, single = as_roll_batch(rolls)
    return _per_phrase(_window_is_empty(batch, steps_per_bar).mean(axis=1), single)


def note_density(rolls, steps_per_bar: int = STEPS_PER_BAR) -> np.ndarray:
    """Notes (onsets) per bar: ``note_count / (T / steps_per_bar)`` (a 64-step phrase is 4 bars).

    Example:
        >>> roll = np.zeros((64, 84), bool)
        >>> roll[0:64:4, 40] = True   # 16 sixteenth notes, one per beat
        >>> float(note_density(roll))
        4.0
    """
    if steps_per_bar <= 0:
        raise ValueError(f"steps_per_bar must be positive; got {steps_per_bar}")
    batch, single = as_roll_batch(rolls)
    counts = _onsets(batch).sum(axis=(1, 2), dtype=np.int64)
    return _per_phrase(counts / (batch.shape[1] / steps_per_bar), single)


def pitch_range(rolls) -> np.ndarray:
    """Highest minus lowest active MIDI pitch in semitones; 0 for one pitch, NaN for an empty roll.

    Example:
        >>> roll = np.zeros((4, 84), bool)
        >>> roll[0, 60 - 24] = True; roll[3, 43 - 24] = True   # C4 and G2
        >>> float(pitch_range(roll))
        17.0
    """
    batch, single = as_roll_batch(rolls)
    pitch_used = batch.any(axis=1)  # [N, 84]
    has_notes = pitch_used.any(axis=1)
    highest = NUM_PITCHES - 1 - np.argmax(pitch_used[:, ::-1], axis=1)
    lowest = np.argmax(pitch_used, axis=1)
    spans = np.where(has_notes, (highest - lowest).astype(np.float64), np.nan)
    return _per_phrase(spans, single)


def mean_pitch(rolls, weighting: Weighting = "duration") -> np.ndarray:
    """Weighted mean MIDI pitch (60 = C4) of active cells or of onsets; NaN for an empty roll.

    Example:
        >>> roll = np.zeros((4, 84), bool)
        >>> roll[0:3, 60 - 24] = True; roll[3, 64 - 24] = True   # C4 x3 steps, E4 x1 step
        >>> float(mean_pitch(roll)), float(mean_pitch(roll, "onset"))
        (61.0, 62.0)
    """
    batch, single = as_roll_batch(rolls)
    weights = _pitch_weights(batch, weighting).astype(np.float64)
    totals = weights.sum(axis=1)
    weighted = weights @ _MIDI_PITCH.astype(np.float64)
    mean = np.divide(weighted, totals, out=np.full_like(totals, np.nan), where=totals > 0)
    return _per_phrase(mean, single)


class ScaleMatch(NamedTuple):
    """Result of :func:`in_scale_ratio`: per-phrase ratio and key index (see :data:`KEY_NAMES`)."""

    ratio: np.ndarray
    key: np.ndarray


def in_scale_ratio(rolls, weighting: Weighting = "duration") -> ScaleMatch:
    """Share of weight inside the best-matching major/natural-minor scale, over all 24 keys.

    The best key maximises the in-scale weight. A natural-minor scale has the same pitch classes as
    its relative major (A minor = C major), so ties are the rule; they are broken by the larger
    weight on the key's tonic pitch class, then by the lower key index (majors before minors, C
    first). This is scale matching, not key detection. Empty roll: ratio NaN and key -1.

    Returns:
        ``ScaleMatch(ratio, key)``; ``KEY_NAMES[key]`` names the key.

    Example:
        >>> roll = np.zeros((8, 84), bool)
        >>> roll[0:4, 57 - 24] = True   # A3 (tonic weight favours A minor over C major)
        >>> roll[4:7, 60 - 24] = True   # C4
        >>> roll[7:8, 61 - 24] = True   # C#4, outside A minor / C major
        >>> match = in_scale_ratio(roll)
        >>> float(match.ratio), KEY_NAMES[int(match.key)]
        (0.875, 'A minor')
    """
    batch, single = as_roll_batch(rolls)
    counts = _pitch_class_counts(batch, weighting)  # [N, 12] exact integers
    in_scale = counts @ _KEY_SCALE_MASKS.T  # [N, 24]
    tonic = counts[:, _KEY_TONICS]  # [N, 24]
    # Integer compound score: in-scale weight first, tonic weight second; argmax takes the lowest
    # index among exact ties. Integers avoid float-equality pitfalls.
    score = in_scale * (counts.sum(axis=1, keepdims=True) + 1) + tonic
    key = np.argmax(score, axis=1)
    totals = counts.sum(axis=1)
    best = in_scale[np.arange(len(key)), key].astype(np.float64)
    ratio = np.divide(best, totals, out=np.full(len(key), np.nan), where=totals > 0)
    key = np.where(totals > 0, key, -1).astype(np.int64)
    return ScaleMatch(_per_phrase(ratio, single), _per_phrase(key, single))


SCALAR_METRICS: tuple[str, ...] = (
    "pitch_class_entropy",
    "num_pitch_classes",
    "polyphony",
    "polyphony_rate",
    "empty_beat_rate",
    "empty_bar_rate",
    "note_density",
    "pitch_range",
    "mean_pitch",
    "in_scale_ratio",
)


def scalar_metrics(rolls) -> dict[str, np.ndarray]:
    """All scalar metrics with their default arguments, keyed as in :data:`SCALAR_METRICS`.

    Every value is a float64 array ``[N]`` (a 0-d array for a single roll), ready for
    :func:`mst.metrics.distribution.compare_metric_distributions`.

    Example:
        >>> metrics = scalar_metrics(np.zeros((3, 64, 84, 1)))
        >>> sorted(metrics) == sorted(SCALAR_METRICS), metrics["empty_bar_rate"].tolist()
        (True, [1.0, 1.0, 1.0])
    """
    batch, single = as_roll_batch(rolls)
    values = {
        "pitch_class_entropy": pitch_class_entropy(batch),
        "num_pitch_classes": num_pitch_classes(batch),
        "polyphony": polyphony(batch),
        "polyphony_rate": polyphony_rate(batch),
        "empty_beat_rate": empty_beat_rate(batch),
        "empty_bar_rate": empty_bar_rate(batch),
        "note_density": note_density(batch),
        "pitch_range": pitch_range(batch),
        "mean_pitch": mean_pitch(batch),
        "in_scale_ratio": in_scale_ratio(batch).ratio,
    }
    return {name: np.asarray(_per_phrase(value, single), dtype=np.float64) for name, value in values.items()}
