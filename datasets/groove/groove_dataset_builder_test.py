"""Tests for the offline ``groove`` TFDS builder (manual data: mst's embedded GMD subset; the staged GMD for the counts)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mst.encodings import drums
from mst.music.midi import read_midi

from . import groove_dataset_builder

REPO = Path(__file__).resolve().parents[2]
SUBSET = REPO / "mst" / "data" / "corpora" / "groove_gmd_subset"
STAGED_GMD = REPO.parent / "shared" / "data" / "groove_gmd"


def _build(config: str, data_dir: Path, manual_dir: Path = SUBSET):
    builder = groove_dataset_builder.Builder(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def _expected_windows(manual_dir: Path, split_bars: int) -> Counter:
    import pretty_midi

    counts = Counter()
    for row in groove_dataset_builder.read_info(manual_dir):
        midi = pretty_midi.PrettyMIDI(str(manual_dir / row["midi_filename"]))
        counts[row["split"]] += groove_dataset_builder.window_count(groove_dataset_builder.total_bars(midi, row), split_bars)
    return counts


def test_full_config_features_and_official_split(tmp_path):
    builder = _build("full-midionly", tmp_path)
    with open(SUBSET / "info.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {name: info.num_examples for name, info in builder.info.splits.items()} == dict(Counter(r["split"] for r in rows))
    features = builder.info.features
    assert features["drummer"].names == [f"drummer{i}" for i in range(1, 11)] and features["type"].names == ["beat", "fill"]
    assert features["time_signature"].names == ["3-4", "4-4", "5-4", "5-8", "6-8"] and len(features["style"]["primary"].names) == 18
    by_id = {r["id"]: r for r in rows}
    for example in tfds.as_numpy(builder.as_dataset(split="test")):
        row = by_id[example["id"].decode()]
        assert row["split"] == "test" and example["bpm"] == int(row["bpm"])
        assert example["midi"] == (SUBSET / row["midi_filename"]).read_bytes()
        assert features["style"]["primary"].names[example["style"]["primary"]] == row["style"].split("/")[0]


def test_4bar_windows_hop_one_bar_and_match_the_groove_encoder(tmp_path):
    builder = _build("4bar-midionly", tmp_path)
    assert {name: info.num_examples for name, info in builder.info.splits.items()} == dict(_expected_windows(SUBSET, 4))
    examples = list(tfds.as_numpy(builder.as_dataset(split="validation")))
    first = sorted(examples, key=lambda e: e["id"])[0]
    assert first["id"].decode().endswith(":000")
    # The window's MIDI, through the groove converter, gives the encoder's tensor of that window.
    path = tmp_path / "window.mid"
    path.write_bytes(first["midi"])
    window = drums.converter_windows(drums.song_onsets(read_midi(path), "roland"), 4)
    source_id = first["id"].decode().split(":")[0]
    with open(SUBSET / "info.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["id"] == source_id)
    song = read_midi(SUBSET / row["midi_filename"])
    indices, tensors, _ = drums.bar_window_grooves(song, 4)
    assert len(window) == 1 and indices[0] == 0
    np.testing.assert_array_equal(window[0][:, :18], tensors[0][:, :18])
    np.testing.assert_allclose(window[0][:, 18:], tensors[0][:, 18:], atol=0.02)  # pretty_midi rounds onsets to its own ticks


def test_missing_info_csv_is_a_clear_error(tmp_path):
    (tmp_path / "manual").mkdir()
    (tmp_path / "manual" / "drummer1.mid").write_bytes(b"")  # TFDS itself refuses an empty manual folder
    with pytest.raises(FileNotFoundError, match="info.csv is missing"):
        _build("full-midionly", tmp_path / "tfds", tmp_path / "manual")


@pytest.mark.shared_data
def test_window_counts_of_the_staged_gmd_match_the_spec():
    """Spec 3.4: 2bar 18,163 / 2,252 / 2,204 and 4bar 17,261 / 2,121 / 2,033 windows (train / validation / test)."""
    if not (STAGED_GMD / "info.csv").is_file():
        pytest.skip(f"{STAGED_GMD} is not available")
    import pretty_midi

    counts = {2: Counter(), 4: Counter()}
    rows = groove_dataset_builder.read_info(STAGED_GMD)
    assert len(rows) == 1150 and Counter(r["split"] for r in rows) == {"train": 897, "validation": 124, "test": 129}
    for row in rows:
        total = groove_dataset_builder.total_bars(pretty_midi.PrettyMIDI(str(STAGED_GMD / row["midi_filename"])), row)
        for bars in counts:
            counts[bars][row["split"]] += groove_dataset_builder.window_count(total, bars)
    assert counts[2] == {"train": 18163, "validation": 2252, "test": 2204}
    assert counts[4] == {"train": 17261, "validation": 2121, "test": 2033}
