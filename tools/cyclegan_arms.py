"""Objective arms of the CycleGAN at an equal step budget, judged by collapse and content statistics.

Trains one run per arm (``train.py``, resumable: re-running continues where a run stopped), then
evaluates every arm on the same seeded random test phrases of each side: the collapse statistics
of :mod:`mst.metrics.collapse` (floor, cycle AUC, non-empty outputs, sameness, content own vs
other) and, with ``--classifier``, the share of transfers the classifier calls the target genre.

Usage (what docs/results/cyclegan_arms.md was made with)::

    python tools/cyclegan_arms.py --data data/cp_beat --runs runs/arms --steps 300 \
        --classifier runs/clf_cp --out docs/results/cyclegan_arms.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

ARMS = {
    "l1": [],
    "bce": ["cycle_loss=bce"],
    "bce_identity5": ["cycle_loss=bce", "identity_weight=5"],
    "bce_content2": ["cycle_loss=bce", "content_weight=2"],
    "bce_identity5_content2": ["cycle_loss=bce", "identity_weight=5", "content_weight=2"],
}
"""Arm name -> ``--set`` overrides on top of the preset (``l1`` is the authors' objective)."""


def train_arm(preset: str, data: Path, run_dir: Path, overrides: list[str], steps: int) -> None:
    command = [sys.executable, str(ROOT / "train.py"), "--preset", preset, "--data", str(data), "--out", str(run_dir), "--max-steps", str(steps), "--verbose", "2", "--no-export"]
    if overrides:
        command += ["--set", *overrides]
    subprocess.run(command, check=True)


def test_phrases(data: Path, genre: str, count: int, seed: int) -> np.ndarray:
    from mst.records.pianoroll_reader import load_split_arrays  # noqa: PLC0415

    phrases, _ = load_split_arrays(data, [genre], "test")
    rng = np.random.default_rng(seed)
    return phrases[np.sort(rng.choice(len(phrases), size=min(count, len(phrases)), replace=False))]


def evaluate_arm(run_dir: Path, phrases: dict, genres: dict, classifier=None) -> dict:
    from mst.models.cyclegan.cyclegan_export import load_generators  # noqa: PLC0415
    from mst.metrics.collapse import collapse_statistics, collapse_warnings  # noqa: PLC0415

    pair = load_generators(run_dir)
    result = {}
    for direction, (source, target) in {"a2b": ("a", "b"), "b2a": ("b", "a")}.items():
        other = "b2a" if direction == "a2b" else "a2b"
        transfer = pair.transfer(phrases[source], direction)
        cycle = pair.transfer(transfer, other)  # the training cycle: continuous transfer sent back
        stats = collapse_statistics(phrases[source], transfer, cycle, phrases[target])
        if classifier is not None:
            target_index = 1 if target == "b" else 0
            binary = (transfer > 0.5).astype("float32")
            stats["classified_target"] = float(np.mean(np.argmax(classifier(binary), axis=1) == target_index))
            stats["source_classified_target"] = float(np.mean(np.argmax(classifier(phrases[source]), axis=1) == target_index))
        stats["warnings"] = collapse_warnings(stats, f"{genres[source]}2{genres[target]}")
        result[f"{genres[source]}2{genres[target]}"] = stats
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--preset", default="cyclegan_classical_pop_cpu")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--phrases", type=int, default=48, help="test phrases per side")
    parser.add_argument("--classifier", type=Path, help="classifier run/export for the target-genre share")
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from mst import atomic  # noqa: PLC0415
    from mst.registry import get_config  # noqa: PLC0415

    config = get_config(args.preset)
    genres = {"a": config.genre_a, "b": config.genre_b}
    if not args.evaluate_only:
        for arm in args.arms:
            train_arm(args.preset, args.data, args.runs / arm, ARMS[arm], args.steps)
    phrases = {side: test_phrases(args.data, genre, args.phrases, seed=7 + i) for i, (side, genre) in enumerate(genres.items())}
    classifier = None
    if args.classifier is not None:
        from mst.models.genre_classifier.genre_classifier_export import load_classifier  # noqa: PLC0415

        classifier = load_classifier(args.classifier)
    report = {"preset": args.preset, "steps": args.steps, "phrases_per_side": args.phrases, "arms": {}}
    for arm in args.arms:
        report["arms"][arm] = {"overrides": ARMS[arm], **evaluate_arm(args.runs / arm, phrases, genres, classifier)}
        print(arm, json.dumps(report["arms"][arm], indent=1), flush=True)
    atomic.write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
