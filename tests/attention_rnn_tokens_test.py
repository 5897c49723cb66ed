"""Tests of mst.encodings.note_tokens, mst.records.note_token_encoder and mst.records.note_token_reader."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mst.encodings import note_tokens as nt
from mst.music.midi import make_notes, read_midi, write_midi
from mst.records import encoders
from mst.records import note_token_reader as reader
from mst.records.note_token_encoder import NoteTokenEncoder
from mst.records.prepare_driver import PrepareError, SongExample, prepare_dataset

CORPUS = Path(__file__).resolve().parents[1] / "mst" / "data" / "corpora" / "cello_suites"
SHARED_CELLO = Path(__file__).resolve().parents[2] / "shared" / "data" / "bach_cello_suites" / "midi"
TPB = 480

# C3 (1 beat), then E3+G3 together for half a beat, E3 held another half, 2/3 of a beat of silence,
# C4 for a triplet eighth (1/3) and D4 for 2/3.
NOTES = [(0, 480, 48), (480, 960, 52), (480, 720, 55), (1280, 1440, 60), (1440, 1760, 62)]


def test_pitch_spelling_is_music21s():
    assert [nt.pitch_name(p) for p in (36, 37, 39, 42, 44, 46, 60, 71)] == ["C2", "C#2", "E-2", "F#2", "G#2", "B-2", "C4", "B4"]
    for pitch in range(12, 128):  # below MIDI 12 music21's names are ambiguous ("E-1": E-flat 1 or E in octave -1)
        assert nt.parse_pitch_name(nt.pitch_name(pitch)) == pitch
    assert nt.parse_pitch_name("D#3") == nt.parse_pitch_name("E-3") == 51
    with pytest.raises(ValueError):
        nt.parse_pitch_name("H3")


def test_chordify_slices_with_rests_and_tuplets():
    events = nt.events_from_notes(NOTES, TPB)
    tokens = [(nt.chord_token(p) if p else nt.REST, nt.duration_token(d)) for p, d in events]
    assert tokens == [("C3", "1"), ("E3.G3", "1/2"), ("E3", "1/2"), ("rest", "2/3"), ("C4", "1/3"), ("D4", "2/3")]
    dropped = nt.events_from_notes(NOTES, TPB, rests="drop")
    assert [nt.duration_token(d) for _, d in dropped] == ["1", "1/2", "1/2", "1/3", "2/3"]  # the rest's time is lost
    assert sum(d for _, d in events) == Fraction(11, 3) and sum(d for _, d in dropped) == 3


def test_top_note_keeps_a_held_top_note_as_one_event():
    # G3 held for two beats above a moving bass C3, D3: one G3 event of 2 beats.
    notes = [(0, 960, 55), (0, 480, 48), (480, 960, 50), (960, 1440, 52)]
    events = nt.events_from_notes(notes, TPB, chords="top_note")
    assert [(nt.chord_token(p), d) for p, d in events] == [("G3", 2), ("E3", 1)]
    joined = nt.events_from_notes(notes, TPB)
    assert [nt.chord_token(p) for p, _ in joined] == ["C3.G3", "D3.G3", "E3"]


def test_quantisation_grid_gives_twelfths_where_the_grids_meet():
    # A note from 1/4 to 1/3 of a beat (on the two grids) lasts 1/12.
    events = nt.events_from_notes([(120, 160, 60), (160, 480, 62)], TPB)
    assert [nt.duration_token(d) for _, d in events] == ["1/12", "2/3"]
    # Off-grid timing snaps to the nearest point; a note snapping to zero length disappears.
    assert nt.events_from_notes([(3, 5, 60)], TPB) == []


def test_transposition_and_token_round_trip_to_midi(tmp_path):
    events = nt.events_from_notes(NOTES, TPB)
    pitch, duration = nt.event_tokens(events, transposition=2)
    assert pitch[:2] == ["D3", "F#3.A3"]
    assert not nt.fits_transposition(events, 127 - 62 + 1) and nt.fits_transposition(events, 127 - 62)
    notes = nt.tokens_to_notes(*nt.event_tokens(events), ticks_per_beat=TPB)
    path = write_midi(tmp_path / "x.mid", notes)
    again = read_midi(path).notes
    ends = sorted(zip(again["start"].tolist(), again["end"].tolist(), again["pitch"].tolist()))
    assert nt.events_from_notes(ends, TPB) == events


def test_vocabulary_specials_order_json_and_unknown_tokens():
    vocabulary = nt.build_vocabulary([(["C4", "rest", "C2.G2", "A2"], ["1/3", "1", "1/12", "3/2"])])
    assert vocabulary.pitch == ("START", "<unk>", "rest", "A2", "C4", "C2.G2")
    assert vocabulary.duration == ("0", "<unk>", "1/12", "1/3", "1", "3/2")
    text = vocabulary.to_json()
    assert json.loads(text)["duration"][3] == "1/3"  # exact fractions as strings
    assert nt.Vocabulary.from_json(text) == vocabulary
    assert vocabulary.pitch_ids(["C4", "E9"]) == [4, nt.UNK_INDEX]
    with pytest.raises(KeyError, match="'E9' is not in the vocabulary"):
        vocabulary.pitch_ids(["E9"], unknown="error")
    with pytest.raises(ValueError):
        nt.Vocabulary(("<unk>", "START"), ("0", "<unk>"))


def test_options_validation_and_encoder_registry():
    encoder = encoders.make_encoder("note_tokens", ["rests=drop", "chords=top_note", "transpositions=-1,0,1"])
    assert isinstance(encoder, NoteTokenEncoder)
    assert (encoder.options.rests, encoder.options.chords, encoder.options.transpositions) == ("drop", "top_note", (-1, 0, 1))
    with pytest.raises(PrepareError, match="rests must be one of"):
        encoders.make_encoder("note_tokens", ["rests=skip"])
    with pytest.raises(PrepareError, match="include 0"):
        encoders.make_encoder("note_tokens", ["transpositions=1,2"])


def _song_example(song_id, notes):
    return SongExample(song_id, 0, nt.events_to_json(nt.events_from_notes(notes, TPB)))


def test_vocabulary_comes_from_the_training_split_only_and_counts_windows():
    encoder = NoteTokenEncoder(nt.NoteTokenOptions(transpositions=(0, 1)))
    train = [_song_example("a.mid", NOTES)]
    test = [_song_example("b.mid", [(0, 480, 40), (480, 960, 48)])]  # E2 only in the test song
    fields = encoder.split_fields({"cello": {"train": train, "test": test}})
    pitch = fields["vocabulary"]["pitch"]
    assert "E2" not in pitch and "C3" in pitch and "C#3" in pitch  # C#3 = C3 transposed by +1
    assert fields["token_counts"]["cello"] == {
        "train": {"songs": 1, "records": 2, "windows": 2 * (6 + 1)},  # 6 events + the final START, two transpositions
        "test": {"songs": 1, "records": 1, "windows": 3},
    }


@pytest.fixture(scope="module")
def embedded_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("tokens") / "cello"
    manifest = prepare_dataset({"cello": CORPUS}, out, NoteTokenEncoder(), partition_by="corpus", test_ratio=0.2)
    return out, manifest


def test_prepared_embedded_corpus_manifest_and_windows(embedded_dataset):
    out, manifest = embedded_dataset
    assert manifest["encoder"] == "note_tokens" and manifest["partitions"]["cello"]["files_kept"] == 27
    counts = manifest["token_counts"]["cello"]
    assert counts["train"]["songs"] + counts["test"]["songs"] == 27 and counts["test"]["songs"] >= 1
    vocabulary = reader.dataset_vocabulary(out)
    assert vocabulary.sizes == (manifest["vocabulary"]["sizes"]["pitch"], manifest["vocabulary"]["sizes"]["duration"])
    train_tokens = {t for _, p, _ in reader.read_sequences(out, "train") for t in p}
    assert set(vocabulary.pitch) == train_tokens | {"START", "<unk>"}
    epochs = reader.TokenEpochs(out, vocabulary, 16, seed=3)
    windows = list(epochs.windows_dataset().as_numpy_iterator())
    assert len(windows) == counts["train"]["windows"] == epochs.windows
    # The first window of the first song: 32 STARTs -> its first event; the last: -> START.
    first_song = reader.read_sequences(out, "train")[0]
    inputs, targets = windows[0]
    assert inputs["pitch"].tolist() == [0] * 32 and targets["pitch"] == vocabulary.pitch_ids(first_song[1][:1])[0]
    n = len(first_song[1])
    inputs, targets = windows[n]
    assert targets["pitch"] == nt.START_INDEX and targets["duration"] == nt.START_INDEX
    assert inputs["pitch"].tolist() == vocabulary.pitch_ids(first_song[1][-32:])
    # Epoch order is a function of (seed, epoch) only.
    a = [b[1]["pitch"].numpy().tolist() for b in epochs.dataset(1).take(3)]
    b = [b[1]["pitch"].numpy().tolist() for b in epochs.dataset(1).take(3)]
    c = [b[1]["pitch"].numpy().tolist() for b in epochs.dataset(2).take(3)]
    assert a == b and a != c
    # Test-split tokens that training never had are <unk> targets, not errors.
    test_epochs = reader.TokenEpochs(out, vocabulary, 64, seed=0, split="test")
    targets = np.concatenate([t["pitch"].numpy() for _, t in test_epochs.evaluation_dataset()])
    unseen = sum(1 for _, p, _ in reader.read_sequences(out, "test") for t in p if t not in vocabulary.pitch)
    assert len(targets) == counts["test"]["windows"] and int((targets == nt.UNK_INDEX).sum()) == unseen


def test_wrong_dataset_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "mst.phrase_dataset", "format_version": 2, "encoder": "pianoroll_phrases",
                                                         "partition_by": "genre", "partitions": {}, "shards": []}))
    with pytest.raises(reader.TokenDataError, match="not note tokens"):
        reader.load_token_manifest(tmp_path)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_CELLO.is_dir(), reason="../shared/data/bach_cello_suites is not staged")
def test_all_41_staged_movements_tokenise():
    encoder = NoteTokenEncoder(nt.NoteTokenOptions(rests="drop"))
    files = sorted(SHARED_CELLO.glob("*.mid"))
    events = sum(encoder.encode_file(str(f)).stats["events"] for f in files)
    assert len(files) == 41 and 15_500 < events < 16_500  # music21's chordify of the same files: 16,025 events
