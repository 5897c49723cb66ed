#!/usr/bin/env python
"""Renders the shipped model's held-out transfers (one per direction) to WAV + spectrogram for docs/results.

    python tools/render_audio_examples.py [--soundfont PATH|sine] [--seconds 30]

Writes ``docs/results/audio/<song>.wav`` (``--seconds`` of the transfer from its first sound,
mono 22.05 kHz so the files stay small), ``<song>_spectrogram.png`` and prints the render time per
minute of music of each whole song.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mst import audio  # noqa: E402

SONGS = ROOT / "docs" / "results" / "cyclegan_classical_pop_shipped_songs"
EXAMPLES = {"alb_se5_a2b": "classical -> pop (Albéniz, held out)", "013_b2a": "pop -> classical (POP909 013, held out)"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soundfont", default=None)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "audio")
    args = parser.parse_args(argv)
    font = audio.find_soundfont(args.soundfont)
    rate = 22050
    for stem, title in EXAMPLES.items():
        rendering = audio.render_midi(SONGS / f"{stem}.mid", args.out / f"{stem}_full.wav", font, sample_rate=rate)
        samples, _ = audio.read_wav(rendering.wav)
        rendering.wav.unlink()
        mono = samples.mean(axis=0, keepdims=True)
        start = int(np.argmax(np.abs(mono[0]) > 0.01 * np.abs(mono).max()))  # skip a silent opening
        clip = mono[:, start : start + int(args.seconds * rate)]
        wav = audio.write_wav(args.out / f"{stem}.wav", clip, rate)
        png = audio.save_spectrogram_png(args.out / f"{stem}_spectrogram.png", clip, rate,
                                         title=f"{title}: {args.seconds:.0f} s from {start / rate:.1f} s ({font.name})")
        print(f"{stem}: {rendering.audio_seconds:.1f} s of music rendered in {rendering.render_seconds:.2f} s "
              f"= {rendering.seconds_per_minute_of_music:.2f} s per minute of music; peak {np.abs(clip).max():.2f}; {wav.name}, {Path(png).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
