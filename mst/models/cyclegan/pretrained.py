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


def shipped_generators(pair: str = DEFAULT_PAIR) -> Path:
    """The ``generator_a2b.keras`` of a shipped model (its sibling holds the other direction).

    Raises:
        NoShippedModel: No such pair, or its files are missing from this installation.
    """
    if pair not in SHIPPED:
        raise NoShippedModel(f"no shipped CycleGAN for {pair!r}; shipped: {', '.join(sorted(SHIPPED))}")
    path = SHIPPED[pair] / "generator_a2b.keras"
    if not path.is_file():
        raise NoShippedModel(f"the shipped {pair} generators are missing ({path}); reinstall mst or pass --model")
    return path


def shipped_classifier(pair: str = DEFAULT_PAIR) -> Path:
    """The ``classifier.keras`` shipped for a pair.

    Raises:
        NoShippedModel: No such pair, or its file is missing from this installation.
    """
    if pair not in CLASSIFIERS:
        raise NoShippedModel(f"no shipped classifier for {pair!r}; shipped: {', '.join(sorted(CLASSIFIERS))}")
    path = CLASSIFIERS[pair] / "classifier.keras"
    if not path.is_file():
        raise NoShippedModel(f"the shipped {pair} classifier is missing ({path}); reinstall mst or pass --classifier")
    return path
