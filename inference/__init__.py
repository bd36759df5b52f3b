"""Search and samplers that find programs from examples, and checks for samplers."""

from . import strategies
from ._checks import (
    CheckResult,
    SamplerCheckError,
    SBCResult,
    check_continuous,
    check_samples,
    check_seed,
    run_sbc,
)
from ._edit_kernel import EditMetropolisKernel, EditProposal, UniformEditProposal
from ._latent import LATENT_KERNELS, JitteredHMC, LatentSamples, sample_latent
from ._posterior import ExactPosterior, enumerate_programs, exact_posterior
from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult, verify

__all__ = [
    "Budget",
    "BudgetExhausted",
    "Simulator",
    "SolveResult",
    "verify",
    # sampler checks
    "strategies",
    "ExactPosterior",
    "enumerate_programs",
    "exact_posterior",
    "CheckResult",
    "SBCResult",
    "SamplerCheckError",
    "check_samples",
    "check_continuous",
    "run_sbc",
    "check_seed",
    # samplers
    "EditProposal",
    "UniformEditProposal",
    "EditMetropolisKernel",
    "LATENT_KERNELS",
    "JitteredHMC",
    "LatentSamples",
    "sample_latent",
]
