"""Exact posteriors over programs by enumeration: the ground truth for sampler tests.

On a small domain (a handful of primitives, a few statements) every program can be
listed, so ``p(φ) ∝ prior(φ) · exp(−E(φ))`` can be normalised exactly. A sampler's
draws are then compared with it by :func:`worldmodel.inference.check_samples`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from worldmodel.datasets import Domain, Program, Type, well_typed_statements

__all__ = ["ExactPosterior", "enumerate_programs", "exact_posterior"]


def enumerate_programs(domain: Domain, input_types: Sequence[Type], *, max_length: int) -> list[Program]:
    """Every well-typed program with ``input_types`` and at most ``max_length`` statements.

    Dead code is included: this is the whole state space an edit sampler moves on.
    Programs come shortest first, then in primitive-table and argument order.

    Args:
        domain: the DSL (its ``primitives``).
        input_types: the argument types, e.g. ``(Type.LIST,)``.
        max_length: the most statements (>= 0).

    Returns:
        The programs, without duplicates.

    Raises:
        ValueError: ``max_length`` < 0 or no input types.

    Example:
        >>> from worldmodel.datasets import Domain, Type, deepcoder
        >>> tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "SUM"]})
        >>> [len(enumerate_programs(tiny, (Type.LIST,), max_length=n)) for n in (0, 1, 2)]
        [1, 3, 9]
    """
    if max_length < 0:
        raise ValueError(f"max_length must be >= 0, got {max_length}")
    if not input_types:
        raise ValueError("input_types must name at least one argument type, e.g. (Type.LIST,)")
    start = Program(tuple(input_types), ())
    programs = [start]
    frontier = [start]
    for _ in range(max_length):
        grown = []
        for program in frontier:
            types = list(program.input_types)
            types += [domain.primitives[st.primitive].return_type for st in program.statements]
            for statement in well_typed_statements(types, domain.primitives):
                grown.append(Program(program.input_types, program.statements + (statement,)))
        programs += grown
        frontier = grown
    return programs


@dataclass(frozen=True)
class ExactPosterior:
    """A normalised distribution over a finite list of programs.

    Attributes:
        support: the programs, in a fixed order.
        probs: their probabilities, shape ``(len(support),)``, summing to 1.
        index: program -> position in ``support`` (built on construction).

    Example:
        >>> from worldmodel.datasets import Domain, Type, deepcoder
        >>> tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "SUM"]})
        >>> post = exact_posterior(tiny, (Type.LIST,), max_length=1, energy=len)
        >>> round(post.prob(tiny.parse("a <- [int]")), 4)  # 1 / (1 + 2 e^-1)
        0.5761
    """

    support: list[Program]
    probs: np.ndarray
    index: dict[Program, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        probs = np.asarray(self.probs, dtype=float)
        if probs.shape != (len(self.support),):
            raise ValueError(f"probs has shape {probs.shape}, expected ({len(self.support)},)")
        if np.any(probs < 0) or not math.isclose(float(probs.sum()), 1.0, rel_tol=1e-9):
            raise ValueError("probs must be >= 0 and sum to 1")
        index = {p: i for i, p in enumerate(self.support)}
        if len(index) != len(self.support):
            raise ValueError("support has duplicate programs")
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "index", index)

    def prob(self, program: Program) -> float:
        """The probability of ``program`` (0 outside the support)."""
        i = self.index.get(program)
        return 0.0 if i is None else float(self.probs[i])

    def __len__(self) -> int:
        return len(self.support)


def exact_posterior(
    domain: Domain,
    input_types: Sequence[Type],
    *,
    max_length: int,
    energy: Callable[[Program], float],
    log_prior: Callable[[Program], float] | None = None,
) -> ExactPosterior:
    """``p(φ) ∝ exp(log_prior(φ) − energy(φ))`` over every program up to ``max_length``.

    Args:
        domain: the DSL; restrict it to a few primitives to keep the support small.
        input_types: the argument types of the programs.
        max_length: the most statements.
        energy: ``E(φ)``; ``math.inf`` gives probability 0 (the program stays in the support).
        log_prior: ``log prior(φ)`` up to a constant (default: uniform).

    Returns:
        The normalised posterior.

    Raises:
        ValueError: an energy or log prior is NaN, or every program has probability 0.
    """
    support = enumerate_programs(domain, input_types, max_length=max_length)
    log_w = np.empty(len(support))
    for i, program in enumerate(support):
        value = -float(energy(program)) + (float(log_prior(program)) if log_prior else 0.0)
        if math.isnan(value):
            raise ValueError(f"energy or log_prior is NaN at {domain.format(program)!r}")
        log_w[i] = value
    top = log_w.max()
    if not np.isfinite(top):
        raise ValueError("every program has zero weight (energy inf or log_prior -inf everywhere)")
    weights = np.exp(log_w - top)
    return ExactPosterior(support, weights / weights.sum())
