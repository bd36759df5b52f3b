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
learned garbage collector": CAB reached 77% at length 5), until the budget ends or a
pass has cut nothing (it has then searched every program up to ``max_length``).
Re-running a prefix is free thanks to the simulator's cache.

The policy's features come from the simulator too (``run``): ranking a state's
appends executes each of them once, and the children executed afterwards are those
same programs, already cached. The energy is computed only when ``energy_weight`` is
not 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from worldmodel.datasets import Domain, InsertStatement, Program, Task, require_at_least

from ._search_common import (
    Incumbent,
    append_statements,
    finish,
    new_variable_is_redundant,
    search_scorer,
)
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
            more than its ranking saves; measured in ``docs/design.md``). At 0 the
            energy is not computed at all, and the best program so far (the result
            when none solves the task, and the trace) is the one of highest
            cumulative log-probability, which costs nothing.
    """

    max_length: int = 5
    initial_width: int = 2
    growth: int = 2
    children_per_state: int | None = 8
    policy_weight: float = 1.0
    energy_weight: float = 0.0

    def __post_init__(self) -> None:
        require_at_least(self, 1, "max_length", "initial_width")
        require_at_least(self, 2, "growth", why="(the width must grow)")
        require_at_least(self, 1, "children_per_state", optional=True)


def policy_search(task: Task, *, model: object | None = None, budget: Budget, domain: Domain, seed: int = 0,
                  config: PolicySearchConfig = PolicySearchConfig()) -> SolveResult:
    """The ``"policy"`` :class:`SearchMethod`: complete anytime beam search guided by ``model``.

    ``model=None`` scores with the :class:`HeuristicScorer`; the search is
    deterministic and ignores ``seed``. ``trace`` is the best energy after each beam
    level (minus the cumulative log-probability when ``energy_weight`` is 0),
    ``diagnostics`` holds the passes begun and the width of the last one (and
    ``heuristic_fallback`` when ``model`` cannot take the task).

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))
        >>> result = policy_search(task, budget=Budget(calls=2000), domain=deepcoder)
        >>> result.verified, deepcoder.format(result.program)
        (True, 'a <- [int] | b <- SORT a')
    """
    del seed  # ties are broken by primitive order: the search is deterministic
    scorer, diagnostics = search_scorer(model, task, domain=domain, max_length=config.max_length)
    simulator = Simulator(task, domain, budget)
    incumbent = Incumbent()
    passes, width = 0, 0
    try:
        root = Program(task.input_types, ())
        root_env = simulator.environments(root)
        if simulator.solves(root):
            incumbent.solution = root
        complete = False
        while incumbent.solution is None and not complete:
            passes += 1
            width = config.initial_width if passes == 1 else width * config.growth
            complete = _beam_pass(task, root, root_env, width, scorer, simulator, incumbent, domain, config)
    except BudgetExhausted:
        pass
    return finish(task, "policy", simulator, incumbent, domain, {"passes": passes, "width": width, **diagnostics})


def _beam_pass(task, root, root_env, width, scorer, simulator, incumbent, domain, config) -> bool:
    """One beam search to ``max_length``; sets ``incumbent.solution`` on success.

    Returns whether the pass cut nothing (no append left out, no child beyond the
    width): then it has searched every program up to ``max_length`` (less
    observational duplicates), and a wider pass would only repeat it.
    """
    beam = [(0.0, root, root_env)]
    seen: set = set()
    complete = True
    for _ in range(config.max_length):
        children = []
        for log_p, program, env in beam:
            statements = append_statements(program, domain)
            if not statements:  # no statement applies (e.g. only int variables): the branch ends
                continue
            edits = [InsertStatement(len(program), st) for st in statements]
            step = scorer.policy_log_probs(task, program, edits, environments=env, run=simulator.environments).tolist()
            simulator.check()  # a model call can be slow: the seconds limit
            ranked = sorted(zip(step, statements), key=lambda pair: -pair[0])
            if config.children_per_state is not None:
                # The cap grows with the width, so every append is reached in some pass
                # and the search stays complete (CAB's guarantee).
                cap = config.children_per_state * width // config.initial_width
                complete = complete and len(ranked) <= cap
                ranked = ranked[:cap]
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
                return False
            key = repr(env)
            if key in seen or new_variable_is_redundant(env):
                continue
            seen.add(key)
            kept.append((log_p, child, env))
        if not kept:
            return complete
        if config.energy_weight:
            programs, envs = [c for _, c, _ in kept], [e for _, _, e in kept]
            energies = scorer.energy(task, programs, environments=envs, run=simulator.environments).tolist()
            simulator.check()
        else:
            # Without the energy in the ranking, the best program so far is the most
            # probable one: computing an energy only for the incumbent would cost calls.
            energies = [-log_p for log_p, _, _ in kept]
        scored = []
        for (log_p, child, env), energy in zip(kept, energies):
            incumbent.offer(child, energy)
            scored.append((config.policy_weight * log_p - config.energy_weight * energy, log_p, child, env))
        incumbent.record()
        scored.sort(key=lambda item: -item[0])
        complete = complete and len(scored) <= width
        beam = [(log_p, child, env) for _, log_p, child, env in scored[:width]]
    return complete
