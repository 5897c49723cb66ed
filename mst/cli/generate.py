#!/usr/bin/env python
"""Generates music with a trained model of a generative family: one subcommand per family.

    python generate.py attention-rnn --model runs/cello --temperature 0.5 --length 200 --out cello.mid
    python generate.py --list

The subcommands are the families of :mod:`mst.registry` that define a ``generate`` entry point
(``Family.generate``); each parses its own arguments (``python generate.py FAMILY --help``).
Every subcommand also takes ``--audio PATH`` (a ``.wav`` for one output, else a folder) and
``--soundfont PATH|sine`` (:mod:`mst.audio`): the MIDI files the family wrote under ``--out`` are
rendered after it finishes. Exit status: 0 success; 1 generation failed while running; 2 bad usage
or unusable inputs.

Nothing heavy is imported before the subcommand is known, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mst.cli import restoring_saved_model_policy
from mst.cli.errors import command

PROG = "generate.py"
EXIT_USAGE = 2


def _usage(families) -> str:
    lines = [f"usage: {PROG} FAMILY [options]   ({PROG} FAMILY --help for its options)", "", "families:"]
    width = max((len(entry.cli_name) for entry in families), default=0)
    lines += [f"  {entry.cli_name:<{width}}  {entry.description}" for entry in families]
    return "\n".join(lines)


@command(PROG)
@restoring_saved_model_policy
def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    from mst import registry  # noqa: PLC0415  (no TensorFlow)
    from mst.config import ConfigError  # noqa: PLC0415

    from mst.cli import expand_user  # noqa: PLC0415

    argv = expand_user(argv)
    families = registry.families_with("generate")
    if not argv or argv[0] in ("-h", "--help", "--list"):
        print(_usage(families))
        return 0 if argv else EXIT_USAGE
    try:
        entry = registry.family_for_command(argv[0], "generate")
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    from mst.cli import apply_trust_argument  # noqa: PLC0415

    family_argv, audio_args = _split_audio_arguments(apply_trust_argument(argv[1:]))
    from mst import audio  # noqa: PLC0415  (no TensorFlow)

    try:
        soundfont = audio.check_audio_arguments(audio_args)  # before any model loads
    except audio.AudioError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    out = _out_argument(family_argv)
    started = time.time()
    status = int(entry.resolve("generate")(family_argv))
    if status != 0 or soundfont is None:
        return status
    written = _midi_written(out, since=started)
    if not written:
        print(f"{PROG}: --audio: no MIDI file was written under {out}", file=sys.stderr)
        return 1
    try:
        audio.render_for_cli(written, audio_args, soundfont, relative_to=out if out.is_dir() else None)
    except audio.AudioError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _split_audio_arguments(argv: list[str]):
    """``(the family's arguments, the --audio/--soundfont namespace)``: rendering is generic."""
    parser = argparse.ArgumentParser(add_help=False)
    from mst import audio  # noqa: PLC0415

    audio.add_audio_arguments(parser)
    known, rest = parser.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print("every family also takes --audio PATH (.wav or folder) and --soundfont PATH|sine (see mst.audio)")
    return rest, known


def _out_argument(argv: list[str]) -> Path | None:
    from mst.cli import option_value  # noqa: PLC0415

    out = option_value(argv)
    return None if out is None else Path(out).expanduser()


def _midi_written(out: Path | None, *, since: float) -> list[Path]:
    """The MIDI files a generation wrote: ``--out`` itself, or those under the ``--out`` folder."""
    if out is None:
        return []
    if out.is_file():
        return [out]
    if not out.is_dir():
        return []
    return sorted(p for p in out.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.stat().st_mtime >= since - 1)


if __name__ == "__main__":
    sys.exit(main())
