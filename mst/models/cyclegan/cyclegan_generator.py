"""The CycleGAN generator of Brunner et al. 2018.

As in the authors' TF1 code (``module.generator_resnet``); see docs/reference/cyclegan.md#generator.
"""

from __future__ import annotations

import keras

from mst.encodings import pianoroll
from mst.layers import (
    INSTANCE_NORM_EPSILON,
    InstanceNormalization,
    ReflectionPadding2D,
    ResidualBlock,
    conv_kernel_initializer,
    derive_seed,
)


def build_generator(
    filters: int = 64,
    num_residual_blocks: int = 10,
    *,
    relu_after_add: bool = True,
    seed: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """Builds the ResNet generator as a functional model ``[N, 64, 84, 1] -> [N, 64, 84, 1]``.

    Layers (docs/reference/cyclegan.md#generator; ``f = filters``):

    ===  ==================================================  ==============
    #    layer                                               output
    ===  ==================================================  ==============
    0    reflect pad 3                                       70×90×1
    1    conv 7×7 s1 valid, f, IN, ReLU                      64×84×f
    2    conv 3×3 s2 same, 2f, IN, ReLU                      32×42×2f
    3    conv 3×3 s2 same, 4f, IN, ReLU                      16×21×4f
    4..  ``num_residual_blocks`` × :class:`ResidualBlock`   16×21×4f
    ..   transposed conv 3×3 s2 same, 2f, IN, ReLU           32×42×2f
    ..   transposed conv 3×3 s2 same, f, IN, ReLU            64×84×f
    ..   reflect pad 3, conv 7×7 s1 valid, 1, sigmoid        64×84×1
    ===  ==================================================  ==============

    No convolution has a bias; kernels are truncated-normal(0.02), one fresh initializer per layer.
    The output is the continuous sigmoid (binarize with :func:`mst.encodings.pianoroll.binarize` to get notes),
    float32 also under a mixed-precision policy.
    At the defaults the model has exactly 12,551,552 parameters (convolutions 12,540,032, instance
    norms 11,520), all trainable.

    Args:
        filters: Width ``f`` of the first layer (64 in the paper).
        num_residual_blocks: Number of residual blocks (10 in the paper).
        relu_after_add: Residual block variant: ReLU after the skip addition (authors' code,
            default) or the Johnson reference block (``False``).
        seed: Base seed; each layer's initializer seed is ``derive_seed(seed, name, layer_name)``.
            ``None`` draws unseeded initializers (still one fresh instance per layer).
        name: Model name.

    Returns:
        A built `keras.Model`.

    Example:
    >>> g = build_generator(filters=4, num_residual_blocks=1, seed=0, name="g")
    >>> tuple(g.output.shape)
    (None, 64, 84, 1)
    """
    if filters < 1 or num_residual_blocks < 0:
        raise ValueError(f"need filters >= 1 and num_residual_blocks >= 0, got {filters}, {num_residual_blocks}")

    def conv(layer_name, channels, kernel, strides, padding, transpose=False):
        cls = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        return cls(
            channels,
            kernel,
            strides=strides,
            padding=padding,
            use_bias=False,
            kernel_initializer=conv_kernel_initializer(derive_seed(seed, name, layer_name)),
            name=layer_name,
        )

    def norm(layer_name):
        return InstanceNormalization(epsilon=INSTANCE_NORM_EPSILON, seed=derive_seed(seed, name, layer_name), name=layer_name)

    inputs = keras.Input(shape=pianoroll.PHRASE_SHAPE, name="phrase")
    x = ReflectionPadding2D(3, name="pad_in")(inputs)
    x = conv("conv_in", filters, 7, 1, "valid")(x)
    x = keras.layers.ReLU(name="relu_in")(norm("norm_in")(x))
    for i, channels in enumerate((2 * filters, 4 * filters), start=1):
        x = conv(f"down{i}_conv", channels, 3, 2, "same")(x)
        x = keras.layers.ReLU(name=f"down{i}_relu")(norm(f"down{i}_norm")(x))
    for i in range(1, num_residual_blocks + 1):
        block_name = f"res{i}"
        x = ResidualBlock(4 * filters, relu_after_add=relu_after_add, seed=derive_seed(seed, name, block_name), name=block_name)(x)
    for i, channels in enumerate((2 * filters, filters), start=1):
        x = conv(f"up{i}_conv", channels, 3, 2, "same", transpose=True)(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(norm(f"up{i}_norm")(x))
    x = ReflectionPadding2D(3, name="pad_out")(x)
    x = conv("conv_out", 1, 7, 1, "valid")(x)
    # float32 output under a mixed-precision policy (losses and the history pool stay float32)
    outputs = keras.layers.Activation("sigmoid", dtype="float32", name="sigmoid")(x)
    return keras.Model(inputs, outputs, name=name)
