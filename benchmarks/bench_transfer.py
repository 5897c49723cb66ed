#!/usr/bin/env python
"""Whole-song transfer latency after model load: paper-size generator vs the CPU preset.

    .venv/bin/python benchmarks/bench_transfer.py [--runs 7] [--minutes 3] [--qpm 120] [--batch-size 16]

A synthetic song (piano chords, a melody, a bass line and drums; 3 minutes at 120 BPM = 360 beats =
1,440 steps = 23 phrases, the last one incomplete) is written once. Each configuration gets its own
generator with random weights (timing does not depend on the weights), wrapped once in a
:class:`mst.models.cyclegan.song_transfer.TransferModel`, and one warm-up transfer (``tf.function``
tracing). The timed runs are interleaved round-robin (the host is noisy;
docs/reference/environment.md#cpu-peak-and-noisy-host) and each is a full
:func:`mst.models.cyclegan.song_transfer.transfer_song`: read + filter, roll + phrases, generator,
binarize + stitch, write MIDI. Medians are printed with the range, plus the ratio to the 1 s target
for the paper size.

The host is shared, so each round also measures the float32 GEMM rate of the moment; the generator's
share of it is load-independent, and the script projects the paper-size latency onto the quiet host's
2-thread GEMM peak (218 GFLOP/s, docs/reference/environment.md#cpu-peak-and-noisy-host).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_SECONDS = 1.0
PAPER_GFLOP_PER_PHRASE = 8.81  # generator forward, docs/reference/cyclegan.md#flops
# 2-thread float32 GEMM on the quiet dev host, docs/reference/environment.md#cpu-peak-and-noisy-host
QUIET_HOST_PEAK_GFLOPS = 218.0


def make_gemm_probe(tf, n: int = 2048):
    """Returns ``probe() -> GFLOP/s``: the host's float32 GEMM rate right now (best of two n^3 products)."""
    a = tf.random.stateless_uniform([n, n], seed=[1, 2])
    b = tf.random.stateless_uniform([n, n], seed=[3, 4])
    product = tf.function(tf.linalg.matmul)
    product(a, b).numpy()  # trace and warm up once

    def probe() -> float:
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            product(a, b).numpy()
            best = min(best, time.perf_counter() - t0)
        return 2 * n**3 / best / 1e9

    return probe


def write_song(path: Path, *, minutes: float, qpm: float, seed: int = 0) -> int:
    """Writes a dense synthetic pop-like song and returns its length in beats."""
    import numpy as np
    import pretty_midi

    rng = np.random.default_rng(seed)
    beats = int(round(minutes * qpm))
    beat = 60.0 / qpm
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=qpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    piano, melody = pretty_midi.Instrument(0, name="piano"), pretty_midi.Instrument(73, name="flute")
    bass, drums = pretty_midi.Instrument(33, name="bass"), pretty_midi.Instrument(0, is_drum=True, name="drums")
    roots = (48, 53, 55, 45)  # C F G Am
    for half_bar in range(beats // 2):
        root = roots[(half_bar // 2) % 4]
        start, end = half_bar * 2 * beat, (half_bar + 1) * 2 * beat
        for offset in (0, 4 if root != 45 else 3, 7, 12):
            piano.notes.append(pretty_midi.Note(80, root + offset, start, end))
        bass.notes.append(pretty_midi.Note(90, root - 12, start, start + beat))
    for eighth in range(beats * 2):
        if rng.random() < 0.8:
            pitch = int(72 + rng.choice([0, 2, 4, 5, 7, 9, 11, 12]))
            melody.notes.append(pretty_midi.Note(90, pitch, eighth * beat / 2, (eighth + 1) * beat / 2))
    for b in range(beats):
        drums.notes.append(pretty_midi.Note(100, 36 if b % 2 == 0 else 38, b * beat, b * beat + beat / 4))
    pm.instruments.extend([piano, melody, bass, drums])
    pm.write(str(path))
    return beats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per configuration (interleaved)")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--qpm", type=float, default=120.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--configs", default="paper,paper_bf16,cpu",
                        help="comma-separated subset of: paper, paper_bf16, cpu, cpu_bf16, shipped, shipped_bf16")
    args = parser.parse_args(argv)

    from mst.runtime import import_tensorflow

    tf = import_tensorflow()

    from mst import registry
    from mst.models.cyclegan import song_transfer as transfer
    from mst.models.cyclegan.cyclegan_generator import build_generator

    cpu_preset = registry.get_config("cyclegan_jazz_classical_cpu")
    cpu_shape = (cpu_preset.generator_filters, cpu_preset.generator_residual_blocks)
    cpu_label = f"cpu preset (f={cpu_shape[0]}, {cpu_shape[1]} blocks)"
    shapes = {  # name -> (filters, residual blocks, precision, label)
        "paper": (64, 10, "float32", "paper (f=64, 10 blocks)"),
        "paper_bf16": (64, 10, "bfloat16", "paper, bfloat16"),
        "cpu": (*cpu_shape, "float32", cpu_label),
        "cpu_bf16": (*cpu_shape, "bfloat16", "cpu preset, bfloat16"),
        # the trained generators shipped in the package (real weights: the agreement figure means something)
        "shipped": ("shipped", None, "float32", "shipped classical->pop"),
        "shipped_bf16": ("shipped", None, "bfloat16", "shipped, bfloat16"),
    }
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = set(names) - set(shapes)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}")

    work = Path(tempfile.mkdtemp(prefix="bench_transfer_"))
    song = work / "song.mid"
    beats = write_song(song, minutes=args.minutes, qpm=args.qpm)
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(f"song: {args.minutes:g} min at {args.qpm:g} BPM = {beats} beats = {beats * 4} steps; "
          f"batch {args.batch_size}; {os.cpu_count()} CPUs visible; TF {tf.__version__} devices {devices}")

    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").is_file() else []
    bf16_isa = sorted({f for f in flags if f in ("avx512_bf16", "amx_bf16")}) or ["none (emulated: slow)"]
    print(f"CPU bfloat16 instructions: {', '.join(bf16_isa)}")

    built, models, load_seconds, params = {}, {}, {}, {}
    for name in names:
        filters, blocks, precision, _ = shapes[name]
        t0 = time.perf_counter()
        if (filters, blocks) not in built and filters == "shipped":
            from mst import export
            from mst.models.cyclegan import pretrained

            generator = export.load_keras(pretrained.shipped_generators())
            built[filters, blocks] = (transfer.TransferModel({"a2b": generator}, source=name), generator.count_params())
        elif (filters, blocks) not in built:  # one generator (and tf.function) per shape
            generator = build_generator(filters=filters, num_residual_blocks=blocks, seed=0)
            built[filters, blocks] = (transfer.TransferModel({"a2b": generator}, source=name), generator.count_params())
        models[name], params[name] = built[filters, blocks]
        warm = transfer.transfer_song(song, models[name], direction="a2b", out_path=work / f"{name}.mid",
                                      batch_size=args.batch_size, overwrite=True, precision=precision)
        load_seconds[name] = time.perf_counter() - t0
    print(f"phrases per song: {warm.num_phrases} (last one {warm.tail_steps} steps); "
          f"{warm.notes_out_of_range} notes outside 24..107")

    timings = {name: [] for name in names}
    rolls, peaks = {}, []
    gemm_probe = make_gemm_probe(tf)
    for _ in range(args.runs):
        peaks.append(gemm_probe())
        for name in names:  # round-robin: every configuration sees the same host noise
            result = transfer.transfer_song(song, models[name], direction="a2b", out_path=work / f"{name}.mid",
                                            batch_size=args.batch_size, overwrite=True, precision=shapes[name][2])
            timings[name].append(result.timing)
            rolls[name] = result.transferred_roll

    print()
    header = (f"{'generator':28s} {'params':>11s} {'build+warm':>10s} {'read+phrase':>11s} {'generator':>10s} "
              f"{'write':>7s} {'total':>7s} {'range':>13s} {'phrases/s':>9s} {'vs 1 s':>7s}")
    print(header)
    print("-" * len(header))
    for name in names:
        rows = timings[name]
        stages = ("read", "phrase", "generator", "write", "total")
        med = {key: statistics.median(r[key] for r in rows) for key in stages}
        totals = [r["total"] for r in rows]
        rate = warm.num_phrases / med["generator"]
        read_phrase = med["read"] + med["phrase"]
        print(f"{shapes[name][3]:28s} {params[name]:>11,d} {load_seconds[name]:>9.2f}s {read_phrase:>10.3f}s "
              f"{med['generator']:>9.3f}s {med['write']:>6.3f}s {med['total']:>6.3f}s "
              f"{min(totals):>6.2f}-{max(totals):<6.2f} {rate:>9.1f} {med['total'] / TARGET_SECONDS:>6.2f}x")
    peak = statistics.median(peaks)
    song_gflop = PAPER_GFLOP_PER_PHRASE * warm.num_phrases
    print(f"\nfloat32 GEMM rate during the runs: median {peak:.0f} GFLOP/s (range {min(peaks):.0f}-{max(peaks):.0f}; "
          f"quiet host: {QUIET_HOST_PEAK_GFLOPS:.0f}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name in (n for n in names if n.startswith("paper")):
        med_gen = statistics.median(r["generator"] for r in timings[name])
        med_total = statistics.median(r["total"] for r in timings[name])
        gflops = song_gflop / med_gen
        other = med_total - med_gen
        projected = song_gflop / (gflops / peak * QUIET_HOST_PEAK_GFLOPS) + other
        verdict = "meets" if med_total < TARGET_SECONDS else "misses"
        print(f"{shapes[name][3]}: {song_gflop:.0f} GFLOP per song at {gflops:.0f} GFLOP/s = {gflops / peak:.2f} of the "
              f"GEMM rate; median {med_total:.3f} s end to end = {med_total / TARGET_SECONDS:.2f}x the "
              f"{TARGET_SECONDS:g} s target ({verdict} it); projected on the quiet host {projected:.2f} s "
              f"= {projected / TARGET_SECONDS:.2f}x the target.")
    for base, weights in (("paper", "random weights"), ("shipped", "trained weights")):
        if base in names and f"{base}_bf16" in names:
            ratios = [a["total"] / b["total"] for a, b in zip(timings[base], timings[f"{base}_bf16"])]
            flipped = (rolls[base] != rolls[f"{base}_bf16"]).mean()
            on = rolls[base].sum()
            agree = (rolls[base] & rolls[f"{base}_bf16"]).sum() / max(on, 1)
            print(f"{base}: bfloat16 speed-up (per-round median) {statistics.median(ratios):.2f}x; {100 * flipped:.3f} % of the "
                  f"song's cells differ from float32, {100 * agree:.1f} % of float32's notes-on cells kept ({weights})")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
