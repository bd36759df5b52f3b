"""The similarity head M(y, y' | x): a learned metric between output lists.

Symmetric by construction (the per-example pair vector uses only symmetric
combinations of the two outputs' encodings and the summed pair features), and
conditioned on the example inputs. Higher means more similar. Trained so that
outputs of programs few edits apart score higher than outputs of programs further
apart (see :func:`similarity_loss`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._batches import PairBatch
from ._encoders import masked_pool, mlp
from ._pair_features import NUM_PAIR_FEATURES

__all__ = ["SimilarityHead", "similarity_loss"]


class SimilarityHead(nn.Module):
    """Scores P pairs of per-example outputs; ``(P,)``, higher = more similar."""

    def __init__(self, dim: int):
        super().__init__()
        self.example = mlp(4 * dim + NUM_PAIR_FEATURES, dim, dim)
        self.out = mlp(2 * dim, dim, 1)

    def forward(self, batch: PairBatch, values: torch.Tensor, spec_examples: torch.Tensor) -> torch.Tensor:
        """``values``: ``(U, D)``; ``spec_examples``: ``(B, K, D)``."""
        a, b = values[batch.a], values[batch.b]  # (P, K, D)
        x = spec_examples[batch.task]  # (P, K, D)
        h = self.example(torch.cat([a * b, (a - b).abs(), a + b, x, batch.features.to(a.dtype)], -1))
        mask = batch.spec.example_mask[batch.task]
        return self.out(masked_pool(h, mask, 1)).squeeze(-1)


def similarity_loss(score: torch.Tensor, distance: torch.Tensor, margin: float) -> torch.Tensor:
    """Contrastive + ranking loss for M against the target outputs.

    Args:
        score: ``(B, C)`` ``M(y*, y_c)``: column 0 is the target itself (distance 0),
            then chain outputs at increasing edit distance, then other tasks' programs.
        distance: ``(B, C)`` long edit distance upper bound; ``-1`` absent; other tasks'
            programs get a distance larger than any chain's.
        margin: hinge margin per unit of distance difference.

    Returns:
        scalar: InfoNCE picking the closest present candidate after the target, plus
        the hinge ``M(d) > M(d') + margin·(d' - d)`` over ordered pairs.
    """
    present = distance >= 0
    d_row, d_col = distance.unsqueeze(2), distance.unsqueeze(1)
    pairs = present.unsqueeze(2) & (d_col > d_row)
    gap = margin * (d_col - d_row).to(score.dtype)
    hinge = F.relu(gap - score.unsqueeze(2) + score.unsqueeze(1))
    count = pairs.sum().clamp(min=1)
    rank = (hinge * pairs).sum() / count
    # InfoNCE: among candidates other than the target, the nearest should win.
    rest = score[:, 1:].masked_fill(~present[:, 1:], float("-inf"))
    nearest = distance[:, 1:].masked_fill(~present[:, 1:], 1 << 30).argmin(1)
    ok = present[:, 1:].any(1)
    if ok.any():
        nce = F.cross_entropy(rest[ok].float(), nearest[ok])
    else:
        nce = score.sum() * 0.0
    return rank + nce
