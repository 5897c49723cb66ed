"""MuseGAN's critic (Foster ch. 7): Conv3D layers over (bars, steps, pitches) with the tracks as channels.

Input ``[bars, 16, 84, tracks]`` in [-1, 1]; output one unbounded score (WGAN critic). Every Conv3D
has an N(0, 0.02) kernel and is followed by LeakyReLU (slope 0.3, the Keras default the book
relied on): bars (kernel 2, valid; then n_bars - 1, valid), pitch 84 -> 7 -> 1 (kernels 12 and 7,
strided), steps 16 -> 8 -> 4 -> 2 -> 1; flatten, Dense 1024 + LeakyReLU, Dense 1.
With the book's sizes: 1,446,401 parameters.

Example:
>>> from mst.models.musegan.musegan_presets import PRESETS
>>> build_critic(PRESETS["musegan_jsb"]).count_params()
1446401
"""

from __future__ import annotations

import keras
from keras import layers

from mst.models.musegan.musegan_generator import kernel_initializer


def build_critic(config, seed: int | None = None) -> keras.Model:
    """The critic of a :class:`~mst.models.musegan.musegan_presets.MuseGANConfig`."""
    seed = config.seed if seed is None else seed
    f = config.critic_filters
    specs = [  # (filters, kernel, strides, padding)
        (f[0], (2, 1, 1), (1, 1, 1), "valid"),
        (f[1], (config.n_bars - 1, 1, 1), (1, 1, 1), "valid"),
        (f[2], (1, 1, 12), (1, 1, 12), "same"),
        (f[3], (1, 1, 7), (1, 1, 7), "same"),
        (f[4], (1, 2, 1), (1, 2, 1), "same"),
        (f[5], (1, 2, 1), (1, 2, 1), "same"),
        (f[6], (1, 4, 1), (1, 2, 1), "same"),
        (f[7], (1, 3, 1), (1, 2, 1), "same"),
    ]
    x = inputs = keras.Input(config.window_shape, name="roll")
    for index, (filters, kernel, strides, padding) in enumerate(specs, start=1):
        x = layers.Conv3D(filters, kernel, strides=strides, padding=padding, kernel_initializer=kernel_initializer(seed, "critic", f"conv{index}"), name=f"critic_conv{index}")(x)
        x = layers.LeakyReLU(name=f"critic_lrelu{index}")(x)
    x = layers.Flatten()(x)
    x = layers.LeakyReLU(name="critic_lrelu_dense")(layers.Dense(config.critic_dense, name="critic_dense")(x))
    return keras.Model(inputs, layers.Dense(1, name="critic_score")(x), name="critic")
