"""Worker processes that end when their parent does.

Nothing tells a pool worker that its parent was killed (SIGKILL runs no cleanup), so
without help it lives on, holding a core. On Linux the kernel can tell it:
``prctl(PR_SET_PDEATHSIG, SIGKILL)`` kills the worker when the parent thread that
started it exits. Elsewhere, and as a second line on Linux, a daemon thread polls the
parent's pid and ends the worker as soon as it changes (the worker was re-parented).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _watch(ppid: int, parent: int, poll_seconds: float) -> None:
    while True:
        time.sleep(poll_seconds)
        if os.getppid() != ppid or not _alive(parent):
            os._exit(1)  # no cleanup: the process that wanted the results is gone


def die_with_parent(parent: int | None = None, *, poll_seconds: float = 1.0) -> None:
    """Make the calling process end when its parent ends; a pool's ``initializer``.

    Args:
        parent: the pid of the process whose results this worker computes, passed by
            it as ``initargs=(os.getpid(),)`` (default: this process's parent now).
            Passing it also catches a parent that died before the worker got here.
        poll_seconds: how often the fallback thread checks the parent (default 1.0).

    Example:
        >>> import concurrent.futures, os
        >>> with concurrent.futures.ProcessPoolExecutor(
        ...     1, initializer=die_with_parent, initargs=(os.getpid(),)
        ... ) as pool:
        ...     pool.submit(os.getppid).result() == os.getpid()
        True
    """
    ppid = os.getppid()
    parent = ppid if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the thread below still works
            pass
    if not _alive(parent):
        os._exit(1)
    threading.Thread(
        target=_watch, args=(ppid, parent, poll_seconds), daemon=True, name="die-with-parent"
    ).start()
