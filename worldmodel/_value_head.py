"""Value head: is an intermediate value on the way to the target?

BUSTLE's idea (Odena et al. 2021) for bottom-up search: of the values an enumeration
builds, a learned model says which are likely sub-expressions of a solution, and the
search combines those first. Here a value is a K-tuple of results, one per example,
and the head reads, per example: :func:`pair_features` of the result against that
example's target output (BUSTLE's property signatures play this part) and the
value's type; the result's tokens laid side by side with the target's, position by
position (as the primitive head reads inputs and output); the shared value encoder's
encoding of the result; and the shared spec encoder's encoding of the example. It
runs no program: the enumeration has the values already.

Training (:class:`ValueTerm`) takes, for each task, the values of its program's
statements on the examples (positives; the output itself and the inputs left out)
and values the program does not make (negatives), grown as bottom-up search grows
them: each applies a random primitive to the inputs, the program's values or
earlier negatives, so that they range from near misses to values built on values
that lead nowhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from worldmodel.datasets import Domain, ExecutionError, Task, Type

from ._batches import SpecBatch, _Batch
from ._encoders import masked_pool, mlp
from ._features import Featurizer
from ._pair_features import NUM_PAIR_FEATURES, pair_features

__all__ = ["ValueHead", "ValueInputs", "ValuePart", "ValueTerm", "value_features"]

NUM_VALUE_FEATURES = NUM_PAIR_FEATURES + 2  # the pair features and the value's type (int, list)


def value_features(results: Sequence, targets: Sequence) -> list[tuple[float, ...]]:
    """Per example, the pair features of ``results[k]`` against ``targets[k]`` and the type.

    ``results`` and ``targets`` hold one value per example, lists as tuples or as lists
    (the same kind in both: the features compare them with ``==``).
    """
    return [(*pair_features(v, y), float(type(v) is int), float(type(v) is not int)) for v, y in zip(results, targets)]


@dataclass
class ValueInputs(_Batch):
    """N candidate values of B tasks.

    Attributes:
        specs: the B tasks' specs.
        task: ``(N,)`` long, the task of each value.
        features: ``(N, K, F)`` float, :func:`value_features` per example (zeros where
            the task has fewer than K examples).
        tokens: ``(N, K, L)`` long, the value-token row of the result on each example
            (as :class:`~worldmodel.datasets.Vocabulary` encodes it; 0 pads).
    """

    specs: SpecBatch
    task: torch.Tensor
    features: torch.Tensor
    tokens: torch.Tensor


def value_inputs(
    specs: SpecBatch, task: Sequence[int], features: Sequence[Sequence[Sequence[float]]],
    tokens: Sequence[Sequence[Sequence[int]]],
) -> ValueInputs:
    """Pack per-value feature rows (each ``K_task x F``) and token rows (each ``K_task``
    lists of at most L ids) into :class:`ValueInputs`."""
    k, width = specs.targets.shape[1], specs.values.shape[1]
    # Pad each value's rows to K, then one tensor from all: per-row tensors cost more than the features.
    padding = (0.0,) * NUM_VALUE_FEATURES
    rows = [list(r) + [padding] * (k - len(r)) if len(r) < k else r for r in features]
    table = torch.tensor(rows, dtype=torch.float32) if rows else torch.zeros(0, k, NUM_VALUE_FEATURES)
    blank = [0] * width
    flat = [row + [0] * (width - len(row)) for per_example in tokens for row in per_example + [blank] * (k - len(per_example))]
    ids = torch.tensor(flat, dtype=torch.long).view(len(tokens), k, width) if flat else torch.zeros(0, k, width, dtype=torch.long)
    return ValueInputs(specs, torch.tensor(list(task), dtype=torch.long), table, ids)


class ValueHead(nn.Module):
    """Logits ``(N,)`` of "this value is computed by a solution of its task".

    Args:
        dim: spec width D.
        num_tokens: value vocabulary size.
        width: tokens per value row L.
        token_dim: width E of the head's own token embedding (default 16).
        hidden: width H of its hidden layers (default 64).

    Shapes: value encodings of the candidates ``(N, K, D)`` (the shared value
    encoder's), example encodings ``(B, K, D)``, pooled spec ``(B, D)`` and
    :class:`ValueInputs` of N values -> ``(N,)``.
    """

    def __init__(self, dim: int, *, num_tokens: int, width: int, token_dim: int = 16, hidden: int | None = None):
        super().__init__()
        hidden = hidden or 64
        self.token = nn.Embedding(num_tokens, token_dim, padding_idx=0)
        # Both rows' embeddings and, per position, whether the tokens agree.
        self.side_by_side = nn.Linear(width * (2 * token_dim + 1), hidden)
        self.example = mlp(2 * dim + hidden + NUM_VALUE_FEATURES, hidden, hidden)
        self.out = nn.Sequential(mlp(2 * hidden + dim, hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(
        self, codes: torch.Tensor, examples: torch.Tensor, pooled: torch.Tensor, inputs: ValueInputs
    ) -> torch.Tensor:
        spec = inputs.specs
        features = inputs.features.to(examples.dtype)  # (N, K, F)
        target_ids = spec.values[spec.targets]  # (B, K, L)
        target = target_ids[inputs.task]  # (N, K, L)
        same = ((inputs.tokens == target) & (target != 0)).to(examples.dtype)  # (N, K, L)
        embedded = self.token(target_ids)[inputs.task]  # once per task, not per value: (N, K, L, E)
        rows = torch.cat([self.token(inputs.tokens), embedded, same.unsqueeze(-1)], -1)  # (N, K, L, 2E+1)
        side = F.gelu(self.side_by_side(rows.flatten(2)))  # (N, K, H)
        h = self.example(torch.cat([examples[inputs.task], codes, side, features], -1))  # (N, K, H)
        mask = spec.example_mask[inputs.task]  # (N, K)
        return self.out(torch.cat([masked_pool(h, mask, 1), pooled[inputs.task]], -1)).squeeze(-1)


def _apply(domain: Domain, name: str, args: Sequence[Sequence]) -> tuple | None:
    """One primitive on K examples' arguments, or ``None`` if invalid on any example."""
    primitive = domain.primitives[name]
    bounds = domain.bounds
    out = []
    for values in zip(*args):
        try:
            result = primitive.function(*values)
        except (IndexError, ValueError):
            return None
        items = result if isinstance(result, (list, tuple)) else (result,)
        if items and (min(items) < bounds.min_value or max(items) > bounds.max_value):
            return None
        out.append(list(result) if isinstance(result, (list, tuple)) else result)
    return tuple(tuple(v) if isinstance(v, list) else v for v in out)


def _key(values: Sequence) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


@dataclass
class ValuePart(_Batch):
    """The head's inputs for N values and ``targets`` ``(N,)``: 1 where the program makes the value."""

    inputs: ValueInputs
    targets: torch.Tensor


@dataclass
class ValueTerm:
    """Binary cross-entropy of the value head on each task's program values and negatives.

    It reads only tasks (their programs are run here, in the data workers), so like
    the primitive term it takes every task of a step (``TrainConfig.spec_batch_size``).

    Attributes:
        weight: loss weight.
        negatives: values drawn per task that its program does not make, each one
            random primitive applied to the inputs, the program's values or the
            negatives drawn before it (default 16).
        seed: seeds the draws; a batch's draws depend only on its tasks' ids.
    """

    weight: float = 1.0
    negatives: int = 16
    seed: int = 0
    name: str = "values"
    spec_only: bool = True
    head: str = "value_head"

    def build(self, tasks: Sequence[Task], featurizer: Featurizer) -> ValuePart:
        domain = featurizer.domain
        names = list(domain.primitives)
        features, tokens, owner, labels = [], [], [], []

        def add(value: tuple, targets: tuple, b: int, label: float) -> None:
            features.append(value_features(value, targets))
            tokens.append([featurizer.vocab.encode_value(v) for v in value])
            owner.append(b)
            labels.append(label)

        for b, task in enumerate(tasks):
            rng = random.Random(f"{self.seed}:{task.id}")
            try:
                traces = [domain.trace(task.program, list(e.inputs)) for e in task.examples]
            except ExecutionError:
                continue
            n_inputs = len(task.input_types)
            columns = [_key([trace[v] for trace in traces]) for v in range(len(traces[0]))]
            targets = _key([e.output for e in task.examples])
            types = [*task.input_types, *(domain.primitives[s.primitive].return_type for s in task.program.statements)]
            made = set(columns[n_inputs:])
            outside = set(columns[:n_inputs]) | {targets}
            for value in dict.fromkeys(columns[n_inputs:-1]):
                if value not in outside:
                    add(value, targets, b, 1.0)
            # The pool a bottom-up search would combine: inputs, program values, and
            # each negative once drawn.
            pool = {t: [c for c, ct in zip(columns, types) if ct is t] for t in Type}
            drawn, seen = 0, set()
            for _ in range(4 * self.negatives):
                if drawn == self.negatives:
                    break
                p = domain.primitives[rng.choice(names)]
                if any(not pool[t] for t in p.arg_types):
                    continue
                value = _apply(domain, p.name, [rng.choice(pool[t]) for t in p.arg_types])
                if value is None or value in made or value in outside or value in seen:
                    continue
                seen.add(value)
                pool[p.return_type].append(value)
                add(value, targets, b, 0.0)
                drawn += 1
        specs = featurizer.specs(tasks)
        return ValuePart(value_inputs(specs, owner, features, tokens), torch.tensor(labels))

    def loss(self, model, part: ValuePart) -> dict[str, torch.Tensor]:
        logits = model.value_forward(part.inputs).float()
        return {"values": self.weight * F.binary_cross_entropy_with_logits(logits, part.targets)}
