#!/usr/bin/env python
"""``python train.py``: the same command as the installed ``mst-train`` (code and help: :mod:`mst.cli.train`)."""

import sys

from mst.cli.train import *  # noqa: F403  (the script's public names, for tests and tools)
from mst.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
