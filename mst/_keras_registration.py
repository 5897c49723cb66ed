"""Makes ``import mst`` enough for ``keras.saving.load_model`` to read every ``.keras`` file mst writes.

mst's Keras serializables (layers, models, learning-rate schedules) are registered when their
modules are imported, and Keras can only find a class that has been registered. Importing them all
from ``mst/__init__.py`` would import TensorFlow on ``import mst``, which the MIDI preparation
workers and ``--help`` of every command must not pay for. So ``import mst`` registers everything
*as soon as Keras is imported*, whichever comes first:

* Keras already imported when ``mst`` is: registered at the end of ``import mst``;
* Keras imported later (by the user, or by an mst module): registered right after that import
  finishes. A small :class:`importlib.abc.MetaPathFinder` watches the imports of ``keras`` and of
  ``mst.*`` modules and registers once no ``mst`` module is half-initialised (registering in the
  middle of ``import mst.layers`` would import modules that need the unfinished one).

Processes that never import Keras never import TensorFlow because of mst.
"""

from __future__ import annotations

import importlib.abc
import sys
import warnings

_registered = False


def _initializing(name: str) -> bool:
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def register_if_ready(*, ignore: str | None = None) -> bool:
    """Registers every mst serializable if Keras is imported and no mst module is mid-import.

    Args:
        ignore: A module whose initialisation has just finished (importlib still marks it as
            initialising until its loader returns): ``"mst"`` at the end of its ``__init__``, or the
            module a watched loader has just executed.

    Returns:
        Whether everything is registered now.
    """
    global _registered
    if _registered:
        return True
    if "keras" not in sys.modules or (_initializing("keras") and ignore != "keras"):
        return False
    if any(_initializing(name) for name in list(sys.modules) if (name == "mst" or name.startswith("mst.")) and name != ignore):
        return False
    _registered = True  # before importing: the registration's own imports come back here
    try:
        from mst.registry import register_keras_objects  # noqa: PLC0415

        register_keras_objects()
    except ImportError as error:  # e.g. Keras without TensorFlow: mst cannot work, say so once
        warnings.warn(f"mst could not register its Keras objects ({error}); mst's .keras files will not load", stacklevel=2)
    return True


class _NotifyingLoader(importlib.abc.Loader):
    """Runs the wrapped loader, then :func:`register_if_ready`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            self._loader.exec_module(module)
        finally:
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader  # the module keeps its real loader (resources, reload)
                module.__loader__ = self._loader
        register_if_ready(ignore=module.__name__)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _WatchImports(importlib.abc.MetaPathFinder):
    """Finds ``keras`` and ``mst.*`` with the other finders and wraps their loaders."""

    def find_spec(self, fullname, path, target=None):
        if _registered or not (fullname == "keras" or fullname.startswith("mst.")):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _NotifyingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Called by ``mst/__init__.py``: registers now, or watches imports until Keras arrives."""
    if register_if_ready(ignore="mst"):
        return
    if not any(isinstance(finder, _WatchImports) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WatchImports())
