"""Preparation throughput: mst (symusic, 1 and N workers) vs the authors' pypianoroll route.

    .venv/bin/python benchmarks/bench_prepare.py [--rounds 3] [--workers 2] [--limit N]
                                                 [--policy beat_grid] [--data-root DIR]

For each staged corpus (pop909, piano_midi_de, wjazzd_solos under ``<repo>/../shared/data``) it
measures, interleaved round by round (the host is noisy; medians are reported):

* ``mst x1``: :func:`mst.records.prepare_driver.collect_partitions` with the pianoroll phrase
  encoder, in-process: read (symusic), filter, roll, cut, bit-pack; i.e. everything of
  ``python -m mst.prepare`` except writing shards;
* ``mst xN``: the same with a spawned pool of N workers (pool start-up included);
* ``prepare xN``: :func:`mst.records.prepare_driver.prepare_dataset` end to end (extraction with N workers, split,
  TFRecord shards with sha256, manifest) into a temporary folder; TensorFlow is imported before
  timing;
* ``pypianoroll``: the authors' route, single process, with pypianoroll 1.0.4:
  ``pypianoroll.read(path, resolution=4)``, non-drum tracks merged, binarized, pitches 24..107,
  64-step phrases with the tail dropped, count trimmed to a multiple of 4, empty phrases dropped.

Reported: wall time (median) and CPU time (this process + reaped pool workers, median) per route,
files/s and phrases/s, the per-core speed-up of ``mst x1`` over pypianoroll (target >= 10x), and the
worker scaling ``mst x1 / mst xN`` in wall time (ideal N) with the pool's CPU efficiency
(``CPU(x1) / CPU(xN)``, 1.0 = no overhead; it does not depend on how busy the machine is). A last
run measures scaling on a larger job (all corpora linked ``--scaling-replicas`` times), where the
fixed cost of starting spawned workers (~0.2-0.3 CPU-s each) is amortised. The default policy is ``beat_grid``
so that mst cuts nearly every file, like the unfiltered pypianoroll route (``strict`` would let mst
skip most of pop909 after parsing, which flatters it). Skips cleanly when the data is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mst.encodings.pianoroll import LOWEST_PITCH, NUM_PITCHES, PHRASE_STEPS  # noqa: E402
from mst.encodings.pianoroll_extract import PhraseOptions  # noqa: E402
from mst.music.files import find_midi_files, song_id_of  # noqa: E402
from mst.records import prepare_driver  # noqa: E402
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder  # noqa: E402

CORPORA = {"pop909": "pop909/midi", "piano_midi_de": "piano_midi_de/midis", "wjazzd_solos": "wjazzd_solos/midi"}
DEFAULT_DATA_ROOT = REPO.parent / "shared" / "data"


def pypianoroll_phrase_count(path: Path, phrase_multiple: int = 4) -> int:
    """The authors' Testfile.py route with pypianoroll 1.0.4; returns the phrases kept."""
    import pypianoroll  # noqa: PLC0415

    multitrack = pypianoroll.read(str(path), resolution=4)
    rolls = [track.pianoroll for track in multitrack.tracks if not track.is_drum]
    if not rolls:
        return 0
    length = max(roll.shape[0] for roll in rolls)
    merged = np.zeros((length, 128), dtype=bool)
    for roll in rolls:
        merged[: roll.shape[0]] |= roll > 0
    cropped = merged[:, LOWEST_PITCH : LOWEST_PITCH + NUM_PITCHES]
    phrases = cropped.shape[0] // PHRASE_STEPS
    phrases -= phrases % phrase_multiple
    cut = cropped[: phrases * PHRASE_STEPS].reshape(phrases, PHRASE_STEPS, NUM_PITCHES)
    return int(cut.any(axis=(1, 2)).sum())


class Stopwatch:
    """Wall time and CPU time (this process plus reaped child processes, e.g. pool workers)."""

    def __enter__(self) -> "Stopwatch":
        self._wall, self._cpu = time.perf_counter(), self._cpu_now()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = self._cpu_now() - self._cpu

    @staticmethod
    def _cpu_now() -> float:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system


def run_pypianoroll(files: list[Path]) -> tuple[Stopwatch, int, int]:
    """Timing, phrases and failed files for the pypianoroll route over ``files``."""
    phrases = failures = 0
    with Stopwatch() as watch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                phrases += pypianoroll_phrase_count(path)
            except Exception:  # noqa: BLE001  (broken files count as failures, as they would crash the authors' script)
                failures += 1
    return watch, phrases, failures


def run_mst(folder: Path, options: PhraseOptions, workers: int) -> tuple[Stopwatch, int, int]:
    """Timing, phrases and skipped files for mst's extraction over one folder."""
    with Stopwatch() as watch:
        extraction = prepare_driver.collect_partitions({"bench": folder}, PianorollPhraseEncoder(options), workers=workers)["bench"]
    return watch, sum(len(result.encoded.indices) for result in extraction.kept), len(extraction.skipped)


def run_prepare(folder: Path, options: PhraseOptions, workers: int) -> tuple[Stopwatch, int, int]:
    """Timing, phrases and skipped files for a full prepare_dataset into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mst_bench_prepare_") as scratch:
        with Stopwatch() as watch:
            manifest = prepare_driver.prepare_dataset({"bench": folder}, Path(scratch) / "out", PianorollPhraseEncoder(options),
                                                      workers=workers)
    info = manifest["partitions"]["bench"]
    return watch, info["phrases"]["train"] + info["phrases"]["test"], info["files_skipped"]


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints one table per corpus plus a summary; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N files of each corpus only")
    parser.add_argument("--policy", default="beat_grid", choices=("strict", "in_effect", "beat_grid"))
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--scaling-replicas", type=int, default=4,
                        help="worker-scaling run over all corpora linked this many times (0: skip)")
    args = parser.parse_args(argv)
    if not args.data_root.is_dir():
        print(f"bench_prepare: skipped: staged data not found at {args.data_root}")
        return 0
    options = PhraseOptions(time_signature_policy=args.policy)
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    import_tensorflow()  # not part of any timing
    print(f"bench_prepare: policy={args.policy}, rounds={args.rounds} (medians), workers={args.workers}")
    summary = []
    scratch = contextlib.ExitStack()  # --limit subsets (symlinks), removed at the end
    for corpus in args.corpora:
        folder = args.data_root / CORPORA[corpus]
        if not folder.is_dir():
            print(f"\n{corpus}: skipped: {folder} not found")
            continue
        files = find_midi_files(folder, order="song_id")
        if args.limit:
            subset = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix=f"mst_bench_{corpus}_")))
            for path in files[: args.limit]:
                target = subset / song_id_of(path, folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
            folder, files = subset, files[: args.limit]
        routes = {
            "mst x1": lambda: run_mst(folder, options, 1),
            f"mst x{args.workers}": lambda: run_mst(folder, options, args.workers),
            f"prepare x{args.workers}": lambda: run_prepare(folder, options, args.workers),
            "pypianoroll": lambda: run_pypianoroll(files),
        }
        walls: dict[str, list[float]] = {name: [] for name in routes}
        cpus: dict[str, list[float]] = {name: [] for name in routes}
        outputs: dict[str, tuple[int, int]] = {}
        for _ in range(args.rounds):
            for name, route in routes.items():
                watch, phrases, dropped = route()
                walls[name].append(watch.wall)
                cpus[name].append(watch.cpu)
                outputs[name] = (phrases, dropped)
        print(f"\n{corpus}: {len(files)} files (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        print(f"  {'route':<14}{'wall s':>8}{'files/s':>9}{'phrases/s':>11}{'CPU s':>8}{'CPU ms/file':>13}{'phrases':>9}{'skipped':>9}")
        wall = {name: statistics.median(walls[name]) for name in routes}
        cpu = {name: statistics.median(cpus[name]) for name in routes}
        for name in routes:
            phrases, dropped = outputs[name]
            print(f"  {name:<14}{wall[name]:>8.2f}{len(files) / wall[name]:>9.1f}{phrases / wall[name]:>11.0f}"
                  f"{cpu[name]:>8.2f}{1000 * cpu[name] / len(files):>13.2f}{phrases:>9}{dropped:>9}")
        many = f"mst x{args.workers}"
        speedup_wall = wall["pypianoroll"] / wall["mst x1"]
        speedup_cpu = cpu["pypianoroll"] / cpu["mst x1"]
        scaling_wall = wall["mst x1"] / wall[many]
        efficiency = cpu["mst x1"] / cpu[many]
        print(f"  per-core speed-up mst x1 vs pypianoroll: {speedup_wall:.1f}x wall, {speedup_cpu:.1f}x CPU time (target >= 10x)")
        print(f"  {many} vs mst x1: wall speed-up {scaling_wall:.2f} (ideal {args.workers}); "
              f"CPU efficiency {efficiency:.2f} (1.0 = no pool overhead)")
        summary.append((corpus, speedup_wall, speedup_cpu, scaling_wall, efficiency))
    if summary:
        print("\nsummary (per-core speed-up wall / CPU; x{} wall speed-up; CPU efficiency):".format(args.workers))
        for corpus, speedup_wall, speedup_cpu, scaling_wall, efficiency in summary:
            print(f"  {corpus:<14} {speedup_wall:5.1f}x / {speedup_cpu:5.1f}x   {scaling_wall:4.2f}   {efficiency:4.2f}")
    scratch.close()
    if args.scaling_replicas > 0:
        measure_scaling(args, options)
    return 0


def measure_scaling(args: argparse.Namespace, options: PhraseOptions) -> None:
    """Worker scaling on a larger job: every corpus' files, linked ``--scaling-replicas`` times.

    Each corpus alone is only 0.3-1.5 CPU-seconds of extraction, about what starting a spawned
    worker (interpreter + numpy + symusic imports) costs, so it cannot show the pool's scaling.
    """
    with tempfile.TemporaryDirectory(prefix="mst_bench_scaling_") as scratch:
        files = 0
        for replica in range(args.scaling_replicas):
            for corpus in args.corpora:
                folder = args.data_root / CORPORA[corpus]
                if not folder.is_dir():
                    continue
                for path in find_midi_files(folder, order="song_id")[: args.limit]:
                    target = Path(scratch) / f"copy{replica}" / corpus / song_id_of(path, folder)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.symlink_to(path)
                    files += 1
        if not files:
            return
        counts = sorted({1, args.workers})
        walls: dict[int, list[float]] = {workers: [] for workers in counts}
        cpus: dict[int, list[float]] = {workers: [] for workers in counts}
        for _ in range(args.rounds):
            for workers in counts:
                watch, _, _ = run_mst(Path(scratch), options, workers)
                walls[workers].append(watch.wall)
                cpus[workers].append(watch.cpu)
        print(f"\nscaling: {files} files ({args.scaling_replicas} links to each file of {', '.join(args.corpora)}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        base_wall, base_cpu = statistics.median(walls[1]), statistics.median(cpus[1])
        for workers in counts:
            wall, cpu = statistics.median(walls[workers]), statistics.median(cpus[workers])
            print(f"  mst x{workers}: {wall:6.2f} s wall, {files / wall:7.1f} files/s, {cpu:6.2f} CPU s; "
                  f"wall speed-up {base_wall / wall:4.2f} (ideal {workers}), CPU efficiency {base_cpu / cpu:4.2f}")


if __name__ == "__main__":
    sys.exit(main())
