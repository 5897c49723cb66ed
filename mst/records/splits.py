"""Song-level train/test split that is deterministic and stable when files are added.

Each song is decided on its own: ``split_score(seed, song_id)`` maps the pair to a number that is
uniform in ``[0, 1)`` (the first 8 bytes of ``sha256(f"{seed}:{song_id}")``), and the song goes to
the test split when that number is below ``test_ratio``. Adding or removing other songs therefore
never moves a song from one split to the other, and phrases of one song never appear in both splits
(the paper's protocol: 10 % of each genre's files are held out before cutting phrases).

Tiny-partition fallback: with few songs the hash rule can leave a partition (a genre, a corpus)
without any test song. When that happens, the partition has at least two songs and
``test_ratio > 0``, the song with the smallest score (the one closest to being drawn anyway) is
moved to the test split. This is the only case in which the decision for one song depends on the
others: once a partition has a song that the hash rule itself puts into test, the fallback song
goes back to train. :func:`assign_splits` reports which song, if any, was moved, and the manifest
records it.

No TensorFlow here: this module is imported by the multiprocessing workers and the TFDS builder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable

TRAIN = "train"
TEST = "test"
SPLITS = (TRAIN, TEST)
DEFAULT_TEST_RATIO = 0.1
DEFAULT_SEED = 0


def split_score(seed: int, song_id: str) -> float:
    """Returns the song's position in ``[0, 1)``, a pure function of ``(seed, song_id)``.

    Args:
        seed: Split seed; a different seed gives an independent split.
        song_id: Song identifier (path relative to the partition's folder, with ``/`` separators).

    Returns:
        A float in ``[0, 1)`` with 53 bits of resolution.

    Raises:
        ValueError: If ``song_id`` is not valid text, such as a file name that was not UTF-8
            (:func:`os.fsdecode` gives it lone surrogates); the message shows it escaped.
    """
    try:
        key = f"{int(seed)}:{song_id}".encode("utf-8")
    except UnicodeEncodeError:
        try:  # the file name's bytes, as mst.records.prepare_driver.printable shows them
            shown = os.fsencode(song_id).decode("utf-8", "backslashreplace")
        except UnicodeError:
            shown = song_id.encode("utf-8", "backslashreplace").decode("utf-8")
        raise ValueError(f"song id '{shown}' is not valid UTF-8 text (a file name in another encoding?); rename the file") from None
    digest = hashlib.sha256(key).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


@dataclasses.dataclass(frozen=True)
class SplitAssignment:
    """The split of every song of one partition (a genre, a corpus, ...).

    Attributes:
        split_of: ``song_id -> "train" | "test"``.
        fallback_test_song: The song moved to test by the tiny-partition fallback, or ``None``.
    """

    split_of: dict[str, str]
    fallback_test_song: str | None

    def songs_in(self, split: str) -> list[str]:
        """Sorted song ids of one split."""
        return sorted(song for song, chosen in self.split_of.items() if chosen == split)


def assign_splits(
    song_ids: Iterable[str], *, seed: int = DEFAULT_SEED, test_ratio: float = DEFAULT_TEST_RATIO
) -> SplitAssignment:
    """Assigns each song of one partition to the train or the test split.

    Args:
        song_ids: The partition's song ids (duplicates are an error).
        seed: Split seed.
        test_ratio: Expected fraction of songs in the test split, in ``[0, 1]``.

    Returns:
        A :class:`SplitAssignment`.

    Raises:
        ValueError: If ``test_ratio`` is outside ``[0, 1]``, a song id is repeated or is not
            valid UTF-8 text (:func:`split_score`).
    """
    if not 0.0 <= test_ratio <= 1.0:
        raise ValueError(f"test_ratio must be in [0, 1], got {test_ratio}")
    songs = list(song_ids)
    if len(set(songs)) != len(songs):
        repeated = sorted({song for song in songs if songs.count(song) > 1})
        raise ValueError(f"song ids must be unique; repeated: {repeated[:5]}")
    scores = {song: split_score(seed, song) for song in songs}
    split_of = {song: (TEST if score < test_ratio else TRAIN) for song, score in scores.items()}
    fallback = None
    if test_ratio > 0 and len(songs) >= 2 and TEST not in split_of.values():
        fallback = min(songs, key=lambda song: (scores[song], song))
        split_of[fallback] = TEST
    return SplitAssignment(split_of=split_of, fallback_test_song=fallback)


def epoch_seed(seed: int, epoch: int) -> int:
    """Data-order seed of one epoch: a stable 48-bit hash of ``(seed, epoch)``.

    Kept well below 2**62 so that readers may add small offsets per stream (A, B, M).
    """
    digest = hashlib.sha256(f"mst-epoch:{int(seed)}:{int(epoch)}".encode()).digest()
    return int.from_bytes(digest[:6], "big")
