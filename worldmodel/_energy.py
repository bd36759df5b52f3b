"""The energy head E(x, y, φ) and its training losses.

E is a small perceptron on ``[z_φ, s]`` (program latent, spec encoding); lower is
better. Because ``z_φ`` is an input, E is also defined (and differentiable) on the
latent, for continuous samplers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._encoders import mlp

__all__ = ["EnergyHead", "contrastive_loss", "chain_ranking_loss"]


class EnergyHead(nn.Module):
    """``(N, D)`` program latents and ``(N, D)`` spec encodings -> ``(N,)`` energies."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = mlp(3 * dim, dim, 1)

    def forward(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, s, z * s], -1)).squeeze(-1)


def contrastive_loss(energy: torch.Tensor, positive: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """InfoNCE over candidates: the solution (column 0) against the negatives.

    Args:
        energy: ``(B, C)`` energies of each task's candidates; column 0 is a solution.
        positive: ``(B, C)`` bool, candidates that also solve the task (excluded as
            negatives, since they are not wrong).
        mask: ``(B, C)`` bool, real candidates.

    Returns:
        scalar: mean over tasks of ``-log softmax(-E)[0]``.
    """
    logits = (-energy).masked_fill(~mask | positive, float("-inf"))
    logits[:, 0] = -energy[:, 0]
    return F.cross_entropy(logits.float(), torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def chain_ranking_loss(energy: torch.Tensor, distance: torch.Tensor, margin: float) -> torch.Tensor:
    """Margin loss along corruption chains: ``E(d) + margin < E(d')`` for every ``d < d'``.

    Args:
        energy: ``(B, S)`` energies of the chain ``φ = φ₀, φ₁, …``.
        distance: ``(B, S)`` long, edits from the solution (``-1`` = absent).
        margin: required gap per unit of distance difference.

    Returns:
        scalar: mean hinge over all valid ordered pairs (0 if none).
    """
    d = distance.unsqueeze(2), distance.unsqueeze(1)  # (B, S, 1), (B, 1, S)
    pairs = (d[0] >= 0) & (d[1] > d[0])  # (B, S, S): row closer than column
    gap = margin * (d[1] - d[0]).to(energy.dtype)
    hinge = F.relu(gap + energy.unsqueeze(2) - energy.unsqueeze(1))
    count = pairs.sum()
    if count == 0:
        return energy.sum() * 0.0
    return (hinge * pairs).sum() / count
