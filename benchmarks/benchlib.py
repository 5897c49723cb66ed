"""Helpers shared by the benchmark scripts (imported as ``benchlib``: a script's folder is on ``sys.path``)."""

from __future__ import annotations

import time


def matmul_peak_gflops(n: int = 2048, repeats: int = 3) -> float:
    """Best-of-``repeats`` float32 GEMM rate of this process's TensorFlow runtime, in GFLOP/s.

    The in-run reference the training benchmarks report their throughput against: measured in the
    same process, with the same thread settings and the same neighbours on the machine.
    """
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)

    @tf.function
    def matmul(x, y):
        return tf.reduce_sum(tf.linalg.matmul(x, y))

    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9
