"""Loading models and dynamics heads for commands, reading programs and values from options, the out-of-distribution warning."""

from __future__ import annotations

import click

from ._base import _fail, _task_file


def _ask(task, program, dynamics, count: int, seed: int, domain) -> dict:
    """The rival programs near ``program`` that also fit ``task`` and the inputs that split them."""
    from worldmodel.inference import alternative_programs, distinguish

    rivals = alternative_programs(task, program, domain=domain)
    if not rivals:
        return {"candidates": [domain.format(program)], "questions": []}
    candidates = [program, *rivals]
    questions = distinguish(task, candidates, domain=domain, dynamics=dynamics, count=count, seed=seed)
    return {"candidates": [domain.format(p) for p in candidates], "questions": _questions_json(questions)}


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


def _questions_json(questions) -> list[dict]:
    return [{"input": list(q.inputs), "outputs": list(q.outputs), "groups": q.groups, "split_bits": q.split}
            for q in questions]


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
