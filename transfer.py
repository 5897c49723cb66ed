#!/usr/bin/env python
"""``python transfer.py``: the same command as the installed ``mst-transfer`` (code and help: :mod:`mst.cli.transfer`)."""

import sys

from mst.cli.transfer import *  # noqa: F403  (the script's public names, for tests and tools)
from mst.cli.transfer import main

if __name__ == "__main__":
    sys.exit(main())
