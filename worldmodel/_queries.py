"""Queries on the dynamics head: the forward conditional, Jacobians, and query checks.

These are the functions behind :meth:`WorldModel.forward` and :meth:`WorldModel.jacobian`;
the reverse conditional is :mod:`._reverse_query`, the spec density :mod:`._spec_check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import (
    ExecutionError,
    Program,
    Type,
    Value,
    WorldModelError,
    check_inputs,
    check_value,
)

from ._dynamics import DynamicsHead
from ._values import RankedValue, top_values

__all__ = [
    "ForwardResult",
    "QueryValueError",
    "check_query_inputs",
    "check_query_output",
    "forward_batch",
    "forward_query",
    "jacobian_query",
    "output_type",
]


class QueryValueError(WorldModelError, ValueError):
    """A queried input or output is not a value of the domain (the message names which)."""


@dataclass(frozen=True)
class ForwardResult:
    """``p(y | x, φ)``: the ``k`` likeliest outputs, best first.

    Attributes:
        outputs: :class:`RankedValue` (value and log-probability), best first.
    """

    outputs: tuple[RankedValue, ...]

    @property
    def top(self) -> Value:
        """The likeliest output."""
        return self.outputs[0].value


def output_type(program: Program, head: DynamicsHead) -> Type:
    """The type of ``program``'s output (its last variable)."""
    if program.statements:
        return head.domain.primitives[program.statements[-1].primitive].return_type
    return program.input_types[-1]


def check_query_inputs(program: Program, inputs: Sequence[object], head: DynamicsHead) -> list[Value]:
    """``inputs`` as values, or ``ValueError`` naming the count, type or bound broken."""
    try:
        return check_inputs(program.input_types, inputs, head.domain.bounds)
    except ExecutionError as error:
        raise QueryValueError(f"inputs: {error.reason}") from None


def check_query_output(program: Program, output: object, head: DynamicsHead) -> Value:
    """``output`` as a value of the program's output type within the bounds, or ``ValueError``."""
    want = output_type(program, head)
    try:
        (value,) = check_inputs((want,), [output], head.domain.bounds)
        check_value(value, head.domain.bounds)
    except ExecutionError as error:
        reason = error.reason.replace("input ", "output ", 1)
        raise QueryValueError(f"output: {reason}") from None
    return value


@torch.no_grad()
def forward_batch(head: DynamicsHead, program: Program, inputs: Sequence[Sequence[Value]], *, k: int) -> list[ForwardResult]:
    """:func:`forward_query` for N input tuples of one program, in one rollout."""
    header, element = head.output_logits(program, inputs)
    want = output_type(program, head)
    return [ForwardResult(tuple(top_values(header[n], element[n], head.codec, k=k, type_=want)))
            for n in range(len(inputs))]


def forward_query(head: DynamicsHead, program: Program, inputs: Sequence[object], *, k: int = 5) -> ForwardResult:
    """The ``k`` likeliest outputs of ``program`` on ``inputs`` under the dynamics.

    Raises:
        ValueError: ``inputs`` do not fit the program (count, types, bounds).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    values = check_query_inputs(program, inputs, head)
    return forward_batch(head, program, [values], k=k)[0]


def jacobian_query(head: DynamicsHead, program: Program, inputs: Sequence[object], *,
                   wrt: str = "latent") -> tuple[torch.Tensor, ...]:
    """Autograd Jacobians of the output with respect to each input.

    Args:
        head: the dynamics head.
        program: the program.
        inputs: its arguments.
        wrt: ``"latent"``: ``∂ vec(h_y) / ∂ vec(h_x_i)``, shape ``(W·d, W·d)`` per input,
            of the latents (``W`` slots of width ``d``); ``"value"``: ``∂ E[y_j] / ∂ x_i,l``,
            shape ``(W - 1, W - 1)`` per input: the decoder's expected output element
            ``j`` against input element ``l`` through the encoder's numeric coordinate.
            An int sits in element 0. Default ``"latent"``.

    Returns:
        One Jacobian per input, in input order.

    Raises:
        ValueError: bad ``inputs`` or ``wrt``.
    """
    if wrt not in ("latent", "value"):
        raise ValueError(f"wrt must be 'latent' or 'value', got {wrt!r}")
    values = check_query_inputs(program, inputs, head)
    width = head.codec.width(values)
    ids = [head.slot_ids([v], width=width) for v in values]
    if wrt == "latent":
        base = tuple(head.encode(i)[0].detach() for i in ids)  # each (W, d)

        def latent_out(*hs):
            return head.run_program(program, [values], input_latents=[h.unsqueeze(0) for h in hs])[-1].reshape(-1)

        flat = tuple(b.reshape(-1) for b in base)
        jac = torch.autograd.functional.jacobian(
            lambda *xs: latent_out(*(x.reshape(base[0].shape) for x in xs)), flat
        )
        return tuple(jac)
    scale = float(head.domain.bounds.max_value)
    numeric = [head.codec.numeric(i) for i in ids]  # each (1, W, 1 + B)
    lo = head.domain.bounds.min_value
    offsets = torch.arange(head.codec.num_values, device=head.device, dtype=torch.float32) + lo

    def expected(*xs):
        latents = []
        for x, i, n in zip(xs, ids, numeric):
            coordinate = torch.cat([torch.zeros(1, device=x.device), x / scale]) * (i[0] != head.codec.pad)
            features = torch.cat([coordinate[None, :, None], n[..., 1:]], -1)
            latents.append(head.encode(i, numeric=features))
        out = head.run_program(program, [values], input_latents=latents)[-1]
        _, element = head.decode(out)
        return (torch.softmax(element[0].float(), -1) * offsets).sum(-1)  # (W - 1,)

    points = tuple(((i[0, 1:] + lo) * (i[0, 1:] != head.codec.pad)).to(torch.float32) for i in ids)
    return tuple(torch.autograd.functional.jacobian(expected, points))
