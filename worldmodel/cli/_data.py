"""Commands on data: ``generate`` (Φ), ``tasks`` (task files from Φ), ``speed`` (interpreter throughput)."""

from __future__ import annotations

import click

from ._base import (
    _CALLS,
    _WORKERS,
    _engine,
    _engine_options,
    _fail,
    _lengths,
    _Number,
    _task_file,
    main,
)


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
