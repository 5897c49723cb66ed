"""TensorBoard scalar, image and audio summaries written with TensorFlow core ops only.

``tf.summary.scalar`` / ``tf.summary.image`` live in the ``tensorboard`` package, which
``tensorflow-cpu`` does not install. These helpers write the same records (the ``scalars`` and
``images`` plugin formats) through ``tf.summary.write``, so any TensorBoard reads the event files
and training does not need the package.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mst.runtime import import_tensorflow


def _metadata(plugin_name: str, data_class: str):
    from tensorflow.core.framework import summary_pb2  # noqa: PLC0415

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
        data_class=getattr(summary_pb2, data_class),
    )


def write_scalar(tag: str, value: float, step: int) -> None:
    """Writes one scalar to the default summary writer (``tf.summary.scalar`` format)."""
    tf = import_tensorflow()
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=_metadata("scalars", "DATA_CLASS_SCALAR"))


def write_images(tag: str, images: np.ndarray, step: int) -> None:
    """Writes images ``[N, H, W, C]`` in [0, 1] (C = 1, 3 or 4) as PNGs (``tf.summary.image`` format)."""
    tf = import_tensorflow()
    pixels = tf.image.convert_image_dtype(tf.convert_to_tensor(np.asarray(images, np.float32)), tf.uint8, saturate=True)
    height, width = int(pixels.shape[1]), int(pixels.shape[2])
    encoded = [tf.image.encode_png(image) for image in tf.unstack(pixels)]
    payload = tf.stack([tf.as_string(width), tf.as_string(height), *encoded])
    tf.summary.write(tag, payload, step=step, metadata=_metadata("images", "DATA_CLASS_BLOB_SEQUENCE"))


@dataclasses.dataclass(frozen=True)
class Audio:
    """Clips for TensorBoard's audio dashboard (a value of a task's ``tensorboard_images`` dict).

    Attributes:
        samples: ``[N, frames, channels]`` float in [-1, 1].
        sample_rate: Hz.
        labels: One text per clip (shown under the player), or empty.
    """

    samples: np.ndarray
    sample_rate: int
    labels: tuple[str, ...] = ()


AUDIO_PLUGIN_CONTENT = b"\x10\x0b"
"""The audio plugin's ``AudioPluginData`` proto: ``version = 0``, ``encoding = WAV (11)``."""


def write_audio(tag: str, audio: Audio, step: int) -> None:
    """Writes clips as WAV (``tf.summary.audio`` format: ``[N, 2]`` strings of encoded WAV and label)."""
    tf = import_tensorflow()
    from tensorflow.core.framework import summary_pb2  # noqa: PLC0415

    clips = np.clip(np.asarray(audio.samples, np.float32), -1.0, 1.0)
    labels = list(audio.labels) + [""] * (len(clips) - len(audio.labels))
    encoded = [tf.audio.encode_wav(tf.convert_to_tensor(clip), audio.sample_rate) for clip in clips]
    payload = tf.stack([tf.stack([wav, tf.constant(label)]) for wav, label in zip(encoded, labels)])
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="audio", content=AUDIO_PLUGIN_CONTENT),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
    tf.summary.write(tag, payload, step=step, metadata=metadata)
