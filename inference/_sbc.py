"""Simulation-based calibration (Talts et al. 2018): a check of a posterior sampler
that needs no closed-form posterior, only a prior and a simulator.

For each of S simulations, draw ``θ ~ prior``, ``y ~ simulate(θ)`` and L posterior
draws given ``y``; the rank of ``θ`` among them is uniform on ``0..L`` for every
dimension exactly when the sampler is right. The ranks are binned and tested with a
chi-square, Bonferroni-corrected over dimensions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from ._checks import SamplerCheckError, _check_alpha

__all__ = ["SBCResult", "run_sbc"]


@dataclass(frozen=True)
class SBCResult:
    """Simulation-based calibration: ranks of the true latent among posterior draws.

    Attributes:
        ranks: shape ``(S, D)``, integers in ``0..L`` (L posterior draws per simulation).
        statistic: the chi-square statistic per dimension, shape ``(D,)``.
        p_values: per dimension, shape ``(D,)``.
        alpha: the level of the whole check (Bonferroni over dimensions).
        passed: every ``p_value > alpha / D``.
        details: ``bins``, ``counts`` per dimension ``(D, bins)``, and ``advice``.
    """

    ranks: np.ndarray
    statistic: np.ndarray
    p_values: np.ndarray
    alpha: float
    passed: bool
    details: dict = field(default_factory=dict)


def run_sbc(
    prior_sample: Callable[[random.Random], np.ndarray],
    simulate: Callable[[np.ndarray, random.Random], object],
    posterior_sample: Callable[[object, int, random.Random], np.ndarray],
    *,
    num_simulations: int = 200,
    num_posterior_draws: int = 19,
    bins: int | None = None,
    alpha: float = 1e-3,
    seed: int = 0,
    pool_dimensions: bool = False,
) -> SBCResult:
    """Simulation-based calibration (Talts et al., 2018) of a sampler of continuous latents.

    For each of S simulations: ``θ ~ prior_sample(rng)`` (shape ``(D,)``), data
    ``y = simulate(θ, rng)``, L posterior draws ``posterior_sample(y, L, rng)`` (shape
    ``(L, D)``), and the rank of θ among them per dimension (how many draws are
    smaller), an integer in ``0..L``. If the sampler is exact, each rank is uniform
    on ``0..L``; a chi-square test over ``bins`` equal groups of rank values tests it.
    Too-narrow posteriors pile ranks at both ends, biased ones at one end.

    Thinning advice: the ranks are uniform only for *independent* posterior draws;
    autocorrelated MCMC draws pile ranks at the ends like a too-narrow posterior.
    Thin the chain so the L draws are close to independent (e.g. keep every k-th
    draw with k >= the integrated autocorrelation time), as Talts et al. advise.

    Chance of a false failure: at most ``alpha`` (Bonferroni over the D dimensions;
    asymptotic chi-square, the default binning keeps >= 5 expected per bin) when the
    posterior draws are independent and exact.

    Args:
        prior_sample: ``rng -> θ``, shape ``(D,)``.
        simulate: ``(θ, rng) -> y`` (any data the posterior sampler accepts).
        posterior_sample: ``(y, L, rng) -> draws``, shape ``(L, D)``.
        num_simulations: S (default 200).
        num_posterior_draws: L (default 19, so 20 rank values).
        bins: groups of rank values; must divide L + 1 (default: the largest divisor
            of L + 1 that keeps >= 5 expected simulations per bin, at most 20).
        alpha: the level (default 1e-3).
        seed: seeds the ``random.Random`` passed to the three callables (default 0).
        pool_dimensions: one test over the ranks of all dimensions together, for
            exchangeable dimensions: e.g. D independent simulations stacked into one
            latent so one chain serves them all (default False: one test per
            dimension, Bonferroni).

    Returns:
        An :class:`SBCResult` (with ``pool_dimensions``, ``statistic`` and
        ``p_values`` have shape ``(1,)``).

    Raises:
        SamplerCheckError: bad sizes, bins not dividing L + 1, or draws of the wrong shape.

    Example:
        >>> import numpy as np
        >>> prior = lambda rng: np.array([rng.gauss(0, 1)])
        >>> simulate = lambda theta, rng: theta[0] + rng.gauss(0, 1)
        >>> exact = lambda y, n, rng: np.array([[rng.gauss(y / 2, 0.5 ** 0.5)] for _ in range(n)])
        >>> run_sbc(prior, simulate, exact, num_simulations=200).passed
        True
    """
    _check_alpha(alpha)
    if num_simulations < 2 or num_posterior_draws < 1:
        raise SamplerCheckError("num_simulations must be >= 2 and num_posterior_draws >= 1")
    values = num_posterior_draws + 1
    if bins is not None and (bins < 2 or values % bins):
        raise SamplerCheckError(
            f"bins={bins} must be >= 2 and divide num_posterior_draws + 1 = {values}; "
            "choose num_posterior_draws so L + 1 has a divisor >= 2 (e.g. L = 19, 39, 99)"
        )
    rng = random.Random(seed)
    ranks = []
    for s in range(num_simulations):
        theta = np.atleast_1d(np.asarray(prior_sample(rng), dtype=float))
        y = simulate(theta, rng)
        draws = posterior_sample(y, num_posterior_draws, rng)
        draws = draws.detach().cpu().numpy() if isinstance(draws, torch.Tensor) else np.asarray(draws, dtype=float)
        draws = draws.reshape(num_posterior_draws, -1) if draws.ndim == 1 else draws
        if draws.shape != (num_posterior_draws, theta.shape[0]):
            raise SamplerCheckError(
                f"simulation {s}: posterior_sample returned shape {draws.shape}, "
                f"expected ({num_posterior_draws}, {theta.shape[0]})"
            )
        ranks.append((draws < theta).sum(0))
    ranks = np.asarray(ranks)
    columns = [ranks.reshape(-1)] if pool_dimensions else list(ranks.T)
    if bins is None:
        per_test = len(columns[0])
        divisors = [b for b in range(2, min(values, 20) + 1) if values % b == 0 and per_test / b >= 5]
        if not divisors:
            raise SamplerCheckError(
                f"{per_test} ranks per test are too few for >= 5 per bin with L + 1 = {values} rank values; "
                "run more simulations or choose L so L + 1 has a small divisor"
            )
        bins = max(divisors)
    group = values // bins
    counts = np.stack([np.bincount(r // group, minlength=bins) for r in columns])
    statistic, p_values = stats.chisquare(counts, axis=1)
    d = len(columns)
    advice = (
        "ranks piled at both ends: posterior too narrow or draws autocorrelated (thin the chain); "
        "at one end: posterior biased; in the middle: posterior too wide"
    )
    details = {"bins": bins, "counts": counts, "advice": advice}
    passed = bool(np.all(p_values > alpha / d))
    return SBCResult(ranks, np.asarray(statistic), np.asarray(p_values), alpha, passed, details)
