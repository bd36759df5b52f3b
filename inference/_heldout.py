"""How well a generative task's answer predicts the concept's held-out strings.

A regex that gives a held-out string zero likelihood has log-likelihood ``-inf`` on it,
so one uncovered string would decide any mean. Three figures, the same for every
method, are reported instead:

- ``covered``: the fraction of held-out strings with non-zero likelihood;
- ``ll_covered``: the mean log-likelihood per covered string (``None`` if none is);
- ``ll_smoothed``: the mean per string of ``ln((1 - w) P(s) + w Q(s))``, where ``Q`` is
  a fixed background (each character uniform over the domain's alphabet, the length
  geometric with continuation 0.9) and ``w = 0.01``. It is finite for every string, and
  a task without an answer scores as the background alone (``ln(w Q(s))``), so it is one
  number that ranks answers on all strings, covered or not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from worldmodel.datasets import Domain, DomainError, ExecutionError, Program

__all__ = ["HeldoutScore", "BACKGROUND_WEIGHT", "background_log_likelihood", "heldout_score"]

BACKGROUND_WEIGHT = 0.01
"""The weight ``w`` of the background in ``ll_smoothed``."""

_CONTINUE = 0.9


@dataclass(frozen=True)
class HeldoutScore:
    """Held-out figures of one answer (see the module docstring).

    Attributes:
        strings: held-out strings scored.
        covered: fraction with non-zero likelihood.
        ll_covered: mean log-likelihood per covered string, ``None`` if none is covered.
        ll_smoothed: mean per string of the log-likelihood mixed with the background.
    """

    strings: int
    covered: float
    ll_covered: float | None
    ll_smoothed: float


def background_log_likelihood(text: str, alphabet_size: int) -> float:
    """``ln Q(text)``: characters uniform over ``alphabet_size``, length geometric
    (continuation 0.9).

    Example:
        >>> round(background_log_likelihood("ab", 95), 3)
        -11.621
    """
    return math.log(1 - _CONTINUE) + len(text) * (math.log(_CONTINUE) - math.log(alphabet_size))


def heldout_score(program: Program | None, strings: Sequence[str], domain: Domain) -> HeldoutScore:
    """Score ``program`` (``None``: no answer) on held-out ``strings`` of a generative task.

    Raises:
        DomainError: ``domain`` is not generative.
        ValueError: ``strings`` is empty.

    Example:
        >>> from worldmodel.datasets import regex
        >>> digits = regex.parse("a <- regex | b <- DIGIT a | c <- PLUS (0.5) b")
        >>> s = heldout_score(digits, ["42", "x"], regex)
        >>> s.covered, round(s.ll_covered, 3)
        (0.5, -5.991)
    """
    if not strings:
        raise ValueError("heldout_score needs at least one held-out string")
    generative = domain.generative
    if generative is None:
        raise DomainError(f"domain {domain.name!r} is not generative: held-out strings need a generative domain")
    value = None
    if program is not None:
        try:
            value = domain.run(program, [domain.random_value(t, None) for t in program.input_types])
        except ExecutionError:
            value = None
    size, w = len(generative.alphabet), BACKGROUND_WEIGHT
    covered, smoothed = [], []
    for text in strings:
        ll = generative.log_likelihood(value, text) if value is not None else -math.inf
        background = math.log(w) + background_log_likelihood(text, size)
        if ll > -math.inf:
            covered.append(ll)
            # ln((1 - w) e^ll + w e^background), computed without underflow
            top = max(ll + math.log(1 - w), background)
            smoothed.append(top + math.log(math.exp(ll + math.log(1 - w) - top) + math.exp(background - top)))
        else:
            smoothed.append(background)
    return HeldoutScore(
        len(strings),
        len(covered) / len(strings),
        sum(covered) / len(covered) if covered else None,
        sum(smoothed) / len(smoothed),
    )
