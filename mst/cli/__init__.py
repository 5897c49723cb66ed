"""The command lines of mst, as importable modules (the installed commands run these).

=================  ============================  ===========================
installed command  module                        top-level script (checkout)
=================  ============================  ===========================
``mst-prepare``    :mod:`mst.prepare`            ``python -m mst.prepare``
``mst-train``      :mod:`mst.cli.train`          ``python train.py``
``mst-transfer``   :mod:`mst.cli.transfer`       ``python transfer.py``
``mst-evaluate``   :mod:`mst.cli.evaluate`       ``python evaluate.py``
``mst-generate``   :mod:`mst.cli.generate`       ``python generate.py``
``mst-demo``       :mod:`mst.demo`               ``make demo``
=================  ============================  ===========================

Each module also runs with ``python -m mst.cli.<name>``. The top-level scripts of a checkout are
thin wrappers around these modules, so every way of starting a command runs the same code.
"""

import os
import sys
from collections.abc import Sequence


def expand_user(argv: Sequence[str] | None) -> list[str]:
    """The command line with ``~`` expanded where the shell leaves it: after ``=``.

    ``--data ~/x`` reaches Python expanded, but ``--data=~/x`` and ``--genre pop=~/midi/pop`` do
    not (the shell only expands a word-leading ``~``); every mst command expands those itself so
    no folder literally named ``~`` is ever created.

    Example:
        >>> home = os.path.expanduser("~")
        >>> expand_user(["--data=~/d", "pop=~/midi", "~/x", "a~b", "--x=1"]) == [f"--data={home}/d", f"pop={home}/midi", f"{home}/x", "a~b", "--x=1"]
        True
    """
    items = list(sys.argv[1:] if argv is None else argv)
    expanded = []
    for item in items:
        if item.startswith("~"):
            item = os.path.expanduser(item)
        else:
            head, separator, tail = item.partition("=")
            if separator and (tail == "~" or tail.startswith("~/")):
                item = f"{head}={os.path.expanduser(tail)}"
        expanded.append(item)
    return expanded
