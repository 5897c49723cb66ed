"""A TFDS build of ``genre_pianoroll`` -> an mst dataset folder that ``train.py`` / ``evaluate.py`` read.

The TFDS builder (``datasets/genre_pianoroll``) and ``python -m mst.prepare`` produce the same
phrases; this command turns a finished TFDS build into the shards + ``manifest.json`` layout of
``mst.prepare`` (same record format, splits kept as TFDS has them), so a user who built the TFDS
dataset can train on it directly::

    python -m mst.records.tfds_import --builder-dir ~/tensorflow_datasets/genre_pianoroll/classical_pop/1.0.0 --out data/cp
    python -m mst.records.tfds_import --name genre_pianoroll/classical_pop --data-dir ~/tensorflow_datasets --out data/cp
    python train.py --preset cyclegan_classical_pop_cpu --data data/cp --out runs/cp

The genres are the build's ``label`` names, the songs its ``song_id`` values; a TFDS build does not
list the files its builder skipped, so the manifest says so (``imported_from``). Exit status: 0 ok,
2 bad arguments or an unreadable build.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from mst.cli.errors import command
from mst.records import splits as _splits
from mst.records.pianoroll_examples import pack_rolls
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder
from mst.records.prepare_driver import EncodedFile, FileResult, PartitionExtraction, PrepareError, split_partition, write_prepared
from mst.records.shards import DEFAULT_SHARD_SIZE


def load_builder(builder_dir: str | None = None, *, name: str | None = None, data_dir: str | None = None):
    """The TFDS builder of a finished build, from its folder or from ``name`` + ``data_dir``.

    Raises:
        PrepareError: No such build, or not a ``genre_pianoroll``-like build (needs ``roll``,
            ``label``, ``song_id`` and ``phrase_index`` features).
    """
    import tensorflow_datasets as tfds  # noqa: PLC0415

    try:
        if builder_dir is not None:
            builder = tfds.builder_from_directory(str(Path(builder_dir).expanduser()))
        else:
            builder = tfds.builder(name, data_dir=str(Path(data_dir).expanduser()) if data_dir else None)
    except Exception as error:  # noqa: BLE001  (tfds raises many kinds for a missing build)
        raise PrepareError(f"cannot open the TFDS build {builder_dir or name}: {type(error).__name__}: {error}") from None
    features = set(builder.info.features.keys())
    missing = {"roll", "label", "song_id", "phrase_index"} - features
    if missing:
        raise PrepareError(f"TFDS build {builder.data_dir} has no {sorted(missing)} feature(s); expected a genre_pianoroll build")
    if not builder.info.splits:
        raise PrepareError(f"TFDS build {builder.data_dir} has no prepared split (run tfds build first)")
    return builder


def extractions_from_tfds(builder) -> dict[str, PartitionExtraction]:
    """Per genre, one kept :class:`FileResult` per song, with the TFDS split fixed on it."""
    genres = builder.info.features["label"].names
    phrases: dict[tuple[str, str, str], list[tuple[int, np.ndarray]]] = defaultdict(list)
    for split in builder.info.splits:
        if split not in _splits.SPLITS:
            raise PrepareError(f"TFDS build {builder.data_dir} has split {split!r}; mst datasets have {_splits.SPLITS}")
        for example in _numpy_examples(builder, split):
            genre = genres[int(example["label"])]
            song = example["song_id"].decode() if isinstance(example["song_id"], bytes) else str(example["song_id"])
            phrases[(genre, song, split)].append((int(example["phrase_index"]), np.asarray(example["roll"])[..., 0]))
    extractions = {}
    for genre in genres:
        results = []
        for (g, song, split), items in sorted(phrases.items()):
            if g != genre:
                continue
            items.sort(key=lambda item: item[0])
            payloads = tuple(row.tobytes() for row in pack_rolls(np.stack([roll for _, roll in items])))
            encoded = EncodedFile(payloads, tuple(index for index, _ in items), stats={"phrases_kept": len(items)}, split=split)
            results.append(FileResult(song, encoded))
        if not results:
            raise PrepareError(f"TFDS build {builder.data_dir} has no phrase of genre {genre!r}")
        extractions[genre] = PartitionExtraction(genre, Path(str(builder.data_dir)), tuple(results))
    return extractions


def _numpy_examples(builder, split: str):
    import tensorflow_datasets as tfds  # noqa: PLC0415

    return tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))


def import_tfds_build(builder, out_dir, *, shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False) -> dict:
    """Writes an mst dataset (shards + manifest) holding a TFDS build's phrases; returns the manifest."""
    extractions = extractions_from_tfds(builder)
    splits = {genre: split_partition(extraction, seed=_splits.DEFAULT_SEED, test_ratio=_splits.DEFAULT_TEST_RATIO) for genre, extraction in extractions.items()}
    return write_prepared(out_dir, ImportedPhrases(source=str(builder.data_dir)), extractions, splits, partition_by="genre",
                          seed=_splits.DEFAULT_SEED, test_ratio=_splits.DEFAULT_TEST_RATIO, shard_size=shard_size, overwrite=overwrite)


@dataclasses.dataclass(frozen=True)
class ImportedPhrases(PianorollPhraseEncoder):
    """The pianoroll phrase records of :class:`PianorollPhraseEncoder`, for phrases encoded by TFDS.

    Attributes:
        source: The TFDS build folder (recorded in the manifest).
    """

    source: str = ""

    def manifest_fields(self, partition_by: str) -> dict:
        fields = super().manifest_fields(partition_by)
        fields["imported_from"] = {
            "tfds_build": self.source,
            "note": "splits as in the TFDS build; a TFDS build does not list the files its builder skipped",
        }
        return fields


@command("mst.records.tfds_import")
def main(argv=None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m mst.records.tfds_import", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--builder-dir", help="folder of a finished build (…/genre_pianoroll/<config>/<version>)")
    source.add_argument("--name", help="dataset name with config, e.g. genre_pianoroll/classical_pop (with --data-dir)")
    parser.add_argument("--data-dir", help="TFDS data_dir of --name (default: TFDS' own, ~/tensorflow_datasets)")
    parser.add_argument("--out", required=True, help="mst dataset folder to write")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset in --out")
    args = parser.parse_args(argv)
    try:
        builder = load_builder(args.builder_dir, name=args.name, data_dir=args.data_dir)
        manifest = import_tfds_build(builder, args.out, shard_size=args.shard_size, overwrite=args.overwrite)
    except PrepareError as error:
        print(f"mst.records.tfds_import: error: {error}", file=sys.stderr)
        return 2
    from mst.records.prepare_driver import format_summary  # noqa: PLC0415

    print(format_summary(manifest))
    print(f"dataset written to {Path(args.out).expanduser().resolve()} (from the TFDS build {builder.data_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
