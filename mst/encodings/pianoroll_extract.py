"""One MIDI file -> training phrases, never raising (what ``python -m mst.prepare`` runs in its workers).

Pipeline (the steps of the authors' ``Testfile.py``): read (:mod:`mst.music.midi`) -> file filter
(:mod:`mst.music.file_filter`) -> merged binary roll without drums, MIDI 24..107
(:mod:`mst.encodings.pianoroll`) -> non-overlapping 64-step phrases, incomplete tail dropped ->
phrase count trimmed to a multiple of ``phrase_multiple`` (4, the authors' quirk) -> all-zero
phrases dropped. :class:`mst.records.pianoroll_phrase_encoder.PianorollPhraseEncoder` turns the
result into dataset records.

Importing this module does not import TensorFlow (nor pretty_midi or note-seq).

Also a command-line survey: ``python -m mst.encodings.pianoroll_extract FOLDER_OR_FILE... [--policy all]``
prints, per policy, the files kept, the rejections by reason, the phrases and the time per file.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import time
from typing import Sequence

import numpy as np

from mst.cli.errors import command
from mst.encodings.errors import EncodingError
from mst.encodings.grid import DEFAULT_MAX_STEPS
from mst.encodings.pianoroll import NUM_PITCHES, PHRASE_STEPS, cut_phrases, drop_empty_phrases, song_to_roll_with_stats
from mst.music.file_filter import POLICIES, Rejection, check_policy, check_song
from mst.music.files import find_midi_files
from mst.music.midi import BACKENDS, MidiError, read_midi


@dataclasses.dataclass(frozen=True)
class PhraseOptions:
    """How files become phrases (recorded in the dataset manifest via :meth:`to_dict`).

    Attributes:
        time_signature_policy: ``"strict"`` (the authors), ``"in_effect"`` or ``"beat_grid"``;
            see :mod:`mst.music.file_filter`.
        phrase_multiple: Trim each song's phrase count down to a multiple of this, before
            dropping empty phrases (the authors' ``Testfile.py``: 4); 1 disables the trim.
        drop_empty: Drop all-zero phrases (the authors did).
        drop_drums: Leave drum notes out of the roll (the authors did).
        backend: MIDI parser, ``"symusic"`` (fast) or ``"pretty_midi"``.
        max_steps: Files whose roll would exceed this many grid steps are ``too_long``.
    """

    time_signature_policy: str = "strict"
    phrase_multiple: int = 4
    drop_empty: bool = True
    drop_drums: bool = True
    backend: str = "symusic"
    max_steps: int = DEFAULT_MAX_STEPS

    def __post_init__(self):
        check_policy(self.time_signature_policy)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown MIDI backend {self.backend!r}; expected one of {BACKENDS}")
        for name in ("phrase_multiple", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"PhraseOptions.{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # numpy integers would not survive json.dumps

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict (field name -> value)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "PhraseOptions":
        """Inverse of :meth:`to_dict`; unknown keys are an error (a manifest from another version)."""
        unknown = set(values) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown PhraseOptions fields {sorted(unknown)}")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class SongStats:
    """Counts for one file (zeros for the stages a rejected file did not reach).

    Attributes:
        notes: Notes read from the file.
        drum_notes_dropped: Drum notes left out of the roll.
        zero_length_notes_dropped: Notes with ``end == start`` (no grid step to cover).
        out_of_range_notes_dropped: Notes outside MIDI 24..107.
        steps: Roll length in grid steps.
        complete_phrases: Complete 64-step phrases in the roll.
        phrases_trimmed: Phrases removed by the ``phrase_multiple`` trim.
        empty_phrases_dropped: All-zero phrases removed after the trim.
    """

    notes: int = 0
    drum_notes_dropped: int = 0
    zero_length_notes_dropped: int = 0
    out_of_range_notes_dropped: int = 0
    steps: int = 0
    complete_phrases: int = 0
    phrases_trimmed: int = 0
    empty_phrases_dropped: int = 0

    def to_dict(self) -> dict:
        """The counts as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class SongPhrases:
    """What one file gave.

    Attributes:
        path: The file, as given.
        phrases: ``bool [n, 64, 84]`` (``n`` = 0 when rejected).
        phrase_indices: ``int64 [n]``: index of each phrase within the song's phrases as cut from
            step 0, before empty phrases were dropped (phrase ``i`` covers steps
            ``64 i .. 64 i + 63``).
        rejection: ``None`` when kept, else why not.
        stats: Note and phrase counts.
    """

    path: str
    phrases: np.ndarray
    phrase_indices: np.ndarray
    rejection: Rejection | None
    stats: SongStats

    @property
    def kept(self) -> bool:
        """True when the file gave phrases."""
        return self.rejection is None


def _rejected(path: str, reason: str, detail: str, stats: SongStats) -> SongPhrases:
    return SongPhrases(
        path=path,
        phrases=np.zeros((0, PHRASE_STEPS, NUM_PITCHES), bool),
        phrase_indices=np.zeros(0, np.int64),
        rejection=Rejection(reason, detail),
        stats=stats,
    )


def extract_song(path: str | os.PathLike, options: PhraseOptions | None = None) -> SongPhrases:
    """Reads, filters and cuts one MIDI file into phrases. Never raises for bad input.

    Args:
        path: MIDI file.
        options: :class:`PhraseOptions` (default: the authors' settings).

    Returns:
        A :class:`SongPhrases`. Unreadable or unusable files get a rejection with a reason code
        (:data:`mst.music.file_filter.REASONS`); an unexpected exception becomes ``unreadable`` with the
        exception text, so a batch job never crashes on one file. Files that pass the filter but
        give no phrase are ``no_complete_phrase`` (shorter than 64 steps, or fewer complete phrases
        than ``phrase_multiple``) or ``all_phrases_empty`` (every phrase silent in MIDI 24..107).
    """
    options = PhraseOptions() if options is None else options
    path_str = str(path)
    stats = SongStats()
    try:
        song = read_midi(path_str, backend=options.backend)
        stats = dataclasses.replace(stats, notes=int(song.notes.shape[0]))
        rejection = check_song(song, options.time_signature_policy, drop_drums=options.drop_drums,
                               max_steps=options.max_steps)
        if rejection is not None:
            return _rejected(path_str, rejection.reason, rejection.detail, stats)

        roll, roll_stats = song_to_roll_with_stats(song, drop_drums=options.drop_drums, max_steps=options.max_steps)
        complete = roll.shape[0] // PHRASE_STEPS
        phrases = cut_phrases(roll, multiple_of=options.phrase_multiple)
        stats = dataclasses.replace(
            stats,
            drum_notes_dropped=roll_stats.drum_notes_dropped,
            zero_length_notes_dropped=roll_stats.zero_length_notes_dropped,
            out_of_range_notes_dropped=roll_stats.out_of_range_notes_dropped,
            steps=roll_stats.steps,
            complete_phrases=complete,
            phrases_trimmed=complete - phrases.shape[0],
        )
        if phrases.shape[0] == 0:
            return _rejected(path_str, "no_complete_phrase",
                             f"{roll.shape[0]} steps: {complete} complete {PHRASE_STEPS}-step phrases, "
                             f"{phrases.shape[0]} after trimming to a multiple of {options.phrase_multiple}", stats)
        indices = np.arange(phrases.shape[0], dtype=np.int64)
        if options.drop_empty:
            cut = phrases.shape[0]
            phrases, indices = drop_empty_phrases(phrases)
            stats = dataclasses.replace(stats, empty_phrases_dropped=cut - phrases.shape[0])
            if phrases.shape[0] == 0:
                return _rejected(path_str, "all_phrases_empty", f"all {cut} phrases are silent in MIDI 24..107", stats)
        return SongPhrases(path_str, phrases.astype(bool, copy=False), indices.astype(np.int64), None, stats)
    except (MidiError, EncodingError) as error:
        return _rejected(path_str, error.reason, error.detail, stats)
    except Exception as error:  # noqa: BLE001  (one broken file must not stop a batch job)
        return _rejected(path_str, "unreadable", f"{type(error).__name__}: {error}", stats)


# ----------------------------------------------------------------------------------------------
# Survey (command line)


@dataclasses.dataclass
class Survey:
    """Outcome of :func:`survey` for one set of options.

    Attributes:
        options: The options used.
        files: Files read.
        kept: Files that gave phrases.
        phrases: Phrases from the kept files.
        reasons: Rejection reason -> number of files.
        seconds: Wall time of all :func:`extract_song` calls.
    """

    options: PhraseOptions
    files: int = 0
    kept: int = 0
    phrases: int = 0
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    seconds: float = 0.0

    def format(self) -> str:
        """One line per policy plus indented reasons, e.g. for the command line."""
        per_file_ms = 1000.0 * self.seconds / max(self.files, 1)
        lines = [f"{self.options.time_signature_policy:>9} ({self.options.backend}): kept {self.kept}/{self.files} "
                 f"files, {self.phrases} phrases, {per_file_ms:.2f} ms/file"]
        by_count = sorted(self.reasons.items(), key=lambda item: -item[1])
        lines += [f"           {reason}: {count}" for reason, count in by_count]
        return "\n".join(lines)


def survey(files: Sequence[str | os.PathLike], options: PhraseOptions) -> Survey:
    """Runs :func:`extract_song` on every file and counts the outcome."""
    result = Survey(options=options)
    for path in files:
        started = time.perf_counter()
        song = extract_song(path, options)
        result.seconds += time.perf_counter() - started
        result.files += 1
        if song.kept:
            result.kept += 1
            result.phrases += int(song.phrases.shape[0])
        else:
            result.reasons[song.rejection.reason] += 1
    return result


@command("mst.encodings.pianoroll_extract")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mst.encodings.pianoroll_extract``: survey folders of MIDI files under each time-signature policy."""
    parser = argparse.ArgumentParser(prog="python -m mst.encodings.pianoroll_extract", description=main.__doc__)
    parser.add_argument("paths", nargs="+", help="MIDI files or folders (searched recursively)")
    parser.add_argument("--policy", choices=(*POLICIES, "all"), default="all")
    parser.add_argument("--backend", choices=BACKENDS, default="symusic")
    parser.add_argument("--phrase-multiple", type=int, default=PhraseOptions.phrase_multiple)
    args = parser.parse_args(argv)
    try:
        files = [path for entry in args.paths for path in find_midi_files(entry)]
    except FileNotFoundError as error:
        parser.error(str(error))
    policies = POLICIES if args.policy == "all" else (args.policy,)
    print(f"{len(files)} MIDI files")
    for policy in policies:
        options = PhraseOptions(time_signature_policy=policy, backend=args.backend,
                                phrase_multiple=args.phrase_multiple)
        print(survey(files, options).format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
