"""The ``worldmodel`` command line: a thin wrapper over the library functions."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worldmodel")
def main() -> None:
    """Learn world models of programs and use them to find programs from examples."""


@main.command()
@click.option("--domain", "domain_name", default="deepcoder", show_default=True, help="DSL to measure.")
@click.option("--programs", default=2000, show_default=True, help="Distinct random programs.")
@click.option("--repeats", default=20, show_default=True, help="Timed passes over them.")
@click.option("--seed", default=0, show_default=True)
def speed(domain_name: str, programs: int, repeats: int, seed: int) -> None:
    """Measure interpreter throughput (statements per second, one core)."""
    from worldmodel.datasets import DOMAINS, interpreter_throughput

    if domain_name not in DOMAINS:
        raise click.BadParameter(f"unknown domain {domain_name!r}; choose from {sorted(DOMAINS)}", param_hint="--domain")
    result = interpreter_throughput(DOMAINS[domain_name], programs=programs, repeats=repeats, seed=seed)
    click.echo(f"programs: {result.programs} (mean length {result.mean_length:.2f})")
    click.echo(f"statements/s through run() (validation included): {result.run_statements_per_second:,.0f}")
    click.echo(f"statements/s applied to validated values:         {result.statements_per_second:,.0f}")
