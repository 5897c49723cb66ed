"""The report folder of a CycleGAN evaluation: ``report.md``, ``results.json``, CSVs, PNGs and MIDI.

:func:`run_evaluation` (``evaluate.py cyclegan``) evaluates saved models with
:func:`mst.models.cyclegan.cyclegan_evaluation.evaluate_model` and writes the folder with
:func:`write_report`:

==============================  ================================================================
``report.md``                   what was evaluated, the paper's classifier table next to the
                                paper's columns, content preservation, music metrics per set,
                                distribution similarity, collapse statistics, examples, a guide
``results.json``                :meth:`EvaluationResult.to_dict` plus the list of files
``table.csv``                   the classifier table (ours and the paper's columns)
``music_metrics.csv``           per-set metric summaries
``content_preservation.csv``    per-direction content scores
``distribution.csv``            overlapping area and KL divergence per metric
``ranking_{a2b,b2a}.csv``       the authors' per-phrase ranking, with the content scores
``ranking_{a2b,b2a}.png``       strongest and weakest transfers (origin | transfer | cycle)
``examples/*.mid``              the same phrases as MIDI (origin, rest, transfer, rest, cycle)
==============================  ================================================================

Every file is written atomically (:mod:`mst.reporting`, :mod:`mst.atomic`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import pianoroll
from mst.metrics.music import SCALAR_METRICS
from mst.models.cyclegan.cyclegan_evaluation import (
    DEFAULT_BATCH_SIZE,
    DIRECTIONS,
    PHRASE_METRIC_DESCRIPTIONS,
    PHRASE_METRICS,
    RESULTS_NAME,
    SET_LABELS,
    DirectionOutputs,
    EvaluationResult,
    PaperMatch,
    check_positive_int,
    evaluate_model,
    format_description,
    paper_matches,
)
from mst.models.cyclegan.paper_tables import format_paper_table
from mst.models.cyclegan.strength import RANKING_COLUMNS, TABLE_ROW_LABELS, transfer_strength
from mst.reporting import markdown_table, number, percent, write_csv, write_json

DEFAULT_EXAMPLES = 3
"""Strongest and weakest transfers shown per direction (PNG rows and MIDI files each)."""

REPORT_NAME = "report.md"
TABLE_CSV_NAME = "table.csv"
MUSIC_METRICS_CSV_NAME = "music_metrics.csv"
CONTENT_CSV_NAME = "content_preservation.csv"
DISTRIBUTION_CSV_NAME = "distribution.csv"
EXAMPLES_DIR_NAME = "examples"


def ranking_csv_name(direction: str) -> str:
    """``ranking_a2b.csv`` / ``ranking_b2a.csv``."""
    return f"ranking_{direction}.csv"


def ranking_png_name(direction: str) -> str:
    """``ranking_a2b.png`` / ``ranking_b2a.png``."""
    return f"ranking_{direction}.png"


COLLAPSE_ROWS: tuple[tuple[str, str, str | None, str], ...] = (
    ("cycle L1 (all-zero floor)", "cycle_l1", "cycle_l1_zero_floor", "mean |source − continuous cycle|; at the floor the cycle reconstructs nothing"),
    ("cycle AUC", "cycle_auc", None, "how well the continuous cycle separates the source's notes from its rests (0.5 = not at all)"),
    ("non-empty transfers", "nonempty_transfer", None, "share of binarized transfers with at least one note (of the non-empty sources)"),
    ("non-empty cycles", "nonempty_cycle", None, "share of binarized cycles with at least one note"),
    ("transfer sameness (real target)", "transfer_sameness", "target_sameness", "share of the batch's energy in its mean roll (1 = one output for every input)"),
    ("density ratio", "density_ratio", None, "notes of the transfers / notes of the sources"),
    ("pitch-class cosine own (other)", "pitch_class_own", "pitch_class_other", "pitch classes of each transfer vs its own source (vs another phrase's)"),
    ("onset F1 own (other)", "onset_f1_own", "onset_f1_other", "onsets of each transfer vs its own source (vs another phrase's)"),
)
"""Rows of the report's collapse table: label, statistic, reference statistic, meaning."""


_READING_GUIDE = """\
## How to read this report

* **Classifier table.** Rows A and B show how often the classifier recognises *real* test phrases
  of each genre: they are the ceiling for everything below. A good transfer has a **low A→B**
  (transferred phrases no longer sound like A to the classifier) and a **high A→B→A** (the cycle
  gets back to A, so the transfer kept enough of the original); likewise for B→A and B→A→B.
* **S^D_tot** rewards exactly that: for each direction it is the average of (origin − transfer) and
  (cycle − transfer), in percentage points, and the total averages both directions. 0 means the
  classifier sees no change; the paper's models reach 30–72 % (Tables VII–IX). Negative values mean the
  transfers look *more* like the source than the originals do.
* **Content preservation.** Style transfer should change the style, not replace the music. Onset
  F1, Jaccard and pitch-class cosine near 1 mean the transfer kept the notes; near 0 means it wrote
  something else. A high S^D_tot with near-zero content scores points to a generator that ignores
  its input (for example, one that always produces the same target-genre texture).
* **Distribution similarity.** For each music metric, the overlapping area (OA, 0..1, higher is
  closer) and KL divergence (lower is closer) between the target genre's real phrases and the
  transfers. The *source vs target* line is the same comparison before any transfer: if the
  transfers' OA is above it, the transfer moved that property toward the target genre.
* **Collapse statistics.** Each figure that an empty or constant output could game stands next to
  one it cannot: the cycle L1 next to what an all-zero cycle scores, the transfers' sameness next
  to that of real target phrases, the pitch-class and onset agreement of a transfer with its own
  source next to that with another phrase's source. Silent transfers, a cycle no better than
  silence, or one texture for every input are printed as warnings.
* **Ranking and examples.** The ranking CSV lists every phrase by |P_O − P_T| (how much the
  classifier's belief in the source genre dropped), as the authors used it to pick listening
  examples; the PNGs and MIDI files show the strongest and weakest transfers. Listen: the
  classifier is only a proxy (the authors' own Jazz vs Pop classifier reached 67 % on real data).
"""


def report_paper_matches(result: EvaluationResult) -> tuple[list[PaperMatch], str]:
    """The paper's columns for the report's main table and a sentence on how they were chosen."""
    variant, sigma = result.variant, result.sigma_d
    pair = f"{result.genre_a}/{result.genre_b}"
    if not paper_matches(result.genre_a, result.genre_b):
        return [], f"The paper has no table for {pair}."
    if variant is None:
        return [], f"The paper reports {pair}, but the model's variant is unknown (pass --variant), so no column is shown in this table."
    exact = [] if sigma is None else paper_matches(result.genre_a, result.genre_b, variant, sigma)
    if exact:
        return exact, f"Paper column(s) for the same pair, variant ({variant}) and σ_D ({sigma:g})."
    same_variant = paper_matches(result.genre_a, result.genre_b, variant, tables=("VII", "VIII", "IX"))
    sigma_text = "unknown" if sigma is None else f"{sigma:g}"
    if same_variant:
        return same_variant, f"Paper column for the same pair and variant ({variant}); the paper's σ_D differs from ours ({sigma_text})."
    return [], f"The paper has no {variant} column for {pair}."


def _table_rows(result: EvaluationResult, matches: Sequence[PaperMatch]) -> tuple[list[str], list[list]]:
    ours = result.table().as_dict()
    means = result.table("mean_probability").as_dict()
    header = ["row", "ours: % classified as source", "ours: mean P_source (%)", *(match.heading for match in matches)]
    rows = []
    for label in TABLE_ROW_LABELS:
        rows.append([label, ours[label], means[label], *(match.cells.as_dict()[label] for match in matches)])
    strength, strength_mean = result.strength(), result.strength("mean_probability")
    rows.append(["S^D_A→B", strength.a_to_b, strength_mean.a_to_b, *(transfer_strength(m.cells).a_to_b for m in matches)])
    rows.append(["S^D_B→A", strength.b_to_a, strength_mean.b_to_a, *(transfer_strength(m.cells).b_to_a for m in matches)])
    rows.append(["S^D_tot", strength.total, strength_mean.total, *(transfer_strength(m.cells).total for m in matches)])
    rows.append(["S^D_tot printed in the paper", None, None, *(m.column.printed_total for m in matches)])
    return header, rows


def _set_genres(label: str, genre_a: str, genre_b: str) -> str:
    names = {"A": genre_a, "B": genre_b}
    return "→".join(names[part] for part in label.split("→"))


def _set_heading(label: str, genre_a: str, genre_b: str) -> str:
    return f"{label} ({_set_genres(label, genre_a, genre_b)})"


def format_collapse(result: EvaluationResult) -> str:
    """The report's collapse section: the statistics of both directions and the warnings.

    Example:
        >>> from mst.models.cyclegan.cyclegan_evaluation import TestPhrases, as_classifier, evaluate_transfer
        >>> rolls = np.zeros((3, 64, 84), bool); rolls[:, :8, [10, 20, 30]] = True
        >>> silent = {"a2b": lambda x: 0 * x, "b2a": lambda x: 0 * x}
        >>> constant = as_classifier(lambda x: np.zeros((len(x), 2)), output="logits")
        >>> run = evaluate_transfer(silent, constant, TestPhrases.from_rolls("jazz", rolls), TestPhrases.from_rolls("pop", rolls))
        >>> print([line for line in format_collapse(run.result).splitlines() if line.startswith("* ")][0])
        * a2b (jazz→pop): 100% of transfers are silent
    """
    a, b = result.genre_a, result.genre_b
    rows = []
    for label, key, reference, meaning in COLLAPSE_ROWS:
        cells = [label]
        for direction in DIRECTIONS:
            stats = result.collapse.get(direction)
            if stats is None:
                cells.append("—")
                continue
            cell = number(stats.get(key), 4 if key == "cycle_l1" else 3)
            if reference is not None:
                cell += f" ({number(stats.get(reference), 4 if key == 'cycle_l1' else 3)})"
            cells.append(cell)
        rows.append([*cells, meaning])
    lines = [
        markdown_table(["statistic", f"A→B ({a}→{b})", f"B→A ({b}→{a})", "meaning"], rows),
        "",
        "Computed on the evaluation's test phrases: source, continuous transfer, continuous cycle of the "
        "continuous transfer, and the target genre's real test phrases (for the sameness reference).",
    ]
    missing = [direction for direction in DIRECTIONS if result.collapse.get(direction) is None]
    if missing:
        lines += ["", f"Not computed for {', '.join(missing)} (it needs at least two test phrases per direction)."]
    warnings = result.collapse_warnings()
    lines += ["", "**Collapse warnings:**" if warnings else "**Collapse warnings:** none.", ""]
    lines += [f"* {warning}" for warning in warnings]
    if warnings:
        lines.append("")
    return "\n".join(lines)


def format_report(result: EvaluationResult, files: Mapping[str, str] | None = None) -> str:
    """The markdown report of one evaluation.

    Args:
        result: The evaluation.
        files: ``{kind: relative path}`` of the files written next to the report (PNGs, CSVs, MIDI),
            linked from the report.

    Returns:
        Markdown text.
    """
    files = dict(files or {})
    info = result.info
    a, b = result.genre_a, result.genre_b
    lines = [f"# Genre transfer evaluation: {a} (A) ↔ {b} (B)", ""]
    lines.append("## What was evaluated")
    lines.append("")
    data = info.get("dataset", {})
    phrases = info.get("phrases", {})
    evaluated = ", ".join(
        f"{genre}: {counts.get('evaluated')} of {counts.get('available')} test phrases" for genre, counts in phrases.items()
    )
    facts = [
        ("label", info.get("label", result.label)),
        ("model", format_description(info.get("model"))),
        ("variant / σ_D", f"{result.variant or 'unknown'} / {'unknown' if result.sigma_d is None else f'{result.sigma_d:g}'}"),
        ("classifier", format_description(info.get("classifier"))),
        ("classifier classes", ", ".join(f"{genre} = class {index}" for genre, index in info.get("classifier_class_of_genre", {}).items()) or "—"),
        ("dataset", f"`{data.get('data_dir', '—')}`, manifest sha256 `{data.get('manifest_sha256', '—')}`"),
        ("phrases", evaluated or "—"),
        ("seed / limit", f"{info.get('seed', '—')} / {info.get('limit') or 'all'}"),
        ("protocol", "transfer; cycle from the continuous transfer; transfer and cycle binarized at 0.5; softmax P of the source genre"),
    ]
    lines += [f"* **{name}**: {value}" for name, value in facts]
    for note in info.get("notes", []):
        lines.append(f"* **note**: {note}")
    lines.append("")

    lines.append("## Classifier table (the paper's layout)")
    lines.append("")
    matches, how = report_paper_matches(result)
    header, rows = _table_rows(result, matches)
    lines.append(markdown_table(header, [[row[0], *(percent(value, 1 if row[0].startswith("S^D_tot printed") else 2) for value in row[1:])] for row in rows]))
    lines.append("")
    lines.append(
        "Cells: percentage of phrases the classifier assigns to the **source** genre (P_source > 0.5; "
        f"rows A… use P({a}), rows B… use P({b})); the second column averages P_source instead. {how}"
    )
    strength = result.strength()
    lines.append("")
    lines.append(f"**S^D_tot = {strength.total:.2f} %** (A→B {strength.a_to_b:.2f}, B→A {strength.b_to_a:.2f}).")
    lines.append("")
    ordered = paper_matches(a, b)
    if ordered and not ordered[0].swapped:
        for table in dict.fromkeys(match.column.table for match in ordered):
            lines.append("```")
            lines.append(format_paper_table(table, ours={"ours": result.table()}))
            lines.append("```")
            lines.append("")

    lines.append("## Content preservation (origin vs transfer, origin vs cycle)")
    lines.append("")
    content_rows = []
    for name in PHRASE_METRICS:
        cells = [name]
        for direction in DIRECTIONS:
            summary = result.direction(direction).metric_summary().get(name)
            cells.append("—" if summary is None else f"{number(summary['mean'])} ± {number(summary['std'])}")
        cells.append(PHRASE_METRIC_DESCRIPTIONS[name])
        content_rows.append(cells)
    lines.append(markdown_table(["metric", f"A→B ({a}→{b})", f"B→A ({b}→{a})", "meaning"], content_rows))
    lines.append("")

    lines.append("## Music metrics per set (mean ± std over phrases)")
    lines.append("")
    set_names = [label for label in SET_LABELS if label in result.set_metrics]
    metric_rows = []
    for metric in SCALAR_METRICS:
        cells = [metric]
        for label in set_names:
            summary = result.set_metrics[label].get(metric, {})
            cells.append(f"{number(summary.get('mean'))} ± {number(summary.get('std'))}")
        metric_rows.append(cells)
    lines.append(markdown_table(["metric", *(_set_heading(label, a, b) for label in set_names)], metric_rows))
    lines.append("")
    lines.append("Undefined values (e.g. the pitch range of an empty phrase) are left out of the mean; see music_metrics.csv for the counts.")
    lines.append("")

    lines.append("## Distribution similarity to the target genre (KDE overlapping area, KL divergence)")
    lines.append("")
    for direction in DIRECTIONS:
        source, target = (a, b) if direction == "a2b" else (b, a)
        comparisons = result.distribution.get(direction, {})
        transfer_values = comparisons.get("transfer_vs_target", {})
        source_values = comparisons.get("source_vs_target", {})
        rows = []
        for metric in SCALAR_METRICS:
            transfer_entry, source_entry = transfer_values.get(metric, {}), source_values.get(metric, {})
            oa_t, oa_s = transfer_entry.get("overlap_area"), source_entry.get("overlap_area")
            moved = "—" if oa_t is None or oa_s is None or not (math.isfinite(oa_t) and math.isfinite(oa_s)) else f"{oa_t - oa_s:+.3f}"
            rows.append([metric, number(oa_t), number(oa_s), moved, number(transfer_entry.get("kl_divergence")), number(source_entry.get("kl_divergence"))])
        lines.append(f"**{source} → {target}** (reference: real {target} test phrases)")
        lines.append("")
        lines.append(markdown_table(["metric", "OA transfer", f"OA {source} (no transfer)", "OA change", "KL transfer", f"KL {source} (no transfer)"], rows))
        lines.append("")

    lines.append("## Collapse statistics (does the output carry its input?)")
    lines.append("")
    lines.append(format_collapse(result))

    lines.append("## Strongest and weakest transfers")
    lines.append("")
    for direction in DIRECTIONS:
        source, target = (a, b) if direction == "a2b" else (b, a)
        entries = []
        if f"ranking_png_{direction}" in files:
            entries.append(f"![{source} → {target} ranking]({files[f'ranking_png_{direction}']})")
        if f"ranking_csv_{direction}" in files:
            entries.append(f"Full ranking: [{files[f'ranking_csv_{direction}']}]({files[f'ranking_csv_{direction}']})")
        midi = sorted(value for key, value in files.items() if key.startswith(f"example_{direction}_"))
        if midi:
            entries.append("MIDI (origin | transfer | cycle, one bar of rest between): " + ", ".join(f"[{Path(path).name}]({path})" for path in midi))
        lines.append(f"**{source} → {target}**")
        lines.append("")
        lines += [f"{entry}\n" for entry in entries] or ["(not written)\n"]
    other = [files[key] for key in ("table_csv", "music_metrics_csv", "content_csv", "distribution_csv", "results_json") if key in files]
    if other:
        lines.append("Data files: " + ", ".join(f"[{path}]({path})" for path in other))
        lines.append("")
    lines.append(_READING_GUIDE)
    return "\n".join(lines)


def _example_midi(path: Path, origin: np.ndarray, transfer: np.ndarray, cycle: np.ndarray) -> Path:
    """Origin, one bar of rest, transfer, one bar of rest, cycle as one MIDI file."""
    rest = np.zeros((pianoroll.STEPS_PER_BEAT * 4, pianoroll.NUM_PITCHES), bool)
    path.parent.mkdir(parents=True, exist_ok=True)
    return pianoroll.write_roll_midi(path, np.concatenate([origin, rest, transfer, rest, cycle]))


def _write_examples(out: Path, result: EvaluationResult, outputs: Mapping[str, DirectionOutputs], examples: int) -> dict[str, Path]:
    """Ranking PNGs and the MIDI files of the strongest and weakest transfers."""
    from mst.models.cyclegan.cyclegan_plots import save_ranking_png  # noqa: PLC0415  (imports matplotlib)

    written: dict[str, Path] = {}
    for direction in DIRECTIONS:
        run = outputs[direction]
        probabilities = np.stack([run.probabilities.origin, run.probabilities.transfer, run.probabilities.cycle], axis=1)
        written[f"ranking_png_{direction}"] = Path(
            save_ranking_png(out / ranking_png_name(direction), run.phrases.rolls, run.transfer, run.cycle, probabilities, n_each=examples)
        )
        ranked = [row["Id"] for row in result.direction(direction).ranking_rows()]
        picks = [("strongest", rank, index) for rank, index in enumerate(ranked[:examples], start=1)]
        if len(ranked) > examples:
            tail = ranked[-min(examples, len(ranked) - examples) :]
            picks += [("weakest", len(tail) - k, index) for k, index in enumerate(tail)]
        for kind, rank, index in picks:
            name = f"{direction}_{kind}_{rank}_id{index}.mid"
            written[f"example_{direction}_{kind}_{rank}"] = _example_midi(
                out / EXAMPLES_DIR_NAME / name, run.phrases.rolls[index], run.transfer[index], run.cycle[index]
            )
    return written


def write_table_csv(result: EvaluationResult, path) -> Path:
    """Writes ``table.csv``: the classifier table, ours and the paper's matching columns."""
    matches, _ = report_paper_matches(result)
    header, rows = _table_rows(result, matches)
    header = ["row", "ours_percent_source", "ours_mean_probability", *header[3:]]
    return write_csv(path, header, rows)


def write_report(result: EvaluationResult, out_dir, outputs: Mapping[str, DirectionOutputs] | None = None, *, examples: int = DEFAULT_EXAMPLES) -> dict[str, Path]:
    """Writes the report folder: ``report.md``, ``results.json``, CSVs, and (with ``outputs``) PNGs and MIDI.

    Args:
        result: The evaluation.
        out_dir: Report folder (created if missing; files in it are replaced one by one, atomically).
        outputs: The in-memory :class:`DirectionOutputs` (needed for PNGs and example MIDI files).
        examples: Strongest and weakest transfers shown per direction.

    Returns:
        ``{kind: path}`` of every file written; ``"report"`` is ``report.md``. The ranking CSVs are
        written for results that carry their ranking (all but those read back from ``results.json``).
    """
    check_positive_int("examples", examples)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = _write_examples(out, result, outputs, examples) if outputs else {}
    for direction in DIRECTIONS:
        if result.direction(direction).ranking is None:
            continue
        rows = result.direction(direction).ranking_rows()
        header = ["rank", *RANKING_COLUMNS, "song_id", "phrase_index", *(name for name in PHRASE_METRICS if name != "content_difference")]
        written[f"ranking_csv_{direction}"] = write_csv(out / ranking_csv_name(direction), header, [[row.get(key) for key in header] for row in rows])
    written["table_csv"] = write_table_csv(result, out / TABLE_CSV_NAME)
    written["music_metrics_csv"] = write_csv(
        out / MUSIC_METRICS_CSV_NAME,
        ["set", "genres", "metric", "mean", "std", "count", "nan_count"],
        [
            [label, _set_genres(label, result.genre_a, result.genre_b), metric, summary["mean"], summary["std"], summary["count"], summary["nan_count"]]
            for label, metrics in result.set_metrics.items()
            for metric, summary in metrics.items()
        ],
    )
    written["content_csv"] = write_csv(
        out / CONTENT_CSV_NAME,
        ["direction", "metric", "mean", "std", "count", "nan_count"],
        [
            [direction, metric, summary["mean"], summary["std"], summary["count"], summary["nan_count"]]
            for direction in DIRECTIONS
            for metric, summary in result.direction(direction).metric_summary().items()
        ],
    )
    written["distribution_csv"] = write_csv(
        out / DISTRIBUTION_CSV_NAME,
        ["direction", "comparison", "metric", "overlap_area", "kl_divergence"],
        [
            [direction, comparison, metric, values["overlap_area"], values["kl_divergence"]]
            for direction, comparisons in result.distribution.items()
            for comparison, metrics in comparisons.items()
            for metric, values in metrics.items()
        ],
    )
    relative = {key: path.relative_to(out).as_posix() for key, path in written.items()}
    relative["results_json"] = RESULTS_NAME
    payload = result.to_dict()
    payload["files"] = dict(sorted(relative.items()))
    written["results_json"] = write_json(out / RESULTS_NAME, payload)
    written["report"] = atomic.write_text(out / REPORT_NAME, format_report(result, relative))
    return written


def run_evaluation(
    model_path,
    classifier_path,
    data_dir,
    out_dir,
    *,
    genre_a: str | None = None,
    genre_b: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    classifier_checkpoint: str = "last",
    variant: str | None = None,
    sigma_d: float | None = None,
    label: str | None = None,
    examples: int = DEFAULT_EXAMPLES,
) -> tuple[EvaluationResult, dict[str, Path]]:
    """Evaluates saved models (:func:`mst.models.cyclegan.cyclegan_evaluation.evaluate_model`) and writes the report.

    Args:
        model_path: CycleGAN export folder, SavedModel folder, ``.keras`` file or training run folder.
        classifier_path: Classifier export folder, SavedModel, ``.keras`` file or training run folder.
        data_dir: Prepared dataset folder (``python -m mst.prepare``) with test splits.
        out_dir: Report folder.
        genre_a, genre_b: The pair; default: from the model's recorded config, else the classifier's.
        seed: Seed of the ``limit`` subsampling (recorded in the report).
        limit: Evaluate at most this many test phrases per genre (a seeded random subset).
        batch_size: Phrases per model call.
        classifier_checkpoint: ``"last"`` or ``"best"`` for a classifier run folder.
        variant, sigma_d: Override (or supply) the model's variant and σ_D, used to pick the paper's
            column.
        label: Name of this model in sweeps (default: preset or model path).
        examples: Strongest/weakest transfers shown per direction.

    Returns:
        ``(result, {kind: path})``.

    Raises:
        EvaluationInputError: Missing or mismatching inputs (see the messages).
        EvaluationError: A model failed during the evaluation.
    """
    check_positive_int("examples", examples)
    run = evaluate_model(
        model_path,
        classifier_path,
        data_dir,
        genre_a=genre_a,
        genre_b=genre_b,
        seed=seed,
        limit=limit,
        batch_size=batch_size,
        classifier_checkpoint=classifier_checkpoint,
        variant=variant,
        sigma_d=sigma_d,
        label=label,
    )
    files = write_report(run.result, out_dir, run.outputs, examples=examples)
    return run.result, files


__all__ = [
    "COLLAPSE_ROWS",
    "DEFAULT_EXAMPLES",
    "REPORT_NAME",
    "format_collapse",
    "format_report",
    "ranking_csv_name",
    "ranking_png_name",
    "report_paper_matches",
    "run_evaluation",
    "write_report",
    "write_table_csv",
]
