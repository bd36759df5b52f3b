"""``solve``: one entry point for every search method, and the registry of methods.

A method is a :class:`SearchMethod`, ``search(task, *, model, budget, domain, seed,
config) -> SolveResult``, that spends its simulator calls through a :class:`Simulator`
built with ``budget`` and returns its best program. A method plugs in by adding itself to
:data:`METHODS` (and to :data:`ANYTIME_METHODS` / :data:`MODEL_FREE_METHODS` where
true). :func:`solve` never trusts a method's ``verified``: it runs the returned
program on every example with the exact interpreter itself.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

from worldmodel.datasets import Domain, Task, deepcoder

from ._enumerate import EnumerationConfig, enumerate_search
from ._search_common import SearchMethod
from ._search_energy import EnergySearchConfig, energy_search
from ._search_guided import GuidedSearchConfig, guided_search
from ._search_latent import (
    LATENT_METHODS,
    PRIOR_STARTED,
    LatentSearchConfig,
    latent_search,
    prior_started_search,
)
from ._search_mcmc import MCMCSearchConfig, mcmc_search
from ._search_policy import PolicySearchConfig, policy_search
from ._simulator import Budget, BudgetExhausted, SolveResult, score, verify

__all__ = ["METHODS", "METHOD_CONFIGS", "ANYTIME_METHODS", "MODEL_FREE_METHODS", "SKILL_METHODS", "solve"]

METHODS: dict[str, SearchMethod] = {
    "enumerate": enumerate_search,
    "guided": guided_search,
    "policy": policy_search,
    "energy": energy_search,
    "mcmc": mcmc_search,
    **{name: partial(latent_search, method=name) for name in LATENT_METHODS},
    **{f"{name}-prior": partial(prior_started_search, method=name) for name in PRIOR_STARTED},
}
"""Search methods by name, each a :class:`SearchMethod`."""

METHOD_CONFIGS: dict[str, type] = {
    "enumerate": EnumerationConfig,
    "guided": GuidedSearchConfig,
    "policy": PolicySearchConfig,
    "energy": EnergySearchConfig,
    "mcmc": MCMCSearchConfig,
    **{name: LatentSearchConfig for name in METHODS if name in LATENT_METHODS or name.endswith("-prior")},
}
"""Each method's config class, what ``solve(config=...)`` forwards to it."""

ANYTIME_METHODS: set[str] = {"enumerate", "guided", "policy", "energy", "mcmc", *LATENT_METHODS,
                             *(f"{name}-prior" for name in PRIOR_STARTED)}
"""Methods whose run with budget B makes exactly the first B calls of a run with any
larger budget and stops as soon as it is solved (deterministic for a seed), so that
one run at the largest budget gives the result at every smaller one."""

MODEL_FREE_METHODS: set[str] = {"enumerate"}
"""Methods that use no model (the command line loads none for them)."""

SKILL_METHODS: set[str] = {"guided"}
"""Methods that call a model's skills (:meth:`~worldmodel.WorldModel.add_skills`): they
search ``domain.with_skills(model.skills)``, and their programs may call skills. The
others search the base domain."""

_DEFAULT_BUDGET = Budget()


def solve(
    task: Task,
    model: object = None,
    method: str = "enumerate",
    *,
    budget: Budget = _DEFAULT_BUDGET,
    domain: Domain = deepcoder,
    seed: int = 0,
    config: object = None,
) -> SolveResult:
    """Search for a program that reproduces every example of ``task``.

    Args:
        task: the specification (input/output examples).
        model: a trained ``WorldModel`` for the learned methods (default ``None``;
            ``"enumerate"`` uses none).
        method: a key of :data:`METHODS` (default ``"enumerate"``).
        budget: simulator calls and seconds (default ``Budget()``: 100 000 calls, 60 s).
        domain: the DSL (default ``deepcoder``); with a model that learned skills, the
            methods of :data:`SKILL_METHODS` search it with the skills added.
        seed: the seed of a randomised method (default 0).
        config: the method's options, forwarded to it (default ``None``: its defaults):
            :class:`EnumerationConfig` for ``enumerate``, :class:`GuidedSearchConfig`,
            :class:`PolicySearchConfig`, :class:`EnergySearchConfig`,
            :class:`MCMCSearchConfig`, or :class:`LatentSearchConfig` for the latent
            methods (``start`` is ``"prior"`` for the ``-prior`` ones whatever it says).

    Returns:
        A :class:`SolveResult`: ``verified`` is True only if the exact interpreter
        reproduces every example's output with ``program`` (a generative task: every
        observation has non-zero likelihood, and ``log_likelihood`` is their exact sum) (which may call the model's
        skills: ``domain.with_skills(model.skills).expand`` inlines them); ``seconds`` is the wall
        clock of the whole search. A budget spent without a program gives
        ``program=None``.

    Raises:
        ValueError: ``method`` is not a registered method (the message lists them).
        TypeError: ``budget`` is not a :class:`Budget`, or ``config`` is not the
            method's config class.

    Example:
        >>> from worldmodel.datasets import Example, Type
        >>> task = Task("double", (Example(([1, 2],), [2, 4]), Example(([5],), [10])), (Type.LIST,))
        >>> result = solve(task, budget=Budget(calls=1_000))
        >>> deepcoder.format(result.program), result.verified, result.calls
        ('a <- [int] | b <- MAP (*2) a', True, 20)
    """
    search = METHODS.get(method)
    if search is None:
        raise ValueError(f"unknown method {method!r}; valid choices: {', '.join(sorted(METHODS))}")
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget(calls=..., seconds=...), got {budget!r}")
    options = {}
    if config is not None:
        wanted = METHOD_CONFIGS[method]
        if not isinstance(config, wanted):
            raise TypeError(f"method {method!r} takes a {wanted.__name__}, got {type(config).__name__}")
        options["config"] = config
    skills = getattr(model, "skills", ())
    skilled = domain.with_skills(skills) if skills and not domain.skills else domain
    start = time.perf_counter()
    try:
        result = search(task, model=model, budget=budget, domain=skilled if method in SKILL_METHODS else skilled.base,
                        seed=seed, **options)
    except BudgetExhausted as spent:
        # A method that lets the budget run out without returning found nothing it
        # could report; its calls are those the simulator counted when it stopped.
        calls = spent.calls if spent.calls is not None else budget.calls or 0
        result = SolveResult(task.id, method, None, False, calls, 0.0)
    seconds = time.perf_counter() - start
    verified = verify(result.program, task, skilled)
    return replace(
        result,
        task_id=task.id,
        method=method,
        verified=verified,
        seconds=seconds,
        # exact, as verified is: never the method's own figure
        log_likelihood=score(result.program, task, skilled) if verified else None,
    )
