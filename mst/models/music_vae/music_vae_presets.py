"""MusicVAE's config class and presets: Magenta's configs with their exact hyper-parameters (no TensorFlow).

Preset names use ``_`` where Magenta's use ``-`` (registry names are identifiers shared with the
other families): ``cat_mel_2bar_small`` = Magenta ``cat-mel_2bar_small``, ``cat_mel_2bar_big``,
``hierdec_mel_16bar``, ``groovae_4bar``, ``groovae_2bar_humanize``,
``groovae_2bar_tap_fixed_velocity``. ``*_cpu`` variants keep the architecture type and every loss
setting but shrink widths and batch for this project's 2-core CPU; ``music_vae_tiny`` /
``groovae_tiny`` / ``hierdec_tiny`` are for tests and the demo.

Magenta's defaults (``lstm_models.get_default_hparams``) that every preset shares: Adam
(β1 0.9, β2 0.999, ε 1e-8), ``lr = (1e-3 - 1e-5) * 0.9999**step + 1e-5``, global-norm clipping at
1.0 with all gradients zeroed when the norm reaches 10,000, free bits 0, β 1.0 with
``beta_rate`` 0, no scheduled sampling, dropout keep probability 1.0.

Example:
>>> p = PRESETS["groovae_4bar"]
>>> p.enc_rnn_size, p.dec_rnn_size, p.z_size, p.free_bits, p.max_beta, p.dropout_keep_prob, p.batch_size
((512,), (256, 256), 256, 48.0, 0.2, 0.3, 512)
>>> PRESETS["hierdec_mel_16bar"].level_lengths, PRESETS["cat_mel_2bar_big"].sampling_schedule
((16, 16), 'inverse_sigmoid')
"""

from __future__ import annotations

import dataclasses
import math

from mst.config import ConfigError, TrainerConfig, check_int, check_number

ENCODINGS = ("groove", "melody_onehot")
DECODERS = ("categorical", "groove", "hierarchical")
SCHEDULES = ("constant", "inverse_sigmoid", "exponential")
SPLIT_SOURCES = ("official", "hash")


@dataclasses.dataclass(frozen=True)
class MusicVAEConfig(TrainerConfig):
    """One MusicVAE / GrooVAE model and its training (Magenta's hparams; see the module docstring).

    ``learning_rate``, ``beta_1``, ``batch_size``, ``epochs``, ``seed``, ``steps_per_epoch`` and
    ``checkpoint_every_steps`` come from :class:`mst.config.TrainerConfig`; ``epoch_step`` is
    unused (the learning rate decays exponentially per step, see ``decay_rate``).

    Attributes:
        encoding: ``groove`` or ``melody_onehot`` (the dataset's encoding).
        max_seq_len: Steps per example (32 = 2 bars, 64 = 4 bars, 256 = 16 bars).
        decoder: ``categorical`` (flat), ``groove`` (flat) or ``hierarchical`` (conductor).
        level_lengths: Hierarchical decoder: (bars, steps per bar); product = ``max_seq_len``.
        enc_rnn_size: Units per direction of each bidirectional encoder layer.
        dec_rnn_size: Units of each decoder layer (the conductor has the same sizes).
        z_size: Latent size.
        free_bits: Threshold on the total KL, in bits (not per dimension).
        max_beta: Final KL weight.
        beta_rate: ``beta = (1 - beta_rate**step) * max_beta``.
        sampling_schedule: Scheduled sampling: ``constant`` (probability ``sampling_rate``),
            ``inverse_sigmoid`` (``1 - k / (k + exp(step / k))``), ``exponential`` (``1 - k**step``).
        sampling_rate: The schedule's rate ``k``.
        dropout_keep_prob: Input keep probability of every LSTM layer (training only).
        decay_rate: Learning-rate decay per step.
        min_learning_rate: Learning-rate floor.
        adam_epsilon: Adam ε (TF1's 1e-8).
        grad_clip: Global-norm clipping threshold.
        grad_norm_clip_to_zero: Gradients are zeroed for a step whose global norm reaches this.
        humanize: Groove input: velocities and offsets zeroed.
        tapify: Groove input: every hit squashed onto channel 3.
        fixed_velocities: Groove input: velocities zeroed.
        max_note_dropout: Groove input: note dropout up to this probability (0 = off).
        transpose_range: Melody augmentation: random transposition by up to ± this (training).
        split_source: ``official`` (GMD split per record) or ``hash`` (the driver's).
        temperature: Default sampling temperature (Magenta: 0.5).
        sample_every_epochs: Write sample MIDI + PNG every this many epochs (0 = never).
        recurrent_initializer: ``glorot_uniform`` (TF1's default for Magenta's LSTMBlockCell
            kernel) or ``orthogonal`` (Keras' default).
    """

    learning_rate: float = 1e-3
    beta_1: float = 0.9
    batch_size: int = 512
    epochs: int = 100
    epoch_step: int = 0
    seed: int = 0
    encoding: str = "groove"
    max_seq_len: int = 64
    decoder: str = "groove"
    level_lengths: tuple[int, ...] = ()
    enc_rnn_size: tuple[int, ...] = (512,)
    dec_rnn_size: tuple[int, ...] = (256, 256)
    z_size: int = 256
    free_bits: float = 0.0
    max_beta: float = 1.0
    beta_rate: float = 0.0
    sampling_schedule: str = "constant"
    sampling_rate: float = 0.0
    dropout_keep_prob: float = 1.0
    decay_rate: float = 0.9999
    min_learning_rate: float = 1e-5
    adam_epsilon: float = 1e-8
    grad_clip: float = 1.0
    grad_norm_clip_to_zero: float = 10000.0
    humanize: bool = False
    tapify: bool = False
    fixed_velocities: bool = False
    max_note_dropout: float = 0.0
    transpose_range: int = 0
    split_source: str = "official"
    temperature: float = 0.5
    sample_every_epochs: int = 10
    recurrent_initializer: str = "glorot_uniform"

    def __post_init__(self):
        super().__post_init__()
        for name in ("enc_rnn_size", "dec_rnn_size", "level_lengths"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if (self.decoder == "groove") != (self.encoding == "groove"):
            raise ConfigError(f"decoder {self.decoder!r} does not fit encoding {self.encoding!r} (groove needs the groove decoder)")
        if self.sampling_schedule not in SCHEDULES:
            raise ConfigError(f"sampling_schedule must be one of {', '.join(SCHEDULES)}, got {self.sampling_schedule!r}")
        if self.split_source not in SPLIT_SOURCES:
            raise ConfigError(f"split_source must be one of {', '.join(SPLIT_SOURCES)}, got {self.split_source!r}")
        if self.recurrent_initializer not in ("glorot_uniform", "orthogonal"):
            raise ConfigError(f"recurrent_initializer must be glorot_uniform or orthogonal, got {self.recurrent_initializer!r}")
        check_int("max_seq_len", self.max_seq_len, minimum=1)
        check_int("z_size", self.z_size, minimum=1)
        if not self.enc_rnn_size or not self.dec_rnn_size or min(self.enc_rnn_size + self.dec_rnn_size) < 1:
            raise ConfigError("enc_rnn_size and dec_rnn_size need at least one layer of >= 1 unit")
        if self.decoder == "hierarchical":
            if len(self.level_lengths) != 2 or math.prod(self.level_lengths) != self.max_seq_len:
                raise ConfigError(f"the hierarchical decoder needs level_lengths (bars, steps per bar) whose product is max_seq_len={self.max_seq_len}, got {self.level_lengths}")
            if self.sampling_schedule != "constant" or self.sampling_rate != 0:
                raise ConfigError("scheduled sampling is implemented for the flat decoders only (Magenta's hierarchical configs use none)")
        elif self.level_lengths:
            raise ConfigError("level_lengths only applies to decoder='hierarchical'")
        if self.encoding == "groove" and self.max_seq_len % 16:
            raise ConfigError(f"groove max_seq_len must be whole bars (a multiple of 16), got {self.max_seq_len}")
        for name in ("free_bits", "max_beta", "beta_rate", "sampling_rate", "min_learning_rate", "grad_clip", "grad_norm_clip_to_zero", "max_note_dropout"):
            check_number(name, getattr(self, name), minimum=0.0)
        for name in ("decay_rate", "dropout_keep_prob", "beta_rate", "max_note_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.dropout_keep_prob == 0:
            raise ConfigError("dropout_keep_prob must be > 0")
        check_number("temperature", self.temperature, minimum=0.0, strict=True)
        check_int("transpose_range", self.transpose_range, minimum=0)
        check_int("sample_every_epochs", self.sample_every_epochs, minimum=0)
        if self.encoding != "groove" and (self.humanize or self.tapify or self.fixed_velocities or self.max_note_dropout):
            raise ConfigError("humanize / tapify / fixed_velocities / max_note_dropout apply to groove configs only")

    @property
    def output_depth(self) -> int:
        """27 for grooves, 90 for melodies."""
        return 27 if self.encoding == "groove" else 90

    @property
    def split_bars(self) -> int:
        """Bars per example."""
        return self.max_seq_len // 16

    @property
    def scheduled_sampling(self) -> bool:
        """Whether training feeds back sampled outputs (needs the step-by-step decoder)."""
        return not (self.sampling_schedule == "constant" and self.sampling_rate == 0)


_MELODY_2BAR = dict(encoding="melody_onehot", max_seq_len=32, decoder="categorical", sampling_schedule="inverse_sigmoid",
                    sampling_rate=1000.0, beta_rate=0.99999, transpose_range=5, split_source="hash")
_MELODY_16BAR = dict(encoding="melody_onehot", max_seq_len=256, decoder="hierarchical", level_lengths=(16, 16), split_source="hash")
_GROOVE = dict(encoding="groove", decoder="groove", enc_rnn_size=(512,), dec_rnn_size=(256, 256), z_size=256, free_bits=48.0,
               max_beta=0.2, dropout_keep_prob=0.3)

PRESETS: dict[str, MusicVAEConfig] = {
    # Magenta's configs (batch 512, 200k steps there; here epochs are passes over the prepared data).
    "cat_mel_2bar_small": MusicVAEConfig(**_MELODY_2BAR, enc_rnn_size=(512,), dec_rnn_size=(256, 256), z_size=256, free_bits=0.0,
                                         max_beta=0.2, name="cat_mel_2bar_small"),
    "cat_mel_2bar_big": MusicVAEConfig(**_MELODY_2BAR, enc_rnn_size=(2048,), dec_rnn_size=(2048, 2048, 2048), z_size=512,
                                       free_bits=0.0, max_beta=0.5, name="cat_mel_2bar_big"),
    "hierdec_mel_16bar": MusicVAEConfig(**_MELODY_16BAR, enc_rnn_size=(2048, 2048), dec_rnn_size=(1024, 1024), z_size=512,
                                        free_bits=256.0, max_beta=0.2, name="hierdec_mel_16bar"),
    "groovae_4bar": MusicVAEConfig(**_GROOVE, max_seq_len=64, name="groovae_4bar"),
    "groovae_2bar_humanize": MusicVAEConfig(**_GROOVE, max_seq_len=32, humanize=True, name="groovae_2bar_humanize"),
    "groovae_2bar_tap_fixed_velocity": MusicVAEConfig(**_GROOVE, max_seq_len=32, tapify=True, fixed_velocities=True,
                                                      name="groovae_2bar_tap_fixed_velocity"),
    # CPU-sized variants: same architecture types and loss settings, narrower and smaller batches.
    "cat_mel_2bar_small_cpu": MusicVAEConfig(**_MELODY_2BAR, enc_rnn_size=(128,), dec_rnn_size=(128, 128), z_size=64, free_bits=0.0,
                                             max_beta=0.2, batch_size=64, epochs=20, name="cat_mel_2bar_small_cpu"),
    "hierdec_mel_16bar_cpu": MusicVAEConfig(**_MELODY_16BAR, enc_rnn_size=(128,), dec_rnn_size=(128, 128), z_size=64, free_bits=64.0,
                                            max_beta=0.2, batch_size=32, epochs=10, name="hierdec_mel_16bar_cpu"),
    "groovae_4bar_cpu": MusicVAEConfig(**{**_GROOVE, "enc_rnn_size": (192,), "dec_rnn_size": (128, 128), "z_size": 128},
                                       max_seq_len=64, batch_size=64, epochs=20, sample_every_epochs=5, name="groovae_4bar_cpu"),
    "groovae_2bar_humanize_cpu": MusicVAEConfig(**{**_GROOVE, "enc_rnn_size": (192,), "dec_rnn_size": (128, 128), "z_size": 128},
                                                max_seq_len=32, humanize=True, batch_size=64, epochs=20, name="groovae_2bar_humanize_cpu"),
    "groovae_2bar_tap_fixed_velocity_cpu": MusicVAEConfig(**{**_GROOVE, "enc_rnn_size": (192,), "dec_rnn_size": (128, 128), "z_size": 128},
                                                          max_seq_len=32, tapify=True, fixed_velocities=True, batch_size=64, epochs=20,
                                                          name="groovae_2bar_tap_fixed_velocity_cpu"),
    # Tiny presets for tests and the demo.
    "groovae_tiny": MusicVAEConfig(**{**_GROOVE, "enc_rnn_size": (16,), "dec_rnn_size": (16, 16), "z_size": 8, "free_bits": 4.0},
                                   max_seq_len=64, batch_size=8, epochs=2, sample_every_epochs=0, name="groovae_tiny"),
    "music_vae_tiny": MusicVAEConfig(**{**_MELODY_2BAR, "transpose_range": 2}, enc_rnn_size=(16,), dec_rnn_size=(16, 16), z_size=8,
                                     max_beta=0.2, batch_size=8, epochs=2, sample_every_epochs=0, name="music_vae_tiny"),
    "hierdec_tiny": MusicVAEConfig(encoding="melody_onehot", max_seq_len=32, decoder="hierarchical", level_lengths=(2, 16),
                                   enc_rnn_size=(16,), dec_rnn_size=(16, 16), z_size=8, free_bits=2.0, max_beta=0.2, batch_size=8,
                                   epochs=2, sample_every_epochs=0, split_source="hash", name="hierdec_tiny"),
}
"""Preset name -> :class:`MusicVAEConfig`."""
