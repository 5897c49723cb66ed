"""``python evaluate.py musegan``: MuseGAN's metrics for generated windows next to the same metrics on real ones.

Per track, on binary rolls ``[N, bars, steps, 84, tracks]`` (Dong et al., AAAI 2018, adapted to
the chorales' 16th-note grid):

* **EB** empty-bar rate: share of bars in which the track plays nothing;
* **UPC** used pitch classes per bar: distinct pitch classes in a non-empty bar, averaged;
* **QN** qualified-note rate: share of notes at least ``min_note_steps`` steps long (default 2 =
  an 8th note; MuseGAN's 3 steps are a 32nd at its 24-per-beat grid, at 4 per beat every note would
  qualify). Notes: runs of consecutive active steps of one pitch;
* **polyphony**: share of steps at which the track sounds 2 or more pitches at once (a chorale
  voice never does);
* **pitch**: mean MIDI pitch of the active cells (are the voices in their registers?);
* **TD** tonal distance between each pair of tracks: per bar, the distance between the two tracks'
  6-D tonal centroids (Harte et al. 2006: chroma weighted by the fifths, minor-thirds and
  major-thirds circles with radii 1, 1, 0.5), averaged over bars where both tracks sound; small =
  harmonically close.

Generated values are binarized two ways: ``threshold`` (value > 0 per cell, MuseGAN's hard
binarization: can be empty, can be polyphonic) and ``argmax`` (the book's decoding: exactly one
pitch per step and track, so its EB is 0 and its polyphony 0 by construction: those two columns
can only be read on ``threshold``). An empty output games UPC (undefined) and TD but not EB; a
full output games EB but not polyphony: read them together.

Also the critic's Wasserstein estimate ``mean D(real) - mean D(G(z))`` on the held-out test split
next to the same on the training split (a much larger value on test than on train means the
critic memorised the training windows).

Example:
    >>> rolls = np.zeros((1, 2, 16, 84, 2), bool); rolls[0, 0, :8, 60, 0] = True; rolls[0, 0, :, 64, 1] = True
    >>> m = track_metrics(rolls)
    >>> m["empty_bar_rate"].tolist(), m["used_pitch_classes"].tolist(), m["qualified_note_rate"].tolist()
    ([0.5, 0.5], [1.0, 1.0], [1.0, 1.0])
    >>> round(float(tonal_distance(rolls)[(0, 1)]), 4)  # C against E: a major third
    1.9365
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mst import reporting
from mst.encodings import multitrack

PROG = "evaluate.py musegan"


def track_metrics(rolls, *, pitch_offset: int = multitrack.BOOK_PITCH_OFFSET, min_note_steps: int = 2) -> dict[str, np.ndarray]:
    """EB, UPC, QN, polyphony and mean pitch per track of bool rolls ``[N, bars, steps, 84, tracks]``."""
    rolls = np.asarray(rolls, bool)
    n, bars, steps, pitches, tracks = rolls.shape
    bar_active = rolls.any(axis=(2, 3))  # [N, bars, tracks]
    empty = 1.0 - bar_active.mean(axis=(0, 1))
    pitch_classes = np.zeros((n, bars, 12, tracks), bool)
    for row in range(pitches):
        pitch_classes[:, :, (row + pitch_offset) % 12] |= rolls[:, :, :, row].any(axis=2)
    counts = pitch_classes.sum(axis=2).astype(np.float64)  # [N, bars, tracks]
    upc = np.array([counts[..., t][bar_active[..., t]].mean() if bar_active[..., t].any() else np.nan for t in range(tracks)])
    flat = rolls.reshape(n, bars * steps, pitches, tracks)
    padded = np.concatenate([np.zeros((n, 1, pitches, tracks), bool), flat, np.zeros((n, 1, pitches, tracks), bool)], axis=1)
    qualified = []
    for t in range(tracks):
        edges = np.diff(padded[..., t].astype(np.int8), axis=1)  # [N, T+1, 84]
        starts = np.argwhere(edges == 1)
        ends = np.argwhere(edges == -1)
        # argwhere lists (n, step, pitch); sorted by (n, pitch, step) the i-th start and end are one note
        order_s = np.lexsort((starts[:, 1], starts[:, 2], starts[:, 0]))
        order_e = np.lexsort((ends[:, 1], ends[:, 2], ends[:, 0]))
        lengths = ends[order_e, 1] - starts[order_s, 1]
        qualified.append(float((lengths >= min_note_steps).mean()) if len(lengths) else np.nan)
    poly = (flat.sum(axis=2) >= 2).mean(axis=(0, 1))
    rows = np.arange(pitches) + pitch_offset
    active = flat.sum(axis=(0, 1))  # [84, tracks]
    mean_pitch = np.array([(rows * active[:, t]).sum() / active[:, t].sum() if active[:, t].sum() else np.nan for t in range(tracks)])
    return {"empty_bar_rate": empty, "used_pitch_classes": upc, "qualified_note_rate": np.array(qualified), "polyphony": poly, "mean_pitch": mean_pitch}


_FIFTHS, _MINOR, _MAJOR = 7 * np.pi / 6, 3 * np.pi / 2, 2 * np.pi / 3
TONAL_MATRIX = np.array([
    [np.sin(l * _FIFTHS) for l in range(12)], [np.cos(l * _FIFTHS) for l in range(12)],
    [np.sin(l * _MINOR) for l in range(12)], [np.cos(l * _MINOR) for l in range(12)],
    [0.5 * np.sin(l * _MAJOR) for l in range(12)], [0.5 * np.cos(l * _MAJOR) for l in range(12)],
])
"""Harte et al.'s 6 x 12 tonal-centroid projection (radii 1, 1, 0.5)."""


def tonal_distance(rolls, *, pitch_offset: int = multitrack.BOOK_PITCH_OFFSET) -> dict[tuple[int, int], float]:
    """Mean per-bar tonal distance for every pair of tracks of bool rolls ``[N, bars, steps, 84, tracks]``."""
    rolls = np.asarray(rolls, bool)
    n, bars, steps, pitches, tracks = rolls.shape
    chroma = np.zeros((n, bars, 12, tracks))
    for row in range(pitches):
        chroma[:, :, (row + pitch_offset) % 12] += rolls[:, :, :, row].sum(axis=2)
    total = chroma.sum(axis=2, keepdims=True)
    centroid = np.einsum("kc,nbct->nbkt", TONAL_MATRIX, chroma / np.where(total > 0, total, 1))
    out = {}
    for a, b in itertools.combinations(range(tracks), 2):
        both = (total[:, :, 0, a] > 0) & (total[:, :, 0, b] > 0)
        distance = np.linalg.norm(centroid[..., a] - centroid[..., b], axis=2)
        out[(a, b)] = float(distance[both].mean()) if both.any() else float("nan")
    return out


def window_metrics(rolls, **kwargs) -> dict:
    """:func:`track_metrics` + :func:`tonal_distance` as JSON-ready lists/dicts."""
    per_track = {name: [float(v) for v in values] for name, values in track_metrics(rolls, **kwargs).items()}
    pairs = {f"{a}-{b}": value for (a, b), value in tonal_distance(rolls, pitch_offset=kwargs.get("pitch_offset", 0)).items()}
    return {**per_track, "tonal_distance": pairs}


def evaluate_model(model, test_values, train_values, *, samples: int = 256, seed: int = 0) -> dict:
    """Metrics of ``samples`` generated windows (both binarizations) next to the test split, plus the Wasserstein estimates."""
    from mst.models.musegan.musegan_generate import argmax_roll, control_noise  # noqa: PLC0415

    config = model.config
    noise, _ = control_noise("random", z_dim=config.z_dim, n_tracks=config.n_tracks, count=samples, seed=seed)
    generated = model.generate(noise)
    results = {
        "samples": samples,
        "seed": seed,
        "test_windows": int(len(test_values)),
        "metrics": {
            "test split": window_metrics(np.asarray(test_values) > 0),
            "generated, threshold": window_metrics(generated > 0),
            "generated, argmax": window_metrics(argmax_roll(generated) > 0),
        },
    }
    if model.critic is not None:
        fake_scores = model.critic_scores(generated)
        results["critic"] = {
            "mean_score_test": float(model.critic_scores(test_values).mean()),
            "mean_score_train": float(model.critic_scores(train_values).mean()),
            "mean_score_generated": float(fake_scores.mean()),
        }
        results["critic"]["wasserstein_test"] = results["critic"]["mean_score_test"] - results["critic"]["mean_score_generated"]
        results["critic"]["wasserstein_train"] = results["critic"]["mean_score_train"] - results["critic"]["mean_score_generated"]
    return results


def report_markdown(results: dict, track_names: Sequence[str] = multitrack.CHORALE_TRACKS) -> str:
    """The metric table as markdown."""
    lines = [f"# MuseGAN evaluation\n\n{results['samples']} generated windows (seed {results['seed']}) vs the {results['test_windows']} test-split windows.\n"]
    names = list(results["metrics"])
    header = ["metric", "track", *names]
    rows = []
    labels = {"empty_bar_rate": "EB (empty bars)", "used_pitch_classes": "UPC (pitch classes / bar)", "qualified_note_rate": "QN (notes >= 8th)",
              "polyphony": "polyphony (steps with >= 2 pitches)", "mean_pitch": "mean MIDI pitch"}
    for key, label in labels.items():
        for t, track in enumerate(track_names):
            rows.append([label if t == 0 else "", track, *(reporting.number(results["metrics"][name][key][t], 3) for name in names)])
    for pair in results["metrics"][names[0]]["tonal_distance"]:
        a, b = (int(v) for v in pair.split("-"))
        rows.append(["TD (tonal distance)" if pair == "0-1" else "", f"{track_names[a]}-{track_names[b]}",
                     *(reporting.number(results["metrics"][name]["tonal_distance"][pair], 3) for name in names)])
    lines.append(reporting.markdown_table(header, rows))
    if "critic" in results:
        c = results["critic"]
        lines.append("\nCritic: mean score test {:.3f}, train {:.3f}, generated {:.3f}; Wasserstein estimate on test {:.3f}, on train {:.3f}.".format(
            c["mean_score_test"], c["mean_score_train"], c["mean_score_generated"], c["wasserstein_test"], c["wasserstein_train"]))
    lines.append("\nargmax has one pitch per step and track by construction (EB = polyphony = 0); read EB and polyphony on the threshold column.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit status (0 ok, 2 bad usage or input)."""
    parser = argparse.ArgumentParser(prog=PROG, description="MuseGAN metrics (EB, UPC, QN, polyphony, TD) of generated windows next to the test split, and the critic's Wasserstein estimate.")
    parser.add_argument("--model", required=True, help="export folder, run folder or checkpoint of a MuseGAN")
    parser.add_argument("--data", required=True, help="the multitrack_rolls dataset (its test split is the reference)")
    parser.add_argument("--out", required=True, help="report folder (report.md, results.json)")
    parser.add_argument("--samples", type=int, default=256, help="generated windows (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    args = parser.parse_args(argv)
    from mst.export import ExportError  # noqa: PLC0415
    from mst.models.musegan.musegan_export import load_musegan  # noqa: PLC0415
    from mst.records.manifest import DatasetError  # noqa: PLC0415
    from mst.records.multitrack_rolls import load_windows  # noqa: PLC0415

    try:
        if args.samples < 1:
            raise ValueError(f"--samples must be >= 1, got {args.samples}")
        model = load_musegan(args.model)
        test = load_windows(args.data, "test")
        train = load_windows(args.data, "train")
        if not len(test.rolls):
            raise DatasetError(f"{args.data}: the test split is empty")
        if test.rolls.shape[1:] != tuple(model.config.window_shape):
            raise DatasetError(f"{args.data}: windows are {list(test.rolls.shape[1:])}, the model makes {list(model.config.window_shape)}")
    except (ExportError, DatasetError, FileNotFoundError, ValueError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    results = evaluate_model(model, test.values, train.values, samples=args.samples, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reporting.write_json(out / "results.json", results)
    text = report_markdown(results)
    from mst import atomic  # noqa: PLC0415

    atomic.write_text(out / "report.md", text)
    print(text)
    return 0
