"""MusicVAE's part of ``make demo``: embedded GMD subset -> grooves -> a short GrooVAE training -> a sample and a humanized groove.

Run by :mod:`mst.demo` through ``Family.demo``; on its own::

    python -m mst.models.music_vae.music_vae_demo --out demo_out/music_vae [--fresh]

Steps (well under two minutes on 2 CPU cores): prepare the 25 embedded Groove MIDI Dataset beats
(``mst/data/corpora/groove_gmd_subset``, CC BY 4.0) as 4-bar ``groove`` tensors with their
official split, train ``groovae_tiny`` briefly (40 steps), then write a groove sampled from the
prior at temperature 0.5 and the first 4 bars of a held-out test beat, quantised (velocities and
offsets removed) and passed through the model, each as MIDI + drum-grid PNG. A tiny model trained
for a minute does not groove yet: the demo shows the pipeline, ``docs/results/music_vae.md`` the
real run. Re-running reuses the finished run; ``fresh`` starts over.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpora" / "groove_gmd_subset"
PRESET = "groovae_tiny"
DEMO_STEPS = 40


def held_out_beat(corpus_dir: Path = CORPUS_DIR) -> Path:
    """The first official-test beat of the embedded subset."""
    with open(corpus_dir / "info.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "test":
                return corpus_dir / row["midi_filename"]
    raise FileNotFoundError(f"{corpus_dir / 'info.csv'} lists no test file")


def run_demo(out_dir, *, fresh: bool = False) -> dict[str, Path]:
    """Runs the steps above into ``out_dir``; returns the artifacts by name."""
    import numpy as np  # noqa: PLC0415

    from mst import registry  # noqa: PLC0415
    from mst.encodings import drums  # noqa: PLC0415
    from mst.models.music_vae import music_vae_generate, music_vae_outputs  # noqa: PLC0415
    from mst.models.music_vae.music_vae_export import load_music_vae  # noqa: PLC0415
    from mst.records.music_vae_records import GrooveEncoder  # noqa: PLC0415
    from mst.records.prepare_driver import prepare_dataset  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415

    out_dir = Path(out_dir)
    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    data_dir, run_dir = out_dir / "data", out_dir / "run"
    started = time.perf_counter()
    print("== MusicVAE: embedded Groove MIDI Dataset subset (25 beats) -> 4-bar groove tensors", flush=True)
    if not (data_dir / "manifest.json").is_file():
        manifest = prepare_dataset({"gmd": CORPUS_DIR}, data_dir, GrooveEncoder(), partition_by="corpus")
    else:
        import json  # noqa: PLC0415

        manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    stats = manifest["partitions"]["gmd"]["kept_file_stats"]
    print(f"   {stats.get('tensors_train', 0)} / {stats.get('tensors_validation', 0)} / {stats.get('tensors_test', 0)} tensors "
          "(official train / validation / test)", flush=True)
    print(f"== MusicVAE: training {PRESET} for {DEMO_STEPS} steps", flush=True)
    config = registry.get_config(PRESET, [f"steps_per_epoch={DEMO_STEPS // 2}"])
    result = train(config, data_dir, run_dir, RunOptions(verbose=0), preset=PRESET)
    print(f"   step {result.final_step} of {result.total_steps}; export: {run_dir / 'export'}", flush=True)
    model = load_music_vae(run_dir / "export")
    sample = model.sample(1, 0.5, seed=0)
    written = {}
    paths = music_vae_outputs.write_groove(out_dir / "music_vae_sample", sample, title="groovae_tiny demo: sample from the prior, T = 0.5")
    written.update(music_vae_sample_mid=paths[0], music_vae_sample_png=paths[1])
    source = held_out_beat()
    window = music_vae_generate.file_windows(source, "groove", model.max_seq_len, pitch_classes="roland", max_windows=1)
    quantised = drums.humanize_input(window[0])
    mu, _ = model.encode(quantised[None])
    humanized = model.decode(mu, 0.5, seed=0)
    pairs = np.stack([window[0], quantised, humanized[0]])
    music_vae_outputs.write_groove_midi(out_dir / "music_vae_humanized.mid", humanized)
    png = music_vae_outputs.save_groove_png(out_dir / "music_vae_humanized.png", pairs, titles=["drummer (test split)", "quantised input", "model output"],
                                            title=f"groovae_tiny demo: {source.name}, quantised and passed through the model")
    written.update(music_vae_humanized_mid=out_dir / "music_vae_humanized.mid", music_vae_humanized_png=Path(png))
    hits = int((sample[0, :, :9] > 0.5).sum())
    print(f"   sample: {hits} hits in 4 bars; wrote {', '.join(str(p) for p in written.values())} ({time.perf_counter() - started:.0f} s)", flush=True)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The MusicVAE (GrooVAE) demo on the embedded GMD subset.")
    parser.add_argument("--out", type=Path, default=Path("demo_out") / "music_vae")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args(argv)
    run_demo(args.out, fresh=args.fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
