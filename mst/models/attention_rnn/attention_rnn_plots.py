"""The attention RNN's figures: the generated piece's roll, the attention matrix, the pitch-probability heat map.

* :func:`save_token_roll_png`: the notes of a token sequence (time in quarter notes, MIDI pitch),
  the seed in grey and the generated part in black;
* :func:`save_attention_png`: the book's figure: row ``i`` = generated token ``i``, column ``j`` =
  token ``j`` of the whole sequence (seed and START padding included), colour = the attention
  weight token ``j`` had when token ``i`` was predicted (only the 32 tokens before it can have any);
* :func:`save_pitch_probability_png`: the model's probability of each single-note pitch token
  at every generated step (the book plotted MIDI 35-70), with the drawn token marked.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = save_attention_png(os.path.join(folder, "a.png"), np.full((3, 32), 1 / 32), 32, ["C3", "D3", "E3"])
    >>> os.path.getsize(path) > 1000
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from matplotlib.figure import Figure

from mst.encodings import note_tokens as nt
from mst.plotting import save_figure

DPI = 120


def attention_matrix(attention: np.ndarray, prefix: int) -> np.ndarray:
    """``[m, 32]`` window attention -> ``[m, prefix + m]`` over absolute token positions.

    Token ``i`` (at absolute position ``prefix + i``) was predicted from positions
    ``prefix + i - 32 .. prefix + i - 1``; ``prefix`` counts the tokens before the first generated one
    (the 32 START tokens and the seed).
    """
    attention = np.asarray(attention, np.float32)
    steps, window = attention.shape
    matrix = np.zeros((steps, prefix + steps), np.float32)
    for i in range(steps):
        end = prefix + i
        begin = end - window
        matrix[i, max(begin, 0):end] = attention[i, max(0, -begin):]
    return matrix


def save_attention_png(path, attention: np.ndarray, prefix: int, labels: Sequence[str] | None = None, *, title: str = "attention") -> str:
    """Saves the attention matrix (see the module docstring); ``labels`` name the generated tokens."""
    matrix = attention_matrix(attention, prefix)
    steps, positions = matrix.shape
    first = max(0, prefix - attention.shape[1])  # leave out START columns nobody attended to
    shown = matrix[:, first:]
    figure = Figure(figsize=(min(4 + shown.shape[1] / 12, 30), min(3 + steps / 12, 30)), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(shown, aspect="auto", cmap="viridis", interpolation="nearest", origin="upper",
                        extent=(first - 0.5, positions - 0.5, steps - 0.5, -0.5))
    axes.axvline(prefix - 0.5, color="white", linewidth=0.8, linestyle="--")
    axes.set_xlabel(f"token position (dashed: first generated token; {prefix} tokens of START padding and seed before it)", fontsize=8)
    axes.set_ylabel("generated token", fontsize=8)
    if labels is not None and len(labels) <= 120:
        axes.set_yticks(range(steps), list(labels), fontsize=5)
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.03, label="attention weight")
    return save_figure(figure, path, DPI)


def save_pitch_probability_png(path, pitch_probabilities: np.ndarray, vocabulary: nt.Vocabulary, drawn: Sequence[int], *,
                               low: int = 35, high: int = 70, title: str = "pitch probabilities") -> str:
    """Heat map of each single-note pitch token's probability per generated step (MIDI ``low``..``high``)."""
    probabilities = np.asarray(pitch_probabilities, np.float32)
    rows = vocabulary.single_note_ids()
    pitches = list(range(low, high + 1))
    heat = np.zeros((len(pitches), probabilities.shape[0]), np.float32)
    for r, pitch in enumerate(pitches):
        if pitch in rows:
            heat[r] = probabilities[:, rows[pitch]]
    figure = Figure(figsize=(min(4 + probabilities.shape[0] / 10, 30), 5), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(heat, aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                        extent=(-0.5, probabilities.shape[0] - 0.5, low - 0.5, high + 0.5))
    marks = [(i, nt.token_pitches(vocabulary.pitch[t])) for i, t in enumerate(drawn)]
    xs = [i for i, ps in marks for p in ps if low <= p <= high]
    ys = [p for _, ps in marks for p in ps if low <= p <= high]
    axes.scatter(xs, ys, s=6, marker="o", facecolors="none", edgecolors="cyan", linewidths=0.6, label="drawn token")
    c_ticks = [p for p in pitches if p % 12 == 0]
    axes.set_yticks(c_ticks, [nt.pitch_name(p) for p in c_ticks])
    axes.set_xlabel("generated token", fontsize=8)
    axes.set_ylabel("pitch (one-note tokens)", fontsize=8)
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper right", fontsize=7)
    figure.colorbar(image, ax=axes, fraction=0.03, label="probability")
    return save_figure(figure, path, DPI)


def save_token_roll_png(path, pitch_tokens: Sequence[str], duration_tokens: Sequence[str], *, seed_events: int = 0,
                        title: str = "generated") -> str:
    """Pianoroll of a token sequence: quarter notes across, MIDI pitch up; the first ``seed_events`` in grey."""
    figure = Figure(figsize=(12, 4), layout="constrained")
    axes = figure.subplots()
    time = Fraction(0)
    low, high = 127, 0
    event = 0
    for pitch_token, duration in zip(pitch_tokens, duration_tokens):
        if pitch_token == nt.START or duration == nt.START_DURATION:
            continue
        length = Fraction(1) if duration == nt.UNK else nt.token_duration(duration)
        colour = "0.6" if event < seed_events else "black"
        for pitch in nt.token_pitches(pitch_token):
            # A small gap at the end keeps repeated notes of one pitch apart.
            axes.add_patch(_rectangle(float(time), pitch - 0.4, max(float(length) - 0.06, float(length) * 0.7), 0.8, colour))
            low, high = min(low, pitch), max(high, pitch)
        time += length
        event += 1
    if high < low:
        low, high = 48, 60
    axes.set_xlim(0, max(float(time), 1.0))
    axes.set_ylim(low - 2, high + 2)
    ticks = [p for p in range(low - 2, high + 3) if p % 12 == 0]
    axes.set_yticks(ticks, [nt.pitch_name(p) for p in ticks])
    for bar in range(0, int(time) + 1, 4):
        axes.axvline(bar, color="tab:blue", linewidth=0.4, alpha=0.4)
    axes.set_xlabel("quarter notes (lines every 4)", fontsize=8)
    axes.set_title(title, fontsize=9)
    return save_figure(figure, path, DPI)


def _rectangle(x, y, width, height, colour):
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    return Rectangle((x, y), width, height, facecolor=colour, edgecolor="none")
