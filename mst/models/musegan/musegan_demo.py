"""MuseGAN's part of ``make demo``: embedded chorales -> a short WGAN-GP run -> four-voice MIDI + PNG.

Prepares the embedded JSB chorales (``mst/data/corpora/jsb_chorales``, the book's recipe: 229
training windows), trains the ``musegan_demo`` preset for 60 generator steps (well under 2 minutes
on 2 cores: it exercises the pipeline, the music of the real run is in ``docs/results/musegan.md``),
then writes generated windows for the ``random`` and ``ones`` controls with their nearest
training windows.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

EMBEDDED_CHORALES = Path(__file__).resolve().parents[2] / "data" / "corpora" / "jsb_chorales" / "jsb16th_separated.npz"
"""The embedded copy of the JSB chorales (all 382, official split)."""


def prepare_embedded(data_dir: Path) -> dict:
    """Prepares the embedded chorales with the book's recipe into ``data_dir`` (kept if already there)."""
    from mst.records import prepare_driver  # noqa: PLC0415
    from mst.records.manifest import load_manifest  # noqa: PLC0415
    from mst.records.multitrack_rolls import MultitrackRollEncoder  # noqa: PLC0415

    if (data_dir / "manifest.json").is_file():
        return load_manifest(data_dir)
    return prepare_driver.prepare_dataset({"jsb": EMBEDDED_CHORALES}, data_dir, MultitrackRollEncoder(), partition_by="corpus", workers=1)


def run_demo(out_dir: Path, *, fresh: bool = False) -> dict[str, Path]:
    """Runs the MuseGAN demo into ``out_dir``; returns its artifacts by name."""
    from mst.models.musegan import musegan_generate  # noqa: PLC0415
    from mst.registry import get_config  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415

    out_dir = Path(out_dir)
    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    manifest = prepare_embedded(out_dir / "data")
    info = manifest["partitions"]["jsb"]
    print(f"    prepared the embedded chorales: {info['phrases']['train']} training / {info['phrases']['test']} test windows "
          f"of {manifest['window_shape']} (official split)")
    config = get_config("musegan_demo")
    run_dir = out_dir / "run"
    result = train(config, out_dir / "data", run_dir, RunOptions(verbose=2), preset="musegan_demo")
    print(f"    trained musegan_demo for {result.final_step} generator steps ({config.critic_steps} critic steps each): this "
          "exercises the pipeline; after so few steps every noise still gives about the same texture (docs/results/musegan.md)")
    samples = out_dir / "samples"
    status = musegan_generate.main(["--model", str(run_dir / "export"), "--out", str(samples), "--control", "random", "--data", str(out_dir / "data")])
    status = status or musegan_generate.main(["--model", str(run_dir / "export"), "--out", str(samples), "--control", "ones"])
    if status:
        raise RuntimeError(f"MuseGAN demo generation failed with status {status}")
    print(f"    wrote four-voice MIDI + per-track PNGs to {samples} in {time.perf_counter() - start:.0f} s in all")
    return {
        "musegan_model": run_dir / "export",
        "musegan_midi": samples / "random_00.mid",
        "musegan_png": samples / "random.png",
        "musegan_ones_png": samples / "ones.png",
    }
