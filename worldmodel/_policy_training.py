"""Standalone training of a :class:`~worldmodel.FlowPolicy` on the edit paths of known programs.

The world model trains its policy with the other heads (:class:`~worldmodel.PolicyTerm`
inside :func:`~worldmodel.fit`); this loop trains a policy alone, without the model's
context, as the policy's own tests and demos do.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import Task, require_at_least, require_positive

from ._config import ConfigError
from ._edit_paths import EditPathConfig, edit_steps
from ._policy import FlowPolicy, PolicyBatch, prepare_batch

__all__ = ["PolicyTrainConfig", "train_policy", "paths_for"]


@dataclass(frozen=True)
class PolicyTrainConfig:
    """Standalone training of a policy (without the world model's context).

    Attributes:
        epochs: passes over the prepared states (default 20).
        batch_size: states per step (default 32).
        learning_rate: Adam step size (default 3e-3).
        negatives: sampled negatives per state, ``None`` for all candidates (default 64).
        paths: which edit paths to train on (default: :class:`EditPathConfig` with the
            policy's ``max_length``).
    """

    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 3e-3
    negatives: int | None = 64
    paths: EditPathConfig | None = None

    def __post_init__(self) -> None:
        require_positive(self, "epochs", "batch_size", "learning_rate")
        require_at_least(self, 0, "negatives", optional=True)


def paths_for(policy: FlowPolicy, paths: EditPathConfig | None) -> EditPathConfig:
    """``paths``, or the default for ``policy``; ``ConfigError`` when their lengths differ."""
    if paths is None:
        return EditPathConfig(max_length=policy.config.max_length)
    if paths.max_length != policy.config.max_length:
        raise ConfigError(
            f"EditPathConfig.max_length={paths.max_length} differs from the policy's max_length="
            f"{policy.config.max_length}; the targets must be among the policy's candidate edits"
        )
    return paths


def train_policy(
    policy: FlowPolicy, tasks: Sequence[Task], *, config: PolicyTrainConfig = PolicyTrainConfig(), seed: int = 0
) -> list[float]:
    """Train ``policy`` on the edit paths of tasks with known programs (no external context).

    Returns:
        The mean loss of each epoch.

    Raises:
        ValueError: a task has no ``program``, or the policy needs an external context.
    """
    if policy.config.context_features:
        raise ValueError("train_policy trains a policy without context; train one with context through WorldModel.fit")
    paths = paths_for(policy, config.paths)
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    steps = []
    for i, task in enumerate(tasks):
        if task.program is None:
            raise ValueError(f"tasks[{i}] ({task.id!r}) has no program to train on")
        steps += edit_steps(task, task.program, policy.domain, rng, config=paths)
    prepared = [
        prepare_batch([s], policy.domain, max_length=policy.config.max_length, negatives=config.negatives, rng=rng)
        for s in steps
    ]
    optimiser = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    history = []
    policy.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(prepared), generator=gen).tolist()
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = PolicyBatch.cat([prepared[i] for i in order[start : start + config.batch_size]])
            loss = policy.batch_loss(batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch.steps)
        history.append(total / len(prepared))
    policy.eval()
    return history
