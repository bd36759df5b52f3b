"""Effective sample size and split R̂ for chains over programs.

A program has no mean, so the diagnostics are those of a scalar statistic of each draw
(the chain's log target, a program's length, whether it solves the task), computed by
Pyro's own estimators (``pyro.ops.stats``), as ``MCMC.summary()`` does for a
continuous site.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from pyro.ops.stats import effective_sample_size, split_gelman_rubin
from worldmodel.datasets import Program

__all__ = ["ChainDiagnostics", "program_chain_diagnostics"]


@dataclass(frozen=True)
class ChainDiagnostics:
    """How well chains over programs mixed, judged on one statistic.

    Attributes:
        effective_sample_size: Pyro's ESS of the statistic, over all chains.
        r_hat: Pyro's split Gelman–Rubin R̂ (near 1 when the chains agree; above about
            1.01–1.1 they have not mixed). Both are NaN when the statistic never
            varies.
        draws: draws per chain.
        chains: number of chains.
    """

    effective_sample_size: float
    r_hat: float
    draws: int
    chains: int


def program_chain_diagnostics(
    chains: Sequence[Sequence[Program]], statistic: Callable[[Program], float]
) -> ChainDiagnostics:
    """ESS and split R̂ of ``statistic`` over ``chains`` of program draws.

    Args:
        chains: C chains of N draws each (``EditMetropolisKernel.decode_samples`` of
            each chain's samples); C >= 1, N >= 4 (split R̂ halves each chain).
        statistic: a number per program, e.g. the chain's log target.

    Raises:
        ValueError: no chains, chains of different lengths, or fewer than 4 draws.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> a, b = deepcoder.parse("a <- [int]"), deepcoder.parse("a <- [int] | b <- SORT a")
        >>> mixed = program_chain_diagnostics([[a, b] * 50, [b, a] * 50], len)
        >>> stuck = program_chain_diagnostics([[a] * 99 + [b], [b] * 99 + [a]], len)
        >>> mixed.r_hat < 1.01 < stuck.r_hat
        True
    """
    if not chains:
        raise ValueError("chains is empty: pass at least one chain of program draws")
    draws = {len(chain) for chain in chains}
    if len(draws) != 1:
        raise ValueError(f"every chain needs the same number of draws, got lengths {sorted(draws)}")
    (n,) = draws
    if n < 4:
        raise ValueError(f"need at least 4 draws a chain (split R̂ halves each chain), got {n}")
    values = torch.tensor([[float(statistic(p)) for p in chain] for chain in chains], dtype=torch.float64)  # (C, N)
    return ChainDiagnostics(
        effective_sample_size=float(effective_sample_size(values, chain_dim=0, sample_dim=1)),
        r_hat=float(split_gelman_rubin(values, chain_dim=0, sample_dim=1)),
        draws=n,
        chains=len(chains),
    )
