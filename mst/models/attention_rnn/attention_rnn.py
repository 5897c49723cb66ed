"""The attention RNN of Foster's *Generative Deep Learning* (1st ed., ch. 7), in Keras 3.

Two integer inputs (pitch and duration token ids, ``[B, T]``, ``T`` free; 32 in training) ->
``Embedding(n_pitch, 100)`` and ``Embedding(n_duration, 100)``, concatenated (200 per step) ->
``LSTM(256, return_sequences=True)`` twice -> additive single-query attention
(:class:`SingleQueryAttention`: score ``e_t = tanh(w·h_t + b)``, ``alpha = softmax_t(e)``,
context ``c = Σ_t alpha_t h_t``) -> two softmax heads ``pitch`` and ``duration`` on ``c``.
The model's outputs are a dict ``{"pitch": [B, n_pitch], "duration": [B, n_duration],
"attention": [B, T]}``: the attention weights are the second output the book plotted with a
separate ``att_model``.

Deviations from the book's code: the time sum is a registered layer instead of a ``Lambda``
(so ``.keras`` files load in safe mode); inputs are declared int32; ``dropout`` (after each LSTM, the
book's commented-out ``Dropout(0.2)``) is an option, default 0 as the book ran.

Example:
    >>> model = build_attention_rnn(387, 18)
    >>> model.count_params()
    1138122
    >>> import numpy as np
    >>> out = model({"pitch": np.zeros((2, 32), "int32"), "duration": np.zeros((2, 32), "int32")})
    >>> tuple(out["pitch"].shape), tuple(out["duration"].shape), tuple(out["attention"].shape)
    ((2, 387), (2, 18), (2, 32))
"""

from __future__ import annotations

import keras
from keras import ops

from mst.layers import derive_seed

EMBEDDING_SIZE = 100
RNN_UNITS = 256


@keras.saving.register_keras_serializable(package="mst")
class SingleQueryAttention(keras.layers.Layer):
    """Additive attention with one learned query: ``[B, T, H] -> (context [B, H], alpha [B, T])``.

    ``e_t = tanh(h_t · w + b)`` (the book's ``Dense(1, activation='tanh')``, ``H + 1`` weights),
    ``alpha = softmax(e)`` over time, ``context = Σ_t alpha_t h_t``.

    Args:
        kernel_seed: Seed of the score kernel's Glorot-uniform initializer (``None``: Keras').
    """

    def __init__(self, kernel_seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_seed = kernel_seed
        self.score = keras.layers.Dense(1, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=kernel_seed), name="score")

    def build(self, input_shape):
        self.score.build(input_shape)
        super().build(input_shape)

    def call(self, hidden):
        scores = ops.squeeze(self.score(hidden), axis=-1)  # [B, T]
        alpha = ops.softmax(scores, axis=-1)
        context = ops.sum(hidden * ops.expand_dims(alpha, -1), axis=1)
        return context, alpha

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2]), (input_shape[0], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "kernel_seed": self.kernel_seed}


def name_seed_generators(layer, prefix: str) -> None:
    """Gives a layer's ``SeedGenerator`` states fixed names (``{prefix}_seed/seed_generator_state``).

    Keras names seed generators with a process-wide counter (``seed_generator_14``), and mst's
    checkpoints key such untracked states by that path (:mod:`mst.training.checkpointing`): a model
    built after other models in the same process (a resume inside ``make demo``, a test) would not
    find its states. The LSTM cells' generators are unused at dropout 0 but exist all the same.
    """
    from keras import random  # noqa: PLC0415

    owners = [layer] + ([layer.cell] if hasattr(layer, "cell") else [])
    for number, owner in enumerate(o for o in owners if getattr(o, "seed_generator", None) is not None):
        old = owner.seed_generator
        owner._seed_generators.remove(old)
        locked = owner._tracker.locked  # a weightless layer (Dropout) is built, hence locked, at creation
        owner._tracker.unlock()
        owner.seed_generator = random.SeedGenerator(seed=getattr(old, "_initial_seed", None), name=f"{prefix}_seed{number or ''}")
        if locked:
            owner._tracker.lock()


def build_attention_rnn(
    n_pitch: int,
    n_duration: int,
    *,
    embedding_size: int = EMBEDDING_SIZE,
    rnn_units: int = RNN_UNITS,
    dropout: float = 0.0,
    seed: int | None = None,
    name: str = "attention_rnn",
) -> keras.Model:
    """Builds the attention RNN (see the module docstring).

    Args:
        n_pitch: Pitch vocabulary size (specials included).
        n_duration: Duration vocabulary size.
        embedding_size: Width of each embedding (book: 100).
        rnn_units: Units of both LSTMs (book: 256).
        dropout: Dropout rate after each LSTM (book: none, commented out).
        seed: Base seed of the initializers (``None``: Keras' global seeding).
        name: Model name.

    Returns:
        A functional ``keras.Model`` with inputs ``{"pitch", "duration"}`` (int32 ``[B, T]``) and
        outputs ``{"pitch", "duration", "attention"}``.
    """
    layers = keras.layers

    def init(kind, *keys):
        sub_seed = derive_seed(seed, *keys)
        return {"uniform": keras.initializers.RandomUniform(-0.05, 0.05, seed=sub_seed),
                "glorot": keras.initializers.GlorotUniform(seed=sub_seed),
                "orthogonal": keras.initializers.Orthogonal(seed=sub_seed)}[kind]

    pitch_in = keras.Input(shape=(None,), dtype="int32", name="pitch")
    duration_in = keras.Input(shape=(None,), dtype="int32", name="duration")
    x = layers.Concatenate(name="embeddings")([
        layers.Embedding(n_pitch, embedding_size, embeddings_initializer=init("uniform", "pitch_embedding"), name="pitch_embedding")(pitch_in),
        layers.Embedding(n_duration, embedding_size, embeddings_initializer=init("uniform", "duration_embedding"), name="duration_embedding")(duration_in),
    ])
    for index in (1, 2):
        lstm = layers.LSTM(rnn_units, return_sequences=True, kernel_initializer=init("glorot", f"lstm_{index}", "kernel"),
                           recurrent_initializer=init("orthogonal", f"lstm_{index}", "recurrent"), name=f"lstm_{index}")
        name_seed_generators(lstm, f"lstm_{index}")
        x = lstm(x)
        if dropout > 0:
            drop = layers.Dropout(dropout, seed=derive_seed(seed, f"dropout_{index}"), name=f"dropout_{index}")
            name_seed_generators(drop, f"dropout_{index}")
            x = drop(x)
    context, alpha = SingleQueryAttention(kernel_seed=derive_seed(seed, "attention"), name="attention")(x)
    pitch_out = layers.Dense(n_pitch, activation="softmax", kernel_initializer=init("glorot", "pitch_head"), name="pitch_head")(context)
    duration_out = layers.Dense(n_duration, activation="softmax", kernel_initializer=init("glorot", "duration_head"), name="duration_head")(context)
    outputs = {
        "pitch": layers.Identity(name="pitch_out")(pitch_out),
        "duration": layers.Identity(name="duration_out")(duration_out),
        "attention": layers.Identity(name="attention_out")(alpha),
    }
    return keras.Model({"pitch": pitch_in, "duration": duration_in}, outputs, name=name)


def build_attention_rnn_for(config, vocabulary_sizes: tuple[int, int]) -> keras.Model:
    """The model of an :class:`~mst.models.attention_rnn.attention_rnn_presets.AttentionRNNConfig`."""
    n_pitch, n_duration = vocabulary_sizes
    return build_attention_rnn(n_pitch, n_duration, embedding_size=config.embedding_size, rnn_units=config.rnn_units,
                               dropout=config.dropout, seed=config.seed)
