"""mst: symbolic music style transfer and generation in TensorFlow 2 / Keras 3.

Importing ``mst`` is cheap: TensorFlow is only imported by the modules that need it
(records, models, training), so MIDI preparation workers stay light.
"""

__version__ = "0.1.0"
