"""The ``worldmodel`` command line: a thin wrapper over the library functions.

Exit codes, for every command: 0 all good; 1 some task lines were bad (each reported
on stderr as ``FILE:LINE: reason`` and skipped, the rest done); 2 a usage error (a bad
option value, an empty task file, an output that would overwrite an input or an
existing file without ``--force``, a corrupt checkpoint), reported with what to fix.
"""

from __future__ import annotations

import math

import click

__all__ = ["main"]


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


@main.command()
@click.option("--domain", "domain_name", default="deepcoder", show_default=True, help="DSL to measure.")
@click.option("--programs", type=_Number("a number of programs", high=10**7), default=2000, show_default=True,
              help="Distinct random programs.")
@click.option("--repeats", type=_Number("a number of passes", high=10**6), default=20, show_default=True,
              help="Timed passes over them.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tasks", "tasks_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Also time enumeration on these tasks (one core).")
@click.option("--calls", "enumeration_calls", type=_CALLS, default=1_000_000, show_default=True,
              help="Enumeration budget per task (1e6 works).")
@click.option("--limit", type=_Number("a number of tasks", high=10**9), default=20, show_default=True,
              help="Enumerate at most this many tasks.")
def speed(domain_name: str, programs: int, repeats: int, seed: int, tasks_path: str | None,
          enumeration_calls: int, limit: int) -> None:
    """Measure interpreter (and, with --tasks, enumeration) throughput on one core.

    Exit code: 0 if every task line was good, 1 if any was malformed (reported on
    stderr as FILE:LINE: reason and skipped), 2 for a usage error (an empty file too).
    """
    from worldmodel.datasets import DOMAINS, interpreter_throughput

    if domain_name not in DOMAINS:
        raise click.BadParameter(f"unknown domain {domain_name!r}; choose from {sorted(DOMAINS)}", param_hint="--domain")
    domain = DOMAINS[domain_name]
    if tasks_path is not None:  # a bad task file is found before the timing, not after
        tasks, errors = _task_file(tasks_path, domain)
    result = interpreter_throughput(domain, programs=programs, repeats=repeats, seed=seed)
    click.echo(f"programs: {result.programs} (mean length {result.mean_length:.2f})")
    click.echo(f"statements/s through run() (validation included): {result.run_statements_per_second:,.0f}")
    click.echo(f"statements/s applied to validated values:         {result.statements_per_second:,.0f}")
    if tasks_path is None:
        return
    from worldmodel.inference import Budget, Simulator, enumerate_program

    for error in errors:
        click.echo(str(error), err=True)
    tasks = tasks[:limit]
    applications = calls = values = 0
    seconds = 0.0
    for task in tasks:
        simulator = Simulator(task, domain, Budget(calls=enumeration_calls, seconds=None))
        run = enumerate_program(task, simulator)
        applications, calls, values, seconds = (
            applications + run.applications, calls + run.calls, values + run.values, seconds + run.seconds
        )
    seconds = max(seconds, 1e-9)  # a file of tasks solved at once still gives rates
    click.echo(f"enumeration on {len(tasks)} tasks, budget {enumeration_calls:,} calls each, {seconds:.1f} s:")
    click.echo(f"  candidates evaluated/s (primitive applications on all examples): {applications / seconds:,.0f}")
    click.echo(f"  simulator calls/s (statements on one example):                   {calls / seconds:,.0f}")
    click.echo(f"  new distinct values/s:                                           {values / seconds:,.0f}")
    if errors:
        click.echo(f"{len(errors)} malformed line(s) skipped (exit code 1)", err=True)
        raise SystemExit(1)


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


def _check_method(method: str) -> None:
    from worldmodel.inference import METHODS

    if method not in METHODS:
        raise click.BadParameter(
            f"unknown method {method!r}; valid choices: {', '.join(sorted(METHODS))}"
        )


@main.command()
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--method",
    default="guided",
    show_default=True,
    help="A search method (see worldmodel.inference.METHODS); guided: enumeration steered by the model.",
)
@click.option(
    "--calls",
    type=_CALLS,
    default=100_000,
    show_default=True,
    help="Simulator-call budget per task (1e5 works).",
)
@click.option(
    "--seconds",
    type=_SECONDS,
    default=60.0,
    show_default=True,
    help="Wall-clock limit per task.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one JSON line per task here, each as it finishes (into OUT.partial, "
    "renamed OUT when the run ends or is interrupted).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--ask", type=click.IntRange(min=0, max=1000), default=0, show_default=True,
              help="For a solved task that other programs near the answer also fit, report up to ASK "
              "inputs on which they disagree (the questions that would settle it).")
@click.option("--expand", is_flag=True,
              help="Print each program in base primitives (a model that learned skills prints calls of them).")
@click.option("--format", "output_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="stdout: a line of text per task, or its JSON record (as --out writes; the summary then goes "
              "to stderr).")
@_DOMAIN_OPTION
@_MODEL_OPTION
@_SEED_OPTION
def solve(tasks, method, calls, seconds, out, force, ask, expand, output_format, domain_name, model, seed):
    """Find a program for every task of TASKS (a task file, one JSON object per line).

    Malformed lines are reported on stderr as FILE:LINE: reason and skipped; the good
    lines are still solved. Exit code: 0 if every line was good, 1 if any line was
    malformed, 2 for a usage error (an empty file, or an --out that is TASKS or exists
    without --force); 130 / 143 when stopped by Ctrl-C / SIGTERM, with every finished
    result in OUT. After a SIGKILL they are in OUT.partial, which no run overwrites
    without --force.
    """
    import itertools
    import json
    import statistics
    import time

    from worldmodel import CheckpointError
    from worldmodel.datasets import LineWriter, OutputError, TaskFileError, check_output, iter_tasks
    from worldmodel.inference import MODEL_FREE_METHODS, Budget, load_scorer
    from worldmodel.inference import solve as solve_task

    _check_method(method)
    domain = _domain(domain_name, tasks=tasks)
    if out is not None:
        try:
            check_output(out, inputs=[tasks], force=force)
        except OutputError as error:
            raise click.UsageError(str(error)) from None
    items = iter_tasks(tasks, domain)
    first = next(items, None)
    if first is None:
        raise click.UsageError(f"{tasks}: no tasks (the file is empty); a task file holds one JSON task per line")
    if method in MODEL_FREE_METHODS:
        if model not in (None, "shipped"):
            click.echo(f"note: {method} uses no model; --model ignored", err=True)
        loaded = None
    else:
        try:
            loaded = load_scorer(model, domain=domain.name)
        except CheckpointError as error:
            raise click.BadParameter(str(error), param_hint="--model") from None
        if loaded is not None and loaded.domain.name != domain.name:
            raise click.BadParameter(
                f"the model is for domain {loaded.domain.name!r}, the tasks for {domain.name!r}: give a model "
                f"trained on {domain.name} (worldmodel train on a `generate --domain {domain.name}` dataset) "
                "or --method enumerate", param_hint="--model")
    budget = Budget(calls=calls, seconds=seconds)
    skilled = domain.with_skills(loaded.skills) if getattr(loaded, "skills", ()) else domain
    solved_calls, malformed, total, solved = [], 0, 0, 0
    start = time.perf_counter()

    # Each result line is on disk (OUT.partial) once its task is done; however the loop
    # ends, a signal included, the file is renamed OUT.
    sink = LineWriter(out) if out is not None else None
    restore = _sigterm_unwinds()
    try:
        for index, item in enumerate(itertools.chain([first], items)):
            if isinstance(item, TaskFileError):
                click.echo(str(item), err=True)
                malformed += 1
                continue
            dynamics = getattr(loaded, "dynamics", None)
            if dynamics is not None and dynamics.density.calibrated:
                _warn_ood(loaded, [item])
            result = solve_task(
                item, loaded, method, budget=budget, domain=domain, seed=seed + index
            )
            _raise_if_stopped()
            total += 1
            solved += result.verified
            if result.verified:
                solved_calls.append(result.calls)
            base = skilled.expand(result.program) if result.program is not None else None
            text = skilled.format(base if expand else result.program) if result.program is not None else None
            record = {
                "id": result.task_id,
                "method": method,
                "program": text,
                "verified": result.verified,
                "calls": result.calls,
                "seconds": round(result.seconds, 6),
            }
            if base is not None and base != result.program and not expand:
                record["expanded"] = skilled.format(base)
            if result.log_likelihood is not None:  # a generative task: the regex and its exact score
                record["regex"] = skilled.generative.describe(skilled.run(base, [[] for _ in base.input_types]))
                record["log_likelihood"] = result.log_likelihood
            if ask and result.verified:
                record.update(_ask(item, base, dynamics, ask, seed + index, domain))
            if sink is not None:
                sink.write(json.dumps(record))
            if output_format == "jsonl":
                click.echo(json.dumps(record))
                continue
            status = (
                f"solved in {result.calls} calls"
                if result.verified
                else f"not solved ({result.calls} calls)"
            )
            click.echo(
                f"{result.task_id}: {status}, {result.seconds:.3f} s"
                + (f": {text}" if result.verified else "")
                + (f"  [{record['regex']}, log-likelihood {result.log_likelihood:.2f}]" if "regex" in record else "")
            )
            for question in record.get("questions", []):
                click.echo(f"  ask: input {json.dumps(question['input'])} -> answers {json.dumps(question['outputs'])}")
    except (KeyboardInterrupt, SystemExit) as stop:
        if sink is not None:  # closed first: it counts the lines that reached the file
            sink.close()
        kept = f"; {sink.lines} finished result(s) kept in {out}" if sink is not None else ""
        click.echo(f"stopped after {total} task(s){kept}", err=True)
        raise SystemExit(130 if isinstance(stop, KeyboardInterrupt) else stop.code) from None
    finally:
        restore()
        if sink is not None:
            sink.close()
    median = f"{statistics.median(solved_calls):g}" if solved_calls else "-"
    rate = f" ({solved / total:.1%})" if total else ""
    click.echo(
        f"solved {solved}/{total}{rate}; median calls on solved: {median}; "
        f"{time.perf_counter() - start:.1f} s; method {method}, budget {calls} calls / {seconds} s",
        err=output_format == "jsonl",
    )
    if malformed:
        click.echo(f"{malformed} malformed line(s) skipped (exit code 1)", err=True)
        raise SystemExit(1)


@main.command()
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option("--rounds", type=click.IntRange(min=1, max=1000), default=3, show_default=True, help="Wake/replay rounds.")
@click.option("--calls", type=_CALLS, default=10_000, show_default=True, help="Simulator calls per task and round.")
@click.option("--capacity", type=click.IntRange(min=1, max=1000), default=5, show_default=True,
              help="Programs remembered per task (M).")
@click.option("--method", default="guided", show_default=True, help="The search method of the wake phase.")
@click.option("--skills", type=click.IntRange(min=0, max=1000), default=10, show_default=True,
              help="Most new skills a round adds to the library (0: no library).")
@click.option("--replay-epochs", type=click.IntRange(min=1, max=1000), default=4, show_default=True,
              help="Epochs of the primitive head on the memory draws, each round.")
@click.option("--replay-lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True,
              help="Learning rate of the replay.")
@click.option("--fantasies", type=click.IntRange(min=0, max=10**6), default=2000, show_default=True,
              help="Tasks drawn from the generative model (the domain with its skills) to replay each round.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder of the rounds' models and memories; a rerun resumes from it.")
@_DOMAIN_OPTION
@_MODEL_OPTION
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=0, show_default=True)
@click.option("--progress/--no-progress", default=True, show_default=True)
def learn(tasks, rounds, calls, capacity, method, skills, replay_epochs, replay_lr, fantasies, out, domain_name, model,
          seed, progress):
    """Learn from TASKS (a task file; any program field is ignored) by Memoised Wake-Sleep.

    Each round searches every task with the current model, remembers the best verified
    programs of each, grows a skill library from them (the model's vocabulary grows with
    it, and guided search calls the skills), and trains the primitive head on draws from
    the memories. `worldmodel solve --model OUT/round-R/model` uses the skills. Rounds
    are saved atomically in OUT; after a kill, the same command resumes. Exit code 2 for
    a usage error (an empty task file, an OUT of another config), 1 if a line was
    malformed (it is skipped).
    """
    import json

    from worldmodel import CheckpointError
    from worldmodel.datasets import read_tasks
    from worldmodel.inference import LearnConfig, load_scorer
    from worldmodel.inference import learn as learn_tasks

    _check_method(method)
    domain = _domain(domain_name, tasks=tasks)
    found = read_tasks(tasks, domain)
    for error in found.errors:
        click.echo(str(error), err=True)
    if not found.tasks:
        raise click.UsageError(f"{tasks}: no good tasks; a task file holds one JSON task per line")
    try:
        loaded = load_scorer(model, domain=domain.name)
    except CheckpointError as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    if loaded is None:
        raise click.BadParameter("learn trains a world model: give 'shipped' or a checkpoint", param_hint="--model")
    if loaded.domain.name != domain.name:
        raise click.BadParameter(f"the model is for domain {loaded.domain.name!r}, the tasks for {domain.name!r}",
                                 param_hint="--model")
    config = LearnConfig(rounds=rounds, calls=calls, capacity=capacity, method=method, skills=skills,
                         replay_epochs=replay_epochs, replay_lr=replay_lr, fantasies=fantasies, seed=seed)
    try:
        summaries = learn_tasks(found.tasks, loaded, domain, config=config, out=out, progress=progress)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    for summary in summaries:
        click.echo(json.dumps(summary))
    if found.errors:
        raise SystemExit(1)


@main.command()
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--methods", default="enumerate", show_default=True, help="Comma-separated search methods."
)
@click.option(
    "--calls",
    "budgets",
    type=_CountList(),
    default="1e2,1e3,1e4,1e5",
    show_default=True,
    help="Comma-separated call budgets.",
)
@click.option(
    "--seconds",
    type=_SECONDS,
    default=None,
    help="Wall-clock limit per run (default: none, calls only).",
)
@click.option("--workers", type=_WORKERS, default=None, help="Processes, or Ray tasks at once (default: all cores).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="bench",
    show_default=True,
    help="Output folder (resumable).",
)
@_MODEL_OPTION
@_SEED_OPTION
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show a progress bar on stderr.",
)
@_DOMAIN_OPTION
@_engine_options
def bench(tasks, methods, budgets, seconds, workers, out, model, seed, progress, domain_name, engine_kind, address):
    """Solve rate against the calls budget for each method on TASKS; writes OUT/bench.json,
    OUT/bench.png and OUT/results.jsonl.

    Rerunning the same command resumes: finished (method, task, budget) results in
    OUT/results.jsonl are kept. Exit code: 0 if every task line was good, 1 if any
    was malformed (reported on stderr and skipped), 2 for a usage error.
    """
    from worldmodel import CheckpointError
    from worldmodel.inference import BenchConfig, format_table, run_bench

    names = tuple(m.strip() for m in methods.split(",") if m.strip())
    for name in names:
        _check_method(name)
    domain = _domain(domain_name, tasks=tasks).name
    engine = _engine(engine_kind, address)
    try:
        config = BenchConfig(
            methods=names, budgets=budgets, seconds=seconds, workers=workers, model=model, seed=seed, domain=domain,
            engine=engine,
        )
        # The command as it ran, defaults spelled out, so that it repeats exactly.
        command = ["worldmodel", "bench", tasks, "--methods", ",".join(names)]
        command += ["--calls", ",".join(map(str, budgets))]
        for flag, value in (("--seconds", seconds), ("--workers", workers), ("--model", model)):
            command += [flag, str(value)] if value is not None else []
        command += ["--out", out, "--seed", str(seed)] + (["--domain", domain] if domain != "deepcoder" else [])
        command += ["--engine", engine_kind] if engine_kind != "local" else []
        command += ["--address", address] if address is not None else []
        report = run_bench(tasks, out, config=config, command=command, progress=progress)
    except CheckpointError as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    for error in report.errors:
        click.echo(str(error), err=True)
    click.echo(format_table(report.rows))
    speed = ", ".join(f"{m} {v:,.0f}" for m, v in report.calls_per_second.items() if v is not None)
    if speed:
        click.echo(f"simulator calls per second (wall clock, runs made): {speed}")
    click.echo(
        f"{report.total} tasks; {report.ran} runs now, {report.reused} results reused; "
        f"wrote {report.table_path} and {report.figure_path}"
    )
    if report.errors:
        click.echo(f"{len(report.errors)} malformed line(s) skipped (exit code 1)", err=True)
        raise SystemExit(1)


def _ask(task, program, dynamics, count: int, seed: int, domain) -> dict:
    """The rival programs near ``program`` that also fit ``task`` and the inputs that split them."""
    from worldmodel.inference import alternative_programs, distinguish

    rivals = alternative_programs(task, program, domain=domain)
    if not rivals:
        return {"candidates": [domain.format(program)], "questions": []}
    candidates = [program, *rivals]
    questions = distinguish(task, candidates, domain=domain, dynamics=dynamics, count=count, seed=seed)
    return {"candidates": [domain.format(p) for p in candidates], "questions": _questions_json(questions)}


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated ints like 3,4,5, got {text!r}") from None
    return values


@main.command()
@click.option("--domain", default="deepcoder", show_default=True, help="Domain (DSL) to generate programs of.")
@click.option("--count", type=int, required=True, help="Records to write over all splits and lengths.")
@click.option("--min-length", type=int, default=1, show_default=True, help="Shortest program (statements).")
@click.option("--max-length", type=int, default=5, show_default=True, help="Longest program (statements).")
@click.option("--examples", type=int, default=5, show_default=True, help="Input/output examples per record (the most, with --min-examples).")
@click.option("--min-examples", type=int, default=None, help="Fewest examples per record; each record draws its count in [min, --examples].")
@click.option("--inputs", "input_names", default="domain", show_default=True,
              help="Input distributions, comma-separated (domain: the domain's own; exedec, DeepCoder's own; "
              "medium; pccoder); each record draws one.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: the output bytes depend on it, not on --workers.")
@click.option("--splits", default="train=0.9,valid=0.05,test=0.05", show_default=True, help="Split names and fractions.")
@click.option("--shard-size", type=int, default=10000, show_default=True, help="Records per shard file.")
@click.option("--probes", type=int, default=16, show_default=True, help="Probe inputs per signature for behaviour dedup.")
@click.option("--motifs", type=int, default=0, show_default=True,
              help="Chain programs from a bank of this many recurring 2-3 statement motifs (0: Φ's independent statements).")
@click.option("--motif-rate", type=float, default=0.75, show_default=True, help="With --motifs: how often a piece is a motif.")
@click.option("--workers", type=_WORKERS, default=1, show_default=True,
              help="Processes, or Ray tasks at once (does not change the output).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Dataset directory.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_engine_options
def generate(domain, count, min_length, max_length, examples, min_examples, input_names, seed, splits, shard_size, probes,
             motifs, motif_rate, workers, out, quiet, engine_kind, address):
    """Generate a dataset Φ of programs with examples into OUT (sharded JSONL + manifest.json).

    Deterministic for the parameters whatever --workers; rerunning the same command
    after an interruption finishes the job with the same bytes; rerunning with other
    parameters into the same OUT fails. Write task files from it with `worldmodel tasks`.
    """
    from worldmodel.datasets import DatasetError, GenerateConfig, parse_splits
    from worldmodel.datasets import generate as run_generate

    engine = _engine(engine_kind, address)
    try:
        config = GenerateConfig(
            count=count, domain=domain, min_length=min_length, max_length=max_length, examples=examples,
            min_examples=min_examples, inputs=tuple(n.strip() for n in input_names.split(",") if n.strip()), seed=seed, splits=parse_splits(splits), shard_size=shard_size, probes=probes,
            motifs=motifs, motif_rate=motif_rate,
        )
        result = run_generate(config, out, workers=workers, engine=engine, progress=not quiet)
    except DatasetError as error:
        _fail(str(error))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    m = result.manifest
    state = "already complete, verified" if result.already_complete else ("resumed and finished" if result.resumed else "done")
    per_split = ", ".join(f"{n}={c['total']}" for n, c in m["counts"].items())
    click.echo(f"{out}: {m['records']} records ({per_split}); {state} in {result.seconds:.1f} s")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--split", default="test", show_default=True, help="Split to take tasks from.")
@click.option("--lengths", default="3,4,5", show_default=True, help="Program lengths, comma-separated.")
@click.option("--per-length", type=click.IntRange(min=1), default=100, show_default=True, help="Tasks of each length.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Task file (JSONL) to write.")
@click.option("--not-in", "not_in", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A dataset whose behaviours to leave out (repeatable): no task behaves as one of its programs.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def tasks(directory, split, lengths, per_length, not_in, out, force):
    """Write a task file from DIRECTORY (a `generate` dataset): the first PER_LENGTH
    records of each length of SPLIT, in dataset order, with their programs and lengths.

    Example: worldmodel tasks data/phi --split test --lengths 3,4,5 --per-length 100 --out heldout.jsonl
    """
    from worldmodel.datasets import (
        DOMAINS,
        DatasetError,
        OutputError,
        check_output,
        dataset_ids,
        deepcoder,
        read_manifest,
        select_tasks,
        write_tasks,
    )

    try:
        check_output(out, inputs=[directory], force=force)
    except OutputError as error:
        raise click.UsageError(str(error)) from None
    try:
        manifest = read_manifest(directory)
        exclude = frozenset().union(*(dataset_ids(d, probes=manifest["parameters"]["probes"]) for d in not_in))
        picked = select_tasks(directory, split, lengths=_lengths(lengths), per_length=per_length, exclude=exclude)
        domain = DOMAINS.get(manifest["domain"], deepcoder)
        write_tasks(out, picked, domain)
    except DatasetError as error:
        _fail(str(error))
    click.echo(f"{out}: {len(picked)} tasks")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@main.command()
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder (DIR/<split>/*.jsonl or a generated dataset).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Run folder; rerun the same command to resume from its last checkpoint.")
@click.option("--train-split", default="train", show_default=True)
@click.option("--valid-split", default="valid", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most this many training tasks.")
@click.option("--dim", type=int, default=128, show_default=True, help="Latent width D.")
@click.option("--token-dim", type=int, default=64, show_default=True, help="Token embedding width.")
@click.option("--no-lookahead", is_flag=True, help="Leave out the one-step look-ahead execution feature.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True, help="Tasks per step.")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--hard-negatives", type=int, default=6, show_default=True)
@click.option("--batch-negatives", type=int, default=4, show_default=True)
@click.option("--chain-length", type=int, default=4, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--no-amp", is_flag=True, help="No bf16 autocast on GPU.")
@click.option("--workers", type=int, default=0, show_default=True, help="Data worker processes.")
@click.option("--threads", type=_THREADS, default=None, help="torch CPU threads in the main process (default: torch's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=int, default=500, show_default=True, help="Steps between checkpoints.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps in total.")
@click.option("--time-limit", type=float, default=None, help="Stop (checkpointed, model exported) after this many minutes.")
@click.option("--valid-limit", type=int, default=256, show_default=True, help="Held-out tasks evaluated each epoch.")
@click.option("--policy", is_flag=True, help="Also train the flow policy over edits (model.policy).")
@click.option("--policy-weight", type=float, default=1.0, show_default=True, help="Weight of the policy loss.")
@click.option("--primitive-weight", type=float, default=1.0, show_default=True, help="Weight of the primitive head's loss.")
@click.option("--spec-batch-size", type=int, default=None,
              help="Tasks per step for the spec-only primitive head (>= --batch-size; it sets the epoch).")
@click.option("--dynamics", is_flag=True, help="Also train a dynamics head (neural ODE: forward/reverse queries).")
@click.option("--dynamics-dim", type=int, default=64, show_default=True, help="Slot latent width of a new dynamics head.")
@click.option("--dynamics-layers", type=int, default=1, show_default=True, help="Blocks in the dynamics vector field.")
@click.option("--dynamics-transition", type=click.Choice(["ode", "residual"]), default="ode", show_default=True,
              help="ode: integrate each statement; residual: one step h + F(h) (the ablation).")
@click.option("--latent", is_flag=True, help="Also train a program latent space (autoencoder, q(z|x,y), E(x,y,z)).")
@click.option("--latent-dim", type=int, default=32, show_default=True, help="Width of a new latent space's z.")
@click.option("--init", "init_path", type=click.Path(), default=None,
              help="Start from this checkpoint's weights (its sizes replace --dim/--token-dim/--no-lookahead).")
@click.option("--primitive-width", type=int, default=None,
              help="Hidden width of the primitive head (default 2 x --dim); with --init, a new width starts that head afresh.")
@click.option("--value-width", type=int, default=None,
              help="Give the model a value head of this hidden width (which values lie on the way to the target).")
@click.option("--only", default=None,
              help="Train only this loss term's head (primitives, values, dynamics or latent); every other weight stays.")
@click.option("--reuse-batches", is_flag=True,
              help="Featurise the first epoch once and replay its batches on the device (spec-only terms, e.g. --only primitives).")
@click.option("--lr-by-time", is_flag=True,
              help="Run the cosine decay over --time-limit rather than over --epochs (it ends when the time does).")
@click.option("--accumulate", type=click.IntRange(min=1, max=10**5), default=1, show_default=True,
              help="Micro-batches (of --batch-size tasks) per step; under torchrun the processes share them.")
@_DOMAIN_OPTION
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(data, out, train_split, valid_split, limit, dim, token_dim, no_lookahead, epochs, batch_size, lr, hard_negatives,
          batch_negatives, chain_length, device, no_amp, workers, threads, seed, checkpoint_every, max_steps,
          time_limit, valid_limit, policy, policy_weight, primitive_weight, spec_batch_size, dynamics,
          dynamics_dim, dynamics_layers, dynamics_transition, latent, latent_dim, init_path, primitive_width, value_width, only,
          reuse_batches, lr_by_time, accumulate, domain_name, quiet):
    """Train a world model on DATA; writes OUT/model.safetensors + OUT/model.json.

    Under `torchrun --nproc-per-node N` the N processes share each step's
    --accumulate micro-batches and all-reduce the gradients (NCCL on GPUs, gloo on
    CPUs); rank 0 writes OUT and logs. Rerunning resumes with any number of processes.
    """
    import torch

    from worldmodel import (
        CheckpointError,
        ConfigError,
        DataParallel,
        DynamicsConfig,
        LatentConfig,
        ModelConfig,
        TrainConfig,
        TrainingDataError,
        WorldModel,
        fit,
        load_tasks,
    )

    if threads is not None:
        torch.set_num_threads(threads)
    domain = _domain(domain_name, data=data)
    try:
        model_config = ModelConfig(dim=dim, token_dim=token_dim, lookahead=not no_lookahead, primitive_width=primitive_width,
                                   domain=domain.name)
        config = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, hard_negatives=hard_negatives, batch_negatives=batch_negatives,
            chain_length=chain_length, device=device, amp=not no_amp, workers=workers, seed=seed,
            checkpoint_every=checkpoint_every, max_steps=max_steps, valid_limit=valid_limit,
            time_limit=None if time_limit is None else 60 * time_limit,
            policy_weight=policy_weight, primitive_weight=primitive_weight, spec_batch_size=spec_batch_size,
            only=only, reuse_batches=reuse_batches, lr_by_time=lr_by_time, accumulate=accumulate,
        )
        if device.startswith("cuda") and not torch.cuda.is_available():
            _fail(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        torch.manual_seed(seed)  # the initial weights, so a run is reproducible from its command
        model = WorldModel.load(init_path) if init_path is not None else WorldModel(model_config)
        if model.domain.name != domain.name:
            _fail(f"--init {init_path}: the model is for domain {model.domain.name!r}, the data for {domain.name!r}")
        if primitive_width is not None and model.config.primitive_width != primitive_width:
            model.reset_primitive_head(width=primitive_width)
        if policy and model.policy is None:
            model.attach_policy()
        if value_width is not None and model.config.value_width != value_width:
            model.attach_value_head(width=value_width)
        if dynamics and model.dynamics is None:
            model.attach_dynamics(DynamicsConfig(dim=dynamics_dim, layers=dynamics_layers, transition=dynamics_transition))
        if latent and model.latent is None:
            model.attach_latent(LatentConfig(latent_dim=latent_dim))
        train_tasks = load_tasks(data, train_split, model.domain, limit=limit, lazy=True)
        valid_tasks = load_tasks(data, valid_split, model.domain, limit=valid_limit)
        parallel = DataParallel.from_environment(device)
        try:
            if parallel.main:
                click.echo(f"{len(train_tasks)} training tasks, {len(valid_tasks)} held-out; "
                           f"{sum(p.numel() for p in model.parameters())} parameters"
                           + (f"; {parallel.world} processes" if parallel.world > 1 else ""), err=True)
            result = fit(model, train_tasks, valid_tasks, config, out=out, progress=not quiet, parallel=parallel)
        finally:
            parallel.close()
    except (ConfigError, TrainingDataError, CheckpointError) as error:
        _fail(str(error))
    if parallel.main:
        click.echo(f"done: {result.steps} steps, {result.epochs} epochs; model at {out}/model.safetensors")


@main.command()
@click.option("--model", "model_path", type=click.Path(), required=True, help="Checkpoint (path with or without .json/.safetensors).")
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder.")
@click.option("--split", default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate at most this many tasks.")
@click.option("--neighbour-tasks", type=click.IntRange(min=0), default=None, help="Score all one-edit neighbours for only this many tasks.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=_THREADS, default=None, help="torch CPU threads (default: torch's).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="JSON file for the metrics.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def evaluate(model_path, data, split, limit, neighbour_tasks, seed, threads, out, force):
    """Held-out metrics of a model: energy ordering, solution rank, similarity vs distance."""
    import json

    import torch

    from worldmodel import CheckpointError, TrainingDataError, WorldModel, load_tasks
    from worldmodel import evaluate as run_evaluation
    from worldmodel.datasets import OutputError, atomic_write_text, check_output

    if out is not None:
        base = str(model_path).removesuffix(".json").removesuffix(".safetensors")
        try:
            check_output(out, inputs=[base + ".json", base + ".safetensors", data], force=force)
        except OutputError as error:
            raise click.UsageError(str(error)) from None
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model = WorldModel.load(model_path)
        tasks = load_tasks(data, split, model.domain, limit=limit)
    except (CheckpointError, TrainingDataError) as error:
        _fail(str(error))
    result = run_evaluation(model, tasks, seed=seed, neighbour_tasks=neighbour_tasks)
    text = json.dumps({"model": str(model_path), "data": str(data), "split": split, **result.to_dict()}, indent=2)
    click.echo(text)
    if out is not None:
        atomic_write_text(out, text + "\n")


# -- query: forward / reverse / energy / policy / similarity / distinguish -------------------

_DYNAMICS_OPTION = click.option(
    "--dynamics", "dynamics_path", default="shipped", show_default=True,
    help="Dynamics head: 'shipped' (the one inside --model's checkpoint, the packaged one by default) or a "
    "file written by save_dynamics / a checkpoint that holds one.",
)
_QUERY_MODEL_OPTION = click.option(
    "--model", "model_path", default="shipped", show_default=True,
    help="World model: 'shipped' (the packaged checkpoint) or a checkpoint path.",
)


def _json_value(text: str, option: str):
    import json

    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        _fail(f"{option}: not JSON ({getattr(error, 'msg', 'nested too deeply')}); give e.g. '[[1, 2, 3], 2]'")


def _program(text: str, domain, option: str = "--program"):
    from worldmodel.datasets import ParseError

    try:
        return domain.parse(text)
    except ParseError as error:
        _fail(f"{option}: {error}")


def _load_query_model(model_path: str, dynamics_path: str | None, domain):
    """The world model for ``domain``, with the dynamics head ``dynamics_path`` names attached."""
    from worldmodel import CheckpointError, ConfigError, WorldModel, load_dynamics

    try:
        model = WorldModel.default(domain=domain.name) if model_path == "shipped" else WorldModel.load(model_path)
        if model.domain.name != domain.name:
            _fail(f"--model {model_path}: the model is for domain {model.domain.name!r}, the tasks for {domain.name!r}")
        if dynamics_path not in (None, "shipped"):
            model.attach_dynamics(load_dynamics(dynamics_path))
    except (CheckpointError, ConfigError) as error:
        _fail(str(error))
    return model


def _load_dynamics(dynamics_path: str, domain_name: str | None):
    """A dynamics head alone (forward and reverse need nothing else): the shipped one of
    ``domain_name`` (default deepcoder), or the file ``dynamics_path``, whose domain
    ``domain_name`` must then be if given."""
    from worldmodel.datasets import DEFAULT_DOMAIN

    head = _read_dynamics(dynamics_path, domain_name or DEFAULT_DOMAIN)
    if domain_name is not None and head.domain.name != domain_name:
        _fail(f"--dynamics {dynamics_path}: the head is for domain {head.domain.name!r}, not {domain_name!r}")
    return head


def _read_dynamics(dynamics_path: str, domain_name: str):
    import os
    from importlib import resources

    from worldmodel import CheckpointError, load_dynamics, load_model

    path = dynamics_path
    if path == "shipped":
        path = os.path.join(str(resources.files("worldmodel") / "checkpoints"), domain_name)
    try:
        with open(str(path).removesuffix(".json").removesuffix(".safetensors") + ".json", "rb") as handle:
            is_model = b'"worldmodel-checkpoint"' in handle.read(1 << 20)
    except OSError as error:
        _fail(f"--dynamics {dynamics_path}: cannot read {path}.json ({error.strerror or error})")
    try:
        if is_model:
            head = load_model(path).dynamics
            if head is None:
                _fail(f"--dynamics {dynamics_path}: the checkpoint has no dynamics head (train one with --dynamics)")
            return head
        return load_dynamics(path)
    except CheckpointError as error:
        _fail(str(error))


def _warn_ood(model, tasks) -> dict:
    """Per task id, whether its spec lies outside the training distribution (warned on stderr)."""
    if getattr(model, "dynamics", None) is None or not model.dynamics.density.calibrated:
        return {}
    flags = {}
    for task, check in zip(tasks, model.spec_ood(tasks)):
        flags[task.id] = check.warn
        if check.warn:
            click.echo(
                f"warning: task {task.id}: its examples lie outside the model's training distribution "
                f"(spec score {check.score:.3g} > threshold {check.threshold:.3g}); treat the answers with care",
                err=True,
            )
    return flags


def _query_tasks(tasks_path: str, model):
    """Good tasks of a task file (bad lines reported), those the model cannot encode reported too."""
    tasks, errors = _task_file(tasks_path, model.domain)
    for error in errors:
        click.echo(str(error), err=True)
    good = []
    for task in tasks:
        try:
            model.check_task(task)
        except ValueError as error:
            click.echo(f"{tasks_path}: {error}", err=True)
            errors.append(error)
            continue
        good.append(task)
    return good, errors


def _check_program_fits(program, task, option: str = "--program") -> bool:
    if tuple(program.input_types) != tuple(task.input_types):
        click.echo(
            f"{option}: takes {[t.value for t in program.input_types]}, task {task.id!r} gives "
            f"{[t.value for t in task.input_types]}; skipped",
            err=True,
        )
        return False
    return True


def _fitting_tasks(tasks_path: str, program, model) -> tuple[list, list]:
    """``(task, ood flag)`` for each task of TASKS that ``program`` takes, and the lines
    and tasks skipped (each reported on stderr)."""
    tasks, errors = _query_tasks(tasks_path, model)
    ood = _warn_ood(model, tasks)
    fitting = []
    for task in tasks:
        if _check_program_fits(program, task):
            fitting.append((task, ood.get(task.id)))
        else:
            errors.append(task.id)
    return fitting, errors


def _end_query(errors) -> None:
    if errors:
        click.echo(f"{len(errors)} bad line(s) or task(s) skipped (exit code 1)", err=True)
        raise SystemExit(1)


@main.group(cls=_Group)
def query() -> None:
    """Ask the world model: forward / reverse conditionals, energy, policy, similarity,
    and inputs that tell candidate programs apart. Each prints JSON (one object per
    line for a task file).
    """


@query.command("forward")
@click.option("--program", "program_text", required=True, help="Program text, e.g. 'a <- [int] | b <- SORT a'.")
@click.option("--input", "input_text", required=True, help="The program's arguments as JSON, e.g. '[[3, 1, 2]]'.")
@click.option("--top-k", type=click.IntRange(min=1, max=1000), default=5, show_default=True)
@click.option("--jacobian", is_flag=True, help="Also print d E[y] / d x per input (expected output elements).")
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_forward(program_text, input_text, top_k, jacobian, dynamics_path, domain_name):
    """p(y | x, φ): the likeliest outputs of PROGRAM on INPUT, with probabilities, and the
    interpreter's exact output beside them."""
    import json
    import math

    from worldmodel import forward_query, jacobian_query
    from worldmodel.datasets import ExecutionError

    head = _load_dynamics(dynamics_path, domain_name)
    program = _program(program_text, head.domain)
    inputs = _json_value(input_text, "--input")
    if not isinstance(inputs, list):
        _fail(f"--input: give the list of the program's arguments, e.g. '[[3, 1, 2]]', got {input_text!r:.80}")
    try:
        result = forward_query(head, program, inputs, k=top_k)
    except ValueError as error:
        _fail(f"--input: {str(error).removeprefix('inputs: ')}")
    try:
        exact = {"output": head.domain.run(program, inputs)}
    except ExecutionError as error:
        exact = {"error": error.reason}
    record = {
        "program": head.domain.format(program),
        "input": inputs,
        "outputs": [{"output": r.value, "probability": math.exp(r.log_prob)} for r in result.outputs],
        "interpreter": exact,
    }
    if jacobian:
        record["jacobian"] = [j.tolist() for j in jacobian_query(head, program, inputs, wrt="value")]
    click.echo(json.dumps(record))


@query.command("reverse")
@click.option("--program", "program_text", required=True, help="Program text.")
@click.option("--output", "output_text", required=True, help="The output as JSON, e.g. '[1, 2, 3]' or '7'.")
@click.option("--top-k", type=click.IntRange(min=1, max=1000), default=10, show_default=True,
              help="Candidate inputs to decode and check.")
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_reverse(program_text, output_text, top_k, dynamics_path, domain_name):
    """p(x | y, φ): candidate inputs for OUTPUT, each checked by the interpreter; the
    confirmed ones are listed under "preimages"."""
    import json

    from worldmodel import reverse_query

    head = _load_dynamics(dynamics_path, domain_name)
    program = _program(program_text, head.domain)
    output = _json_value(output_text, "--output")
    try:
        result = reverse_query(head, program, output, k=top_k)
    except ValueError as error:
        _fail(f"--output: {str(error).removeprefix('output: ')}")
    click.echo(json.dumps({
        "program": head.domain.format(program),
        "output": output,
        "proposals": [{"input": list(p.inputs), "log_probability": p.log_prob,
                       "forward_log_probability": p.forward_log_prob, "confirmed": p.confirmed}
                      for p in result.proposals],
        "preimages": [list(x) for x in result.preimages],
    }))


@query.command("energy")
@click.argument("tasks_path", metavar="TASKS", type=click.Path(exists=True, dir_okay=False))
@click.option("--program", "program_text", required=True, help="Program text.")
@_QUERY_MODEL_OPTION
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_energy(tasks_path, program_text, model_path, dynamics_path, domain_name):
    """E(x, y, φ) of PROGRAM on each task of TASKS (lower = explains the examples better)."""
    import json

    from worldmodel.inference import verify

    model = _load_query_model(model_path, dynamics_path, _domain(domain_name, tasks=tasks_path))
    program = _program(program_text, model.domain)
    fitting, errors = _fitting_tasks(tasks_path, program, model)
    for task, ood in fitting:
        energy = float(model.energy(task, [program])[0])
        click.echo(json.dumps({"id": task.id, "energy": energy, "solves": verify(program, task, model.domain),
                               "ood": ood}))
    _end_query(errors)


@query.command("policy")
@click.argument("tasks_path", metavar="TASKS", type=click.Path(exists=True, dir_okay=False))
@click.option("--program", "program_text", required=True, help="The current program φ.")
@click.option("--top-k", type=click.IntRange(min=1, max=1000), default=5, show_default=True)
@_QUERY_MODEL_OPTION
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_policy(tasks_path, program_text, top_k, model_path, dynamics_path, domain_name):
    """p(Δφ | x, y, φ): the likeliest edits of PROGRAM on each task, with probabilities."""
    import json
    import math

    model = _load_query_model(model_path, dynamics_path, _domain(domain_name, tasks=tasks_path))
    program = _program(program_text, model.domain)
    if model.policy is None:
        _fail(f"--model {model_path}: the checkpoint has no policy (train one with --policy)")
    fitting, errors = _fitting_tasks(tasks_path, program, model)
    for task, ood in fitting:
        edits, log_probs = model.policy_distribution(task, program)
        best = log_probs.topk(min(top_k, len(edits))) if edits else None
        rows = [] if best is None else [
            {"edit": repr(edits[i]), "program": model.domain.format(model.domain.apply_edit(program, edits[i])),
             "probability": math.exp(lp)}
            for lp, i in zip(best.values.tolist(), best.indices.tolist())
        ]
        click.echo(json.dumps({"id": task.id, "edits": rows, "ood": ood}))
    _end_query(errors)


@query.command("similarity")
@click.argument("tasks_path", metavar="TASKS", type=click.Path(exists=True, dir_okay=False))
@click.option("--program", "program_text", required=True, help="Program text.")
@_QUERY_MODEL_OPTION
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_similarity(tasks_path, program_text, model_path, dynamics_path, domain_name):
    """M(y, y' | x): how near PROGRAM's outputs are to each task's target outputs (higher = nearer)."""
    import json

    from worldmodel.datasets import ExecutionError

    model = _load_query_model(model_path, dynamics_path, _domain(domain_name, tasks=tasks_path))
    program = _program(program_text, model.domain)
    fitting, errors = _fitting_tasks(tasks_path, program, model)
    for task, ood in fitting:
        outputs = []
        for example in task.examples:
            try:
                outputs.append(model.domain.run(program, list(example.inputs)))
            except ExecutionError:
                outputs.append(None)
        targets = [e.output for e in task.examples]
        score = float(model.similarity(task, [targets], [outputs])[0])
        click.echo(json.dumps({"id": task.id, "similarity": score, "outputs": outputs, "ood": ood}))
    _end_query(errors)


def _questions_json(questions) -> list[dict]:
    return [{"input": list(q.inputs), "outputs": list(q.outputs), "groups": q.groups, "split_bits": q.split}
            for q in questions]


@query.command("distinguish")
@click.argument("tasks_path", metavar="TASKS", type=click.Path(exists=True, dir_okay=False))
@click.option("--programs", "program_texts", multiple=True, required=True,
              help="A candidate program (give the option two or more times).")
@click.option("--count", type=click.IntRange(min=1, max=1000), default=3, show_default=True,
              help="Inputs to propose per task.")
@click.option("--pool", type=click.IntRange(min=1, max=10**6), default=256, show_default=True,
              help="Random and mutated inputs to try.")
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=0, show_default=True)
@_QUERY_MODEL_OPTION
@_DYNAMICS_OPTION
@_DOMAIN_OPTION
def query_distinguish(tasks_path, program_texts, count, pool, seed, model_path, dynamics_path, domain_name):
    """Inputs on which the candidate --programs disagree, for each task of TASKS, ranked by
    how evenly the answers split the candidates; every answer comes from the interpreter.
    """
    import json

    from worldmodel.inference import distinguish, verify

    if len(program_texts) < 2:
        raise click.UsageError("--programs: give at least two candidate programs (repeat the option)")
    model = _load_query_model(model_path, dynamics_path, _domain(domain_name, tasks=tasks_path))
    programs = [_program(text, model.domain, f"--programs #{i + 1}") for i, text in enumerate(program_texts)]
    tasks, errors = _query_tasks(tasks_path, model)
    ood = _warn_ood(model, tasks)
    for task in tasks:
        if not all(_check_program_fits(p, task, f"--programs #{i + 1}") for i, p in enumerate(programs)):
            errors.append(task.id)
            continue
        questions = distinguish(task, programs, domain=model.domain, dynamics=model.dynamics, count=count,
                                pool=pool, seed=seed)
        click.echo(json.dumps({
            "id": task.id,
            "fit": [verify(p, task, model.domain) for p in programs],
            "questions": _questions_json(questions),
            "ood": ood.get(task.id),
        }))
    _end_query(errors)


@main.group(cls=_Group)
def plot() -> None:
    """Pictures of the program latent space (matplotlib PNG)."""


def _latent_model(model_path: str, domain):
    """The world model ``model_path`` names (for ``domain``), which must have a latent space."""
    from worldmodel import CheckpointError
    from worldmodel.inference import load_scorer

    try:
        model = load_scorer(model_path, domain=domain.name)
    except CheckpointError as error:
        _fail(str(error))
    if model is None:
        _fail(f"--model {model_path}: the heuristic scorer has no latent space; give 'shipped' or a checkpoint")
    if model.domain.name != domain.name:
        _fail(f"--model {model_path}: the model is for domain {model.domain.name!r}, not {domain.name!r}")
    if getattr(model, "latent", None) is None:
        _fail(f"--model {model_path}: the model has no latent space (train one with worldmodel train --latent)")
    return model


@plot.command("latent")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--programs", type=click.IntRange(min=10, max=100_000), default=2000, show_default=True,
              help="Random programs (lengths 1-5) to encode.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The programs' seed.")
@_QUERY_MODEL_OPTION
@_DOMAIN_OPTION
def plot_latent(out, programs, seed, model_path, domain_name):
    """A 2-D map of program latents (their two principal axes), coloured by length and output type."""
    import json

    from worldmodel.inference import plot_latent_map

    info = plot_latent_map(_latent_model(model_path, _domain(domain_name)), out, programs=programs, seed=seed)
    click.echo(json.dumps({"out": out, **info}))


@plot.command("energy")
@click.argument("tasks_path", metavar="TASKS", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", type=click.IntRange(min=0), default=0, show_default=True, help="Which task of TASKS (0 = first).")
@click.option("--program", "program_text", default=None,
              help="A program that solves the task (default: the task's own 'program' field).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--draws", type=click.IntRange(min=1, max=100_000), default=150, show_default=True, help="NUTS draws on the path.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The chain's seed.")
@_QUERY_MODEL_OPTION
@_DOMAIN_OPTION
def plot_energy(tasks_path, index, program_text, out, draws, seed, model_path, domain_name):
    """The latent potential on a 2-D slice through a task's solution, with a NUTS path from q(z | x, y)."""
    import json

    from worldmodel.inference import plot_energy_slice, verify

    model = _latent_model(model_path, _domain(domain_name, tasks=tasks_path))
    good, errors = _task_file(tasks_path, model.domain)
    for error in errors:
        click.echo(str(error), err=True)
    if index >= len(good):
        _fail(f"--index {index}: {tasks_path} has {len(good)} good tasks")
    task = good[index]
    program = _program(program_text, model.domain) if program_text is not None else task.program
    if program is None:
        _fail(f"{tasks_path}: task {task.id!r} has no 'program' field; pass --program")
    if not verify(program, task, model.domain):
        _fail(f"--program: {model.domain.format(program)} does not reproduce the examples of task {task.id!r}")
    info = plot_energy_slice(model, task, program, out, draws=draws, seed=seed)
    click.echo(json.dumps({"out": out, "task": task.id, **info}))
