"""mst: symbolic music style transfer and generation in TensorFlow 2 / Keras 3.

Importing ``mst`` is cheap: TensorFlow is only imported by the modules that need it
(records, models, training), so MIDI preparation workers stay light. Once Keras is imported (before
or after ``mst``), every mst Keras serializable is registered, so any ``.keras`` file mst wrote
loads with ``keras.saving.load_model`` after ``import mst`` (see :mod:`mst._keras_registration`).
"""

__version__ = "0.1.0"

from mst import _keras_registration

_keras_registration.install()
