"""The ``worldmodel`` command line: a thin wrapper over the library functions."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worldmodel")
def main() -> None:
    """Learn world models of programs and use them to find programs from examples."""


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
@click.option("--examples", type=int, default=5, show_default=True, help="Input/output examples per record.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: the output bytes depend on it, not on --workers.")
@click.option("--splits", default="train=0.9,valid=0.05,test=0.05", show_default=True, help="Split names and fractions.")
@click.option("--shard-size", type=int, default=10000, show_default=True, help="Records per shard file.")
@click.option("--probes", type=int, default=16, show_default=True, help="Probe inputs per signature for behaviour dedup.")
@click.option("--workers", type=int, default=1, show_default=True, help="Processes (does not change the output).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Dataset directory.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(domain, count, min_length, max_length, examples, seed, splits, shard_size, probes, workers, out, quiet):
    """Generate a dataset Φ of programs with examples into OUT (sharded JSONL + manifest.json).

    Deterministic for the parameters whatever --workers; rerunning the same command
    after an interruption finishes the job with the same bytes; rerunning with other
    parameters into the same OUT fails. Write task files from it with `worldmodel tasks`.
    """
    from worldmodel.datasets import DatasetError, GenerateConfig, parse_splits
    from worldmodel.datasets import generate as run_generate

    try:
        config = GenerateConfig(
            count=count, domain=domain, min_length=min_length, max_length=max_length, examples=examples,
            seed=seed, splits=parse_splits(splits), shard_size=shard_size, probes=probes,
        )
        result = run_generate(config, out, workers=workers, progress=not quiet)
    except DatasetError as error:
        raise click.ClickException(str(error)) from None
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
@click.option("--per-length", type=int, default=100, show_default=True, help="Tasks of each length.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Task file (JSONL) to write.")
def tasks(directory, split, lengths, per_length, out):
    """Write a task file from DIRECTORY (a `generate` dataset): the first PER_LENGTH
    records of each length of SPLIT, in dataset order, with their programs and lengths.

    Example: worldmodel tasks data/phi --split test --lengths 3,4,5 --per-length 100 --out heldout.jsonl
    """
    from worldmodel.datasets import (
        DOMAINS,
        DatasetError,
        deepcoder,
        read_manifest,
        select_tasks,
        write_tasks,
    )

    try:
        picked = select_tasks(directory, split, lengths=_lengths(lengths), per_length=per_length)
        domain = DOMAINS.get(read_manifest(directory)["domain"], deepcoder)
        write_tasks(out, picked, domain)
    except DatasetError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{out}: {len(picked)} tasks")
