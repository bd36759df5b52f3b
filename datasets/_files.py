"""Files the commands write: replaced atomically, never over an input, finished lines kept.

Three rules, one module, used by every command that writes a file:

- :func:`atomic_write_text` / :func:`atomic_write_bytes` replace a file so that a
  reader sees the old file or the new one, never half of either.
- :func:`check_output` refuses an output path that is an input of the same command
  (even with ``force``), a file that exists already (without ``force``), or one whose
  ``.partial`` file still holds the results of an interrupted run.
- :class:`LineWriter` streams results: each finished line goes to ``<out>.partial``
  at once, flushed and fsynced, and the file becomes ``<out>`` (one atomic rename)
  when the writer closes, also when an exception (Ctrl-C, a SIGTERM turned into
  ``SystemExit``) ends the run. A SIGKILL cannot be caught: the finished lines are then
  in ``<out>.partial``, which :func:`check_output` keeps a later run from overwriting.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ._errors import OutputError

__all__ = [
    "PARTIAL_SUFFIX",
    "atomic_write_text",
    "atomic_write_bytes",
    "check_output",
    "partial_path",
    "LineWriter",
]

PARTIAL_SUFFIX = ".partial"
"""Suffix of the file a :class:`LineWriter` streams into before it is renamed."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, are fsynced, and the file is
    renamed over ``path``; a failure (or a kill) leaves ``path`` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates 0600 files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def partial_path(path: str | os.PathLike) -> Path:
    """Where a :class:`LineWriter` for ``path`` streams: ``<path>.partial``."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return os.path.abspath(a) == os.path.abspath(b)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def check_output(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    force: bool = False,
    option: str = "--out",
) -> Path:
    """Check that writing ``path`` destroys nothing; return it as a :class:`Path`.

    Args:
        path: the output file.
        inputs: files (or folders) the same command reads; the output may not be one of
            them (compared as files, so links and hard links count), nor an existing
            file inside an input folder, whatever ``force`` says.
        force: allow replacing an existing output and discarding a ``.partial`` file
            left by an interrupted run (default False).
        option: the option's name in messages (default ``"--out"``).

    Raises:
        OutputError: naming the path and the fix.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> tasks = os.path.join(folder, "tasks.jsonl")
        >>> _ = open(tasks, "w").write("")
        >>> try:
        ...     check_output(tasks, inputs=[tasks], force=True)
        ... except OutputError as error:
        ...     print(str(error).replace(folder, "DIR"))
        --out DIR/tasks.jsonl is the input file DIR/tasks.jsonl; choose another output file
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{option} {path}: {folder} is a file, not a folder; choose another output path")
    for source in inputs:
        source = Path(source)
        if source.is_dir():
            if path.exists() and _inside(path, source):
                raise OutputError(
                    f"{option} {path} is inside the input folder {source}; choose an output file outside it"
                )
        elif _same_file(path, source):
            raise OutputError(
                f"{option} {path} is the input file {source}; choose another output file"
            )
    if not force:
        if path.exists():
            raise OutputError(
                f"{option} {path} exists; pass --force to replace it (it is replaced only "
                "when the run ends), or choose another file"
            )
        partial = partial_path(path)
        if partial.exists():
            raise OutputError(
                f"{partial} holds the finished results of an interrupted run; move it away, "
                "or pass --force to discard it"
            )
    return path


class LineWriter:
    """Stream lines to ``<path>.partial``; rename it to ``path`` on :meth:`close`.

    Each :meth:`write` is flushed and fsynced before it returns, so a kill at any
    moment keeps every line written so far. Use it as a context manager: leaving the
    block, normally or by an exception, closes it and the lines become ``path``.

    Args:
        path: the final file (checked with :func:`check_output` first).

    Example:
        >>> import os, tempfile
        >>> out = os.path.join(tempfile.mkdtemp(), "results.jsonl")
        >>> with LineWriter(out) as sink:
        ...     sink.write('{"id": 1}')
        ...     os.path.exists(out), os.path.exists(out + ".partial")
        (False, True)
        >>> open(out).read(), os.path.exists(out + ".partial")
        ('{"id": 1}\\n', False)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.partial, "w", encoding="utf-8")
        self.lines = 0

    def write(self, line: str) -> None:
        """Append one line (no newline in it) and make it durable."""
        if "\n" in line or "\r" in line:
            raise ValueError("LineWriter.write takes one line without a newline")
        self._handle.write(line + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.lines += 1

    def close(self) -> None:
        """Make the lines ``path`` (idempotent); ``lines`` is then the count in the file
        (a signal can land between a write and its count)."""
        if self._handle.closed:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        with open(self.partial, "rb") as handle:
            self.lines = sum(1 for _ in handle)
        os.replace(self.partial, self.path)

    def __enter__(self) -> LineWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
