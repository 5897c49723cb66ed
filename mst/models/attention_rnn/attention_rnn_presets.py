"""The attention RNN's config class and named presets (no TensorFlow: cheap to import).

Presets:

* ``attention_rnn_cello``: the book's run on the cello suites (RMSprop 1e-3, batch 32, embeddings
  100, LSTMs 256, no dropout, patience 10), but early stopping and the best checkpoint follow the
  **validation** loss (the book's code watched the training loss and never stopped;
  ``monitor=loss`` restores that);
* ``attention_rnn_wjazzd``: the same network on the Weimar Jazz Database solos (299 monophonic
  improvisations, a larger monophonic corpus), with dropout 0.2 and patience 5;
* ``attention_rnn_tiny``: a few thousand parameters for tests and ``make demo``.

The learning rate is constant (the book's RMSprop); ``epoch_step`` follows ``epochs`` so the
rate the driver logs (``ConstantThenLinearDecay``) is that constant.

Example:
>>> config = PRESETS["attention_rnn_cello"]
>>> config.learning_rate, config.batch_size, config.embedding_size, config.rnn_units, config.monitor, config.patience
(0.001, 32, 100, 256, 'val_loss', 10)
>>> from mst.config import apply_overrides
>>> apply_overrides(config, ["epochs=30"]).epoch_step
30
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from mst.config import ConfigError, TrainerConfig, check_int, check_number

MONITORS = ("val_loss", "loss", "val_pitch_loss", "val_duration_loss")


@dataclasses.dataclass(frozen=True)
class AttentionRNNConfig(TrainerConfig):
    """Foster's attention RNN (Generative Deep Learning ch. 7) and its training.

    ``learning_rate`` is RMSprop's (``beta_1`` is unused); ``epochs`` is a cap, early stopping
    usually ends the run first; ``steps_per_epoch=None`` is one pass over the training windows.

    Attributes:
        embedding_size: Width of the pitch and duration embeddings (book: 100).
        rnn_units: Units of both LSTMs (book: 256).
        dropout: Dropout after each LSTM (book: 0, its Dropout layers are commented out).
        seq_len: Window length (book: 32; the datasets' START padding is 32 tokens).
        monitor: What early stopping and the best checkpoint watch: ``val_loss`` (default) or the
            book's ``loss`` (training loss), or one head's validation loss.
        patience: Evaluations without improvement before stopping (book: 10); 0 = never stop.
        partitions: Dataset partitions to train on (empty: all).
        sample_every_epochs: A sample MIDI + PNG every N epochs (0: none).
        sample_length: Tokens per epoch sample.
        sample_temperature: Temperature of the epoch samples (both heads).
    """

    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 200
    epoch_step: int = 200
    embedding_size: int = 100
    rnn_units: int = 256
    dropout: float = 0.0
    seq_len: int = 32
    monitor: str = "val_loss"
    patience: int = 10
    partitions: tuple[str, ...] = ()
    sample_every_epochs: int = 5
    sample_length: int = 100
    sample_temperature: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        for field in ("embedding_size", "rnn_units", "seq_len"):
            check_int(field, getattr(self, field), minimum=1)
        for field in ("patience", "sample_every_epochs"):
            check_int(field, getattr(self, field), minimum=0)
        check_int("sample_length", self.sample_length, minimum=1)
        check_number("dropout", self.dropout, minimum=0.0)
        check_number("sample_temperature", self.sample_temperature, minimum=0.0)
        if self.dropout >= 1:
            raise ConfigError(f"dropout must be < 1, got {self.dropout}")
        if self.monitor not in MONITORS:
            raise ConfigError(f"monitor must be one of {MONITORS}, got {self.monitor!r}")
        if self.epoch_step != self.epochs:
            raise ConfigError(f"the attention RNN's learning rate is constant: epoch_step must equal epochs ({self.epochs}), got {self.epoch_step}")
        object.__setattr__(self, "partitions", tuple(self.partitions))

    def derived_changes(self, changes: Mapping) -> dict:
        """``epoch_step`` follows a changed ``epochs`` (the rate stays constant)."""
        if "epochs" in changes and "epoch_step" not in changes:
            return {"epoch_step": changes["epochs"]}
        return {}


PRESETS: dict[str, AttentionRNNConfig] = {
    "attention_rnn_cello": AttentionRNNConfig(name="attention_rnn_cello"),
    "attention_rnn_wjazzd": AttentionRNNConfig(dropout=0.2, patience=5, name="attention_rnn_wjazzd"),
    "attention_rnn_tiny": AttentionRNNConfig(
        embedding_size=8, rnn_units=16, batch_size=16, epochs=2, epoch_step=2, patience=0, sample_every_epochs=1,
        sample_length=16, steps_per_epoch=20, name="attention_rnn_tiny",
    ),
}
"""Preset name -> :class:`AttentionRNNConfig`."""
