"""Sweeps: several evaluations of one genre pair in the layout of the paper's Table VI or Tables VII–IX.

:func:`run_sweep` (``evaluate.py sweep``) reads the ``results.json`` of several report folders
written by :func:`mst.models.cyclegan.cyclegan_report.write_report` and arranges them as the paper
did: ``--layout sigma`` puts one variant's models side by side over σ_D (Table VI),
``--layout variants`` puts base, partial and full side by side (Tables VII–IX). Each of our columns
stands next to the paper's matching column, its cells oriented to our pair. ``sweep.md``,
``sweep.csv`` (one row per column and table row) and ``sweep.json`` are written atomically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from mst import atomic
from mst.models.cyclegan.cyclegan_evaluation import (
    VARIANT_ORDER,
    EvaluationInputError,
    EvaluationResult,
    PaperMatch,
    load_results,
    paper_matches,
)
from mst.models.cyclegan.paper_tables import format_paper_table
from mst.models.cyclegan.strength import TABLE_ROW_LABELS, ClassifierTable, transfer_strength
from mst.reporting import markdown_table, percent, write_csv, write_json

SWEEP_FORMAT = "mst.evaluation_sweep"
SWEEP_LAYOUTS = ("sigma", "variants")
SWEEP_REPORT_NAME = "sweep.md"
SWEEP_CSV_NAME = "sweep.csv"
SWEEP_JSON_NAME = "sweep.json"


@dataclasses.dataclass(frozen=True)
class SweepColumn:
    """One column of a sweep: our evaluation and the paper's matching column (if any)."""

    heading: str
    label: str
    variant: str | None
    sigma_d: float | None
    cells: ClassifierTable
    mean_cells: ClassifierTable
    source: str
    paper: PaperMatch | None


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Several evaluations of one genre pair in one of the paper's layouts.

    Attributes:
        layout: ``"sigma"`` (Table VI: one variant, columns σ_D) or ``"variants"`` (Tables VII–IX:
            columns base / partial / full).
        genre_a, genre_b: The pair.
        columns: The columns in table order.
        paper_table: The paper's table these columns are compared with, or ``None``.
    """

    layout: str
    genre_a: str
    genre_b: str
    columns: tuple[SweepColumn, ...]
    paper_table: str | None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "format": SWEEP_FORMAT,
            "format_version": 1,
            "layout": self.layout,
            "genre_a": self.genre_a,
            "genre_b": self.genre_b,
            "paper_table": self.paper_table,
            "columns": [
                {
                    "heading": column.heading,
                    "label": column.label,
                    "variant": column.variant,
                    "sigma_d": column.sigma_d,
                    "source": column.source,
                    "cells": column.cells.as_dict(),
                    "mean_probability_cells": column.mean_cells.as_dict(),
                    "strength": transfer_strength(column.cells)._asdict(),
                    "paper": None
                    if column.paper is None
                    else {
                        "table": column.paper.column.table,
                        "label": column.paper.column.label,
                        "swapped": column.paper.swapped,
                        "cells": column.paper.cells.as_dict(),
                        "printed_total": column.paper.column.printed_total,
                        "calculated_total": transfer_strength(column.paper.cells).total,
                    },
                }
                for column in self.columns
            ],
        }


def _format_sigma(sigma: float | None) -> str:
    return "?" if sigma is None else f"{sigma:g}"


def assemble_sweep(results: Sequence[EvaluationResult], layout: str) -> Sweep:
    """Arranges evaluations of one pair into the paper's Table VI or Tables VII–IX layout.

    ``"sigma"``: every result must have the same variant and a known σ_D, all different; columns
    are sorted by σ_D and matched with the paper's Table VI (Jazz/Classic base) or another column of
    that pair, variant and σ_D. ``"variants"``: every result must have a known, different variant;
    columns follow base, partial, full and are matched with the paper's column of that variant in
    Tables VII–IX (whose σ_D may differ from ours; the heading says both).

    Raises:
        EvaluationInputError: No results, different genre pairs, or a missing/duplicate σ_D or variant.
    """
    if layout not in SWEEP_LAYOUTS:
        raise EvaluationInputError(f"layout must be one of {SWEEP_LAYOUTS}, got {layout!r}")
    if not results:
        raise EvaluationInputError("a sweep needs at least one evaluation")
    pairs = {(result.genre_a, result.genre_b) for result in results}
    if len(pairs) != 1:
        raise EvaluationInputError(f"all evaluations of a sweep must have the same genre pair (in the same order); got {sorted(pairs)}")
    genre_a, genre_b = next(iter(pairs))

    def source(result):
        return str(result.info.get("report_dir") or result.label)

    if layout == "sigma":
        variants = {result.variant for result in results}
        if len(variants) != 1:
            raise EvaluationInputError(f"a σ_D sweep compares one variant; got variants {sorted(map(str, variants))}")
        variant = next(iter(variants))
        missing = [source(result) for result in results if result.sigma_d is None]
        if missing:
            raise EvaluationInputError(f"σ_D unknown for {missing}; evaluate with --sigma-d or from a run with a recorded config")
        sigmas = [result.sigma_d for result in results]
        if len(set(sigmas)) != len(sigmas):
            raise EvaluationInputError(f"two evaluations have the same σ_D: {sorted(sigmas)}")
        ordered = sorted(results, key=lambda result: result.sigma_d)
        columns = []
        for result in ordered:
            found = paper_matches(genre_a, genre_b, variant, result.sigma_d) if variant is not None else []
            match = found[0] if found else None
            columns.append(_sweep_column(result, f"σ_D={result.sigma_d:g}", source(result), match))
        tables = {column.paper.column.table for column in columns if column.paper is not None}
        paper_table = "VI" if "VI" in tables else (sorted(tables)[0] if tables else None)
        return Sweep(layout, genre_a, genre_b, tuple(columns), paper_table)

    missing = [source(result) for result in results if result.variant is None]
    if missing:
        raise EvaluationInputError(f"variant unknown for {missing}; evaluate with --variant or from a run with a recorded config")
    variants = [result.variant for result in results]
    if len(set(variants)) != len(variants):
        raise EvaluationInputError(f"two evaluations have the same variant: {sorted(variants)}")
    ordered = sorted(results, key=lambda result: VARIANT_ORDER.index(result.variant))
    columns = []
    for result in ordered:
        found = paper_matches(genre_a, genre_b, result.variant, tables=("VII", "VIII", "IX"))
        match = found[0] if found else None
        columns.append(_sweep_column(result, f"M_{result.variant}, σ_D={_format_sigma(result.sigma_d)}", source(result), match))
    tables = {column.paper.column.table for column in columns if column.paper is not None}
    return Sweep(layout, genre_a, genre_b, tuple(columns), sorted(tables)[0] if tables else None)


def _sweep_column(result: EvaluationResult, heading: str, source: str, match: PaperMatch | None) -> SweepColumn:
    return SweepColumn(heading, result.label, result.variant, result.sigma_d, result.table(), result.table("mean_probability"), source, match)


def format_sweep(sweep: Sweep) -> str:
    """Markdown of a sweep: our columns interleaved with the paper's, then the mean-probability table."""
    caption = {"sigma": "one variant over σ_D (the paper's Table VI layout)", "variants": "base / partial / full (the paper's Tables VII–IX layout)"}[sweep.layout]
    lines = [f"# Sweep: {sweep.genre_a} (A) ↔ {sweep.genre_b} (B), {caption}", ""]
    header = ["row"]
    for column in sweep.columns:
        header.append(f"ours {column.heading}")
        if column.paper is not None:
            header.append(column.paper.heading)
    rows = []
    for label in (*TABLE_ROW_LABELS, "S^D_tot", "S^D_tot printed in the paper"):
        row = [label]
        for column in sweep.columns:
            if label == "S^D_tot":
                row.append(percent(transfer_strength(column.cells).total))
            elif label.startswith("S^D_tot printed"):
                row.append("—")
            else:
                row.append(percent(column.cells.as_dict()[label]))
            if column.paper is not None:
                if label == "S^D_tot":
                    row.append(percent(transfer_strength(column.paper.cells).total))
                elif label.startswith("S^D_tot printed"):
                    row.append(f"{column.paper.column.printed_total:.1f}")
                else:
                    row.append(percent(column.paper.cells.as_dict()[label]))
        rows.append(row)
    lines.append(markdown_table(header, rows))
    lines.append("")
    lines.append("Cells: % of test phrases classified as the source genre (P_source > 0.5). Paper columns: the printed cells; its S^D_tot row is recomputed from them with the strength formula of Brunner et al. (per direction ½[(origin − transfer) + (cycle − transfer)]), the printed value is below.")
    if sweep.paper_table is None:
        lines.append("")
        lines.append("The paper has no matching columns for this pair/variant.")
    elif sweep.layout == "variants":
        lines.append("")
        lines.append("Each paper column is the paper's model of that variant, trained with its own selected σ_D (in the heading); ours may differ.")
    lines += ["", "## Mean source probability (%)", ""]
    mean_rows = []
    for label in TABLE_ROW_LABELS:
        mean_rows.append([label, *(percent(column.mean_cells.as_dict()[label]) for column in sweep.columns)])
    mean_rows.append(["S^D_tot", *(percent(transfer_strength(column.mean_cells).total) for column in sweep.columns)])
    lines.append(markdown_table(["row", *(f"ours {column.heading}" for column in sweep.columns)], mean_rows))
    lines += ["", "## Sources", ""]
    lines += [f"* {column.heading}: {column.label} — `{column.source}`" for column in sweep.columns]
    if sweep.paper_table is not None and not any(column.paper.swapped for column in sweep.columns if column.paper is not None):
        lines += ["", f"## The paper's Table {sweep.paper_table} with our columns", "", "```"]
        lines.append(format_paper_table(sweep.paper_table, ours={f"ours {column.heading}": column.cells for column in sweep.columns}))
        lines.append("```")
    return "\n".join(lines) + "\n"


def write_sweep(sweep: Sweep, out_dir) -> dict[str, Path]:
    """Writes ``sweep.md``, ``sweep.csv`` (long format: one row per column × table row) and ``sweep.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for column in sweep.columns:
        ours = {**column.cells.as_dict(), "S^D_tot": transfer_strength(column.cells).total}
        means = {**column.mean_cells.as_dict(), "S^D_tot": transfer_strength(column.mean_cells).total}
        paper = None
        if column.paper is not None:
            paper = {**column.paper.cells.as_dict(), "S^D_tot": transfer_strength(column.paper.cells).total}
        for label in (*TABLE_ROW_LABELS, "S^D_tot"):
            rows.append(
                [
                    column.heading,
                    column.variant,
                    column.sigma_d,
                    label,
                    ours[label],
                    means[label],
                    None if paper is None else f"Table {column.paper.column.table} {column.paper.column.label}",
                    None if paper is None else paper[label],
                    None if column.paper is None or label != "S^D_tot" else column.paper.column.printed_total,
                    column.source,
                ]
            )
    written = {
        "csv": write_csv(
            out / SWEEP_CSV_NAME,
            ["column", "variant", "sigma_d", "row", "ours_percent_source", "ours_mean_probability", "paper_column", "paper", "paper_printed_total", "source"],
            rows,
        ),
        "json": write_json(out / SWEEP_JSON_NAME, sweep.to_dict()),
    }
    written["report"] = atomic.write_text(out / SWEEP_REPORT_NAME, format_sweep(sweep))
    return written


def run_sweep(report_dirs: Sequence, layout: str, out_dir) -> tuple[Sweep, dict[str, Path]]:
    """Loads ``results.json`` of each report folder, assembles and writes the sweep."""
    if not report_dirs:
        raise EvaluationInputError("no report folders given (--runs)")
    sweep = assemble_sweep([load_results(path) for path in report_dirs], layout)
    return sweep, write_sweep(sweep, out_dir)


__all__ = [
    "SWEEP_FORMAT",
    "SWEEP_LAYOUTS",
    "Sweep",
    "SweepColumn",
    "assemble_sweep",
    "format_sweep",
    "run_sweep",
    "write_sweep",
]
