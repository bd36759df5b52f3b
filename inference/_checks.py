"""Statistical checks that a sampler's draws follow a known distribution.

Each check is a hypothesis test at level ``alpha``: for a *correct* sampler giving
*independent* draws it fails with probability at most ``alpha`` (the false-failure
rate), up to the accuracy of the asymptotic distribution it uses. MCMC draws are
correlated; thin a chain (keep every k-th draw, k well above the autocorrelation
time) before checking it, or the false-failure rate is larger than ``alpha``.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats
from worldmodel.datasets import WorldModelError

from ._posterior import ExactPosterior

__all__ = [
    "CheckResult",
    "SamplerCheckError",
    "check_seed",
    "check_samples",
    "check_continuous",
]


SEED_VARIABLE = "WORLDMODEL_TEST_SEED"


def check_seed(default: int = 0) -> int:
    """The seed for sampler checks: ``$WORLDMODEL_TEST_SEED`` if set, else ``default``.

    Tests use fixed seeds; setting the variable reruns the same checks on other
    seeds, which measures the real false-failure rate (``alpha`` per check).

    Raises:
        SamplerCheckError: the variable is set but not an integer.

    Example:
        >>> import os
        >>> check_seed(7) if "WORLDMODEL_TEST_SEED" not in os.environ else 7
        7
    """
    text = os.environ.get(SEED_VARIABLE)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise SamplerCheckError(f"{SEED_VARIABLE}={text!r} is not an integer seed") from None


class SamplerCheckError(WorldModelError, ValueError):
    """A check was called with bad arguments (draws outside the support, too few draws...)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one goodness-of-fit check.

    Attributes:
        test: the test's name (``"g-test"``, ``"chi2"``, ``"ks"``, ``"energy"``).
        statistic: the test statistic.
        p_value: its p-value under "the sampler is correct".
        alpha: the level; a correct sampler fails with probability <= alpha.
        passed: ``p_value > alpha``.
        details: test-specific numbers (bins, expected and observed counts...).
    """

    test: str
    statistic: float
    p_value: float
    alpha: float
    passed: bool
    details: dict = field(default_factory=dict)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise SamplerCheckError(f"alpha must be in (0, 1), got {alpha!r}")


def _pool(expected: np.ndarray, observed: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Merge bins with expected count < ``min_expected``, smallest first, into one bin."""
    order = np.argsort(expected, kind="stable")
    small: list[int] = []
    total = 0.0
    for i in order:
        if expected[i] < min_expected or (small and total < min_expected):
            small.append(int(i))
            total += expected[i]
        else:
            break
    keep = np.setdiff1d(np.arange(len(expected)), small)
    if not small:
        return expected, observed, 0
    e = np.append(expected[keep], expected[small].sum())
    o = np.append(observed[keep], observed[small].sum())
    return e, o, len(small)


def check_samples(
    draws: Sequence[Hashable],
    exact: ExactPosterior,
    *,
    alpha: float = 1e-3,
    test: str = "g-test",
    min_expected: float = 5.0,
) -> CheckResult:
    """Test that discrete draws (e.g. programs) follow ``exact``.

    A G-test (or Pearson chi-square, ``test="chi2"``) of the counts of each support
    element against ``n · probs``. Bins with expected count below ``min_expected``
    are pooled into one bin (smallest first, until the pool itself reaches
    ``min_expected``) so the chi-square approximation holds; the degrees of freedom
    are (bins after pooling) − 1. Programs of probability 0 that are drawn make the
    check fail outright (p-value 0).

    Chance of a false failure: at most ``alpha`` for independent draws from
    ``exact`` (asymptotically; the pooling keeps every expected count >= 5).

    Args:
        draws: N independent draws, each an element of ``exact.support``.
        exact: the target distribution.
        alpha: the level (default 1e-3).
        test: ``"g-test"`` (default) or ``"chi2"``.
        min_expected: the smallest expected count of a bin (default 5).

    Returns:
        A :class:`CheckResult`; ``details`` has ``n``, ``bins``, ``pooled`` (how many
        support elements went into the pooled bin), ``dof``, ``observed`` and
        ``expected`` (after pooling) and ``max_abs_error`` (largest |freq − prob|).

    Raises:
        SamplerCheckError: a draw outside the support, fewer than two bins after
            pooling (draw more), a bad ``alpha`` or ``test``.

    Example:
        >>> import random
        >>> from worldmodel.datasets import Domain, Type, deepcoder
        >>> from worldmodel.inference import exact_posterior
        >>> tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "SUM"]})
        >>> post = exact_posterior(tiny, (Type.LIST,), max_length=2, energy=len)
        >>> draws = random.Random(0).choices(post.support, weights=post.probs, k=2000)
        >>> check_samples(draws, post).passed
        True
    """
    _check_alpha(alpha)
    if test not in ("g-test", "chi2"):
        raise SamplerCheckError(f"test must be 'g-test' or 'chi2', got {test!r}")
    counts = np.zeros(len(exact.support))
    for k, draw in enumerate(draws):
        i = exact.index.get(draw)
        if i is None:
            raise SamplerCheckError(
                f"draw {k} ({draw!r}) is not in the exact posterior's support; "
                "enumerate the same domain, input types and max_length the sampler uses"
            )
        counts[i] += 1
    n = int(counts.sum())
    expected = n * exact.probs
    impossible = (exact.probs == 0) & (counts > 0)
    if impossible.any():
        return CheckResult(test, float("inf"), 0.0, alpha, False, {"n": n, "impossible_draws": int(counts[impossible].sum())})
    nonzero = exact.probs > 0
    e, o, pooled = _pool(expected[nonzero], counts[nonzero], min_expected)
    if len(e) < 2 or e.min() < min_expected:
        raise SamplerCheckError(
            f"only {len(e)} bin(s) with expected count >= {min_expected} from {n} draws; draw more"
        )
    lambda_ = "log-likelihood" if test == "g-test" else "pearson"
    statistic, p_value = stats.power_divergence(o, e, lambda_=lambda_)
    details = {
        "n": n,
        "bins": len(e),
        "pooled": pooled,
        "dof": len(e) - 1,
        "observed": o,
        "expected": e,
        "max_abs_error": float(np.abs(counts / max(n, 1) - exact.probs).max()),
    }
    return CheckResult(test, float(statistic), float(p_value), alpha, bool(p_value > alpha), details)


def _as_2d(x: object, name: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or len(a) < 2:
        raise SamplerCheckError(f"{name} must have shape (N,) or (N, D) with N >= 2, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise SamplerCheckError(f"{name} has NaN or infinite values")
    return a.astype(float)


def _energy_statistics(d: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Energy distance for each column of 0/1 group labels ``groups`` ``(N+M, P)``."""
    a = groups.astype(float)
    b = 1.0 - a
    n, m = a[:, 0].sum(), b[:, 0].sum()
    da, db = d @ a, d @ b  # (N+M, P)
    cross = (a * db).sum(0) / (n * m)
    within_a = (a * da).sum(0) / (n * n)
    within_b = (b * db).sum(0) / (m * m)
    return 2 * cross - within_a - within_b


def check_continuous(
    draws: object,
    reference: object,
    *,
    alpha: float = 1e-3,
    num_permutations: int = 1000,
    seed: int = 0,
) -> CheckResult:
    """Test that continuous draws follow a reference distribution or sample.

    * ``reference`` a callable CDF (1-D draws): one-sample Kolmogorov–Smirnov test.
    * ``reference`` an array of shape ``(M,)`` with 1-D draws: two-sample KS test.
    * ``reference`` an array ``(M, D)`` with draws ``(N, D)``, D >= 1: the energy
      distance (Székely & Rizzo) with a permutation p-value (``num_permutations``,
      seeded); the p-value is ``(1 + #{perm >= observed}) / (1 + num_permutations)``,
      so ``alpha`` must exceed ``1 / (1 + num_permutations)`` to be reachable.

    Chance of a false failure: at most ``alpha`` when ``draws`` (and the reference
    sample) are independent draws from the same distribution (exact for the
    permutation test, asymptotic for KS).

    Args:
        draws: shape ``(N,)`` or ``(N, D)``, a tensor or array.
        reference: a CDF callable, or a sample of shape ``(M,)`` or ``(M, D)``.
        alpha: the level (default 1e-3).
        num_permutations: permutations of the energy test (default 1000).
        seed: seeds the permutations (default 0).

    Returns:
        A :class:`CheckResult` (``test`` is ``"ks"`` or ``"energy"``).

    Raises:
        SamplerCheckError: bad shapes, non-finite values, a CDF with D > 1 draws,
            or an ``alpha`` the permutation test cannot reach.

    Example:
        >>> import numpy as np
        >>> from scipy import stats
        >>> x = np.random.default_rng(0).normal(size=500)
        >>> check_continuous(x, stats.norm.cdf).passed, check_continuous(x + 1, stats.norm.cdf).passed
        (True, False)
    """
    _check_alpha(alpha)
    x = _as_2d(draws, "draws")
    if callable(reference):
        if x.shape[1] != 1:
            raise SamplerCheckError(f"a CDF reference needs 1-D draws, got shape {x.shape}; pass a reference sample")
        result = stats.kstest(x[:, 0], reference)
        return CheckResult("ks", float(result.statistic), float(result.pvalue), alpha, bool(result.pvalue > alpha), {"n": len(x)})
    y = _as_2d(reference, "reference")
    if y.shape[1] != x.shape[1]:
        raise SamplerCheckError(f"draws have D={x.shape[1]}, reference D={y.shape[1]}")
    if x.shape[1] == 1:
        result = stats.ks_2samp(x[:, 0], y[:, 0])
        return CheckResult("ks", float(result.statistic), float(result.pvalue), alpha, bool(result.pvalue > alpha), {"n": len(x), "m": len(y)})
    if alpha <= 1.0 / (1 + num_permutations):
        raise SamplerCheckError(
            f"alpha={alpha} is unreachable with {num_permutations} permutations; use more than {int(1 / alpha)}"
        )
    # Standardise by the reference's scale so no coordinate dominates the distance.
    scale = y.std(0) + 1e-12
    x, y = x / scale, y / scale
    z = np.concatenate([x, y])
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))  # (N+M, N+M)
    n = len(x)
    labels = np.zeros(len(z), dtype=bool)
    labels[:n] = True
    rng = np.random.default_rng(seed)
    permuted = np.stack([rng.permutation(labels) for _ in range(num_permutations)], axis=1)
    observed = float(_energy_statistics(d, labels[:, None])[0])
    exceed = int((_energy_statistics(d, permuted) >= observed).sum())
    p_value = (1 + exceed) / (1 + num_permutations)
    return CheckResult("energy", observed, p_value, alpha, bool(p_value > alpha), {"n": n, "m": len(y), "permutations": num_permutations})
