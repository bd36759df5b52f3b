"""Training of the dynamics head: forward rollouts, reverse steps, value round trips.

:class:`DynamicsTerm` is a :class:`~worldmodel.LossTerm` that reads only tasks: it runs
each task's program on its examples with the interpreter (outside search, as
``interpreter_run`` does for the other terms) and supervises every statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import Task, Value

from ._batches import _Batch
from ._dynamics import DynamicsHead, statement_plan
from ._values import SlotCodec, SlotDecoder

__all__ = ["DynamicsPart", "DynamicsTerm", "dynamics_losses"]


@dataclass
class DynamicsPart(_Batch):
    """Supervision for R (program, example) rows.

    Attributes:
        ids: ``(M, S)`` slot ids of every value the rows compute, at the full width ``S = codec.slots``.
        variables: ``(R, V)`` long, the row of ``ids`` of each variable (``-1`` none).
        plan: ``(R, L, 3)`` long, per statement ``(primitive, carried, other)`` (as
            :func:`statement_plan`); ``-1`` rows past the program's end.
        inputs: ``(R,)`` long, inputs of each row's program.
    """

    ids: torch.Tensor
    variables: torch.Tensor
    plan: torch.Tensor
    inputs: torch.Tensor


@dataclass
class DynamicsTerm:
    """Loss of the dynamics head: forward rollouts, reverse steps, value round trips.

    For every (program, example) row: the program is rolled out in latent space from
    the encoded inputs, and each statement's predicted latent is scored by the decoder
    against the value the interpreter computed (``forward_weight``); each statement
    integrated back from its result's encoding is scored against its carried
    argument (``reverse_weight``); the encoder/decoder round trip (``value_weight``);
    and the rollout is kept near the encodings (``latent_weight``, mean squared error
    to the detached encoding).
    """

    forward_weight: float = 1.0
    reverse_weight: float = 0.5
    value_weight: float = 0.1
    latent_weight: float = 0.1
    max_rows: int = 4096
    name: str = "dynamics"
    spec_only: bool = True
    head: str = "dynamics"

    def build(self, tasks: Sequence[Task], featurizer) -> DynamicsPart:
        domain = featurizer.domain
        codec = SlotCodec(domain.bounds)
        values: list[Value] = []
        rows, plans, inputs = [], [], []
        for task in tasks:
            if task.program is None:
                continue
            plan = statement_plan(task.program, domain)
            for example in task.examples:
                if len(rows) >= self.max_rows:
                    break
                env = domain.trace(task.program, example.inputs)
                rows.append(list(range(len(values), len(values) + len(env))))
                values.extend(env)
                plans.append(plan)
                inputs.append(len(task.program.input_types))
        # Every batch at the full width, as every query runs (see DynamicsHead.run_program).
        ids = codec.encode(values, width=codec.slots)
        v = max((len(r) for r in rows), default=1)
        length = max((len(p) for p in plans), default=1)
        variables = torch.full((len(rows), v), -1, dtype=torch.long)
        plan_tensor = torch.full((len(rows), max(length, 1), 3), -1, dtype=torch.long)
        for r, (row, plan) in enumerate(zip(rows, plans)):
            variables[r, : len(row)] = torch.tensor(row)
            if plan:
                plan_tensor[r, : len(plan)] = torch.tensor(plan)
        return DynamicsPart(ids, variables, plan_tensor, torch.tensor(inputs, dtype=torch.long))

    def loss(self, model, part: DynamicsPart) -> dict[str, torch.Tensor]:
        head = model.dynamics
        return dynamics_losses(head, part, self)


def _nll(head: DynamicsHead, h: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    header, element = head.decode(h)
    return -SlotDecoder.log_likelihood(header, element, ids).mean()


def dynamics_losses(head: DynamicsHead, part: DynamicsPart, term: DynamicsTerm) -> dict[str, torch.Tensor]:
    """The named, weighted losses of :class:`DynamicsTerm` on one batch."""
    if len(part.variables) == 0:
        zero = head.no_other.sum() * 0
        return {"dyn_forward": zero}
    encoded = head.encode(part.ids)  # (M, W, d)
    rows = torch.arange(len(part.variables), device=encoded.device)
    latents = encoded[part.variables.clamp(min=0)]  # (R, V, W, d): inputs true, the rest overwritten
    forward, latent_gap = [], []
    reverse_h, reverse_other, reverse_prim, reverse_target = [], [], [], []
    for j in range(part.plan.shape[1]):
        active = part.plan[:, j, 0] >= 0
        if not bool(active.any()):
            break
        r = rows[active]
        primitive, carried, other = part.plan[active, j].unbind(-1)
        target = part.inputs[active] + j
        h = head.step(latents[r, carried], head.other_latents(latents[r], other), primitive)
        truth = part.variables[r, target]
        forward.append(_nll(head, h, part.ids[truth]))
        latent_gap.append((h.float() - encoded[truth].detach().float()).pow(2).mean())
        latents = latents.index_put((r, target), h)
        # Reverse steps start from the true encodings, as a query does.
        reverse_h.append(encoded[truth])
        other_true = torch.where((other >= 0)[:, None, None], encoded[part.variables[r, other.clamp(min=0)]],
                                 head.no_other.expand_as(encoded[truth]))
        reverse_other.append(other_true)
        reverse_prim.append(primitive)
        reverse_target.append(part.variables[r, carried])
    losses = {
        "dyn_forward": term.forward_weight * torch.stack(forward).mean(),
        "dyn_latent": term.latent_weight * torch.stack(latent_gap).mean(),
        "dyn_value": term.value_weight * _nll(head, encoded, part.ids),
    }
    if term.reverse_weight:
        back = head.step(torch.cat(reverse_h), torch.cat(reverse_other), torch.cat(reverse_prim), reverse=True)
        losses["dyn_reverse"] = term.reverse_weight * _nll(head, back, part.ids[torch.cat(reverse_target)])
    return losses

