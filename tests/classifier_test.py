"""Tests of mst.models.genre_classifier.genre_classifier.

The genre classifier of docs/reference/cyclegan.md#classifier-architecture.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mst.encodings import pianoroll
from mst.layers import InstanceNormalization, ToSigned
from mst.models.genre_classifier.genre_classifier import build_genre_classifier


def test_full_size_parameter_count_layers_and_shapes():
    model = build_genre_classifier(seed=1)
    assert model.count_params() == 1_156_608
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 1_156_608
    assert model.non_trainable_weights == []
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert [(l.kernel_size, l.strides, l.filters, l.use_bias) for l in convs] == [
        ((1, 12), (1, 12), 64, False),
        ((4, 1), (4, 1), 128, False),
        ((2, 1), (2, 1), 256, False),
        ((8, 1), (8, 1), 512, False),
        ((1, 7), (1, 7), 2, False),
    ]
    assert [tuple(l.output.shape[1:]) for l in convs] == [(64, 7, 64), (16, 7, 128), (8, 7, 256), (1, 7, 512), (1, 1, 2)]
    norms = [l for l in model.layers if isinstance(l, InstanceNormalization)]
    assert [l.name for l in norms] == ["norm2", "norm3", "norm4"]  # IN on the middle three only
    assert sum(l.count_params() for l in norms) == 2 * (128 + 256 + 512)
    lrelus = [l for l in model.layers if isinstance(l, keras.layers.LeakyReLU)]
    assert len(lrelus) == 4 and all(l.negative_slope == pytest.approx(0.2) for l in lrelus)
    assert tuple(model.input.shape) == (None, 64, 84, 1) and tuple(model.output.shape) == (None, 2)
    kernels = [l.kernel.numpy().ravel()[:8].tobytes() for l in convs]
    assert len(set(kernels)) == len(kernels)


def test_model_scales_its_own_input_to_signed():
    model = build_genre_classifier(filters=4, seed=2)
    assert isinstance(model.layers[1], ToSigned)
    x = (np.random.default_rng(0).random((3, 64, 84, 1)) < 0.2).astype("float32")
    # the layers after ToSigned, fed the signed roll directly, give the same logits
    rest = keras.Model(model.get_layer("conv1").input, model.output)
    np.testing.assert_allclose(np.asarray(rest(pianoroll.to_signed(x))), np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert not np.allclose(np.asarray(rest(x)), np.asarray(model(x)))


def test_learns_a_separable_toy_problem():
    """Class 0 plays in the lowest octave, class 1 in the highest: a few Adam steps separate them."""
    rng = np.random.default_rng(1)
    x = np.zeros((32, 64, 84, 1), "float32")
    y = np.repeat([0, 1], 16)
    for i in range(32):
        lo = 0 if y[i] == 0 else 72
        x[i, :, lo : lo + 12, 0] = rng.random((64, 12)) < 0.3
    model = build_genre_classifier(filters=4, seed=3)
    model.compile(keras.optimizers.Adam(1e-2, beta_1=0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=8, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_keras_round_trip_safe_mode(tmp_path):
    model = build_genre_classifier(filters=4, seed=4, name="clf")
    for w in model.trainable_weights:
        w.assign(w.numpy() * 1.5 + 0.01)
    path = tmp_path / "clf.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = (np.random.default_rng(2).random((2, 64, 84, 1)) < 0.2).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert loaded.name == "clf"


def test_seeds_and_validation():
    x = (np.random.default_rng(3).random((1, 64, 84, 1)) < 0.2).astype("float32")
    a = np.asarray(build_genre_classifier(filters=2, seed=5)(x))
    np.testing.assert_array_equal(a, np.asarray(build_genre_classifier(filters=2, seed=5)(x)))
    assert not np.array_equal(a, np.asarray(build_genre_classifier(filters=2, seed=6)(x)))
    with pytest.raises(ValueError):
        build_genre_classifier(filters=0)
