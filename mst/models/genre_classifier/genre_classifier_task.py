"""The genre classifier's training task (``classifier_*`` presets), the judge of genre transfer.

The classifier learns genre A (label 0) vs genre B (label 1) from the pair's real training
phrases (balanced, half of each batch per genre), with softmax cross-entropy and the authors'
Adam (2e-4, β1 0.5, constant then linear decay). After every epoch it is scored on the pair's
whole test split, once per σ_C in ``config.sigma_c_eval`` with zero-mean Gaussian noise
``N(0, σ_C²)`` added to the test inputs only, in the classifier's ±1 input scale as the authors'
``style_classifier.py`` does (``x·2 − 1 + n``; no noise in training). The noise is drawn from
fixed seeds, so accuracies of different epochs are comparable, and it is the noise of
``evaluate.py classifier`` (:func:`mst.models.genre_classifier.genre_classifier_evaluation.noisy_phrases`),
so that table reproduces these numbers for the same weights.

Kept on disk: the last checkpoint (``checkpoints/``, for resuming) and the checkpoint with the
best noise-free test accuracy (``best/``, with ``best.json``); ``test_accuracy.csv`` lists every
epoch's accuracies. At the end both are exported: ``export/`` (last) and ``export_best/``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import keras
import numpy as np

from mst import atomic
from mst.models.genre_classifier.genre_classifier import build_classifier_for
from mst.models.genre_classifier.genre_classifier_evaluation import monitored_sigmas, noisy_phrases
from mst.runtime import import_tensorflow
from mst.records import pianoroll_reader as data
from mst.training import summaries
from mst.training.checkpointing import TrainingState
from mst.training.run_dir import BEST_DIR_NAME, BEST_EXPORT_DIR_NAME, BEST_INFO_NAME, EXPORT_DIR_NAME, TENSORBOARD_DIR_NAME, TEST_ACCURACY_NAME
from mst.training.schedules import adam_with_decay



def classifier_steps_per_epoch(config, data_dir) -> int:
    """Checks the dataset for a classifier config and returns the steps of one epoch.

    Each batch holds ``batch_size / 2`` phrases of each genre of the balanced pair, so one epoch is
    ``min(#A, #B) // (batch_size / 2)`` batches, capped by ``config.steps_per_epoch``.

    Raises:
        TrainingDataError: Odd batch size, missing dataset, unknown genre, too few train phrases,
            or an empty test split (the classifier is evaluated on it every epoch).
    """
    if config.batch_size % 2:
        raise data.TrainingDataError(f"the classifier's batch_size must be even (half genre A, half genre B), got {config.batch_size}")
    half = config.batch_size // 2
    manifest = data.load_manifest(data_dir)
    counts = data.check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="train", minimum=half, what=f"half a batch of batch_size={config.batch_size}")
    data.check_genres(manifest, data_dir, [config.genre_a, config.genre_b], split="test", minimum=1, what="the per-epoch test accuracy")
    steps = min(counts.values()) // half
    return steps if config.steps_per_epoch is None else min(steps, config.steps_per_epoch)


def classifier_epoch_dataset(epochs: data.PairEpochs, epoch: int):
    """``(phrases [B, 64, 84, 1], labels [B] int32)`` batches of one classifier epoch.

    ``epochs`` reads ``B/2`` phrases per side; every batch interleaves them as A, B, A, B, ...
    (labels 0, 1, 0, 1, ...) so that every replica of a strategy sees both genres.
    """
    tf = import_tensorflow()
    half = epochs.batch_size
    labels = tf.tile(tf.constant([0, 1], tf.int32), [half])

    @tf.autograph.experimental.do_not_convert
    def interleave(batch):
        phrases = tf.reshape(tf.stack([batch["a"], batch["b"]], axis=1), [2 * half, *batch["a"].shape[1:]])
        return phrases, labels

    return epochs.dataset(epoch).map(interleave)


def classifier_epochs(config, data_dir) -> data.PairEpochs:
    """The :class:`PairEpochs` of a classifier config (half the global batch per side, no M)."""
    return data.PairEpochs(data_dir, config.genre_a, config.genre_b, config.batch_size // 2, config.seed)


def build_compiled_classifier(config, steps_per_epoch: int, *, jit_compile: bool = False):
    """Builds and compiles the classifier of a config; call inside the strategy scope."""
    model = build_classifier_for(config)
    optimizer = adam_with_decay(
        config.learning_rate, config.beta_1, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step, name="classifier_adam"
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    # Build the slots now (under mixed precision compile wrapped it in a LossScaleOptimizer).
    model.optimizer.build(model.trainable_variables)
    return model


def sigma_column(sigma: float) -> str:
    """Column name of one σ_C in ``test_accuracy.csv`` / TensorBoard: ``accuracy_sigma_0.1``."""
    return f"accuracy_sigma_{sigma:g}"


class ClassifierEvaluation:
    """Per-epoch test accuracy under σ_C noise, the best checkpoint and ``test_accuracy.csv``.

    Args:
        model: The classifier being trained.
        config: Its config.
        data_dir: Dataset folder (the pair's test split is read once).
        run_dir: Run folder.
        state: Training state (its ``best_metric`` holds the best noise-free accuracy).
        strategy: Distribution strategy (the evaluation batch must split over its replicas).
    """

    def __init__(self, model, config, data_dir, run_dir, state: TrainingState, strategy):
        tf = import_tensorflow()
        self._tf = tf
        self.model = model
        self.state = state
        self.run_dir = Path(run_dir)
        self.sigmas = monitored_sigmas(config.sigma_c_eval)
        self.phrases, self.labels = data.load_split_arrays(data_dir, [config.genre_a, config.genre_b], "test")
        replicas = strategy.num_replicas_in_sync
        self.batch_size = -(-data.EVAL_BATCH_SIZE // replicas) * replicas
        padded = -(-len(self.phrases) // self.batch_size) * self.batch_size
        # Padding keeps every evaluation batch full: an empty replica batch trips oneDNN convs.
        self.padded = np.concatenate([self.phrases, np.zeros((padded - len(self.phrases), *self.phrases.shape[1:]), np.float32)])
        self.best_manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), str(self.run_dir / BEST_DIR_NAME), max_to_keep=1, checkpoint_name="best")
        self.writer = tf.summary.create_file_writer(str(self.run_dir / TENSORBOARD_DIR_NAME / "test"))
        self.rows: list[dict] = []
        self._load_rows()

    def _load_rows(self) -> None:
        path = self.run_dir / TEST_ACCURACY_NAME
        if not path.is_file():
            return
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                parsed = {key: (int(value) if key in ("epoch", "step") else float(value)) for key, value in row.items()}
                if parsed["step"] <= self.state.step:
                    self.rows.append(parsed)

    def _noisy_batches(self, sigma: float, sigma_index: int):
        tf = self._tf
        dataset = tf.data.Dataset.from_tensor_slices(self.padded).batch(self.batch_size, drop_remainder=True).enumerate()

        @tf.autograph.experimental.do_not_convert
        def add_noise(index, batch):
            return noisy_phrases(batch, sigma, sigma_index, index)

        return dataset.map(add_noise)

    def accuracies(self) -> dict[float, float]:
        """Test accuracy for every σ_C (0 included), as fractions."""
        results = {}
        for index, sigma in enumerate(self.sigmas):
            logits = self.model.predict(self._noisy_batches(sigma, index), verbose=0)[: len(self.labels)]
            results[sigma] = float(np.mean(np.argmax(logits, axis=-1) == self.labels))
        return results

    def __call__(self, epoch: int) -> None:
        results = self.accuracies()
        row = {"epoch": epoch, "step": self.state.step, **{sigma_column(s): a for s, a in results.items()}}
        self.rows = [r for r in self.rows if r["epoch"] != epoch] + [row]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic.write_text(self.run_dir / TEST_ACCURACY_NAME, buffer.getvalue())
        with self.writer.as_default(step=self.state.step):
            for sigma, accuracy in results.items():
                summaries.write_scalar(f"test/{sigma_column(sigma)}", accuracy, self.state.step)
        self.writer.flush()
        summary = ", ".join(f"σ={s:g}: {a:.4f}" for s, a in results.items())
        print(f"mst: epoch {epoch + 1} test accuracy ({len(self.labels)} phrases): {summary}", flush=True)
        if results[0.0] > float(self.state.best_metric.numpy()):
            self.state.best_metric.assign(results[0.0])
            path = self.best_manager.save(checkpoint_number=self.state.step)
            atomic.write_json(self.run_dir / BEST_INFO_NAME, {"epoch": epoch, "global_step": self.state.step, "checkpoint": Path(path).name, "test_accuracy": results})


class ClassifierTask:
    """The genre classifier's :class:`mst.training.driver.TrainingTask`.

    Args:
        config: A :class:`~mst.models.genre_classifier.genre_classifier_presets.ClassifierConfig`
            (batch size = global batch, even).
    """

    def __init__(self, config):
        self.config = config
        self._evaluation = None

    @property
    def title(self) -> str:
        return f"{self.config.name}: {self.config.genre_a} vs {self.config.genre_b}"

    def steps_per_epoch(self, data_dir) -> int:
        return classifier_steps_per_epoch(self.config, data_dir)

    def build(self, steps_per_epoch: int, *, jit_compile: bool):
        return build_compiled_classifier(self.config, steps_per_epoch, jit_compile=jit_compile)

    def optimizers(self, model) -> dict:
        return {"optimizer": model.optimizer}

    def epoch_dataset(self, data_dir):
        epochs = classifier_epochs(self.config, data_dir)
        return lambda epoch: classifier_epoch_dataset(epochs, epoch)

    def before_restore(self, model, epoch_dataset) -> None:
        """Creates the compiled metrics' variables (they would appear on first use, after the restore)."""
        model.evaluate(epoch_dataset(0).take(1), verbose=0)

    def epoch_actions(self, model, context):
        self._evaluation = ClassifierEvaluation(model, self.config, context.data_dir, context.run_dir, context.state, context.strategy)
        return [(self._evaluation, 1)]

    def tensorboard_images(self, model, context):
        return None

    def export(self, model, context) -> list[Path]:
        """``export/`` (last weights) and, once a best checkpoint exists, ``export_best/``."""
        from mst.models.genre_classifier import genre_classifier_export  # noqa: PLC0415

        run_dir = context.run_dir
        written = [
            genre_classifier_export.export_classifier(
                model, run_dir / EXPORT_DIR_NAME, config=self.config, info={"preset": context.preset, "checkpoint": "last", "global_step": context.state.step}
            )
        ]
        best = self._evaluation.best_manager.latest_checkpoint if self._evaluation is not None else None
        if best is not None:
            self._evaluation.best_manager.checkpoint.restore(best).assert_existing_objects_matched()
            best_info = {"preset": context.preset, "checkpoint": "best", **genre_classifier_export.read_best_info(run_dir)}
            written.append(genre_classifier_export.export_classifier(model, run_dir / BEST_EXPORT_DIR_NAME, config=self.config, info=best_info))
            context.checkpointer.checkpoint.restore(context.checkpointer.latest_path).assert_existing_objects_matched()  # back to the last weights
        return written
