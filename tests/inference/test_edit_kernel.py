"""The edit Metropolis–Hastings kernel: exact proposal probabilities, exact
stationarity, and draws through ``pyro.infer.MCMC`` against the enumerated posterior.

Statistical assertions use alpha = 1e-3 (false-failure chance per passing check)
on thinned chains; the broken kernels (no reverse-proposal ratio, a biased
proposal that claims to be uniform) must fail the same check."""

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from pyro.infer import MCMC
from worldmodel.datasets import Domain, ExecutionError, Type, deepcoder
from worldmodel.inference import (
    EditMetropolisKernel,
    ExactPosterior,
    UniformEditProposal,
    check_samples,
    check_seed,
    exact_posterior,
)
from worldmodel.inference import strategies as wst

ALPHA = 1e-3
TINY = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "REVERSE", "MAP(*2)", "SUM", "HEAD", "TAKE"]})
TYPES = (Type.LIST,)
MAX_LENGTH = 2
INPUTS = [[3, 1, 2], [5, -2, 0, 4], [1]]
TARGET = [TINY.run(TINY.parse("a <- [int] | b <- SORT a | c <- HEAD b"), [x]) for x in INPUTS]


def _distance(output, target) -> float:
    if output is None or isinstance(output, int) != isinstance(target, int):
        return 3.0
    if isinstance(output, int):
        return min(abs(output - target), 3)
    return min(abs(len(output) - len(target)) + sum(a != b for a, b in zip(output, target)), 3)


@functools.cache
def energy(program) -> float:
    """Distance of the outputs to the target's on fixed inputs, plus a length cost."""
    total = 0.3 * len(program)
    for x, t in zip(INPUTS, TARGET):
        try:
            output = TINY.run(program, [x])
        except ExecutionError:
            output = None
        total += 0.5 * _distance(output, t)
    return total


POST = exact_posterior(TINY, TYPES, max_length=MAX_LENGTH, energy=energy)
START = TINY.parse("a <- [int]")


class NoReverseRatio(EditMetropolisKernel):
    """Broken on purpose: plain Metropolis acceptance, as if the proposal were symmetric."""

    def log_acceptance(self, log_target_new, log_target_old, log_q_forward, log_q_reverse):
        return log_target_new - log_target_old


class BiasedProposal(UniformEditProposal):
    """Broken on purpose: prefers longer programs but reports uniform probabilities."""

    def propose(self, program, rng):
        targets, _ = self.moves(program)
        x, y = targets[rng.randrange(len(targets))], targets[rng.randrange(len(targets))]
        new = x if len(x) >= len(y) else y
        return new, self.log_prob(new, program), self.log_prob(program, new)


def _run(kernel_class=EditMetropolisKernel, proposal=None, *, num_samples=36_000, thin=12, seed=None):
    kernel = kernel_class(
        energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH, proposal=proposal,
        seed=check_seed(11) if seed is None else seed,
    )
    mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=500,
                initial_params={"program": kernel.encode(START)}, disable_progbar=True)
    mcmc.run()
    return kernel, kernel.decode_samples(mcmc.get_samples()["program"][::thin])


def test_two_edits_to_the_same_program_are_counted_twice():
    proposal = UniformEditProposal(TINY, max_length=2)
    p = TINY.parse("a <- [int] | b <- SORT a")
    q = TINY.parse("a <- [int] | b <- SORT a | c <- SORT a")  # insert SORT a at 0 or at 1
    edits = [e for e, r in TINY.neighbours(p, max_length=2) if r == q]
    assert len(edits) == 2
    n_p = len(list(TINY.neighbours(p, max_length=2)))
    n_q = len(list(TINY.neighbours(q, max_length=2)))
    assert proposal.log_prob(q, p) == pytest.approx(math.log(2 / n_p))
    assert proposal.log_prob(p, q) == pytest.approx(math.log(2 / n_q))  # delete either copy


@given(wst.programs(TINY, max_length=MAX_LENGTH, input_types=TYPES))
def test_proposal_probabilities_are_normalised_and_reversible(program):
    proposal = UniformEditProposal(TINY, max_length=MAX_LENGTH)
    results = [r for _, r in TINY.neighbours(program, max_length=MAX_LENGTH)]
    total = 0.0
    for target in set(results):
        log_q = proposal.log_prob(target, program)
        assert log_q == pytest.approx(math.log(results.count(target) / len(results)))
        assert proposal.log_prob(program, target) > -math.inf  # every move can be undone
        total += math.exp(log_q)
    assert total == pytest.approx(1.0)


def test_proposal_frequencies_match_its_probabilities():
    # The proposal as a sampler: its draws against its own exact q(· | p).
    import random

    proposal = UniformEditProposal(TINY, max_length=MAX_LENGTH)
    p = TINY.parse("a <- [int] | b <- SORT a")
    support = sorted(set(proposal.moves(p)[0]), key=TINY.format)
    q = ExactPosterior(support, np.array([math.exp(proposal.log_prob(t, p)) for t in support]))
    rng = random.Random(check_seed(12))
    draws = [proposal.propose(p, rng)[0] for _ in range(4000)]
    assert check_samples(draws, q, alpha=ALPHA).passed


def _transition_matrix(kernel):
    """The kernel's exact transition matrix on the enumerated support."""
    support, index = POST.support, POST.index
    matrix = np.zeros((len(support), len(support)))
    for i, p in enumerate(support):
        for target in set(kernel.proposal.moves(p)[0]):
            log_f = kernel.proposal.log_prob(target, p)
            log_r = kernel.proposal.log_prob(p, target)
            a = kernel.log_acceptance(kernel.log_target(target), kernel.log_target(p), log_f, log_r)
            matrix[i, index[target]] = math.exp(log_f) * min(1.0, math.exp(a))
        matrix[i, i] = 1.0 - matrix[i].sum()
    return matrix


def test_exact_posterior_is_stationary_for_the_kernel_and_not_for_the_broken_one():
    good = _transition_matrix(EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH))
    np.testing.assert_allclose(POST.probs @ good, POST.probs, atol=1e-12)
    bad = _transition_matrix(NoReverseRatio(energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH))
    assert np.abs(POST.probs @ bad - POST.probs).max() > 1e-3


def test_mcmc_draws_match_the_exact_posterior():
    kernel, draws = _run()
    result = check_samples(draws, POST, alpha=ALPHA)
    assert result.passed, (result.p_value, result.details["max_abs_error"])
    assert 0.1 < kernel.diagnostics()["acceptance rate"] < 0.9


def test_ignoring_the_reverse_proposal_ratio_fails():
    _, draws = _run(NoReverseRatio)
    assert not check_samples(draws, POST, alpha=ALPHA).passed


def test_a_biased_proposal_that_claims_uniform_fails():
    _, draws = _run(proposal=BiasedProposal(TINY, max_length=MAX_LENGTH), num_samples=15_000)
    assert not check_samples(draws, POST, alpha=ALPHA).passed


def test_runs_are_deterministic_for_a_seed():
    _, a = _run(num_samples=300, thin=1, seed=5)
    _, b = _run(num_samples=300, thin=1, seed=5)
    assert a == b


@given(wst.programs(TINY, max_length=MAX_LENGTH, input_types=TYPES))
def test_state_tensor_round_trips(program):
    kernel = EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH)
    state = kernel.encode(program)
    assert state.shape == (kernel.width,) and state.dtype == torch.float  # float: MCMC.summary takes means
    assert kernel.decode(state) == program


def test_bad_arguments():
    kernel = EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=1)
    with pytest.raises(ValueError, match="max_length"):
        kernel.encode(TINY.parse("a <- [int] | b <- SORT a | c <- SORT b"))
    with pytest.raises(ValueError, match="takes"):
        kernel.encode(TINY.parse("a <- [int] | b <- [int]"))
    with pytest.raises(ValueError, match="shape"):
        kernel.initial_params = {"program": torch.zeros(3, dtype=torch.long)}
    with pytest.raises(ValueError, match="initial_params"):
        MCMC(kernel, num_samples=1, disable_progbar=True).run()
    with pytest.raises(ValueError, match="max_length"):
        EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=-1)
    nan = EditMetropolisKernel(lambda p: math.nan, domain=TINY, input_types=TYPES, max_length=1)
    with pytest.raises(ValueError, match="NaN"):
        MCMC(nan, num_samples=1, initial_params={"program": nan.encode(START)}, disable_progbar=True).run()
    with pytest.raises(ValueError, match="max_length"):
        UniformEditProposal(TINY, max_length=1).moves(TINY.parse("a <- [int] | b <- SORT a | c <- SORT b"))
