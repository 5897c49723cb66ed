"""Tests for mst.prepare (the CLI) and mst.records.prepare_driver with the pianoroll phrase encoder.

Discovery, skip-and-report, manifest, determinism, atomic output, partitions by any label, a second
encoder plugged into the driver.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mst import prepare
from mst.music.files import song_id_of
from mst.records import manifest as manifests
from mst.records import pianoroll_examples, prepare_driver
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder, make_phrase_options
from mst.records.prepare_driver import PrepareError
from mst.records.shards import is_shard_file_name, tensorflow, verify_shards

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "midi"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
GOOD_FILES = sorted(EXPECTED["good"])
BAD_FILES = sorted(EXPECTED["bad"])


def copy_files(names, source: Path, target: Path, rename=lambda name: name) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / name, target / rename(name))
    return target


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """A genre folder holding every good and every bad fixture."""
    folder = copy_files(GOOD_FILES, FIXTURES / "good", tmp_path / "mixed")
    return copy_files(BAD_FILES, FIXTURES / "bad", folder)


def shard_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if is_shard_file_name(path.name)}


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = prepare.main([*map(str, argv), "--quiet"], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- discovery


def prepare_dataset(partition_dirs, out_dir, options=None, **kwargs) -> dict:
    """:func:`mst.records.prepare_driver.prepare_dataset` with the pianoroll phrase encoder."""
    encoder = PianorollPhraseEncoder() if options is None else PianorollPhraseEncoder(options)
    return prepare_driver.prepare_dataset(partition_dirs, out_dir, encoder, **kwargs)


def test_list_midi_files_is_recursive_case_insensitive_and_sorted_by_song_id(tmp_path):
    for name in ["b.MID", "a.mid", "sub/c.midi", "sub/deeper/d.Midi", "notes.txt", "sub/e.mid.bak", "a b/f.mid"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [song_id_of(path, tmp_path) for path in prepare_driver.list_midi_files(tmp_path)]
    assert found == ["a b/f.mid", "a.mid", "b.MID", "sub/c.midi", "sub/deeper/d.Midi"]  # ' ' sorts before '.', '/'


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(PrepareError, match=f"{tmp_path / 'missing'} does not exist"):
        prepare_driver.list_midi_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no midi here")
    with pytest.raises(PrepareError, match=f"{tmp_path / 'empty'} holds no \\*.mid"):
        prepare_dataset({"pop": tmp_path / "empty"}, tmp_path / "out")
    with pytest.raises(PrepareError, match="invalid genre name 'Pop Music'"):
        prepare_dataset({"Pop Music": FIXTURES / "good"}, tmp_path / "out")
    with pytest.raises(PrepareError, match="invalid corpus name 'Bach'"):
        prepare_dataset({"Bach": FIXTURES / "good"}, tmp_path / "out", partition_by="corpus")
    with pytest.raises(PrepareError, match="invalid partition label 'Genre'"):
        prepare_dataset({"pop": FIXTURES / "good"}, tmp_path / "out", partition_by="Genre")
    with pytest.raises(PrepareError, match="'uid' is taken by a phrase record field"):
        prepare_dataset({"pop": FIXTURES / "good"}, tmp_path / "out", partition_by="uid")
    assert not (tmp_path / "out").exists()


def test_genre_without_any_usable_file_is_an_error_with_a_report_beside_out(tmp_path):
    bad_only = copy_files(BAD_FILES, FIXTURES / "bad", tmp_path / "bad")
    with pytest.raises(PrepareError, match="genre 'jazz': none of the 24 MIDI files.*gave a phrase") as raised:
        prepare_dataset({"jazz": bad_only, "pop": FIXTURES / "good"}, tmp_path / "out")
    report_path = tmp_path / "out.rejected.json"
    assert str(report_path) in str(raised.value) and "no dataset was written" in str(raised.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad", "out.rejected.json"]  # nothing else is created
    report = json.loads(report_path.read_text())
    expected = {name: EXPECTED["bad"][name]["strict"] for name in BAD_FILES}
    assert {entry["song_id"]: entry["reason"] for entry in report["skipped"]} == expected
    assert all(entry["partition"] == "jazz" and entry["detail"] for entry in report["skipped"])
    counts = report["partitions"]["jazz"]["skipped_by_reason"]
    assert sum(counts.values()) == 24 and report["partitions"]["pop"]["files_kept"] == len(GOOD_FILES)
    top_reason, top_count = max(counts.items(), key=lambda item: (item[1], item[0]))
    assert f"{top_reason}: {top_count}" in str(raised.value)
    prepare_dataset({"pop": FIXTURES / "good"}, tmp_path / "out")  # once the dataset exists, the stale report goes
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad", "out"]


def test_one_folder_for_two_genres_is_an_error(tmp_path):
    nested = copy_files(GOOD_FILES[:1], FIXTURES / "good", tmp_path / "all" / "sub")
    status, _, stderr = run_cli("--genre", f"pop={tmp_path / 'all'}", "--genre", f"jazz={tmp_path / 'all' / '.' }", "--out", tmp_path / "o")
    assert status == 2 and f"genre 'pop' and genre 'jazz' both read {tmp_path / 'all'}" in stderr
    status, _, stderr = run_cli("--genre", f"pop={nested}", "--genre", f"jazz={tmp_path / 'all'}", "--out", tmp_path / "o")
    assert status == 2 and f"genre 'pop' reads {nested}, which is inside the folder {tmp_path / 'all'} of genre 'jazz'" in stderr
    assert not (tmp_path / "o").exists()


def test_a_file_name_that_is_not_utf8_is_skipped_by_name(tmp_path):
    folder = copy_files(GOOD_FILES, FIXTURES / "good", tmp_path / "pop")
    with open(os.path.join(os.fsencode(folder), b"bad\xff.mid"), "wb") as handle:
        handle.write((FIXTURES / "good" / GOOD_FILES[0]).read_bytes())
    status, stdout, stderr = run_cli("--genre", f"pop={folder}", "--out", tmp_path / "out", "--workers", 1)
    assert status == 0, stderr
    manifest = manifests.load_manifest(tmp_path / "out")
    (entry,) = manifest["skipped"]
    assert entry == {"partition": "pop", "song_id": "bad\\xff.mid", "reason": prepare_driver.UNDECODABLE_NAME_REASON,
                     "detail": "the file name 'bad\\xff.mid' is not valid UTF-8 (bytes shown as \\x..); rename the file"}
    assert manifest["partitions"]["pop"]["files_kept"] == len(GOOD_FILES)
    assert "pop  bad\\xff.mid  undecodable_name" in stdout
    verify_shards(tmp_path / "out")


# --------------------------------------------------------------------------- skip and report


@pytest.mark.parametrize("policy", ["strict", "beat_grid"])
def test_bad_files_are_skipped_with_their_reasons_and_strict_fails(policy, mixed_folder, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = run_cli("--genre", f"mixed={mixed_folder}", "--genre", f"good={FIXTURES / 'good'}",
                                     "--out", out, "--time-signature-policy", policy, "--strict", "--workers", 1)
    assert status == 1 and "--strict" in stderr
    manifest = manifests.load_manifest(out)  # the dataset and its report are written before failing
    expected_skips = {name: EXPECTED["bad"][name][policy] for name in BAD_FILES if EXPECTED["bad"][name][policy]}
    assert {entry["song_id"]: entry["reason"] for entry in manifest["skipped"]} == expected_skips
    assert all(entry["partition"] == "mixed" and entry["detail"] for entry in manifest["skipped"])
    mixed = manifest["partitions"]["mixed"]
    assert mixed["files_found"] == len(GOOD_FILES) + len(BAD_FILES)
    assert mixed["files_skipped"] == len(expected_skips) and sum(mixed["skipped_by_reason"].values()) == len(expected_skips)
    for reason, number in mixed["skipped_by_reason"].items():
        assert f"skipped: {reason}" in stdout and str(number) in stdout
    assert manifest["phrase_options"]["time_signature_policy"] == policy
    status_without_strict, _, _ = run_cli("--genre", f"mixed={mixed_folder}", "--genre", f"good={FIXTURES / 'good'}",
                                          "--out", out, "--time-signature-policy", policy, "--overwrite")
    assert status_without_strict == 0


def test_python_dash_m_prepare_exit_codes(mixed_folder, tmp_path):
    command = [sys.executable, "-m", "mst.prepare", "--genre", f"mixed={mixed_folder}", "--genre",
               f"good={FIXTURES / 'good'}", "--out", str(tmp_path / "out"), "--workers", "1", "--quiet", "--strict"]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    strict = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300)
    assert strict.returncode == 1, strict.stderr
    assert "files found" in strict.stdout and "phrases train / test" in strict.stdout
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300)
    assert again.returncode == 2 and "already holds a complete dataset" in again.stderr


# --------------------------------------------------------------------------- manifest and shards


def test_manifest_matches_the_shards(tmp_path):
    manifest = prepare_dataset(prepare.embedded_genre_dirs(), tmp_path / "out", shard_size=50, seed=3)
    out = tmp_path / "out"
    assert manifest == manifests.load_manifest(out)
    assert manifest["format_version"] == 2 and manifest["partition_by"] == "genre"
    assert manifest["encoder"] == "pianoroll_phrases"
    assert manifest["record_format"] == pianoroll_examples.record_format_description("genre")
    assert set(manifest["library_versions"]) >= {"mst", "numpy", "symusic", "pretty_midi", "tensorflow"}
    assert manifest["split"]["seed"] == 3 and manifest["split"]["test_ratio"] == 0.1
    assert manifest["phrase_options"]["phrase_multiple"] == 4
    assert sorted(manifest["partitions"]) == ["classical", "jazz", "pop"]
    assert sorted(path.name for path in out.iterdir()) == sorted([manifests.MANIFEST_NAME, *(s["file"] for s in manifest["shards"])])
    verify_shards(out)
    tf = tensorflow()
    for genre, info in manifest["partitions"].items():
        songs = manifest["songs"][genre]
        assert info["files_kept"] == len(songs) and info["files_found"] == info["files_kept"] + info["files_skipped"]
        split_of = {song["song_id"]: song["split"] for song in songs}
        for split in ("train", "test"):
            assert info["songs"][split] == sum(1 for s in songs if s["split"] == split)
            assert info["phrases"][split] == sum(s["phrases"] for s in songs if s["split"] == split)
            shards = [s for s in manifest["shards"] if s["partition"] == genre and s["split"] == split]
            assert sum(s["records"] for s in shards) == info["phrases"][split]
            assert all(s["records"] <= 50 for s in shards)
            for shard in shards:
                for serialized in tf.data.TFRecordDataset(str(out / shard["file"])):
                    example = pianoroll_examples.decode_example(serialized.numpy())
                    assert (example["genre"], example["split"]) == (genre, split)
                    assert split_of[example["song_id"]] == split  # a song is never in both splits
                    assert example["roll"].any()
        assert info["songs"]["test"] >= 1


def test_phrases_in_shards_are_the_extracted_phrases(tmp_path):
    from mst.encodings.pianoroll_extract import PhraseOptions, extract_song

    prepare_dataset({"good": FIXTURES / "good"}, tmp_path / "out", test_ratio=0.0)
    stored = {
        (example["song_id"].decode(), int(example["phrase_index"])): example["roll"][..., 0].astype(bool)
        for example in pianoroll_examples.phrase_dataset(tmp_path / "out", "good", "train", with_metadata=True).as_numpy_iterator()
    }
    expected = {}
    for name in GOOD_FILES:
        song = extract_song(FIXTURES / "good" / name, PhraseOptions())
        assert list(song.phrase_indices) == EXPECTED["good"][name]["phrase_indices"]
        expected.update({(name, int(index)): phrase for index, phrase in zip(song.phrase_indices, song.phrases)})
    assert stored.keys() == expected.keys()
    for key, roll in expected.items():
        np.testing.assert_array_equal(stored[key], roll)


# --------------------------------------------------------------------------- determinism


def test_worker_count_does_not_change_a_single_byte(tmp_path):
    status, _, _ = run_cli("--embedded", "--out", tmp_path / "two", "--workers", 2, "--shard-size", 40)
    assert status == 0
    prepare_dataset(prepare.embedded_genre_dirs(), tmp_path / "one", workers=1, shard_size=40)
    two, one = shard_bytes(tmp_path / "two"), shard_bytes(tmp_path / "one")
    assert len(one) >= 6 and one == two
    assert (tmp_path / "one" / "manifest.json").read_bytes() == (tmp_path / "two" / "manifest.json").read_bytes()


def test_workers_never_import_tensorflow():
    probe = (
        "import sys; import mst.prepare; from mst.records import prepare_driver as d;"
        "from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder;"
        f"r = d.extract_file({str(FIXTURES / 'good' / 'c_major_scale.mid')!r}, 'c.mid', PianorollPhraseEncoder());"
        "assert r.kept and len(r.encoded.indices) == 4 and all(len(e) == 672 for e in r.encoded.examples);"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_dead_worker_process_is_an_error_not_a_hang(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    class ExecutorWhoseWorkerDies:
        """Stands in for ProcessPoolExecutor: two results, then the pool breaks."""

        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

        def map(self, function, tasks, chunksize):
            for task in list(tasks)[:2]:
                yield function(task)
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(prepare_driver, "ProcessPoolExecutor", ExecutorWhoseWorkerDies)
    files = [FIXTURES / "good" / name for name in GOOD_FILES]
    tasks = [(str(path), path.name) for path in files]
    with pytest.raises(PrepareError, match=f"worker process died while extracting {files[2]}"):
        prepare_driver.extract_files(tasks, PianorollPhraseEncoder(make_phrase_options()), workers=2)


SLOW_ENCODER = """
import dataclasses, time
from mst.records.prepare_driver import EncodedFile
from mst.records.shards import write_shards

@dataclasses.dataclass(frozen=True)
class SlowEncoder:
    name: str = "slow"
    options: tuple = ()

    def encode_file(self, path):
        time.sleep(0.05)
        return EncodedFile((b"x",), (0,))

    def manifest_fields(self, partition_by):
        return {}

    def write_shards(self, directory, partition, split, examples, *, partition_by, shard_size):
        return write_shards(directory, partition, split, examples, lambda example: example.payload, shard_size=shard_size)
"""

SLOW_PREPARE = """
import sys
from mst.records import prepare_driver
from slow_encoder import SlowEncoder
prepare_driver.prepare_dataset({"pop": sys.argv[1]}, sys.argv[2], SlowEncoder(), workers=2)
"""


def process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, state)}`` of every process, from ``/proc`` (Linux)."""
    table = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:
            continue  # exited meanwhile
        state, parent = text[text.rindex(")") + 2:].split()[:2]
        table[int(stat_file.parent.name)] = (int(parent), state)
    return table


def spawned_workers_of(parent: int) -> list[int]:
    workers = []
    for pid, (ppid, _) in process_table().items():
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == parent and b"spawn_main" in command:
            workers.append(pid)
    return workers


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_die_when_the_main_process_is_killed(tmp_path):
    import time  # noqa: PLC0415

    # Without the worker initializer, the workers went on for the whole queue (and then waited forever).
    (tmp_path / "slow_encoder.py").write_text(SLOW_ENCODER)
    folder = tmp_path / "midi"
    folder.mkdir()
    for index in range(400):  # 0.05 s each: 10 s of work for two workers
        (folder / f"song_{index:03d}.mid").write_bytes(b"")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    main = subprocess.Popen([sys.executable, "-c", SLOW_PREPARE, str(folder), str(tmp_path / "out")], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(workers := spawned_workers_of(main.pid)) < 2:
            assert main.poll() is None, main.stderr.read().decode()
            assert time.monotonic() < deadline, "the two workers never started"
            time.sleep(0.1)
        time.sleep(1.0)  # let them import and pick up their first chunks
        main.kill()
        main.wait()
        deadline = time.monotonic() + 5
        while alive := [pid for pid in workers if process_table().get(pid, (0, "Z"))[1] != "Z"]:
            assert time.monotonic() < deadline, f"workers {alive} outlived their killed parent"
            time.sleep(0.1)
    except BaseException:
        for pid in workers:  # the check failed: they are still ours, do not leave them running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        raise
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
    assert not (tmp_path / "out").exists()


WATCHED_CHILD = (
    "import os, sys, threading, time; from mst.records import prepare_driver;"
    "threading.Thread(target=prepare_driver._watch_parent, args=(os.getppid(),), daemon=True).start();"
    "print('watching', flush=True); time.sleep(60)"
)
PARENT_OF_WATCHED = (
    "import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', sys.argv[1]], stdout=subprocess.PIPE);"
    "child.stdout.readline(); print(child.pid, flush=True); time.sleep(60)"
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_the_portable_fallback_also_ends_a_worker_whose_parent_died():
    import time  # noqa: PLC0415

    parent = subprocess.Popen([sys.executable, "-c", PARENT_OF_WATCHED, WATCHED_CHILD], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    child = int(parent.stdout.readline())
    try:
        assert process_table()[child][0] == parent.pid
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 3 + prepare_driver.PARENT_POLL_SECONDS
        while process_table().get(child, (0, "Z"))[1] != "Z":
            assert time.monotonic() < deadline, "the watched child outlived its parent"
            time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):  # still ours: it outlived the check
            os.kill(child, 9)
        raise
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_split_is_stable_when_files_are_added(tmp_path):
    source = FIXTURES / "good" / "c_major_scale.mid"
    folder = tmp_path / "pop"
    folder.mkdir()
    for index in range(30):
        shutil.copyfile(source, folder / f"song_{index:03d}.mid")
    before = prepare_dataset({"pop": folder}, tmp_path / "before")
    for index in range(30, 60):
        shutil.copyfile(source, folder / f"song_{index:03d}.mid")
    after = prepare_dataset({"pop": folder}, tmp_path / "after")
    split_before = {song["song_id"]: song["split"] for song in before["songs"]["pop"]}
    split_after = {song["song_id"]: song["split"] for song in after["songs"]["pop"]}
    moved_by_fallback = {before["partitions"]["pop"]["test_fallback_song"], after["partitions"]["pop"]["test_fallback_song"]}
    assert len(split_after) == 60
    assert all(split_after[song] == split for song, split in split_before.items() if song not in moved_by_fallback)
    assert before["partitions"]["pop"]["songs"]["test"] >= 1 and after["partitions"]["pop"]["songs"]["test"] >= 1


# --------------------------------------------------------------------------- output folder safety


def test_existing_dataset_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    first = prepare_dataset({"good": FIXTURES / "good"}, out, seed=1)
    with pytest.raises(PrepareError, match="already holds a complete dataset.*--overwrite"):
        prepare_dataset({"good": FIXTURES / "good"}, out, seed=2)
    assert manifests.load_manifest(out)["split"]["seed"] == 1
    second = prepare_dataset({"good": FIXTURES / "good"}, out, seed=2, overwrite=True)
    assert manifests.load_manifest(out) == second != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or retired folder left


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder`` with its bytes (``None`` for a folder)."""
    return {str(path.relative_to(folder)): (None if path.is_dir() else path.read_bytes()) for path in sorted(folder.rglob("*"))}


def test_a_folder_with_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    status, _, stderr = run_cli("--genre", f"good={FIXTURES / 'good'}", "--out", out, "--overwrite")
    assert status == 2 and "is not empty (thesis.tex) and has no readable manifest.json" in stderr
    assert "nothing was changed" in stderr and "overwrite=" not in stderr
    assert (out / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("intruder", ["thesis.tmp-final.docx", "backup.tmp-2024/notes.txt", "jazz-train.tfrecord-00000-of-00001/x",
                                      "good-train.tfrecord-00009-of-00010", ".hidden"])
def test_overwrite_only_replaces_files_the_manifest_lists(tmp_path, intruder):
    out = tmp_path / "out"
    prepare_dataset({"good": FIXTURES / "good"}, out, seed=1)
    (out / intruder).parent.mkdir(parents=True, exist_ok=True)
    (out / intruder).write_text("precious")  # a temporary-looking or shard-looking name is not enough
    before = tree(tmp_path)
    status, _, stderr = run_cli("--genre", f"good={FIXTURES / 'good'}", "--out", out, "--overwrite")
    assert status == 2, stderr
    assert f"not part of its prepared dataset ({intruder.split('/')[0]}: not files its manifest.json lists)" in stderr
    assert "nothing was changed" in stderr
    assert tree(tmp_path) == before


def test_a_folder_of_shards_without_manifest_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    prepare_dataset({"good": FIXTURES / "good"}, out)
    (out / "manifest.json").unlink()
    before = tree(tmp_path)
    with pytest.raises(PrepareError, match="has no readable manifest.json, so nothing shows that mst prepared it"):
        prepare_dataset({"good": FIXTURES / "good"}, out, overwrite=True)
    assert tree(tmp_path) == before
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(PrepareError, match="no readable manifest.json"):
        prepare_dataset({"good": FIXTURES / "good"}, out, overwrite=True)


def test_a_file_that_appears_during_the_swap_is_kept_in_the_old_copy(tmp_path, monkeypatch, caplog):
    out = tmp_path / "out"
    prepare_dataset({"good": FIXTURES / "good"}, out, seed=1)
    real_writer = pianoroll_examples.write_split_shards

    def write_and_meanwhile_save_a_file(*args, **kwargs):
        (out / "notes.txt").write_text("written while the shards were written")  # after the last check
        return real_writer(*args, **kwargs)

    monkeypatch.setattr(pianoroll_examples, "write_split_shards", write_and_meanwhile_save_a_file)
    with caplog.at_level("WARNING", logger="mst.atomic"):
        manifest = prepare_dataset({"good": FIXTURES / "good"}, out, seed=2, overwrite=True)
    assert manifests.load_manifest(out) == manifest and manifest["split"]["seed"] == 2
    verify_shards(out)
    (retired,) = [path for path in tmp_path.iterdir() if path.name.startswith(".out.old-")]
    assert tree(retired) == {"notes.txt": b"written while the shards were written"}  # only the listed files went
    assert "notes.txt" in caplog.text and "move them out" in caplog.text


SWAP_KILLER = """
import os, signal, sys
from mst.records import prepare_driver
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder
real_replace = os.replace
def replace_then_die(source, target):
    real_replace(source, target)
    if ".old-" in os.fspath(target):  # the old dataset was moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
prepare_driver.atomic.os.replace = replace_then_die
prepare_driver.prepare_dataset({"good": sys.argv[1]}, sys.argv[2], PianorollPhraseEncoder(), seed=2, overwrite=True)
"""


def test_a_run_killed_inside_the_swap_is_finished_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    prepare_dataset({"good": FIXTURES / "good"}, out, seed=1)
    (tmp_path / "notes.txt").write_text("mine")
    killed = subprocess.run([sys.executable, "-c", SWAP_KILLER, str(FIXTURES / "good"), str(out)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert killed.returncode == -9, killed.stderr
    assert not out.exists()  # what the old code left: the dataset gone, its copies hidden beside it
    with pytest.raises(manifests.DatasetError, match="was killed while replacing it .*run the same command again"):
        manifests.load_manifest(out)  # readers explain it and change nothing
    assert not out.exists()
    with pytest.raises(PrepareError, match="already holds a complete dataset; pass --overwrite to replace it"):
        prepare_dataset({"good": FIXTURES / "good"}, out, seed=3)
    assert manifests.load_manifest(out)["split"]["seed"] == 2  # the killed run's complete dataset
    verify_shards(out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "out"]


def test_stale_staging_of_a_killed_run_is_removed(tmp_path):
    out = tmp_path / "out"
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.tmp-{int(exited.stdout)}"
    stale.mkdir()
    (stale / "good-train.tfrecord-00000-of-00001.tmp-1").write_bytes(b"half")
    prepare_dataset({"good": FIXTURES / "good"}, out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_crash_while_writing_leaves_no_dataset_and_keeps_the_old_one(tmp_path, monkeypatch):
    real_writer = pianoroll_examples.write_split_shards
    calls = {"n": 0}

    def write_then_crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return real_writer(*args, **kwargs)

    monkeypatch.setattr(pianoroll_examples, "write_split_shards", write_then_crash)
    genres = {"good": FIXTURES / "good", "pop": prepare.embedded_genre_dirs()["pop"]}
    with pytest.raises(OSError, match="simulated"):
        prepare_dataset(genres, tmp_path / "fresh")
    assert list(tmp_path.iterdir()) == []  # neither the dataset nor its staging folder

    monkeypatch.setattr(pianoroll_examples, "write_split_shards", real_writer)
    old = prepare_dataset(genres, tmp_path / "kept", seed=1)
    old_bytes = shard_bytes(tmp_path / "kept")
    calls["n"] = 0
    monkeypatch.setattr(pianoroll_examples, "write_split_shards", write_then_crash)
    with pytest.raises(OSError, match="simulated"):
        prepare_dataset(genres, tmp_path / "kept", seed=2, overwrite=True)
    assert manifests.load_manifest(tmp_path / "kept") == old and shard_bytes(tmp_path / "kept") == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_cli_argument_errors(tmp_path):
    with pytest.raises(SystemExit):
        prepare.main(["--genre", "pop", "--out", str(tmp_path / "x")], stderr=io.StringIO())
    status, _, stderr = run_cli("--genre", f"pop={FIXTURES / 'good'}", "--genre", f"pop={FIXTURES / 'good'}", "--out", tmp_path / "x")
    assert status == 2 and "genre 'pop' given twice" in stderr
    status, _, stderr = run_cli("--genre", f"pop={FIXTURES / 'good'}", "--out", tmp_path / "x", "--phrase-multiple", 0)
    assert status == 2 and "phrase_multiple" in stderr
    status, _, stderr = run_cli("--genre", f"pop={FIXTURES / 'good'}", "--out", tmp_path / "x", "--test-ratio", 1.0)
    assert status == 2 and "test ratio" in stderr
    assert not (tmp_path / "x").exists()


def test_summary_table_lists_every_genre_and_count(tmp_path):
    manifest = prepare_dataset({"good": FIXTURES / "good", "pop": prepare.embedded_genre_dirs()["pop"]}, tmp_path / "o")
    table = prepare_driver.format_summary(manifest)
    header, *rows = table.splitlines()
    assert header.split() == ["good", "pop"]
    labels = [row[: row.index("  ")] for row in rows if "  " in row]
    assert labels[:3] == ["files found", "files kept", "files skipped"] and labels[-1] == "phrases train / test"
    phrases_row = next(row for row in rows if row.startswith("phrases train / test"))
    pop = manifest["partitions"]["pop"]
    assert phrases_row.split()[-3:] == [str(pop["phrases"]["train"]), "/", str(pop["phrases"]["test"])]
    fallbacks = {genre: info["test_fallback_song"] for genre, info in manifest["partitions"].items() if info["test_fallback_song"]}
    for genre, song in fallbacks.items():
        assert f"{genre}: no song fell into the test split by hash; moved {song} there" in table


def test_summary_names_the_first_skipped_files(mixed_folder, tmp_path):
    manifest = prepare_dataset({"mixed": mixed_folder}, tmp_path / "o")
    skipped = manifest["skipped"]
    assert len(skipped) > prepare_driver.SUMMARY_SKIPPED_LINES
    lines = prepare_driver.format_summary(manifest).splitlines()
    start = lines.index("skipped files (genre, song, reason: detail):")
    shown = lines[start + 1:]
    assert len(shown) == prepare_driver.SUMMARY_SKIPPED_LINES + 1
    for line, entry in zip(shown[:-1], skipped):
        assert line.startswith(f"  mixed  {entry['song_id']}  {entry['reason']}")
    more = len(skipped) - prepare_driver.SUMMARY_SKIPPED_LINES
    assert shown[-1] == f"  ... and {more} more (all in manifest.json under 'skipped')"
    assert "skipped files" not in prepare_driver.format_summary({**manifest, "skipped": []})


# --------------------------------------------------------------------------- partitions and encoders


def test_corpus_is_a_generic_alias_of_genre(tmp_path):
    out = tmp_path / "corpora"
    status, stdout, _ = run_cli("--corpus", f"cello={FIXTURES / 'good'}", "--corpus", f"chorales={prepare.embedded_genre_dirs()['pop']}",
                                "--out", out, "--workers", 1)
    assert status == 0 and stdout.splitlines()[0].split() == ["cello", "chorales"]
    manifest = manifests.load_manifest(out)
    assert manifest["partition_by"] == "corpus" and sorted(manifest["partitions"]) == ["cello", "chorales"]
    assert manifest["record_format"]["corpus"] == "bytes: corpus name" and "genre" not in manifest["record_format"]
    assert {shard["partition"] for shard in manifest["shards"]} == {"cello", "chorales"}
    assert all(shard["file"].startswith(("cello-", "chorales-")) for shard in manifest["shards"])
    assert "if a corpus with >= 2 songs" in manifest["split"]["method"]
    item = next(pianoroll_examples.phrase_dataset(out, "cello", with_metadata=True).as_numpy_iterator())
    assert item["corpus"] == b"cello" and "genre" not in item

    # the same folders as --genre: the same phrases, in records that name the feature "genre"
    status, _, _ = run_cli("--genre", f"cello={FIXTURES / 'good'}", "--genre", f"chorales={prepare.embedded_genre_dirs()['pop']}",
                           "--out", tmp_path / "genres", "--workers", 1)
    as_genres = manifests.load_manifest(tmp_path / "genres")
    assert status == 0 and as_genres["partition_by"] == "genre"
    assert as_genres["songs"] == manifest["songs"] and as_genres["partitions"] == manifest["partitions"]

    status, _, _ = run_cli("--corpus", f"brushes={FIXTURES / 'good'}", "--partition-by", "drummer", "--out", tmp_path / "d")
    assert status == 0 and manifests.load_manifest(tmp_path / "d")["partition_by"] == "drummer"
    with pytest.raises(SystemExit):
        prepare.main(["--corpus", f"a={FIXTURES / 'good'}", "--genre", f"b={FIXTURES / 'good'}", "--out", str(tmp_path / "x")],
                     stderr=io.StringIO())
    status, _, stderr = run_cli("--corpus", f"a={FIXTURES / 'good'}", "--corpus", f"a={FIXTURES / 'good'}", "--out", tmp_path / "x")
    assert status == 2 and "corpus 'a' given twice" in stderr


class NoteCountEncoder:
    """A second encoder for the driver: one example per file, the file's note count as text."""

    name = "note_counts"

    def __init__(self, minimum: int = 1):
        self.options = {"minimum": minimum}

    def encode_file(self, path: str) -> prepare_driver.EncodedFile:
        from mst.music.midi import MidiError, read_midi  # noqa: PLC0415

        try:
            notes = int(read_midi(path).notes.shape[0])
        except MidiError as error:
            return prepare_driver.EncodedFile.rejected(error.reason, error.detail)
        if notes < self.options["minimum"]:
            return prepare_driver.EncodedFile.rejected("too_few_notes", f"{notes} notes", {"notes": notes})
        return prepare_driver.EncodedFile((str(notes).encode(),), (0,), stats={"notes": notes})

    def manifest_fields(self, partition_by: str) -> dict:
        return {"note_count_options": dict(self.options)}

    def write_shards(self, directory, partition, split, examples, *, partition_by, shard_size):
        from mst.records.shards import write_shards  # noqa: PLC0415

        return write_shards(directory, partition, split, examples, lambda example: example.payload, shard_size=shard_size)


def test_another_encoder_plugs_into_the_driver(mixed_folder, tmp_path):
    manifest = prepare_driver.prepare_dataset({"drums": mixed_folder}, tmp_path / "counts", NoteCountEncoder(minimum=100),
                                              partition_by="drummer", test_ratio=0.0, workers=2)
    assert manifest == manifests.load_manifest(tmp_path / "counts")
    assert manifest["encoder"] == "note_counts" and manifest["note_count_options"] == {"minimum": 100}
    assert "phrase_options" not in manifest and manifest["partition_by"] == "drummer"
    reasons = {entry["song_id"]: entry["reason"] for entry in manifest["skipped"]}
    assert reasons["empty.mid"] == "empty_file" and reasons["c_major_scale.mid"] == "too_few_notes"
    kept = {song["song_id"] for song in manifest["songs"]["drums"]}
    assert kept and kept.isdisjoint(reasons)
    verify_shards(tmp_path / "counts")
    (shard,) = manifest["shards"]
    counts = [int(r.numpy()) for r in tensorflow().data.TFRecordDataset(str(tmp_path / "counts" / shard["file"]))]
    assert len(counts) == len(kept) and min(counts) >= 100
    assert manifest["partitions"]["drums"]["kept_file_stats"] == {"notes": sum(counts)}


def test_an_encoder_that_raises_gives_internal_error_not_a_crash(tmp_path):
    class Broken(NoteCountEncoder):
        def encode_file(self, path):
            raise RuntimeError("bug")

    (result,) = prepare_driver.extract_files([(str(FIXTURES / "good" / GOOD_FILES[0]), "x.mid")], Broken())
    assert result.encoded.reason == prepare_driver.INTERNAL_ERROR_REASON and "RuntimeError: bug" in result.encoded.detail
    with pytest.raises(ValueError, match="rejected file"):
        prepare_driver.EncodedFile((b"x",), (0,), reason="no")
    with pytest.raises(ValueError, match="indices"):
        prepare_driver.EncodedFile((b"x",), ())


def test_an_output_path_that_is_not_utf8_is_refused_before_any_work(tmp_path):
    out = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bad\xff"))
    with pytest.raises(PrepareError, match=r"bad\\xff is not valid UTF-8"):
        prepare_dataset({"good": FIXTURES / "good"}, out)
    assert not os.path.exists(out)
