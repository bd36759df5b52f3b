"""A Pyro MCMC kernel over programs that moves by discrete edits (Metropolis–Hastings).

Target ``p(φ) ∝ exp(log_prior(φ) − E(φ))``. A proposal suggests an edited program
and the log-probabilities of the move and of the reverse move; the kernel accepts
with probability ``min(1, p(φ') q(φ | φ') / (p(φ) q(φ' | φ)))``. Pyro's runner
stores each draw as a fixed-shape tensor, so the state is a program's token ids
(:class:`~worldmodel.datasets.Vocabulary`) padded to a fixed width.

The proposal interface is one method, so a learned policy (e.g. the flow policy)
plugs in the same way as :class:`UniformEditProposal`::

    class MyProposal:
        def propose(self, program, rng):   # rng: random.Random
            ...
            return new_program, log_q_forward, log_q_reverse
"""

from __future__ import annotations

import math
import random
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel
from worldmodel.datasets import Domain, Program, Type, Vocabulary

__all__ = ["EditProposal", "UniformEditProposal", "EditMetropolisKernel"]


class EditProposal(Protocol):
    """What :class:`EditMetropolisKernel` needs from a proposal.

    ``propose(program, rng)`` returns ``(new_program, log_q_forward, log_q_reverse)``:
    ``log q(new | program)`` and ``log q(program | new)``, both exact (summed over
    every way the proposal can make the move), drawing randomness only from ``rng``
    (a ``random.Random``).
    """

    def propose(self, program: Program, rng: random.Random) -> tuple[Program, float, float]: ...


class UniformEditProposal:
    """Pick one valid edit uniformly among all one-edit neighbours (``domain.neighbours``).

    ``q(φ' | φ) = m(φ → φ') / N(φ)``: ``N(φ)`` counts every valid edit of ``φ`` and
    ``m`` the edits that give ``φ'`` (two insertions of the same statement at
    adjacent places can give the same program, so ``m`` may exceed 1). The reverse
    probability is computed the same way from ``φ'``. Neighbour lists are cached
    (up to ``cache_size`` programs).

    Args:
        domain: the DSL.
        max_length: no insertion beyond this many statements.
        cache_size: programs whose neighbour counts are kept (default 100000).

    Example:
        >>> from worldmodel.datasets import Domain, deepcoder
        >>> tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "SUM"]})
        >>> proposal = UniformEditProposal(tiny, max_length=2)
        >>> p = tiny.parse("a <- [int] | b <- SORT a")
        >>> q = tiny.parse("a <- [int] | b <- SORT a | c <- SORT a")  # 2 of p's 8 edits
        >>> round(math.exp(proposal.log_prob(q, p)), 4), round(math.exp(proposal.log_prob(p, q)), 4)
        (0.25, 0.3333)
    """

    def __init__(self, domain: Domain, *, max_length: int, cache_size: int = 100_000):
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        self.domain = domain
        self.max_length = max_length
        self.cache_size = cache_size
        self._cache: dict[Program, tuple[list[Program], Counter]] = {}

    def moves(self, program: Program) -> tuple[list[Program], Counter]:
        """Every edit's result (one entry per edit, so with repeats) and their counts."""
        found = self._cache.get(program)
        if found is None:
            if len(program) > self.max_length:
                raise ValueError(
                    f"program has {len(program)} statements, more than max_length={self.max_length}"
                )
            targets = [new for _, new in self.domain.neighbours(program, max_length=self.max_length)]
            if not targets:
                raise ValueError(f"{self.domain.format(program)!r} has no valid edit")
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            found = self._cache[program] = (targets, Counter(targets))
        return found

    def log_prob(self, new: Program, program: Program) -> float:
        """``log q(new | program)`` (``-inf`` if no edit makes it)."""
        targets, counts = self.moves(program)
        m = counts.get(new, 0)
        return math.log(m / len(targets)) if m else -math.inf

    def propose(self, program: Program, rng: random.Random) -> tuple[Program, float, float]:
        targets, _ = self.moves(program)
        new = targets[rng.randrange(len(targets))]
        return new, self.log_prob(new, program), self.log_prob(program, new)


class EditMetropolisKernel(MCMCKernel):
    """Metropolis–Hastings over programs, for ``pyro.infer.MCMC``.

    The sample site is ``"program"``: a ``(width,)`` float tensor of token ids padded
    with 0 (``<pad>``); :meth:`encode` and :meth:`decode_samples` convert. Float, not
    long, so that ``MCMC.summary()`` (which takes means) works: its per-position
    ``n_eff`` and ``r_hat`` flag chains that settle on different programs. For one
    number per draw, :func:`~worldmodel.inference.program_chain_diagnostics`.

    Args:
        energy: ``E(φ) -> float``; ``math.inf`` is allowed (never accepted).
        domain: the DSL the programs belong to.
        input_types: the programs' argument types (fixes the tensor width).
        max_length: the most statements a state may have (fixes the tensor width).
        proposal: an :class:`EditProposal` (default ``UniformEditProposal(domain,
            max_length=max_length)``).
        log_prior: ``log prior(φ)`` up to a constant (default uniform).
        seed: seeds the proposal's and the acceptance's ``random.Random`` (default 0).

    Raises:
        ValueError: ``max_length`` < 0.

    Example:
        >>> from pyro.infer import MCMC
        >>> from worldmodel.datasets import Domain, Type, deepcoder
        >>> tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ["SORT", "SUM"]})
        >>> kernel = EditMetropolisKernel(len, domain=tiny, input_types=(Type.LIST,), max_length=2)
        >>> start = kernel.encode(tiny.parse("a <- [int]"))
        >>> mcmc = MCMC(kernel, num_samples=50, warmup_steps=10,
        ...             initial_params={"program": start}, disable_progbar=True)
        >>> mcmc.run()
        >>> programs = kernel.decode_samples(mcmc.get_samples()["program"])
        >>> len(programs), all(len(p) <= 2 for p in programs)
        (50, True)
    """

    def __init__(
        self,
        energy: Callable[[Program], float],
        *,
        domain: Domain,
        input_types: Sequence[Type],
        max_length: int,
        proposal: EditProposal | None = None,
        log_prior: Callable[[Program], float] | None = None,
        seed: int = 0,
    ):
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        self.energy = energy
        self.domain = domain
        self.input_types = tuple(input_types)
        self.max_length = max_length
        self.proposal = proposal if proposal is not None else UniformEditProposal(domain, max_length=max_length)
        self.log_prior = log_prior
        self.seed = seed
        # One variable token per input and statement: a task may have more inputs
        # than the vocabulary's default.
        variables = len(self.input_types) + max_length
        self.vocabulary = Vocabulary.for_domain(dict(domain.primitives), domain.bounds, max_variables=variables)
        arity = max((len(p.arg_types) for p in domain.primitives.values()), default=0)
        # <bos> types <sep> (primitive args)* <eos>
        self.width = len(self.input_types) + 3 + max_length * (1 + arity)
        self.transforms = {}
        self._initial_params = None
        self._reset()
        super().__init__()

    def _reset(self) -> None:
        self._rng = random.Random(self.seed)
        self._t = 0
        self._warmup_steps = 0
        self._accepted = 0
        self._current: tuple[torch.Tensor, Program, float] | None = None

    def encode(self, program: Program) -> torch.Tensor:
        """The state tensor of ``program``, shape ``(width,)``, float token ids (exact:
        ids are far below 2²⁴).

        Raises:
            ValueError: other input types than the kernel's, or too many statements.
        """
        if program.input_types != self.input_types:
            raise ValueError(f"program takes {program.input_types}, the kernel {self.input_types}")
        if len(program) > self.max_length:
            raise ValueError(f"program has {len(program)} statements, more than max_length={self.max_length}")
        ids = self.vocabulary.encode_program(program)
        return torch.tensor(ids + [0] * (self.width - len(ids)), dtype=torch.float)

    def decode(self, state: torch.Tensor) -> Program:
        """The program of one state tensor, shape ``(width,)``."""
        return self.vocabulary.decode_program([int(i) for i in state.tolist()])

    def decode_samples(self, samples: torch.Tensor) -> list[Program]:
        """Programs of stacked draws, shape ``(N, width)`` (``mcmc.get_samples()["program"]``)."""
        # Chains revisit programs often: decode each distinct state once.
        decoded: dict[tuple[int, ...], Program] = {}
        out = []
        for row in samples.tolist():
            key = tuple(int(i) for i in row)
            program = decoded.get(key)
            if program is None:
                program = decoded[key] = self.vocabulary.decode_program(list(key))
            out.append(program)
        return out

    def log_target(self, program: Program) -> float:
        """``log_prior(φ) − E(φ)`` (unnormalised log target).

        Raises:
            ValueError: the value is NaN.
        """
        value = -float(self.energy(program))
        if self.log_prior is not None:
            value += float(self.log_prior(program))
        if math.isnan(value):
            raise ValueError(f"energy or log_prior is NaN at {self.domain.format(program)!r}; return math.inf to forbid a program")
        return value

    def log_acceptance(self, log_target_new: float, log_target_old: float, log_q_forward: float, log_q_reverse: float) -> float:
        """Log Metropolis–Hastings ratio (before ``min(0, ·)``)."""
        return (log_target_new - log_target_old) + (log_q_reverse - log_q_forward)

    def setup(self, warmup_steps, *args, **kwargs):
        self._reset()
        self._warmup_steps = warmup_steps
        if self._initial_params is None:
            raise ValueError('pass initial_params={"program": kernel.encode(start_program)} to MCMC')

    @property
    def initial_params(self):
        return self._initial_params

    @initial_params.setter
    def initial_params(self, params):
        state = params["program"]
        if state.shape != (self.width,):
            raise ValueError(f"initial program tensor has shape {tuple(state.shape)}, expected ({self.width},)")
        # Re-encoded, which validates input types and length and gives every state the
        # same dtype (Pyro stacks the draws, the start among them when it is kept).
        self._initial_params = {"program": self.encode(self.decode(state))}

    def sample(self, params):
        state = params["program"]
        current = self._current
        if current is None or current[0] is not state:
            program = self.decode(state)
            current = (state, program, self.log_target(program))
        _, program, log_p = current
        new, log_q_forward, log_q_reverse = self.proposal.propose(program, self._rng)
        log_p_new = self.log_target(new) if len(new) <= self.max_length else -math.inf
        log_a = self.log_acceptance(log_p_new, log_p, log_q_forward, log_q_reverse)
        accepted = log_p_new > -math.inf and math.log(1.0 - self._rng.random()) < log_a
        if accepted:
            state = self.encode(new)
            current = (state, new, log_p_new)
        self._t += 1
        if accepted and self._t > self._warmup_steps:
            self._accepted += 1
        self._current = current
        return {"program": state}

    def logging(self):
        return OrderedDict([("acc. rate", f"{self._acceptance_rate():.3f}")])

    def _acceptance_rate(self) -> float:
        kept = self._t - self._warmup_steps
        return self._accepted / kept if kept > 0 else 0.0

    def diagnostics(self):
        return {"acceptance rate": self._acceptance_rate()}
