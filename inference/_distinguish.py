"""Active queries: inputs on which candidate programs disagree ("what should I ask next?").

Given two or more programs that all fit a task's examples, :func:`distinguish` proposes
new inputs and ranks them by how evenly the candidates' outputs split (the entropy of
the partition of candidates by output, an error being an output of its own). Every
output is computed by the exact interpreter, so each reported disagreement is real.

Inputs come from three proposers: draws from the domain's input distributions and
from one fitted to the task's own examples; one-element mutations of the example
inputs; and, when the model has a dynamics head, preimages of perturbed outputs from
its reverse query (confirmed by the interpreter before they are used).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from worldmodel.datasets import (
    INPUT_DISTRIBUTIONS,
    Domain,
    ExecutionError,
    InputConfig,
    Program,
    Task,
    Value,
    probe_inputs,
    probe_outputs,
)

from worldmodel import QueryValueError, reverse_query

from ._simulator import verify

__all__ = ["Question", "distinguish", "alternative_programs"]


@dataclass(frozen=True)
class Question:
    """One proposed input and what each candidate program answers.

    Attributes:
        inputs: the argument tuple to ask the user about.
        outputs: per candidate program (in the order given), its output on ``inputs``
            as the interpreter computes it, ``None`` where it fails.
        groups: distinct answers among the candidates (>= 2: they disagree).
        split: entropy in bits of the candidates' partition by answer (higher =
            the answer rules out more candidates on average).
    """

    inputs: tuple[Value, ...]
    outputs: tuple[Value | None, ...]
    groups: int
    split: float


def _answers(domain: Domain, programs: Sequence[Program], inputs: Sequence[Value]) -> tuple[Value | None, ...]:
    answers = []
    for program in programs:
        try:
            answers.append(domain.run(program, list(inputs)))
        except ExecutionError:
            answers.append(None)
    return tuple(answers)


def _entropy(answers: Sequence[Value | None]) -> tuple[float, int]:
    counts = Counter(repr(a) for a in answers)
    n = len(answers)
    return -sum(c / n * math.log2(c / n) for c in counts.values()), len(counts)


def _fitted(task: Task, domain: Domain) -> InputConfig:
    """An input distribution spanning the task's own example inputs."""
    items, lengths, ints = [], [], []
    for example in task.examples:
        for value in example.inputs:
            if isinstance(value, int):
                ints.append(value)
            else:
                items.extend(value)
                lengths.append(len(value))
    bounds = domain.bounds
    lo, hi = (min(items), max(items)) if items else (domain.inputs.min_value, domain.inputs.max_value)
    return InputConfig(
        min_value=max(bounds.min_value, lo), max_value=min(bounds.max_value, hi),
        min_list_length=0, max_list_length=min(bounds.max_list_length, max(lengths, default=5) + 1),
        min_int=min(ints, default=domain.inputs.min_int), max_int=max(ints, default=domain.inputs.max_int),
    )


def _mutations(task: Task, domain: Domain, rng: random.Random, count: int) -> list[tuple[Value, ...]]:
    """Example inputs with one element changed, dropped or added, or an int moved by one."""
    bounds = domain.bounds
    out = []
    for _ in range(count):
        inputs = [list(v) if isinstance(v, list) else v for v in rng.choice(task.examples).inputs]
        i = rng.randrange(len(inputs))
        value = inputs[i]
        if isinstance(value, int):
            inputs[i] = min(bounds.max_value, max(bounds.min_value, value + rng.choice((-1, 1))))
        else:
            move = rng.randrange(3) if value else 2
            if move == 0:
                value[rng.randrange(len(value))] = rng.randint(-10, 10)
            elif move == 1:
                del value[rng.randrange(len(value))]
            elif len(value) < bounds.max_list_length:
                value.insert(rng.randint(0, len(value)), rng.randint(-10, 10))
        out.append(tuple(inputs))
    return out


def _reverse_proposals(task: Task, programs: Sequence[Program], dynamics, rng: random.Random) -> list[tuple[Value, ...]]:
    """Confirmed preimages, under each candidate, of example outputs with one element changed."""
    out = []
    for program in programs:
        for example in task.examples[:1]:
            y = example.output
            target = y + rng.choice((-1, 1)) if isinstance(y, int) else [v + (j == 0) for j, v in enumerate(y)]
            try:
                # A few preimages are proposals among many; the refinement that lifts
                # reverse's top-10 rate costs 4x the time per query, so it is left out;
                # so are the prior draws, since this pool holds random inputs already.
                result = reverse_query(dynamics, program, target, k=3, refine=0, prior_draws=0)
            except QueryValueError:  # the perturbed output is out of bounds
                continue
            out.extend(result.preimages)
    return out


def distinguish(
    task: Task,
    programs: Sequence[Program],
    *,
    domain: Domain,
    dynamics=None,
    count: int = 3,
    pool: int = 256,
    seed: int = 0,
) -> list[Question]:
    """Up to ``count`` new inputs on which ``programs`` disagree, best split first.

    Args:
        task: the task whose examples the programs all fit (its inputs seed the proposals).
        programs: two or more candidate programs of the task's input types.
        domain: the DSL; its interpreter computes every answer.
        dynamics: a trained :class:`~worldmodel.DynamicsHead` (``model.dynamics``), to add
            reverse proposals (default ``None``: random and mutated inputs only).
        count: questions to return (default 3).
        pool: random and mutated inputs to try (default 256).
        seed: seeds the proposals (default 0); the result is a function of the arguments.

    Returns:
        :class:`Question` s with ``groups >= 2``, by decreasing ``split``, then more
        groups, then shorter inputs; fewer than ``count`` (or none) if the proposals
        found fewer inputs of disagreement.

    Raises:
        ValueError: fewer than two programs, a program of other input types, or
            ``count`` / ``pool`` < 1.
    """
    if len(programs) < 2:
        raise ValueError(f"distinguish needs at least two programs, got {len(programs)}")
    if count < 1 or pool < 1:
        raise ValueError(f"count and pool must be >= 1, got count={count}, pool={pool}")
    for index, program in enumerate(programs):
        if tuple(program.input_types) != tuple(task.input_types):
            raise ValueError(
                f"program {index} takes {[t.value for t in program.input_types]}, "
                f"the task gives {[t.value for t in task.input_types]}"
            )
    rng = random.Random(f"distinguish:{seed}")
    candidates: list[tuple[Value, ...]] = []
    configs = [_fitted(task, domain), *INPUT_DISTRIBUTIONS.values()]
    for i in range(pool // 2):
        candidates.append(domain.random_inputs(task.input_types, rng, inputs=configs[i % len(configs)]))
    candidates += _mutations(task, domain, rng, pool - pool // 2)
    if dynamics is not None:
        candidates += _reverse_proposals(task, programs, dynamics, rng)
    seen = {repr(list(e.inputs)) for e in task.examples}
    questions = []
    for inputs in candidates:
        key = repr(list(inputs))
        if key in seen:
            continue
        seen.add(key)
        answers = _answers(domain, programs, inputs)
        split, groups = _entropy(answers)
        if groups >= 2:
            questions.append(Question(tuple(inputs), answers, groups, split))
    def length(q: Question) -> int:
        return sum(1 if isinstance(v, int) else len(v) for v in q.inputs)

    questions.sort(key=lambda q: (-q.split, -q.groups, length(q)))
    return questions[:count]


def alternative_programs(task: Task, program: Program, *, domain: Domain, limit: int = 8,
                         probes: int = 64) -> list[Program]:
    """Programs one or two edits from ``program`` that also fit every example of ``task``
    and behave differently from it and from each other on ``probes`` probe inputs.

    These are the rivals an answer leaves open; ``distinguish`` then asks what tells
    them apart. At most ``limit`` are returned, nearest edits first.
    """
    fits = []
    probe_set = probe_inputs(domain, tuple(program.input_types), probes)
    signatures = {repr(probe_outputs(domain, program, probe_set))}
    frontier = [program]
    for _ in range(2):
        following = []
        for current in frontier:
            for _, neighbour in domain.neighbours(current, max_length=max(len(program) + 1, 1)):
                following.append(neighbour)
                if not neighbour.statements or not verify(neighbour, task, domain):
                    continue
                signature = repr(probe_outputs(domain, neighbour, probe_set))
                if signature in signatures:
                    continue
                signatures.add(signature)
                fits.append(neighbour)
                if len(fits) >= limit:
                    return fits
        frontier = following[:20]  # the second ring around the nearest edits only: it grows fast
    return fits
