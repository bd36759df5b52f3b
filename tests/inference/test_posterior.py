"""Exact posteriors by enumeration: counts against closed forms, support against an
independent closure under edits, and probabilities against a closed form."""

import math
import random

import numpy as np
import pytest
from hypothesis import given
from worldmodel.datasets import Domain, Type, deepcoder
from worldmodel.inference import (
    ExactPosterior,
    check_samples,
    check_seed,
    enumerate_programs,
    exact_posterior,
)
from worldmodel.inference import strategies as wst

# L->L: SORT, REVERSE; L->I: SUM; (I, L)->L: TAKE.
TINY = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "REVERSE", "SUM", "TAKE"]})


def _count(num_lists: int, num_ints: int, length: int) -> int:
    """Programs of exactly ``length`` statements: a counting formula by recursion on types."""
    if length == 0:
        return 1
    list_to_list = 2 * num_lists + num_ints * num_lists  # SORT, REVERSE; TAKE
    list_to_int = num_lists  # SUM
    return list_to_list * _count(num_lists + 1, num_ints, length - 1) + list_to_int * _count(
        num_lists, num_ints + 1, length - 1
    )


@pytest.mark.parametrize("types", [(Type.LIST,), (Type.INT, Type.LIST), (Type.LIST, Type.LIST)])
@pytest.mark.parametrize("max_length", [0, 1, 2, 3])
def test_counts_match_the_counting_formula(types, max_length):
    programs = enumerate_programs(TINY, types, max_length=max_length)
    lists, ints = types.count(Type.LIST), types.count(Type.INT)
    assert len(programs) == sum(_count(lists, ints, n) for n in range(max_length + 1))
    assert len(set(programs)) == len(programs)
    assert all(p.input_types == types and len(p) <= max_length for p in programs)


def test_support_is_the_closure_under_edits():
    # An independent route to the same set: breadth-first search over one-edit moves.
    start = TINY.parse("a <- [int]")
    seen, frontier = {start}, [start]
    while frontier:
        frontier = [q for p in frontier for _, q in TINY.neighbours(p, max_length=2) if q not in seen]
        seen.update(frontier)
    assert seen == set(enumerate_programs(TINY, (Type.LIST,), max_length=2))


@given(wst.programs(TINY, max_length=2, input_types=(Type.LIST,)))
def test_every_drawn_program_is_in_the_support(program):
    assert program in set(enumerate_programs(TINY, (Type.LIST,), max_length=2))


def test_length_marginal_matches_closed_form():
    lam = 0.7
    post = exact_posterior(TINY, (Type.LIST,), max_length=3, energy=lambda p: lam * len(p))
    counts = [_count(1, 0, n) for n in range(4)]
    z = sum(c * math.exp(-lam * n) for n, c in enumerate(counts))
    for n, c in enumerate(counts):
        got = sum(post.prob(p) for p in post.support if len(p) == n)
        assert got == pytest.approx(c * math.exp(-lam * n) / z, rel=1e-12)


def test_log_prior_and_energy_combine():
    energy = lambda p: 0.3 * len(p) + (1.0 if p.statements and p.statements[-1].primitive == "SUM" else 0.0)  # noqa: E731
    prior = lambda p: -0.5 * len(p) ** 2  # noqa: E731
    a = exact_posterior(TINY, (Type.LIST,), max_length=2, energy=energy, log_prior=prior)
    b = exact_posterior(TINY, (Type.LIST,), max_length=2, energy=lambda p: energy(p) - prior(p))
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-12)
    w = np.array([math.exp(prior(p) - energy(p)) for p in a.support])
    np.testing.assert_allclose(a.probs, w / w.sum(), rtol=1e-12)


def test_infinite_energy_gives_zero_probability_and_lookup_outside_support_is_zero():
    post = exact_posterior(TINY, (Type.LIST,), max_length=1, energy=lambda p: math.inf if len(p) else 0.0)
    assert post.prob(TINY.parse("a <- [int]")) == 1.0
    assert post.prob(TINY.parse("a <- [int] | b <- SORT a")) == 0.0
    assert post.prob(TINY.parse("a <- [int] | b <- SORT a | c <- SORT b")) == 0.0  # too long
    assert len(post) == 1 + 3


def test_iid_draws_from_the_enumeration_pass_the_check():
    # The enumeration as a sampler of its own: seeded i.i.d. draws (false failure 1e-3).
    post = exact_posterior(TINY, (Type.LIST,), max_length=2, energy=lambda p: 0.5 * len(p))
    rng = random.Random(check_seed(0))
    draws = rng.choices(post.support, weights=post.probs, k=3000)
    assert check_samples(draws, post, alpha=1e-3).passed


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: enumerate_programs(TINY, (Type.LIST,), max_length=-1), "max_length"),
        (lambda: enumerate_programs(TINY, (), max_length=1), "input_types"),
        (lambda: exact_posterior(TINY, (Type.LIST,), max_length=1, energy=lambda p: math.nan), "NaN"),
        (lambda: exact_posterior(TINY, (Type.LIST,), max_length=1, energy=lambda p: math.inf), "zero weight"),
        (lambda: ExactPosterior([TINY.parse("a <- [int]")], np.array([0.5])), "sum to 1"),
        (lambda: ExactPosterior([TINY.parse("a <- [int]")], np.array([0.5, 0.5])), "shape"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
