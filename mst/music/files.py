"""Finding MIDI files below a folder, and naming songs by their path there.

A song's id is its path relative to the folder it was found in, with ``/`` separators
(:func:`song_id_of`). Datasets store it in every record and derive the train/test split and the
phrase ids from it, so it does not depend on the machine or on where the folder is mounted.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     root = Path(folder)
    ...     for name in ("b.MID", "a.mid", "sub/c.midi", "notes.txt", "sub/d.mid.bak"):
    ...         (root / name).parent.mkdir(parents=True, exist_ok=True)
    ...         _ = (root / name).write_bytes(b"")
    ...     print([song_id_of(path, root) for path in find_midi_files(root)])
    ['a.mid', 'b.MID', 'sub/c.midi']
"""

from __future__ import annotations

import os
from pathlib import Path

MIDI_SUFFIXES = (".mid", ".midi")
"""File name endings of MIDI files, compared case-insensitively."""

ORDERS = ("path", "song_id")
"""Sort orders of :func:`find_midi_files`."""


def is_midi_file_name(path: str | os.PathLike) -> bool:
    """True when the name ends in ``.mid`` or ``.midi``, in any case.

    Example:
        >>> is_midi_file_name("x/Song.MIDI"), is_midi_file_name("song.mid.bak")
        (True, False)
    """
    return Path(path).suffix.lower() in MIDI_SUFFIXES


def song_id_of(path: str | os.PathLike, folder: str | os.PathLike) -> str:
    """The song id of a file: its path relative to ``folder``, ``/`` separated.

    Example:
        >>> song_id_of("/data/jazz/standards/ballad.mid", "/data/jazz")
        'standards/ballad.mid'

    Raises:
        ValueError: If ``path`` does not lie below ``folder``.
    """
    return Path(path).relative_to(folder).as_posix()


def find_midi_files(
    root: str | os.PathLike,
    *,
    exclude: str | os.PathLike | None = None,
    order: str = "path",
) -> list[Path]:
    """MIDI files below a folder (recursively), or the file itself.

    Args:
        root: A folder, searched recursively for files whose name ends in ``.mid`` or ``.midi`` in
            any case; symbolic links to files are included, linked sub-folders are not entered.
            Or a file, returned as is whatever its name. Every entry with such a name that is not a
            folder is returned, FIFOs, devices, sockets and dangling links included (nothing is
            opened here): :func:`mst.music.midi.read_midi` refuses them with a reason, so batch
            jobs list them as skipped instead of losing them.
        exclude: A folder whose files are left out, compared after resolving symbolic links (an
            output folder inside ``root``, so that earlier outputs are not read as inputs).
        order: ``"path"`` sorts the paths as :class:`pathlib.Path` objects, component by
            component; ``"song_id"`` sorts them by :func:`song_id_of` relative to ``root``, as a
            string (the order in which datasets are written). The two differ only when a folder
            name contains a character sorting before ``/`` (``"a b/x.mid"`` vs ``"a/y.mid"``).

    Returns:
        The paths, below ``root`` as given (not resolved).

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: For an unknown ``order``.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    root = Path(root)
    if root.is_dir():
        # Not is_file(): that drops a FIFO or device named x.mid without a word.
        found = [path for path in root.rglob("*") if is_midi_file_name(path) and not path.is_dir()]
    elif os.path.lexists(root):
        found = [root]
    else:
        raise FileNotFoundError(f"no such file or folder: {root}")
    if exclude is not None:
        skip = Path(os.path.realpath(exclude))
        found = [path for path in found if not Path(os.path.realpath(path)).is_relative_to(skip)]
    if order == "song_id" and root.is_dir():
        return sorted(found, key=lambda path: song_id_of(path, root))
    return sorted(found)
