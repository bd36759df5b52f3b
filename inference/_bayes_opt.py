"""Bayesian optimisation with a Pyro Gaussian process over a box of a continuous latent.

The latent-executor design searches a program latent by GP Bayesian optimisation,
which "reliably finds solutions" where gradient descent gets stuck. This module is the
optimiser: a GP (``pyro.contrib.gp``, Matérn-5/2 kernel with one lengthscale per
dimension, hyperparameters fitted by maximum marginal likelihood after each
round) models the objective; the next points maximise expected improvement over
random candidates (uniform in the box, or the caller's draws, and optionally some
around the best point so far). A round proposes ``batch`` points at once, so an
objective that is cheaper per point in batches (decoding latents) runs batched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
    objective: Callable[[torch.Tensor], Sequence[float]],
    lower: torch.Tensor,
    upper: torch.Tensor,
    *,
    evaluations: int,
    batch: int = 1,
    initial: int = 5,
    candidates: int = 2048,
    sample_candidates: Callable[[int, torch.Generator], torch.Tensor] | None = None,
    local: float = 0.0,
    local_scale: float = 0.1,
    fit_steps: int = 10,
    seed: int = 0,
    stop_below: float | None = None,
    start: torch.Tensor | None = None,
) -> BayesOptResult:
    """Minimise ``objective`` over the box ``[lower, upper]`` by GP Bayesian optimisation.

    Args:
        objective: points ``(B, D)`` -> B floats; called with ``batch`` points at a time
            (fewer at the end), ``evaluations`` points in all at most.
        lower, upper: shape ``(D,)``, the box (``lower < upper``).
        evaluations: objective evaluations (points) in all; the first ``initial``
            points are random draws from ``sample_candidates``.
        batch: points proposed per round (default 1). Each round refits the GP once;
            a round's later points maximise expected improvement given the earlier
            ones at the GP's predicted mean (the "kriging believer"), so one costly
            call of ``objective`` serves ``batch`` points.
        initial: random points before the GP steers (default 5).
        candidates: points per proposal among which expected improvement is
            maximised (default 2048).
        sample_candidates: ``(n, generator)`` -> ``n`` points ``(n, D)`` in the box, the
            random initial points and candidates (default uniform in the box); a
            search with an amortised guess passes draws from it.
        local: the fraction of the candidates drawn instead around the best point so
            far (default 0: none), Gaussian with standard deviation ``local_scale``
            times the box's width, clipped to the box: a trust region as in TuRBO
            (Eriksson et al. 2019), where a high-dimensional box is too big to cover.
        local_scale: see ``local`` (default 0.1).
        fit_steps: Adam steps on the GP's marginal likelihood per round, continuing
            from the previous hyperparameters (default 10).
        seed: seeds the random points and Pyro inside a forked torch RNG state; the
            caller's global RNGs are left as they were.
        stop_below: stop after the round in which a value is at most this (default
            ``None``: never).
        start: shape ``(D,)`` or ``(S, D)``, points inside the box evaluated first, in
            place of the first random ones (default ``None``); a search starts where
            an amortised guess, or an earlier run's best, puts it.

    Returns:
        A :class:`BayesOptResult`.

    Raises:
        ValueError: the box is not 1-D with ``lower < upper``, bad counts or fractions,
            or ``start`` outside the box.

    Example:
        >>> import torch
        >>> out = minimize_gp(lambda z: ((z - 0.3) ** 2).sum(1).tolist(), -torch.ones(2), torch.ones(2),
        ...                   evaluations=15, seed=0)
        >>> out.points.shape, out.best_value < 0.05
        (torch.Size([15, 2]), True)
    """
    lower, upper = torch.as_tensor(lower, dtype=torch.float64), torch.as_tensor(upper, dtype=torch.float64)
    if lower.dim() != 1 or lower.shape != upper.shape or not bool((lower < upper).all()):
        raise ValueError(f"lower and upper must be 1-D of one shape with lower < upper; got {lower} and {upper}")
    if min(evaluations, batch, initial, candidates) < 1:
        raise ValueError(f"need evaluations, batch, initial, candidates >= 1; got {evaluations}, {batch}, {initial}, {candidates}")
    if not 0 <= local <= 1 or not local_scale > 0:
        raise ValueError(f"need 0 <= local <= 1 and local_scale > 0; got {local} and {local_scale}")
    width = upper - lower
    starts = torch.empty(0, lower.shape[0], dtype=torch.float64)
    if start is not None:
        starts = torch.as_tensor(start, dtype=torch.float64)
        starts = starts.unsqueeze(0) if starts.dim() == 1 else starts
        if starts.dim() != 2 or starts.shape[1] != lower.shape[0] or not bool(((lower <= starts) & (starts <= upper)).all()):
            raise ValueError(f"start must have shape {tuple(lower.shape)} or (S, {lower.shape[0]}) and lie in the box, got {start}")

    def draw(n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` candidate points in the unit cube."""
        if sample_candidates is None:
            return torch.rand(n, lower.shape[0], dtype=torch.float64, generator=generator)
        points = torch.as_tensor(sample_candidates(n, generator), dtype=torch.float64)
        return ((points - lower) / width).clamp(0, 1)

    points: list[torch.Tensor] = []  # in the unit cube
    values: list[float] = []
    with seeded_pyro(seed, own_param_store=True):  # the GP's parameters live in Pyro's store
        generator = torch.Generator().manual_seed(seed)
        surrogate = None
        while len(values) < evaluations and not (stop_below is not None and values and min(values) <= stop_below):
            size = min(batch, evaluations - len(values))
            if len(values) < max(initial, len(starts)):
                unit = torch.cat([(starts - lower) / width, draw(max(initial, len(starts)) - len(starts), generator)])
                unit = unit[len(values):len(values) + size]
            else:
                x, y = torch.stack(points), torch.tensor(values, dtype=torch.float64)
                surrogate = _fit(surrogate, x, y, fit_steps)
                pool_size = round(candidates * local)
                incumbent = points[int(torch.argmin(y))]
                around = (incumbent + local_scale * torch.randn(pool_size, x.shape[1], dtype=torch.float64,
                                                                generator=generator)).clamp(0, 1)
                pool = torch.cat([draw(candidates - pool_size, generator), around])
                unit = _propose(surrogate, pool, size)
            found = objective((lower + unit * width).to(torch.get_default_dtype()))
            if len(found) != len(unit):
                raise ValueError(f"objective returned {len(found)} values for {len(unit)} points")
            values.extend(float(v) for v in found)
            points.extend(unit)
    x = lower + torch.stack(points) * width
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


def _propose(model: gp.models.GPRegression, pool: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` points of ``pool`` ``(C, D)``, each of largest expected improvement given
    the GP's data and the points picked before it at their predicted means."""
    x, y = model.X, model.y
    picked = []
    for _ in range(size):
        with torch.no_grad():
            mean, var = model(pool, full_cov=False, noiseless=False)
        gain = _expected_improvement(mean, var.clamp(min=1e-12).sqrt(), float(model.y.min()))
        best = int(torch.nan_to_num(gain, nan=-math.inf).argmax()) if bool(torch.isfinite(gain).any()) else 0
        picked.append(pool[best])
        if len(picked) < size:
            model.set_data(torch.cat([model.X, pool[best : best + 1]]), torch.cat([model.y, mean[best : best + 1]]))
            pool = torch.cat([pool[:best], pool[best + 1 :]])
    model.set_data(x, y)
    return torch.stack(picked)
