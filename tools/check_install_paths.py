#!/usr/bin/env python
"""Resolves ``pip install .[cpu]`` and ``pip install .[gpu]`` (dry run) and prints the TensorFlow
packages each ends with: exactly one TensorFlow distribution per path is the requirement.

    python tools/check_install_paths.py [--extras cpu gpu] [--platform manylinux_2_28_x86_64]

Needs the package index (it resolves, it installs nothing). Exit status 0 when every path ends with
one TensorFlow distribution, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"}


def resolve(extra: str) -> tuple[list[str], list[str], float]:
    """``(tensorflow distributions, all distributions, seconds)`` of ``pip install --dry-run .[extra]``."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--disable-pip-version-check",
             "--report", str(report), f"{ROOT}[{extra}]", "-c", str(ROOT / "constraints.txt")],
            capture_output=True, text=True,
        )
        seconds = time.perf_counter() - start
        if completed.returncode != 0:
            raise SystemExit(f"pip could not resolve .[{extra}]: {completed.stderr.strip().splitlines()[-1:]}")
        installs = json.loads(report.read_text())["install"]
    names = sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs)
    tensorflows = [name for name in names if name.split("==")[0].lower().replace("_", "-") in TENSORFLOW_DISTRIBUTIONS]
    return tensorflows, names, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extras", nargs="+", default=["cpu", "gpu"])
    args = parser.parse_args(argv)
    ok = True
    for extra in args.extras:
        tensorflows, names, seconds = resolve(extra)
        cuda = [name for name in names if name.lower().startswith("nvidia-")]
        print(f"mst[{extra}]: {len(names)} distributions in {seconds:.0f} s; TensorFlow: {', '.join(tensorflows) or 'none'}; "
              f"{len(cuda)} nvidia-* CUDA wheels")
        ok &= len(tensorflows) == 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
