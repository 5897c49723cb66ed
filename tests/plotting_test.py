"""mst.plotting writes valid, sensibly sized PNGs atomically and rejects bad input clearly."""

import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from mst import plotting
from mst.models.cyclegan import cyclegan_plots


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as file:
        header = file.read(24)
    assert header[:8] == PNG_SIGNATURE, "not a PNG"
    assert header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def _assert_png(path, min_size=(200, 150), max_size=(4000, 6000)):
    width, height = _png_size(path)
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (width, height)
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].min() < 0.2, "expected some dark ink (notes, axes or text)"
    leftovers = [name for name in os.listdir(os.path.dirname(path)) if ".tmp-" in name]
    assert leftovers == []
    return width, height


def _phrase(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((64, 84)) > 0.97).astype(np.float32)


def test_save_pianoroll_png_single_and_stack(tmp_path):
    single = plotting.save_pianoroll_png(tmp_path / "one.png", _phrase(0), titles=["phrase"])
    width_one, height_one = _assert_png(single)
    stack = np.stack([_phrase(1), _phrase(2), _phrase(3)])[..., np.newaxis]  # [3, 64, 84, 1]
    path = plotting.save_pianoroll_png(tmp_path / "three.png", stack, titles=["a", "b", "c"])
    width_three, height_three = _assert_png(path)
    assert width_three == width_one and height_three > 2.5 * height_one  # one panel per roll


def test_save_pianoroll_png_accepts_continuous_values_and_creates_folders(tmp_path):
    soft = np.random.default_rng(4).random((64, 84)).astype(np.float32)  # generator output in [0, 1]
    _assert_png(plotting.save_pianoroll_png(tmp_path / "deep" / "folder" / "soft.png", soft))


def test_overwrite_is_atomic_and_failed_writes_leave_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "roll.png"
    plotting.save_pianoroll_png(path, _phrase(5))
    before = path.read_bytes()

    def broken_savefig(self, target, **kwargs):
        target.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plotting.save_pianoroll_png(path, _phrase(6))
    assert path.read_bytes() == before
    assert [name for name in os.listdir(tmp_path) if ".tmp-" in name] == []


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((64, 83)), "must be"),
        (np.zeros((2, 64, 84, 3)), "must be"),
        (np.zeros((0, 64, 84)), "must be"),
        (np.full((64, 84), 2.0), r"\[0, 1\]"),
        (np.full((64, 84), np.nan), r"\[0, 1\]"),
    ],
)
def test_save_pianoroll_png_rejects_bad_rolls(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        plotting.save_pianoroll_png(tmp_path / "bad.png", bad)
    assert not (tmp_path / "bad.png").exists()


def test_save_pianoroll_png_rejects_title_count(tmp_path):
    with pytest.raises(ValueError, match="titles"):
        plotting.save_pianoroll_png(tmp_path / "bad.png", np.zeros((2, 64, 84)), titles=["only one"])


def test_save_phrase_grid_png(tmp_path):
    rng = np.random.default_rng(7)
    phrases = {
        "jazz": (rng.random((9, 64, 84, 1)) > 0.97).astype(np.float32),
        "classical": (rng.random((2, 64, 84, 1)) > 0.97).astype(np.float32),  # fewer than n_per_row
        "pop": rng.random((5, 64, 84)) > 0.97,
    }
    path = plotting.save_phrase_grid_png(tmp_path / "grid.png", phrases, n_per_row=4, seed=3)
    width, height = _assert_png(path)
    assert width > height  # 4 columns x 3 rows of wide panels
    again = plotting.save_phrase_grid_png(tmp_path / "grid_again.png", phrases, n_per_row=4, seed=3)
    assert open(path, "rb").read() == open(again, "rb").read()  # same seed, same phrases


def test_save_phrase_grid_png_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plotting.save_phrase_grid_png(tmp_path / "g.png", {})
    with pytest.raises(ValueError, match="batch"):
        plotting.save_phrase_grid_png(tmp_path / "g.png", {"jazz": np.zeros((64, 84))})
    with pytest.raises(ValueError, match="jazz"):
        plotting.save_phrase_grid_png(tmp_path / "g.png", {"jazz": np.zeros((3, 64, 12))})
    with pytest.raises(ValueError, match="n_per_row"):
        plotting.save_phrase_grid_png(tmp_path / "g.png", {"jazz": np.zeros((3, 64, 84))}, n_per_row=0)


def test_save_before_after_png_wraps_long_songs(tmp_path):
    rng = np.random.default_rng(8)
    song = (rng.random((16 * 70, 84)) > 0.985).astype(np.float32)  # 70 bars -> 3 lines of 32 bars
    short = plotting.save_before_after_png(tmp_path / "short.png", song[:256], song[:256], "A→B")
    long = plotting.save_before_after_png(tmp_path / "long.png", song, song[: 16 * 60, :, np.newaxis], "A→B")
    short_size, long_size = _assert_png(short), _assert_png(long)
    assert long_size[1] > 2.5 * short_size[1]  # three line pairs instead of one
    assert long_size[0] <= 2400  # width is capped


def test_no_temporary_file_exists_while_a_figure_renders(tmp_path, monkeypatch):
    # A kill -9 lands during the slow savefig: nothing may be on disk then, under any name.
    seen = []
    real_savefig = Figure.savefig

    def watching_savefig(self, target, **kwargs):
        seen.append(sorted(os.listdir(tmp_path)))
        return real_savefig(self, target, **kwargs)

    monkeypatch.setattr(Figure, "savefig", watching_savefig)
    plotting.save_before_after_png(tmp_path / "song.png", _phrase(1), _phrase(2))
    plotting.save_before_after_png(tmp_path / "song.png", _phrase(1), _phrase(2))  # overwrite
    assert seen == [[], ["song.png"]]
    _assert_png(tmp_path / "song.png")


def _captured_figures(monkeypatch) -> list:
    figures = []
    real_save = plotting.save_figure
    monkeypatch.setattr(plotting, "save_figure", lambda figure, *a, **k: figures.append(figure) or real_save(figure, *a, **k))
    return figures


def test_save_before_after_png_of_a_very_long_song_is_bounded_and_keeps_every_note(tmp_path, monkeypatch):
    figures = _captured_figures(monkeypatch)
    steps = 66_668  # 4,167 bars: 131 line pairs at 32 bars per line, 52,440 px tall before
    song = np.zeros((steps, 84), bool)
    lonely = [(5, 10), (40_001, 50), (steps - 1, 83)]  # single-step notes, far apart
    for step, pitch in lonely:
        song[step, pitch] = True
    path = plotting.save_before_after_png(tmp_path / "long.png", song, song, "long")
    width, height = _assert_png(path, max_size=(2400, 3400))
    (figure,) = figures
    assert len(figure.axes) == 2 * plotting.MAX_LINES
    assert figure.axes[0].get_title() == "source, bars 1–544" and figure.axes[-1].get_title() == "transfer, bars 3809–4167"
    assert "each column: max over" in figure.axes[-1].get_xlabel() and "bar lines every" in figure.axes[-1].get_xlabel()
    for panel in figure.axes[::2]:  # the source panels: the pooled images still hold every note
        image = panel.images[0]
        assert image.get_array().shape[1] <= width
    found = []
    for panel in figure.axes[::2]:
        image = panel.images[0]
        data = np.asarray(image.get_array())  # [84, columns], pitch 0 at the bottom
        left, right, _, _ = image.get_extent()
        factor = (right - left) / data.shape[1]
        for pitch, column in zip(*np.nonzero(data)):
            found.append((int(left + column * factor), int(pitch), factor))
    assert len(found) == len(lonely)
    for (step, pitch), (start, found_pitch, factor) in zip(lonely, sorted(found)):
        assert found_pitch == pitch and start <= step < start + factor


def test_pool_time_keeps_single_steps():
    roll = np.zeros((1000, 84), np.float32)
    roll[999, 0] = 1.0
    roll[3, 1] = 0.4  # continuous values pool to their maximum
    pooled, factor = plotting.pool_time(roll, 64)
    assert factor == 16 and pooled.shape == (63, 84)
    assert pooled[62, 0] == 1.0 and pooled[0, 1] == np.float32(0.4) and pooled.sum() == np.float32(1.4)
    same, one = plotting.pool_time(roll, 1000)
    assert one == 1 and same is roll


def test_save_before_after_png_draws_the_given_bars(tmp_path, monkeypatch):
    figures = _captured_figures(monkeypatch)
    song = np.zeros((12 * 40, 84), bool)  # 40 bars of 3/4, one note per bar
    song[::12, 40] = True
    plotting.save_before_after_png(tmp_path / "waltz.png", song, song, bar_starts=np.arange(0, 12 * 40, 12))
    titles = [axes.get_title() for axes in figures[0].axes]
    assert titles == ["source, bars 1–32", "transfer, bars 1–32", "source, bars 33–40", "transfer, bars 33–40"]
    assert figures[0].axes[-1].get_xlabel() == "time step (12 per bar)"
    lines = [int(segment[0][0]) for segment in figures[0].axes[2].collections[0].get_segments()]
    assert lines == list(range(33 * 12, 40 * 12, 12))
    # A 4/4 bar then 3/4 ones: mixed lengths; the list is continued with the last bar's length.
    plotting.save_before_after_png(tmp_path / "mixed.png", song[:100], song[:100], bar_starts=[0, 16, 28])
    assert figures[1].axes[-1].get_xlabel() == "time step (bars as the time signatures say)"
    lines = [int(segment[0][0]) for segment in figures[1].axes[0].collections[0].get_segments()]
    assert lines == [16, 28, 40, 52, 64, 76, 88] and figures[1].axes[0].get_title() == "source, bars 1–8"
    for bad in ([4, 16], [0, 16, 16], [0.0, 12.5], []):
        with pytest.raises(ValueError, match="bar_starts"):
            plotting.save_before_after_png(tmp_path / "bad.png", song, song, bar_starts=bad)


def test_save_before_after_png_rejects_batches(tmp_path):
    with pytest.raises(ValueError, match="before must be one roll"):
        plotting.save_before_after_png(tmp_path / "x.png", np.zeros((2, 64, 84)), np.zeros((64, 84)))
    with pytest.raises(ValueError, match="after"):
        plotting.save_before_after_png(tmp_path / "x.png", np.zeros((64, 84)), np.zeros((64, 80)))


def test_save_loss_curves_png(tmp_path):
    history = {
        "generator_loss": list(np.linspace(3.0, 1.0, 12)),
        "discriminator_loss": [0.7] * 12,
        "cycle_loss": [10.0, float("nan"), 6.0] + [5.0] * 9,  # NaN shows as a gap
        "learning_rate": [2e-4] * 12,
    }
    _assert_png(plotting.save_loss_curves_png(tmp_path / "loss.png", history, title="run 1"))


def test_save_loss_curves_png_rejects_bad_history(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plotting.save_loss_curves_png(tmp_path / "l.png", {})
    with pytest.raises(ValueError, match="generator_loss"):
        plotting.save_loss_curves_png(tmp_path / "l.png", {"generator_loss": []})
    with pytest.raises(ValueError, match="generator_loss"):
        plotting.save_loss_curves_png(tmp_path / "l.png", {"generator_loss": 3.0})


def test_save_ranking_png(tmp_path):
    rng = np.random.default_rng(9)
    origin = rng.random((6, 64, 84, 1)) > 0.97
    transfer = rng.random((6, 64, 84, 1)) > 0.97
    cycle = rng.random((6, 64, 84, 1)) > 0.97
    probs = rng.random((6, 3))
    path = cyclegan_plots.save_ranking_png(tmp_path / "rank.png", origin, transfer, cycle, probs, n_each=2)
    width, height = _assert_png(path)
    _, small_height = _assert_png(
        cyclegan_plots.save_ranking_png(tmp_path / "rank1.png", origin, transfer, cycle, probs, n_each=1)
    )
    assert height > 1.7 * small_height  # 4 rows vs 2 rows
    few = cyclegan_plots.save_ranking_png(tmp_path / "few.png", origin[:3], transfer[:3], cycle[:3], probs[:3], n_each=2)
    _assert_png(few)  # 3 phrases < 2 * n_each: each shown once


def test_save_ranking_png_rejects_bad_input(tmp_path):
    phrases = np.zeros((4, 64, 84))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        cyclegan_plots.save_ranking_png(tmp_path / "r.png", phrases, phrases, phrases, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same shape"):
        cyclegan_plots.save_ranking_png(tmp_path / "r.png", phrases, phrases[:3], phrases, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="batches"):
        cyclegan_plots.save_ranking_png(tmp_path / "r.png", phrases[0], phrases[0], phrases[0], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="binar"):
        cyclegan_plots.save_ranking_png(tmp_path / "r.png", phrases + 0.3, phrases, phrases, np.zeros((4, 3)))


def test_imports_stay_light():
    # metrics and plotting must not pull in TensorFlow, nor pyplot (global backend state).
    code = (
        "import sys, mst.metrics, mst.models.cyclegan.paper_tables, mst.plotting; "
        "heavy = [name for name in ('tensorflow', 'keras', 'matplotlib.pyplot') if name in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
