"""ESS and split R̂ for chains of the edit kernel: chains of the exact kernel agree from
different starts; a reducible kernel's chains (it never changes a program's length) do
not, and R̂ says so. Seeds fixed, so each check is deterministic; measured with them:
the exact kernel R̂ 1.006 and ESS 600 of 6 000 draws, the reducible one R̂ = inf (the
chain started empty never moves) and ESS 2. The thresholds leave wide room both ways."""

import math

import pytest
import torch
from pyro.infer import MCMC
from test_edit_kernel import MAX_LENGTH, TINY, TYPES, energy
from worldmodel.datasets import deepcoder
from worldmodel.inference import (
    EditMetropolisKernel,
    UniformEditProposal,
    program_chain_diagnostics,
)

STARTS = ["a <- [int]", "a <- [int] | b <- SORT a", "a <- [int] | b <- SUM a", "a <- [int] | b <- REVERSE a | c <- HEAD b"]


class SameLengthProposal(UniformEditProposal):
    """Broken on purpose: a move that would change the length stays put instead. Still a
    valid Metropolis–Hastings kernel, but reducible: a chain keeps its start's length."""

    def propose(self, program, rng):
        new, log_q_forward, log_q_reverse = super().propose(program, rng)
        return (program, 0.0, 0.0) if len(new) != len(program) else (new, log_q_forward, log_q_reverse)


def _chains(proposal_class, *, draws=1500, warmup=200):
    chains = []
    for seed, text in enumerate(STARTS):
        kernel = EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH, seed=seed,
                                      proposal=proposal_class(TINY, max_length=MAX_LENGTH))
        mcmc = MCMC(kernel, num_samples=draws, warmup_steps=warmup,
                    initial_params={"program": kernel.encode(TINY.parse(text))}, disable_progbar=True)
        mcmc.run()
        chains.append(kernel.decode_samples(mcmc.get_samples()["program"]))
    return chains


def test_chains_of_the_exact_kernel_agree_and_the_reducible_kernels_do_not():
    good = program_chain_diagnostics(_chains(UniformEditProposal), len)
    broken = program_chain_diagnostics(_chains(SameLengthProposal), len)
    assert good.chains == 4 and good.draws == 1500
    assert good.r_hat < 1.05, good
    assert good.effective_sample_size > 300, good
    assert broken.r_hat > 1.5, broken


def test_mcmc_summary_works_on_the_kernels_states():
    kernel = EditMetropolisKernel(energy, domain=TINY, input_types=TYPES, max_length=MAX_LENGTH)
    start = kernel.encode(TINY.parse(STARTS[0])).long()  # a start of another dtype is taken as the kernel's own
    mcmc = MCMC(kernel, num_samples=200, warmup_steps=20, initial_params={"program": start}, disable_progbar=True)
    mcmc.run()
    assert kernel.initial_params["program"].dtype == torch.float  # Pyro stacks the start with the draws
    mcmc.summary()  # Pyro takes means of the site: it used to fail on long token ids
    samples = mcmc.get_samples()["program"]
    assert samples.dtype.is_floating_point and samples.shape == (200, kernel.width)
    assert all(len(p) <= MAX_LENGTH for p in kernel.decode_samples(samples))


def test_bad_chains_are_refused_naming_the_problem():
    a = deepcoder.parse("a <- [int]")
    with pytest.raises(ValueError, match="chains is empty"):
        program_chain_diagnostics([], len)
    with pytest.raises(ValueError, match="same number of draws"):
        program_chain_diagnostics([[a] * 5, [a] * 6], len)
    with pytest.raises(ValueError, match="at least 4 draws"):
        program_chain_diagnostics([[a] * 3], len)
    constant = program_chain_diagnostics([[a] * 10, [a] * 10], len)
    assert math.isnan(constant.r_hat) and math.isnan(constant.effective_sample_size)  # as documented
