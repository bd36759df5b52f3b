"""Bookkeeping shared by the model-guided searches: the scorer, the best program so far and the result."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Protocol

from worldmodel.datasets import (
    Domain,
    Program,
    Statement,
    Task,
    variable_types,
    well_typed_statements,
)

from ._scorer import HeuristicScorer, Scorer, as_scorer
from ._simulator import Budget, Simulator, SolveResult, verify

__all__ = [
    "Incumbent",
    "SearchMethod",
    "append_statements",
    "finish",
    "new_variable_is_redundant",
    "search_scorer",
    "without_dead_code",
]


class SearchMethod(Protocol):
    """The signature of every method of :func:`~worldmodel.inference.solve`.

    ``search(task, *, model, budget, domain, seed, config) -> SolveResult``: a method
    runs every candidate through one :class:`Simulator` built with ``budget`` (so no
    method can spend more calls or seconds than it is given) and returns its best
    program. Each method's own docstring says only what it does with these.

    Args:
        task: the input/output examples.
        model: a :class:`~worldmodel.WorldModel`, a :class:`Scorer`, or ``None``; what
            ``None`` means is the method's (the :class:`HeuristicScorer`, or plain
            enumeration).
        budget: simulator calls and seconds; the model's own work runs no program and
            costs no calls, but its seconds count.
        domain: the DSL.
        seed: seeds a randomised method, which is deterministic for a seed; a
            deterministic method ignores it.
        config: the method's options, its config dataclass (default: its defaults).

    Returns:
        A :class:`SolveResult`; ``trace`` and ``diagnostics`` are the method's.
    """

    def __call__(self, task: Task, *, model: object | None, budget: Budget, domain: Domain, seed: int = 0,
                 config: object = ...) -> SolveResult: ...


def search_scorer(model: object | None, task: Task, *, domain: Domain, max_length: int) -> tuple[Scorer, dict[str, float]]:
    """The scorer a search uses on ``task``, and the diagnostics that say which.

    ``as_scorer(model)`` where it can score the task's programs; where it cannot (a
    world model given more inputs than it takes, or values it cannot encode) the
    search still runs, with :class:`HeuristicScorer`, a :class:`RuntimeWarning` that
    names the reason, and ``{"heuristic_fallback": 1.0}`` in its diagnostics: no task
    makes a search fail.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> search_scorer(None, task, domain=deepcoder, max_length=5)
        (HeuristicScorer(length_weight=0.05, append_bonus=1.0, chain_bonus=1.0), {})
    """
    scorer = as_scorer(model)
    reason = scorer.unsupported(task, domain=domain, max_length=max_length)
    if reason is None:
        return scorer, {}
    warnings.warn(f"task {task.id!r}: {reason}; searching with the HeuristicScorer instead", RuntimeWarning, stacklevel=3)
    return HeuristicScorer(), {"heuristic_fallback": 1.0}


@dataclass
class Incumbent:
    """The lowest-energy program seen so far, and a trace of that energy after each step.

    A program the simulator says solves the task is kept as ``solution`` whatever its
    energy: the answer never depends on the model agreeing.
    """

    program: Program | None = None
    energy: float = math.inf
    solution: Program | None = None
    trace: list[float] = field(default_factory=list)

    def offer(self, program: Program, energy: float) -> None:
        """Keep ``program`` if its energy is the lowest so far."""
        if energy < self.energy:
            self.program, self.energy = program, energy

    def record(self) -> None:
        """Append the best energy so far to the trace (once per search step)."""
        self.trace.append(self.energy)


def append_statements(program: Program, domain: Domain) -> list[Statement]:
    """Every well-typed statement that can be appended to ``program`` (primitive order).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- int")
        >>> len(append_statements(p, deepcoder)) == len(deepcoder.primitives)  # one list, one int
        True
        >>> append_statements(p, deepcoder)[0]
        Statement(primitive='HEAD', args=(0,))
    """
    return list(well_typed_statements(variable_types(program, domain.primitives), domain.primitives))


def new_variable_is_redundant(environments: list[list]) -> bool:
    """Whether the last variable equals an earlier one on every example (observational
    equivalence: appending it adds nothing a later statement could not read already)."""
    last = [env[-1] for env in environments]
    width = len(environments[0])
    return any(all(env[v] == value for env, value in zip(environments, last)) for v in range(width - 1))


def without_dead_code(program: Program) -> Program:
    """``program`` without the statements its output does not depend on.

    The output on every input where ``program`` is valid is unchanged (a statement
    nobody reads cannot change the last variable), so a verified solution stays one.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SUM a | c <- SORT a | d <- REVERSE c")
        >>> deepcoder.format(without_dead_code(p))
        'a <- [int] | b <- SORT a | c <- REVERSE b'
    """
    n, body = len(program.input_types), program.statements
    if not body:
        return program
    live = {n + len(body) - 1}
    for j in range(len(body) - 1, -1, -1):
        if n + j in live:
            live.update(body[j].args)
    kept = [j for j in range(len(body)) if n + j in live]
    renumber = {v: v for v in range(n)} | {n + j: n + i for i, j in enumerate(kept)}
    statements = tuple(Statement(body[j].primitive, tuple(renumber[a] for a in body[j].args)) for j in kept)
    return Program(program.input_types, statements)


def finish(
    task: Task,
    method: str,
    simulator: Simulator,
    incumbent: Incumbent,
    domain: Domain,
    diagnostics: dict[str, float] | None = None,
) -> SolveResult:
    """The :class:`SolveResult`: the solution if one was found (without dead code), else
    the best program, with ``verified`` recomputed by :func:`verify` on every example
    (never trusted)."""
    if incumbent.solution is not None:
        program = without_dead_code(incumbent.solution)
    else:
        program = incumbent.program
    return SolveResult(
        task_id=task.id,
        method=method,
        program=program,
        verified=verify(program, task, domain),
        calls=simulator.calls,
        seconds=simulator.seconds,
        trace=list(incumbent.trace),
        diagnostics=dict(diagnostics or {}),
    )
