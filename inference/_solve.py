"""``solve``: one entry point for every search method, and the registry of methods;
``solve_tasks`` and ``solve_file``: the same for each task of a list or a task file.

A method is a :class:`SearchMethod`, ``search(task, *, model, budget, domain, seed,
config) -> SolveResult``, that spends its simulator calls through a :class:`Simulator`
built with ``budget`` and returns its best program. A method plugs in by adding itself to
:data:`METHODS` (and to :data:`ANYTIME_METHODS` / :data:`MODEL_FREE_METHODS` where
true). :func:`solve` never trusts a method's ``verified``: it runs the returned
program on every example with the exact interpreter itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from worldmodel.datasets import Domain, Task, TaskFileError, deepcoder, iter_tasks

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

__all__ = [
    "METHODS",
    "METHOD_CONFIGS",
    "ANYTIME_METHODS",
    "MODEL_FREE_METHODS",
    "SKILL_METHODS",
    "TaskResult",
    "solve",
    "solve_file",
    "solve_tasks",
]

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


def _search(method: str, budget: object) -> SearchMethod:
    """The search ``method`` names, once it and ``budget`` are checked (see :func:`solve`)."""
    search = METHODS.get(method)
    if search is None:
        raise ValueError(f"unknown method {method!r}; valid choices: {', '.join(sorted(METHODS))}")
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget(calls=..., seconds=...), got {budget!r}")
    return search


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
    search = _search(method, budget)
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


@dataclass(frozen=True)
class TaskResult:
    """A task and what :func:`solve` made of it, as :func:`solve_tasks` yields them.

    Attributes:
        task: the task.
        result: its :class:`SolveResult`.
        index: its place among the items given (0-based; in a task file, malformed
            lines count and blank ones do not): it was searched with ``seed + index``.
    """

    task: Task
    result: SolveResult
    index: int


def solve_tasks(
    tasks: Iterable[Task | TaskFileError],
    model: object = None,
    method: str = "enumerate",
    *,
    budget: Budget = _DEFAULT_BUDGET,
    domain: Domain = deepcoder,
    seed: int = 0,
    config: object = None,
) -> Iterator[TaskResult | TaskFileError]:
    """:func:`solve` each task in turn, yielding each result as it is found.

    Args:
        tasks: tasks, and the malformed lines of a task file among them, as
            :func:`~worldmodel.datasets.iter_tasks` yields them; read one at a time.
        model, method, budget, domain, config: as for :func:`solve` (defaults: no
            model, ``"enumerate"``, ``Budget()``, ``deepcoder``, the method's defaults).
        seed: the seed of the first item (default 0); the item at ``index`` is searched
            with ``seed + index``, so a task's result does not depend on the tasks
            searched before it.

    Returns:
        An iterator, in order, of a :class:`TaskResult` per task and each
        :class:`~worldmodel.datasets.TaskFileError` as it comes (passed on, not raised:
        the tasks after it are still solved).

    Raises:
        ValueError: ``method`` is not a registered method (raised at once).
        TypeError: ``budget`` is not a :class:`Budget` (raised at once).
    """
    _search(method, budget)
    return _solve_each(tasks, model, method, budget=budget, domain=domain, seed=seed, config=config)


def _solve_each(tasks, model, method, *, budget, domain, seed, config) -> Iterator[TaskResult | TaskFileError]:
    for index, item in enumerate(tasks):
        if isinstance(item, TaskFileError):
            yield item
            continue
        result = solve(item, model, method, budget=budget, domain=domain, seed=seed + index, config=config)
        yield TaskResult(item, result, index)


def solve_file(
    path: str | os.PathLike,
    model: object = None,
    method: str = "enumerate",
    *,
    budget: Budget = _DEFAULT_BUDGET,
    domain: Domain = deepcoder,
    seed: int = 0,
    config: object = None,
) -> Iterator[TaskResult | TaskFileError]:
    """:func:`solve_tasks` on the lines of a task file, read as they are solved.

    The line at ``index`` (counting malformed lines, not blank ones) is searched with
    ``seed + index``, as ``worldmodel solve`` does. Arguments, results and errors are
    those of :func:`solve_tasks`; a file that cannot be read raises ``OSError`` when
    iteration starts.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tasks.jsonl"
        >>> _ = path.write_text('{"id": "double", "examples": [{"input": [[1, 2]], "output": [2, 4]}]}\\n{"id": "bad"}\\n')
        >>> for item in solve_file(path, budget=Budget(calls=1_000)):
        ...     print(item.reason if isinstance(item, TaskFileError) else (item.task.id, item.result.verified, item.index))
        ('double', True, 0)
        field 'examples' must be a non-empty list
    """
    return solve_tasks(iter_tasks(path, domain), model, method, budget=budget, domain=domain, seed=seed,
                       config=config)
