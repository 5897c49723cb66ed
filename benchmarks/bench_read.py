"""tf.data read throughput from prepared shards vs what a CycleGAN training step consumes.

    .venv/bin/python benchmarks/bench_read.py [--data-dir DATASET] [--rounds 3]
                                              [--train-samples-per-second 1.36]

Without ``--data-dir`` it first prepares pop909 + piano_midi_de + wjazzd_solos (``<repo>/../shared/data``,
``beat_grid`` policy: the largest dataset) into a temporary folder; it skips cleanly when that data
is absent. Each round reads one full epoch of every pipeline (medians over rounds are reported):

* ``phrase_dataset``: all three genres' training phrases, shuffled, batch 16 (decoded in graph);
* ``cyclegan a+b``: the trainer's :class:`mst.records.pianoroll_reader.PairEpochs` for classical ->
  pop (the larger side balanced by a fresh random subset per epoch, as in training), batch 16;
* ``cyclegan a+b+m``: the same with the mixed set M = pop + classical + jazz (the *full* model);
* ``records only``: the raw TFRecord bytes without parsing (the I/O floor).

Reported: phrases/s and steps/s of each pipeline, and the ratio to a training step's consumption.
A training step of the paper-size model at batch 16 takes about 11.8 s on a 2-vCPU machine
(``benchmarks/README.md``, bench_train), i.e. about 1.36 samples/s per domain, so a step consumes
``len(components) * 16`` phrases every ``16 / 1.36`` s. Target: reading >= 10x faster.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mst.encodings.pianoroll_extract import PhraseOptions  # noqa: E402
from mst.records import manifest as manifests  # noqa: E402
from mst.records.pianoroll_examples import phrase_dataset  # noqa: E402
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder  # noqa: E402
from mst.records.pianoroll_reader import PairEpochs  # noqa: E402
from mst.records.prepare_driver import prepare_dataset  # noqa: E402
from mst.records.shards import tensorflow, verify_shards  # noqa: E402

DEFAULT_DATA_ROOT = REPO.parent / "shared" / "data"
CORPORA = {"pop": "pop909/midi", "classical": "piano_midi_de/midis", "jazz": "wjazzd_solos/midi"}
BATCH = 16


def time_epoch(dataset) -> tuple[float, int]:
    """Seconds to iterate ``dataset`` once, and the number of elements."""
    started = time.perf_counter()
    elements = 0
    for _ in dataset:
        elements += 1
    return time.perf_counter() - started, elements


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints a table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="an existing prepared dataset with pop, classical, jazz")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-samples-per-second", type=float, default=1.36,
                        help="samples per second per domain of one training step (paper model, this CPU)")
    args = parser.parse_args(argv)
    scratch = None
    data_dir = args.data_dir
    if data_dir is None:
        if not args.data_root.is_dir():
            print(f"bench_read: skipped: staged data not found at {args.data_root}")
            return 0
        scratch = tempfile.TemporaryDirectory(prefix="mst_bench_read_")
        data_dir = Path(scratch.name) / "dataset"
        started = time.perf_counter()
        prepare_dataset({genre: args.data_root / folder for genre, folder in CORPORA.items()}, data_dir,
                        PianorollPhraseEncoder(PhraseOptions(time_signature_policy="beat_grid")), workers=2)
        print(f"bench_read: prepared {data_dir} in {time.perf_counter() - started:.1f} s")
    tf = tensorflow()
    manifest = manifests.load_manifest(data_dir)
    counts = {genre: manifests.count(manifest, genre, "train") for genre in ("pop", "classical", "jazz")}
    shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])
    print(f"bench_read: {data_dir}: train phrases {counts}, {len(manifest['shards'])} shards, {shard_bytes / 2**20:.1f} MiB")

    started = time.perf_counter()
    verify_shards(data_dir, manifest)
    print(f"verify=True costs {time.perf_counter() - started:.2f} s once (sha256 of every shard)")

    all_train = sum(counts.values())
    train_paths = [str(Path(data_dir) / s["file"]) for s in manifest["shards"] if s["split"] == "train"]
    records_only = tf.data.TFRecordDataset(train_paths, num_parallel_reads=8).batch(BATCH)
    shuffled = phrase_dataset(data_dir, ["pop", "classical", "jazz"], batch_size=BATCH, shuffle=True)
    pair = PairEpochs(data_dir, "classical", "pop", BATCH, seed=0, balancing="random_per_epoch")
    full = PairEpochs(data_dir, "classical", "pop", BATCH, seed=0, mixed_genres=["pop", "classical", "jazz"],
                      balancing="random_per_epoch")
    # epoch -> dataset of that epoch, and the phrases one element holds per batch row
    pipelines = {
        "records only": (lambda epoch: records_only, 1),
        "phrase_dataset": (lambda epoch: shuffled, 1),  # each iteration is a new, reshuffled epoch
        "cyclegan a+b": (pair.dataset, 2),
        "cyclegan a+b+m": (full.dataset, 3),
    }
    timings: dict[str, list[float]] = {name: [] for name in pipelines}
    steps: dict[str, int] = {}
    for epoch in range(args.rounds):
        for name, (make, _) in pipelines.items():
            seconds, elements = time_epoch(make(epoch))
            timings[name].append(seconds)
            steps[name] = elements
    train_step_seconds = BATCH / args.train_samples_per_second
    print(f"\ntraining step (paper model, batch {BATCH}): {train_step_seconds:.1f} s -> consumes "
          f"{args.train_samples_per_second:.2f} phrases/s per domain\n")
    print(f"{'pipeline':<16}{'epoch s':>9}{'steps':>7}{'steps/s':>10}{'phrases/s':>11}{'x training':>12}")
    for name, (_, components) in pipelines.items():
        seconds = statistics.median(timings[name])
        phrases_per_second = steps[name] * BATCH * components / seconds
        consumed = args.train_samples_per_second * components
        print(f"{name:<16}{seconds:>9.2f}{steps[name]:>7}{steps[name] / seconds:>10.1f}{phrases_per_second:>11.0f}"
              f"{phrases_per_second / consumed:>11.0f}x")
    print(f"\n(first-epoch times include filling the full-size shuffle buffer; rounds={args.rounds}, medians)")
    if scratch is not None:
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
