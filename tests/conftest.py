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


def load_fixture_writer():
    """Imports ``tests/fixtures/make_fixtures.py`` (a script, not a package) as a module."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES_DIR / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
