"""Quiet, predictable TensorFlow start-up shared by the scripts and the library."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from mst.errors import EnvironmentProblem


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Redirects fd 2 to /dev/null: TF prints oneDNN/absl lines from C++ before logging is set up."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class TensorFlowMissingError(ImportError, EnvironmentProblem):
    """TensorFlow is not installed (mst takes it from one extra: ``mst[cpu]`` or ``mst[gpu]``)."""


def import_tensorflow():
    """Imports TensorFlow with its start-up chatter silenced and returns the module.

    Python exceptions still propagate; only the C++ banner lines are dropped.

    Raises:
        TensorFlowMissingError: TensorFlow is not installed (the message says what to install).
    """
    # Already imported: return before touching os.environ, which AutoGraph cannot convert when this
    # is called from inside tf.data map functions.
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
    with _stderr_fd_silenced():
        try:
            import tensorflow as tf  # noqa: PLC0415
        except ModuleNotFoundError as error:
            if error.name != "tensorflow":
                raise
            raise TensorFlowMissingError(
                "TensorFlow is not installed: install mst with one of its extras, "
                "pip install 'mst[cpu]' (CPU) or pip install 'mst[gpu]' (Linux, NVIDIA GPU)"
            ) from None
    return tf
