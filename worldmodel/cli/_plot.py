"""``worldmodel plot``: the program latent map and an energy slice."""

from __future__ import annotations

import click

from ._base import _DOMAIN_OPTION, _domain, _fail, _Group, _task_file, main
from ._models import _QUERY_MODEL_OPTION, _latent_model, _program


@main.group(cls=_Group)
def plot() -> None:
    """Pictures of the program latent space (matplotlib PNG)."""


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
