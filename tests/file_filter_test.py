"""Tests for mst.music.file_filter: the authors' strict filter, the other time-signature policies, reason codes."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MIDI_FIXTURES_DIR
from mst.music import file_filter as filters
from mst.music.file_filter import POLICIES, REASONS, Rejection, check_song, signatures_in_effect
from mst.music.midi import MIDI_ERROR_REASONS, MidiError, Song, make_notes, make_tempos, make_time_signatures, read_midi

# Reasons decided by check_song (the others come from reading or from phrase cutting).
FILTER_REASONS = {"no_notes", "drums_only", "no_time_signature", "multiple_time_signatures", "not_4_4",
                  "first_beat_not_zero", "absurd_tempo", "too_long"}


def song_with(signatures=((0, 4, 4),), *, notes=None, tempos=((0, 120.0),), ticks_per_beat=480) -> Song:
    """A 16-bar one-note-per-beat song with the given time signatures (tick, numerator, denominator)."""
    if notes is None:
        beats = np.arange(64)
        notes = make_notes(beats * ticks_per_beat, (beats + 1) * ticks_per_beat, 60 + beats % 12)
    ticks, numerators, denominators = (list(column) for column in zip(*signatures)) if signatures else ([], [], [])
    tempo_ticks, qpms = (list(column) for column in zip(*tempos)) if tempos else ([], [])
    return Song("memory.mid", ticks_per_beat, notes, make_tempos(tempo_ticks, qpms),
                make_time_signatures(ticks, numerators, denominators), int(notes["end"].max()) if notes.size else 0)


def reason(song: Song, policy: str = "strict", **kwargs) -> str | None:
    rejection = check_song(song, policy, **kwargs)
    return None if rejection is None else rejection.reason


def fixture_cases():
    import json  # noqa: PLC0415

    expected = json.loads((MIDI_FIXTURES_DIR / "expected.json").read_text())
    cases = [("good", name, policy, None) for name in expected["good"] for policy in POLICIES]
    for name, expectation in expected["bad"].items():
        try:
            read_midi(MIDI_FIXTURES_DIR / "bad" / name)
        except MidiError:
            continue  # decided while reading: tests/midi_test.py and tests/pianoroll_extract_test.py
        for policy in POLICIES:
            if expectation[policy] is None or expectation[policy] in FILTER_REASONS:
                cases.append(("bad", name, policy, expectation[policy]))
    return cases


@pytest.mark.parametrize("folder, name, policy, expected", fixture_cases())
def test_fixture_reasons(folder, name, policy, expected):
    assert reason(read_midi(MIDI_FIXTURES_DIR / folder / name), policy) == expected


def test_reason_codes_are_complete_and_stable():
    assert set(MIDI_ERROR_REASONS) <= set(REASONS) and "too_long" not in MIDI_ERROR_REASONS  # grid steps: encodings
    assert FILTER_REASONS | {"no_complete_phrase", "all_phrases_empty"} <= set(REASONS)
    assert len(set(REASONS)) == len(REASONS) == 14
    assert filters.TIME_SIGNATURE_REASONS <= set(REASONS)


def test_rejection_and_policy_validation():
    assert Rejection("not_4_4", "3/4 at tick 0").to_dict() == {"reason": "not_4_4", "detail": "3/4 at tick 0"}
    with pytest.raises(ValueError, match="unknown rejection reason"):
        Rejection("weird")
    with pytest.raises(ValueError, match="time-signature policy"):
        check_song(song_with(), "lenient")


# --------------------------------------------------------------------------------------------- strict


@pytest.mark.parametrize("signatures, expected", [
    (((0, 4, 4),), None),
    ((), "no_time_signature"),
    (((0, 4, 4), (0, 4, 4)), "multiple_time_signatures"),  # identical duplicates still count, as for the authors
    (((0, 2, 2),), "not_4_4"),
    (((0, 3, 4),), "not_4_4"),
    (((960, 4, 4),), "first_beat_not_zero"),
    (((1920, 3, 4),), "not_4_4"),  # the signature is checked before its position, as in convert_clean.py
])
def test_strict_policy(signatures, expected):
    assert reason(song_with(signatures)) == expected


# --------------------------------------------------------------------------------------------- in_effect


@pytest.mark.parametrize("signatures, expected", [
    (((0, 4, 4), (0, 1, 4)), "not_4_4"),               # last event at a tick wins: 1/4
    (((0, 1, 4), (0, 4, 4)), None),                    # ... here 4/4
    (((0, 2, 2), (7680, 8, 8), (15360, 4, 4)), None),  # 4 quarter-note beats per bar, on bar lines
    (((0, 4, 4), (64 * 480, 3, 4)), None),             # starts when the music has ended: governs nothing
    (((0, 4, 4), (63 * 480, 3, 4)), "not_4_4"),        # governs the last beat
    (((1920, 4, 4),), None),                           # SMF default 4/4 before it; on a bar line
    (((480, 4, 4),), "first_beat_not_zero"),           # pickup: bars start at tick 480
    (((0, 4, 4), (8160, 4, 4)), "first_beat_not_zero"),  # a change that is not on a bar line
    ((), None),                                        # SMF default 4/4
])
def test_in_effect_policy(signatures, expected):
    assert reason(song_with(signatures), "in_effect") == expected


def test_signatures_in_effect_collapses_and_sorts():
    song = song_with(((7680, 2, 2), (0, 3, 4), (0, 4, 4), (99999, 6, 8)))
    in_effect = signatures_in_effect(song)
    assert in_effect.tolist() == [(0, 4, 4), (7680, 2, 2)]


def test_beat_grid_ignores_signatures():
    for signatures in [(), ((0, 6, 8),), ((0, 4, 4), (0, 1, 4), (500, 5, 4))]:
        assert reason(song_with(signatures), "beat_grid") is None


# --------------------------------------------------------------------------------------------- content, limits


@pytest.mark.parametrize("policy", POLICIES)
def test_content_checks_come_before_time_signatures(policy):
    drums = make_notes([0, 480], [480, 960], [36, 38], is_drum=True)
    assert reason(song_with(((0, 3, 4),), notes=drums), policy) == "drums_only"
    assert reason(song_with(notes=drums), policy, drop_drums=False) is None
    zero = make_notes([0, 480], [0, 480], [60, 62])
    assert reason(song_with(((0, 3, 4),), notes=zero), policy) == "no_notes"
    assert reason(song_with(notes=make_notes([], [], [])), policy) == "no_notes"


@pytest.mark.parametrize("qpm, expected", [
    (1.0, None), (1000.0, None), (0.5, "absurd_tempo"), (1000.5, "absurd_tempo"), (np.inf, "absurd_tempo"),
    (np.nan, "absurd_tempo"),
])
def test_absurd_tempo(qpm, expected):
    song = song_with(tempos=((0, 120.0), (960, qpm)))
    assert reason(song) == expected
    if expected:
        assert "tick 960" in check_song(song).detail


def test_too_long_limit_and_absurd_ticks():
    song = song_with()  # 64 beats = 256 steps
    assert reason(song, max_steps=256) is None
    assert reason(song, max_steps=255) == "too_long"
    assert reason(song, max_steps=None) is None
    negative = song_with(notes=make_notes([-480], [480], [60]))
    assert reason(negative) == "absurd_ticks"
    huge = song_with(notes=make_notes([0], [10_000_000], [60]))
    assert reason(huge, max_steps=None) == "absurd_ticks"
    zero_division = Song("x.mid", 0, song.notes, song.tempos, song.time_signatures, song.end_tick)
    assert reason(zero_division) == "absurd_ticks"


def test_first_beat_not_zero_says_what_is_wrong_and_which_policies_may_keep_the_song():
    detail = check_song(song_with(((1920, 4, 4),))).detail
    assert detail.startswith("the only time signature, 4/4 at tick 1920, starts after the first beat (tick 0), "
                             "so bars would not start where phrases are cut; --time-signature-policy ")
    assert "in_effect (" in detail and "beat_grid (" in detail and "strict (" not in detail
    assert reason(song_with(((1920, 4, 4),)), "in_effect") is None  # the hint is true: it is on a bar line
    in_effect = check_song(song_with(((480, 4, 4),)), "in_effect").detail
    assert "so bars would not start where phrases are cut" in in_effect and "--time-signature-policy beat_grid" in in_effect
    assert set(filters._POLICY_EFFECTS) == set(POLICIES)  # noqa: SLF001
