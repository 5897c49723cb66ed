"""Songs as parallel (pitch, duration) token streams: the attention RNN's representation (Foster ch. 7).

A song becomes a list of *events*, one per vertical slice of the score: the song is cut at every
note start and end ("chordify"), and each slice between two cuts is one event holding the pitches
that sound through it (empty = a rest) and its length in quarter notes. Each event gives two
tokens:

* **pitch token**: the pitches' names joined with ``.``, lowest first (``"G2.D3.B3"``; one note is
  just ``"B3"``), spelled as music21 spells MIDI input (C, C#, D, E-, E, F, F#, G, G#, A, B-, B;
  octave 4 starts at MIDI 60), so the tokens read like the book's; a rest is ``"rest"``;
* **duration token**: the slice's length in quarter notes as an exact fraction (``"1/4"``,
  ``"1/3"``, ``"3/2"``, ``"2"``).

Note starts and ends are first moved to the nearest point of the union of the grids ``1/d`` quarter
for every ``d`` in ``grid`` (default ``(4, 3)``, music21's MIDI quantisation: sixteenths and
eighth-note triplets), so durations such as ``1/12`` appear where the two grids meet, as in the
book's vocabulary. Silence before the first note is dropped.

Options (:class:`NoteTokenOptions`): ``rests`` (``"token"`` the default, or ``"drop"`` as the
book's code does through its type-check bug), ``chords`` (``"joined"`` as the book, or
``"top_note"``: the highest sounding note, a held top note staying one event), ``transpositions``
(semitone shifts applied to the training split; the book's ``(0,)``).

Vocabularies (:class:`Vocabulary`) are built from the training split only; index 0 is ``START``
(duration ``"0"``), index 1 is ``<unk>``, which every token unseen in training maps to (a test
piece's new chord, a user's seed file); samplers never draw it. No TensorFlow here.

Example:
    >>> from fractions import Fraction
    >>> pitch_name(60), pitch_name(63), chord_token((43, 50, 59)), token_pitches("G2.D3.B3")
    ('C4', 'E-4', 'G2.D3.B3', (43, 50, 59))
    >>> events = events_from_notes([(0, 480, 48), (480, 960, 52), (480, 720, 55), (1200, 1440, 60)], 480)
    >>> [(chord_token(p) if p else REST, duration_token(d)) for p, d in events]
    [('C3', '1'), ('E3.G3', '1/2'), ('E3', '1/2'), ('rest', '1/2'), ('C4', '1/2')]
    >>> vocab = build_vocabulary([event_tokens(events)])
    >>> vocab.pitch[:3], vocab.duration
    (('START', '<unk>', 'rest'), ('0', '<unk>', '1/2', '1'))
    >>> Vocabulary.from_dict(vocab.to_dict()) == vocab, vocab.pitch_ids(["C3", "C9"])
    (True, [3, 1])
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np

START = "START"
UNK = "<unk>"
REST = "rest"
START_DURATION = "0"
START_INDEX = 0
UNK_INDEX = 1
SEQ_LEN = 32
"""Window length of the book (``seq_len``): 32 START tokens open every piece."""

NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
_NAME_INDEX = {name: index for index, name in enumerate(NAMES)}
_ALIASES = {"D-": 1, "D#": 3, "G-": 6, "A-": 8, "A#": 10, "E#": 5, "F-": 4, "B#": 0, "C-": 11}
RESTS = ("token", "drop")
CHORDS = ("joined", "top_note")


@dataclasses.dataclass(frozen=True)
class NoteTokenOptions:
    """How MIDI files become token streams (the ``--option`` keys of ``--encoding note_tokens``).

    Attributes:
        rests: ``"token"`` (a ``rest`` event for every silence, the default: dropping rests
            changes the rhythm) or ``"drop"`` (the book's code, whose rest branch never fires).
        chords: ``"joined"`` (every sounding pitch in one token, the book) or ``"top_note"``.
        transpositions: Semitone shifts of the training split (test: 0 only); the book: ``(0,)``.
        grid: Quarter-note divisors of the quantisation grid (music21's default ``(4, 3)``).
        drop_drums: Ignore drum-channel notes.
        backend: MIDI parser (:func:`mst.music.midi.read_midi`).
        min_events: Files with fewer events are skipped (reason ``too_few_events``).
    """

    rests: str = "token"
    chords: str = "joined"
    transpositions: tuple[int, ...] = (0,)
    grid: tuple[int, ...] = (4, 3)
    drop_drums: bool = True
    backend: str = "symusic"
    min_events: int = 2

    def __post_init__(self):
        if self.rests not in RESTS:
            raise ValueError(f"rests must be one of {RESTS}, got {self.rests!r}")
        if self.chords not in CHORDS:
            raise ValueError(f"chords must be one of {CHORDS}, got {self.chords!r}")
        object.__setattr__(self, "transpositions", tuple(int(t) for t in self.transpositions))
        object.__setattr__(self, "grid", tuple(int(d) for d in self.grid))
        if not self.transpositions or 0 not in self.transpositions or len(set(self.transpositions)) != len(self.transpositions):
            raise ValueError(f"transpositions must be distinct and include 0, got {self.transpositions}")
        if not self.grid or any(d < 1 for d in self.grid):
            raise ValueError(f"grid divisors must be >= 1, got {self.grid}")
        if self.min_events < 1:
            raise ValueError(f"min_events must be >= 1, got {self.min_events}")

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


# --------------------------------------------------------------------------- tokens


def pitch_name(midi_pitch: int) -> str:
    """``60 -> "C4"``, music21's spelling of a MIDI pitch (sharps except E- and B-)."""
    octave, pc = divmod(int(midi_pitch), 12)
    return f"{NAMES[pc]}{octave - 1}"


def parse_pitch_name(name: str) -> int:
    """``"E-4" -> 63``; accepts the usual enharmonic spellings (``"D#4"``) too.

    Names below MIDI 12 (octave -1) are ambiguous in music21's spelling (``"E-1"`` is E-flat 1 or
    E in octave -1); the flat reading wins.

    Raises:
        ValueError: Not a pitch name.
    """
    for length in (2, 1):
        head, tail = name[:length], name[length:]
        index = _NAME_INDEX.get(head, _ALIASES.get(head))
        if index is not None and tail.lstrip("-").isdigit():
            value = (int(tail) + 1) * 12 + index
            if 0 <= value <= 127:
                return value
    raise ValueError(f"not a pitch name: {name!r}")


def chord_token(pitches: Sequence[int]) -> str:
    """Names of ``pitches`` joined with ``.``, lowest first (the book's chord token)."""
    return ".".join(pitch_name(p) for p in sorted(pitches))


def token_pitches(token: str) -> tuple[int, ...]:
    """MIDI pitches of a pitch token, lowest first; ``()`` for ``rest``, ``START`` and ``<unk>``."""
    if token in (REST, START, UNK):
        return ()
    return tuple(sorted(parse_pitch_name(part) for part in token.split(".")))


def duration_token(quarters: Fraction) -> str:
    """Exact quarter-note length as a token: ``Fraction(1, 3) -> "1/3"``, ``Fraction(2) -> "2"``."""
    return str(Fraction(quarters))


def token_duration(token: str) -> Fraction:
    """Inverse of :func:`duration_token` (``"0"``, the START duration, included).

    Raises:
        ValueError: ``<unk>`` or not a fraction.
    """
    if token == UNK:
        raise ValueError("<unk> has no duration")
    return Fraction(token)


# --------------------------------------------------------------------------- events


def _quantizer(grid: Sequence[int]):
    def quantize(quarters: Fraction) -> Fraction:
        best = None
        for divisor in grid:
            candidate = Fraction(round(quarters * divisor), divisor)
            if best is None or abs(candidate - quarters) < abs(best - quarters):
                best = candidate
        return best

    return quantize


def events_from_notes(notes: Iterable[tuple[int, int, int]], ticks_per_beat: int, *, grid: Sequence[int] = (4, 3),
                      rests: str = "token", chords: str = "joined") -> list[tuple[tuple[int, ...], Fraction]]:
    """``(start_tick, end_tick, pitch)`` notes -> ``[(pitches, quarters)]`` events (see the module docstring).

    Notes that quantise to zero length are dropped. Rests are ``()`` events (none with
    ``rests="drop"``: then a note after a silence simply follows the previous event).
    """
    quantize = _quantizer(grid)
    spans = []
    for start, end, pitch in notes:
        q_start = quantize(Fraction(int(start), int(ticks_per_beat)))
        q_end = quantize(Fraction(int(end), int(ticks_per_beat)))
        if q_end > q_start:
            spans.append((q_start, q_end, int(pitch)))
    if not spans:
        return []
    cuts = sorted({s for s, _, _ in spans} | {e for _, e, _ in spans})
    index_of = {cut: i for i, cut in enumerate(cuts)}
    # sounding[i] = notes covering slice [cuts[i], cuts[i+1]); a difference array over cut indices.
    starts_at: dict[int, list[int]] = {}
    for number, (s, e, _) in enumerate(spans):
        starts_at.setdefault(index_of[s], []).append(number)
    active: dict[int, tuple] = {}
    events: list[tuple[tuple[int, ...], Fraction]] = []
    last_top = None
    for i in range(len(cuts) - 1):
        for number in starts_at.get(i, ()):
            active[number] = spans[number]
        for number in [n for n, span in active.items() if span[1] <= cuts[i]]:
            del active[number]
        length = cuts[i + 1] - cuts[i]
        if not active:
            last_top = None
            if rests == "token":
                events.append(((), length))
            continue
        if chords == "joined":
            events.append((tuple(sorted({span[2] for span in active.values()})), length))
            continue
        top = max(active, key=lambda n: (active[n][2], -n))
        if top == last_top:  # the same top note held on: lengthen its event
            pitches, previous = events[-1]
            events[-1] = (pitches, previous + length)
        else:
            events.append(((active[top][2],), length))
        last_top = top
    return events


def event_tokens(events: Sequence[tuple[tuple[int, ...], Fraction]], transposition: int = 0) -> tuple[list[str], list[str]]:
    """Events -> ``(pitch tokens, duration tokens)``, optionally transposed by ``transposition`` semitones.

    Raises:
        ValueError: The transposition moves a pitch outside MIDI 0..127.
    """
    pitch_tokens, duration_tokens = [], []
    for pitches, quarters in events:
        shifted = tuple(p + transposition for p in pitches)
        if any(not 0 <= p <= 127 for p in shifted):
            raise ValueError(f"transposition {transposition:+d} moves {pitches} outside MIDI 0..127")
        pitch_tokens.append(chord_token(shifted) if shifted else REST)
        duration_tokens.append(duration_token(quarters))
    return pitch_tokens, duration_tokens


def events_to_json(events) -> bytes:
    """Compact JSON bytes of events (``[[pitches], "p/q"], ...``), the encoder's worker payload."""
    return json.dumps([[list(p), str(q)] for p, q in events], separators=(",", ":")).encode("utf-8")


def events_from_json(payload: bytes) -> list[tuple[tuple[int, ...], Fraction]]:
    """Inverse of :func:`events_to_json`."""
    return [(tuple(p), Fraction(q)) for p, q in json.loads(payload.decode("utf-8"))]


def fits_transposition(events, transposition: int) -> bool:
    """Whether every pitch stays in MIDI 0..127 under ``transposition``."""
    pitches = [p for ps, _ in events for p in ps]
    return not pitches or (0 <= min(pitches) + transposition and max(pitches) + transposition <= 127)


# --------------------------------------------------------------------------- vocabularies


def _pitch_key(token: str):
    pitches = token_pitches(token)
    return (len(pitches) > 1, pitches)


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The pitch and duration token lists (index = model class).

    ``pitch[0] == "START"``, ``duration[0] == "0"`` (its duration), index 1 of both is ``<unk>``;
    then ``rest`` (if seen), single notes low to high, chords by their pitches; durations by length.
    """

    pitch: tuple[str, ...]
    duration: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "pitch", tuple(self.pitch))
        object.__setattr__(self, "duration", tuple(self.duration))
        if self.pitch[:2] != (START, UNK) or self.duration[:2] != (START_DURATION, UNK):
            raise ValueError("a vocabulary starts with START, <unk> (pitch) and 0, <unk> (duration)")
        for name, tokens in (("pitch", self.pitch), ("duration", self.duration)):
            if len(set(tokens)) != len(tokens):
                raise ValueError(f"the {name} vocabulary repeats a token")

    @property
    def sizes(self) -> tuple[int, int]:
        """``(pitch tokens, duration tokens)``, specials included."""
        return len(self.pitch), len(self.duration)

    def to_dict(self) -> dict:
        return {"pitch": list(self.pitch), "duration": list(self.duration), "start_index": START_INDEX, "unk_index": UNK_INDEX}

    @classmethod
    def from_dict(cls, data) -> "Vocabulary":
        return cls(tuple(data["pitch"]), tuple(data["duration"]))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Vocabulary":
        return cls.from_dict(json.loads(text))

    def _ids(self, tokens: Sequence[str], table: tuple[str, ...], what: str, unknown: str) -> list[int]:
        lookup = {token: index for index, token in enumerate(table)}
        ids = []
        for token in tokens:
            index = lookup.get(token)
            if index is None:
                if unknown == "error":
                    raise KeyError(f"{what} token {token!r} is not in the vocabulary (built from the training split)")
                index = UNK_INDEX
            ids.append(index)
        return ids

    def pitch_ids(self, tokens: Sequence[str], unknown: str = "unk") -> list[int]:
        """Token strings -> ids; unseen tokens -> ``<unk>`` (``unknown="error"``: ``KeyError``)."""
        return self._ids(tokens, self.pitch, "pitch", unknown)

    def duration_ids(self, tokens: Sequence[str], unknown: str = "unk") -> list[int]:
        """Duration token strings -> ids (see :meth:`pitch_ids`)."""
        return self._ids(tokens, self.duration, "duration", unknown)

    def single_note_ids(self) -> dict[int, int]:
        """``{MIDI pitch: pitch id}`` of the one-note tokens (the pitch heat map's rows)."""
        return {token_pitches(t)[0]: i for i, t in enumerate(self.pitch) if len(token_pitches(t)) == 1}


def build_vocabulary(sequences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> Vocabulary:
    """The vocabulary of ``(pitch tokens, duration tokens)`` sequences (the training split's)."""
    pitches, durations = set(), set()
    for pitch_tokens, duration_tokens in sequences:
        pitches.update(pitch_tokens)
        durations.update(duration_tokens)
    pitches -= {START, UNK}
    durations -= {START_DURATION, UNK}
    return Vocabulary(
        (START, UNK, *sorted(pitches, key=_pitch_key)),
        (START_DURATION, UNK, *sorted(durations, key=Fraction)),
    )


# --------------------------------------------------------------------------- decoding


def tokens_to_notes(pitch_tokens: Sequence[str], duration_tokens: Sequence[str], *, ticks_per_beat: int = 480,
                    velocity: int = 90, program: int = 42) -> np.ndarray:
    """Token streams -> :data:`mst.music.midi.NOTE_DTYPE` notes (each event's pitches for its duration).

    ``START``, ``<unk>`` and zero durations add nothing; ``rest`` advances time; an ``<unk>``
    duration counts as a quarter note. ``program`` 42 is General MIDI's cello.
    """
    from mst.music.midi import make_notes  # noqa: PLC0415

    starts, ends, pitches = [], [], []
    time = Fraction(0)
    for pitch_token, duration in zip(pitch_tokens, duration_tokens):
        if pitch_token == START or duration == START_DURATION:
            continue
        length = Fraction(1) if duration == UNK else token_duration(duration)
        begin, finish = round(time * ticks_per_beat), round((time + length) * ticks_per_beat)
        if finish > begin:
            for pitch in token_pitches(pitch_token):
                starts.append(begin)
                ends.append(finish)
                pitches.append(pitch)
        time += length
    return make_notes(starts, ends, pitches, velocity=velocity, program=program)
