"""Atomic file writes and folder swaps, the one implementation every module uses.

A file is written under ``<name>.tmp-<pid>`` in the destination folder, flushed to disk, then
renamed over the real name with ``os.replace`` (atomic on POSIX and Windows). A crash or an
exception therefore leaves either the old file or the complete new one, never a half-written
file under the real name, and the temporary file is removed on failure.

A whole folder (a dataset, an export) is written into a staging folder beside it and swapped into
place; a folder cannot be replaced in one rename, so the swap is a short sequence of renames that
:func:`recover_folder` can always finish or undo after a crash (see :func:`replace_folder`).

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
import dataclasses
import json
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

_log = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- folders

STAGING_TAG = "tmp"
"""``.<name>.tmp-<pid>``: a staging folder being written (incomplete until renamed to ``ready``)."""
READY_TAG = "ready"
"""``.<name>.ready-<pid>``: a complete staging folder whose swap into ``<name>`` has begun."""
RETIRED_TAG = "old"
"""``.<name>.old-<pid>``: the previous ``<name>``, moved aside by a swap and deleted after it."""

_SIBLING = re.compile(rf"^\.(?P<name>.+)\.(?P<tag>{STAGING_TAG}|{READY_TAG}|{RETIRED_TAG})-(?P<pid>\d+)$")

OwnedFiles = Callable[[Path], "Sequence[str] | None"]
"""``owned(folder)``: the files of ``folder`` its writer made, as paths relative to it, in deletion
order (the file that proves ownership, such as a dataset's manifest, last), or ``None`` when
nothing in the folder proves who wrote it. Without one, mst's own staging and retired folders are
deleted whole (the exports' behaviour)."""


def sibling_folder(final: str | os.PathLike, tag: str, pid: int | None = None) -> Path:
    """The hidden sibling ``.<name>.<tag>-<pid>`` of ``final`` (``pid``: this process by default)."""
    final = Path(final)
    return final.with_name(f".{final.name}.{tag}-{os.getpid() if pid is None else pid}")


def process_is_alive(pid: int) -> bool:
    """True unless ``pid`` is certainly not a running process; this process counts as alive.

    Errs towards "alive": a folder of a run that may still be writing is never touched. On
    Windows, where ``os.kill`` would terminate the process, every other PID counts as alive, so
    leftovers there are kept, never deleted.
    """
    if pid == os.getpid():
        return True
    if pid <= 0 or os.name != "posix":
        return pid > 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists and belongs to another user
        return True
    return True


def fsync_directory(folder: str | os.PathLike) -> None:
    """Flushes a folder's entries (renames) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def remove_owned(folder: str | os.PathLike, owned: OwnedFiles | None = None) -> list[Path]:
    """Deletes a staging or retired folder, but with ``owned`` only the files it lists.

    With ``owned``, each listed regular file is unlinked in the given order (so the proof of
    ownership goes last and an interrupted deletion can be resumed), then the emptied folders are
    removed. A listed path leaving the folder, a symlink, or anything unlisted stays in place.

    Args:
        folder: The folder (missing is fine).
        owned: See :data:`OwnedFiles`; ``None`` deletes the whole folder.

    Returns:
        What is left: the entries of ``folder`` that were not deleted (empty when it is gone).
    """
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return []
    if owned is None:
        shutil.rmtree(folder, ignore_errors=True)
        return [folder] if folder.exists() else []
    names = owned(folder)
    for name in names or ():
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            continue
        path = folder / relative
        if _is_regular_file(path):
            path.unlink()
            for parent in path.parents:  # sub-folders the writer made, once they are empty
                if parent == folder:
                    break
                with contextlib.suppress(OSError):
                    parent.rmdir()
    try:
        folder.rmdir()
    except OSError:
        return sorted(folder.iterdir())
    return []


@dataclasses.dataclass
class Recovery:
    """What :func:`recover_folder` found and did beside one folder.

    Attributes:
        final: The folder.
        completed_from: A dead run's complete staging folder that was swapped in as ``final``.
        restored_from: A dead run's retired copy that was put back as ``final``.
        removed: Leftover staging and retired folders that were deleted.
        kept: ``(folder, entries)`` of retired copies that hold files no manifest lists; only the
            listed files were deleted, the rest stays for the user to look at.
    """

    final: Path
    completed_from: Path | None = None
    restored_from: Path | None = None
    removed: list[Path] = dataclasses.field(default_factory=list)
    kept: list[tuple[Path, list[Path]]] = dataclasses.field(default_factory=list)

    def messages(self) -> list[str]:
        """One line per action a user should know about (routine cleanup is not mentioned)."""
        lines = []
        if self.completed_from is not None:
            lines.append(f"{self.final}: finished the replacement that an interrupted run had started "
                         f"(moved its complete new copy {self.completed_from.name} into place)")
        if self.restored_from is not None:
            lines.append(f"{self.final}: was missing after an interrupted run; restored the previous copy "
                         f"from {self.restored_from.name}")
        for folder, entries in self.kept:
            shown = ", ".join(entry.name for entry in entries[:3]) + (", ..." if len(entries) > 3 else "")
            lines.append(f"{folder}: left in place, it holds files that mst did not write ({shown}); "
                         "move them out and delete the folder")
        return lines


def _dead_siblings(final: Path) -> dict[str, list[Path]]:
    """The staging/ready/retired folders beside ``final`` of processes that are gone, newest first."""
    found: dict[str, list[tuple[int, int, Path]]] = {STAGING_TAG: [], READY_TAG: [], RETIRED_TAG: []}
    try:
        entries = list(os.scandir(final.parent))
    except OSError:
        return {tag: [] for tag in found}
    for entry in entries:
        match = _SIBLING.match(entry.name)
        if match is None or match["name"] != final.name or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if process_is_alive(pid):
            continue
        found[match["tag"]].append((entry.stat(follow_symlinks=False).st_mtime_ns, pid, Path(entry.path)))
    return {tag: [path for _, _, path in sorted(items, reverse=True)] for tag, items in found.items()}


def interrupted_swap(final: str | os.PathLike) -> list[Path]:
    """The complete or retired copies that killed runs left beside a missing ``final`` (newest first).

    Readers call it to explain a missing folder; only :func:`recover_folder` (run by the next
    write) changes anything.
    """
    final = Path(final)
    if final.exists():
        return []
    siblings = _dead_siblings(final)
    return [*siblings[READY_TAG], *siblings[RETIRED_TAG]]


def recover_folder(final: str | os.PathLike, *, owned: OwnedFiles | None = None) -> Recovery:
    """Repairs what killed runs left beside ``final``; call it before reading or replacing ``final``.

    Only folders of processes that are no longer running are touched (:func:`process_is_alive`):

    * ``final`` missing and a complete staging folder (``.<name>.ready-<pid>``) present: the swap
      was interrupted after the old copy was moved aside; the new copy is moved into place;
    * ``final`` missing and only a retired copy (``.<name>.old-<pid>``): it is put back;
    * then incomplete staging folders (``.<name>.tmp-<pid>``) and complete ones that never got
      swapped in are deleted, and retired copies are deleted through :func:`remove_owned`
      (with ``owned``, files no manifest lists stay and are reported).

    Every action a user should know about is logged as a warning (:meth:`Recovery.messages`).

    Args:
        final: The folder a staging folder is swapped into.
        owned: See :data:`OwnedFiles`.

    Returns:
        A :class:`Recovery`.
    """
    final = Path(final)
    recovery = Recovery(final)
    siblings = _dead_siblings(final)
    ready, retired = siblings[READY_TAG], siblings[RETIRED_TAG]
    if not final.exists() and not final.is_symlink():
        if ready:
            os.replace(ready[0], final)
            recovery.completed_from, ready = ready[0], ready[1:]
        elif retired:
            os.replace(retired[0], final)
            recovery.restored_from, retired = retired[0], retired[1:]
        if recovery.completed_from or recovery.restored_from:
            fsync_directory(final.parent)
    for folder in [*siblings[STAGING_TAG], *ready]:
        shutil.rmtree(folder, ignore_errors=True)
        recovery.removed.append(folder)
    for folder in retired:
        left = remove_owned(folder, owned)
        if left:
            recovery.kept.append((folder, left))
        else:
            recovery.removed.append(folder)
    for line in recovery.messages():
        _log.warning("%s", line)
    return recovery


def fresh_staging_folder(final: str | os.PathLike, *, owned: OwnedFiles | None = None) -> Path:
    """An empty folder ``.<name>.tmp-<pid>`` beside ``final``, after :func:`recover_folder`.

    Parents are created and this process' own stale staging folder is removed. Write a whole
    folder's content there, then :func:`replace_folder` it into place: readers never see a
    half-written dataset or export, and what killed runs left beside ``final`` is repaired first.

    Args:
        final: The folder to write.
        owned: Passed to :func:`recover_folder`.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(final, owned=owned)
    staging = sibling_folder(final, STAGING_TAG)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def replace_folder(staging: str | os.PathLike, final: str | os.PathLike, *, owned: OwnedFiles | None = None) -> Path:
    """Swaps a finished staging folder into ``final``, replacing an older one (deleted afterwards).

    A folder cannot be replaced in one rename, so the swap is three renames, each atomic:

    1. ``staging`` -> ``.<name>.ready-<pid>``: marks the new copy complete;
    2. ``final`` -> ``.<name>.old-<pid>`` (if it exists);
    3. ``.<name>.ready-<pid>`` -> ``final``;

    and then the retired copy is deleted (:func:`remove_owned`). Whatever instant a kill lands
    on, :func:`recover_folder` in the next run finds ``final`` intact, or finishes step 3, or (for
    a kill before step 1) deletes the incomplete staging folder. An exception before step 3
    restores ``final`` and gives ``staging`` back under its name for the caller to delete.

    Args:
        staging: The complete staging folder (from :func:`fresh_staging_folder`).
        final: The folder to create or replace.
        owned: See :data:`OwnedFiles`: what may be deleted from the retired copy; files it does
            not list stay in ``.<name>.old-<pid>`` and are logged as a warning.

    Returns:
        ``final``.
    """
    staging, final = Path(staging), Path(final)
    ready = sibling_folder(final, READY_TAG)
    os.replace(staging, ready)
    fsync_directory(final.parent)
    retired = None
    try:
        if final.exists() or final.is_symlink():
            retired = sibling_folder(final, RETIRED_TAG)
            os.replace(final, retired)
        os.replace(ready, final)
    except BaseException:
        # Undo what was done; if even that fails, the next recover_folder finishes the job.
        with contextlib.suppress(OSError):
            if retired is not None and retired.exists() and not final.exists():
                os.replace(retired, final)
            if ready.exists():
                os.replace(ready, staging)
        raise
    fsync_directory(final.parent)
    if retired is not None:
        left = remove_owned(retired, owned)
        if left:
            _log.warning("%s", Recovery(final, kept=[(retired, left)]).messages()[0])
    return final
