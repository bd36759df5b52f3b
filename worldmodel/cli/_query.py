"""``worldmodel query``: forward, reverse, energy, policy, similarity and distinguish."""

from __future__ import annotations

import math

import click

from ._base import _DOMAIN_OPTION, _domain, _fail, _Group, main
from ._models import (
    _DYNAMICS_OPTION,
    _QUERY_MODEL_OPTION,
    _check_program_fits,
    _end_query,
    _fitting_tasks,
    _json_value,
    _load_dynamics,
    _load_query_model,
    _program,
    _query_tasks,
    _questions_json,
    _warn_ood,
)


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


def _task_query(tasks_path, program_text, model_path, dynamics_path, domain_name, *, verb: str):
    """What every task-file verb starts from: the model, PROGRAM parsed in its domain, the
    tasks PROGRAM fits (each with its OOD flag) and the malformed lines.

    ``energy`` and ``similarity`` are refused on a generative domain: their heads
    compare a program's outputs with the examples' outputs, which a generative task
    has not."""
    model = _load_query_model(model_path, dynamics_path, _domain(domain_name, tasks=tasks_path))
    if verb in ("energy", "similarity") and model.domain.generative is not None:
        _fail(f"query {verb}: domain {model.domain.name!r} has generative tasks (observations, no outputs), and the "
              f"{verb} head learns from input/output tasks; score a program on them by its exact log-likelihood "
              f"with `worldmodel solve`")
    program = _program(program_text, model.domain)
    if verb == "policy" and model.policy is None:
        _fail(f"--model {model_path}: the checkpoint has no policy (train one with --policy)")
    fitting, errors = _fitting_tasks(tasks_path, program, model)
    return model, program, fitting, errors


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

    model, program, fitting, errors = _task_query(tasks_path, program_text, model_path, dynamics_path, domain_name,
                                                  verb="energy")
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

    model, program, fitting, errors = _task_query(tasks_path, program_text, model_path, dynamics_path, domain_name,
                                                  verb="policy")
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

    model, program, fitting, errors = _task_query(tasks_path, program_text, model_path, dynamics_path, domain_name,
                                                  verb="similarity")
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
