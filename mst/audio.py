"""Listening: MIDI -> WAV with a SoundFont synthesiser (symusic's Prestosynth), and SoundFont lookup.

Every command that writes MIDI takes ``--audio PATH`` (a ``.wav`` file, or a folder for several
outputs) and ``--soundfont PATH``; the demo renders its transfers and generations. The SoundFont is

1. ``--soundfont PATH`` (any ``.sf2`` / ``.sf3``), or ``--soundfont sine`` for mst's own one-sample
   sine SoundFont (:func:`write_sine_soundfont`: every program sounds the same soft sine; enough
   to hear notes and rhythm, nothing like real instruments);
2. else the ``MST_SOUNDFONT`` environment variable;
3. else the first General MIDI SoundFont found in the usual system places (:data:`SEARCH_PATHS`:
   Debian/Ubuntu ``fluid-soundfont-gm`` -> ``/usr/share/sounds/sf2/FluidR3_GM.sf2``,
   ``musescore-general-soundfont-small`` -> ``/usr/share/sounds/sf3/MuseScore_General.sf3``, Fedora,
   Arch, Homebrew, ``~/.local/share/soundfonts``);
4. else :class:`SoundFontNotFoundError`, whose message says what to install.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> font = write_sine_soundfont(folder / "sine.sf2")
    >>> font.read_bytes()[:4], font.read_bytes()[8:12]
    (b'RIFF', b'sfbk')
    >>> find_soundfont(str(font)) == font
    True
"""

from __future__ import annotations

import dataclasses
import os
import struct
import time
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mst import atomic
from mst.errors import InputError

SINE_SOUNDFONT = "sine"
"""``--soundfont sine``: mst's own sine SoundFont (always available, written on first use)."""

SEARCH_PATHS: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/default-GM.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/opt/homebrew/share/fluid-synth/sf2/VintageDreamsWaves-v2.sf2",
    "~/.local/share/soundfonts/default.sf2",
    "~/.local/share/soundfonts/FluidR3_GM.sf2",
)
"""Where :func:`find_soundfont` looks, in order (``~`` is expanded)."""

SEARCH_FOLDERS: tuple[str, ...] = ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3", "/usr/share/soundfonts", "~/.local/share/soundfonts")
"""Folders whose first ``*.sf2`` / ``*.sf3`` is taken when no file of :data:`SEARCH_PATHS` exists."""

INSTALL_HINT = (
    "install a General MIDI SoundFont (Debian/Ubuntu: sudo apt install fluid-soundfont-gm, or "
    "musescore-general-soundfont-small; Fedora: sudo dnf install fluid-soundfont-gm; macOS: put an "
    ".sf2 in ~/.local/share/soundfonts), or pass --soundfont PATH (.sf2/.sf3), or --soundfont sine "
    "for mst's plain sine tones"
)

DEFAULT_SAMPLE_RATE = 44100


class AudioError(InputError):
    """Rendering cannot run: no SoundFont, an unreadable SoundFont or MIDI file (message names it)."""


class SoundFontNotFoundError(AudioError):
    """No SoundFont was given and none is installed where :func:`find_soundfont` looks."""


def sine_soundfont_path() -> Path:
    """mst's sine SoundFont in the user cache (written by :func:`write_sine_soundfont` on first use)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "mst"
    path = cache / "mst_sine.sf2"
    if not path.is_file():
        write_sine_soundfont(path)
    return path


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The SoundFont to render with (see the module docstring for the order).

    Raises:
        SoundFontNotFoundError: Nothing given, nothing installed (the message says what to install).
        AudioError: The given path does not exist or is not a ``.sf2`` / ``.sf3`` file.
    """
    if explicit is not None and str(explicit) == SINE_SOUNDFONT:
        return sine_soundfont_path()
    given = explicit if explicit is not None else os.environ.get("MST_SOUNDFONT") or None
    if given is not None:
        path = Path(given).expanduser()
        source = "--soundfont" if explicit is not None else "MST_SOUNDFONT"
        if not path.is_file():
            raise AudioError(f"{path}: SoundFont not found ({source})")
        if path.suffix.lower() not in (".sf2", ".sf3"):
            raise AudioError(f"{path}: not a SoundFont (expected a .sf2 or .sf3 file, {source})")
        return path
    for candidate in SEARCH_PATHS:
        path = Path(candidate).expanduser()
        if path.is_file():
            return path
    for folder in SEARCH_FOLDERS:
        folder = Path(folder).expanduser()
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".sf2", ".sf3") and p.is_file())
            if found:
                return found[0]
    raise SoundFontNotFoundError(f"no SoundFont found for --audio: {INSTALL_HINT}")


def soundfont_or_sine() -> tuple[Path, bool]:
    """``(SoundFont, is_sine)``: what :func:`find_soundfont` finds, else mst's sine SoundFont.

    For what renders without being asked to (the demo, TensorBoard clips): it never fails for want
    of an installed SoundFont; ``is_sine`` lets the caller say that it fell back.
    """
    try:
        return find_soundfont(), False
    except SoundFontNotFoundError:
        return sine_soundfont_path(), True


@dataclasses.dataclass(frozen=True)
class Rendering:
    """One rendered file.

    Attributes:
        wav: The WAV written.
        audio_seconds: Length of the music.
        render_seconds: Wall time of synthesis + writing.
        peak: Largest absolute sample (0 = silence).
    """

    wav: Path
    audio_seconds: float
    render_seconds: float
    peak: float

    @property
    def seconds_per_minute_of_music(self) -> float:
        """Render time per minute of music (the figure the benchmarks report)."""
        return 60.0 * self.render_seconds / self.audio_seconds if self.audio_seconds else float("nan")


def synthesize(midi_path: str | os.PathLike, soundfont: str | os.PathLike, *, sample_rate: int = DEFAULT_SAMPLE_RATE, stereo: bool = True) -> np.ndarray:
    """Renders a MIDI file to float32 samples ``[channels, samples]`` in [-1, 1].

    Raises:
        AudioError: The MIDI file or the SoundFont cannot be read (the message names the file).
    """
    import symusic  # noqa: PLC0415  (native library; only when rendering)

    try:
        score = symusic.Score(str(midi_path))
    except Exception as error:  # noqa: BLE001  (symusic raises plain RuntimeErrors)
        raise AudioError(f"{midi_path}: cannot read the MIDI file to render it ({error})") from None
    try:
        synthesizer = symusic.Synthesizer(str(soundfont), int(sample_rate), 0)
    except Exception as error:  # noqa: BLE001
        raise AudioError(f"{soundfont}: cannot load the SoundFont ({error})") from None
    if score.note_num() == 0:  # Prestosynth refuses a score without notes: that is silence
        return np.zeros((2 if stereo else 1, 0), np.float32)
    samples = synthesizer.render(score, stereo=stereo)
    return np.atleast_2d(np.asarray(getattr(samples, "data", samples), dtype=np.float32))


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Writes ``[channels, samples]`` float audio as 16-bit PCM WAV, atomically (temp name, rename)."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").T.copy()  # interleaved frames
    with atomic.atomic_path(path) as temporary:
        with wave.open(str(temporary), "wb") as handle:
            handle.setnchannels(samples.shape[0])
            handle.setsampwidth(2)
            handle.setframerate(int(sample_rate))
            handle.writeframes(pcm.tobytes())
    return Path(path)


def render_midi(midi_path, wav_path, soundfont=None, *, sample_rate: int = DEFAULT_SAMPLE_RATE, normalize: bool = True) -> Rendering:
    """Renders one MIDI file to a WAV file.

    Args:
        midi_path: The MIDI file.
        wav_path: The WAV file to write (parent folders are created).
        soundfont: A path, ``"sine"``, or ``None`` to search (:func:`find_soundfont`).
        sample_rate: Output rate in Hz.
        normalize: Scale the loudest sample to -1 dBFS (quiet SoundFonts stay audible, loud ones
            do not clip); silence stays silence.

    Returns:
        A :class:`Rendering`.
    """
    font = soundfont if isinstance(soundfont, Path) else find_soundfont(soundfont)
    start = time.perf_counter()
    samples = synthesize(midi_path, font, sample_rate=sample_rate)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if normalize and peak > 0:
        samples = samples * (10 ** (-1 / 20) / peak)
    Path(wav_path).parent.mkdir(parents=True, exist_ok=True)
    wav = write_wav(wav_path, samples, sample_rate)
    return Rendering(wav, samples.shape[-1] / sample_rate if samples.size else 0.0, time.perf_counter() - start, peak)


def audio_targets(midi_files: Iterable[str | os.PathLike], audio: str | os.PathLike, *, relative_to=None) -> list[tuple[Path, Path]]:
    """``(midi, wav)`` pairs for ``--audio``: one MIDI and a ``.wav`` path, or a folder for many.

    A single MIDI file with an ``--audio`` path ending in ``.wav`` renders to that file; otherwise
    ``--audio`` is a folder and each MIDI file becomes ``<folder>/<path below relative_to>.wav``
    (``<folder>/<stem>.wav`` without ``relative_to``), so a mirrored output tree stays mirrored.

    Example:
        >>> [str(wav) for _, wav in audio_targets(["out/a/x.mid", "out/b/x.mid"], "wav", relative_to="out")]
        ['wav/a/x.wav', 'wav/b/x.wav']

    Raises:
        AudioError: Several MIDI files and a ``.wav`` path.
    """
    midi_files = [Path(path) for path in midi_files]
    audio = Path(audio).expanduser()
    if audio.suffix.lower() == ".wav":
        if len(midi_files) > 1:
            raise AudioError(f"--audio {audio}: {len(midi_files)} MIDI files were written; give a folder, not a .wav file")
        return [(midi, audio) for midi in midi_files]
    if relative_to is None:
        return [(midi, audio / f"{midi.stem}.wav") for midi in midi_files]
    return [(midi, audio / midi.relative_to(relative_to).with_suffix(".wav")) for midi in midi_files]


# --------------------------------------------------------------------------- command lines


def add_audio_arguments(parser) -> None:
    """``--audio PATH`` and ``--soundfont PATH`` for a command that writes MIDI."""
    parser.add_argument("--audio", metavar="PATH", help="also render the MIDI written to audio: a .wav file (one output) or a folder")
    parser.add_argument("--soundfont", metavar="PATH", help=f"SoundFont (.sf2/.sf3) for --audio, or '{SINE_SOUNDFONT}' for plain sine tones (default: $MST_SOUNDFONT, else an installed General MIDI SoundFont)")


def check_audio_arguments(args) -> Path | None:
    """The SoundFont ``--audio`` will use, looked up before any work starts (``None`` without ``--audio``).

    Raises:
        AudioError: ``--audio`` without a usable SoundFont (the message says what to install).
    """
    if getattr(args, "audio", None) is None:
        if getattr(args, "soundfont", None) is not None:
            raise AudioError("--soundfont needs --audio PATH")
        return None
    return find_soundfont(args.soundfont)


def render_for_cli(midi_files, args, soundfont: Path | None, *, relative_to=None, stream=None) -> list[Rendering]:
    """Renders the MIDI files a command wrote for its ``--audio`` argument and prints one line each."""
    import sys  # noqa: PLC0415

    if getattr(args, "audio", None) is None or soundfont is None:
        return []
    stream = sys.stdout if stream is None else stream
    renderings = [render_midi(midi, wav, soundfont) for midi, wav in audio_targets(midi_files, args.audio, relative_to=relative_to)]
    for rendering in renderings:
        silent = " (silent)" if rendering.peak == 0 else ""
        print(f"audio {rendering.wav}: {rendering.audio_seconds:.1f} s of music rendered in {rendering.render_seconds:.2f} s{silent} ({soundfont.name})", file=stream, flush=True)
    return renderings


# --------------------------------------------------------------------------- a SoundFont of our own


def _chunk(tag: bytes, payload: bytes) -> bytes:
    if len(payload) % 2:
        payload += b"\0"
    return tag + struct.pack("<I", len(payload)) + payload


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode("ascii")[:19].ljust(20, b"\0")


def write_sine_soundfont(path: str | os.PathLike, *, sample_rate: int = 44000) -> Path:
    """Writes a minimal General MIDI SoundFont 2: one looped sine sample behind every program.

    It has a preset for each of the 128 programs of bank 0 and for the drum bank 128, all playing
    the same sine (its zone also sets a 10 ms attack and 150 ms release for synthesizers that
    honour SoundFont envelopes; symusic's Prestosynth plays the plain tone), so any MIDI file
    renders and every note is audible at its pitch. Built from the SoundFont 2.04 structure (RIFF ``sfbk`` with
    ``INFO``, ``sdta``, ``pdta`` lists); used by the tests and by ``--soundfont sine``.

    Args:
        path: The ``.sf2`` file to write (atomically; parent folders are created).
        sample_rate: Rate of the stored sample; 44,000 Hz makes one period of A4 (440 Hz, the
            sample's root key 69) exactly 100 samples, so the loop is seamless.

    Returns:
        The path written.
    """
    period = sample_rate // 440
    cycles = 40
    length = period * cycles
    # The loop covers whole periods strictly inside the sample (two periods of margin on each
    # side; SoundFont 2.04 asks for at least 8 points): Prestosynth scales the loop points by the
    # pitch-shift ratio and rounds, and a loop ending on the last sample made it read past the
    # resampled buffer, which some machines rendered as silence or garbage.
    loop_start, loop_end = 2 * period, (cycles - 2) * period
    wave_ = np.round(np.sin(2 * np.pi * np.arange(length) / period) * 0.6 * 32767).astype("<i2")
    smpl = wave_.tobytes() + b"\0" * (46 * 2)  # the spec wants 46 zero samples after each sample

    presets = [(f"sine {program}", program, 0) for program in range(128)] + [("sine drums", 0, 128)]
    phdr = b"".join(_name(name) + struct.pack("<HHHIII", program, bank, index, 0, 0, 0) for index, (name, program, bank) in enumerate(presets))
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, len(presets), 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", index, 0) for index in range(len(presets) + 1))
    pmod = b"\0" * 10
    instrument_generator = 41  # "instrument": the preset zone plays instrument 0
    pgen = b"".join(struct.pack("<Hh", instrument_generator, 0) for _ in presets) + struct.pack("<Hh", 0, 0)
    inst = _name("sine") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", 1)
    # Instrument zone: volume envelope attack 10 ms, release 150 ms (timecents), loop continuously,
    # then the sample (sampleID must be the zone's last generator).
    generators = [(34, -7972), (38, -3284), (54, 1), (53, 0)]  # attackVolEnv, releaseVolEnv, sampleModes, sampleID
    igen = b"".join(struct.pack("<Hh", operator, amount) for operator, amount in generators) + struct.pack("<Hh", 0, 0)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", len(generators), 0)
    imod = b"\0" * 10
    shdr = _name("sine A4") + struct.pack("<IIIIIBbHH", 0, length, loop_start, loop_end, sample_rate, 69, 0, 0, 1)
    shdr += _name("EOS") + struct.pack("<IIIIIBbHH", 0, 0, 0, 0, 0, 0, 0, 0, 0)

    body = b"sfbk" + _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 4)), _chunk(b"isng", b"EMU8000\0"), _chunk(b"INAM", b"mst sine\0"))
    body += _list(b"sdta", _chunk(b"smpl", smpl))
    body += _list(
        b"pdta",
        _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", pmod), _chunk(b"pgen", pgen),
        _chunk(b"inst", inst), _chunk(b"ibag", ibag), _chunk(b"imod", imod), _chunk(b"igen", igen), _chunk(b"shdr", shdr),
    )
    return atomic.write_bytes(path, b"RIFF" + struct.pack("<I", len(body)) + body)


# --------------------------------------------------------------------------- pictures


def save_spectrogram_png(path: str | os.PathLike, samples: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE, *, title: str = "") -> Path:
    """Log-magnitude spectrogram (0-5 kHz) of ``[channels, samples]`` audio as a PNG."""
    from mst import plotting  # noqa: PLC0415  (matplotlib)

    mono = np.atleast_2d(samples).mean(axis=0)
    window, hop = 2048, 512
    frames = max(1, 1 + (len(mono) - window) // hop)
    padded = np.pad(mono, (0, max(0, window + hop * (frames - 1) - len(mono))))
    stacked = np.stack([padded[i * hop : i * hop + window] * np.hanning(window) for i in range(frames)])
    magnitude = np.abs(np.fft.rfft(stacked, axis=1)).T
    top = int(5000 / (sample_rate / window))
    decibels = 20 * np.log10(magnitude[:top] + 1e-6)
    return plotting.save_spectrogram_png(path, decibels, seconds=len(mono) / sample_rate, max_hz=5000, title=title)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """``([channels, samples] float32, sample_rate)`` of a 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as handle:
        channels, rate, frames = handle.getnchannels(), handle.getframerate(), handle.readframes(handle.getnframes())
    pcm = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).T
    return pcm.astype(np.float32) / 32767.0, rate

