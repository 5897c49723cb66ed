"""The printed cells of Brunner et al. 2018, Tables VI–IX, and a check of their S^D_tot.

Cells are in percent, as printed (two decimals; S^D_tot one decimal), rebuilt from the paper's
table images (docs/reference/cyclegan.md#the-papers-tables). ``evaluate.py`` prints the matching
paper column next to our own numbers (:func:`find_paper_columns`, :func:`format_paper_table`).

Consistency rule used by :func:`inconsistent_columns`: the printed S^D_tot is a one-decimal
rounding, so it is consistent with the printed cells when ``|calculated − printed| ≤ 0.05``
(:data:`PRINTED_TOTAL_HALF_UNIT`), ``calculated`` being the formula applied to the printed cells.
The printed cells are themselves rounded to 0.005, which can move the calculated S^D_tot by up to
``¼ · 0.005 · (1+1+2+1+1+2) = 0.01`` (:data:`CELL_ROUNDING_SLACK`); a column beyond 0.05 but within
0.06 is therefore *explainable by cell rounding*, one beyond 0.06 is not.

Three columns exceed 0.05: Table VI σ_D=5 (printed 20.5, calculated 21.285: no rounding explains it),
Table VIII M_base (33.6 vs 33.5425) and Table VI σ_D=0 (48.5 vs 48.5525).
docs/reference/cyclegan.md#table-consistency lists all three and notes that σ_D=0 looks consistent
only when the calculated value is first rounded to two decimals (48.55).

Example:
    >>> [(column.table, column.label) for column in inconsistent_columns() if not column.explainable_by_cell_rounding]
    [('VI', 'σ_D=5')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mst.models.cyclegan.strength import TABLE_ROW_LABELS, ClassifierTable, transfer_strength

PRINTED_TOTAL_HALF_UNIT = 0.05  # S_tot is printed with one decimal
CELL_ROUNDING_SLACK = 0.01  # worst-case effect on S_tot of the cells' own two-decimal rounding
# As captioned in Table VI; its meaning is not recoverable (docs/reference/cyclegan.md#classifier-noise).
CLASSIFIER_SIGMA_C = 1.0


@dataclass(frozen=True)
class PaperColumn:
    """One column of Tables VI–IX.

    Attributes:
        table: Roman table number, ``"VI"`` .. ``"IX"``.
        label: The column heading, e.g. ``"σ_D=1"`` or ``"M_full, σ_D=0.01"``.
        genre_a, genre_b: The pair in the paper's order (lower-case genre names).
        model: ``"base"``, ``"partial"`` or ``"full"``.
        sigma_d: Discriminator input noise σ_D of that model.
        cells: The six printed cells in percent.
        printed_total: The printed S^D_tot in percent.
    """

    table: str
    label: str
    genre_a: str
    genre_b: str
    model: str
    sigma_d: float
    cells: ClassifierTable
    printed_total: float

    @property
    def calculated_total(self) -> float:
        """S^D_tot from the printed cells with the paper's formula."""
        return transfer_strength(self.cells).total

    @property
    def total_discrepancy(self) -> float:
        """``calculated_total − printed_total``."""
        return self.calculated_total - self.printed_total


def _column(table, label, pair, model, sigma_d, cells, printed_total) -> PaperColumn:
    return PaperColumn(table, label, pair[0], pair[1], model, sigma_d, ClassifierTable(*cells), printed_total)


JAZZ_CLASSICAL = ("jazz", "classical")
CLASSICAL_POP = ("classical", "pop")
JAZZ_POP = ("jazz", "pop")

TABLE_CAPTIONS: dict[str, str] = {
    "VI": "Genre transfer of the base model for several σ_D (classifier σ_C = 1). A = Jazz, B = Classic.",
    "VII": "Three models trained on Jazz and Classic. A = Jazz, B = Classic.",
    "VIII": "Three models trained on Classic and Pop. A = Classic, B = Pop.",
    "IX": "Three models trained on Jazz and Pop. A = Jazz, B = Pop.",
}

# Cell order: A, A→B, A→B→A, B, B→A, B→A→B (percent), then the printed S^D_tot.
PAPER_TABLES: dict[str, tuple[PaperColumn, ...]] = {
    "VI": (
        _column("VI", "σ_D=0", JAZZ_CLASSICAL, "base", 0.0, (88.09, 31.38, 84.71, 92.53, 48.80, 89.24), 48.5),
        _column("VI", "σ_D=0.01", JAZZ_CLASSICAL, "base", 0.01, (88.09, 5.82, 99.82, 92.53, 56.26, 89.87), 61.5),
        _column("VI", "σ_D=0.1", JAZZ_CLASSICAL, "base", 0.1, (88.09, 29.16, 84.36, 92.53, 31.20, 89.33), 58.4),
        _column("VI", "σ_D=1", JAZZ_CLASSICAL, "base", 1.0, (88.09, 20.62, 88.18, 92.53, 20.71, 92.53), 69.7),
        _column("VI", "σ_D=3", JAZZ_CLASSICAL, "base", 3.0, (88.09, 12.18, 87.91, 92.53, 61.78, 90.67), 52.8),
        _column("VI", "σ_D=5", JAZZ_CLASSICAL, "base", 5.0, (88.09, 19.47, 34.13, 92.53, 90.67, 90.67), 20.5),
    ),
    "VII": (
        _column("VII", "M_base, σ_D=1", JAZZ_CLASSICAL, "base", 1.0, (88.09, 20.62, 88.18, 92.53, 20.71, 92.53), 69.7),
        _column("VII", "M_partial, σ_D=0", JAZZ_CLASSICAL, "partial", 0.0, (88.09, 9.87, 87.73, 92.53, 25.87, 89.51), 71.6),
        _column("VII", "M_full, σ_D=0.01", JAZZ_CLASSICAL, "full", 0.01, (88.09, 20.00, 85.16, 92.53, 20.09, 90.49), 69.0),
    ),
    "VIII": (
        _column("VIII", "M_base, σ_D=0.1", CLASSICAL_POP, "base", 0.1, (86.91, 45.12, 83.26, 80.04, 49.14, 72.48), 33.6),
        _column("VIII", "M_partial, σ_D=1", CLASSICAL_POP, "partial", 1.0, (86.91, 38.57, 87.39, 80.04, 23.13, 79.45), 52.6),
        _column("VIII", "M_full, σ_D=1", CLASSICAL_POP, "full", 1.0, (86.91, 26.61, 87.18, 80.04, 24.30, 80.15), 58.1),
    ),
    "IX": (
        _column("IX", "M_base, σ_D=0.01", JAZZ_POP, "base", 0.01, (60.53, 21.60, 57.51, 73.60, 40.62, 74.40), 35.4),
        _column("IX", "M_partial, σ_D=0.01", JAZZ_POP, "partial", 0.01, (60.53, 14.84, 58.84, 73.60, 43.11, 72.09), 37.3),
        _column("IX", "M_full, σ_D=0", JAZZ_POP, "full", 0.0, (60.53, 23.64, 60.53, 73.60, 49.24, 73.06), 30.5),
    ),
}


def paper_columns(table: str | None = None) -> tuple[PaperColumn, ...]:
    """The columns of one table (``"VI"`` .. ``"IX"``), or of all four in order.

    Example:
        >>> len(paper_columns()), [column.model for column in paper_columns("IX")]
        (15, ['base', 'partial', 'full'])
    """
    if table is None:
        return tuple(column for columns in PAPER_TABLES.values() for column in columns)
    if table not in PAPER_TABLES:
        raise ValueError(f"unknown table {table!r}; choose from {tuple(PAPER_TABLES)}")
    return PAPER_TABLES[table]


def find_paper_columns(genre_a: str, genre_b: str, model: str, sigma_d: float | None = None) -> list[PaperColumn]:
    """Paper columns for a genre pair and model variant (and σ_D if given), to print next to ours.

    The pair must be in the paper's order (A first). The Jazz/Classic base model at σ_D = 1 is in
    both Table VI and Table VII, so it matches twice.

    Example:
        >>> [column.table for column in find_paper_columns("jazz", "classical", "base", 1.0)]
        ['VI', 'VII']
        >>> find_paper_columns("classical", "pop", "full")[0].printed_total
        58.1
    """
    return [
        column
        for column in paper_columns()
        if (column.genre_a, column.genre_b, column.model) == (genre_a, genre_b, model)
        and (sigma_d is None or abs(column.sigma_d - sigma_d) < 1e-12)
    ]


class InconsistentColumn(NamedTuple):
    """A column whose printed S^D_tot does not follow from its printed cells."""

    table: str
    label: str
    printed_total: float
    calculated_total: float
    discrepancy: float  # calculated − printed
    explainable_by_cell_rounding: bool


def inconsistent_columns(tolerance: float = PRINTED_TOTAL_HALF_UNIT) -> list[InconsistentColumn]:
    """Columns with ``|calculated − printed S^D_tot| > tolerance`` (see the module docstring).

    Example:
        >>> [(c.table, c.label, round(c.discrepancy, 4)) for c in inconsistent_columns()]
        [('VI', 'σ_D=0', 0.0525), ('VI', 'σ_D=5', 0.785), ('VIII', 'M_base, σ_D=0.1', -0.0575)]
    """
    found = []
    for column in paper_columns():
        discrepancy = column.total_discrepancy
        if abs(discrepancy) > tolerance + 1e-9:  # 1e-9 absorbs binary rounding of the decimals
            explainable = abs(discrepancy) <= PRINTED_TOTAL_HALF_UNIT + CELL_ROUNDING_SLACK + 1e-9
            found.append(
                InconsistentColumn(
                    column.table, column.label, column.printed_total, column.calculated_total, discrepancy, explainable
                )
            )
    return found


def format_paper_table(table: str, ours: dict[str, ClassifierTable] | None = None) -> str:
    """The paper's table as aligned text, optionally with our own columns appended.

    Args:
        table: ``"VI"`` .. ``"IX"``.
        ours: Optional ``{heading: ClassifierTable}`` of our results, shown after the paper's columns.

    Example:
        >>> lines = format_paper_table("IX").splitlines()
        >>> lines[-2].split()[-3:], lines[-1].split()[-3:]
        (['35.4', '37.3', '30.5'], ['35.40', '37.29', '30.49'])
    """
    columns = [(column.label, column.cells, f"{column.printed_total:.1f}") for column in paper_columns(table)]
    for heading, cells in (ours or {}).items():
        columns.append((heading, cells, "—"))
    header = ["", *(label for label, _, _ in columns)]
    rows = [header]
    for row_label in TABLE_ROW_LABELS:
        rows.append([row_label, *(f"{cells.as_dict()[row_label]:.2f}" for _, cells, _ in columns)])
    rows.append(["S^D_tot printed", *(printed for _, _, printed in columns)])
    rows.append(["S^D_tot calc", *(f"{transfer_strength(cells).total:.2f}" for _, cells, _ in columns)])
    widths = [max(len(row[index]) for row in rows) for index in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return f"Table {table}. {TABLE_CAPTIONS[table]}\n" + "\n".join(lines)
