"""The exceptions of :mod:`worldmodel.datasets`, one per kind of mistake, and the root
:class:`WorldModelError` that every exception of the toolkit derives from.

Catch ``WorldModelError`` for "anything worldmodel raises on purpose"; each subclass
names one kind of mistake, and those about bad values are also ``ValueError``s.
"""

from __future__ import annotations

import reprlib

__all__ = [
    "WorldModelError",
    "ExecutionError",
    "ParseError",
    "DomainError",
    "EditError",
    "TaskFileError",
    "DatasetError",
    "SamplingError",
    "OutputError",
    "EngineError",
    "ConfigError",
]


class WorldModelError(Exception):
    """The root of every exception worldmodel raises on purpose."""


class ExecutionError(WorldModelError):
    """A program is invalid on an input: the interpreter's only error.

    Raised for an operation on invalid input (``HEAD`` of an empty list, ``ACCESS``
    out of range), a value outside the bounds, a list too long, or too many steps.

    Attributes:
        reason: a short, stable description (e.g. ``"value out of range"``).
        statement: index of the statement that failed, or ``None`` for the inputs.
    """

    def __init__(self, reason: str, statement: int | None = None):
        where = "inputs" if statement is None else f"statement {statement}"
        super().__init__(f"{reason} (at {where})")
        self.reason = reason
        self.statement = statement


class ConfigError(WorldModelError, ValueError):
    """A config field has an invalid value; the message names the field and the fix.

    Raised by every ``*Config`` dataclass (and the other validated option dataclasses,
    such as ``Bounds`` and ``Budget``) when it is built, so a bad option fails where it
    is given rather than deep inside a run.
    """


class DomainError(WorldModelError, ValueError):
    """A domain that is unknown, or that cannot be registered under its name."""


class ParseError(WorldModelError, ValueError):
    """Program text does not follow the domain's syntax; the message names the line."""


class EditError(WorldModelError, ValueError):
    """An edit does not apply to a program (wrong index, type, or old content)."""


class TaskFileError(WorldModelError, ValueError):
    """A line of a task file is malformed; ``line`` is its 1-based number."""

    def __init__(self, message: str, *, path: str = "<tasks>", line: int = 0):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.reason = message


class DatasetError(WorldModelError, ValueError):
    """A generated dataset (Φ) on disk is missing, inconsistent or corrupt."""


class SamplingError(WorldModelError, ValueError):
    """A random program (or example set) could not be drawn within the tries allowed.

    Raised instead of looping on: the message names the length, the input types and
    the ``max_tries`` that were spent, and what to change.
    """


class OutputError(WorldModelError, ValueError):
    """An output path would destroy something: an input of the same command, an
    existing file (without ``force``), or the results of an interrupted run."""


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = 8
_REPR.maxlevel = 3
_REPR.maxstring = 200
_REPR.maxother = 60
_REPR.maxlong = 40


def short_repr(value: object) -> str:
    """``repr(value)`` cut to a line, for messages about values of any size or depth.

    Example:
        >>> short_repr(list(range(100)))
        '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    """
    return _REPR.repr(value)


class EngineError(WorldModelError, ValueError):
    """An engine (where units of work run) cannot be used as asked: an unknown kind, an
    address without Ray, or Ray not installed; the message names the fix."""
