"""The ``worldmodel`` command line: a thin wrapper over the library functions.

Exit codes, for every command: 0 all good; 1 some task lines were bad (each reported
on stderr as ``FILE:LINE: reason`` and skipped, the rest done); 2 a usage error (a bad
option value, an empty task file, an output that would overwrite an input or an
existing file without ``--force``, a corrupt checkpoint), reported with what to fix.
"""

from __future__ import annotations

# Importing the command modules registers their commands on ``main``.
from . import _data, _plot, _query, _search, _train  # noqa: F401
from ._base import main

__all__ = ["main"]
