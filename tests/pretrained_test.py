"""The CycleGAN that ships inside the package: present, loadable in safe mode, and used by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

from conftest import EMBEDDED_DIR
from mst.models.cyclegan import pretrained

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_files_are_in_the_package_and_small():
    generators = pretrained.shipped_generators()
    folder = generators.parent
    info = json.loads((folder / "export.json").read_text())
    assert (info["kind"], info["genre_a"], info["genre_b"]) == ("cyclegan", "classical", "pop")
    assert info["preset"] == "cyclegan_classical_pop_cpu_bce_content"
    for path in (generators, folder / "generator_b2a.keras", pretrained.shipped_classifier()):
        assert 0 < path.stat().st_size < 8 * 2**20, path  # weights only, no optimizer state
    card = (folder / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 3.0 DE" in card and "S_tot^D" in card
    with pytest.raises(pretrained.NoShippedModel, match="no shipped CycleGAN for 'jazz_pop'"):
        pretrained.shipped_generators("jazz_pop")


def test_shipped_generators_load_in_safe_mode_in_a_fresh_process():
    code = (
        "import keras, sys\n"
        "from mst import registry\n"
        "from mst.models.cyclegan import pretrained\n"
        "registry.register_keras_objects()\n"
        "g = keras.saving.load_model(pretrained.shipped_generators(), safe_mode=True)\n"
        "c = keras.saving.load_model(pretrained.shipped_classifier(), safe_mode=True)\n"
        "print(g.count_params(), tuple(g.output.shape), tuple(c.output.shape), sep='|')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "787808|(None, 64, 84, 1)|(None, 2)"  # width 16, 10 residual blocks


def test_transfer_script_uses_the_shipped_model_without_model_argument(tmp_path):
    source = EMBEDDED_DIR / "classical" / "bach_wtc1_prelude_bwv846.mid"
    out = tmp_path / "bach_pop.mid"
    run = subprocess.run(
        [sys.executable, str(ROOT / "transfer.py"), str(source), "--direction", "classical2pop", "--out", str(out), "--strict"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert "a2b (classical -> pop)" in run.stdout and "warning" not in run.stdout
    notes = [n for i in pretty_midi.PrettyMIDI(str(out)).instruments for n in i.notes]
    source_end = max(n.end for i in pretty_midi.PrettyMIDI(str(source)).instruments for n in i.notes)
    assert len(notes) > 200 and max(n.start for n in notes) < source_end
