"""MusicVAE training throughput (examples/s) per preset against an in-run float32 matmul peak, and sampling latency.

Runs, round-robin in one process (the host is noisy: configurations are interleaved, medians
reported): a float32 matmul probe (2048^3 GEMM), and one training step of each preset on random
data of the preset's shape (the first, tracing call excluded). Achieved GFLOP/s = analytic FLOPs of
a step / step time, FLOPs counted for the LSTM and Dense matrix products only (2 per multiply-add;
forward x 3 for forward + backward): per step and sequence, an LSTM of ``u`` units on ``d`` inputs
costs ``2 * 4u(d + u)`` per time step. Scheduled-sampling presets run the step-by-step decoder.

Sampling latency: ``sample`` of a SavedModel (``--export``, e.g. a trained run's ``export/``)
with ``n = 1`` at temperature 0.5, median of ``--latency-repeats`` calls after one warm-up; without
``--export`` an untrained model of each latency preset is exported to a temporary folder first.

Usage:
    python benchmarks/bench_music_vae.py                                   # CPU presets, 3 rounds
    python benchmarks/bench_music_vae.py --presets groovae_4bar hierdec_mel_16bar --batch 64
    python benchmarks/bench_music_vae.py --export runs/g4/export --latency-only
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import matmul_peak_gflops  # noqa: E402  (benchmarks/benchlib.py)

from mst.runtime import import_tensorflow  # noqa: E402

tf = import_tensorflow()

from mst.models.music_vae.music_vae import build_music_vae, make_optimizer  # noqa: E402
from mst.registry import get_config  # noqa: E402

DEFAULT_PRESETS = ("groovae_4bar_cpu", "groovae_2bar_humanize_cpu", "cat_mel_2bar_small_cpu", "hierdec_mel_16bar_cpu")
LATENCY_PRESETS = ("groovae_4bar_cpu", "hierdec_mel_16bar_cpu")




def step_flops(config) -> float:
    """Forward + backward FLOPs of one training example (LSTM and Dense products only)."""

    def lstm(d, u, steps):
        return 2.0 * 4 * u * (d + u) * steps

    total, width, steps = 0.0, config.output_depth, config.max_seq_len
    for units in config.enc_rnn_size:
        total += 2 * lstm(width, units, steps)
        width = 2 * units
    total += 2 * 2.0 * width * config.z_size
    dec = config.dec_rnn_size
    if config.decoder == "hierarchical":
        bars = config.level_lengths[0]
        total += 2.0 * config.z_size * 2 * sum(dec)
        width = 1
        for units in dec:
            total += lstm(width, units, bars)
            width = units
        total += 2.0 * dec[-1] * 2 * sum(dec) * bars
        context = dec[-1]
    else:
        total += 2.0 * config.z_size * 2 * sum(dec)
        context = config.z_size
    width = config.output_depth + context
    for units in dec:
        total += lstm(width, units, steps)
        width = units
    total += 2.0 * width * config.output_depth * steps
    return 3.0 * total


def make_step(config, batch: int):
    model = build_music_vae(config)
    model.compile(optimizer=make_optimizer(config))
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    if config.encoding == "groove":
        x = (rng.random((batch, config.max_seq_len, 27)) < 0.1).astype(np.float32)
    else:
        x = np.eye(90, dtype=np.float32)[rng.integers(0, 90, (batch, config.max_seq_len))]
    data = (tf.constant(x), tf.constant(x))
    step = tf.function(model.train_step)

    def run() -> float:
        start = time.perf_counter()
        logs = step(data)
        float(logs["loss"])
        return time.perf_counter() - start

    return model, run


def sampling_latency(saved_model_dir: str, repeats: int) -> float:
    loaded = tf.saved_model.load(saved_model_dir)
    sample = loaded.signatures["sample"]
    sample(n=tf.constant(1), temperature=tf.constant(0.5))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sample(n=tf.constant(1), temperature=tf.constant(0.5))["outputs"].numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS))
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: each preset's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--export", action="append", default=[], help="SavedModel export folder(s) for the latency (repeatable)")
    parser.add_argument("--latency-repeats", type=int, default=5)
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    results = {"threads": {"intra": tf.config.threading.get_intra_op_parallelism_threads(), "inter": tf.config.threading.get_inter_op_parallelism_threads()}}
    if not args.latency_only:
        steps = {}
        for name in args.presets:
            config = get_config(name)
            batch = args.batch or config.batch_size
            _, run = make_step(config, batch)
            started = time.perf_counter()
            run()
            steps[name] = {"run": run, "batch": batch, "first_s": time.perf_counter() - started, "times": [], "config": config}
        peaks = []
        for round_index in range(args.rounds):
            peaks.append(matmul_peak_gflops())
            for entry in steps.values():
                entry["times"].append(entry["run"]())
            print(f"round {round_index + 1}/{args.rounds}: matmul {peaks[-1]:.1f} GFLOP/s; " + ", ".join(f"{n} {e['times'][-1]:.3f} s" for n, e in steps.items()), flush=True)
        peak = statistics.median(peaks)
        results["matmul_peak_gflops"] = peak
        results["training"] = {}
        print(f"\nfloat32 matmul peak (median of {args.rounds}): {peak:.1f} GFLOP/s\n")
        print("| preset | batch | step (s) | examples/s | GFLOP/s | % of matmul peak | first step (s) |")
        print("|---|---|---|---|---|---|---|")
        for name, entry in steps.items():
            seconds = statistics.median(entry["times"])
            gflops = step_flops(entry["config"]) * entry["batch"] / seconds / 1e9
            results["training"][name] = {"batch": entry["batch"], "step_s": seconds, "examples_per_s": entry["batch"] / seconds, "gflops": gflops,
                                         "percent_of_peak": 100 * gflops / peak, "first_step_s": entry["first_s"]}
            print(f"| {name} | {entry['batch']} | {seconds:.3f} | {entry['batch'] / seconds:.1f} | {gflops:.2f} | {100 * gflops / peak:.1f} | {entry['first_s']:.1f} |")
    from mst.models.music_vae.music_vae_export import export_music_vae  # noqa: PLC0415

    exports = list(args.export)
    with tempfile.TemporaryDirectory() as folder:
        if not exports:
            for name in LATENCY_PRESETS:
                config = get_config(name)
                exports.append(str(export_music_vae(build_music_vae(config), Path(folder) / name, config=config)))
        results["sampling_latency_s"] = {}
        print("\n| export | sequence | sample(n=1) latency (s) |\n|---|---|---|")
        for export in exports:
            info = json.loads((Path(export) / "export.json").read_text())
            seconds = sampling_latency(str(Path(export) / "saved_model"), args.latency_repeats)
            steps = info["endpoints"]["encode"]["inputs"]["shape"][1]
            what = f"{steps // 16}-bar {'groove' if info['encoding'] == 'groove' else 'melody'}"
            results["sampling_latency_s"][info.get("preset") or info.get("config", {}).get("name", export)] = {"sequence": what, "seconds": seconds}
            print(f"| {info.get('config', {}).get('name', export)} | {what} | {seconds:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
