"""``python generate.py music-vae SUBCOMMAND``: sample, interpolate, reconstruct, humanize, tap2drum.

Every subcommand takes ``--model`` (an export folder, SavedModel, ``music_vae.keras``, a run folder
or checkpoint) and ``--out`` (a folder) and writes MIDI files plus PNGs (drum grids with velocity
and timing offset for grooves, pianorolls for melodies)::

    python generate.py music-vae sample --model runs/g4/export --out out/samples --n 4 --temperature 0.5
    python generate.py music-vae interpolate --model runs/g4/export --start a.mid --end b.mid --steps 8 --out out/interp
    python generate.py music-vae reconstruct --model runs/g4/export --input a.mid --out out/recon
    python generate.py music-vae humanize --model runs/humanize/export --input quantised.mid --out out/human
    python generate.py music-vae tap2drum --model runs/tap/export --input taps.mid --out out/tap

* ``sample``: ``z ~ N(0, I)`` decoded at ``--temperature`` (Magenta's default 0.5).
* ``interpolate``: the posterior **means** of the first window of two files, ``--steps`` points on
  the spherical-linear (slerp) path between them, each decoded; one MIDI per step
  (``step_XX.mid``) and ``interpolation.mid`` with all steps one after another.
* ``reconstruct``: every window (up to ``--max-windows``) of a file encoded to its mean and decoded.
* ``humanize`` (grooves): the file's drum onsets are quantised and their velocities and offsets
  removed (the model's own input transform, ``humanize``), encoded and decoded: a model trained
  with ``humanize`` (``groovae_2bar_humanize``) gives the score a human feel.
* ``tap2drum`` (grooves): every note of the file, whatever its pitch, becomes a tap on one
  channel (``tapify``; with ``fixed_velocities`` the velocities are dropped), encoded and decoded
  into a full kit by a ``groovae_2bar_tap_fixed_velocity`` model.

Input drum files are mapped with the General-MIDI drum table (``--pitch-classes gm``, Magenta's
inference map); ``--pitch-classes roland`` reads Roland TD-11 files such as the GMD exactly.
Exit status 0, or 2 with one ``error:`` line for a bad file or model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mst.encodings import drums, melody_onehot

SUBCOMMANDS = ("sample", "interpolate", "reconstruct", "humanize", "tap2drum")


def slerp(p0: np.ndarray, p1: np.ndarray, t: float) -> np.ndarray:
    """Spherical linear interpolation between two vectors (Magenta's ``_slerp``).

    Example:
        >>> a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        >>> np.round(slerp(a, b, 0.5), 4).tolist(), slerp(a, b, 0.0).tolist()
        ([0.7071, 0.7071], [1.0, 0.0])
    """
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    cosine = np.dot(p0 / np.linalg.norm(p0), p1 / np.linalg.norm(p1))
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.sin(omega) < 1e-8:
        return (1.0 - t) * p0 + t * p1
    return (np.sin((1.0 - t) * omega) * p0 + np.sin(t * omega) * p1) / np.sin(omega)


def tap_onsets(song) -> drums.Onsets:
    """Every note of a song as a tap on the tap channel (tap2drum input), quantised on the grid."""
    from mst.encodings.grid import STEPS_PER_BEAT, ticks_to_steps  # noqa: PLC0415

    notes = song.notes
    steps = ticks_to_steps(notes["start"], song.ticks_per_beat)
    step_ticks = song.ticks_per_beat / STEPS_PER_BEAT
    offsets = 2.0 * (steps * step_ticks - notes["start"]) / step_ticks
    return drums.Onsets(steps.astype(np.int64), np.full(len(notes), drums.TAP_CHANNEL), notes["velocity"].astype(np.int64), offsets)


def file_windows(path, encoding: str, steps: int, *, pitch_classes: str = "gm", taps: bool = False, max_windows: int = 8) -> np.ndarray:
    """The model-sized windows of a MIDI file: grooves ``[n, T, 27]`` or melody classes ``[n, T]``.

    Raises:
        mst.music.midi.MidiError: unreadable file.
        ValueError: the file gives no window (the message names it).
    """
    from mst.music.midi import read_midi  # noqa: PLC0415

    song = read_midi(path)
    bars = steps // 16
    if encoding == "groove":
        onsets = tap_onsets(song) if taps else drums.song_onsets(song, pitch_classes)
        windows = drums.converter_windows(onsets, bars)
        if not len(windows):
            raise ValueError(f"{path}: no {bars}-bar drum window (the file needs drum onsets reaching bar {bars}; wrong --pitch-classes?)")
        return windows[:max_windows]
    windows = melody_onehot.slice_windows(melody_onehot.extract_melodies(song), bars)
    if not windows:
        raise ValueError(f"{path}: no {bars}-bar melody (4/4, pitches 21-108)")
    return np.stack(windows[:max_windows])


def _one_hot_if_melody(windows: np.ndarray, encoding: str) -> np.ndarray:
    return windows.astype(np.float32) if encoding == "groove" else melody_onehot.one_hot(windows)


def _write(folder: Path, name: str, encoding: str, outputs, title: str, titles=None) -> list[Path]:
    from mst.models.music_vae import music_vae_outputs  # noqa: PLC0415

    return music_vae_outputs.write_outputs(folder / name, encoding, outputs, title=title, titles=titles)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate.py music-vae", description="MusicVAE / GrooVAE generation (MIDI + PNG).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name in SUBCOMMANDS:
        sub = commands.add_parser(name, help=name)
        sub.add_argument("--model", required=True, help="export folder, SavedModel, music_vae.keras, run folder or checkpoint")
        sub.add_argument("--out", required=True, help="output folder")
        sub.add_argument("--temperature", type=float, default=None, help="sampling temperature (default: the model's, 0.5)")
        sub.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        if name == "sample":
            sub.add_argument("--n", type=int, default=4, help="number of samples (default 4)")
        if name == "interpolate":
            sub.add_argument("--start", required=True, help="first MIDI file")
            sub.add_argument("--end", required=True, help="second MIDI file")
            sub.add_argument("--steps", type=int, default=8, help="points on the path, ends included (default 8)")
        if name in ("reconstruct", "humanize", "tap2drum"):
            sub.add_argument("--input", required=True, help="MIDI file")
            sub.add_argument("--max-windows", type=int, default=4, help="windows of the file to process (default 4)")
        if name != "sample":
            sub.add_argument("--pitch-classes", choices=tuple(drums.PITCH_CLASSES), default="gm",
                             help="drum map of the input files (default gm; roland for Groove MIDI Dataset files)")
    return parser


def run(args) -> list[Path]:
    """Runs one parsed subcommand; returns the files written."""
    from mst.models.music_vae.music_vae_export import load_music_vae  # noqa: PLC0415

    model = load_music_vae(args.model)
    config = model.config
    temperature = args.temperature if args.temperature is not None else (config.temperature if config is not None else 0.5)
    out = Path(args.out)
    encoding, steps = model.encoding, model.max_seq_len
    written: list[Path] = []
    if args.command == "sample":
        outputs = model.sample(args.n, temperature, seed=args.seed)
        written += _write(out, "samples", encoding, outputs, f"{args.n} samples, temperature {temperature:g}", [f"sample {i}" for i in range(args.n)])
        for index, output in enumerate(outputs):
            written += _write(out, f"sample_{index:02d}", encoding, output[None], f"sample {index}, temperature {temperature:g}")
        return written
    if args.command == "interpolate":
        a = file_windows(args.start, encoding, steps, pitch_classes=args.pitch_classes, max_windows=1)
        b = file_windows(args.end, encoding, steps, pitch_classes=args.pitch_classes, max_windows=1)
        mu, _ = model.encode(np.concatenate([_one_hot_if_melody(a, encoding), _one_hot_if_melody(b, encoding)]))
        path = np.stack([slerp(mu[0], mu[1], t) for t in np.linspace(0.0, 1.0, args.steps)]).astype(np.float32)
        outputs = model.decode(path, temperature, seed=args.seed)
        titles = [f"t = {t:.2f}" for t in np.linspace(0.0, 1.0, args.steps)]
        written += _write(out, "interpolation", encoding, outputs, f"slerp between the means of {Path(args.start).name} and {Path(args.end).name}", titles)
        for index, output in enumerate(outputs):
            written += _write(out, f"step_{index:02d}", encoding, output[None], titles[index])
        return written
    taps = args.command == "tap2drum"
    windows = file_windows(args.input, encoding, steps, pitch_classes=args.pitch_classes, taps=taps, max_windows=args.max_windows)
    targets = _one_hot_if_melody(windows, encoding)
    if args.command in ("humanize", "tap2drum"):
        if encoding != "groove":
            raise ValueError(f"{args.command} needs a groove model; {args.model} is a melody model")
        humanize = args.command == "humanize"
        fixed = bool(config.fixed_velocities) if config is not None else taps
        inputs = np.stack([drums.transform_input(w, humanize=humanize, fixed_velocities=fixed and taps) for w in targets])
        if config is not None and not (config.humanize if humanize else config.tapify):
            print(f"note: {args.model} was not trained with the {'humanize' if humanize else 'tapify'} input transform; "
                  "use a groovae_2bar_humanize / groovae_2bar_tap_fixed_velocity model for this", file=sys.stderr)
    else:
        inputs = targets
    mu, _ = model.encode(inputs)
    outputs = model.decode(mu, temperature, seed=args.seed)
    label = {"reconstruct": "reconstruction", "humanize": "humanized", "tap2drum": "drums from taps"}[args.command]
    written += _write(out, "input", encoding, inputs, f"input to the encoder ({Path(args.input).name})")
    written += _write(out, "output", encoding, outputs, f"{label}, temperature {temperature:g}")
    if encoding == "groove":
        from mst.models.music_vae import music_vae_outputs  # noqa: PLC0415

        pairs = np.stack([x for pair in zip(inputs, outputs) for x in pair])
        titles = [t for i in range(len(inputs)) for t in (f"window {i} input", f"window {i} {label}")]
        written.append(Path(music_vae_outputs.save_groove_png(out / "comparison.png", pairs, titles=titles, title=f"{args.command}: input vs output")))
    return written


def main(argv) -> int:
    """``generate.py music-vae`` (see the module docstring); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.temperature is not None and args.temperature <= 0:
        parser.error("--temperature must be > 0")
    if getattr(args, "n", 1) < 1 or getattr(args, "steps", 2) < 2 or getattr(args, "max_windows", 1) < 1:
        parser.error("--n and --max-windows must be >= 1, --steps >= 2")
    from mst.errors import FileReasonError  # noqa: PLC0415
    from mst.export import ExportError  # noqa: PLC0415

    try:
        written = run(args)
    except (ExportError, FileNotFoundError, FileReasonError, ValueError) as error:
        print(f"generate.py music-vae {args.command}: error: {error}", file=sys.stderr)
        return 2
    print(f"generate.py music-vae {args.command}: wrote {len(written)} files to {args.out}")
    for path in written:
        print(f"  {path}")
    return 0
