"""Evaluating an attention RNN: ``python evaluate.py attention-rnn --model M --data DATA --out REPORT``.

Two parts, written to ``REPORT/report.md``, ``REPORT/results.json`` and ``REPORT/*.png``:

1. **Held-out likelihood**: every window of the dataset's test split (whole held-out songs),
   tokenised with the *model's* vocabulary (tokens it never saw -> ``<unk>``): cross-entropy per
   head and summed (the training loss), per-head perplexity ``exp(CE)`` and top-1 accuracy.
2. **Sample statistics** at each ``--temperatures`` value: ``--samples`` pieces of up to
   ``--length`` tokens from START, compared with the held-out songs (and the held-out songs with
   the training songs as a reference of what a real piece scores):

   * pitch-class histogram (each sounding pitch of each event, weighted by duration) and
     duration-token histogram: histogram overlap ``Σ min(p, q)`` (1 = identical) and
     ``KL(held-out || generated)`` in nats (with 1e-6 smoothing). An empty or one-note output
     cannot score well here;
   * pitch range (lowest / highest MIDI pitch, span), rest ratio (rest events / events),
     chord ratio, events per sample and how many stopped on START;
   * 4-gram repetition: ``1 - distinct / total`` over the pitch-token 4-grams of each piece
     (loops push it to 1; Bach's figuration is itself repetitive, see the held-out row);
   * **memorisation**: the longest run of consecutive generated (pitch, duration) events that
     appears verbatim in a training piece (any transposition the training split holds), mean and
     max over the samples, and the same figure for the held-out songs against the training
     songs. A model that copies its training data shows runs far beyond the held-out songs'.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import note_tokens as nt

SMOOTHING = 1e-6
NGRAM = 4


# --------------------------------------------------------------------------- statistics (NumPy only)


def pitch_class_histogram(sequences: Sequence[tuple[Sequence[str], Sequence[str]]]) -> np.ndarray:
    """Duration-weighted pitch-class distribution (12 bins, C first) of token sequences.

    Example:
        >>> pitch_class_histogram([(["C4", "E4.G4"], ["1", "1/2"])]).round(3).tolist()[:8]
        [0.5, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.25]
    """
    counts = np.zeros(12)
    for pitches, durations in sequences:
        for token, duration in zip(pitches, durations):
            if duration in (nt.UNK, nt.START_DURATION):
                continue
            for pitch in nt.token_pitches(token):
                counts[pitch % 12] += float(Fraction(duration))
    total = counts.sum()
    return counts / total if total else counts


def duration_histogram(sequences, vocabulary: nt.Vocabulary) -> np.ndarray:
    """Distribution of duration tokens over the vocabulary's duration list (specials included)."""
    index = {token: i for i, token in enumerate(vocabulary.duration)}
    counts = np.zeros(len(vocabulary.duration))
    for _, durations in sequences:
        for token in durations:
            counts[index.get(token, nt.UNK_INDEX)] += 1
    total = counts.sum()
    return counts / total if total else counts


def overlap(p: np.ndarray, q: np.ndarray) -> float:
    """Histogram intersection ``Σ min(p, q)``: 1 for identical distributions, 0 for disjoint ones."""
    return float(np.minimum(p, q).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q)`` in nats with :data:`SMOOTHING` added to both; ``inf`` for an empty ``q`` (no notes).

    Example:
        >>> kl_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5])), kl_divergence(np.array([1.0, 0.0]), np.zeros(2))
        (0.0, inf)
    """
    if not np.asarray(q, float).sum():
        return float("inf")
    p = (np.asarray(p, float) + SMOOTHING)
    q = (np.asarray(q, float) + SMOOTHING)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def ngram_repetition(pitches: Sequence[str], n: int = NGRAM) -> float:
    """``1 - distinct / total`` of a sequence's pitch-token n-grams (0 with fewer than ``n + 1`` tokens).

    Example:
        >>> ngram_repetition(["C4", "D4"] * 6), ngram_repetition(list("abcdefgh"))
        (0.778, 0.0)
    """
    grams = [tuple(pitches[i:i + n]) for i in range(len(pitches) - n + 1)]
    return 0.0 if len(grams) < 2 else round(1.0 - len(set(grams)) / len(grams), 3)


class CopyIndex:
    """Finds the longest run of a sequence's events that appears verbatim in reference sequences.

    Example:
        >>> index = CopyIndex([[("C4", "1"), ("D4", "1"), ("E4", "1"), ("F4", "1")]])
        >>> index.longest_copy([("G4", "1"), ("D4", "1"), ("E4", "1"), ("A4", "1")])
        2
    """

    def __init__(self, references: Sequence[Sequence[tuple[str, str]]]):
        self.references = [list(r) for r in references]
        self._sets: dict[int, set] = {}

    def _grams(self, k: int) -> set:
        if k not in self._sets:
            self._sets[k] = {tuple(r[i:i + k]) for r in self.references for i in range(len(r) - k + 1)}
        return self._sets[k]

    def _copied(self, events, k: int) -> bool:
        grams = self._grams(k)
        return any(tuple(events[i:i + k]) in grams for i in range(len(events) - k + 1))

    def longest_copy(self, events: Sequence[tuple[str, str]]) -> int:
        """Length of the longest copied run (binary search: a copied run of k contains one of k - 1)."""
        events = list(events)
        low, high = 0, len(events)
        while low < high:
            middle = (low + high + 1) // 2
            if self._copied(events, middle):
                low = middle
            else:
                high = middle - 1
        return low


def sequence_stats(sequences, vocabulary: nt.Vocabulary, reference_pc: np.ndarray, reference_duration: np.ndarray,
                   copy_index: CopyIndex | None) -> dict:
    """The statistics of the module docstring for token sequences, against a reference corpus' histograms."""
    sequences = [(list(p), list(d)) for p, d in sequences]
    pc = pitch_class_histogram(sequences)
    durations = duration_histogram(sequences, vocabulary)
    events = [len(p) for p, _ in sequences]
    all_pitches = [q for p, _ in sequences for t in p for q in nt.token_pitches(t)]
    tokens = [t for p, _ in sequences for t in p]
    copies = [copy_index.longest_copy(list(zip(p, d))) for p, d in sequences] if copy_index is not None else []
    return {
        "pieces": len(sequences),
        "events_mean": float(np.mean(events)) if events else 0.0,
        "pitch_class_overlap": overlap(reference_pc, pc),
        "pitch_class_kl": kl_divergence(reference_pc, pc),
        "duration_overlap": overlap(reference_duration, durations),
        "duration_kl": kl_divergence(reference_duration, durations),
        "lowest_pitch": int(min(all_pitches)) if all_pitches else None,
        "highest_pitch": int(max(all_pitches)) if all_pitches else None,
        "pitch_span": int(max(all_pitches) - min(all_pitches)) if all_pitches else 0,
        "rest_ratio": (sum(t == nt.REST for t in tokens) / len(tokens)) if tokens else 0.0,
        "chord_ratio": (sum(len(nt.token_pitches(t)) > 1 for t in tokens) / len(tokens)) if tokens else 0.0,
        "distinct_pitch_tokens": len(set(tokens)),
        "repetition_4gram": float(np.mean([ngram_repetition(p) for p, _ in sequences])) if sequences else 0.0,
        "longest_copy_mean": float(np.mean(copies)) if copies else None,
        "longest_copy_max": int(max(copies)) if copies else None,
        "pitch_class_histogram": pc.round(5).tolist(),
        "duration_histogram": durations.round(5).tolist(),
    }


# --------------------------------------------------------------------------- model parts


def heldout_likelihood(model, data_dir, *, batch_size: int = 256) -> dict:
    """Cross-entropy / perplexity / accuracy per head over every test-split window (model's vocabulary)."""
    from mst.records.note_token_reader import TokenEpochs  # noqa: PLC0415

    epochs = TokenEpochs(data_dir, model.vocabulary, batch_size, 0, split="test", seq_len=model.seq_len)
    sums = {"pitch": 0.0, "duration": 0.0}
    correct = {"pitch": 0, "duration": 0}
    unknown = {"pitch": 0, "duration": 0}
    windows = 0
    for inputs, targets in epochs.evaluation_dataset():
        out = model.next_token(inputs["pitch"], inputs["duration"])
        for head in ("pitch", "duration"):
            probabilities = out[f"{head}_probabilities"].numpy()
            target = targets[head].numpy()
            picked = probabilities[np.arange(len(target)), target]
            sums[head] += float(-np.log(np.maximum(picked, 1e-7)).sum())  # Keras' clip of the cross-entropy
            correct[head] += int((probabilities.argmax(-1) == target).sum())
            unknown[head] += int((target == nt.UNK_INDEX).sum())
        windows += len(target)
    result = {"windows": windows}
    for head in ("pitch", "duration"):
        ce = sums[head] / max(windows, 1)
        result[head] = {"cross_entropy": ce, "perplexity": math.exp(ce), "accuracy": correct[head] / max(windows, 1),
                        "unknown_targets": unknown[head]}
    result["loss"] = result["pitch"]["cross_entropy"] + result["duration"]["cross_entropy"]
    return result


def run_evaluation(model_path, data_dir, out_dir, *, temperatures=(0.5, 1.0), samples: int = 10, length: int = 200, seed: int = 0,
                   png: bool = True) -> dict:
    """Runs both parts (see the module docstring) and writes the report; returns ``results.json``'s dict."""
    from mst.models.attention_rnn import attention_rnn_generate as generation  # noqa: PLC0415
    from mst.models.attention_rnn.attention_rnn_export import load_attention_rnn  # noqa: PLC0415
    from mst.records import note_token_reader as reader  # noqa: PLC0415

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_attention_rnn(model_path)
    vocabulary = model.vocabulary
    heldout = [(p, d) for _, p, d in reader.read_sequences(data_dir, "test")]
    train = [(p, d) for _, p, d in reader.read_sequences(data_dir, "train", transposed=True)]
    copy_index = CopyIndex([list(zip(p, d)) for p, d in train])
    reference_pc = pitch_class_histogram(heldout)
    reference_duration = duration_histogram(heldout, vocabulary)
    results = {
        "model": str(model_path), "model_info": {k: model.info.get(k) for k in ("checkpoint", "epoch", "global_step", "value") if k in model.info},
        "data": str(data_dir), "vocabulary_sizes": list(vocabulary.sizes),
        "likelihood": heldout_likelihood(model, data_dir),
        "heldout": sequence_stats(heldout, vocabulary, reference_pc, reference_duration, copy_index),
        "samples": {},
        "settings": {"samples": samples, "length": length, "seed": seed, "temperatures": list(temperatures)},
    }
    for temperature in temperatures:
        pieces = []
        stopped = 0
        for index in range(samples):
            result = generation.generate(model.sample, vocabulary, length=length, temperature_pitch=temperature, temperature_duration=temperature,
                                         seed=seed + index, seq_len=model.seq_len)
            pieces.append((result.pitch, result.duration))
            stopped += result.stopped_on_start
            if index == 0:
                generation.write_generation(result, out_dir / f"sample_T{temperature:g}.mid", png=png, title=f"T={temperature:g}, seed {seed}")
        stats = sequence_stats(pieces, vocabulary, reference_pc, reference_duration, copy_index)
        stats["stopped_on_start"] = stopped
        results["samples"][f"{temperature:g}"] = stats
    if png:
        save_histograms_png(out_dir / "histograms.png", results, vocabulary)
    atomic.write_json(out_dir / "results.json", results)
    atomic.write_text(out_dir / "report.md", format_report(results))
    return results


def save_histograms_png(path, results: dict, vocabulary: nt.Vocabulary) -> str:
    """Pitch-class and duration histograms: held-out songs vs each temperature's samples."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    from mst.plotting import save_figure  # noqa: PLC0415

    figure = Figure(figsize=(12, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    rows = [("held-out", results["heldout"])] + [(f"T={t}", s) for t, s in results["samples"].items()]
    width = 0.8 / len(rows)
    for k, (label, stats) in enumerate(rows):
        left.bar(np.arange(12) + k * width, stats["pitch_class_histogram"], width, label=label)
        right.bar(np.arange(len(vocabulary.duration)) + k * width, stats["duration_histogram"], width, label=label)
    left.set_xticks(np.arange(12) + 0.4, list(nt.NAMES))
    left.set_title("pitch classes (duration-weighted)", fontsize=9)
    right.set_xticks(np.arange(len(vocabulary.duration)) + 0.4, list(vocabulary.duration), rotation=90, fontsize=7)
    right.set_title("duration tokens (quarter notes)", fontsize=9)
    left.legend(fontsize=7)
    return save_figure(figure, path, 110)


def format_report(results: dict) -> str:
    """``report.md`` text."""
    like = results["likelihood"]
    lines = [
        "# Attention RNN evaluation", "",
        f"Model `{results['model']}` {results['model_info']}; data `{results['data']}`; vocabulary {results['vocabulary_sizes'][0]} pitch / "
        f"{results['vocabulary_sizes'][1]} duration tokens.", "",
        f"## Held-out likelihood ({like['windows']} test windows)", "",
        "| head | cross-entropy | perplexity | top-1 accuracy | `<unk>` targets |", "|---|---|---|---|---|",
    ]
    for head in ("pitch", "duration"):
        h = like[head]
        lines.append(f"| {head} | {h['cross_entropy']:.3f} | {h['perplexity']:.2f} | {h['accuracy']:.3f} | {h['unknown_targets']} |")
    lines += [f"| sum (loss) | {like['loss']:.3f} | | | |", "", "## Sample statistics", "",
              f"{results['settings']['samples']} samples of up to {results['settings']['length']} tokens per temperature, from START; "
              "histograms compared with the held-out songs; memorisation = longest run of events copied verbatim from a training piece.", "",
              "| corpus | pieces | events | PC overlap | PC KL | dur overlap | dur KL | range | rests | chords | distinct | 4-gram rep. | copy mean / max |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [("held-out songs", results["heldout"])] + [(f"samples T={t}", s) for t, s in results["samples"].items()]
    for label, s in rows:
        rng = f"{nt.pitch_name(s['lowest_pitch'])}-{nt.pitch_name(s['highest_pitch'])}" if s["lowest_pitch"] is not None else "-"
        lines.append(
            f"| {label} | {s['pieces']} | {s['events_mean']:.0f} | {s['pitch_class_overlap']:.3f} | {s['pitch_class_kl']:.3f} | "
            f"{s['duration_overlap']:.3f} | {s['duration_kl']:.3f} | {rng} ({s['pitch_span']}) | {s['rest_ratio']:.3f} | {s['chord_ratio']:.3f} | "
            f"{s['distinct_pitch_tokens']} | {s['repetition_4gram']:.3f} | {s['longest_copy_mean']:.1f} / {s['longest_copy_max']} |")
    stopped = ", ".join(f"T={t}: {s['stopped_on_start']}" for t, s in results["samples"].items())
    lines += ["", f"Samples that ended by drawing START: {stopped}.", ""]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate.py attention-rnn", description="Held-out likelihood and sample statistics of an attention RNN.")
    parser.add_argument("--model", required=True, help="export folder, .keras file or run folder (best checkpoint)")
    parser.add_argument("--data", required=True, help="the note_tokens dataset (its test split is held out)")
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--temperatures", default="0.5,1.0", help="comma-separated sampling temperatures (default 0.5,1.0)")
    parser.add_argument("--samples", type=int, default=10, help="samples per temperature (default 10)")
    parser.add_argument("--length", type=int, default=200, help="tokens per sample (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first sample (then +1 per sample)")
    parser.add_argument("--no-png", action="store_true", help="no figures")
    return parser


def main(argv) -> int:
    """``evaluate.py attention-rnn``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        temperatures = tuple(float(t) for t in args.temperatures.split(",") if t.strip())
    except ValueError:
        parser.error(f"--temperatures must be comma-separated numbers, got {args.temperatures!r}")
    if not temperatures or min(temperatures) < 0 or args.samples < 1 or args.length < 1:
        parser.error("--temperatures must be >= 0, --samples and --length >= 1")
    from mst.export import ExportError  # noqa: PLC0415
    from mst.records.manifest import DatasetError  # noqa: PLC0415

    try:
        results = run_evaluation(args.model, args.data, args.out, temperatures=temperatures, samples=args.samples, length=args.length,
                                 seed=args.seed, png=not args.no_png)
    except (ExportError, DatasetError, FileNotFoundError) as error:
        print(f"evaluate.py attention-rnn: error: {error}", file=sys.stderr)
        return 2
    print(format_report(results))
    print(f"report written to {Path(args.out) / 'report.md'}")
    return 0
