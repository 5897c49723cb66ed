"""MuseGAN data: the book's JSB recipe, the chorale archives, MIDI sources, the prepare driver's fixed splits, decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mst.encodings import multitrack
from mst.models.musegan.musegan_demo import EMBEDDED_CHORALES
from mst.records import encoders, prepare_driver
from mst.records.multitrack_rolls import MultitrackOptions, MultitrackRollEncoder, load_windows


@pytest.fixture(scope="module")
def embedded():
    return multitrack.load_chorales(EMBEDDED_CHORALES)


def book_recipe(chorale):
    """The book's loader written out independently (load_music: skip NaN blocks, 32 steps, one-hot over 85, drop 84, 0 -> -1)."""
    first = 0
    while np.any(np.isnan(chorale[first : first + 4])):
        first += 4
    data = chorale[first : first + 32]
    data = np.where(np.isnan(data), 84, data).astype(int)  # [32, 4]
    onehot = np.eye(85)[data]  # [32, 4, 85]
    onehot = onehot.transpose(0, 2, 1)[:, :84, :]  # [32, 84, 4]
    onehot[onehot == 0] = -1
    return onehot.reshape(2, 16, 84, 4)


def test_embedded_split_counts_and_book_recipe(embedded):
    assert {k: len(v) for k, v in embedded.items()} == {"train": 229, "valid": 76, "test": 77}
    windows = [multitrack.chorale_windows(c)[0] for c in embedded["train"]]
    assert [len(w) for w in windows].count(1) == 229  # every training chorale gives exactly one window
    values = multitrack.to_model_values(np.concatenate(windows))
    assert values.shape == (229, 2, 16, 84, 4)
    expected = np.stack([book_recipe(c) for c in embedded["train"]])
    np.testing.assert_array_equal(values, expected)
    assert set(np.unique(values)) == {-1.0, 1.0}
    # at most one +1 per step and track; rests (all -1 columns) exist only where the chorale has NaN inside the window
    assert (values > 0).sum(axis=3).max() == 1


def test_all_windows_and_longer_windows(embedded):
    chorale = embedded["train"][0]
    all_windows, starts = multitrack.chorale_windows(chorale, windows="all")
    first = multitrack.first_full_block(chorale)
    assert starts[0] == first and np.all(np.diff(starts) == 32) and starts[-1] + 32 <= len(chorale) < starts[-1] + 64
    long_windows, _ = multitrack.chorale_windows(chorale, n_bars=4)
    assert long_windows.shape == (1, 4, 16, 84, 4)
    np.testing.assert_array_equal(long_windows[0, :2], all_windows[0])


@pytest.mark.shared_data
def test_embedded_copy_equals_the_staged_npz(shared_data_dir, embedded):
    original = multitrack.load_chorales(shared_data_dir / "jsb_chorales" / "Jsb16thSeparated.npz")
    assert list(original) == list(embedded)
    for split in original:
        assert len(original[split]) == len(embedded[split])
        for a, b in zip(original[split], embedded[split]):
            np.testing.assert_array_equal(a, b)


def test_unpickler_refuses_anything_but_arrays(tmp_path):
    import collections

    evil = np.empty(1, object)
    evil[0] = collections.OrderedDict(a=1)  # any global outside numpy's array reconstruction
    np.savez(tmp_path / "evil.npz", train=evil)
    with pytest.raises(ValueError, match=r"evil.npz: not a readable chorale archive \(refusing to load collections.OrderedDict"):
        multitrack.load_chorales(tmp_path / "evil.npz")


def test_prepare_keeps_the_official_split(tmp_path):
    encoder = encoders.make_encoder("multitrack_rolls", ["valid_split=test"])
    manifest = prepare_driver.prepare_dataset({"jsb": EMBEDDED_CHORALES}, tmp_path / "data", encoder, partition_by="corpus")
    info = manifest["partitions"]["jsb"]
    assert info["songs"] == {"train": 229, "test": 76 + 77} and info["phrases"] == {"train": 229, "test": 153}
    splits = {song["song_id"]: song["split"] for song in manifest["songs"]["jsb"]}
    assert all(split == ("train" if song.startswith("train/") else "test") for song, split in splits.items())
    assert manifest["split"]["fixed_by_source"] == 229 + 153
    assert manifest["window_shape"] == [2, 16, 84, 4]
    train = load_windows(tmp_path / "data", "train")
    assert train.rolls.shape == (229, 2, 16, 84, 4) and train.song_ids[0] == "train/000"
    expected = multitrack.chorale_windows(multitrack.load_chorales(EMBEDDED_CHORALES)["train"][0])[0][0]
    np.testing.assert_array_equal(train.rolls[0], expected)
    # default: valid dropped
    default = prepare_driver.prepare_dataset({"jsb": EMBEDDED_CHORALES}, tmp_path / "default", MultitrackRollEncoder(), partition_by="corpus")
    assert default["partitions"]["jsb"]["songs"] == {"train": 229, "test": 77}
    assert json.loads((tmp_path / "default" / "manifest.json").read_text())["multitrack_options"]["windows"] == "first"


def test_prepare_cli_accepts_an_archive(tmp_path, capsys):
    from mst import prepare

    status = prepare.main(["--encoding", "multitrack_rolls", "--option", "windows=all", "--corpus", f"jsb={EMBEDDED_CHORALES}",
                           "--out", str(tmp_path / "d"), "--workers", "1", "--quiet"])
    assert status == 0
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["partitions"]["jsb"]["phrases"]["train"] == 1663  # every non-overlapping window of the 229 training chorales
    assert prepare.main(["--encoding", "multitrack_rolls", "--corpus", f"x={tmp_path / 'nope.txt'}", "--out", str(tmp_path / "e")]) == 2
    assert "nope.txt: a multitrack_rolls source must be a MIDI folder or a chorale .npz archive" in capsys.readouterr().err


def _four_voice_midi(smf_writer, path, names=("Soprano", "Alto", "Tenor", "Bass"), pitches=(72, 67, 64, 48)):
    tracks = [smf_writer.conductor()]
    for channel, (name, pitch) in enumerate(zip(names, pitches)):
        tracks.append(smf_writer.melody(3, pitches=(pitch, pitch + 2), channel=channel, name=name))
    path.write_bytes(smf_writer.smf([t.chunk() for t in tracks]))
    return path


def test_midi_source_by_order_and_by_name(tmp_path, smf_writer):
    folder = tmp_path / "midi"
    folder.mkdir()
    _four_voice_midi(smf_writer, folder / "a.mid")
    _four_voice_midi(smf_writer, folder / "b.mid", names=("Bass", "Tenor", "Alto", "Soprano"), pitches=(48, 64, 67, 72))
    by_order = MultitrackRollEncoder(MultitrackOptions())
    by_name = MultitrackRollEncoder(MultitrackOptions(midi_track_by="name"))
    for encoder, swapped_order in ((by_order, True), (by_name, False)):
        rolls = {}
        for name in ("a.mid", "b.mid"):
            encoded = encoder.encode_file(str(folder / name))
            assert encoded.kept and encoded.split is None and len(encoded.examples) == 1
            bits = np.unpackbits(np.frombuffer(encoded.examples[0][8:], np.uint8))
            rolls[name] = bits.astype(bool).reshape(2, 16, 84, 4)
        top = [int(rolls["b.mid"][0, 0, :, t].nonzero()[0][0]) for t in range(4)]
        assert [int(rolls["a.mid"][0, 0, :, t].nonzero()[0][0]) for t in range(4)] == [72, 67, 64, 48]
        assert top == ([48, 64, 67, 72] if swapped_order else [72, 67, 64, 48])
        # quarter notes alternating pitch and pitch + 2: steps 0-3 pitch, 4-7 pitch + 2
        assert rolls["a.mid"][0, :8, 72, 0].tolist() == [True] * 4 + [False] * 4
    assert MultitrackRollEncoder().encode_file(str(tmp_path / "missing.mid")).reason == "unreadable"


def test_decoding_argmax_restarts_every_beat_and_threshold_rests():
    values = -np.ones((2, 16, 84, 4), np.float32)
    values[0, :8, 60, 0] = 0.9  # one pitch for 8 steps: two beat-long notes with argmax
    values[0, 8:, 62, 0] = -0.5  # below threshold 0: rests with "threshold", sounds with argmax
    pitches = multitrack.decode_roll(values)
    assert pitches[0, :8].tolist() == [60] * 8 and pitches[0, 8:16].tolist() == [62] * 8
    notes = multitrack.pitches_to_notes(pitches[:1, :16], ticks_per_beat=4)
    assert [(int(n["start"]), int(n["end"]), int(n["pitch"])) for n in notes] == [(0, 4, 60), (4, 8, 60), (8, 12, 62), (12, 16, 62)]
    rests = multitrack.decode_roll(values, decoding="threshold")
    assert rests[0, 8:16].tolist() == [multitrack.REST] * 8
    notes = multitrack.pitches_to_notes(rests[:1, :16], ticks_per_beat=4, restart_every=0)
    assert [(int(n["start"]), int(n["end"]), int(n["pitch"])) for n in notes] == [(0, 8, 60)]


def test_midi_round_trip_of_a_window(tmp_path, embedded):
    from mst.music.midi import read_midi

    window = multitrack.to_model_values(multitrack.chorale_windows(embedded["test"][0])[0][0])
    path = multitrack.write_roll_midi(tmp_path / "w.mid", window)
    song = read_midi(path)
    assert len(np.unique(song.notes["track"])) == 4
    encoded = MultitrackRollEncoder(MultitrackOptions(skip_silent_start=False)).encode_file(str(path))
    back = np.unpackbits(np.frombuffer(encoded.examples[0][8:], np.uint8)).astype(bool).reshape(2, 16, 84, 4)
    np.testing.assert_array_equal(back, window > 0)
