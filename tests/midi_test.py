"""Tests for mst.music.midi: reading (both backends), errors, tempo maps, writing and interop."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time

import numpy as np
import pretty_midi
import pytest

from conftest import MIDI_FIXTURES_DIR
from mst.music import midi
from mst.encodings.pianoroll import song_to_roll
from mst.music.midi import MidiError, Song, make_notes, make_tempos, make_time_signatures, read_midi, write_midi

GOOD = MIDI_FIXTURES_DIR / "good"
BAD = MIDI_FIXTURES_DIR / "bad"
BACKENDS = ("symusic", "pretty_midi")


def sounding_note_table(song: Song) -> np.ndarray:
    """Positive-length notes as sorted rows (start, end, pitch, velocity, program, is_drum); no track ids."""
    notes = song.notes[song.notes["end"] > song.notes["start"]]
    columns = ("start", "end", "pitch", "velocity", "program", "is_drum")
    table = np.stack([notes[name].astype(np.int64) for name in columns], axis=1)
    return table[np.lexsort(table.T[::-1])]


def assert_same_song(a: Song, b: Song) -> None:
    assert a.ticks_per_beat == b.ticks_per_beat
    np.testing.assert_array_equal(sounding_note_table(a), sounding_note_table(b))
    np.testing.assert_array_equal(a.tempos["tick"], b.tempos["tick"])
    np.testing.assert_allclose(a.tempos["qpm"], b.tempos["qpm"], rtol=1e-9)
    np.testing.assert_array_equal(a.time_signatures, b.time_signatures)
    assert a.end_tick == b.end_tick


# --------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("backend", BACKENDS)
def test_reads_scale_in_ticks(backend):
    song = read_midi(GOOD / "c_major_scale.mid", backend=backend)
    assert song.ticks_per_beat == 480
    assert song.notes.dtype == midi.NOTE_DTYPE
    assert song.notes.shape == (64,)
    np.testing.assert_array_equal(song.notes["start"], np.arange(64) * 480)
    np.testing.assert_array_equal(song.notes["end"], np.arange(1, 65) * 480)
    np.testing.assert_array_equal(song.notes["pitch"][:9], [60, 62, 64, 65, 67, 69, 71, 72, 60])
    assert np.all(song.notes["velocity"] == 90) and not song.notes["is_drum"].any()
    np.testing.assert_array_equal(song.tempos, make_tempos([0], [120.0]))
    np.testing.assert_array_equal(song.time_signatures, make_time_signatures([0], [4], [4]))
    assert song.end_tick == 64 * 480
    assert song.path.endswith("c_major_scale.mid")


@pytest.mark.parametrize("backend", BACKENDS)
def test_reads_programs_drums_and_tempo_map(backend):
    song = read_midi(GOOD / "chords_bass_drums.mid", backend=backend)
    drums = song.notes[song.notes["is_drum"]]
    assert drums.shape == (80,) and set(drums["pitch"].tolist()) == {36, 38}
    assert set(song.notes[~song.notes["is_drum"]]["program"].tolist()) == {0, 33}
    assert np.count_nonzero(song.notes["program"] == 33) == 16
    assert len(np.unique(song.notes["track"])) == 3

    changes = read_midi(GOOD / "tempo_changes.mid", backend=backend)
    np.testing.assert_array_equal(changes.tempos["tick"], [0, 15360, 30720])
    np.testing.assert_allclose(changes.tempos["qpm"], [120.0, 60.0, 150.0])
    # Ticks are untouched by tempo: every eighth note starts at a multiple of 480 ticks (960 tpq).
    np.testing.assert_array_equal(changes.notes["start"], np.arange(128) * 480)


@pytest.mark.parametrize("name", ["c_major_scale.mid", "chords_bass_drums.mid", "tempo_changes.mid",
                                  "offgrid_short_notes.mid"])
def test_backends_agree_on_fixtures(name):
    assert_same_song(read_midi(GOOD / name), read_midi(GOOD / name, backend="pretty_midi"))


def test_zero_length_notes_are_kept_by_symusic_and_dropped_by_pretty_midi():
    fast = read_midi(GOOD / "offgrid_short_notes.mid")
    reference = read_midi(GOOD / "offgrid_short_notes.mid", backend="pretty_midi")
    zero = fast.notes[fast.notes["end"] == fast.notes["start"]]
    assert zero.shape == (1,) and int(zero["pitch"][0]) == 65 and int(zero["start"][0]) == 96
    assert reference.notes.shape[0] == fast.notes.shape[0] - 1


def test_overlapping_same_pitch_notes_end_at_the_first_note_off(tmp_path, smf_writer):
    # on 0, on 10, off 20, off 30: pretty_midi ends both notes at 20 and ignores the second off;
    # symusic would pair first-in-first-out (0-20, 10-30), which read_midi re-pairs.
    w = smf_writer
    body = (w.vlq(0) + bytes([0x90, 60, 90]) + w.vlq(10) + bytes([0x90, 60, 80]) + w.vlq(10) + bytes([0x80, 60, 0])
            + w.vlq(10) + bytes([0x80, 60, 0]) + w.vlq(0) + bytes([0x90, 62, 70]) + w.vlq(5) + bytes([0x80, 62, 0])
            + w.vlq(0) + w.END_OF_TRACK)
    path = tmp_path / "overlap.mid"
    path.write_bytes(w.smf([w.conductor().chunk(), w.raw_chunk(body)]))
    for backend in BACKENDS:
        song = read_midi(path, backend=backend)
        rows = [(int(n["start"]), int(n["end"]), int(n["pitch"])) for n in song.notes]
        assert rows == [(0, 20, 60), (10, 20, 60), (30, 35, 62)], backend


def test_meta_events_of_all_tracks_are_collected(tmp_path, smf_writer):
    w = smf_writer
    other = w.Track("second").add(0, w.time_signature(3, 4)).add(960, w.tempo(600_000))
    other.note(0, 480, 64)
    path = tmp_path / "meta_elsewhere.mid"
    path.write_bytes(w.smf([w.conductor().chunk(), other.chunk()]))
    for backend in BACKENDS:
        song = read_midi(path, backend=backend)
        np.testing.assert_array_equal(song.time_signatures, make_time_signatures([0, 0], [4, 3], [4, 4]))
        np.testing.assert_allclose(song.tempos["qpm"], [120.0, 100.0])
        np.testing.assert_array_equal(song.tempos["tick"], [0, 960])
        assert song.end_tick == 960


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_after_end_of_track_are_ignored(backend):
    assert read_midi(BAD / "notes_after_end_of_track.mid", backend=backend).notes.shape == (0,)


READ_ERRORS = {
    "empty.mid": "empty_file",
    "random_bytes.mid": "not_midi",
    "text_file.mid": "not_midi",
    "truncated.mid": "unreadable",
    "header_declares_missing_tracks.mid": "unreadable",
    "smpte_division.mid": "absurd_ticks",
    "absurd_ticks.mid": "absurd_ticks",
    "zero_tempo.mid": "absurd_tempo",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, reason", sorted(READ_ERRORS.items()))
def test_bad_files_raise_midi_error_with_reason(name, reason, backend):
    with pytest.raises(MidiError) as caught:
        read_midi(BAD / name, backend=backend)
    assert caught.value.reason == reason
    assert caught.value.path == str(BAD / name)
    assert name in str(caught.value) and reason in str(caught.value)
    assert caught.value.detail


@pytest.mark.parametrize("backend", BACKENDS)
def test_trailing_bytes_after_the_declared_tracks_are_ignored(tmp_path, backend):
    data = (GOOD / "c_major_scale.mid").read_bytes()
    path = tmp_path / "padded.mid"
    path.write_bytes(data + b"JUNK\xff\xff\xff\xff" + bytes(20))
    assert read_midi(path, backend=backend).notes.shape == (64,)


MAX_DELTA = bytes([0xFF, 0xFF, 0xFF, 0x7F])  # the largest delta-time, 2**28 - 1
SYSEX = bytes([0xF0, 0x01, 0xF7])


def note_track(w, prefix: bytes = b"", delta: int = 100, suffix: bytes = b"") -> bytes:
    """A track chunk: ``prefix`` events, one note ``delta`` ticks later (10 ticks long), ``suffix`` events, end of track."""
    return w.raw_chunk(prefix + w.vlq(delta) + bytes([0x90, 60, 90]) + w.vlq(10) + bytes([0x80, 60, 0]) + suffix
                       + w.vlq(0) + w.END_OF_TRACK)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("hidden, expected_tick", [
    # symusic drops sysex and text events, so their delta-times move its int32 tick counter unseen:
    # 16 * (2**28 - 1) + 100 = 2**32 + 84 wraps to a note at tick 84, 8 of them go negative.
    ((MAX_DELTA + SYSEX) * 16, 16 * (2**28 - 1) + 100),
    ((MAX_DELTA + bytes([0xFF, 0x01, 0x01, 0x41])) * 16, 16 * (2**28 - 1) + 100),
    ((MAX_DELTA + SYSEX) * 8, 8 * (2**28 - 1) + 100),
])
def test_tick_overflow_hidden_in_dropped_events_is_absurd_ticks(tmp_path, smf_writer, hidden, expected_tick, backend):
    path = tmp_path / "wrapped.mid"
    path.write_bytes(smf_writer.smf([note_track(smf_writer, prefix=hidden)]))
    with pytest.raises(MidiError) as caught:
        read_midi(path, backend=backend)
    assert caught.value.reason == "absurd_ticks"
    # Stopped at the first event past the limit: the first hidden event, at byte 14 + 8 + 4.
    assert caught.value.detail == f"event at byte 26 lies at tick {2**28 - 1} >= limit {midi.MAX_TICK}"
    assert expected_tick > 2**31  # where the note lies, and where symusic's int32 counter got lost


@pytest.mark.parametrize("backend", BACKENDS)
def test_tick_limit_is_exact_and_a_late_end_of_track_does_not_count(tmp_path, smf_writer, backend):
    w = smf_writer
    last_start = midi.MAX_TICK - 11  # note-off at MAX_TICK - 1: the last tick allowed
    kept = tmp_path / "kept.mid"
    kept.write_bytes(w.smf([w.raw_chunk(w.vlq(last_start) + bytes([0x90, 60, 90]) + w.vlq(10) + bytes([0x80, 60, 0])
                                        + MAX_DELTA + w.END_OF_TRACK)]))
    assert read_midi(kept, backend=backend).end_tick == midi.MAX_TICK - 1
    over = tmp_path / "over.mid"
    over.write_bytes(w.smf([w.raw_chunk(w.vlq(last_start) + bytes([0x90, 60, 90]) + w.vlq(11) + bytes([0x80, 60, 0])
                                        + w.vlq(0) + w.END_OF_TRACK)]))
    with pytest.raises(MidiError, match=f"tick {midi.MAX_TICK} >= limit"):
        read_midi(over, backend=backend)


@pytest.mark.parametrize("events, kept", [(78_740, True), (78_741, False)])
def test_many_one_byte_delta_times_add_up_exactly(tmp_path, smf_writer, events, kept):
    # 127 ticks per event (note-offs under running status): 78,741 events reach 10,000,107 ticks.
    body = bytes([0x7F, 0x90, 60, 0]) + bytes([0x7F, 60, 0]) * (events - 1) + smf_writer.vlq(0) + smf_writer.END_OF_TRACK
    path = tmp_path / "slow.mid"
    path.write_bytes(smf_writer.smf([smf_writer.raw_chunk(body)]))
    if kept:
        assert read_midi(path).notes.shape == (0,)
    else:
        with pytest.raises(MidiError, match=f"absurd_ticks .track ends at tick {127 * events} >= limit"):
            read_midi(path)


GARBLED_TRACKS = {
    # body of the only track -> (offset of the problem in the track body, words in the detail)
    "data byte with no running status": (bytes([0x00, 60, 90]), 1, "no running status"),
    "data byte after a sysex event": (bytes([0x00, 0x90, 60, 90]) + bytes([0x00]) + SYSEX + bytes([0x0A, 60, 0]), 9,
                                      "no running status"),
    "system message": (bytes([0x00, 0xF8]), 1, "system message status 0xf8"),
    "sysex escape with data": (bytes([0x00, 0xF7, 0x01, 0x05]), 1, "escape event (0xF7) with data"),
    "delta-time of 5 bytes": (bytes([0x81, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 90]), 0, "longer than 4 bytes"),
    "note cut by the chunk end": (bytes([0x00, 0x90, 60]), 3, "past the end of the track chunk"),
    "meta data past the chunk end": (bytes([0x00, 0xFF, 0x01, 0x7F, 0x41]), 5, "past the end of the track chunk"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(GARBLED_TRACKS))
def test_garbled_event_streams_are_unreadable_with_the_byte_offset(tmp_path, smf_writer, name, backend):
    body, offset, words = GARBLED_TRACKS[name]
    path = tmp_path / "garbled.mid"
    # Followed by a good track, so that a misstep into the next chunk is not hidden by the file end.
    path.write_bytes(smf_writer.smf([smf_writer.raw_chunk(body), note_track(smf_writer)]))
    with pytest.raises(MidiError) as caught:
        read_midi(path, backend=backend)
    assert caught.value.reason == "unreadable"
    assert f"byte {14 + 8 + offset}:" in caught.value.detail and words in caught.value.detail


def test_garbage_chunk_types_are_unreadable_at_once(tmp_path, smf_writer):
    header = smf_writer.smf([], file_format=1)[:10] + bytes([0, 1, 1, 0xE0])  # one track declared, 480 tpq
    path = tmp_path / "zeros.mid"
    with open(path, "wb") as file:
        file.write(header)
        file.truncate(32 * 2**20)  # sparse: 32 MiB of zeros, 4 million 8-byte "chunks" of length 0
    started = time.perf_counter()
    with pytest.raises(MidiError, match=r"garbage at byte 14: chunk type b'\\x00\\x00\\x00\\x00'"):
        read_midi(path)
    assert time.perf_counter() - started < 1.0  # the old chunk walk took 2-3 s here
    path.write_bytes(header + b"MT\x01k" + bytes(4))
    with pytest.raises(MidiError, match="not 4 printable ASCII"):
        read_midi(path)


def test_size_cap_and_header_are_checked_before_the_file_is_read(tmp_path):
    scale = (GOOD / "c_major_scale.mid").read_bytes()
    with pytest.raises(MidiError, match=f"{len(scale)} bytes > limit 100") as caught:
        read_midi(GOOD / "c_major_scale.mid", max_file_bytes=100)
    assert caught.value.reason == "unreadable"
    assert read_midi(GOOD / "c_major_scale.mid", max_file_bytes=len(scale)).notes.shape == (64,)
    huge = tmp_path / "huge.mid"
    with open(huge, "wb") as file:  # sparse: no disk space, and too big to read in a test
        file.write(b"MThd" + bytes([0, 0, 0, 6, 0, 1, 0, 1, 1, 0xE0]))
        file.truncate(midi.MAX_FILE_BYTES + 1)
    with pytest.raises(MidiError, match=f"{midi.MAX_FILE_BYTES + 1} bytes > limit {midi.MAX_FILE_BYTES}"):
        read_midi(huge)
    not_midi = tmp_path / "not_midi.mid"
    with open(not_midi, "wb") as file:
        file.write(b"RIFF")
        file.truncate(8 * midi.MAX_FILE_BYTES)
    started = time.perf_counter()
    with pytest.raises(MidiError, match="not_midi"):  # the header decides, whatever the size
        read_midi(not_midi)
    assert time.perf_counter() - started < 0.5


def read_in_thread(path) -> BaseException | None:
    """read_midi in a daemon thread (a blocked read must fail the test, not hang it); returns what it raised."""
    import threading  # noqa: PLC0415

    outcome = []

    def target():
        try:
            read_midi(path)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001  (handed to the test)
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert outcome, f"read_midi({path}) blocked"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_non_regular_files_are_unreadable_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.mid")  # opening it for reading would block until a writer comes
    os.symlink(os.devnull, tmp_path / "device.mid")
    (tmp_path / "folder.mid").mkdir()
    for name, kind in (("pipe.mid", "a FIFO"), ("device.mid", "a character device"), ("folder.mid", "a folder")):
        error = read_in_thread(tmp_path / name)
        assert isinstance(error, MidiError) and error.reason == "unreadable", name
        assert error.detail == f"not a regular file ({kind})"


def test_more_than_32767_tracks(tmp_path, smf_writer):
    count = 2**15 + 2
    path = tmp_path / "many_tracks.mid"
    path.write_bytes(smf_writer.smf([note_track(smf_writer, delta=0)] * count))
    song = read_midi(path)  # the int16 track column overflowed here
    assert song.notes.shape == (count,) and song.notes.dtype["track"] == np.int32
    np.testing.assert_array_equal(np.sort(song.notes["track"]), np.arange(count))
    assert np.all(song.notes["end"] == 10)  # re-paired per track, not across tracks


def test_missing_file_and_unknown_backend():
    with pytest.raises(MidiError) as caught:
        read_midi(GOOD / "does_not_exist.mid")
    assert caught.value.reason == "unreadable" and "does_not_exist.mid" in str(caught.value)
    with pytest.raises(ValueError, match="backend"):
        read_midi(GOOD / "c_major_scale.mid", backend="mido")


def test_midi_error_pickles_and_rejects_unknown_reasons():
    error = pickle.loads(pickle.dumps(MidiError("a/b.mid", "not_midi", "starts with b'RIFF'")))
    assert (error.path, error.reason, error.detail) == ("a/b.mid", "not_midi", "starts with b'RIFF'")
    with pytest.raises(ValueError, match="unknown MidiError reason"):
        MidiError("a.mid", "bad_vibes")


def test_song_validates_its_arrays():
    notes = make_notes([0], [480], [60])
    with pytest.raises(TypeError, match="Song.notes"):
        Song("x", 480, np.zeros((1, 3)), make_tempos([], []), make_time_signatures([], [], []), 0)
    with pytest.raises(TypeError, match="Song.tempos"):
        Song("x", 480, notes, np.zeros(0), make_time_signatures([], [], []), 0)


def test_make_notes_sorts_by_start_then_pitch():
    notes = make_notes(start=[480, 0, 0], end=[960, 480, 240], pitch=[60, 64, 62], velocity=[1, 2, 3])
    assert notes["pitch"].tolist() == [62, 64, 60] and notes["velocity"].tolist() == [3, 2, 1]


# --------------------------------------------------------------------------------------------- tempo map


def test_ticks_seconds_round_trip_and_match_pretty_midi():
    song = read_midi(GOOD / "tempo_changes.mid")
    ticks = np.array([0, 480, 15360, 20000, 30720, 61439])
    seconds = midi.ticks_to_seconds(ticks, song.tempos, song.ticks_per_beat)
    # 16 beats at 120 BPM = 8 s; then 16 beats at 60 BPM = 16 s.
    assert seconds[2] == pytest.approx(8.0) and seconds[4] == pytest.approx(24.0)
    pm = pretty_midi.PrettyMIDI(str(GOOD / "tempo_changes.mid"))
    np.testing.assert_allclose(seconds, [pm.tick_to_time(int(t)) for t in ticks], atol=1e-9)
    np.testing.assert_array_equal(midi.seconds_to_ticks(seconds, song.tempos, song.ticks_per_beat), ticks)


def test_default_tempo_applies_before_the_first_tempo_event():
    tempos = make_tempos([960], [60.0])
    # 960 ticks at the SMF default 120 BPM (480 tpq) = 1 s, then 480 ticks at 60 BPM = 1 s.
    np.testing.assert_allclose(midi.ticks_to_seconds([960, 1440], tempos, 480), [1.0, 2.0])


def test_vectorised_pretty_midi_inverse_equals_time_to_tick():
    pm = pretty_midi.PrettyMIDI(str(GOOD / "tempo_changes.mid"))
    seconds = np.array([n.start for n in pm.instruments[0].notes] + [n.end for n in pm.instruments[0].notes] + [0.3337])
    expected = [pm.time_to_tick(s) for s in seconds]
    np.testing.assert_array_equal(midi._pretty_midi_seconds_to_ticks(pm, seconds), expected)


# --------------------------------------------------------------------------------------------- writing


def test_write_ticks_with_defaults(tmp_path):
    path = write_midi(tmp_path / "out.mid", make_notes([0, 480, 1800], [480, 720, 1920], [60, 64, 107]))
    song = read_midi(path)
    assert song.ticks_per_beat == 480
    np.testing.assert_array_equal(song.notes["start"], [0, 480, 1800])
    np.testing.assert_array_equal(song.notes["end"], [480, 720, 1920])
    assert np.all(song.notes["velocity"] == 100) and np.all(song.notes["program"] == 0)
    np.testing.assert_allclose(song.tempos["qpm"], [80.0])
    np.testing.assert_array_equal(song.time_signatures, make_time_signatures([0], [4], [4]))
    assert os.listdir(tmp_path) == ["out.mid"]  # no temporary file left behind


def test_write_ticks_round_trips_a_multitrack_song(tmp_path):
    song = read_midi(GOOD / "chords_bass_drums.mid")
    written = read_midi(write_midi(tmp_path / "copy.mid", song.notes, source=song))
    assert_same_song(song, written)
    assert written.notes["is_drum"].sum() == 80


def test_write_overwrites_atomically_and_validates(tmp_path):
    target = tmp_path / "song.mid"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="pitches"):
        write_midi(target, make_notes([0], [120], [128]))
    with pytest.raises(ValueError, match="start < end"):
        write_midi(target, make_notes([240], [240], [60]))
    with pytest.raises(ValueError, match="velocities"):
        write_midi(target, make_notes([0], [120], [60], velocity=0))
    with pytest.raises(ValueError, match="NOTE_DTYPE notes in ticks"):  # e.g. grid-step notes of an encoding
        write_midi(target, np.zeros(1, dtype=[("start", "i8"), ("end", "i8"), ("pitch", "i2")]))
    with pytest.raises(ValueError, match="ticks_per_beat"):
        write_midi(target, make_notes([0], [120], [60]), ticks_per_beat=0)
    with pytest.raises(ValueError, match="tempos"):
        write_midi(target, make_notes([0], [120], [60]), tempos=make_tempos([0], [0.0]))
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["song.mid"]
    write_midi(target, make_notes([0], [120], [60]))
    assert read_midi(target).notes.shape == (1,)


def test_write_keeps_source_tempo_map_and_names_the_track(tmp_path):
    song = read_midi(GOOD / "tempo_changes.mid")
    path = write_midi(tmp_path / "t.mid", make_notes([0], [song.ticks_per_beat * 16], [60]), source=song, track_name="melody")
    out = read_midi(path)
    assert out.ticks_per_beat == 960
    np.testing.assert_array_equal(out.tempos["tick"], song.tempos["tick"])
    np.testing.assert_allclose(out.tempos["qpm"], song.tempos["qpm"])
    assert [instrument.name for instrument in pretty_midi.PrettyMIDI(str(path)).instruments] == ["melody"]


def test_the_midi_layer_imports_no_encoding():
    code = "import sys, mst.music.midi, mst.music.files; print(sorted(m for m in sys.modules if m.startswith('mst.encodings')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=MIDI_FIXTURES_DIR.parents[2]).stdout
    assert output.strip() == "[]"


# --------------------------------------------------------------------------------------------- interop


def test_pretty_midi_round_trip():
    song = read_midi(GOOD / "chords_bass_drums.mid")
    pm = midi.song_to_pretty_midi(song)
    assert sorted(i.program for i in pm.instruments) == [0, 0, 33] and sum(i.is_drum for i in pm.instruments) == 1
    assert_same_song(song, midi.song_from_pretty_midi(pm))


def test_note_sequence_round_trip_and_agreement_with_note_seq_reader():
    import note_seq  # noqa: PLC0415  (slow import)

    song = read_midi(GOOD / "tempo_changes.mid")
    sequence = midi.song_to_note_sequence(song)
    assert len(sequence.notes) == 128 and sequence.ticks_per_quarter == 960
    assert_same_song(song, midi.song_from_note_sequence(sequence))
    reference = note_seq.midi_file_to_note_sequence(str(GOOD / "tempo_changes.mid"))
    np.testing.assert_allclose(sorted(n.start_time for n in sequence.notes),
                               sorted(n.start_time for n in reference.notes), atol=1e-9)
    assert sequence.total_time == pytest.approx(reference.total_time)
    assert_same_song(song, midi.song_from_note_sequence(reference))


# --------------------------------------------------------------------------------------------- real data


def sample_files(folder, pattern: str, count: int) -> list:
    files = sorted(folder.glob(pattern))
    return files[:: max(1, len(files) // count)][:count]


@pytest.mark.shared_data
@pytest.mark.parametrize("corpus, pattern", [
    ("pop909", "midi/*.mid"),
    ("piano_midi_de", "midis/*/*.mid"),
    ("wjazzd_solos", "midi/*.mid"),
])
def test_backends_agree_on_real_files(shared_data_dir, corpus, pattern):
    files = sample_files(shared_data_dir / corpus, pattern, 40)
    assert len(files) == 40
    seconds = {backend: 0.0 for backend in BACKENDS}
    for path in files:
        songs = {}
        for backend in BACKENDS:
            started = time.perf_counter()
            songs[backend] = read_midi(path, backend=backend)
            seconds[backend] += time.perf_counter() - started
        assert_same_song(songs["symusic"], songs["pretty_midi"])
        np.testing.assert_array_equal(song_to_roll(songs["symusic"]), song_to_roll(songs["pretty_midi"]))
    print(f"{corpus}: " + ", ".join(f"{b} {1000 * s / len(files):.2f} ms/file" for b, s in seconds.items()))
