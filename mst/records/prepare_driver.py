"""MIDI folders -> song-level splits -> TFRecord shards + ``manifest.json``, for any encoder.

The driver knows files, songs, splits, shards and the manifest; what a song becomes (pianoroll
phrases, note tokens, multi-track rolls) is the :class:`Encoder`'s business. The first encoder is
:class:`mst.records.pianoroll_phrase_encoder.PianorollPhraseEncoder`; ``python -m mst.prepare``
(:mod:`mst.prepare`) is the command line.

Pipeline, per partition (one source folder per genre, corpus, ...; ``partition_by`` names them):

1. find every ``*.mid`` / ``*.midi`` file below the folder (case-insensitive, recursive), sorted by
   the path relative to the folder, which is the ``song_id`` (:mod:`mst.music.files`);
2. run :meth:`Encoder.encode_file` on each file, in a pool of spawned processes
   (``concurrent.futures.ProcessPoolExecutor``, chunks of files) when ``workers > 1``; workers
   never import TensorFlow, and results are consumed in file order, so the output does not
   depend on the worker count;
3. split the kept songs into train/test with :func:`mst.records.splits.assign_splits`;
4. write the shards of each partition/split with :meth:`Encoder.write_shards` and, last, the
   manifest (:mod:`mst.records.manifest`), all inside a staging folder next to ``out_dir`` that is
   renamed into place at the end. A crash therefore never leaves a half dataset under ``out_dir``.

Files that an encoder rejects (by the time-signature policy, as unreadable, ...) are skipped and
listed in the manifest with their reason code and detail; a batch never stops on a bad file. A
file whose name is not valid UTF-8 is skipped the same way (reason ``undecodable_name``), since
its song id could be neither hashed for the split nor stored in the manifest.

The output folder. ``out_dir`` is only ever replaced (``overwrite``) when every entry in it is a
regular file that its ``manifest.json`` lists (:func:`mst.records.manifest.dataset_files`); a
folder holding anything else, or not empty and without a manifest, is refused untouched. Every
run first repairs what a killed run left beside ``out_dir`` (:func:`mst.atomic.recover_folder`):
an interrupted swap is finished or undone, stale staging folders are deleted. When a partition
gives no example at all, the run stops and the per-file reasons go to ``<out_dir>.rejected.json``.

:func:`prepare_dataset` is the library entry point; :func:`collect_partitions` +
:func:`split_partition` are shared with the TFDS builder in ``datasets/genre_pianoroll`` so that
both produce the same examples.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

import mst
from mst import atomic
from mst.music.files import find_midi_files, song_id_of
from mst.records import splits as _splits
from mst.records.manifest import (
    DEFAULT_PARTITION_BY,
    MANIFEST_FORMAT,
    MANIFEST_FORMAT_VERSION,
    MANIFEST_NAME,
    dataset_files,
    write_manifest,
)
from mst.records.shards import DEFAULT_SHARD_SIZE, ShardInfo
from mst.errors import InputError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
"""Partition names: lower-case letters, digits and ``_`` (they become part of file names)."""
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""Partition labels (``partition_by``): a lower-case identifier such as ``genre`` or ``corpus``."""
INTERNAL_ERROR_REASON = "internal_error"
"""Reason code for an exception escaping :meth:`Encoder.encode_file` (a bug, never a bad file)."""
UNDECODABLE_NAME_REASON = "undecodable_name"
"""Reason code for a file whose name (song id) is not valid UTF-8; the driver's, like ``internal_error``."""
REJECTED_REPORT_SUFFIX = ".rejected.json"
"""``<out_dir>.rejected.json``: every skipped file of a run that stopped because a partition gave nothing."""
REJECTED_REPORT_FORMAT = "mst.prepare_rejected"
SUMMARY_SKIPPED_LINES = 10
"""Skipped files :func:`format_summary` names before pointing to the manifest."""


class PrepareError(InputError):
    """Preparation cannot start or finish: bad arguments, missing folders, an existing dataset."""


# --------------------------------------------------------------------------- the encoder interface


@dataclasses.dataclass(frozen=True)
class EncodedFile:
    """What an encoder made of one MIDI file: its examples, or why there are none.

    Attributes:
        examples: One serialized payload per example (for the pianoroll phrases: the 672 packed
            bytes of a phrase); the encoder's :meth:`Encoder.write_shards` turns them into records.
        indices: Index of each example within the song (e.g. the phrase index; gaps allowed).
        reason: Rejection reason code (``snake_case``), or ``None`` when the file was kept.
        detail: Human-readable rejection detail (empty when kept).
        stats: The encoder's per-file counts (JSON numbers), summed per partition in the manifest.
        split: A split fixed by the source (``"train"`` / ``"test"``, e.g. a corpus' official
            split), or ``None`` (the default): the driver's song-level hash split decides.

    Example:
        >>> EncodedFile((b"x", b"y"), (0, 2)).kept, EncodedFile.rejected("not_4_4", "3/4 at tick 0").kept
        (True, False)
    """

    examples: tuple[bytes, ...] = ()
    indices: tuple[int, ...] = ()
    reason: str | None = None
    detail: str = ""
    stats: dict = dataclasses.field(default_factory=dict)
    split: str | None = None

    def __post_init__(self):
        if self.split is not None and self.split not in _splits.SPLITS:
            raise ValueError(f"a fixed split must be one of {_splits.SPLITS}, got {self.split!r}")
        if len(self.examples) != len(self.indices):
            raise ValueError(f"{len(self.examples)} examples with {len(self.indices)} indices")
        if self.reason is None and not self.examples:
            raise ValueError("a kept file needs at least one example (else give a rejection reason)")
        if self.reason is not None and self.examples:
            raise ValueError(f"a rejected file ({self.reason}) has no examples")

    @classmethod
    def rejected(cls, reason: str, detail: str = "", stats: dict | None = None, split: str | None = None) -> "EncodedFile":
        """A file without examples, with its reason."""
        return cls((), (), reason, detail, dict(stats or {}), split)

    @property
    def kept(self) -> bool:
        """True when the file gave examples."""
        return self.reason is None


class SongExample(NamedTuple):
    """One example of a kept song, as the driver hands it to :meth:`Encoder.write_shards`."""

    song_id: str
    index: int
    payload: bytes


class Encoder(Protocol):
    """How songs become examples and records; what :func:`prepare_dataset` plugs in.

    An encoder is pickled into the worker processes, so it must be a small picklable value (a
    frozen dataclass of its options) whose :meth:`encode_file` never imports TensorFlow.

    Optional hook: an encoder may define ``list_sources(path) -> [(locator, song_id)] | None``.
    :func:`collect_partitions` calls it with each partition's (resolved) path; a list names the
    songs of a source that is not a MIDI folder (e.g. one archive file holding a whole corpus),
    and each ``locator`` is what :meth:`encode_file` then receives; ``None`` means "a MIDI folder,
    list it as usual". Such an encoder may fix each song's split through :attr:`EncodedFile.split`
    (a corpus with an official split). Encoders without the hook behave exactly as before.
    """

    name: str
    """Short name recorded in the manifest (``"pianoroll_phrases"``)."""

    options: Any
    """The encoder's settings (recorded through :meth:`manifest_fields`)."""

    def encode_file(self, path: str) -> EncodedFile:
        """Reads one MIDI file and encodes it; bad files give a rejection, they do not raise."""

    def manifest_fields(self, partition_by: str) -> dict:
        """Top-level manifest fields of this encoder (options, record format).

        Raises:
            ValueError: If records of this encoder cannot carry the label ``partition_by``.
        """

    def write_shards(
        self, directory: Path, partition: str, split: str, examples: Sequence[SongExample], *,
        partition_by: str, shard_size: int,
    ) -> list[ShardInfo]:
        """Writes one partition/split's examples as shards (:func:`mst.records.shards.write_shards`)."""


# --------------------------------------------------------------------------- names and folders


def printable(text: str) -> str:
    """``text`` safe to print and to store as UTF-8 JSON: bytes of an undecodable file name as ``\\xff``.

    On POSIX, :func:`os.fsdecode` turns the bytes of a name that is not valid UTF-8 into lone
    surrogates, which cannot be encoded again; they are shown as backslash escapes instead.

    Example:
        >>> printable("ok.mid"), printable(os.fsdecode(b"bad\\xff.mid"))
        ('ok.mid', 'bad\\\\xff.mid')
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # surrogates that no file name decoding made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_valid_text(text: str) -> bool:
    """True if ``text`` encodes as UTF-8 (a file name that was not valid UTF-8 does not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_partition_name(name: str, partition_by: str = DEFAULT_PARTITION_BY) -> str:
    """Returns ``name`` if it is a valid partition name; raises :class:`PrepareError` otherwise."""
    if not NAME_PATTERN.match(name):
        raise PrepareError(
            f"invalid {partition_by} name {name!r}: use lower-case letters, digits and '_' (it becomes part of file names)"
        )
    return name


def check_partition_by(partition_by: str) -> str:
    """Returns ``partition_by`` if it is a valid partition label; raises :class:`PrepareError` otherwise."""
    if not isinstance(partition_by, str) or not LABEL_PATTERN.match(partition_by):
        raise PrepareError(f"invalid partition label {partition_by!r}: use a lower-case identifier such as 'genre' or 'corpus'")
    return partition_by


def list_midi_files(folder: str | os.PathLike, partition_by: str = DEFAULT_PARTITION_BY) -> list[Path]:
    """The MIDI files of one partition folder, sorted by song id (:func:`mst.music.files.find_midi_files`).

    Raises:
        PrepareError: If the folder does not exist or holds no MIDI file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PrepareError(f"MIDI folder {folder} does not exist or is not a folder")
    found = find_midi_files(folder, order="song_id")
    if not found:
        raise PrepareError(f"MIDI folder {folder} holds no *.mid or *.midi file (searched recursively)")
    return found


# --------------------------------------------------------------------------- extraction


@dataclasses.dataclass(frozen=True)
class FileResult:
    """One MIDI file of a partition and what its encoder made of it.

    Attributes:
        song_id: Path relative to the partition's folder.
        encoded: The :class:`EncodedFile`.
    """

    song_id: str
    encoded: EncodedFile

    @property
    def kept(self) -> bool:
        """True when the file gave examples."""
        return self.encoded.kept


def extract_file(path: str | os.PathLike, song_id: str, encoder: Encoder) -> FileResult:
    """Runs ``encoder.encode_file`` on one file; never raises.

    Returns:
        A :class:`FileResult`; an exception escaping the encoder (which should never happen)
        becomes reason ``internal_error`` instead of stopping the batch.
    """
    try:
        encoded = encoder.encode_file(str(path))
        if not isinstance(encoded, EncodedFile):
            raise TypeError(f"{type(encoder).__name__}.encode_file returned {type(encoded).__name__}, not EncodedFile")
    except Exception as error:  # noqa: BLE001  (a batch job reports, it does not crash)
        encoded = EncodedFile.rejected(INTERNAL_ERROR_REASON, f"{path}: {type(error).__name__}: {error}")
    return FileResult(song_id, encoded)


def _extract_task(task: tuple[str, str, Encoder]) -> FileResult:
    path, song_id, encoder = task
    return extract_file(path, song_id, encoder)


def _chunk_size(tasks: int, workers: int) -> int:
    return max(1, min(32, tasks // (workers * 8)))


PARENT_POLL_SECONDS = 0.5
"""How often a worker without ``PR_SET_PDEATHSIG`` checks that its parent is still there."""
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _exit_when_parent_dies(parent_pid: int) -> None:
    """Worker initializer: the worker dies with the process that started it.

    Without it, a killed ``mst.prepare`` (``kill -9``, an out-of-memory kill) leaves its workers
    running: they encode the chunks already queued, then wait forever for more. On Linux the kernel kills the worker
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the workers only read MIDI files, so nothing is left half
    written); elsewhere a daemon thread exits the worker once its parent PID changes (the worker
    was re-parented). A parent that died before this runs is caught by the first check.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # noqa: PLC0415  (only in workers)

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="mst-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def extract_files(
    tasks: Sequence[tuple[str, str]],
    encoder: Encoder,
    *,
    workers: int = 1,
    progress: bool = False,
    description: str = "extract",
) -> list[FileResult]:
    """Encodes many files, in order, with ``workers`` spawned processes (in-process for 1).

    Args:
        tasks: ``(path, song_id)`` pairs.
        encoder: The encoder (pickled to the workers).
        workers: Number of processes.
        progress: Show a tqdm progress bar on stderr.
        description: Progress bar label.

    Returns:
        One :class:`FileResult` per task, in task order.

    Raises:
        PrepareError: ``workers < 1``, or a worker process died.
    """
    from tqdm import tqdm  # noqa: PLC0415

    if workers < 1:
        raise PrepareError(f"workers must be >= 1, got {workers}")
    jobs = [(str(path), song_id, encoder) for path, song_id in tasks]
    bar = tqdm(total=len(jobs), desc=description, unit="file", disable=not progress, dynamic_ncols=True)
    results = []
    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                results.append(_extract_task(job))
                bar.update()
        else:
            # Spawned, never forked: the parent may already hold TensorFlow's threads. An executor
            # rather than multiprocessing.Pool: if a worker process dies (a crash inside a native
            # MIDI parser), Pool waits forever for the lost chunk; the executor raises instead.
            # The executor starts spawned workers from the calling thread (submit), which lives
            # as long as the pool: PR_SET_PDEATHSIG follows that thread, not the whole process.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                                     initializer=_exit_when_parent_dies, initargs=(os.getpid(),)) as executor:
                try:
                    for result in executor.map(_extract_task, jobs, chunksize=_chunk_size(len(jobs), workers)):
                        results.append(result)
                        bar.update()
                except BrokenProcessPool as error:
                    raise PrepareError(
                        f"a worker process died while extracting {jobs[len(results)][0]} or a file processed "
                        "at the same time (a crash in the MIDI parser?); run with --workers 1 to find the file"
                    ) from error
    finally:
        bar.close()
    return results


@dataclasses.dataclass(frozen=True)
class PartitionExtraction:
    """All files of one partition folder after encoding.

    Attributes:
        name: Partition name (e.g. the genre).
        source_dir: The folder.
        results: One :class:`FileResult` per MIDI file, sorted by song id.
    """

    name: str
    source_dir: Path
    results: tuple[FileResult, ...]

    @property
    def kept(self) -> list[FileResult]:
        """Files that gave examples."""
        return [result for result in self.results if result.kept]

    @property
    def skipped(self) -> list[FileResult]:
        """Files that were rejected."""
        return [result for result in self.results if not result.kept]


def collect_partitions(
    partition_dirs: Mapping[str, str | os.PathLike],
    encoder: Encoder,
    *,
    partition_by: str = DEFAULT_PARTITION_BY,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, PartitionExtraction]:
    """Finds and encodes the MIDI files of every partition folder, in one pool, in deterministic order.

    Args:
        partition_dirs: ``{partition name: folder}``.
        encoder: The encoder.
        partition_by: What the partitions are (for messages).
        workers: Number of processes.
        progress: Show a progress bar.

    Returns:
        ``{name: PartitionExtraction}`` in ``partition_dirs`` order. A file whose name is not
        valid UTF-8 is not encoded; it is rejected with reason ``undecodable_name``.

    Raises:
        PrepareError: Invalid partition name, missing folder, folder without MIDI, the same
            folder (or one inside another) given for two partitions.
    """
    if not partition_dirs:
        raise PrepareError(f"no {partition_by} folder given")
    listing = {}
    list_sources = getattr(encoder, "list_sources", None)
    resolved = {}
    for name, folder in partition_dirs.items():
        check_partition_name(name, partition_by)
        resolved[name] = Path(folder).expanduser().resolve()
    check_distinct_sources(resolved, partition_by)
    for name, folder in resolved.items():
        sources = None
        if list_sources is not None:
            try:
                sources = list_sources(folder)
            except ValueError as error:
                raise PrepareError(str(error)) from error
            if sources is not None and not sources:
                raise PrepareError(f"{partition_by} {name!r}: source {folder} lists no song")
        if sources is None:
            sources = [(str(path), song_id_of(path, folder)) for path in list_midi_files(folder, partition_by)]
        listing[name] = (folder, sources)
    tasks = [task for _, sources in listing.values() for task in sources if is_valid_text(task[1])]
    encoded = iter(extract_files(tasks, encoder, workers=workers, progress=progress, description="MIDI files"))

    def result_of(locator, song_id: str) -> FileResult:
        if is_valid_text(song_id):
            return next(encoded)
        # The song id is hashed for the split and stored in the manifest, both as UTF-8: skip the
        # file here, by name, instead of failing after the whole extraction.
        shown = printable(song_id)
        return FileResult(shown, EncodedFile.rejected(
            UNDECODABLE_NAME_REASON, f"the file name '{shown}' is not valid UTF-8 (bytes shown as \\x..); rename the file"))

    return {
        name: PartitionExtraction(name, folder, tuple(result_of(locator, song_id) for locator, song_id in sources))
        for name, (folder, sources) in listing.items()
    }


def check_distinct_sources(folders: Mapping[str, Path], partition_by: str = DEFAULT_PARTITION_BY) -> None:
    """Refuses two partitions reading the same folder or file, or a folder inside another's.

    Either way songs would be counted in both partitions (a typo such as ``--genre pop=D --genre
    jazz=D`` would give two identical partitions without a word).

    Args:
        folders: ``{partition name: resolved path}``.
        partition_by: What the partitions are (for the message).

    Raises:
        PrepareError: Naming both partitions and the folder.
    """
    items = list(folders.items())
    for index, (first, first_path) in enumerate(items):
        for second, second_path in items[index + 1:]:
            if first_path == second_path:
                raise PrepareError(f"{partition_by} {first!r} and {partition_by} {second!r} both read {printable(str(first_path))}: "
                                   f"give each {partition_by} its own folder")
            for outer, outer_path, inner, inner_path in ((first, first_path, second, second_path),
                                                         (second, second_path, first, first_path)):
                if inner_path.is_relative_to(outer_path) and outer_path.is_dir():
                    raise PrepareError(
                        f"{partition_by} {inner!r} reads {printable(str(inner_path))}, which is inside the folder "
                        f"{printable(str(outer_path))} of {partition_by} {outer!r}, so its files would count for both: "
                        f"give each {partition_by} its own folder")


@dataclasses.dataclass(frozen=True)
class PartitionSplit:
    """The kept songs of one partition split into train/test, as examples ready to be written.

    Attributes:
        assignment: The song-level :class:`mst.records.splits.SplitAssignment`.
        examples: ``{"train": [...], "test": [...]}`` :class:`SongExample` lists, songs sorted by
            id and examples by index.
    """

    assignment: _splits.SplitAssignment
    examples: dict[str, list[SongExample]]


def split_partition(extraction: PartitionExtraction, *, seed: int, test_ratio: float) -> PartitionSplit:
    """Assigns each kept song of a partition to a split and lists its examples per split.

    Songs whose :attr:`EncodedFile.split` is set keep that split; the others are hash-split.
    """
    kept = extraction.kept
    assignment = _splits.assign_splits([result.song_id for result in kept if result.encoded.split is None], seed=seed, test_ratio=test_ratio)
    fixed = {result.song_id: result.encoded.split for result in kept if result.encoded.split is not None}
    if fixed:
        assignment = _splits.SplitAssignment({**assignment.split_of, **fixed}, assignment.fallback_test_song)
    examples: dict[str, list[SongExample]] = {split: [] for split in _splits.SPLITS}
    for result in kept:
        examples[assignment.split_of[result.song_id]].extend(
            SongExample(result.song_id, index, payload)
            for index, payload in zip(result.encoded.indices, result.encoded.examples)
        )
    return PartitionSplit(assignment, examples)


# --------------------------------------------------------------------------- manifest


def encoder_split_fields(encoder: Encoder, splits: Mapping[str, PartitionSplit]) -> dict:
    """The manifest fields an encoder computes from the finished splits, or ``{}``.

    Optional encoder method ``split_fields({partition: {split: [SongExample, ...]}}) -> dict``:
    for what needs every partition's split at once, such as a vocabulary built from the
    training split only (:class:`mst.records.note_token_encoder.NoteTokenEncoder`). Encoders
    without it (the pianoroll phrases) add nothing.
    """
    method = getattr(encoder, "split_fields", None)
    if method is None:
        return {}
    return dict(method({name: split.examples for name, split in splits.items()}))


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
        totals.update(result.encoded.stats)
    return dict(sorted(totals.items()))


def skipped_entries(extraction: PartitionExtraction) -> list[dict]:
    """The manifest's ``skipped`` entries of one partition (names and details printable, see :func:`printable`)."""
    return [
        {"partition": extraction.name, "song_id": printable(result.song_id), "reason": result.encoded.reason,
         "detail": printable(result.encoded.detail)}
        for result in extraction.skipped
    ]


def build_manifest(
    extractions: Mapping[str, PartitionExtraction],
    splits: Mapping[str, PartitionSplit],
    shards: Iterable[ShardInfo],
    *,
    encoder: Encoder,
    partition_by: str,
    seed: int,
    test_ratio: float,
    split_fields: dict | None = None,
) -> dict:
    """Assembles the format-version-2 manifest dict described in :mod:`mst.records.manifest`.

    ``split_fields`` are extra top-level fields computed from the split examples (an encoder's
    optional ``split_fields`` method, e.g. a vocabulary of the training split).
    """
    partitions, songs, skipped = {}, {}, []
    fixed_songs = sum(1 for extraction in extractions.values() for result in extraction.kept if result.encoded.split is not None)
    for name, extraction in extractions.items():
        split = splits[name]
        reasons = Counter(result.encoded.reason for result in extraction.skipped)
        partitions[name] = {
            "source_dir": printable(str(extraction.source_dir)),
            "files_found": len(extraction.results),
            "files_kept": len(extraction.kept),
            "files_skipped": len(extraction.skipped),
            "skipped_by_reason": dict(sorted(reasons.items())),
            "songs": {split_name: len(split.assignment.songs_in(split_name)) for split_name in _splits.SPLITS},
            "phrases": {split_name: len(split.examples[split_name]) for split_name in _splits.SPLITS},
            "test_fallback_song": split.assignment.fallback_test_song,
            "kept_file_stats": _summed_stats(extraction.kept),
        }
        songs[name] = [
            {"song_id": result.song_id, "split": split.assignment.split_of[result.song_id],
             "phrases": len(result.encoded.indices)}
            for result in extraction.kept
        ]
        skipped.extend(skipped_entries(extraction))
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "partition_by": partition_by,
        "encoder": encoder.name,
        **encoder.manifest_fields(partition_by),
        **(split_fields or {}),
        "library_versions": library_versions(),
        "split": {
            "seed": int(seed),
            "test_ratio": float(test_ratio),
            "method": "song-level: sha256(f'{seed}:{song_id}') -> uniform [0,1) < test_ratio; "
            f"if a {partition_by} with >= 2 songs gets no test song, the song with the smallest value goes to test",
            **({"fixed_by_source": fixed_songs, "fixed_note": "songs whose split the source fixes (an official split) keep it; "
                "the hash rule only splits the others"} if fixed_songs else {}),
        },
        "partitions": partitions,
        "songs": songs,
        "skipped": skipped,
        "shards": [dataclasses.asdict(shard) for shard in shards],
    }


# --------------------------------------------------------------------------- output folder


def _shown_entries(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(printable(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def recover_output_folder(out_dir: str | os.PathLike) -> atomic.Recovery:
    """Repairs what a killed run left beside ``out_dir`` (:func:`mst.atomic.recover_folder`).

    A retired copy loses only the files its manifest lists (:func:`mst.records.manifest.dataset_files`).
    """
    return atomic.recover_folder(Path(out_dir), owned=dataset_files)


def check_output_folder(out_dir: str | os.PathLike, overwrite: bool) -> None:
    """Refuses an ``out_dir`` that is not a folder mst may write or replace; changes nothing.

    ``out_dir`` may be missing or empty. Otherwise every entry must be a regular file that its
    ``manifest.json`` lists (the manifest and the shards, :func:`mst.records.manifest.dataset_files`)
    and ``overwrite`` must be set: a folder without a readable manifest, or with anything the
    manifest does not list (a user's file, a sub-folder, a link), is never replaced, since the swap
    would delete it.

    Raises:
        PrepareError: Naming the first few entries that are not the dataset's, or a path that is
            not valid UTF-8 (TensorFlow's file functions encode paths as UTF-8).
    """
    out_dir = Path(out_dir)
    if printable(str(out_dir)) != str(out_dir):
        raise PrepareError(f"output path {printable(str(out_dir))} is not valid UTF-8, and TensorFlow can only write "
                           "to UTF-8 paths; choose another name")
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if not out_dir.is_dir():
        raise PrepareError(f"output path {out_dir} exists and is not a folder; nothing was changed")
    entries = sorted(os.listdir(out_dir))
    if not entries:
        return
    listed = dataset_files(out_dir)
    if listed is None:
        raise PrepareError(
            f"output folder {out_dir} is not empty ({_shown_entries(entries)}) and has no readable {MANIFEST_NAME}, so "
            "nothing shows that mst prepared it; nothing was changed: choose another --out, or move those files out"
        )
    listed_names = set(listed)
    foreign = [name for name in entries if name not in listed_names or not stat.S_ISREG(os.lstat(out_dir / name).st_mode)]
    if foreign:
        raise PrepareError(
            f"output folder {out_dir} holds entries that are not part of its prepared dataset ({_shown_entries(foreign)}: "
            f"not files its {MANIFEST_NAME} lists); nothing was changed: choose another --out, or move them out"
        )
    if not overwrite:
        raise PrepareError(f"output folder {out_dir} already holds a complete dataset; pass --overwrite to replace it")


def rejected_report_path(out_dir: str | os.PathLike) -> Path:
    """``<out_dir>.rejected.json``, beside the output folder (never inside it)."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + REJECTED_REPORT_SUFFIX)


def _write_rejected_report(out_dir: Path, extractions: Mapping[str, PartitionExtraction], partition_by: str) -> Path:
    """Writes every skipped file of the run, with its reason, to :func:`rejected_report_path`."""
    path = rejected_report_path(out_dir)
    atomic.write_json(path, {
        "format": REJECTED_REPORT_FORMAT,
        "out_dir": printable(str(out_dir)),
        "partition_by": partition_by,
        "partitions": {
            name: {"source_dir": printable(str(extraction.source_dir)), "files_found": len(extraction.results),
                   "files_kept": len(extraction.kept),
                   "skipped_by_reason": dict(sorted(Counter(r.encoded.reason for r in extraction.skipped).items()))}
            for name, extraction in extractions.items()
        },
        "skipped": [entry for extraction in extractions.values() for entry in skipped_entries(extraction)],
    })
    return path


def _remove_stale_rejected_report(out_dir: Path) -> None:
    """Deletes an earlier run's ``<out_dir>.rejected.json`` once the dataset exists (only a report mst wrote)."""
    path = rejected_report_path(out_dir)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(report, dict) and report.get("format") == REJECTED_REPORT_FORMAT and stat.S_ISREG(os.lstat(path).st_mode):
        path.unlink(missing_ok=True)


def _reason_counts(results: Iterable[FileResult]) -> str:
    counts = Counter(result.encoded.reason for result in results)
    return ", ".join(f"{reason}: {number}" for reason, number in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def prepare_dataset(
    partition_dirs: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    encoder: Encoder,
    *,
    partition_by: str = DEFAULT_PARTITION_BY,
    seed: int = _splits.DEFAULT_SEED,
    test_ratio: float = _splits.DEFAULT_TEST_RATIO,
    workers: int = 1,
    shard_size: int = DEFAULT_SHARD_SIZE,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Prepares a dataset folder from MIDI folders; the library form of ``python -m mst.prepare``.

    Args:
        partition_dirs: ``{partition name: folder}`` (names: lower-case letters, digits, ``_``).
        out_dir: Dataset folder to create.
        encoder: What the songs become, e.g.
            ``mst.records.pianoroll_phrase_encoder.PianorollPhraseEncoder()``.
        partition_by: What the partitions are (``"genre"``, ``"corpus"``, ...; recorded in the
            manifest, and the pianoroll records name their partition feature after it).
        seed: Split seed.
        test_ratio: Fraction of songs held out for the test split.
        workers: Extraction processes.
        shard_size: Maximum records per shard.
        overwrite: Replace an existing dataset in ``out_dir`` (``--overwrite``); only a folder
            holding nothing but the files its manifest lists is ever replaced.
        progress: Show a progress bar.

    Returns:
        The manifest dict (also written to ``out_dir/manifest.json``).

    Raises:
        PrepareError: Bad arguments, missing/empty folders, two partitions reading the same
            folder, an existing dataset without ``overwrite``, an ``out_dir`` holding anything
            else, or a partition that gave no example at all (the reasons of every skipped file
            are then in ``<out_dir>.rejected.json``).
    """
    check_partition_by(partition_by)
    out_dir = Path(out_dir).expanduser().resolve()
    if workers < 1:
        raise PrepareError(f"workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise PrepareError(f"shard size must be >= 1, got {shard_size}")
    if not 0.0 <= test_ratio < 1.0:
        raise PrepareError(f"test ratio must be in [0, 1), got {test_ratio}")
    try:
        encoder.manifest_fields(partition_by)  # fails early for a label the records cannot carry
    except ValueError as error:
        raise PrepareError(str(error)) from error
    recover_output_folder(out_dir)
    check_output_folder(out_dir, overwrite)
    extractions = collect_partitions(partition_dirs, encoder, partition_by=partition_by, workers=workers, progress=progress)
    empty = [extraction for extraction in extractions.values() if not extraction.kept]
    if empty:
        report = _write_rejected_report(out_dir, extractions, partition_by)
        first = empty[0]
        others = f" (also: {', '.join(repr(extraction.name) for extraction in empty[1:])})" if empty[1:] else ""
        raise PrepareError(
            f"{partition_by} {first.name!r}{others}: none of the {len(first.results)} MIDI files in "
            f"{printable(str(first.source_dir))} gave a phrase (skipped: {_reason_counts(first.skipped)}); "
            f"no dataset was written, every skipped file and its reason is in {printable(str(report))}"
        )
    splits = {name: split_partition(extraction, seed=seed, test_ratio=test_ratio) for name, extraction in extractions.items()}
    return write_prepared(out_dir, encoder, extractions, splits, partition_by=partition_by, seed=seed, test_ratio=test_ratio,
                          shard_size=shard_size, overwrite=overwrite)


def write_prepared(
    out_dir,
    encoder: Encoder,
    extractions: Mapping[str, PartitionExtraction],
    splits: Mapping[str, PartitionSplit],
    *,
    partition_by: str,
    seed: int,
    test_ratio: float,
    shard_size: int,
    overwrite: bool,
) -> dict:
    """Writes split examples as shards + manifest into a staging folder, then swaps it into ``out_dir``.

    The second half of :func:`prepare_dataset`, also used by importers of examples that were
    encoded elsewhere (:mod:`mst.records.tfds_import`). What a killed run left beside ``out_dir``
    is repaired first, and ``out_dir`` is checked again (:func:`check_output_folder`): a file
    put there during the extraction is not lost. The manifest is the last file of the staging
    folder, and the swap deletes from the previous dataset only the files its manifest lists.

    Returns:
        The manifest dict.

    Raises:
        PrepareError: See :func:`check_output_folder`.
        RuntimeError: An encoder wrote a file beside its shards (the manifest could not list it).
    """
    out_dir = Path(out_dir).expanduser().resolve()
    recover_output_folder(out_dir)
    check_output_folder(out_dir, overwrite)
    staging = atomic.fresh_staging_folder(out_dir, owned=dataset_files)
    try:
        shards = []
        for name, split in splits.items():
            for split_name in _splits.SPLITS:
                shards.extend(encoder.write_shards(staging, name, split_name, split.examples[split_name],
                                                   partition_by=partition_by, shard_size=shard_size))
        manifest = build_manifest(extractions, splits, shards, encoder=encoder, partition_by=partition_by, seed=seed,
                                  test_ratio=test_ratio, split_fields=encoder_split_fields(encoder, splits))
        unlisted = sorted(set(os.listdir(staging)) - {shard.file for shard in shards})
        if unlisted:  # an encoder wrote a side file: the manifest must list it, or --overwrite could not replace it
            raise RuntimeError(f"encoder {encoder.name} wrote files its shards do not list ({_shown_entries(unlisted)}); "
                               "an encoder writes its records through mst.records.shards.write_shards only")
        write_manifest(staging, manifest)
        atomic.replace_folder(staging, out_dir, owned=dataset_files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale_rejected_report(out_dir)
    return manifest


# --------------------------------------------------------------------------- report


def format_summary(manifest: dict) -> str:
    """A plain-text table: per partition, files found/kept/skipped by reason, songs and phrases per split.

    Below the table, the first :data:`SUMMARY_SKIPPED_LINES` skipped files, one line each
    (partition, song id, reason: detail), then how many more the manifest lists.

    Takes a manifest of either format version as :func:`mst.records.manifest.load_manifest` returns it.
    """
    infos = manifest["partitions"]
    names = list(infos)
    reasons = sorted({reason for info in infos.values() for reason in info["skipped_by_reason"]})
    rows: list[tuple[str, list[str]]] = [
        ("files found", [str(infos[n]["files_found"]) for n in names]),
        ("files kept", [str(infos[n]["files_kept"]) for n in names]),
        ("files skipped", [str(infos[n]["files_skipped"]) for n in names]),
    ]
    rows += [
        (f"  skipped: {reason}", [str(infos[n]["skipped_by_reason"].get(reason, 0)) for n in names])
        for reason in reasons
    ]
    rows += [
        ("songs train / test", [f"{infos[n]['songs']['train']} / {infos[n]['songs']['test']}" for n in names]),
        ("phrases train / test", [f"{infos[n]['phrases']['train']} / {infos[n]['phrases']['test']}" for n in names]),
    ]
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(n), *(len(values[i]) for _, values in rows)) for i, n in enumerate(names)]
    lines = ["  ".join([" " * label_width, *(n.rjust(w) for n, w in zip(names, widths))])]
    lines += ["  ".join([label.ljust(label_width), *(v.rjust(w) for v, w in zip(values, widths))]) for label, values in rows]
    label = manifest["partition_by"]
    lines += [
        f"{name}: no song fell into the test split by hash; moved {info['test_fallback_song']} there (tiny-{label} fallback)"
        for name, info in infos.items()
        if info["test_fallback_song"]
    ]
    skipped = manifest.get("skipped", [])
    if skipped:
        lines.append(f"skipped files ({label}, song, reason: detail):")
        for entry in skipped[:SUMMARY_SKIPPED_LINES]:
            detail = " ".join(str(entry.get("detail", "")).split())
            detail = detail if len(detail) <= 120 else detail[:117] + "..."
            lines.append(f"  {entry['partition']}  {printable(str(entry['song_id']))}  {entry['reason']}" + (f": {detail}" if detail else ""))
        if len(skipped) > SUMMARY_SKIPPED_LINES:
            lines.append(f"  ... and {len(skipped) - SUMMARY_SKIPPED_LINES} more (all in {MANIFEST_NAME} under 'skipped')")
    return "\n".join(lines)
