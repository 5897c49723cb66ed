"""TFDS builder ``genre_pianoroll``: two genres' MIDI folders -> labelled 64 x 84 pianoroll phrases.

A thin wrapper over the library: files are found, filtered and cut by
``mst.records.prepare_driver.collect_partitions`` with the pianoroll phrase encoder (which calls
``mst.encodings.pianoroll_extract.extract_song``), and split song by song by
``mst.records.prepare_driver.split_partition`` (``mst.records.splits.assign_splits``), exactly as
``python -m mst.prepare`` does, so with the same phrase options, seed and test ratio ``tfds.load``
serves the same phrases as the CLI's shards.

Manual data: ``<manual_dir>/<genre>/**/*.mid`` for the two genres of the config.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from mst.encodings.pianoroll import NUM_PITCHES, PHRASE_STEPS
from mst.records import prepare_driver
from mst.records import splits as mst_splits
from mst.records.pianoroll_examples import unpack_rolls
from mst.records.pianoroll_phrase_encoder import PianorollPhraseEncoder, make_phrase_options

# The paper's pairs, in the paper's order (A is the first genre).
GENRE_PAIRS = (("jazz", "classical"), ("classical", "pop"), ("jazz", "pop"))


class GenrePianorollConfig(tfds.core.BuilderConfig):
    """One genre pair plus the preparation settings that decide which phrases exist.

    Attributes:
        genre_a: First genre (label 0), e.g. ``jazz``.
        genre_b: Second genre (label 1), e.g. ``classical``.
        time_signature_policy: ``strict`` | ``in_effect`` | ``beat_grid`` (``None``: the library default).
        phrase_multiple: Trim each song's phrase count to a multiple of this (``None``: library default).
        split_seed: Song-level split seed.
        test_ratio: Fraction of songs in the test split.
    """

    def __init__(
        self,
        *,
        genre_a: str,
        genre_b: str,
        time_signature_policy: str | None = None,
        phrase_multiple: int | None = None,
        split_seed: int = mst_splits.DEFAULT_SEED,
        test_ratio: float = mst_splits.DEFAULT_TEST_RATIO,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.genre_a = genre_a
        self.genre_b = genre_b
        self.time_signature_policy = time_signature_policy
        self.phrase_multiple = phrase_multiple
        self.split_seed = split_seed
        self.test_ratio = test_ratio

    @property
    def genres(self) -> tuple[str, str]:
        """``(genre_a, genre_b)``."""
        return (self.genre_a, self.genre_b)

    def phrase_options(self):
        """The ``mst.encodings.pianoroll_extract.PhraseOptions`` of this config."""
        return make_phrase_options(self.time_signature_policy, self.phrase_multiple)


LICENSE = (
    "The builder code is Apache-2.0 (mst). The phrases are derived from the MIDI files you put in "
    "manual_dir and keep their licenses; with the open corpora named in the README: POP909 (MIT), "
    "piano-midi.de (CC BY-SA 3.0 DE, attribution Bernd Krueger, share-alike), Weimar Jazz Database "
    "(ODbL 1.0)."
)
"""``DatasetInfo.license`` (TFDS writes it to ``LICENSE`` beside the build)."""


def skip_report(extractions) -> str:
    """Kept / skipped files per genre with every skipped file and its reason (``mst.prepare``'s report)."""
    lines = []
    for genre, extraction in extractions.items():
        lines.append(f"genre_pianoroll: {genre}: {len(extraction.kept)} of {len(extraction.results)} MIDI files kept, "
                     f"{len(extraction.skipped)} skipped ({extraction.source_dir})")
        lines += [f"  skipped {result.song_id}: {result.encoded.reason}: {result.encoded.detail}" for result in extraction.skipped]
    return "\n".join(lines)


class Builder(tfds.core.GeneratorBasedBuilder):
    """Pianoroll phrases of a genre pair (Brunner et al. 2018 preprocessing)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: mst.encodings.pianoroll_extract phrases, song-level sha256 split."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Put one folder of MIDI files per genre into the manual folder (searched recursively,
    *.mid / *.midi in any case):

        <manual_dir>/jazz/...
        <manual_dir>/classical/...
        <manual_dir>/pop/...

    Only the two genres of the chosen config are read. With the staged open data this is, e.g.,
    jazz = wjazzd_solos/midi, classical = piano_midi_de/midis, pop = pop909/midi (symlinks work).
    """
    BUILDER_CONFIGS = [
        GenrePianorollConfig(
            name=f"{genre_a}_{genre_b}",
            description=f"A = {genre_a} (label 0), B = {genre_b} (label 1); strict 4/4 filter.",
            genre_a=genre_a,
            genre_b=genre_b,
        )
        for genre_a, genre_b in GENRE_PAIRS
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "roll": tfds.features.Tensor(
                        shape=(PHRASE_STEPS, NUM_PITCHES, 1), dtype=np.bool_, encoding=tfds.features.Encoding.ZLIB
                    ),
                    "label": tfds.features.ClassLabel(names=list(self.builder_config.genres)),
                    "song_id": tfds.features.Text(),
                    "phrase_index": np.int64,
                }
            ),
            supervised_keys=("roll", "label"),
            homepage="https://arxiv.org/abs/1809.07575",
            license=LICENSE,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        """Encodes the manual folder's genres like ``mst.prepare`` and reports every skipped file."""
        config = self.builder_config
        manual_dir = Path(str(dl_manager.manual_dir))
        missing = [genre for genre in config.genres if not (manual_dir / genre).is_dir()]
        if missing:
            raise prepare_driver.PrepareError(
                f"manual folder {manual_dir} has no sub-folder for {', '.join(missing)}; "
                f"expected {', '.join(f'{manual_dir}/{genre}/' for genre in config.genres)}"
            )
        extractions = prepare_driver.collect_partitions(
            {genre: manual_dir / genre for genre in config.genres}, PianorollPhraseEncoder(config.phrase_options())
        )
        print(skip_report(extractions), file=sys.stderr, flush=True)
        genre_splits = {
            genre: prepare_driver.split_partition(extraction, seed=config.split_seed, test_ratio=config.test_ratio)
            for genre, extraction in extractions.items()
        }
        return {split: self._generate_examples(genre_splits, split) for split in mst_splits.SPLITS}

    def _generate_examples(self, genre_splits, split: str):
        for label, genre in enumerate(self.builder_config.genres):
            for example in genre_splits[genre].examples[split]:
                roll = unpack_rolls(np.frombuffer(example.payload, dtype=np.uint8)[None])[0]
                yield f"{genre}/{example.song_id}/{example.index}", {
                    "roll": roll[..., None],
                    "label": label,
                    "song_id": example.song_id,
                    "phrase_index": example.index,
                }
