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

    def broken_savefig(self, filename, **kwargs):
        with open(filename, "wb") as file:
            file.write(b"half a PNG")
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
