"""Search in the program latent space: NUTS, HMC, Langevin, SVI, GP Bayesian optimisation, and random draws.

Every method moves a latent ``z`` (the world model's :class:`~worldmodel.LatentHead`)
and decodes each visited ``z`` to its ``beam`` likeliest programs of the task's
signature; the :class:`Simulator` runs each new program on the examples, charged to
the one budget, and the first that reproduces every output is the answer. Programs
already run cost nothing again (the simulator caches them).

The samplers target the latent posterior ``p(z) exp(−E(x, y, z))``
(:meth:`~worldmodel.WorldModel.latent_potential`). They all work in a frame
``z = loc + scale · u`` whose standard normal in ``u`` is where a search starts:
``start="q"`` takes ``(loc, scale)`` from the amortised ``q(z | x, y)``
(:meth:`~worldmodel.WorldModel.recognize`), ``start="prior"`` the prior ``N(0, I)``
(the ablation). The chains start at ``u = 0``, SVI's flow guide starts as the
standard normal in ``u``, BO proposes among draws of it (and around its best
latent so far, inside the box ``|u| <= bo_box``), and ``amortised``
draws ``u ~ N(0, I)`` (random sampling from ``q``, the baseline BO must beat).

* ``nuts`` / ``hmc`` / ``langevin``: Pyro's kernels through
  :func:`~worldmodel.inference.sample_latent`; every draw, warm-up included, is decoded.
* ``svi``: :func:`~worldmodel.inference.fit_latent_flow` fits Pyro's IAF flow guide
  to the posterior (``svi_steps`` steps, no simulator call), then its draws are decoded.
* ``bo``: :func:`~worldmodel.inference.minimize_gp` minimises the decoded programs'
  :func:`output_distance` to the targets, as the latent-executor design does, a batch
  of ``bo_batch`` latents a round.
* ``amortised``: draws from ``q(z | x, y)``.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from dataclasses import dataclass

import torch
from worldmodel.datasets import (
    Domain,
    Program,
    Task,
    require_at_least,
    require_choice,
    require_fraction,
    require_positive,
)

from ._bayes_opt import minimize_gp
from ._latent import sample_latent
from ._scorer import _summed_distance
from ._seeding import seeded_pyro
from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult
from ._svi import fit_latent_flow

__all__ = ["LATENT_METHODS", "PRIOR_STARTED", "LatentSearchConfig", "latent_search", "prior_started_search"]

LATENT_METHODS = ("nuts", "hmc", "langevin", "svi", "bo", "amortised")
"""The latent-space search methods, as ``solve`` names them."""

PRIOR_STARTED = ("nuts", "hmc", "langevin", "svi")
"""The gradient methods that ``solve`` also offers started from the prior, as
``<method>-prior`` (the ablation of starting from ``q(z | x, y)``)."""

STARTS = ("q", "prior")


@dataclass(frozen=True)
class LatentSearchConfig:
    """Options of :func:`latent_search`.

    Attributes:
        start: ``"q"`` (default: start from ``q(z | x, y)``) or ``"prior"`` (``N(0, I)``).
        beam: programs decoded per latent (default 16: a wider beam costs less time per
            simulator call than more draws).
        max_draws: most latents decoded, whatever the budget (default 20 000).
        warmup_steps: MCMC adaptation steps; their draws are decoded too (default 200,
            chosen on Φ valid: docs/reproduce/tune_latent_search.py).
        step_size: initial MCMC step size in the ``u`` frame (default 0.3).
        num_steps: HMC leapfrog steps per draw (default 8).
        max_tree_depth: NUTS's deepest tree (default 4: at most 15 gradients a draw).
        svi_steps: SVI steps before the flow's first draw (default 300).
        bo_box: BO's box ``[-bo_box, bo_box]`` per dimension of ``u`` (default 4: it
            clips almost no draw of ``q``).
        bo_evaluations: latents BO evaluates before it restarts with a fresh GP that
            starts from the best ``chunk`` of them (default 512; the GP's refit is cubic
            in them).
        bo_batch: latents BO proposes per round, decoded at once (default 16).
        bo_proposals: where BO's candidates come from: ``"q"`` (default), draws of the
            frame's normal; or ``"box"``, uniform in the box.
        bo_candidates: candidate latents per BO proposal (default 1024), ``bo_local``
            of them around the best latent so far.
        bo_local: that fraction (default 0.5).
        bo_local_scale: their spread, as a fraction of the box's width (default 0.02,
            chosen on Φ valid: docs/reproduce/tune_latent_search.py).
        chunk: draws decoded in one batch (default 16).
    """

    start: str = "q"
    beam: int = 16
    max_draws: int = 20_000
    warmup_steps: int = 200
    step_size: float = 0.3
    num_steps: int = 8
    max_tree_depth: int = 4
    svi_steps: int = 300
    bo_box: float = 4.0
    bo_evaluations: int = 512
    bo_batch: int = 16
    bo_proposals: str = "q"
    bo_candidates: int = 1024
    bo_local: float = 0.5
    bo_local_scale: float = 0.02
    chunk: int = 16

    def __post_init__(self) -> None:
        require_choice(self, "start", STARTS)
        require_at_least(self, 1, "beam", "max_draws", "num_steps", "max_tree_depth", "svi_steps", "bo_evaluations",
                         "bo_batch", "bo_candidates", "chunk")
        require_at_least(self, 0, "warmup_steps")
        require_positive(self, "step_size", "bo_box", "bo_local_scale")
        require_choice(self, "bo_proposals", ("q", "box"))
        require_fraction(self, "bo_local")


class _Solved(Exception):
    """Ends a sampler's loop from inside a callback: a decoded program solves the task."""

    def __init__(self, program: Program):
        super().__init__("solved")
        self.program = program


class _Decoder:
    """Decodes latents to the task's programs and runs each new one in the simulator.

    ``check(z)`` (``z`` ``(N, L)`` in the model's frame) returns, per latent, the
    smallest mean :func:`output_distance` of its decoded programs to the targets, and
    raises :class:`_Solved` at the first program that solves the task.
    """

    def __init__(self, model, task: Task, simulator: Simulator, *, beam: int, max_draws: int):
        self.model = model
        self.task = task
        self.simulator = simulator
        self.beam = beam
        self.max_draws = max_draws
        self.draws = 0
        self.distinct: set[Program] = set()

    def check(self, z: torch.Tensor) -> list[float]:
        if self.draws >= self.max_draws:
            raise BudgetExhausted(self.simulator.calls)
        self.draws += len(z)
        decoded = self.model.decode(z, k=self.beam, input_types=self.task.input_types)
        self.simulator.check()  # decoding costs seconds
        best = []
        nothing = _summed_distance(None, self.simulator.targets) / len(self.simulator.targets)
        for group in decoded:
            distance = nothing  # a latent that decodes to no program is as far as no output
            for candidate in group:
                self.distinct.add(candidate.program)
                outputs = self.simulator.outputs(candidate.program)
                if outputs == self.simulator.targets:
                    raise _Solved(candidate.program)
                targets = self.simulator.targets
                distance = min(distance, _summed_distance(outputs, targets) / len(targets))
            best.append(distance)
        return best


def latent_search(task: Task, *, method: str, model: object, budget: Budget, domain: Domain, seed: int = 0,
                  config: LatentSearchConfig = LatentSearchConfig()) -> SolveResult:
    """The latent :class:`SearchMethod` named ``method`` (one of :data:`LATENT_METHODS`).

    ``model`` is a :class:`~worldmodel.WorldModel` with a latent space
    (``model.latent``); ``seed`` seeds the sampler. ``diagnostics`` hold the latents
    decoded (``draws``) and the distinct programs they gave (``distinct_programs``),
    or ``{"unsupported": 1.0}`` with a :class:`RuntimeWarning` when the model cannot
    take the task (too many inputs, values it cannot encode, a signature its grammar
    lacks): the search then makes no call.

    Raises:
        ValueError: an unknown ``method``, or a model without a latent space.
    """
    if method not in LATENT_METHODS:
        raise ValueError(f"method must be one of {LATENT_METHODS}, got {method!r}")
    if getattr(model, "latent", None) is None:
        raise ValueError(f"method {method!r} needs a world model with a latent space (WorldModel.attach_latent, train --latent)")
    simulator = Simulator(task, domain, budget)
    try:
        model.check_task(task)
        if tuple(task.input_types) not in model.latent.grammar.signatures:
            raise ValueError(f"signature {[t.value for t in task.input_types]} is not one the latent space decodes")
    except ValueError as error:
        warnings.warn(f"task {task.id!r}: {error}; the latent search makes no call", RuntimeWarning, stacklevel=2)
        return SolveResult(task.id, method, None, False, 0, simulator.seconds, diagnostics={"unsupported": 1.0})
    if config.start == "q":
        q = model.recognize(task)
        loc, scale = q.loc, q.scale
    else:
        loc, scale = torch.zeros(model.latent.latent_dim), torch.ones(model.latent.latent_dim)
    decoder = _Decoder(model, task, simulator, beam=config.beam, max_draws=config.max_draws)
    potential = model.latent_potential(task)

    def in_frame(u: torch.Tensor) -> torch.Tensor:
        return loc + scale * u

    solution = None
    try:
        _run(method, decoder, lambda u: potential(in_frame(u)), in_frame, loc.shape[0], seed, config)
    except _Solved as found:
        solution = found.program
    except BudgetExhausted:
        pass
    diagnostics = {"draws": float(decoder.draws), "distinct_programs": float(len(decoder.distinct))}
    return SolveResult(task.id, method, solution, solution is not None, simulator.calls, simulator.seconds,
                       diagnostics=diagnostics)


def _run(method: str, decoder: _Decoder, potential_u, in_frame, dim: int, seed: int, config: LatentSearchConfig) -> None:
    """Run ``method`` in the ``u`` frame until :class:`_Solved`, the budget, or ``max_draws``."""
    if method in ("nuts", "hmc", "langevin"):
        pending: list[torch.Tensor] = []

        def on_draw(u: torch.Tensor) -> None:
            pending.append(u)
            if len(pending) == config.chunk:
                decoder.check(in_frame(torch.stack(pending)))
                pending.clear()

        sample_latent(
            potential_u, torch.zeros(dim), num_samples=config.max_draws, warmup_steps=config.warmup_steps,
            kernel=method, seed=seed, step_size=config.step_size, num_steps=config.num_steps,
            max_tree_depth=config.max_tree_depth, on_draw=on_draw,
        )
        if pending:
            decoder.check(in_frame(torch.stack(pending)))
    elif method == "svi":
        fit = fit_latent_flow(potential_u, torch.zeros(dim), num_samples=1, steps=config.svi_steps, seed=seed)
        posterior = fit.guide.get_posterior()
        with seeded_pyro(seed):
            while True:
                decoder.check(in_frame(posterior.sample((config.chunk,)).detach()))
    elif method == "bo":
        # A batch of latents per round, decoded at once; candidates are draws of the
        # frame's normal (q) and points around the best latent so far. A GP's refit is
        # cubic in its evaluations: after bo_evaluations it starts afresh from the best.
        box = torch.full((dim,), config.bo_box)
        start = torch.zeros(1, dim)

        def from_q(n: int, generator: torch.Generator) -> torch.Tensor:
            return torch.randn(n, dim, generator=generator).clamp(-box, box)

        for restart in itertools.count():
            run = minimize_gp(
                lambda u: decoder.check(in_frame(u)), -box, box, evaluations=config.bo_evaluations,
                batch=config.bo_batch, initial=max(config.bo_batch, 5), candidates=config.bo_candidates,
                sample_candidates=from_q if config.bo_proposals == "q" else None,
                local=config.bo_local, local_scale=config.bo_local_scale, seed=seed + restart, start=start,
            )
            start = run.points[torch.argsort(run.values)[: config.bo_batch]]
    else:  # amortised: random draws from the frame's normal, that is from q(z | x, y)
        generator = torch.Generator().manual_seed(seed)
        while True:
            decoder.check(in_frame(torch.randn(config.chunk, dim, generator=generator)))


def prior_started_search(task: Task, *, method: str, model: object, budget: Budget, domain: Domain,
                         seed: int = 0, config: LatentSearchConfig = LatentSearchConfig()) -> SolveResult:
    """:func:`latent_search` with ``start="prior"``: ``method`` started from ``N(0, I)``
    (``config``'s other options as given)."""
    return latent_search(task, method=method, model=model, budget=budget, domain=domain, seed=seed,
                         config=dataclasses.replace(config, start="prior"))
