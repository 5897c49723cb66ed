"""Tests for mst.records.splits: song-level, deterministic, stable train/test assignment."""

from __future__ import annotations

import hashlib
import os

import pytest

from mst.records import splits


def song_names(count: int, prefix: str = "song") -> list[str]:
    return [f"{prefix}/{index:04d}.mid" for index in range(count)]


def test_score_is_a_pinned_pure_function_in_unit_interval():
    digest = hashlib.sha256(b"0:a/b.mid").digest()
    assert splits.split_score(0, "a/b.mid") == (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    scores = [splits.split_score(3, name) for name in song_names(500)]
    assert all(0.0 <= score < 1.0 for score in scores)
    assert splits.split_score(3, "x.mid") != splits.split_score(4, "x.mid")


def test_assignment_is_deterministic_and_near_the_ratio():
    songs = song_names(3000)
    first = splits.assign_splits(songs, seed=0, test_ratio=0.1)
    assert first == splits.assign_splits(list(reversed(songs)), seed=0, test_ratio=0.1)
    test_fraction = len(first.songs_in("test")) / len(songs)
    assert 0.085 < test_fraction < 0.115
    assert sorted(first.songs_in("train") + first.songs_in("test")) == sorted(songs)
    assert first.fallback_test_song is None
    other_seed = splits.assign_splits(songs, seed=1, test_ratio=0.1)
    assert other_seed.songs_in("test") != first.songs_in("test")


def test_adding_files_never_moves_existing_songs():
    before = splits.assign_splits(song_names(300), seed=5)
    after = splits.assign_splits(song_names(300) + song_names(200, prefix="new"), seed=5)
    assert before.fallback_test_song is None and after.fallback_test_song is None
    assert all(after.split_of[song] == split for song, split in before.split_of.items())


def find_songs_without_natural_test_song(count: int, seed: int) -> list[str]:
    for start in range(0, 10_000, count):
        songs = [f"tiny{index}.mid" for index in range(start, start + count)]
        if all(splits.split_score(seed, song) >= 0.1 for song in songs):
            return songs
    raise AssertionError("no such group found")


def test_tiny_genre_fallback_moves_the_smallest_score_song_to_test():
    songs = find_songs_without_natural_test_song(3, seed=0)
    assignment = splits.assign_splits(songs, seed=0, test_ratio=0.1)
    expected = min(songs, key=lambda song: splits.split_score(0, song))
    assert assignment.fallback_test_song == expected
    assert assignment.songs_in("test") == [expected]
    assert len(assignment.songs_in("train")) == 2


def test_no_fallback_for_a_single_song_or_a_zero_ratio():
    assert splits.assign_splits(["only.mid"], seed=0).songs_in("train") == ["only.mid"]
    zero = splits.assign_splits(song_names(50), seed=0, test_ratio=0.0)
    assert zero.songs_in("test") == [] and zero.fallback_test_song is None


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="test_ratio"):
        splits.assign_splits(["a.mid"], test_ratio=1.5)
    with pytest.raises(ValueError, match="repeated: \\['a.mid'\\]"):
        splits.assign_splits(["a.mid", "b.mid", "a.mid"])


def test_a_song_id_that_is_not_utf8_is_named_in_the_error():
    undecodable = os.fsdecode(b"pop/bad\xff.mid")  # what a non-UTF-8 file name becomes on POSIX
    with pytest.raises(ValueError, match=r"song id 'pop/bad\\xff.mid' is not valid UTF-8 text"):
        splits.assign_splits(["ok.mid", undecodable])
