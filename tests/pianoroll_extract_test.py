"""Tests for mst.encodings.pianoroll_extract (file -> phrases, never raising), the MIDI fixtures and the embedded dataset."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from conftest import EMBEDDED_DIR, MIDI_FIXTURES_DIR, TESTS_DIR, load_fixture_writer
from mst.encodings import pianoroll_extract as extract
from mst.encodings.pianoroll import NUM_PITCHES, PHRASE_STEPS
from mst.encodings.pianoroll_extract import PhraseOptions, SongPhrases, extract_song
from mst.music.file_filter import POLICIES, REASONS

EXPECTED = json.loads((MIDI_FIXTURES_DIR / "expected.json").read_text())
GENRES = ("pop", "classical", "jazz")


def test_committed_fixtures_match_the_generator(tmp_path):
    load_fixture_writer().write_all(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(MIDI_FIXTURES_DIR) for p in MIDI_FIXTURES_DIR.rglob("*") if p.is_file())
    assert generated == committed
    for relative in generated:
        assert (tmp_path / relative).read_bytes() == (MIDI_FIXTURES_DIR / relative).read_bytes(), relative


# --------------------------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("backend", ("symusic", "pretty_midi"))
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(EXPECTED["bad"]))
def test_bad_fixture_reason(name, policy, backend):
    options = PhraseOptions(time_signature_policy=policy, backend=backend)
    result = extract_song(MIDI_FIXTURES_DIR / "bad" / name, options)
    expected = EXPECTED["bad"][name][policy]
    if expected is None:
        assert result.kept and result.phrases.shape[0] > 0
    else:
        assert result.rejection is not None and result.rejection.reason == expected, result.rejection
        assert result.rejection.detail
        assert result.phrases.shape == (0, PHRASE_STEPS, NUM_PITCHES) and result.phrase_indices.shape == (0,)


@pytest.mark.parametrize("backend", ("symusic", "pretty_midi"))
@pytest.mark.parametrize("name", sorted(EXPECTED["good"]))
def test_good_fixture_phrases(name, backend):
    expectation = EXPECTED["good"][name]
    result = extract_song(MIDI_FIXTURES_DIR / "good" / name, PhraseOptions(backend=backend))
    assert result.rejection is None and result.kept
    assert result.path == str(MIDI_FIXTURES_DIR / "good" / name)
    assert result.phrases.dtype == bool and result.phrases.shape == (expectation["phrases"], PHRASE_STEPS, NUM_PITCHES)
    assert result.phrase_indices.dtype == np.int64 and result.phrase_indices.tolist() == expectation["phrase_indices"]
    assert result.phrases.reshape(len(result.phrases), -1).any(axis=1).all()
    if backend == "symusic":  # pretty_midi's parser already drops zero-length notes
        assert result.stats.notes == expectation["notes"]


def test_phrases_are_slices_of_the_roll():
    from mst.music.midi import read_midi  # noqa: PLC0415
    from mst.encodings.pianoroll import song_to_roll  # noqa: PLC0415

    path = MIDI_FIXTURES_DIR / "good" / "chords_bass_drums.mid"
    roll = song_to_roll(read_midi(path))
    result = extract_song(path)
    for phrase, index in zip(result.phrases, result.phrase_indices):
        np.testing.assert_array_equal(phrase, roll[index * PHRASE_STEPS:(index + 1) * PHRASE_STEPS])


def test_options_change_trim_empties_and_drums():
    path = MIDI_FIXTURES_DIR / "good" / "chords_bass_drums.mid"
    default = extract_song(path)
    assert default.stats == extract.SongStats(notes=192, drum_notes_dropped=80, zero_length_notes_dropped=0,
                                              out_of_range_notes_dropped=0, steps=320, complete_phrases=5,
                                              phrases_trimmed=1, empty_phrases_dropped=1)
    no_trim = extract_song(path, PhraseOptions(phrase_multiple=1))
    assert no_trim.phrase_indices.tolist() == [0, 2, 3, 4]
    keep_empty = extract_song(path, PhraseOptions(drop_empty=False))
    assert keep_empty.phrase_indices.tolist() == [0, 1, 2, 3] and not keep_empty.phrases[1].any()
    with_drums = extract_song(path, PhraseOptions(drop_drums=False))
    assert with_drums.phrase_indices.tolist() == [0, 1, 2, 3] and with_drums.phrases[1].any()
    short_limit = extract_song(path, PhraseOptions(max_steps=319))
    assert short_limit.rejection.reason == "too_long"


def test_a_roll_longer_than_the_limit_is_too_long_even_after_the_filter(tmp_path):
    from mst.music.midi import make_notes, write_midi  # noqa: PLC0415

    # 1190..1191 ticks: the song is 10 steps long, but its one-step minimum note ends at step 11.
    path = write_midi(tmp_path / "late_short_note.mid", make_notes([1190], [1191], [60]))
    result = extract_song(path, PhraseOptions(max_steps=10, phrase_multiple=1))
    assert result.rejection.reason == "too_long" and "11 grid steps > limit 10" in result.rejection.detail


def test_never_raises_on_unexpected_errors(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("simulated bug in the roll builder")

    monkeypatch.setattr(extract, "song_to_roll_with_stats", explode)
    result = extract_song(MIDI_FIXTURES_DIR / "good" / "c_major_scale.mid")
    assert result.rejection.reason == "unreadable"
    assert "RuntimeError: simulated bug in the roll builder" in result.rejection.detail
    assert result.stats.notes == 64  # counted before the failure
    missing = extract_song(MIDI_FIXTURES_DIR / "good" / "missing.mid")
    assert missing.rejection.reason == "unreadable" and "missing.mid" in missing.rejection.detail


def test_phrase_options_validation_and_round_trip():
    options = PhraseOptions(time_signature_policy="beat_grid", phrase_multiple=1, backend="pretty_midi")
    assert options.to_dict() == {"time_signature_policy": "beat_grid", "phrase_multiple": 1, "drop_empty": True,
                                 "drop_drums": True, "backend": "pretty_midi", "max_steps": 100_000}
    assert PhraseOptions.from_dict(options.to_dict()) == options
    assert json.loads(json.dumps(PhraseOptions(phrase_multiple=np.int64(2)).to_dict()))["phrase_multiple"] == 2
    assert pickle.loads(pickle.dumps(options)) == options
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.phrase_multiple = 4
    with pytest.raises(ValueError, match="unknown PhraseOptions fields"):
        PhraseOptions.from_dict({"hop": 32})
    for bad in ({"time_signature_policy": "loose"}, {"backend": "mido"}, {"phrase_multiple": 0},
                {"phrase_multiple": 2.5}, {"max_steps": True}):
        with pytest.raises(ValueError):
            PhraseOptions(**bad)


def test_song_phrases_pickle_for_worker_processes():
    result = extract_song(MIDI_FIXTURES_DIR / "good" / "c_major_scale.mid")
    copy = pickle.loads(pickle.dumps(result))
    assert isinstance(copy, SongPhrases) and copy.stats == result.stats
    np.testing.assert_array_equal(copy.phrases, result.phrases)
    rejected = pickle.loads(pickle.dumps(extract_song(MIDI_FIXTURES_DIR / "bad" / "three_four.mid")))
    assert rejected.rejection.reason == "not_4_4" and rejected.rejection.reason in REASONS


def test_import_stays_light():
    code = ("import sys, mst.encodings.pianoroll_extract; heavy = [m for m in ('tensorflow', 'keras', 'pretty_midi', 'note_seq') "
            "if m in sys.modules]; print(heavy)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=TESTS_DIR.parent).stdout
    assert output.strip() == "[]"


def test_survey_command_line(capsys):
    assert extract.main([str(MIDI_FIXTURES_DIR / "good"), str(MIDI_FIXTURES_DIR / "bad" / "three_four.mid"),
                         "--policy", "all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "5 MIDI files"
    strict = next(line for line in lines if line.strip().startswith("strict"))
    assert "kept 4/5 files, 13 phrases" in strict
    assert any(line.strip() == "not_4_4: 1" for line in lines)
    beat_grid = next(line for line in lines if line.strip().startswith("beat_grid"))
    assert "kept 5/5 files, 17 phrases" in beat_grid
    with pytest.raises(SystemExit):
        extract.main([str(MIDI_FIXTURES_DIR / "nowhere")])


# --------------------------------------------------------------------------------------------- embedded data


@pytest.mark.parametrize("genre", GENRES)
def test_embedded_genre_passes_strict_filter_with_enough_phrases(genre):
    files = sorted((EMBEDDED_DIR / genre).glob("*.mid"))
    assert len(files) == 8
    results = [extract_song(path) for path in files]
    assert [r.rejection for r in results] == [None] * 8
    assert sum(r.phrases.shape[0] for r in results) >= 100


def test_embedded_data_is_small_and_attributed():
    files = sorted(EMBEDDED_DIR.rglob("*.mid"))
    assert len(files) == 24
    assert sum(path.stat().st_size for path in files) < 1_000_000
    licenses = (EMBEDDED_DIR / "LICENSES.md").read_text()
    for path in files:
        assert f"`{path.relative_to(EMBEDDED_DIR).as_posix()}`" in licenses, path
    for required in ("MIT", "CC BY-SA 3.0 DE", "Bernd Krueger", "ODbL", "Weimar Jazz Database", "Music X Lab"):
        assert required in licenses
