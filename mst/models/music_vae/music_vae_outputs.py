"""MusicVAE outputs on disk: grooves and melodies as MIDI and PNG (drum grids with velocity and offset).

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> groove = np.zeros((64, 27), np.float32); groove[::4, 0] = 1; groove[::4, 9] = 0.8; groove[::4, 18] = 0.2
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = write_groove(folder / "g", groove, title="four on the floor")
    >>> sorted(p.name for p in paths), len(read_groove_notes(folder / "g.mid"))
    (['g.mid', 'g.png'], 16)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mst.encodings import drums, melody_onehot
from mst.music.midi import make_tempos, make_time_signatures, read_midi, write_midi

OUTPUT_QPM = 120.0
TICKS_PER_BEAT = 480
DPI = 110


def write_groove_midi(path, tensor, *, qpm: float = OUTPUT_QPM, pitch_classes: str = "gm") -> Path:
    """A ``[T, 27]`` groove (or several, concatenated in time) as a drum MIDI file (channel 10)."""
    tensor = np.asarray(tensor, np.float32).reshape(-1, drums.GROOVE_DEPTH)
    notes = drums.grid_to_notes(tensor, ticks_per_beat=TICKS_PER_BEAT, pitch_classes=pitch_classes)
    return write_midi(path, notes, ticks_per_beat=TICKS_PER_BEAT, tempos=make_tempos([0], [qpm]),
                      time_signatures=make_time_signatures([0], [4], [4]), track_name="drums")


def read_groove_notes(path):
    """The drum notes of a MIDI file (for tests and checks)."""
    song = read_midi(path)
    return song.notes[song.notes["is_drum"]]


def write_melody_midi(path, events, *, qpm: float = OUTPUT_QPM) -> Path:
    """Melody classes ``[T]`` (or one-hot ``[T, 90]``) as a MIDI file (velocity 80, program 0)."""
    events = np.concatenate(_as_melody_list(events))
    notes = melody_onehot.events_to_notes(events, ticks_per_beat=TICKS_PER_BEAT)
    return write_midi(path, notes, ticks_per_beat=TICKS_PER_BEAT, tempos=make_tempos([0], [qpm]),
                      time_signatures=make_time_signatures([0], [4], [4]), track_name="melody")


def _finish(figure, title: str | None) -> None:
    """Tight layout, leaving room for the figure title above the first panel."""
    if title:
        figure.suptitle(title, fontsize=8)
        figure.tight_layout(rect=(0, 0, 1, 1 - 0.3 / figure.get_figheight()))
    else:
        figure.tight_layout()


def _figure(width, height):
    from matplotlib.figure import Figure  # noqa: PLC0415

    return Figure(figsize=(width, height))


def save_groove_png(path, tensors, *, titles=None, title: str | None = None) -> str:
    """Drum grids of one or more grooves: a cell per hit, its colour the velocity, its horizontal
    shift the timing offset (left = early), so a drummer can read the feel off the picture."""
    from mst import plotting  # noqa: PLC0415

    tensors = np.asarray(tensors, np.float32)
    if tensors.ndim == 2:
        tensors = tensors[None]
    count, steps = tensors.shape[0], tensors.shape[1]
    figure = _figure(max(6.0, steps * 0.16), 1.9 * count + 0.6)
    for index, tensor in enumerate(tensors):
        axes = figure.add_subplot(count, 1, index + 1)
        hits, velocities, offsets = drums.split_groove(tensor)
        step, drum = np.nonzero(hits > 0.5)
        shift = -np.clip(offsets[step, drum] / 2.0, -0.5, 0.5)
        scatter = axes.scatter(step + shift, drum, c=velocities[step, drum], cmap="viridis", vmin=0, vmax=1, marker="s", s=26, edgecolors="none")
        for bar in range(0, steps + 1, 16):
            axes.axvline(bar - 0.5, color="black", linewidth=0.8)
        for beat in range(0, steps, 4):
            axes.axvline(beat - 0.5, color="0.85", linewidth=0.4, zorder=0)
        axes.set_xlim(-0.5, steps - 0.5)
        axes.set_ylim(-0.5, drums.NUM_DRUMS - 0.5)
        axes.set_yticks(range(drums.NUM_DRUMS))
        axes.set_yticklabels([name.replace("_", " ") for name in drums.DRUM_NAMES], fontsize=6)
        axes.tick_params(axis="x", labelsize=6)
        name = titles[index] if titles else None
        hits_count = int((hits > 0.5).sum())
        mean_offset = float(np.abs(offsets[hits > 0.5]).mean() / 2) if hits_count else 0.0
        axes.set_title(f"{name + ': ' if name else ''}{hits_count} hits, mean |offset| {mean_offset:.2f} step", fontsize=7)
        figure.colorbar(scatter, ax=axes, pad=0.01, fraction=0.02).ax.tick_params(labelsize=5)
    _finish(figure, title)
    return plotting.save_figure(figure, path, DPI)


def _as_melody_list(melodies) -> list[np.ndarray]:
    array = np.asarray(melodies)
    if array.ndim == 1 or (array.ndim == 2 and array.shape[-1] == melody_onehot.NUM_CLASSES and array.dtype != np.uint8):
        array = array[None]
    return [np.argmax(m, -1) if m.ndim == 2 else m for m in array]


def save_melody_png(path, melodies, *, titles=None, title: str | None = None) -> str:
    """Pianorolls of one or more melodies (class sequences ``[T]`` or one-hot ``[T, 90]``)."""
    from mst import plotting  # noqa: PLC0415

    melodies = _as_melody_list(melodies)
    count, steps = len(melodies), len(melodies[0])
    figure = _figure(max(6.0, steps * 0.05), 1.6 * count + 0.6)
    for index, events in enumerate(melodies):
        axes = figure.add_subplot(count, 1, index + 1)
        notes = melody_onehot.events_to_notes(events, ticks_per_beat=4)
        for note in notes:
            axes.broken_barh([(int(note["start"]), int(note["end"] - note["start"]))], (int(note["pitch"]) - 0.4, 0.8), color="tab:blue")
        for bar in range(0, steps + 1, 16):
            axes.axvline(bar, color="0.7", linewidth=0.5)
        pitches = notes["pitch"] if len(notes) else np.array([60])
        axes.set_ylim(int(pitches.min()) - 3, int(pitches.max()) + 3)
        axes.set_xlim(0, steps)
        axes.tick_params(labelsize=6)
        name = titles[index] if titles else None
        axes.set_title(f"{name + ': ' if name else ''}{len(notes)} notes", fontsize=7)
    _finish(figure, title)
    return plotting.save_figure(figure, path, DPI)


def write_groove(stem, tensors, *, title: str | None = None, titles=None) -> list[Path]:
    """``stem.mid`` (the grooves one after another) and ``stem.png``."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    midi = write_groove_midi(stem.with_suffix(".mid"), tensors)
    png = save_groove_png(stem.with_suffix(".png"), tensors, title=title, titles=titles)
    return [Path(midi), Path(png)]


def write_melody(stem, melodies, *, title: str | None = None, titles=None) -> list[Path]:
    """``stem.mid`` (the melodies one after another) and ``stem.png``."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    midi = write_melody_midi(stem.with_suffix(".mid"), np.asarray(melodies))
    png = save_melody_png(stem.with_suffix(".png"), melodies, title=title, titles=titles)
    return [Path(midi), Path(png)]


def write_outputs(stem, encoding: str, outputs, **kwargs) -> list[Path]:
    """:func:`write_groove` or :func:`write_melody` by encoding."""
    return write_groove(stem, outputs, **kwargs) if encoding == "groove" else write_melody(stem, outputs, **kwargs)


def save_training_curves(run_dir, path, *, title: str | None = None) -> str:
    """Loss, KL and accuracy per epoch of a MusicVAE run (train: each epoch's running mean at its
    last step, from ``history.csv``; validation: ``validation.csv``), one panel per quantity.

    Works on a run that is still going or was stopped (the driver writes its own
    ``loss_curves.png`` only when a run ends).
    """
    import csv  # noqa: PLC0415

    from mst import plotting  # noqa: PLC0415

    run_dir = Path(run_dir)
    last: dict[int, dict] = {}
    with open(run_dir / "history.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            last[int(row["epoch"])] = row
    validation = {}
    if (run_dir / "validation.csv").is_file():
        with open(run_dir / "validation.csv", newline="", encoding="utf-8") as handle:
            validation = {int(row["epoch"]): row for row in csv.DictReader(handle)}
    epochs = sorted(last)
    panels = {}
    names = ["loss", "reconstruction", "kl_bits", "accuracy", "hits_loss", "velocities_loss", "offsets_loss"]
    for name in names:
        if name not in last[epochs[0]]:
            continue
        curves = {"train": [float(last[e][name]) for e in epochs]}
        if validation and name in next(iter(validation.values())):
            curves["validation"] = [float(validation[e][name]) if e in validation else float("nan") for e in epochs]
        panels[name] = curves
    panels["beta / learning rate used (x 100)"] = {"beta": [float(last[e]["beta"]) for e in epochs],
                                                   "lr x 100": [100 * float(last[e]["learning_rate_used"]) for e in epochs]}
    return plotting.save_curve_panels_png(path, panels, title=title)
