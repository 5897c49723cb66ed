"""The bases of mst's errors.

:class:`InputError` (the user's to fix) and :class:`EnvironmentProblem` (the machine's) decide a
command's exit status (:mod:`mst.cli.errors`). :class:`FileReasonError` is the per-file error: a
file, a machine-readable reason, a human-readable detail. Batch jobs write ``reason`` to their reports unchanged and show the message to the user; the
errors pickle with all three fields, so they cross process pools intact. Each layer subclasses
:class:`FileReasonError` and says which reasons it may carry (:meth:`FileReasonError.check_reason`).

Example:
    >>> import pickle
    >>> error = pickle.loads(pickle.dumps(FileReasonError("a.mid", "too_long", "4000 steps")))
    >>> error.path, error.reason, str(error)
    ('a.mid', 'too_long', 'a.mid: too_long (4000 steps)')
"""

from __future__ import annotations

import os


class InputError(Exception):
    """Base of the errors that are the user's to fix: arguments, input files, datasets, models.

    The commands print these as one line and exit with status 2 (:mod:`mst.cli.errors`).
    """


class EnvironmentProblem(Exception):
    """Base of the errors that come from the machine: a lost worker, a missing library, a device.

    The commands print these as one line and exit with status 3 (:mod:`mst.cli.errors`).
    """


class FileReasonError(InputError):
    """A file that a layer of mst cannot handle, with a machine-readable reason.

    Attributes:
        path: The file, as given (``""`` for data built in memory).
        reason: Machine-readable code (see the subclass).
        detail: Human-readable explanation.
    """

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = ""):
        self.check_reason(reason)
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}" + (f" ({detail})" if detail else ""))

    @classmethod
    def check_reason(cls, reason: str) -> None:
        """Raises ``ValueError`` for a reason this error may not carry (the base accepts any)."""

    def __reduce__(self):
        # Exceptions pickle through their args; keep the three fields across process pools.
        return (type(self), (self.path, self.reason, self.detail))


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, else its class name.

    TensorFlow's ``OpError`` keeps the op's own message in ``.message`` and appends the graph
    context on later lines; one line of it is what a user needs.

    Example:
        >>> first_line(ValueError("corrupted record at 12\\n  [[node IteratorGetNext]]")), first_line(KeyError())
        ('corrupted record at 12', 'KeyError')
    """
    lines = str(getattr(error, "message", error)).strip().splitlines()
    return lines[0] if lines else type(error).__name__
