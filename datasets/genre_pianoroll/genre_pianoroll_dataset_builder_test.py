"""Tests for the genre_pianoroll TFDS builder (dummy data: dummy_data/{jazz,classical,pop}).

Dummy data (see docs/datasets/genre_pianoroll.md): jazz has 3 usable 4/4 songs (4 + 8 + 4 phrases after the authors'
multiple-of-4 trim) and one 3/4 song that the strict filter skips; classical 4 + 8 + 4 phrases;
pop 4 + 8 + 4 phrases (two songs with a drum track, which is dropped). The song-level split
(seed 0, 10 %) puts solo_b.mid (8), etude.midi (4) and, by the tiny-genre fallback, ballad.mid (4)
into the test splits.

``tfds.testing`` imports ``dill`` (an extra of tensorflow-datasets that mst's pinned requirements
may lack). Without it the three ``DatasetBuilderTestCase`` classes are replaced by one skipped test
that says so, and ``test_split_counts_of_every_config`` below still checks every config's split
sizes with plain ``download_and_prepare``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mst import prepare
from mst.records import pianoroll_examples, prepare_driver

from . import genre_pianoroll_dataset_builder

DUMMY_DATA = Path(__file__).resolve().parent / "dummy_data"


EXPECTED_SPLITS = {
    "jazz_classical": {"train": 20, "test": 12},  # jazz 8 / 8, classical 12 / 4
    "classical_pop": {"train": 24, "test": 8},  # classical 12 / 4, pop 12 / 4
    "jazz_pop": {"train": 20, "test": 12},  # jazz 8 / 8, pop 12 / 4
}


def _missing_tfds_testing_dependency() -> str | None:
    """Name of the module that keeps ``tfds.testing`` from importing (``dill``), or ``None``."""
    try:
        tfds.testing.DatasetBuilderTestCase  # noqa: B018  (the lazy import happens here)
    except ModuleNotFoundError as missing:
        return missing.name
    return None


# The base class is never bound to a module-level name: pytest would collect it as a test case.
MISSING_TEST_DEPENDENCY = _missing_tfds_testing_dependency()
if MISSING_TEST_DEPENDENCY is None:

    class JazzClassicalTest(tfds.testing.DatasetBuilderTestCase):
        """TFDS's own builder checks for the jazz_classical config."""

        DATASET_CLASS = genre_pianoroll_dataset_builder.Builder
        BUILDER_CONFIG_NAMES_TO_TEST = ["jazz_classical"]
        SPLITS = EXPECTED_SPLITS["jazz_classical"]

    class ClassicalPopTest(tfds.testing.DatasetBuilderTestCase):
        """TFDS's own builder checks for the classical_pop config."""

        DATASET_CLASS = genre_pianoroll_dataset_builder.Builder
        BUILDER_CONFIG_NAMES_TO_TEST = ["classical_pop"]
        SPLITS = EXPECTED_SPLITS["classical_pop"]

    class JazzPopTest(tfds.testing.DatasetBuilderTestCase):
        """TFDS's own builder checks for the jazz_pop config."""

        DATASET_CLASS = genre_pianoroll_dataset_builder.Builder
        BUILDER_CONFIG_NAMES_TO_TEST = ["jazz_pop"]
        SPLITS = EXPECTED_SPLITS["jazz_pop"]

else:

    def test_tfds_dataset_builder_test_case():
        pytest.skip(f"tfds.testing.DatasetBuilderTestCase needs the {MISSING_TEST_DEPENDENCY!r} package (pip install dill)")


def _build(config: str, data_dir: Path):
    builder = genre_pianoroll_dataset_builder.Builder(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY_DATA)))
    return builder


@pytest.mark.parametrize("config", sorted(EXPECTED_SPLITS))
def test_split_counts_of_every_config(config, tmp_path):
    builder = _build(config, tmp_path)
    assert {name: info.num_examples for name, info in builder.info.splits.items()} == EXPECTED_SPLITS[config]
    genre_a, genre_b = config.split("_")
    assert builder.info.features["label"].names == [genre_a, genre_b]
    example = next(iter(tfds.as_numpy(builder.as_dataset(split="train"))))
    assert example["roll"].shape == (64, 84, 1) and example["roll"].dtype == np.bool_
    assert builder.info.supervised_keys == ("roll", "label")


def _phrase_set(items) -> set[tuple[str, str, int, bytes]]:
    return {(genre, song_id, int(index), pianoroll_examples.pack_rolls(np.asarray(roll)[None])[0].tobytes()) for genre, song_id, index, roll in items}


def test_tfds_and_the_prepare_cli_give_the_same_phrases(tmp_path):
    """Same (song_id, phrase_index, roll) per split from tfds.load and from mst.prepare's shards."""
    builder = _build("jazz_classical", tmp_path / "tfds")
    names = builder.info.features["label"].names
    assert names == ["jazz", "classical"]

    out = tmp_path / "cli"
    status = prepare.main(
        ["--genre", f"jazz={DUMMY_DATA / 'jazz'}", "--genre", f"classical={DUMMY_DATA / 'classical'}",
         "--out", str(out), "--workers", "1", "--shard-size", "5", "--quiet"]
    )
    assert status == 0
    for split in ("train", "test"):
        from_tfds = _phrase_set(
            (names[int(ex["label"])], ex["song_id"].decode(), ex["phrase_index"], ex["roll"][..., 0])
            for ex in tfds.as_numpy(builder.as_dataset(split=split))
        )
        from_cli = _phrase_set(
            (ex["genre"].decode(), ex["song_id"].decode(), ex["phrase_index"], ex["roll"][..., 0] > 0.5)
            for ex in pianoroll_examples.phrase_dataset(out, ["jazz", "classical"], split, with_metadata=True).as_numpy_iterator()
        )
        assert from_tfds == from_cli
        assert len(from_tfds) == builder.info.splits[split].num_examples


def test_missing_genre_folder_is_a_clear_error(tmp_path):
    (tmp_path / "manual" / "jazz").mkdir(parents=True)
    builder = genre_pianoroll_dataset_builder.Builder(config="jazz_pop", data_dir=str(tmp_path / "tfds"))
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path / "manual")))
    except prepare_driver.PrepareError as error:
        assert "no sub-folder for pop" in str(error)
    else:
        raise AssertionError("a missing genre folder must be refused")


def test_build_reports_skipped_files_and_carries_a_license_and_a_short_description(tmp_path, capsys):
    builder = _build("jazz_classical", tmp_path)
    report = capsys.readouterr().err
    assert "genre_pianoroll: jazz: 3 of 4 MIDI files kept, 1 skipped" in report
    assert "skipped waltz_in_three.mid: " in report  # the 3/4 file, with its reason
    assert "genre_pianoroll: classical: 3 of 3 MIDI files kept, 0 skipped" in report
    assert "CC BY-SA 3.0 DE" in builder.info.redistribution_info.license
    assert len(builder.info.description) < 800 and "docs/datasets/genre_pianoroll.md" in builder.info.description


def test_a_tfds_build_imports_into_a_dataset_train_py_reads(tmp_path):
    """mst.records.tfds_import: the same phrases per genre/split as mst.prepare, then training runs on it."""
    import subprocess
    import sys

    from mst.records import pianoroll_reader, tfds_import

    builder = _build("jazz_classical", tmp_path / "tfds")
    assert tfds_import.main(["--builder-dir", str(builder.data_dir), "--out", str(tmp_path / "imported")]) == 0
    cli = tmp_path / "cli"
    assert prepare.main(["--genre", f"jazz={DUMMY_DATA / 'jazz'}", "--genre", f"classical={DUMMY_DATA / 'classical'}", "--out", str(cli), "--workers", "1", "--quiet"]) == 0
    for split in ("train", "test"):
        imported, imported_labels = pianoroll_reader.load_split_arrays(tmp_path / "imported", ["jazz", "classical"], split)
        prepared, prepared_labels = pianoroll_reader.load_split_arrays(cli, ["jazz", "classical"], split)
        order_a, order_b = np.lexsort(imported.reshape(len(imported), -1).T), np.lexsort(prepared.reshape(len(prepared), -1).T)
        np.testing.assert_array_equal(imported[order_a], prepared[order_b])
        np.testing.assert_array_equal(imported_labels[order_a], prepared_labels[order_b])
    manifest = pianoroll_reader.load_manifest(tmp_path / "imported")
    assert manifest["imported_from"]["tfds_build"] == str(builder.data_dir)
    root = Path(__file__).resolve().parents[2]
    trained = subprocess.run(
        [sys.executable, str(root / "train.py"), "--preset", "classifier_tiny", "--data", str(tmp_path / "imported"), "--out", str(tmp_path / "run"),
         "--max-steps", "2", "--no-export", "--verbose", "0"],
        cwd=root, capture_output=True, text=True, timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints").is_dir()
