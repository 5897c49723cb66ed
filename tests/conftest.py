"""Shared test helpers: MIDI fixture paths, their expected outcomes, the byte-level MIDI writer, shared data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures"
MIDI_FIXTURES_DIR = FIXTURES_DIR / "midi"
EMBEDDED_DIR = TESTS_DIR.parent / "mst" / "data" / "embedded"
# The staged corpora live next to the repository (../shared/data); tests using them skip elsewhere.
SHARED_DATA_DIR = TESTS_DIR.parents[1] / "shared" / "data"


def load_script(path: Path, module_name: str):
    """Imports a script that is not part of a package (``train.py``, ``make_fixtures.py``, ...) as a module."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_fixture_writer():
    """Imports ``tests/fixtures/make_fixtures.py`` (a script, not a package) as a module."""
    return load_script(FIXTURES_DIR / "make_fixtures.py", "make_fixtures")


def pitch_index(midi_pitch: int) -> int:
    """Column of a MIDI pitch in a phrase (index 0 = MIDI 24 = C1)."""
    return midi_pitch - 24


def melody_and_chord_phrase():
    """One 4-bar phrase [64, 84] whose every metric differs from its mirror images (50 active cells, 11 notes).

    bar 1-2: quarter notes C4 C#4 D4 D#4 E4 F4 F#4 on beats 0..6 (steps 4k..4k+3), beat 7 silent
    bar 3:   silent (beats 8..11)
    bar 4:   C3 + E3 steps 50-57 (start mid-beat 12, cross beats 13 and 14), G3 steps 50-53,
             C6 steps 62-63 (an eighth note at the end of beat 15)
    """
    import numpy as np  # noqa: PLC0415

    roll = np.zeros((64, 84), dtype=bool)
    for k in range(7):
        roll[4 * k : 4 * k + 4, pitch_index(60 + k)] = True
    roll[50:58, [pitch_index(48), pitch_index(52)]] = True
    roll[50:54, pitch_index(55)] = True
    roll[62:64, pitch_index(84)] = True
    return roll


@pytest.fixture(scope="session")
def smf_writer():
    """The byte-level Standard MIDI File writer of ``make_fixtures.py`` (``smf``, ``Track``, ...)."""
    return load_fixture_writer()


@pytest.fixture(scope="session")
def expected_fixtures() -> dict:
    """``tests/fixtures/midi/expected.json``: ``{"good"|"bad": {file name: expectation}}``."""
    return json.loads((MIDI_FIXTURES_DIR / "expected.json").read_text())


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data`` (the staged real corpora); skips the test when it is absent."""
    if not SHARED_DATA_DIR.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA_DIR}")
    return SHARED_DATA_DIR
