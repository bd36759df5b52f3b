"""The checks themselves: a correct sampler passes, a broken one fails (fixed seeds;
each passing assertion can fail falsely with probability alpha = 1e-3)."""

import math
import random

import numpy as np
import pytest
import torch
from scipy import stats
from worldmodel.datasets import Domain, Type, deepcoder
from worldmodel.inference import (
    ExactPosterior,
    SamplerCheckError,
    check_continuous,
    check_samples,
    check_seed,
    exact_posterior,
    run_sbc,
)

ALPHA = 1e-3
TINY = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "REVERSE", "SUM", "HEAD"]})
POST = exact_posterior(TINY, (Type.LIST,), max_length=2, energy=lambda p: 1.0 * len(p))


def _draws(probs, n, seed):
    return random.Random(seed).choices(POST.support, weights=probs, k=n)


@pytest.mark.parametrize("test", ["g-test", "chi2"])
def test_exact_draws_pass(test):
    result = check_samples(_draws(POST.probs, 3000, check_seed(1)), POST, alpha=ALPHA, test=test)
    assert result.passed, result
    assert result.details["n"] == 3000 and result.details["dof"] == result.details["bins"] - 1


@pytest.mark.parametrize("test", ["g-test", "chi2"])
def test_slightly_wrong_distribution_fails(test):
    # Tempered target p^0.7: what a sampler with a mis-scaled energy would give.
    wrong = POST.probs**0.7 / (POST.probs**0.7).sum()
    result = check_samples(_draws(wrong, 3000, check_seed(1)), POST, alpha=ALPHA, test=test)
    assert not result.passed, result


def test_small_bins_are_pooled():
    probs = np.array([0.5, 0.4, 0.06, 0.03, 0.01])
    post = ExactPosterior(POST.support[:5], probs)
    draws = random.Random(check_seed(2)).choices(post.support, weights=probs, k=100)
    result = check_samples(draws, post, alpha=ALPHA)
    # Expected 6, 3, 1: the 1 and the 3 pool to 4 < 5, so the 6 joins them.
    assert result.details["pooled"] == 3 and result.details["bins"] == 3
    assert result.details["expected"].min() >= 5


def test_a_draw_of_probability_zero_fails_outright():
    probs = np.zeros(len(POST))
    probs[:2] = 0.5
    post = ExactPosterior(POST.support, probs)
    result = check_samples([POST.support[0]] * 50 + [POST.support[5]], post, alpha=ALPHA)
    assert not result.passed and result.p_value == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_samples([TINY.parse("a <- [int] | b <- SORT a | c <- SORT b | d <- SORT c")], POST), "not in the"),
        (lambda: check_samples(POST.support[:3], POST), "draw more"),
        (lambda: check_samples(POST.support, POST, alpha=0.0), "alpha"),
        (lambda: check_samples(POST.support, POST, test="ks"), "test must be"),
        (lambda: check_continuous(np.zeros((5, 2)), stats.norm.cdf), "1-D draws"),
        (lambda: check_continuous(np.zeros(1), stats.norm.cdf), "N >= 2"),
        (lambda: check_continuous(np.array([0.0, math.nan]), stats.norm.cdf), "NaN"),
        (lambda: check_continuous(np.zeros((5, 2)), np.zeros((5, 3))), "D=2"),
        (lambda: check_continuous(np.zeros((5, 2)), np.ones((5, 2)), num_permutations=100), "unreachable"),
        (lambda: run_sbc(None, None, None, num_posterior_draws=19, bins=3), "divide"),
        (lambda: run_sbc(None, None, None, num_simulations=1), "num_simulations"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(SamplerCheckError, match=message):
        call()


def test_ks_against_a_cdf():
    x = np.random.default_rng(check_seed(3)).normal(size=4000)
    assert check_continuous(x, stats.norm.cdf, alpha=ALPHA).passed
    assert not check_continuous(1.25 * x, stats.norm.cdf, alpha=ALPHA).passed  # 25% too wide


def test_two_sample_ks_and_energy_distance():
    rng = np.random.default_rng(check_seed(4))
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    ref = rng.multivariate_normal([0, 0], cov, size=400)
    good = rng.multivariate_normal([0, 0], cov, size=400)
    uncorrelated = rng.multivariate_normal([0, 0], np.eye(2), size=400)  # right marginals, wrong joint
    assert check_continuous(good[:, 0], ref[:, 0], alpha=ALPHA).passed
    assert check_continuous(torch.as_tensor(good), ref, alpha=ALPHA, num_permutations=2000).passed
    # Per-dimension KS cannot see the wrong correlation; the energy test does.
    assert check_continuous(uncorrelated[:, 0], ref[:, 0], alpha=ALPHA).passed
    result = check_continuous(uncorrelated, ref, alpha=ALPHA, num_permutations=2000)
    assert result.test == "energy" and not result.passed


# SBC on the conjugate model θ ~ N(0, 1), y | θ ~ N(θ, σ²): posterior N(y / (1 + σ²), σ² / (1 + σ²)).
SIGMA = 0.8


def _prior(rng):
    return np.array([rng.gauss(0, 1), rng.gauss(0, 1)])


def _simulate(theta, rng):
    return theta + np.array([rng.gauss(0, SIGMA), rng.gauss(0, SIGMA)])


def _posterior(scale=1.0, shift=0.0):
    v = SIGMA**2 / (1 + SIGMA**2)

    def sample(y, n, rng):
        mean = y / (1 + SIGMA**2) + shift
        return np.array([[rng.gauss(m, scale * math.sqrt(v)) for m in mean] for _ in range(n)])

    return sample


def test_sbc_passes_exact_posterior_and_fails_wrong_ones():
    kw = dict(num_simulations=300, num_posterior_draws=19, alpha=ALPHA, seed=check_seed(5))
    good = run_sbc(_prior, _simulate, _posterior(), **kw)
    assert good.passed, good.p_values
    assert good.ranks.shape == (300, 2) and good.ranks.min() >= 0 and good.ranks.max() <= 19
    assert not run_sbc(_prior, _simulate, _posterior(scale=0.6), **kw).passed  # too narrow
    assert not run_sbc(_prior, _simulate, _posterior(shift=0.5), **kw).passed  # biased


def test_sbc_catches_autocorrelated_draws():
    # A "chain" that barely moves: exact marginals, but the L draws are near copies.
    def sticky(y, n, rng):
        first = _posterior()(y, 1, rng)[0]
        return np.array([first + 0.05 * rng.gauss(0, 1) for _ in range(n)])

    kw = dict(num_simulations=300, num_posterior_draws=19, alpha=ALPHA, seed=check_seed(6))
    assert not run_sbc(_prior, _simulate, sticky, **kw).passed


def test_sbc_rejects_draws_of_the_wrong_shape():
    with pytest.raises(SamplerCheckError, match="shape"):
        run_sbc(_prior, _simulate, lambda y, n, rng: np.zeros((n, 3)), num_simulations=10)
