"""Engines: where independent units of work run, processes of this machine or a Ray cluster.

Every unit the commands hand out (a ``generate`` block, a ``bench`` run, a task's
search in a ``learn`` round) is a pure function of its arguments, ``(seed, index)``
among them, so the engine decides only where a unit runs, never what it gives: the
results are the same bytes on either.
The local engine is the standard library's process pools; Ray is optional
(``pip install 'worldmodel[ray]'``) and imported only when an engine of kind
``"ray"`` starts.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ._errors import EngineError
from ._processes import die_with_parent

__all__ = ["ENGINES", "RAY_INSTALL", "Engine"]

ENGINES = ("local", "ray")
"""The kinds of :class:`Engine`."""
RAY_INSTALL = "pip install 'worldmodel[ray]'"
"""How to install the optional Ray engine."""


@dataclass(frozen=True)
class Engine:
    """Where units of work run.

    Attributes:
        kind: ``"local"``, processes of this machine (default), or ``"ray"``, the
            workers of a Ray cluster.
        address: with ``"ray"``, the cluster to join (e.g. ``"auto"`` or
            ``"ray://head:10001"``); ``None`` (default) starts a Ray on this machine
            for the run, or uses the one this process already joined
            (``ray.init``).

    Raises:
        EngineError: an unknown ``kind``, an ``address`` for the local engine, or
            kind ``"ray"`` where Ray is not installed (the message says how to
            install it).

    Example:
        >>> Engine().kind
        'local'
        >>> Engine("threads")
        Traceback (most recent call last):
        ...
        worldmodel.datasets._errors.EngineError: Engine.kind must be one of ('local', 'ray'), got 'threads'
    """

    kind: str = "local"
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise EngineError(f"Engine.kind must be one of {ENGINES}, got {self.kind!r}")
        if self.address is not None and self.kind != "ray":
            raise EngineError(f"Engine.address ({self.address!r}) is a Ray cluster's; give it with kind='ray'")
        if self.kind == "ray":
            _import_ray()  # here, so that a missing Ray fails before any work starts

    @contextlib.contextmanager
    def executor(
        self, workers: int, *, initializer: Callable | None = None, initargs: tuple = ()
    ) -> Iterator[concurrent.futures.Executor]:
        """A ``concurrent.futures`` executor running ``workers`` units at a time.

        Each worker process calls ``initializer(*initargs)`` before its first unit. A
        local worker ends when this process does, even killed (:func:`die_with_parent`).
        """
        if self.kind == "local":
            with concurrent.futures.ProcessPoolExecutor(
                workers, initializer=_start_local, initargs=(os.getpid(), initializer, initargs)
            ) as pool:
                yield pool
            return
        with self.session(workers):
            yield _RayExecutor(_import_ray(), initializer, initargs)

    @contextlib.contextmanager
    def session(self, workers: int) -> Iterator[None]:
        """Hold the engine across several executors, so that each need not start it again.

        A command that opens one executor after another (``learn``: one a round, each
        with that round's model) starts a Ray once, here, and its executors join it;
        without a session each would start and stop one. A Ray already running (this
        process called ``ray.init``) is used and left running. The local engine has
        nothing to hold.
        """
        if self.kind == "local":
            yield
            return
        ray = _import_ray()
        started = not ray.is_initialized()
        if started:
            # A local Ray gets as many CPUs as workers asked for; a cluster has its own.
            ray.init(address=self.address, num_cpus=workers if self.address is None else None,
                     include_dashboard=False, configure_logging=False)
        try:
            yield
        finally:
            if started:
                ray.shutdown()

    @contextlib.contextmanager
    def map_unordered(
        self, fn: Callable, jobs: Iterable, *, workers: int, initializer: Callable | None = None, initargs: tuple = ()
    ) -> Iterator[Iterator]:
        """``fn(job)`` of every job, in the order they finish, ``workers`` at a time.

        The local engine is a ``multiprocessing`` pool (fork where there is one, so
        workers start at once and read their inputs themselves); Ray keeps
        ``2 * workers`` units queued, so a million jobs are never all in flight.
        """
        if self.kind == "local":
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with context.Pool(workers, initializer=_start_local, initargs=(os.getpid(), initializer, initargs)) as pool:
                yield pool.imap_unordered(fn, jobs)
            return
        with self.executor(workers, initializer=initializer, initargs=initargs) as pool:
            yield _windowed(pool, fn, iter(jobs), 2 * workers)


def _windowed(pool: concurrent.futures.Executor, fn: Callable, jobs: Iterator, window: int) -> Iterator:
    pending: set[concurrent.futures.Future] = set()
    for job in jobs:
        pending.add(pool.submit(fn, job))
        while len(pending) >= window:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            yield from (future.result() for future in done)
    while pending:
        done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
        yield from (future.result() for future in done)


def _start_local(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise EngineError(f"the Ray engine needs Ray, which is not installed here; install it with {RAY_INSTALL}") from None
    return ray


# The run whose initializer this Ray worker process last ran (see _RayExecutor).
_READY: dict = {"run": None}


def _call_in_worker(run: str, initializer: Callable | None, initargs: list, fn: Callable, args: tuple):
    """One unit on a Ray worker, after the run's initializer if this process has not run it.

    Ray reuses worker processes across runs and interleaves runs' units, so a
    process remembers which run it last set up and sets up again when that changes.
    ``initargs`` is ``[reference]`` to them in Ray's object store: inside a list Ray
    does not fetch it for every unit, only here, once a process.
    """
    if initializer is not None and _READY["run"] != run:
        import ray

        initializer(*ray.get(initargs[0]))
        _READY["run"] = run
    return fn(*args)


class _RayExecutor(concurrent.futures.Executor):
    """``concurrent.futures`` over Ray tasks: ``submit`` returns the task's future.

    It is the interface the local engine already has, so a command holds one loop for
    both, and Ray's own scheduler places the tasks. Units still queued when the run
    ends go with the driver: Ray drops a finished driver's tasks.
    """

    def __init__(self, ray, initializer: Callable | None, initargs: tuple):
        self._remote = ray.remote(_call_in_worker)
        self._run = uuid.uuid4().hex
        # Stored once: a model among the initargs is then sent to each node once, not with every unit.
        self._initializer, self._initargs = initializer, [ray.put(initargs) if initializer is not None else None]

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        if kwargs:
            raise EngineError("the Ray engine passes positional arguments only; bind keywords with functools.partial")
        return self._remote.remote(self._run, self._initializer, self._initargs, fn, args).future()
