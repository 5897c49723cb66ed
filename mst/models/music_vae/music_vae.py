"""The MusicVAE model on Keras 3: bidirectional LSTM encoder, flat categorical / groove and hierarchical decoders.

Follows Magenta's ``base_model.MusicVAE`` and ``lstm_models`` (see ``docs/music_vae.md``):

* **Encoder**: ``len(enc_rnn_size)`` stacked bidirectional LSTM layers, an input
  :class:`keras.layers.Dropout` before every layer (Magenta's ``DropoutWrapper`` input dropout, a
  fresh mask at every step); output = final ``h`` of the last forward and backward layers.
* **Posterior**: ``mu = Dense(z)``, ``sigma = softplus(Dense(z))``, kernels ``N(0, 0.001²)``; one
  reparameterised sample ``z = mu + sigma * eps`` per example.
* **Decoder state from z**: one ``Dense(2 * sum(dec_rnn_size), tanh)`` split into ``(c, h)`` per
  layer (Magenta's order), handed to Keras as ``[h, c]``.
* **Flat decoders**: the shifted target (first step zeros) concatenated with z at every step,
  stacked LSTMs, ``Dense(output_depth)`` logits. Categorical: softmax cross-entropy; groove:
  sigmoid hits (log loss), sigmoid velocities and tanh offsets (squared errors), summed over the
  9 drums. Losses are **summed over time**.
* **Hierarchical decoder**: a conductor LSTM stack (same sizes, zero input of width 1, state from
  z) emits one embedding per bar; a shared tanh-Dense turns each into the bottom decoder's
  initial state and the embedding is concatenated to every input step of its bar; the bottom
  state restarts every bar. Teacher forcing runs every bar at once (``[B * bars, steps, D]``).
* **Training** (:meth:`MusicVAE.train_step`): ``loss = mean(r_loss) + beta * mean(max(KL -
  free_bits * ln 2, 0))``, ``beta = (1 - beta_rate**step) * max_beta``; scheduled sampling (the
  step-by-step decoder feeds back a sample with probability ``p(step)``); Adam on
  :class:`MagentaExponentialDecay`; clip by global norm, zero gradients when the norm reaches
  ``grad_norm_clip_to_zero``.

Example:
>>> from mst.models.music_vae.music_vae_presets import PRESETS
>>> model = build_music_vae(PRESETS["groovae_tiny"])
>>> model.count_params() == count_parameters(PRESETS["groovae_tiny"])
True
>>> import numpy as np
>>> x = np.zeros((2, 64, 27), np.float32)
>>> [tuple(t.shape) for t in model.encode(x)], tuple(model.sample(3, temperature=0.5, seed=1).shape)
([(2, 8), (2, 8)], (3, 64, 27))
"""

from __future__ import annotations

import math

import keras
from keras import layers

from mst.encodings.drums import NUM_DRUMS
from mst.runtime import import_tensorflow

tf = import_tensorflow()

LN2 = math.log(2.0)
STATE_INIT_STDDEV = 0.001
GROOVE = "groove"
CATEGORICAL = "categorical"
HIERARCHICAL = "hierarchical"


# --------------------------------------------------------------------------- schedules


@keras.saving.register_keras_serializable(package="mst")
class MagentaExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Magenta's learning rate: ``(initial - minimum) * decay_rate**step + minimum``.

    Example:
    >>> schedule = MagentaExponentialDecay(1e-3, 0.9999, 1e-5)
    >>> [round(float(schedule(s)), 8) for s in (0, 1, 10000, 100000)]
    [0.001, 0.0009999, 0.00037412, 1.004e-05]
    """

    def __init__(self, initial_learning_rate: float = 1e-3, decay_rate: float = 0.9999, min_learning_rate: float = 1e-5):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_rate = float(decay_rate)
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        return (self.initial_learning_rate - self.min_learning_rate) * tf.pow(self.decay_rate, step) + self.min_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_rate": self.decay_rate, "min_learning_rate": self.min_learning_rate}


def beta_at(step, max_beta: float, beta_rate: float):
    """``(1 - beta_rate**step) * max_beta`` (0 at step 0, as Magenta)."""
    step = tf.cast(step, tf.float32)
    return (1.0 - tf.pow(tf.constant(beta_rate, tf.float32), step)) * max_beta


def sampling_probability_at(step, schedule: str, rate: float):
    """Magenta's ``get_sampling_probability``: constant ``k``, ``1 - k**step``, or ``1 - k / (k + exp(step / k))``."""
    step = tf.cast(step, tf.float32)
    if schedule == "constant":
        return tf.constant(rate, tf.float32)
    if schedule == "exponential":
        return 1.0 - tf.pow(tf.constant(rate, tf.float32), step)
    k = tf.constant(rate, tf.float32)
    return 1.0 - k / (k + tf.exp(tf.minimum(step / k, 80.0)))


# --------------------------------------------------------------------------- parameter count


def count_parameters(config) -> int:
    """Trainable parameters of a config's model, from the LSTM and Dense formulas.

    LSTM of ``u`` units on ``d`` inputs: ``4 u (d + u + 1)``; Dense ``d -> n``: ``(d + 1) n``.

    Example:
    >>> from mst.models.music_vae.music_vae_presets import PRESETS
    >>> count_parameters(PRESETS["groovae_4bar"])
    4085019
    """

    def lstm(d, u):
        return 4 * u * (d + u + 1)

    def dense(d, n):
        return (d + 1) * n

    total, width = 0, config.output_depth
    for units in config.enc_rnn_size:
        total += 2 * lstm(width, units)
        width = 2 * units
    total += 2 * dense(width, config.z_size)
    state = 2 * sum(config.dec_rnn_size)
    dec = config.dec_rnn_size
    if config.decoder == HIERARCHICAL:
        total += dense(config.z_size, state)  # conductor state
        width = 1
        for units in dec:
            total += lstm(width, units)
            width = units
        embedding = dec[-1]
        total += dense(embedding, state)  # shared bottom-decoder state
        context = embedding
    else:
        total += dense(config.z_size, state)
        context = config.z_size
    width = config.output_depth + context
    for units in dec:
        total += lstm(width, units)
        width = units
    return total + dense(width, config.output_depth)


# --------------------------------------------------------------------------- model


def _normal():
    return keras.initializers.RandomNormal(stddev=STATE_INIT_STDDEV)


def _split_state(flat, sizes):
    """``[B, 2 * sum(sizes)]`` -> ``[[h, c], ...]`` per layer (the vector holds ``(c, h)`` per layer, Magenta's order)."""
    states, start = [], 0
    for units in sizes:
        c = flat[..., start : start + units]
        h = flat[..., start + units : start + 2 * units]
        states.append([h, c])
        start += 2 * units
    return states


def _name_seed_generator(owner, prefix: str) -> None:
    """Gives a layer's ``SeedGenerator`` state a fixed name (``{prefix}_seed/seed_generator_state``).

    Keras numbers seed generators with a process-wide counter and mst's checkpoints key such
    states by their path (:mod:`mst.training.checkpointing`), so a model built after others in the
    same process would not find its states on resume. The LSTM cells' generators exist even
    though their (recurrent) dropout is 0.
    """
    from keras import random  # noqa: PLC0415

    old = getattr(owner, "seed_generator", None)
    if old is None:
        return
    owner._seed_generators.remove(old)
    locked = owner._tracker.locked
    owner._tracker.unlock()
    owner.seed_generator = random.SeedGenerator(seed=getattr(old, "_initial_seed", None), name=f"{prefix}_seed")
    if locked:
        owner._tracker.lock()


@keras.saving.register_keras_serializable(package="mst")
class MusicVAE(keras.Model):
    """MusicVAE / GrooVAE (see the module docstring).

    Args:
        output_depth: 90 (melody classes) or 27 (groove).
        max_seq_len: Steps per sequence.
        decoder: ``categorical``, ``groove`` or ``hierarchical``.
        enc_rnn_size: Units per direction of each encoder layer.
        dec_rnn_size: Units of each decoder (and conductor) layer.
        z_size: Latent size.
        level_lengths: ``(bars, steps per bar)`` of the hierarchical decoder.
        free_bits, max_beta, beta_rate: KL settings.
        sampling_schedule, sampling_rate: Scheduled sampling.
        dropout_keep_prob: LSTM input keep probability (training).
        grad_clip, grad_norm_clip_to_zero: Gradient clipping.
        recurrent_initializer: Initializer of the recurrent kernels.
        seed: Initializer seed.
    """

    def __init__(self, output_depth: int = 27, max_seq_len: int = 64, decoder: str = GROOVE, enc_rnn_size=(512,),
                 dec_rnn_size=(256, 256), z_size: int = 256, level_lengths=(), free_bits: float = 0.0, max_beta: float = 1.0,
                 beta_rate: float = 0.0, sampling_schedule: str = "constant", sampling_rate: float = 0.0,
                 dropout_keep_prob: float = 1.0, grad_clip: float = 1.0, grad_norm_clip_to_zero: float = 10000.0,
                 recurrent_initializer: str = "glorot_uniform", seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.output_depth = int(output_depth)
        self.max_seq_len = int(max_seq_len)
        self.decoder_type = decoder
        self.enc_rnn_size = tuple(int(u) for u in enc_rnn_size)
        self.dec_rnn_size = tuple(int(u) for u in dec_rnn_size)
        self.z_size = int(z_size)
        self.level_lengths = tuple(int(v) for v in level_lengths)
        self.free_bits = float(free_bits)
        self.max_beta = float(max_beta)
        self.beta_rate = float(beta_rate)
        self.sampling_schedule = sampling_schedule
        self.sampling_rate = float(sampling_rate)
        self.dropout_keep_prob = float(dropout_keep_prob)
        self.grad_clip = float(grad_clip)
        self.grad_norm_clip_to_zero = float(grad_norm_clip_to_zero)
        self.recurrent_initializer = recurrent_initializer
        self.seed = int(seed)
        rate = 1.0 - self.dropout_keep_prob
        seeds = iter(range(self.seed * 1000 + 1, self.seed * 1000 + 1000))

        def lstm(units, name, **kw):
            return layers.LSTM(units, recurrent_initializer=keras.initializers.get({"class_name": recurrent_initializer, "config": {"seed": next(seeds)}}),
                               kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)), name=name, **kw)

        self.encoder_dropouts = [layers.Dropout(rate, seed=next(seeds), name=f"encoder_dropout_{i}") for i in range(len(self.enc_rnn_size))]
        last = len(self.enc_rnn_size) - 1
        self.encoder_layers = [
            layers.Bidirectional(lstm(u, f"encoder_lstm_{i}", return_sequences=i < last, return_state=i == last), name=f"encoder_bilstm_{i}")
            for i, u in enumerate(self.enc_rnn_size)
        ]
        self.mu_dense = layers.Dense(self.z_size, kernel_initializer=_normal(), name="mu")
        self.sigma_dense = layers.Dense(self.z_size, kernel_initializer=_normal(), name="sigma")
        state = 2 * sum(self.dec_rnn_size)
        self.state_dense = layers.Dense(state, activation="tanh", kernel_initializer=_normal(), name="decoder_state")
        if self.decoder_type == HIERARCHICAL:
            self.conductor_layers = [lstm(u, f"conductor_lstm_{i}", return_sequences=True, return_state=True) for i, u in enumerate(self.dec_rnn_size)]
            self.conductor_dropouts = [layers.Dropout(rate, seed=next(seeds), name=f"conductor_dropout_{i}") for i in range(len(self.dec_rnn_size))]
            self.core_state_dense = layers.Dense(state, activation="tanh", kernel_initializer=_normal(), name="core_decoder_state")
        self.decoder_layers = [lstm(u, f"decoder_lstm_{i}", return_sequences=True, return_state=True) for i, u in enumerate(self.dec_rnn_size)]
        self.decoder_dropouts = [layers.Dropout(rate, seed=next(seeds), name=f"decoder_dropout_{i}") for i in range(len(self.dec_rnn_size))]
        self.output_dense = layers.Dense(self.output_depth, name="output_projection")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names()}
        for layer in [*self.encoder_dropouts, *self.decoder_dropouts, *getattr(self, "conductor_dropouts", [])]:
            _name_seed_generator(layer, layer.name)
        for layer in [*self.decoder_layers, *getattr(self, "conductor_layers", [])]:
            _name_seed_generator(layer.cell, layer.name)
        for wrapper in self.encoder_layers:
            for layer in (wrapper.forward_layer, wrapper.backward_layer):
                _name_seed_generator(layer.cell, f"{wrapper.name}_{layer.name}")
        self._build_all()

    # ------------------------------------------------------------------ structure

    def loss_names(self) -> list[str]:
        """Running means kept per epoch."""
        names = ["loss", "reconstruction", "kl_bits", "kl_loss", "accuracy"]
        if self.decoder_type == GROOVE:
            names += ["hits_loss", "velocities_loss", "offsets_loss"]
        return names

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def context_size(self) -> int:
        return self.dec_rnn_size[-1] if self.decoder_type == HIERARCHICAL else self.z_size

    @property
    def bar_steps(self) -> int:
        return self.level_lengths[1] if self.decoder_type == HIERARCHICAL else self.max_seq_len

    def _build_all(self):
        x = tf.zeros([1, self.max_seq_len, self.output_depth])
        mu, sigma = self.encode(x)
        self.decode_teacher_forced(mu, x)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(output_depth=self.output_depth, max_seq_len=self.max_seq_len, decoder=self.decoder_type, enc_rnn_size=list(self.enc_rnn_size),
                      dec_rnn_size=list(self.dec_rnn_size), z_size=self.z_size, level_lengths=list(self.level_lengths), free_bits=self.free_bits,
                      max_beta=self.max_beta, beta_rate=self.beta_rate, sampling_schedule=self.sampling_schedule, sampling_rate=self.sampling_rate,
                      dropout_keep_prob=self.dropout_keep_prob, grad_clip=self.grad_clip, grad_norm_clip_to_zero=self.grad_norm_clip_to_zero,
                      recurrent_initializer=self.recurrent_initializer, seed=self.seed)
        return config

    # ------------------------------------------------------------------ encoder

    def encode(self, inputs, training: bool = False):
        """``inputs [B, T, D]`` -> ``(mu, sigma)`` ``[B, z]``."""
        x = tf.convert_to_tensor(inputs, tf.float32)
        for dropout, layer in zip(self.encoder_dropouts, self.encoder_layers):
            x = layer(dropout(x, training=training), training=training)
        _, h_fw, _, h_bw, _ = x
        encoded = tf.concat([h_fw, h_bw], axis=-1)
        mu = self.mu_dense(encoded)
        sigma = tf.nn.softplus(self.sigma_dense(encoded))
        return tf.cast(mu, tf.float32), tf.cast(sigma, tf.float32)

    # ------------------------------------------------------------------ decoders

    def _run_stack(self, stack, dropouts, inputs, states, training):
        x = inputs
        for layer, dropout, state in zip(stack, dropouts, states):
            x, _, _ = layer(dropout(x, training=training), initial_state=state, training=training)
        return x

    def _conductor(self, z, training=False):
        """``z [B, z]`` -> one embedding per bar ``[B, bars, H]``."""
        batch = tf.shape(z)[0]
        states = _split_state(self.state_dense(z), self.dec_rnn_size)
        zeros = tf.zeros([batch, self.level_lengths[0], 1])
        return self._run_stack(self.conductor_layers, self.conductor_dropouts, zeros, states, training)

    def decode_teacher_forced(self, z, targets, training: bool = False):
        """Logits ``[B, T, D]`` with the true previous step as input at every step."""
        targets = tf.convert_to_tensor(targets, tf.float32)
        shifted = tf.pad(targets[:, :-1], [[0, 0], [1, 0], [0, 0]])
        if self.decoder_type != HIERARCHICAL:
            context = tf.tile(z[:, None, :], [1, self.max_seq_len, 1])
            states = _split_state(self.state_dense(z), self.dec_rnn_size)
            out = self._run_stack(self.decoder_layers, self.decoder_dropouts, tf.concat([shifted, context], -1), states, training)
            return tf.cast(self.output_dense(out), tf.float32)
        bars, steps = self.level_lengths
        embeddings = self._conductor(z, training)  # [B, bars, H]
        batch = tf.shape(z)[0]
        flat_embeddings = tf.reshape(embeddings, [-1, self.context_size])
        pieces = tf.reshape(shifted, [-1, steps, self.output_depth])
        context = tf.tile(flat_embeddings[:, None, :], [1, steps, 1])
        states = _split_state(self.core_state_dense(flat_embeddings), self.dec_rnn_size)
        out = self._run_stack(self.decoder_layers, self.decoder_dropouts, tf.concat([pieces, context], -1), states, training)
        return tf.reshape(tf.cast(self.output_dense(out), tf.float32), [batch, bars * steps, self.output_depth])

    def _sample_output(self, logits, temperature, seed):
        """One step's sampled output (the next input) from its logits."""
        if self.decoder_type == GROOVE:
            hits, velocities, offsets = tf.split(logits, 3, axis=-1)
            probability = tf.sigmoid(hits / temperature)
            uniform = tf.random.stateless_uniform(tf.shape(hits), seed)
            sampled = tf.cast(uniform < probability, tf.float32)
            return tf.concat([sampled, tf.sigmoid(velocities), tf.tanh(offsets)], -1)
        classes = tf.random.stateless_categorical(logits / temperature, 1, seed)[:, 0]
        return tf.one_hot(classes, self.output_depth, dtype=tf.float32)

    def _step_decode(self, context, states, first_input, steps, *, temperature, seed, targets=None, sampling_probability=None, training=False):
        """Step-by-step decoding of ``steps`` steps (sampling, or scheduled sampling with ``targets``).

        Returns:
            ``(logits [B, steps, D], outputs [B, steps, D], last output [B, D])``; ``outputs`` are
            the inputs fed to the following steps (samples, or true steps under scheduled sampling).
        """
        cells = [layer.cell for layer in self.decoder_layers]
        batch = tf.shape(context)[0]
        flat_states = [t for pair in states for t in pair]
        logits_array = tf.TensorArray(tf.float32, size=steps)
        outputs_array = tf.TensorArray(tf.float32, size=steps)

        def body(t, previous, logits_ta, outputs_ta, *flat):
            x = tf.concat([previous, context], -1)
            new_flat = []
            for k, cell in enumerate(cells):
                x = self.decoder_dropouts[k](x, training=training)
                x, (h, c) = cell(x, [flat[2 * k], flat[2 * k + 1]], training=training)
                new_flat += [h, c]
            logits = tf.cast(self.output_dense(x), tf.float32)
            step_seed = tf.stack([seed[0], seed[1] + 7919 * t])
            sampled = self._sample_output(logits, temperature, step_seed)
            if targets is not None:
                truth = targets[:, t]
                choose = tf.random.stateless_uniform([batch, 1], step_seed + 1) < sampling_probability
                fed = tf.where(choose, sampled, truth)
            else:
                fed = sampled
            return (t + 1, fed, logits_ta.write(t, logits), outputs_ta.write(t, fed if targets is None else sampled), *new_flat)

        result = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), first_input, logits_array, outputs_array, *flat_states),
                               maximum_iterations=steps)
        logits = tf.transpose(result[2].stack(), [1, 0, 2])
        outputs = tf.transpose(result[3].stack(), [1, 0, 2])
        return logits, outputs, result[1]

    def decode_sampled(self, z, temperature=1.0, seed=(0, 0)):
        """Samples ``[B, T, D]`` outputs from ``z`` (hits/classes drawn at ``temperature``).

        Returns:
            ``(outputs, logits)``: groove outputs are ``[hits in {0,1}, sigmoid velocities, tanh
            offsets]``; melody outputs are one-hot.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        temperature = tf.maximum(tf.cast(temperature, tf.float32), 1e-6)
        seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
        batch = tf.shape(z)[0]
        first = tf.zeros([batch, self.output_depth])
        if self.decoder_type != HIERARCHICAL:
            states = _split_state(self.state_dense(z), self.dec_rnn_size)
            logits, outputs, _ = self._step_decode(z, states, first, self.max_seq_len, temperature=temperature, seed=seed)
            return outputs, logits
        embeddings = self._conductor(z)
        all_outputs, all_logits = [], []
        previous = first
        for bar in range(self.level_lengths[0]):
            embedding = embeddings[:, bar]
            states = _split_state(self.core_state_dense(embedding), self.dec_rnn_size)
            bar_seed = tf.stack([seed[0] + 104729 * (bar + 1), seed[1]])
            logits, outputs, previous = self._step_decode(embedding, states, previous, self.level_lengths[1], temperature=temperature, seed=bar_seed)
            all_outputs.append(outputs)
            all_logits.append(logits)
        return tf.concat(all_outputs, 1), tf.concat(all_logits, 1)

    def sample(self, n: int, temperature: float = 0.5, seed: int = 0):
        """``n`` samples decoded from ``z ~ N(0, I)`` (outputs only)."""
        z = tf.random.stateless_normal([n, self.z_size], [seed, 1])
        return self.decode_sampled(z, temperature, (seed, 2))[0]

    def call(self, inputs, training=False):
        """Teacher-forced reconstruction logits from the posterior mean (``inputs`` = targets)."""
        mu, _ = self.encode(inputs, training=training)
        return self.decode_teacher_forced(mu, inputs, training=training)

    # ------------------------------------------------------------------ losses

    def reconstruction_terms(self, logits, targets):
        """Per-sequence reconstruction loss (summed over time) and the step accuracy, plus groove parts."""
        targets = tf.cast(targets, tf.float32)
        if self.decoder_type == GROOVE:
            hit_logits, velocity_logits, offset_logits = tf.split(logits, 3, -1)
            hits, velocities, offsets = tf.split(targets, 3, -1)
            hits_loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=hits, logits=hit_logits), axis=[1, 2])
            velocities_loss = tf.reduce_sum(tf.square(velocities - tf.sigmoid(velocity_logits)), axis=[1, 2])
            offsets_loss = tf.reduce_sum(tf.square(offsets - tf.tanh(offset_logits)), axis=[1, 2])
            accuracy = tf.reduce_mean(tf.cast(tf.equal(hit_logits > 0, hits > 0.5), tf.float32))
            return hits_loss + velocities_loss + offsets_loss, accuracy, {"hits_loss": hits_loss, "velocities_loss": velocities_loss, "offsets_loss": offsets_loss}
        cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(targets, -1)), tf.float32))
        return tf.reduce_sum(cross_entropy, axis=1), accuracy, {}

    def kl_divergence(self, mu, sigma):
        """KL(N(mu, sigma²) || N(0, I)) summed over the latent dimensions, per example."""
        return tf.reduce_sum(-tf.math.log(sigma + 1e-12) + 0.5 * (tf.square(sigma) + tf.square(mu)) - 0.5, axis=-1)

    def compute_terms(self, inputs, targets, step, *, training: bool, sampling_probability=None, seed=(0, 0)):
        """Every loss term of one batch (the training objective of the module docstring)."""
        mu, sigma = self.encode(inputs, training=training)
        epsilon = tf.random.stateless_normal(tf.shape(mu), tf.cast(seed, tf.int32))
        z = mu + sigma * epsilon
        if sampling_probability is None:
            sampling_probability = sampling_probability_at(step, self.sampling_schedule, self.sampling_rate) if self.decoder_type != HIERARCHICAL else tf.constant(0.0)
        if self.decoder_type != HIERARCHICAL and (self.sampling_schedule != "constant" or self.sampling_rate != 0):
            states = _split_state(self.state_dense(z), self.dec_rnn_size)
            first = tf.zeros([tf.shape(z)[0], self.output_depth])
            logits, _, _ = self._step_decode(z, states, first, self.max_seq_len, temperature=tf.constant(1.0), seed=tf.cast(seed, tf.int32) + 3,
                                             targets=tf.cast(targets, tf.float32), sampling_probability=sampling_probability, training=training)
        else:
            logits = self.decode_teacher_forced(z, targets, training=training)
        r_loss, accuracy, parts = self.reconstruction_terms(logits, targets)
        kl = self.kl_divergence(mu, sigma)
        kl_cost = tf.maximum(kl - self.free_bits * LN2, 0.0)
        beta = beta_at(step, self.max_beta, self.beta_rate)
        loss = tf.reduce_mean(r_loss) + beta * tf.reduce_mean(kl_cost)
        terms = {"loss": loss, "reconstruction": tf.reduce_mean(r_loss), "kl_bits": tf.reduce_mean(kl) / LN2, "kl_loss": tf.reduce_mean(kl_cost),
                 "accuracy": accuracy, **{k: tf.reduce_mean(v) for k, v in parts.items()}}
        return terms, beta, sampling_probability

    def _step_seed(self):
        step = tf.cast(self.optimizer.iterations, tf.int32)
        return tf.stack([tf.constant(self.seed, tf.int32), step])

    def train_step(self, data):
        inputs, targets = data
        step = self.optimizer.iterations
        with tf.GradientTape() as tape:
            terms, beta, probability = self.compute_terms(inputs, targets, step, training=True, seed=self._step_seed())
            loss = terms["loss"]
            scaled_loss = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
        # Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer: clip the unscaled
        # gradients, hand it scaled ones (it unscales them, and skips non-finite steps itself).
        scale = getattr(self.optimizer, "dynamic_scale", None)
        if scale is not None:
            gradients = [g / tf.cast(scale, g.dtype) for g in gradients]
        clipped, norm = tf.clip_by_global_norm(gradients, self.grad_clip)
        finite = tf.math.is_finite(norm)
        keep = norm < self.grad_norm_clip_to_zero
        clipped = [tf.where(keep, c, tf.where(finite, tf.zeros_like(c), g)) for c, g in zip(clipped, gradients)]
        if scale is not None:
            clipped = [g * tf.cast(scale, g.dtype) for g in clipped]
        learning_rate = self.optimizer.learning_rate
        self.optimizer.apply(clipped, variables)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        logs.update(beta=beta, sampling_probability=probability, gradient_norm=norm, learning_rate_used=tf.cast(learning_rate, tf.float32))
        return logs

    def test_step(self, data):
        """Magenta's evaluation: scheduled-sampling configs run with sampling probability 1."""
        inputs, targets = data
        probability = tf.constant(1.0) if (self.sampling_schedule != "constant" or self.sampling_rate != 0) else None
        terms, _, _ = self.compute_terms(inputs, targets, self.optimizer.iterations, training=False, sampling_probability=probability, seed=tf.constant([self.seed, 0]))
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def build_music_vae(config) -> MusicVAE:
    """The model of a :class:`~mst.models.music_vae.music_vae_presets.MusicVAEConfig` (weights built)."""
    return MusicVAE(
        output_depth=config.output_depth, max_seq_len=config.max_seq_len, decoder=config.decoder, enc_rnn_size=config.enc_rnn_size,
        dec_rnn_size=config.dec_rnn_size, z_size=config.z_size, level_lengths=config.level_lengths, free_bits=config.free_bits,
        max_beta=config.max_beta, beta_rate=config.beta_rate, sampling_schedule=config.sampling_schedule, sampling_rate=config.sampling_rate,
        dropout_keep_prob=config.dropout_keep_prob, grad_clip=config.grad_clip, grad_norm_clip_to_zero=config.grad_norm_clip_to_zero,
        recurrent_initializer=config.recurrent_initializer, seed=config.seed, name=config.name.replace("-", "_"),
    )


def make_optimizer(config) -> keras.optimizers.Adam:
    """Adam (β1 from the config, β2 0.999, ε 1e-8) on :class:`MagentaExponentialDecay`."""
    schedule = MagentaExponentialDecay(config.learning_rate, config.decay_rate, config.min_learning_rate)
    return keras.optimizers.Adam(learning_rate=schedule, beta_1=config.beta_1, beta_2=0.999, epsilon=config.adam_epsilon, name="music_vae_adam")


__all__ = ["MusicVAE", "MagentaExponentialDecay", "build_music_vae", "count_parameters", "make_optimizer", "NUM_DRUMS"]
