"""Packaging and conventions: `.keras` files load after `import mst` alone, installed commands, extras.

The fresh-process checks run a new interpreter per case, so no registration done by the test
process (or by an earlier test) can hide a missing one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

LOAD_EVERY_FILE = """
import json, sys
{imports}
paths = json.loads(sys.argv[1])
loaded = {{}}
for path in paths:
    model = keras.saving.load_model(path, safe_mode=True)
    loaded[path] = type(model).__name__
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def every_keras_file_kind(tmp_path_factory) -> dict[str, Path]:
    """One `.keras` file of every kind mst exports: a compiled CycleGAN with its optimizers'
    schedule, its generators, a compiled classifier, and the shipped files."""
    from mst import registry
    from mst.models.cyclegan import cyclegan_export, pretrained
    from mst.models.cyclegan.cyclegan_task import build_compiled_cyclegan
    from mst.models.genre_classifier import genre_classifier_export
    from mst.models.genre_classifier.genre_classifier_task import build_compiled_classifier

    root = tmp_path_factory.mktemp("kinds")
    cyclegan_config = registry.get_config("cyclegan_tiny", ["generator_residual_blocks=1"])
    cyclegan_dir = cyclegan_export.export_cyclegan(build_compiled_cyclegan(cyclegan_config, steps_per_epoch=3), root / "cyclegan", config=cyclegan_config)
    classifier_config = registry.get_config("classifier_tiny")
    classifier_dir = genre_classifier_export.export_classifier(build_compiled_classifier(classifier_config, steps_per_epoch=3), root / "classifier", config=classifier_config)
    from mst.models.musegan import musegan_export
    from mst.models.musegan.musegan import build_musegan
    from mst.models.music_vae import music_vae_export
    from mst.models.music_vae.music_vae import build_music_vae

    musegan_config = registry.get_config("musegan_tiny")
    musegan_dir = musegan_export.export_musegan(build_musegan(musegan_config), root / "musegan", config=musegan_config)
    files_of_new_families = {
        "musegan generator": musegan_dir / musegan_export.GENERATOR_FILE_NAME,
        "musegan critic": musegan_dir / musegan_export.CRITIC_FILE_NAME,
    }
    from mst.models.attention_rnn.attention_rnn import build_attention_rnn_for

    attention_rnn = build_attention_rnn_for(registry.get_config("attention_rnn_tiny"), (12, 5))
    attention_rnn.save(root / "attention_rnn.keras")  # what attention_rnn_export writes beside its SavedModel
    files_of_new_families["attention_rnn"] = root / "attention_rnn.keras"
    for preset in ("groovae_tiny", "hierdec_tiny"):
        config = registry.get_config(preset)
        folder = music_vae_export.export_music_vae(build_music_vae(config), root / preset, config=config)
        files_of_new_families[f"music_vae {preset}"] = folder / music_vae_export.KERAS_FILE_NAME
    files = {
        **files_of_new_families,
        "cyclegan (compiled, with schedule)": cyclegan_dir / cyclegan_export.CYCLEGAN_FILE_NAME,
        "generator": cyclegan_dir / cyclegan_export.GENERATOR_FILE_NAMES["a2b"],
        "classifier (compiled)": classifier_dir / genre_classifier_export.CLASSIFIER_FILE_NAME,
        "shipped generator": pretrained.shipped_generators(),
        "shipped classifier": pretrained.shipped_classifier(),
    }
    for name, path in files.items():
        assert path.is_file(), f"{name}: {path} was not written"
    return files


@pytest.mark.slow
@pytest.mark.parametrize(
    "imports",
    ["import mst\nimport keras", "import keras\nimport mst", "import mst.layers\nimport keras"],
    ids=["mst-then-keras", "keras-then-mst", "a-submodule-first"],
)
def test_every_keras_file_loads_after_import_mst_in_a_fresh_process(every_keras_file_kind, imports, tmp_path):
    paths = [str(path) for path in every_keras_file_kind.values()]
    completed = subprocess.run(
        [sys.executable, "-c", LOAD_EVERY_FILE.format(imports=imports), json.dumps(paths)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert sorted(loaded) == sorted(paths)
    assert loaded[str(every_keras_file_kind["cyclegan (compiled, with schedule)"])] == "CycleGAN"


def test_import_mst_alone_imports_neither_keras_nor_tensorflow(tmp_path):
    code = "import sys, mst, mst.config, mst.registry; print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_tensorflow_comes_from_exactly_one_extra():
    def names(requirements):
        return {requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower() for requirement in requirements}

    project = PYPROJECT["project"]
    assert not names(project["dependencies"]) & {"tensorflow", "tensorflow-cpu"}, "the base install must not pick a TensorFlow"
    extras = project["optional-dependencies"]
    assert names(extras["cpu"]) == {"tensorflow-cpu", "tensorflow"}  # tensorflow only on macOS (no -cpu wheel there)
    assert all("Darwin" in r for r in extras["cpu"] if r.startswith("tensorflow>"))
    assert names(extras["gpu"]) == {"tensorflow"} and all("and-cuda" in r for r in extras["gpu"])


def test_installed_commands_point_at_importable_mains():
    import importlib

    scripts = PYPROJECT["project"]["scripts"]
    assert {"mst-prepare", "mst-train", "mst-transfer", "mst-evaluate", "mst-generate", "mst-demo"} <= set(scripts)
    for command, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), command


@pytest.mark.parametrize("name", ["train", "transfer", "evaluate", "generate"])
def test_top_level_scripts_and_modules_run_the_same_code(name, tmp_path):
    """`python NAME.py --help` and `python -m mst.cli.NAME --help` print the same help."""
    script = subprocess.run([sys.executable, str(ROOT / f"{name}.py"), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    module = subprocess.run([sys.executable, "-m", f"mst.cli.{name}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert script.returncode == module.returncode == 0, script.stderr + module.stderr
    assert script.stdout == module.stdout and "usage" in script.stdout.lower()


def test_license_metadata_is_spdx_and_names_the_data_licenses():
    project = PYPROJECT["project"]
    assert isinstance(project["license"], str) and project["license"].startswith("Apache-2.0")
    for term in ("MIT", "CC-BY-SA-3.0-DE", "ODbL-1.0", "CC-BY-4.0"):  # POP909, piano-midi.de, Weimar Jazz Database, Groove MIDI Dataset
        assert term in project["license"]
    for path in project["license-files"]:
        assert list(ROOT.glob(path)), path
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert any(c.startswith("Topic :: Multimedia :: Sound/Audio") for c in project["classifiers"])
