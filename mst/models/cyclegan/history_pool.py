"""The authors' history pool of generated batches.

After the authors' TF1 code (``utils.ImagePool``); see docs/reference/cyclegan.md#history-pool.

Discriminators are trained on a mix of current and older fakes (Shrivastava et al. 2017). The
authors' pool keeps *whole batches* as ``[fake_A batch, fake_B batch]`` pairs in 50 slots:

* while it is filling, each call stores the current pair in the next slot and returns it;
* once full, with probability 0.5 it returns the fake_A batch of one random slot and the fake_B
  batch of a *different* random slot and stores the current batches in their place; otherwise it
  returns the current batches unchanged.

(The authors' TF1 code draws the two slots independently, so they coincide with probability
1/50; this pool always takes two distinct slots, a known difference from the TF1 code:
docs/reference/cyclegan.md#history-pool.)

This implementation keeps the buffers in non-trainable Keras weights and draws its randomness
from its own `keras.random.SeedGenerator`, so it runs inside a compiled ``train_step``, it is part
of ``model.variables`` (checkpoints taken with ``mst.training`` resume bit-for-bit), and the
buffers are also in ``model.weights`` (``.weights.h5`` / ``.keras``).

Distribution: the pool holds *global* batches, i.e. what one optimizer step sees, exactly as the
authors' single-device pool. Under a ``tf.distribute`` strategy each replica all-gathers the
current fakes, every replica applies the same update (its seed-generator state is mirrored, so the
draws agree), and each replica takes back its own shard of the result. The buffer variables are
mirrored with ``ONLY_FIRST_REPLICA`` aggregation: a checkpoint holds one exact copy, a restore is
exact on any number of replicas, and a run on N replicas draws the same pool decisions as a run on
one device. The cost is one all-gather of the two fake batches per step.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from mst.layers import derive_seed


def _replica_context():
    """(num_replicas, replica_id tensor or None) of the current replica context."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return 1, None
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


def gather_replica_batches(x):
    """Concatenates the per-replica batches of ``x`` along axis 0 (identity on one replica)."""
    num_replicas, _ = _replica_context()
    if num_replicas == 1:
        return x
    gathered = tf.distribute.get_replica_context().all_gather(x, axis=0)
    if x.shape[0] is not None:  # all_gather drops the static shape; every replica has the same batch
        gathered = tf.ensure_shape(gathered, [x.shape[0] * num_replicas, *x.shape[1:]])
    return gathered


def replica_shard(x, local_batch: int):
    """This replica's rows ``[id * local_batch, (id + 1) * local_batch)`` of a global batch ``x``."""
    num_replicas, replica_id = _replica_context()
    if num_replicas == 1:
        return x
    start = tf.cast(replica_id, tf.int32) * local_batch
    return x[start : start + local_batch]


@keras.saving.register_keras_serializable(package="mst")
def _with_batch_shape(batch, shape: tuple[int, ...]):
    """``batch`` with the static shape ``shape`` if its known dimensions agree (else unchanged)."""
    known = tuple(batch.shape)
    if len(known) == len(shape) and None in known and all(k in (None, s) for k, s in zip(known, shape)):
        return ops.reshape(batch, shape)
    return batch


class HistoryPool(keras.layers.Layer):
    """A pool of ``pool_size`` past ``(fake_a, fake_b)`` batch pairs, the authors' ``ImagePool``.

    Call it with the current fake batches; it returns the batches the discriminators should see.
    Build it with the *global* batch shape (see the module docstring for distribution).

    Args:
        pool_size: Number of stored batch pairs (50 in the paper's code). Must be >= 2, since a
            swap takes two distinct slots.
        swap_probability: Probability that a full pool returns stored batches (0.5).
        seed: Seed of the pool's `keras.random.SeedGenerator` (``None``: random).
        **kwargs: Standard layer arguments.

    Example:
    >>> import numpy as np
    >>> pool = HistoryPool(pool_size=2, seed=0)
    >>> pool.build((1, 1, 1, 1))
    >>> out_a, out_b = pool(np.ones((1, 1, 1, 1), "float32"), np.zeros((1, 1, 1, 1), "float32"))
    >>> int(pool.num_stored.numpy()), float(np.asarray(out_a).sum())
    (1, 1.0)
    """

    def __init__(self, pool_size: int = 50, swap_probability: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 2:
            raise ValueError(f"pool_size must be >= 2 (use no pool for 0), got {pool_size}")
        if not 0.0 <= float(swap_probability) <= 1.0:
            raise ValueError(f"swap_probability must be in [0, 1], got {swap_probability}")
        self.pool_size = int(pool_size)
        self.swap_probability = float(swap_probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(derive_seed(seed, "history_pool") if seed is not None else None, name="history_pool_seed")
        self.images_a = None
        self.images_b = None
        self.num_stored = None

    def build(self, input_shape):
        shape = tuple(input_shape)
        if any(d is None for d in shape):
            raise ValueError(f"HistoryPool needs a fully known (global) batch shape, got {shape}")
        self.images_a = self.add_weight(
            shape=(self.pool_size, *shape), initializer="zeros", trainable=False, aggregation="only_first_replica", name="images_a"
        )
        self.images_b = self.add_weight(
            shape=(self.pool_size, *shape), initializer="zeros", trainable=False, aggregation="only_first_replica", name="images_b"
        )
        self.num_stored = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, aggregation="only_first_replica", name="num_stored")

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of one stored (global) batch."""
        return tuple(self.images_a.shape[1:])

    def call(self, fake_a, fake_b):
        fake_a = gather_replica_batches(ops.convert_to_tensor(fake_a, dtype=self.images_a.dtype))
        fake_b = gather_replica_batches(ops.convert_to_tensor(fake_b, dtype=self.images_b.dtype))
        local_batch = None
        num_replicas, _ = _replica_context()
        # A multi-worker distributed dataset loses the static batch dimension (tf.data rebatching);
        # the gathered batch must still be the stored global batch, which the reshape checks at run
        # time. Known shapes are checked here, before any tracing of the pool's update.
        fake_a, fake_b = (_with_batch_shape(fake, self.batch_shape) for fake in (fake_a, fake_b))
        if tuple(fake_a.shape) != self.batch_shape or tuple(fake_b.shape) != self.batch_shape:
            raise ValueError(
                f"HistoryPool stores global batches of shape {self.batch_shape}, got {tuple(fake_a.shape)} and "
                f"{tuple(fake_b.shape)} (with {num_replicas} replica(s)); batch with drop_remainder=True and build "
                "the model with the global batch size"
            )
        if num_replicas > 1:
            local_batch = self.batch_shape[0] // num_replicas

        # Draws are made on every call (also while filling) so that RNG use does not depend on state.
        swap = keras.random.uniform((), seed=self.seed_generator) < self.swap_probability
        slot_a = keras.random.randint((), 0, self.pool_size, seed=self.seed_generator, dtype="int32")
        offset = keras.random.randint((), 1, self.pool_size, seed=self.seed_generator, dtype="int32")
        slot_b = (slot_a + offset) % self.pool_size  # uniform over the slots != slot_a

        count = ops.convert_to_tensor(self.num_stored)
        filling = count < self.pool_size
        use_stored = ops.logical_and(ops.logical_not(filling), swap)
        write = ops.logical_or(filling, swap)
        index_a = ops.where(filling, count, slot_a)
        index_b = ops.where(filling, count, slot_b)
        stored_a = ops.take(self.images_a, index_a, axis=0)
        stored_b = ops.take(self.images_b, index_b, axis=0)
        out_a = ops.where(use_stored, stored_a, fake_a)
        out_b = ops.where(use_stored, stored_b, fake_b)
        new_a = ops.where(write, fake_a, stored_a)
        new_b = ops.where(write, fake_b, stored_b)
        # One-slot scatter updates (not a copy of the whole buffer).
        self.images_a.value.scatter_update(tf.IndexedSlices(new_a[None], index_a[None]))
        self.images_b.value.scatter_update(tf.IndexedSlices(new_b[None], index_b[None]))
        self.num_stored.assign(ops.minimum(count + 1, self.pool_size))
        if local_batch is not None:
            out_a = replica_shard(out_a, local_batch)
            out_b = replica_shard(out_b, local_batch)
        return out_a, out_b

    def compute_output_spec(self, fake_a, fake_b):
        return keras.KerasTensor(fake_a.shape, fake_a.dtype), keras.KerasTensor(fake_b.shape, fake_b.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "swap_probability": self.swap_probability, "seed": self.seed})
        return config
