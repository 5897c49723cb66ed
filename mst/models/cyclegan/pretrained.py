"""The CycleGAN weights that ship inside the package, so a transfer needs no training first.

``mst/data/pretrained/<name>/`` holds ``generator_a2b.keras``, ``generator_b2a.keras`` and an
``export.json`` (genres, preset, steps) for each shipped model, plus its ``MODEL_CARD.md`` (data,
licenses, every measured figure). They load in Keras safe mode like any ``.keras`` file mst writes.

Example:
>>> sorted(SHIPPED)
['classical_pop']
>>> SHIPPED["classical_pop"].name
'cyclegan_classical_pop'
"""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "data" / "pretrained"
"""Where the shipped models live inside the installed package."""

SHIPPED = {"classical_pop": PRETRAINED_DIR / "cyclegan_classical_pop"}
"""Genre pair -> folder of its shipped generators."""

CLASSIFIERS = {"classical_pop": PRETRAINED_DIR / "classifier_classical_pop"}
"""Genre pair -> folder of the shipped genre classifier used to judge its transfers."""

DEFAULT_PAIR = "classical_pop"


class NoShippedModel(FileNotFoundError):
    """The requested shipped model is not in this installation."""


def _shipped_file(folders: dict, pair: str, file_name: str, what: str, flag: str) -> Path:
    if pair not in folders:
        raise NoShippedModel(f"no shipped {what} for {pair!r}; shipped: {', '.join(sorted(folders))}")
    path = folders[pair] / file_name
    if not path.is_file():
        raise NoShippedModel(f"the shipped {pair} {what} is missing ({path}); reinstall mst or pass {flag}")
    return path


def shipped_generators(pair: str = DEFAULT_PAIR) -> Path:
    """The ``generator_a2b.keras`` of a shipped model (its sibling holds the other direction).

    Raises:
        NoShippedModel: No such pair, or its files are missing from this installation.
    """
    return _shipped_file(SHIPPED, pair, "generator_a2b.keras", "CycleGAN", "--model")


def shipped_classifier(pair: str = DEFAULT_PAIR) -> Path:
    """The ``classifier.keras`` shipped for a pair.

    Raises:
        NoShippedModel: No such pair, or its file is missing from this installation.
    """
    return _shipped_file(CLASSIFIERS, pair, "classifier.keras", "classifier", "--classifier")
