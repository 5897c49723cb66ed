"""The PatchGAN discriminator of Brunner et al. 2018.

As in the authors' TF1 code (``module.discriminator``); see
docs/reference/cyclegan.md#discriminator.
"""

from __future__ import annotations

import keras

from mst.encodings import pianoroll
from mst.layers import INSTANCE_NORM_EPSILON, InstanceNormalization, conv_kernel_initializer, derive_seed

LEAKY_RELU_SLOPE = 0.2


def build_discriminator(filters: int = 64, *, seed: int | None = None, name: str = "discriminator") -> keras.Model:
    """Builds the LSGAN PatchGAN discriminator ``[N, 64, 84, 1] -> [N, 16, 21, 1]``.

    Layers (docs/reference/cyclegan.md#discriminator; ``f = filters``): conv 7×7 s2 same ``f`` +
    LeakyReLU(0.2) → conv 7×7 s2 same ``4f`` + IN + LeakyReLU(0.2) → conv 7×7 s1 same 1, linear
    (no sigmoid: LSGAN score map). The channel count jumps from ``f`` to ``4f`` as in the code
    (there is no ``2f`` layer). No biases, truncated-normal(0.02) kernels. At ``filters=64`` the
    model has exactly 819,008 parameters. Each output cell sees 43×43 input cells. The scores are
    float32 also under a mixed-precision policy.

    Args:
        filters: Width of the first layer (64 in the paper).
        seed: Base seed for the per-layer initializers (see :func:`mst.layers.derive_seed`).
        name: Model name.

    Returns:
        A built `keras.Model`.

    Example:
    >>> d = build_discriminator(filters=4, seed=0, name="d")
    >>> tuple(d.output.shape)
    (None, 16, 21, 1)
    """
    if filters < 1:
        raise ValueError(f"filters must be >= 1, got {filters}")

    def conv(layer_name, channels, strides):
        return keras.layers.Conv2D(
            channels,
            7,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_kernel_initializer(derive_seed(seed, name, layer_name)),
            name=layer_name,
        )

    inputs = keras.Input(shape=pianoroll.PHRASE_SHAPE, name="phrase")
    x = conv("conv1", filters, 2)(inputs)
    x = keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name="lrelu1")(x)
    x = conv("conv2", 4 * filters, 2)(x)
    x = InstanceNormalization(epsilon=INSTANCE_NORM_EPSILON, seed=derive_seed(seed, name, "norm2"), name="norm2")(x)
    x = keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name="lrelu2")(x)
    x = conv("conv_out", 1, 1)(x)
    # float32 scores under a mixed-precision policy (the LSGAN losses are computed in float32)
    outputs = keras.layers.Activation("linear", dtype="float32", name="score")(x)
    return keras.Model(inputs, outputs, name=name)
