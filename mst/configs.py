"""Experiment presets: dataclass configs, a named registry and command-line overrides.

Two config classes: :class:`CycleGANConfig` (one genre-transfer model and its training run) and
:class:`ClassifierConfig` (the genre classifier of one pair). ``CONFIG_MAP`` holds named presets:

* the paper's 9 models ``cyclegan_{pair}_{variant}`` for the pairs ``jazz_classical``,
  ``classical_pop``, ``jazz_pop`` and the variants ``base``, ``partial``, ``full``, each with the
  σ_D the paper selected (spec §5, from the paper's Tables VII–IX);
* CPU-sized models ``cyclegan_{pair}_cpu`` (see :data:`CPU_PRESET_NOTE`);
* ``cyclegan_tiny`` for tests and the demo;
* classifiers ``classifier_{pair}`` and ``classifier_tiny``.

Example:
>>> cfg = get_config("cyclegan_jazz_classical_full", ["sigma_d=0.1", "epochs=20"])
>>> cfg.variant, cfg.sigma_d, cfg.epochs, cfg.mixed_genres
('full', 0.1, 20, ('jazz', 'classical', 'pop'))
>>> CycleGANConfig.from_dict(cfg.to_dict()) == cfg
True

Defaults follow the authors' TF1 code; where the paper, the thesis or the ports differ, the field's
comment says so. Every config validates itself on construction and is immutable (use
``dataclasses.replace`` or :func:`get_config` overrides).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from pathlib import Path

PAPER_GENRES = ("jazz", "classical", "pop")
"""The three genres of the paper; ``full`` models use all of them as the mixed set M (``JCP_mixed``)."""

PAPER_PAIRS = {"jazz_classical": ("jazz", "classical"), "classical_pop": ("classical", "pop"), "jazz_pop": ("jazz", "pop")}
"""Pair name -> (genre A, genre B), in the paper's order (A is the first genre)."""

VARIANTS = ("base", "partial", "full")
NOISE_TYPES = ("half_normal", "gaussian")
RECONSTRUCTION_LOSSES = ("l1", "bce", "balanced_l1")
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
"""σ_D the paper selected for each (pair, variant): "Best σ_D selected", spec §5 / Tables VII–IX."""

SIGMA_C_EVAL = (0.0, 0.01, 0.1, 0.2, 0.3, 0.5)
"""Test-time classifier noise levels of the thesis' accuracy table (spec §6.2)."""

CPU_PRESET_NOTE = (
    "CPU presets: generator width 16 with all 10 residual blocks (0.79 M parameters per generator, "
    "1/16 of the paper's), discriminator width 16 (keeps the paper's G:D size ratio of about 15:1), "
    "batch 16, base variant with the paper's base σ_D for the pair, 20 epochs (the thesis' figure). "
    "About 1.2 s per training step on the 2-core development CPU (environment spec §5.4), i.e. "
    "roughly 15-20 min per epoch on the paper's pairs."
)


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


class ConfigError(ValueError):
    """An invalid config value, override, field or preset name."""


def _check_genre(name: str, value) -> None:
    if not isinstance(value, str) or not value or value != value.strip().lower() or "/" in value:
        raise ConfigError(f"{name} must be a non-empty lower-case genre name, got {value!r}")


def _check_pair(genre_a, genre_b) -> None:
    _check_genre("genre_a", genre_a)
    _check_genre("genre_b", genre_b)
    if genre_a == genre_b:
        raise ConfigError(f"genre_a and genre_b must differ, both are {genre_a!r}")


@dataclasses.dataclass(frozen=True)
class _ConfigBase:
    """Serialization shared by the config classes."""

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict):
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; valid fields: {sorted(names)}")
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in data.items():
            if isinstance(value, list) and _is_tuple_type(hints[key]):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)

    def to_json(self) -> str:
        """JSON text ``{"config_class": ..., "config": {...}}`` (what :func:`save_config` writes)."""
        return json.dumps({"config_class": type(self).__name__, "config": self.to_dict()}, indent=2, sort_keys=True)

    def replace(self, **changes):
        """A copy with ``changes`` applied and validated, as :func:`apply_overrides` with a dict.

        A derived ``mixed_genres`` follows a changed variant or pair unless it is set explicitly.
        """
        return apply_overrides(self, changes)


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(_ConfigBase):
    """One CycleGAN genre-transfer model and its training run.

    Attributes:
        genre_a: Genre of domain A (the first of the paper's pair names).
        genre_b: Genre of domain B.
        variant: ``base`` | ``partial`` | ``full`` (spec §3.3).
        mixed_genres: Genres of the mixed set M for D_A,m/D_B,m. ``None`` derives it:
            ``()`` for base, ``(a, b)`` for partial, the paper's three genres for full.
        sigma_d: σ_D of the discriminator input noise (0 = none). Paper grid {0, 0.01, 0.1, 1, 3, 5}.
        noise: ``half_normal`` = ``|N(0, σ_D²)|`` shared by all D inputs of a step (the code);
            ``gaussian`` = zero-mean (the paper's text says "Gaussian noise").
        pool_size: History-pool slots of whole batches (code: 50). 0 disables the pool.
        pool_for_base: Also use the pool for ``base``. Code: no (only partial/full call it);
            [TF2] and the ports: yes.
        mixed_generator_loss: Deviation option: give the generators the mixed discriminators'
            adversarial term (spec §4.6). Paper and code: no.
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
            ``fixed_subset`` (the same subset, smallest uids, every epoch: mst before 0.2).
        gamma: Mixed-discriminator loss weight γ (paper and code: 1; practically irrelevant).
        learning_rate: Adam base rate (code: 2e-4; the PyTorch ports use 2e-3).
        beta_1: Adam β1 (code: 0.5; β2 = 0.999 and ε = 1e-8 are TF1 defaults).
        batch_size: Global batch size (code: 16; [TF2]: 4).
        epochs: Training epochs (code default 100; the thesis reports losses after 20; the ports
            use 30, [TF2] 10; the paper's figure is unverified).
        epoch_step: Epochs at constant rate before the linear decay to 0 (code: 10).
        generator_filters: Generator width (paper: 64).
        generator_residual_blocks: Residual blocks per generator (paper: 10).
        discriminator_filters: Discriminator width (paper: 64).
        seed: Seed of initializers, noise, pool and data order (code: ``tf.set_random_seed(19)``).
        checkpoint_every_steps: Extra checkpoint every N steps; ``None`` = once per epoch (code).
        sample_every_epochs: Write sample transfers every N epochs (the code wrote samples every
            100 iterations).
        steps_per_epoch: Cap on batches per epoch; ``None`` = one pass over the balanced pair
            (``min(#A, #B) // batch_size``, as the code).
        name: Preset name (recorded next to checkpoints).
    """

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
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 16
    epochs: int = 100
    epoch_step: int = 10
    generator_filters: int = 64
    generator_residual_blocks: int = 10
    discriminator_filters: int = 64
    seed: int = 19
    checkpoint_every_steps: int | None = None
    sample_every_epochs: int = 1
    steps_per_epoch: int | None = None
    name: str = "custom"

    def __post_init__(self):
        _check_pair(self.genre_a, self.genre_b)
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.noise not in NOISE_TYPES:
            raise ConfigError(f"noise must be one of {NOISE_TYPES}, got {self.noise!r}")
        if self.mixed_genres is None:
            object.__setattr__(self, "mixed_genres", derived_mixed_genres(self.variant, self.genre_a, self.genre_b))
        else:
            object.__setattr__(self, "mixed_genres", tuple(self.mixed_genres))
            for g in self.mixed_genres:
                _check_genre("mixed_genres entry", g)
        if self.variant == "base" and self.mixed_genres:
            raise ConfigError(f"variant 'base' has no mixed discriminators; mixed_genres must be empty, got {self.mixed_genres}")
        if self.variant != "base" and not self.mixed_genres:
            raise ConfigError(f"variant {self.variant!r} needs a non-empty mixed_genres")
        if self.mixed_generator_loss and self.variant == "base":
            raise ConfigError("mixed_generator_loss needs variant 'partial' or 'full'")
        _check_number("sigma_d", self.sigma_d, minimum=0.0)
        _check_number("lambda_cycle", self.lambda_cycle, minimum=0.0)
        if self.cycle_loss not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f"cycle_loss must be one of {RECONSTRUCTION_LOSSES}, got {self.cycle_loss!r}")
        if self.balancing not in BALANCING:
            raise ConfigError(f"balancing must be one of {BALANCING}, got {self.balancing!r}")
        _check_number("identity_weight", self.identity_weight, minimum=0.0)
        _check_number("content_weight", self.content_weight, minimum=0.0)
        _check_number("gamma", self.gamma, minimum=0.0)
        _check_number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        _check_number("beta_1", self.beta_1, minimum=0.0)
        if self.beta_1 >= 1:
            raise ConfigError(f"beta_1 must be < 1, got {self.beta_1}")
        if self.pool_size < 0 or self.pool_size == 1:
            raise ConfigError(f"pool_size must be 0 (no pool) or >= 2, got {self.pool_size}")
        for field in ("batch_size", "epochs", "generator_filters", "discriminator_filters", "sample_every_epochs"):
            _check_int(field, getattr(self, field), minimum=1)
        _check_int("generator_residual_blocks", self.generator_residual_blocks, minimum=0)
        _check_int("epoch_step", self.epoch_step, minimum=0)
        _check_int("seed", self.seed, minimum=0)
        for field in ("checkpoint_every_steps", "steps_per_epoch"):
            if getattr(self, field) is not None:
                _check_int(field, getattr(self, field), minimum=1)

    @property
    def pair(self) -> str:
        """``"{genre_a}_{genre_b}"``."""
        return f"{self.genre_a}_{self.genre_b}"

    @property
    def uses_pool(self) -> bool:
        """Whether training uses the history pool (partial/full, or base with ``pool_for_base``)."""
        return self.pool_size > 0 and (self.variant != "base" or self.pool_for_base)


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(_ConfigBase):
    """The genre classifier of one pair (spec §6).

    Attributes:
        genre_a: Genre of class 0.
        genre_b: Genre of class 1.
        filters: Classifier width (paper: 64 → 1,156,608 parameters).
        learning_rate: Adam base rate (code: 2e-4).
        beta_1: Adam β1 (code: 0.5).
        batch_size: Batch size (code: 16).
        epochs: Epochs (code default: 100).
        epoch_step: Epochs at constant rate before the linear decay (code: 10).
        sigma_c_eval: Zero-mean Gaussian noise levels σ_C added to *test* inputs when reporting
            accuracy (thesis table); no noise is used in training (the code).
        seed: Seed of initializers and data order (code: 19).
        steps_per_epoch: Cap on batches per epoch; ``None`` = one pass over the training phrases.
        name: Preset name.
    """

    genre_a: str = "jazz"
    genre_b: str = "classical"
    filters: int = 64
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 16
    epochs: int = 100
    epoch_step: int = 10
    sigma_c_eval: tuple[float, ...] = SIGMA_C_EVAL
    seed: int = 19
    steps_per_epoch: int | None = None
    name: str = "custom"

    def __post_init__(self):
        _check_pair(self.genre_a, self.genre_b)
        object.__setattr__(self, "sigma_c_eval", tuple(float(s) for s in self.sigma_c_eval))
        for s in self.sigma_c_eval:
            _check_number("sigma_c_eval entry", s, minimum=0.0)
        _check_number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        _check_number("beta_1", self.beta_1, minimum=0.0)
        if self.beta_1 >= 1:
            raise ConfigError(f"beta_1 must be < 1, got {self.beta_1}")
        for field in ("filters", "batch_size", "epochs"):
            _check_int(field, getattr(self, field), minimum=1)
        _check_int("epoch_step", self.epoch_step, minimum=0)
        _check_int("seed", self.seed, minimum=0)
        if self.steps_per_epoch is not None:
            _check_int("steps_per_epoch", self.steps_per_epoch, minimum=1)

    @property
    def pair(self) -> str:
        """``"{genre_a}_{genre_b}"``."""
        return f"{self.genre_a}_{self.genre_b}"


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_number(name, value, minimum, strict=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise ConfigError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")


# ---------------------------------------------------------------------------------------- registry


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


def _classifier_presets() -> dict[str, ClassifierConfig]:
    presets = {f"classifier_{pair}": ClassifierConfig(genre_a=a, genre_b=b, name=f"classifier_{pair}") for pair, (a, b) in PAPER_PAIRS.items()}
    presets["classifier_tiny"] = ClassifierConfig(
        genre_a="jazz", genre_b="classical", filters=4, batch_size=4, epochs=2, epoch_step=1, name="classifier_tiny"
    )
    return presets


CONFIG_MAP: dict[str, CycleGANConfig | ClassifierConfig] = {
    **_paper_presets(),
    **_cpu_presets(),
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
        name="cyclegan_tiny",
    ),
    **_classifier_presets(),
}
"""Preset name -> config. Names: see :func:`list_configs`."""


def list_configs(kind: str | None = None) -> list[str]:
    """Sorted preset names; ``kind`` = ``"cyclegan"`` or ``"classifier"`` filters by config class."""
    classes = {"cyclegan": CycleGANConfig, "classifier": ClassifierConfig}
    if kind is not None and kind not in classes:
        raise ConfigError(f"kind must be one of {sorted(classes)}, got {kind!r}")
    return sorted(n for n, c in CONFIG_MAP.items() if kind is None or isinstance(c, classes[kind]))


# ---------------------------------------------------------------------------------------- overrides


def _is_tuple_type(tp) -> bool:
    return any(typing.get_origin(t) is tuple or t is tuple for t in (tp, *_union_members(tp)))


def _union_members(tp) -> tuple:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return ()


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}
_NONE = {"none", "null"}


def _parse_scalar(text: str, tp, field: str):
    if tp is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{field}: expected a bool (true/false/1/0/yes/no), got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                as_float = None
            if as_float is not None and as_float.is_integer():
                return int(as_float)
            raise ConfigError(f"{field}: expected an int, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{field}: expected a number, got {text!r}") from None
    if tp is str:
        return text
    raise ConfigError(f"{field}: cannot parse values of type {tp}")


def parse_value(text: str, tp, field: str = "value"):
    """Parses an override's text according to a dataclass field type.

    Handles ``int``, ``float``, ``bool``, ``str``, ``X | None`` ("none"/"null") and
    ``tuple[X, ...]`` (comma-separated, optional parentheses/brackets; ``()`` or empty = empty).

    Example:
    >>> parse_value("0.5,1", tuple[float, ...]), parse_value("none", int | None), parse_value("yes", bool)
    ((0.5, 1.0), None, True)
    """
    text = text.strip()
    members = _union_members(tp)
    if members:
        if type(None) in members and text.lower() in _NONE:
            return None
        non_none = [m for m in members if m is not type(None)]
        if len(non_none) != 1:
            raise ConfigError(f"{field}: unsupported type {tp}")
        return parse_value(text, non_none[0], field)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        item_type = args[0] if args else str
        inner = text
        if len(inner) >= 2 and inner[0] in "([" and inner[-1] in ")]":
            inner = inner[1:-1]
        items = [s.strip() for s in inner.split(",")] if inner.strip() else []
        items = [s for s in items if s]
        return tuple(_parse_scalar(s, item_type, field) for s in items)
    return _parse_scalar(text, tp, field)


def apply_overrides(config, overrides) -> CycleGANConfig | ClassifierConfig:
    """Applies ``["field=value", ...]`` (or a ``{field: value}`` dict of already-typed values).

    Unknown fields raise :class:`ConfigError` listing the valid ones. When a CycleGAN preset's
    ``mixed_genres`` is its derived default and the override does not set it, it is derived again
    from the new variant/genres (so ``variant=full`` gets M = all three genres).
    """
    cls = type(config)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes = {}
    items = overrides.items() if isinstance(overrides, dict) else [_split_override(o) for o in (overrides or [])]
    for key, value in items:
        if key not in hints:
            close = difflib.get_close_matches(key, names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"unknown {cls.__name__} field {key!r}{hint}; valid fields: {', '.join(names)}")
        changes[key] = parse_value(value, hints[key], key) if isinstance(value, str) and hints[key] is not str else value
    if isinstance(config, CycleGANConfig) and "mixed_genres" not in changes:
        if config.mixed_genres == derived_mixed_genres(config.variant, config.genre_a, config.genre_b):
            changes["mixed_genres"] = None
    try:
        return dataclasses.replace(config, **changes)
    except ConfigError as err:
        raise ConfigError(f"invalid override(s) {sorted(changes)} of {config.name!r}: {err}") from None


def _split_override(text: str) -> tuple[str, str]:
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"override must look like 'field=value', got {text!r}")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override must look like 'field=value', got {text!r}")
    return key, value


def get_config(name: str, overrides=None) -> CycleGANConfig | ClassifierConfig:
    """Looks up a preset and applies ``overrides`` (``["field=value", ...]``).

    Raises:
        ConfigError: for an unknown preset (the message lists the valid names), an unknown field
            or a value that does not parse or validate.
    """
    if name not in CONFIG_MAP:
        close = difflib.get_close_matches(name, list(CONFIG_MAP), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown preset {name!r}{hint}; valid presets: {', '.join(list_configs())}")
    config = CONFIG_MAP[name]
    return apply_overrides(config, overrides) if overrides else config


# ---------------------------------------------------------------------------------------- files

_CLASSES = {"CycleGANConfig": CycleGANConfig, "ClassifierConfig": ClassifierConfig}


def config_from_json(text: str) -> CycleGANConfig | ClassifierConfig:
    """Inverse of ``config.to_json()``."""
    payload = json.loads(text)
    if not isinstance(payload, dict) or payload.get("config_class") not in _CLASSES or not isinstance(payload.get("config"), dict):
        raise ConfigError(f"not an mst config JSON (needs 'config_class' in {sorted(_CLASSES)} and 'config')")
    return _CLASSES[payload["config_class"]].from_dict(payload["config"])


def save_config(config, path: str | os.PathLike) -> Path:
    """Writes ``config.to_json()`` atomically (temp file + rename); returns the path."""
    from mst import atomic  # noqa: PLC0415

    return atomic.write_text(path, config.to_json() + "\n")


def load_config(path: str | os.PathLike) -> CycleGANConfig | ClassifierConfig:
    """Reads a file written by :func:`save_config`."""
    return config_from_json(Path(path).read_text(encoding="utf-8"))
