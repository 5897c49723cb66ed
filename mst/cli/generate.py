#!/usr/bin/env python
"""Generates music with a trained model of a generative family: one subcommand per family.

    python generate.py attention-rnn --model runs/cello --temperature 0.5 --length 200 --out cello.mid
    python generate.py --list

The subcommands are the families of :mod:`mst.registry` that define a ``generate`` entry point
(``Family.generate``); each parses its own arguments (``python generate.py FAMILY --help``).
Exit status: 0 success; 1 generation failed while running; 2 bad usage or unusable inputs.

Nothing heavy is imported before the subcommand is known, so ``--help`` is instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

PROG = "generate.py"
EXIT_USAGE = 2


def _usage(families) -> str:
    lines = [f"usage: {PROG} FAMILY [options]   ({PROG} FAMILY --help for its options)", "", "families:"]
    width = max((len(entry.cli_name) for entry in families), default=0)
    lines += [f"  {entry.cli_name:<{width}}  {entry.description}" for entry in families]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    from mst import registry  # noqa: PLC0415  (no TensorFlow)
    from mst.config import ConfigError  # noqa: PLC0415

    argv = list(sys.argv[1:] if argv is None else argv)
    families = registry.families_with("generate")
    if not argv or argv[0] in ("-h", "--help", "--list"):
        print(_usage(families))
        return 0 if argv else EXIT_USAGE
    try:
        entry = registry.family_for_command(argv[0], "generate")
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return int(entry.resolve("generate")(argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
