"""``python generate.py musegan``: four-track windows from a trained MuseGAN, with the four noise controls.

Controls (``--control``; each writes ``CONTROL_XX.mid`` per window and ``CONTROL.png`` with one
column per window and one row per track):

* ``random``: ``--count`` independent samples;
* ``chords``: one style, melody and groove noise, ``--count`` different chord noises (how the
  shared, time-varying noise changes the harmony);
* ``melody``: everything fixed except the melody noise of ``--track`` (0 = soprano ... 3 = bass);
* ``interpolate``: two style vectors and ``--count`` points on the line between them, the other
  noises fixed;
* ``ones``: the book's experiment: one base noise, then each of chords, style, melody and groove
  in turn set to ``5 x ones`` (melody and groove: for every track), 5 windows;
* ``all``: every control above, in one folder.

With ``--data DATA_DIR`` (a ``multitrack_rolls`` dataset) every window is compared with every
training window (:func:`nearest_training`): the L2 distance in roll space (argmax one-hot in
{-1, +1} against the real window) and the share of (step, track) cells with the same pitch as the
nearest real window (1.0 would be a copy); ``nearest.json`` lists them and ``nearest.png``
shows the closest generated window beside its nearest training window.

Example:
    >>> noise, labels = control_noise("ones", z_dim=4, n_tracks=2, seed=0)
    >>> labels, float(noise["style"][2, 0]), noise["melody"].shape
    (['base', 'chords=5', 'style=5', 'melody=5', 'groove=5'], 5.0, (5, 2, 4))
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import multitrack
from mst.models.musegan.musegan_generator import NOISE_NAMES

CONTROLS = ("random", "chords", "melody", "interpolate", "ones")
PROG = "generate.py musegan"


def _draw(rng, n: int, z_dim: int, n_tracks: int) -> dict:
    return {
        "chords": rng.standard_normal((n, z_dim)).astype(np.float32),
        "style": rng.standard_normal((n, z_dim)).astype(np.float32),
        "melody": rng.standard_normal((n, n_tracks, z_dim)).astype(np.float32),
        "groove": rng.standard_normal((n, n_tracks, z_dim)).astype(np.float32),
    }


def control_noise(control: str, *, z_dim: int, n_tracks: int, count: int = 4, seed: int = 0, track: int = 0) -> tuple[dict, list[str]]:
    """The noise of one control: ``({name: float32 [N, ...]}, one label per window)``.

    Raises:
        ValueError: Unknown control, ``count < 1`` (``< 2`` for ``interpolate``) or a bad track.
    """
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; choose one of {', '.join(CONTROLS)}")
    if count < (2 if control == "interpolate" else 1):
        raise ValueError(f"--count must be >= {2 if control == 'interpolate' else 1} for {control}, got {count}")
    if not 0 <= track < n_tracks:
        raise ValueError(f"--track must be in 0..{n_tracks - 1}, got {track}")
    rng = np.random.default_rng(seed)
    if control == "random":
        return _draw(rng, count, z_dim, n_tracks), [f"sample {i}" for i in range(count)]
    base = _draw(rng, 1, z_dim, n_tracks)
    n = 5 if control == "ones" else count
    noise = {name: np.repeat(value, n, axis=0) for name, value in base.items()}
    if control == "chords":
        noise["chords"] = rng.standard_normal((n, z_dim)).astype(np.float32)
        labels = [f"chords {i}" for i in range(n)]
    elif control == "melody":
        noise["melody"][:, track] = rng.standard_normal((n, z_dim)).astype(np.float32)
        labels = [f"melody[{track}] {i}" for i in range(n)]
    elif control == "interpolate":
        other = rng.standard_normal((1, z_dim)).astype(np.float32)
        weights = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        noise["style"] = (1 - weights) * base["style"] + weights * other
        labels = [f"style t={float(w):.2f}" for w in weights[:, 0]]
    else:
        for index, name in enumerate(NOISE_NAMES, start=1):
            noise[name][index] = 5.0
        labels = ["base", *(f"{name}=5" for name in NOISE_NAMES)]
    return noise, labels


def argmax_roll(values) -> np.ndarray:
    """Windows ``[N, bars, steps, 84, tracks]`` -> the book's argmax decoding as one-hot {-1, +1} windows."""
    values = np.asarray(values, np.float32)
    best = values.argmax(axis=3)
    out = -np.ones_like(values)
    np.put_along_axis(out, best[:, :, :, None, :], 1.0, axis=3)
    return out


def nearest_training(windows, train_values, song_ids: Sequence[str] = ()) -> list[dict]:
    """For each generated window: the nearest training window by L2 in roll space and how much of it matches.

    Args:
        windows: Generated values ``[N, bars, steps, 84, tracks]``.
        train_values: Training windows in {-1, +1}, same shape per window.
        song_ids: Song id per training window (for the report).

    Returns:
        ``[{"index", "distance", "song_id", "same_pitch_share", "distance_to_second"}]``.
    """
    decoded = argmax_roll(windows).reshape(len(windows), -1)
    train = np.asarray(train_values, np.float32).reshape(len(train_values), -1)
    # ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b, in float64 for exact integers
    d2 = (decoded.astype(np.float64) ** 2).sum(1)[:, None] + (train.astype(np.float64) ** 2).sum(1)[None, :] - 2.0 * decoded.astype(np.float64) @ train.T.astype(np.float64)
    d2 = np.maximum(d2, 0.0)
    order = np.argsort(d2, axis=1)
    shape = np.asarray(windows).shape
    generated_pitch = np.asarray(windows).argmax(axis=3)
    train_pitch = np.asarray(train_values).reshape(len(train_values), *shape[1:]).argmax(axis=3)
    train_sounding = np.asarray(train_values).reshape(len(train_values), *shape[1:]).max(axis=3) > 0
    out = []
    for i in range(len(windows)):
        j = int(order[i, 0])
        same = (generated_pitch[i] == train_pitch[j]) & train_sounding[j]
        out.append({
            "index": i,
            "nearest_train_index": j,
            "song_id": song_ids[j] if len(song_ids) > j else "",
            "distance": float(np.sqrt(d2[i, j])),
            "distance_to_second": float(np.sqrt(d2[i, order[i, 1]])) if d2.shape[1] > 1 else float("nan"),
            "same_pitch_share": float(same.mean()),
        })
    return out


def write_control(out_dir: Path, control: str, windows: np.ndarray, labels: list[str], *, decoding: str, threshold: float, pitch_offset: int) -> list[Path]:
    """``CONTROL_XX.mid`` per window and ``CONTROL.png``; returns the paths."""
    from mst.models.musegan.musegan_plots import save_windows_png  # noqa: PLC0415

    written = []
    for i, window in enumerate(windows):
        written.append(multitrack.write_roll_midi(out_dir / f"{control}_{i:02d}.mid", window, decoding=decoding, threshold=threshold, pitch_offset=pitch_offset))
    written.append(Path(save_windows_png(out_dir / f"{control}.png", windows, titles=labels, pitch_offset=pitch_offset, decoding=decoding)))
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Generate four-track windows (MIDI + per-track PNG) with a trained MuseGAN.")
    parser.add_argument("--model", required=True, help="export folder, run folder or checkpoint prefix of a MuseGAN")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--control", choices=[*CONTROLS, "all"], default="random", help="which noise control (module docs); default random")
    parser.add_argument("--count", type=int, default=4, help="windows per control (default 4; 'ones' always writes 5)")
    parser.add_argument("--track", type=int, default=0, help="track whose melody noise 'melody' varies (default 0 = soprano)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--decoding", choices=multitrack.DECODINGS, default="argmax", help="argmax (the book: no rests) or threshold (rests where no pitch exceeds --threshold)")
    parser.add_argument("--threshold", type=float, default=0.0, help="threshold of --decoding threshold, in model values (default 0)")
    parser.add_argument("--data", help="a multitrack_rolls dataset: compare each window with its nearest training window")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit status (0 ok, 2 bad usage or input)."""
    args = build_parser().parse_args(argv)
    from mst.export import ExportError  # noqa: PLC0415
    from mst.models.musegan.musegan_export import load_musegan  # noqa: PLC0415
    from mst.records.manifest import DatasetError  # noqa: PLC0415

    try:
        model = load_musegan(args.model)
        config = model.config
        train = None
        if args.data:
            from mst.records.multitrack_rolls import load_windows  # noqa: PLC0415

            train = load_windows(args.data, "train")
            if train.rolls.shape[1:] != tuple(config.window_shape):
                raise DatasetError(f"{args.data}: windows are {list(train.rolls.shape[1:])}, the model makes {list(config.window_shape)}")
        controls = list(CONTROLS) if args.control == "all" else [args.control]
        plans = {c: control_noise(c, z_dim=config.z_dim, n_tracks=config.n_tracks, count=args.count, seed=args.seed, track=args.track) for c in controls}
    except (ExportError, DatasetError, FileNotFoundError, ValueError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"model": str(args.model), "seed": args.seed, "decoding": args.decoding, "controls": {}}
    pitch_offset = multitrack.BOOK_PITCH_OFFSET
    best = None
    for control, (noise, labels) in plans.items():
        windows = model.generate(noise)
        paths = write_control(out_dir, control, windows, labels, decoding=args.decoding, threshold=args.threshold, pitch_offset=pitch_offset)
        entry = {"labels": labels, "files": [p.name for p in paths]}
        if train is not None:
            entry["nearest"] = nearest_training(windows, train.values, train.song_ids)
            for item in entry["nearest"]:
                if best is None or item["distance"] < best[0]["distance"]:
                    best = (item, windows[item["index"]])
        report["controls"][control] = entry
        print(f"{PROG}: {control}: {len(windows)} windows -> {out_dir / (control + '.png')}", flush=True)
    if best is not None:
        from mst.models.musegan.musegan_plots import save_windows_png  # noqa: PLC0415

        item, window = best
        save_windows_png(out_dir / "nearest.png", np.stack([window, train.values[item["nearest_train_index"]]]),
                         titles=["generated (closest of all)", f"nearest training window {item['song_id']} (L2 {item['distance']:.1f})"])
        distances = [n["distance"] for e in report["controls"].values() for n in e["nearest"]]
        shares = [n["same_pitch_share"] for e in report["controls"].values() for n in e["nearest"]]
        report["nearest_summary"] = {"min_distance": min(distances), "mean_distance": float(np.mean(distances)), "max_same_pitch_share": max(shares), "mean_same_pitch_share": float(np.mean(shares))}
        print(f"{PROG}: nearest training window: L2 >= {min(distances):.1f}, at most {max(shares):.0%} of cells with the same pitch", flush=True)
    atomic.write_json(out_dir / "generate.json", report)
    return 0
