"""``policy``: complete anytime beam search over appended statements (PCCoder's CAB).

DeepCoder programs are built by appending statements, so the search grows programs
from the empty one (the task's inputs, no statements) one ``InsertStatement`` at the
end at a time. Each level, every beam state's appends are ranked by the policy
(cumulative log-probability); the ``children_per_state`` best are executed by the
simulator (cached prefixes make that one statement per example), checked with
``Simulator.solves``, pruned by observational equivalence, and the beam keeps the
``width`` children with the best ``policy_weight * log p - energy_weight * E``. When a
pass reaches ``max_length`` without a solution the beam width grows and the search
restarts (Zohar & Wolf 2018, "Automatic program synthesis of long programs with a
learned garbage collector": CAB reached 77% at length 5), until the budget ends.
Re-running a prefix is free thanks to the simulator's cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from worldmodel.datasets import Domain, Program, Task
from worldmodel.datasets._edits import InsertStatement

from ._scorer import as_scorer
from ._search_common import Incumbent, append_statements, finish, new_variable_is_redundant
from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult

__all__ = ["PolicySearchConfig", "policy_search"]


@dataclass(frozen=True)
class PolicySearchConfig:
    """Options of :func:`policy_search`.

    Attributes:
        max_length: longest program searched (default 5).
        initial_width: beam width of the first pass (default 2).
        growth: factor by which the width grows after an unsuccessful pass (default 2).
        children_per_state: appends per beam state executed in the first pass, best
            by the policy first; it grows with the width in later passes, so the search
            stays complete; ``None`` executes all (default 8).
        policy_weight: weight of the cumulative policy log-probability (default 1.0).
        energy_weight: weight of the energy in the beam's ranking (default 0.0: with
            the shipped model, the simulator calls its look-ahead features spend cost
            more than its ranking saves; measured in ``docs/design.md``).
    """

    max_length: int = 5
    initial_width: int = 2
    growth: int = 2
    children_per_state: int | None = 8
    policy_weight: float = 1.0
    energy_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"PolicySearchConfig.max_length must be >= 1, got {self.max_length}")
        if self.initial_width < 1:
            raise ValueError(f"PolicySearchConfig.initial_width must be >= 1, got {self.initial_width}")
        if self.growth < 2:
            raise ValueError(f"PolicySearchConfig.growth must be >= 2 (the width must grow), got {self.growth}")
        if self.children_per_state is not None and self.children_per_state < 1:
            raise ValueError(f"PolicySearchConfig.children_per_state must be >= 1 or None, got {self.children_per_state}")


def policy_search(
    task: Task,
    *,
    model: object | None = None,
    budget: Budget,
    domain: Domain,
    seed: int = 0,
    config: PolicySearchConfig = PolicySearchConfig(),
) -> SolveResult:
    """Find a program for ``task`` by complete anytime beam search guided by ``model``.

    Args:
        task: the examples.
        model: a :class:`~worldmodel.WorldModel`, a :class:`Scorer`, or ``None`` for
            the :class:`HeuristicScorer`.
        budget: simulator calls and seconds.
        domain: the DSL.
        seed: unused by this deterministic search; kept for the common signature.
        config: search options.

    Returns:
        A :class:`SolveResult`; ``trace`` is the best energy after each beam level,
        ``diagnostics`` holds the passes begun and the width of the last one.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))
        >>> result = policy_search(task, budget=Budget(calls=2000), domain=deepcoder)
        >>> result.verified, deepcoder.format(result.program)
        (True, 'a <- [int] | b <- SORT a')
    """
    del seed  # ties are broken by primitive order: the search is deterministic
    scorer = as_scorer(model)
    simulator = Simulator(task, domain, budget)
    incumbent = Incumbent()
    passes, width = 0, 0
    try:
        root = Program(task.input_types, ())
        root_env = simulator.environments(root)
        if simulator.solves(root):
            incumbent.solution = root
        while incumbent.solution is None:
            passes += 1
            width = config.initial_width if passes == 1 else width * config.growth
            _beam_pass(task, root, root_env, width, scorer, simulator, incumbent, domain, config)
    except BudgetExhausted:
        pass
    return finish(task, "policy", simulator, incumbent, domain, {"passes": passes, "width": width})


def _beam_pass(task, root, root_env, width, scorer, simulator, incumbent, domain, config) -> None:
    """One beam search to ``max_length``; sets ``incumbent.solution`` on success."""
    beam = [(0.0, root, root_env)]
    seen: set = set()
    for _ in range(config.max_length):
        children = []
        for log_p, program, env in beam:
            statements = append_statements(program, domain)
            edits = [InsertStatement(len(program), st) for st in statements]
            step = scorer.policy_log_probs(task, program, edits, environments=env).tolist()
            # Charge what the scorer ran itself (featurising the candidates); this also
            # checks the seconds limit, since a model call can be slow.
            simulator.charge(scorer.take_calls())
            ranked = sorted(zip(step, statements), key=lambda pair: -pair[0])
            if config.children_per_state is not None:
                # The cap grows with the width, so every append is reached in some pass
                # and the search stays complete (CAB's guarantee).
                ranked = ranked[: config.children_per_state * width // config.initial_width]
            children.extend((log_p + lp, Program(program.input_types, program.statements + (st,))) for lp, st in ranked)
        # Execute the most probable children first, so an exhausted budget cuts the least likely.
        children.sort(key=lambda child: -child[0])
        kept = []
        for log_p, child in children:
            env = simulator.environments(child)
            if env is None:
                continue
            if simulator.solves(child):
                incumbent.solution = child
                return
            key = repr(env)
            if key in seen or new_variable_is_redundant(env):
                continue
            seen.add(key)
            kept.append((log_p, child, env))
        if not kept:
            return
        energies = scorer.energy(task, [c for _, c, _ in kept], environments=[e for _, _, e in kept]).tolist()
        simulator.charge(scorer.take_calls())
        scored = []
        for (log_p, child, env), energy in zip(kept, energies):
            incumbent.offer(child, energy)
            scored.append((config.policy_weight * log_p - config.energy_weight * energy, log_p, child, env))
        incumbent.record()
        scored.sort(key=lambda item: -item[0])
        beam = [(log_p, child, env) for _, log_p, child, env in scored[:width]]
