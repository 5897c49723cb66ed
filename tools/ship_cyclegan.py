"""Ships a trained CycleGAN run (and its genre classifier) inside the package, with its figures.

Copies the run's two exported generators and the classifier into ``mst/data/pretrained/`` (the
folders :mod:`mst.models.cyclegan.pretrained` reads), then measures the shipped files on the
dataset's test split and writes the results page:

* the paper's Table VIII layout with S_tot^D (``evaluate.py cyclegan`` on the shipped files);
* the collapse figures per direction (:mod:`mst.metrics.collapse`);
* content preservation (onset F1, pitch-class cosine, note cells kept) of each test phrase against
  its own transfer, next to the same figures for random (source, real target phrase) pairs;
* whole-song transfers of three test songs each way: MIDI and before/after PNGs.

Usage (what docs/results/cyclegan_classical_pop_shipped.md was made with)::

    python tools/ship_cyclegan.py --run runs/ship --classifier runs/clf_cp --data data/cp_beat \
        --results docs/results --songs 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _save_weights_only(source: Path, target: Path) -> None:
    """Re-saves a ``.keras`` model without its optimizer state (a compiled classifier's Adam slots
    would triple its size), through a temporary name."""
    import keras

    from mst import export

    model = export.load_keras(source)
    plain = keras.Model.from_config(model.get_config())  # same architecture, never compiled
    plain.set_weights(model.get_weights())
    temporary = target.with_name(f".{target.stem}.tmp.keras")
    plain.save(temporary)
    temporary.replace(target)


def ship(run: Path, classifier_run: Path) -> tuple[Path, Path]:
    """Copies the generators and the classifier into the package; returns their folders."""
    from mst import atomic
    from mst.models.cyclegan import pretrained

    generators = pretrained.SHIPPED["classical_pop"]
    classifier = pretrained.CLASSIFIERS["classical_pop"]
    for folder, source, files in (
        (generators, run / "export", ("generator_a2b.keras", "generator_b2a.keras")),
        (classifier, classifier_run / "export", ("classifier.keras",)),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            _save_weights_only(source / name, folder / name)
        info = json.loads((source / "export.json").read_text())
        info["keras_files"] = list(files)
        info.pop("saved_model", None)  # only the .keras files ship (they load in safe mode)
        info.pop("endpoints", None)
        atomic.write_json(folder / "export.json", info)
    return generators, classifier


def content_against_random_pairs(data: Path, generators, limit: int, seed: int = 0) -> dict:
    """Per direction: content figures of (source, own transfer) vs (source, random real target phrase)."""
    from mst.metrics.content import onset_precision_recall_f1, pitch_class_cosine_similarity
    from mst.records.pianoroll_reader import load_split_arrays

    rng = np.random.default_rng(seed)
    genres = {"a": generators.genre_a, "b": generators.genre_b}
    phrases = {}
    for side, genre in genres.items():
        x, _ = load_split_arrays(data, [genre], "test")
        phrases[side] = x[np.sort(rng.choice(len(x), size=min(limit, len(x)), replace=False))]
    out = {}
    for direction, (source, target) in {"a2b": ("a", "b"), "b2a": ("b", "a")}.items():
        src = phrases[source][..., 0] > 0
        transfer = generators.transfer(phrases[source], direction)[..., 0] > 0.5
        partner = phrases[target][rng.integers(0, len(phrases[target]), size=len(src))][..., 0] > 0

        def cells_kept(a, b):
            return float(2 * (a & b).sum() / max(int(a.sum() + b.sum()), 1))

        out[f"{genres[source]}2{genres[target]}"] = {
            "phrases": int(len(src)),
            "onset_f1_transfer": float(np.mean(onset_precision_recall_f1(src, transfer).f1)),
            "onset_f1_random_pair": float(np.mean(onset_precision_recall_f1(src, partner).f1)),
            "pitch_class_cosine_transfer": float(np.mean(pitch_class_cosine_similarity(src, transfer))),
            "pitch_class_cosine_random_pair": float(np.mean(pitch_class_cosine_similarity(src, partner))),
            "cells_kept_transfer": cells_kept(src, transfer),
            "cells_kept_random_pair": cells_kept(src, partner),
        }
    return out


def test_songs(data: Path, genre: str, count: int) -> list[Path]:
    """The first ``count`` test songs of a genre (by song id) that exist on disk."""
    from mst import records

    manifest = records.load_manifest(data)
    folder = Path(manifest["partitions"][genre]["source_dir"])
    songs = sorted(song["song_id"] for song in manifest["songs"][genre] if song["split"] == "test")
    return [folder / song for song in songs if (folder / song).is_file()][:count]


PAPER_PARTIAL_CP = 52.6
"""S_tot^D of the paper's partial classical/pop model (Table VIII), the issue's target."""


def write_model_card(folder: Path, run: Path, data: Path, result, content: dict, songs: list) -> Path:
    """``MODEL_CARD.md`` beside the shipped generators: data, training, every measured figure, licenses."""
    from mst import atomic, records
    from mst.training.run_dir import load_run_config

    config = load_run_config(run)
    manifest = records.load_manifest(data)
    progress = json.loads((run / "progress.json").read_text())
    table = result.table()
    strength = result.strength()
    lines = [
        "# Model card: shipped CycleGAN classical <-> pop (`cyclegan_classical_pop_cpu_bce_content`)",
        "",
        "Two generators (A = classical, B = pop): `generator_a2b.keras` (classical -> pop) and",
        "`generator_b2a.keras` (pop -> classical), each the paper's ResNet generator at width "
        f"{config.generator_filters} with {config.generator_residual_blocks} residual blocks "
        "(1/16 of the paper's parameters). They load in Keras safe mode (`transfer.py` uses them when no",
        "`--model` is given). `../classifier_classical_pop/classifier.keras` is the genre classifier the",
        "figures below were measured with.",
        "",
        "## Training",
        "",
        f"- Objective: the paper's LSGAN generators and discriminators with `cycle_loss={config.cycle_loss}` "
        f"(binary cross-entropy on the generator's logits, weight lambda = {config.lambda_cycle:g}) and "
        f"`content_weight={config.content_weight:g}` (a source-vs-own-transfer term); base variant, "
        f"sigma_D = {config.sigma_d:g} half-normal, history pool off (base), Adam {config.learning_rate:g} / beta_1 "
        f"{config.beta_1:g}, batch {config.batch_size}. Why these options: `docs/results/cyclegan_arms.md`.",
        f"- Steps: {progress['global_step']} ({config.epochs} epochs of {progress.get('steps_per_epoch', 'n/a')} steps, "
        f"constant rate for {config.epoch_step} epochs, then linear decay to 0), seed {config.seed}, on a 2-core CPU.",
        "- Data: `python -m mst.prepare --genre classical=piano_midi_de --genre pop=pop909 "
        f"--time-signature-policy {manifest['phrase_options'].get('time_signature_policy', 'beat_grid')}`:",
    ]
    for genre in ("classical", "pop"):
        part = manifest["partitions"][genre]
        lines.append(
            f"  {genre}: {part['files_kept']} of {part['files_found']} files kept, "
            f"{part['phrases']['train']:,} train / {part['phrases']['test']:,} test phrases "
            f"({part['songs']['train']} / {part['songs']['test']} songs, song-level split)."
        )
    lines += [
        "  Each epoch pairs every classical training phrase with a fresh random subset of the pop ones.",
        "",
        "## Measured on the test split (`python tools/ship_cyclegan.py ...`)",
        "",
        "The paper's Table VIII layout (% of phrases the classifier assigns to the *source* genre):",
        "",
        "| | A (classical) | A -> B | A -> B -> A | B (pop) | B -> A | B -> A -> B | S^D A->B | S^D B->A | S_tot^D |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| shipped model | {table.a:.1f} | {table.a_to_b:.1f} | {table.a_to_b_to_a:.1f} | {table.b:.1f} | {table.b_to_a:.1f} | "
        f"{table.b_to_a_to_b:.1f} | {strength.a_to_b:.1f} | {strength.b_to_a:.1f} | **{strength.total:.1f}** |",
        f"| paper, partial model (Table VIII) | | | | | | | | | {PAPER_PARTIAL_CP} |",
        "",
        "Collapse figures (the same statistics as the training monitor):",
        "",
        "| direction | non-empty transfers / cycles | sameness transfer / real target | cycle AUC | density ratio | pitch-class cos own / other |",
        "|---|---|---|---|---|---|",
    ]
    for direction in ("a2b", "b2a"):
        stats = result.collapse.get(direction)
        if stats:
            lines.append(
                f"| {direction} | {stats['nonempty_transfer']:.0%} / {stats['nonempty_cycle']:.0%} | {stats['transfer_sameness']:.3f} / "
                f"{stats['target_sameness']:.3f} | {stats['cycle_auc']:.2f} | {stats['density_ratio']:.2f} | "
                f"{stats['pitch_class_own']:.2f} / {stats['pitch_class_other']:.2f} |"
            )
    lines += [
        "",
        "Content preservation: each test phrase against its own transfer, next to the same phrase against a",
        "random real phrase of the target genre:",
        "",
        "| direction | phrases | onset F1 transfer / random pair | pitch-class cosine transfer / random pair | note cells kept transfer / random pair |",
        "|---|---|---|---|---|",
    ]
    for direction, figures in content.items():
        lines.append(
            f"| {direction} | {figures['phrases']} | {figures['onset_f1_transfer']:.3f} / {figures['onset_f1_random_pair']:.3f} | "
            f"{figures['pitch_class_cosine_transfer']:.2f} / {figures['pitch_class_cosine_random_pair']:.2f} | "
            f"{figures['cells_kept_transfer']:.2f} / {figures['cells_kept_random_pair']:.2f} |"
        )
    lines += [
        "",
        "## Licenses of the training data, and what they mean for these weights",
        "",
        "- POP909 (pop side): MIT license; attribution to the POP909 authors (Wang et al., ISMIR 2020).",
        "- piano-midi.de (classical side): CC BY-SA 3.0 DE, by Bernd Krueger. Share-alike applies to",
        "  adaptations of the MIDI files. Whether trained weights are an adaptation is legally unsettled;",
        "  to be safe these weights are distributed under CC BY-SA 3.0 DE as well, with attribution to",
        "  Bernd Krueger (piano-midi.de) and the POP909 authors. Transfers you make are your own works as",
        "  far as the weights are concerned; the *input* song's license applies to what you transfer.",
        "",
        "## Limits",
        "",
        "- CPU size and a short run: this is not the paper's 64-wide model trained for 100 epochs.",
        "- The classifier that judges the genre is itself a 4-epoch model (92.7 % test accuracy); it",
        "  separates classical from pop piano texture more than style in a musician's sense.",
        "- Input: drums are dropped, tracks merged, one piano track written; MIDI 24..107 only.",
    ]
    return atomic.write_text(folder / "MODEL_CARD.md", "\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="finished CycleGAN run folder (with export/)")
    parser.add_argument("--classifier", type=Path, required=True, help="finished classifier run folder (with export/)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True, help="folder for the results page, PNGs and MIDI")
    parser.add_argument("--songs", type=int, default=3, help="test songs per direction")
    parser.add_argument("--phrases", type=int, default=256, help="test phrases per side for the content figures")
    parser.add_argument("--no-copy", action="store_true", help="measure what is already shipped")
    args = parser.parse_args(argv)

    from mst import atomic
    from mst.models.cyclegan import cyclegan_export, cyclegan_report, pretrained, song_transfer

    if not args.no_copy:
        ship(args.run, args.classifier)
    generators_path = pretrained.shipped_generators()
    generators = cyclegan_export.load_generators(generators_path)
    report_dir = args.results / "cyclegan_classical_pop_shipped_report"
    result, paths = cyclegan_report.run_evaluation(generators_path, pretrained.shipped_classifier(), args.data, report_dir, label="shipped classical <-> pop (cyclegan_classical_pop_cpu_bce_content)")
    content = content_against_random_pairs(args.data, generators, args.phrases)
    atomic.write_json(args.results / "cyclegan_classical_pop_shipped_content.json", content)
    model = song_transfer.load_model(generators_path)
    from mst import records

    policy = records.load_manifest(args.data)["phrase_options"].get("time_signature_policy", "strict")
    songs_dir = args.results / "cyclegan_classical_pop_shipped_songs"
    written = []
    for genre, direction in ((generators.genre_a, "a2b"), (generators.genre_b, "b2a")):
        for song in test_songs(args.data, genre, args.songs):
            transfer = song_transfer.transfer_song(song, model, direction=direction, out_path=songs_dir / f"{song.stem}_{direction}.mid", plot=True, overwrite=True, cycle=True, time_signature_policy=policy)
            written.append({"song": song.name, "direction": direction, "notes_written": transfer.notes_written, "warnings": transfer.warnings, "seconds": transfer.timing["total"]})
    atomic.write_json(songs_dir / "songs.json", written)
    write_model_card(pretrained.SHIPPED["classical_pop"], args.run, args.data, result, content, written)
    strength = result.strength()
    print(json.dumps({"S_tot": strength.total, "report": str(paths["report"]), "content": content, "songs": written}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
