"""Primitive head: which primitives a solution uses, predicted from the spec alone.

DeepCoder's attribute predictor (Balog et al. 2017): from the encoded examples, one
independent probability per primitive that it occurs in the program. It needs no
program and no execution, so one forward pass per task steers a whole enumeration
(``inference.guided_search`` turns the probabilities into primitive costs).

Each example is seen three ways: the shared spec encoder's example encoding; the
tokens of every input and of the output laid side by side, position by position
(DeepCoder's encoder, which keeps the order that pooled value encodings blur); and
:func:`pair_features` of each input against the output (permutation, reversal,
subset, length change...). The per-example vectors are pooled over examples (mean and
max, so their order does not matter).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from worldmodel.datasets import Task

from ._batches import SpecBatch, _Batch
from ._encoders import MAX_INPUTS, masked_pool, mlp
from ._features import Featurizer
from ._pair_features import NUM_PAIR_FEATURES, pair_features

__all__ = ["PrimitiveHead", "PrimitiveInputs", "PrimitivePart", "PrimitiveTerm", "primitive_inputs"]


@dataclass
class PrimitiveInputs(_Batch):
    """What the primitive head reads of B tasks.

    Attributes:
        specs: the specs (value table, inputs, targets, example mask).
        io_features: ``(B, K, M, F)`` float, :func:`pair_features` of input ``m`` against
            the output on example ``k`` (zeros for absent inputs; M = the model's
            most inputs).
    """

    specs: SpecBatch
    io_features: torch.Tensor


def primitive_inputs(tasks: Sequence[Task], featurizer: Featurizer, *, max_inputs: int = MAX_INPUTS) -> PrimitiveInputs:
    """Featurise ``tasks`` for :class:`PrimitiveHead` (no program is run)."""
    specs = featurizer.specs(tasks)
    k = specs.targets.shape[1]
    where, rows = [], []
    for b, task in enumerate(tasks):
        for j, example in enumerate(task.examples):
            for m, value in enumerate(example.inputs):
                where.append((b * k + j) * max_inputs + m)
                rows.append(pair_features(value, example.output))
    features = torch.zeros(len(tasks) * k * max_inputs, NUM_PAIR_FEATURES)
    if rows:  # one tensor built from all rows: per-row tensors cost more than the features
        features[torch.tensor(where)] = torch.tensor(rows)
    return PrimitiveInputs(specs, features.view(len(tasks), k, max_inputs, NUM_PAIR_FEATURES))


class PrimitiveHead(nn.Module):
    """Logits of "primitive p occurs in the solution" for B tasks.

    Args:
        dim: spec width D.
        num_primitives: P, the domain's primitives in their table order.
        num_tokens: value vocabulary size.
        width: tokens per value row L.
        max_inputs: M, most inputs of a task.
        token_dim: width E of the head's own positional token embedding (default 16).
        hidden: width H of its hidden layers (default ``None``: ``2 * dim``).

    Shapes: example encodings ``(B, K, D)``, pooled spec ``(B, D)`` and
    :class:`PrimitiveInputs` -> ``(B, P)``.
    """

    def __init__(
        self, dim: int, num_primitives: int, *, num_tokens: int, width: int, max_inputs: int = MAX_INPUTS, token_dim: int = 16,
        hidden: int | None = None,
    ):
        super().__init__()
        hidden = hidden or 2 * dim
        self.max_inputs = max_inputs
        self.token = nn.Embedding(num_tokens, token_dim, padding_idx=0)
        self.tokens_out = nn.Linear((max_inputs + 1) * width * token_dim, dim)
        self.example = mlp(2 * dim + max_inputs * NUM_PAIR_FEATURES, hidden, hidden)
        self.out = nn.Sequential(mlp(2 * hidden + dim, hidden, hidden), nn.GELU(), nn.Linear(hidden, num_primitives))
        # Start at a rate a solution of a few statements has for each primitive: from
        # 0.5 the loss first spends many steps learning only these rates.
        nn.init.constant_(self.out[-1].bias, math.log(3 / num_primitives))

    def forward(self, examples: torch.Tensor, pooled: torch.Tensor, inputs: PrimitiveInputs) -> torch.Tensor:
        spec = inputs.specs
        b, k, i = spec.inputs.shape
        rows = torch.cat([spec.inputs, spec.targets.unsqueeze(-1)], -1)  # (B, K, I + 1)
        if i < self.max_inputs:  # absent inputs point at the padding row (all zeros)
            rows = torch.cat([rows[..., :i], rows.new_zeros(b, k, self.max_inputs - i), rows[..., i:]], -1)
        tokens = self.token(spec.values[rows])  # (B, K, M + 1, L, E)
        side_by_side = F.gelu(self.tokens_out(tokens.flatten(2)))  # (B, K, D)
        io = inputs.io_features.to(examples.dtype).flatten(2)  # (B, K, M * F)
        h = self.example(torch.cat([examples, side_by_side, io], -1))  # (B, K, H)
        return self.out(torch.cat([masked_pool(h, spec.example_mask, 1), pooled], -1))


@dataclass
class PrimitivePart(_Batch):
    """The head's inputs for B tasks and ``targets`` ``(B, P)``: 1 where the solution uses primitive p."""

    inputs: PrimitiveInputs
    targets: torch.Tensor


@dataclass
class PrimitiveTerm:
    """Binary cross-entropy of the primitive head against the primitives of each task's program.

    A program may call the model's skills (:meth:`~worldmodel.WorldModel.add_skills`):
    a call is the skill's class, not its body's primitives.

    It reads only the specs and the programs' primitive names, so it is cheap to build:
    :func:`fit` gives it every task of a step (``TrainConfig.spec_batch_size``), not
    only the ones the program-level terms sample.
    """

    weight: float = 1.0
    name: str = "primitives"
    spec_only: bool = True
    head: str = "primitive_head"

    def build(self, tasks: Sequence[Task], featurizer: Featurizer) -> PrimitivePart:
        index = {name: i for i, name in enumerate(featurizer.primitive_names)}
        targets = torch.zeros(len(tasks), len(index))
        for b, task in enumerate(tasks):
            for statement in task.program.statements:
                targets[b, index[statement.primitive]] = 1.0
        return PrimitivePart(primitive_inputs(tasks, featurizer), targets)

    def loss(self, model, part: PrimitivePart) -> dict[str, torch.Tensor]:
        logits = model.primitive_forward(part.inputs).float()
        return {"primitives": self.weight * F.binary_cross_entropy_with_logits(logits, part.targets)}
