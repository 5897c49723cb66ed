"""The CycleGAN family's config class and named presets (no TensorFlow: cheap to import).

Presets:

* the paper's 9 models ``cyclegan_{pair}_{variant}`` for the pairs ``jazz_classical``,
  ``classical_pop``, ``jazz_pop`` and the variants ``base``, ``partial``, ``full``, each with the
  σ_D the paper selected (its Tables VII–IX, see docs/reference/cyclegan.md#the-papers-tables);
* CPU-sized models ``cyclegan_{pair}_cpu`` (see :data:`CPU_PRESET_NOTE`);
* ``cyclegan_tiny`` for tests and the demo.

Defaults follow the authors' TF1 code; where the paper, the thesis or the ports differ, the field's
comment says so. Every config validates itself on construction and is immutable (use
:meth:`~mst.config.ConfigBase.replace` or :func:`mst.registry.get_config` overrides).

Example:
>>> cfg = PRESETS["cyclegan_jazz_classical_full"].replace(sigma_d=0.1, epochs=20)
>>> cfg.variant, cfg.sigma_d, cfg.epochs, cfg.mixed_genres
('full', 0.1, 20, ('jazz', 'classical', 'pop'))
>>> CycleGANConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from mst.config import ConfigError, TrainerConfig, check_int, check_label, check_label_pair, check_number

PAPER_GENRES = ("jazz", "classical", "pop")
"""The three genres of the paper; ``full`` models use all of them as the mixed set M (``JCP_mixed``)."""

PAPER_PAIRS = {"jazz_classical": ("jazz", "classical"), "classical_pop": ("classical", "pop"), "jazz_pop": ("jazz", "pop")}
"""Pair name -> (genre A, genre B), in the paper's order (A is the first genre)."""

DIRECTIONS = ("a2b", "b2a")
"""Transfer directions: ``a2b`` = G_A→B (genre A to genre B), ``b2a`` = G_B→A."""

VARIANTS = ("base", "partial", "full")
NOISE_TYPES = ("half_normal", "gaussian")
RECONSTRUCTION_LOSSES = ("l1", "bce", "balanced_l1")
"""Per-cell criteria of the cycle (and identity/content) terms; ``l1`` is the authors' code."""
BALANCING = ("random_per_epoch", "fixed_subset")

PAPER_SIGMA_D = {
    ("jazz_classical", "base"): 1.0,
    ("jazz_classical", "partial"): 0.0,
    ("jazz_classical", "full"): 0.01,
    ("classical_pop", "base"): 0.1,
    ("classical_pop", "partial"): 1.0,
    ("classical_pop", "full"): 1.0,
    ("jazz_pop", "base"): 0.01,
    ("jazz_pop", "partial"): 0.01,
    ("jazz_pop", "full"): 0.0,
}
"""σ_D the paper selected for each (pair, variant): "Best σ_D selected" in its Tables VII–IX."""

CPU_PRESET_NOTE = (
    "CPU presets: generator width 16 with all 10 residual blocks (0.79 M parameters per generator, "
    "1/16 of the paper's), discriminator width 16 (keeps the paper's G:D size ratio of about 15:1), "
    "batch 16, base variant with the paper's base σ_D for the pair, 20 epochs (the thesis' figure). "
    "About 1.2 s per training step on a 2-core CPU (docs/reference/environment.md#timings), i.e. "
    "roughly 15-20 min per epoch on the paper's pairs."
)


def other_direction(direction: str) -> str:
    """``"b2a"`` for ``"a2b"`` and the reverse."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return "b2a" if direction == "a2b" else "a2b"


def derived_mixed_genres(variant: str, genre_a: str, genre_b: str) -> tuple[str, ...]:
    """The mixed set M of a variant: none (base), A ∪ B (partial), the paper's three genres (full).

    For ``full`` the code always reads ``JCP_mixed`` (jazz, classical, pop), whatever the pair; a
    pair genre outside those three is appended so that M ⊇ A ∪ B still holds.
    """
    if variant == "base":
        return ()
    if variant == "partial":
        return (genre_a, genre_b)
    return PAPER_GENRES + tuple(g for g in (genre_a, genre_b) if g not in PAPER_GENRES)


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(TrainerConfig):
    """One CycleGAN genre-transfer model and its training run.

    The optimiser, batch, epoch and seed fields come from :class:`mst.config.TrainerConfig`
    (authors' code: Adam 2e-4, β1 0.5, batch 16, 100 epochs with the linear decay after 10, seed
    19; the TF2 port uses batch 4 and 10 epochs, the PyTorch ports a rate of 2e-3; the thesis
    reports losses after 20 epochs). ``steps_per_epoch=None`` is one pass over the balanced pair,
    ``min(#A, #B) // batch_size``, as the code.

    Attributes:
        genre_a: Genre of domain A (the first of the paper's pair names).
        genre_b: Genre of domain B.
        variant: ``base`` | ``partial`` | ``full`` (docs/reference/cyclegan.md#model-variants).
        mixed_genres: Genres of the mixed set M for D_A,m/D_B,m. ``None`` derives it:
            ``()`` for base, ``(a, b)`` for partial, the paper's three genres for full.
        sigma_d: σ_D of the discriminator input noise (0 = none). Paper grid {0, 0.01, 0.1, 1, 3, 5}.
        noise: ``half_normal`` = ``|N(0, σ_D²)|`` shared by all D inputs of a step (the code);
            ``gaussian`` = zero-mean (the paper's text says "Gaussian noise").
        pool_size: History-pool slots of whole batches (code: 50). 0 disables the pool.
        pool_for_base: Also use the pool for ``base``. Code: no (only partial/full call it);
            the TF2 port and the PyTorch ports: yes.
        mixed_generator_loss: Deviation option: give the generators the mixed discriminators'
            adversarial term (docs/reference/cyclegan.md#losses). Paper and code: no.
        residual_relu_after_add: ReLU after the residual addition (code, every port); ``False``
            gives the Johnson reference block.
        lambda_cycle: Cycle-loss weight λ (paper and code: 10).
        cycle_loss: Cycle-term criterion: ``l1`` (paper and code), ``bce`` (binary cross-entropy on
            the generator's logits) or ``balanced_l1`` (on-cells weighted by 1/(2ρ)). Deviation
            options: on sparse binary rolls the L1 optimum of every cell is 0, see docs/deviations.md.
        identity_weight: Weight of the identity term G_A→B(x_B) ≈ x_B (Zhu et al.); 0 = paper/code.
        content_weight: Weight of a source-vs-own-transfer term; 0 = paper/code.
        balancing: How the larger domain is cut to the smaller one's size each epoch:
            ``random_per_epoch`` (a fresh seeded random subset every epoch, as the code) or
            ``fixed_subset`` (the same subset, smallest uids, every epoch: mst 0.1). A config file
            without this field (written by mst 0.1) reads as ``fixed_subset``.
        gamma: Mixed-discriminator loss weight γ (paper and code: 1; practically irrelevant).
        generator_filters: Generator width (paper: 64).
        generator_residual_blocks: Residual blocks per generator (paper: 10).
        discriminator_filters: Discriminator width (paper: 64).
        sample_every_epochs: Write sample transfers every N epochs (the code wrote samples every
            100 iterations).
        monitor_phrases: Held-out phrases per direction for the collapse monitor (0 = off).
    """

    absent_field_defaults = {"balancing": "fixed_subset"}

    genre_a: str = "jazz"
    genre_b: str = "classical"
    variant: str = "base"
    mixed_genres: tuple[str, ...] | None = None
    sigma_d: float = 0.0
    noise: str = "half_normal"
    pool_size: int = 50
    pool_for_base: bool = False
    mixed_generator_loss: bool = False
    residual_relu_after_add: bool = True
    lambda_cycle: float = 10.0
    cycle_loss: str = "l1"
    identity_weight: float = 0.0
    content_weight: float = 0.0
    balancing: str = "random_per_epoch"
    gamma: float = 1.0
    generator_filters: int = 64
    generator_residual_blocks: int = 10
    discriminator_filters: int = 64
    sample_every_epochs: int = 1
    monitor_phrases: int = 16

    def __post_init__(self):
        super().__post_init__()
        check_label_pair(self.genre_a, self.genre_b)
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.noise not in NOISE_TYPES:
            raise ConfigError(f"noise must be one of {NOISE_TYPES}, got {self.noise!r}")
        if self.mixed_genres is None:
            object.__setattr__(self, "mixed_genres", derived_mixed_genres(self.variant, self.genre_a, self.genre_b))
        else:
            object.__setattr__(self, "mixed_genres", tuple(self.mixed_genres))
            for g in self.mixed_genres:
                check_label("mixed_genres entry", g)
        if self.variant == "base" and self.mixed_genres:
            raise ConfigError(f"variant 'base' has no mixed discriminators; mixed_genres must be empty, got {self.mixed_genres}")
        if self.variant != "base" and not self.mixed_genres:
            raise ConfigError(f"variant {self.variant!r} needs a non-empty mixed_genres")
        if self.mixed_generator_loss and self.variant == "base":
            raise ConfigError("mixed_generator_loss needs variant 'partial' or 'full'")
        check_number("sigma_d", self.sigma_d, minimum=0.0)
        check_number("lambda_cycle", self.lambda_cycle, minimum=0.0)
        if self.cycle_loss not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f"cycle_loss must be one of {RECONSTRUCTION_LOSSES}, got {self.cycle_loss!r}")
        if self.balancing not in BALANCING:
            raise ConfigError(f"balancing must be one of {BALANCING}, got {self.balancing!r}")
        check_number("identity_weight", self.identity_weight, minimum=0.0)
        check_number("content_weight", self.content_weight, minimum=0.0)
        check_number("gamma", self.gamma, minimum=0.0)
        if self.pool_size < 0 or self.pool_size == 1:
            raise ConfigError(f"pool_size must be 0 (no pool) or >= 2, got {self.pool_size}")
        for field in ("generator_filters", "discriminator_filters", "sample_every_epochs"):
            check_int(field, getattr(self, field), minimum=1)
        check_int("generator_residual_blocks", self.generator_residual_blocks, minimum=0)
        check_int("monitor_phrases", self.monitor_phrases, minimum=0)
        if self.monitor_phrases == 1:
            raise ConfigError("monitor_phrases must be 0 (off) or >= 2 (sameness compares phrases)")

    def derived_changes(self, changes: Mapping) -> dict:
        """A derived ``mixed_genres`` follows a changed variant or pair unless it is set explicitly."""
        if "mixed_genres" not in changes and self.mixed_genres == derived_mixed_genres(self.variant, self.genre_a, self.genre_b):
            return {"mixed_genres": None}
        return {}

    @property
    def pair(self) -> str:
        """``"{genre_a}_{genre_b}"``."""
        return f"{self.genre_a}_{self.genre_b}"

    @property
    def uses_pool(self) -> bool:
        """Whether training uses the history pool (partial/full, or base with ``pool_for_base``)."""
        return self.pool_size > 0 and (self.variant != "base" or self.pool_for_base)

    def direction_genres(self, direction: str) -> tuple[str, str]:
        """``(source genre, target genre)`` of a direction."""
        other_direction(direction)  # validates
        return (self.genre_a, self.genre_b) if direction == "a2b" else (self.genre_b, self.genre_a)


def _paper_presets() -> dict[str, CycleGANConfig]:
    presets = {}
    for pair, (a, b) in PAPER_PAIRS.items():
        for variant in VARIANTS:
            name = f"cyclegan_{pair}_{variant}"
            presets[name] = CycleGANConfig(genre_a=a, genre_b=b, variant=variant, sigma_d=PAPER_SIGMA_D[(pair, variant)], name=name)
    return presets


def _cpu_presets() -> dict[str, CycleGANConfig]:
    presets = {}
    for pair, (a, b) in PAPER_PAIRS.items():
        name = f"cyclegan_{pair}_cpu"
        presets[name] = CycleGANConfig(
            genre_a=a,
            genre_b=b,
            variant="base",
            sigma_d=PAPER_SIGMA_D[(pair, "base")],
            generator_filters=16,
            generator_residual_blocks=10,
            discriminator_filters=16,
            batch_size=16,
            epochs=20,
            epoch_step=10,
            name=name,
        )
    return presets


RECOMMENDED_CPU_PRESET = "cyclegan_classical_pop_cpu_bce_content"
"""The CPU preset that really transfers classical <-> pop (chosen by docs/results/cyclegan_arms.md)."""


PRESETS: dict[str, CycleGANConfig] = {
    **_paper_presets(),
    **_cpu_presets(),
    # The CPU preset of the shipped model: the CPU size with the two objective options that keep the
    # music (BCE cycle on the logits, a content term of weight 2), trained on beat_grid data.
    # Picked from five objective arms at an equal 300-step budget (docs/results/cyclegan_arms.md).
    RECOMMENDED_CPU_PRESET: _cpu_presets()["cyclegan_classical_pop_cpu"].replace(
        cycle_loss="bce", content_weight=2.0, epochs=6, epoch_step=3, checkpoint_every_steps=200, name=RECOMMENDED_CPU_PRESET
    ),
    # Tests and the demo: partial, so the mixed discriminators and the pool are exercised.
    "cyclegan_tiny": CycleGANConfig(
        genre_a="jazz",
        genre_b="classical",
        variant="partial",
        sigma_d=0.1,
        pool_size=4,
        generator_filters=8,
        generator_residual_blocks=2,
        discriminator_filters=8,
        batch_size=4,
        epochs=2,
        epoch_step=1,
        monitor_phrases=4,
        name="cyclegan_tiny",
    ),
}
"""Preset name -> :class:`CycleGANConfig`."""
