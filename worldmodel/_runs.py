"""Runs of programs on a task's examples, as the models' features see them.

An :data:`Environment` is one example's values of every variable; a :data:`Run` gives
a program's :data:`Environments`. During search the run is ``Simulator.environments``
(counted, cached, budgeted); in training it is :func:`interpreter_run` (the exact
interpreter, uncounted), where an invalid value is ``None`` rather than the end of the
run, since corrupted programs of the training paths still need features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from worldmodel.datasets import Domain, ExecutionError, Program, Statement, Task, apply_primitive

__all__ = [
    "Environment",
    "Environments",
    "Run",
    "interpreter_run",
    "known_environments",
    "partial_environments",
    "run_from",
]

Environment = list
"""One example's environment: every variable's value, inputs first (``[variable]``);
training runs give ``None`` for a value that is invalid (:func:`partial_environments`)."""

Environments = list[Environment]
"""A program's environments on a task's examples, one per example (``[k][variable]``)."""

Run = Callable[[Program], "Environments | None"]
"""``run(program)``: the program's :data:`Environments`, or ``None`` if it is invalid on
some example; a run may also give ``None`` for single values (:func:`interpreter_run`
does). During search it is ``Simulator.environments`` (one counter, one cache, one
budget)."""


def partial_environments(program: Program, task: Task, domain: Domain) -> Environments:
    """Every variable's value on every example, ``None`` where it is invalid.

    Unlike :func:`worldmodel.datasets.trace`, an invalid statement does not stop the
    run: its value and those that depend on it are ``None`` (corrupted programs of the
    training paths are often invalid on some inputs, and still need features).

    Returns:
        ``[k][variable]`` for each example ``k``.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task, Type
        >>> task = Task("t", (Example(([],), 0),), (Type.LIST,))
        >>> p = deepcoder.parse("a <- [int] | b <- HEAD a | c <- SUM a")
        >>> partial_environments(p, task, deepcoder)
        [[[], None, 0]]
    """
    return [run_from(list(example.inputs), program.statements, domain) for example in task.examples]


def interpreter_run(task: Task, program: Program, domain: Domain) -> Run:
    """The exact interpreter as a :data:`Run` for ``task``, uncounted: for training.

    ``program`` runs once; any other program runs from its longest common prefix with
    ``program``, on top of those environments, so featurising the edits of ``program``
    runs only what each edit changes. Invalid values are ``None`` on the examples
    where they are invalid, as in :func:`partial_environments`.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> run = interpreter_run(task, deepcoder.parse("a <- [int] | b <- SORT a"), deepcoder)
        >>> run(deepcoder.parse("a <- [int] | b <- SORT a | c <- HEAD b"))
        [[[3, 1], [1, 3], 1]]
    """
    base = partial_environments(program, task, domain)
    n, body = len(program.input_types), program.statements

    def run(other: Program) -> Environments:
        common = 0
        for a, b in zip(body, other.statements):
            if a != b:
                break
            common += 1
        return [run_from(env[: n + common], other.statements[common:], domain) for env in base]

    return run


def known_environments(task: Task, program: Program, envs: Environments | None) -> Environments:
    """``envs``, or for an invalid program (``None``) its inputs followed by ``None``
    for every statement (the inputs need no execution).

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> known_environments(task, deepcoder.parse("a <- [int] | b <- HEAD a"), None)
        [[[3, 1], None]]
    """
    if envs is not None:
        return list(envs)
    return [list(e.inputs) + [None] * len(program) for e in task.examples]


def run_from(env: list, statements: Sequence[Statement], domain: Domain) -> list:
    """``env`` extended by running ``statements`` on it; an invalid value, and each one
    computed from it, is ``None``."""
    primitives, bounds = domain.primitives, domain.bounds
    for st in statements:
        args = [env[a] for a in st.args]
        if any(a is None for a in args):
            env.append(None)
            continue
        try:
            env.append(apply_primitive(primitives[st.primitive], args, bounds))
        except ExecutionError:
            env.append(None)
    return env
