"""Shared encoders: values, specifications (sets of examples) and executed programs."""

from __future__ import annotations

import torch
from torch import nn

from ._batches import ProgramBatch, SpecBatch
from ._pair_features import NUM_EXECUTION_FEATURES

__all__ = ["MAX_INPUTS", "ValueEncoder", "SpecEncoder", "ProgramEncoder", "mlp", "masked_pool"]

MAX_INPUTS = 4
"""Most inputs of a task the spec encoder takes."""


def mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    """Two-layer perceptron with LayerNorm on the hidden layer."""
    return nn.Sequential(nn.Linear(inp, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, out))


def masked_pool(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Masked mean and max over ``dim``, concatenated on the last axis.

    Args:
        x: ``(..., S, ..., D)`` values; ``dim`` indexes ``S``.
        mask: ``x.shape[:-1]`` bool; an all-False slice pools to zeros.

    Returns:
        ``(..., 2D)`` (``S`` removed).
    """
    m = mask.unsqueeze(-1).to(x.dtype)
    count = m.sum(dim).clamp(min=1)
    mean = (x * m).sum(dim) / count
    mx = x.masked_fill(~mask.unsqueeze(-1), torch.finfo(x.dtype).min).amax(dim)
    mx = torch.where(mask.any(dim).unsqueeze(-1), mx, torch.zeros_like(mx))
    return torch.cat([mean, mx], dim=-1)


class ValueEncoder(nn.Module):
    """Embeds value-token rows (ints, int lists, the error value) as vectors.

    Args:
        num_tokens: value vocabulary size (``Vocabulary.num_value_tokens``).
        width: tokens per row L (longest list + 2).
        token_dim: token embedding width E.
        dim: output width D.

    Shapes: ``(U, L)`` long -> ``(U, D)``.
    """

    def __init__(self, num_tokens: int, width: int, token_dim: int, dim: int):
        super().__init__()
        self.token = nn.Embedding(num_tokens, token_dim, padding_idx=0)
        self.position = nn.Embedding(width, token_dim)
        self.out = mlp(2 * token_dim + 1, dim, dim)
        self.width = width

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != 0  # (U, L)
        x = self.token(ids) + self.position.weight[: ids.shape[1]]  # (U, L, E)
        length = mask.sum(-1, keepdim=True).to(x.dtype) / self.width  # (U, 1)
        return self.out(torch.cat([masked_pool(x, mask, 1), length], -1))  # (U, D)


class SpecEncoder(nn.Module):
    """Encodes a set of K examples ``(x, y)``, invariant to their order (DeepSets).

    Returns the per-example encodings ``(B, K, D)`` and the pooled spec ``s`` ``(B, D)``.
    """

    def __init__(self, dim: int, max_inputs: int = MAX_INPUTS):
        super().__init__()
        self.input_position = nn.Embedding(max_inputs, dim)
        self.example = mlp(2 * dim, dim, dim)
        self.pool = mlp(2 * dim, dim, dim)

    def forward(self, spec: SpecBatch, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``values``: ``(U, D)`` encodings of ``spec.values``."""
        present = (spec.inputs != 0).unsqueeze(-1)  # (B, K, I, 1)
        x = (values[spec.inputs] + self.input_position.weight[: spec.inputs.shape[2]]) * present
        x = x.sum(2)  # (B, K, D)
        y = values[spec.targets]  # (B, K, D)
        examples = self.example(torch.cat([x, y], -1))  # (B, K, D)
        return examples, self.pool(masked_pool(examples, spec.example_mask, 1))  # (B, K, D), (B, D)


class ProgramEncoder(nn.Module):
    """Encodes a program *and its execution* on a spec to a latent ``z_φ`` ``(N, D)``.

    Per example it compares the program's output with the target (learned value
    embeddings plus :func:`pair_features` and a one-step look-ahead) and every
    intermediate value with the target (max-pooled over variables); these per-example
    vectors, together with the example's own encoding, are pooled over examples (mean
    and max, so order does not matter) and combined with a pooled embedding of the
    program's tokens. Each distinct per-example state is encoded once (state table).
    """

    def __init__(self, num_tokens: int, max_tokens: int, token_dim: int, dim: int):
        super().__init__()
        self.token = nn.Embedding(num_tokens, token_dim, padding_idx=0)
        self.position = nn.Embedding(max_tokens, token_dim)
        self.tokens_out = mlp(2 * token_dim, dim, dim)
        f = NUM_EXECUTION_FEATURES
        self.variable = mlp(2 * dim + f, dim, dim)
        self.output = mlp(4 * dim + f, dim, dim)
        self.example = mlp(4 * dim, dim, dim)
        self.latent = mlp(3 * dim + 1, dim, dim)
        self.max_tokens = max_tokens

    def forward(
        self, batch: ProgramBatch, values: torch.Tensor, spec_examples: torch.Tensor
    ) -> torch.Tensor:
        """``values``: ``(U, D)``; ``spec_examples``: ``(B, K, D)``. Returns ``(N, D)``."""
        tokens = batch.tokens[:, : self.max_tokens]
        tmask = tokens != 0
        t = self.token(tokens) + self.position.weight[: tokens.shape[1]]  # (N, T, E)
        t = self.tokens_out(masked_pool(t, tmask, 1))  # (N, D)
        pv, pt = values[batch.pair_value], values[batch.pair_target]  # (Q, D)
        feats = batch.pair_features.to(pv.dtype)
        hv = self.variable(torch.cat([pv, pv * pt, feats], -1))[batch.state_variables]  # (S, V, D)
        hv = masked_pool(hv, batch.state_variable_mask, 1)[..., hv.shape[-1] :]  # max only: (S, D)
        ho = self.output(torch.cat([pv, pt, pv * pt, (pv - pt).abs(), feats], -1))[batch.state_output]  # (S, D)
        x = spec_examples[batch.state_task, batch.state_example]  # (S, D)
        e = self.example(torch.cat([ho, hv, x, ho * hv], -1))[batch.states]  # (N, K, D)
        mask = batch.spec.example_mask[batch.task]  # (N, K)
        pooled = masked_pool(e, mask, 1)  # (N, 2D)
        return self.latent(torch.cat([pooled, t, batch.valid.unsqueeze(-1).to(t.dtype)], -1))  # (N, D)
