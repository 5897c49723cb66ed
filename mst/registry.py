"""The one registry of model families: config class, presets, training task and export loader.

Every place in mst that has to know "which family is this?" asks here: ``train.py`` (which task
trains this config), :mod:`mst.export` (which loader reads an export of this kind), run folders
(which config class a ``config.json`` holds), ``--list-presets``. Adding a family is one new folder
under ``mst/models/`` and one :class:`Family` entry in :data:`FAMILIES`; nothing else in ``mst/``
switches on a family.

The families' heavy parts (Keras models, tasks, loaders) are named as ``"module:attribute"``
strings and imported on first use, so that looking up a preset or reading a config file does not
import TensorFlow.

Example:
>>> cfg = get_config("cyclegan_jazz_classical_full", ["sigma_d=0.1", "epochs=20"])
>>> family_of(cfg).name, cfg.variant, cfg.sigma_d, cfg.epochs
('cyclegan', 'full', 0.1, 20)
>>> config_from_json(cfg.to_json()) == cfg
True
>>> list_configs("classifier")[:2]
['classifier_classical_pop', 'classifier_jazz_classical']
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from mst.config import ConfigBase, ConfigError, apply_overrides
from mst.models.cyclegan import cyclegan_presets
from mst.models.genre_classifier import genre_classifier_presets
from mst.models.musegan import musegan_presets
from mst.models.attention_rnn import attention_rnn_presets
from mst.models.music_vae import music_vae_presets


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family.

    Attributes:
        name: Family name (its folder under ``mst/models/``).
        kind: The ``kind`` written into its exports' ``export.json`` (kept as mst 0.1 wrote it).
        config_class: Its config dataclass (the class name is what ``config.json`` records).
        presets: Preset name -> config.
        task: ``"module:Class"`` of its training task (see :mod:`mst.training.driver`); the class
            is called with the config.
        loader: ``"module:function"`` that loads a model of this family from an export folder,
            a ``.keras`` file or a run folder (see :func:`mst.export.load`).
        run_exporter: ``"module:function"`` ``(run_dir, config, out_dir, preset) -> [folders]``
            that exports a run's newest checkpoint (``train.py --export-only``).
        keras_modules: Modules whose import registers the family's Keras serializables (so that
            its ``.keras`` files load).
        display_name: How messages name the family ("a CycleGAN run").
        description: One line for ``--list-presets``.
        cli_name: The family's subcommand name in ``generate.py`` / ``evaluate.py``
            (``"attention-rnn"``); ``None`` for families that predate the subcommand tables.
        generate: ``"module:function"`` ``(argv) -> exit status`` run by ``generate.py CLI_NAME``,
            or ``None`` (the family generates nothing on its own).
        evaluate: ``"module:function"`` ``(argv) -> exit status`` run by ``evaluate.py CLI_NAME``,
            or ``None`` (``evaluate.py`` has its own subcommands for the older families).
        demo: ``"module:function"`` ``(out_dir: Path, *, fresh: bool) -> {name: Path}`` that
            ``make demo`` runs after the CycleGAN steps, or ``None``.
    """

    name: str
    display_name: str
    kind: str
    config_class: type
    presets: Mapping[str, ConfigBase]
    task: str
    loader: str
    run_exporter: str
    keras_modules: tuple[str, ...]
    description: str
    cli_name: str | None = None
    generate: str | None = None
    evaluate: str | None = None
    demo: str | None = None

    def resolve(self, attribute: str):
        """Imports and returns the object named by ``task``, ``loader``, ``generate``, ...

        Raises:
            ConfigError: The family has no such entry point (the field is ``None``).
        """
        target = getattr(self, attribute)
        if target is None:
            raise ConfigError(f"the {self.display_name} family has no {attribute!r} entry point")
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)


FAMILIES: tuple[Family, ...] = (
    Family(
        name="cyclegan",
        display_name="CycleGAN",
        kind="cyclegan",
        config_class=cyclegan_presets.CycleGANConfig,
        presets=cyclegan_presets.PRESETS,
        task="mst.models.cyclegan.cyclegan_task:CycleGANTask",
        loader="mst.models.cyclegan.cyclegan_export:load_generators",
        run_exporter="mst.models.cyclegan.cyclegan_export:export_run",
        keras_modules=("mst.models.cyclegan.cyclegan", "mst.models.cyclegan.history_pool"),
        description="CycleGAN genre transfer (Brunner et al., ICTAI 2018)",
    ),
    Family(
        name="genre_classifier",
        display_name="classifier",
        kind="classifier",
        config_class=genre_classifier_presets.ClassifierConfig,
        presets=genre_classifier_presets.PRESETS,
        task="mst.models.genre_classifier.genre_classifier_task:ClassifierTask",
        loader="mst.models.genre_classifier.genre_classifier_export:load_classifier",
        run_exporter="mst.models.genre_classifier.genre_classifier_export:export_run",
        keras_modules=("mst.models.genre_classifier.genre_classifier",),
        description="genre classifier of a pair (the CycleGAN evaluation's judge)",
    ),
    Family(
        name="musegan",
        display_name="MuseGAN",
        kind="musegan",
        config_class=musegan_presets.MuseGANConfig,
        presets=musegan_presets.PRESETS,
        task="mst.models.musegan.musegan_task:MuseGANTask",
        loader="mst.models.musegan.musegan_export:load_musegan",
        run_exporter="mst.models.musegan.musegan_export:export_run",
        keras_modules=("mst.models.musegan.musegan_generator", "mst.models.musegan.musegan"),
        description="MuseGAN four-track chorales from four noises, WGAN-GP (Foster ch. 7)",
        cli_name="musegan",
        generate="mst.models.musegan.musegan_generate:main",
        evaluate="mst.models.musegan.musegan_evaluation:main",
        demo="mst.models.musegan.musegan_demo:run_demo",
    ),
    Family(
        name="attention_rnn",
        display_name="attention RNN",
        kind="attention_rnn",
        config_class=attention_rnn_presets.AttentionRNNConfig,
        presets=attention_rnn_presets.PRESETS,
        task="mst.models.attention_rnn.attention_rnn_task:AttentionRNNTask",
        loader="mst.models.attention_rnn.attention_rnn_export:load_attention_rnn",
        run_exporter="mst.models.attention_rnn.attention_rnn_export:export_run",
        keras_modules=("mst.models.attention_rnn.attention_rnn",),
        description="attention RNN over (pitch, duration) tokens, monophonic melodies (Foster ch. 7)",
        cli_name="attention-rnn",
        generate="mst.models.attention_rnn.attention_rnn_generate:main",
        evaluate="mst.models.attention_rnn.attention_rnn_evaluation:main",
        demo="mst.models.attention_rnn.attention_rnn_demo:run_demo",
    ),
    Family(
        name="music_vae",
        display_name="MusicVAE",
        kind="music_vae",
        config_class=music_vae_presets.MusicVAEConfig,
        presets=music_vae_presets.PRESETS,
        task="mst.models.music_vae.music_vae_task:MusicVAETask",
        loader="mst.models.music_vae.music_vae_export:load_music_vae",
        run_exporter="mst.models.music_vae.music_vae_export:export_run",
        keras_modules=("mst.models.music_vae.music_vae",),
        description="MusicVAE / GrooVAE: BiLSTM encoder, flat, groove and hierarchical decoders (Roberts et al. 2018, Magenta configs)",
        cli_name="music-vae",
        generate="mst.models.music_vae.music_vae_generate:main",
        evaluate="mst.models.music_vae.music_vae_evaluation:main",
        demo="mst.models.music_vae.music_vae_demo:run_demo",
    ),
)
"""Every family mst knows, in ``--list-presets`` order."""


def _build_config_map() -> dict[str, ConfigBase]:
    merged: dict[str, ConfigBase] = {}
    for family in FAMILIES:
        clash = sorted(set(merged) & set(family.presets))
        if clash:
            raise RuntimeError(f"preset names {clash} are registered by two families")
        merged.update(family.presets)
    return merged


CONFIG_MAP: dict[str, ConfigBase] = _build_config_map()
"""Preset name -> config, over all families."""


def family(name: str) -> Family:
    """The family called ``name`` (or whose export ``kind`` is ``name``).

    Raises:
        ConfigError: Unknown name (the message lists the known ones).
    """
    for entry in FAMILIES:
        if name in (entry.name, entry.kind):
            return entry
    raise ConfigError(f"unknown model family {name!r}; known: {', '.join(f.name for f in FAMILIES)}")


def family_of(config) -> Family:
    """The family whose config class ``config`` is an instance of."""
    for entry in FAMILIES:
        if type(config) is entry.config_class:
            return entry
    raise ConfigError(f"{type(config).__name__} is not the config class of a registered family")


def list_configs(family_name: str | None = None) -> list[str]:
    """Sorted preset names, of one family (by name or export kind) or of all."""
    if family_name is None:
        return sorted(CONFIG_MAP)
    return sorted(family(family_name).presets)


def get_config(name: str, overrides=None) -> ConfigBase:
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


def config_from_json(text: str) -> ConfigBase:
    """Inverse of ``config.to_json()``: the registered class named by ``config_class``."""
    classes = {entry.config_class.__name__: entry.config_class for entry in FAMILIES}
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"not an mst config JSON ({error})") from None
    if not isinstance(payload, dict) or payload.get("config_class") not in classes or not isinstance(payload.get("config"), dict):
        raise ConfigError(f"not an mst config JSON (needs 'config_class' in {sorted(classes)} and 'config')")
    return classes[payload["config_class"]].from_dict(payload["config"])


def save_config(config: ConfigBase, path: str | os.PathLike) -> Path:
    """Writes ``config.to_json()`` atomically (temp file + rename); returns the path."""
    from mst import atomic  # noqa: PLC0415

    return atomic.write_text(path, config.to_json() + "\n")


def load_config(path: str | os.PathLike) -> ConfigBase:
    """Reads a file written by :func:`save_config`."""
    return config_from_json(Path(path).read_text(encoding="utf-8"))


def families_with(entry_point: str) -> list[Family]:
    """The families that define ``entry_point`` (``"generate"``, ``"evaluate"``, ``"demo"``), in order."""
    return [entry for entry in FAMILIES if getattr(entry, entry_point) is not None]


def family_for_command(cli_name: str, entry_point: str) -> Family:
    """The family whose subcommand is ``cli_name`` and that defines ``entry_point``.

    Raises:
        ConfigError: No such subcommand (the message lists the known ones).
    """
    known = families_with(entry_point)
    for entry in known:
        if cli_name == entry.cli_name:
            return entry
    raise ConfigError(f"unknown model family {cli_name!r}; known: {', '.join(entry.cli_name for entry in known) or 'none'}")


def task_for(config):
    """The training task of ``config``'s family, built for that config."""
    return family_of(config).resolve("task")(config)


SHARED_KERAS_MODULES = ("mst.layers", "mst.training.schedules")
"""Modules with serializables every family may use (custom layers, the learning-rate schedule)."""


def register_keras_objects() -> None:
    """Imports every module that registers an mst Keras serializable (layers, models, schedules).

    After this, any ``.keras`` file mst wrote loads with ``keras.saving.load_model``.
    """
    for module in SHARED_KERAS_MODULES + tuple(m for entry in FAMILIES for m in entry.keras_modules):
        importlib.import_module(module)
