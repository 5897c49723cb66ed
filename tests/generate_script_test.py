"""generate.py: subcommands come from the registry; --audio renders what any family wrote under --out."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from mst import audio, registry
from mst.cli import generate

ROOT = Path(__file__).resolve().parents[1]


def fake_generate(argv) -> int:
    """A family's generate entry point: ``--out FILE.mid | DIR`` (a folder gets two files), ``--fail``."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--fail", action="store_true")
    args = parser.parse_args(argv)
    if args.fail:
        return 1
    out = Path(args.out)
    targets = [out] if out.suffix == ".mid" else [out / "a.mid", out / "sub" / "b.mid"]
    for number, target in enumerate(targets):
        midi = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(0)
        piano.notes = [pretty_midi.Note(velocity=90, pitch=60 + number, start=0.0, end=0.5)]
        midi.instruments.append(piano)
        target.parent.mkdir(parents=True, exist_ok=True)
        midi.write(str(target))
    return 0


@pytest.fixture
def fake_family(monkeypatch):
    base = registry.FAMILIES[0]
    fake = dataclasses.replace(base, name="fake", cli_name="fake-family", generate=f"{__name__}:fake_generate", description="a test family")
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, fake))
    monkeypatch.setitem(sys.modules, __name__, sys.modules[__name__])
    return fake


def test_list_shows_the_registered_generative_families(fake_family, capsys):
    assert generate.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert any(line.split() == ["fake-family", "a", "test", "family"] for line in listed.splitlines())
    for entry in registry.families_with("generate"):
        assert entry.cli_name in listed


def test_unknown_family_is_a_usage_error(capsys):
    assert generate.main(["no-such-family"]) == 2
    assert "unknown model family 'no-such-family'" in capsys.readouterr().err


def test_audio_renders_one_file_or_every_file_of_a_folder(fake_family, tmp_path, capsys):
    font = audio.write_sine_soundfont(tmp_path / "sine.sf2")
    assert generate.main(["fake-family", "--out", str(tmp_path / "one.mid"), "--audio", str(tmp_path / "one.wav"), "--soundfont", str(font)]) == 0
    samples, rate = audio.read_wav(tmp_path / "one.wav")
    assert samples.shape[1] == pytest.approx(rate * 0.5, rel=0.05) and np.abs(samples).max() > 0.5
    assert generate.main(["fake-family", "--out", str(tmp_path / "many"), "--audio", str(tmp_path / "wavs"), "--soundfont", "sine"]) == 0
    assert sorted(p.relative_to(tmp_path / "wavs").as_posix() for p in (tmp_path / "wavs").rglob("*.wav")) == ["a.wav", "sub/b.wav"]
    assert capsys.readouterr().out.count("audio ") == 3


def test_audio_problems_stop_before_generating_and_failures_pass_through(fake_family, tmp_path, capsys):
    assert generate.main(["fake-family", "--out", str(tmp_path / "x.mid"), "--audio", str(tmp_path / "x.wav"), "--soundfont", str(tmp_path / "none.sf2")]) == 2
    assert "none.sf2: SoundFont not found" in capsys.readouterr().err and not (tmp_path / "x.mid").exists()
    assert generate.main(["fake-family", "--out", str(tmp_path / "x.mid"), "--fail", "--audio", str(tmp_path / "x.wav"), "--soundfont", "sine"]) == 1
    assert not (tmp_path / "x.wav").exists()


def test_help_is_instant_and_imports_no_tensorflow(tmp_path):
    code = "import runpy, sys; sys.argv = ['generate.py', '--list']\ntry:\n    runpy.run_path(%r, run_name='__main__')\nexcept SystemExit:\n    pass\nprint('tensorflow' in sys.modules)" % str(ROOT / "generate.py")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "False"
