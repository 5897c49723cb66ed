"""TFDS builder ``groove``: the Groove MIDI Dataset (MIDI-only) from a manual folder, with TFDS's configs and windowing.

The public ``groove`` builder of tensorflow-datasets (version 2.0.1) downloads
``groove-v1.0.0-midionly.zip`` from Google Cloud Storage; this one reads the unzipped release
from ``manual_dir`` instead (``<manual_dir>/info.csv`` and the ``drummerN/...`` MIDI files), so it
works offline and with any copy of the files (a re-zipped copy would not match TFDS's checksum).
It keeps the public builder's:

* configs ``full-midionly`` (default: one example per file), ``2bar-midionly`` and
  ``4bar-midionly`` (windows of N bars, hop one bar);
* features ``id``, ``drummer`` (ClassLabel ``drummer1``..``drummer10``), ``type`` (``beat``/``fill``),
  ``bpm`` (int32), ``time_signature`` (ClassLabel ``3-4, 4-4, 5-4, 5-8, 6-8``), ``style``
  (``primary`` ClassLabel of 18 styles, ``secondary`` text) and ``midi`` (the MIDI file's bytes);
* splits ``train``, ``validation``, ``test`` from ``info.csv``'s ``split`` column;
* windowing: bar length ``60 / bpm * numerator`` seconds, ``round(end_time / bar)`` bars
  (pretty_midi's ``get_end_time``, controllers included), ``total_bars - N + 1`` windows cut with
  pretty_midi's ``adjust_times`` (the time signatures of the file kept), ids ``<id>:<NNN>``.

The audio configs are not offered (no audio here). GrooVAE's tensors are computed from these
windows by ``python -m mst.prepare --encoding groove`` directly on the same files (it applies the
same windowing), so ``tfds.load`` is not needed for training.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

DRUMMERS = [f"drummer{i}" for i in range(1, 11)]
TYPES = ["beat", "fill"]
TIME_SIGNATURES = ["3-4", "4-4", "5-4", "5-8", "6-8"]
PRIMARY_STYLES = ["afrobeat", "afrocuban", "blues", "country", "dance", "funk", "gospel", "highlife", "hiphop", "jazz", "latin",
                  "middleeastern", "neworleans", "pop", "punk", "reggae", "rock", "soul"]
SPLITS = ("train", "validation", "test")
INFO_NAME = "info.csv"


class GrooveConfig(tfds.core.BuilderConfig):
    """``full`` (``split_bars=None``) or N-bar windows of the MIDI-only release."""

    def __init__(self, *, split_bars: int | None, **kwargs):
        name = f"{split_bars}bar-midionly" if split_bars else "full-midionly"
        super().__init__(name=name, **kwargs)
        self.split_bars = split_bars


def read_info(manual_dir) -> list[dict]:
    """The rows of ``info.csv``.

    Raises:
        FileNotFoundError: No ``info.csv`` (the message says what the folder must hold).
    """
    path = Path(manual_dir) / INFO_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: put the unzipped groove-v1.0.0-midionly release (info.csv and the drummerN "
                                "folders) into the manual folder")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def bar_duration(row: dict) -> float:
    """Seconds per bar: ``60 / bpm * numerator`` (TFDS's rule)."""
    return 60.0 / float(row["bpm"]) * int(row["time_signature"].split("-")[0])


def total_bars(midi, row: dict) -> int:
    """``round(end_time / bar)`` of a ``pretty_midi.PrettyMIDI``."""
    return int(round(midi.get_end_time() / bar_duration(row)))


def window_count(total: int, split_bars: int) -> int:
    """Windows of ``split_bars`` bars with hop one bar."""
    return max(0, total - split_bars + 1)


def base_features(row: dict) -> dict:
    style = row["style"].split("/")
    return {
        "id": row["id"],
        "drummer": row["drummer"],
        "type": row["beat_type"],
        "bpm": int(row["bpm"]),
        "time_signature": row["time_signature"],
        "style": {"primary": style[0], "secondary": style[1] if len(style) > 1 else ""},
    }


class Builder(tfds.core.GeneratorBasedBuilder):
    """The Groove MIDI Dataset, MIDI only (Gillick et al. 2019)."""

    VERSION = tfds.core.Version("2.0.1")
    RELEASE_NOTES = {"2.0.1": "Offline re-implementation of TFDS's groove 2.0.1 MIDI-only configs (manual folder)."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Unzip groove-v1.0.0-midionly.zip (https://magenta.tensorflow.org/datasets/groove) and point
    manual_dir at the `groove/` folder that holds info.csv and drummer1 ... drummer10.
    """
    BUILDER_CONFIGS = [
        GrooveConfig(split_bars=None, description="Full performances, one example per MIDI file."),
        GrooveConfig(split_bars=2, description="2-bar windows (hop one bar) of every performance."),
        GrooveConfig(split_bars=4, description="4-bar windows (hop one bar) of every performance (groovae_4bar's data)."),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "id": tfds.features.Text(),
                "drummer": tfds.features.ClassLabel(names=DRUMMERS),
                "type": tfds.features.ClassLabel(names=TYPES),
                "bpm": np.int32,
                "time_signature": tfds.features.ClassLabel(names=TIME_SIGNATURES),
                "style": tfds.features.FeaturesDict({"primary": tfds.features.ClassLabel(names=PRIMARY_STYLES), "secondary": tfds.features.Text()}),
                "midi": tfds.features.Tensor(shape=(), dtype=np.object_),
            }),
            homepage="https://g.co/magenta/groove-dataset",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = Path(str(dl_manager.manual_dir))
        rows = read_info(manual_dir)
        return {split: self._generate_examples(manual_dir, [r for r in rows if r["split"] == split]) for split in SPLITS}

    def _generate_examples(self, manual_dir: Path, rows: list[dict]):
        import pretty_midi  # noqa: PLC0415

        split_bars = self.builder_config.split_bars
        for row in rows:
            data = (manual_dir / row["midi_filename"]).read_bytes()
            features = base_features(row)
            if not split_bars:
                yield row["id"], {**features, "midi": data}
                continue
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
            bar = bar_duration(row)
            for index in range(window_count(total_bars(midi, row), split_bars)):
                window = copy.deepcopy(midi)
                window.adjust_times([index * bar, (index + split_bars) * bar], [0, split_bars * bar])
                window.time_signature_changes = midi.time_signature_changes
                buffer = io.BytesIO()
                window.write(buffer)
                yield f"{row['id']}:{index:03d}", {**features, "id": f"{row['id']}:{index:03d}", "midi": buffer.getvalue()}
