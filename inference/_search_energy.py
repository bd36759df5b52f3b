"""``energy``: discrete energy minimisation by simulated annealing over one-edit moves.

The state is a program; its neighbours are every one-edit change
(``domain.neighbours``: insert, delete, replace a statement or an argument). Each
step draws ``proposals_per_step`` distinct neighbours (by the policy, without
replacement), runs them in the simulator (checking each with ``Simulator.solves``),
and moves to the best of them by the objective

    energy(φ) − similarity_weight · similarity(outputs(φ), target outputs),

(the similarity is the "warmer / colder" signal on executed outputs) with the
Metropolis rule at a temperature that cools geometrically. After ``restart_after``
steps without improving the current restart's best the chain restarts from the empty
program, at the initial temperature, until the budget ends. A task where no statement
applies to the inputs has no neighbours at all: the search ends at once, unsolved.
The model's execution features come from the simulator, like every other execution.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from worldmodel.datasets import (
    ConfigError,
    Domain,
    Program,
    Task,
    require_at_least,
    require_fraction,
    require_positive,
)

from ._search_common import Incumbent, finish, search_scorer
from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult

__all__ = ["EnergySearchConfig", "energy_search"]


@dataclass(frozen=True)
class EnergySearchConfig:
    """Options of :func:`energy_search`.

    Attributes:
        max_length: no insertion beyond this many statements (default 5).
        proposals_per_step: neighbours run per step; the best is proposed (default 8).
        initial_temperature: temperature at each (re)start (default 2.0).
        cooling: factor applied to the temperature after each step (default 0.95).
        min_temperature: floor of the temperature (default 0.05).
        restart_after: steps without improvement before a restart (default 40).
        similarity_weight: weight of the output similarity in the objective (default 1.0).
    """

    max_length: int = 5
    proposals_per_step: int = 8
    initial_temperature: float = 2.0
    cooling: float = 0.95
    min_temperature: float = 0.05
    restart_after: int = 40
    similarity_weight: float = 1.0

    def __post_init__(self) -> None:
        require_at_least(self, 1, "max_length", "proposals_per_step", "restart_after")
        require_positive(self, "min_temperature")
        if not self.min_temperature <= self.initial_temperature:
            raise ConfigError(
                f"EnergySearchConfig.min_temperature must be <= initial_temperature ({self.initial_temperature}), "
                f"got {self.min_temperature}"
            )
        require_fraction(self, "cooling", open_low=True)


def energy_search(task: Task, *, model: object | None = None, budget: Budget, domain: Domain, seed: int = 0,
                  config: EnergySearchConfig = EnergySearchConfig()) -> SolveResult:
    """The ``"energy"`` :class:`SearchMethod`: simulated annealing on the model's energy.

    ``model=None`` scores with the :class:`HeuristicScorer`; ``seed`` seeds the
    proposals and acceptances. ``trace`` is the best objective after each step,
    ``diagnostics`` the steps, restarts and acceptance rate.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))
        >>> result = energy_search(task, budget=Budget(calls=5000), domain=deepcoder, seed=0)
        >>> result.verified, result.calls <= 5000
        (True, True)
    """
    scorer, fallback = search_scorer(model, task, domain=domain, max_length=config.max_length)
    simulator = Simulator(task, domain, budget)
    rng = random.Random(seed)
    incumbent = Incumbent()
    targets = [e.output for e in task.examples]
    steps = accepted = restarts = 0

    def objective(programs: list[Program], envs: list) -> list[float]:
        energies = scorer.energy(task, programs, environments=envs, run=simulator.environments).tolist()
        simulator.check()  # a model call can be slow: the seconds limit
        if config.similarity_weight == 0:
            return energies
        outputs = [None if env is None else [values[-1] for values in env] for env in envs]
        similar = scorer.similarity(task, outputs, [targets] * len(programs)).tolist()
        simulator.check()
        return [e - config.similarity_weight * s for e, s in zip(energies, similar)]

    try:
        root = Program(task.input_types, ())
        root_env = simulator.environments(root)
        if simulator.solves(root):
            incumbent.solution = root
        (root_value,) = objective([root], [root_env])
        current, current_env, current_value = root, root_env, root_value
        temperature, stale, restart_best = config.initial_temperature, 0, root_value
        while incumbent.solution is None:
            neighbours = list(domain.neighbours(current, max_length=config.max_length))
            if not neighbours:  # only the empty program, when no statement applies: nothing to search
                break
            steps += 1
            edits = [edit for edit, _ in neighbours]
            log_p = scorer.policy_log_probs(
                task, current, edits, environments=current_env, run=simulator.environments
            ).tolist()
            simulator.check()
            # Gumbel top-k: k distinct neighbours drawn from the policy without replacement.
            keys = [lp - math.log(-math.log(rng.random() or 1e-300)) for lp in log_p]
            chosen = sorted(range(len(neighbours)), key=lambda i: -keys[i])[: config.proposals_per_step]
            programs, envs = [], []
            for i in chosen:
                program = neighbours[i][1]
                env = simulator.environments(program)
                if env is not None and simulator.solves(program):
                    incumbent.solution = program
                    break
                programs.append(program)
                envs.append(env)
            if incumbent.solution is not None:
                break
            values = objective(programs, envs)
            simulator.check()
            best = min(range(len(programs)), key=values.__getitem__)
            for program, value in zip(programs, values):
                incumbent.offer(program, value)
            delta = values[best] - current_value
            if delta <= 0 or rng.random() < math.exp(-delta / temperature):
                accepted += 1
                current, current_env, current_value = programs[best], envs[best], values[best]
            incumbent.record()
            temperature = max(config.min_temperature, temperature * config.cooling)
            if current_value < restart_best:
                restart_best, stale = current_value, 0
            else:
                stale += 1
            if stale >= config.restart_after:
                restarts += 1
                current, current_env, current_value = root, root_env, root_value
                temperature, stale, restart_best = config.initial_temperature, 0, root_value
    except BudgetExhausted:
        pass
    diagnostics = {"steps": steps, "restarts": restarts, "acceptance_rate": accepted / steps if steps else 0.0, **fallback}
    return finish(task, "energy", simulator, incumbent, domain, diagnostics)
