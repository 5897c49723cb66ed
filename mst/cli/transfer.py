#!/usr/bin/env python
"""Transfers whole MIDI songs (a file or a folder, recursively) with a trained CycleGAN generator.

Examples:
    python transfer.py song.mid --direction classical2pop          # the shipped model, no training
    python transfer.py --model runs/cp/export --direction a2b song.mid --out song_pop.mid --plot
    python transfer.py --model runs/cp/export --direction b2a midi/pop/ --out out/pop2classical

Exit status (the same for every mst command, :mod:`mst.cli.errors`): 0 success; 1 with
``--strict``, a file of a folder was skipped or a transfer was silent or kept under 10 % of its
source's notes; 2 bad usage or input (arguments, model not found, direction not in the model, a
song that is unreadable or rejected by the time-signature filter, an output that exists, a folder
without MIDI files); 3 environment (disk full, read-only output); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

from mst.cli import add_trust_argument, restoring_saved_model_policy, expand_user
from mst.cli.errors import EXIT_OK, EXIT_PROBLEMS, add_debug_argument, command
from mst.errors import InputError

import argparse
import os
import sys
from pathlib import Path

PROG = "transfer.py"


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
    add_debug_argument(parser)
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


def _check_named_generator(model_path: str, direction: str, cycle: bool) -> None:
    """A ``generator_<d>.keras`` file given for the other direction is a mistake, not a request
    for its sibling file (which the loader reads for ``--cycle`` and for export folders)."""
    from mst.models.cyclegan.cyclegan_export import GENERATOR_FILE_NAMES  # noqa: PLC0415

    named = next((d for d, name in GENERATOR_FILE_NAMES.items() if Path(model_path).name == name), None)
    if named is not None and named != direction and not cycle:
        raise UsageError(
            f"--model {model_path} is the {named} generator, not {direction}; give "
            f"{Path(model_path).with_name(GENERATOR_FILE_NAMES[direction])} or the export folder"
        )


class UsageError(InputError):
    """A command line that cannot work (exit status 2)."""


@command(PROG)
@restoring_saved_model_policy
def main(argv: list[str] | None = None) -> int:
    """Runs the command line and returns the exit status (see the module docstring)."""
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
    from mst.models.cyclegan import song_transfer as transfer  # noqa: PLC0415  (no TensorFlow yet)

    soundfont = audio.check_audio_arguments(args)  # before the model loads: fail fast
    if not folder_mode:
        # A song that cannot be read or is rejected fails in milliseconds, not after a model load.
        transfer.read_source_song(source, args.time_signature_policy)

    from mst.runtime import import_tensorflow  # noqa: PLC0415

    import_tensorflow()  # quiet start before the model loader imports TensorFlow
    from mst import export  # noqa: PLC0415

    export.trust_saved_models(args.trust_saved_model)
    if args.model is None:
        from mst.models.cyclegan import pretrained  # noqa: PLC0415

        args.model = str(pretrained.shipped_generators())
    model = transfer.load_model(args.model)
    args.direction = model.resolve_direction(args.direction)
    if args.direction not in model.directions:
        raise UsageError(f"{args.model} has no {args.direction} generator (has: {', '.join(model.directions) or 'none'})")
    _check_named_generator(args.model, args.direction, args.cycle)
    print(f"model {args.model}: {model.describe(args.direction)}", flush=True)
    other = "b2a" if args.direction == "a2b" else "a2b"
    if args.cycle and other not in model.directions:
        raise UsageError(f"--cycle needs the {other} generator too; {args.model} has only {args.direction}")
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
        result = transfer.transfer_song(source, model, direction=args.direction, out_path=target, **options)
        print(_describe(result))
        audio.render_for_cli([result.output_path], args, soundfont)
        return EXIT_PROBLEMS if args.strict and result.warnings else EXIT_OK

    report = transfer.transfer_folder(
        source,
        model,
        out_dir=args.out,
        direction=args.direction,
        on_result=lambda r: print(_describe(r), flush=True),
        on_skip=lambda s: print(f"skipped {s.path}: {s.reason}: {s.detail}", flush=True),
        **options,
    )
    if not report.results and not report.skipped:
        raise UsageError(f"no .mid/.midi files under {source}")
    print(report.summary())
    audio.render_for_cli([r.output_path for r in report.results], args, soundfont, relative_to=Path(args.out))
    if args.strict and (report.skipped or any(r.warnings for r in report.results)):
        return EXIT_PROBLEMS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
