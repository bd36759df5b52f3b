"""The command group, shared options and parameter types, and the helpers every command uses (domain, task files, exit codes)."""

from __future__ import annotations

import math

import click


class _Group(click.Group):
    """Ctrl-C ends any command with exit code 130, not click's "Aborted!" and 1
    (which would read as "some lines bad")."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted (exit code 130)", err=True)
            raise SystemExit(130) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worldmodel")
def main() -> None:
    """Learn world models of programs and use them to find programs from examples.

    Exit codes: 0 all good, 1 some task lines bad (reported, skipped), 2 usage error,
    130 interrupted by Ctrl-C.
    """


class _Number(click.ParamType):
    """A finite number within bounds, written plainly or in e-notation (``1e5``).

    The one check every numeric option of these commands goes through, so that
    ``nan``, ``inf``, ``1e400``, ``1.5`` calls or ``0`` repeats are usage errors (exit
    2) that say what is wanted, never a traceback or a silently disabled limit.
    """

    name = "number"

    def __init__(self, what: str, *, integer: bool = True, low: float = 1, high: float | None = None,
                 low_open: bool = False):
        self.what, self.integer, self.low, self.high, self.low_open = what, integer, low, high, low_open

    def _wanted(self) -> str:
        kind = "a whole number" if self.integer else "a finite number"
        low = f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        high = f" and <= {self.high:g}" if self.high is not None else ""
        return f"{self.what}: {kind} {low}{high}" + (" (e.g. 1000 or 1e3)" if self.integer else "")

    def convert(self, value, param, ctx):
        if isinstance(value, bool):
            self.fail(f"{value!r} is not {self._wanted()}", param, ctx)
        number = value
        if not isinstance(value, (int, float)):
            text = str(value).strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    self.fail(f"{value!r} is not {self._wanted()}", param, ctx)
        if isinstance(number, float):
            if not math.isfinite(number) or (self.integer and not number.is_integer()):
                self.fail(f"{value!r} is not {self._wanted()}", param, ctx)
            if self.integer:
                number = int(number)
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or (self.high is not None and number > self.high):
            self.fail(f"{value!r} is out of range; give {self._wanted()}", param, ctx)
        return number


_MAX_CALLS = 10**12


_CALLS = _Number("a number of simulator calls", high=_MAX_CALLS)


_SECONDS = _Number("a number of seconds", integer=False, low=0, low_open=True, high=10**9)


_WORKERS = click.IntRange(min=1, max=1024)


_THREADS = click.IntRange(min=1, max=1024)


_ENGINE_OPTIONS = (
    click.option("--engine", "engine_kind", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                 help="Where the units of work run: processes of this machine, or a Ray cluster (pip install "
                      "'worldmodel[ray]'); the results are the same."),
    click.option("--address", default=None,
                 help="With --engine ray: the cluster to join (e.g. auto, ray://HEAD:10001); default a Ray on this machine."),
)


def _engine_options(command):
    for option in reversed(_ENGINE_OPTIONS):
        command = option(command)
    return command


def _engine(kind: str, address: str | None):
    """The :class:`~worldmodel.datasets.Engine` of ``--engine``/``--address``; a usage error (exit 2) if unusable."""
    from worldmodel.datasets import Engine, EngineError

    try:
        return Engine(kind, address)
    except EngineError as error:
        raise click.UsageError(f"--engine {kind}: {error}") from None


def _sigterm_unwinds():
    """Make SIGTERM raise ``SystemExit(143)`` and SIGINT ``KeyboardInterrupt``, so that
    ``finally`` blocks keep what is finished, and record each as a stop request
    (``inference.request_stop``), which ends a running search at its next budget check
    even when the exception was raised inside a finalizer and dropped; returns the
    function that puts the old handlers back. Call :func:`_raise_if_stopped` between
    units of work."""
    import signal

    from worldmodel.inference import clear_stop, request_stop

    def terminate(signum, frame):
        request_stop(signum)
        raise SystemExit(128 + signum)

    def interrupt(signum, frame):
        request_stop(signum)
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, handler)
                    for sig, handler in ((signal.SIGTERM, terminate), (signal.SIGINT, interrupt))}
    except ValueError:  # not the main thread (e.g. under a test runner): leave it
        return lambda: None

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        clear_stop()

    return restore


def _raise_if_stopped() -> None:
    """Raise what a signal's handler raised, if a finalizer dropped it (see :func:`_sigterm_unwinds`)."""
    import signal

    from worldmodel.inference import stop_requested

    signum = stop_requested()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    if signum is not None:
        raise SystemExit(128 + signum)


def _task_file(path: str, domain) -> tuple[list, list]:
    """The good tasks of a task file and its bad lines; exit 2 if it holds no line at all."""
    from worldmodel.datasets import read_tasks

    result = read_tasks(path, domain)
    if not result.tasks and not result.errors:
        raise click.UsageError(f"{path}: no tasks (the file is empty); a task file holds one JSON task per line")
    return result.tasks, result.errors


_DOMAIN_OPTION = click.option(
    "--domain", "domain_name", default=None,
    help="The DSL, a key of worldmodel.datasets.DOMAINS (default: the one the task file or dataset names, "
    "else deepcoder).",
)


def _domain(name: str | None, *, tasks: str | None = None, data: str | None = None):
    """The domain ``--domain`` names; without it, the one the task file ``tasks`` (or the
    dataset ``data``) names; else deepcoder. Exit 2 for an unknown name or one the file
    contradicts."""
    from worldmodel.datasets import (
        DEFAULT_DOMAIN,
        DOMAINS,
        DatasetError,
        read_manifest,
        task_file_domain,
    )

    named, source = None, tasks or data
    try:
        if tasks is not None:
            named = task_file_domain(tasks)
        elif data is not None:
            named = read_manifest(data).get("domain")
    except (OSError, DatasetError):
        named = None  # the command's own reader reports what is wrong with the file
    chosen = name or named or DEFAULT_DOMAIN
    if chosen not in DOMAINS:
        raise click.BadParameter(f"unknown domain {chosen!r}; choose from {sorted(DOMAINS)}", param_hint="--domain")
    if name is not None and named is not None and name != named:
        raise click.BadParameter(f"{source} is of domain {named!r}, not {name!r}; leave --domain out or give "
                                 f"--domain {named}", param_hint="--domain")
    return DOMAINS[chosen]


# Options that solve and bench share, defined once so the two cannot drift apart.
_MODEL_OPTION = click.option(
    "--model",
    default="shipped",
    show_default=True,
    help="World model for the learned methods: 'shipped' (the packaged checkpoint), "
    "'heuristic' (hand-written scorer, no learning), or a checkpoint path.",
)


_SEED_OPTION = click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**62),
    default=0,
    show_default=True,
    help="Task i is solved with seed SEED + i.",
)


class _CountList(click.ParamType):
    """Comma-separated positive call budgets, e.g. ``1e2,1e3,1e4``."""

    name = "counts"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        counts = tuple(
            _CALLS.convert(v.strip(), param, ctx) for v in str(value).split(",") if v.strip()
        )
        if not counts:
            self.fail(
                f"{value!r}: give positive budgets separated by commas, e.g. 1e2,1e3", param, ctx
            )
        return counts


class _MethodChoice(click.Choice):
    """A choice of :data:`worldmodel.inference.METHODS`, read when first needed, so that
    ``worldmodel --help`` does not import the search stack (torch, Pyro)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from worldmodel.inference import METHODS

        return tuple(sorted(METHODS))

    @choices.setter
    def choices(self, _: object) -> None:  # click.Choice.__init__ assigns it; the registry is the source
        pass


_METHOD = _MethodChoice()


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated ints like 3,4,5, got {text!r}") from None
    return values


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)
