#!/usr/bin/env python
"""Transfers whole MIDI songs (a file or a folder, recursively) with a trained CycleGAN generator.

Examples:
    python transfer.py song.mid --direction classical2pop          # the shipped model, no training
    python transfer.py --model runs/cp/export --direction a2b song.mid --out song_pop.mid --plot
    python transfer.py --model runs/cp/export --direction b2a midi/pop/ --out out/pop2classical

Exit status: 0 success; 1 a single song could not be transferred (unreadable, rejected by the
time-signature filter, output exists, ...), or with ``--strict`` any file of a folder was skipped or
any transfer was silent or kept under 10 % of its source's notes, or a folder holds no MIDI file;
2 bad usage (arguments, model not found, direction not in the model).
"""

from __future__ import annotations

from mst.cli import add_trust_argument, restoring_saved_model_policy, expand_user

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The command line (kept free of TensorFlow so ``--help`` is instant)."""
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="transfer.py",
        description=(
            "Whole-song genre transfer: phrase the song like the training data (drums dropped, "
            "tracks merged, 16th-note grid, MIDI 24..107, incomplete last phrase kept), run the "
            "generator, binarize at 0.5 and write one piano track with the source's tempo map and "
            "time signatures."
        ),
    )
    parser.add_argument("input", help="a MIDI file, or a folder searched recursively for .mid/.midi")
    parser.add_argument(
        "--model",
        metavar="PATH",
        help=(
            "export folder, SavedModel folder, .keras file, or training run folder / checkpoint "
            "(default: the classical <-> pop model shipped with mst)"
        ),
    )
    parser.add_argument(
        "--direction",
        required=True,
        help=(
            "by domain, e.g. classical2pop, or a2b / b2a: genre A to genre B (A is the first genre "
            "of the pair, e.g. jazz in jazz_classical)"
        ),
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=(
            "file: output MIDI (an existing folder gets <stem>_<direction>.mid; default: beside the "
            "input); folder input: output folder (required), the input tree is mirrored"
        ),
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        default=transfer.DEFAULT_BATCH_SIZE,
        help="phrases per generator call (default %(default)s)",
    )
    parser.add_argument(
        "--program",
        type=int,
        metavar="N",
        default=0,
        help="General MIDI program of the output track (default 0 = Acoustic Grand Piano)",
    )
    parser.add_argument(
        "--keep-drums", action="store_true", help="put the source's drum notes back as a drum track"
    )
    parser.add_argument(
        "--time-signature-policy",
        choices=transfer.TIME_SIGNATURE_POLICIES,
        default="strict",
        help=(
            "strict: one 4/4 signature at tick 0 (the authors' filter); in_effect: every signature "
            "in effect has 4 beats; beat_grid: ignore signatures, use the quarter-note grid"
        ),
    )
    parser.add_argument(
        "--cycle",
        action="store_true",
        help="also write <stem>_<direction>_cycle.mid (A->B->A); needs both directions",
    )
    parser.add_argument(
        "--plot", action="store_true", help="write a before/after pianoroll PNG beside the MIDI"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--precision",
        choices=transfer.PRECISIONS,
        default="float32",
        help=(
            "bfloat16: run the generator through oneDNN's bfloat16 rewrite on CPU (about 2x faster "
            "on CPUs with AVX512_BF16/AMX, slower without; a few cells near 0.5 may flip)"
        ),
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help=(
            "write the generator's output as it is: by default a silent source phrase stays silent "
            "and nothing sounds after the source's last note"
        ),
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a transfer is silent or keeps under 10%% of the source's notes, or (folder mode) any file was skipped",
    )
    from mst import audio  # noqa: PLC0415  (no TensorFlow)

    audio.add_audio_arguments(parser)
    add_trust_argument(parser)
    return parser


def _describe(result) -> str:
    parts = [f"{result.num_steps} steps", f"{result.num_phrases} phrases", f"{result.notes_written} notes"]
    if result.drum_notes_written:
        parts.append(f"{result.drum_notes_written} drum notes")
    line = f"wrote {result.output_path} ({', '.join(parts)}) in {result.timing['total']:.2f} s"
    if result.cycle_path:
        line += f"; cycle {result.cycle_path}"
    if result.plot_path:
        line += f"; plot {result.plot_path}"
    if result.notes_out_of_range:
        line += (
            f"\n  note: {result.notes_out_of_range} source note(s) outside MIDI 24..107 were dropped"
        )
    for warning in result.warnings:
        line += f"\n  warning: {warning}"
    return line


def _single_output(source: Path, out: str | None, direction: str) -> Path:
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    name = transfer.default_output_name(source, direction)
    if out is None:
        return source.with_name(name)
    target = Path(out)
    if target.is_dir() or out.endswith(("/", os.sep)):
        return target / name
    return target


@restoring_saved_model_policy
def main(argv: list[str] | None = None) -> int:
    """Runs the command line and returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(expand_user(argv))
    source = Path(args.input)
    if not source.exists():
        parser.error(f"input not found: {args.input}")
    if args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    if not 0 <= args.program <= 127:
        parser.error("--program must be in 0..127")
    folder_mode = source.is_dir()
    if folder_mode and args.out is None:
        parser.error("a folder input needs --out DIR")
    if folder_mode and Path(args.out).exists() and not Path(args.out).is_dir():
        parser.error(f"--out {args.out} is a file; a folder input needs an output folder")

    from mst import audio  # noqa: PLC0415

    try:
        soundfont = audio.check_audio_arguments(args)  # before the model loads: fail fast
    except audio.AudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE

    from mst.runtime import import_tensorflow  # noqa: PLC0415

    import_tensorflow()  # quiet start before the model loader imports TensorFlow
    from mst import export  # noqa: PLC0415

    export.trust_saved_models(args.trust_saved_model)
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415

    if args.model is None:
        from mst.models.cyclegan import pretrained  # noqa: PLC0415

        try:
            args.model = str(pretrained.shipped_generators())
        except pretrained.NoShippedModel as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
    try:
        model = transfer.load_model(args.model)
    except Exception as err:  # noqa: BLE001  (any loader failure is a usage error for the user)
        print(f"error: cannot load model {args.model}: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.direction = model.resolve_direction(args.direction)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.direction not in model.directions:
        print(
            f"error: {args.model} has no {args.direction} generator (has: "
            f"{', '.join(model.directions) or 'none'})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(f"model {args.model}: {model.describe(args.direction)}", flush=True)
    other = "b2a" if args.direction == "a2b" else "a2b"
    if args.cycle and other not in model.directions:
        print(
            f"error: --cycle needs the {other} generator too; {args.model} has only {args.direction}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    options = dict(
        batch_size=args.batch_size,
        program=args.program,
        keep_drums=args.keep_drums,
        time_signature_policy=args.time_signature_policy,
        cycle=args.cycle,
        plot=args.plot,
        overwrite=args.overwrite,
        precision=args.precision,
        raw=args.raw,
    )

    if not folder_mode:
        target = _single_output(source, args.out, args.direction)
        try:
            result = transfer.transfer_song(
                source, model, direction=args.direction, out_path=target, **options
            )
        except transfer.TransferError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
        print(_describe(result))
        try:
            audio.render_for_cli([result.output_path], args, soundfont)
        except audio.AudioError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_FAILED if args.strict and result.warnings else EXIT_OK

    try:
        report = transfer.transfer_folder(
            source,
            model,
            out_dir=args.out,
            direction=args.direction,
            on_result=lambda r: print(_describe(r), flush=True),
            on_skip=lambda s: print(f"skipped {s.path}: {s.reason}: {s.detail}", flush=True),
            **options,
        )
    except (ValueError, NotADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if not report.results and not report.skipped:
        print(f"error: no .mid/.midi files under {source}", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary())
    try:
        audio.render_for_cli([r.output_path for r in report.results], args, soundfont, relative_to=Path(args.out))
    except audio.AudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.strict and (report.skipped or any(r.warnings for r in report.results)):
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
