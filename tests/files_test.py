"""Tests for mst.music.files: finding MIDI files (suffixes, recursion, symlinks, exclusion, order), song ids."""

from __future__ import annotations

import os

import pytest

from mst.music.files import MIDI_SUFFIXES, find_midi_files, is_midi_file_name, song_id_of


def touch(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def test_recursive_case_insensitive_and_only_midi_names(tmp_path):
    touch(tmp_path, "b.MID", "a.mid", "sub/c.midi", "sub/deeper/d.Midi", "notes.txt", "sub/e.mid.bak")
    (tmp_path / "folder.mid").mkdir()  # a folder with a MIDI name is not a file
    found = [song_id_of(path, tmp_path) for path in find_midi_files(tmp_path)]
    assert found == ["a.mid", "b.MID", "sub/c.midi", "sub/deeper/d.Midi"]
    assert MIDI_SUFFIXES == (".mid", ".midi") and is_midi_file_name("X.MiDi") and not is_midi_file_name("x.kar")


def test_path_order_and_song_id_order_differ_only_for_names_sorting_before_the_slash(tmp_path):
    touch(tmp_path, "a/y.mid", "a b/x.mid", "a-c.mid")
    by_path = [song_id_of(p, tmp_path) for p in find_midi_files(tmp_path)]
    by_song_id = [song_id_of(p, tmp_path) for p in find_midi_files(tmp_path, order="song_id")]
    assert by_path == ["a/y.mid", "a b/x.mid", "a-c.mid"]  # component by component: "a" < "a b" < "a-c.mid"
    assert by_song_id == ["a b/x.mid", "a-c.mid", "a/y.mid"] == sorted(by_song_id)  # ' ' < '-' < '/'
    with pytest.raises(ValueError, match="order"):
        find_midi_files(tmp_path, order="name")


def test_a_file_is_returned_as_is_and_a_missing_root_is_an_error(tmp_path):
    touch(tmp_path, "song.kar")
    assert find_midi_files(tmp_path / "song.kar") == [tmp_path / "song.kar"]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        find_midi_files(tmp_path / "missing")


def test_linked_files_count_linked_folders_are_not_entered(tmp_path):
    touch(tmp_path, "elsewhere/real.mid", "elsewhere/deep/other.mid")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "elsewhere" / "real.mid", root / "linked.mid")
    os.symlink(tmp_path / "elsewhere" / "deep", root / "linked_folder")
    assert find_midi_files(root) == [root / "linked.mid"]


def test_exclude_leaves_out_a_folder_also_through_links(tmp_path):
    touch(tmp_path, "in/a.mid", "in/out/a_a2b.mid", "in/sub/b.mid")
    os.symlink(tmp_path / "in" / "out", tmp_path / "out_link")
    for exclude in (tmp_path / "in" / "out", tmp_path / "out_link", tmp_path / "nowhere"):
        found = [song_id_of(p, tmp_path / "in") for p in find_midi_files(tmp_path / "in", exclude=exclude)]
        assert found == (["a.mid", "out/a_a2b.mid", "sub/b.mid"] if exclude.name == "nowhere" else ["a.mid", "sub/b.mid"])


def test_song_ids_are_posix_paths_below_the_folder(tmp_path):
    assert song_id_of(tmp_path / "x" / "y.mid", tmp_path) == "x/y.mid"
    with pytest.raises(ValueError):
        song_id_of("/elsewhere/y.mid", tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_entries_that_are_not_regular_files_are_returned_not_dropped(tmp_path):
    touch(tmp_path, "a.mid")
    os.mkfifo(tmp_path / "pipe.mid")  # listing must not open it: that would block
    os.symlink(os.devnull, tmp_path / "device.mid")
    os.symlink(tmp_path / "gone.mid", tmp_path / "dangling.mid")
    (tmp_path / "folder.mid").mkdir()
    found = [song_id_of(path, tmp_path) for path in find_midi_files(tmp_path)]
    assert found == ["a.mid", "dangling.mid", "device.mid", "pipe.mid"]  # read_midi says why each is unusable
    assert find_midi_files(tmp_path / "pipe.mid") == [tmp_path / "pipe.mid"]
    assert find_midi_files(tmp_path / "dangling.mid") == [tmp_path / "dangling.mid"]
