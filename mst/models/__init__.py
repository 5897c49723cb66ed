"""Keras models of mst (importing this package imports TensorFlow).

* :class:`CycleGAN`, :func:`build_generator`, :func:`build_discriminator`, :func:`build_cyclegan`:
  Brunner et al. 2018 genre transfer (``mst.models.cyclegan``).
* :func:`build_genre_classifier`: the evaluation classifier (``mst.models.classifier``).
* :class:`HistoryPool`: the authors' pool of past fake batches (``mst.models.history_pool``).
"""

from mst.models.classifier import build_genre_classifier
from mst.models.cyclegan import CycleGAN, build_cyclegan
from mst.models.cyclegan_discriminator import build_discriminator
from mst.models.cyclegan_generator import build_generator
from mst.models.history_pool import HistoryPool

__all__ = [
    "CycleGAN",
    "HistoryPool",
    "build_cyclegan",
    "build_discriminator",
    "build_generator",
    "build_genre_classifier",
]
