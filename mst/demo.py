"""The main job on the embedded MIDI set, end to end, in a few minutes on 2 CPU cores (``make demo``).

Steps: prepare the embedded MIDI (``mst/data/embedded``) into shards → PNG of random phrases per
genre → train the tiny CycleGAN preset on classical ↔ pop → export it (SavedModel + ``.keras``) →
transfer one embedded song each way (MIDI + before/after PNG) → train the tiny genre classifier →
evaluate the CycleGAN with the paper's protocol (report with table, metrics, PNGs) → print where
everything is.

Usage:
    python -m mst.demo --out demo_out [--epochs 8] [--fresh]

Re-running resumes what exists (the training runs resume from their checkpoints); ``--fresh``
starts over.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mst.encodings import pianoroll_extract as extract
from mst.records import prepare_driver
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder
from mst.runtime import import_tensorflow

EMBEDDED_DIR = Path(__file__).resolve().parent / "data" / "embedded"
GENRE_A, GENRE_B = "classical", "pop"  # the paper's CP pair, in its order


def _step(title: str) -> float:
    print(f"\n=== {title}", flush=True)
    return time.perf_counter()


def _done(start: float) -> None:
    print(f"    ({time.perf_counter() - start:.1f} s)", flush=True)


def _first_song(genre: str) -> Path:
    songs = sorted((EMBEDDED_DIR / genre).glob("*.mid"))
    if not songs:
        raise FileNotFoundError(f"no embedded MIDI for genre {genre!r} in {EMBEDDED_DIR / genre}")
    return songs[0]


def _phrase_grid(data_dir: Path, png: Path, per_genre: int = 4) -> None:
    """Random training phrases of each genre in one PNG."""
    from mst import plotting, records  # noqa: PLC0415

    manifest = records.load_manifest(data_dir)
    phrases_by_genre = {}
    for genre in sorted(manifest["partitions"]):
        dataset = records.phrase_dataset(data_dir, genre, "train", batch_size=64, shuffle=True, seed=0)
        batch = next(iter(dataset)).numpy()
        phrases_by_genre[genre] = batch[:per_genre]
    plotting.save_phrase_grid_png(png, phrases_by_genre, n_per_row=per_genre)


def run_demo(out: Path, *, epochs: int, classifier_epochs: int, fresh: bool) -> dict[str, Path]:
    """Runs every step of the demo into ``out``; returns the main artifacts by name."""
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    artifacts: dict[str, Path] = {}

    t = _step(f"1/6 prepare the embedded MIDI set ({EMBEDDED_DIR}) -> {data_dir}")
    if not (data_dir / "manifest.json").exists():
        genre_dirs = {p.name: p for p in sorted(EMBEDDED_DIR.iterdir()) if p.is_dir()}
        manifest = prepare_driver.prepare_dataset(genre_dirs, data_dir, PianorollPhraseEncoder(extract.PhraseOptions()), workers=2, progress=True)
    else:
        from mst import records  # noqa: PLC0415

        manifest = records.load_manifest(data_dir)
    print(prepare_driver.format_summary(manifest))
    artifacts["phrases_png"] = out / "phrases_per_genre.png"
    _phrase_grid(data_dir, artifacts["phrases_png"])
    _done(t)

    import_tensorflow()
    from mst.registry import get_config  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415

    t = _step(f"2/6 train the tiny CycleGAN ({GENRE_A} <-> {GENRE_B}, {epochs} epochs)")
    run_dir = out / "cyclegan_run"
    config = get_config("cyclegan_tiny", [f"genre_a={GENRE_A}", f"genre_b={GENRE_B}", f"epochs={epochs}", "epoch_step=" + str(max(1, epochs // 2))])
    train(config, data_dir, run_dir, RunOptions(verbose=2), preset="cyclegan_tiny")
    artifacts["model"] = run_dir / "export"
    artifacts["loss_curves"] = run_dir / "loss_curves.png"
    _done(t)

    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    t = _step("3/6 transfer one embedded song each way (SavedModel export)")
    model = transfer.load_model(artifacts["model"] / "saved_model")
    transfers = out / "transfers"
    for genre, direction in ((GENRE_A, "a2b"), (GENRE_B, "b2a")):
        song = _first_song(genre)
        target = transfers / f"{song.stem}_{direction}.mid"
        result = transfer.transfer_song(song, model, direction=direction, out_path=target, plot=True, overwrite=True)
        print(f"    {song.name} ({genre}) -> {target} ({result.num_phrases} phrases, {result.notes_written} notes)")
        artifacts[f"transfer_{direction}"] = target
    _done(t)

    t = _step(f"4/6 train the tiny genre classifier ({GENRE_A} vs {GENRE_B}, {classifier_epochs} epochs)")
    classifier_dir = out / "classifier_run"
    classifier_config = get_config(
        "classifier_tiny", [f"genre_a={GENRE_A}", f"genre_b={GENRE_B}", f"epochs={classifier_epochs}", "batch_size=16"]
    )
    train(classifier_config, data_dir, classifier_dir, RunOptions(verbose=2), preset="classifier_tiny")
    artifacts["classifier"] = classifier_dir
    _done(t)

    from mst.models.cyclegan import cyclegan_report as evaluation  # noqa: PLC0415

    t = _step("5/6 evaluate the CycleGAN with the paper's protocol")
    result, paths = evaluation.run_evaluation(artifacts["model"], classifier_dir, data_dir, out / "report", label="demo (cyclegan_tiny)")
    strength = result.strength()
    print(f"    S_tot^D = {strength.total:.1f} % (tiny model, {epochs} epochs: expect little transfer)")
    artifacts["report"] = paths["report"]
    _done(t)

    _step("6/6 where things are")
    width = max(len(k) for k in artifacts)
    for name, path in artifacts.items():
        print(f"    {name:<{width}}  {path}")
    return artifacts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--epochs", type=int, default=8, help="CycleGAN epochs (tiny preset)")
    parser.add_argument("--classifier-epochs", type=int, default=10)
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args(argv)
    np.set_printoptions(precision=3)
    run_demo(args.out, epochs=args.epochs, classifier_epochs=args.classifier_epochs, fresh=args.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
