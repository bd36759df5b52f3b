"""The flow policy p(Δφ | x, y, φ): a conditional normalizing flow over edit embeddings.

Each candidate edit of φ is featurised (:mod:`._edit_features`: kind, position,
primitive, arguments, and what the edited program computes on the spec inputs) and
embedded in ``R^D`` by a small network. A masked autoregressive flow (nflows) gives a
density ``q(e | c)`` over that space, conditioned on the execution state ``c`` of
(spec, φ). The probability of a discrete edit is its density normalised over the
valid edits of φ::

    p(Δ | x, y, φ) = q(e_Δ | c) / Σ_{Δ' valid} q(e_Δ' | c)

so the policy only ever proposes valid programs, and ``p(φ | x, y)`` is the walk of
edits from the empty program. Training minimises ``-log p(G)``, the cross-entropy of
the normalised probabilities on the set ``G`` of target edits of a state (one edit
on a repair path; any missing statement on a construction path).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from nflows.distributions.normal import StandardNormal
from nflows.flows.base import Flow
from nflows.transforms.autoregressive import MaskedAffineAutoregressiveTransform
from nflows.transforms.base import CompositeTransform
from nflows.transforms.permutations import ReversePermutation
from torch import nn

from worldmodel.datasets import (
    DOMAINS,
    Domain,
    Edit,
    Program,
    Task,
    require_at_least,
    require_choice,
)

from ._config import ConfigError
from ._edit_features import (
    EDIT_KINDS,
    NUM_EDIT_FEATURES,
    EditFeatures,
    edit_features,
    num_state_features,
    state_features,
)
from ._edit_paths import EditStep
from ._runs import Run, interpreter_run, known_environments

__all__ = ["FlowPolicy", "PolicyBatch", "PolicyConfig", "prepare_batch"]


@dataclass(frozen=True)
class PolicyConfig:
    """Shape of a :class:`FlowPolicy`.

    Attributes:
        domain: name of the DSL in ``worldmodel.datasets.DOMAINS`` (default "deepcoder").
        context_features: width ``C`` of the external state context (the world
            model's ``state_context``); 0 uses only the policy's own hand-made state
            features (default 0).
        embedding_features: dimension ``D`` of the edit embedding the flow is over
            (default 8).
        hidden_features: width of the embedding, context and MADE networks (default 64).
        flow_layers: masked affine autoregressive layers (default 3).
        max_length: longest program an insertion may make; the candidate set is
            ``domain.neighbours(φ, max_length=max_length)`` (default 5).
    """

    domain: str = "deepcoder"
    context_features: int = 0
    embedding_features: int = 8
    hidden_features: int = 64
    flow_layers: int = 3
    max_length: int = 5

    def __post_init__(self) -> None:
        require_choice(self, "domain", DOMAINS)
        require_at_least(self, 1, "embedding_features", "hidden_features", "flow_layers", "max_length")
        require_at_least(self, 0, "context_features")

    @classmethod
    def from_dict(cls, data: object) -> PolicyConfig:
        """Build from a JSON dict (as :meth:`FlowPolicy.to_config` writes it).

        Raises:
            ConfigError: not a dict, unknown keys, or a bad value.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"PolicyConfig: expected a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"PolicyConfig: unknown field(s) {unknown}; valid fields are {sorted(cls.__dataclass_fields__)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:
            raise ConfigError(str(error)) from None


@dataclass
class PolicyBatch:
    """Featurised states ready for the loss; built by :func:`prepare_batch`.

    Attributes:
        features: the candidate edits of all ``B`` states, concatenated (``N`` rows).
        segment: (N,) long, which state each candidate belongs to.
        target: (N,) bool, whether the candidate is a target edit of its state.
        state: (B, S) float, :func:`state_features` of each state.
        steps: the ``B`` states (their tasks and programs, to compute contexts).
    """

    features: EditFeatures
    segment: torch.Tensor
    target: torch.Tensor
    state: torch.Tensor
    steps: list[EditStep]

    @staticmethod
    def cat(parts: Sequence[PolicyBatch]) -> PolicyBatch:
        """One batch of the states of several batches."""
        offsets, total = [], 0
        for p in parts:
            offsets.append(total)
            total += len(p.steps)
        return PolicyBatch(
            EditFeatures.cat([p.features for p in parts]),
            torch.cat([p.segment + o for p, o in zip(parts, offsets)]),
            torch.cat([p.target for p in parts]),
            torch.cat([p.state for p in parts]),
            [s for p in parts for s in p.steps],
        )


def prepare_batch(
    steps: Sequence[EditStep],
    domain: Domain,
    *,
    max_length: int,
    negatives: int | None = None,
    rng: random.Random | None = None,
) -> PolicyBatch:
    """Featurise the candidate edits of each state.

    Args:
        steps: ``B`` states with their target edits.
        domain: the DSL.
        max_length: candidate set is ``domain.neighbours(program, max_length=...)``.
        negatives: keep all targets and this many random other candidates per state
            (a sampled softmax: much cheaper, slightly biased); ``None`` keeps all
            (default).
        rng: draws the negatives (required when ``negatives`` is set).

    Raises:
        ValueError: a state has no targets, or a target is not a valid candidate.
    """
    if negatives is not None and rng is None:
        raise ValueError("prepare_batch: pass rng= to draw negatives")
    parts, segments, targets, states = [], [], [], []
    for b, step in enumerate(steps):
        wanted = set(step.targets)
        if not wanted:
            raise ValueError(f"state {b} has no target edits")
        candidates = [e for e, _ in domain.neighbours(step.program, max_length=max_length)]
        found = [e for e in candidates if e in wanted]
        if len(found) != len(wanted):
            raise ValueError(f"state {b}: target edits {sorted(map(str, wanted - set(found)))} are not valid candidates")
        if negatives is not None:
            others = [e for e in candidates if e not in wanted]
            candidates = found + rng.sample(others, min(negatives, len(others)))
        run = interpreter_run(step.task, step.program, domain)
        parts.append(edit_features(step.task, step.program, candidates, domain, run=run))
        segments.append(torch.full((len(candidates),), b, dtype=torch.long))
        targets.append(torch.tensor([e in wanted for e in candidates], dtype=torch.bool))
        states.append(state_features(step.task, step.program, domain, envs=run(step.program)))
    return PolicyBatch(EditFeatures.cat(parts), torch.cat(segments), torch.cat(targets), torch.stack(states), list(steps))


def _segment_logsumexp(values: torch.Tensor, segment: torch.Tensor, size: int) -> torch.Tensor:
    """logsumexp of ``values`` (N,) within each of ``size`` segments -> (size,)."""
    peak = values.new_full((size,), -math.inf).scatter_reduce(0, segment, values.detach(), "amax")
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    total = values.new_zeros(size).index_add(0, segment, torch.exp(values - peak[segment]))
    return torch.log(total) + peak


class FlowPolicy(nn.Module):
    """p(Δφ | x, y, φ): a conditional MAF density over edit embeddings, normalised
    over the valid edits of φ.

    Args:
        config: the sizes (default :class:`PolicyConfig()`).

    Example:
        >>> import torch
        >>> from worldmodel.datasets import deepcoder, Example, Task
        >>> policy = FlowPolicy()
        >>> phi = deepcoder.parse("a <- [int]")
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), phi.input_types)
        >>> edits = [e for e, _ in deepcoder.neighbours(phi, max_length=5)]
        >>> with torch.no_grad():
        ...     log_p = policy.log_probs(task, phi, edits)
        >>> log_p.shape == (len(edits),), abs(float(log_p.logsumexp(0))) < 1e-5
        (True, True)
    """

    def __init__(self, config: PolicyConfig = PolicyConfig()):
        super().__init__()
        self.config = config
        self.domain = DOMAINS[config.domain]
        primitives = len(self.domain.primitives)
        width, dim = config.hidden_features, config.embedding_features
        self.kind_embedding = nn.Embedding(len(EDIT_KINDS), 16)
        self.primitive_embedding = nn.Embedding(primitives, 16)
        self.old_primitive_embedding = nn.Embedding(primitives + 1, 16)
        self.edit_net = nn.Sequential(
            nn.Linear(48 + NUM_EDIT_FEATURES, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim)
        )
        self.state_net = nn.Sequential(
            nn.Linear(num_state_features(self.domain) + config.context_features, width), nn.ReLU(), nn.Linear(width, width)
        )
        layers = []
        for _ in range(config.flow_layers):
            layers.append(MaskedAffineAutoregressiveTransform(features=dim, hidden_features=width, context_features=width))
            layers.append(ReversePermutation(features=dim))
        self.flow = Flow(CompositeTransform(layers), StandardNormal([dim]))

    def embed(self, features: EditFeatures) -> torch.Tensor:
        """Edit embeddings ``(E, D)`` from features of ``E`` edits."""
        x = torch.cat(
            [
                self.kind_embedding(features.kind),
                self.primitive_embedding(features.primitive),
                self.old_primitive_embedding(features.old_primitive),
                features.numeric,
            ],
            dim=-1,
        )  # (E, 48 + F)
        return self.edit_net(x)

    def condition(self, state: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The flow's conditioning ``(B, H)`` from state features ``(B, S)`` and the
        external context ``(B, C)`` (``None`` iff ``config.context_features == 0``)."""
        if self.config.context_features:
            if context is None:
                raise ValueError(f"this policy needs context= of width {self.config.context_features}")
            state = torch.cat([state, context], dim=-1)
        return self.state_net(state)

    def log_density(self, embeddings: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """The flow's log-density ``(E,)`` at embeddings ``(E, D)`` given conditions ``(E, H)``."""
        return self.flow.log_prob(embeddings, context=condition)

    def _check_context(self, context: torch.Tensor | None, rows: int) -> torch.Tensor | None:
        want = self.config.context_features
        if not want:
            if context is not None:
                raise ValueError("this policy was built with context_features=0; pass context=None")
            return None
        if context is None:
            raise ValueError(f"this policy needs context= of shape ({rows}, {want})")
        if context.dim() == 1:
            context = context.unsqueeze(0)
        if context.shape != (rows, want):
            raise ValueError(f"context must have shape ({rows}, {want}), got {tuple(context.shape)}")
        return context

    def scores(
        self,
        task: Task,
        program: Program,
        edits: Sequence[Edit],
        *,
        context: torch.Tensor | None = None,
        run: Run | None = None,
    ) -> torch.Tensor:
        """Unnormalised log-densities ``(E,)`` of the embeddings of ``edits``; ``run`` as
        in :meth:`log_probs`."""
        if not edits:
            raise ValueError("edits is empty: pass at least one edit (a search ends a branch that has none)")
        ctx = self._check_context(context, 1)
        device = self.kind_embedding.weight.device
        if run is None:
            run = interpreter_run(task, program, self.domain)
        features = edit_features(task, program, edits, self.domain, run=run).to(device)
        envs = known_environments(task, program, run(program))
        state = state_features(task, program, self.domain, envs=envs).unsqueeze(0).to(device)
        cond = self.condition(state, None if ctx is None else ctx.to(device))  # (1, H)
        emb = self.embed(features)  # (E, D)
        return self.log_density(emb, cond.expand(emb.shape[0], -1))

    def log_probs(
        self,
        task: Task,
        program: Program,
        edits: Sequence[Edit],
        *,
        context: torch.Tensor | None = None,
        run: Run | None = None,
    ) -> torch.Tensor:
        """Log-probabilities ``(E,)`` of ``edits``, normalised over them (logsumexp 0).

        Args:
            task: the spec (its examples).
            program: the current program φ.
            edits: ``E`` distinct valid edits of φ, normally all of
                ``domain.neighbours(φ, max_length=config.max_length)``.
            context: the world model's state context ``(C,)`` or ``(1, C)``; ``None``
                for a policy with ``context_features == 0``.
            run: where the executions of φ and its edits come from (see
                :func:`edit_features`); a search passes ``Simulator.environments``
                (default: the uncounted interpreter).

        Raises:
            ValueError: ``edits`` is empty, or ``context`` has the wrong shape.
        """
        s = self.scores(task, program, edits, context=context, run=run)
        return s - torch.logsumexp(s, 0)

    def candidates(self, program: Program) -> list[Edit]:
        """All valid edits of ``program`` under ``config.max_length``."""
        return [e for e, _ in self.domain.neighbours(program, max_length=self.config.max_length)]

    @torch.no_grad()
    def sample(
        self, task: Task, program: Program, *, generator: torch.Generator, context: torch.Tensor | None = None
    ) -> Edit:
        """Draw one valid edit of ``program`` from the policy.

        Example:
            >>> import torch
            >>> from worldmodel.datasets import deepcoder, Example, Task
            >>> phi = deepcoder.parse("a <- [int]")
            >>> task = Task("t", (Example(([3, 1],), [1, 3]),), phi.input_types)
            >>> edit = FlowPolicy().sample(task, phi, generator=torch.Generator().manual_seed(0))
            >>> len(deepcoder.apply_edit(phi, edit))
            1
        """
        edits = self.candidates(program)
        probs = self.log_probs(task, program, edits, context=context).exp().cpu()
        return edits[int(torch.multinomial(probs, 1, generator=generator))]

    def batch_loss(self, batch: PolicyBatch, *, context: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over states of ``-log p(targets)``: the flow's log-density at the targets
        minus logsumexp over the candidates.

        Args:
            batch: from :func:`prepare_batch` (``B`` states).
            context: external contexts ``(B, C)``, or ``None`` without context.
        """
        size = batch.state.shape[0]
        cond = self.condition(batch.state, self._check_context(context, size))  # (B, H)
        s = self.log_density(self.embed(batch.features), cond[batch.segment])  # (N,)
        everything = _segment_logsumexp(s, batch.segment, size)
        good = _segment_logsumexp(s[batch.target], batch.segment[batch.target], size)
        return (everything - good).mean()

    def to_config(self) -> dict:
        """The JSON-able config (weights go to safetensors through ``state_dict``)."""
        return asdict(self.config)
