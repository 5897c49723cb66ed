"""PNG figures (they compute no metric): pianorolls, phrase grids, song transfers, curves over epochs.

Rendering uses matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``, no pyplot), so it
needs no display and leaves the global backend alone. Every file is written atomically: the PNG is
rendered into memory, then written to ``<path>.tmp-<pid>`` and renamed over ``path`` in one short
step (:func:`mst.atomic.write_bytes`), so readers never see half a file and a process killed while
rendering leaves no temporary file behind. Missing parent folders are created.

Pianoroll layout: time steps on x (vertical bar lines every ``steps_per_bar`` = 16 steps, or at the
song's own bar starts, see :func:`save_before_after_png`), MIDI pitch on y with C-octave labels
(``C1`` = MIDI 24 at the bottom of the 84-pitch range). Rolls may be binary or continuous in [0, 1]
(raw generator outputs), drawn black = 1, white = 0. Each panel is one image; a panel with more
steps than it has pixel columns is max-pooled in time first (:func:`pool_time`), so every note
stays visible however long the song, and figures never exceed a few thousand pixels a side.

Example:
    >>> import numpy as np, tempfile, os
    >>> roll = np.zeros((64, 84)); roll[0:16, 36] = 1
    >>> path = save_pianoroll_png(os.path.join(tempfile.mkdtemp(), "roll.png"), roll, titles=["C3"])
    >>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io
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
MAX_LINES = 8
"""Most line pairs of a before/after figure; longer songs get more bars per line instead (the
figure stays at most about 3,300 px tall at 100 dpi; 256 bars still fit at 32 bars per line)."""
_AXES_WIDTH_SHARE = 0.85  # the axes' share of the figure width (tick labels take the rest); errs low
_MIN_BAR_LINE_SPACING_PX = 10.0  # closer bar lines would paint the panel blue: then every k-th is drawn


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
    """Renders ``figure`` as PNG bytes in memory, then writes them atomically to ``path``.

    Rendering can take seconds; the temporary file of the atomic write exists only while the
    finished bytes are written, so a kill during rendering leaves nothing on disk.
    """
    path = os.fspath(path)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic.write_bytes(path, buffer.getvalue())
    return path


def _pitch_ticks() -> tuple[list[int], list[str]]:
    first_c = LOWEST_PITCH + (-LOWEST_PITCH) % 12
    midi_c = list(range(first_c, LOWEST_PITCH + NUM_PITCHES, 12))
    return midi_c, [f"C{midi // 12 - 1}" for midi in midi_c]  # MIDI 60 = C4


def pool_time(roll: np.ndarray, max_columns: int | None) -> tuple[np.ndarray, int]:
    """Max-pools a ``[T, 84]`` roll in time to at most ``max_columns`` rows: ``(pooled, factor)``.

    Each output row is the maximum of ``factor`` consecutive steps (the last group zero-padded), so
    a note of a single step still shows. A roll that already fits (or ``max_columns=None``) is
    returned as is, with factor 1.

    Example:
        >>> roll = np.zeros((10, 84)); roll[7, 3] = 1
        >>> pooled, factor = pool_time(roll, 4)
        >>> pooled.shape, factor, pooled[:, 3].tolist()
        ((4, 84), 3, [0.0, 0.0, 1.0, 0.0])
    """
    steps = roll.shape[0]
    if max_columns is None or steps <= max_columns:
        return roll, 1
    factor = math.ceil(steps / max(int(max_columns), 1))
    columns = math.ceil(steps / factor)
    padded = np.zeros((columns * factor, roll.shape[1]), roll.dtype)
    padded[:steps] = roll
    return padded.reshape(columns, factor, roll.shape[1]).max(axis=1), factor


def _bar_line_stride(bars_shown: int, axes_width_px: float | None) -> int:
    """1, 2, 4, 8, ...: draw every k-th bar line so neighbours stay a few pixels apart."""
    stride = 1
    if axes_width_px is None or bars_shown <= 0:
        return stride
    while axes_width_px * stride / bars_shown < _MIN_BAR_LINE_SPACING_PX:
        stride *= 2
    return stride


def draw_roll(
    axes,
    roll: np.ndarray,
    title: str | None,
    steps_per_bar: int,
    num_steps: int | None = None,
    start_step: int = 0,
    *,
    bar_lines: Sequence[int] | np.ndarray | None = None,
    max_columns: int | None = None,
) -> tuple[int, int]:
    """Draws a ``[T, 84]`` roll whose first row is step ``start_step``; the x range is ``num_steps`` long.

    Args:
        axes: Matplotlib axes.
        roll: ``[T, 84]`` values in [0, 1].
        title: Panel title, or ``None``.
        steps_per_bar: Bar-line spacing in steps, used when ``bar_lines`` is ``None``.
        num_steps: Length of the x range (default: the roll's).
        start_step: Step of the roll's first row.
        bar_lines: Steps where bar lines are drawn (those inside the x range, after its start).
        max_columns: The panel's width in pixels, about: longer rolls are max-pooled in time to
            it (:func:`pool_time`) and bar lines are thinned to every k-th.

    Returns:
        ``(factor, stride)``: steps per image column (1 = not pooled) and the bar-line stride k
        (1 = every bar line drawn).
    """
    image, factor = pool_time(roll, max_columns)
    axes.imshow(
        image.T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
        extent=(
            start_step,
            start_step + image.shape[0] * factor,
            LOWEST_PITCH - 0.5,
            LOWEST_PITCH + NUM_PITCHES - 0.5,
        ),
    )
    end_step = start_step + (num_steps or roll.shape[0])
    if bar_lines is None:
        first_bar_line = (start_step // steps_per_bar + 1) * steps_per_bar
        lines = np.arange(first_bar_line, end_step, steps_per_bar)
    else:
        lines = np.asarray(bar_lines, dtype=np.int64)
        lines = lines[(lines > start_step) & (lines < end_step)]
    stride = _bar_line_stride(len(lines) + 1, max_columns)
    if stride > 1:
        # Keep the lines of bars whose 0-based number is a multiple of the stride, counted from
        # the first bar of this panel, so the drawn lines are the same in every panel of a line.
        lines = lines[stride - 1 :: stride]
    if lines.size:
        # One collection instead of one artist per bar: hundreds of bar lines stay cheap.
        axes.vlines(lines, 0.0, 1.0, transform=axes.get_xaxis_transform(), colors="tab:blue", linewidth=0.6, alpha=0.6)
    ticks, labels = _pitch_ticks()
    axes.set_yticks(ticks, labels)
    axes.set_xlim(start_step, end_step)
    axes.set_ylim(LOWEST_PITCH - 0.5, LOWEST_PITCH + NUM_PITCHES - 0.5)
    axes.tick_params(labelsize=7)
    if title:
        axes.set_title(title, fontsize=8)
    return factor, stride


def _time_label(bars: str, factor: int, stride: int) -> str:
    """The x-axis label: what a step and a bar line are, and any pooling the reader must know of."""
    notes = [f"bar lines every {stride} bars"] if stride > 1 else []
    if factor > 1:
        notes.append(f"each column: max over {factor} steps")
    return f"time step ({bars})" + "".join(f"; {note}" for note in notes)


def _panel_columns(width_inches: float, dpi: int) -> int:
    """About the pixel width of a panel that spans the figure (its tick labels excluded)."""
    return max(int(width_inches * dpi * _AXES_WIDTH_SHARE), 1)


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
    width = _roll_width_inches(rolls.shape[1])
    figure = Figure(figsize=(width, 2.6 * len(rolls)), layout="constrained")
    axes_list = figure.subplots(len(rolls), 1, squeeze=False)[:, 0]
    for index, (axes, roll) in enumerate(zip(axes_list, rolls)):
        title = None if titles is None else titles[index]
        factor, stride = draw_roll(axes, roll, title, steps_per_bar, max_columns=_panel_columns(width, dpi))
    axes_list[-1].set_xlabel(_time_label(f"{steps_per_bar} per bar", factor, stride), fontsize=8)
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
    bar_starts: Sequence[int] | np.ndarray | None = None,
    dpi: int = DEFAULT_DPI,
) -> str:
    """Saves a whole song and its transfer, source above transfer, wrapped into lines like a score.

    Each line shows the same ``bars_per_line`` bars of both rolls (so a 90-bar song at 32 bars per
    line gives three line pairs), keeping long songs readable instead of one very wide strip. A
    song of more than :data:`MAX_LINES` lines gets more bars per line (a multiple of
    ``bars_per_line``) instead of more lines, each panel max-pooled in time to its pixel width
    (:func:`pool_time`: no note disappears) and with every k-th bar line only (the x label says
    so), so the figure's size and drawing time are bounded for any song length.

    Args:
        path: Output ``.png`` path (written atomically).
        before: Source roll ``[T, 84]`` or ``[T, 84, 1]``.
        after: Transferred roll, same layout (its length may differ; both share one time axis).
        title: Optional figure title (e.g. the song name and direction).
        labels: Titles of the source and transfer panels.
        bars_per_line: Bars per line.
        steps_per_bar: Bar length in steps when ``bar_starts`` is not given (16 = 4/4).
        bar_starts: The step at which each bar begins, ascending, the first 0 (e.g. from
            :func:`mst.encodings.grid.bar_start_steps`, which follows the song's time
            signatures: 12 steps per 3/4 bar); bars after the last start continue with the last
            bar's length. ``None``: a bar every ``steps_per_bar`` steps.
        dpi: Resolution.

    Raises:
        ValueError: Bad rolls, labels, ``bars_per_line`` or ``bar_starts``.

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
    bars = _bar_starts(bar_starts, steps_per_bar, num_steps)
    # The last bar may be cut short by the song's end, so it does not count as a bar length.
    lengths = np.diff(bars) if len(bars) > 1 else np.array([steps_per_bar if bar_starts is None else num_steps])
    per_bar = f"{int(lengths[0])} per bar" if np.all(lengths == lengths[0]) else "bars as the time signatures say"

    num_bars = len(bars)
    if math.ceil(num_bars / bars_per_line) > MAX_LINES:
        bars_per_line *= math.ceil(num_bars / (MAX_LINES * bars_per_line))
    line_starts = bars[::bars_per_line]
    line_ends = np.append(line_starts[1:], num_steps)
    line_first_bars = np.arange(0, num_bars, bars_per_line)
    steps_per_line = int(np.max(line_ends - line_starts))
    num_lines = len(line_starts)

    width = _roll_width_inches(steps_per_line)
    figure = Figure(figsize=(width, 2.0 * 2 * num_lines + 0.4), layout="constrained")
    grid = figure.subplots(2 * num_lines, 1, squeeze=False)[:, 0]
    columns = _panel_columns(width, dpi)
    factor = stride = 1
    for line, (start, stop, first_bar) in enumerate(zip(line_starts, line_ends, line_first_bars)):
        start, stop = int(start), int(stop)
        last_bar = min(first_bar + bars_per_line, num_bars)
        for panel, (roll, label) in enumerate(zip(rolls, labels)):
            # An empty slice (the shorter roll ended) still gets its panel, blank, for alignment.
            segment = roll[start:stop]
            if segment.shape[0] == 0:
                segment = np.zeros((1, NUM_PITCHES), np.float32)
            line_title = f"{label}, bars {first_bar + 1}–{last_bar}"
            factor, stride = draw_roll(
                grid[2 * line + panel], segment, line_title, steps_per_bar, steps_per_line, start,
                bar_lines=bars, max_columns=columns,
            )
    grid[-1].set_xlabel(_time_label(per_bar, factor, stride), fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path, dpi)


def _bar_starts(bar_starts, steps_per_bar: int, num_steps: int) -> np.ndarray:
    """Checked bar starts below ``num_steps`` (int64, from 0), extended with the last bar's length."""
    if bar_starts is None:
        return np.arange(0, num_steps, steps_per_bar, dtype=np.int64)
    given = np.asarray(bar_starts)
    if given.ndim != 1 or given.size == 0 or not np.issubdtype(given.dtype, np.integer):
        raise ValueError(f"bar_starts must be a non-empty 1-D list of integer steps; got {given!r:.80}")
    if given[0] != 0 or np.any(np.diff(given) <= 0):
        raise ValueError("bar_starts must start at step 0 and increase strictly")
    starts = given.astype(np.int64)
    if starts[-1] < num_steps:  # a song longer than its bar list: the last bar length repeats
        length = int(starts[-1] - starts[-2]) if starts.size > 1 else steps_per_bar
        starts = np.append(starts, np.arange(starts[-1] + length, num_steps, length, dtype=np.int64))
    return starts[starts < num_steps]


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
