"""Training runs for mst models: strategies, resumable checkpoints, callbacks, samples, export.

``train.py`` at the repository root is the command line; :func:`train` is the library entry.
One run = one folder (``--out RUN_DIR``, layout in :mod:`mst.training.run_dir`). Restarting the
same command resumes it at the newest checkpoint's global step, mid-epoch included, with the
same remaining batches (:mod:`mst.training.loop` explains how; ``--deterministic`` makes the
continuation bit-identical to an uninterrupted run).

Running on accelerators (the config's ``batch_size`` is always the **global** batch; with ``N``
replicas each gets ``batch_size / N`` and the batch size must be divisible by ``N``):

* **One GPU** (``pip install "tensorflow[and-cuda]==2.21.0"`` instead of ``tensorflow-cpu``)::

      python train.py --preset cyclegan_jazz_classical_base --data data/jc --out runs/jc_base \\
          --mixed-precision --xla

  ``--strategy default`` (the default) uses the first GPU; ``one_device`` pins ``/gpu:0``.
  ``--mixed-precision`` sets the Keras ``mixed_float16`` policy (float16 math, float32 weights);
  ``--xla`` compiles the train step with XLA (``jit_compile=True``; Keras leaves it off by default
  under tf.distribute, and it does not help on CPU).
* **Several GPUs in one machine**: ``--strategy mirrored`` (``tf.distribute.MirroredStrategy`` over
  all visible GPUs; pick them with ``CUDA_VISIBLE_DEVICES``). Scale ``--set batch_size=`` with the
  GPU count to keep the per-GPU batch.
* **Several machines**: ``--strategy multi_worker`` on every machine, each with its own
  ``TF_CONFIG`` (``{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker",
  "index": i}}``) and the same ``--out`` on shared storage. The chief (the ``chief`` task, else
  worker 0) owns the run folder; the other workers take part in every checkpoint (required for
  synchronized variables) but write into ``RUN_DIR/workers/worker_<id>`` and never export.
* **TPU**: ``--strategy tpu [--tpu NAME_OR_GRPC_ADDRESS]`` (empty address: the local TPU VM /
  Colab runtime); ``--mixed-precision`` selects ``mixed_bfloat16`` there. The dataset must be
  readable by the TPU hosts (e.g. a ``gs://`` bucket).
* **Testing distribution on a CPU**: ``--logical-cpus 2 --strategy mirrored`` splits the CPU into
  two logical devices (configured before TensorFlow initialises), giving two replicas.
"""

from __future__ import annotations

from mst.training.driver import RunOptions, TrainResult
from mst.training.devices import STRATEGY_NAMES, configure_logical_cpus


def train(config, data_dir, run_dir, options: RunOptions | None = None, *, preset: str | None = None) -> TrainResult:
    """Trains or resumes the run of a CycleGAN or classifier config.

    Args:
        config: :class:`mst.configs.CycleGANConfig` or :class:`mst.configs.ClassifierConfig`.
        data_dir: Prepared dataset folder.
        run_dir: Run folder.
        options: Runtime options (strategy, precision, XLA, ...).
        preset: Preset name the config came from.

    Returns:
        A :class:`TrainResult`.
    """
    from mst.configs import ClassifierConfig, CycleGANConfig  # noqa: PLC0415

    if isinstance(config, CycleGANConfig):
        from mst.models.cyclegan.cyclegan_task import train_cyclegan  # noqa: PLC0415

        return train_cyclegan(config, data_dir, run_dir, options, preset=preset)
    if isinstance(config, ClassifierConfig):
        from mst.models.genre_classifier.genre_classifier_task import train_classifier  # noqa: PLC0415

        return train_classifier(config, data_dir, run_dir, options, preset=preset)
    raise TypeError(f"cannot train a {type(config).__name__}; expected CycleGANConfig or ClassifierConfig")


__all__ = ["STRATEGY_NAMES", "RunOptions", "TrainResult", "configure_logical_cpus", "train"]
