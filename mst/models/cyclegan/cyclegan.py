"""CycleGAN for symbolic music genre transfer (Brunner et al. 2018), as a `keras.Model`.

The training step reproduces the authors' TF1 code (docs/reference/cyclegan.md#losses-in-the-code),
including its quirks, each behind an option whose default is the code's behaviour:

* LSGAN losses (mean squared error to 1 for real, 0 for fake) and an L1 cycle loss weighted by
  ``lambda_cycle = 10``; no identity loss.
* One Adam for both generators and one for all discriminators; per step first one generator
  update, then the fakes (computed *before* that update) go through the history pool, then one
  discriminator update.
* Discriminator input noise: one draw per step, **half-normal** ``|N(0, σ_D²)|`` shared by every
  discriminator input of that step (``noise="half_normal"``, the code); ``noise="gaussian"`` gives
  zero-mean Gaussian noise (the paper's text). ``sigma_d = 0`` adds none. Never added to generator
  inputs, the cycle loss or inference.
* The history pool is used only by ``partial``/``full`` (the code's base branch skips it);
  ``pool_for_base=True`` uses it for ``base`` too (as the authors' TF2 port and the other ports do;
  docs/reference/cyclegan.md#history-pool).
* The extra discriminators ``D_A,m``/``D_B,m`` of ``partial``/``full`` are trained but send no
  gradient to the generators (the paper's equations and all code;
  docs/reference/cyclegan.md#mixed-discriminators-send-no-gradient);
  ``mixed_generator_loss=True`` adds ``γ·[MSE(D_A,m(x̂_A+n), 1) + MSE(D_B,m(x̂_B+n), 1)]`` to the
  generator loss (a documented deviation that gives them the role the paper describes).

Distribution: under a ``tf.distribute`` strategy every loss is averaged over the *global* batch
(each replica's mean is divided by the number of replicas before Keras sums the gradients); the
noise is drawn for the global batch with a mirrored seed generator and each replica adds its own
rows, so a run on N replicas computes the same step as a run on one device.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mst.encodings import pianoroll
from mst.layers import derive_seed
from mst.models.cyclegan.cyclegan_discriminator import build_discriminator
from mst.models.cyclegan.cyclegan_generator import build_generator
from mst.models.cyclegan.cyclegan_presets import DIRECTIONS, NOISE_TYPES, RECONSTRUCTION_LOSSES, VARIANTS
from mst.models.cyclegan.history_pool import HistoryPool, replica_shard



def _mse(x, target: float):
    return ops.mean(ops.square(ops.cast(x, "float32") - target))


def reconstruction_loss(kind: str, target, probabilities, logits=None):
    """Mean per-cell reconstruction loss of a roll batch against its binary target.

    Args:
        kind: ``"l1"`` (authors: ``mean|x - y|``), ``"bce"`` (binary cross-entropy computed on the
            generator's pre-sigmoid ``logits``, so its gradient does not vanish when the sigmoid
            saturates) or ``"balanced_l1"`` (L1 with on-cells weighted by ``1/(2ρ)`` and off-cells
            by ``1/(2(1-ρ))``, ρ the batch's on-cell share, so that silence costs 0.5 instead of ρ).
        target: Binary rolls ``x``.
        probabilities: The generator's sigmoid output ``y``.
        logits: The generator's pre-sigmoid output (needed for ``"bce"``).

    Returns:
        A float32 scalar.

    Example:
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0, 0.0, 0.0]])
    >>> silence = np.zeros_like(x)
    >>> float(reconstruction_loss("l1", x, silence)), float(reconstruction_loss("balanced_l1", x, silence))
    (0.25, 0.5)
    """
    target = ops.cast(target, "float32")
    probabilities = ops.cast(probabilities, "float32")
    if kind == "l1":
        return ops.mean(ops.abs(target - probabilities))
    if kind == "bce":
        if logits is None:
            raise ValueError("the 'bce' reconstruction loss needs the generator's logits")
        logits = ops.cast(logits, "float32")
        # max(z, 0) - z*x + log(1 + exp(-|z|)): stable for any logit
        return ops.mean(ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits))))
    if kind == "balanced_l1":
        on_share = ops.clip(ops.mean(target), 1e-6, 1.0 - 1e-6)
        weights = target / (2.0 * on_share) + (1.0 - target) / (2.0 * (1.0 - on_share))
        return ops.mean(weights * ops.abs(target - probabilities))
    raise ValueError(f"reconstruction loss must be one of {RECONSTRUCTION_LOSSES}, got {kind!r}")


def generator_logits_view(generator: keras.Model) -> keras.Model:
    """A model sharing ``generator``'s layers that returns ``(logits, sigmoid output)`` in one pass.

    The generator ends in ``conv_out`` (pre-sigmoid) followed by the ``sigmoid`` activation; the
    saved generator stays the raw sigmoid model, this view only adds the logits for the BCE terms.
    """
    return keras.Model(generator.input, [generator.get_layer("conv_out").output, generator.output], name=f"{generator.name}_with_logits")


def _num_replicas() -> int:
    ctx = tf.distribute.get_replica_context()
    return 1 if ctx is None else ctx.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="mst")
class CycleGAN(keras.Model):
    """Two generators, two domain discriminators and (``partial``/``full``) two mixed discriminators.

    Networks (attributes): ``generator_a2b`` (G_A→B), ``generator_b2a`` (G_B→A),
    ``discriminator_a`` (D_A, real = A), ``discriminator_b`` (D_B), and for ``partial``/``full``
    ``discriminator_a_mixed`` (D_A,m: real = mixed batch M, fake = x̂_A) and
    ``discriminator_b_mixed`` (D_B,m); they are ``None`` for ``base``.

    Batches are dicts ``{"a": x_a, "b": x_b}`` plus ``"m": x_m`` for ``partial``/``full``, each
    ``[B, 64, 84, 1]`` float in {0, 1}, all with the same batch size (use ``drop_remainder=True``).

    Args:
        generator_filters: Generator width (64 in the paper).
        generator_residual_blocks: Residual blocks per generator (10).
        discriminator_filters: Discriminator width (64).
        variant: ``"base"``, ``"partial"`` or ``"full"`` (the latter two have D_A,m and D_B,m;
            which data forms M is the data pipeline's business).
        batch_size: Global batch size. Only the history pool depends on it (it stores global
            batches); ignored when no pool is used.
        lambda_cycle: Cycle-loss weight λ (10).
        gamma: Weight γ of the mixed discriminators' loss (1).
        sigma_d: Standard deviation σ_D of the discriminator input noise (0 = none).
        noise: ``"half_normal"`` (code, default) or ``"gaussian"`` (paper text).
        pool_size: History-pool slots (50); 0 disables the pool.
        pool_for_base: Use the pool for ``base`` as well (default ``False``, as the code).
        mixed_generator_loss: Add the mixed discriminators' adversarial term to the generator
            loss (default ``False``, as the paper and code; see the module docstring).
        residual_relu_after_add: Residual-block variant of the generators (``True``: authors').
        cycle_loss: Criterion of the cycle term, one of :data:`RECONSTRUCTION_LOSSES` (``"l1"``:
            authors' code and paper; see :func:`reconstruction_loss`).
        identity_weight: Weight of Zhu et al.'s identity term ``G_A→B(x_B) ≈ x_B``,
            ``G_B→A(x_A) ≈ x_A`` with the ``cycle_loss`` criterion (0: paper and code).
        content_weight: Weight of a content term between each source and its own transfer,
            ``rec(x_A, G_A→B(x_A)) + rec(x_B, G_B→A(x_B))`` with the ``cycle_loss`` criterion
            (0: paper and code). It pulls a transfer towards the notes of its source.
        seed: Base seed of every initializer, the noise and the pool (``None``: random).
        **kwargs: Standard model arguments (``name``, ...).

    Example:
    >>> import numpy as np
    >>> gan = CycleGAN(generator_filters=2, generator_residual_blocks=1, discriminator_filters=2, seed=0)
    >>> gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    >>> x = (np.random.rand(2, 64, 84, 1) > 0.9).astype("float32")
    >>> sorted(gan.train_step({"a": x, "b": x}))
    ['cycle_loss', 'd_a_loss', 'd_b_loss', 'd_loss', 'g_adv_a2b', 'g_adv_b2a', 'g_loss']
    >>> gan.transfer(x, "a2b").shape
    (2, 64, 84, 1)
    """

    def __init__(
        self,
        generator_filters: int = 64,
        generator_residual_blocks: int = 10,
        discriminator_filters: int = 64,
        variant: str = "base",
        batch_size: int = 16,
        lambda_cycle: float = 10.0,
        gamma: float = 1.0,
        sigma_d: float = 0.0,
        noise: str = "half_normal",
        pool_size: int = 50,
        pool_for_base: bool = False,
        mixed_generator_loss: bool = False,
        residual_relu_after_add: bool = True,
        cycle_loss: str = "l1",
        identity_weight: float = 0.0,
        content_weight: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        kwargs.setdefault("name", "cyclegan")
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if noise not in NOISE_TYPES:
            raise ValueError(f"noise must be one of {NOISE_TYPES}, got {noise!r}")
        if sigma_d < 0:
            raise ValueError(f"sigma_d must be >= 0, got {sigma_d}")
        if pool_size < 0 or pool_size == 1:
            raise ValueError(f"pool_size must be 0 (no pool) or >= 2, got {pool_size}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if mixed_generator_loss and variant == "base":
            raise ValueError("mixed_generator_loss needs the mixed discriminators of variant 'partial' or 'full'")
        if cycle_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"cycle_loss must be one of {RECONSTRUCTION_LOSSES}, got {cycle_loss!r}")
        if identity_weight < 0 or content_weight < 0:
            raise ValueError(f"identity_weight and content_weight must be >= 0, got {identity_weight}, {content_weight}")
        self.generator_filters = int(generator_filters)
        self.generator_residual_blocks = int(generator_residual_blocks)
        self.discriminator_filters = int(discriminator_filters)
        self.variant = variant
        self.batch_size = int(batch_size)
        self.lambda_cycle = float(lambda_cycle)
        self.gamma = float(gamma)
        self.sigma_d = float(sigma_d)
        self.noise = noise
        self.pool_size = int(pool_size)
        self.pool_for_base = bool(pool_for_base)
        self.mixed_generator_loss = bool(mixed_generator_loss)
        self.residual_relu_after_add = bool(residual_relu_after_add)
        self.cycle_loss = cycle_loss
        self.identity_weight = float(identity_weight)
        self.content_weight = float(content_weight)
        self.seed = seed

        def gen(name):
            return build_generator(
                self.generator_filters,
                self.generator_residual_blocks,
                relu_after_add=self.residual_relu_after_add,
                seed=derive_seed(seed, name),
                name=name,
            )

        def disc(name):
            return build_discriminator(self.discriminator_filters, seed=derive_seed(seed, name), name=name)

        self.generator_a2b = gen("generator_a2b")
        self.generator_b2a = gen("generator_b2a")
        self.discriminator_a = disc("discriminator_a")
        self.discriminator_b = disc("discriminator_b")
        if self.has_mixed_discriminators:
            self.discriminator_a_mixed = disc("discriminator_a_mixed")
            self.discriminator_b_mixed = disc("discriminator_b_mixed")
        else:
            self.discriminator_a_mixed = None
            self.discriminator_b_mixed = None
        if self.uses_pool:
            # float32 buffers and no input autocasting, whatever the dtype policy
            self.history_pool = HistoryPool(self.pool_size, seed=derive_seed(seed, "history_pool"), dtype="float32", name="history_pool")
            self.history_pool.build((self.batch_size, *pianoroll.PHRASE_SHAPE))
        else:
            self.history_pool = None
        self.noise_seed_generator = keras.random.SeedGenerator(derive_seed(seed, "noise"), name="noise_seed")
        # Logit views share the generators' layers; set past Keras' attribute tracking so that
        # checkpoints and .keras files hold each weight once, under the generator's own name.
        object.__setattr__(self, "_logit_views", {d: generator_logits_view(self.generator(d)) for d in DIRECTIONS})

        names = ["g_loss", "cycle_loss", "g_adv_a2b", "g_adv_b2a"]
        if self.identity_weight:
            names.append("identity_loss")
        if self.content_weight:
            names.append("content_loss")
        if self.mixed_generator_loss:
            names.append("g_adv_mixed")
        names += ["d_loss", "d_a_loss", "d_b_loss"]
        if self.has_mixed_discriminators:
            names.append("d_mixed_loss")
        self.loss_trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.generator_optimizer = None
        self.discriminator_optimizer = None
        self.built = True

    # ------------------------------------------------------------------ structure

    @property
    def has_mixed_discriminators(self) -> bool:
        """Whether D_A,m and D_B,m exist (``partial`` and ``full``)."""
        return self.variant != "base"

    @property
    def uses_pool(self) -> bool:
        """Whether the discriminators see fakes through the history pool."""
        return self.pool_size > 0 and (self.has_mixed_discriminators or self.pool_for_base)

    @property
    def generators(self) -> list[keras.Model]:
        """``[G_A→B, G_B→A]``."""
        return [self.generator_a2b, self.generator_b2a]

    @property
    def discriminators(self) -> list[keras.Model]:
        """``[D_A, D_B]`` plus ``[D_A,m, D_B,m]`` for ``partial``/``full``."""
        nets = [self.discriminator_a, self.discriminator_b]
        if self.has_mixed_discriminators:
            nets += [self.discriminator_a_mixed, self.discriminator_b_mixed]
        return nets

    @property
    def generator_trainable_variables(self) -> list:
        """Variables the generator optimizer updates."""
        return [v for net in self.generators for v in net.trainable_variables]

    @property
    def discriminator_trainable_variables(self) -> list:
        """Variables the discriminator optimizer updates (including the mixed discriminators)."""
        return [v for net in self.discriminators for v in net.trainable_variables]

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def call(self, inputs, training=False):
        """Transfers ``{"a": x_a}`` and/or ``{"b": x_b}``; returns ``{"a2b": ..., "b2a": ...}`` accordingly."""
        if not isinstance(inputs, dict):
            raise ValueError("CycleGAN.call expects a dict with key 'a' and/or 'b'; use transfer(x, direction) for arrays")
        outputs = {}
        if "a" in inputs:
            outputs["a2b"] = self.generator_a2b(inputs["a"], training=training)
        if "b" in inputs:
            outputs["b2a"] = self.generator_b2a(inputs["b"], training=training)
        return outputs

    # ------------------------------------------------------------------ compile / config

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, *, auto_scale_loss=True, **kwargs):
        """Sets the two optimizers and builds their slots (call inside the strategy scope).

        Args:
            generator_optimizer: Optimizer of both generators (one Adam, as the code).
            discriminator_optimizer: Optimizer of all discriminators (one Adam, as the code).
            auto_scale_loss: Under the ``mixed_float16`` policy wrap each optimizer in a
                `keras.optimizers.LossScaleOptimizer` (as `keras.Model.compile` does); the train
                step always scales its losses with ``optimizer.scale_loss``.
            **kwargs: Other `keras.Model.compile` arguments (``jit_compile``, ``steps_per_execution``,
                ``run_eagerly``); ``optimizer``, ``loss`` and ``metrics`` are not used by this model.
        """
        if generator_optimizer is None or discriminator_optimizer is None:
            raise ValueError("CycleGAN.compile needs generator_optimizer and discriminator_optimizer")
        for unused in ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.pop(unused, None) is not None:
                raise ValueError(f"CycleGAN.compile does not use {unused!r}: its losses are fixed by the paper")
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = keras.optimizers.get(generator_optimizer)
        self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16":
            if not isinstance(self.generator_optimizer, keras.optimizers.LossScaleOptimizer):
                self.generator_optimizer = keras.optimizers.LossScaleOptimizer(self.generator_optimizer)
            if not isinstance(self.discriminator_optimizer, keras.optimizers.LossScaleOptimizer):
                self.discriminator_optimizer = keras.optimizers.LossScaleOptimizer(self.discriminator_optimizer)
        # Build the slots now: lazily created slots fail under tf.distribute
        # (docs/reference/environment.md#optimizer-slots-under-a-strategy).
        self.generator_optimizer.build(self.generator_trainable_variables)
        self.discriminator_optimizer.build(self.discriminator_trainable_variables)

    def get_compile_config(self):
        if self.generator_optimizer is None:
            return {}
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(self.discriminator_optimizer),
        }

    def compile_from_config(self, config):
        if not config:
            return
        self.compile(
            generator_optimizer=keras.saving.deserialize_keras_object(config["generator_optimizer"]),
            discriminator_optimizer=keras.saving.deserialize_keras_object(config["discriminator_optimizer"]),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator_filters": self.generator_filters,
                "generator_residual_blocks": self.generator_residual_blocks,
                "discriminator_filters": self.discriminator_filters,
                "variant": self.variant,
                "batch_size": self.batch_size,
                "lambda_cycle": self.lambda_cycle,
                "gamma": self.gamma,
                "sigma_d": self.sigma_d,
                "noise": self.noise,
                "pool_size": self.pool_size,
                "pool_for_base": self.pool_for_base,
                "mixed_generator_loss": self.mixed_generator_loss,
                "residual_relu_after_add": self.residual_relu_after_add,
                "cycle_loss": self.cycle_loss,
                "identity_weight": self.identity_weight,
                "content_weight": self.content_weight,
                "seed": self.seed,
            }
        )
        return config

    # ------------------------------------------------------------------ losses

    def sample_noise(self, batch_shape, *, global_batch: bool = True):
        """Draws the step's discriminator noise (one draw), or ``None`` when ``sigma_d == 0``.

        Args:
            batch_shape: Shape of one batch as this replica sees it, ``[B, 64, 84, 1]``.
            global_batch: Draw for the global batch (``B × replicas``) and return this replica's
                rows, so that N replicas add the same noise as one device would. The seed
                generator's state is mirrored, so every replica draws the same global array.

        Returns:
            ``|N(0, σ²)|`` (half-normal) or ``N(0, σ²)`` noise of shape ``batch_shape``, or ``None``.
        """
        if self.sigma_d == 0:
            return None
        batch_shape = tuple(batch_shape)
        replicas = _num_replicas() if global_batch else 1
        shape = (batch_shape[0] * replicas, *batch_shape[1:])
        noise = keras.random.normal(shape, stddev=self.sigma_d, seed=self.noise_seed_generator)
        if self.noise == "half_normal":
            noise = ops.abs(noise)
        if replicas > 1:
            noise = replica_shard(noise, batch_shape[0])
        return noise

    @staticmethod
    def _noisy(x, noise):
        return x if noise is None else x + noise

    def compute_generator_losses(self, x_a, x_b, noise=None, training=True):
        """The generator objective of one step, on this replica's batch.

        ``g_loss = MSE(D_B(x̂_B + n), 1) + MSE(D_A(x̂_A + n), 1) + cycle_loss`` with ``cycle_loss =
        λ·(rec(x_A, x̃_A) + rec(x_B, x̃_B))`` (``rec`` = mean L1 for the default ``cycle_loss="l1"``,
        see :func:`reconstruction_loss`); plus the identity and content terms when their weights are
        non-zero; with ``mixed_generator_loss`` also
        ``+ γ·[MSE(D_A,m(x̂_A + n), 1) + MSE(D_B,m(x̂_B + n), 1)]``
        (docs/reference/cyclegan.md#losses-in-the-code).

        Args:
            x_a: Real batch of domain A.
            x_b: Real batch of domain B.
            noise: The step's discriminator noise (from :meth:`sample_noise`) or ``None``.
            training: Passed to the networks.

        Returns:
            Dict with the scalar losses ``g_loss``, ``cycle_loss``, ``g_adv_a2b``, ``g_adv_b2a``
            (and ``g_adv_mixed``) and the tensors ``fake_a`` (x̂_A = G_B→A(x_B)) and ``fake_b``.
        """
        def run(direction, x):
            logits, probabilities = self._logit_views[direction](x, training=training)
            return probabilities, logits

        def rec(target, output):
            return reconstruction_loss(self.cycle_loss, target, *output)

        fake_b, fake_b_logits = run("a2b", x_a)
        cycle_a = run("b2a", fake_b)
        fake_a, fake_a_logits = run("b2a", x_b)
        cycle_b = run("a2b", fake_a)
        g_adv_a2b = _mse(self.discriminator_b(self._noisy(fake_b, noise), training=training), 1.0)
        g_adv_b2a = _mse(self.discriminator_a(self._noisy(fake_a, noise), training=training), 1.0)
        cycle_loss = self.lambda_cycle * (rec(x_a, cycle_a) + rec(x_b, cycle_b))
        losses = {"g_adv_a2b": g_adv_a2b, "g_adv_b2a": g_adv_b2a, "cycle_loss": cycle_loss}
        g_loss = g_adv_a2b + g_adv_b2a + cycle_loss
        if self.identity_weight:
            identity_loss = self.identity_weight * (rec(x_b, run("a2b", x_b)) + rec(x_a, run("b2a", x_a)))
            losses["identity_loss"] = identity_loss
            g_loss = g_loss + identity_loss
        if self.content_weight:
            content_loss = self.content_weight * (rec(x_a, (fake_b, fake_b_logits)) + rec(x_b, (fake_a, fake_a_logits)))
            losses["content_loss"] = content_loss
            g_loss = g_loss + content_loss
        if self.mixed_generator_loss:
            g_adv_mixed = _mse(self.discriminator_a_mixed(self._noisy(fake_a, noise), training=training), 1.0) + _mse(
                self.discriminator_b_mixed(self._noisy(fake_b, noise), training=training), 1.0
            )
            losses["g_adv_mixed"] = g_adv_mixed
            g_loss = g_loss + self.gamma * g_adv_mixed
        losses.update({"g_loss": g_loss, "fake_a": fake_a, "fake_b": fake_b})
        return losses

    def compute_discriminator_losses(self, x_a, x_b, fake_a, fake_b, x_m=None, noise=None, training=True):
        """The discriminator objective of one step, on this replica's batch.

        ``d_a_loss = ½[MSE(D_A(x_A + n), 1) + MSE(D_A(x̂_A + n), 0)]``, ``d_b_loss`` likewise,
        ``d_loss = d_a_loss + d_b_loss`` (+ ``γ·d_mixed_loss`` for ``partial``/``full``, with
        ``d_mixed_loss = ½[MSE(D_A,m(x_M + n), 1) + MSE(D_A,m(x̂_A + n), 0)] + ½[same for D_B,m
        and x̂_B]``). The fakes are treated as constants
        (docs/reference/cyclegan.md#losses-in-the-code).

        Returns:
            Dict of scalar losses ``d_loss``, ``d_a_loss``, ``d_b_loss`` (and ``d_mixed_loss``).
        """
        fake_a = ops.stop_gradient(fake_a)
        fake_b = ops.stop_gradient(fake_b)
        d_a_loss = 0.5 * (
            _mse(self.discriminator_a(self._noisy(x_a, noise), training=training), 1.0)
            + _mse(self.discriminator_a(self._noisy(fake_a, noise), training=training), 0.0)
        )
        d_b_loss = 0.5 * (
            _mse(self.discriminator_b(self._noisy(x_b, noise), training=training), 1.0)
            + _mse(self.discriminator_b(self._noisy(fake_b, noise), training=training), 0.0)
        )
        losses = {"d_a_loss": d_a_loss, "d_b_loss": d_b_loss}
        d_loss = d_a_loss + d_b_loss
        if self.has_mixed_discriminators:
            if x_m is None:
                raise ValueError(f"variant {self.variant!r} needs a mixed batch under key 'm'")
            x_m_noisy = self._noisy(x_m, noise)
            d_mixed_loss = 0.5 * (
                _mse(self.discriminator_a_mixed(x_m_noisy, training=training), 1.0)
                + _mse(self.discriminator_a_mixed(self._noisy(fake_a, noise), training=training), 0.0)
            ) + 0.5 * (
                _mse(self.discriminator_b_mixed(x_m_noisy, training=training), 1.0)
                + _mse(self.discriminator_b_mixed(self._noisy(fake_b, noise), training=training), 0.0)
            )
            losses["d_mixed_loss"] = d_mixed_loss
            d_loss = d_loss + self.gamma * d_mixed_loss
        losses["d_loss"] = d_loss
        return losses

    # ------------------------------------------------------------------ steps

    def _unpack(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(x, dict) or "a" not in x or "b" not in x:
            raise ValueError("CycleGAN batches must be dicts with keys 'a' and 'b' (and 'm' for partial/full)")
        x_a = ops.convert_to_tensor(x["a"], "float32")
        x_b = ops.convert_to_tensor(x["b"], "float32")
        x_m = ops.convert_to_tensor(x["m"], "float32") if x.get("m") is not None else None
        if self.has_mixed_discriminators and x_m is None:
            raise ValueError(f"variant {self.variant!r} needs a mixed batch under key 'm'")
        return x_a, x_b, x_m

    def _update_trackers(self, losses):
        for name, tracker in self.loss_trackers.items():
            tracker.update_state(losses[name])
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("call compile(generator_optimizer, discriminator_optimizer) before training")
        x_a, x_b, x_m = self._unpack(data)
        if self.history_pool is not None and x_a.shape[0] is not None and x_a.shape[0] * _num_replicas() != self.batch_size:
            raise ValueError(
                f"this CycleGAN's history pool stores global batches of {self.batch_size}, got {x_a.shape[0]} x "
                f"{_num_replicas()} replica(s); batch with drop_remainder=True or build the model with batch_size="
                f"{x_a.shape[0] * _num_replicas()}"
            )
        # Replicas' gradients are summed: scale each replica's mean so the sum is the global mean.
        scale = 1.0 / _num_replicas()
        noise = self.sample_noise(ops.shape(x_a) if x_a.shape[0] is None else x_a.shape)

        # (1) Generator step (the fakes of this forward pass feed the discriminator step).
        gen_vars = self.generator_trainable_variables
        with tf.GradientTape() as tape:
            g = self.compute_generator_losses(x_a, x_b, noise=noise, training=True)
            scaled = self.generator_optimizer.scale_loss(g["g_loss"] * scale)
        grads = tape.gradient(scaled, gen_vars)
        self.generator_optimizer.apply_gradients(zip(grads, gen_vars))

        # (2) History pool (partial/full; base only with pool_for_base).
        fake_a, fake_b = g["fake_a"], g["fake_b"]
        if self.history_pool is not None:
            fake_a, fake_b = self.history_pool(ops.stop_gradient(fake_a), ops.stop_gradient(fake_b))

        # (3) Discriminator step.
        disc_vars = self.discriminator_trainable_variables
        with tf.GradientTape() as tape:
            d = self.compute_discriminator_losses(x_a, x_b, fake_a, fake_b, x_m=x_m, noise=noise, training=True)
            scaled = self.discriminator_optimizer.scale_loss(d["d_loss"] * scale)
        grads = tape.gradient(scaled, disc_vars)
        self.discriminator_optimizer.apply_gradients(zip(grads, disc_vars))
        return self._update_trackers({**g, **d})

    def test_step(self, data):
        """Evaluation losses on a validation batch: same names as training, no noise, no pool, no update."""
        x_a, x_b, x_m = self._unpack(data)
        g = self.compute_generator_losses(x_a, x_b, noise=None, training=False)
        d = self.compute_discriminator_losses(x_a, x_b, g["fake_a"], g["fake_b"], x_m=x_m, noise=None, training=False)
        return self._update_trackers({**g, **d})

    # ------------------------------------------------------------------ inference

    def generator(self, direction: str) -> keras.Model:
        """G_A→B for ``"a2b"``, G_B→A for ``"b2a"``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return self.generator_a2b if direction == "a2b" else self.generator_b2a

    def transfer(self, x, direction: str = "a2b", *, binarize: bool = False, batch_size: int = 64) -> np.ndarray:
        """Transfers phrases with one generator (no noise; instance norm is per phrase).

        Args:
            x: ``[N, 64, 84, 1]`` (or ``[N, 64, 84]``) phrases in {0, 1}.
            direction: ``"a2b"`` or ``"b2a"``.
            binarize: Threshold the output with :func:`mst.encodings.pianoroll.binarize` (> 0.5).
            batch_size: Phrases per forward pass.

        Returns:
            NumPy array ``[N, 64, 84, 1]``: the continuous sigmoid output, or 0/1 when binarized.
        """
        net = self.generator(direction)
        out = pianoroll.map_phrase_batches(lambda batch: net(batch, training=False), x, batch_size)
        return pianoroll.binarize(out) if binarize else out


def build_cyclegan(config) -> CycleGAN:
    """Builds the :class:`CycleGAN` described by an :class:`mst.models.cyclegan.cyclegan_presets.CycleGANConfig`.

    Build (and compile) inside the distribution strategy's scope. Optimizers are left to the
    caller; :func:`mst.training.schedules.adam_with_decay` gives the authors' Adam and schedule.
    """
    return CycleGAN(
        generator_filters=config.generator_filters,
        generator_residual_blocks=config.generator_residual_blocks,
        discriminator_filters=config.discriminator_filters,
        variant=config.variant,
        batch_size=config.batch_size,
        lambda_cycle=config.lambda_cycle,
        gamma=config.gamma,
        sigma_d=config.sigma_d,
        noise=config.noise,
        pool_size=config.pool_size,
        pool_for_base=config.pool_for_base,
        mixed_generator_loss=config.mixed_generator_loss,
        residual_relu_after_add=config.residual_relu_after_add,
        cycle_loss=config.cycle_loss,
        identity_weight=config.identity_weight,
        content_weight=config.content_weight,
        seed=config.seed,
        name=f"cyclegan_{config.genre_a}_{config.genre_b}_{config.variant}",
    )
