"""Atomic file writes, the one implementation every module uses.

A file is written under ``<name>.tmp-<pid>`` in the destination folder, flushed to disk, then
renamed over the real name with ``os.replace`` (atomic on POSIX and Windows). A crash or an
exception therefore leaves either the old file or the complete new one, never a half-written
file under the real name, and the temporary file is removed on failure.

Example:
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_json(folder / "a.json", {"b": 1}).read_text()
'{\\n "b": 1\\n}\\n'
>>> with atomic_path(folder / "c.bin") as temporary:
...     _ = temporary.write_bytes(b"xyz")
>>> (folder / "c.bin").read_bytes(), sorted(p.name for p in folder.iterdir())
(b'xyz', ['a.json', 'c.bin'])
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


def temporary_name(path: str | os.PathLike) -> Path:
    """The temporary sibling a write of ``path`` goes through (``<name>.tmp-<pid>``)."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def fsync_file(path: str | os.PathLike) -> None:
    """Flushes a closed file's data to disk (so the rename cannot expose an empty file after a crash)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, make_parents: bool = True) -> Iterator[Path]:
    """Yields a temporary path to write; on normal exit it is fsynced and renamed to ``path``.

    Use it for writers that need a file name (TFRecord writers, ``savefig``, MIDI libraries).
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(target)
    try:
        yield temporary
        fsync_file(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes UTF-8 ``text`` to ``path`` atomically (newlines written as given); returns the path."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, payload, *, indent: int = 1) -> Path:
    """Writes ``payload`` as key-sorted JSON with a final newline, atomically; returns the path.

    Serialization happens before anything touches the disk, so an unserializable payload leaves
    the old file as it was.
    """
    text = json.dumps(payload, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
    return write_text(path, text)


def fresh_staging_folder(final: str | os.PathLike) -> Path:
    """An empty folder ``.<name>.tmp-<pid>`` beside ``final`` (parents created, a stale one removed).

    Write a whole folder's content there, then :func:`replace_folder` it into place: readers never
    see a half-written dataset or export.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def replace_folder(staging: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Renames a finished staging folder to ``final``, replacing an older one (removed afterwards).

    The old folder is first renamed to ``.<name>.old-<pid>`` (a folder cannot be atomically
    replaced by another), so a crash between the two renames leaves both beside ``final``.
    """
    staging, final = Path(staging), Path(final)
    retired = None
    if final.exists():
        retired = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, retired)
    os.replace(staging, final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return final
