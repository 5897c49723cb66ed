"""mst.audio: SoundFont lookup, the sine SoundFont, rendering, WAV files, and --audio on the commands."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from mst import audio

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sine_font(tmp_path_factory) -> Path:
    return audio.write_sine_soundfont(tmp_path_factory.mktemp("font") / "sine.sf2")


def write_notes(path: Path, notes, *, program: int = 0, drums: bool = False) -> Path:
    """``notes``: ``(pitch, start s, end s)``."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    instrument = pretty_midi.Instrument(program=program, is_drum=drums)
    instrument.notes = [pretty_midi.Note(velocity=100, pitch=p, start=s, end=e) for p, s, e in notes]
    midi.instruments.append(instrument)
    midi.write(str(path))
    return path


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    mono = samples.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("pitch", "hz"), [(69, 440.0), (60, 261.63), (81, 880.0)])
def test_the_sine_soundfont_plays_every_note_at_its_pitch(sine_font, tmp_path, pitch, hz):
    midi = write_notes(tmp_path / "note.mid", [(pitch, 0.0, 1.0)], program=40)  # any program plays the sine
    samples = audio.synthesize(midi, sine_font, sample_rate=22050)
    assert samples.shape[0] == 2 and samples.shape[1] == pytest.approx(22050, rel=0.01)  # the note's second
    assert np.isfinite(samples).all() and np.abs(samples).max() > 0.1
    assert dominant_hz(samples[:, 2000:20000], 22050) == pytest.approx(hz, rel=0.01)


def test_the_sine_soundfont_loop_lies_inside_its_sample(sine_font):
    """Synthesizers read a few points past the loop end when they resample (see the writer)."""
    data = sine_font.read_bytes()
    header = data.index(b"sine A4")
    start, end, loop_start, loop_end, rate = struct.unpack("<IIIII", data[header + 20 : header + 40])
    period = rate // 440
    assert start + 8 <= loop_start < loop_end <= end - 8
    assert (loop_start - start) % period == 0 and (loop_end - loop_start) % period == 0  # seamless


def test_drums_and_silence_render(sine_font, tmp_path):
    drums = audio.synthesize(write_notes(tmp_path / "drums.mid", [(36, 0.0, 0.2), (38, 0.5, 0.7)], drums=True), sine_font)
    assert np.abs(drums).max() > 0.01
    rendering = audio.render_midi(write_notes(tmp_path / "rest.mid", []), tmp_path / "rest.wav", sine_font)
    assert rendering.peak == 0.0 and rendering.wav.is_file()


def test_render_midi_writes_a_normalised_16_bit_wav(sine_font, tmp_path):
    midi = write_notes(tmp_path / "two.mid", [(60, 0.0, 0.5), (64, 0.5, 1.0)])
    rendering = audio.render_midi(midi, tmp_path / "out" / "two.wav", sine_font, sample_rate=16000)
    samples, rate = audio.read_wav(rendering.wav)
    assert rate == 16000 and samples.shape[0] == 2
    assert rendering.audio_seconds == pytest.approx(samples.shape[1] / 16000)
    assert np.abs(samples).max() == pytest.approx(10 ** (-1 / 20), abs=1e-3)  # -1 dBFS
    assert not list((tmp_path / "out").glob("*.tmp-*"))
    png = audio.save_spectrogram_png(tmp_path / "spec.png", samples, rate, title="two notes")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_soundfont_lookup_order_and_messages(sine_font, tmp_path, monkeypatch):
    monkeypatch.setattr(audio, "SEARCH_PATHS", ())
    monkeypatch.setattr(audio, "SEARCH_FOLDERS", (str(tmp_path / "fonts"),))
    monkeypatch.delenv("MST_SOUNDFONT", raising=False)
    with pytest.raises(audio.SoundFontNotFoundError, match="apt install fluid-soundfont-gm.*--soundfont sine"):
        audio.find_soundfont()
    (tmp_path / "fonts").mkdir()
    installed = audio.write_sine_soundfont(tmp_path / "fonts" / "gm.sf2")
    assert audio.find_soundfont() == installed
    monkeypatch.setenv("MST_SOUNDFONT", str(sine_font))
    assert audio.find_soundfont() == sine_font
    assert audio.find_soundfont(str(installed)) == installed  # --soundfont wins
    with pytest.raises(audio.AudioError, match=r"nope\.sf2: SoundFont not found \(--soundfont\)"):
        audio.find_soundfont(str(tmp_path / "nope.sf2"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(audio.AudioError, match="not a SoundFont"):
        audio.find_soundfont(str(tmp_path / "notes.txt"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert audio.find_soundfont("sine") == tmp_path / "cache" / "mst" / "mst_sine.sf2"


def test_a_broken_midi_or_soundfont_is_one_clear_error(sine_font, tmp_path):
    (tmp_path / "junk.mid").write_bytes(b"not midi at all")
    with pytest.raises(audio.AudioError, match=r"junk\.mid: cannot read the MIDI file"):
        audio.synthesize(tmp_path / "junk.mid", sine_font)
    (tmp_path / "junk.sf2").write_bytes(b"RIFF0000sfbk")
    with pytest.raises(audio.AudioError, match=r"junk\.sf2: cannot load the SoundFont"):
        audio.synthesize(write_notes(tmp_path / "ok.mid", [(60, 0, 1)]), tmp_path / "junk.sf2")


def test_audio_targets_for_one_file_and_for_folders():
    assert audio.audio_targets(["a/x.mid"], "x.wav") == [(Path("a/x.mid"), Path("x.wav"))]
    with pytest.raises(audio.AudioError, match="give a folder"):
        audio.audio_targets(["a.mid", "b.mid"], "x.wav")


@pytest.mark.slow
def test_transfer_cli_renders_audio_and_checks_the_soundfont_before_loading_the_model(sine_font, tmp_path):
    song = sorted((ROOT / "mst" / "data" / "embedded" / "classical").glob("*.mid"))[0]
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(ROOT / "transfer.py"), str(song), "--direction", "classical2pop", "--out", str(tmp_path / "pop.mid")]
    missing = subprocess.run([*command, "--audio", str(tmp_path / "pop.wav"), "--soundfont", str(tmp_path / "none.sf2")], capture_output=True, text=True, env=env_free, timeout=300)
    assert missing.returncode == 2 and "none.sf2: SoundFont not found" in missing.stderr and "model" not in missing.stdout
    done = subprocess.run([*command, "--audio", str(tmp_path / "pop.wav"), "--soundfont", str(sine_font)], capture_output=True, text=True, env=env_free, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "audio " in done.stdout and "(silent)" not in done.stdout
    samples, rate = audio.read_wav(tmp_path / "pop.wav")
    assert samples.shape[1] > rate * 10 and np.abs(samples).max() > 0.5
