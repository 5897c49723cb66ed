"""Drum encodings of MusicVAE / GrooVAE: the 9 drum classes, the groove tensor, the 512-way multi-drum one-hot.

Re-implemented from the description in ``docs/music_vae.md`` (Magenta's ``GrooveConverter`` and
``DrumsConverter``), on mst's tick grid (:mod:`mst.encodings.grid`: 4 steps per quarter note,
``step = floor(tick * 4 / ticks_per_beat + 1/2)``, the rounding of note-seq's quantiser).

**Drum classes** (index: name): 0 kick, 1 snare, 2 closed hi-hat, 3 open hi-hat, 4 low tom,
5 mid tom, 6 high tom, 7 crash, 8 ride. Two pitch maps: :data:`ROLAND_DRUM_PITCH_CLASSES` (the
Roland TD-11 numbers of the Groove MIDI Dataset, what GrooVAE trains with) and
:data:`GM_DRUM_PITCH_CLASSES` (General MIDI, what Magenta maps with at inference). Decoding writes
the first pitch of each class.

**Groove tensor** ``float32 [T, 27]``: per step ``[9 hits, 9 velocities, 9 offsets]``; ``hit`` in
{0, 1}, ``velocity = MIDI velocity / 127``, ``offset = 2 * (grid time - onset) / step length`` in
``[-1, 1]`` (positive = played early); empty cells are all 0; of several hits of one drum in one
cell the loudest is kept. Back to notes: a note wherever ``hit > 0.5``, velocity
``round(127 v)`` clipped to 1..127, start ``(step - offset / 2) * step length``, one step long.

Example:
    >>> import numpy as np
    >>> from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures
    >>> notes = make_notes([0, 115, 240], [60, 175, 300], [36, 38, 42], velocity=[127, 64, 100], is_drum=True)
    >>> song = Song("", 480, notes, make_tempos([0], [120.0]), make_time_signatures([0], [4], [4]), end_tick=300)
    >>> grid = onset_grid(song_onsets(song), 16)
    >>> grid.hits[:3].nonzero(), float(grid.velocities[1, 1]), float(grid.offsets[1, 1])
    ((array([0, 1, 2]), array([0, 1, 2])), 0.5039..., 0.0833...)
    >>> [(int(n["pitch"]), int(n["start"]), int(n["velocity"])) for n in grid_to_notes(grid.tensor(), ticks_per_beat=480)]
    [(36, 0, 127), (38, 115, 64), (42, 240, 100)]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mst.encodings.grid import STEPS_PER_BEAT, ticks_to_steps
from mst.music.midi import Song, make_notes

NUM_DRUMS = 9
GROOVE_DEPTH = 3 * NUM_DRUMS
"""Depth of a groove step: 9 hits, 9 velocities, 9 offsets."""
STEPS_PER_BAR = 16
"""Grid steps of a 4/4 bar (the only metre the converters accept)."""
DRUM_NAMES = ("kick", "snare", "closed_hihat", "open_hihat", "low_tom", "mid_tom", "high_tom", "crash", "ride")
TAP_CHANNEL = 3
"""Where ``tapify`` puts every hit (the open hi-hat class, as Magenta)."""

ROLAND_DRUM_PITCH_CLASSES = (
    (36,), (38, 37, 40), (42, 22, 44), (46, 26), (43, 58), (47, 45), (50, 48), (49, 52, 55, 57), (51, 53, 59),
)
"""Roland TD-11 pitches per class (the Groove MIDI Dataset's kit)."""
GM_DRUM_PITCH_CLASSES = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)
"""General-MIDI pitches per class (note-seq's ``DEFAULT_DRUM_TYPE_PITCHES``)."""
PITCH_CLASSES = {"roland": ROLAND_DRUM_PITCH_CLASSES, "gm": GM_DRUM_PITCH_CLASSES}
"""Pitch map name -> classes."""
DRUM_CHANNEL_PROGRAM = 0
DRUM_TRACK = 0


def pitch_class_map(name: str) -> dict[int, int]:
    """``{MIDI pitch: drum class}`` of a pitch map (``"roland"`` or ``"gm"``).

    Example:
        >>> pitch_class_map("roland")[40], pitch_class_map("gm")[35]
        (1, 0)
    """
    if name not in PITCH_CLASSES:
        raise ValueError(f"unknown drum pitch map {name!r}; choose one of {', '.join(PITCH_CLASSES)}")
    return {pitch: index for index, pitches in enumerate(PITCH_CLASSES[name]) for pitch in pitches}


@dataclasses.dataclass(frozen=True)
class Onsets:
    """Drum onsets of a song (or a window of one) on the grid.

    Attributes:
        steps: Grid step of each onset (int64), relative to the window start.
        drums: Drum class of each onset.
        velocities: MIDI velocity of each onset.
        offsets: ``2 * (grid time - onset) / step`` of each onset, in ``[-1, 1]``.
        unmapped: Number of drum notes whose pitch the map does not know (dropped).
    """

    steps: np.ndarray
    drums: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    unmapped: int = 0


def drum_notes(song: Song) -> np.ndarray:
    """The song's drum-channel notes, or all its notes when it has none (tapped input on a keyboard)."""
    drums = song.notes[song.notes["is_drum"]]
    return drums if drums.size else song.notes


def song_onsets(song: Song, pitch_classes: str = "roland", start_tick: int = 0, end_tick: int | None = None) -> Onsets:
    """Onsets of the notes starting in ``[start_tick, end_tick)``, quantised relative to ``start_tick``.

    Args:
        song: The song (ticks).
        pitch_classes: ``"roland"`` or ``"gm"``.
        start_tick: Window start (a grid line).
        end_tick: Window end (``None``: the song's end).
    """
    mapping = pitch_class_map(pitch_classes)
    notes = drum_notes(song)
    keep = notes["start"] >= start_tick
    if end_tick is not None:
        keep &= notes["start"] < end_tick
    notes = notes[keep]
    classes = np.array([mapping.get(int(p), -1) for p in notes["pitch"]], dtype=np.int64)
    known = classes >= 0
    notes, classes = notes[known], classes[known]
    relative = notes["start"].astype(np.int64) - int(start_tick)
    steps = ticks_to_steps(relative, song.ticks_per_beat)
    step_ticks = song.ticks_per_beat / STEPS_PER_BEAT
    offsets = 2.0 * (steps * step_ticks - relative) / step_ticks
    return Onsets(steps.astype(np.int64), classes, notes["velocity"].astype(np.int64), offsets.astype(np.float64), int((~known).sum()))


@dataclasses.dataclass(frozen=True)
class OnsetGrid:
    """Hits, velocities (0..1) and offsets (-1..1) per step and drum, ``[T, 9]`` each (float32)."""

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    def tensor(self) -> np.ndarray:
        """The ``[T, 27]`` groove tensor."""
        return np.concatenate([self.hits, self.velocities, self.offsets], axis=1).astype(np.float32)


def onset_grid(onsets: Onsets, total_steps: int) -> OnsetGrid:
    """Puts onsets on a ``[total_steps, 9]`` grid (loudest hit per cell; onsets past the end dropped)."""
    hits = np.zeros((total_steps, NUM_DRUMS), np.float32)
    velocities = np.zeros_like(hits)
    offsets = np.zeros_like(hits)
    loudest = np.full((total_steps, NUM_DRUMS), -1, np.int64)
    for step, drum, velocity, offset in zip(onsets.steps, onsets.drums, onsets.velocities, onsets.offsets):
        if not 0 <= step < total_steps or velocity <= loudest[step, drum]:
            continue
        loudest[step, drum] = velocity
        hits[step, drum] = 1.0
        velocities[step, drum] = velocity / 127.0
        offsets[step, drum] = offset
    return OnsetGrid(hits, velocities, offsets)


def split_groove(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hits, velocities, offsets)`` of a ``[..., 27]`` groove tensor."""
    tensor = np.asarray(tensor)
    if tensor.shape[-1] != GROOVE_DEPTH:
        raise ValueError(f"a groove tensor has {GROOVE_DEPTH} values per step, got shape {tensor.shape}")
    return tensor[..., :NUM_DRUMS], tensor[..., NUM_DRUMS : 2 * NUM_DRUMS], tensor[..., 2 * NUM_DRUMS :]


# --------------------------------------------------------------------------- input transforms


def humanize_input(tensor: np.ndarray) -> np.ndarray:
    """GrooVAE's ``humanize`` input: velocities and offsets zeroed (the quantised score)."""
    hits, _, _ = split_groove(tensor)
    return np.concatenate([hits, np.zeros_like(hits), np.zeros_like(hits)], axis=-1).astype(np.float32)


def tapify_input(tensor: np.ndarray) -> np.ndarray:
    """GrooVAE's ``tapify`` input: per step, the loudest hit (its velocity and offset) on channel 3.

    Example:
        >>> x = np.zeros((2, 27), np.float32); x[0, [0, 1]] = 1; x[0, [9, 10]] = [0.5, 0.9]; x[0, 19] = 0.4
        >>> y = tapify_input(x)
        >>> y[0, [3, 12, 21]].tolist(), float(y[1].sum())
        ([1.0, 0.8999999761581421, 0.4000000059604645], 0.0)
    """
    hits, velocities, offsets = split_groove(tensor)
    loudest = np.argmax(velocities, axis=-1)[..., None]
    out = np.zeros_like(np.asarray(tensor, np.float32))
    out[..., TAP_CHANNEL] = np.take_along_axis(hits, loudest, -1)[..., 0]
    out[..., NUM_DRUMS + TAP_CHANNEL] = np.take_along_axis(velocities, loudest, -1)[..., 0]
    out[..., 2 * NUM_DRUMS + TAP_CHANNEL] = np.take_along_axis(offsets, loudest, -1)[..., 0]
    return out


def fixed_velocities_input(tensor: np.ndarray) -> np.ndarray:
    """GrooVAE's ``fixed_velocities`` input: velocities zeroed (hits and offsets kept)."""
    hits, _, offsets = split_groove(tensor)
    return np.concatenate([hits, np.zeros_like(hits), offsets], axis=-1).astype(np.float32)


def note_dropout_input(tensor: np.ndarray, max_probability: float, rng: np.random.Generator) -> np.ndarray:
    """GrooVAE's note dropout: ``p ~ U(0, max)`` per sequence, each hit dropped with ``max(0.2, 1 - v) * p``."""
    hits, velocities, offsets = split_groove(tensor)
    probability = rng.uniform(0.0, max_probability)
    keep = 1.0 - rng.binomial(1, np.maximum(0.2, 1.0 - velocities) * probability)
    return np.concatenate([hits * keep, velocities * keep, offsets * keep], axis=-1).astype(np.float32)


def transform_input(tensor: np.ndarray, *, humanize: bool = False, tapify: bool = False, fixed_velocities: bool = False,
                    max_note_dropout: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """The encoder input of a groove (Magenta's order: note dropout, tapify, humanize, fixed velocities)."""
    out = np.asarray(tensor, np.float32)
    if max_note_dropout > 0:
        out = note_dropout_input(out, max_note_dropout, rng if rng is not None else np.random.default_rng())
    if tapify:
        out = tapify_input(out)
    if humanize:
        out = humanize_input(out)
    if fixed_velocities:
        out = fixed_velocities_input(out)
    return out


# --------------------------------------------------------------------------- windows


def whole_bars(onsets: Onsets) -> int:
    """Bars covering every onset: ``ceil((last onset step + 1) / 16)`` (0 without onsets)."""
    in_range = onsets.steps[onsets.steps >= 0]
    return 0 if in_range.size == 0 else int(-(-(int(in_range.max()) + 1) // STEPS_PER_BAR))


def converter_windows(onsets: Onsets, split_bars: int) -> np.ndarray:
    """Magenta's ``GrooveConverter`` on one sequence: pad to whole bars, cut into non-overlapping
    ``split_bars`` windows (an incomplete last window is dropped). Returns ``[n, 16 * split_bars, 27]``."""
    bars = whole_bars(onsets)
    grid = onset_grid(onsets, bars * STEPS_PER_BAR).tensor()
    size = split_bars * STEPS_PER_BAR
    windows = [grid[start : start + size] for start in range(0, len(grid) - size + 1, size)]
    return np.stack(windows) if windows else np.zeros((0, size, GROOVE_DEPTH), np.float32)


def total_bars_of(song: Song) -> int:
    """The TFDS ``groove`` builder's bar count: ``round(end / bar)`` (a last bar at least half full counts)."""
    bar_ticks = 4 * song.ticks_per_beat
    end = max(int(song.end_tick), int(song.notes["end"].max()) if song.notes.size else 0)
    return int((2 * end + bar_ticks) // (2 * bar_ticks))


def bar_window_grooves(song: Song, split_bars: int, pitch_classes: str = "roland") -> tuple[list[int], list[np.ndarray], int]:
    """The TFDS builder's ``{N}bar`` windows (hop one bar) each through the converter.

    Returns:
        ``(window indices, [16 * split_bars, 27] tensors, windows cut)``: a window gives a tensor
        when one of its onsets falls in its last bar (after quantisation relative to the window).
    """
    bar_ticks = 4 * song.ticks_per_beat
    cut = max(0, total_bars_of(song) - split_bars + 1)
    indices, tensors = [], []
    for window in range(cut):
        start = window * bar_ticks
        onsets = song_onsets(song, pitch_classes, start, start + split_bars * bar_ticks)
        found = converter_windows(onsets, split_bars)
        if len(found):
            indices.append(window)
            tensors.append(found[0])
    return indices, tensors, cut


def grid_to_notes(tensor: np.ndarray, *, ticks_per_beat: int = 480, pitch_classes: str = "gm", threshold: float = 0.5,
                  start_tick: int = 0) -> np.ndarray:
    """A ``[T, 27]`` groove tensor back to drum notes (:data:`mst.music.midi.NOTE_DTYPE`, channel 10).

    The first pitch of each class (``gm``: toms 45/48/50; ``roland``: 43/47/50); velocity
    ``round(127 v)`` clipped to 1..127; start ``(step - clip(offset / 2, ±0.5)) * step``; one step long.
    """
    hits, velocities, offsets = split_groove(tensor)
    classes = PITCH_CLASSES[pitch_classes]
    step_ticks = ticks_per_beat / STEPS_PER_BEAT
    steps, drums = np.nonzero(hits > threshold)
    if steps.size == 0:
        return make_notes([], [], [], is_drum=True)
    shift = np.clip(offsets[steps, drums] / 2.0, -0.5, 0.5)
    starts = np.maximum(0, np.floor((steps - shift) * step_ticks + 0.5)).astype(np.int64) + int(start_tick)
    velocity = np.clip(np.round(velocities[steps, drums] * 127.0), 1, 127).astype(np.int64)
    pitches = np.array([classes[d][0] for d in drums], np.int64)
    return make_notes(starts, starts + max(1, int(round(step_ticks))), pitches, velocity=velocity, program=DRUM_CHANNEL_PROGRAM,
                      is_drum=True, track=DRUM_TRACK)


# --------------------------------------------------------------------------- 512-way multi-drum one-hot


def drums_to_multihot(hits: np.ndarray) -> np.ndarray:
    """Magenta's ``MultiDrumOneHotEncoding``: the set of classes hit at a step as one of 2**9 = 512 classes.

    Class index = sum of ``2**drum`` over the drums hit (0 = silence).

    Example:
        >>> h = np.zeros((3, 9)); h[1, 0] = 1; h[2, [1, 2]] = 1
        >>> drums_to_multihot(h).tolist(), multihot_to_drums(drums_to_multihot(h)).astype(int).tolist() == h.astype(int).tolist()
        ([0, 1, 6], True)
    """
    hits = np.asarray(hits) > 0.5
    return (hits.astype(np.int64) << np.arange(NUM_DRUMS)).sum(axis=-1)


def multihot_to_drums(indices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`drums_to_multihot`: ``[..., 9]`` float32 hits."""
    indices = np.asarray(indices, np.int64)
    return ((indices[..., None] >> np.arange(NUM_DRUMS)) & 1).astype(np.float32)
