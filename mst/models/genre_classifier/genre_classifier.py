"""The genre classifier used to evaluate genre transfer.

As in the authors' TF1 code (``module.discriminator_classifier``); see
docs/reference/cyclegan.md#classifier-architecture.
"""

from __future__ import annotations

import keras

from mst.encodings import pianoroll
from mst.layers import INSTANCE_NORM_EPSILON, InstanceNormalization, ToSigned, conv_kernel_initializer, derive_seed

LEAKY_RELU_SLOPE = 0.2
NUM_CLASSES = 2
"""Logit 0 is genre A (the first genre of the pair), logit 1 is genre B; labels are class indices."""


def build_genre_classifier(filters: int = 64, *, seed: int | None = None, name: str = "genre_classifier") -> keras.Model:
    """Builds the binary genre classifier ``[N, 64, 84, 1] {0,1} -> logits [N, 2]``.

    The model takes the project's {0,1} phrases and rescales them itself to {-1,+1} with a
    :class:`mst.layers.ToSigned` layer (which calls :func:`mst.encodings.pianoroll.to_signed`, the only
    place the formula lives), so callers never rescale. Layers (``f = filters``, every stride
    equals its kernel, padding same, no biases, truncated-normal(0.02) kernels):

    ======  ================  =====  ====  ==============  ==========
    #       kernel / stride   out    norm  activation      output
    ======  ================  =====  ====  ==============  ==========
    1       1×12              f      —     LeakyReLU 0.2   64×7×f
    2       4×1               2f     IN    LeakyReLU 0.2   16×7×2f
    3       2×1               4f     IN    LeakyReLU 0.2   8×7×4f
    4       8×1               8f     IN    LeakyReLU 0.2   1×7×8f
    5       1×7               2      —     none            1×1×2 → [N, 2]
    ======  ================  =====  ====  ==============  ==========

    The first layer pools each octave (12-pitch chunks starting at C1). At ``filters=64`` the
    model has exactly 1,156,608 parameters. Train with softmax cross-entropy on class indices
    (0 = genre A, 1 = genre B; ``from_logits=True``).

    Args:
        filters: Width of the first layer (64 in the paper).
        seed: Base seed for the per-layer initializers (see :func:`mst.layers.derive_seed`).
        name: Model name.

    Returns:
        A built `keras.Model` producing logits.

    Example:
    >>> c = build_genre_classifier(filters=4, seed=0, name="c")
    >>> tuple(c.output.shape)
    (None, 2)
    """
    if filters < 1:
        raise ValueError(f"filters must be >= 1, got {filters}")

    def conv(layer_name, channels, kernel):
        return keras.layers.Conv2D(
            channels,
            kernel,
            strides=kernel,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_kernel_initializer(derive_seed(seed, name, layer_name)),
            name=layer_name,
        )

    inputs = keras.Input(shape=pianoroll.PHRASE_SHAPE, name="phrase")
    x = ToSigned(name="to_signed")(inputs)
    x = conv("conv1", filters, (1, 12))(x)
    x = keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name="lrelu1")(x)
    for i, (channels, kernel) in enumerate(((2 * filters, (4, 1)), (4 * filters, (2, 1)), (8 * filters, (8, 1))), start=2):
        x = conv(f"conv{i}", channels, kernel)(x)
        x = InstanceNormalization(epsilon=INSTANCE_NORM_EPSILON, seed=derive_seed(seed, name, f"norm{i}"), name=f"norm{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=f"lrelu{i}")(x)
    x = conv("conv_out", NUM_CLASSES, (1, 7))(x)
    outputs = keras.layers.Flatten(dtype="float32", name="logits")(x)  # float32 logits under mixed precision
    return keras.Model(inputs, outputs, name=name)


def build_classifier_for(config) -> keras.Model:
    """The classifier described by a :class:`~mst.models.genre_classifier.genre_classifier_presets.ClassifierConfig`."""
    return build_genre_classifier(config.filters, seed=config.seed, name=f"classifier_{config.genre_a}_{config.genre_b}")
