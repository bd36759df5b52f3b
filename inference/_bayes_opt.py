"""Bayesian optimisation with a Pyro Gaussian process over a box of a continuous latent.

The latent-executor design searches a program latent by GP Bayesian optimisation,
which "reliably finds solutions" where gradient descent gets stuck. This module is the
optimiser: a GP (``pyro.contrib.gp``, Matérn-5/2 kernel with one lengthscale per
dimension, hyperparameters fitted by maximum marginal likelihood after each
evaluation) models the objective; the next point maximises expected improvement over
random candidates in the box. Each call of the objective is one evaluation of the
budget, so methods compare at equal evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pyro.contrib.gp as gp
import torch

from ._seeding import seeded_pyro

__all__ = ["BayesOptResult", "minimize_gp"]


@dataclass(frozen=True)
class BayesOptResult:
    """What :func:`minimize_gp` evaluated.

    Attributes:
        points: shape ``(N, D)``, the evaluated points in order.
        values: shape ``(N,)``, the objective at each.
        best: shape ``(D,)``, the point of the smallest value.
        best_value: that value.
    """

    points: torch.Tensor
    values: torch.Tensor
    best: torch.Tensor
    best_value: float


def _expected_improvement(mean: torch.Tensor, sd: torch.Tensor, best: float) -> torch.Tensor:
    """EI of a minimisation at each candidate, ``(C,)`` from posterior mean and sd ``(C,)``."""
    normal = torch.distributions.Normal(0.0, 1.0)
    gain = best - mean
    z = gain / sd
    return gain * normal.cdf(z) + sd * normal.log_prob(z).exp()


def minimize_gp(
    objective: Callable[[torch.Tensor], float],
    lower: torch.Tensor,
    upper: torch.Tensor,
    *,
    evaluations: int,
    initial: int = 5,
    candidates: int = 2048,
    fit_steps: int = 10,
    seed: int = 0,
    stop_below: float | None = None,
    start: torch.Tensor | None = None,
) -> BayesOptResult:
    """Minimise ``objective`` over the box ``[lower, upper]`` by GP Bayesian optimisation.

    Args:
        objective: ``z`` of shape ``(D,)`` -> a float; called ``evaluations`` times at most.
        lower, upper: shape ``(D,)``, the box (``lower < upper``).
        evaluations: objective calls in all, the first ``initial`` at uniform random points.
        initial: random points before the GP steers (default 5).
        candidates: random points per step among which expected improvement is maximised
            (default 2048).
        fit_steps: Adam steps on the GP's marginal likelihood after each evaluation,
            continuing from the previous hyperparameters (default 10).
        seed: seeds the random points and Pyro inside a forked torch RNG state; the
            caller's global RNGs are left as they were.
        stop_below: stop as soon as a value is at most this (default ``None``: never).
        start: shape ``(D,)``, a point inside the box evaluated first, in place of the
            first random one (default ``None``); a search starts where an amortised
            guess puts it.

    Returns:
        A :class:`BayesOptResult`.

    Raises:
        ValueError: the box is not 1-D with ``lower < upper``, or ``evaluations < 1``.

    Example:
        >>> import torch
        >>> out = minimize_gp(lambda z: float(((z - 0.3) ** 2).sum()), -torch.ones(2), torch.ones(2),
        ...                   evaluations=15, seed=0)
        >>> out.points.shape, out.best_value < 0.05
        (torch.Size([15, 2]), True)
    """
    lower, upper = torch.as_tensor(lower, dtype=torch.float64), torch.as_tensor(upper, dtype=torch.float64)
    if lower.dim() != 1 or lower.shape != upper.shape or not bool((lower < upper).all()):
        raise ValueError(f"lower and upper must be 1-D of one shape with lower < upper; got {lower} and {upper}")
    if evaluations < 1 or initial < 1 or candidates < 1:
        raise ValueError(f"need evaluations, initial, candidates >= 1; got {evaluations}, {initial}, {candidates}")
    dim = lower.shape[0]
    if start is not None:
        start = torch.as_tensor(start, dtype=torch.float64)
        if start.shape != lower.shape or not bool(((lower <= start) & (start <= upper)).all()):
            raise ValueError(f"start must have shape {tuple(lower.shape)} and lie in the box, got {start}")
    points: list[torch.Tensor] = []  # in the unit cube
    values: list[float] = []
    with seeded_pyro(seed, own_param_store=True):  # the GP's parameters live in Pyro's store
        surrogate = None
        while len(values) < evaluations:
            if not values and start is not None:
                unit = (start - lower) / (upper - lower)
            elif len(values) < initial:
                unit = torch.rand(dim, dtype=torch.float64)
            else:
                x, y = torch.stack(points), torch.tensor(values, dtype=torch.float64)
                surrogate = _fit(surrogate, x, y, fit_steps)
                unit = _propose(surrogate, float(surrogate.y.min()), dim, candidates)
            values.append(float(objective((lower + unit * (upper - lower)).to(torch.get_default_dtype()))))
            points.append(unit)
            if stop_below is not None and values[-1] <= stop_below:
                break
    x = lower + torch.stack(points) * (upper - lower)
    y = torch.tensor(values, dtype=torch.float64)
    best = int(torch.argmin(y))
    return BayesOptResult(points=x, values=y, best=x[best], best_value=float(y[best]))


def _fit(model: gp.models.GPRegression | None, x: torch.Tensor, y: torch.Tensor, steps: int) -> gp.models.GPRegression:
    """The GP on ``(x, y)`` (``y`` standardised, so the kernel's variance starts at the
    right size), its hyperparameters trained ``steps`` Adam steps on from ``model``'s."""
    scale = y.std() if len(y) > 1 and float(y.std()) > 0 else torch.tensor(1.0, dtype=y.dtype)
    target = (y - y.mean()) / scale
    if model is None:
        kernel = gp.kernels.Matern52(input_dim=x.shape[1], lengthscale=torch.full((x.shape[1],), 0.3, dtype=x.dtype))
        model = gp.models.GPRegression(x, target, kernel, noise=torch.tensor(1e-3, dtype=x.dtype), jitter=1e-6)
    else:
        model.set_data(x, target)
    gp.util.train(model, torch.optim.Adam(model.parameters(), lr=0.05), num_steps=steps)
    return model


def _propose(model: gp.models.GPRegression, best: float, dim: int, candidates: int) -> torch.Tensor:
    """The random candidate in the unit cube of largest expected improvement below ``best``."""
    pool = torch.rand(candidates, dim, dtype=torch.float64)
    with torch.no_grad():
        mean, var = model(pool, full_cov=False, noiseless=False)
    gain = _expected_improvement(mean, var.clamp(min=1e-12).sqrt(), best)
    if not bool(torch.isfinite(gain).any()):
        return pool[0]
    return pool[int(torch.nan_to_num(gain, nan=-math.inf).argmax())]
