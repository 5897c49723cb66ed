"""``python evaluate.py music-vae``: reconstruction accuracy (teacher-forced and sampled), KL bits, groove metrics.

::

    python evaluate.py music-vae --model runs/g4/export --data data/gmd4 --split test --out reports/g4

Every example of the split is encoded to its posterior mean ``mu`` and decoded twice: **teacher
forced** (the true previous step as input, logits arg-maxed / hits thresholded at 0.5) and
**sampled** (the model's own outputs fed back, at ``--temperature``, 1.0 by default as MusicVAE's
Table 1). Reported:

* categorical models: step accuracy (MusicVAE Table 1's layout: teacher forcing / sampling, the
  flat or hierarchical column by the model's decoder); with the share of steps that are
  "no event" as the accuracy of an output that only ever holds (an empty output's score);
* groove models: hit accuracy per cell next to the all-silent output's accuracy (most cells are
  empty, so accuracy alone rewards silence), hit precision / recall / F1 (silence scores 0),
  velocity error (MIDI units) and timing error (fraction of a 16th step) on the hits both the
  output and the data have, and timing statistics of the sampled outputs vs the real drummers:
  mean absolute offset per drum (ms at the data's 120 quarter-notes-per-minute output tempo
  would be ``offset * 125 ms``; reported in steps) and the hi-hat "swing" (mean offset of
  off-beat eighth-note hi-hats minus that of on-beat ones, positive = off-beats played late);
* baselines for the errors: a constant velocity (the mean of the true hits) and quantised timing
  (offset 0), each on the true hits;
* the KL divergence in bits (mean over the split) and the reconstruction loss.

Writes ``results.json`` and ``report.md`` into ``--out``. Exit status 0, or 2 with one error line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mst.encodings import drums, melody_onehot

STEP_MS_AT_120 = 125.0
"""One 16th step at 120 quarter notes per minute, in milliseconds."""


def hit_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and accuracy of predicted hits vs true hits (bool arrays of one shape).

    Example:
        >>> p = np.array([1, 1, 0, 0], bool); t = np.array([1, 0, 1, 0], bool)
        >>> {k: round(v, 3) for k, v in hit_scores(p, t).items()}
        {'precision': 0.5, 'recall': 0.5, 'f1': 0.5, 'accuracy': 0.5, 'silent_accuracy': 0.5}
    """
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    tp = float(np.sum(predicted & truth))
    precision = tp / max(1.0, float(predicted.sum()))
    recall = tp / max(1.0, float(truth.sum()))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": float(np.mean(predicted == truth)),
            "silent_accuracy": float(np.mean(~truth))}


def groove_errors(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Velocity (MIDI units) and offset (steps) mean absolute errors on cells both call a hit."""
    out_hits, out_vel, out_off = drums.split_groove(outputs)
    hits, vel, off = drums.split_groove(targets)
    both = (out_hits > 0.5) & (hits > 0.5)
    if not both.any():
        return {"velocity_mae_midi": float("nan"), "offset_mae_steps": float("nan"), "matched_hits": 0}
    return {"velocity_mae_midi": float(np.mean(np.abs(out_vel[both] - vel[both])) * 127.0),
            "offset_mae_steps": float(np.mean(np.abs(out_off[both] - off[both])) / 2.0), "matched_hits": int(both.sum())}


def timing_statistics(grooves: np.ndarray) -> dict:
    """Mean absolute offset per drum (steps) and the hi-hat eighth-note swing of a set of grooves.

    Offsets are stored as ``2 * (grid - onset) / step``, so "late" is a negative stored value;
    the swing is reported as lateness of off-beat eighths (steps ``4k + 2``) minus that of on-beat
    ones (``4k``), in steps, over closed and open hi-hat hits.

    Example:
        >>> g = np.zeros((1, 16, 27), np.float32); g[0, [0, 2, 4, 6], 2] = 1; g[0, [2, 6], 20] = -0.6
        >>> round(timing_statistics(g)["hihat_swing_steps"], 3)
        0.3
    """
    hits, _, offsets = drums.split_groove(np.asarray(grooves, np.float32))
    mask = hits > 0.5
    per_drum = {}
    for index, name in enumerate(drums.DRUM_NAMES):
        cells = mask[..., index]
        per_drum[name] = float(np.mean(np.abs(offsets[..., index][cells])) / 2.0) if cells.any() else float("nan")
    steps = np.arange(hits.shape[1])
    lateness = -offsets / 2.0
    hats = mask[..., 2:4]
    late = lateness[..., 2:4]
    on_beat = hats & (steps % 4 == 0)[None, :, None]
    off_beat = hats & (steps % 4 == 2)[None, :, None]
    swing = float(late[off_beat].mean() - late[on_beat].mean()) if on_beat.any() and off_beat.any() else float("nan")
    all_hits = mask.any()
    return {"mean_abs_offset_steps": per_drum, "overall_mean_abs_offset_steps": float(np.mean(np.abs(offsets[mask])) / 2.0) if all_hits else float("nan"),
            "hihat_swing_steps": swing, "hits_per_bar": float(mask.sum() / max(1, hits.shape[0] * hits.shape[1] / 16))}


def evaluate_model(model, arrays, *, temperature: float = 1.0, batch_size: int = 64, seed: int = 0) -> dict:
    """All metrics of the module docstring for a loaded model (:class:`LoadedMusicVAE`) on decoded records."""
    from mst.models.music_vae.music_vae_task import model_inputs  # noqa: PLC0415
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    config = model.config
    if config is None:
        raise ValueError("the evaluation needs the model's config (load an export folder, a .keras file in one, or a run folder)")
    inputs, targets = model_inputs(config, arrays.tensors, training=False)
    keras_model = model.model
    forced, sampled, mus, kls, recon = [], [], [], [], []
    for start in range(0, len(inputs), batch_size):
        x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
        mu, sigma = keras_model.encode(tf.constant(x))
        logits = keras_model.decode_teacher_forced(mu, tf.constant(y)).numpy()
        forced.append(logits)
        outputs, _ = keras_model.decode_sampled(mu, temperature, (seed, start))
        sampled.append(outputs.numpy())
        kls.append(keras_model.kl_divergence(mu, sigma).numpy() / np.log(2.0))
        r_loss, _, _ = keras_model.reconstruction_terms(tf.constant(logits), tf.constant(y))
        recon.append(r_loss.numpy())
        mus.append(mu.numpy())
    forced, sampled = np.concatenate(forced), np.concatenate(sampled)
    result = {"examples": int(len(inputs)), "temperature": float(temperature), "kl_bits": float(np.mean(np.concatenate(kls))),
              "reconstruction_loss": float(np.mean(np.concatenate(recon))), "decoder": config.decoder, "preset": config.name}
    if config.encoding == "groove":
        truth = drums.split_groove(targets)[0] > 0.5
        forced_hits = drums.split_groove(forced)[0] > 0
        forced_out = np.concatenate([forced_hits.astype(np.float32), 1 / (1 + np.exp(-drums.split_groove(forced)[1])), np.tanh(drums.split_groove(forced)[2])], -1)
        result["teacher_forced"] = {**hit_scores(forced_hits, truth), **groove_errors(forced_out, targets)}
        result["sampled"] = {**hit_scores(drums.split_groove(sampled)[0] > 0.5, truth), **groove_errors(sampled, targets)}
        _, true_velocities, true_offsets = drums.split_groove(targets)
        result["baselines"] = {
            "velocity_mae_constant_mean_midi": float(np.mean(np.abs(true_velocities[truth] - true_velocities[truth].mean())) * 127.0),
            "offset_mae_quantised_steps": float(np.mean(np.abs(true_offsets[truth])) / 2.0),
        }
        result["timing"] = {"data": timing_statistics(targets), "sampled_reconstructions": timing_statistics(sampled)}
        prior = model.sample(min(256, len(inputs)), config.temperature, seed=seed + 1)
        result["timing"][f"prior_samples_T{config.temperature:g}"] = timing_statistics(prior)
    else:
        truth = np.argmax(targets, -1)
        result["teacher_forced"] = {"accuracy": float(np.mean(np.argmax(forced, -1) == truth))}
        result["sampled"] = {"accuracy": float(np.mean(np.argmax(sampled, -1) == truth))}
        result["no_event_share"] = float(np.mean(truth == melody_onehot.NO_EVENT))
    return result


def format_report(result: dict, *, model: str, data: str, split: str) -> str:
    """``report.md`` text."""
    lines = [f"# MusicVAE evaluation: {result['preset']} on the {split} split", "",
             f"Model `{model}`, data `{data}`, {result['examples']} examples; every example encoded to its posterior mean, "
             f"decoded teacher-forced and sampled at temperature {result['temperature']:g}.", "",
             f"KL divergence: {result['kl_bits']:.2f} bits per example; reconstruction loss (sum over steps, teacher forced): {result['reconstruction_loss']:.2f}.", ""]
    if "no_event_share" in result:
        column = "hierarchical" if result["decoder"] == "hierarchical" else "flat"
        lines += ["| decoding | accuracy (" + column + ") | all-'no event' output |", "|---|---|---|",
                  f"| teacher forcing | {result['teacher_forced']['accuracy']:.3f} | {result['no_event_share']:.3f} |",
                  f"| sampling | {result['sampled']['accuracy']:.3f} | {result['no_event_share']:.3f} |"]
        return "\n".join(lines) + "\n"
    lines += ["| decoding | hit accuracy | all-silent accuracy | precision | recall | F1 | velocity MAE (MIDI) | offset MAE (steps) |",
              "|---|---|---|---|---|---|---|---|"]
    for name in ("teacher_forced", "sampled"):
        r = result[name]
        lines.append(f"| {name.replace('_', ' ')} | {r['accuracy']:.3f} | {r['silent_accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['f1']:.3f} | {r['velocity_mae_midi']:.1f} | {r['offset_mae_steps']:.3f} |")
    baselines = result["baselines"]
    lines += ["", f"Baselines on the same hits: one constant velocity (the mean) gives a velocity MAE of {baselines['velocity_mae_constant_mean_midi']:.1f}; "
              f"quantised timing (offset 0) an offset MAE of {baselines['offset_mae_quantised_steps']:.3f} steps. An all-silent output has "
              "the accuracy in the 'all-silent' column and F1 0."]
    lines += ["", "Timing (mean absolute offset per drum in 16th steps; one step = 125 ms at 120 qpm; hi-hat swing = "
              "lateness of off-beat eighths minus on-beat ones):", ""]
    sets = list(result["timing"])
    lines += ["| | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for drum in drums.DRUM_NAMES:
        lines.append(f"| {drum} | " + " | ".join(f"{result['timing'][s]['mean_abs_offset_steps'][drum]:.3f}" for s in sets) + " |")
    for key in ("overall_mean_abs_offset_steps", "hihat_swing_steps", "hits_per_bar"):
        lines.append(f"| {key} | " + " | ".join(f"{result['timing'][s][key]:.3f}" for s in sets) + " |")
    return "\n".join(lines) + "\n"


def run_evaluation(model_path, data_dir, split: str, out_dir, *, temperature: float = 1.0, limit: int | None = None, seed: int = 0) -> dict:
    """Loads, evaluates, writes ``results.json`` and ``report.md``; returns the results."""
    from mst import atomic  # noqa: PLC0415
    from mst.models.music_vae.music_vae_export import load_music_vae  # noqa: PLC0415
    from mst.models.music_vae.music_vae_task import check_dataset  # noqa: PLC0415
    from mst.records import music_vae_records as records  # noqa: PLC0415

    model = load_music_vae(model_path)
    if model.model is None or model.config is None:
        raise ValueError(f"{model_path}: the evaluation needs a Keras model with its config (an export folder or run folder)")
    check_dataset(model.config, data_dir)
    arrays = records.load_sequences(data_dir, split, model.config.split_source)
    if not len(arrays):
        raise ValueError(f"{data_dir}: the {split} split is empty")
    if limit is not None:
        arrays = arrays.select(np.arange(len(arrays)) < limit)
    result = evaluate_model(model, arrays, temperature=temperature, seed=seed)
    result.update(split=split, model=str(model_path), data=str(data_dir))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / "results.json", result)
    atomic.write_text(out / "report.md", format_report(result, model=str(model_path), data=str(data_dir), split=split))
    return result


def main(argv) -> int:
    """``evaluate.py music-vae`` (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="evaluate.py music-vae", description="MusicVAE / GrooVAE reconstruction and groove metrics.")
    parser.add_argument("--model", required=True, help="export folder or run folder")
    parser.add_argument("--data", required=True, help="prepared dataset (--encoding groove or melody_onehot)")
    parser.add_argument("--split", default="test", choices=("train", "validation", "test"), help="split (default test: the GMD's official test split)")
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the sampled decoding (default 1.0, MusicVAE Table 1)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.temperature <= 0 or (args.limit is not None and args.limit < 1):
        parser.error("--temperature must be > 0 and --limit >= 1")
    from mst.export import ExportError  # noqa: PLC0415
    from mst.records.manifest import DatasetError  # noqa: PLC0415

    try:
        result = run_evaluation(args.model, args.data, args.split, args.out, temperature=args.temperature, limit=args.limit, seed=args.seed)
    except (ExportError, DatasetError, FileNotFoundError, ValueError) as error:
        print(f"evaluate.py music-vae: error: {error}", file=sys.stderr)
        return 2
    print(format_report(result, model=args.model, data=args.data, split=args.split))
    print(f"wrote {Path(args.out) / 'report.md'} and results.json")
    return 0
