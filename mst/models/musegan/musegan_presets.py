"""MuseGAN's config class and named presets (no TensorFlow: cheap to import).

Presets:

* ``musegan_jsb``: the book's model and training (z 32, 2 bars x 16 steps x 84 pitches x 4 tracks,
  WGAN-GP with lambda 10, 5 critic steps per generator step, Adam 1e-3 with beta 0.5 / 0.9, batch
  64) for 6,000 generator steps (60 epochs of 100 steps; the book's "epoch" is one generator step).
* ``musegan_demo``: a narrow model trained for 60 generator steps (``make demo``: well under 2 minutes on 2 cores).
* ``musegan_tiny``: the narrowest model, for tests.

Example:
>>> cfg = PRESETS["musegan_jsb"]
>>> cfg.z_dim, cfg.critic_steps, cfg.gp_weight, cfg.batch_size, cfg.epochs * cfg.steps_per_epoch
(32, 5, 10.0, 64, 6000)
>>> cfg.window_shape
(2, 16, 84, 4)
"""

from __future__ import annotations

import dataclasses

from mst.config import ConfigError, TrainerConfig, check_int, check_number

ALPHA_DISTRIBUTIONS = ("uniform", "normal")
"""Interpolation weight of the gradient penalty: ``uniform`` U(0, 1) (the WGAN-GP paper and the
book's code) or ``normal`` N(0, 1) (the bug of the book's 2nd-edition rewrite, kept as an option)."""


@dataclasses.dataclass(frozen=True)
class MuseGANConfig(TrainerConfig):
    """A MuseGAN model and its WGAN-GP training (docs/musegan.md).

    ``learning_rate``, ``beta_1``, ``batch_size``, ``epochs``, ``seed`` come from
    :class:`mst.config.TrainerConfig`; ``steps_per_epoch`` counts generator steps (each with
    ``critic_steps`` critic steps and ``critic_steps`` real batches). ``epoch_step`` = ``epochs``
    keeps the rate constant (the book); smaller values decay it linearly to 0 after ``epoch_step``
    epochs (the original MuseGAN code decays over its last 10 %).

    Attributes:
        beta_2: Adam beta 2 of both optimizers (book: 0.9).
        z_dim: Size of each noise vector (book: 32).
        n_bars: Bars per window (book: 2; >= 2).
        steps_per_bar: Steps per bar (16; the bar generator's upsampling is built for 16).
        n_pitches: Pitch rows (84).
        n_tracks: Tracks (4: S, A, T, B).
        temporal_filters: Width of the temporal networks' first layer (book: 1024).
        bar_units: Dense width of the bar generator (book: 1024, reshaped to 2 x 1 x 512).
        bar_filters: Filters of the bar generator's 4 transposed convolutions (book: 512, 256, 256, 256).
        critic_filters: Filters of the critic's 8 Conv3D layers (book: 128 x 6, 256, 512).
        critic_dense: Width of the critic's hidden dense layer (book: 1024).
        batch_norm_momentum: Generator BatchNorm momentum (book: 0.9).
        critic_steps: Critic updates per generator update (5).
        gp_weight: Gradient-penalty weight lambda (10).
        alpha_distribution: See :data:`ALPHA_DISTRIBUTIONS` (``uniform``).
        sample_every_epochs: Write sample MIDI + PNG every N epochs (0 = never).
        samples: Samples per sample set.
    """

    learning_rate: float = 1e-3
    beta_1: float = 0.5
    beta_2: float = 0.9
    batch_size: int = 64
    epochs: int = 60
    epoch_step: int = 60
    steps_per_epoch: int | None = 100
    seed: int = 19
    z_dim: int = 32
    n_bars: int = 2
    steps_per_bar: int = 16
    n_pitches: int = 84
    n_tracks: int = 4
    temporal_filters: int = 1024
    bar_units: int = 1024
    bar_filters: tuple[int, ...] = (512, 256, 256, 256)
    critic_filters: tuple[int, ...] = (128, 128, 128, 128, 128, 128, 256, 512)
    critic_dense: int = 1024
    batch_norm_momentum: float = 0.9
    critic_steps: int = 5
    gp_weight: float = 10.0
    alpha_distribution: str = "uniform"
    sample_every_epochs: int = 1
    samples: int = 4

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "bar_filters", tuple(int(v) for v in self.bar_filters))
        object.__setattr__(self, "critic_filters", tuple(int(v) for v in self.critic_filters))
        check_number("beta_2", self.beta_2, minimum=0.0)
        if self.beta_2 >= 1:
            raise ConfigError(f"beta_2 must be < 1, got {self.beta_2}")
        for name in ("z_dim", "n_tracks", "temporal_filters", "critic_dense", "critic_steps", "samples"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("n_bars", self.n_bars, minimum=2)
        check_int("sample_every_epochs", self.sample_every_epochs, minimum=0)
        if self.steps_per_bar != 16 or self.n_pitches != 84:
            raise ConfigError(f"the bar generator is built for 16 steps x 84 pitches per bar, got {self.steps_per_bar} x {self.n_pitches}")
        if self.steps_per_epoch is None:
            raise ConfigError("MuseGAN samples real windows with replacement: set steps_per_epoch (generator steps per epoch)")
        check_int("bar_units", self.bar_units, minimum=2)
        if self.bar_units % 2:
            raise ConfigError(f"bar_units must be even (reshaped to 2 x 1 x bar_units/2), got {self.bar_units}")
        if len(self.bar_filters) != 4 or min(self.bar_filters) < 1:
            raise ConfigError(f"bar_filters needs 4 positive filter counts, got {self.bar_filters}")
        if len(self.critic_filters) != 8 or min(self.critic_filters) < 1:
            raise ConfigError(f"critic_filters needs 8 positive filter counts, got {self.critic_filters}")
        check_number("batch_norm_momentum", self.batch_norm_momentum, minimum=0.0)
        check_number("gp_weight", self.gp_weight, minimum=0.0)
        if self.alpha_distribution not in ALPHA_DISTRIBUTIONS:
            raise ConfigError(f"alpha_distribution must be one of {ALPHA_DISTRIBUTIONS}, got {self.alpha_distribution!r}")
        if self.epoch_step > self.epochs:
            raise ConfigError(f"epoch_step ({self.epoch_step}) must be <= epochs ({self.epochs}); epoch_step = epochs keeps the rate constant")

    def derived_changes(self, changes) -> dict:
        """``--set epochs=N`` alone keeps the constant rate (``epoch_step`` follows ``epochs``)."""
        if "epochs" in changes and "epoch_step" not in changes and self.epoch_step == self.epochs:
            return {"epoch_step": changes["epochs"]}
        return {}

    @property
    def window_shape(self) -> tuple[int, int, int, int]:
        """``(n_bars, steps_per_bar, n_pitches, n_tracks)``."""
        return (self.n_bars, self.steps_per_bar, self.n_pitches, self.n_tracks)


PRESETS: dict[str, MuseGANConfig] = {
    "musegan_jsb": MuseGANConfig(name="musegan_jsb"),
    "musegan_demo": MuseGANConfig(
        name="musegan_demo", z_dim=16, temporal_filters=32, bar_units=64, bar_filters=(32, 16, 16, 16),
        critic_filters=(16, 16, 16, 16, 16, 16, 32, 32), critic_dense=64, batch_size=16, epochs=2, epoch_step=2,
        steps_per_epoch=30, samples=4,
    ),
    "musegan_tiny": MuseGANConfig(
        name="musegan_tiny", z_dim=8, temporal_filters=16, bar_units=32, bar_filters=(16, 8, 8, 8),
        critic_filters=(8, 8, 8, 8, 8, 8, 16, 16), critic_dense=32, batch_size=8, epochs=2, epoch_step=2,
        steps_per_epoch=3, critic_steps=2, samples=2,
    ),
}
"""Preset name -> :class:`MuseGANConfig`."""
