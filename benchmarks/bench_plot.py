"""Seconds and peak memory of the before/after pianoroll PNG (``transfer.py --plot``) of a long song.

    .venv/bin/python benchmarks/bench_plot.py [--steps 66668] [--before /tmp/plotting_before.py]

The song is synthetic (no data needed): ``--steps`` 16th-note steps (66,668 is the song of the
review that took 49 s and 1.7 GB), a four-note chord every half bar on a seeded random walk of
pitches, and a "transfer" that shifts it by a fifth, so both panels are full of notes.

Routes, each in its own child process (peak RSS is per process, so they cannot share one):

* ``after``: :func:`mst.plotting.save_before_after_png` of this checkout;
* ``before``: the same function of another ``plotting.py`` imported by path, e.g. the committed one
  (``git show HEAD:mst/plotting.py > /tmp/plotting_before.py``); skipped when the file is absent.

Reported per route: wall seconds of the call, the peak resident memory the call added to the
process (``ru_maxrss`` after minus before; the figure's pixel buffer is allocated in C++, which
``tracemalloc`` does not see), the PNG's size in pixels and bytes; then the before/after ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic_song(steps: int, seed: int = 0):
    """``(source, transfer)``: ``bool [steps, 84]`` rolls with a chord every 8 steps."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    roll = np.zeros((steps, 84), bool)
    root = 36
    for start in range(0, steps, 8):
        root = int(np.clip(root + rng.integers(-3, 4), 20, 60))
        for interval in (0, 4, 7, 12):
            roll[start : start + 6, root + interval] = True
    transfer = np.zeros_like(roll)
    transfer[:, 7:] = roll[:, :-7]
    return roll, transfer


def _load_plotting(path: str | None):
    if path is None:
        from mst import plotting  # noqa: PLC0415

        return plotting
    spec = importlib.util.spec_from_file_location("plotting_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child(route: str, module_path: str | None, steps: int, out_dir: str) -> None:
    """Runs one route and prints its figures as one JSON line."""
    from PIL import Image  # noqa: PLC0415

    plotting = _load_plotting(module_path)
    source, transfer = synthetic_song(steps)
    out = Path(out_dir) / f"{route}.png"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    plotting.save_before_after_png(out, source, transfer, "synthetic: a2b")
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Image.open(out) as image:
        width, height = image.size
    print(json.dumps({
        "route": route, "seconds": seconds, "peak_added_mb": (rss_after - rss_before) / 1024.0,
        "peak_rss_mb": rss_after / 1024.0, "width": width, "height": height, "png_bytes": out.stat().st_size,
    }))


def _run_route(route: str, module_path: str | None, steps: int, out_dir: str) -> dict:
    command = [sys.executable, __file__, "--child", route, "--steps", str(steps), "--out-dir", out_dir]
    if module_path is not None:
        command += ["--module", module_path]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Runs the routes and prints a table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=66_668)
    parser.add_argument("--before", default="/tmp/plotting_before.py", help="plotting.py to compare against")
    parser.add_argument("--out-dir", default=None, help="keep the PNGs here (default: a temporary folder)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--module", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.module, args.steps, args.out_dir)
        return 0

    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.out_dir or scratch
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        rows = [_run_route("after", None, args.steps, out_dir)]
        if Path(args.before).is_file():
            rows.insert(0, _run_route("before", args.before, args.steps, out_dir))
        else:
            print(f"skipped: before ({args.before} not found)")
        print(f"save_before_after_png of a {args.steps}-step song ({args.steps / 16:.0f} bars of 4/4)")
        print(f"{'route':8} {'seconds':>9} {'peak MB':>9} {'pixels':>13} {'PNG kB':>8}")
        for row in rows:
            print(f"{row['route']:8} {row['seconds']:9.2f} {row['peak_added_mb']:9.0f} "
                  f"{row['width']:>6}x{row['height']:<6} {row['png_bytes'] / 1024:8.0f}")
        if len(rows) == 2:
            before, after = rows
            print(f"ratio before/after: {before['seconds'] / after['seconds']:.1f}x time, "
                  f"{before['peak_added_mb'] / max(after['peak_added_mb'], 1.0):.1f}x peak memory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
