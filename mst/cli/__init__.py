"""The command lines of mst, as importable modules (the installed commands run these).

=================  ============================  ===========================
installed command  module                        top-level script (checkout)
=================  ============================  ===========================
``mst-prepare``    :mod:`mst.prepare`            ``python -m mst.prepare``
``mst-train``      :mod:`mst.cli.train`          ``python train.py``
``mst-transfer``   :mod:`mst.cli.transfer`       ``python transfer.py``
``mst-evaluate``   :mod:`mst.cli.evaluate`       ``python evaluate.py``
``mst-generate``   :mod:`mst.cli.generate`       ``python generate.py``
``mst-demo``       :mod:`mst.demo`               ``make demo``
=================  ============================  ===========================

Each module also runs with ``python -m mst.cli.<name>``. The top-level scripts of a checkout are
thin wrappers around these modules, so every way of starting a command runs the same code.
"""

import os
import sys
from collections.abc import Sequence


def expand_user(argv: Sequence[str] | None) -> list[str]:
    """The command line with ``~`` expanded where the shell leaves it: after ``=``.

    ``--data ~/x`` reaches Python expanded, but ``--data=~/x`` and ``--genre pop=~/midi/pop`` do
    not (the shell only expands a word-leading ``~``); every mst command expands those itself so
    no folder literally named ``~`` is ever created.

    Example:
        >>> home = os.path.expanduser("~")
        >>> expand_user(["--data=~/d", "pop=~/midi", "~/x", "a~b", "--x=1"]) == [f"--data={home}/d", f"pop={home}/midi", f"{home}/x", "a~b", "--x=1"]
        True
    """
    items = list(sys.argv[1:] if argv is None else argv)
    expanded = []
    for item in items:
        if item.startswith("~"):
            item = os.path.expanduser(item)
        else:
            head, separator, tail = item.partition("=")
            if separator and (tail == "~" or tail.startswith("~/")):
                item = f"{head}={os.path.expanduser(tail)}"
        expanded.append(item)
    return expanded


TRUST_FLAG = "--trust-saved-model"


def add_trust_argument(parser) -> None:
    """``--trust-saved-model`` (see :func:`mst.export.trust_saved_models` for why it exists)."""
    parser.add_argument(
        TRUST_FLAG, action="store_true",
        help="allow loading TensorFlow SavedModels (they run the graph ops they contain, which can read and write "
        "files); by default the .keras files of an export are loaded in Keras' safe mode",
    )


def apply_trust_argument(argv: list[str]) -> list[str]:
    """Sets the SavedModel policy from ``--trust-saved-model`` in ``argv`` and returns ``argv`` without it
    (for subcommands that a family parses itself)."""
    from mst import export  # noqa: PLC0415  (imports TensorFlow lazily only)

    export.trust_saved_models(TRUST_FLAG in argv)
    return [item for item in argv if item != TRUST_FLAG]


def restoring_saved_model_policy(function):
    """Decorator for a command's ``main``: the SavedModel policy it sets ends with it (tests and
    tools run several commands in one process; the library default must come back)."""
    import functools  # noqa: PLC0415

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        module = sys.modules.get("mst.export")
        previous = module.saved_models_trusted() if module is not None else True
        try:
            return function(*args, **kwargs)
        finally:
            module = sys.modules.get("mst.export")
            if module is not None:
                module.trust_saved_models(previous)

    return wrapper


def option_value(argv: Sequence[str], flag: str = "--out") -> str | None:
    """The value of ``flag`` in ``argv``, read the way the command's own parser will read it.

    argparse alone picks the option out (``--out X``, ``--out=X``, an abbreviation such as
    ``--ou X``), ignoring every other argument; a flag without a value gives ``None`` (the
    command's parser reports that).

    Example:
        >>> option_value(["a", "--out=x", "--n", "2"]), option_value(["--ou", "y"]), option_value(["--out"])
        ('x', 'y', None)
        >>> option_value(["--data", "d"], "--data")
        'd'
    """
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument(flag, dest="value")
    try:
        known, _ = parser.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return None
    return known.value


def refuse_file_for_folder(path: str | os.PathLike | None, flag: str = "--out") -> None:
    """Refuses an output *folder* argument that names an existing file, before any work is done.

    Raises:
        mst.errors.InputError: ``path`` exists and is not a folder.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile() as handle:
        ...     refuse_file_for_folder(handle.name)
        Traceback (most recent call last):
        ...
        mst.errors.InputError: --out /tmp/... is a file; it must name a folder (a new one is created)
    """
    from mst.errors import InputError  # noqa: PLC0415

    if path is not None and os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"{flag} {path} is a file; it must name a folder (a new one is created)")
