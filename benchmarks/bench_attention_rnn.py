"""Attention RNN: training windows/s, and in-graph sampling vs the book's per-note ``predict`` loop, in one run.

Measured in one process, round-robin over ``--rounds`` (medians reported; the first, tracing call
of each route is excluded):

* **training**: ``train_on_batch``-free ``fit`` steps of the compiled model (RMSprop, both heads)
  on batches of 32 windows of 32 tokens; windows/s = steps x batch / time;
* **sampling**: ``--tokens`` tokens (default 500) with the ``sample`` function
  (:mod:`mst.models.attention_rnn.attention_rnn_sampling`, one ``tf.while_loop``) vs the same
  number of steps of :func:`~mst.models.attention_rnn.attention_rnn_sampling.predict_loop` (one
  ``model.predict`` per token from Python, as the book's notebook samples). Both draw at T = 1;
  a draw of START ends a sample early, so times are compared per generated token.

By default the model is the book's size (387 pitch / 18 duration tokens, 1,138,122 parameters)
with random weights; ``--model`` takes a trained export or run folder instead (its vocabulary).

Usage:
    python benchmarks/bench_attention_rnn.py [--rounds 3] [--tokens 500] [--train-steps 30] [--model RUN_OR_EXPORT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mst.runtime import import_tensorflow  # noqa: E402

tf = import_tensorflow()

from mst.models.attention_rnn import attention_rnn_sampling as sampling  # noqa: E402
from mst.models.attention_rnn.attention_rnn import build_attention_rnn  # noqa: E402
from mst.models.attention_rnn.attention_rnn_presets import PRESETS  # noqa: E402
from mst.models.attention_rnn.attention_rnn_task import compile_attention_rnn  # noqa: E402


def _time(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="trained export / run folder (default: random weights at 387/18 tokens)")
    args = parser.parse_args(argv)

    config = PRESETS["attention_rnn_cello"]
    if args.model:
        from mst.models.attention_rnn.attention_rnn_export import load_attention_rnn  # noqa: PLC0415

        loaded = load_attention_rnn(args.model)
        sizes = loaded.vocabulary.sizes
        keras_model = getattr(loaded, "_keep_alive", None)
        if not hasattr(keras_model, "predict"):
            print("--model must be a run folder or a .keras file (the predict loop needs the Keras model)")
            return 2
    else:
        sizes = (387, 18)
        keras_model = build_attention_rnn(*sizes, seed=0)
    train_model = compile_attention_rnn(build_attention_rnn(*sizes, seed=1), config)
    print(f"model: {sizes[0]} pitch / {sizes[1]} duration tokens, {keras_model.count_params():,} parameters; "
          f"TF threads intra {tf.config.threading.get_intra_op_parallelism_threads()} inter {tf.config.threading.get_inter_op_parallelism_threads()}")

    rng = np.random.default_rng(0)
    batch = args.batch_size
    windows = {"pitch": rng.integers(2, sizes[0], (batch * args.train_steps, 32), dtype=np.int32),
               "duration": rng.integers(2, sizes[1], (batch * args.train_steps, 32), dtype=np.int32)}
    targets = {"pitch": rng.integers(2, sizes[0], batch * args.train_steps, dtype=np.int32),
               "duration": rng.integers(2, sizes[1], batch * args.train_steps, dtype=np.int32)}
    dataset = tf.data.Dataset.from_tensor_slices((windows, targets)).batch(batch, drop_remainder=True).cache()
    sample = sampling.make_sample_function(keras_model, sizes)

    def run_sample(seed):
        out = sample(tf.constant([], tf.int32), tf.constant([], tf.int32), tf.constant(args.tokens), tf.constant(1.0), tf.constant(1.0),
                     tf.constant(seed, tf.int64))
        return int(out["pitch"].shape[0])

    # Warm-up (tracing) calls, excluded.
    first_fit = _time(lambda: train_model.fit(dataset.take(2), verbose=0))
    first_sample = _time(lambda: run_sample(99))
    first_predict = _time(lambda: sampling.predict_loop(keras_model, 2, temperature=1.0, seed=99))
    print(f"first calls (tracing, excluded): fit {first_fit:.2f} s, sample {first_sample:.2f} s, predict loop {first_predict:.2f} s")

    train_rates, graph_per_token, predict_per_token = [], [], []
    for round_index in range(args.rounds):
        seconds = _time(lambda: train_model.fit(dataset, verbose=0))
        train_rates.append(batch * args.train_steps / seconds)
        counts = []
        seconds = _time(lambda: counts.append(run_sample(round_index)))
        graph_per_token.append(seconds / max(counts[-1], 1))
        pitches = []
        seconds = _time(lambda: pitches.append(sampling.predict_loop(keras_model, args.tokens, temperature=1.0, seed=round_index)[0]))
        predict_per_token.append(seconds / max(len(pitches[-1]), 1))
        print(f"round {round_index + 1}: train {train_rates[-1]:.0f} windows/s; in-graph {counts[-1]} tokens at "
              f"{graph_per_token[-1] * 1e3:.2f} ms/token; predict loop {len(pitches[-1])} tokens at {predict_per_token[-1] * 1e3:.2f} ms/token")
    graph, predict = statistics.median(graph_per_token), statistics.median(predict_per_token)
    print(f"median over {args.rounds} rounds: training {statistics.median(train_rates):.0f} windows/s (batch {batch}); "
          f"sampling {args.tokens} tokens: in-graph {graph * args.tokens:.2f} s ({graph * 1e3:.2f} ms/token), "
          f"predict loop {predict * args.tokens:.2f} s ({predict * 1e3:.2f} ms/token); ratio {predict / graph:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
