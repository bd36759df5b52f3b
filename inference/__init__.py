"""Search and samplers that find programs from examples, and checks for samplers."""

from . import strategies
from ._bayes_opt import BayesOptResult, minimize_gp
from ._bench import BenchConfig, BenchReport, run_bench
from ._bench_table import format_table
from ._benchplot import plot_bench
from ._chain_diagnostics import ChainDiagnostics, program_chain_diagnostics
from ._checks import CheckResult, SamplerCheckError, check_continuous, check_samples, check_seed
from ._distinguish import Question, alternative_programs, distinguish
from ._edit_kernel import EditMetropolisKernel, EditProposal, UniformEditProposal
from ._enumerate import (
    Enumeration,
    EnumerationConfig,
    enumerate_program,
    enumerate_search,
)
from ._heldout import BACKGROUND_WEIGHT, HeldoutScore, heldout_score
from ._latent import LATENT_KERNELS, MALA, JitteredHMC, LatentSamples, sample_latent
from ._latent_plots import plot_energy_slice, plot_latent_map
from ._learn import LearnConfig, fantasies, learn
from ._posterior import ExactPosterior, enumerate_programs, exact_posterior
from ._sbc import SBCResult, run_sbc
from ._scorer import (
    HeuristicScorer,
    Scorer,
    WorldModelScorer,
    as_scorer,
    load_scorer,
    output_distance,
)
from ._search_common import SearchMethod
from ._search_energy import EnergySearchConfig, energy_search
from ._search_guided import GuidedSearchConfig, guided_search, primitive_costs
from ._search_latent import LATENT_METHODS, PRIOR_STARTED, LatentSearchConfig, latent_search
from ._search_mcmc import MCMCSearchConfig, PolicyEditProposal, mcmc_search
from ._search_policy import PolicySearchConfig, policy_search
from ._simulator import (
    Budget,
    BudgetExhausted,
    Simulator,
    SolveResult,
    clear_stop,
    request_stop,
    score,
    stop_requested,
    verify,
)
from ._solve import (
    ANYTIME_METHODS,
    METHOD_CONFIGS,
    METHODS,
    MODEL_FREE_METHODS,
    SKILL_METHODS,
    TaskResult,
    solve,
    solve_file,
    solve_tasks,
)
from ._svi import LATENT_GUIDES, FlowFit, fit_latent_flow

__all__ = [
    "Question",
    "alternative_programs",
    "distinguish",
    "Budget",
    "BudgetExhausted",
    "Simulator",
    "clear_stop",
    "request_stop",
    "stop_requested",
    "SolveResult",
    "verify",
    "score",
    "HeldoutScore",
    "heldout_score",
    "BACKGROUND_WEIGHT",
    "Enumeration",
    "EnumerationConfig",
    "enumerate_program",
    "enumerate_search",
    "ANYTIME_METHODS",
    "METHODS",
    "METHOD_CONFIGS",
    "MODEL_FREE_METHODS",
    "SKILL_METHODS",
    "SearchMethod",
    "solve",
    "solve_file",
    "solve_tasks",
    "TaskResult",
    "BenchConfig",
    "BenchReport",
    "format_table",
    "load_scorer",
    "plot_bench",
    "run_bench",
    "Scorer",
    "HeuristicScorer",
    "WorldModelScorer",
    "as_scorer",
    "output_distance",
    "PolicySearchConfig",
    "policy_search",
    "GuidedSearchConfig",
    "guided_search",
    "primitive_costs",
    "EnergySearchConfig",
    "energy_search",
    "LATENT_METHODS",
    "PRIOR_STARTED",
    "LatentSearchConfig",
    "latent_search",
    "plot_latent_map",
    "plot_energy_slice",
    "MCMCSearchConfig",
    "PolicyEditProposal",
    "mcmc_search",
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
    "ChainDiagnostics",
    "program_chain_diagnostics",
    "LATENT_KERNELS",
    "JitteredHMC",
    "LatentSamples",
    "MALA",
    "sample_latent",
    "LATENT_GUIDES",
    "FlowFit",
    "fit_latent_flow",
    "BayesOptResult",
    "minimize_gp",
    "LearnConfig",
    "fantasies",
    "learn",
]
