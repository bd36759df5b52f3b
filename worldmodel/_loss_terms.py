"""The loss terms of training: the protocol a head's term follows, and the energy and similarity terms.

Each head's term lives beside its head (``PolicyTerm`` in :mod:`._policy_term`,
``DynamicsTerm`` in :mod:`._dynamics_term`, ...); :func:`default_terms` is the set
``worldmodel train`` starts from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from ._batches import PairBatch, ProgramBatch, _Batch
from ._config import TrainConfig
from ._data import TaskSample
from ._energy import chain_ranking_loss, contrastive_loss
from ._features import Featurizer
from ._primitive_head import PrimitiveTerm
from ._similarity import similarity_loss
from ._value_head import ValueTerm

__all__ = ["LossTerm", "EnergyTerm", "SimilarityTerm", "EnergyPart", "SimilarityPart", "default_terms"]


class LossTerm(Protocol):
    """One head's contribution to training.

    ``build`` runs in a data worker (no model access) and returns a picklable batch
    part with a ``to(device)`` method; ``loss`` runs on the device and returns named,
    already weighted scalar losses, which are summed. A term with ``spec_only = True``
    reads only the tasks: its ``build`` gets every task of the step
    (``TrainConfig.step_tasks``) instead of the sampled programs of the first
    ``batch_size``. A term whose head is its own names it in ``head`` (the model's
    attribute, e.g. ``"primitive_head"``), so that ``TrainConfig.only`` can train it
    alone.
    """

    name: str
    spec_only: bool

    def build(self, samples: Sequence[TaskSample], featurizer: Featurizer): ...

    def loss(self, model, part) -> dict[str, torch.Tensor]: ...


@dataclass
class EnergyPart(_Batch):
    """Candidates of B tasks for the energy losses.

    Attributes:
        programs: all candidates, featurised (N rows).
        index: ``(B, C)`` long rows of ``programs``; columns ``0..L`` are the chain
            (column 0 the solution), the rest negatives; ``-1`` = absent.
        distance: ``(B, C)`` long edits from the solution (chain position, or edits
            that made a hard negative), ``-1`` if unknown or absent.
        positive: ``(B, C)`` bool, candidates that solve the task.
    """

    programs: ProgramBatch
    index: torch.Tensor
    distance: torch.Tensor
    positive: torch.Tensor


@dataclass
class EnergyTerm:
    """InfoNCE of the solution against chain/hard/batch negatives + distance ranking hinge.

    The ranking uses the chain and, when ``rank_hard_negatives``, the valid hard
    negatives that do not solve the task, each at the number of edits that made it (an
    upper bound on its distance, like a chain position).
    """

    contrastive_weight: float = 1.0
    ranking_weight: float = 1.0
    margin: float = 0.5
    rank_hard_negatives: bool = True
    name: str = "energy"
    spec_only: bool = False

    def build(self, samples: Sequence[TaskSample], featurizer: Featurizer) -> EnergyPart:
        programs, envs, task_index = [], [], []
        chain_width = max(len(s.chain) for s in samples)
        width = chain_width + max(len(s.negatives) for s in samples)
        index = torch.full((len(samples), width), -1, dtype=torch.long)
        distance = torch.full_like(index, -1)
        positive = torch.zeros(index.shape, dtype=torch.bool)
        for b, s in enumerate(samples):
            for d, (program, env) in enumerate(zip(s.chain, s.chain_envs)):
                index[b, d] = len(programs)
                distance[b, d] = d
                programs.append(program)
                envs.append(env)
                task_index.append(b)
            positive[b, 0] = True
            for c, (program, env, solves) in enumerate(zip(s.negatives, s.negative_envs, s.negative_solves)):
                index[b, chain_width + c] = len(programs)
                positive[b, chain_width + c] = solves
                if self.rank_hard_negatives and s.negative_kind[c] == "hard" and env is not None and not solves:
                    distance[b, chain_width + c] = s.negative_edits[c]
                programs.append(program)
                envs.append(env)
                task_index.append(b)
        batch = featurizer.programs([s.task for s in samples], programs, task_index, envs)
        return EnergyPart(batch, index, distance, positive)

    def loss(self, model, part: EnergyPart) -> dict[str, torch.Tensor]:
        e = model.energy_forward(part.programs).float()  # (N,)
        mask = part.index >= 0
        energy = e[part.index.clamp(min=0)]  # (B, C)
        return {
            "energy_nce": self.contrastive_weight * contrastive_loss(energy, part.positive, mask),
            "energy_rank": self.ranking_weight * chain_ranking_loss(energy, part.distance, self.margin),
        }


@dataclass
class SimilarityPart(_Batch):
    """``pairs``: target outputs vs candidate outputs; ``index``/``distance`` ``(B, C)``."""

    pairs: PairBatch
    index: torch.Tensor
    distance: torch.Tensor


@dataclass
class SimilarityTerm:
    """M(y*, y_d) should fall with chain distance d; other tasks' programs count as farthest."""

    weight: float = 1.0
    margin: float = 0.5
    name: str = "similarity"
    spec_only: bool = False

    def build(self, samples: Sequence[TaskSample], featurizer: Featurizer) -> SimilarityPart:
        a, b, task_index, rows = [], [], [], []
        far = max(len(s.chain) for s in samples)  # beyond every chain distance
        for t, s in enumerate(samples):
            targets = [e.output for e in s.task.examples]
            row = []
            for d, env in enumerate(s.chain_envs):
                row.append((len(a), d))
                a.append(targets)
                b.append([v[-1] for v in env])
                task_index.append(t)
            for env, kind in zip(s.negative_envs, s.negative_kind):
                if kind == "batch" and env is not None:
                    row.append((len(a), far))
                    a.append(targets)
                    b.append([v[-1] for v in env])
                    task_index.append(t)
            rows.append(row)
        width = max(len(r) for r in rows)
        index = torch.full((len(samples), width), -1, dtype=torch.long)
        distance = torch.full_like(index, -1)
        for t, row in enumerate(rows):
            for c, (i, d) in enumerate(row):
                index[t, c] = i
                distance[t, c] = d
        pairs = featurizer.pairs([s.task for s in samples], a, b, task_index)
        return SimilarityPart(pairs, index, distance)

    def loss(self, model, part: SimilarityPart) -> dict[str, torch.Tensor]:
        score = model.similarity_forward(part.pairs).float()[part.index.clamp(min=0)]  # (B, C)
        return {"similarity": self.weight * similarity_loss(score, part.distance, self.margin)}


def default_terms(config: TrainConfig, *, value_head: bool = False) -> list[LossTerm]:
    """The energy, similarity and primitive terms, weighted as ``config`` says, and the
    value term when the model has a value head."""
    terms = [
        EnergyTerm(config.energy_weight, config.ranking_weight, config.margin),
        SimilarityTerm(config.similarity_weight, config.margin),
        PrimitiveTerm(config.primitive_weight),
    ]
    if value_head:
        terms.append(ValueTerm(config.value_weight, seed=config.seed))
    return terms
