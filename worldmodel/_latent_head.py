"""The program latent space: a typed program autoencoder, its prior, ``q(z | x, y)`` and ``E(x, y, z)``.

* **Encoder** ``q(z | φ)``: a bidirectional GRU over the program's actions
  (:class:`~worldmodel._grammar.ProgramGrammar`) gives a diagonal Gaussian in ``R^L``.
* **Decoder** ``p(φ | z)``: a GRU that writes the actions one by one, its logits
  masked to the actions the DSL's types allow, so every decoded program is well-typed.
  :meth:`LatentHead.decode` finds the k likeliest programs by beam search.
* **Prior** ``p(z) = N(0, I)``: the autoencoder trains as a VAE (KL weight
  :attr:`LatentTerm.kl_weight`).
* **Recognition** ``q(z | x, y)``: a diagonal Gaussian from the task's *spec
  features* ``s`` (the shared spec encoding and the primitive head's probabilities,
  :meth:`~worldmodel.WorldModel.latent_spec_forward`), fitted to the encoder's codes of
  each task's program (amortised inference: where a search in ``z`` starts).
* **Latent energy** ``E(x, y, z) = -b · tanh(⟨g(s), h(z)⟩ / b)``: a critic trained by
  InfoNCE to tell a task's program code from the codes of the other programs of the
  batch. At the optimum ``-E`` is ``log p(z | s) / p(z)`` up to a constant in ``s``,
  so ``p(z) exp(-E(x, y, z))`` is the posterior of ``z`` given the examples: the
  density :meth:`LatentHead.potential` hands to NUTS, HMC, Langevin and SVI. It is
  bounded by ``b`` and smooth in ``z``.

The head reads ``s`` but never trains the spec encoder or the primitive head (it takes
``s`` detached): the other heads own them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from worldmodel.datasets import DOMAINS, Domain, Program, Task, Type

from ._batches import _Batch
from ._config import ConfigError, _check_types, _within
from ._encoders import mlp
from ._features import Featurizer
from ._grammar import GrammarState, ProgramGrammar
from ._primitive_head import PrimitiveInputs, primitive_inputs

__all__ = ["LATENT_LIMITS", "LatentConfig", "LatentHead", "LatentPart", "LatentTerm", "DecodedProgram", "action_batch"]

LATENT_LIMITS: dict[str, tuple[float, float]] = {
    "latent_dim": (1, 1024),
    "hidden": (4, 4096),
    "embed": (4, 4096),
    "critic": (4, 4096),
    "max_length": (1, 64),
    "spec_dim": (1, 4096),
    "energy_bound": (0.1, 1000.0),
}
"""Bounds of :class:`LatentConfig` (checked before anything is allocated)."""


@dataclass(frozen=True)
class LatentConfig:
    """Sizes of a :class:`LatentHead`.

    Attributes:
        domain: the domain's name (default ``"deepcoder"``).
        latent_dim: width L of ``z`` (default 32).
        hidden: GRU and MLP width (default 256).
        embed: action embedding width (default 64).
        critic: width of the energy's two embeddings ``g(s)``, ``h(z)`` (default 64).
        max_length: most statements a decoded program has (default 5).
        spec_dim: width of the spec features ``s``: the model's ``dim`` plus its number of
            primitives (the shipped model's: 128 + 38 = 166). Default ``None``: set by
            :meth:`~worldmodel.WorldModel.attach_latent`; a head needs it set.
        energy_bound: ``b``, the energy's bound ``|E| <= b`` (default 10).
    """

    domain: str = "deepcoder"
    latent_dim: int = 32
    hidden: int = 256
    embed: int = 64
    critic: int = 64
    max_length: int = 5
    spec_dim: int | None = None
    energy_bound: float = 10.0

    def __post_init__(self) -> None:
        _check_types(self)
        _within(self, LATENT_LIMITS)

    def to_dict(self) -> dict:
        return asdict(self)


def action_batch(grammar: ProgramGrammar, programs: Sequence[Program]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, T)`` padded action ids (0 = padding) and ``(N, T, A)`` allowed masks of ``programs``."""
    rows = [grammar.actions(p) for p in programs]
    width = max(len(r) for r in rows)
    actions = torch.zeros(len(rows), width, dtype=torch.long)
    masks = torch.zeros(len(rows), width, grammar.size, dtype=torch.bool)
    for i, row in enumerate(rows):
        actions[i, : len(row)] = torch.tensor(row)
        masks[i, : len(row)] = grammar.masks(row)
    return actions, masks


@dataclass(frozen=True)
class DecodedProgram:
    """One program of :meth:`LatentHead.decode` and its log-probability ``log p(φ | z)``."""

    program: Program
    log_prob: float


class LatentHead(nn.Module):
    """Program autoencoder, recognition network and latent energy (see the module doc).

    Args:
        config: sizes (default ``LatentConfig()``).
        domain: the DSL (default the one ``config.domain`` names).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> head = LatentHead(LatentConfig(latent_dim=4, hidden=16, embed=8, critic=8, spec_dim=8))
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> loc, _ = head.encode_programs([p]); tuple(loc.shape)
        (1, 4)
        >>> out = head.decode(loc, k=3)[0]
        >>> len(out) <= 3 and all(o.log_prob <= 0 for o in out)
        True
    """

    def __init__(self, config: LatentConfig | None = None, *, domain: Domain | None = None):
        super().__init__()
        config = config or LatentConfig()
        if config.spec_dim is None:
            raise ConfigError("LatentConfig.spec_dim is None; set it, or let WorldModel.attach_latent set it")
        if domain is None:
            if config.domain not in DOMAINS:
                raise ConfigError(f"LatentConfig.domain {config.domain!r} is unknown; choose one of {sorted(DOMAINS)}")
            domain = DOMAINS[config.domain]
        self.config = config
        self.domain = domain
        self.grammar = ProgramGrammar(domain, max_length=config.max_length)
        a, e, h, dim = self.grammar.size, config.embed, config.hidden, config.latent_dim
        self.begin = a  # the decoder's first input: an action id past the grammar's
        self.embed = nn.Embedding(a + 1, e, padding_idx=0)
        self.encoder = nn.GRU(e, h, batch_first=True, bidirectional=True)
        self.posterior = nn.Linear(2 * h, 2 * dim)
        self.decoder_start = nn.Linear(dim, h)
        self.decoder = nn.GRU(e + dim, h, batch_first=True)
        self.logits = nn.Linear(h, a)
        self.recognition = mlp(config.spec_dim, h, 2 * dim)
        self.critic_spec = mlp(config.spec_dim, h, config.critic)
        self.critic_latent = mlp(dim, h, config.critic)
        self._allowed_cache: dict[tuple, list[int]] = {}

    @property
    def device(self) -> torch.device:
        return self.logits.weight.device

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    # -- the autoencoder ------------------------------------------------------------------

    def encode_actions(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | φ)`` of ``(N, T)`` action ids: mean ``(N, L)`` and log-scale ``(N, L)``."""
        lengths = (actions != 0).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(actions), lengths, batch_first=True, enforce_sorted=False)
        _, last = self.encoder(packed)  # (2, N, H): both directions' final states
        loc, log_scale = self.posterior(torch.cat([last[0], last[1]], -1)).chunk(2, -1)
        return loc, log_scale.clamp(-8.0, 4.0)

    @torch.no_grad()
    def encode_programs(self, programs: Sequence[Program]) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | φ)`` of ``programs``: mean and scale, each ``(N, L)``, on the head's device."""
        actions, _ = action_batch(self.grammar, programs)
        loc, log_scale = self.encode_actions(actions.to(self.device))
        return loc, log_scale.exp()

    def decode_logits(self, z: torch.Tensor, actions: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Teacher-forced masked log-probabilities ``(N, T, A)`` of ``actions`` ``(N, T)`` given ``z`` ``(N, L)``.

        ``masks`` ``(N, T, A)`` are the grammar's allowed actions; padding positions
        (action 0) are left unmasked so that their rows stay finite.
        """
        masks = masks | (actions == 0).unsqueeze(-1)
        previous = torch.cat([actions.new_full((len(actions), 1), self.begin), actions[:, :-1]], 1)  # (N, T)
        inputs = torch.cat([self.embed(previous), z.unsqueeze(1).expand(-1, actions.shape[1], -1)], -1)
        out, _ = self.decoder(inputs, torch.tanh(self.decoder_start(z)).unsqueeze(0))  # (N, T, H)
        return self.logits(out).masked_fill(~masks, float("-inf")).log_softmax(-1)

    @torch.no_grad()
    def decode(
        self, z: torch.Tensor, *, k: int = 5, input_types: Sequence[Type] | None = None
    ) -> list[list[DecodedProgram]]:
        """The ``k`` likeliest well-typed programs of each latent, by beam search.

        Args:
            z: ``(N, L)`` latents.
            k: beam width and most programs returned per latent (default 5).
            input_types: force this signature (a task's), instead of decoding it; the
                log-probabilities are then conditional on it.

        Returns:
            For each latent, up to ``k`` :class:`DecodedProgram` best first (fewer only
            if the grammar has fewer programs).

        Raises:
            ValueError: ``z`` not ``(N, L)``, ``k < 1``, or a signature the domain lacks.
        """
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        forced = None
        if input_types is not None:
            if tuple(input_types) not in self.grammar.signatures:
                raise ValueError(f"signature {[t.value for t in input_types]} is not one of the domain's")
            forced = self.grammar.first_signature + self.grammar.signatures.index(tuple(input_types))
        z = z.to(self.device, self.logits.weight.dtype)
        size = self.grammar.size
        # Live beams, in the rows of ``hidden``: their latent, log-probability, state and last action.
        owner = list(range(len(z)))
        log_p = torch.zeros(len(z), device=self.device)
        states = [GrammarState() for _ in range(len(z))]
        previous = [self.begin] * len(z)
        hidden = torch.tanh(self.decoder_start(z))  # (M, H)
        finished: list[list[DecodedProgram]] = [[] for _ in range(len(z))]
        for _ in range(self.grammar.max_actions):
            if not states:
                break
            rows = torch.tensor(owner, device=self.device)
            x = torch.cat([self.embed(torch.tensor(previous, device=self.device)), z[rows]], -1)  # (M, E + L)
            out, h = self.decoder(x.unsqueeze(1), hidden.unsqueeze(0))
            hidden = h[0]
            mask = torch.zeros(len(states), size, dtype=torch.bool)
            for m, state in enumerate(states):
                if forced is not None and state.input_types is None:
                    mask[m, forced] = True
                else:
                    mask[m, self._allowed(state)] = True
            step = self.logits(out[:, 0]).masked_fill(~mask.to(self.device), float("-inf")).log_softmax(-1)
            total = (log_p.unsqueeze(1) + step).cpu()  # (M, A)
            keep_rows, keep_actions, keep_log_p = [], [], []
            for i in range(len(z)):
                room = k - len(finished[i])
                members = [m for m, o in enumerate(owner) if o == i]
                if room <= 0 or not members:
                    continue
                flat = total[members].flatten()
                top = flat.topk(min(room, int(torch.isfinite(flat).sum())))
                for value, index in zip(top.values.tolist(), top.indices.tolist()):
                    m, action = members[index // size], index % size
                    keep_rows.append(m)
                    keep_actions.append(action)
                    keep_log_p.append(value)
            next_owner, next_states, next_previous, next_rows, next_log_p = [], [], [], [], []
            for m, action, value in zip(keep_rows, keep_actions, keep_log_p):
                child = states[m].copy()
                self.grammar.step(child, action)
                if child.stopped:
                    finished[owner[m]].append(DecodedProgram(self.grammar.finished(child), value))
                else:
                    next_owner.append(owner[m])
                    next_states.append(child)
                    next_previous.append(action)
                    next_rows.append(m)
                    next_log_p.append(value)
            # A live beam below a latent's k-th finished program cannot overtake it: log-probs only fall.
            floors = [min(d.log_prob for d in f) if len(f) >= k else float("-inf") for f in finished]
            alive = [j for j, (o, v) in enumerate(zip(next_owner, next_log_p)) if v > floors[o]]
            owner = [next_owner[j] for j in alive]
            states = [next_states[j] for j in alive]
            previous = [next_previous[j] for j in alive]
            hidden = hidden[torch.tensor([next_rows[j] for j in alive], dtype=torch.long, device=self.device)]
            log_p = torch.tensor([next_log_p[j] for j in alive], device=self.device)
        return [sorted(group, key=lambda d: -d.log_prob)[:k] for group in finished]

    def _allowed(self, state: GrammarState) -> list[int]:
        """:meth:`ProgramGrammar.allowed`, memoised on what it depends on (the variables' types,
        the statement in progress, the length)."""
        key = (state.input_types, tuple(s.primitive for s in state.statements), state.primitive, len(state.args))
        allowed = self._allowed_cache.get(key)
        if allowed is None:
            allowed = self._allowed_cache[key] = self.grammar.allowed(state)
        return allowed

    # -- the spec side --------------------------------------------------------------------

    def recognize(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | x, y)`` from spec encodings ``s`` ``(B, S)``: mean and log-scale ``(B, L)``."""
        loc, log_scale = self.recognition(s).chunk(2, -1)
        return loc, log_scale.clamp(-6.0, 2.0)

    def energy_pairs(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``E`` of every spec against every latent: ``s`` ``(B, S)``, ``z`` ``(N, L)`` -> ``(B, N)``."""
        b = self.config.energy_bound
        return -b * torch.tanh(self.critic_spec(s) @ self.critic_latent(z).T / b)

    def energy(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``E(x, y, z)`` of one spec ``s`` ``(S,)`` at latents ``z`` ``(..., L)`` -> ``(...)``."""
        b = self.config.energy_bound
        return -b * torch.tanh((self.critic_latent(z) * self.critic_spec(s)).sum(-1) / b)

    def potential(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``U(z) = ½‖z‖² + E(x, y, z)``: minus the log posterior, up to a constant; ``(..., L) -> (...)``."""
        return 0.5 * z.pow(2).sum(-1) + self.energy(s, z)

    def to_config(self) -> LatentConfig:
        return self.config


@dataclass
class LatentPart(_Batch):
    """The latent term's inputs for B tasks.

    Attributes:
        specs: the tasks' specs, as the primitive head reads them.
        actions: ``(B, T)`` the programs' action ids (0 = padding).
        masks: ``(B, T, A)`` the actions the grammar allows at each position.
    """

    specs: PrimitiveInputs
    actions: torch.Tensor
    masks: torch.Tensor


@dataclass
class LatentTerm:
    """The latent head's losses: the VAE's, the recognition network's and the energy's InfoNCE.

    * ``reconstruction``: ``-log p(φ | z)`` at ``z ~ q(z | φ)``, per program;
    * ``kl``: ``kl_weight · KL(q(z | φ) ‖ N(0, I))``;
    * ``recognition``: ``-log q(z | x, y)`` at the same ``z`` (detached, so it moves
      only the recognition network), per latent dimension;
    * ``latent_energy``: InfoNCE of each task's program code against the batch's;
    * ``decoding`` (when ``decoding_weight > 0``): ``-log p(φ | z)`` at
      ``z ~ q(z | x, y)``, reparameterised, per program: ``q``'s draws must decode to
      the task's program, not merely cover its code (the recognition loss alone fits a
      broad ``q``, since a spec does not pin one code down).

    With ``autoencoder=False`` the codes come from the frozen autoencoder (no
    reconstruction or KL loss, and :meth:`trained_parameters` leaves it out): only
    ``q(z | x, y)`` and the energy train, on codes that stay put.
    """

    kl_weight: float = 0.1
    autoencoder: bool = True
    recognition_weight: float = 1.0
    energy_weight: float = 1.0
    decoding_weight: float = 0.0
    name: str = "latent"
    spec_only: bool = True
    head: str = "latent"

    def build(self, tasks: Sequence[Task], featurizer: Featurizer) -> LatentPart:
        actions, masks = action_batch(ProgramGrammar(featurizer.domain), [task.program for task in tasks])
        return LatentPart(primitive_inputs(tasks, featurizer), actions, masks)

    def trained_parameters(self, model) -> list[nn.Parameter]:
        """What ``fit`` moves when it trains this term alone: the whole latent head, or
        without the autoencoder only the spec side (recognition network and critic)."""
        head = model.latent
        if self.autoencoder:
            return list(head.parameters())
        return [*head.recognition.parameters(), *head.critic_spec.parameters(), *head.critic_latent.parameters()]

    def loss(self, model, part: LatentPart) -> dict[str, torch.Tensor]:
        head = model.latent
        with torch.no_grad():
            s = model.latent_spec_forward(part.specs).float()
        with torch.set_grad_enabled(self.autoencoder and torch.is_grad_enabled()):
            loc, log_scale = head.encode_actions(part.actions)
            z = loc + log_scale.exp() * torch.randn_like(loc)
        losses = {}
        if self.autoencoder:
            present = part.actions != 0
            log_p = head.decode_logits(z, part.actions, part.masks)
            picked = log_p.gather(-1, part.actions.unsqueeze(-1)).squeeze(-1)
            kl = 0.5 * (loc.pow(2) + (2 * log_scale).exp() - 2 * log_scale - 1).sum(1).mean()
            losses = {"reconstruction": -(picked * present).sum(1).mean(), "kl": self.kl_weight * kl}
        r_loc, r_log_scale = head.recognize(s)
        code = z.detach()
        recognition = (0.5 * ((code - r_loc) / r_log_scale.exp()).pow(2) + r_log_scale).mean()
        logits = -head.energy_pairs(s, code)  # (B, B): task i against program j
        infonce = F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))
        losses |= {"recognition": self.recognition_weight * recognition, "latent_energy": self.energy_weight * infonce}
        if self.decoding_weight:
            drawn = r_loc + r_log_scale.exp() * torch.randn_like(r_loc)
            log_p = head.decode_logits(drawn, part.actions, part.masks)
            picked = log_p.gather(-1, part.actions.unsqueeze(-1)).squeeze(-1)
            losses["decoding"] = -self.decoding_weight * (picked * (part.actions != 0)).sum(1).mean()
        return losses
