"""The dynamics head: a neural ODE in value-latent space, one statement per integration.

A program runs in latent space as it runs in the interpreter: every variable has a
latent ``(W, d)`` (one vector per slot of :mod:`worldmodel._values`). A statement
``f(a, b)`` starts from the latent of its *carried* argument (its first list argument,
else its first) and integrates ``dh/dt = F(h, t | f, h_b)`` from ``t = 0`` to ``1``
with torchdiffeq's ``odeint``; the result is the latent of the new variable. So one
statement is one integration step, and the forward of ``φ + Δφ`` is the forward of
``φ`` plus one more step. Integrating from ``t = 1`` back to ``0`` runs a statement in
reverse, from its result to its carried argument, which :meth:`WorldModel.reverse`
uses to propose inputs.

The vector field ``F`` is a small transformer block over the slots, FiLM-conditioned on
the primitive and the time, that also attends to the other argument's slots.
``transition="residual"`` replaces the integration by one residual application of the
same network (``h + F(h)``): the same parameters without the ODE, the ablation.

Training is :class:`~worldmodel.DynamicsTerm` (:mod:`._dynamics_term`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from worldmodel.datasets import DOMAINS, Domain, Program, Task, Type, Value, require_choice

from ._config import ConfigError, _check_types, _within
from ._linear_stream import LinearStream
from ._values import SlotCodec, SlotDecoder, SlotEncoder

__all__ = [
    "DynamicsConfig",
    "DynamicsHead",
    "DYNAMICS_LIMITS",
    "TRANSITIONS",
    "SOLVERS",
    "statement_plan",
]

TRANSITIONS = ("ode", "residual")
"""How a statement moves a latent: integrating the ODE, or one residual step (ablation)."""

SOLVERS = ("rk4", "euler", "midpoint", "dopri5")
"""torchdiffeq methods the head accepts; the fixed-step ones take ``steps`` steps."""

DYNAMICS_LIMITS: dict[str, tuple[float, float]] = {
    "dim": (4, 1024),
    "heads": (1, 64),
    "layers": (1, 16),
    "steps": (1, 64),
    "max_inputs": (1, 16),
}
"""Bounds of :class:`DynamicsConfig`'s sizes (a config from a file is checked against
them before anything is allocated)."""


@dataclass(frozen=True)
class DynamicsConfig:
    """Sizes and solver of a :class:`DynamicsHead`.

    Attributes:
        domain: the domain's name (default ``"deepcoder"``).
        dim: width d of a slot latent (default 64); a value's latent is ``(W, d)``.
        heads: attention heads in the vector field (default 4; divides ``dim``).
        layers: transformer blocks in one evaluation of the vector field (default 1).
        transition: ``"ode"`` (integrate) or ``"residual"`` (one step ``h + F(h)``,
            the non-ODE ablation of the same size); default ``"ode"``.
        solver: torchdiffeq method, one of :data:`SOLVERS` (default ``"rk4"``).
        steps: fixed solver steps per statement (default 2; ignored by ``dopri5``).
        adjoint: backpropagate with the adjoint method (``odeint_adjoint``: memory
            constant in the steps, more compute); default False.
        max_inputs: inputs the spec-density features reserve (default 3).
        numeric_readout: the decoder adds a :class:`~worldmodel._values.NumericReadout`
            (a peak at a computed scalar) to its element logits (default False).
        linear_stream: carry exact numbers through the statements a linear map
            computes (:mod:`~worldmodel._linear_stream`, fitted by
            :func:`~worldmodel.fit_linear_stream`) and peak the forward decode at them
            (default False).

    Example:
        >>> DynamicsConfig(dim=32, heads=4).dim
        32
    """

    domain: str = "deepcoder"
    dim: int = 64
    heads: int = 4
    layers: int = 1
    transition: str = "ode"
    solver: str = "rk4"
    steps: int = 2
    adjoint: bool = False
    max_inputs: int = 3
    numeric_readout: bool = False
    linear_stream: bool = False

    def __post_init__(self) -> None:
        _check_types(self)
        _within(self, DYNAMICS_LIMITS)
        if self.dim % self.heads:
            raise ConfigError(f"DynamicsConfig.heads ({self.heads}) must divide dim ({self.dim})")
        require_choice(self, "transition", TRANSITIONS)
        require_choice(self, "solver", SOLVERS)

    def to_dict(self) -> dict:
        return asdict(self)


def statement_plan(program: Program, domain: Domain) -> list[tuple[int, int, int]]:
    """Per statement ``(primitive index, carried argument, other argument or -1)``.

    The carried argument is the first list argument (else the first argument): the
    latent the statement's integration starts from.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- SUM c")
        >>> statement_plan(p, deepcoder) == [(list(deepcoder.primitives).index("TAKE"), 0, 1),
        ...                                 (list(deepcoder.primitives).index("SUM"), 2, -1)]
        True
    """
    names = {name: i for i, name in enumerate(domain.primitives)}
    plan = []
    for st in program.statements:
        types = domain.primitives[st.primitive].arg_types
        carried = next((i for i, t in enumerate(types) if t is Type.LIST), 0)
        other = [a for i, a in enumerate(st.args) if i != carried]
        plan.append((names[st.primitive], st.args[carried], other[0] if other else -1))
    return plan


class _Block(nn.Module):
    """Pre-norm transformer block over slots, FiLM-conditioned, attending to ``other`` too."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.other_norm = nn.LayerNorm(dim)
        self.film = nn.Linear(dim, 4 * dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, other: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, W, d)``, ``other`` ``(N, W, d)``, ``cond`` ``(N, d)`` -> ``(N, W, d)``."""
        g1, b1, g2, b2 = self.film(cond).unsqueeze(1).chunk(4, -1)  # each (N, 1, d)
        u = self.norm1(x) * (1 + g1) + b1
        kv = torch.cat([u, self.other_norm(other)], 1)  # (N, 2W, d)
        x = x + self.attention(u, kv, kv, need_weights=False)[0]
        return x + self.mlp(self.norm2(x) * (1 + g2) + b2)


class _VectorField(nn.Module):
    """``F(t, h)`` for one batch of statements; ``condition`` sets their primitives and
    other arguments before a solve (odeint calls ``forward(t, h)`` only)."""

    def __init__(self, dim: int, heads: int, layers: int, primitives: int):
        super().__init__()
        self.primitive = nn.Embedding(primitives, dim)
        self.time = nn.Sequential(nn.Linear(1, dim), nn.GELU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(_Block(dim, heads) for _ in range(layers))
        self.out = nn.Linear(dim, dim)
        self._condition: tuple[torch.Tensor, torch.Tensor] | None = None

    def condition(self, primitive: torch.Tensor, other: torch.Tensor) -> None:
        self._condition = (self.primitive(primitive), other)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        primitive, other = self._condition
        cond = primitive + self.time(t.reshape(1, 1).to(h.dtype))  # (N, d)
        x = h
        for block in self.blocks:
            x = block(x, other, cond)
        return self.out(x - h)  # (N, W, d)


class _SpecDensity(nn.Module):
    """A Gaussian over spec features, and the alarm threshold calibrated on held-out Φ.

    Buffers (saved with the head): ``mean`` ``(F,)``, ``whiten`` ``(F, F)`` (the inverse
    Cholesky factor of the shrunk covariance), ``threshold`` ``()`` (NaN until
    calibrated).
    """

    def __init__(self, features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("whiten", torch.eye(features))
        self.register_buffer("threshold", torch.tensor(float("nan")))

    @property
    def calibrated(self) -> bool:
        return bool(torch.isfinite(self.threshold))

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """``(N,)`` squared Mahalanobis distance per feature, of ``features`` ``(N, F)``."""
        z = (features - self.mean) @ self.whiten.T
        return z.pow(2).mean(-1)


class DynamicsHead(nn.Module):
    """Value encoder and decoder, and the statement dynamics (see the module doc).

    Args:
        config: sizes and solver (default ``DynamicsConfig()``).
        domain: the DSL (default the one ``config.domain`` names).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> head = DynamicsHead(DynamicsConfig(dim=16, heads=2))
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> latents = head.run_program(p, [([3, 1],), ([2],)])
        >>> [tuple(h.shape) for h in latents]
        [(2, 21, 16), (2, 21, 16)]
    """

    def __init__(self, config: DynamicsConfig | None = None, *, domain: Domain | None = None):
        super().__init__()
        config = config or DynamicsConfig()
        if domain is None:
            if config.domain not in DOMAINS:
                raise ConfigError(f"DynamicsConfig.domain {config.domain!r} is unknown; choose one of {sorted(DOMAINS)}")
            domain = DOMAINS[config.domain]
        self.config = config
        self.domain = domain
        self.codec = SlotCodec(domain.bounds)
        d = config.dim
        self.encoder = SlotEncoder(self.codec, d)
        self.decoder = SlotDecoder(self.codec, d, numeric=config.numeric_readout)
        self.field = _VectorField(d, config.heads, config.layers, len(domain.primitives))
        self.no_other = nn.Parameter(torch.zeros(d))
        self.linear = LinearStream(len(domain.primitives), self.codec) if config.linear_stream else None
        self.density = _SpecDensity((config.max_inputs + 1) * d)

    @property
    def device(self) -> torch.device:
        return self.no_other.device

    def to_config(self) -> DynamicsConfig:
        return self.config

    def grown(self, *, layers: int | None = None, numeric_readout: bool | None = None,
              linear_stream: bool | None = None) -> DynamicsHead:
        """A copy with more vector-field blocks, the numeric readout or the linear stream,
        computing the same function.

        The blocks added after the trained ones start as identities (their attention
        output and last MLP layer are zero), the readout starts at (almost) zero and the
        linear stream with no exact map (fit it with :func:`~worldmodel.fit_linear_stream`),
        so training the grown head continues from where this one stopped.

        Args:
            layers: blocks in the copy (default this head's; not fewer).
            numeric_readout: give the copy's decoder the readout (default this head's;
                a readout cannot be taken away).
            linear_stream: give the copy the linear stream (default this head's; nor
                can a stream).

        Raises:
            ConfigError: fewer layers, or the readout or stream removed.

        Example:
            >>> head = DynamicsHead(DynamicsConfig(dim=16, heads=2))
            >>> head.grown(layers=3, numeric_readout=True).config.layers
            3
        """
        c = self.config
        layers = c.layers if layers is None else layers
        numeric_readout = c.numeric_readout if numeric_readout is None else numeric_readout
        linear_stream = c.linear_stream if linear_stream is None else linear_stream
        if layers < c.layers:
            raise ConfigError(f"grown: layers ({layers}) must be at least this head's {c.layers}")
        if c.numeric_readout and not numeric_readout:
            raise ConfigError("grown: numeric_readout=False would drop this head's trained readout")
        if c.linear_stream and not linear_stream:
            raise ConfigError("grown: linear_stream=False would drop this head's fitted linear stream")
        config = replace(c, layers=layers, numeric_readout=numeric_readout, linear_stream=linear_stream)
        head = DynamicsHead(config, domain=self.domain).to(self.device)
        head.load_state_dict(self.state_dict(), strict=False)  # the new tensors keep their start
        for block in head.field.blocks[c.layers :]:
            for layer in (block.attention.out_proj, block.mlp[-1]):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        return head

    # -- values -----------------------------------------------------------------------------

    def slot_ids(self, values: Sequence[Value], *, width: int | None = None) -> torch.Tensor:
        """``(N, W)`` slot ids of ``values`` on this head's device."""
        width = self.codec.width(values) if width is None else width
        return self.codec.encode(values, width=width).to(self.device)

    def encode(self, ids: torch.Tensor, *, numeric: torch.Tensor | None = None) -> torch.Tensor:
        """Latents ``(N, W, d)`` of slot ids ``(N, W)``."""
        return self.encoder(ids, numeric=numeric)

    def decode(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Header logits ``(N, H)`` and element logits ``(N, W - 1, V)`` of latents ``(N, W, d)``."""
        return self.decoder(h)

    # -- dynamics ---------------------------------------------------------------------------

    def step(self, carried: torch.Tensor, other: torch.Tensor | None, primitive: torch.Tensor, *,
             reverse: bool = False) -> torch.Tensor:
        """Run N statements on their carried latents; or, ``reverse``, back from their results.

        Args:
            carried: ``(N, W, d)`` latents of the carried arguments (``reverse``: of the results).
            other: ``(N, W, d)`` latents of the other arguments, ``None`` for none; rows
                of a mixed batch without one hold :attr:`no_other`.
            primitive: ``(N,)`` long primitive indices.
            reverse: integrate from ``t = 1`` back to ``t = 0``.

        Returns:
            ``(N, W, d)``: the results' latents (``reverse``: the carried arguments').
        """
        if other is None:
            other = self.no_other.expand_as(carried)
        self.field.condition(primitive, other)
        c = self.config
        if c.transition == "residual":
            zero = torch.zeros((), device=carried.device)
            update = self.field(zero, carried)
            return carried - update if reverse else carried + update
        t = torch.tensor([1.0, 0.0] if reverse else [0.0, 1.0], device=carried.device)
        options = None if c.solver == "dopri5" else {"step_size": 1.0 / c.steps}
        if c.adjoint and torch.is_grad_enabled():
            params = (*self.field.parameters(), *self.field._condition)
            path = odeint_adjoint(self.field, carried, t, method=c.solver, options=options,
                                  adjoint_params=params, rtol=1e-4, atol=1e-5)
        else:
            path = odeint(self.field, carried, t, method=c.solver, options=options, rtol=1e-4, atol=1e-5)
        return path[-1]

    def other_latents(self, latents: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """``(N, W, d)``: ``latents[n, other[n]]`` of ``latents`` ``(N, V, W, d)``, or
        :attr:`no_other` where ``other[n] = -1``."""
        picked = latents[torch.arange(len(other), device=latents.device), other.clamp(min=0)]
        return torch.where((other >= 0)[:, None, None], picked, self.no_other.expand_as(picked))

    def run_program(self, program: Program, inputs: Sequence[Sequence[Value]], *, width: int | None = None,
                    input_latents: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Latents of every variable of ``program`` on N input tuples, inputs first.

        Args:
            program: the program.
            inputs: N argument tuples (values within the bounds, of the input types).
            width: slots per latent (default ``codec.slots``, the width training uses:
                the vector field attends over every slot, pads included, so a narrower
                rollout changes each attention average and, measured, costs 10-17 points
                of forward accuracy).
            input_latents: the inputs' latents ``(N, W, d)`` each, instead of encoding
                ``inputs`` (the Jacobian differentiates through them).

        Returns:
            ``num_variables`` tensors ``(N, W, d)``; the last is the output's.
        """
        if input_latents is None:
            width = width or self.codec.slots
            latents = [self.encode(self.slot_ids([row[i] for row in inputs], width=width))
                       for i in range(len(program.input_types))]
        else:
            latents = list(input_latents)
        n = len(latents[0])
        for primitive, carried, other in statement_plan(program, self.domain):
            index = torch.full((n,), primitive, dtype=torch.long, device=self.device)
            latents.append(self.step(latents[carried], None if other < 0 else latents[other], index))
        return latents

    def output_logits(self, program: Program, inputs: Sequence[Sequence[Value]], *,
                      width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward decode of ``program``'s output on N input tuples: header logits
        ``(N, H)`` and element logits ``(N, W - 1, V)`` (``width`` as :meth:`run_program`).

        With a linear stream, the element logits of each output whose numbers are
        trusted (:mod:`~worldmodel._linear_stream`) are peaked at them, ``-PRECISION (v - u)^2``.
        """
        latents = self.run_program(program, inputs, width=width)
        header, element = self.decode(latents[-1])
        if self.linear is None:
            return header, element
        slots, n = self.codec.slots, len(inputs)
        variables = []  # (numbers (N, S), headers (N,), trusted (N,)) per variable
        for i in range(len(program.input_types)):
            ids = self.codec.encode([row[i] for row in inputs], width=slots).to(self.device)
            variables.append((self.codec.numbers(ids), ids[:, 0], torch.ones(n, dtype=torch.bool, device=self.device)))
        for k, (primitive, carried, other) in enumerate(statement_plan(program, self.domain)):
            numbers, trusted = self.linear.step(primitive, variables[carried], None if other < 0 else variables[other])
            result_header = self.decoder.header_logits(latents[len(program.input_types) + k]).argmax(-1)
            used = self.codec.used(result_header, width=slots)
            variables.append((numbers * used, result_header, trusted))
        numbers, _, trusted = variables[-1]
        w = element.shape[1] + 1
        peak = -self.linear.PRECISION * (self.linear.values - numbers[:, 1:w, None]).pow(2)  # (N, W - 1, V)
        return header, element + peak * trusted[:, None, None]

    # -- spec density ---------------------------------------------------------------------

    def spec_features(self, tasks: Sequence[Task]) -> torch.Tensor:
        """``(B, F)`` features of B specs: per input position and for the output, the mean
        over examples of each value's slot-mean latent (``F = (max_inputs + 1) d``).

        A task with more than ``max_inputs`` inputs gets NaN features (scored as
        outside the training distribution).
        """
        d, m = self.config.dim, self.config.max_inputs
        rows = []
        for task in tasks:
            if len(task.input_types) > m:
                rows.append(torch.full(((m + 1) * d,), float("nan"), device=self.device))
                continue
            columns = [[e.inputs[i] for e in task.examples] for i in range(len(task.input_types))]
            columns.append([e.output for e in task.examples])
            parts = [self.encode(self.slot_ids(c)).mean((0, 1)) for c in columns]  # each (d,)
            parts[-1:-1] = [torch.zeros(d, device=self.device)] * (m - len(task.input_types))
            rows.append(torch.cat(parts))
        return torch.stack(rows)
