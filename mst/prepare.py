"""MIDI folders -> song-level splits -> TFRecord shards + ``manifest.json`` (``python -m mst.prepare``).

Pipeline, per genre folder:

1. find every ``*.mid`` / ``*.midi`` file below it (case-insensitive, recursive), sorted by the path
   relative to the folder, which is the ``song_id``;
2. run :func:`mst.encodings.pianoroll_extract.extract_song` on each file, in a pool of spawned processes
   (``concurrent.futures.ProcessPoolExecutor``, chunks of files) when ``workers > 1``; workers never
   import TensorFlow, and results are consumed in file order, so the output does not depend on the
   worker count;
3. split the kept songs into train/test with :func:`mst.records.splits.assign_splits`;
4. write the shards of each genre/split with :func:`mst.records.write_split_shards` and, last, the
   manifest, all inside a staging folder next to ``out_dir`` that is renamed into place at the end.
   A crash therefore never leaves a half dataset under ``out_dir``.

Files that are rejected (by the time-signature policy, as unreadable, ...) are skipped and listed in
the manifest with their reason code and detail; a batch never stops on a bad file. ``--strict``
turns any skipped file into exit status 1, after the dataset and the report have been written.

:func:`prepare_dataset` is the library entry point (used by the tests, the demo and the benchmarks);
:func:`collect_genres` + :func:`split_genre` are shared with the TFDS builder in
``datasets/genre_pianoroll`` so that both produce the same phrases.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import platform
import re
import shutil
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

import mst
from mst.records import splits as _splits
from mst.encodings.pianoroll_extract import MIDI_SUFFIXES, PhraseOptions, extract_song
from mst.music.file_filter import POLICIES
from mst.records import (
    DEFAULT_SHARD_SIZE,
    MANIFEST_FORMAT,
    MANIFEST_FORMAT_VERSION,
    MANIFEST_NAME,
    RECORD_FORMAT_DESCRIPTION,
    ROLL_BYTES,
    PhraseRecord,
    is_shard_file_name,
    pack_rolls,
)

GENRE_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
EMBEDDED_DATA_DIR = Path(__file__).resolve().parent / "data" / "embedded"
INTERNAL_ERROR_REASON = "internal_error"
"""Reason code for an exception escaping :func:`mst.encodings.pianoroll_extract.extract_song` (a bug, never a bad file)."""


class PrepareError(Exception):
    """Preparation cannot start or finish: bad arguments, missing folders, an existing dataset."""


# --------------------------------------------------------------------------- files


def find_midi_files(folder: str | os.PathLike) -> list[Path]:
    """All MIDI files below ``folder``, sorted by their ``song_id``.

    Args:
        folder: Genre folder.

    Returns:
        Paths of ``*.mid`` / ``*.midi`` files (any case), recursively, sorted by relative POSIX path.

    Raises:
        PrepareError: If the folder does not exist or holds no MIDI file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PrepareError(f"MIDI folder {folder} does not exist or is not a folder")
    found = [
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in MIDI_SUFFIXES and path.is_file()
    ]
    if not found:
        raise PrepareError(f"MIDI folder {folder} holds no *.mid or *.midi file (searched recursively)")
    return sorted(found, key=lambda path: song_id_of(path, folder))


def song_id_of(path: str | os.PathLike, folder: str | os.PathLike) -> str:
    """The song id of a file: its path relative to the genre folder, ``/`` separated."""
    return Path(path).relative_to(folder).as_posix()


def embedded_genre_dirs() -> dict[str, Path]:
    """The embedded demo data: ``{genre: mst/data/embedded/<genre>}`` for every genre folder there.

    Raises:
        PrepareError: If the embedded data is missing.
    """
    if not EMBEDDED_DATA_DIR.is_dir():
        raise PrepareError(f"embedded data folder {EMBEDDED_DATA_DIR} is missing")
    genres = {path.name: path for path in sorted(EMBEDDED_DATA_DIR.iterdir()) if path.is_dir()}
    if not genres:
        raise PrepareError(f"embedded data folder {EMBEDDED_DATA_DIR} has no genre sub-folder")
    return genres


def check_genre_name(genre: str) -> str:
    """Returns ``genre`` if it is a valid name (lower-case letters, digits, ``_``); raises otherwise."""
    if not GENRE_NAME_PATTERN.match(genre):
        raise PrepareError(
            f"invalid genre name {genre!r}: use lower-case letters, digits and '_' (it becomes part of file names)"
        )
    return genre


# --------------------------------------------------------------------------- extraction


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What one MIDI file gave.

    Attributes:
        song_id: Path relative to the genre folder.
        packed_rolls: ``uint8 [n, 672]`` bit-packed phrases (:func:`mst.records.pack_rolls`).
        phrase_indices: Index of each phrase within the song (``n`` ints).
        reason: Rejection reason code, or ``None`` when the file was kept.
        detail: Human-readable rejection detail (empty when kept).
        stats: ``mst.encodings.pianoroll_extract.SongStats`` as a dict (note and phrase counts; may be empty).
    """

    song_id: str
    packed_rolls: np.ndarray
    phrase_indices: tuple[int, ...]
    reason: str | None = None
    detail: str = ""
    stats: dict = dataclasses.field(default_factory=dict)

    @property
    def kept(self) -> bool:
        """True when the file gave phrases."""
        return self.reason is None


def extract_file(path: str | os.PathLike, song_id: str, options: PhraseOptions) -> FileResult:
    """Runs :func:`mst.encodings.pianoroll_extract.extract_song` on one file and packs its phrases; never raises.

    Args:
        path: MIDI file.
        song_id: Its song id.
        options: Phrase options.

    Returns:
        A :class:`FileResult`; an exception escaping ``extract_song`` (which should never happen)
        becomes reason ``internal_error`` instead of stopping the batch.
    """
    empty = np.zeros((0, ROLL_BYTES), np.uint8)
    try:
        song = extract_song(str(path), options)
        stats = song.stats.to_dict()
        if song.rejection is not None:
            return FileResult(song_id, empty, (), song.rejection.reason, song.rejection.detail, stats)
        indices = tuple(int(index) for index in np.asarray(song.phrase_indices).tolist())
        if len(indices) != len(song.phrases) or not indices:
            raise ValueError(f"{len(song.phrases)} phrases with {len(indices)} phrase indices for a kept file")
        return FileResult(song_id, pack_rolls(song.phrases), indices, None, "", stats)
    except Exception as error:  # noqa: BLE001  (a batch job reports, it does not crash)
        return FileResult(song_id, empty, (), INTERNAL_ERROR_REASON, f"{path}: {type(error).__name__}: {error}")


def _extract_task(task: tuple[str, str, PhraseOptions]) -> FileResult:
    path, song_id, options = task
    return extract_file(path, song_id, options)


def _chunk_size(tasks: int, workers: int) -> int:
    return max(1, min(32, tasks // (workers * 8)))


def extract_files(
    tasks: Sequence[tuple[str, str, PhraseOptions]],
    *,
    workers: int = 1,
    progress: bool = False,
    description: str = "extract",
) -> list[FileResult]:
    """Extracts many files, in order, with ``workers`` spawned processes (in-process for 1).

    Args:
        tasks: ``(path, song_id, options)`` triples.
        workers: Number of processes.
        progress: Show a tqdm progress bar on stderr.
        description: Progress bar label.

    Returns:
        One :class:`FileResult` per task, in task order.
    """
    from tqdm import tqdm  # noqa: PLC0415

    if workers < 1:
        raise PrepareError(f"workers must be >= 1, got {workers}")
    bar = tqdm(total=len(tasks), desc=description, unit="file", disable=not progress, dynamic_ncols=True)
    results = []
    try:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                results.append(_extract_task(task))
                bar.update()
        else:
            # Spawned, never forked: the parent may already hold TensorFlow's threads. An executor
            # rather than multiprocessing.Pool: if a worker process dies (a crash inside a native
            # MIDI parser), Pool waits forever for the lost chunk; the executor raises instead.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as executor:
                try:
                    for result in executor.map(_extract_task, tasks, chunksize=_chunk_size(len(tasks), workers)):
                        results.append(result)
                        bar.update()
                except BrokenProcessPool as error:
                    raise PrepareError(
                        f"a worker process died while extracting {tasks[len(results)][0]} or a file processed "
                        "at the same time (a crash in the MIDI parser?); run with --workers 1 to find the file"
                    ) from error
    finally:
        bar.close()
    return results


@dataclasses.dataclass(frozen=True)
class GenreExtraction:
    """All files of one genre folder after extraction.

    Attributes:
        genre: Genre name.
        source_dir: The folder.
        results: One :class:`FileResult` per MIDI file, sorted by song id.
    """

    genre: str
    source_dir: Path
    results: tuple[FileResult, ...]

    @property
    def kept(self) -> list[FileResult]:
        """Files that gave phrases."""
        return [result for result in self.results if result.kept]

    @property
    def skipped(self) -> list[FileResult]:
        """Files that were rejected."""
        return [result for result in self.results if not result.kept]


def collect_genres(
    genre_dirs: Mapping[str, str | os.PathLike],
    options,
    *,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, GenreExtraction]:
    """Finds and extracts the MIDI files of every genre folder, in one pool, in deterministic order.

    Args:
        genre_dirs: ``{genre: folder}``.
        options: ``mst.encodings.pianoroll_extract.PhraseOptions``.
        workers: Number of processes.
        progress: Show a progress bar.

    Returns:
        ``{genre: GenreExtraction}`` in ``genre_dirs`` order.

    Raises:
        PrepareError: Invalid genre name, missing folder, folder without MIDI.
    """
    if not genre_dirs:
        raise PrepareError("no genre folder given")
    listing = {}
    for genre, folder in genre_dirs.items():
        check_genre_name(genre)
        folder = Path(folder).expanduser().resolve()
        listing[genre] = (folder, find_midi_files(folder))
    tasks = [
        (str(path), song_id_of(path, folder), options)
        for folder, paths in listing.values()
        for path in paths
    ]
    results = iter(extract_files(tasks, workers=workers, progress=progress, description="MIDI files"))
    return {
        genre: GenreExtraction(genre, folder, tuple(next(results) for _ in paths))
        for genre, (folder, paths) in listing.items()
    }


def collect_genre(genre: str, folder: str | os.PathLike, options, *, workers: int = 1, progress: bool = False) -> GenreExtraction:
    """:func:`collect_genres` for a single genre folder."""
    return collect_genres({genre: folder}, options, workers=workers, progress=progress)[genre]


@dataclasses.dataclass(frozen=True)
class GenreSplit:
    """The kept songs of one genre split into train/test, as records ready to be written.

    Attributes:
        assignment: The song-level :class:`mst.records.splits.SplitAssignment`.
        records: ``{"train": [...], "test": [...]}`` :class:`mst.records.PhraseRecord` lists, songs
            sorted by id and phrases by index.
    """

    assignment: _splits.SplitAssignment
    records: dict[str, list[PhraseRecord]]


def split_genre(extraction: GenreExtraction, *, seed: int, test_ratio: float) -> GenreSplit:
    """Assigns each kept song of a genre to a split and builds its phrase records."""
    kept = extraction.kept
    assignment = _splits.assign_splits([result.song_id for result in kept], seed=seed, test_ratio=test_ratio)
    records: dict[str, list[PhraseRecord]] = {split: [] for split in _splits.SPLITS}
    for result in kept:
        split = assignment.split_of[result.song_id]
        records[split].extend(
            PhraseRecord(extraction.genre, split, result.song_id, index, packed.tobytes())
            for index, packed in zip(result.phrase_indices, result.packed_rolls)
        )
    return GenreSplit(assignment, records)


# --------------------------------------------------------------------------- manifest


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the output (read from package metadata, no imports)."""
    from importlib import metadata  # noqa: PLC0415  (kept out of the workers' start-up)

    def version_of(*distributions: str) -> str:
        for name in distributions:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return "not installed"

    return {
        "mst": mst.__version__,
        "numpy": np.__version__,
        "symusic": version_of("symusic"),
        "pretty_midi": version_of("pretty_midi", "pretty-midi"),
        "tensorflow": version_of("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
        "python": platform.python_version(),
    }


def _summed_stats(results: Iterable[FileResult]) -> dict[str, int]:
    totals: Counter = Counter()
    for result in results:
        totals.update(result.stats)
    return dict(sorted(totals.items()))


def build_manifest(
    extractions: Mapping[str, GenreExtraction],
    splits: Mapping[str, GenreSplit],
    shards: Iterable,
    *,
    options,
    seed: int,
    test_ratio: float,
) -> dict:
    """Assembles the manifest dict described in :mod:`mst.records`."""
    genres, songs, skipped = {}, {}, []
    for genre, extraction in extractions.items():
        split = splits[genre]
        reasons = Counter(result.reason for result in extraction.skipped)
        genres[genre] = {
            "source_dir": str(extraction.source_dir),
            "files_found": len(extraction.results),
            "files_kept": len(extraction.kept),
            "files_skipped": len(extraction.skipped),
            "skipped_by_reason": dict(sorted(reasons.items())),
            "songs": {name: len(split.assignment.songs_in(name)) for name in _splits.SPLITS},
            "phrases": {name: len(split.records[name]) for name in _splits.SPLITS},
            "test_fallback_song": split.assignment.fallback_test_song,
            "kept_file_stats": _summed_stats(extraction.kept),
        }
        songs[genre] = [
            {"song_id": result.song_id, "split": split.assignment.split_of[result.song_id], "phrases": len(result.phrase_indices)}
            for result in extraction.kept
        ]
        skipped.extend(
            {"genre": genre, "song_id": result.song_id, "reason": result.reason, "detail": result.detail}
            for result in extraction.skipped
        )
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "record_format": RECORD_FORMAT_DESCRIPTION,
        "library_versions": library_versions(),
        "phrase_options": options.to_dict(),
        "split": {
            "seed": int(seed),
            "test_ratio": float(test_ratio),
            "method": "song-level: sha256(f'{seed}:{song_id}') -> uniform [0,1) < test_ratio; "
            "if a genre with >= 2 songs gets no test song, the song with the smallest value goes to test",
        },
        "genres": genres,
        "songs": songs,
        "skipped": skipped,
        "shards": [dataclasses.asdict(shard) for shard in shards],
    }


# --------------------------------------------------------------------------- output folder


def _check_output_folder(out_dir: Path, overwrite: bool) -> None:
    """Refuses to replace a complete dataset (unless ``overwrite``) or any folder with foreign files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PrepareError(f"output path {out_dir} exists and is not a folder")
    entries = sorted(path.name for path in out_dir.iterdir())
    if not entries:
        return
    foreign = [name for name in entries if name != MANIFEST_NAME and not is_shard_file_name(name) and ".tmp-" not in name]
    if foreign:
        raise PrepareError(
            f"output folder {out_dir} holds files that are not part of a prepared dataset "
            f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); refusing to replace it"
        )
    if not overwrite:
        state = "a complete dataset" if MANIFEST_NAME in entries else "an incomplete dataset (no manifest)"
        raise PrepareError(f"output folder {out_dir} already holds {state}; pass --overwrite (overwrite=True) to replace it")


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Renames the finished staging folder to ``out_dir``, replacing an old dataset there."""
    if out_dir.exists():
        retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, retired)
        os.replace(staging, out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def make_phrase_options(time_signature_policy: str | None = None, phrase_multiple: int | None = None) -> PhraseOptions:
    """``PhraseOptions`` with the given policy / phrase multiple, library defaults for ``None``.

    Raises:
        PrepareError: For an unknown policy or a phrase multiple below 1.
    """
    changes = {}
    if time_signature_policy is not None:
        changes["time_signature_policy"] = time_signature_policy
    if phrase_multiple is not None:
        changes["phrase_multiple"] = phrase_multiple
    try:
        return PhraseOptions(**changes)
    except ValueError as error:
        raise PrepareError(str(error)) from error


def prepare_dataset(
    genre_dirs: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    options=None,
    *,
    seed: int = _splits.DEFAULT_SEED,
    test_ratio: float = _splits.DEFAULT_TEST_RATIO,
    workers: int = 1,
    shard_size: int = DEFAULT_SHARD_SIZE,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Prepares a dataset folder from MIDI folders; the library form of ``python -m mst.prepare``.

    Args:
        genre_dirs: ``{genre: folder}`` (genre names: lower-case letters, digits, ``_``).
        out_dir: Dataset folder to create.
        options: ``mst.encodings.pianoroll_extract.PhraseOptions`` (default: the authors' settings).
        seed: Split seed.
        test_ratio: Fraction of songs held out for the test split.
        workers: Extraction processes.
        shard_size: Maximum phrases per shard.
        overwrite: Replace an existing dataset in ``out_dir``.
        progress: Show a progress bar.

    Returns:
        The manifest dict (also written to ``out_dir/manifest.json``).

    Raises:
        PrepareError: Bad arguments, missing/empty folders, an existing dataset without
            ``overwrite``, or a genre that gave no phrase at all.
    """
    options = PhraseOptions() if options is None else options
    out_dir = Path(out_dir).expanduser().resolve()
    if shard_size < 1:
        raise PrepareError(f"shard size must be >= 1, got {shard_size}")
    if not 0.0 <= test_ratio < 1.0:
        raise PrepareError(f"test ratio must be in [0, 1), got {test_ratio}")
    _check_output_folder(out_dir, overwrite)
    extractions = collect_genres(genre_dirs, options, workers=workers, progress=progress)
    for genre, extraction in extractions.items():
        if not extraction.kept:
            reasons = Counter(result.reason for result in extraction.skipped)
            raise PrepareError(
                f"genre {genre!r}: none of the {len(extraction.results)} MIDI files in {extraction.source_dir} "
                f"gave a phrase (skipped: {dict(reasons)})"
            )
    splits = {genre: split_genre(extraction, seed=seed, test_ratio=test_ratio) for genre, extraction in extractions.items()}

    from mst.records import write_manifest, write_split_shards  # noqa: PLC0415  (imports TF on first use)

    _check_output_folder(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        shards = []
        for genre, split in splits.items():
            for name in _splits.SPLITS:
                shards.extend(write_split_shards(staging, genre, name, split.records[name], shard_size=shard_size))
        manifest = build_manifest(extractions, splits, shards, options=options, seed=seed, test_ratio=test_ratio)
        write_manifest(staging, manifest)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


# --------------------------------------------------------------------------- report


def format_summary(manifest: dict) -> str:
    """A plain-text table: per genre, files found/kept/skipped by reason, songs and phrases per split."""
    genres = list(manifest["genres"])
    reasons = sorted({reason for info in manifest["genres"].values() for reason in info["skipped_by_reason"]})
    rows: list[tuple[str, list[str]]] = [
        ("files found", [str(manifest["genres"][g]["files_found"]) for g in genres]),
        ("files kept", [str(manifest["genres"][g]["files_kept"]) for g in genres]),
        ("files skipped", [str(manifest["genres"][g]["files_skipped"]) for g in genres]),
    ]
    rows += [
        (f"  skipped: {reason}", [str(manifest["genres"][g]["skipped_by_reason"].get(reason, 0)) for g in genres])
        for reason in reasons
    ]
    rows += [
        ("songs train / test", [f"{manifest['genres'][g]['songs']['train']} / {manifest['genres'][g]['songs']['test']}" for g in genres]),
        (
            "phrases train / test",
            [f"{manifest['genres'][g]['phrases']['train']} / {manifest['genres'][g]['phrases']['test']}" for g in genres],
        ),
    ]
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(g), *(len(values[i]) for _, values in rows)) for i, g in enumerate(genres)]
    lines = ["  ".join([" " * label_width, *(g.rjust(w) for g, w in zip(genres, widths))])]
    lines += ["  ".join([label.ljust(label_width), *(v.rjust(w) for v, w in zip(values, widths))]) for label, values in rows]
    lines += [
        f"{genre}: no song fell into the test split by hash; moved {info['test_fallback_song']} there (tiny-genre fallback)"
        for genre, info in manifest["genres"].items()
        if info["test_fallback_song"]
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def _parse_genre_argument(text: str) -> tuple[str, str]:
    genre, separator, folder = text.partition("=")
    if not separator or not genre or not folder:
        raise argparse.ArgumentTypeError(f"expected GENRE=FOLDER, got {text!r}")
    return genre.strip(), folder


def build_argument_parser() -> argparse.ArgumentParser:
    """The ``python -m mst.prepare`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m mst.prepare",
        description="Turn MIDI folders (one per genre) into TFRecord phrase shards and a manifest.json.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--genre", action="append", type=_parse_genre_argument, metavar="GENRE=DIR",
                        help="a genre and its MIDI folder (searched recursively); repeat for each genre")
    source.add_argument("--embedded", action="store_true", help=f"use the embedded demo data ({EMBEDDED_DATA_DIR})")
    parser.add_argument("--out", required=True, help="dataset folder to create")
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1), help="extraction processes (default: CPU count)")
    parser.add_argument("--seed", type=int, default=_splits.DEFAULT_SEED, help="train/test split seed (default 0)")
    parser.add_argument("--test-ratio", type=float, default=_splits.DEFAULT_TEST_RATIO, help="fraction of songs held out (default 0.1)")
    parser.add_argument("--time-signature-policy", choices=POLICIES, default=None,
                        help="strict (the authors': one 4/4 signature at tick 0), in_effect, or beat_grid")
    parser.add_argument("--phrase-multiple", type=int, default=None,
                        help="trim each song's phrase count to a multiple of this (4 = the authors' code, 1 = no trim)")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, help=f"phrases per shard (default {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if any file was skipped (after writing everything)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout=None, stderr=None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 skipped files with --strict, 2 error)."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_argument_parser()
    args = parser.parse_args(argv)
    try:
        if args.embedded:
            genre_dirs = embedded_genre_dirs()
        else:
            genre_dirs = {}
            for genre, folder in args.genre:
                if genre in genre_dirs:
                    raise PrepareError(f"genre {genre!r} given twice")
                genre_dirs[genre] = folder
        options = make_phrase_options(args.time_signature_policy, args.phrase_multiple)
        manifest = prepare_dataset(
            genre_dirs,
            args.out,
            options,
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
    print(f"dataset written to {Path(args.out).expanduser().resolve()} ({skipped} files skipped; reasons in manifest.json)", file=stdout)
    if args.strict and skipped:
        print(f"mst.prepare: --strict: {skipped} files were skipped", file=stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
