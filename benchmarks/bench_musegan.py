"""MuseGAN training throughput (generator steps/s, each with its critic steps) against the float32 matmul peak, in one run.

Runs, round-robin in one process: a float32 matmul peak probe (2048^3 GEMM, best of 3) and
``--steps`` training steps of the preset (one generator update after ``critic_steps`` critic
updates, WGAN-GP, random {-1, +1} windows). The first (tracing) call is timed separately.

Achieved GFLOP/s = analytic FLOPs of one step / step time. Forward FLOPs G (generator) and D
(critic) count every Dense, Conv2DTranspose and Conv3D (2 per multiply-add); one generator step is
taken as ``critic_steps x (G + 15 D) + 3 G + 3 D`` per example: a critic update = one generator
forward + critic forward and backward on real and fake (2 x 3 D) + the gradient penalty (forward,
backward to the input, and back-propagation through that backward pass for the weights: about 9 D);
the generator update = generator forward and backward (3 G) + the critic forward and backward to its
input (3 D). BatchNorm and activations are not counted.

Usage:
    python benchmarks/bench_musegan.py                        # the book's model, batch 64, 2 rounds
    python benchmarks/bench_musegan.py --preset musegan_tiny --rounds 2 --steps 3
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

from mst.models.musegan.musegan_task import build_compiled_musegan  # noqa: E402
from mst.registry import get_config  # noqa: E402


def forward_flops(model: keras.Model) -> float:
    """Forward FLOPs per example of the Dense / Conv2DTranspose / Conv3D layers of a functional model; nested
    models count once per call (``_inbound_nodes``: each bar generator is called once per bar)."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += len(layer._inbound_nodes) * forward_flops(layer)  # a bar generator runs once per bar
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            in_positions = int(np.prod(layer.input.shape[1:-1]))
            total += 2.0 * in_positions * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv3D):
            out_positions = int(np.prod(layer.output.shape[1:-1]))
            total += 2.0 * out_positions * int(np.prod(layer.kernel.shape))
    return total




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="musegan_jsb")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per round")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)

    config = get_config(args.preset, args.overrides)
    model = build_compiled_musegan(config, steps_per_epoch=100)
    g, d = forward_flops(model.generator), forward_flops(model.critic)
    per_example = config.critic_steps * (g + 15 * d) + 3 * g + 3 * d
    flops = per_example * config.batch_size
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    print(f"preset {args.preset}: batch {config.batch_size}, {config.critic_steps} critic steps per generator step; "
          f"TF {tf.__version__}, Keras {keras.__version__}, intra-op threads {threads or 'default'}")
    print(f"FLOPs: generator forward {g / 1e9:.3f} GFLOP/window, critic forward {d / 1e9:.3f} GFLOP/window, "
          f"generator step {flops / 1e12:.3f} TFLOP")
    rng = np.random.default_rng(0)
    real = np.sign(rng.normal(size=(config.critic_steps * config.batch_size, *config.window_shape))).astype(np.float32)
    start = time.perf_counter()
    model.train_on_batch(real)
    print(f"first call (trace + 1 step): {time.perf_counter() - start:.1f} s", flush=True)
    peaks, times = [], []
    for round_index in range(args.rounds):
        peaks.append(matmul_peak_gflops())
        for _ in range(args.steps):
            start = time.perf_counter()
            model.train_on_batch(real)
            times.append(time.perf_counter() - start)
        print(f"round {round_index + 1}/{args.rounds}: matmul {peaks[-1]:.1f} GFLOP/s; steps {', '.join(f'{t:.2f}' for t in times[-args.steps:])} s", flush=True)
    peak, seconds = statistics.median(peaks), statistics.median(times)
    achieved = flops / seconds / 1e9
    print(f"\nfloat32 matmul peak (median of {len(peaks)}): {peak:.1f} GFLOP/s")
    print(f"median step {seconds:.2f} s = {1 / seconds:.3f} generator steps/s ({config.critic_steps} critic steps each), "
          f"{achieved:.1f} GFLOP/s = {achieved / peak:.2f} of the matmul peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
