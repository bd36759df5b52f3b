"""Commands that search: ``solve``, ``bench`` and ``learn``."""

from __future__ import annotations

import click

from ._base import (
    _CALLS,
    _DOMAIN_OPTION,
    _METHOD,
    _MODEL_OPTION,
    _SECONDS,
    _SEED_OPTION,
    _WORKERS,
    _CountList,
    _domain,
    _engine,
    _engine_options,
    _raise_if_stopped,
    _sigterm_unwinds,
    main,
)
from ._models import _ask, _warn_ood


@main.command()
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--method",
    type=_METHOD,
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
    from worldmodel.inference import MODEL_FREE_METHODS, Budget, load_scorer, solve_tasks

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
    dynamics = getattr(loaded, "dynamics", None)
    skilled = domain.with_skills(loaded.skills) if getattr(loaded, "skills", ()) else domain
    solved_calls, malformed, total, solved = [], 0, 0, 0
    start = time.perf_counter()

    # Each result line is on disk (OUT.partial) once its task is done; however the loop
    # ends, a signal included, the file is renamed OUT.
    sink = LineWriter(out) if out is not None else None
    restore = _sigterm_unwinds()
    try:
        for item in solve_tasks(_warned(itertools.chain([first], items), loaded), loaded, method, budget=budget,
                                domain=domain, seed=seed):
            if isinstance(item, TaskFileError):
                click.echo(str(item), err=True)
                malformed += 1
                continue
            _raise_if_stopped()
            result = item.result
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
                record.update(_ask(item.task, base, dynamics, ask, seed + item.index, domain))
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


def _warned(items, model):
    """``items``, each task warned about on stderr when it is drawn if its spec lies
    outside the model's training distribution (see :func:`_warn_ood`)."""
    from worldmodel.datasets import Task

    # solve_tasks draws a task just before it searches it, so the warning comes first.
    for item in items:
        if isinstance(item, Task):
            _warn_ood(model, [item])
        yield item


@main.command()
@click.argument("tasks", type=click.Path(exists=True, dir_okay=False))
@click.option("--rounds", type=click.IntRange(min=1, max=1000), default=3, show_default=True, help="Wake/replay rounds.")
@click.option("--calls", type=_CALLS, default=10_000, show_default=True, help="Simulator calls per task and round.")
@click.option("--capacity", type=click.IntRange(min=1, max=1000), default=5, show_default=True,
              help="Programs remembered per task (M).")
@click.option("--method", type=_METHOD, default="guided", show_default=True, help="The search method of the wake phase.")
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
@click.option("--workers", type=_WORKERS, default=None,
              help="Searches of a round at once: processes, or Ray tasks (default: with --engine local 1, in this "
              "process; with --engine ray all cores). The results are the same.")
@_engine_options
def learn(tasks, rounds, calls, capacity, method, skills, replay_epochs, replay_lr, fantasies, out, domain_name, model,
          seed, progress, workers, engine_kind, address):
    """Learn from TASKS (a task file; any program field is ignored) by Memoised Wake-Sleep.

    Each round searches every task with the current model, remembers the best verified
    programs of each, grows a skill library from them (the model's vocabulary grows with
    it, and guided search calls the skills), and trains the primitive head on draws from
    the memories. `worldmodel solve --model OUT/round-R/model` uses the skills. Rounds
    are saved atomically in OUT; after a kill, the same command resumes (with any
    --engine and --workers: they change the speed, not the files). Exit code 2 for a
    usage error (an empty task file, an OUT of another config), 1 if a line was
    malformed (it is skipped).
    """
    import json
    import os

    from worldmodel import CheckpointError
    from worldmodel.datasets import read_tasks
    from worldmodel.inference import LearnConfig, load_scorer
    from worldmodel.inference import learn as learn_tasks

    domain = _domain(domain_name, tasks=tasks)
    engine = _engine(engine_kind, address)
    if workers is None:
        workers = 1 if engine.kind == "local" else os.cpu_count() or 1
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
        # One local worker is this process: the searches run as they did before there were engines.
        on = engine if workers > 1 or engine.kind != "local" else None
        summaries = learn_tasks(found.tasks, loaded, domain, config=config, out=out, progress=progress, engine=on,
                                workers=workers)
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
        try:
            _METHOD.convert(name, None, None)
        except click.BadParameter as error:
            raise click.BadParameter(error.message, param_hint="--methods") from None
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
