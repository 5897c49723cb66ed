"""Tests for mst.encodings.pianoroll: song -> roll, phrases, batches, roll -> notes -> MIDI and round trips."""

from __future__ import annotations

import re

import numpy as np
import pretty_midi
import pytest

from conftest import MIDI_FIXTURES_DIR
from mst.encodings import pianoroll
from mst.encodings.errors import EncodingError
from mst.encodings.pianoroll import (
    LOWEST_PITCH,
    NUM_PITCHES,
    PHRASE_STEPS,
    as_phrase_batch,
    cut_phrases,
    drop_empty_phrases,
    roll_to_notes,
    song_to_roll,
    song_to_roll_with_stats,
    stitch_phrases,
    write_roll_midi,
)
from mst.music import midi
from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures, read_midi

GOOD = MIDI_FIXTURES_DIR / "good"


def make_song(notes: np.ndarray, ticks_per_beat: int = 480, end_tick: int | None = None) -> Song:
    end = int(notes["end"].max()) if notes.size else 0
    return Song("memory.mid", ticks_per_beat, notes, make_tempos([0], [120.0]), make_time_signatures([0], [4], [4]),
                end if end_tick is None else end_tick)


def cells(roll: np.ndarray, pitch: int) -> list[int]:
    return np.flatnonzero(roll[:, pitch - LOWEST_PITCH]).tolist()


# --------------------------------------------------------------------------------------------- song -> roll


def test_offgrid_fixture_roll_and_stats():
    roll, stats = song_to_roll_with_stats(read_midi(GOOD / "offgrid_short_notes.mid"))
    assert roll.dtype == bool and roll.shape == (256, NUM_PITCHES)
    assert cells(roll, 60) == [0]          # 11..35 ticks = 0.46..1.46 steps -> [0, 1)
    assert cells(roll, 62) == [1]          # 12..36 ticks = 0.5..1.5 steps -> [1, 2) (half up)
    assert cells(roll, 64) == [2]          # a 5-tick note still gets one step
    assert cells(roll, 65) == []           # zero-length note dropped
    assert cells(roll, 67) == list(range(192, 256))
    assert int(roll.sum()) == 3 + 64
    assert stats == pianoroll.RollStats(notes=7, drum_notes_dropped=0, zero_length_notes_dropped=1,
                                        out_of_range_notes_dropped=2, notes_on_grid=4, steps=256)


def test_grid_follows_ticks_not_tempo():
    roll = song_to_roll(read_midi(GOOD / "tempo_changes.mid"))
    assert roll.shape == (256, NUM_PITCHES)
    onsets = [int(np.flatnonzero(roll[:, pitch - LOWEST_PITCH])[0]) for pitch in range(60, 72)]
    assert onsets == [2 * k for k in range(12)]  # eighth note k starts at step 2k, across the tempo changes
    assert roll.sum(axis=1).tolist() == [1] * 256  # legato eighths: one pitch per step, no gaps


def test_drums_are_dropped_unless_asked_and_tracks_merge():
    song = read_midi(GOOD / "chords_bass_drums.mid")
    without, stats = song_to_roll_with_stats(song)
    with_drums = song_to_roll(song, drop_drums=False)
    assert stats.drum_notes_dropped == 80 and stats.notes_on_grid == 112
    assert cells(without, 38) == [] and len(cells(with_drums, 38)) == 40
    assert cells(without, 36)[:2] == [0, 1]  # the bass (program 33) is merged with the piano
    assert np.array_equal(with_drums & without, without)


def test_overlapping_notes_merge_and_pitch_range_edges():
    notes = make_notes(start=[0, 240, 0, 0, 0], end=[480, 720, 120, 120, 120], pitch=[60, 60, 23, 24, 107])
    roll, stats = song_to_roll_with_stats(make_song(notes))
    assert cells(roll, 60) == [0, 1, 2, 3, 4, 5]
    assert cells(roll, 24) == [0] and cells(roll, 107) == [0]
    assert stats.out_of_range_notes_dropped == 1


def test_roll_length_runs_to_the_last_event():
    notes = make_notes([0], [480], [60])
    assert song_to_roll(make_song(notes, end_tick=10 * 480 + 1)).shape[0] == 41  # ceil(40.008)
    assert song_to_roll(make_song(notes[:0], end_tick=0)).shape == (0, NUM_PITCHES)
    # A one-step minimum note at the very end makes the roll one step longer than its ticks.
    assert song_to_roll(make_song(make_notes([480], [481], [60]))).shape[0] == 5


def test_too_long_raises_an_encoding_error():
    song = make_song(make_notes([0], [480 * 1000], [60]))
    with pytest.raises(EncodingError) as caught:
        song_to_roll(song, max_steps=3999)
    assert caught.value.reason == "too_long" and "4000" in caught.value.detail and caught.value.path == "memory.mid"
    assert not isinstance(caught.value, midi.MidiError)
    assert song_to_roll(song, max_steps=None).shape[0] == 4000


# --------------------------------------------------------------------------------------------- phrases


def numbered_roll(steps: int) -> np.ndarray:
    """A roll whose step t has a note at pitch index t % 84, so phrases are recognisable."""
    roll = np.zeros((steps, NUM_PITCHES), bool)
    roll[np.arange(steps), np.arange(steps) % NUM_PITCHES] = True
    return roll


@pytest.mark.parametrize("steps, multiple_of, expected", [
    (0, 1, 0), (63, 1, 0), (64, 1, 1), (64 * 5 + 10, 1, 5), (64 * 5 + 10, 4, 4), (64 * 3, 4, 0), (64 * 8, 4, 8),
])
def test_cut_phrases_drops_tail_and_trims_to_multiple(steps, multiple_of, expected):
    roll = numbered_roll(steps)
    phrases = cut_phrases(roll, multiple_of=multiple_of)
    assert phrases.shape == (expected, PHRASE_STEPS, NUM_PITCHES) and phrases.dtype == bool
    if expected:
        np.testing.assert_array_equal(phrases.reshape(-1, NUM_PITCHES), roll[: expected * PHRASE_STEPS])


def test_cut_phrases_keep_tail_pads_and_stitch_restores():
    roll = numbered_roll(64 * 2 + 5)
    phrases = cut_phrases(roll, keep_tail=True)
    assert phrases.shape == (3, PHRASE_STEPS, NUM_PITCHES)
    assert not phrases[2, 5:].any()
    np.testing.assert_array_equal(stitch_phrases(phrases, length=roll.shape[0]), roll)
    padded = cut_phrases(roll, keep_tail=True, multiple_of=4)
    assert padded.shape[0] == 4 and not padded[3].any()
    np.testing.assert_array_equal(stitch_phrases(padded[..., None], length=roll.shape[0]), roll)


def test_phrase_functions_reject_bad_input():
    with pytest.raises(ValueError, match="shape"):
        cut_phrases(np.zeros((64, 128), bool))
    with pytest.raises(ValueError, match="multiple_of"):
        cut_phrases(np.zeros((64, NUM_PITCHES), bool), multiple_of=0)
    with pytest.raises(ValueError, match="length"):
        stitch_phrases(np.zeros((1, 64, NUM_PITCHES)), length=65)
    with pytest.raises(ValueError, match="shape"):
        stitch_phrases(np.zeros((1, 32, NUM_PITCHES)))


def test_as_phrase_batch_adds_the_channel_axis_and_names_a_bad_shape():
    phrases = np.random.default_rng(0).random((3, PHRASE_STEPS, NUM_PITCHES)) < 0.5
    batch = as_phrase_batch(phrases)
    assert batch.shape == (3, 64, 84, 1) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[..., 0], phrases)
    np.testing.assert_array_equal(as_phrase_batch(batch), batch)
    assert as_phrase_batch(np.zeros((0, 64, 84))).shape == (0, 64, 84, 1)
    assert as_phrase_batch([[[0.25] * 84] * 64]).shape == (1, 64, 84, 1)  # values are kept, not thresholded
    for shape in [(64, 84), (2, 64, 84, 2), (2, 32, 84), (2, 64, 83, 1)]:
        with pytest.raises(ValueError, match=rf"\[N, 64, 84\] or \[N, 64, 84, 1\], got shape {re.escape(str(shape))}"):
            as_phrase_batch(np.zeros(shape))


def test_drop_empty_phrases_returns_kept_indices():
    phrases = np.zeros((5, PHRASE_STEPS, NUM_PITCHES), bool)
    phrases[1, 3, 4] = phrases[4, 63, 83] = True
    kept, indices = drop_empty_phrases(phrases)
    assert indices.tolist() == [1, 4]
    np.testing.assert_array_equal(kept, phrases[[1, 4]])
    kept, indices = drop_empty_phrases(phrases[:1])
    assert kept.shape == (0, PHRASE_STEPS, NUM_PITCHES) and indices.size == 0


# --------------------------------------------------------------------------------------------- roll -> notes


def test_roll_to_notes_turns_runs_into_notes():
    roll = np.zeros((10, NUM_PITCHES), np.float32)
    roll[0:3, 0] = 1          # MIDI 24, steps 0-2
    roll[5:10, 0] = 1         # second run of the same pitch, to the last step
    roll[2:4, 83] = 1         # MIDI 107
    roll[4, 36] = 1           # one-step note, MIDI 60
    notes = roll_to_notes(roll)
    assert notes.dtype == pianoroll.STEP_NOTE_DTYPE
    assert [tuple(int(v) for v in n) for n in notes] == [(0, 3, 24), (2, 4, 107), (4, 5, 60), (5, 10, 24)]
    assert roll_to_notes(roll[..., None]).tolist() == notes.tolist()
    assert roll_to_notes(np.zeros((0, NUM_PITCHES), bool)).shape == (0,)


def test_roll_to_notes_needs_binary_values():
    with pytest.raises(ValueError, match="binarize"):
        roll_to_notes(np.full((4, NUM_PITCHES), 0.7, np.float32))


def test_roll_to_notes_inverts_the_roll_on_random_input():
    roll = np.random.default_rng(3).random((300, NUM_PITCHES)) < 0.2
    notes = roll_to_notes(roll)
    rebuilt = np.zeros_like(roll)
    for start, end, pitch in notes.tolist():
        assert not rebuilt[start:end, pitch - LOWEST_PITCH].any()
        rebuilt[start:end, pitch - LOWEST_PITCH] = True
    np.testing.assert_array_equal(rebuilt, roll)
    # Runs are maximal: no two notes of one pitch touch.
    for pitch in np.unique(notes["pitch"]):
        same = notes[notes["pitch"] == pitch]
        assert np.all(same["start"][1:] > same["end"][:-1])


# --------------------------------------------------------------------------------------------- roll -> MIDI


def test_write_roll_midi_with_defaults(tmp_path):
    roll = np.zeros((16, NUM_PITCHES), bool)
    roll[0:4, 60 - LOWEST_PITCH] = roll[4:6, 64 - LOWEST_PITCH] = roll[15, 107 - LOWEST_PITCH] = True
    path = write_roll_midi(tmp_path / "out.mid", roll, track_name="a2b")
    song = read_midi(path)
    assert song.ticks_per_beat == 480
    np.testing.assert_array_equal(song.notes["start"], [0, 480, 1800])
    np.testing.assert_array_equal(song.notes["end"], [480, 720, 1920])
    assert np.all(song.notes["velocity"] == 100) and np.all(song.notes["program"] == 0)
    np.testing.assert_allclose(song.tempos["qpm"], [80.0])  # the authors' writer default
    np.testing.assert_array_equal(song.time_signatures, make_time_signatures([0], [4], [4]))
    assert [i.name for i in pretty_midi.PrettyMIDI(str(path)).instruments] == ["a2b"]
    again = read_midi(write_roll_midi(tmp_path / "notes.mid", roll_to_notes(roll[..., None]), track_name="a2b"))
    assert (tmp_path / "notes.mid").read_bytes() == (tmp_path / "out.mid").read_bytes() and again.notes.size == 3


def test_write_roll_midi_rounds_to_the_same_step_for_odd_resolutions(tmp_path):
    roll = np.zeros((8, NUM_PITCHES), bool)
    roll[1, 60 - LOWEST_PITCH] = True
    roll[3:7, 62 - LOWEST_PITCH] = True
    for ticks_per_beat in (5, 7, 96, 97):
        song = read_midi(write_roll_midi(tmp_path / f"r{ticks_per_beat}.mid", roll, ticks_per_beat=ticks_per_beat))
        assert cells(song_to_roll(song), 60) == [1]
        assert cells(song_to_roll(song), 62) == [3, 4, 5, 6]


def test_write_roll_midi_follows_the_source_and_adds_extra_notes(tmp_path):
    source = read_midi(GOOD / "chords_bass_drums.mid")
    roll = song_to_roll(source)
    drums = source.notes[source.notes["is_drum"]]
    out = read_midi(write_roll_midi(tmp_path / "t.mid", roll, source=source, program=33, velocity=90, extra_notes=drums))
    assert out.ticks_per_beat == source.ticks_per_beat
    np.testing.assert_array_equal(out.tempos, source.tempos)
    pitched = out.notes[~out.notes["is_drum"]]
    assert np.all(pitched["program"] == 33) and np.all(pitched["velocity"] == 90)
    assert int(out.notes["is_drum"].sum()) == drums.shape[0] == 80
    np.testing.assert_array_equal(song_to_roll(out), roll)


def test_write_roll_midi_validates(tmp_path):
    with pytest.raises(ValueError, match="binarize"):
        write_roll_midi(tmp_path / "x.mid", np.full((4, NUM_PITCHES), 0.7))
    bad = np.zeros(1, dtype=pianoroll.STEP_NOTE_DTYPE)
    bad[0] = (2, 2, 60)
    with pytest.raises(ValueError, match="start < end"):
        write_roll_midi(tmp_path / "x.mid", bad)
    bad[0] = (0, 1, 128)
    with pytest.raises(ValueError, match="pitches"):
        write_roll_midi(tmp_path / "x.mid", bad)
    assert not (tmp_path / "x.mid").exists()


def test_write_roll_midi_keeps_a_silent_last_bar(tmp_path):
    # Four 4/4 bars at 480 ticks per quarter; music in bars 1-3, bar 4 silent (a tempo event marks its end).
    notes = make_notes([0, 1920, 3840], [960, 2880, 5760], [60, 64, 67])
    path = midi.write_midi(tmp_path / "in.mid", notes, tempos=make_tempos([0, 7680], [100.0, 100.0]))
    source = read_midi(path)
    assert source.end_tick == 7680 and int(source.notes["end"].max()) == 5760
    roll = song_to_roll(source)
    assert roll.shape[0] == 64 and not roll[48:].any()
    written = read_midi(write_roll_midi(tmp_path / "out.mid", roll, source=source))
    assert written.end_tick == source.end_tick
    assert song_to_roll(written).shape == roll.shape
    np.testing.assert_allclose(written.tempos["qpm"], 100.0)  # the end marker repeats the tempo
    assert written.time_signatures.size == source.time_signatures.size  # strict filter still passes
    # Without a source the roll's own length is kept: 64 steps = 7680 ticks at 480.
    assert read_midi(write_roll_midi(tmp_path / "bare.mid", roll)).end_tick == 7680
    # A roll whose last step sounds needs no marker: the tempo map stays as it was.
    assert read_midi(write_roll_midi(tmp_path / "full.mid", roll[:48], source=None)).tempos.size == 1


@pytest.mark.parametrize("ticks_per_beat, expected", [(1, 4), (2, 4), (3, 12), (6, 12), (480, 480)])
def test_write_roll_midi_multiplies_a_coarse_source_division_exactly(tmp_path, ticks_per_beat, expected):
    # Quarter and eighth notes (the finest a 2-tick file holds) plus a tempo change and a 3/4 bar.
    tpb = ticks_per_beat
    notes = make_notes([0, tpb, 4 * tpb], [tpb, 3 * tpb, 5 * tpb], [60, 62, 64])
    drums = make_notes([2 * tpb], [3 * tpb], [36], is_drum=True, track=1)
    source = Song("", tpb, np.concatenate([notes, drums]), make_tempos([0, 2 * tpb], [90.0, 140.0]),
                  make_time_signatures([0, 4 * tpb], [4, 3], [4, 4]), end_tick=8 * tpb)
    roll = song_to_roll(source)
    roll[5, 70 - LOWEST_PITCH] = True  # a one-step (16th) note: 2 ticks per quarter cannot place it
    written = read_midi(write_roll_midi(tmp_path / "out.mid", roll, source=source, extra_notes=drums))
    factor = expected // tpb
    assert written.ticks_per_beat == expected
    # The source's tempo map, scaled, then the end marker (bars 6-8 are silent) repeating 140 qpm.
    np.testing.assert_array_equal(written.tempos["tick"], [*(source.tempos["tick"] * factor), 8 * expected])
    np.testing.assert_allclose(written.tempos["qpm"], [90.0, 140.0, 140.0], rtol=1e-5)  # whole microseconds
    np.testing.assert_array_equal(written.time_signatures["tick"], source.time_signatures["tick"] * factor)
    assert written.end_tick == source.end_tick * factor
    np.testing.assert_array_equal(song_to_roll(written), roll)
    seconds = lambda song, ticks: midi.ticks_to_seconds(ticks, song.tempos, song.ticks_per_beat)  # noqa: E731
    written_drums = written.notes[written.notes["is_drum"]]
    np.testing.assert_array_equal(written_drums["start"], drums["start"] * factor)  # extra notes scaled too
    # Same times in seconds (up to the whole microseconds per quarter note a MIDI tempo holds).
    np.testing.assert_allclose(seconds(written, written_drums["start"]), seconds(source, drums["start"]), rtol=1e-5)


def test_write_roll_midi_refuses_divisions_that_cannot_hold_the_grid(tmp_path):
    roll = np.zeros((8, NUM_PITCHES), bool)
    roll[1, 60 - LOWEST_PITCH] = True
    with pytest.raises(ValueError, match="cannot hold the grid"):
        write_roll_midi(tmp_path / "x.mid", roll, ticks_per_beat=2)
    source = Song("", 3, make_notes([0], [3], [60]), make_tempos([0], [120.0]), make_time_signatures([0], [4], [4]), 3)
    with pytest.raises(ValueError, match="not a multiple of the source's 3"):
        write_roll_midi(tmp_path / "x.mid", roll, source=source, ticks_per_beat=8)
    assert read_midi(write_roll_midi(tmp_path / "y.mid", roll, source=source, ticks_per_beat=12)).ticks_per_beat == 12
    assert not (tmp_path / "x.mid").exists()


# --------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["c_major_scale.mid", "chords_bass_drums.mid", "tempo_changes.mid"])
def test_midi_roll_midi_roll_is_identity_on_grid_aligned_input(tmp_path, name):
    song = read_midi(GOOD / name)
    roll = song_to_roll(song)
    written = read_midi(write_roll_midi(tmp_path / name, roll, source=song))
    np.testing.assert_array_equal(song_to_roll(written), roll)
    assert written.ticks_per_beat == song.ticks_per_beat


def test_random_roll_survives_midi_round_trip(tmp_path):
    roll = np.random.default_rng(7).random((256, NUM_PITCHES)) < 0.05
    roll[-1, 0] = True  # keep the length: the last step sounds
    written = read_midi(write_roll_midi(tmp_path / "random.mid", roll))
    np.testing.assert_array_equal(song_to_roll(written), roll)


@pytest.mark.parametrize("name", ["c_major_scale.mid", "tempo_changes.mid"])
def test_grid_matches_pypianoroll_on_aligned_files(name):
    pypianoroll = pytest.importorskip("pypianoroll")
    multitrack = pypianoroll.read(str(GOOD / name), resolution=4)
    theirs = np.zeros((multitrack.get_max_length(), 128), bool)
    for track in multitrack.tracks:
        if not track.is_drum:
            theirs[: track.pianoroll.shape[0]] |= track.pianoroll > 0
    ours = song_to_roll(read_midi(GOOD / name))
    length = min(theirs.shape[0], ours.shape[0])
    assert length >= 256
    np.testing.assert_array_equal(ours[:length], theirs[:length, LOWEST_PITCH:LOWEST_PITCH + NUM_PITCHES])
