"""``guided``: bottom-up enumeration whose primitive costs come from the world model.

DeepCoder (Balog et al. 2017) predicts from the examples which primitives a solution
uses and lets enumeration try those first; weighted bottom-up search (Probe, HySynth)
makes that exact by giving each primitive a cost and enumerating values in order of
total cost. Here one forward pass of the model's primitive head (no program is run)
gives ``p_f``, the probability that primitive ``f`` occurs in a solution, and

    cost(f) = max(1, round(-ln(max(p_f, floor)) / nats_per_cost))

feeds :func:`enumerate_program`. Observational-equivalence pruning, the one budget of
simulator calls and the anytime property stay as in ``enumerate``; the floor keeps
every primitive reachable, so the search stays complete. A task the model cannot
encode (too many inputs, values beyond its vocabulary) falls back to unit costs, i.e.
plain enumeration, and says so in ``diagnostics["fallback"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from worldmodel.datasets import Domain, Task, require_at_least, require_fraction, require_positive

from worldmodel import UnsupportedTaskError

from ._enumerate import EnumerationConfig, enumerate_program, enumeration_result
from ._simulator import Budget, Simulator, SolveResult

__all__ = ["GuidedSearchConfig", "guided_search", "primitive_costs", "value_delays"]


@dataclass(frozen=True)
class GuidedSearchConfig:
    """Options of :func:`guided_search`.

    Attributes:
        nats_per_cost: how many nats of ``-ln p_f`` make one unit of cost (default
            1.0; tuned on Φ's valid split, ``docs/design.md``).
        floor: smallest probability a primitive is given, so that its cost is bounded
            (default 1e-3).
        nats_per_delay: with a model that has a value head, each value built is
            delayed ``min(max_delay, round(-ln q / nats_per_delay))`` levels, ``q`` the
            head's probability that a solution makes it, and the values that land on
            one level are combined likeliest first (default 2.0; ``None``: no delays).
        max_delay: the most levels a value is delayed (default 2).
        max_scored: values scored per task, the first built (default 1 024): scoring
            costs time, not calls, and the first values are the ones most combined.
        enumeration: the enumerator's options.
    """

    nats_per_cost: float = 1.0
    floor: float = 1e-3
    nats_per_delay: float | None = 2.0
    max_delay: int = 2
    max_scored: int = 1024
    enumeration: EnumerationConfig = EnumerationConfig()

    def __post_init__(self) -> None:
        require_positive(self, "nats_per_delay", optional=True)
        require_at_least(self, 0, "max_scored", "max_delay")
        require_positive(self, "nats_per_cost")
        require_fraction(self, "floor", open_low=True)


def primitive_costs(probabilities: Mapping[str, float], *, nats_per_cost: float, floor: float) -> dict[str, int]:
    """Integer costs ``>= 1`` from primitive probabilities (see the module docstring),
    listed likeliest first: :func:`enumerate_program` tries primitives of one cost in
    that order.

    Example:
        >>> primitive_costs({"HEAD": 0.05, "SORT": 0.9}, nats_per_cost=1.0, floor=1e-3)
        {'SORT': 1, 'HEAD': 3}
    """
    ranked = sorted(probabilities.items(), key=lambda item: -item[1])  # likeliest first within a cost
    return {name: max(1, round(-math.log(max(p, floor)) / nats_per_cost)) for name, p in ranked}


def value_delays(
    score: Callable[[Sequence[tuple]], list[float]], *, nats_per_delay: float, max_delay: int, max_scored: int
) -> Callable[[Sequence[tuple]], list[float]]:
    """Delays from a value scorer's log-probabilities, as :func:`enumerate_program` takes
    them: ``-ln q / nats_per_delay + 1/2``, whose floor is the rounded number of levels
    and whose order is the order of ``q``, capped at ``max_delay + 1/2`` (see
    :class:`GuidedSearchConfig`); after the first ``max_scored`` values, none is delayed
    (``1/2``, as a value the head is sure of)."""
    scored = 0

    def delays(values: Sequence[tuple]) -> list[float]:
        nonlocal scored
        n = max(0, min(len(values), max_scored - scored))
        scored += n
        later = [min(max_delay + 0.5, 0.5 - q / nats_per_delay) for q in score(values[:n])] if n else []
        return later + [0.5] * (len(values) - n)  # unscored: not delayed, built order kept

    return delays


def guided_search(task: Task, *, model: object, budget: Budget, domain: Domain, seed: int = 0,
                  config: GuidedSearchConfig = GuidedSearchConfig()) -> SolveResult:
    """The ``"guided"`` :class:`SearchMethod`: enumeration ordered by the model's primitive costs.

    ``model`` is a :class:`~worldmodel.WorldModel` with a primitive head (``None`` runs
    plain enumeration); the search is deterministic and ignores ``seed``. ``trace`` is
    the number of distinct values after each cost level, ``diagnostics`` holds
    ``fallback`` (1.0 if unit costs were used), the costs' spread (``min_cost``,
    ``max_cost``) and ``value_delays`` (1.0 if the value head delayed values).
    """
    del seed
    sim = Simulator(task, domain, budget)
    costs, delays, fallback = None, None, 1.0
    if model is not None:
        try:
            probabilities = model.primitive_probabilities(task)
            # The value head learned how near a value is to a target output; a generative
            # task has none, so its values are not delayed.
            if (config.nats_per_delay is not None and getattr(model, "value_head", None) is not None
                    and domain.generative is None):
                delays = value_delays(model.value_scorer(task), nats_per_delay=config.nats_per_delay,
                                      max_delay=config.max_delay, max_scored=config.max_scored)
        except UnsupportedTaskError:
            pass  # enumerate with unit costs
        else:
            costs = primitive_costs(probabilities, nats_per_cost=config.nats_per_cost, floor=config.floor)
            fallback = 0.0
    found = enumerate_program(task, sim, config=config.enumeration, costs=costs, delays=delays)
    spread = list(costs.values()) if costs else [1]
    diagnostics = {
        "fallback": fallback,
        "min_cost": float(min(spread)),
        "max_cost": float(max(spread)),
        "value_delays": float(delays is not None),
    }
    return enumeration_result(task, "guided", found, domain, diagnostics)
