#!/usr/bin/env python
"""``python evaluate.py``: the same command as the installed ``mst-evaluate`` (code and help: :mod:`mst.cli.evaluate`)."""

import sys

from mst.cli.evaluate import *  # noqa: F403  (the script's public names, for tests and tools)
from mst.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
