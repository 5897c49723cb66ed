"""The attention RNN's part of ``make demo``: embedded cello suites -> tokens -> a short training -> a sample.

Run by :mod:`mst.demo` through ``Family.demo``; on its own::

    python -m mst.models.attention_rnn.attention_rnn_demo --out demo_out/attention_rnn [--fresh]

Steps (about a minute on 2 CPU cores): prepare the 27 embedded public-domain movements of suites
1, 3, 4 and 5 (``mst/data/corpora/cello_suites``) as ``note_tokens`` (rests as tokens, 20% of
the movements held out), train ``attention_rnn_tiny`` for its two short epochs with validation,
then sample 64 tokens in-graph at T = 0.5 from its best checkpoint and write MIDI + the roll,
attention and pitch-probability PNGs. Re-running resumes (the finished run is reused); ``fresh``
starts over.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpora" / "cello_suites"
PRESET = "attention_rnn_tiny"


def run_demo(out_dir, *, fresh: bool = False) -> dict[str, Path]:
    """Runs the steps above into ``out_dir``; returns the artifacts by name."""
    from mst import registry  # noqa: PLC0415
    from mst.encodings.note_tokens import NoteTokenOptions  # noqa: PLC0415
    from mst.models.attention_rnn import attention_rnn_generate  # noqa: PLC0415
    from mst.models.attention_rnn.attention_rnn_export import load_attention_rnn  # noqa: PLC0415
    from mst.records.note_token_encoder import NoteTokenEncoder  # noqa: PLC0415
    from mst.records.prepare_driver import prepare_dataset  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415

    out_dir = Path(out_dir)
    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    data_dir, run_dir = out_dir / "data", out_dir / "run"
    started = time.perf_counter()
    print("== attention RNN: embedded cello suites 1, 3, 4, 5 -> note tokens", flush=True)
    if not (data_dir / "manifest.json").is_file():
        manifest = prepare_dataset({"cello": CORPUS_DIR}, data_dir, NoteTokenEncoder(NoteTokenOptions()), partition_by="corpus", test_ratio=0.2)
    else:
        import json  # noqa: PLC0415

        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["token_counts"]["cello"]
    sizes = manifest["vocabulary"]["sizes"]
    print(f"   {counts['train']['songs']} / {counts['test']['songs']} movements, {counts['train']['windows']} / {counts['test']['windows']} "
          f"windows (train / held out), {sizes['pitch']} pitch and {sizes['duration']} duration tokens", flush=True)
    print(f"== attention RNN: training {PRESET} (validation on the held-out movements)", flush=True)
    config = registry.get_config(PRESET)
    result = train(config, data_dir, run_dir, RunOptions(verbose=0), preset=PRESET)
    print(f"   step {result.final_step} of {result.total_steps}; exports: {run_dir / 'export'}, {run_dir / 'export_best'}", flush=True)
    print("== attention RNN: sampling 64 tokens in one tf.while_loop (T = 0.5) from the best checkpoint", flush=True)
    model = load_attention_rnn(run_dir / "export_best")
    generation = attention_rnn_generate.generate(model.sample, model.vocabulary, length=64, temperature_pitch=0.5, temperature_duration=0.5,
                                                 seed=0, seq_len=model.seq_len)
    written = attention_rnn_generate.write_generation(generation, out_dir / "attention_rnn_sample.mid", png=True, title="demo (tiny model), T=0.5")
    print(f"   {len(generation.pitch)} tokens; wrote {', '.join(str(p) for p in written.values())} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return {f"attention_rnn_{name}": path for name, path in written.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The attention RNN demo on the embedded cello suites.")
    parser.add_argument("--out", type=Path, default=Path("demo_out") / "attention_rnn")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args(argv)
    run_demo(args.out, fresh=args.fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
