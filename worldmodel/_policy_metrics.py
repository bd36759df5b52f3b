"""Metric (c) of the flow policy: how well it points towards a solution on held-out programs."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import Program, Task

from ._edit_paths import EditPathConfig, edit_steps
from ._policy import FlowPolicy
from ._policy_training import paths_for

__all__ = ["ContextFn", "PolicyMetrics", "evaluate_policy"]

ContextFn = Callable[[Task, Sequence[Program]], torch.Tensor]
"""``context(task, programs) -> (N, C)``: the world model's state context of N programs."""


@dataclass(frozen=True)
class PolicyMetrics:
    """Metric (c): how well the policy points towards a solution, on held-out programs.

    Every state comes from :func:`edit_steps` (construction and repair paths of the
    task's known program φ); its targets are the valid edits that reduce the path
    distance to φ (see :mod:`._edit_paths`). Candidates are all valid edits.

    Attributes:
        states: number of states.
        good_mass: mean probability the policy puts on distance-reducing edits.
        top5: share of states where a distance-reducing edit is among the 5 most
            probable.
        construct_top5, repair_top5: ``top5`` on each kind of path.
        uniform_good_mass, uniform_top5: the same for the uniform policy (exact).
        mean_candidates: mean number of valid edits per state.
    """

    states: int
    good_mass: float
    top5: float
    construct_top5: float
    repair_top5: float
    uniform_good_mass: float
    uniform_top5: float
    mean_candidates: float


@torch.no_grad()
def evaluate_policy(
    policy: FlowPolicy,
    tasks: Sequence[Task],
    *,
    context: ContextFn | None = None,
    paths: EditPathConfig | None = None,
    seed: int = 0,
) -> PolicyMetrics:
    """Metric (c) of ``policy`` on tasks with known programs.

    Args:
        policy: the policy.
        tasks: held-out tasks, each with ``program``.
        context: ``context(task, programs) -> (N, C)``, the world model's state
            context, for a policy with ``context_features > 0``.
        paths: the paths to evaluate on (default: :class:`EditPathConfig` with the
            policy's ``max_length``, which it must equal).
        seed: draws the corruptions of the repair paths.

    Raises:
        ValueError: a task has no ``program``.
    """
    paths = paths_for(policy, paths)
    rng = random.Random(seed)
    rows = []  # (kind, good mass, top5 hit, uniform mass, uniform top5, candidates)
    for i, task in enumerate(tasks):
        if task.program is None:
            raise ValueError(f"tasks[{i}] ({task.id!r}) has no program to evaluate on")
        steps = edit_steps(task, task.program, policy.domain, rng, config=paths)
        ctx = context(task, [s.program for s in steps]) if context is not None else None
        for j, step in enumerate(steps):
            edits = policy.candidates(step.program)
            log_p = policy.log_probs(task, step.program, edits, context=None if ctx is None else ctx[j]).cpu()
            wanted = set(step.targets)
            good = torch.tensor([e in wanted for e in edits])
            top = torch.topk(log_p, min(5, len(edits))).indices
            e, g = len(edits), int(good.sum())
            # P(a uniform 5-subset misses every target) = C(e-g, 5) / C(e, 5).
            uniform_top5 = 1.0 - math.comb(e - g, min(5, e)) / math.comb(e, min(5, e))
            rows.append((step.kind, float(log_p.exp()[good].sum()), float(good[top].any()), g / e, uniform_top5, e))

    def mean(values):
        values = list(values)
        return sum(values) / len(values) if values else float("nan")

    return PolicyMetrics(
        states=len(rows),
        good_mass=mean(r[1] for r in rows),
        top5=mean(r[2] for r in rows),
        construct_top5=mean(r[2] for r in rows if r[0] == "construct"),
        repair_top5=mean(r[2] for r in rows if r[0] == "repair"),
        uniform_good_mass=mean(r[3] for r in rows),
        uniform_top5=mean(r[4] for r in rows),
        mean_candidates=mean(r[5] for r in rows),
    )
