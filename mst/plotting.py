"""PNG figures (they compute no metric): pianorolls, phrase grids, song transfers, curves over epochs.

Rendering uses matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``, no pyplot), so it
needs no display and leaves the global backend alone. Every file is written atomically: the PNG goes
to ``<path>.tmp-<pid>`` first and is then renamed over ``path``, so readers never see half a file.
Missing parent folders are created.

Pianoroll layout: time steps on x (vertical bar lines every ``steps_per_bar`` = 16 steps), MIDI
pitch on y with C-octave labels (``C1`` = MIDI 24 at the bottom of the 84-pitch range). Rolls may
be binary or continuous in [0, 1] (raw generator outputs), drawn black = 1, white = 0.

Example:
    >>> import numpy as np, tempfile, os
    >>> roll = np.zeros((64, 84)); roll[0:16, 36] = 1
    >>> path = save_pianoroll_png(os.path.join(tempfile.mkdtemp(), "roll.png"), roll, titles=["C3"])
    >>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mst import atomic
from mst.encodings.pianoroll import LOWEST_PITCH, NUM_PITCHES, STEPS_PER_BEAT

STEPS_PER_BAR = 4 * STEPS_PER_BEAT
DEFAULT_DPI = 100
_MAX_FIGURE_WIDTH_INCHES = 24.0  # long rolls get wider figures, up to 2,400 px at 100 dpi


def as_plot_rolls(rolls, name: str) -> np.ndarray:
    """One roll ``[T, 84(, 1)]`` or a batch ``[N, T, 84(, 1)]`` in [0, 1] → float ``[N, T, 84]``."""
    array = np.asarray(rolls)
    shape = array.shape
    if array.ndim in (3, 4) and shape[-1] == 1:
        array = array[..., 0]  # drop the TF channel axis
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[-1] != NUM_PITCHES or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must be one roll [T, {NUM_PITCHES}(, 1)] or a batch [N, T, {NUM_PITCHES}(, 1)] with N, T > 0; "
            f"got shape {shape}"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be numeric or bool; got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.all((array >= 0.0) & (array <= 1.0)):  # also rejects NaN
        raise ValueError(f"{name} values must lie in [0, 1]; binarize or rescale first")
    return array


def is_single_roll(rolls) -> bool:
    shape = np.shape(rolls)
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] == 1)


def _as_single_roll(roll, name: str) -> np.ndarray:
    """A single ``[T, 84]`` or ``[T, 84, 1]`` roll as float ``[T, 84]``."""
    if not is_single_roll(roll):
        raise ValueError(
            f"{name} must be one roll [T, {NUM_PITCHES}] or [T, {NUM_PITCHES}, 1]; got shape {np.shape(roll)}"
        )
    return as_plot_rolls(roll, name)[0]


def save_figure(figure: Figure, path, dpi: int) -> str:
    path = os.fspath(path)
    FigureCanvasAgg(figure)
    with atomic.atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return path


def _pitch_ticks() -> tuple[list[int], list[str]]:
    first_c = LOWEST_PITCH + (-LOWEST_PITCH) % 12
    midi_c = list(range(first_c, LOWEST_PITCH + NUM_PITCHES, 12))
    return midi_c, [f"C{midi // 12 - 1}" for midi in midi_c]  # MIDI 60 = C4


def draw_roll(
    axes, roll: np.ndarray, title: str | None, steps_per_bar: int, num_steps: int | None = None, start_step: int = 0
) -> None:
    """Draws a ``[T, 84]`` roll whose first row is step ``start_step``; the x range is ``num_steps`` long."""
    steps = roll.shape[0]
    axes.imshow(
        roll.T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(start_step, start_step + steps, LOWEST_PITCH - 0.5, LOWEST_PITCH + NUM_PITCHES - 0.5),
    )
    end_step = start_step + (num_steps or steps)
    first_bar_line = (start_step // steps_per_bar + 1) * steps_per_bar
    for bar_start in range(first_bar_line, end_step, steps_per_bar):
        axes.axvline(bar_start, color="tab:blue", linewidth=0.6, alpha=0.6)
    ticks, labels = _pitch_ticks()
    axes.set_yticks(ticks, labels)
    axes.set_xlim(start_step, end_step)
    axes.set_ylim(LOWEST_PITCH - 0.5, LOWEST_PITCH + NUM_PITCHES - 0.5)
    axes.tick_params(labelsize=7)
    if title:
        axes.set_title(title, fontsize=8)


def check_steps_per_bar(steps_per_bar: int) -> None:
    if int(steps_per_bar) != steps_per_bar or steps_per_bar < 1:
        raise ValueError(f"steps_per_bar must be a positive integer; got {steps_per_bar}")


def _roll_width_inches(num_steps: int) -> float:
    return float(np.clip(num_steps / 64 * 4.0, 4.0, _MAX_FIGURE_WIDTH_INCHES))


def save_pianoroll_png(
    path,
    roll_or_rolls,
    titles: Sequence[str] | None = None,
    *,
    steps_per_bar: int = STEPS_PER_BAR,
    dpi: int = DEFAULT_DPI,
) -> str:
    """Saves one roll or a stack of rolls (one panel each, top to bottom) as a PNG.

    Args:
        path: Output ``.png`` path (written atomically).
        roll_or_rolls: One roll ``[T, 84(, 1)]`` or a batch ``[N, T, 84(, 1)]``, values in [0, 1].
        titles: Optional panel titles, one per roll.
        steps_per_bar: Bar-line spacing in steps (16 = 4/4 at 4 steps per beat).
        dpi: Resolution.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: Bad shape, values outside [0, 1], or a title count that differs from the roll count.

    Example:
        >>> import tempfile, os
        >>> save_pianoroll_png(os.path.join(tempfile.mkdtemp(), "x.png"), np.zeros((64, 83)))
        Traceback (most recent call last):
        ...
        ValueError: roll_or_rolls must be one roll [T, 84(, 1)] or a batch [N, T, 84(, 1)] ...
    """
    check_steps_per_bar(steps_per_bar)
    rolls = as_plot_rolls(roll_or_rolls, "roll_or_rolls")
    if titles is not None and len(titles) != len(rolls):
        raise ValueError(f"got {len(titles)} titles for {len(rolls)} rolls")
    figure = Figure(figsize=(_roll_width_inches(rolls.shape[1]), 2.6 * len(rolls)), layout="constrained")
    axes_list = figure.subplots(len(rolls), 1, squeeze=False)[:, 0]
    for index, (axes, roll) in enumerate(zip(axes_list, rolls)):
        draw_roll(axes, roll, None if titles is None else titles[index], steps_per_bar)
    axes_list[-1].set_xlabel(f"time step ({steps_per_bar} per bar)", fontsize=8)
    return save_figure(figure, path, dpi)


def save_phrase_grid_png(
    path,
    phrases_by_label: Mapping[str, np.ndarray],
    n_per_row: int = 4,
    *,
    seed: int = 0,
    steps_per_bar: int = STEPS_PER_BAR,
    dpi: int = DEFAULT_DPI,
) -> str:
    """Saves a grid with one row per label of ``n_per_row`` randomly chosen phrases.

    Args:
        path: Output ``.png`` path (written atomically).
        phrases_by_label: ``{label: [N, T, 84(, 1)]}``, e.g. ``{"jazz": ..., "classical": ...}``.
        n_per_row: Phrases per row; a label with fewer phrases shows all of them.
        seed: Seed of the random choice (without replacement; same seed, same phrases).
        steps_per_bar: Bar-line spacing in steps.
        dpi: Resolution.

    Returns:
        ``path`` as a string. Panel titles name the label and the phrase index.

    Example:
        >>> import tempfile, os
        >>> phrases = {"jazz": np.zeros((5, 64, 84, 1)), "pop": np.ones((2, 64, 84, 1))}
        >>> os.path.isfile(save_phrase_grid_png(os.path.join(tempfile.mkdtemp(), "g.png"), phrases, 3))
        True
    """
    check_steps_per_bar(steps_per_bar)
    if not phrases_by_label:
        raise ValueError("phrases_by_label is empty")
    if int(n_per_row) != n_per_row or n_per_row < 1:
        raise ValueError(f"n_per_row must be a positive integer; got {n_per_row}")
    rng = np.random.default_rng(seed)
    chosen = {}
    for label, phrases in phrases_by_label.items():
        batch = as_plot_rolls(phrases, f"phrases_by_label[{label!r}]")
        if is_single_roll(phrases):
            raise ValueError(
                f"phrases_by_label[{label!r}] must be a batch [N, T, 84(, 1)]; got shape {np.shape(phrases)}"
            )
        indices = np.sort(rng.choice(len(batch), size=min(n_per_row, len(batch)), replace=False))
        chosen[label] = (batch, indices)
    num_steps = max(batch.shape[1] for batch, _ in chosen.values())
    figure = Figure(figsize=(3.2 * n_per_row, 2.4 * len(chosen)), layout="constrained")
    grid = figure.subplots(len(chosen), n_per_row, squeeze=False)
    for row, (label, (batch, indices)) in enumerate(chosen.items()):
        for column in range(n_per_row):
            axes = grid[row, column]
            if column < len(indices):
                draw_roll(axes, batch[indices[column]], f"{label} #{indices[column]}", steps_per_bar, num_steps)
            else:
                axes.axis("off")
    return save_figure(figure, path, dpi)


def save_before_after_png(
    path,
    before,
    after,
    title: str | None = None,
    *,
    labels: tuple[str, str] = ("source", "transfer"),
    bars_per_line: int = 32,
    steps_per_bar: int = STEPS_PER_BAR,
    dpi: int = DEFAULT_DPI,
) -> str:
    """Saves a whole song and its transfer, source above transfer, wrapped into lines like a score.

    Each line shows the same ``bars_per_line`` bars of both rolls (so a 90-bar song at 32 bars per
    line gives three line pairs), keeping long songs readable instead of one very wide strip.

    Args:
        path: Output ``.png`` path (written atomically).
        before: Source roll ``[T, 84]`` or ``[T, 84, 1]``.
        after: Transferred roll, same layout (its length may differ; both share one time axis).
        title: Optional figure title (e.g. the song name and direction).
        labels: Titles of the source and transfer panels.
        bars_per_line: Bars per line.
        steps_per_bar: Bar-line spacing in steps.
        dpi: Resolution.

    Example:
        >>> import tempfile, os
        >>> song = np.zeros((256, 84)); song[::8, 40] = 1
        >>> os.path.isfile(save_before_after_png(os.path.join(tempfile.mkdtemp(), "s.png"), song, song, "A→B"))
        True
    """
    check_steps_per_bar(steps_per_bar)
    if len(labels) != 2:
        raise ValueError(f"labels needs two titles; got {labels!r}")
    if int(bars_per_line) != bars_per_line or bars_per_line < 1:
        raise ValueError(f"bars_per_line must be a positive integer; got {bars_per_line}")
    rolls = (_as_single_roll(before, "before"), _as_single_roll(after, "after"))
    num_steps = max(roll.shape[0] for roll in rolls)
    steps_per_line = min(bars_per_line * steps_per_bar, num_steps)
    num_lines = math.ceil(num_steps / steps_per_line)
    figure = Figure(figsize=(_roll_width_inches(steps_per_line), 2.0 * 2 * num_lines + 0.4), layout="constrained")
    grid = figure.subplots(2 * num_lines, 1, squeeze=False)[:, 0]
    for line in range(num_lines):
        start = line * steps_per_line
        for panel, (roll, label) in enumerate(zip(rolls, labels)):
            # An empty slice (the shorter roll ended) still gets its panel, blank, for alignment.
            segment = roll[start : start + steps_per_line]
            if segment.shape[0] == 0:
                segment = np.zeros((1, NUM_PITCHES), np.float32)
            last_bar = math.ceil(min(start + steps_per_line, num_steps) / steps_per_bar)
            line_title = f"{label}, bars {start // steps_per_bar + 1}–{last_bar}"
            draw_roll(grid[2 * line + panel], segment, line_title, steps_per_bar, steps_per_line, start)
    grid[-1].set_xlabel(f"time step ({steps_per_bar} per bar)", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path, dpi)


def save_loss_curves_png(
    path, history: Mapping[str, Sequence[float]], *, title: str | None = None, dpi: int = DEFAULT_DPI
) -> str:
    """Saves one small panel per series of a training history (x = epoch, starting at 1).

    Args:
        path: Output ``.png`` path (written atomically).
        history: ``{name: [value per epoch]}``, e.g. ``keras.callbacks.History.history``. NaN values
            show as gaps.
        title: Optional figure title.
        dpi: Resolution.

    Example:
        >>> import tempfile, os
        >>> history = {"generator_loss": [3.0, 2.1, 1.7], "discriminator_loss": [0.7, 0.5, 0.45]}
        >>> os.path.isfile(save_loss_curves_png(os.path.join(tempfile.mkdtemp(), "l.png"), history))
        True
    """
    if not history:
        raise ValueError("history is empty")
    return save_curve_panels_png(path, {name: {name: values} for name, values in history.items()}, title=title, dpi=dpi)


def save_curve_panels_png(
    path, panels: Mapping[str, Mapping[str, Sequence[float]]], *, title: str | None = None, dpi: int = DEFAULT_DPI
) -> str:
    """Saves one panel per entry, each with one or more curves over epochs (x = epoch, from 1).

    Curves that belong together (a loss next to its all-zero floor, a statistic next to the same
    statistic on real data) share a panel and get a legend.

    Args:
        path: Output ``.png`` path (written atomically).
        panels: ``{panel title: {curve name: [value per epoch]}}``; NaN values show as gaps.
        title: Optional figure title.
        dpi: Resolution.

    Example:
        >>> import tempfile, os
        >>> panels = {"cycle L1": {"model": [0.05, 0.03], "all-zero floor": [0.04, 0.04]}}
        >>> os.path.isfile(save_curve_panels_png(os.path.join(tempfile.mkdtemp(), "m.png"), panels))
        True
    """
    if not panels:
        raise ValueError("panels is empty")
    checked = {}
    for panel, curves in panels.items():
        if not curves:
            raise ValueError(f"panel {panel!r} has no curves")
        checked[panel] = {}
        for name, values in curves.items():
            array = np.asarray(values, dtype=np.float64) if np.ndim(values) else np.empty(0)
            if array.ndim != 1 or array.size == 0:
                raise ValueError(f"history[{name!r}] must be a non-empty list of numbers; got shape {np.shape(values)}")
            checked[panel][name] = array
    num_columns = min(3, len(checked))
    num_rows = math.ceil(len(checked) / num_columns)
    figure = Figure(figsize=(4.0 * num_columns, 2.8 * num_rows), layout="constrained")
    grid = figure.subplots(num_rows, num_columns, squeeze=False).reshape(-1)
    for axes, (panel, curves) in zip(grid, checked.items()):
        for name, values in curves.items():
            epochs = np.arange(1, len(values) + 1)
            axes.plot(epochs, values, marker="o" if len(values) < 30 else None, markersize=3, linewidth=1.2, label=name)
        axes.set_title(panel, fontsize=9)
        axes.set_xlabel("epoch", fontsize=8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.tick_params(labelsize=7)
        if len(curves) > 1:
            axes.legend(fontsize=7)
    for axes in grid[len(checked):]:
        axes.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path, dpi)


def save_spectrogram_png(path, decibels: np.ndarray, *, seconds: float, max_hz: float, title: str = "", dpi: int = DEFAULT_DPI) -> str:
    """A spectrogram image: ``decibels`` is ``[frequency bins, frames]`` from 0 Hz to ``max_hz``."""
    figure = Figure(figsize=(min(_MAX_FIGURE_WIDTH_INCHES, max(6.0, seconds / 4)), 3.5))
    axes = figure.add_subplot()
    top = float(np.max(decibels)) if decibels.size else 0.0
    image = axes.imshow(decibels, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top, extent=(0, seconds, 0, max_hz))
    axes.set_xlabel("time (s)")
    axes.set_ylabel("frequency (Hz)")
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, label="dB")
    figure.tight_layout()
    return save_figure(figure, path, dpi)
