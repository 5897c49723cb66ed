"""MuseGAN's generator (Foster ch. 7): temporal networks, bar generators and the 4-noise generator.

Noise inputs (all N(0, 1)): ``chords`` ``[z]`` (shared by the tracks, varies over the bars through
a temporal network), ``style`` ``[z]`` (shared, constant over the bars), ``melody``
``[tracks, z]`` (per track, varies over the bars through one temporal network per track) and
``groove`` ``[tracks, z]`` (per track, constant). For bar ``b`` and track ``t`` the bar generator
of track ``t`` gets ``[chords_t[b], style, melody_t[t][b], groove[t]]`` (4 z values) and draws
one bar ``[1, 16, 84, 1]`` (tanh); tracks are stacked on the last axis, bars on axis 1 ->
``[bars, 16, 84, tracks]``.

With the book's sizes (z 32, 2 bars, 4 tracks): temporal network 103,584 parameters, bar
generator 1,521,921, generator 6,605,604 of which 28,992 are BatchNorm moving statistics.
Every convolution kernel is N(0, 0.02) (the Dense layer keeps Keras' default, as the book);
BatchNorm momentum 0.9.

The book slices tensors with ``Lambda(lambda x: x[:, track, :])`` inside loops; under Keras 3 every
such Lambda would see the last loop value, and Lambda layers do not load in safe mode. The
registered :class:`SelectIndex` layer replaces them.

Example:
>>> net = build_temporal_network(z_dim=32, n_bars=2)
>>> net.count_params(), tuple(net.output.shape)
(103584, (None, 2, 32))
>>> build_bar_generator(z_dim=32).count_params()
1521921
"""

from __future__ import annotations

import keras
from keras import layers, ops

from mst.layers import derive_seed

KERNEL_STDDEV = 0.02
NOISE_NAMES = ("chords", "style", "melody", "groove")
"""The generator's inputs, in call order."""


def kernel_initializer(seed, *keys: str):
    """A fresh N(0, 0.02) initializer (the book's ``RandomNormal(mean=0., stddev=0.02)``)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=KERNEL_STDDEV, seed=derive_seed(seed, *keys))


@keras.saving.register_keras_serializable(package="mst")
class SelectIndex(layers.Layer):
    """``x[..., index, ...]`` along ``axis`` (the axis is removed); replaces the book's slicing Lambdas.

    Example:
    >>> import numpy as np
    >>> SelectIndex(1, axis=1)(np.arange(6, dtype="float32").reshape(1, 3, 2)).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, index: int, axis: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)
        self.axis = int(axis)

    def call(self, inputs):
        return ops.take(inputs, self.index, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        del shape[self.axis]
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "index": self.index, "axis": self.axis}


def _bn(momentum: float, name: str):
    return layers.BatchNormalization(momentum=momentum, name=name)


def build_temporal_network(z_dim: int = 32, n_bars: int = 2, *, filters: int = 1024, momentum: float = 0.9, seed: int | None = None, name: str = "temporal_network") -> keras.Model:
    """z ``[z_dim]`` -> ``[n_bars, z_dim]``: two transposed convolutions over time (book: 103,584 parameters)."""
    z = keras.Input((z_dim,), name=f"{name}_z")
    x = layers.Reshape((1, 1, z_dim))(z)
    x = layers.Conv2DTranspose(filters, (2, 1), padding="valid", kernel_initializer=kernel_initializer(seed, name, "convt1"), name=f"{name}_convt1")(x)
    x = layers.ReLU()(_bn(momentum, f"{name}_bn1")(x))
    x = layers.Conv2DTranspose(z_dim, (n_bars - 1, 1), padding="valid", kernel_initializer=kernel_initializer(seed, name, "convt2"), name=f"{name}_convt2")(x)
    x = layers.ReLU()(_bn(momentum, f"{name}_bn2")(x))
    return keras.Model(z, layers.Reshape((n_bars, z_dim))(x), name=name)


def build_bar_generator(
    z_dim: int = 32,
    *,
    steps_per_bar: int = 16,
    n_pitches: int = 84,
    units: int = 1024,
    filters: tuple[int, ...] = (512, 256, 256, 256),
    momentum: float = 0.9,
    seed: int | None = None,
    name: str = "bar_generator",
) -> keras.Model:
    """``[4 * z_dim]`` -> one bar ``[1, 16, 84, 1]`` in (-1, 1) (book: 1,521,921 parameters)."""
    if steps_per_bar != 16 or n_pitches != 84:
        raise ValueError(f"the bar generator is built for 16 steps x 84 pitches, got {steps_per_bar} x {n_pitches}")
    z = keras.Input((4 * z_dim,), name=f"{name}_input")
    x = layers.Dense(units, name=f"{name}_dense")(z)
    x = layers.ReLU()(_bn(momentum, f"{name}_bn0")(x))
    x = layers.Reshape((2, 1, units // 2))(x)
    shapes = [((2, 1), (2, 1)), ((2, 1), (2, 1)), ((2, 1), (2, 1)), ((1, 7), (1, 7))]
    for index, (count, (kernel, strides)) in enumerate(zip(filters, shapes), start=1):
        x = layers.Conv2DTranspose(count, kernel, strides=strides, padding="same",
                                   kernel_initializer=kernel_initializer(seed, name, f"convt{index}"), name=f"{name}_convt{index}")(x)
        x = layers.ReLU()(_bn(momentum, f"{name}_bn{index}")(x))
    x = layers.Conv2DTranspose(1, (1, 12), strides=(1, 12), padding="same", activation="tanh",
                               kernel_initializer=kernel_initializer(seed, name, "convt_out"), name=f"{name}_convt_out")(x)
    return keras.Model(z, layers.Reshape((1, steps_per_bar, n_pitches, 1))(x), name=name)


def build_generator(config, seed: int | None = None) -> keras.Model:
    """The 4-noise generator of a :class:`~mst.models.musegan.musegan_presets.MuseGANConfig`.

    Inputs ``chords [z]``, ``style [z]``, ``melody [tracks, z]``, ``groove [tracks, z]``; output
    ``[bars, 16, 84, tracks]`` in (-1, 1).
    """
    seed = config.seed if seed is None else seed
    z, bars, tracks, momentum = config.z_dim, config.n_bars, config.n_tracks, config.batch_norm_momentum
    chords = keras.Input((z,), name="chords")
    style = keras.Input((z,), name="style")
    melody = keras.Input((tracks, z), name="melody")
    groove = keras.Input((tracks, z), name="groove")

    def temporal(name):
        return build_temporal_network(z, bars, filters=config.temporal_filters, momentum=momentum, seed=seed, name=name)

    chords_over_time = temporal("temporal_chords")(chords)
    melody_over_time = [temporal(f"temporal_melody_{t}")(SelectIndex(t, axis=1, name=f"melody_track_{t}")(melody)) for t in range(tracks)]
    bar_generators = [
        build_bar_generator(z, steps_per_bar=config.steps_per_bar, n_pitches=config.n_pitches, units=config.bar_units,
                            filters=config.bar_filters, momentum=momentum, seed=seed, name=f"bar_generator_{t}")
        for t in range(tracks)
    ]
    grooves = [SelectIndex(t, axis=1, name=f"groove_track_{t}")(groove) for t in range(tracks)]
    bar_outputs = []
    for b in range(bars):
        chord_b = SelectIndex(b, axis=1, name=f"chords_bar_{b}")(chords_over_time)
        track_outputs = []
        for t in range(tracks):
            melody_b = SelectIndex(b, axis=1, name=f"melody_{t}_bar_{b}")(melody_over_time[t])
            z_input = layers.Concatenate(axis=1, name=f"z_bar_{b}_track_{t}")([chord_b, style, melody_b, grooves[t]])
            track_outputs.append(bar_generators[t](z_input))
        bar_outputs.append(layers.Concatenate(axis=-1, name=f"bar_{b}")(track_outputs) if tracks > 1 else track_outputs[0])
    output = layers.Concatenate(axis=1, name="bars")(bar_outputs)
    return keras.Model([chords, style, melody, groove], output, name="generator")
