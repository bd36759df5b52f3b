"""WorldModel: the shared encoders and the heads in one module, with a query API."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import resources

import torch
from torch import nn
from torch.nn import functional as F

from worldmodel.datasets import (
    DEFAULT_DOMAIN,
    DOMAINS,
    Domain,
    Program,
    Skill,
    Task,
    WorldModelError,
    expand,
)

from ._batches import PairBatch, ProgramBatch, SpecBatch
from ._config import ConfigError, ModelConfig
from ._dynamics import DynamicsConfig, DynamicsHead
from ._encoders import ProgramEncoder, SpecEncoder, ValueEncoder
from ._energy import EnergyHead
from ._features import Featurizer
from ._latent_head import DecodedProgram, LatentConfig, LatentHead
from ._primitive_head import PrimitiveHead, PrimitiveInputs, primitive_inputs
from ._runs import Environments, Run
from ._similarity import SimilarityHead
from ._value_head import ValueHead, ValueInputs, value_features, value_inputs

__all__ = ["WorldModel", "UnsupportedTaskError"]

_CHUNK = 2048  # programs per forward pass in the query API (bounds peak memory)


class UnsupportedTaskError(WorldModelError, ValueError):
    """A task the model's encoders cannot take: too many inputs, or a value beyond what they encode."""


class WorldModel(nn.Module):
    """Encoders (value, spec, executed program) and heads (energy, similarity, primitives).

    The query methods (:meth:`energy`, :meth:`encode`, :meth:`similarity`,
    :meth:`state_context`) take one task and plain programs, run without gradients and
    return tensors on the model's device; the ``*_forward`` methods take featurised
    batches and keep gradients, for training.

    Args:
        config: sizes (default :class:`ModelConfig` ``()``).
        domain: the DSL; default the domain named by ``config.domain``.

    Attributes:
        policy: the edit policy head, or ``None`` until one is attached.
        dynamics: the dynamics head (forward / reverse conditionals, Jacobians, spec
            density), or ``None`` until one is attached.
        latent: the program latent space (autoencoder, ``q(z | x, y)``, ``E(x, y, z)``),
            or ``None`` until one is attached.
        featurizer: turns tasks and programs into batches.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> model = WorldModel(ModelConfig(dim=32, token_dim=16))
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> programs = [deepcoder.parse("a <- [int] | b <- SORT a"), deepcoder.parse("a <- [int] | b <- HEAD a")]
        >>> tuple(model.energy(task, programs).shape), tuple(model.encode(task, programs).shape)
        ((2,), (2, 32))
    """

    def __init__(self, config: ModelConfig | None = None, *, domain: Domain | None = None):
        super().__init__()
        config = config or ModelConfig(domain=domain.name if domain is not None else "deepcoder")
        if domain is None:
            if config.domain not in DOMAINS:
                raise ConfigError(f"ModelConfig.domain {config.domain!r} is unknown; choose one of {sorted(DOMAINS)}")
            domain = DOMAINS[config.domain]
        elif domain.name != config.domain:
            raise ConfigError(f"domain {domain.name!r} differs from ModelConfig.domain {config.domain!r}")
        self.config = config
        self.domain = domain
        self.featurizer = Featurizer(domain, max_variables=config.max_variables, lookahead=config.lookahead)
        vocab = self.featurizer.vocab
        d = config.dim
        self.values = ValueEncoder(vocab.num_value_tokens, self.featurizer.width, config.token_dim, d)
        self.spec_encoder = SpecEncoder(d)
        self.program_encoder = ProgramEncoder(len(vocab.program_tokens), config.max_program_tokens, config.token_dim, d)
        self.energy_head = EnergyHead(d)
        self.similarity_head = SimilarityHead(d)
        self.primitive_head = PrimitiveHead(
            d, len(domain.primitives), num_tokens=vocab.num_value_tokens, width=self.featurizer.width,
            hidden=config.primitive_width,
        )
        self.value_head = (
            ValueHead(d, num_tokens=vocab.num_value_tokens, width=self.featurizer.width, hidden=config.value_width)
            if config.value_width is not None else None
        )
        self.policy: nn.Module | None = None
        self.dynamics: DynamicsHead | None = None
        self.latent: LatentHead | None = None
        self.skills: tuple[Skill, ...] = ()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def latent_dim(self) -> int:
        """Width D of ``z_φ``."""
        return self.config.dim

    @property
    def context_dim(self) -> int:
        """Width C = 2D of :meth:`state_context` (``[z_φ, s]``)."""
        return 2 * self.config.dim

    # -- batch forwards (with gradients) ------------------------------------------------

    def spec_forward(self, spec: SpecBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value encodings ``(U, D)``, per-example ``(B, K, D)`` and pooled ``s`` ``(B, D)``."""
        values = self.values(spec.values)
        examples, s = self.spec_encoder(spec, values)
        return values, examples, s

    def latent_forward(self, batch: ProgramBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Program latents ``z`` ``(N, D)`` and their specs' encodings ``s`` ``(N, D)``."""
        values, examples, s = self.spec_forward(batch.spec)
        z = self.program_encoder(batch, values, examples)
        return z, s[batch.task]

    def energy_forward(self, batch: ProgramBatch) -> torch.Tensor:
        """Energies ``(N,)`` of a featurised batch."""
        z, s = self.latent_forward(batch)
        return self.energy_head(z, s)

    def context_forward(self, batch: ProgramBatch) -> torch.Tensor:
        """State contexts ``[z_φ, s]`` ``(N, 2D)`` of a featurised batch (for the policy)."""
        return torch.cat(self.latent_forward(batch), -1)

    def primitive_forward(self, inputs: PrimitiveInputs) -> torch.Tensor:
        """Logits ``(B, P)`` that each of the domain's P primitives occurs in the solution."""
        _, examples, s = self.spec_forward(inputs.specs)
        return self.primitive_head(examples, s, inputs)

    def value_forward(self, inputs: ValueInputs) -> torch.Tensor:
        """Logits ``(N,)`` that each candidate value is made by a solution of its task."""
        if self.value_head is None:
            raise ValueError("this model has no value head; call attach_value_head() and train it (--only values)")
        _, examples, s = self.spec_forward(inputs.specs)
        return self.value_head(self._value_codes(inputs), examples, s, inputs)

    def _value_codes(self, inputs: ValueInputs) -> torch.Tensor:
        """The shared value encoder's encodings ``(N, K, D)`` of candidate values."""
        n, k, width = inputs.tokens.shape
        return self.values(inputs.tokens.view(n * k, width)).view(n, k, -1)

    def similarity_forward(self, batch: PairBatch) -> torch.Tensor:
        """Similarities ``(P,)`` of a featurised pair batch."""
        values, examples, _ = self.spec_forward(batch.spec)
        return self.similarity_head(batch, values, examples)

    # -- query API (no gradients) ---------------------------------------------------------

    def _program_batches(self, task: Task, programs: Sequence[Program], environments, run):
        if environments is None and run is not None:
            environments = [run(p) for p in programs]
        if environments is not None and len(environments) != len(programs):
            raise ValueError(f"got {len(environments)} environments for {len(programs)} programs")
        for start in range(0, len(programs), _CHUNK):
            chunk = programs[start : start + _CHUNK]
            envs = None if environments is None else environments[start : start + _CHUNK]
            yield self.featurizer.programs([task], chunk, [0] * len(chunk), envs, run=run).to(self.device)

    @torch.no_grad()
    def energy(
        self,
        task: Task,
        programs: Sequence[Program],
        *,
        environments: Sequence[Environments | None] | None = None,
        run: Run | None = None,
    ) -> torch.Tensor:
        """Energies ``(N,)`` of ``programs`` on ``task``; lower = better explains the examples.

        Args:
            task: the specification (its examples).
            programs: N programs taking the task's input types.
            environments: per program, ``Simulator.environments(program)`` (per example,
                all variables' values, inputs first) or ``None`` if invalid; computed
                with ``domain.trace`` when omitted.
            run: where the look-ahead feature's executions come from; a search passes
                ``Simulator.environments`` (default: the featurizer's own, as in training).
        """
        if not programs:
            return torch.zeros(0, device=self.device)
        return torch.cat([self.energy_forward(b) for b in self._program_batches(task, programs, environments, run)])

    @torch.no_grad()
    def encode(
        self,
        task: Task,
        programs: Sequence[Program],
        *,
        environments: Sequence[Environments | None] | None = None,
        run: Run | None = None,
    ) -> torch.Tensor:
        """Program latents ``z_φ`` ``(N, D)`` on ``task`` (execution-aware, so spec-relative)."""
        if not programs:
            return torch.zeros(0, self.latent_dim, device=self.device)
        return torch.cat([self.latent_forward(b)[0] for b in self._program_batches(task, programs, environments, run)])

    @torch.no_grad()
    def state_context(
        self,
        task: Task,
        programs: Sequence[Program],
        *,
        environments: Sequence[Environments | None] | None = None,
        run: Run | None = None,
    ) -> torch.Tensor:
        """Contexts ``[z_φ, s]`` ``(N, C)``, C = :attr:`context_dim`: spec, program and its execution."""
        if not programs:
            return torch.zeros(0, self.context_dim, device=self.device)
        return torch.cat([self.context_forward(b) for b in self._program_batches(task, programs, environments, run)])

    def check_task(self, task: Task) -> None:
        """Raise :class:`UnsupportedTaskError` naming the limit if the encoders cannot take ``task``.

        The spec encoder takes at most :attr:`max_inputs` inputs, and values of at
        most the domain's longest list with elements within its bounds.
        """
        if len(task.input_types) > self.max_inputs:
            raise UnsupportedTaskError(
                f"task {task.id!r} has {len(task.input_types)} inputs; the model takes at most {self.max_inputs}")
        vocab = self.featurizer.vocab
        for example in task.examples:
            for value in (*example.inputs, example.output):
                items = [value] if isinstance(value, int) else value
                if len(items) > self.featurizer.width - 2 or any(not vocab.value_min <= v <= vocab.value_max for v in items):
                    raise UnsupportedTaskError(f"task {task.id!r}: value {value!r} is outside what the model encodes")

    @property
    def max_inputs(self) -> int:
        """Most inputs a task may have for the spec encoder."""
        return self.spec_encoder.input_position.num_embeddings

    @torch.no_grad()
    def primitive_probabilities(self, task: Task) -> dict[str, float]:
        """Per primitive name, the probability that a solution of ``task`` uses it.

        One forward pass over the spec; no program is run. Raises ``ValueError`` if
        the task does not fit the model (:meth:`check_task`).

        Example:
            >>> from worldmodel.datasets import Task, Example, Type
            >>> model = WorldModel(ModelConfig(dim=32, token_dim=16))
            >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
            >>> p = model.primitive_probabilities(task); len(p) == len(model.domain.primitives)
            True
        """
        self.check_task(task)
        inputs = primitive_inputs([task], self.featurizer, max_inputs=self.max_inputs).to(self.device)
        probabilities = torch.sigmoid(self.primitive_forward(inputs).float())[0].tolist()
        return dict(zip(self.featurizer.primitive_names, probabilities))

    def add_skills(self, skills: Sequence[Skill]) -> None:
        """Grow the model's vocabulary by ``skills``: the primitive head gets one class
        per skill, so that :meth:`primitive_probabilities` (and guided search over
        ``domain.with_skills(model.skills)``) can call them.

        A new class starts from its expansion's primitives: the mean of their output
        weights and the least of their biases (a skill is as rare as its rarest part).
        The checkpoint records the library (:func:`save_model`).

        Raises:
            ValueError: a skill's name is already a primitive's or a skill's, or its
                body calls a primitive this model does not know.
        """
        skills = tuple(skills)
        self.domain.with_skills([*self.skills, *skills])  # checks names and bodies
        old = self.primitive_head.out[-1]
        grown = nn.Linear(old.in_features, old.out_features + len(skills)).to(old.weight.device, old.weight.dtype)
        index = {name: i for i, name in enumerate(self.featurizer.primitive_names)}
        with torch.no_grad():
            grown.weight[: old.out_features] = old.weight
            grown.bias[: old.out_features] = old.bias
            for j, skill in enumerate(skills, start=old.out_features):
                parts = [index[s.primitive] for s in expand(skill.body, self.skills + skills).statements]
                grown.weight[j] = old.weight[parts].mean(0)
                grown.bias[j] = old.bias[parts].min()
        self.primitive_head.out[-1] = grown
        self.skills += skills
        self.featurizer.primitive_names += tuple(skill.name for skill in skills)

    # -- the program latent space (worldmodel/_latent_head.py) --------------------------

    def attach_latent(self, config: LatentConfig | None = None) -> LatentHead:
        """Give the model a program latent space (a new :class:`LatentHead`); returns it.

        ``config``'s ``domain`` is set to this model's, and an unset ``spec_dim`` to the
        width of :meth:`latent_spec_forward` (default ``LatentConfig()``).

        Raises:
            ConfigError: ``config.spec_dim`` differs from that width.
        """
        import dataclasses

        width = self.config.dim + len(self.domain.primitives)
        config = config or LatentConfig()
        config = dataclasses.replace(config, domain=self.domain.name, spec_dim=config.spec_dim or width)
        if config.spec_dim != width:
            raise ConfigError(f"LatentConfig.spec_dim must be {width} for this model (dim + primitives), got {config.spec_dim}")
        self.latent = LatentHead(config, domain=self.domain).to(self.device)
        return self.latent

    def _require_latent(self) -> LatentHead:
        if self.latent is None:
            raise ValueError("this model has no latent space: call model.attach_latent() and train it (worldmodel train --latent)")
        return self.latent

    def latent_spec_forward(self, inputs: PrimitiveInputs) -> torch.Tensor:
        """What the latent space reads of B tasks: the pooled spec encoding and the
        primitive head's probabilities, ``(B, D + P)``."""
        _, examples, s = self.spec_forward(inputs.specs)
        base = len(self.domain.primitives)  # not the skills: the latent space reads a fixed width
        return torch.cat([s, torch.sigmoid(self.primitive_head(examples, s, inputs)[:, :base])], -1)

    @torch.no_grad()
    def latent_spec_features(self, task: Task) -> torch.Tensor:
        """:meth:`latent_spec_forward` of one task, ``(D + P,)``."""
        self.check_task(task)
        inputs = primitive_inputs([task], self.featurizer, max_inputs=self.max_inputs).to(self.device)
        return self.latent_spec_forward(inputs)[0].float()

    @torch.no_grad()
    def recognize(self, task: Task) -> torch.distributions.Normal:
        """``q(z | x, y)``: the amortised Gaussian over the latent of ``task``'s program, batch shape ``(L,)``."""
        loc, log_scale = self._require_latent().recognize(self.latent_spec_features(task).unsqueeze(0))
        return torch.distributions.Normal(loc[0], log_scale[0].exp())

    @torch.no_grad()
    def encode_programs(self, programs: Sequence[Program]) -> torch.Tensor:
        """Latents ``z`` ``(N, L)`` of ``programs`` alone (the means of ``q(z | φ)``)."""
        return self._require_latent().encode_programs(programs)[0]

    def decode(self, z: torch.Tensor, *, k: int = 5, input_types=None) -> list[list[DecodedProgram]]:
        """The ``k`` likeliest well-typed programs of each latent of ``z`` ``(N, L)``, with
        log-probabilities (see :meth:`LatentHead.decode`).

        Example:
            >>> from worldmodel.datasets import deepcoder
            >>> model = WorldModel(ModelConfig(dim=16, token_dim=8))
            >>> _ = model.attach_latent(LatentConfig(latent_dim=4, hidden=16, embed=8, critic=8))
            >>> out = model.decode(torch.zeros(2, 4), k=2)
            >>> [len(group) for group in out]
            [2, 2]
        """
        return self._require_latent().decode(z, k=k, input_types=input_types)

    def energy_latent(self, task: Task, z: torch.Tensor) -> torch.Tensor:
        """``E(x, y, z)`` of latents ``z`` ``(..., L)`` on ``task`` -> ``(...)``, bounded and
        differentiable in ``z``.

        Example:
            >>> from worldmodel.datasets import Task, Example, Type
            >>> model = WorldModel(ModelConfig(dim=16, token_dim=8))
            >>> _ = model.attach_latent(LatentConfig(latent_dim=4, hidden=16, embed=8, critic=8))
            >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
            >>> z = torch.zeros(3, 4, requires_grad=True)
            >>> model.energy_latent(task, z).sum().backward(); tuple(z.grad.shape)
            (3, 4)
        """
        head = self._require_latent()
        if z.shape[-1] != head.latent_dim:
            raise ValueError(f"z must have shape (..., {head.latent_dim}), got {tuple(z.shape)}")
        return head.energy(self.latent_spec_features(task), z)

    def latent_potential(self, task: Task) -> Callable[[torch.Tensor], torch.Tensor]:
        """``U(z) = ½‖z‖² + E(x, y, z)`` on ``task``: minus the log posterior of the latent,
        up to a constant; ``(..., L) -> (...)``, for the latent samplers."""
        head = self._require_latent()
        s = self.latent_spec_features(task)
        return lambda z: head.potential(s, z)

    @torch.no_grad()
    def similarity(
        self, task: Task, outputs_a: Sequence[Sequence[object] | None], outputs_b: Sequence[Sequence[object] | None]
    ) -> torch.Tensor:
        """``M(a_n, b_n | x)`` ``(N,)``, higher = more similar; symmetric in a and b.

        Args:
            task: the specification whose example inputs condition M.
            outputs_a, outputs_b: N output lists, one value per example (``None`` for an
                invalid program or value).
        """
        if not outputs_a:
            return torch.zeros(0, device=self.device)
        scores = []
        for start in range(0, len(outputs_a), _CHUNK):
            a = outputs_a[start : start + _CHUNK]
            b = outputs_b[start : start + _CHUNK]
            batch = self.featurizer.pairs([task], a, b, [0] * len(a)).to(self.device)
            scores.append(self.similarity_forward(batch))
        return torch.cat(scores)

    def attach_value_head(self, *, width: int = 64) -> ValueHead:
        """Give the model a fresh value head of hidden ``width`` (``config.value_width``); returns it."""
        import dataclasses

        self.config = dataclasses.replace(self.config, value_width=width)
        self.value_head = ValueHead(
            self.config.dim, num_tokens=self.featurizer.vocab.num_value_tokens, width=self.featurizer.width,
            hidden=width,
        ).to(self.device)
        return self.value_head

    @torch.no_grad()
    def value_scorer(self, task: Task, *, chunk: int = 4096) -> Callable[[Sequence[tuple]], list[float]]:
        """A function from values of ``task`` to the log-probability that a solution makes each.

        A value is one result per example (lists as tuples), as bottom-up enumeration
        holds them. The spec is encoded once, here; each call featurises its values and
        runs only the head, ``chunk`` values at a time. Raises ``ValueError`` if the
        model has no value head or cannot take the task (:meth:`check_task`).
        """
        if self.value_head is None:
            raise ValueError("this model has no value head; call attach_value_head() and train it (--only values)")
        self.check_task(task)
        specs = self.featurizer.specs([task]).to(self.device)
        _, examples, pooled = self.spec_forward(specs)
        targets = tuple(tuple(e.output) if isinstance(e.output, list) else e.output for e in task.examples)
        encode = self.featurizer.vocab.encode_value

        @torch.no_grad()
        def score(values: Sequence[tuple]) -> list[float]:
            out: list[float] = []
            for start in range(0, len(values), chunk):
                part = values[start : start + chunk]
                tokens = [[encode(v) for v in value] for value in part]
                inputs = value_inputs(specs, [0] * len(part), [value_features(v, targets) for v in part], tokens)
                inputs = inputs.to(self.device)
                codes = self._value_codes(inputs)
                out += F.logsigmoid(self.value_head(codes, examples, pooled, inputs).float()).tolist()
            return out

        return score

    def reset_primitive_head(self, *, width: int | None) -> None:
        """Replace the primitive head by a fresh one of hidden ``width`` (``None``: ``2 * dim``).

        The encoders and the other heads keep their weights, so a trained model can
        take a wider head and train only it (``TrainConfig(only="primitives")``).
        """
        import dataclasses

        self.config = dataclasses.replace(self.config, primitive_width=width)
        self.primitive_head = PrimitiveHead(
            self.config.dim, len(self.featurizer.primitive_names), num_tokens=self.featurizer.vocab.num_value_tokens,
            width=self.featurizer.width, hidden=width,
        ).to(self.device)

    # -- policy (worldmodel/_policy.py) ----------------------------------------------------

    def attach_policy(self, config=None):
        """Give the model a flow policy conditioned on :meth:`state_context`; returns it.

        Args:
            config: a :class:`PolicyConfig`; its ``context_features`` and ``domain`` are
                set to this model's (default ``PolicyConfig()``).
        """
        import dataclasses

        from ._policy import FlowPolicy, PolicyConfig

        config = dataclasses.replace(config or PolicyConfig(), context_features=self.context_dim, domain=self.domain.name)
        self.policy = FlowPolicy(config).to(self.device)
        return self.policy

    def _require_policy(self):
        if self.policy is None:
            raise ValueError("this model has no policy: call model.attach_policy() and train it (worldmodel train --policy)")
        return self.policy

    @torch.no_grad()
    def policy_distribution(
        self, task: Task, program: Program, edits=None, *, environments: Environments | None = None, run: Run | None = None
    ):
        """The policy's ``log p(Δ | x, y, φ)`` over edits of ``program``, normalised over them.

        Args:
            task: the spec.
            program: the current program φ.
            edits: the candidate edits (default: every valid neighbour edit of φ with the
                policy's ``max_length``).
            environments: φ's per-example variable values (``Simulator.environments``),
                if already computed.
            run: where the executions of the edited programs come from (see
                :func:`~worldmodel.edit_features`); a search passes
                ``Simulator.environments``, so that they count against its budget once
                (default: the uncounted interpreter).

        Returns:
            ``(edits, log_probs)``: the list of ``E`` edits and a ``(E,)`` tensor whose
            logsumexp is 0.
        """
        policy = self._require_policy()
        if edits is None:
            edits = policy.candidates(program)
        edits = list(edits)
        if run is not None and environments is None:
            environments = run(program)
        known = None if environments is None and run is None else [environments]
        context = self.state_context(task, [program], environments=known, run=run)
        return edits, policy.log_probs(task, program, edits, context=context, run=run)

    @torch.no_grad()
    def policy_sample(self, task: Task, program: Program, *, generator: torch.Generator, environments: Environments | None = None):
        """One edit of ``program`` drawn from the policy (always a valid edit)."""
        edits, log_probs = self.policy_distribution(task, program, environments=environments)
        return edits[int(torch.multinomial(log_probs.exp().cpu(), 1, generator=generator))]

    # -- dynamics (_dynamics.py; queries in _queries.py, _reverse_query.py, _spec_check.py) --

    def attach_dynamics(self, config: DynamicsConfig | DynamicsHead | None = None) -> DynamicsHead:
        """Give the model a dynamics head; returns it.

        Args:
            config: a :class:`DynamicsConfig` for a new head (default
                ``DynamicsConfig()``; its ``domain`` is set to this model's), or a trained
                :class:`DynamicsHead` to attach as it is (see :func:`load_dynamics`).

        Raises:
            ConfigError: a head for another domain.
        """
        import dataclasses

        if isinstance(config, DynamicsHead):
            if config.domain.name != self.domain.name:
                raise ConfigError(f"dynamics head is for domain {config.domain.name!r}, the model for {self.domain.name!r}")
            self.dynamics = config.to(self.device)
        else:
            config = dataclasses.replace(config or DynamicsConfig(), domain=self.domain.name)
            self.dynamics = DynamicsHead(config, domain=self.domain).to(self.device)
        return self.dynamics

    def _require_dynamics(self) -> DynamicsHead:
        if self.dynamics is None:
            raise ValueError(
                "this model has no dynamics head: call model.attach_dynamics() and train it "
                "(worldmodel train --dynamics), or attach a trained one (load_dynamics)"
            )
        return self.dynamics

    def forward(self, x: Sequence[object], program: Program, *, k: int = 5):
        """``p(y | x, φ)``: the ``k`` likeliest outputs of ``program`` on inputs ``x``.

        The dynamics integrate one step per statement from the inputs' latents and
        decode the last variable's latent exactly (:func:`~worldmodel.top_values`).

        Args:
            x: the program's arguments (ints or int lists within the domain's bounds).
            program: the program φ.
            k: how many outputs (default 5).

        Returns:
            A :class:`ForwardResult` (outputs with log-probabilities, best first).

        Raises:
            ValueError: no dynamics head, or ``x`` does not fit φ's inputs.
        """
        from ._queries import forward_query

        return forward_query(self._require_dynamics(), program, x, k=k)

    def reverse(self, y: object, program: Program, *, k: int = 10):
        """``p(x | y, φ)``: up to ``k`` candidate inputs, each checked by the interpreter.

        Returns:
            A :class:`ReverseResult`; its ``preimages`` all satisfy ``run(φ, x) == y``.

        Raises:
            ValueError: no dynamics head, or ``y`` is not an output φ can have.
        """
        from ._reverse_query import reverse_query

        return reverse_query(self._require_dynamics(), program, y, k=k)

    def jacobian(self, x: Sequence[object], program: Program, *, wrt: str = "latent") -> tuple[torch.Tensor, ...]:
        """Autograd Jacobians of φ's output with respect to each input (see :func:`jacobian_query`):
        ``(W·d, W·d)`` of the latents (``wrt="latent"``) or ``(W-1, W-1)`` of expected
        element values (``wrt="value"``), one per input."""
        from ._queries import jacobian_query

        return jacobian_query(self._require_dynamics(), program, x, wrt=wrt)

    def spec_ood(self, tasks: Sequence[Task]):
        """Per task, a :class:`SpecCheck`: whether its spec lies outside the training
        distribution (a density of the spec's encoding, threshold calibrated on held-out Φ).

        Raises:
            ValueError: no dynamics head, or its density was never calibrated.
        """
        from ._spec_check import spec_check

        return spec_check(self._require_dynamics(), tasks)

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write ``<path>.safetensors`` and ``<path>.json`` atomically (see :func:`save_model`)."""
        from ._checkpoint import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> WorldModel:
        """Load a checkpoint written by :meth:`save`; raises :class:`CheckpointError`."""
        from ._checkpoint import load_model

        return load_model(path, map_location=map_location)

    @classmethod
    def default(cls, *, domain: str = DEFAULT_DOMAIN, map_location: str | torch.device = "cpu") -> WorldModel:
        """The checkpoint shipped in ``worldmodel/checkpoints/`` for ``domain`` (default
        ``"deepcoder"``, every head, the dynamics head included).

        Raises:
            CheckpointError: there is none for ``domain`` (train one with ``worldmodel
                train`` and copy ``model.safetensors`` / ``model.json`` there as
                ``<domain>.*``).
        """
        from ._checkpoint import CheckpointError, load_model

        folder = resources.files("worldmodel") / "checkpoints"
        base = os.path.join(str(folder), domain)
        if not os.path.exists(base + ".json"):
            shipped = sorted(name.removesuffix(".json") for name in os.listdir(str(folder)) if name.endswith(".json"))
            raise CheckpointError(
                f"{base}.json: no shipped checkpoint for domain {domain!r} (shipped: {', '.join(shipped) or 'none'}); "
                f"train one with `worldmodel train --data DIR --out RUN` and give --model RUN/model"
            )
        return load_model(base, map_location=map_location)
