"""The config base of every model family: typed, frozen dataclasses with overrides and JSON files.

A family's config class derives from :class:`TrainerConfig` (the fields every trainer reads:
optimiser, batch, epochs, seed) or directly from :class:`ConfigBase`. Its named presets and the
rest of the family are registered in :mod:`mst.registry`, which is where configs are looked up,
listed, overridden from the command line, saved and loaded.

Example:
>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Toy(TrainerConfig):
...     width: int = 4
>>> toy = apply_overrides(Toy(), ["width=8", "epochs=3"])
>>> toy.width, toy.epochs, Toy.from_dict(toy.to_dict()) == toy
(8, 3, True)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping
from typing import ClassVar
from mst.errors import InputError


class ConfigError(ValueError, InputError):
    """An invalid config value, override, field or preset name."""


@dataclasses.dataclass(frozen=True)
class ConfigBase:
    """Serialization and overrides shared by every config class.

    Subclasses may set ``absent_field_defaults``: values for fields that a config file written by
    an older mst lacks, chosen so that such a file describes the run it was written for (a plain
    dataclass default would silently change an old run's behaviour when it is resumed).
    """

    absent_field_defaults: ClassVar[Mapping[str, object]] = {}

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping):
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; valid fields: {sorted(names)}")
        hints = typing.get_type_hints(cls)
        kwargs = {key: value for key, value in cls.absent_field_defaults.items() if key not in data}
        for key, value in data.items():
            if isinstance(value, list) and _is_tuple_type(hints[key]):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)

    def to_json(self) -> str:
        """JSON text ``{"config_class": ..., "config": {...}}`` (what :func:`mst.registry.save_config` writes)."""
        return json.dumps({"config_class": type(self).__name__, "config": self.to_dict()}, indent=2, sort_keys=True)

    def replace(self, **changes):
        """A copy with ``changes`` applied and validated, as :func:`apply_overrides` with a dict."""
        return apply_overrides(self, changes)

    def derived_changes(self, changes: Mapping) -> dict:
        """Extra changes that keep derived fields consistent when ``changes`` are applied.

        The default derives nothing; a family whose config has derived fields (e.g. the CycleGAN's
        mixed set follows its variant) overrides this.
        """
        return {}


@dataclasses.dataclass(frozen=True)
class TrainerConfig(ConfigBase):
    """Fields every trainer reads, with the values of the CycleGAN authors' code as defaults.

    Attributes:
        learning_rate: Adam base rate (authors' code: 2e-4).
        beta_1: Adam β1 (code: 0.5; β2 = 0.999 and ε = 1e-8 are TF1 defaults).
        batch_size: Global batch size (code: 16).
        epochs: Training epochs (code default: 100).
        epoch_step: Epochs at constant rate before the linear decay to 0 (code: 10).
        seed: Seed of initializers, noise and data order (code: ``tf.set_random_seed(19)``).
        steps_per_epoch: Cap on batches per epoch; ``None`` = one pass over the data.
        checkpoint_every_steps: Extra checkpoint every N steps; ``None`` = once per epoch (code).
        name: Preset name (recorded next to checkpoints).
    """

    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 16
    epochs: int = 100
    epoch_step: int = 10
    seed: int = 19
    steps_per_epoch: int | None = None
    checkpoint_every_steps: int | None = None
    name: str = "custom"

    def __post_init__(self):
        check_number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        check_number("beta_1", self.beta_1, minimum=0.0)
        if self.beta_1 >= 1:
            raise ConfigError(f"beta_1 must be < 1, got {self.beta_1}")
        for field in ("batch_size", "epochs"):
            check_int(field, getattr(self, field), minimum=1)
        check_int("epoch_step", self.epoch_step, minimum=0)
        check_int("seed", self.seed, minimum=0)
        for field in ("steps_per_epoch", "checkpoint_every_steps"):
            if getattr(self, field) is not None:
                check_int(field, getattr(self, field), minimum=1)


def check_label(name: str, value) -> None:
    """A dataset partition label (genre, corpus, ...): non-empty, lower case, no ``/``."""
    if not isinstance(value, str) or not value or value != value.strip().lower() or "/" in value:
        raise ConfigError(f"{name} must be a non-empty lower-case genre name, got {value!r}")


def check_label_pair(genre_a, genre_b) -> None:
    """Two different labels (the two domains of a transfer model, the two classes of a classifier)."""
    check_label("genre_a", genre_a)
    check_label("genre_b", genre_b)
    if genre_a == genre_b:
        raise ConfigError(f"genre_a and genre_b must differ, both are {genre_a!r}")


def check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def check_number(name, value, minimum, strict=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise ConfigError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")



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


def apply_overrides(config: ConfigBase, overrides) -> ConfigBase:
    """Applies ``["field=value", ...]`` (or a ``{field: value}`` dict of already-typed values).

    Unknown fields raise :class:`ConfigError` listing the valid ones (with a "did you mean").
    The config's :meth:`ConfigBase.derived_changes` keeps derived fields consistent.
    """
    cls = type(config)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    own = set(cls.__dict__.get("__annotations__", {}))
    names = [n for n in names if n in own] + [n for n in names if n not in own]  # the family's fields first
    changes = {}
    items = overrides.items() if isinstance(overrides, Mapping) else [_split_override(o) for o in (overrides or [])]
    for key, value in items:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"unknown {cls.__name__} field {key!r}{hint}; valid fields: {', '.join(names)}")
        changes[key] = parse_value(value, hints[key], key) if isinstance(value, str) and hints[key] is not str else value
    changes.update({k: v for k, v in config.derived_changes(changes).items() if k not in changes})
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
