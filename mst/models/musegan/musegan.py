"""MuseGAN as one ``keras.Model``: generator + critic trained as a WGAN-GP (Foster ch. 7, Gulrajani et al. 2017).

One :meth:`MuseGAN.train_step` is one generator update preceded by ``critic_steps`` critic
updates (book: 5). Each critic update takes its own real batch (the data pipeline delivers
``critic_steps x B`` real windows per step, drawn with replacement, as the book draws a fresh
random batch for every critic update) and fresh noise:

* critic loss = mean D(fake) - mean D(real) + lambda * GP, lambda = ``gp_weight`` (10);
* GP = mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2, x_hat = alpha * real + (1 - alpha) * fake,
  alpha ~ U(0, 1) **per example** (the 2nd-edition rewrite draws it from N(0, 1); kept as
  ``alpha_distribution="normal"``), the norm taken over **all** non-batch axes (bars, steps,
  pitches, tracks; the rewrite forgets the track axis);
* generator loss = -mean D(G(z)).

Reported (``train_step``'s dict, the run's history and TensorBoard): ``critic_loss`` (mean of
the step's critic updates, GP included), ``generator_loss``, ``gradient_penalty`` (GP before
lambda) and ``wasserstein`` (mean D(real) - mean D(fake), the critic's estimate of the
Wasserstein distance; it should shrink as the generator improves).

Example:
>>> import numpy as np
>>> from mst.models.musegan.musegan_presets import PRESETS
>>> gan = build_musegan(PRESETS["musegan_tiny"])
>>> gan.compile(keras.optimizers.Adam(1e-3, 0.5, 0.9), keras.optimizers.Adam(1e-3, 0.5, 0.9))
>>> real = np.sign(np.random.default_rng(0).normal(size=(2 * 2, 2, 16, 84, 4))).astype("float32")
>>> sorted(gan.train_step(real))
['critic_loss', 'generator_loss', 'gradient_penalty', 'wasserstein']
>>> gan.generate(gan.sample_noise(3, seed=1)).shape
(3, 2, 16, 84, 4)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mst.models.musegan.musegan_critic import build_critic
from mst.models.musegan.musegan_generator import NOISE_NAMES, build_generator
from mst.runtime import import_tensorflow

tf = import_tensorflow()

LOSS_NAMES = ("critic_loss", "generator_loss", "gradient_penalty", "wasserstein")


def _num_replicas() -> int:
    ctx = tf.distribute.get_replica_context()
    return 1 if ctx is None else ctx.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="mst")
class MuseGAN(keras.Model):
    """Generator + critic with the WGAN-GP ``train_step`` (see the module docstring).

    Args:
        generator: The 4-noise generator (:func:`~mst.models.musegan.musegan_generator.build_generator`).
        critic: The critic (:func:`~mst.models.musegan.musegan_critic.build_critic`).
        z_dim: Noise size.
        n_tracks: Tracks (the melody and groove noises are ``[n_tracks, z_dim]``).
        critic_steps: Critic updates per generator update.
        gp_weight: lambda.
        alpha_distribution: ``"uniform"`` or ``"normal"``.
        seed: Seed of the training noise (``None``: random).
        **kwargs: Standard model arguments.
    """

    def __init__(self, generator, critic, z_dim: int = 32, n_tracks: int = 4, critic_steps: int = 5, gp_weight: float = 10.0,
                 alpha_distribution: str = "uniform", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator if isinstance(generator, keras.Model) else keras.saving.deserialize_keras_object(generator)
        self.critic = critic if isinstance(critic, keras.Model) else keras.saving.deserialize_keras_object(critic)
        self.z_dim = int(z_dim)
        self.n_tracks = int(n_tracks)
        self.critic_steps = int(critic_steps)
        self.gp_weight = float(gp_weight)
        if alpha_distribution not in ("uniform", "normal"):
            raise ValueError(f"alpha_distribution must be 'uniform' or 'normal', got {alpha_distribution!r}")
        self.alpha_distribution = alpha_distribution
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed, name="noise_seed")
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}
        self.generator_optimizer = None
        self.critic_optimizer = None

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def call(self, inputs, training=False):
        """The generator on a noise dict ``{"chords", "style", "melody", "groove"}`` (or list)."""
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in NOISE_NAMES]
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------------ compile / config

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs):
        """Sets both optimizers and builds their slots (call inside the strategy scope)."""
        if generator_optimizer is None or critic_optimizer is None:
            raise ValueError("MuseGAN.compile needs generator_optimizer and critic_optimizer")
        for unused in ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.pop(unused, None) is not None:
                raise ValueError(f"MuseGAN.compile does not use {unused!r}: the WGAN-GP losses are fixed")
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = keras.optimizers.get(generator_optimizer)
        self.critic_optimizer = keras.optimizers.get(critic_optimizer)
        if self.dtype_policy.name == "mixed_float16":
            if not isinstance(self.generator_optimizer, keras.optimizers.LossScaleOptimizer):
                self.generator_optimizer = keras.optimizers.LossScaleOptimizer(self.generator_optimizer)
            if not isinstance(self.critic_optimizer, keras.optimizers.LossScaleOptimizer):
                self.critic_optimizer = keras.optimizers.LossScaleOptimizer(self.critic_optimizer)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)

    def get_compile_config(self):
        if self.generator_optimizer is None:
            return {}
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "critic_optimizer": keras.saving.serialize_keras_object(self.critic_optimizer),
        }

    def compile_from_config(self, config):
        if config:
            self.compile(keras.saving.deserialize_keras_object(config["generator_optimizer"]),
                         keras.saving.deserialize_keras_object(config["critic_optimizer"]))

    def get_config(self):
        config = super().get_config()
        config.update({
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "z_dim": self.z_dim, "n_tracks": self.n_tracks, "critic_steps": self.critic_steps,
            "gp_weight": self.gp_weight, "alpha_distribution": self.alpha_distribution, "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        critic = keras.saving.deserialize_keras_object(config.pop("critic"))
        return cls(generator, critic, **config)

    def build(self, input_shape=None):
        self.built = True

    # ------------------------------------------------------------------ noise

    def noise(self, batch_size) -> dict:
        """Fresh N(0, 1) noise for the training step (from the model's seed generator)."""
        z, tracks = self.z_dim, self.n_tracks
        return {
            "chords": keras.random.normal((batch_size, z), seed=self.noise_seed),
            "style": keras.random.normal((batch_size, z), seed=self.noise_seed),
            "melody": keras.random.normal((batch_size, tracks, z), seed=self.noise_seed),
            "groove": keras.random.normal((batch_size, tracks, z), seed=self.noise_seed),
        }

    def sample_noise(self, n: int, seed: int | None = None) -> dict:
        """``n`` noise sets as numpy arrays (numpy RNG of ``seed``), for generation."""
        rng = np.random.default_rng(seed)
        z, tracks = self.z_dim, self.n_tracks
        return {
            "chords": rng.standard_normal((n, z), dtype=np.float32),
            "style": rng.standard_normal((n, z), dtype=np.float32),
            "melody": rng.standard_normal((n, tracks, z), dtype=np.float32),
            "groove": rng.standard_normal((n, tracks, z), dtype=np.float32),
        }

    def generate(self, noise: dict, batch_size: int = 64) -> np.ndarray:
        """Generator output (inference mode) for a noise dict of numpy arrays: ``[N, bars, 16, 84, tracks]``."""
        n = len(noise["chords"])
        parts = []
        for start in range(0, n, batch_size):
            batch = [np.asarray(noise[name][start : start + batch_size], np.float32) for name in NOISE_NAMES]
            parts.append(ops.convert_to_numpy(self.generator(batch, training=False)).astype(np.float32))
        return np.concatenate(parts) if parts else np.zeros((0, *self.generator.output.shape[1:]), np.float32)

    # ------------------------------------------------------------------ losses

    def gradient_penalty(self, real, fake):
        """Mean (||grad D(x_hat)|| - 1)^2 with x_hat = alpha real + (1 - alpha) fake, alpha per example."""
        batch = ops.shape(real)[0]
        alpha_shape = (batch,) + (1,) * (len(real.shape) - 1)
        if self.alpha_distribution == "uniform":
            alpha = keras.random.uniform(alpha_shape, 0.0, 1.0, seed=self.noise_seed)
        else:
            alpha = keras.random.normal(alpha_shape, seed=self.noise_seed)
        interpolated = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(interpolated)
            score = tf.cast(self.critic(interpolated, training=True), tf.float32)
        grads = tape.gradient(score, interpolated)
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=list(range(1, len(real.shape)))) + 1e-12)
        return ops.mean(ops.square(norm - 1.0))

    def critic_losses(self, real, fake):
        """``(critic loss, gradient penalty, Wasserstein estimate)`` of one batch."""
        real_score = ops.mean(ops.cast(self.critic(real, training=True), "float32"))
        fake_score = ops.mean(ops.cast(self.critic(fake, training=True), "float32"))
        gp = self.gradient_penalty(real, fake)
        wasserstein = real_score - fake_score
        return -wasserstein + self.gp_weight * gp, gp, wasserstein

    # ------------------------------------------------------------------ steps

    def _real_batches(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = ops.convert_to_tensor(x, "float32")
        return ops.reshape(x, (self.critic_steps, -1, *x.shape[1:]))

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("call compile(generator_optimizer, critic_optimizer) before training")
        reals = self._real_batches(data)
        scale = 1.0 / _num_replicas()
        critic_vars = self.critic.trainable_variables
        critic_loss = gp = wasserstein = 0.0
        for step in range(self.critic_steps):
            real = reals[step]
            fake = self.generator([*self.noise(ops.shape(real)[0]).values()], training=True)
            fake = ops.stop_gradient(ops.cast(fake, "float32"))
            with tf.GradientTape() as tape:
                loss, penalty, distance = self.critic_losses(real, fake)
                scaled = self.critic_optimizer.scale_loss(loss * scale)
            grads = tape.gradient(scaled, critic_vars)
            self.critic_optimizer.apply_gradients(zip(grads, critic_vars))
            critic_loss, gp, wasserstein = critic_loss + loss, gp + penalty, wasserstein + distance
        generator_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator([*self.noise(ops.shape(reals)[1]).values()], training=True)
            generator_loss = -ops.mean(ops.cast(self.critic(fake, training=True), "float32"))
            scaled = self.generator_optimizer.scale_loss(generator_loss * scale)
        grads = tape.gradient(scaled, generator_vars)
        self.generator_optimizer.apply_gradients(zip(grads, generator_vars))
        steps = float(self.critic_steps)
        values = {"critic_loss": critic_loss / steps, "generator_loss": generator_loss, "gradient_penalty": gp / steps, "wasserstein": wasserstein / steps}
        for name, tracker in self.loss_trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def wasserstein_estimate(self, real, *, seed: int = 0, batch_size: int = 64) -> float:
        """mean D(real) - mean D(G(z)) over held-out windows (inference mode, noise from ``seed``)."""
        real = np.asarray(real, np.float32)
        fake = self.generate(self.sample_noise(len(real), seed=seed), batch_size=batch_size)
        scores = []
        for x in (real, fake):
            scores.append(np.mean(np.concatenate([ops.convert_to_numpy(self.critic(x[i : i + batch_size], training=False)).reshape(-1) for i in range(0, len(x), batch_size)])))
        return float(scores[0] - scores[1])


def build_musegan(config) -> MuseGAN:
    """The uncompiled :class:`MuseGAN` of a :class:`~mst.models.musegan.musegan_presets.MuseGANConfig`."""
    return MuseGAN(
        build_generator(config), build_critic(config), z_dim=config.z_dim, n_tracks=config.n_tracks,
        critic_steps=config.critic_steps, gp_weight=config.gp_weight, alpha_distribution=config.alpha_distribution, seed=config.seed,
        name="musegan",
    )
