"""Registered, serializable Keras layers shared by the mst models.

Keras 3 has no instance-normalization and no reflection-padding layer, and the authors' TF2 port
lost 94 % of its generator by creating sub-layers inside ``call``
(docs/reference/cyclegan.md#tf2-port-bugs). The layers here create every sub-layer in ``__init__``
and every weight in ``build``, so that all weights are tracked, trained, checkpointed and saved.

Initialisation follows the authors' TF1 code (``ops.py``): convolution kernels come from a
truncated normal with standard deviation 0.02 and instance-norm scales from N(1, 0.02). Every layer
gets its *own* initializer instance; a seeded instance shared by several layers would give them
identical kernels (docs/reference/cyclegan.md#initialisation). When a seed is given, each layer's
seed is derived from it and from the layer's name with :func:`derive_seed`, so two layers never
share one.

All layers are registered under the package name ``"mst"`` and load in Keras safe mode.
"""

from __future__ import annotations

import hashlib

import keras
from keras import ops

from mst.encodings import pianoroll

KERNEL_STDDEV = 0.02
"""Standard deviation of the truncated-normal kernel initializer.

As in the authors' TF1 code (``ops.conv2d``); docs/reference/cyclegan.md#initialisation.
"""

NORM_SCALE_STDDEV = 0.02
"""Standard deviation of the N(1, σ) instance-norm scale initializer.

As in the authors' TF1 code (``ops.instance_norm``); docs/reference/cyclegan.md#instance-norm.
"""

INSTANCE_NORM_EPSILON = 1e-5
"""Variance epsilon of the authors' instance norm."""


def derive_seed(seed: int | None, *keys: str) -> int | None:
    """Derives a stable 31-bit seed from a base seed and a path of names.

    The derivation is a hash, so distinct key paths give distinct seeds (collisions have odds of
    about 2**-31) and the same path always gives the same seed, across processes and platforms.

    Args:
        seed: Base seed, or ``None`` for "unseeded" (then ``None`` is returned and Keras draws a
            fresh seed from Python's ``random`` module, which `keras.utils.set_random_seed` seeds).
        *keys: Names identifying the consumer, e.g. ``("generator_a2b", "res3", "conv1")``.

    Returns:
        An int in ``[0, 2**31)``, or ``None`` when ``seed`` is ``None``.

    Example:
    >>> derive_seed(19, "generator_a2b", "conv_in") == derive_seed(19, "generator_a2b", "conv_in")
    True
    >>> derive_seed(19, "a") != derive_seed(19, "b")
    True
    >>> derive_seed(None, "a") is None
    True
    """
    if seed is None:
        return None
    text = "/".join([str(int(seed)), *keys])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


def conv_kernel_initializer(seed: int | None = None) -> keras.initializers.Initializer:
    """A fresh truncated-normal(0, 0.02) initializer, as the authors' ``ops.conv2d``/``deconv2d``.

    Call it once per layer: never share the returned instance between layers.
    """
    return keras.initializers.TruncatedNormal(mean=0.0, stddev=KERNEL_STDDEV, seed=seed)


def norm_scale_initializer(seed: int | None = None) -> keras.initializers.Initializer:
    """A fresh N(1, 0.02) initializer for instance-norm scales, as the authors' ``ops.instance_norm``."""
    return keras.initializers.RandomNormal(mean=1.0, stddev=NORM_SCALE_STDDEV, seed=seed)


@keras.saving.register_keras_serializable(package="mst")
class InstanceNormalization(keras.layers.Layer):
    """Instance normalization over the spatial axes, with a learnable per-channel affine map.

    For an input ``[N, H, W, C]``, mean and variance are taken over ``(H, W)`` for every sample and
    channel; the output is ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with ``gamma`` and
    ``beta`` of shape ``[C]``. This is the authors' ``ops.instance_norm``: epsilon 1e-5, ``gamma``
    initialised from N(1, 0.02), ``beta`` from zeros. Both are tracked trainable weights (the
    authors' TF2 refactor created them inside ``call``, so they were never trained).

    Args:
        epsilon: Variance epsilon.
        center: Whether to learn the offset ``beta``.
        scale: Whether to learn the scale ``gamma``.
        gamma_initializer: Initializer for ``gamma``; ``None`` gives a fresh N(1, 0.02)
            initializer seeded with ``seed``.
        beta_initializer: Initializer for ``beta``.
        seed: Seed of the default ``gamma`` initializer (ignored when ``gamma_initializer`` is given).
        **kwargs: Standard layer arguments (``name``, ``dtype``, ...).

    Example:
    >>> import numpy as np
    >>> layer = InstanceNormalization(gamma_initializer="ones")
    >>> y = layer(np.random.rand(2, 4, 6, 3).astype("float32"))
    >>> bool(np.allclose(np.mean(np.asarray(y), axis=(1, 2)), 0.0, atol=1e-5))
    True
    """

    def __init__(
        self,
        epsilon: float = INSTANCE_NORM_EPSILON,
        center: bool = True,
        scale: bool = True,
        gamma_initializer=None,
        beta_initializer="zeros",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.seed = seed
        if gamma_initializer is None:
            gamma_initializer = norm_scale_initializer(seed)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"InstanceNormalization expects [N, H, W, C] inputs, got shape {input_shape}")
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("InstanceNormalization needs a known channel count")
        if self.scale:
            self.gamma = self.add_weight(shape=(channels,), initializer=self.gamma_initializer, autocast=False, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=(channels,), initializer=self.beta_initializer, autocast=False, name="beta")

    def call(self, inputs):
        # Statistics and the affine map in float32 also under mixed precision (as Keras' own
        # normalization layers): a float16 variance of sparse piano rolls would lose the epsilon.
        x = ops.cast(inputs, "float32")
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        outputs = (x - mean) * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * ops.cast(self.gamma, "float32")
        if self.center:
            outputs = outputs + ops.cast(self.beta, "float32")
        return ops.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
                "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "seed": self.seed,
            }
        )
        return config


def _normalize_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(padding, int):
        padding = (padding, padding)
    if len(padding) != 2:
        raise ValueError(f"padding must be an int, (pad_h, pad_w) or ((top, bottom), (left, right)); got {padding!r}")
    result = []
    for item in padding:
        if isinstance(item, int):
            result.append((item, item))
        elif len(item) == 2:
            result.append((int(item[0]), int(item[1])))
        else:
            raise ValueError(f"bad padding entry {item!r} in {padding!r}")
    if any(p < 0 for pair in result for p in pair):
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return result[0], result[1]


@keras.saving.register_keras_serializable(package="mst")
class ReflectionPadding2D(keras.layers.Layer):
    """Reflection padding of the two spatial axes of an ``[N, H, W, C]`` tensor.

    Reflection excludes the edge (TensorFlow/NumPy ``"reflect"``, PyTorch ``ReflectionPad2d``), so
    each padding amount must be smaller than the size of its axis.

    Args:
        padding: An int (same padding on all four sides), ``(pad_h, pad_w)``, or
            ``((top, bottom), (left, right))``.
        **kwargs: Standard layer arguments.

    Example:
    >>> import numpy as np
    >>> x = np.arange(6, dtype="float32").reshape(1, 2, 3, 1)
    >>> np.asarray(ReflectionPadding2D((0, 1))(x))[0, :, :, 0].tolist()
    [[1.0, 0.0, 1.0, 2.0, 1.0], [4.0, 3.0, 4.0, 5.0, 4.0]]
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _normalize_padding(padding)

    def build(self, input_shape):
        (top, bottom), (left, right) = self.padding
        height, width = input_shape[1], input_shape[2]
        if height is not None and max(top, bottom) >= height:
            raise ValueError(f"reflection padding {top, bottom} needs height > padding, got {height}")
        if width is not None and max(left, right) >= width:
            raise ValueError(f"reflection padding {left, right} needs width > padding, got {width}")

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return ops.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        height = None if input_shape[1] is None else input_shape[1] + top + bottom
        width = None if input_shape[2] is None else input_shape[2] + left + right
        return (input_shape[0], height, width, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": [list(self.padding[0]), list(self.padding[1])]})
        return config


@keras.saving.register_keras_serializable(package="mst")
class ResidualBlock(keras.layers.Layer):
    """The generator's residual block, with every sub-layer created once and tracked.

    ``x -> reflect pad 1 -> conv 3x3 (valid, no bias) -> IN -> ReLU -> reflect pad 1 -> conv 3x3
    -> IN -> + x -> ReLU``. The final ReLU after the addition is the authors' variant: the
    authors' TF1 code (``module.residule_block``), the authors' TF2 port and every other port
    have it (docs/reference/cyclegan.md#residual-block). ``relu_after_add=False`` gives the
    Johnson et al. / CycleGAN reference block, whose output is the plain sum.

    Args:
        filters: Channels of both convolutions; must equal the input channel count.
        kernel_size: Square kernel size (3 in the paper); reflection padding is ``kernel_size // 2``.
        relu_after_add: Apply ReLU after the skip addition (authors' code) or not (reference).
        epsilon: Instance-norm epsilon.
        seed: Base seed; the two convolutions and the two norms get seeds derived from it.
        **kwargs: Standard layer arguments.

    Example:
    >>> import numpy as np
    >>> block = ResidualBlock(8, seed=1)
    >>> y = block(np.random.rand(2, 5, 6, 8).astype("float32"))
    >>> tuple(y.shape), len(block.trainable_weights), block.count_params()
    ((2, 5, 6, 8), 6, 1184)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        relu_after_add: bool = True,
        epsilon: float = INSTANCE_NORM_EPSILON,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.relu_after_add = bool(relu_after_add)
        self.epsilon = float(epsilon)
        self.seed = seed
        pad = self.kernel_size // 2
        self.pad1 = ReflectionPadding2D(pad, name="pad1")
        self.conv1 = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            padding="valid",
            use_bias=False,
            kernel_initializer=conv_kernel_initializer(derive_seed(seed, "conv1")),
            name="conv1",
        )
        self.norm1 = InstanceNormalization(epsilon=self.epsilon, seed=derive_seed(seed, "norm1"), name="norm1")
        self.pad2 = ReflectionPadding2D(pad, name="pad2")
        self.conv2 = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            padding="valid",
            use_bias=False,
            kernel_initializer=conv_kernel_initializer(derive_seed(seed, "conv2")),
            name="conv2",
        )
        self.norm2 = InstanceNormalization(epsilon=self.epsilon, seed=derive_seed(seed, "norm2"), name="norm2")

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            raise ValueError(f"ResidualBlock({self.filters}) needs {self.filters} input channels, got shape {input_shape}")
        shape = tuple(input_shape)
        self.pad1.build(shape)
        padded = self.pad1.compute_output_shape(shape)
        self.conv1.build(padded)
        self.norm1.build(shape)
        self.pad2.build(shape)
        self.conv2.build(padded)
        self.norm2.build(shape)

    def call(self, inputs):
        x = self.pad1(inputs)
        x = self.conv1(x)
        x = ops.relu(self.norm1(x))
        x = self.pad2(x)
        x = self.conv2(x)
        x = self.norm2(x)
        x = x + inputs
        if self.relu_after_add:
            x = ops.relu(x)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "relu_after_add": self.relu_after_add,
                "epsilon": self.epsilon,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="mst")
class ToSigned(keras.layers.Layer):
    """Maps a {0,1} phrase to {-1,+1} (and [0,1] to [-1,1]) with :func:`mst.encodings.pianoroll.to_signed`.

    The genre classifier applies it as its first layer, so callers always feed the project's
    {0,1} representation and the scaling formula lives only in ``mst.encodings.pianoroll``.

    Example:
    >>> import numpy as np
    >>> np.asarray(ToSigned()(np.array([[0.0, 1.0]], dtype="float32"))).tolist()
    [[-1.0, 1.0]]
    """

    def call(self, inputs):
        return pianoroll.to_signed(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape
