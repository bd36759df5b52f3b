"""``mcmc``: Metropolis–Hastings over programs with the policy as proposal, run by Pyro.

The target is ``p(φ | x, y) ∝ exp(−E(x, y, φ) / temperature)``; the proposal draws
one edit from the policy ``p(Δφ | x, y, φ)`` over every valid one-edit neighbour of
``φ`` (:class:`PolicyEditProposal`), and the acceptance uses the exact reverse
probability: the policy's probability, from ``φ'``, of the edits that lead back to
``φ`` (the inverse edit, summed with any other edit giving the same program). The
kernel is :class:`~worldmodel.inference._edit_kernel.EditMetropolisKernel`, run by
``pyro.infer.MCMC``. Every proposed program is run by the simulator (the energy is
execution-aware) and checked with ``Simulator.solves``; the chain stops at the first
solution or when the budget ends. Chains of ``steps_per_chain`` steps restart from
the empty program with a new seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
from pyro.infer import MCMC
from worldmodel.datasets import Domain, Program, Task, require_at_least, require_positive

from ._edit_kernel import EditMetropolisKernel
from ._scorer import Scorer
from ._search_common import Incumbent, finish, search_scorer
from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult

__all__ = ["MCMCSearchConfig", "PolicyEditProposal", "mcmc_search"]


@dataclass(frozen=True)
class MCMCSearchConfig:
    """Options of :func:`mcmc_search`.

    Attributes:
        max_length: the most statements a state may have (default 5).
        temperature: the target is ``exp(−E / temperature)`` (default 1.0).
        steps_per_chain: steps before a chain restarts from the empty program (default 300).
    """

    max_length: int = 5
    temperature: float = 1.0
    steps_per_chain: int = 300

    def __post_init__(self) -> None:
        require_at_least(self, 1, "max_length", "steps_per_chain")
        require_positive(self, "temperature")


class PolicyEditProposal:
    """Propose one edit drawn from the scorer's policy; exact forward and reverse log-probabilities.

    ``q(φ' | φ) = Σ_{e: e(φ) = φ'} p(e | x, y, φ)`` over the valid one-edit neighbours
    of ``φ`` (``domain.neighbours`` with ``max_length``). The policy sees the program's
    environment from the simulator, so computing the reverse probability runs ``φ'``
    (which the energy needs anyway; cached prefixes are free). The policy's own
    execution features come from the simulator too.

    Args:
        task: the examples the policy conditions on.
        scorer: the :class:`Scorer` whose ``policy_log_probs`` is the proposal.
        simulator: runs programs (and counts the calls).
        domain: the DSL.
        max_length: no insertion beyond this many statements.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> from worldmodel.inference import Simulator, Budget
        >>> from worldmodel.inference._scorer import HeuristicScorer
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> sim = Simulator(task, deepcoder, Budget(calls=100))
        >>> proposal = PolicyEditProposal(task, HeuristicScorer(), sim, deepcoder, max_length=2)
        >>> new, forward, reverse = proposal.propose(deepcoder.parse("a <- [int]"), random.Random(0))
        >>> len(new), forward < 0, reverse < 0, proposal.log_prob(new, new)
        (1, True, True, -inf)
    """

    def __init__(self, task: Task, scorer: Scorer, simulator: Simulator, domain: Domain, *, max_length: int):
        self.task = task
        self.scorer = scorer
        self.simulator = simulator
        self.domain = domain
        self.max_length = max_length
        self._moves: dict[Program, dict[Program, float]] = {}

    def moves(self, program: Program) -> dict[Program, float]:
        """The distinct neighbours of ``program`` and their log-probabilities under the policy."""
        found = self._moves.get(program)
        if found is None:
            neighbours = list(self.domain.neighbours(program, max_length=self.max_length))
            found = {}
            if not neighbours:  # only the empty program has none, when no statement applies
                return found
            env = self.simulator.environments(program)
            edits = [e for e, _ in neighbours]
            run = self.simulator.environments
            log_p = self.scorer.policy_log_probs(self.task, program, edits, environments=env, run=run)
            self.simulator.check()  # a model call can be slow: the seconds limit
            for (_, new), lp in zip(neighbours, log_p.tolist()):
                old = found.get(new)
                found[new] = lp if old is None else _logaddexp(old, lp)
            if len(self._moves) >= 20_000:
                self._moves.clear()
            self._moves[program] = found
        return found

    def log_prob(self, new: Program, program: Program) -> float:
        """``log q(new | program)`` (``-inf`` if no edit makes it)."""
        return self.moves(program).get(new, -math.inf)

    def propose(self, program: Program, rng: random.Random) -> tuple[Program, float, float]:
        moves = self.moves(program)
        # Gumbel-max: an exact draw from the categorical, using only ``rng``.
        new = max(moves, key=lambda t: moves[t] - math.log(-math.log(rng.random() or 1e-300)))
        return new, moves[new], self.log_prob(program, new)


def _logaddexp(a: float, b: float) -> float:
    top = max(a, b)
    if top == -math.inf:
        return top
    return top + math.log(math.exp(a - top) + math.exp(b - top))


class _Solved(Exception):
    """Stops the Pyro runner at the first program the simulator says solves the task."""


def mcmc_search(task: Task, *, model: object | None = None, budget: Budget, domain: Domain, seed: int = 0,
                config: MCMCSearchConfig = MCMCSearchConfig()) -> SolveResult:
    """The ``"mcmc"`` :class:`SearchMethod`: edit Metropolis–Hastings on ``exp(−E / T)`` until a program solves.

    ``model=None`` scores with the :class:`HeuristicScorer`; chain ``c`` uses seed
    ``seed * 1_000_003 + c``. ``trace`` is the lowest energy after each step;
    ``diagnostics`` has ``acceptance_rate`` (accepted / steps over all chains),
    ``steps`` and ``chains``.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))
        >>> config = MCMCSearchConfig(max_length=2)
        >>> result = mcmc_search(task, budget=Budget(calls=5000), domain=deepcoder, seed=0, config=config)
        >>> result.verified, 0 < result.diagnostics["acceptance_rate"] <= 1
        (True, True)
    """
    scorer, fallback = search_scorer(model, task, domain=domain, max_length=config.max_length)
    simulator = Simulator(task, domain, budget)
    incumbent = Incumbent()
    proposal = PolicyEditProposal(task, scorer, simulator, domain, max_length=config.max_length)
    counts = {"steps": 0, "accepted": 0, "chains": 0}
    previous: list[torch.Tensor] = []  # the last state of the running chain

    def energy(program: Program) -> float:
        env = simulator.environments(program)
        if env is not None and simulator.solves(program):
            incumbent.solution = program
            raise _Solved
        value = float(scorer.energy(task, [program], environments=[env], run=simulator.environments)[0])
        simulator.check()  # a model call can be slow: the seconds limit
        incumbent.offer(program, value)
        return value / config.temperature

    def hook(kernel, params, stage, i) -> None:
        # Every edit changes the program, so a step was accepted iff the state changed.
        state = params["program"]
        counts["steps"] += 1
        counts["accepted"] += not torch.equal(state, previous[0])
        previous[0] = state
        incumbent.record()

    root = Program(task.input_types, ())
    try:
        if simulator.solves(root):
            incumbent.solution = root
        # With no move from the empty program (no statement applies) there is no chain to run.
        while incumbent.solution is None and proposal.moves(root):
            kernel = EditMetropolisKernel(
                energy,
                domain=domain,
                input_types=task.input_types,
                max_length=config.max_length,
                proposal=proposal,
                seed=seed * 1_000_003 + counts["chains"],
            )
            start = kernel.encode(root)
            previous[:] = [start]
            counts["chains"] += 1
            runner = MCMC(
                kernel,
                num_samples=config.steps_per_chain,
                warmup_steps=0,
                initial_params={"program": start},
                disable_progbar=True,
                hook_fn=hook,
            )
            runner.run()
    except (_Solved, BudgetExhausted):
        pass
    steps = counts["steps"]
    diagnostics = {
        "acceptance_rate": counts["accepted"] / steps if steps else 0.0,
        "steps": steps,
        "chains": counts["chains"],
        **fallback,
    }
    return finish(task, "mcmc", simulator, incumbent, domain, diagnostics)
