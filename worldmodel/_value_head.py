"""Value head: is an intermediate value on the way to the target?

BUSTLE's idea (Odena et al. 2021) for bottom-up search: of the values an enumeration
builds, a learned model says which are likely sub-expressions of a solution, and the
search combines those first. Here a value is a K-tuple of results, one per example,
and the head reads :func:`pair_features` of each result against that example's
target output (BUSTLE's property signatures play this part), the value's type, and the
shared spec encoder's encoding of the examples. It runs no program: the enumeration
has the values already.

Training (:class:`ValueTerm`) takes, for each task, the values of its program's
statements on the examples (positives; the output itself and the inputs left out)
and values one statement away from them or the inputs that the program does not make
(negatives): the values a bottom-up search builds next to the right ones.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from worldmodel.datasets import Domain, ExecutionError, Task, Type

from ._encoders import masked_pool, mlp
from ._features import NUM_PAIR_FEATURES, Featurizer, SpecBatch, _Batch, pair_features

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
    """

    specs: SpecBatch
    task: torch.Tensor
    features: torch.Tensor


def value_inputs(specs: SpecBatch, task: Sequence[int], features: Sequence[Sequence[Sequence[float]]]) -> ValueInputs:
    """Pack per-value feature rows (each ``K_task x F``) into :class:`ValueInputs`."""
    k = specs.targets.shape[1]
    # Pad each value's rows to K, then one tensor from all: per-row tensors cost more than the features.
    padding = (0.0,) * NUM_VALUE_FEATURES
    rows = [list(r) + [padding] * (k - len(r)) if len(r) < k else r for r in features]
    table = torch.tensor(rows, dtype=torch.float32) if rows else torch.zeros(0, k, NUM_VALUE_FEATURES)
    return ValueInputs(specs, torch.tensor(list(task), dtype=torch.long), table)


class ValueHead(nn.Module):
    """Logits ``(N,)`` of "this value is computed by a solution of its task".

    Args:
        dim: spec width D.
        hidden: width H of its hidden layers (default 64).

    Shapes: example encodings ``(B, K, D)``, pooled spec ``(B, D)`` and
    :class:`ValueInputs` of N values -> ``(N,)``.
    """

    def __init__(self, dim: int, *, hidden: int | None = None):
        super().__init__()
        hidden = hidden or 64
        self.example = mlp(dim + NUM_VALUE_FEATURES, hidden, hidden)
        self.out = nn.Sequential(mlp(2 * hidden + dim, hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, examples: torch.Tensor, pooled: torch.Tensor, inputs: ValueInputs) -> torch.Tensor:
        features = inputs.features.to(examples.dtype)  # (N, K, F)
        h = self.example(torch.cat([examples[inputs.task], features], -1))  # (N, K, H)
        mask = inputs.specs.example_mask[inputs.task]  # (N, K)
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
    """Binary cross-entropy of the value head on each task's program values and near misses.

    It reads only tasks (their programs are run here, in the data workers), so like
    the primitive term it takes every task of a step (``TrainConfig.spec_batch_size``).

    Attributes:
        weight: loss weight.
        negatives: near-miss values drawn per task (one statement applied to the inputs
            or to the program's values, not a value the program makes).
        seed: seeds the draws; a batch's draws depend only on its tasks' ids.
    """

    weight: float = 1.0
    negatives: int = 8
    seed: int = 0
    name: str = "values"
    spec_only: bool = True
    head: str = "value_head"

    def build(self, tasks: Sequence[Task], featurizer: Featurizer) -> ValuePart:
        domain = featurizer.domain
        names = list(domain.primitives)
        features, owner, labels = [], [], []
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
                    features.append(value_features(value, targets))
                    owner.append(b)
                    labels.append(1.0)
            by_type = {t: [c for c, ct in zip(columns, types) if ct is t] for t in (Type.INT, Type.LIST)}
            drawn = 0
            for _ in range(4 * self.negatives):
                if drawn == self.negatives:
                    break
                p = domain.primitives[rng.choice(names)]
                if any(not by_type[t] for t in p.arg_types):
                    continue
                value = _apply(domain, p.name, [rng.choice(by_type[t]) for t in p.arg_types])
                if value is None or value in made or value in outside:
                    continue
                features.append(value_features(value, targets))
                owner.append(b)
                labels.append(0.0)
                drawn += 1
        specs = featurizer.specs(tasks)
        return ValuePart(value_inputs(specs, owner, features), torch.tensor(labels))

    def loss(self, model, part: ValuePart) -> dict[str, torch.Tensor]:
        logits = model.value_forward(part.inputs).float()
        return {"values": self.weight * F.binary_cross_entropy_with_logits(logits, part.targets)}
