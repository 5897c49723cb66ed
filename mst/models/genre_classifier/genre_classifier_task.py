"""Training a genre classifier preset (``classifier_*``), the evaluator of genre transfer (spec §6).

The classifier learns genre A (label 0) vs genre B (label 1) from the pair's real training
phrases (balanced, half of each batch per genre), with softmax cross-entropy and the authors'
Adam (2e-4, β1 0.5, constant then linear decay). After every epoch it is scored on the pair's
whole test split, once per σ_C in ``config.sigma_c_eval`` with zero-mean Gaussian noise
``N(0, σ_C²)`` added to the test inputs only, in the classifier's ±1 input scale as the authors'
``style_classifier.py`` does (``x·2 − 1 + n``; no noise in training). The noise is drawn from
fixed seeds, so accuracies of different epochs are comparable.

Kept on disk: the last checkpoint (``checkpoints/``, for resuming) and the checkpoint with the
best noise-free test accuracy (``best/``, with ``best.json``); ``test_accuracy.csv`` lists every
epoch's accuracies. At the end both are exported: ``export/`` (last) and ``export_best/``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import keras
import numpy as np

from mst import atomic
from mst.encodings import pianoroll
from mst.models.genre_classifier.genre_classifier import build_genre_classifier
from mst.runtime import import_tensorflow
from mst.training.schedules import ConstantThenLinearDecay, adam_with_decay
from mst.training import summaries
from mst.records import pianoroll_reader as data
from mst.training.callbacks import CheckpointEverySteps, EpochEndAction, LossHistory, ResumeMetricState, TensorBoardLogger
from mst.training.checkpointing import RunCheckpointer, TrainingState
from mst.training.driver import EXPORT_DIR_NAME, TENSORBOARD_DIR_NAME, RunOptions, TrainResult, announce_start, start_run, write_history_outputs
from mst.training.loop import StepPlan, fit_resumable

BEST_DIR_NAME = "best"
BEST_INFO_NAME = "best.json"
BEST_EXPORT_DIR_NAME = "export_best"
TEST_ACCURACY_NAME = "test_accuracy.csv"
NOISE_SEED = 1_000_003


def build_compiled_classifier(config, steps_per_epoch: int, *, jit_compile: bool = False):
    """Builds and compiles the classifier of a config; call inside the strategy scope."""
    model = build_genre_classifier(config.filters, seed=config.seed, name=f"classifier_{config.genre_a}_{config.genre_b}")
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
        self.sigmas = tuple(dict.fromkeys((0.0, *config.sigma_c_eval)))
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
            if sigma == 0:
                return batch
            seed = tf.stack([tf.constant(NOISE_SEED + sigma_index, tf.int64), index])
            # The authors add N(0, σ_C²) to the classifier's ±1 input (x·2 − 1 + n); the model
            # rescales {0,1} input itself, so the noise is added in that scale and mapped back.
            noise = sigma * tf.random.stateless_normal(tf.shape(batch), seed=seed)
            return pianoroll.from_signed(pianoroll.to_signed(batch) + noise)

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


def train_classifier(config, data_dir, run_dir, options: RunOptions | None = None, *, preset: str | None = None) -> TrainResult:
    """Trains (or resumes) a genre classifier run.

    Args:
        config: A :class:`mst.configs.ClassifierConfig` (batch size = global batch, even).
        data_dir: Prepared dataset folder with the pair's train and test splits.
        run_dir: Run folder; an existing one with the same config is resumed.
        options: Runtime options.
        preset: Preset name for ``run.json`` and the export.

    Returns:
        A :class:`mst.training.driver.TrainResult`.
    """
    options = options or RunOptions()
    run_dir = Path(run_dir)
    steps_per_epoch = data.classifier_steps_per_epoch(config, data_dir)  # dataset errors before anything is written
    strategy, run_dir, chief = start_run(config, data_dir, run_dir, options, preset=preset)
    plan = StepPlan(steps_per_epoch, config.epochs, options.max_steps)
    with strategy.scope():
        model = build_compiled_classifier(config, steps_per_epoch, jit_compile=options.xla)
    # Compiled metrics create their variables on first use; create them now so that they are
    # part of the checkpoint from the start (evaluate does not touch weights or optimizer).
    epochs = data.classifier_epochs(config, data_dir)
    model.evaluate(data.classifier_epoch_dataset(epochs, 0).take(1), verbose=0)
    state = TrainingState()
    checkpointer = RunCheckpointer(run_dir, model, {"optimizer": model.optimizer}, state, max_to_keep=options.keep_checkpoints)
    checkpointer.restore_latest()
    announce_start(run_dir, state.step, steps_per_epoch, plan.total_steps)

    schedule = ConstantThenLinearDecay(config.learning_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs, epoch_step=config.epoch_step)
    extra_scalars = {"learning_rate": lambda: float(schedule(state.step))}
    history = LossHistory(run_dir, state, steps_per_epoch, extra_scalars)
    history.load(state.step)
    evaluation = ClassifierEvaluation(model, config, data_dir, run_dir, state, strategy)
    every = options.checkpoint_every_steps or 0
    callbacks = [
        ResumeMetricState(checkpointer, steps_per_epoch),
        history,
        TensorBoardLogger(run_dir / TENSORBOARD_DIR_NAME, state, extra_scalars=extra_scalars, total_epochs=plan.total_epochs),
        EpochEndAction(evaluation, every_epochs=1, total_epochs=plan.total_epochs, steps_per_epoch=steps_per_epoch, state=state),
        CheckpointEverySteps(
            checkpointer,
            history,
            every_steps=every,
            steps_per_epoch=steps_per_epoch,
            progress=lambda: {"epoch": state.step // steps_per_epoch, "steps_per_epoch": steps_per_epoch, "total_steps": plan.total_steps},
        ),
    ]
    outcome = fit_resumable(model, lambda epoch: data.classifier_epoch_dataset(epochs, epoch), plan, state, callbacks, verbose=options.verbose)
    write_history_outputs(run_dir, history, title=f"{config.name}: {config.genre_a} vs {config.genre_b}")
    export_dir = None
    if chief and options.export and outcome.stopped_on_nan is None and state.step >= plan.total_steps:
        from mst import export  # noqa: PLC0415

        name = preset or config.name
        export_dir = export.export_classifier(model, run_dir / EXPORT_DIR_NAME, config=config, info={"preset": name, "checkpoint": "last", "global_step": state.step})
        best = evaluation.best_manager.latest_checkpoint
        if best is not None:
            evaluation.best_manager.checkpoint.restore(best).assert_existing_objects_matched()
            best_info = {"preset": name, "checkpoint": "best", **read_best_info(run_dir)}
            export.export_classifier(model, run_dir / BEST_EXPORT_DIR_NAME, config=config, info=best_info)
            checkpointer.checkpoint.restore(checkpointer.latest_path).assert_existing_objects_matched()  # back to the last weights
        print(f"mst: exported to {export_dir}" + (f" and {run_dir / BEST_EXPORT_DIR_NAME}" if best else ""), flush=True)
    return TrainResult(
        run_dir=run_dir,
        start_step=outcome.start_step,
        final_step=state.step,
        total_steps=plan.total_steps,
        steps_per_epoch=steps_per_epoch,
        stopped_on_nan=outcome.stopped_on_nan,
        export_dir=export_dir,
        replicas=strategy.num_replicas_in_sync,
        checkpoint_step=checkpointer.last_saved_step,
    )


def read_best_info(run_dir) -> dict:
    """``best.json`` of a classifier run (empty dict before the first evaluation)."""
    path = Path(run_dir) / BEST_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
