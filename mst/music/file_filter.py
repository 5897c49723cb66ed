"""File filter: which songs are usable, and why the others are not (stable reason codes).

:func:`check_song` runs these checks in order and returns the first failure:

1. ``absurd_ticks``: ticks per beat < 1, or a tick outside ``0 .. mst.music.midi.MAX_TICK - 1``
   (:func:`mst.music.midi.read_midi` already refuses such files; songs built in memory are checked here).
2. ``absurd_tempo``: a tempo that is not finite or outside ``MIN_QPM .. MAX_QPM`` (1..1000 quarter
   notes per minute; real corpora span 8..361). The grid is tick-based, so tempo does not move
   notes, but such a value means a broken file, and written-back MIDI would copy it.
3. ``no_notes``: no note with positive duration.
4. ``drums_only``: every such note is a drum note (when drums are dropped).
5. ``too_long``: the song would be longer than ``max_steps`` steps of the 16th-note grid
   (:func:`mst.encodings.grid.song_length_steps`; the filter is the pianoroll pipeline's, so it
   knows that grid, while :mod:`mst.music.midi` knows ticks only).
6. The time-signature policy:

   * ``"strict"`` (default, the authors' ``convert_clean.py``): exactly one time-signature
     event (``no_time_signature`` / ``multiple_time_signatures``; two identical events at tick 0
     count as two, as in pretty_midi), and it is 4/4 (``not_4_4``) at tick 0
     (``first_beat_not_zero``).
   * ``"in_effect"``: the signatures that actually govern notes must all have 4 quarter-note
     beats per bar (numerator == denominator: 4/4, 2/2, 8/8; else ``not_4_4``) and start on a
     bar line of the 16-step grid, i.e. at a multiple of 4 quarter notes (else
     ``first_beat_not_zero``: the bars would not start where the phrases are cut). Events at
     one tick collapse to the last one (POP909 often declares 4/4 then 1/4 at tick 0: that is
     1/4, rejected); events at or after the last note-off govern nothing and are ignored. Before
     the first event the SMF default 4/4 applies, so a file without any signature is kept.
   * ``"beat_grid"``: declared signatures are ignored; 16-beat phrases are cut on the
     quarter-note grid from tick 0.

``no_complete_phrase`` and ``all_phrases_empty`` come from phrase cutting
(:func:`mst.encodings.pianoroll_extract.extract_song`); ``empty_file``, ``not_midi`` and ``unreadable`` from reading.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from mst.encodings.grid import DEFAULT_MAX_STEPS, song_length_steps
from mst.music.midi import MAX_TICK, Song

TimeSignaturePolicy = Literal["strict", "in_effect", "beat_grid"]
POLICIES: tuple[str, ...] = ("strict", "in_effect", "beat_grid")

REASONS: tuple[str, ...] = (
    "unreadable",
    "empty_file",
    "not_midi",
    "no_notes",
    "drums_only",
    "no_time_signature",
    "multiple_time_signatures",
    "not_4_4",
    "first_beat_not_zero",
    "absurd_ticks",
    "absurd_tempo",
    "too_long",
    "no_complete_phrase",
    "all_phrases_empty",
)
"""Every rejection reason code (stable, machine-readable)."""

TIME_SIGNATURE_REASONS = frozenset({"no_time_signature", "multiple_time_signatures", "not_4_4", "first_beat_not_zero"})

MIN_QPM = 1.0
MAX_QPM = 1000.0
BEATS_PER_BAR = 4  # quarter notes per bar of the 16-step grid


@dataclasses.dataclass(frozen=True)
class Rejection:
    """Why a file is not used.

    Attributes:
        reason: One of :data:`REASONS`.
        detail: Human-readable explanation (values found, limits).
    """

    reason: str
    detail: str = ""

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"unknown rejection reason {self.reason!r}; expected one of {REASONS}")

    def to_dict(self) -> dict:
        """``{"reason": ..., "detail": ...}``."""
        return dataclasses.asdict(self)


def check_policy(policy: str) -> str:
    """Returns ``policy`` if it is one of :data:`POLICIES`, else raises ``ValueError``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown time-signature policy {policy!r}; expected one of {POLICIES}")
    return policy


def check_song(
    song: Song,
    policy: TimeSignaturePolicy = "strict",
    *,
    drop_drums: bool = True,
    max_steps: int | None = DEFAULT_MAX_STEPS,
) -> Rejection | None:
    """Applies the file filter (see the module docstring for the order of the checks).

    Args:
        song: The parsed song.
        policy: Time-signature policy, one of :data:`POLICIES`.
        drop_drums: Whether drums will be dropped (then a drums-only song is ``drums_only``).
        max_steps: Longest allowed roll in grid steps (``None``: no limit).

    Returns:
        ``None`` when the song passes, else the first :class:`Rejection`.
    """
    check_policy(policy)
    for check in (_check_ticks, _check_tempo):
        rejection = check(song)
        if rejection is not None:
            return rejection
    notes = song.notes
    sounding = notes[notes["end"] > notes["start"]]
    if sounding.size == 0:
        return Rejection("no_notes", f"{notes.size} notes, none with positive duration")
    if drop_drums and np.all(sounding["is_drum"]):
        return Rejection("drums_only", f"all {sounding.size} notes are drum notes")
    steps = song_length_steps(song)
    if max_steps is not None and steps > max_steps:
        return Rejection("too_long", f"{steps} grid steps > limit {max_steps}")
    return check_time_signatures(song, policy)


def _check_ticks(song: Song) -> Rejection | None:
    if song.ticks_per_beat < 1:
        return Rejection("absurd_ticks", f"{song.ticks_per_beat} ticks per beat")
    columns = (song.notes["start"], song.notes["end"], song.tempos["tick"], song.time_signatures["tick"])
    values = [column for column in columns if column.size]
    if values:
        low, high = min(int(c.min()) for c in values), max(int(c.max()) for c in values)
        if low < 0 or high >= MAX_TICK:
            return Rejection("absurd_ticks", f"ticks span {low}..{high}, allowed 0..{MAX_TICK - 1}")
    return None


def _check_tempo(song: Song) -> Rejection | None:
    qpm = song.tempos["qpm"]
    bad = ~np.isfinite(qpm) | (qpm < MIN_QPM) | (qpm > MAX_QPM)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        return Rejection("absurd_tempo", f"{qpm[first]:g} quarter notes per minute at tick "
                         f"{int(song.tempos['tick'][first])}, allowed {MIN_QPM:g}..{MAX_QPM:g}")
    return None


def check_time_signatures(song: Song, policy: TimeSignaturePolicy = "strict") -> Rejection | None:
    """Applies only the time-signature policy (see the module docstring)."""
    check_policy(policy)
    if policy == "beat_grid":
        return None
    if policy == "strict":
        return _check_strict(song.time_signatures)
    return _check_in_effect(song)


def _describe(signature) -> str:
    return f"{int(signature['numerator'])}/{int(signature['denominator'])} at tick {int(signature['tick'])}"


def _check_strict(signatures: np.ndarray) -> Rejection | None:
    if signatures.size == 0:
        return Rejection("no_time_signature", "no time-signature event")
    if signatures.size > 1:
        listed = ", ".join(_describe(s) for s in signatures[:4]) + (", ..." if signatures.size > 4 else "")
        return Rejection("multiple_time_signatures", f"{signatures.size} events: {listed}")
    (signature,) = signatures
    if (int(signature["numerator"]), int(signature["denominator"])) != (4, 4):
        return Rejection("not_4_4", _describe(signature))
    if int(signature["tick"]) != 0:
        return Rejection("first_beat_not_zero", f"the only time signature, {_describe(signature)}, starts after "
                         "the first beat (tick 0), so bars would not start where phrases are cut"
                         + _policy_hint("strict"))
    return None


_POLICY_EFFECTS = {
    "strict": "one 4/4 event at tick 0",
    "in_effect": "accepts signatures that start on a bar line of the grid",
    "beat_grid": "ignores time signatures and cuts on the quarter-note grid from tick 0",
}


def _policy_hint(policy: str) -> str:
    """``"; --time-signature-policy X (what X does) or Y (...) ..."``: the policies other than ``policy``."""
    others = [f"{name} ({_POLICY_EFFECTS[name]})" for name in POLICIES if name != policy]
    return "; --time-signature-policy " + " or ".join(others) + " may keep it"


def signatures_in_effect(song: Song) -> np.ndarray:
    """Time signatures that govern notes: the last event of each tick, before the last note-off.

    Returns:
        The subset of ``song.time_signatures``, sorted by tick (may be empty: SMF default 4/4).
    """
    signatures = song.time_signatures[np.argsort(song.time_signatures["tick"], kind="stable")]
    if signatures.size == 0:
        return signatures
    last_of_tick = np.r_[signatures["tick"][1:] != signatures["tick"][:-1], True]
    signatures = signatures[last_of_tick]
    sounding = song.notes[song.notes["end"] > song.notes["start"]]
    music_end = int(sounding["end"].max()) if sounding.size else 0
    return signatures[signatures["tick"] < music_end]


def _check_in_effect(song: Song) -> Rejection | None:
    bar_ticks = BEATS_PER_BAR * song.ticks_per_beat
    for signature in signatures_in_effect(song):
        if int(signature["numerator"]) != int(signature["denominator"]):
            return Rejection("not_4_4", f"{_describe(signature)} does not have 4 quarter-note beats per bar")
        if int(signature["tick"]) % bar_ticks:
            return Rejection("first_beat_not_zero", f"{_describe(signature)} is not on a bar line "
                             f"(multiple of {bar_ticks} ticks) of the grid that starts at tick 0, so bars would "
                             "not start where phrases are cut; --time-signature-policy beat_grid "
                             f"({_POLICY_EFFECTS['beat_grid']}) may keep it")
    return None
