"""The main job on the embedded MIDI set, end to end, in a few minutes on 2 CPU cores (``make demo``).

Steps: prepare the embedded MIDI (``mst/data/embedded``) into shards -> PNG of random phrases per
genre -> transfer embedded songs both ways with the **shipped** classical <-> pop model (MIDI +
before/after PNG each, no training needed) -> train the tiny CycleGAN preset briefly (to exercise
training, the collapse monitor and the export) -> evaluate the shipped model with the shipped
genre classifier on the embedded test split (the paper's table, content preservation, collapse
figures) -> each generative family's short demo (``Family.demo`` in :mod:`mst.registry`) -> print where
everything is.

Usage:
    python -m mst.demo --out demo_out [--epochs 6] [--fresh]

Re-running resumes what exists (the training run resumes from its checkpoint); ``--fresh`` starts
over.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mst.cli.errors import command
from mst import audio

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


def demo_soundfont(*, quiet: bool = False) -> Path:
    """An installed General MIDI SoundFont, else mst's sine SoundFont (said so unless ``quiet``)."""
    font, is_sine = audio.soundfont_or_sine()
    if is_sine and not quiet:
        print(f"    (no General MIDI SoundFont installed: audio uses mst's sine tones; {audio.INSTALL_HINT.split(', or pass')[0]} for real instruments)")
    return font


def run_demo(out: Path, *, epochs: int, fresh: bool) -> dict[str, Path]:
    """Runs every step of the demo into ``out``; returns the main artifacts by name."""
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    artifacts: dict[str, Path] = {}
    from mst import registry  # noqa: PLC0415  (no TensorFlow)

    families = registry.families_with("demo")  # the generative families' own short demos
    total = 5 + len(families)

    t = _step(f"1/{total} prepare the embedded MIDI set ({EMBEDDED_DIR}) -> {data_dir}")
    if not (data_dir / "manifest.json").exists():
        genre_dirs = {p.name: p for p in sorted(EMBEDDED_DIR.iterdir()) if p.is_dir()}
        manifest = prepare_driver.prepare_dataset(genre_dirs, data_dir, PianorollPhraseEncoder(), workers=2, progress=True)
    else:
        from mst import records  # noqa: PLC0415

        manifest = records.load_manifest(data_dir)
    print(prepare_driver.format_summary(manifest))
    artifacts["phrases_png"] = out / "phrases_per_genre.png"
    _phrase_grid(data_dir, artifacts["phrases_png"])
    _done(t)

    import_tensorflow()
    from mst.models.cyclegan import pretrained  # noqa: PLC0415
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    t = _step(f"2/{total} transfer embedded songs with the shipped classical <-> pop model (no training)")
    print("    (most embedded songs were in the shipped model's training data; transfers of held-out songs: docs/results/)")
    model = transfer.load_model(pretrained.shipped_generators())
    transfers = out / "transfers"
    soundfont = demo_soundfont()
    for genre, direction in ((GENRE_A, f"{GENRE_A}2{GENRE_B}"), (GENRE_B, f"{GENRE_B}2{GENRE_A}")):
        for song in _test_songs(manifest, genre, SONGS_PER_DIRECTION):
            target = transfers / f"{song.stem}_{direction}.mid"
            result = transfer.transfer_song(song, model, direction=model.resolve_direction(direction), out_path=target, plot=True, overwrite=True)
            print(f"    {song.name} ({genre}) -> {target.name}: {result.notes_written} notes from the source's "
                  f"{_note_count(result.source_roll)}, {result.timing['total']:.2f} s")
            for warning in result.warnings:
                print(f"      warning: {warning}")
            artifacts[f"{direction}_{song.stem}"] = target
            if song == _test_songs(manifest, genre, SONGS_PER_DIRECTION)[0]:
                for midi in (song, target):  # listen: the source and its transfer
                    rendering = audio.render_midi(midi, transfers / "audio" / f"{midi.stem}.wav", soundfont)
                    print(f"      audio {rendering.wav.name}: {rendering.audio_seconds:.0f} s rendered in {rendering.render_seconds:.1f} s")
                artifacts[f"{direction}_{song.stem}_audio"] = transfers / "audio" / f"{target.stem}.wav"
    _done(t)

    from mst.registry import get_config  # noqa: PLC0415
    from mst.training.driver import RunOptions, train  # noqa: PLC0415

    t = _step(f"3/{total} train the tiny CycleGAN briefly ({GENRE_A} <-> {GENRE_B}, {epochs} epochs: exercises training, not quality)")
    print("    (with the shipped model's objective options; the collapse monitor warns while a run this short is still at the floor)")
    run_dir = out / "cyclegan_run"
    config = get_config(
        "cyclegan_tiny",
        [f"genre_a={GENRE_A}", f"genre_b={GENRE_B}", f"epochs={epochs}", "epoch_step=" + str(max(1, epochs // 2)), "cycle_loss=bce", "content_weight=2",
         f"sample_every_epochs={epochs}"],  # samples of the last epoch only: the first ones are silent
    )
    train(config, data_dir, run_dir, RunOptions(verbose=2), preset="cyclegan_tiny")
    artifacts["tiny_model"] = run_dir / "export"
    artifacts["tiny_monitor"] = run_dir / "monitor.png"
    _done(t)

    from mst.models.cyclegan import cyclegan_report  # noqa: PLC0415

    t = _step(f"4/{total} evaluate the shipped model with the shipped classifier (the paper's protocol, embedded test split)")
    result, paths = cyclegan_report.run_evaluation(
        pretrained.shipped_generators(), pretrained.shipped_classifier(), data_dir, out / "report", label="demo: shipped classical <-> pop model"
    )
    strength = result.strength()
    print(f"    S_tot^D = {strength.total:.1f} % on the embedded test phrases (see the report for content preservation and collapse figures)")
    artifacts["report"] = paths["report"]
    _done(t)

    # The generative families: each registers a short demo of its own (Family.demo).
    for number, entry in enumerate(families, start=5):
        t = _step(f"{number}/{total} {entry.description}")
        written = entry.resolve("demo")(out / entry.name, fresh=fresh)
        artifacts.update(written)
        for name, path in list(written.items()):  # listen to what the family generated
            if Path(path).suffix.lower() in (".mid", ".midi") and Path(path).is_file():
                rendering = audio.render_midi(path, Path(path).with_suffix(".wav"), demo_soundfont(quiet=True))
                artifacts[f"{name}_audio"] = rendering.wav
                print(f"    audio {rendering.wav.name}: {rendering.audio_seconds:.0f} s rendered in {rendering.render_seconds:.1f} s")
        _done(t)

    _step(f"{total}/{total} where things are")
    width = max(len(k) for k in artifacts)
    for name, path in artifacts.items():
        print(f"    {name:<{width}}  {path}")
    return artifacts


SONGS_PER_DIRECTION = 2


def _test_songs(manifest: dict, genre: str, count: int) -> list[Path]:
    """Embedded songs of ``genre`` in the test split first (the shipped model never saw those
    phrases in *this* split), then the others, ``count`` in all."""
    songs = sorted((EMBEDDED_DIR / genre).glob("*.mid"))
    test_ids = {song["song_id"] for song in manifest["songs"].get(genre, []) if song["split"] == "test"}
    songs.sort(key=lambda p: (p.name not in test_ids, p.name))
    if not songs:
        raise FileNotFoundError(f"no embedded MIDI for genre {genre!r} in {EMBEDDED_DIR / genre}")
    return songs[:count]


def _note_count(roll) -> int:
    from mst.metrics.music import note_count  # noqa: PLC0415

    return int(note_count(roll))


@command("mst.demo")
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--epochs", type=int, default=6, help="epochs of the tiny CycleGAN run (it exercises training; its first epochs are silent)")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args(argv)
    np.set_printoptions(precision=3)
    run_demo(args.out, epochs=args.epochs, fresh=args.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
