"""MuseGAN figures: one window as one panel per track (what each voice plays), and sample grids.

Each panel shows the generator's values rescaled from [-1, 1] to [0, 1] (grey = undecided,
black = +1) over time steps (bar lines every 16 steps, beat ticks every 4), with the argmax
decoding of the book overlaid as red dots, on the pitch range the chorales use
(MIDI 33..86 by default: A1 to D6).

Example:
    >>> import numpy as np, tempfile, os
    >>> window = -np.ones((2, 16, 84, 4), np.float32); window[:, :, 60, 0] = 1
    >>> path = save_tracks_png(os.path.join(tempfile.mkdtemp(), "w.png"), window, title="test")
    >>> open(path, "rb").read(4) == b"\\x89PNG"
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from mst.encodings import multitrack
from mst.plotting import save_figure

DEFAULT_PITCH_RANGE = (33, 87)
"""MIDI rows drawn (the chorales use 36..81)."""


def _draw_track(axes, values: np.ndarray, *, pitch_offset: int, pitch_range, steps_per_bar: int, label: str, decoding: str) -> None:
    """``values``: ``[T, 84]`` model values of one track."""
    low, high = pitch_range
    rows = slice(low - pitch_offset, high - pitch_offset)
    shown = (np.clip(values[:, rows], -1, 1) + 1) / 2
    axes.imshow(shown.T, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                extent=(0, values.shape[0], low - 0.5, high - 0.5))
    pitches = multitrack.decode_roll(values.reshape(1, *values.shape, 1), decoding=decoding)[0] + pitch_offset
    steps = np.arange(len(pitches))
    sounding = (pitches >= low) & (pitches < high) & (pitches - pitch_offset != multitrack.REST)
    axes.scatter(steps[sounding] + 0.5, pitches[sounding], s=4, c="tab:red", marker="o", linewidths=0)
    for bar in range(steps_per_bar, values.shape[0], steps_per_bar):
        axes.axvline(bar, color="tab:blue", linewidth=0.8, alpha=0.7)
    axes.set_xticks(range(0, values.shape[0] + 1, 4))
    c_rows = [p for p in range(low, high) if p % 12 == 0]
    axes.set_yticks(c_rows, [f"C{p // 12 - 1}" for p in c_rows])
    axes.tick_params(labelsize=6)
    axes.set_ylabel(label, fontsize=7)


def save_tracks_png(
    path,
    window,
    *,
    title: str | None = None,
    track_names: Sequence[str] = multitrack.CHORALE_TRACKS,
    pitch_offset: int = multitrack.BOOK_PITCH_OFFSET,
    pitch_range=DEFAULT_PITCH_RANGE,
    decoding: str = "argmax",
    dpi: int = 100,
) -> str:
    """One window ``[bars, steps, 84, tracks]`` (model values) as one panel per track, top = track 0.

    Raises:
        ValueError: A window that is not ``[bars, steps, 84, tracks]``.
    """
    return save_windows_png(path, [window], titles=[title] if title else None, track_names=track_names,
                            pitch_offset=pitch_offset, pitch_range=pitch_range, decoding=decoding, dpi=dpi)


def save_windows_png(
    path,
    windows,
    *,
    titles: Sequence[str] | None = None,
    track_names: Sequence[str] = multitrack.CHORALE_TRACKS,
    pitch_offset: int = multitrack.BOOK_PITCH_OFFSET,
    pitch_range=DEFAULT_PITCH_RANGE,
    decoding: str = "argmax",
    dpi: int = 100,
) -> str:
    """Several windows side by side (one column each), one row per track."""
    windows = np.asarray(windows, np.float32)
    if windows.ndim != 5 or windows.shape[3] != multitrack.NUM_PITCHES:
        raise ValueError(f"expected windows [N, bars, steps, 84, tracks], got shape {windows.shape}")
    n, bars, steps, _, tracks = windows.shape
    names = list(track_names) + [f"track {t}" for t in range(len(track_names), tracks)]
    figure = Figure(figsize=(max(3.2, 2.6 * n * bars / 2), 1.25 * tracks + 0.5), layout="constrained")
    grid = figure.subplots(tracks, n, squeeze=False, sharex=True, sharey=True)
    for column in range(n):
        flat = windows[column].reshape(bars * steps, multitrack.NUM_PITCHES, tracks)
        for track in range(tracks):
            _draw_track(grid[track, column], flat[:, :, track], pitch_offset=pitch_offset, pitch_range=pitch_range,
                        steps_per_bar=steps, label=names[track] if column == 0 else "", decoding=decoding)
        if titles:
            grid[0, column].set_title(titles[column], fontsize=7)
    return save_figure(figure, path, dpi)


def per_step_losses(history_csv) -> dict[str, np.ndarray]:
    """Per-step values from a run's ``history.csv``, whose rows hold Keras' running means within each epoch.

    Step ``k`` of an epoch (1-based) is ``k m_k - (k - 1) m_(k-1)``. Returns ``{"step": ..., name: ...}``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "h.csv")
        >>> _ = open(path, "w").write("step,epoch,loss\\n1,0,2\\n2,0,3\\n3,1,5\\n")
        >>> per_step_losses(path)["loss"].tolist()
        [2.0, 4.0, 5.0]
    """
    import csv  # noqa: PLC0415

    with open(history_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = [name for name in rows[0] if name not in ("step", "epoch", "learning_rate")] if rows else []
    out = {"step": np.array([int(r["step"]) for r in rows])}
    for name in names:
        values, previous_epoch, k, previous_mean = [], None, 0, 0.0
        for row in rows:
            epoch, mean = int(row["epoch"]), float(row[name])
            k = k + 1 if epoch == previous_epoch else 1
            values.append(k * mean - (k - 1) * previous_mean if k > 1 else mean)
            previous_epoch, previous_mean = epoch, mean
        out[name] = np.array(values)
    return out


def save_loss_curves_png(path, history_csv, *, window: int = 10, title: str | None = None, dpi: int = 100) -> str:
    """One panel per logged loss: per-step values (light) and their ``window``-step moving average."""
    losses = per_step_losses(history_csv)
    names = [name for name in losses if name != "step"]
    figure = Figure(figsize=(4.2 * len(names), 3.0), layout="constrained")
    axes_list = figure.subplots(1, len(names), squeeze=False)[0]
    for axes, name in zip(axes_list, names):
        values = losses[name]
        axes.plot(losses["step"], values, color="tab:blue", alpha=0.3, linewidth=0.7)
        if len(values) >= window:
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            axes.plot(losses["step"][window - 1 :], smooth, color="tab:blue", linewidth=1.5, label=f"{window}-step mean")
            axes.legend(fontsize=7)
        axes.set_title(name, fontsize=9)
        axes.set_xlabel("generator step", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path, dpi)
