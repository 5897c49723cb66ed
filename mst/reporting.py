"""Report writing shared by every evaluation: atomic JSON, CSV and markdown, and number formatting.

Every writer serializes in memory first and then goes through :mod:`mst.atomic` (temporary file,
fsync, rename), so a failure leaves the previous file in place. JSON is strict: NumPy values become
Python values and NaN/inf become ``null``. Numbers that are missing or not finite print as ``—`` in
markdown and as an empty cell in CSV.

Example:
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> print(write_json(folder / "r.json", {"b": np.float32(0.5), "a": float("nan")}).read_text(), end="")
{
 "b": 0.5,
 "a": null
}
>>> print(markdown_table(["row", "value"], [["A→B", percent(20.0)], ["S^D_tot", percent(None)]]))
| row | value |
|---|---|
| A→B | 20.00 |
| S^D_tot | — |
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mst import atomic

MISSING = "—"
"""What :func:`percent` and :func:`number` print for a missing or non-finite value."""


def jsonable(value):
    """Converts a value to plain JSON types: NumPy to Python, NaN/inf to ``None``, paths to strings.

    Mapping keys become strings; tuples, lists and arrays become lists. Other values are returned
    unchanged.

    Args:
        value: Any nesting of mappings, sequences, arrays, NumPy scalars and plain values.

    Returns:
        The same structure with only JSON-serializable leaves.

    Example:
        >>> jsonable({1: np.arange(2), "x": (np.float64("inf"), np.bool_(True)), "p": Path("a/b")})
        {'1': [0, 1], 'x': [None, True], 'p': 'a/b'}
    """
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, payload: Mapping) -> Path:
    """Writes ``payload`` as strict JSON (see :func:`jsonable`) atomically, keys in insertion order.

    Args:
        path: Destination file (parent folders are created).
        payload: The mapping to write.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out" / "x.json"
        >>> json.loads(write_json(target, {"z": 1, "a": [np.int64(2)]}).read_text())
        {'z': 1, 'a': [2]}
    """
    text = json.dumps(jsonable(payload), indent=1, sort_keys=False, ensure_ascii=False, allow_nan=False)
    return atomic.write_text(path, text + "\n")


def csv_cell(value):
    """One CSV cell: ``None`` and non-finite floats become ``""``, floats keep 6 significant digits.

    Example:
        >>> [csv_cell(v) for v in (None, 1 / 3, float("nan"), 7, "A→B")]
        ['', '0.333333', '', 7, 'A→B']
    """
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else f"{float(value):.6g}"
    return value


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence]) -> Path:
    """Writes a CSV file (``\\n`` line ends, cells through :func:`csv_cell`) atomically.

    Args:
        path: Destination file (parent folders are created).
        header: Column names.
        rows: One sequence of cells per row.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> write_csv(target, ["row", "value"], [["A", 80.0], ["B", None]]).read_text()
        'row,value\\nA,80\\nB,\\n'
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return atomic.write_text(path, buffer.getvalue())


def _is_missing(value) -> bool:
    return value is None or not math.isfinite(value)


def percent(value: float | None, digits: int = 2) -> str:
    """A percentage with ``digits`` decimals (no ``%`` sign); ``—`` when missing or not finite.

    Example:
        >>> percent(55.0), percent(33.6, 1), percent(float("nan"))
        ('55.00', '33.6', '—')
    """
    return MISSING if _is_missing(value) else f"{value:.{digits}f}"


def number(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``—`` when missing or not finite.

    Example:
        >>> number(0.12345), number(None)
        ('0.123', '—')
    """
    return MISSING if _is_missing(value) else f"{value:.{digits}f}"


def markdown_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """A GitHub-flavoured markdown table; ``|`` inside cells is escaped.

    Args:
        header: Column headings.
        rows: One sequence of cells per row (cells are converted with ``str``).

    Returns:
        The table, one line per row, without a final newline.

    Example:
        >>> print(markdown_table(["metric", "value"], [["|P_O - P_T|", 0.5]]))
        | metric | value |
        |---|---|
        | \\|P_O - P_T\\| | 0.5 |
    """

    def escape(cell) -> str:
        return str(cell).replace("|", "\\|")

    lines = ["| " + " | ".join(escape(cell) for cell in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


__all__ = ["MISSING", "csv_cell", "jsonable", "markdown_table", "number", "percent", "write_csv", "write_json"]
