"""Fuzz test of mst.music.midi.read_midi: seeded mutants of the embedded MIDI files.

Every mutant must give a :class:`~mst.music.midi.Song` or a :class:`~mst.music.midi.MidiError`
(nothing else, within a time budget), and an accepted song's true last tick, summed exactly by
an independent parser (mido, Python ints), must lie below :data:`~mst.music.midi.MAX_TICK`.
symusic counts ticks in int32, so the mutants that matter most are huge delta-times on events
it drops (sysex, text), which carry its counter past 2**31 and 2**32 unseen.

    MST_FUZZ_MUTANTS=5000 MST_FUZZ_SEED=1 .venv/bin/python -m pytest -q tests/midi_fuzz_test.py

The mutant generator and :func:`fuzz` are plain functions, so the same mutants can be run
against another version of the module (``fuzz(other_module.read_midi, ...)``).
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import signal
import struct
import time
from pathlib import Path

import mido
import pytest

from conftest import EMBEDDED_DIR
from mst.music import midi
from mst.music.midi import MidiError, Song, read_midi

MUTANTS = int(os.environ.get("MST_FUZZ_MUTANTS", "300"))
SEED = int(os.environ.get("MST_FUZZ_SEED", "0"))
SECONDS_PER_MUTANT = 5.0  # real files take about 1 ms; a loop over a garbled file would take far longer

MAX_DELTA = bytes([0xFF, 0xFF, 0xFF, 0x7F])  # 2**28 - 1, the largest delta-time
# Events symusic drops: sysex (F0 and F7 forms), text, marker, sequencer-specific meta.
DROPPED_EVENTS = (bytes([0xF0, 0x02, 0x7E, 0xF7]), bytes([0xF7, 0x01, 0x7F]), bytes([0xFF, 0x01, 0x01, 0x41]),
                  bytes([0xFF, 0x06, 0x00]), bytes([0xFF, 0x7F, 0x02, 0x00, 0x01]))


def embedded_files() -> list[Path]:
    return sorted(EMBEDDED_DIR.rglob("*.mid"))


# --------------------------------------------------------------------------------------------- mutants


def chunk_spans(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk after the header of a well-formed file."""
    spans, offset = [], 8 + struct.unpack(">I", data[4:8])[0]
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset + 4:offset + 8])
        spans.append((offset, length))
        offset += 8 + length
    return spans


def with_chunk_body(data: bytes, span: tuple[int, int], body: bytes) -> bytes:
    offset, length = span
    return data[:offset + 4] + struct.pack(">I", len(body)) + body + data[offset + 8 + length:]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(1, len(data))]


def change_chunk_length(data: bytes, rng: random.Random) -> bytes:
    spans = [(0, 6)] + chunk_spans(data)  # the header chunk too
    offset, length = rng.choice(spans)
    new = rng.choice([0, max(0, length - 1), length + 1, max(0, length - rng.randint(2, 100)),
                      length + rng.randint(2, 100), 0xFFFFFFFF, rng.getrandbits(32)])
    return data[:offset + 4] + struct.pack(">I", new) + data[offset + 8:]


def huge_delta_times(data: bytes, rng: random.Random) -> bytes:
    """Dropped events with delta-time 2**28 - 1, enough of them to pass 2**31 (9) or 2**32 (16 + the rest)."""
    spans = chunk_spans(data)
    if not spans:  # an earlier mutation left no chunk to find
        return flip_bytes(data, rng)
    span = rng.choice(spans)
    body = data[span[0] + 8:span[0] + 8 + span[1]]
    count = rng.choice([1, 8, 9, 15, 16, 17, 24, 32, 33])
    event = rng.choice(DROPPED_EVENTS)
    inserted = (MAX_DELTA + event) * count
    if rng.random() < 0.5:  # a small extra delta lands the wrapped counter anywhere in the first 2**14 ticks
        inserted += bytes([0x80 | rng.randint(0, 127), rng.randint(0, 127)]) + event
    if rng.random() < 0.5 or body[-3:] != b"\xff\x2f\x00":
        body = inserted + body  # first events of the track: the notes after them move
    else:
        body = body[:-4] + inserted + body[-4:]  # before the end-of-track: only unseen events move
    return with_chunk_body(data, span, body)


def zero_tail(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        start = rng.randrange(14, len(data))
        return data[:start] + bytes(len(data) - start)
    return data + bytes(rng.randint(1, 4096))


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    spans = chunk_spans(data)
    if not spans:
        return flip_bytes(data, rng)
    offset, length = rng.choice(spans)
    end = offset + 8 + length
    out = data[:end] + data[offset:end] + data[end:]
    if rng.random() < 0.5:
        (tracks,) = struct.unpack(">H", out[10:12])
        out = out[:10] + struct.pack(">H", min(tracks + 1, 0xFFFF)) + out[12:]
    return out


def change_division(data: bytes, rng: random.Random) -> bytes:
    division = rng.choice([0, 0xE728, 0x8000, 2, 1, 0x7FFF])  # 0xE728: SMPTE 25 fps, 40 ticks per frame
    return data[:12] + struct.pack(">H", division) + data[14:]


def change_track_count(data: bytes, rng: random.Random) -> bytes:
    (tracks,) = struct.unpack(">H", data[10:12])
    count = rng.choice([0, 1, max(0, tracks - 1), tracks + 1, tracks + 5, 0xFFFF])
    return data[:10] + struct.pack(">H", count) + data[12:]


MUTATIONS = (flip_bytes, truncate, change_chunk_length, huge_delta_times, zero_tail, duplicate_chunk,
             change_division, change_track_count)


def make_mutants(count: int, seed: int) -> list[tuple[str, bytes]]:
    """``count`` (description, bytes) mutants of the embedded files, the same for the same seed."""
    rng = random.Random(seed)
    originals = [(path.name, path.read_bytes()) for path in embedded_files()]
    mutants = []
    for index in range(count):
        name, data = originals[index % len(originals)]
        steps = [rng.choice(MUTATIONS) for _ in range(1 if rng.random() < 0.7 else 2)]
        for step in steps:
            data = step(data, rng) if len(data) > 14 else data
        mutants.append((f"{index:05d} {name} {'+'.join(step.__name__ for step in steps)}", data))
    return mutants


# --------------------------------------------------------------------------------------------- checks


def true_max_tick(data: bytes) -> int | None:
    """The last event's tick before each track's end-of-track, summed exactly by mido (None if mido fails).

    ``clip=True`` so that mido, like symusic, steps over data bytes above 127 by the message length.
    """
    try:
        midi_file = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:  # noqa: BLE001  (mido raises many types for bad bytes; then there is no reference)
        return None
    best = 0
    for track in midi_file.tracks:
        tick = 0
        for message in track:
            if message.is_meta and message.type == "end_of_track":
                break
            tick += message.time
            best = max(best, tick)
    return best


class Hung(Exception):
    """A read that ran past its time budget."""


def _alarm(signum, frame):
    raise Hung


@dataclasses.dataclass
class FuzzReport:
    tried: int = 0
    kept: int = 0
    midi_errors: int = 0
    crashed: list = dataclasses.field(default_factory=list)  # (mutant, exception) raised other than MidiError
    hung: list = dataclasses.field(default_factory=list)
    overflow_kept: list = dataclasses.field(default_factory=list)  # (mutant, true max tick)
    kept_without_reference: int = 0  # accepted, mido cannot read it (its own ticks checked instead)

    def summary(self) -> str:
        return (f"{self.tried} mutants: {self.kept} kept, {self.midi_errors} MidiError, {len(self.crashed)} crashed, "
                f"{len(self.hung)} hung, {len(self.overflow_kept)} kept with tick overflow "
                f"({self.kept_without_reference} kept without a mido reference)")


def fuzz(read, mutants, folder: Path, midi_error=MidiError, max_tick: int = midi.MAX_TICK) -> FuzzReport:
    """Runs ``read(path)`` on each mutant (written to ``folder``) and classifies the outcomes."""
    report = FuzzReport()
    timed = hasattr(signal, "setitimer")
    previous = signal.signal(signal.SIGALRM, _alarm) if timed else None
    try:
        for name, data in mutants:
            report.tried += 1
            path = folder / "mutant.mid"
            path.write_bytes(data)
            started = time.perf_counter()
            try:
                if timed:
                    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_MUTANT)
                try:
                    song = read(path)
                finally:
                    if timed:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            except Hung:
                report.hung.append(name)
                continue
            except midi_error:
                report.midi_errors += 1
                continue
            except Exception as error:  # noqa: BLE001  (what the test is looking for)
                report.crashed.append((name, f"{type(error).__name__}: {error}"[:200]))
                continue
            if time.perf_counter() - started > SECONDS_PER_MUTANT:  # no SIGALRM on this platform
                report.hung.append(name)
            report.kept += 1
            reference = true_max_tick(data)
            if reference is None:
                report.kept_without_reference += 1
                ticks = [int(c.max()) for c in (song.notes["end"], song.tempos["tick"]) if c.size] + [song.end_tick]
                lows = [int(c.min()) for c in (song.notes["start"], song.tempos["tick"]) if c.size] + [0]
                if max(ticks) >= max_tick or min(lows) < 0:
                    report.overflow_kept.append((name, max(ticks)))
            elif reference >= max_tick:
                report.overflow_kept.append((name, reference))
    finally:
        if timed:
            signal.signal(signal.SIGALRM, previous)
    return report


# --------------------------------------------------------------------------------------------- tests


def test_mutants_are_deterministic_and_cover_every_mutation():
    first, again = make_mutants(80, SEED), make_mutants(80, SEED)
    assert first == again and len(embedded_files()) >= 10
    used = {step for name, _ in first for step in name.split()[2].split("+")}
    assert used == {step.__name__ for step in MUTATIONS}
    originals = {path.read_bytes() for path in embedded_files()}
    assert sum(data not in originals for _, data in first) >= 75


def test_the_reference_sums_ticks_exactly():
    data = embedded_files()[0].read_bytes()
    offset, length = chunk_spans(data)[-1]
    body = data[offset + 8:offset + 8 + length]
    wrapped = with_chunk_body(data, (offset, length), (MAX_DELTA + DROPPED_EVENTS[0]) * 16 + body)
    assert true_max_tick(wrapped) >= 16 * (2**28 - 1) > 2**32 - 20
    assert true_max_tick(data) < midi.MAX_TICK


def test_read_midi_survives_mutants(tmp_path):
    report = fuzz(read_midi, make_mutants(MUTANTS, SEED), tmp_path)
    print(report.summary())
    assert report.tried == MUTANTS
    assert not report.crashed, report.crashed[:5]
    assert not report.hung, report.hung[:5]
    assert not report.overflow_kept, report.overflow_kept[:5]
    assert report.kept and report.midi_errors  # the mutants are neither all harmless nor all fatal


def test_the_reference_backend_survives_mutants(tmp_path):
    # pretty_midi is 20-50x slower: every 10th mutant.
    mutants = make_mutants(MUTANTS, SEED)[::10]
    report = fuzz(lambda path: read_midi(path, backend="pretty_midi"), mutants, tmp_path)
    print(report.summary())
    assert not report.crashed and not report.hung and not report.overflow_kept, report.summary()


def test_a_batch_of_mutants_lists_every_file(tmp_path):
    from mst.records import prepare_driver  # noqa: PLC0415  (TensorFlow-free, but heavier than mst.music)
    from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder  # noqa: PLC0415

    mutants = make_mutants(40, SEED + 1)
    folders = {"pop": tmp_path / "pop", "jazz": tmp_path / "jazz"}
    expected = {}
    for partition, folder in folders.items():
        folder.mkdir()
        intact = sorted((EMBEDDED_DIR / partition).glob("*.mid"))[:3]
        for path in intact:
            (folder / path.name).write_bytes(path.read_bytes())
        names = [path.name for path in intact]
        for index, (_, data) in enumerate(mutants[:20] if partition == "pop" else mutants[20:]):
            (folder / f"mutant_{index:02d}.mid").write_bytes(data)
            names.append(f"mutant_{index:02d}.mid")
        expected[partition] = set(names)
    if hasattr(os, "mkfifo"):  # listed as skipped, never opened (opening it would block the worker)
        os.mkfifo(folders["jazz"] / "pipe.mid")
        expected["jazz"].add("pipe.mid")
    manifest = prepare_driver.prepare_dataset(folders, tmp_path / "out", PianorollPhraseEncoder(), workers=1)
    skipped = manifest["skipped"]
    assert all(entry["reason"] and entry["reason"] != prepare_driver.INTERNAL_ERROR_REASON for entry in skipped), skipped
    for partition in folders:
        kept = {entry["song_id"] for entry in manifest["songs"][partition]}
        dropped = {entry["song_id"] for entry in skipped if entry["partition"] == partition}
        assert kept | dropped == expected[partition] and not kept & dropped
        assert kept >= {name for name in expected[partition] if not name.startswith(("mutant", "pipe"))}
    if hasattr(os, "mkfifo"):
        (pipe,) = [entry for entry in skipped if entry["song_id"] == "pipe.mid"]
        assert pipe["reason"] == "unreadable" and "not a regular file (a FIFO)" in pipe["detail"]


@pytest.mark.parametrize("count", [16, 17])
def test_a_note_after_hidden_delta_times_is_not_kept(tmp_path, count):
    # The case the fuzzing found: symusic's int32 counter wraps past 2**32 and the note lands at a small tick.
    data = embedded_files()[0].read_bytes()
    span = chunk_spans(data)[-1]
    body = data[span[0] + 8:span[0] + 8 + span[1]]
    path = tmp_path / "wrapped.mid"
    path.write_bytes(with_chunk_body(data, span, (MAX_DELTA + DROPPED_EVENTS[2]) * count + body))
    with pytest.raises(MidiError, match="absurd_ticks"):
        read_midi(path)
