"""The training run folder: every file name in it, its resolved config, its dataset, resume checks.

This module owns the run-folder layout: every other module takes these names from here.
Layout of ``RUN_DIR``::

    config.json         the resolved config (preset + overrides), written before the first step
    run.json            dataset identity (folder, manifest sha256) and the preset name
    checkpoints/        tf.train checkpoints (``ckpt-<global step>``) and their state file
    progress.json       global step / epoch of the newest checkpoint
    history.csv         logged losses per step; history.json per epoch; loss_curves.png
    tensorboard/        TensorBoard event files (scalars per step, pianoroll images per epoch)
    samples/            epoch_XXXX_{a2b,b2a}.{mid,png} (CycleGAN); epoch_XXXX.{mid,png}, _attention.png (attention RNN)
    monitor.csv         collapse-monitor figures per epoch; monitor.png (CycleGAN)
    best/, best.json    best-test-accuracy checkpoint and its figures (classifier); best validation
                        checkpoint of tasks with a ``validation`` method (driver.Validation)
    vocabulary.json     the dataset's token vocabularies and tokenisation options (attention RNN)
    test_accuracy.csv   test accuracy per epoch and σ_C (classifier)
    export/             SavedModel + .keras files (see mst.export); export_best/ (classifier)
    workers/            (mst <= 0.2) what a non-chief worker of a multi-worker run wrote; workers now
                        write into a private temporary folder and only the chief writes here

Restarting ``train.py`` with the same ``--out`` resumes the run. It refuses when the resolved
config or the dataset differs from the recorded ones (``--force`` overrides, and the new config
is recorded). A resume first removes what a killed run left half-written
(:func:`remove_dead_leftovers`): ``*.tmp-<pid>`` files of processes that are gone and
TensorFlow's ``<prefix>-<step>_temp/`` checkpoint folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from mst import atomic, records, registry
from mst.config import ConfigError
from mst.errors import InputError

CONFIG_FILE_NAME = "config.json"
RUN_INFO_FILE_NAME = "run.json"
CHECKPOINT_DIR_NAME = "checkpoints"
PROGRESS_FILE_NAME = "progress.json"
HISTORY_CSV_NAME = "history.csv"
HISTORY_JSON_NAME = "history.json"
LOSS_CURVES_NAME = "loss_curves.png"
TENSORBOARD_DIR_NAME = "tensorboard"
EXPORT_DIR_NAME = "export"
SAMPLES_DIR_NAME = "samples"
MONITOR_CSV_NAME = "monitor.csv"
MONITOR_PNG_NAME = "monitor.png"
BEST_DIR_NAME = "best"
BEST_INFO_NAME = "best.json"
BEST_EXPORT_DIR_NAME = "export_best"
VOCABULARY_FILE_NAME = "vocabulary.json"
TEST_ACCURACY_NAME = "test_accuracy.csv"
WORKERS_DIR_NAME = "workers"


def worker_dir_name(task_id: int) -> str:
    """Sub-folder of ``workers/`` for a non-chief worker."""
    return f"worker_{task_id}"


class RunDirError(RuntimeError, InputError):
    """The run folder belongs to a different run (config or dataset) or is unusable."""


def _describe_differences(old: dict, new: dict) -> str:
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key, "<absent>") != new.get(key, "<absent>"):
            lines.append(f"  {key}: recorded {old.get(key, '<absent>')!r}, now {new.get(key, '<absent>')!r}")
    return "\n".join(lines)


def dataset_fingerprint(data_dir) -> str:
    """sha256 of the dataset's ``manifest.json`` (which lists every shard's sha256)."""
    path = Path(data_dir) / records.MANIFEST_NAME
    records.load_manifest(data_dir)  # clear error when missing or invalid
    return hashlib.sha256(path.read_bytes()).hexdigest()


_TEMP_FILE = re.compile(r"^.+\.tmp-(?P<pid>\d+)$")
"""A file being written by :mod:`mst.atomic` (``<name>.tmp-<pid>``) of process ``pid``."""
_CHECKPOINT_TEMP_FOLDER = re.compile(r"^.+-\d+_temp$")
"""TensorFlow's staging folder of one checkpoint save (``ckpt-120_temp/``, ``best-3_temp/``)."""


def remove_dead_leftovers(run_dir) -> list[Path]:
    """Deletes what killed runs left half-written in a run folder; returns what was deleted.

    Two patterns only, so nothing a user put there is touched:

    * files named ``<name>.tmp-<pid>`` (anywhere in the folder, hidden sub-folders excepted:
      those are :mod:`mst.atomic` staging folders with their own recovery) whose process is no
      longer running (:func:`mst.atomic.process_is_alive`; this process's own are kept);
    * folders ``<prefix>-<step>_temp`` directly in ``checkpoints/`` and ``best/``: a
      ``tf.train.CheckpointManager`` save writes there and merges them into the checkpoint files
      before anything refers to them, so after a kill they are garbage (they carry no PID; call
      this only when no other process trains into the folder, i.e. on resume).

    Args:
        run_dir: The run folder (a missing one is fine).
    """
    run_dir = Path(run_dir)
    removed: list[Path] = []
    for folder, subfolders, files in os.walk(run_dir):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            match = _TEMP_FILE.match(name)
            path = Path(folder) / name
            if match and not path.is_symlink() and not atomic.process_is_alive(int(match["pid"])):
                path.unlink(missing_ok=True)
                removed.append(path)
    for checkpoints in (run_dir / CHECKPOINT_DIR_NAME, run_dir / BEST_DIR_NAME):
        if not checkpoints.is_dir():
            continue
        for entry in sorted(checkpoints.iterdir()):
            if _CHECKPOINT_TEMP_FOLDER.match(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def has_checkpoint(run_dir) -> bool:
    """Whether the run folder holds a completed checkpoint."""
    return (Path(run_dir) / CHECKPOINT_DIR_NAME / "checkpoint").is_file()


def prepare_run_dir(run_dir, config, data_dir, *, preset: str, force: bool = False) -> bool:
    """Creates or re-opens a run folder and records the config and dataset.

    Args:
        run_dir: Run folder (created if missing).
        config: Resolved config.
        data_dir: Prepared dataset folder.
        preset: Preset name the config came from.
        force: Accept a differing config or dataset (the new ones are recorded).

    Returns:
        ``True`` if the folder already held this run's ``config.json`` (a resume), ``False`` for a
        new run.

    Raises:
        RunDirError: Config or dataset differs from the recorded one and ``force`` is off, or the
            recorded config cannot be read.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / CONFIG_FILE_NAME
    info_path = run_dir / RUN_INFO_FILE_NAME
    fingerprint = dataset_fingerprint(data_dir)
    info = {"preset": preset, "data_dir": str(Path(data_dir).resolve()), "dataset_manifest_sha256": fingerprint}
    existing = config_path.is_file()
    if existing:
        try:
            recorded = registry.load_config(config_path)
        except (ConfigError, ValueError, KeyError) as error:
            raise RunDirError(f"{config_path} cannot be read ({error}); use another --out or delete the folder") from error
        if type(recorded) is not type(config) or recorded.to_dict() != config.to_dict():
            if type(recorded) is not type(config):
                detail = f"  config class: recorded {type(recorded).__name__}, now {type(config).__name__}"
            else:
                detail = _describe_differences(recorded.to_dict(), config.to_dict())
            if not force:
                raise RunDirError(
                    f"{run_dir} holds a run with a different config; refusing to resume it.\n{detail}\n"
                    "Use the same preset and --set values, another --out folder, or --force to continue "
                    "this run's checkpoints with the new config."
                )
            print(f"mst: --force: continuing {run_dir} with a changed config:\n{detail}", flush=True)
        if info_path.is_file():
            recorded_info = json.loads(info_path.read_text(encoding="utf-8"))
            if recorded_info.get("dataset_manifest_sha256") != fingerprint and has_checkpoint(run_dir):
                message = (
                    f"{run_dir} was trained on the dataset {recorded_info.get('data_dir')} (manifest sha256 "
                    f"{recorded_info.get('dataset_manifest_sha256')}), but {data_dir} differs (sha256 {fingerprint}); "
                    "a resumed run would not see the same batches"
                )
                if not force:
                    raise RunDirError(message + ". Use the original --data, another --out, or --force.")
                print(f"mst: --force: {message}", flush=True)
    if existing:  # only once the resume is accepted: a refused one leaves the folder as it was
        removed = remove_dead_leftovers(run_dir)
        if removed:
            shown = ", ".join(str(path.relative_to(run_dir)) for path in removed[:3]) + (", ..." if len(removed) > 3 else "")
            print(f"mst: removed {len(removed)} half-written file(s)/folder(s) of an interrupted run: {shown}", flush=True)
    registry.save_config(config, config_path)
    atomic.write_json(info_path, info)
    return existing


def load_run_config(run_dir):
    """The resolved config recorded in a run folder.

    Raises:
        RunDirError: The folder has no ``config.json``.
    """
    path = Path(run_dir) / CONFIG_FILE_NAME
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a training run folder (no {CONFIG_FILE_NAME})")
    return registry.load_config(path)


def load_run_info(run_dir) -> dict:
    """``run.json`` of a run folder (empty dict when absent)."""
    path = Path(run_dir) / RUN_INFO_FILE_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
