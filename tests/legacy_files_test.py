"""Runs, shards and exports written by mst 0.1 (before the per-family layout) load and agree."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pretty_midi
import pytest

from conftest import EMBEDDED_DIR, FIXTURES_DIR

LEGACY = FIXTURES_DIR / "legacy_v0_1"
ROOT = FIXTURES_DIR.parents[1]


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(LEGACY / "expected.npz"))


@pytest.mark.parametrize("route", ["run/export", "run/export/cyclegan.keras", "run/export/generator_a2b.keras", "run"])
def test_every_legacy_generator_route_gives_the_recorded_transfer(route, expected):
    from mst.models.cyclegan.cyclegan_export import load_generators

    pair = load_generators(LEGACY / route)
    phrases = expected["phrases"].astype("float32")
    for direction in ("a2b", "b2a"):
        np.testing.assert_allclose(pair.transfer(phrases, direction), expected[direction], atol=1e-5)


@pytest.mark.parametrize("route", ["classifier_run/export", "classifier_run/export/classifier.keras", "classifier_run"])
def test_every_legacy_classifier_route_gives_the_recorded_probabilities(route, expected):
    from mst.models.genre_classifier.genre_classifier_export import load_classifier

    classifier = load_classifier(LEGACY / route)
    np.testing.assert_allclose(classifier(expected["phrases"].astype("float32")), expected["classifier"], atol=1e-5)


def test_legacy_shards_read_with_their_manifest(expected):
    from mst.records import load_manifest, count
    from mst.records.pianoroll_reader import load_split_arrays

    manifest = load_manifest(LEGACY / "dataset")
    phrases, labels = load_split_arrays(LEGACY / "dataset", ["jazz", "classical"], "test")
    assert len(phrases) == count(manifest, "jazz", "test") + count(manifest, "classical", "test") > 0
    # the recorded phrases are rows of the test split
    rows = {p.tobytes() for p in phrases.astype(bool)}
    assert all(p.tobytes() in rows for p in expected["phrases"])


def _notes(path):
    return sorted((round(n.start, 4), round(n.end, 4), n.pitch) for i in pretty_midi.PrettyMIDI(str(path)).instruments for n in i.notes)


@pytest.mark.parametrize("direction", ["a2b", "jazz2classical"])
def test_transfer_script_on_the_legacy_export_writes_the_recorded_song(direction, tmp_path):
    source = EMBEDDED_DIR / "jazz" / "miles_davis_so_what.mid"
    command = [sys.executable, str(ROOT / "transfer.py"), "--model", str(LEGACY / "run" / "export"), "--direction", direction, str(source)]
    subprocess.run([*command, "--raw", "--out", str(tmp_path / "raw.mid")], check=True, capture_output=True)
    recorded = _notes(LEGACY / "so_what_a2b.mid")
    assert len(recorded) > 1000
    assert _notes(tmp_path / "raw.mid") == recorded  # --raw: the generator's output as mst 0.1 wrote it
    # the default song rules only ever remove notes (in silent phrases and after the last note)
    subprocess.run([*command, "--out", str(tmp_path / "ruled.mid")], check=True, capture_output=True)
    ruled = _notes(tmp_path / "ruled.mid")
    last_source_end = max(n.end for i in pretty_midi.PrettyMIDI(str(source)).instruments for n in i.notes)
    assert 0 < len(ruled) < len(recorded) and all(start < last_source_end for start, _, _ in ruled)
