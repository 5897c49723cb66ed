"""CycleGAN training throughput against the machine's own float32 matmul peak, measured in one run.

Runs, round-robin in one process (the host is noisy, so configurations are interleaved and medians
reported): a float32 matmul peak probe (4096^3 GEMM), one training step of the chosen preset without
XLA, and one with XLA (``jit_compile=True``). The first (tracing/compiling) call of each
configuration is timed separately and excluded from the medians.

Achieved GFLOP/s = analytic FLOPs of one step / step time. FLOPs follow the authors' schedule
(docs/reference/cyclegan.md#flops): generator step = 4 generator passes x 3 (forward + backward) + 2 discriminator passes x 2
(backward to the input only); discriminator step = 4 (base) or 8 (partial/full) discriminator passes x 3.
Only convolutions are counted (instance norm and activations are < 1 %).

Usage:
    python benchmarks/bench_train.py                       # paper size, batch 16, 3 rounds
    python benchmarks/bench_train.py --preset cyclegan_classical_pop_cpu --rounds 5
    python benchmarks/bench_train.py --preset cyclegan_tiny --rounds 2  # quick smoke run
    python benchmarks/bench_train.py --mixed-precision     # GPU: add mixed_float16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import matmul_peak_gflops  # noqa: E402  (benchmarks/benchlib.py)

from mst.runtime import import_tensorflow  # noqa: E402

tf = import_tensorflow()
import keras  # noqa: E402

from mst.registry import get_config  # noqa: E402
from mst.models.cyclegan.cyclegan_task import build_compiled_cyclegan  # noqa: E402


# Keras 3's Conv2DTranspose does not subclass Conv2D.
_CONV_TYPES = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)


def _conv_flops(conv, out_h: int, out_w: int, in_h: int, in_w: int, in_channels: int) -> float:
    """Forward FLOPs (2 per multiply-add) of one convolution for one sample."""
    kh, kw = conv.kernel_size
    if isinstance(conv, keras.layers.Conv2DTranspose):
        return 2.0 * in_h * in_w * kh * kw * in_channels * conv.filters
    return 2.0 * out_h * out_w * kh * kw * in_channels * conv.filters


def model_conv_flops(model: keras.Model) -> float:
    """Forward FLOPs of every convolution of a functional model, including those inside composite
    layers such as ``ResidualBlock`` (which keep their convolutions as attributes, stride 1, "valid"
    after reflection padding, so their output size equals the block's)."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, _CONV_TYPES):
            in_h, in_w, in_c = layer.input.shape[1:]
            out_h, out_w, _ = layer.output.shape[1:]
            total += _conv_flops(layer, out_h, out_w, in_h, in_w, in_c)
            continue
        inner = [v for v in vars(layer).values() if isinstance(v, _CONV_TYPES)]
        if inner:
            h, w, c = layer.output.shape[1:]
            total += sum(_conv_flops(conv, h, w, h, w, c) for conv in inner)
    return total


def step_flops(model, batch_size: int) -> tuple[float, float, float]:
    """(generator forward, discriminator forward, whole training step) FLOPs."""
    g = model_conv_flops(model.generator_a2b)
    d = model_conv_flops(model.discriminator_a)
    d_passes = 8 if model.has_mixed_discriminators else 4
    per_sample = 4 * g * 3 + 2 * d * 2 + d_passes * d * 3
    return g, d, per_sample * batch_size




def random_batch(config, rng: np.random.Generator) -> dict:
    shape = (config.batch_size, 64, 84, 1)
    batch = {key: (rng.random(shape) < 0.05).astype("float32") for key in ("a", "b")}
    if config.variant != "base":
        batch["m"] = (rng.random(shape) < 0.05).astype("float32")
    return batch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cyclegan_classical_pop_base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA configuration")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_float16 policy (GPU)")
    args = parser.parse_args(argv)

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    config = get_config(args.preset, args.overrides)
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(f"preset {args.preset}: generator width {config.generator_filters}, {config.generator_residual_blocks} blocks, "
          f"batch {config.batch_size}, variant {config.variant}; devices {devices}; TF {tf.__version__}, Keras {keras.__version__}")

    rng = np.random.default_rng(0)
    batch = random_batch(config, rng)
    configurations = {"tf.function": False} if args.no_xla else {"tf.function": False, "XLA": True}
    models, first_call = {}, {}
    for label, jit in configurations.items():
        model = build_compiled_cyclegan(config, steps_per_epoch=100, jit_compile=jit)
        start = time.perf_counter()
        model.train_on_batch(batch)
        first_call[label] = time.perf_counter() - start
        models[label] = model
    g_flops, d_flops, flops = step_flops(models["tf.function"], config.batch_size)
    print(f"FLOPs: generator forward {g_flops / 1e9:.2f} GFLOP/phrase, discriminator forward {d_flops / 1e9:.3f} "
          f"GFLOP/phrase, training step {flops / 1e12:.3f} TFLOP (batch {config.batch_size})")
    print("first call (trace/compile + 1 step): " + ", ".join(f"{k} {v:.1f} s" for k, v in first_call.items()))

    peaks, times = [], {label: [] for label in models}
    for round_index in range(args.rounds):
        peaks.append(matmul_peak_gflops(4096))
        for label, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(batch)
            times[label].append(time.perf_counter() - start)
        print(f"round {round_index + 1}/{args.rounds}: matmul {peaks[-1]:.0f} GFLOP/s; "
              + ", ".join(f"{k} {v[-1]:.2f} s/step" for k, v in times.items()), flush=True)

    peak = statistics.median(peaks)
    print(f"\nfloat32 matmul peak (median of {len(peaks)}): {peak:.0f} GFLOP/s")
    print(f"{'configuration':<14}{'s/step':>9}{'samples/s':>11}{'GFLOP/s':>10}{'of peak':>9}{'vs tf.function':>16}")
    base = statistics.median(times["tf.function"])
    for label, values in times.items():
        seconds = statistics.median(values)
        achieved = flops / seconds / 1e9
        print(f"{label:<14}{seconds:>9.2f}{config.batch_size / seconds:>11.2f}{achieved:>10.0f}{achieved / peak:>9.2f}"
              f"{base / seconds:>15.2f}x")
    print("target: achieved GFLOP/s >= 0.8 x matmul peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
