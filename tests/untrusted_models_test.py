"""SavedModels run graph ops when loaded and called: the commands load them only with --trust-saved-model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mst import export
from mst.runtime import import_tensorflow

tf = import_tensorflow()
ROOT = Path(__file__).resolve().parents[1]
SONG = sorted((ROOT / "mst" / "data" / "embedded" / "classical").glob("*.mid"))[0]


def crafted_saved_model(directory: Path, marker: Path) -> Path:
    """A SavedModel with CycleGAN-like endpoints that write ``marker`` whenever they are called."""

    class Crafted(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 64, 84, 1], tf.float32, name="phrases")])
        def a2b(self, phrases):
            tf.io.write_file(str(marker), "written by a SavedModel")
            return phrases

        @tf.function(input_signature=[tf.TensorSpec([None, 64, 84, 1], tf.float32, name="phrases")])
        def b2a(self, phrases):
            tf.io.write_file(str(marker), "written by a SavedModel")
            return phrases

    module = Crafted()
    tf.saved_model.save(module, str(directory), signatures={"a2b": module.a2b, "b2a": module.b2a})
    return directory


@pytest.fixture(autouse=True)
def library_default():
    yield
    export.trust_saved_models(True)


def test_transfer_refuses_a_saved_model_without_the_flag(tmp_path):
    marker = tmp_path / "pwned.txt"
    model = crafted_saved_model(tmp_path / "crafted", marker)
    command = [sys.executable, str(ROOT / "transfer.py"), str(SONG), "--model", str(model), "--direction", "a2b", "--out", str(tmp_path / "out.mid")]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert "is a SavedModel" in refused.stderr and "--trust-saved-model" in refused.stderr
    assert not marker.exists() and not (tmp_path / "out.mid").exists()


def test_the_policy_is_enforced_by_the_one_loader(tmp_path):
    model = crafted_saved_model(tmp_path / "crafted", tmp_path / "marker.txt")
    export.trust_saved_models(False)
    with pytest.raises(export.UntrustedSavedModelError, match="runs the TensorFlow ops it contains"):
        export.load_saved_model(model)
    export.trust_saved_models(True)
    assert hasattr(export.load_saved_model(model), "a2b")  # library default: the caller chose the path


def test_an_export_folder_loads_its_keras_files_when_saved_models_are_not_trusted(tmp_path):
    from mst import registry
    from mst.models.cyclegan import cyclegan_export
    from mst.models.cyclegan.cyclegan import build_cyclegan
    from mst.models.genre_classifier import genre_classifier_export
    from mst.models.genre_classifier.genre_classifier import build_classifier_for

    config = registry.get_config("cyclegan_tiny", ["generator_residual_blocks=1"])
    export_dir = cyclegan_export.export_cyclegan(build_cyclegan(config), tmp_path / "export", config=config)
    classifier_config = registry.get_config("classifier_tiny")
    classifier_dir = genre_classifier_export.export_classifier(build_classifier_for(classifier_config), tmp_path / "clf", config=classifier_config)
    export.trust_saved_models(False)
    pair = cyclegan_export.load_generators(export_dir)
    assert pair.kind == "keras" and set(dict(pair)) == {"a2b", "b2a"} and all(dict(pair).values())
    assert genre_classifier_export.load_classifier(classifier_dir).kind == "keras"
    export.trust_saved_models(True)
    assert cyclegan_export.load_generators(export_dir).kind == "saved_model"
