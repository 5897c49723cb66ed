"""Generating music with an attention RNN: ``python generate.py attention-rnn ...``.

::

    python generate.py attention-rnn --model RUN_OR_EXPORT --temperature 0.5 --length 200 --out x.mid \\
        [--duration-temperature T] [--seed-midi FILE [--seed-tokens N]] [--seed 0] [--tempo 80] \\
        [--program 42] [--png] [--last]

The model (an export folder, a ``.keras`` file, or a run folder: its best validation checkpoint
unless ``--last``) samples up to ``--length`` tokens in one in-graph loop (the ``sample``
signature), starting from 32 ``START`` tokens or from the first ``--seed-tokens`` events of
``--seed-midi`` (tokenised with the model's own options; tokens the training split never had map
to ``<unk>``, and the command says how many). It stops early when ``START`` is drawn. Written:
``x.mid`` (seed + continuation; tempo and GM program as given, cello by default), ``x.tokens.json``
(the tokens) and with ``--png`` ``x.png`` (roll), ``x_attention.png`` (attention matrix) and
``x_pitch_probabilities.png`` (pitch heat map).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from mst import atomic
from mst.encodings import note_tokens as nt


@dataclasses.dataclass
class Generation:
    """One sampled piece.

    Attributes:
        seed_pitch: Seed pitch tokens (before the generated ones; may be empty).
        seed_duration: Seed duration tokens.
        pitch: Generated pitch tokens.
        duration: Generated duration tokens.
        attention: ``[m, seq_len]`` attention when each token was predicted.
        pitch_probabilities: ``[m, n_pitch]``.
        stopped_on_start: Whether sampling ended by drawing START.
        vocabulary: The model's vocabulary.
        unknown_seed_tokens: Seed tokens mapped to ``<unk>``.
        seq_len: Window length.
    """

    seed_pitch: list[str]
    seed_duration: list[str]
    pitch: list[str]
    duration: list[str]
    attention: np.ndarray
    pitch_probabilities: np.ndarray
    stopped_on_start: bool
    vocabulary: nt.Vocabulary
    unknown_seed_tokens: int = 0
    seq_len: int = nt.SEQ_LEN

    @property
    def pitch_ids(self) -> list[int]:
        return self.vocabulary.pitch_ids(self.pitch)

    def to_dict(self) -> dict:
        return {"seed": {"pitch": self.seed_pitch, "duration": self.seed_duration},
                "generated": {"pitch": self.pitch, "duration": self.duration},
                "stopped_on_start": self.stopped_on_start, "unknown_seed_tokens": self.unknown_seed_tokens}


def generate(sample, vocabulary: nt.Vocabulary, *, length: int, temperature_pitch: float, temperature_duration: float, seed: int,
             seed_tokens: tuple[list[str], list[str]] | None = None, seq_len: int = nt.SEQ_LEN) -> Generation:
    """Runs a ``sample`` function (in-graph loop) once and decodes its ids to tokens."""
    from mst.runtime import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    seed_pitch, seed_duration = seed_tokens or ([], [])
    pitch_ids, duration_ids = vocabulary.pitch_ids(seed_pitch), vocabulary.duration_ids(seed_duration)
    unknown = sum(1 for i in pitch_ids if i == nt.UNK_INDEX) + sum(1 for i in duration_ids if i == nt.UNK_INDEX)
    out = sample(tf.constant(pitch_ids, tf.int32), tf.constant(duration_ids, tf.int32), tf.constant(int(length), tf.int32),
                 tf.constant(float(temperature_pitch), tf.float32), tf.constant(float(temperature_duration), tf.float32),
                 tf.constant(int(seed), tf.int64))
    return Generation(
        list(seed_pitch), list(seed_duration),
        [vocabulary.pitch[i] for i in out["pitch"].numpy()], [vocabulary.duration[i] for i in out["duration"].numpy()],
        out["attention"].numpy(), out["pitch_probabilities"].numpy(), bool(out["stopped_on_start"].numpy()), vocabulary, unknown, seq_len,
    )


def seed_tokens_from_midi(path, token_options: dict, events: int) -> tuple[list[str], list[str]]:
    """The first ``events`` events of a MIDI file, tokenised with a model's options (no transposition).

    Raises:
        mst.music.midi.MidiError: Unreadable file.
        ValueError: The file has no note.
    """
    from mst.music.midi import read_midi  # noqa: PLC0415

    options = nt.NoteTokenOptions(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in token_options.items()})
    song = read_midi(path, backend=options.backend)
    notes = song.notes[~song.notes["is_drum"]] if options.drop_drums else song.notes
    found = nt.events_from_notes(zip(notes["start"].tolist(), notes["end"].tolist(), notes["pitch"].tolist()), song.ticks_per_beat,
                                 grid=options.grid, rests=options.rests, chords=options.chords)
    if not found:
        raise ValueError(f"{path}: no note to seed from")
    return nt.event_tokens(found[:events])


def write_generation(generation: Generation, out_midi, *, png: bool = False, tempo: float = 80.0, program: int = 42,
                     title: str = "generated") -> dict[str, Path]:
    """Writes ``out_midi`` (seed + generated), ``<stem>.tokens.json`` and optionally the three PNGs."""
    from mst.music.midi import make_tempos, write_midi  # noqa: PLC0415

    out_midi = Path(out_midi)
    out_midi.parent.mkdir(parents=True, exist_ok=True)
    pitch = generation.seed_pitch + generation.pitch
    duration = generation.seed_duration + generation.duration
    notes = nt.tokens_to_notes(pitch, duration, program=program)
    written = {"midi": write_midi(out_midi, notes, tempos=make_tempos([0], [tempo]), track_name="attention RNN")}
    written["tokens"] = atomic.write_json(out_midi.with_suffix(".tokens.json"), generation.to_dict())
    if png:
        from mst.models.attention_rnn import attention_rnn_plots as plots  # noqa: PLC0415

        stem = out_midi.with_suffix("")
        seed_events = sum(1 for p, d in zip(generation.seed_pitch, generation.seed_duration) if p != nt.START and d != nt.START_DURATION)
        written["roll"] = Path(plots.save_token_roll_png(f"{stem}.png", pitch, duration, seed_events=seed_events,
                                                         title=f"{title} ({len(generation.pitch)} generated tokens after {len(generation.seed_pitch)} seed tokens)"))
        prefix = generation.seq_len + len(generation.seed_pitch)
        if len(generation.pitch):
            written["attention"] = Path(plots.save_attention_png(f"{stem}_attention.png", generation.attention, prefix, generation.pitch, title=f"{title}: attention"))
            written["pitch_probabilities"] = Path(plots.save_pitch_probability_png(
                f"{stem}_pitch_probabilities.png", generation.pitch_probabilities, generation.vocabulary, generation.pitch_ids, title=f"{title}: pitch probabilities"))
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate.py attention-rnn", description="Sample a piece from a trained attention RNN (Foster ch. 7).")
    parser.add_argument("--model", required=True, help="export folder, .keras file, or training run folder (best validation checkpoint)")
    parser.add_argument("--out", required=True, help="output .mid file")
    parser.add_argument("--temperature", type=float, default=0.5, help="pitch temperature (0 = argmax; the book: 0.5)")
    parser.add_argument("--duration-temperature", type=float, default=None, help="duration temperature (default: --temperature)")
    parser.add_argument("--length", type=int, default=200, help="maximum tokens to generate (stops early on START)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampler")
    parser.add_argument("--seed-midi", default=None, help="continue the opening of this MIDI file")
    parser.add_argument("--seed-tokens", type=int, default=32, help="events of --seed-midi to use (default 32)")
    parser.add_argument("--tempo", type=float, default=80.0, help="quarter notes per minute of the output (default 80)")
    parser.add_argument("--program", type=int, default=42, help="General MIDI program, 0-127 (default 42, cello)")
    parser.add_argument("--png", action="store_true", help="also write the roll, attention and pitch-probability PNGs")
    parser.add_argument("--last", action="store_true", help="for a run folder: the last checkpoint instead of the best")
    return parser


def main(argv) -> int:
    """``generate.py attention-rnn`` (see the module docstring); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.length < 1:
        parser.error("--length must be >= 1")
    if args.temperature < 0 or (args.duration_temperature is not None and args.duration_temperature < 0):
        parser.error("temperatures must be >= 0")
    if not 0 <= args.program <= 127 or args.tempo <= 0 or args.seed_tokens < 1:
        parser.error("--program must be 0-127, --tempo > 0, --seed-tokens >= 1")
    from mst.errors import FileReasonError  # noqa: PLC0415
    from mst.export import ExportError  # noqa: PLC0415
    from mst.models.attention_rnn.attention_rnn_export import load_attention_rnn  # noqa: PLC0415

    try:
        model = load_attention_rnn(args.model, which="last" if args.last else "best")
        seed_tokens = seed_tokens_from_midi(args.seed_midi, model.token_options, args.seed_tokens) if args.seed_midi else None
    except (ExportError, FileNotFoundError, FileReasonError, ValueError) as error:
        print(f"generate.py attention-rnn: error: {error}", file=sys.stderr)
        return 2
    duration_temperature = args.temperature if args.duration_temperature is None else args.duration_temperature
    generation = generate(model.sample, model.vocabulary, length=args.length, temperature_pitch=args.temperature,
                          temperature_duration=duration_temperature, seed=args.seed, seed_tokens=seed_tokens, seq_len=model.seq_len)
    if generation.unknown_seed_tokens:
        print(f"note: {generation.unknown_seed_tokens} seed token(s) of {args.seed_midi} are not in the model's vocabulary and were read as <unk>")
    written = write_generation(generation, args.out, png=args.png, tempo=args.tempo, program=args.program,
                               title=f"T={args.temperature:g}/{duration_temperature:g}")
    end = "stopped on START" if generation.stopped_on_start else "reached --length"
    print(f"generated {len(generation.pitch)} tokens ({end}) with {model.source}")
    for name, path in written.items():
        print(f"  {name}: {path}")
    return 0
