#!/usr/bin/env python
"""``python generate.py``: the same command as the installed ``mst-generate`` (code and help: :mod:`mst.cli.generate`)."""

import sys

from mst.cli.generate import *  # noqa: F403  (the script's public names, for tests and tools)
from mst.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
