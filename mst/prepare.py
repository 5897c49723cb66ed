"""``python -m mst.prepare``: MIDI folders -> a dataset (TFRecord shards + ``manifest.json``).

The command line of :func:`mst.records.prepare_driver.prepare_dataset` with any encoding of
:data:`mst.records.encoders.ENCODINGS` (default: the pianoroll phrases of the CycleGAN,
:class:`mst.records.pianoroll_phrase_encoder.PianorollPhraseEncoder`)::

    python -m mst.prepare --genre jazz=~/midi/jazz --genre pop=~/midi/pop --out data/jp
    python -m mst.prepare --corpus cello=~/midi/cello_suites --corpus chorales=~/midi/bach --out data/cc
    python -m mst.prepare --encoding note_tokens --option rests=drop --corpus cello=DIR --out data/cello

``--encoding NAME`` picks what songs become; ``--option KEY=VALUE`` (repeatable) sets one field of
that encoding's options (``--list-options`` prints them with their defaults).

``--genre NAME=DIR`` and its generic alias ``--corpus NAME=DIR`` name one partition of the dataset
and its MIDI folder (searched recursively); the partitions are labelled ``genre`` or ``corpus``
respectively (``--partition-by LABEL`` picks any other label, e.g. ``drummer``). ``--embedded``
uses the demo data shipped with mst (three genres). Files that are rejected are skipped and
listed in the manifest with their reason; ``--strict`` turns any skipped file into exit status 1,
after the dataset and the report have been written. Exit status 2: a usage or input error, 3: an
environment error such as a full or read-only disk (nothing written in either case; the same
codes as every mst command, :mod:`mst.cli.errors`); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mst.cli.errors import add_debug_argument, command
from mst.music.file_filter import POLICIES
from mst.records import splits as _splits
from mst.records import encoders
from mst.records.pianoroll_phrase_encoder import make_phrase_options
from mst.records.prepare_driver import PrepareError, format_summary, prepare_dataset, printable
from mst.records.shards import DEFAULT_SHARD_SIZE

EMBEDDED_DATA_DIR = Path(__file__).resolve().parent / "data" / "embedded"


def embedded_genre_dirs() -> dict[str, Path]:
    """The embedded demo data: ``{genre: mst/data/embedded/<genre>}`` for every genre folder there.

    Raises:
        mst.records.prepare_driver.PrepareError: If the embedded data is missing.
    """
    if not EMBEDDED_DATA_DIR.is_dir():
        raise PrepareError(f"embedded data folder {EMBEDDED_DATA_DIR} is missing")
    genres = {path.name: path for path in sorted(EMBEDDED_DATA_DIR.iterdir()) if path.is_dir()}
    if not genres:
        raise PrepareError(f"embedded data folder {EMBEDDED_DATA_DIR} has no genre sub-folder")
    return genres


def _parse_partition_argument(text: str) -> tuple[str, str]:
    name, separator, folder = text.partition("=")
    if not separator or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {text!r}")
    return name.strip(), folder


def build_argument_parser() -> argparse.ArgumentParser:
    """The ``python -m mst.prepare`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m mst.prepare",
        description="Turn MIDI folders (one per genre or corpus) into TFRecord phrase shards and a manifest.json.",
    )
    parser.add_argument("--encoding", choices=list(encoders.ENCODINGS), default=encoders.DEFAULT_ENCODING,
                        help="what songs become: " + "; ".join(f"{name}: {entry.description}" for name, entry in encoders.ENCODINGS.items()))
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="set one option of the encoding (repeatable); see --list-options")
    parser.add_argument("--list-options", action="store_true", help="print the options of --encoding with their defaults and exit")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--genre", action="append", type=_parse_partition_argument, metavar="GENRE=DIR",
                        help="a genre and its MIDI folder (searched recursively); repeat for each genre")
    source.add_argument("--corpus", action="append", type=_parse_partition_argument, metavar="NAME=DIR",
                        help="like --genre, for partitions that are not genres (labelled 'corpus' in the manifest)")
    source.add_argument("--embedded", action="store_true", help=f"use the embedded demo data ({EMBEDDED_DATA_DIR})")
    parser.add_argument("--partition-by", default=None, metavar="LABEL",
                        help="what the partitions are, recorded in the manifest and every record "
                        "(default: 'genre' for --genre and --embedded, 'corpus' for --corpus)")
    parser.add_argument("--out", help="dataset folder to create (required)")
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1), help="extraction processes (default: CPU count)")
    parser.add_argument("--seed", type=int, default=_splits.DEFAULT_SEED, help="train/test split seed (default 0)")
    parser.add_argument("--test-ratio", type=float, default=_splits.DEFAULT_TEST_RATIO, help="fraction of songs held out (default 0.1)")
    parser.add_argument("--time-signature-policy", choices=POLICIES, default=None,
                        help="pianoroll_phrases: strict (the authors': one 4/4 signature at tick 0), in_effect, or beat_grid")
    parser.add_argument("--phrase-multiple", type=int, default=None,
                        help="pianoroll_phrases: trim each song's phrase count to a multiple of this (4 = the authors' code, 1 = no trim)")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, help=f"examples per shard (default {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if any file was skipped (after writing everything)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset in --out (only if it holds nothing but the files its manifest.json lists)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_debug_argument(parser)
    return parser


def _partition_dirs(args: argparse.Namespace) -> tuple[dict, str]:
    """``({name: folder}, partition_by)`` from the parsed arguments."""
    if args.embedded:
        return embedded_genre_dirs(), args.partition_by or "genre"
    label = args.partition_by or ("genre" if args.genre else "corpus")
    folders = {}
    for name, folder in args.genre or args.corpus:
        if name in folders:
            raise PrepareError(f"{label} {name!r} given twice")
        folders[name] = folder
    return folders, label


def make_encoder(args: argparse.Namespace):
    """The encoder of the parsed arguments (``--encoding``, ``--option`` and the pianoroll flags).

    Raises:
        mst.records.prepare_driver.PrepareError: Unknown option, bad value, or a pianoroll-only
            flag given with another encoding.
    """
    pianoroll_flags = {"--time-signature-policy": args.time_signature_policy, "--phrase-multiple": args.phrase_multiple}
    if args.encoding == "pianoroll_phrases":
        base = make_phrase_options(args.time_signature_policy, args.phrase_multiple)
        return encoders.make_encoder(args.encoding, args.option, base)
    given = [flag for flag, value in pianoroll_flags.items() if value is not None]
    if given:
        raise PrepareError(f"{', '.join(given)} only apply to --encoding pianoroll_phrases; use --option KEY=VALUE for {args.encoding}")
    return encoders.make_encoder(args.encoding, args.option)


def describe_options(encoding: str) -> str:
    """The options of an encoding, one ``name = default`` line each."""
    import dataclasses  # noqa: PLC0415

    cls = encoders.options_class(encoding)
    defaults = cls()
    lines = [f"options of --encoding {encoding} ({cls.__module__}.{cls.__name__}):"]
    for field in dataclasses.fields(cls):
        if field.init:
            lines.append(f"  {field.name} = {getattr(defaults, field.name)!r}")
    return "\n".join(lines)


@command("mst.prepare")
def main(argv: Sequence[str] | None = None, *, stdout=None, stderr=None) -> int:
    """Command-line entry point; returns the exit status (see the module docstring)."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    from mst.cli import expand_user  # noqa: PLC0415

    parser = build_argument_parser()
    args = parser.parse_args(expand_user(argv))
    if args.list_options:
        print(describe_options(args.encoding), file=stdout)
        return 0
    if not (args.genre or args.corpus or args.embedded) or not args.out:
        parser.error("one of --genre, --corpus or --embedded, and --out, are required")
    try:
        partition_dirs, partition_by = _partition_dirs(args)
        encoder = make_encoder(args)
        manifest = prepare_dataset(
            partition_dirs,
            args.out,
            encoder,
            partition_by=partition_by,
            seed=args.seed,
            test_ratio=args.test_ratio,
            workers=args.workers,
            shard_size=args.shard_size,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except (PrepareError, ValueError) as error:
        print(f"mst.prepare: error: {error}", file=stderr)
        return 2
    print(format_summary(manifest), file=stdout)
    skipped = len(manifest["skipped"])
    print(f"dataset written to {printable(str(Path(args.out).expanduser().resolve()))} ({skipped} files skipped; reasons in manifest.json)", file=stdout)
    if args.strict and skipped:
        print(f"mst.prepare: --strict: {skipped} files were skipped", file=stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
