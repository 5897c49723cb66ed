"""Devices, distribution strategies and numeric precision for training.

Everything here that changes the device layout must run before TensorFlow initialises its
runtime (before the first op or the first ``tf.config.list_logical_devices`` call);
:func:`configure_logical_cpus` raises a clear error when that moment has passed.

Strategy names (``--strategy`` in ``train.py``):

==================  ============================================================================
``default``         ``tf.distribute.get_strategy()``: no distribution, the first GPU if any.
``one_device``      ``tf.distribute.OneDeviceStrategy`` on ``/gpu:0`` (or ``/cpu:0`` without GPU).
``mirrored``        ``tf.distribute.MirroredStrategy`` over all local GPUs; without GPUs, over all
                    logical CPU devices (see ``--logical-cpus``), which is how it is tested.
``multi_worker``    ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster comes from the
                    ``TF_CONFIG`` environment variable of every worker.
``tpu``             ``tf.distribute.TPUStrategy`` with a ``TPUClusterResolver`` (``--tpu`` address,
                    empty for a Cloud TPU VM / Colab runtime).
==================  ============================================================================
"""

from __future__ import annotations

from mst.runtime import import_tensorflow
from mst.errors import EnvironmentProblem

STRATEGY_NAMES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


class DeviceSetupError(RuntimeError, EnvironmentProblem):
    """The requested device layout or strategy cannot be set up."""


def configure_logical_cpus(count: int) -> None:
    """Splits the first physical CPU into ``count`` logical devices (``/cpu:0`` .. ``/cpu:{count-1}``).

    Logical CPUs share the process's thread pools: this gives no speed-up, it exists so that
    multi-replica code paths (MirroredStrategy) can be run and tested on a CPU-only machine.

    Args:
        count: Number of logical CPU devices, at least 1.

    Raises:
        DeviceSetupError: If ``count < 1`` or TensorFlow has already initialised its devices.
    """
    if count < 1:
        raise DeviceSetupError(f"--logical-cpus must be at least 1, got {count}")
    tf = import_tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError as error:
        current = tf.config.get_logical_device_configuration(cpu)
        if current is not None and len(current) == count:
            return  # already configured identically (e.g. a second call in one process)
        raise DeviceSetupError(
            f"cannot split the CPU into {count} logical devices: TensorFlow is already initialised "
            "(configure devices before building models or running any op)"
        ) from error


def make_strategy(name: str = "default", *, tpu_address: str | None = None):
    """Creates the ``tf.distribute`` strategy for a strategy name (see the module docstring).

    Args:
        name: One of :data:`STRATEGY_NAMES`.
        tpu_address: TPU name or ``grpc://host:port`` for ``tpu``; ``None`` or ``""`` means the
            local TPU (TPU VM, Colab).

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        DeviceSetupError: Unknown name, or the TPU system cannot be reached.
    """
    tf = import_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        device = "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    if name == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "multi_worker":
        return _multi_worker_strategy_class()()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address or "")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            raise DeviceSetupError(f"no TPU reachable at {tpu_address or 'the local TPU runtime'}: {error}") from error
        return tf.distribute.TPUStrategy(resolver)
    raise DeviceSetupError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}")


def _multi_worker_strategy_class():
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts nested values (dicts of batches).

    Keras' TensorFlow trainer reduces the first distributed batch with ``strategy.reduce`` to
    build the model symbolically before ``fit`` (``Trainer._maybe_symbolic_build``). The mirrored
    strategy's ``reduce`` maps over a dict of per-replica batches, the collective all-reduce one
    does not and raises ``ValueError: Attempt to convert a value ({'a': PerReplica ...}) with an
    unsupported type (<class 'dict'>) to a Tensor``: every model fed a dict (the CycleGAN's
    ``{"a", "b", "m"}``) failed in ``fit`` under ``--strategy multi_worker``. Reducing each leaf
    is what ``reduce`` means for a nest; a single tensor is reduced exactly as before.

    Keras then reduces every value a ``train_step`` returns with ``strategy.reduce("MEAN", v,
    axis=0)`` under this strategy (``reduce_per_replica``), which fails for the scalar losses every
    mst model returns ("Invalid reduction dimension 0 for input with 0 dimensions"). For a scalar,
    the mean over the batch axis and the replicas is the mean over the replicas: ``axis=None``.
    """
    tf = import_tensorflow()

    def rank(value):
        local = value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value
        return getattr(getattr(local, "shape", None), "rank", None)

    class NestedReduceMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):  # noqa: D102  (tf.distribute.Strategy.reduce)
            if tf.nest.is_nested(value):
                return tf.nest.map_structure(lambda leaf: self.reduce(reduce_op, leaf, axis), value)
            if axis is not None and rank(value) == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return NestedReduceMultiWorkerMirroredStrategy


def per_replica_batch_size(global_batch_size: int, strategy) -> int:
    """The per-replica batch for a **global** batch size; the global batch must split evenly.

    Args:
        global_batch_size: The config's batch size (all replicas together).
        strategy: The active strategy.

    Returns:
        ``global_batch_size // strategy.num_replicas_in_sync``.

    Raises:
        DeviceSetupError: If the global batch is not a multiple of the replica count.
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise DeviceSetupError(
            f"batch_size={global_batch_size} is the global batch and must be divisible by the "
            f"{replicas} replicas of {type(strategy).__name__}; choose a multiple of {replicas} with --set batch_size=N"
        )
    return global_batch_size // replicas


def worker_role(strategy) -> tuple[bool, int]:
    """``(is_chief, task_id)`` of this process in a multi-worker cluster (``(True, 0)`` otherwise).

    The chief is the ``chief`` task, or worker 0 when the cluster has no chief (TF_CONFIG rules).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = int(getattr(resolver, "task_id", None) or 0)
    if task_type in (None, "chief"):
        return True, task_id
    if task_type == "worker":
        return "chief" not in resolver.cluster_spec().as_dict() and task_id == 0, task_id
    return False, task_id


def set_precision(mixed_precision: bool, strategy=None) -> str:
    """Sets the global Keras dtype policy before models are built and returns its name.

    ``mixed_float16`` on GPUs and CPUs (the latter runs but is slow; use it to check a setup),
    ``mixed_bfloat16`` under a TPUStrategy. Without ``mixed_precision`` the policy is ``float32``.
    Models keep their final sigmoid/logit outputs and all losses in float32.
    """
    import keras  # noqa: PLC0415

    tf = import_tensorflow()
    if not mixed_precision:
        policy = "float32"
    elif strategy is not None and isinstance(strategy, tf.distribute.TPUStrategy):
        policy = "mixed_bfloat16"
    else:
        policy = "mixed_float16"
    keras.mixed_precision.set_global_policy(policy)
    return policy
