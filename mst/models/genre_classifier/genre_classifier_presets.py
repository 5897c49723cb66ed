"""The genre classifier's config class and named presets (no TensorFlow: cheap to import).

Presets: ``classifier_{pair}`` for the paper's three genre pairs and ``classifier_tiny`` for tests
and the demo.

Example:
>>> PRESETS["classifier_classical_pop"].filters, PRESETS["classifier_classical_pop"].sigma_c_eval
(64, (0.0, 0.01, 0.1, 0.2, 0.3, 0.5))
"""

from __future__ import annotations

import dataclasses

from mst.config import TrainerConfig, check_int, check_label_pair, check_number
from mst.models.cyclegan.cyclegan_presets import PAPER_PAIRS

SIGMA_C_EVAL = (0.0, 0.01, 0.1, 0.2, 0.3, 0.5)
"""Test-time classifier noise levels of the thesis' accuracy table (docs/reference/cyclegan.md#genre-classifier)."""


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(TrainerConfig):
    """The genre classifier of one pair (docs/reference/cyclegan.md#genre-classifier).

    Optimiser, batch, epochs and seed come from :class:`mst.config.TrainerConfig` (the authors'
    values); ``steps_per_epoch=None`` is one pass over the balanced training phrases.

    Attributes:
        genre_a: Genre of class 0.
        genre_b: Genre of class 1.
        filters: Classifier width (paper: 64 → 1,156,608 parameters).
        sigma_c_eval: Zero-mean Gaussian noise levels σ_C added to *test* inputs when reporting
            accuracy (thesis table); no noise is used in training (the code).
    """

    genre_a: str = "jazz"
    genre_b: str = "classical"
    filters: int = 64
    sigma_c_eval: tuple[float, ...] = SIGMA_C_EVAL

    def __post_init__(self):
        super().__post_init__()
        check_label_pair(self.genre_a, self.genre_b)
        object.__setattr__(self, "sigma_c_eval", tuple(float(s) for s in self.sigma_c_eval))
        for s in self.sigma_c_eval:
            check_number("sigma_c_eval entry", s, minimum=0.0)
        check_int("filters", self.filters, minimum=1)

    @property
    def pair(self) -> str:
        """``"{genre_a}_{genre_b}"``."""
        return f"{self.genre_a}_{self.genre_b}"


PRESETS: dict[str, ClassifierConfig] = {
    **{f"classifier_{pair}": ClassifierConfig(genre_a=a, genre_b=b, name=f"classifier_{pair}") for pair, (a, b) in PAPER_PAIRS.items()},
    "classifier_tiny": ClassifierConfig(genre_a="jazz", genre_b="classical", filters=4, batch_size=4, epochs=2, epoch_step=1, name="classifier_tiny"),
}
"""Preset name -> :class:`ClassifierConfig`."""
