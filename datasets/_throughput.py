"""Interpreter throughput: statement evaluations per second on one core."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ._domain import Domain
from ._interpreter import apply_primitive

__all__ = ["InterpreterThroughput", "interpreter_throughput"]


@dataclass(frozen=True)
class InterpreterThroughput:
    """Measured rates (statements per second, one core).

    Attributes:
        run_statements_per_second: through ``Domain.run`` on whole programs,
            input validation and per-call overhead included.
        statements_per_second: one statement applied to already-validated values
            (``apply_primitive`` with its range check), the unit searches pay for.
        programs: distinct programs timed; mean_length: their mean length.
    """

    run_statements_per_second: float
    statements_per_second: float
    programs: int
    mean_length: float


def interpreter_throughput(domain: Domain, *, programs: int = 2000, repeats: int = 20, seed: int = 0) -> InterpreterThroughput:
    """Time the interpreter on random valid programs of lengths 1–5 and their inputs.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> interpreter_throughput(deepcoder, programs=20, repeats=1).statements_per_second > 0
        True
    """
    rng = random.Random(seed)
    pairs = []
    while len(pairs) < programs:
        program = domain.random_program(rng, rng.randint(1, 5))
        examples = domain.random_examples(program, 1, rng)
        if examples:
            pairs.append((program, list(examples[0].inputs)))
    statements = sum(len(p) for p, _ in pairs) * repeats

    start = time.perf_counter()
    for _ in range(repeats):
        for program, inputs in pairs:
            domain.run(program, inputs)
    run_rate = statements / (time.perf_counter() - start)

    calls = []
    for program, inputs in pairs:
        env = domain.trace(program, inputs)
        for st in program.statements:
            calls.append((domain.primitives[st.primitive], [env[a] for a in st.args]))
    bounds = domain.bounds
    start = time.perf_counter()
    for _ in range(repeats):
        for primitive, args in calls:
            apply_primitive(primitive, args, bounds)
    statement_rate = len(calls) * repeats / (time.perf_counter() - start)
    return InterpreterThroughput(run_rate, statement_rate, len(pairs), statements / repeats / len(pairs))
