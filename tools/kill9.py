#!/usr/bin/env python
"""Fault injection: kill -9 a command at random moments, rerun it until it completes, check the result.

Used for the hardening issue's measurements; the checks are what a user relies on after a crash:

* ``--check dataset DIR``: DIR holds a complete dataset (every shard's size and sha256 match its
  manifest), with no ``.DIR.tmp-*`` / ``.DIR.old-*`` siblings and no ``*.tmp-*`` files left.
* ``--check train RUN_DIR REFERENCE_RUN_DIR``: the run finished and its per-step loss history
  (``history.csv``) is identical to an uninterrupted reference run's (use ``--deterministic``), and
  no temporary checkpoint leftovers (``*_temp``, ``*.tmp-*``) remain.

Examples::

    python tools/kill9.py --kills 6 --window 2 20 --check dataset /tmp/k/data -- \\
        python -m mst.prepare --embedded --out /tmp/k/data --workers 2 --overwrite --quiet
    python tools/kill9.py --kills 6 --window 8 40 --check train /tmp/k/run /tmp/k/ref -- \\
        python train.py --preset cyclegan_tiny --data /tmp/k/data --out /tmp/k/run --deterministic --verbose 0

The command is started in its own process group and the whole group is killed (workers included),
as the kernel's OOM killer or a lost machine would; ``--parent-only`` kills only the main process
(then no worker may outlive it: the script reports any process of the group still alive 5 s later).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _group_members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":  # pgrp; zombies are already dead
                members.append(int(entry.name))
    return members


def run_with_kills(command: list[str], kills: int, window: tuple[float, float], seed: int, parent_only: bool) -> dict:
    """Starts ``command`` ``kills`` times, SIGKILLing each at a random time; then once to completion."""
    rng = random.Random(seed)
    report = {"kills": 0, "completed_before_kill": 0, "orphans": 0, "final_returncode": None, "kill_times_s": []}
    for _ in range(kills):
        delay = rng.uniform(*window)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=delay)
            report["completed_before_kill"] += 1  # finished first: the next start has less to do
            continue
        except subprocess.TimeoutExpired:
            pass
        if parent_only:
            os.kill(process.pid, signal.SIGKILL)
        else:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        report["kills"] += 1
        report["kill_times_s"].append(round(delay, 2))
        if parent_only:
            time.sleep(5)
            orphans = _group_members(process.pid)
            report["orphans"] += len(orphans)
            for pid in orphans:
                os.kill(pid, signal.SIGKILL)
    final = subprocess.run(command, capture_output=True, text=True)
    report["final_returncode"] = final.returncode
    if final.returncode != 0:
        report["final_stderr_tail"] = final.stderr.strip().splitlines()[-3:]
    return report


def check_dataset(folder: Path) -> list[str]:
    from mst.records.manifest import DatasetError  # noqa: PLC0415
    from mst.records.shards import verify_shards  # noqa: PLC0415

    problems = []
    try:
        verify_shards(folder)
    except DatasetError as error:
        problems.append(str(error))
    siblings = [p.name for p in folder.parent.iterdir() if p.name.startswith((f".{folder.name}.tmp-", f".{folder.name}.old-"))]
    problems += [f"leftover {name}" for name in siblings]
    if folder.is_dir():
        problems += [f"leftover {p}" for p in folder.rglob("*.tmp-*")]
    return problems


def _history(run: Path) -> list[list[str]]:
    with open(run / "history.csv", newline="") as handle:
        return list(csv.reader(handle))


def check_train(run: Path, reference: Path) -> list[str]:
    problems = []
    if not (run / "history.csv").is_file():
        return [f"{run}/history.csv missing"]
    ours, theirs = _history(run), _history(reference)
    if ours != theirs:
        differing = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        problems.append(f"history.csv differs from the reference from row {differing} ({len(ours)} vs {len(theirs)} rows)")
    problems += [f"leftover {p}" for p in run.rglob("*") if p.name.endswith("_temp") or ".tmp-" in p.name]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--window", type=float, nargs=2, default=(1.0, 10.0), metavar=("MIN_S", "MAX_S"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parent-only", action="store_true", help="kill only the main process, then look for orphaned workers")
    parser.add_argument("--check", nargs="+", required=True, metavar="KIND PATH...", help="dataset DIR | train RUN REFERENCE")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    report = run_with_kills(command, args.kills, tuple(args.window), args.seed, args.parent_only)
    kind, *paths = args.check
    problems = check_dataset(Path(paths[0])) if kind == "dataset" else check_train(Path(paths[0]), Path(paths[1]))
    report["problems"] = problems
    print(json.dumps(report, indent=1))
    return 0 if not problems and report["final_returncode"] == 0 and not report["orphans"] else 1


if __name__ == "__main__":
    sys.exit(main())
