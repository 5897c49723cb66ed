"""Tests of mst.layers: instance norm, reflection padding, residual block, ToSigned, seeds."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mst.encodings import pianoroll
from mst.layers import (
    InstanceNormalization,
    ReflectionPadding2D,
    ResidualBlock,
    ToSigned,
    conv_kernel_initializer,
    derive_seed,
)

SAVE_WARNING = "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_instance_norm_matches_numpy_reference():
    x = rand(3, 5, 7, 4) * 3 + 2
    layer = InstanceNormalization(seed=1)
    y = np.asarray(layer(x))
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    # statistics are per sample and channel: changing one sample does not change another
    x2 = x.copy()
    x2[0] *= 10
    np.testing.assert_allclose(np.asarray(layer(x2))[1:], y[1:], rtol=1e-5, atol=1e-6)


def test_instance_norm_weights_initialisation_and_epsilon():
    layer = InstanceNormalization(seed=3)
    layer.build((None, 8, 8, 4096))
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert layer.count_params() == 2 * 4096
    gamma = layer.gamma.numpy()
    assert abs(gamma.mean() - 1.0) < 0.002 and abs(gamma.std() - 0.02) < 0.002  # N(1, 0.02)
    np.testing.assert_array_equal(layer.beta.numpy(), 0.0)
    constant = np.ones((1, 4, 4, 1), "float32")  # zero variance: epsilon keeps it finite
    out = np.asarray(InstanceNormalization(gamma_initializer="ones")(constant))
    np.testing.assert_array_equal(out, 0.0)
    with pytest.raises(ValueError):
        InstanceNormalization().build((None, 4, 4))
    plain = InstanceNormalization(center=False, scale=False)
    plain.build((None, 4, 4, 3))
    assert plain.count_params() == 0


def test_instance_norm_seeds_give_reproducible_distinct_scales():
    def gamma(seed):
        layer = InstanceNormalization(seed=seed)
        layer.build((None, 2, 2, 64))
        return layer.gamma.numpy()

    np.testing.assert_array_equal(gamma(5), gamma(5))
    assert not np.array_equal(gamma(5), gamma(6))
    assert not np.array_equal(gamma(None), gamma(None))  # unseeded: one fresh draw per layer


def test_reflection_padding_matches_numpy():
    x = rand(2, 5, 6, 3)
    for padding, np_pad in [(1, ((1, 1), (1, 1))), ((2, 3), ((2, 2), (3, 3))), (((1, 2), (0, 3)), ((1, 2), (0, 3)))]:
        layer = ReflectionPadding2D(padding)
        y = np.asarray(layer(x))
        np.testing.assert_array_equal(y, np.pad(x, ((0, 0), *np_pad, (0, 0)), mode="reflect"))
        assert layer.compute_output_shape((None, 5, 6, 3)) == (None, 5 + sum(np_pad[0]), 6 + sum(np_pad[1]), 3)
        assert ReflectionPadding2D.from_config(layer.get_config()).padding == layer.padding
    assert ReflectionPadding2D(3).compute_output_shape((None, 64, 84, 1)) == (None, 70, 90, 1)
    with pytest.raises(ValueError):
        ReflectionPadding2D(3)(rand(1, 3, 8, 1))  # reflection needs size > padding
    with pytest.raises(ValueError):
        ReflectionPadding2D(-1)


def test_residual_block_authors_variant_and_reference_variant():
    x = rand(2, 6, 7, 8)
    block = ResidualBlock(8, seed=11)
    y = np.asarray(block(x))
    # recompute with the block's own sub-layers
    h = np.maximum(np.asarray(block.norm1(block.conv1(block.pad1(x)))), 0)
    h = np.asarray(block.norm2(block.conv2(block.pad2(h))))
    np.testing.assert_allclose(y, np.maximum(h + x, 0), rtol=1e-5, atol=1e-5)
    assert y.min() >= 0  # ReLU after the addition
    reference = ResidualBlock(8, relu_after_add=False, seed=11)
    y_ref = np.asarray(reference(x))
    np.testing.assert_allclose(y_ref, h + x, rtol=1e-5, atol=1e-5)  # same seed -> same weights
    assert y_ref.min() < 0


def test_residual_block_tracks_every_weight_and_is_deterministic():
    block = ResidualBlock(16, seed=2)
    block.build((None, 4, 5, 16))
    assert len(block.trainable_weights) == 6 and block.non_trainable_weights == []
    assert block.count_params() == 2 * 3 * 3 * 16 * 16 + 4 * 16
    assert block.conv1.use_bias is False and block.conv2.use_bias is False
    k1, k2 = block.conv1.kernel.numpy(), block.conv2.kernel.numpy()
    assert not np.array_equal(k1, k2), "the two convolutions must not share an initial kernel"
    assert np.abs(k1).max() <= 0.04 + 1e-6  # truncated at 2 std
    x = rand(3, 4, 5, 16)
    np.testing.assert_array_equal(np.asarray(block(x)), np.asarray(block(x)))
    with pytest.raises(ValueError, match="input channels"):
        ResidualBlock(8)(rand(1, 4, 4, 4))
    with pytest.raises(ValueError):
        ResidualBlock(8, kernel_size=4)


def test_derive_seed_and_fresh_initializers():
    seeds = {derive_seed(19, "generator_a2b", f"layer{i}") for i in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(19, "a") == derive_seed(19, "a") != derive_seed(20, "a")
    assert derive_seed(None, "a") is None
    init_a, init_b = conv_kernel_initializer(1), conv_kernel_initializer(2)
    assert init_a is not init_b
    a = np.asarray(init_a((64, 64)))
    assert abs(a.std() - 0.0176) < 0.002 and np.abs(a).max() <= 0.04 + 1e-6
    assert not np.array_equal(a, np.asarray(init_b((64, 64))))


def test_to_signed_uses_the_pianoroll_mapping():
    x = np.array([[0.0, 1.0, 0.25]], "float32")
    np.testing.assert_array_equal(np.asarray(ToSigned()(x)), pianoroll.to_signed(x))
    np.testing.assert_array_equal(np.asarray(ToSigned()(x)), [[-1.0, 1.0, -0.5]])


@pytest.mark.parametrize(
    "layer",
    [
        InstanceNormalization(epsilon=1e-3, center=False, seed=4),
        ReflectionPadding2D(((1, 2), (3, 0))),
        ResidualBlock(4, kernel_size=5, relu_after_add=False, epsilon=1e-4, seed=9),
        ToSigned(),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_get_config_round_trip_has_every_argument(layer):
    import inspect

    config = layer.get_config()
    params = [p for p in inspect.signature(type(layer).__init__).parameters if p not in ("self", "kwargs")]
    assert set(params) <= set(config)
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # registered under the package "mst"
    assert keras.saving.get_registered_name(type(layer)) == f"mst>{type(layer).__name__}"


@pytest.mark.filterwarnings(SAVE_WARNING)
def test_model_with_all_layers_saves_and_loads_in_safe_mode(tmp_path):
    inputs = keras.Input((8, 9, 4))
    x = ToSigned()(inputs)
    x = ReflectionPadding2D(1)(x)
    x = keras.layers.Conv2D(4, 3, use_bias=False)(x)
    x = InstanceNormalization(seed=1)(x)
    x = ResidualBlock(4, seed=2)(x)
    x = ResidualBlock(4, relu_after_add=False, seed=3)(x)
    model = keras.Model(inputs, x)
    for w in model.trainable_weights:  # make sure loading restores values, not re-initialises
        w.assign(w.numpy() + np.random.default_rng(0).normal(0, 0.1, w.shape).astype("float32"))
    data = rand(2, 8, 9, 4)
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(np.asarray(loaded(data)), np.asarray(model(data)))
    assert len(loaded.trainable_weights) == len(model.trainable_weights) == 1 + 2 + 6 + 6
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded._flatten_layers())
