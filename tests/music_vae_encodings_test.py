"""Tests of the MusicVAE converters (mst.encodings.drums, mst.encodings.melody_onehot) and their records.

Every converter has a decode path back to MIDI; the round trips below go tensor -> MIDI file ->
tensor and must reproduce the tensor exactly (hits, velocities) or to float rounding (offsets).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mst.encodings import drums, melody_onehot
from mst.music.midi import Song, make_notes, make_tempos, make_time_signatures, read_midi, write_midi
from mst.records import music_vae_records as records
from mst.records.prepare_driver import prepare_dataset

SUBSET = Path(__file__).resolve().parents[1] / "mst" / "data" / "corpora" / "groove_gmd_subset"


def song_of(notes, tpb=480, qpm=120.0, signature=(4, 4)):
    end = int(notes["end"].max()) if len(notes) else 0
    return Song("", tpb, notes, make_tempos([0], [qpm]), make_time_signatures([0], [signature[0]], [signature[1]]), end_tick=end)


# --------------------------------------------------------------------------- drums


def test_drum_maps_cover_magenta_classes():
    roland, gm = drums.pitch_class_map("roland"), drums.pitch_class_map("gm")
    assert len(drums.ROLAND_DRUM_PITCH_CLASSES) == len(drums.GM_DRUM_PITCH_CLASSES) == 9
    assert [roland[p] for p in (36, 38, 37, 40, 42, 22, 44, 46, 26, 43, 58, 47, 45, 50, 48, 49, 52, 55, 57, 51, 53, 59)] == \
        [0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8]
    assert gm[45] == 4 and roland[45] == 5  # the maps disagree on tom 45, as Magenta's
    assert [c[0] for c in drums.GM_DRUM_PITCH_CLASSES][4:7] == [45, 48, 50]
    with pytest.raises(ValueError, match="unknown drum pitch map"):
        drums.pitch_class_map("yamaha")


def test_onsets_quantise_offsets_and_keep_the_loudest_hit():
    # tpb 480: one step = 120 ticks. Snare 10 ticks early of step 4, twice in one cell (louder one kept).
    notes = make_notes([0, 470, 475, 545, 1], [60, 530, 535, 600, 60], [36, 38, 38, 42, 99], velocity=[100, 50, 90, 70, 10], is_drum=True)
    onsets = drums.song_onsets(song_of(notes), "roland")
    assert onsets.unmapped == 1  # pitch 99 is not in the Roland map
    grid = drums.onset_grid(onsets, 16)
    assert grid.hits[0, 0] == 1 and grid.hits[4, 1] == 1 and grid.hits[5, 2] == 1 and grid.hits.sum() == 3
    assert grid.velocities[4, 1] == pytest.approx(90 / 127)
    assert grid.offsets[4, 1] == pytest.approx(2 * (480 - 475) / 120)  # early -> positive
    assert grid.offsets[5, 2] == pytest.approx(2 * (600 - 545) / 120)  # 545 rounds to step 5 (600), early
    assert np.all(np.abs(grid.offsets) <= 1.0)


def test_groove_midi_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    tensor = np.zeros((64, 27), np.float32)
    hits = rng.random((64, 9)) < 0.15
    tensor[:, :9] = hits
    tensor[:, 9:18] = np.where(hits, rng.integers(1, 128, (64, 9)) / 127.0, 0)
    tensor[:, 18:] = np.where(hits, rng.integers(-59, 60, (64, 9)) / 60.0, 0)  # multiples of 2 ticks at 480 tpb
    tensor[0, 0], tensor[0, 18] = 1.0, 0.0
    tensor[0, 9] = 1.0
    for classes in ("gm", "roland"):
        notes = drums.grid_to_notes(tensor, ticks_per_beat=480, pitch_classes=classes)
        path = write_midi(tmp_path / f"{classes}.mid", notes, ticks_per_beat=480)
        song = read_midi(path)
        back = drums.onset_grid(drums.song_onsets(song, classes), 64).tensor()
        np.testing.assert_array_equal(back[:, :18], tensor[:, :18])
        np.testing.assert_allclose(back[:, 18:], tensor[:, 18:], atol=1e-6)


def test_converter_windows_pad_to_bars_and_drop_incomplete_windows():
    # Onsets up to bar 5 (step 70): 5 bars -> one 4-bar window (the 5th bar is cut).
    onsets = drums.Onsets(np.array([0, 20, 70]), np.array([0, 1, 2]), np.array([100, 100, 100]), np.zeros(3))
    assert drums.whole_bars(onsets) == 5
    windows = drums.converter_windows(onsets, 4)
    assert windows.shape == (1, 64, 27) and windows[0, :, :9].sum() == 2
    assert drums.converter_windows(drums.Onsets(np.array([40]), np.array([0]), np.array([9]), np.zeros(1)), 4).shape == (0, 64, 27)
    assert drums.converter_windows(onsets, 2).shape == (2, 32, 27)


def test_bar_windows_follow_the_tfds_rule():
    # 6 bars of quarter-note kicks (4/4, 480 tpb): round(end / bar) = 6 bars -> 3 four-bar windows, hop 1 bar.
    starts = np.arange(0, 6 * 1920, 480)
    song = song_of(make_notes(starts, starts + 60, 36, velocity=80, is_drum=True))
    indices, tensors, cut = drums.bar_window_grooves(song, 4)
    assert cut == 3 and indices == [0, 1, 2] and len(tensors) == 3
    assert all(t[:, 0].sum() == 16 for t in tensors)
    # A window whose last bar is empty gives no tensor (its onsets end before bar 4).
    song = song_of(make_notes(starts[:16], starts[:16] + 60, 36, velocity=80, is_drum=True))
    song.end_tick = 6 * 1920
    indices, tensors, cut = drums.bar_window_grooves(song, 4)
    assert cut == 3 and indices == [0]


def test_input_transforms_match_magenta():
    rng = np.random.default_rng(0)
    x = np.zeros((8, 27), np.float32)
    x[:, :9] = rng.random((8, 9)) < 0.4
    x[:, 9:18] = x[:, :9] * rng.uniform(0.1, 1, (8, 9))
    x[:, 18:] = x[:, :9] * rng.uniform(-1, 1, (8, 9))
    human = drums.humanize_input(x)
    np.testing.assert_array_equal(human[:, :9], x[:, :9])
    assert not human[:, 9:].any()
    tapped = drums.tapify_input(x)
    loudest = np.argmax(x[:, 9:18], axis=1)
    np.testing.assert_array_equal(tapped[:, 3], x[np.arange(8), loudest])
    np.testing.assert_array_equal(tapped[:, 12], x[np.arange(8), 9 + loudest])
    assert np.count_nonzero(np.delete(tapped, [3, 12, 21], axis=1)) == 0
    fixed = drums.fixed_velocities_input(x)
    assert not fixed[:, 9:18].any() and np.array_equal(fixed[:, 18:], x[:, 18:])
    dropped = drums.note_dropout_input(x, 0.8, np.random.default_rng(1))
    assert dropped[:, :9].sum() <= x[:, :9].sum() and np.all((dropped[:, :9] == 0) | (dropped[:, :9] == x[:, :9]))
    combined = drums.transform_input(x, tapify=True, fixed_velocities=True)
    assert not combined[:, 9:18].any() and np.array_equal(combined[:, 3], tapped[:, 3])


def test_multi_drum_one_hot_round_trip():
    every = drums.multihot_to_drums(np.arange(512))
    assert every.shape == (512, 9)
    np.testing.assert_array_equal(drums.drums_to_multihot(every), np.arange(512))
    assert len({row.tobytes() for row in every}) == 512


# --------------------------------------------------------------------------- melodies


def test_melody_extraction_rules():
    # Highest of two simultaneous notes wins; a later note cuts the sounding one; a 1-bar gap ends the melody.
    notes = make_notes([0, 0, 240, 360, 360 + 1920 + 240], [480, 480, 960, 480, 360 + 1920 + 480], [60, 72, 64, 67, 50])
    melodies = melody_onehot.extract_melodies(song_of(notes))
    assert len(melodies) == 2
    first = melodies[0].tolist()
    assert first[0] == melody_onehot.pitch_class_index(72) and first[2] == melody_onehot.pitch_class_index(64)
    assert first[3] == melody_onehot.pitch_class_index(67) and first[4] == melody_onehot.NOTE_OFF
    assert len(first) == 16
    assert melodies[1].tolist()[:5] == [0] * 5 and melodies[1].tolist()[5] == melody_onehot.pitch_class_index(50)  # starts at its bar line
    assert melody_onehot.NUM_CLASSES == 90 and melody_onehot.pitch_class_index(21) == 2 and melody_onehot.pitch_class_index(108) == 89


def test_melody_midi_round_trip_and_windows(tmp_path):
    rng = np.random.default_rng(5)
    events = np.zeros(64, np.uint8)
    for step in range(0, 64, 4):
        events[step] = rng.integers(2, 90)
    events[30] = melody_onehot.NOTE_OFF
    path = write_midi(tmp_path / "m.mid", melody_onehot.events_to_notes(events, ticks_per_beat=480), ticks_per_beat=480)
    back = melody_onehot.extract_melodies(read_midi(path), melody_onehot.MelodyOptions(gap_bars=4.0))
    assert len(back) == 1
    np.testing.assert_array_equal(back[0][:64], events)
    windows = melody_onehot.slice_windows(back, 2)
    assert [w.shape for w in windows] == [(32,)] * 4  # the final note-off opens a fifth bar
    np.testing.assert_array_equal(windows[1], events[16:48])
    assert len(melody_onehot.slice_windows([events, events], 2)) == 3  # duplicates removed
    one_hot = melody_onehot.one_hot(events)
    assert one_hot.shape == (64, 90) and np.array_equal(one_hot.argmax(-1), events)


# --------------------------------------------------------------------------- records and the encoders


def test_groove_payload_round_trip():
    tensor = np.zeros((32, 27), np.float32)
    tensor[[0, 5], [0, 4]] = 1
    tensor[[0, 5], [9, 13]] = [1.0, 64 / 127]
    tensor[[0, 5], [18, 22]] = [0.25, -0.5]
    payload = records.pack_groove(tensor)
    assert len(payload) == 32 * 9 * 5
    np.testing.assert_array_equal(records.unpack_groove(payload, 32), tensor)


def test_groove_encoder_on_the_embedded_subset(tmp_path):
    with open(SUBSET / "info.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 25 and {r["split"] for r in rows} == {"train", "validation", "test"}
    manifest = prepare_dataset({"gmd": SUBSET}, tmp_path / "data", records.GrooveEncoder(), partition_by="corpus")
    info = manifest["partitions"]["gmd"]
    assert info["files_found"] == 25 and info["files_kept"] == 25
    stats = info["kept_file_stats"]
    train = records.load_sequences(tmp_path / "data", "train")
    validation = records.load_sequences(tmp_path / "data", "validation")
    test = records.load_sequences(tmp_path / "data", "test")
    assert (len(train), len(validation), len(test)) == (stats["tensors_train"], stats["tensors_validation"], stats["tensors_test"])
    assert len(train) + len(validation) + len(test) == stats["tensors"] == sum(s["records"] for s in manifest["shards"])
    official = {r["midi_filename"]: r["split"] for r in rows}
    for arrays, split in ((train, "train"), (validation, "validation"), (test, "test")):
        assert all(official[song.split("/", 1)[1]] == split for song in arrays.song_ids)
    assert train.tensors.shape[1:] == (64, 27) and set(np.unique(train.tensors[..., :9])) == {0.0, 1.0}
    # The records hold what the converter computes for that window.
    song_path = SUBSET / test.song_ids[0].split("/", 1)[1]
    song = read_midi(song_path)
    song.end_tick = max(song.end_tick, records.midi_end_tick(str(song_path)))
    indices, tensors, _ = drums.bar_window_grooves(song, 4)
    np.testing.assert_allclose(test.tensors[0], tensors[indices.index(int(test.window_indices[0]))], atol=1e-6)


def test_encoders_reject_with_reasons(tmp_path):
    notes = make_notes([0, 480], [60, 540], [36, 38], is_drum=True)
    path = write_midi(tmp_path / "waltz.mid", notes, time_signatures=make_time_signatures([0], [3], [4]))
    assert records.GrooveEncoder().encode_file(str(path)).reason == "not_4_4"
    short = write_midi(tmp_path / "short.mid", notes)
    assert records.GrooveEncoder().encode_file(str(short)).reason == "no_groove"
    assert records.MelodyEncoder().encode_file(str(tmp_path / "missing.mid")).reason == "unreadable"
    with pytest.raises(ValueError, match="windowing"):
        records.GrooveOptions(windowing="sliding")


def test_prepare_command_line_with_the_groove_encoding(tmp_path):
    from mst import prepare

    status = prepare.main(["--encoding", "groove", "--option", "split_bars=2", "--corpus", f"gmd={SUBSET}", "--out", str(tmp_path / "d2"),
                           "--workers", "1", "--quiet"])
    assert status == 0
    encoding, steps = records.dataset_encoding(tmp_path / "d2")
    assert (encoding, steps) == ("groove", 32)
    assert len(records.load_sequences(tmp_path / "d2", "train")) > len(records.load_sequences(tmp_path / "d2", "test")) > 0


def test_melody_encoder_through_the_driver(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for index in range(3):
        starts = np.arange(0, 8 * 1920, 240)
        write_midi(folder / f"s{index}.mid", make_notes(starts, starts + 200, rng.integers(55, 80, len(starts))))
    manifest = prepare_dataset({"songs": folder}, tmp_path / "mel", records.MelodyEncoder(records.MelodyOneHotOptions(slice_bars=2)), partition_by="corpus", test_ratio=0.34)
    assert manifest["encoder"] == "melody_onehot"
    everything = records.load_sequences(tmp_path / "mel", "train", "hash")
    held_out = records.load_sequences(tmp_path / "mel", "test", "hash")
    assert len(everything) + len(held_out) == 3 * 8  # the last note-off opens a 9th bar: 8 two-bar windows per song
    assert everything.tensors.dtype == np.uint8 and everything.tensors.shape[1] == 32


def test_converter_windowing_cuts_whole_files():
    path = SUBSET / "drummer1" / "session1" / "81_dance-breakbeat_170_beat_4-4.mid"
    encoded = records.GrooveEncoder(records.GrooveOptions(windowing="converter", max_tensors_per_song=3)).encode_file(str(path))
    expected = drums.converter_windows(drums.song_onsets(read_midi(path), "roland"), 4)
    assert len(expected) > 3 and encoded.indices == (0, 1, 2)
    for payload, tensor in zip(encoded.examples, expected):
        assert payload[0] == 1 + records.OFFICIAL_SPLITS.index("train")  # the GMD split travels with the record
        np.testing.assert_allclose(records.unpack_groove(payload[1:], 64), tensor, atol=1e-6)
