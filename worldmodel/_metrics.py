"""Held-out evaluation of the energy, similarity and policy heads.

Edit distances come from corruption chains (:func:`worldmodel._data.sample_chain`):
``φ₀`` solves the spec and each ``φ_d`` is one random edit from ``φ_{d-1}``, valid on
every example and behaving differently from every earlier program of its chain (chains
that would return to a behaviour already seen are cut there). So ``d`` is an upper
bound on the edit distance from the nearest solution, not the exact distance; a pair
``(d, d')`` with ``d' > d`` compares a program with one at least as many edits along
the same chain.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from scipy.stats import spearmanr

from worldmodel.datasets import Task

from ._data import UnreproducedTaskError, sample_chain
from ._policy_metrics import evaluate_policy

__all__ = ["EvaluationResult", "evaluate"]


@dataclass
class EvaluationResult:
    """Metrics on held-out tasks (see the module docstring for how distance is set).

    Attributes:
        tasks: tasks evaluated.
        energy_accuracy_d1: how often ``E(φ_d) < E(φ_{d+1})`` (ties count half).
        energy_accuracy_d2: how often ``E(φ_d) < E(φ_{d+2})``.
        energy_pairs_d1, energy_pairs_d2: numbers of such pairs.
        energy_accuracy_d1_corrupted, energy_accuracy_d2_corrupted: the same over pairs
            with ``d ≥ 1`` only (two non-solutions: the harder half, since a solution
            matches every output exactly).
        neighbour_top1: fraction of tasks whose solution has lower energy than every
            one-edit neighbour that behaves differently on the spec (``None`` if skipped).
        neighbour_mean_rank: mean rank (1 = best) of the solution among them.
        neighbours_scored: neighbours scored in total.
        similarity_spearman: Spearman correlation of ``M(y*, y_d)`` with ``d`` over valid
            chain outputs, ``d ≥ 1`` (negative is good: nearer programs look more similar).
        similarity_accuracy_d1: how often ``M(y*, y_d) > M(y*, y_{d+1})``.
        policy: metric (c) of ``model.policy`` (:class:`PolicyMetrics` as a dict: mass
            on distance-reducing edits, top-5 accuracy of the next edit, and the
            uniform policy's), or ``None`` without a policy.
    """

    tasks: int
    energy_accuracy_d1: float
    energy_accuracy_d2: float
    energy_pairs_d1: int
    energy_pairs_d2: int
    energy_accuracy_d1_corrupted: float
    energy_accuracy_d2_corrupted: float
    neighbour_top1: float | None
    neighbour_mean_rank: float | None
    neighbours_scored: int
    similarity_spearman: float | None
    similarity_accuracy_d1: float | None
    policy: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _accuracy(values: list[tuple[float, float]]) -> float:
    """Fraction of ``(closer, farther)`` pairs ordered ``closer < farther`` (ties half)."""
    if not values:
        return float("nan")
    return sum(1.0 if a < b else 0.5 if a == b else 0.0 for a, b in values) / len(values)


@torch.no_grad()
def evaluate(
    model,
    tasks: Sequence[Task],
    *,
    seed: int = 0,
    chain_length: int = 4,
    neighbour_tasks: int | None = None,
) -> EvaluationResult:
    """Energy ordering along chains, solution rank among neighbours, similarity vs
    distance, and the policy's metric (c) when the model has a policy.

    Args:
        model: a :class:`WorldModel`.
        tasks: held-out tasks with known programs.
        seed: seeds the chains (chain of task ``i`` is a function of ``(seed, i)``).
        chain_length: edits per chain (default 4, so ``d+2`` pairs exist up to ``d = 2``).
        neighbour_tasks: score all neighbours for only the first this many tasks
            (default all; 0 skips the metric). About 1000 neighbours per task. The same
            limit applies to the policy's metric (tasks whose program fits its
            ``max_length``).

    Example:
        >>> import random
        >>> from worldmodel import WorldModel, ModelConfig
        >>> from worldmodel.datasets import deepcoder, Task
        >>> rng = random.Random(1)
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
        >>> task = Task("t", tuple(deepcoder.random_examples(p, 5, rng)), p.input_types, p)
        >>> result = evaluate(WorldModel(ModelConfig(dim=16, token_dim=8)), [task], neighbour_tasks=0)
        >>> result.tasks, result.energy_pairs_d2 >= 1
        (1, True)
    """
    was_training = model.training
    model.eval()
    featurizer = model.featurizer
    d1: list[tuple[float, float]] = []
    d2: list[tuple[float, float]] = []
    c1: list[tuple[float, float]] = []
    c2: list[tuple[float, float]] = []
    sim_scores, sim_distances = [], []
    sim_d1: list[tuple[float, float]] = []
    ranks: list[int] = []
    scored = 0
    used = 0
    for i, task in enumerate(tasks):
        rng = random.Random(f"evaluate:{seed}:{i}")
        try:
            chain, _, envs = sample_chain(task, chain_length, featurizer, rng)
        except UnreproducedTaskError:
            continue
        used += 1
        energy = model.energy(task, chain, environments=envs).float().cpu().tolist()
        for d in range(len(chain) - 1):
            d1.append((energy[d], energy[d + 1]))
            if d >= 1:
                c1.append(d1[-1])
            if d + 2 < len(chain):
                d2.append((energy[d], energy[d + 2]))
                if d >= 1:
                    c2.append(d2[-1])
        if len(chain) > 1:
            targets = [e.output for e in task.examples]
            outputs = [[env[-1] for env in e] for e in envs[1:]]
            sim = model.similarity(task, [targets] * len(outputs), outputs).float().cpu().tolist()
            sim_scores.extend(sim)
            sim_distances.extend(range(1, len(chain)))
            # higher similarity for the nearer one: negate to reuse the "closer < farther" count
            sim_d1.extend((-sim[d], -sim[d + 1]) for d in range(len(sim) - 1))
        if neighbour_tasks is None or used <= neighbour_tasks:
            targets = [e.output for e in task.examples]
            programs, nenvs = [], []
            for _, program in featurizer.domain.neighbours(task.program):
                if program.num_variables > featurizer.max_variables:
                    continue
                env = featurizer.environments(task, program)
                if env is not None and [v[-1] for v in env] == targets:
                    continue  # behaves like the solution: also a solution, not a competitor
                programs.append(program)
                nenvs.append(env)
            if programs:
                e = model.energy(task, [task.program, *programs], environments=[envs[0], *nenvs]).float().cpu()
                ranks.append(1 + int((e[1:] <= e[0]).sum()))
                scored += len(programs)
    policy = None
    if model.policy is not None:
        # Policy states: the construction path of φ and one repair path (see
        # worldmodel._edit_paths for how the distance-reducing edits are determined).
        limit = len(tasks) if neighbour_tasks is None else neighbour_tasks
        usable = [t for t in tasks if t.program is not None and len(t.program) <= model.policy.config.max_length]
        if usable[:limit]:
            policy = asdict(
                evaluate_policy(
                    model.policy, usable[:limit], context=lambda task, programs: model.state_context(task, programs), seed=seed
                )
            )
    if was_training:
        model.train()
    spearman = None
    if len(set(sim_distances)) > 1:
        spearman = float(spearmanr(sim_scores, sim_distances).statistic)
    return EvaluationResult(
        tasks=used,
        energy_accuracy_d1=_accuracy(d1),
        energy_accuracy_d2=_accuracy(d2),
        energy_pairs_d1=len(d1),
        energy_pairs_d2=len(d2),
        energy_accuracy_d1_corrupted=_accuracy(c1),
        energy_accuracy_d2_corrupted=_accuracy(c2),
        neighbour_top1=sum(r == 1 for r in ranks) / len(ranks) if ranks else None,
        neighbour_mean_rank=sum(ranks) / len(ranks) if ranks else None,
        neighbours_scored=scored,
        similarity_spearman=spearman,
        similarity_accuracy_d1=_accuracy(sim_d1) if sim_d1 else None,
        policy=policy,
    )
