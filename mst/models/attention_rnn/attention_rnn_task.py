"""The attention RNN's training task (``attention_rnn_*`` presets).

As the book trains it: windows of 32 (pitch, duration) tokens -> the next token of each stream,
RMSprop (constant rate), batch 32, loss = pitch cross-entropy + duration cross-entropy (equal
weights). Unlike the book's code, the held-out songs (the dataset's ``test`` split, whole songs)
are the validation set: after every epoch the driver's validation hook
(:class:`mst.training.driver.Validation`) logs ``val_loss``, ``val_pitch_loss`` and
``val_duration_loss``, keeps the best weights (``RUN_DIR/best/``, ``best.json``) and stops after
``patience`` epochs without improvement of ``config.monitor`` (``val_loss``; ``loss`` = the book's
training-loss monitor). ``patience=0`` never stops.

Also written: ``RUN_DIR/vocabulary.json`` (the dataset's training-split vocabulary and its
tokenisation options, which every export carries) and, every ``sample_every_epochs``,
``samples/epoch_XXXX.{mid,png}`` + ``epoch_XXXX_attention.png`` sampled in-graph from START. At the end:
``export/`` (last weights) and ``export_best/`` (best weights, what ``generate.py`` uses).
"""

from __future__ import annotations

from pathlib import Path

import keras

from mst import atomic
from mst.models.attention_rnn.attention_rnn import build_attention_rnn_for
from mst.records import note_token_reader as reader
from mst.training.run_dir import BEST_EXPORT_DIR_NAME, EXPORT_DIR_NAME, SAMPLES_DIR_NAME, VOCABULARY_FILE_NAME


def token_info(manifest: dict, seq_len: int) -> dict:
    """What a model needs to read and write tokens: vocabulary, tokenisation options, window length."""
    vocabulary = dict(manifest["vocabulary"])
    return {"vocabulary": vocabulary, "note_token_options": manifest.get("note_token_options", {}), "seq_len": int(seq_len)}


def compile_attention_rnn(model, config, *, jit_compile: bool = False):
    """Compiles with RMSprop(``learning_rate``) and summed sparse cross-entropy of both heads."""
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=config.learning_rate, name="rmsprop"),
        loss={"pitch": keras.losses.SparseCategoricalCrossentropy(name="pitch_loss"),
              "duration": keras.losses.SparseCategoricalCrossentropy(name="duration_loss")},
        jit_compile=jit_compile,
    )
    model.optimizer.build(model.trainable_variables)
    return model


class AttentionRNNTask:
    """The attention RNN's :class:`mst.training.driver.TrainingTask` (with the optional validation).

    Args:
        config: An :class:`~mst.models.attention_rnn.attention_rnn_presets.AttentionRNNConfig`.
    """

    def __init__(self, config):
        self.config = config
        self.manifest = None
        self.vocabulary = None

    @property
    def title(self) -> str:
        return f"{self.config.name}: attention RNN (pitch + duration cross-entropy)"

    def _partitions(self):
        return list(self.config.partitions) or None

    def steps_per_epoch(self, data_dir) -> int:
        """Checks the dataset (note tokens, a non-empty test split for validation) -> batches per epoch.

        Raises:
            reader.TokenDataError: Not a note-token dataset, unknown partition, fewer training
                windows than one batch, or no validation window.
        """
        self.manifest = reader.load_token_manifest(data_dir)
        self.vocabulary = reader.dataset_vocabulary(self.manifest)
        windows = reader.window_count(self.manifest, "train", self._partitions())
        if windows < self.config.batch_size:
            raise reader.TokenDataError(f"{Path(data_dir) / 'manifest.json'}: {windows} training windows, fewer than one batch of {self.config.batch_size}")
        if reader.window_count(self.manifest, "test", self._partitions()) < 1:
            raise reader.TokenDataError(f"{Path(data_dir) / 'manifest.json'}: the test split is empty; the validation loss needs held-out songs (prepare with --test-ratio > 0)")
        steps = windows // self.config.batch_size
        return steps if self.config.steps_per_epoch is None else min(steps, self.config.steps_per_epoch)

    def build(self, steps_per_epoch: int, *, jit_compile: bool):
        model = build_attention_rnn_for(self.config, self.vocabulary.sizes)
        return compile_attention_rnn(model, self.config, jit_compile=jit_compile)

    def optimizers(self, model) -> dict:
        return {"optimizer": model.optimizer}

    def _epochs(self, data_dir, split: str) -> reader.TokenEpochs:
        return reader.TokenEpochs(data_dir, self.vocabulary, self.config.batch_size, self.config.seed, split=split,
                                  partitions=self._partitions(), seq_len=self.config.seq_len)

    def epoch_dataset(self, data_dir):
        return self._epochs(data_dir, "train").dataset

    def before_restore(self, model, epoch_dataset) -> None:
        """Creates the compiled loss trackers' variables (they would appear on first use, after the restore)."""
        model.evaluate(epoch_dataset(0).take(1), verbose=0)

    def validation(self, model, context):
        """Validation on the held-out songs; early stopping and best weights on ``config.monitor``."""
        from mst.training.driver import Validation  # noqa: PLC0415

        validation = self._epochs(context.data_dir, "test")
        return Validation(dataset=validation.evaluation_dataset, monitor=self.config.monitor, mode="min",
                          patience=self.config.patience or None)

    def epoch_actions(self, model, context):
        if context.chief:
            atomic.write_json(context.run_dir / VOCABULARY_FILE_NAME, token_info(self.manifest, self.config.seq_len))
        if not self.config.sample_every_epochs or not context.chief:
            return []
        from mst.models.attention_rnn import attention_rnn_generate, attention_rnn_sampling  # noqa: PLC0415

        sampler = attention_rnn_sampling.make_sample_function(model, self.vocabulary.sizes, self.config.seq_len)
        folder = context.run_dir / SAMPLES_DIR_NAME

        def write_sample(epoch: int) -> None:
            generation = attention_rnn_generate.generate(
                sampler, self.vocabulary, length=self.config.sample_length, temperature_pitch=self.config.sample_temperature,
                temperature_duration=self.config.sample_temperature, seed=self.config.seed + epoch, seq_len=self.config.seq_len,
            )
            attention_rnn_generate.write_generation(generation, folder / f"epoch_{epoch + 1:04d}.mid", png=True,
                                                    title=f"{self.config.name} epoch {epoch + 1}, T={self.config.sample_temperature:g}")

        return [(write_sample, self.config.sample_every_epochs)]

    def tensorboard_images(self, model, context):
        return None

    def export(self, model, context) -> list[Path]:
        """``export/`` (last weights) and, once a best checkpoint exists, ``export_best/``."""
        from mst.models.attention_rnn import attention_rnn_export  # noqa: PLC0415

        info = token_info(self.manifest, self.config.seq_len)
        written = [attention_rnn_export.export_attention_rnn(
            model, context.run_dir / EXPORT_DIR_NAME, config=self.config, tokens=info,
            info={"preset": context.preset, "checkpoint": "last", "global_step": context.state.step})]
        monitor = context.validation
        best = monitor.best_checkpoint if monitor is not None else None
        if best is not None:
            monitor.manager().checkpoint.restore(best).assert_existing_objects_matched()
            best_info = {"preset": context.preset, "checkpoint": "best", **attention_rnn_export.read_best_info(context.run_dir)}
            written.append(attention_rnn_export.export_attention_rnn(model, context.run_dir / BEST_EXPORT_DIR_NAME, config=self.config, tokens=info, info=best_info))
            context.checkpointer.checkpoint.restore(context.checkpointer.latest_path).assert_existing_objects_matched()
        return written
