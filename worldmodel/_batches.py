"""Batches of featurised specs, programs and output pairs, pointing into one value table.

Every value (input, target, program output, intermediate value) of a batch goes into
one deduplicated *value table* (``(U, L)`` token ids, see :class:`Vocabulary`), and the
rest of the batch points into it. Neighbouring programs share most of their
intermediate values, so the value encoder runs once per distinct value, not once per
(program, example, variable). Row 0 of every value table is padding and row 1 is the
invalid/error value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from worldmodel.datasets import Vocabulary

__all__ = ["PAD_VALUE", "ERROR_VALUE", "ValueTable", "SpecBatch", "ProgramBatch", "PairBatch"]

PAD_VALUE, ERROR_VALUE = 0, 1


class ValueTable:
    """Deduplicates values into rows of token ids (row 0 padding, row 1 error)."""

    def __init__(self, vocab: Vocabulary, width: int):
        self.vocab = vocab
        self.width = width
        self._rows: dict[object, int] = {}
        self._ids: list[list[int]] = [[0] * width, vocab.encode_value(None) + [0] * (width - 1)]

    def index(self, value) -> int:
        """Row of ``value`` (``None`` -> the error row)."""
        if value is None:
            return ERROR_VALUE
        key = value if type(value) is int else tuple(value)
        row = self._rows.get(key)
        if row is None:
            ids = self.vocab.encode_value(value)
            if len(ids) > self.width:
                raise ValueError(f"value longer than the model's value width {self.width - 2}: {value!r}")
            row = len(self._ids)
            self._ids.append(ids + [0] * (self.width - len(ids)))
            self._rows[key] = row
        return row

    def tensor(self) -> torch.Tensor:
        """``(U, L)`` long."""
        return torch.tensor(self._ids, dtype=torch.long)


class _Batch:
    """Dataclass mixin: move every tensor field to a device."""

    def to(self, device: torch.device | str, *, non_blocking: bool = False):
        changes = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                changes[f.name] = value.to(device, non_blocking=non_blocking)
            elif isinstance(value, _Batch):
                changes[f.name] = value.to(device, non_blocking=non_blocking)
        return dataclasses.replace(self, **changes)

    def pin_memory(self):
        changes = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (torch.Tensor, _Batch)):
                changes[f.name] = value.pin_memory()
        return dataclasses.replace(self, **changes)


@dataclass
class SpecBatch(_Batch):
    """B specifications, pointing into a value table.

    Attributes:
        values: ``(U, L)`` long, value-table token ids.
        inputs: ``(B, K, I)`` long rows of the example inputs (0 = no such input).
        targets: ``(B, K)`` long rows of the target outputs.
        example_mask: ``(B, K)`` bool, real examples.
    """

    values: torch.Tensor
    inputs: torch.Tensor
    targets: torch.Tensor
    example_mask: torch.Tensor


@dataclass
class ProgramBatch(_Batch):
    """N programs executed on the examples of their specs.

    Comparisons of a value with its example's target are deduplicated into a *pair
    table* of Q rows, and per-example execution states (output and statement values
    on one example) into a *state table* of S rows (row 0 of each is padding):
    neighbouring programs share most values and most per-example states.

    Attributes:
        spec: the B specifications (its value table is shared with the programs).
        task: ``(N,)`` long, the spec row of each program.
        tokens: ``(N, T)`` long program tokens (0 = padding).
        valid: ``(N,)`` float, 1 if the program runs on every example.
        pair_value: ``(Q,)`` long value rows compared ...
        pair_target: ``(Q,)`` long ... with these target rows, ...
        pair_features: ``(Q, F + 1)`` float ... by :func:`pair_features` and the
            one-step look-ahead (:meth:`Featurizer.one_step`).
        states: ``(N, K)`` long rows of the state table below (0 = no such example).
        state_output: ``(S,)`` long pair row of (output, target) of each distinct
            per-example execution state; the error value if the program is invalid.
        state_variables: ``(S, V)`` long pair rows of (statement value, target).
        state_variable_mask: ``(S, V)`` bool.
        state_task, state_example: ``(S,)`` long, the spec row and example of each state.
    """

    spec: SpecBatch
    task: torch.Tensor
    tokens: torch.Tensor
    valid: torch.Tensor
    pair_value: torch.Tensor
    pair_target: torch.Tensor
    pair_features: torch.Tensor
    states: torch.Tensor
    state_output: torch.Tensor
    state_variables: torch.Tensor
    state_variable_mask: torch.Tensor
    state_task: torch.Tensor
    state_example: torch.Tensor

    def __len__(self) -> int:
        return self.task.shape[0]


@dataclass
class PairBatch(_Batch):
    """P pairs of output lists ``(a, b)`` on the examples of their specs.

    Attributes:
        spec: the B specifications (shared value table).
        task: ``(P,)`` long spec row of each pair.
        a, b: ``(P, K)`` long value rows of the two outputs.
        features: ``(P, K, F)`` float, ``pair_features(a, b) + pair_features(b, a)``
            (symmetric, so ``M(a, b) = M(b, a)``).
    """

    spec: SpecBatch
    task: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    features: torch.Tensor

    def __len__(self) -> int:
        return self.task.shape[0]
