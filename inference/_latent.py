"""Pyro NUTS / HMC / Langevin on a potential energy over a continuous latent ``z``.

The world model's energy ``E(x, y, z)`` with the examples fixed is a potential
``U(z)``; its Boltzmann density ``exp(−U(z))`` is the target. This module is the
one place that builds Pyro's kernels for it, so every method runs them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from pyro.infer import HMC, MCMC, NUTS

from ._seeding import seeded_pyro

__all__ = ["JitteredHMC", "LatentSamples", "LATENT_KERNELS", "MALA", "sample_latent"]



def latent_start(potential_fn: Callable[[torch.Tensor], torch.Tensor], initial: object) -> torch.Tensor:
    """``initial`` as a detached ``(D,)`` tensor of the default dtype, checked: 1-D, and
    the potential finite there (every latent sampler starts where ``exp(−U) > 0``)."""
    if not isinstance(initial, torch.Tensor) or initial.dim() != 1:
        raise ValueError(f"initial must be a 1-D tensor of shape (D,), got {getattr(initial, 'shape', initial)!r}")
    start = initial.detach().to(torch.get_default_dtype()).clone()
    value = torch.as_tensor(potential_fn(start))
    if not torch.isfinite(value).all():
        raise ValueError(f"potential_fn is not finite at initial ({float(value)}); start where exp(-U) > 0")
    return start


class JitteredHMC(HMC):
    """Pyro HMC whose trajectory length is redrawn at every transition.

    The length is uniform on ``[0.5, 1.5]`` times the base length (``step_size ×
    num_steps`` at construction), drawn from torch's RNG. A fixed length can match a
    period of the target's dynamics, so trajectories come back where they started
    and the chain stops mixing (Neal 2011, "MCMC using Hamiltonian dynamics",
    §5.4.2.2); this project's Gaussian test caught that for one seed in twenty.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._base_length = self.trajectory_length

    def sample(self, params):
        self.trajectory_length = self._base_length * (0.5 + float(torch.rand(())))
        return super().sample(params)


class MALA(HMC):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996) as a Pyro kernel.

    One leapfrog step from a freshly drawn momentum, then the Metropolis–Hastings
    test, is exactly MALA's proposal ``z + (ε²/2) M⁻¹ ∇log p(z) + ε M^{-1/2} ξ`` and
    its acceptance ratio (Neal 2011, §5.2), so Pyro's HMC with the trajectory held at
    one step gives it, with Pyro's step-size and mass-matrix adaptation. The default
    acceptance target is 0.574, optimal for MALA (Roberts & Rosenthal 1998).
    """

    def __init__(self, *args, target_accept_prob: float = 0.574, **kwargs):
        super().__init__(*args, target_accept_prob=target_accept_prob, **kwargs)

    @property
    def num_steps(self) -> int:
        return 1


LATENT_KERNELS = {"nuts": NUTS, "hmc": JitteredHMC, "langevin": MALA}


@dataclass(frozen=True)
class LatentSamples:
    """Draws of a latent and how the run went.

    Attributes:
        samples: shape ``(N, D)``, the draws after warm-up (and thinning).
        acceptance_rate: mean acceptance probability after warm-up.
        divergences: how many transitions diverged after warm-up.
        step_size: the adapted step size.
        diagnostics: Pyro's per-site diagnostics (``n_eff``, ``r_hat``) and the raw
            kernel diagnostics.
    """

    samples: torch.Tensor
    acceptance_rate: float
    divergences: int
    step_size: float
    diagnostics: dict = field(default_factory=dict)


def sample_latent(
    potential_fn: Callable[[torch.Tensor], torch.Tensor],
    initial: torch.Tensor,
    *,
    num_samples: int,
    warmup_steps: int,
    kernel: str = "nuts",
    seed: int = 0,
    thin: int = 1,
    step_size: float = 0.5,
    num_steps: int = 10,
    adapt_mass_matrix: bool = True,
    full_mass: bool = False,
    max_tree_depth: int = 10,
    on_draw: Callable[[torch.Tensor], None] | None = None,
) -> LatentSamples:
    """Draw ``z ~ exp(−potential_fn(z))`` with Pyro NUTS, HMC or Langevin (MALA).

    Args:
        potential_fn: ``U(z)``, ``z`` of shape ``(D,)`` -> a scalar tensor,
            differentiable by autograd.
        initial: the start ``z``, shape ``(D,)``.
        num_samples: draws kept (after thinning).
        warmup_steps: adaptation steps (step size and diagonal mass matrix), discarded.
        kernel: ``"nuts"`` (default), ``"hmc"`` (:class:`JitteredHMC`) or
            ``"langevin"`` (:class:`MALA`); the keys of ``LATENT_KERNELS``.
        seed: seeds Pyro's RNG inside a forked torch RNG state, so the caller's
            global state is unchanged (default 0).
        thin: keep every ``thin``-th draw (default 1); ``num_samples · thin`` steps run.
        step_size: the initial step size (default 0.5; adapted during warm-up).
        num_steps: leapfrog steps per HMC transition on average, at the initial step
            size (default 10; jittered, see :class:`JitteredHMC`; NUTS ignores it).
        adapt_mass_matrix: adapt the mass matrix during warm-up (default True).
        full_mass: adapt a dense mass matrix instead of a diagonal one (default
            False); worth it for a few strongly correlated dimensions.
        max_tree_depth: NUTS's deepest trajectory tree, at most ``2^depth - 1``
            leapfrog steps a draw (default 10, Pyro's).
        on_draw: called with every draw ``(D,)`` as it is made, warm-up included; a
            search checks draws with it and ends the chain by raising.

    Returns:
        A :class:`LatentSamples` with ``samples`` of shape ``(num_samples, D)``.

    Raises:
        ValueError: an unknown ``kernel``, ``initial`` not 1-D, bad counts, or a
            potential that is not finite at ``initial``.

    Example:
        >>> import torch
        >>> out = sample_latent(lambda z: 0.5 * (z ** 2).sum(), torch.zeros(2),
        ...                     num_samples=200, warmup_steps=100, seed=0)
        >>> out.samples.shape, abs(float(out.samples.mean())) < 0.3
        (torch.Size([200, 2]), True)
    """
    if kernel not in LATENT_KERNELS:
        raise ValueError(f"kernel must be one of {sorted(LATENT_KERNELS)}, got {kernel!r}")
    if num_samples < 1 or warmup_steps < 0 or thin < 1:
        raise ValueError(
            f"need num_samples >= 1, warmup_steps >= 0, thin >= 1; got {num_samples}, {warmup_steps}, {thin}"
        )
    start = latent_start(potential_fn, initial)

    def potential(params: dict) -> torch.Tensor:
        return potential_fn(params["z"])

    options = {
        "potential_fn": potential,
        "step_size": step_size,
        "adapt_mass_matrix": adapt_mass_matrix,
        "full_mass": full_mass,
    }
    if kernel == "hmc":
        options["num_steps"] = num_steps
    if kernel == "nuts":
        options["max_tree_depth"] = max_tree_depth
    sampler = LATENT_KERNELS[kernel](**options)
    with seeded_pyro(seed):
        mcmc = MCMC(
            sampler,
            num_samples=num_samples * thin,
            warmup_steps=warmup_steps,
            initial_params={"z": start},
            disable_progbar=True,
            hook_fn=None if on_draw is None else lambda _kernel, draw, _stage, _i: on_draw(draw["z"].detach()),
        )
        mcmc.run()
    samples = mcmc.get_samples()["z"][::thin].detach()  # (N, D)
    raw = mcmc.diagnostics()
    kernel_diag = {k: v.get("chain 0") for k, v in raw.items() if isinstance(v, dict) and "chain 0" in v}
    return LatentSamples(
        samples=samples,
        acceptance_rate=float(kernel_diag.get("acceptance rate", float("nan"))),
        divergences=len(kernel_diag.get("divergences", []) or []),
        step_size=float(sampler.step_size),
        diagnostics=raw,
    )
