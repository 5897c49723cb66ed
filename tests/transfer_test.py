"""Tests of whole-song transfer (mst.models.cyclegan.song_transfer) and its command line (transfer.py).

Most tests replace the generator by a fixed function (identity, all-ones, ...), so the expected MIDI is
known exactly; a few use a tiny real generator (``build_generator(filters=8, num_residual_blocks=1)``)
and a tiny exported model for the loaders and the command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from conftest import load_script
from mst.music import midi
from mst.encodings import pianoroll
from mst.models.cyclegan import song_transfer as transfer

REPO_DIR = Path(__file__).resolve().parents[1]
FIXTURES = REPO_DIR / "tests" / "fixtures" / "midi"
BAD_FIXTURES = json.loads((FIXTURES / "expected.json").read_text())["bad"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TPB = 480
STEP_TICKS = TPB // 4


def identity(x):
    """A generator stand-in that returns its input (so the transfer must give back the source)."""
    return np.asarray(x, dtype=np.float32)


def all_ones(x):
    """A generator stand-in that turns every cell on."""
    return np.ones(np.shape(x), np.float32)


def write_pretty_midi_song(
    path,
    notes,
    *,
    drums=(),
    qpm=120.0,
    signatures=((4, 4, 0.0),),
    resolution=TPB,
):
    """Writes a song with pretty_midi; notes and drums are ``(pitch, start_step, end_step)``.

    Steps are 16th notes (4 per quarter) at the single tempo ``qpm``.
    """
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=qpm)
    for numerator, denominator, seconds in signatures:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, seconds))
    seconds_per_step = 60.0 / qpm / 4
    piano = pretty_midi.Instrument(program=0, name="piano")
    for pitch, start, end in notes:
        piano.notes.append(pretty_midi.Note(90, pitch, start * seconds_per_step, end * seconds_per_step))
    pm.instruments.append(piano)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        for pitch, start, end in drums:
            kit.notes.append(pretty_midi.Note(110, pitch, start * seconds_per_step, end * seconds_per_step))
        pm.instruments.append(kit)
    pm.write(str(path))
    return Path(path)


# 2 full phrases plus a 40-step tail (168 steps): notes on the grid, inside 24..107, none adjacent to
# another note of the same pitch (those would merge into one note, by the authors' writer rule).
SONG_NOTES = [(48 + (k % 30), 4 * k, 4 * k + 3) for k in range(42)] + [(60, 0, 8), (72, 100, 168)]
OUT_OF_RANGE = [(20, 8, 12), (110, 16, 20)]
DRUMS = [(36, 4 * k, 4 * k + 1) for k in range(42)]
SONG_STEPS = 168


@pytest.fixture
def song_path(tmp_path):
    return write_pretty_midi_song(tmp_path / "song.mid", SONG_NOTES + OUT_OF_RANGE, drums=DRUMS)


def assert_rolls_match(actual, expected):
    """Rolls from two implementations of one generator (eager Keras, tf.function, SavedModel).

    Float round-off between them (about 1e-7) can flip a cell whose probability is within that of
    0.5; allow one cell in a thousand.
    """
    assert actual.shape == expected.shape
    assert np.mean(actual != expected) <= 1e-3


def pitched_notes(song):
    return song.notes[~song.notes["is_drum"]]


def note_triples(notes):
    return sorted(zip(notes["start"].tolist(), notes["end"].tolist(), notes["pitch"].tolist()))


def expected_triples():
    return sorted((s * STEP_TICKS, e * STEP_TICKS, p) for p, s, e in SONG_NOTES)


# ---------------------------------------------------------------------------------------------
# Round trip structure


def test_identity_gives_back_the_source_notes_in_the_window(song_path, tmp_path):
    out = tmp_path / "out.mid"
    result = transfer.transfer_song(song_path, identity, direction="a2b", out_path=out)

    assert result.num_steps == SONG_STEPS
    assert result.transferred_roll.shape == result.source_roll.shape == (SONG_STEPS, pianoroll.NUM_PITCHES)
    assert result.transferred_roll.dtype == bool
    np.testing.assert_array_equal(result.transferred_roll, result.source_roll)
    # The incomplete tail phrase (40 steps) is kept, and the phrase count is not trimmed to a multiple of 4.
    assert (result.num_phrases, result.tail_steps) == (3, SONG_STEPS - 2 * 64)
    assert result.notes_out_of_range == 2
    assert result.notes_written == len(SONG_NOTES)
    assert result.drum_notes_written == 0
    assert result.output_path == str(out)

    written = midi.read_midi(out)
    assert note_triples(written.notes) == expected_triples()
    assert not written.notes["is_drum"].any()
    assert set(written.notes["velocity"].tolist()) == {100}
    assert set(written.notes["program"].tolist()) == {0}
    assert pianoroll.song_to_roll(written).shape[0] == SONG_STEPS


def test_keras_identity_model_goes_through_the_tf_function_path(song_path, tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(pianoroll.PHRASE_SHAPE), keras.layers.Identity()])
    result = transfer.transfer_song(song_path, model, direction="b2a", out_path=tmp_path / "o.mid", batch_size=2)
    np.testing.assert_array_equal(result.transferred_roll, result.source_roll)
    assert note_triples(midi.read_midi(tmp_path / "o.mid").notes) == expected_triples()


def test_padding_of_the_tail_is_trimmed_and_output_length_equals_input_length(song_path, tmp_path):
    out = tmp_path / "ones.mid"
    result = transfer.transfer_song(song_path, all_ones, direction="a2b", out_path=out)
    assert result.transferred_roll.shape == (SONG_STEPS, pianoroll.NUM_PITCHES)
    assert result.transferred_roll.all()
    written = midi.read_midi(out)
    # One note per pitch spanning the whole song, and not one step of the zero padding.
    assert len(written.notes) == pianoroll.NUM_PITCHES
    assert set(written.notes["start"].tolist()) == {0}
    assert set(written.notes["end"].tolist()) == {SONG_STEPS * STEP_TICKS}
    assert pianoroll.song_to_roll(written).shape[0] == SONG_STEPS


def test_song_shorter_than_one_phrase_is_transferred():
    result = transfer.transfer_song(FIXTURES / "bad" / "too_short.mid", identity, direction="a2b")
    assert (result.num_phrases, result.tail_steps, result.num_steps) == (1, 32, 32)
    np.testing.assert_array_equal(result.transferred_roll, result.source_roll)
    assert result.output_path is None and result.notes_written == 0


def test_song_ending_on_a_phrase_boundary_has_no_extra_phrase(tmp_path):
    path = write_pretty_midi_song(tmp_path / "s.mid", [(60, 0, 4), (62, 124, 128)])
    result = transfer.transfer_song(path, identity, direction="a2b")
    assert (result.num_steps, result.num_phrases, result.tail_steps) == (128, 2, 64)


def test_tempo_map_time_signatures_and_division_are_copied(tmp_path, smf_writer):
    tpq = 960
    conductor = smf_writer.Track("conductor")
    conductor.add(0, smf_writer.tempo(500_000)).add(0, smf_writer.time_signature(4, 4))
    conductor.add(16 * tpq, smf_writer.tempo(1_000_000))
    conductor.add(32 * tpq, smf_writer.time_signature(3, 4)).add(32 * tpq, smf_writer.tempo(400_000))
    conductor.add(44 * tpq, smf_writer.time_signature(4, 4))
    tune = smf_writer.Track("tune")
    for eighth in range(2 * 60):
        tune.note(eighth * tpq // 2, (eighth + 1) * tpq // 2, 50 + eighth % 7)
    path = tmp_path / "tempo_map.mid"
    path.write_bytes(smf_writer.smf([conductor.chunk(), tune.chunk()], ticks_per_quarter=tpq))

    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(path, identity, direction="a2b")
    assert error.value.reason == "multiple_time_signatures"

    out = tmp_path / "out.mid"
    transfer.transfer_song(path, identity, direction="a2b", out_path=out, time_signature_policy="beat_grid")
    source, written = midi.read_midi(path), midi.read_midi(out)
    assert written.ticks_per_beat == tpq
    np.testing.assert_array_equal(written.tempos, source.tempos)
    np.testing.assert_array_equal(written.time_signatures, source.time_signatures)
    assert [(int(t), round(q, 6)) for t, q in written.tempos] == [(0, 120.0), (16 * tpq, 60.0), (32 * tpq, 150.0)]
    # Identity transfer at 960 tpq: the notes come back on the same ticks (the grid follows the tempo map).
    assert note_triples(written.notes) == note_triples(source.notes)


def test_keep_drums_puts_the_source_drums_back(song_path, tmp_path):
    out = tmp_path / "drums.mid"
    result = transfer.transfer_song(song_path, identity, direction="a2b", out_path=out, keep_drums=True)
    assert result.drum_notes_written == len(DRUMS)
    source, written = midi.read_midi(song_path), midi.read_midi(out)
    source_drums = source.notes[source.notes["is_drum"]]
    written_drums = written.notes[written.notes["is_drum"]]
    assert note_triples(written_drums) == note_triples(source_drums)
    assert written_drums["velocity"].tolist() == source_drums["velocity"].tolist()
    assert note_triples(pitched_notes(written)) == expected_triples()
    # The drums stay out of the generator input.
    assert not result.source_roll[:, 36 - pianoroll.LOWEST_PITCH].any()


def test_program_option(song_path, tmp_path):
    out = tmp_path / "bass.mid"
    transfer.transfer_song(song_path, identity, direction="a2b", out_path=out, program=33)
    assert set(midi.read_midi(out).notes["program"].tolist()) == {33}
    with pytest.raises(ValueError, match="program"):
        transfer.transfer_song(song_path, identity, direction="a2b", program=128)


def test_generator_sees_phrases_in_batches_with_the_zero_padded_tail(song_path):
    seen = []

    def recording(x):
        seen.append(np.array(x))
        return x

    transfer.transfer_song(song_path, recording, direction="a2b", batch_size=2)
    assert [batch.shape for batch in seen] == [(2, 64, 84, 1), (1, 64, 84, 1)]
    assert all(batch.dtype == np.float32 for batch in seen)
    tail = seen[1][0, :, :, 0]
    assert tail[: SONG_STEPS - 128].any() and not tail[SONG_STEPS - 128 :].any()


def test_transfer_roll_works_on_rolls_directly():
    roll = np.zeros((100, pianoroll.NUM_PITCHES), bool)
    roll[::7, 30] = True
    roll[99, 83] = True
    transferred, cycled = transfer.transfer_roll(roll, identity, direction="b2a", batch_size=1)
    np.testing.assert_array_equal(transferred, roll)
    assert cycled is None
    transferred, cycled = transfer.transfer_roll(
        roll, {"a2b": all_ones, "b2a": identity}, direction="a2b", cycle=True
    )
    assert transferred.all() and cycled.all() and cycled.shape == roll.shape


def test_threshold_is_strictly_above_one_half(song_path):
    result = transfer.transfer_song(song_path, lambda x: np.full(np.shape(x), 0.5, np.float32), direction="a2b")
    assert not result.transferred_roll.any()
    result = transfer.transfer_song(song_path, lambda x: np.full(np.shape(x), 0.5001, np.float32), direction="a2b")
    assert result.transferred_roll.all()


def test_dict_output_of_saved_model_endpoints_is_accepted(song_path):
    def endpoint(x):
        return {"probabilities": np.asarray(x), "roll": np.zeros(np.shape(x), np.float32)}

    result = transfer.transfer_song(song_path, endpoint, direction="a2b")
    np.testing.assert_array_equal(result.transferred_roll, result.source_roll)


def test_wrong_generator_output_shape_is_an_error(song_path):
    with pytest.raises(ValueError, match=r"returned \[2, 64, 84\]"):
        transfer.transfer_song(song_path, lambda x: np.asarray(x)[..., 0], direction="a2b", batch_size=2)


# ---------------------------------------------------------------------------------------------
# Cycle


def test_cycle_feeds_the_continuous_transfer_back_with_the_padding_zeroed(song_path, tmp_path):
    seen_by_b2a = []

    def a2b(x):  # continuous 0.4 / 0.6: binarizes back to the input
        return 0.4 + 0.2 * np.asarray(x, np.float32)

    def b2a(y):
        seen_by_b2a.append(np.array(y))
        return np.asarray(y) + 0.3  # on the continuous input everything is > 0.5

    out = tmp_path / "c.mid"
    result = transfer.transfer_song(
        song_path, {"a2b": a2b, "b2a": b2a}, direction="a2b", out_path=out, cycle=True
    )
    np.testing.assert_array_equal(result.transferred_roll, result.source_roll)
    # Fed the binarized transfer, b2a would return 0.3 / 1.3 and give the source back instead.
    assert result.cycled_roll.shape == result.source_roll.shape and result.cycled_roll.all()
    tail = np.concatenate(seen_by_b2a)[-1, :, :, 0]
    assert np.all(tail[SONG_STEPS - 128 :] == 0.0) and np.all(tail[: SONG_STEPS - 128] >= 0.4)
    assert result.cycle_path == str(tmp_path / "c_cycle.mid")
    assert len(midi.read_midi(result.cycle_path).notes) == pianoroll.NUM_PITCHES


def test_cycle_needs_both_directions(song_path, tmp_path):
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(song_path, identity, direction="a2b", out_path=tmp_path / "x.mid", cycle=True)
    assert error.value.reason == "cycle_unavailable"
    assert not (tmp_path / "x.mid").exists()


def test_missing_direction_is_reported(song_path):
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(song_path, {"a2b": identity}, direction="b2a")
    assert error.value.reason == "direction_unavailable"
    with pytest.raises(ValueError, match="direction"):
        transfer.transfer_song(song_path, identity, direction="ab")


# ---------------------------------------------------------------------------------------------
# Bad inputs


def _bad_cases():
    for name, expectation in sorted(BAD_FIXTURES.items()):
        for policy in ("strict", "in_effect", "beat_grid"):
            yield pytest.param(name, policy, expectation[policy], id=f"{name}-{policy}")


@pytest.mark.parametrize(("name", "policy", "reason"), list(_bad_cases()))
def test_filter_fixtures_give_their_reason_or_transfer(name, policy, reason):
    path = FIXTURES / "bad" / name
    if reason in (None, "no_complete_phrase"):  # the tail phrase is kept: short songs are fine
        result = transfer.transfer_song(path, identity, direction="a2b", time_signature_policy=policy)
        np.testing.assert_array_equal(result.transferred_roll, result.source_roll)
        return
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(path, identity, direction="a2b", time_signature_policy=policy)
    assert error.value.reason == reason
    assert error.value.path == str(path)
    assert name in str(error.value) and reason in str(error.value)


def test_strict_rejection_message_names_file_reason_and_the_way_out(tmp_path):
    path = write_pretty_midi_song(tmp_path / "waltz.mid", [(60, 0, 12)], signatures=((3, 4, 0.0),))
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(path, identity, direction="a2b", out_path=tmp_path / "w.mid")
    message = str(error.value)
    assert "waltz.mid" in message and "not_4_4" in message and "3/4" in message
    assert "--time-signature-policy beat_grid" in message
    assert not (tmp_path / "w.mid").exists()
    result = transfer.transfer_song(
        path, identity, direction="a2b", out_path=tmp_path / "w.mid", time_signature_policy="beat_grid"
    )
    assert result.notes_written == 1
    assert midi.read_midi(tmp_path / "w.mid").time_signatures[["numerator", "denominator"]].tolist() == [(3, 4)]


def test_unknown_policy_is_a_value_error(song_path):
    with pytest.raises(ValueError, match="policy"):
        transfer.transfer_song(song_path, identity, direction="a2b", time_signature_policy="loose")


# ---------------------------------------------------------------------------------------------
# Outputs


def test_refuses_to_overwrite_outputs_unless_asked(song_path, tmp_path):
    out = tmp_path / "out.mid"
    out.write_bytes(b"keep me")
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(song_path, identity, direction="a2b", out_path=out)
    assert error.value.reason == "output_exists" and str(out) in str(error.value)
    assert out.read_bytes() == b"keep me"
    transfer.transfer_song(song_path, identity, direction="a2b", out_path=out, overwrite=True)
    assert note_triples(midi.read_midi(out).notes) == expected_triples()


def test_an_existing_png_or_cycle_file_also_blocks(song_path, tmp_path):
    (tmp_path / "out.png").write_bytes(b"old")
    with pytest.raises(transfer.TransferError, match="out.png"):
        transfer.transfer_song(song_path, identity, direction="a2b", out_path=tmp_path / "out.mid", plot=True)
    assert not (tmp_path / "out.mid").exists()
    (tmp_path / "out_cycle.mid").write_bytes(b"old")
    both = {"a2b": identity, "b2a": identity}
    with pytest.raises(transfer.TransferError, match="out_cycle.mid"):
        transfer.transfer_song(song_path, both, direction="a2b", out_path=tmp_path / "out.mid", cycle=True)


def test_never_overwrites_the_input(song_path):
    before = song_path.read_bytes()
    with pytest.raises(transfer.TransferError) as error:
        transfer.transfer_song(song_path, identity, direction="a2b", out_path=song_path, overwrite=True)
    assert error.value.reason == "would_overwrite_input"
    assert song_path.read_bytes() == before


def test_output_is_as_long_as_a_song_whose_last_bar_is_silent(tmp_path):
    # Three bars of music and a silent fourth bar, which only a tempo event at its end marks.
    notes = midi.make_notes([0, 16 * STEP_TICKS, 32 * STEP_TICKS], [8 * STEP_TICKS, 24 * STEP_TICKS, 48 * STEP_TICKS], [60, 64, 67])
    source = midi.write_midi(tmp_path / "in.mid", notes, ticks_per_beat=TPB,
                             tempos=midi.make_tempos([0, 64 * STEP_TICKS], [120.0, 120.0]))
    result = transfer.transfer_song(source, identity, direction="a2b", out_path=tmp_path / "out.mid", cycle=False)
    song, written = midi.read_midi(source), midi.read_midi(result.output_path)
    assert song.end_tick == 64 * STEP_TICKS and result.num_steps == 64
    assert written.end_tick == song.end_tick
    np.testing.assert_array_equal(pianoroll.song_to_roll(written), result.source_roll)
    # The output passes the strict filter again (the end marker is a tempo event, not a signature).
    transfer.transfer_song(result.output_path, identity, direction="a2b", out_path=tmp_path / "again.mid")


def test_a_two_ticks_per_quarter_file_is_transferred_on_a_doubled_division(tmp_path):
    # Valid at 2 ticks per quarter: quarter and eighth notes, a tempo change, drums; the identity
    # transfer of a 16th note (1 step) could not be written back at 2 ticks.
    notes = midi.make_notes([0, 2, 3, 8], [2, 3, 6, 10], [60, 62, 64, 65])
    drums = midi.make_notes([4], [5], [36], is_drum=True, track=1)
    source = midi.write_midi(tmp_path / "coarse.mid", np.concatenate([notes, drums]), ticks_per_beat=2,
                             tempos=midi.make_tempos([0, 4], [100.0, 150.0]))

    def add_a_sixteenth(x):
        out = np.asarray(x, np.float32).copy()
        out[0, 13, 72 - pianoroll.LOWEST_PITCH] = 1.0
        return out

    result = transfer.transfer_song(source, add_a_sixteenth, direction="a2b", out_path=tmp_path / "out.mid",
                                    keep_drums=True, raw=True)
    song, written = midi.read_midi(source), midi.read_midi(result.output_path)
    assert written.ticks_per_beat == 4
    np.testing.assert_array_equal(written.tempos["tick"], song.tempos["tick"] * 2)
    np.testing.assert_array_equal(written.time_signatures["tick"], song.time_signatures["tick"] * 2)
    assert written.end_tick == 2 * song.end_tick
    np.testing.assert_array_equal(pianoroll.song_to_roll(written), result.transferred_roll)
    assert result.transferred_roll[13, 72 - pianoroll.LOWEST_PITCH]
    written_drums = written.notes[written.notes["is_drum"]]
    assert written_drums[["start", "end", "pitch"]].tolist() == [(8, 10, 36)]


def test_plot_of_a_waltz_numbers_its_3_4_bars(tmp_path, monkeypatch):
    from mst import plotting  # noqa: PLC0415

    # 32 bars of 3/4 (12 steps each): one note on every beat.
    notes = [(60 + (k % 12), 4 * k, 4 * k + 3) for k in range(32 * 3 - 1)] + [(72, 380, 384)]
    path = write_pretty_midi_song(tmp_path / "waltz.mid", notes, signatures=((3, 4, 0.0),))
    figures = []
    real_save = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda figure, *a, **k: figures.append(figure) or real_save(figure, *a, **k))
    with pytest.raises(transfer.TransferError, match="not_4_4"):
        transfer.transfer_song(path, identity, direction="a2b", out_path=tmp_path / "w.mid", plot=True)
    result = transfer.transfer_song(path, identity, direction="a2b", out_path=tmp_path / "w.mid", plot=True,
                                    time_signature_policy="beat_grid")
    assert result.num_steps == 32 * 12
    (figure,) = figures
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["source, bars 1–32", "transfer, bars 1–32"]
    assert figure.axes[-1].get_xlabel() == "time step (12 per bar)"
    bar_lines = figure.axes[0].collections[0].get_segments()
    assert [int(segment[0][0]) for segment in bar_lines] == list(range(12, 32 * 12, 12))
    assert Path(result.plot_path).read_bytes()[:8] == PNG_MAGIC


def test_plot_writes_a_png_beside_the_midi(song_path, tmp_path):
    result = transfer.transfer_song(song_path, identity, direction="a2b", out_path=tmp_path / "p.mid", plot=True)
    assert result.plot_path == str(tmp_path / "p.png")
    assert Path(result.plot_path).read_bytes()[:8] == PNG_MAGIC
    assert not list(tmp_path.glob("*.tmp-*"))
    with pytest.raises(ValueError, match="out_path"):
        transfer.transfer_song(song_path, identity, direction="a2b", plot=True)


def test_timing_breakdown_attributes_time_to_the_stage_that_spent_it(song_path, tmp_path):
    import time as clock  # noqa: PLC0415

    def slow_identity(x):
        clock.sleep(0.2)  # one call: the song has 3 phrases, the batch holds 16
        return np.asarray(x, np.float32)

    result = transfer.transfer_song(song_path, {"a2b": slow_identity}, direction="a2b", out_path=tmp_path / "t.mid")
    timing = result.timing
    assert set(timing) == {"read", "phrase", "generator", "write", "plot", "total"}
    assert timing["generator"] >= 0.2 and timing["total"] >= 0.2
    assert timing["generator"] > max(timing[k] for k in ("read", "phrase", "write", "plot"))


# ---------------------------------------------------------------------------------------------
# Folders


def make_folder(root: Path) -> Path:
    """A folder with 3 good songs (one in a subfolder, one with a .MIDI suffix) and 4 bad files."""
    root.mkdir()
    (root / "sub" / "deeper").mkdir(parents=True)
    write_pretty_midi_song(root / "a.mid", SONG_NOTES)
    write_pretty_midi_song(root / "sub" / "b.MIDI", SONG_NOTES[:10])
    shutil.copy(FIXTURES / "good" / "c_major_scale.mid", root / "sub" / "deeper" / "scale.mid")
    for name in ("empty.mid", "drums_only.mid", "three_four.mid", "random_bytes.mid"):
        shutil.copy(FIXTURES / "bad" / name, root / "sub" / name)
    (root / "notes.txt").write_text("not a MIDI file, not picked up")
    return root


def test_folder_mode_skips_and_reports_bad_files(tmp_path):
    source = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    reported = []
    report = transfer.transfer_folder(
        source, identity, out_dir=out, direction="b2a", on_result=reported.append, on_skip=reported.append
    )
    assert [Path(r.source_path).name for r in report.results] == ["a.mid", "b.MIDI", "scale.mid"]
    assert {(Path(s.path).name, s.reason) for s in report.skipped} == {
        ("empty.mid", "empty_file"),
        ("drums_only.mid", "drums_only"),
        ("three_four.mid", "not_4_4"),
        ("random_bytes.mid", "not_midi"),
    }
    assert len(reported) == 7 and not report.ok
    # on_result sees the rolls; the report keeps only the figures unless keep_rolls=True.
    assert reported[0].transferred_roll.shape == (SONG_STEPS, pianoroll.NUM_PITCHES)
    assert report.results[0].transferred_roll is None and report.results[0].num_steps == SONG_STEPS
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a_b2a.mid",
        "sub/b_b2a.mid",
        "sub/deeper/scale_b2a.mid",
    ]
    summary = report.summary()
    assert "transferred 3" in summary and "skipped 4" in summary
    assert "drums_only: 1" in summary and "not_4_4: 1" in summary

    # A second run refuses to overwrite, file by file; the policy lets the 3/4 file through.
    again = transfer.transfer_folder(source, identity, out_dir=out, direction="b2a", time_signature_policy="beat_grid")
    assert {s.reason for s in again.skipped} == {"output_exists", "empty_file", "drums_only", "not_midi"}
    assert [Path(r.source_path).name for r in again.results] == ["three_four.mid"]


def test_folder_output_inside_the_input_is_not_read_back(tmp_path):
    source = make_folder(tmp_path / "in")
    out = source / "transferred"
    first = transfer.transfer_folder(source, identity, out_dir=out, direction="a2b")
    second = transfer.transfer_folder(source, identity, out_dir=out, direction="a2b", overwrite=True, keep_rolls=True)
    assert len(first.results) == len(second.results) == 3
    assert all(r.source_roll is not None for r in second.results)
    assert not list(out.rglob("*_a2b_a2b.mid"))


def test_folder_mode_reports_two_inputs_writing_one_output(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    write_pretty_midi_song(source / "x.mid", SONG_NOTES)
    write_pretty_midi_song(source / "x.midi", SONG_NOTES[:3])
    report = transfer.transfer_folder(source, identity, out_dir=tmp_path / "out", direction="a2b", overwrite=True)
    assert len(report.results) == 1
    assert [s.reason for s in report.skipped] == ["output_collision"]


def test_folder_mode_needs_a_distinct_output_folder(tmp_path):
    source = make_folder(tmp_path / "in")
    with pytest.raises(ValueError, match="must differ"):
        transfer.transfer_folder(source, identity, out_dir=source, direction="a2b")
    with pytest.raises(NotADirectoryError):
        transfer.transfer_folder(source / "a.mid", identity, out_dir=tmp_path / "o", direction="a2b")
    # Bad options fail at once instead of being reported for every file.
    with pytest.raises(ValueError, match="program"):
        transfer.transfer_folder(source, identity, out_dir=tmp_path / "o", direction="a2b", program=-1)
    with pytest.raises(TypeError):
        transfer.transfer_folder(source, identity, out_dir=tmp_path / "o", direction="a2b", colour="red")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------
# Real (tiny) generators and the model loaders


@pytest.fixture(scope="module")
def tiny_cyclegan(tmp_path_factory):
    """A tiny seeded CycleGAN, exported (SavedModel + .keras) and checkpointed like a training run."""
    from mst import export
    from mst.models.cyclegan import cyclegan_export
    from mst import registry
    from mst.models.cyclegan.cyclegan import build_cyclegan
    from mst.runtime import import_tensorflow

    tf = import_tensorflow()
    root = tmp_path_factory.mktemp("models")
    config = registry.get_config("cyclegan_tiny", ["generator_residual_blocks=1", "seed=3"])
    model = build_cyclegan(config)
    export_dir = cyclegan_export.export_cyclegan(model, root / "export", config=config)
    run_dir = root / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    registry.save_config(config, run_dir / "config.json")
    prefix = tf.train.Checkpoint(model=model).save(str(run_dir / "checkpoints" / "ckpt"))
    single = root / "single"
    single.mkdir()
    shutil.copy(export_dir / "generator_a2b.keras", single / "generator_a2b.keras")
    return {
        "model": model,
        "export": export_dir,
        "saved_model": export_dir / "saved_model",
        "keras_a2b": export_dir / "generator_a2b.keras",
        "run": run_dir,
        "checkpoint": Path(prefix),
        "single": single / "generator_a2b.keras",
    }


def test_real_generator_from_build_generator(song_path, tmp_path):
    from mst.models.cyclegan.cyclegan_generator import build_generator

    generator = build_generator(filters=8, num_residual_blocks=1, seed=0)
    model = transfer.TransferModel({"a2b": generator})
    phrases, _ = transfer.phrase_roll(transfer.transfer_song(song_path, identity, direction="a2b").source_roll)
    expected = generator(phrases, training=False).numpy()
    # Batching does not change the probabilities (instance norm is per phrase).
    for batch_size in (1, 2, 16):
        np.testing.assert_allclose(model.predict(phrases, "a2b", batch_size), expected, atol=1e-5)

    result = transfer.transfer_song(song_path, model, direction="a2b", out_path=tmp_path / "g.mid", plot=True)
    assert_rolls_match(result.transferred_roll, pianoroll.stitch_phrases(expected > 0.5, length=SONG_STEPS))
    written = midi.read_midi(tmp_path / "g.mid")
    assert result.notes_written == len(written.notes) == len(pianoroll.roll_to_notes(result.transferred_roll))
    assert written.notes["end"].max() <= SONG_STEPS * STEP_TICKS
    assert Path(result.plot_path).read_bytes()[:8] == PNG_MAGIC


def test_bfloat16_precision_is_scoped_to_the_generator_calls(song_path):
    import platform

    from mst.models.cyclegan.cyclegan_generator import build_generator
    from mst.runtime import import_tensorflow

    optimizer = import_tensorflow().config.optimizer
    option = "auto_mixed_precision_onednn_bfloat16"
    model = transfer.TransferModel({"a2b": build_generator(filters=8, num_residual_blocks=1, seed=1)})
    phrases, _ = transfer.phrase_roll(transfer.transfer_song(song_path, identity, direction="a2b").source_roll)
    exact = model.predict(phrases, "a2b")
    fast = model.predict(phrases, "a2b", precision="bfloat16")
    assert not optimizer.get_experimental_options().get(option, False)
    np.testing.assert_allclose(fast, exact, atol=0.1)
    if platform.machine() in ("x86_64", "AMD64") and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
        assert np.abs(fast - exact).max() > 0  # the rewrite really ran in bfloat16
    np.testing.assert_array_equal(model.predict(phrases, "a2b"), exact)  # and float32 is back
    with pytest.raises(ValueError, match="precision"):
        transfer.transfer_song(song_path, model, direction="a2b", precision="float16")


@pytest.mark.parametrize("form", ["export", "saved_model", "keras_a2b", "run", "checkpoint"])
def test_load_model_accepts_every_saved_form(tiny_cyclegan, song_path, form):
    model = transfer.load_model(tiny_cyclegan[form])
    assert model.directions == ("a2b", "b2a")
    assert model.describe("b2a") == "b2a (classical -> jazz)"
    keras_model = tiny_cyclegan["model"]
    result = transfer.transfer_song(song_path, model, direction="b2a", cycle=True)
    phrases, _ = transfer.phrase_roll(result.source_roll)
    probabilities = keras_model.generator_b2a(phrases, training=False).numpy()
    np.testing.assert_allclose(model.predict(phrases, "b2a"), probabilities, atol=1e-5)
    cycle = probabilities.copy()
    cycle.reshape(-1, 84, 1)[SONG_STEPS:] = 0
    cycled = keras_model.generator_a2b(cycle, training=False).numpy()
    assert_rolls_match(result.cycled_roll, pianoroll.stitch_phrases(cycled > 0.5, length=SONG_STEPS))


def test_in_memory_cyclegan_and_generator_pair_are_accepted(tiny_cyclegan, song_path):
    from mst.models.cyclegan import cyclegan_export

    from_keras = transfer.transfer_song(song_path, tiny_cyclegan["model"], direction="a2b", cycle=True)
    pair = cyclegan_export.load_generators(tiny_cyclegan["saved_model"])
    model = transfer.as_transfer_model(pair)
    assert model.describe("a2b") == "a2b (jazz -> classical)" and model.source == pair.source
    from_pair = transfer.transfer_song(song_path, model, direction="a2b", cycle=True)
    assert_rolls_match(from_pair.transferred_roll, from_keras.transferred_roll)
    assert_rolls_match(from_pair.cycled_roll, from_keras.cycled_roll)


def test_load_model_is_cached_and_reports_missing_models(tiny_cyclegan, tmp_path):
    assert transfer.load_model(tiny_cyclegan["export"]) is transfer.load_model(str(tiny_cyclegan["export"]) + "/")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        transfer.load_model(tmp_path / "nowhere")
    assert transfer.load_model(tiny_cyclegan["single"]).directions == ("a2b",)


# ---------------------------------------------------------------------------------------------
# Command line


def load_cli():
    return load_script(REPO_DIR / "transfer.py", "transfer_cli")


@pytest.fixture(scope="module")
def cli():
    return load_cli()


def run_cli(cli, capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_single_file(cli, capsys, tiny_cyclegan, song_path, tmp_path):
    model = tiny_cyclegan["export"]
    code, out, err = run_cli(cli, capsys, "--model", model, "--direction", "a2b", song_path, "--plot", "--keep-drums")
    assert code == 0, err
    target = song_path.with_name("song_a2b.mid")  # default: beside the input
    assert target.is_file() and song_path.with_name("song_a2b.png").read_bytes()[:8] == PNG_MAGIC
    assert f"wrote {target}" in out and "2 source note(s) outside MIDI 24..107" in out
    assert "a2b (jazz -> classical)" in out
    written, source = midi.read_midi(target), midi.read_midi(song_path)
    np.testing.assert_array_equal(written.tempos, source.tempos)
    assert written.notes["is_drum"].sum() == len(DRUMS)

    # The output exists now: refused (exit 2, an input error; nothing touched) unless --overwrite.
    before = target.read_bytes()
    code, out, err = run_cli(cli, capsys, "--model", model, "--direction", "a2b", song_path)
    assert code == 2 and "output_exists" in err and err.startswith("transfer.py: error: ") and str(target) in err
    assert target.read_bytes() == before
    code, _, err = run_cli(
        cli, capsys, "--model", model, "--direction", "a2b", song_path, "--overwrite", "--program", 24
    )
    assert code == 0, err
    assert set(midi.read_midi(target).notes["program"].tolist()) == {24}

    # --out as a file and as an existing folder; --cycle with both directions.
    code, _, err = run_cli(
        cli, capsys, "--model", model, "--direction", "b2a", song_path, "--out", tmp_path / "x.mid", "--cycle"
    )
    assert code == 0, err
    assert (tmp_path / "x.mid").is_file() and (tmp_path / "x_cycle.mid").is_file()
    (tmp_path / "dir").mkdir()
    code, _, err = run_cli(cli, capsys, "--model", model, "--direction", "b2a", song_path, "--out", tmp_path / "dir")
    assert code == 0, err
    assert (tmp_path / "dir" / "song_b2a.mid").is_file()


def test_cli_rejected_song_names_file_and_reason(cli, capsys, tiny_cyclegan, tmp_path):
    source = tmp_path / "three_four.mid"
    shutil.copy(FIXTURES / "bad" / "three_four.mid", source)
    args = ("--model", tiny_cyclegan["export"], "--direction", "a2b", source, "--out", tmp_path / "o.mid")
    code, out, err = run_cli(cli, capsys, *args)
    assert code == 2 and "wrote" not in out and "Traceback" not in err
    assert str(source) in err and "not_4_4" in err and "beat_grid" in err
    assert not (tmp_path / "o.mid").exists()
    code, _, err = run_cli(cli, capsys, *args, "--time-signature-policy", "beat_grid")
    assert code == 0, err
    empty = FIXTURES / "bad" / "empty.mid"
    code, _, err = run_cli(
        cli, capsys, "--model", tiny_cyclegan["export"], "--direction", "a2b", empty, "--out", tmp_path / "e.mid"
    )
    assert code == 2 and "empty.mid" in err and "empty_file" in err


def test_cli_folder_mode_exit_codes(cli, capsys, tiny_cyclegan, tmp_path):
    source = make_folder(tmp_path / "in")
    out_dir = tmp_path / "out"
    base = ("--model", tiny_cyclegan["run"], "--direction", "a2b", source, "--out", out_dir)
    code, out, err = run_cli(cli, capsys, *base)
    assert code == 0, err
    lines = out.splitlines()
    assert sum(line.startswith("wrote ") for line in lines) == 3
    assert sum(line.startswith("skipped ") for line in lines) == 4
    assert "empty.mid: empty_file" in out and "transferred 3 file(s), skipped 4" in out
    assert (out_dir / "sub" / "deeper" / "scale_a2b.mid").is_file()
    code, out, _ = run_cli(cli, capsys, *base, "--strict", "--overwrite")
    assert code == 1 and "transferred 3 file(s), skipped 4" in out
    empty = tmp_path / "nothing"
    empty.mkdir()
    code, _, err = run_cli(
        cli, capsys, "--model", tiny_cyclegan["run"], "--direction", "a2b", empty, "--out", tmp_path / "o"
    )
    assert code == 2 and "no .mid/.midi files" in err


def test_cli_usage_errors(cli, capsys, tiny_cyclegan, song_path, tmp_path):
    code, _, err = run_cli(cli, capsys, "--model", tmp_path / "missing", "--direction", "a2b", song_path)
    assert code == 2 and "model not found" in err and str(tmp_path / "missing") in err and len(err.splitlines()) == 1
    single = tiny_cyclegan["single"]
    code, _, err = run_cli(cli, capsys, "--model", single, "--direction", "b2a", song_path)
    assert code == 2 and "no b2a generator" in err
    code, _, err = run_cli(cli, capsys, "--model", single, "--direction", "a2b", song_path, "--cycle")
    assert code == 2 and "--cycle needs the b2a generator" in err
    for argv in (
        ("--model", single, "--direction", "a2b", tmp_path / "nope.mid"),
        ("--model", single, "--direction", "a2b", tmp_path),  # a folder needs --out
        ("--model", single, "--direction", "a2b", song_path, "--batch-size", "0"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([str(a) for a in argv])
        assert exit_info.value.code == 2
    capsys.readouterr()
    code, _, err = run_cli(cli, capsys, "--model", single, "--direction", "up", song_path)
    assert code == 2 and "unknown direction 'up'" in err and "use one of a2b, b2a" in err


def test_cli_checks_the_song_before_loading_the_model(cli, capsys, tmp_path):
    # The model path does not exist: the song's rejection must come first (no model load at all).
    empty = FIXTURES / "bad" / "empty.mid"
    code, _, err = run_cli(cli, capsys, "--model", tmp_path / "missing", "--direction", "a2b", empty, "--out", tmp_path / "o.mid")
    assert code == 2 and "empty_file" in err and "model not found" not in err


def test_cli_refuses_a_generator_file_of_the_other_direction(cli, capsys, tiny_cyclegan, song_path, tmp_path):
    single = tiny_cyclegan["single"]  # generator_a2b.keras
    code, _, err = run_cli(cli, capsys, "--model", single, "--direction", "a2b", song_path, "--out", tmp_path / "ok.mid")
    assert code == 0, err
    both = tiny_cyclegan["export"] / "generator_b2a.keras"  # its a2b sibling lies beside it
    code, _, err = run_cli(cli, capsys, "--model", both, "--direction", "a2b", song_path, "--out", tmp_path / "a.mid")
    assert code == 2 and "is the b2a generator, not a2b" in err and "generator_a2b.keras" in err
    assert not (tmp_path / "a.mid").exists()


def test_cli_debug_shows_the_traceback(cli, capsys, tmp_path):
    empty = FIXTURES / "bad" / "empty.mid"
    code, _, err = run_cli(cli, capsys, "--direction", "a2b", empty, "--out", tmp_path / "o.mid", "--debug")
    assert code == 2 and "Traceback (most recent call last)" in err and err.rstrip().splitlines()[-1].startswith("transfer.py: error: ")


@pytest.mark.slow
def test_cli_script_runs_quietly_in_a_fresh_process(tiny_cyclegan, song_path, tmp_path):
    out = tmp_path / "fresh.mid"
    command = [sys.executable, str(REPO_DIR / "transfer.py"), "--model", str(tiny_cyclegan["keras_a2b"]),
               "--direction", "a2b", str(song_path), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and f"wrote {out}" in done.stdout
    assert "oneDNN" not in done.stderr and "cpu_feature_guard" not in done.stderr


def test_song_rules_keep_silence_silent_and_stop_at_the_last_note(tiny_cyclegan, tmp_path):
    # notes in phrase 0 and phrase 2 only; phrase 1 (steps 64..127) is silent; the song ends at step 140
    notes = [(60 + k % 12, 4 * k, 4 * k + 3) for k in range(16)] + [(64, 128, 140)]
    song = write_pretty_midi_song(tmp_path / "gappy.mid", notes)
    always_on = {"a2b": lambda x: np.ones(np.shape(x), np.float32)}  # the worst generator: every cell on
    raw = transfer.transfer_song(song, always_on, direction="a2b", raw=True)
    ruled = transfer.transfer_song(song, always_on, direction="a2b")
    assert raw.transferred_roll[64:128].all() and raw.transferred_roll[140:].all()
    assert not ruled.transferred_roll[64:128].any() and not ruled.transferred_roll[140:].any()
    assert ruled.transferred_roll[:64].all() and ruled.transferred_roll[128:140].all()
    assert ruled.warnings == []  # every source note is still sounding: kept


def test_silent_or_unrecognisable_transfers_are_reported(tmp_path):
    song = write_pretty_midi_song(tmp_path / "song.mid", [(60 + k % 12, 4 * k, 4 * k + 3) for k in range(32)])
    silent = {"a2b": lambda x: np.zeros(np.shape(x), np.float32)}
    result = transfer.transfer_song(song, silent, direction="a2b")
    assert result.warnings == ["the transfer has no notes (the source has 32)"]
    shifted = {"a2b": lambda x: np.roll(np.asarray(x, np.float32), 1, axis=2)}  # every note a semitone up
    result = transfer.transfer_song(song, shifted, direction="a2b")
    assert len(result.warnings) == 1 and "keeps 0 of the source's 32 notes" in result.warnings[0]
