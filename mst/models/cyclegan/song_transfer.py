"""Whole-song genre transfer: a MIDI file in, a transferred MIDI file out.

The song is phrased the way the data pipeline phrases training data (drums dropped, all other tracks
merged, 4 steps per quarter note, pitches MIDI 24..107), with two deliberate differences from the
authors' ``test_famous`` path (docs/reference/cyclegan.md#song-transfer):

* the incomplete last phrase is **kept**: it is zero-padded to 64 steps, transferred and trimmed back,
  so the output is exactly as long (in steps) as the input;
* the phrase count is **not** trimmed to a multiple of 4.

Phrases go through the generator in batches, are binarized with the one 0.5 threshold
(:func:`mst.encodings.pianoroll.binarize`), stitched back into one roll and written as one piano track
(velocity 100, program 0 by default) with the **source's** ticks per beat, tempo map and time
signatures, so the output lines up with the input in a DAW, and as long as the input (a silent last
bar is kept); a division too coarse for the grid (2 ticks per quarter note) is multiplied up
exactly (:func:`mst.encodings.pianoroll.write_roll_midi`). Optionally the original drum notes are
put back as a drum track, the cycled song (A→B→A from the continuous transfer, as the authors
compute it) is written too, and a before/after pianoroll PNG is saved next to the MIDI.

What is lost by design (docs/reference/cyclegan.md#lost-in-transfer): instrumentation, velocity,
drums (unless ``keep_drums``) and every note outside MIDI 24..107; the latter are counted in
:attr:`TransferResult.notes_out_of_range`.

The library never touches ``sys.exit``; ``transfer.py`` at the repository root is the command line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mst.music import file_filter as filters
from mst.music import midi
from mst.encodings import grid, pianoroll
from mst.encodings.errors import EncodingError
from mst.music.files import find_midi_files
from mst.errors import InputError

DIRECTIONS = ("a2b", "b2a")
TIME_SIGNATURE_POLICIES = filters.POLICIES
VELOCITY = midi.DEFAULT_VELOCITY  # 100, the authors' write_midi velocity (docs/reference/cyclegan.md#velocity)
DEFAULT_BATCH_SIZE = 16
PRECISIONS = ("float32", "bfloat16")
_ONEDNN_BF16_OPTION = "auto_mixed_precision_onednn_bfloat16"


class TransferError(InputError):
    """A song that cannot be transferred, with a machine-readable reason.

    Attributes:
        path: The input file the error is about.
        reason: Stable reason code: the :data:`mst.music.file_filter.REASONS` codes (``no_complete_phrase``
            never: the tail phrase is kept; ``all_phrases_empty`` when no pitched note lies in
            MIDI 24..107), plus ``output_exists``, ``would_overwrite_input``, ``output_collision``
            (folder mode: two inputs would write one file), ``direction_unavailable``,
            ``cycle_unavailable`` and ``error`` (folder mode: any other failure).
        detail: Human-readable explanation.
    """

    def __init__(self, path: str | os.PathLike, reason: str, detail: str):
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}: {detail}")


@dataclasses.dataclass
class TransferResult:
    """Everything one whole-song transfer produced.

    Attributes:
        source_path: The input MIDI file.
        direction: ``"a2b"`` or ``"b2a"``.
        num_steps: Length of the song in 16th-note steps, input and output alike (``T``).
        source_roll: ``bool [T, 84]`` roll of the merged, drum-free source (pitch index 0 = MIDI 24);
            ``None`` in a :class:`FolderReport` unless ``keep_rolls``.
        transferred_roll: ``bool [T, 84]`` binarized transfer (``None`` like ``source_roll``).
        cycled_roll: ``bool [T, 84]`` A→B→A cycle, or ``None`` when not requested (or not kept).
        num_phrases: Number of 64-step phrases sent through the generator (the tail one included).
        tail_steps: Steps of real music in the last phrase (64 when the song ends on a phrase boundary,
            0 for an empty song).
        notes_written: Pitched notes in the transferred MIDI (0 when nothing was written).
        drum_notes_written: Drum notes put back (``keep_drums``).
        notes_out_of_range: Non-drum source notes outside MIDI 24..107, lost in the transfer.
        output_path: Where the transferred MIDI was written, or ``None``.
        cycle_path: Where the cycled MIDI was written, or ``None``.
        plot_path: Where the before/after PNG was written, or ``None``.
        timing: Seconds per stage: ``read`` (parse + filter), ``phrase`` (merged roll),
            ``generator`` (cut phrases, generator calls incl. the cycle, binarize, stitch), ``write``
            (MIDI files), ``plot`` and ``total``.
        warnings: :func:`output_warnings` of the transfer (empty when it looks like music).
    """

    source_path: str
    direction: str
    num_steps: int
    source_roll: np.ndarray | None
    transferred_roll: np.ndarray | None
    cycled_roll: np.ndarray | None
    num_phrases: int
    tail_steps: int
    notes_written: int
    drum_notes_written: int
    notes_out_of_range: int
    output_path: str | None
    cycle_path: str | None
    plot_path: str | None
    timing: dict[str, float]
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file that folder mode did not transfer.

    Attributes:
        path: The input file.
        reason: Machine-readable reason code (see :class:`TransferError`).
        detail: Human-readable explanation.
    """

    path: str
    reason: str
    detail: str


@dataclasses.dataclass
class FolderReport:
    """Outcome of :func:`transfer_folder`.

    Attributes:
        results: One :class:`TransferResult` per transferred file, in input order.
        skipped: One :class:`SkippedFile` per file that was not transferred.
    """

    results: list[TransferResult] = dataclasses.field(default_factory=list)
    skipped: list[SkippedFile] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file found was transferred."""
        return not self.skipped

    def summary(self) -> str:
        """One line: counts of transferred and skipped files, skipped ones grouped by reason."""
        line = f"transferred {len(self.results)} file(s), skipped {len(self.skipped)}"
        if self.skipped:
            counts = Counter(s.reason for s in self.skipped)
            line += " (" + ", ".join(f"{r}: {n}" for r, n in sorted(counts.items())) + ")"
        lost = sum(r.notes_out_of_range for r in self.results)
        if lost:
            line += f"; {lost} source note(s) outside MIDI 24..107 were dropped"
        return line


# --------------------------------------------------------------------------------------------------
# Generators


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, Mapping):
        if "probabilities" not in value:
            raise ValueError(
                f"generator returned a dict without 'probabilities' (keys: {sorted(value)})"
            )
        value = value["probabilities"]
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype=np.float32)


def _is_keras_layer(obj) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.layers.Layer)


@contextlib.contextmanager
def cpu_bfloat16(enabled: bool = True):
    """Runs TensorFlow graphs called inside the block in bfloat16 on CPU (oneDNN), if ``enabled``.

    Sets TensorFlow's ``auto_mixed_precision_onednn_bfloat16`` graph rewrite for the duration of the
    block and restores the previous setting afterwards. TensorFlow keeps one optimized instance of
    a function per setting, so switching costs one extra optimization per function, once. The rewrite
    applies to Keras generators (run through ``tf.function`` here) and SavedModel endpoints; it does
    nothing to plain Python callables or on GPU.

    About 2x faster on CPUs with AVX512_BF16 or AMX (the paper-size generator: about 0.13 % of the
    cells of a random-weight generator flip at the 0.5 threshold, max probability error about 0.03);
    on CPUs without bfloat16 instructions oneDNN emulates it and it is slower. ``enabled=False``
    leaves the setting untouched.

    Args:
        enabled: Whether to switch the rewrite on.

    Yields:
        Nothing.
    """
    if not enabled:
        yield
        return
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    optimizer = import_tensorflow().config.optimizer
    previous = bool(optimizer.get_experimental_options().get(_ONEDNN_BF16_OPTION, False))
    optimizer.set_experimental_options({_ONEDNN_BF16_OPTION: True})
    try:
        yield
    finally:
        optimizer.set_experimental_options({_ONEDNN_BF16_OPTION: previous})


def _phrase_function(generator) -> Callable[[np.ndarray], np.ndarray]:
    """Wraps a generator as ``f(float32 [n, 64, 84, 1]) -> float32 probabilities [n, 64, 84, 1]``.

    A Keras model is called through one ``tf.function`` with a ``[None, 64, 84, 1]`` signature (one
    trace for every batch size, ``training=False``). Anything else callable (a SavedModel endpoint, a
    numpy function) is called as is; a dict result must carry ``"probabilities"``.
    """
    if _is_keras_layer(generator):
        from mst.runtime import import_tensorflow  # noqa: PLC0415

        tf = import_tensorflow()
        spec = tf.TensorSpec([None, *pianoroll.PHRASE_SHAPE], tf.float32)

        @tf.function(input_signature=[spec])
        def call(x):
            return generator(x, training=False)

        return lambda x: _to_numpy(call(x))
    if not callable(generator):
        raise TypeError(f"generator must be a Keras model or a callable, got {type(generator)!r}")
    return lambda x: _to_numpy(generator(x))


class TransferModel:
    """The generator(s) of one model, wrapped once and reused for every song.

    Args:
        generators: Mapping from direction (``"a2b"``, ``"b2a"``) to a Keras generator, a SavedModel
            endpoint or any callable mapping ``float32 [n, 64, 84, 1]`` in {0, 1} to probabilities of the
            same shape (a dict with ``"probabilities"`` is accepted as the result).
        source: Where the generators came from (for messages).
        genre_a: Genre of domain A, when known.
        genre_b: Genre of domain B, when known.
        keep_alive: Object owning the generators' variables (a loaded SavedModel must outlive its
            endpoints).
    """

    def __init__(
        self,
        generators: Mapping[str, Any],
        *,
        source: str = "<in memory>",
        genre_a: str | None = None,
        genre_b: str | None = None,
        keep_alive: Any = None,
    ):
        unknown = set(generators) - set(DIRECTIONS)
        if unknown:
            raise ValueError(f"unknown direction(s) {sorted(unknown)}; expected {DIRECTIONS}")
        functions = {d: _phrase_function(g) for d, g in generators.items() if g is not None}
        if not functions:
            raise ValueError(f"{source}: no generator given")
        self.source = source
        self.genre_a = genre_a
        self.genre_b = genre_b
        self._functions = functions
        self._keep_alive = keep_alive

    def resolve_direction(self, name: str) -> str:
        """``"a2b"``/``"b2a"`` for a direction given as such or by domain (``"classical2pop"``).

        Raises:
            ValueError: The name is neither, or names genres this model does not know.
        """
        if name in DIRECTIONS:
            return name
        by_domain = {}
        if self.genre_a is not None and self.genre_b is not None:
            by_domain = {f"{self.genre_a}2{self.genre_b}": "a2b", f"{self.genre_b}2{self.genre_a}": "b2a"}
        if name in by_domain:
            return by_domain[name]
        known = ", ".join([*DIRECTIONS, *by_domain])
        raise ValueError(f"unknown direction {name!r} for {self.source}; use one of {known}")

    def describe(self, direction: str) -> str:
        """``"a2b (jazz -> classical)"`` when the genres are known, else just the direction."""
        if self.genre_a is None or self.genre_b is None:
            return direction
        source, target = (self.genre_a, self.genre_b) if direction == "a2b" else (self.genre_b, self.genre_a)
        return f"{direction} ({source} -> {target})"

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions this model can transfer, in ``DIRECTIONS`` order."""
        return tuple(d for d in DIRECTIONS if d in self._functions)

    def predict(
        self,
        phrases: np.ndarray,
        direction: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        precision: str = "float32",
    ):
        """Runs phrases through one generator in batches.

        Args:
            phrases: ``[n, 64, 84]`` or ``[n, 64, 84, 1]`` rolls (any numeric dtype; {0, 1} for real
                input, continuous values for the cycle).
            direction: ``"a2b"`` or ``"b2a"``.
            batch_size: Phrases per generator call.
            precision: ``"float32"`` (exact) or ``"bfloat16"``: see :func:`cpu_bfloat16`.

        Returns:
            ``float32 [n, 64, 84, 1]`` probabilities (continuous, not binarized).

        Raises:
            KeyError: The model has no generator for ``direction``.
            ValueError: Bad shapes or batch size.
        """
        if direction not in self._functions:
            raise KeyError(f"{self.source} has no {direction} generator (has: {self.directions})")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        x = pianoroll.as_phrase_batch(phrases)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        with cpu_bfloat16(precision == "bfloat16"):
            try:
                return pianoroll.map_phrase_batches(self._functions[direction], x, batch_size)
            except ValueError as err:
                raise ValueError(f"{self.source} {direction} generator: {err}") from None


def as_transfer_model(model, direction: str | None = None) -> TransferModel:
    """Accepts a :class:`TransferModel`, a trained CycleGAN, a direction mapping or one generator.

    Anything but a :class:`TransferModel` is wrapped anew (a Keras generator gets a fresh
    ``tf.function``, traced on first use), so wrap once when transferring many songs.

    Args:
        model: A :class:`TransferModel`; a :class:`mst.models.cyclegan.cyclegan.CycleGAN` (anything with
            ``generator_a2b`` and ``generator_b2a``); a mapping ``{"a2b": g, "b2a": g}`` such as
            :class:`mst.models.cyclegan.cyclegan_export.GeneratorPair` (its ``source``, ``genre_a`` and ``genre_b`` are
            kept); or a single generator (Keras model or callable), which then serves ``direction``.
        direction: Direction a bare generator is used for.

    Returns:
        A :class:`TransferModel`.
    """
    if isinstance(model, TransferModel):
        return model
    if hasattr(model, "generator_a2b") and hasattr(model, "generator_b2a"):
        return TransferModel(
            {"a2b": model.generator_a2b, "b2a": model.generator_b2a},
            source=getattr(model, "name", "<CycleGAN>"),
        )
    if isinstance(model, Mapping):
        return TransferModel(
            model,
            source=getattr(model, "source", "<in memory>"),
            genre_a=getattr(model, "genre_a", None),
            genre_b=getattr(model, "genre_b", None),
            keep_alive=model,
        )
    if direction is None:
        raise ValueError("a bare generator needs a direction")
    return TransferModel({direction: model})


_MODEL_CACHE: dict[tuple[str, int], TransferModel] = {}


def load_model(path: str | os.PathLike) -> TransferModel:
    """Loads a SavedModel dir, a ``.keras`` generator or a training run/checkpoint, once per process.

    Uses :func:`mst.models.cyclegan.cyclegan_export.load_generators`; the result is cached by resolved path and modification
    time, so the CLI in folder mode and the demo load each model once.

    Args:
        path: Model location.

    Returns:
        A :class:`TransferModel` with every direction the model provides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        mst.export.ExportError: Nothing loadable at ``path``.
    """
    resolved = os.path.realpath(os.fspath(path))
    # A checkpoint prefix (RUN_DIR/checkpoints/ckpt-N) exists only as ckpt-N.index + data files.
    stamp_path = resolved if os.path.exists(resolved) else resolved + ".index"
    if not os.path.exists(stamp_path):
        raise FileNotFoundError(f"model not found: {path}")
    key = (resolved, os.stat(stamp_path).st_mtime_ns)
    if key not in _MODEL_CACHE:
        from mst.models.cyclegan import cyclegan_export  # noqa: PLC0415  (imports TensorFlow)

        model = as_transfer_model(cyclegan_export.load_generators(resolved))
        model.source = os.fspath(path)
        _MODEL_CACHE[key] = model
    return _MODEL_CACHE[key]


# --------------------------------------------------------------------------------------------------
# Rolls


def phrase_roll(roll: np.ndarray) -> tuple[np.ndarray, int]:
    """Cuts a song roll into generator input, keeping the zero-padded incomplete tail.

    Args:
        roll: ``[T, 84]`` roll.

    Returns:
        ``(phrases, tail_steps)``: ``float32 [n, 64, 84, 1]`` with ``n = ceil(T / 64)`` and the number
        of real steps in the last phrase.
    """
    phrases = pianoroll.cut_phrases(np.asarray(roll), keep_tail=True, multiple_of=1)
    steps = int(np.shape(roll)[0])
    tail = steps - (phrases.shape[0] - 1) * pianoroll.PHRASE_STEPS if steps else 0
    return pianoroll.as_phrase_batch(phrases), tail


def _stitch(probabilities: np.ndarray, steps: int) -> np.ndarray:
    binary = pianoroll.binarize(probabilities) > 0
    return np.ascontiguousarray(pianoroll.stitch_phrases(binary, length=steps))


def transfer_roll(
    roll: np.ndarray,
    model,
    *,
    direction: str = "a2b",
    batch_size: int = DEFAULT_BATCH_SIZE,
    cycle: bool = False,
    precision: str = "float32",
    raw: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Transfers a whole-song roll: phrase (tail kept), generate, binarize at 0.5, stitch, trim.

    Unless ``raw``, :func:`apply_song_rules` keeps silent phrases silent and nothing after the
    source's last note.

    Args:
        roll: ``[T, 84]`` source roll (pitch index 0 = MIDI 24).
        model: A :class:`TransferModel`, a direction mapping or a bare generator for ``direction``.
        direction: ``"a2b"`` or ``"b2a"``.
        batch_size: Phrases per generator call.
        cycle: Also run the continuous transfer back through the other direction (A→B→A).
        precision: ``"float32"`` or ``"bfloat16"`` (see :func:`cpu_bfloat16`).

    Returns:
        ``(transferred, cycled)``: ``bool [T, 84]`` each; ``cycled`` is ``None`` unless ``cycle``.
    """
    _check_direction(direction)
    transferred, cycled, _, _ = _transfer_phrases(
        as_transfer_model(model, direction), roll, direction, batch_size, cycle, precision, raw
    )
    return transferred, cycled


def apply_song_rules(source_roll: np.ndarray, output_roll: np.ndarray) -> np.ndarray:
    """What a listener expects of a whole-song transfer, applied to the generator's stitched output.

    * A source phrase (64 steps) with no note stays silent: the generator, which normalises every
      phrase on its own, would otherwise switch cells on in the silence.
    * Nothing sounds after the source's last note: the zero-padded tail of the last phrase and any
      silence the source ends with stay silent.

    The SavedModel stays the raw generator; these rules are song-level and optional
    (``raw=True`` in :func:`transfer_song`, ``--raw`` in ``transfer.py``).

    Args:
        source_roll: ``bool [T, 84]`` source.
        output_roll: ``bool [T, 84]`` transfer (or cycle) of it.

    Returns:
        A ``bool [T, 84]`` copy of ``output_roll`` with the rules applied.

    Example:
    >>> source = np.zeros((192, 84), bool); source[0:10, 40] = True; source[128:130, 50] = True
    >>> output = np.ones((192, 84), bool)
    >>> kept = apply_song_rules(source, output)
    >>> bool(kept[:64].all()), bool(kept[64:128].any()), bool(kept[128:130].all()), bool(kept[130:].any())
    (True, False, True, False)
    """
    source_roll = np.asarray(source_roll, bool)
    out = np.array(output_roll, dtype=bool, copy=True)
    active_steps = np.flatnonzero(source_roll.any(axis=1))
    if active_steps.size == 0:
        out[:] = False
        return out
    out[active_steps[-1] + 1 :] = False
    phrase = pianoroll.PHRASE_STEPS
    for start in range(0, source_roll.shape[0], phrase):
        if not source_roll[start : start + phrase].any():
            out[start : start + phrase] = False
    return out


def _transfer_phrases(model: "TransferModel", roll, direction, batch_size, cycle, precision, raw: bool = False):
    """``(transferred, cycled or None, num_phrases, tail_steps)`` for a ``[T, 84]`` roll."""
    steps = int(np.shape(roll)[0])
    phrases, tail = phrase_roll(roll)
    probabilities = model.predict(phrases, direction, batch_size, precision=precision)
    transferred = _stitch(probabilities, steps)
    cycled = None
    if cycle:
        cycled = _stitch(_cycle(model, probabilities, steps, direction, batch_size, precision), steps)
    if not raw:
        transferred = apply_song_rules(roll, transferred)
        cycled = None if cycled is None else apply_song_rules(roll, cycled)
    return transferred, cycled, int(phrases.shape[0]), tail


def _other(direction: str) -> str:
    return "b2a" if direction == "a2b" else "a2b"


def _cycle(model: TransferModel, probabilities, steps: int, direction: str, batch_size: int, precision: str):
    # The authors feed the continuous (not binarized) transfer to the other generator. The padding of
    # the tail phrase is not part of the song, so it is zeroed again, exactly as the forward input had it.
    x = probabilities.copy()
    flat = x.reshape(-1, *x.shape[2:])
    flat[steps:] = 0.0
    return model.predict(x, _other(direction), batch_size, precision=precision)


# --------------------------------------------------------------------------------------------------
# Songs


def _check_direction(direction: str):
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def _check_options(program: int, precision: str, policy: str):
    if not 0 <= program <= 127:
        raise ValueError(f"program must be in 0..127, got {program}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    filters.check_policy(policy)


def output_paths(out_path: str | os.PathLike, *, cycle: bool, plot: bool) -> dict[str, Path]:
    """Names of every file one transfer writes.

    Args:
        out_path: The transferred MIDI file.
        cycle: Whether the cycled song is written (``<stem>_cycle.mid`` beside it).
        plot: Whether the PNG is written (``<stem>.png`` beside it).

    Returns:
        ``{"midi": ..., "cycle": ..., "plot": ...}`` with only the requested entries.
    """
    out = Path(out_path)
    paths = {"midi": out}
    if cycle:
        paths["cycle"] = out.with_name(f"{out.stem}_cycle{out.suffix or '.mid'}")
    if plot:
        paths["plot"] = out.with_name(f"{out.stem}.png")
    return paths


def _check_outputs(source: Path, paths: Mapping[str, Path], overwrite: bool):
    src = os.path.realpath(source)
    for path in paths.values():
        if os.path.realpath(path) == src:
            raise TransferError(source, "would_overwrite_input", f"output {path} is the input file")
        if path.exists() and not overwrite:
            raise TransferError(
                source, "output_exists", f"{path} exists; pass --overwrite to replace it"
            )


def read_source_song(path: str | os.PathLike, policy: str = "strict"):
    """Reads a song to transfer and applies the time-signature filter (no model needed).

    ``transfer.py`` calls it before loading a model, so a song that cannot be transferred fails
    in milliseconds.

    Raises:
        TransferError: The file is unreadable or rejected by the filter (reason and detail given).
    """
    path = Path(path)
    try:
        song = midi.read_midi(os.fspath(path))
    except midi.MidiError as err:
        raise TransferError(path, err.reason, err.detail or err.reason) from err
    rejection = filters.check_song(song, policy, drop_drums=True)
    if rejection is not None:
        detail = rejection.detail
        if policy == "strict" and rejection.reason in filters.TIME_SIGNATURE_REASONS and "--time-signature-policy" not in detail:
            detail += (
                " (the strict policy needs one 4/4 signature at tick 0; --time-signature-policy "
                "beat_grid or in_effect transfers the song on the quarter-note grid)"
            )
        raise TransferError(path, rejection.reason, detail)
    return song


def _write_song(path: Path, roll: np.ndarray, song, *, program: int, keep_drums: bool):
    """Writes the roll on the source's timing, plus the source's drum notes when asked; returns the note counts."""
    notes = pianoroll.roll_to_notes(roll)
    drums = song.notes[song.notes["is_drum"]] if keep_drums else song.notes[:0]
    # Zero-length drum hits cannot be written (the writer needs start < end); they are inaudible.
    drums = drums[drums["end"] > drums["start"]]
    # source: ticks per beat (made to hold the grid), tempo map, time signatures and length of the source
    pianoroll.write_roll_midi(os.fspath(path), notes, source=song, program=program, velocity=VELOCITY, extra_notes=drums)
    return int(notes.shape[0]), int(drums.shape[0])


def transfer_song(
    path: str | os.PathLike,
    model,
    *,
    direction: str = "a2b",
    out_path: str | os.PathLike | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    program: int = 0,
    keep_drums: bool = False,
    time_signature_policy: str = "strict",
    cycle: bool = False,
    plot: bool = False,
    overwrite: bool = False,
    precision: str = "float32",
    raw: bool = False,
) -> TransferResult:
    """Transfers one MIDI file and (optionally) writes the result.

    Args:
        path: Input MIDI file.
        model: A :class:`TransferModel` (see :func:`load_model`), or anything
            :func:`as_transfer_model` accepts (a CycleGAN, a direction mapping, a bare generator
            for ``direction``); wrap once when transferring many songs.
        direction: ``"a2b"`` or ``"b2a"``.
        out_path: Transferred MIDI to write; ``None`` computes without writing (then ``cycle`` still
            computes :attr:`TransferResult.cycled_roll`, ``plot`` is not allowed).
        batch_size: Phrases per generator call.
        program: General MIDI program of the written piano track (0 = Acoustic Grand Piano).
        keep_drums: Put the source's drum notes back as a drum track.
        time_signature_policy: ``"strict"`` (the authors' filter: one 4/4 signature at tick 0),
            ``"in_effect"`` or ``"beat_grid"`` (see :mod:`mst.music.file_filter`).
        cycle: Also compute (and write as ``<stem>_cycle.mid``) the A→B→A cycle; needs both directions.
        plot: Write a before/after pianoroll PNG ``<stem>.png`` beside the MIDI.
        overwrite: Replace existing outputs (the input file is never overwritten).
        precision: ``"float32"`` (default, exact) or ``"bfloat16"`` (faster on CPUs with bfloat16
            instructions, a few cells may flip; see :func:`cpu_bfloat16`).
        raw: Write the generator's output as it is, without :func:`apply_song_rules` (mst 0.1).

    Returns:
        A :class:`TransferResult` (its :attr:`~TransferResult.warnings` say when the output is
        silent or keeps little of the source).

    Raises:
        TransferError: The song is unreadable or rejected by the filter, an output exists, or the
            model lacks a needed direction. The message names the file and the reason.
    """
    t_start = time.perf_counter()
    _check_direction(direction)
    _check_options(program, precision, time_signature_policy)
    source = Path(path)
    model = as_transfer_model(model, direction)
    if direction not in model.directions:
        raise TransferError(
            source, "direction_unavailable", f"{model.source} has no {direction} generator"
        )
    if cycle and _other(direction) not in model.directions:
        raise TransferError(
            source,
            "cycle_unavailable",
            f"the cycle needs a {_other(direction)} generator too; {model.source} has only "
            f"{', '.join(model.directions)}",
        )
    paths: dict[str, Path] = {}
    if out_path is not None:
        paths = output_paths(out_path, cycle=cycle, plot=plot)
        _check_outputs(source, paths, overwrite)
    elif plot:
        raise ValueError("plot=True needs an out_path (the PNG is written beside the MIDI)")

    timing = {}
    t0 = time.perf_counter()
    song = read_source_song(source, time_signature_policy)
    timing["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    try:
        roll, stats = pianoroll.song_to_roll_with_stats(song, drop_drums=True)
    except EncodingError as err:  # too_long
        raise TransferError(source, err.reason, err.detail) from err
    lost = stats.out_of_range_notes_dropped
    if not roll.any():
        raise TransferError(
            source,
            "all_phrases_empty",
            f"no pitched notes inside MIDI 24..107 ({lost} outside the window, drums ignored)",
        )
    timing["phrase"] = time.perf_counter() - t0

    # Phrase cutting and stitching are array copies (well under 1 ms for a 3-minute song); they are
    # counted with the generator, which dominates this stage.
    t0 = time.perf_counter()
    transferred, cycled, num_phrases, tail = _transfer_phrases(
        model, roll, direction, batch_size, cycle, precision, raw
    )
    timing["generator"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    pitched = drums = 0
    if "midi" in paths:
        paths["midi"].parent.mkdir(parents=True, exist_ok=True)
        pitched, drums = _write_song(
            paths["midi"], transferred, song, program=program, keep_drums=keep_drums
        )
        if cycled is not None:
            _write_song(paths["cycle"], cycled, song, program=program, keep_drums=keep_drums)
    timing["write"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if "plot" in paths:
        from mst import plotting  # noqa: PLC0415

        # Bar lines and bar numbers follow the song's own time signatures (12 steps per 3/4 bar
        # under the beat_grid policy), not a fixed 16 steps.
        plotting.save_before_after_png(
            os.fspath(paths["plot"]),
            roll,
            transferred,
            f"{source.name}: {direction}",
            bar_starts=grid.bar_start_steps(song, int(roll.shape[0])),
        )
    timing["plot"] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - t_start

    return TransferResult(
        source_path=os.fspath(source),
        direction=direction,
        num_steps=int(roll.shape[0]),
        source_roll=roll,
        transferred_roll=transferred,
        cycled_roll=cycled,
        num_phrases=num_phrases,
        tail_steps=tail,
        notes_written=pitched,
        drum_notes_written=drums,
        notes_out_of_range=lost,
        output_path=os.fspath(paths["midi"]) if "midi" in paths else None,
        cycle_path=os.fspath(paths["cycle"]) if "cycle" in paths else None,
        plot_path=os.fspath(paths["plot"]) if "plot" in paths else None,
        timing=timing,
        warnings=output_warnings(roll, transferred),
    )


MIN_KEPT_NOTE_SHARE = 0.1
"""Below this share of the source's notes (counted on the 16th-note grid) a transfer is flagged."""


def output_warnings(source_roll: np.ndarray, transferred_roll: np.ndarray) -> list[str]:
    """Plain warnings for a transfer a listener would not accept: silence, or little of the source.

    Example:
    >>> source = np.zeros((64, 84), bool); source[0:4, 40] = True; source[8:12, 44] = True
    >>> output_warnings(source, np.zeros_like(source))
    ['the transfer has no notes (the source has 2)']
    >>> output_warnings(source, source)
    []
    """
    from mst.metrics.music import note_count  # noqa: PLC0415

    source_notes = int(note_count(source_roll))
    written = int(note_count(transferred_roll))
    if written == 0:
        return [f"the transfer has no notes (the source has {source_notes})"]
    kept = int(note_count(np.asarray(source_roll, bool) & np.asarray(transferred_roll, bool)))
    if source_notes and kept < MIN_KEPT_NOTE_SHARE * source_notes:
        return [f"the transfer keeps {kept} of the source's {source_notes} notes (under {MIN_KEPT_NOTE_SHARE:.0%}): it may not be recognisable"]
    return []


# --------------------------------------------------------------------------------------------------
# Folders


def default_output_name(source: str | os.PathLike, direction: str) -> str:
    """``<stem>_<direction>.mid`` for an input file."""
    return f"{Path(source).stem}_{direction}.mid"


def transfer_folder(
    folder: str | os.PathLike,
    model,
    *,
    out_dir: str | os.PathLike,
    direction: str = "a2b",
    on_result: Callable[[TransferResult], None] | None = None,
    on_skip: Callable[[SkippedFile], None] | None = None,
    keep_rolls: bool = False,
    **options,
) -> FolderReport:
    """Transfers every MIDI file under ``folder``; bad files are skipped and reported, not fatal.

    Outputs mirror the input tree: ``folder/x/song.mid`` → ``out_dir/x/song_<direction>.mid``.

    Args:
        folder: Input folder (searched recursively).
        model: As for :func:`transfer_song`; load it once with :func:`load_model`.
        out_dir: Output folder (created when missing).
        direction: ``"a2b"`` or ``"b2a"``.
        on_result: Called after each transferred file (progress output).
        on_skip: Called after each skipped file.
        keep_rolls: Keep each song's rolls in the report (otherwise they are dropped after
            ``on_result`` to bound memory on large folders: about 120 kB per roll per 3 minutes).
        **options: Passed to :func:`transfer_song` (``batch_size``, ``program``, ``keep_drums``,
            ``time_signature_policy``, ``cycle``, ``plot``, ``overwrite``, ``precision``).

    Returns:
        A :class:`FolderReport`.

    Raises:
        NotADirectoryError: ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    out_root = Path(out_dir)
    if os.path.realpath(out_root) == os.path.realpath(root):
        raise ValueError(
            f"the output folder must differ from the input folder {folder} (a later run would "
            "pick up the outputs as inputs)"
        )
    if out_root.exists() and not out_root.is_dir():
        raise NotADirectoryError(f"output is not a folder: {out_dir}")
    _check_direction(direction)
    _check_options(
        options.get("program", 0),
        options.get("precision", "float32"),
        options.get("time_signature_policy", "strict"),
    )
    model = as_transfer_model(model, direction)
    report = FolderReport()
    claimed: dict[str, Path] = {}
    for source in find_midi_files(root, exclude=out_root):
        target = out_root / source.parent.relative_to(root) / default_output_name(source, direction)
        key = os.path.normcase(os.path.realpath(target))
        try:
            if key in claimed:
                raise TransferError(
                    source, "output_collision", f"{target} is already the output of {claimed[key]}"
                )
            result = transfer_song(source, model, direction=direction, out_path=target, **options)
            claimed[key] = source
        except TransferError as err:
            skipped = SkippedFile(err.path, err.reason, err.detail)
        except (OSError, ValueError) as err:
            skipped = SkippedFile(os.fspath(source), "error", f"{type(err).__name__}: {err}")
        else:
            if on_result is not None:
                on_result(result)
            if not keep_rolls:
                result = dataclasses.replace(
                    result, source_roll=None, transferred_roll=None, cycled_roll=None
                )
            report.results.append(result)
            continue
        report.skipped.append(skipped)
        if on_skip is not None:
            on_skip(skipped)
    return report
