"""One error path for every mst command: a one-line message, a documented exit status.

Every command's ``main`` is wrapped by :func:`command`. What escapes it is sorted into

====  ===================  ==========================================================================
exit  meaning              examples
====  ===================  ==========================================================================
0     done
1     done, with problems  ``--strict`` and files were skipped; a transfer came out silent; training
                           stopped on a non-finite loss (the newest checkpoint is kept)
2     usage or input       bad arguments, a missing/corrupt/rejected input file, a dataset or model
                           that does not fit, an output that exists without ``--overwrite``
3     environment          disk full, read-only or permission-denied output, out of memory, a lost
                           worker of a multi-worker run, TensorFlow missing
4     internal error       a bug in mst: the traceback is printed, please report it
130   interrupted          Ctrl-C
====  ===================  ==========================================================================

Input and environment errors print ``<prog>: error: <message>`` on one line and no traceback;
``--debug`` (any command) or ``MST_DEBUG=1`` adds the traceback. The sorting is one mechanism:
mst's own exceptions derive from :class:`mst.errors.InputError` or
:class:`mst.errors.EnvironmentProblem`; a ``ValueError`` is an input error (mst raises it for a
value it cannot use); ``OSError`` is sorted by its ``errno``; TensorFlow's
``OpError`` by its class (checked by name, so this module never imports TensorFlow).

Example:
    >>> import errno
    >>> exit_status(OSError(errno.ENOSPC, "No space left on device", "out/a.tfrecord"))
    3
    >>> one_line(OSError(errno.ENOSPC, "No space left on device", "out/a.tfrecord"))
    'out/a.tfrecord: No space left on device (the disk or quota is full)'
    >>> exit_status(FileNotFoundError(errno.ENOENT, "No such file or directory", "x.mid"))
    2
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from mst.errors import EnvironmentProblem, InputError, first_line

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

DEBUG_FLAG = "--debug"

# errno values that say something about the machine, not about what the user asked for.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "the disk or quota is full",
    errno.EDQUOT: "the disk or quota is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error of the device",
    errno.ENOMEM: "out of memory",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files",
}
# TensorFlow OpError subclasses by name: environment ones; every other OpError is an input error
# (DataLossError: a corrupt file; NotFoundError: a missing one; InvalidArgumentError: bad data).
_TF_ENVIRONMENT_ERRORS = {"ResourceExhaustedError", "PermissionDeniedError", "UnavailableError", "DeadlineExceededError"}


def _is_tensorflow_op_error(error: BaseException) -> bool:
    return any(cls.__name__ == "OpError" and cls.__module__.startswith("tensorflow") for cls in type(error).__mro__)


def exit_status(error: BaseException) -> int:
    """The exit status for an exception that escaped a command (see the module docstring)."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, EnvironmentProblem | MemoryError):
        return EXIT_ENVIRONMENT
    if isinstance(error, InputError | ValueError):  # mst raises ValueError for a value it cannot use
        return EXIT_INPUT
    if isinstance(error, OSError):
        return EXIT_ENVIRONMENT if error.errno in _ENVIRONMENT_ERRNOS else EXIT_INPUT
    if _is_tensorflow_op_error(error):
        return EXIT_ENVIRONMENT if type(error).__name__ in _TF_ENVIRONMENT_ERRORS else EXIT_INPUT
    return EXIT_INTERNAL


def one_line(error: BaseException) -> str:
    """The message of an exception on one line (file first where the exception names one)."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, OSError) and not isinstance(error, InputError) and error.strerror:
        names = " -> ".join(os.fsdecode(name) for name in (error.filename, error.filename2) if name is not None)
        hint = _ENVIRONMENT_ERRNOS.get(error.errno)
        text = f"{names}: {error.strerror}" if names else error.strerror
        return text + (f" ({hint})" if hint and hint.lower() != error.strerror.lower() else "")
    if _is_tensorflow_op_error(error):
        return f"{type(error).__name__}: {first_line(error)}"
    if isinstance(error, OSError) and not isinstance(error, InputError) and str(error):
        return " ".join(str(error).split())  # raised with a message of mst's own, e.g. "model not found: x"
    if isinstance(error, MemoryError):
        return "out of memory" + (f" ({error})" if str(error) else "")
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, UnicodeEncodeError) and "surrogates" in text:
        text += " (a file or folder name that is not valid UTF-8: TensorFlow needs UTF-8 paths; rename it)"
    if not isinstance(error, InputError | EnvironmentProblem | ValueError):
        text = f"{type(error).__name__}: {text}"
    return text


def debug_requested(argv: Sequence[str]) -> bool:
    """``--debug`` on the command line or ``MST_DEBUG`` set to a true value."""
    return DEBUG_FLAG in argv or os.environ.get("MST_DEBUG", "").lower() in {"1", "true", "yes"}


def add_debug_argument(parser) -> None:
    """Adds ``--debug`` to a parser (handled by :func:`command`; listed so ``--help`` shows it)."""
    parser.add_argument(DEBUG_FLAG, action="store_true", help="show the Python traceback of an error (or set MST_DEBUG=1)")


def report(prog: str, error: BaseException, *, debug: bool, stream=None) -> int:
    """Prints the error the way every command does and returns its exit status."""
    stream = sys.stderr if stream is None else stream
    status = exit_status(error)
    if status == EXIT_INTERNAL or debug:
        traceback.print_exception(error, file=stream)
    if status == EXIT_INTERNAL:
        print(f"{prog}: internal error: {one_line(error)} (a bug in mst: please report it with the traceback above)",
              file=stream, flush=True)
    else:
        kind = "environment error" if status == EXIT_ENVIRONMENT else "error"
        print(f"{prog}: {kind}: {one_line(error)}", file=stream, flush=True)
    return status


def command(prog: str) -> Callable:
    """Decorator for a command's ``main(argv=None, ...)``: every exception becomes :func:`report`.

    ``--debug`` is removed from ``argv`` before ``main`` parses it, so every command and every
    family subcommand accepts it. ``SystemExit`` (argparse's usage errors and ``--help``) passes
    through unchanged.
    """

    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def wrapper(argv: Sequence[str] | None = None, *args, **kwargs) -> int:
            items = list(sys.argv[1:] if argv is None else argv)
            debug = debug_requested(items)
            items = [item for item in items if item != DEBUG_FLAG]
            try:
                return main(items, *args, **kwargs)
            except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001  (the one place errors end)
                return report(prog, error, debug=debug)

        return wrapper

    return decorate
