"""Values as slot tensors, and the exact value decoder (latent -> ranked values).

A value of the integer-list DSLs becomes ``S`` slots: slot 0 is a *header* (an int, or
a list and its length), slots ``1..S-1`` hold the elements (an int sits in slot 1).
Each slot has its own latent vector, so a decoder reads every element from its own
slot and a value it gets right comes back exactly, not as a rounded regression.

The decoder's distribution over values is the header's distribution times, for the
slots the header says are used, independent distributions over the element values:
``p(v) = p(header(v)) * prod_{i <= n} p(slot_i = v_i)``. It sums to one over all values
within the bounds, and :func:`top_values` finds its k most probable values exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from worldmodel.datasets import Bounds, Type, Value

__all__ = ["SlotCodec", "SlotEncoder", "SlotDecoder", "NumericReadout", "RankedValue", "top_values"]


@dataclass(frozen=True)
class SlotCodec:
    """Turns values into slot ids and back, for one domain's bounds.

    Header ids: ``0`` an int, ``1 + n`` a list of length ``n``. Element ids: ``v -
    min_value`` for an element ``v``, and :attr:`pad` for an unused slot.

    Example:
        >>> from worldmodel.datasets import DEFAULT_BOUNDS
        >>> codec = SlotCodec(DEFAULT_BOUNDS)
        >>> ids = codec.encode([[3, -1], 7], width=4)
        >>> ids.tolist()
        [[3, 259, 255, 512], [0, 263, 512, 512]]
        >>> codec.decode(ids[0].tolist())
        [3, -1]
    """

    bounds: Bounds

    @property
    def slots(self) -> int:
        """Most slots a value needs: the header plus the longest list."""
        return self.bounds.max_list_length + 1

    @property
    def num_values(self) -> int:
        """Element values within the bounds (the element classes)."""
        return self.bounds.max_value - self.bounds.min_value + 1

    @property
    def pad(self) -> int:
        return self.num_values

    @property
    def num_headers(self) -> int:
        return self.bounds.max_list_length + 2

    def width(self, values: Sequence[Value]) -> int:
        """Slots enough for every value of ``values`` (at least 2: header and one element)."""
        return 1 + max([1, *(len(v) for v in values if not isinstance(v, int))])

    def encode(self, values: Sequence[Value], *, width: int) -> torch.Tensor:
        """``(N, width)`` long slot ids of N values (each within the bounds)."""
        lo, pad = self.bounds.min_value, self.pad
        rows = []
        for v in values:
            if isinstance(v, int):
                row = [0, v - lo]
            else:
                row = [1 + len(v), *(e - lo for e in v)]
            rows.append(row + [pad] * (width - len(row)))
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), width)

    def decode(self, ids: Sequence[int]) -> Value:
        """The value a row of slot ids stands for (inverse of :meth:`encode`)."""
        header, lo = ids[0], self.bounds.min_value
        if header == 0:
            return ids[1] + lo
        return [e + lo for e in ids[1 : header]]

    def numbers(self, ids: torch.Tensor) -> torch.Tensor:
        """``(..., W)`` float: each element slot's value, ``0`` for the header and unused slots.

        Example:
            >>> from worldmodel.datasets import DEFAULT_BOUNDS
            >>> codec = SlotCodec(DEFAULT_BOUNDS)
            >>> codec.numbers(codec.encode([[3, -1], 7], width=4)).tolist()
            [[0.0, 3.0, -1.0, 0.0], [0.0, 7.0, 0.0, 0.0]]
        """
        element = ids[..., 1:]
        value = (element + self.bounds.min_value).to(torch.float32) * (element != self.pad)
        return torch.cat([torch.zeros_like(value[..., :1]), value], -1)

    def used(self, header: torch.Tensor, *, width: int) -> torch.Tensor:
        """``(..., width)`` float: 1 for the element slots a value with these header ids fills.

        Example:
            >>> from worldmodel.datasets import DEFAULT_BOUNDS
            >>> codec = SlotCodec(DEFAULT_BOUNDS)
            >>> codec.used(codec.encode([[3, -1], 7], width=4)[:, 0], width=4).tolist()
            [[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
        """
        length = torch.where(header == 0, 1, header - 1)  # an int fills slot 1
        slot = torch.arange(width, device=header.device)
        return ((slot >= 1) & (slot <= length.unsqueeze(-1))).to(torch.float32)

    def numeric(self, ids: torch.Tensor) -> torch.Tensor:
        """``(..., W, 1 + B)`` numeric features of element slots: value / range and its bits.

        The header slot and unused slots get zeros. The scaled value lets the dynamics
        do arithmetic on a coordinate; the bits give parity and divisibility.
        """
        element = ids[..., 1:]
        used = element != self.pad
        value = (element + self.bounds.min_value).to(torch.float32)
        bits = self.num_values.bit_length()
        code = ((element.clamp(max=self.num_values - 1).unsqueeze(-1) >> torch.arange(bits, device=ids.device)) & 1)
        features = torch.cat([(value / self.bounds.max_value).unsqueeze(-1), code.to(torch.float32)], -1)
        features = features * used.unsqueeze(-1)
        return torch.cat([torch.zeros_like(features[..., :1, :]), features], -2)


class SlotEncoder(nn.Module):
    """Embeds slot ids as one latent vector per slot.

    Args:
        codec: the slot layout.
        dim: width d of a slot latent.

    Shapes: ``(N, W)`` long -> ``(N, W, d)``.
    """

    def __init__(self, codec: SlotCodec, dim: int):
        super().__init__()
        self.codec = codec
        self.header = nn.Embedding(codec.num_headers, dim)
        self.element = nn.Embedding(codec.num_values + 1, dim)
        bits = codec.num_values.bit_length()
        self.numeric = nn.Linear(1 + bits, dim)
        self.position = nn.Embedding(codec.slots, dim)

    def forward(self, ids: torch.Tensor, *, numeric: torch.Tensor | None = None) -> torch.Tensor:
        """``numeric``: ``(N, W, 1 + B)`` features to use instead of ``codec.numeric(ids)``
        (the Jacobian in value space differentiates through them)."""
        width = ids.shape[-1]
        features = self.codec.numeric(ids) if numeric is None else numeric
        h = torch.cat([self.header(ids[..., :1]), self.element(ids[..., 1:])], -2)  # (N, W, d)
        return h + self.numeric(features.to(h.dtype)) + self.position.weight[:width]


class NumericReadout(nn.Module):
    """A peak at a scalar the latent computes, added to each element slot's logits.

    A linear decoder reads a class off one direction per value, so a sum or a count
    (a scalar that attention over the slots computes linearly) would need that scalar
    turned into a one-of-512 code first. This readout adds ``-a (v - s)^2`` to the
    logit of every element value ``v``, where the slot's latent gives the centre ``s``
    and the precision ``a >= 0``: a sharp peak at the nearest integer to ``s``.

    It starts as (almost) nothing: ``s`` is the expectation under the linear logits
    plus a zero-initialised correction and ``a = softplus(-16) ~ 1e-7``, so a trained
    head given the readout (:meth:`DynamicsHead.grown`) keeps its function.

    Args:
        codec: the slot layout.
        dim: width d of a slot latent.

    Shapes: ``h`` ``(..., d)`` and ``logits`` ``(..., V)`` -> ``(..., V)``.
    """

    CENTRE_SCALE = 64.0
    """Values the centre moves per unit of its raw output (a step of Adam moves the raw
    output by about ``lr`` per weight, so the centre moves a few values per step)."""
    PRECISION_GAIN = 4.0
    PRECISION_OFFSET = -16.0

    def __init__(self, codec: SlotCodec, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, 2)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        lo = codec.bounds.min_value
        self.register_buffer("values", torch.arange(codec.num_values, dtype=torch.float32) + lo, persistent=False)

    def forward(self, h: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        raw_centre, raw_precision = self.proj(h).float().unbind(-1)  # each (...)
        mean = (torch.softmax(logits.float(), -1) * self.values).sum(-1)
        centre = mean + self.CENTRE_SCALE * raw_centre
        precision = nn.functional.softplus(self.PRECISION_GAIN * raw_precision + self.PRECISION_OFFSET)
        return -precision.unsqueeze(-1) * (self.values - centre.unsqueeze(-1)).pow(2)  # (..., V)


class SlotDecoder(nn.Module):
    """Per-slot logits: the header's ``(N, H)`` and the elements' ``(N, W - 1, V)``.

    The element logits leave out the pad id: a decoded value is read only from the
    slots its header uses.

    Args:
        codec: the slot layout.
        dim: width d of a slot latent.
        numeric: add a :class:`NumericReadout` to the element logits (default False).
    """

    def __init__(self, codec: SlotCodec, dim: int, *, numeric: bool = False):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.header = nn.Linear(dim, codec.num_headers)
        self.element = nn.Linear(dim, codec.num_values)
        self.numeric = NumericReadout(codec, dim) if numeric else None

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.norm(h)
        slots = h[..., 1:, :]  # (N, W - 1, d)
        element = self.element(slots)
        if self.numeric is not None:
            element = element + self.numeric(slots, element)
        return self.header(h[..., 0, :]), element

    def header_logits(self, h: torch.Tensor) -> torch.Tensor:
        """The header logits ``(N, H)`` of :meth:`forward`, without the element logits."""
        return self.header(self.norm(h[..., 0, :]))

    @staticmethod
    def log_likelihood(header: torch.Tensor, element: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """``(N,)`` log p(value) of the values with slot ids ``ids`` ``(N, W)`` (see module doc)."""
        lp = torch.log_softmax(header.float(), -1).gather(-1, ids[:, :1]).squeeze(-1)  # (N,)
        target = ids[:, 1:]
        used = target != element.shape[-1]  # pad id = number of element classes
        slot = torch.log_softmax(element.float(), -1).gather(-1, target.clamp(max=element.shape[-1] - 1).unsqueeze(-1))
        return lp + (slot.squeeze(-1) * used).sum(-1)


@dataclass(frozen=True)
class RankedValue:
    """A decoded value and the decoder's log-probability of it."""

    value: Value
    log_prob: float


def _top_products(log_probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best choices of one class per row of ``log_probs`` ``(n, V)``.

    Returns ``(scores (k',), choices (k', n))``: exact, because the best k completions of
    a prefix's best k are among (best k so far) x (best k of the next row).
    """
    scores = torch.zeros(1, dtype=log_probs.dtype)
    choices = torch.zeros(1, 0, dtype=torch.long)
    for row in log_probs:
        best, index = row.topk(min(k, row.numel()))
        total = (scores[:, None] + best[None, :]).reshape(-1)
        keep = total.topk(min(k, total.numel()))
        parent, pick = keep.indices // len(best), keep.indices % len(best)
        scores = keep.values
        choices = torch.cat([choices[parent], index[pick].unsqueeze(-1)], -1)
    return scores, choices


def top_values(header: torch.Tensor, element: torch.Tensor, codec: SlotCodec, *, k: int,
               type_: Type | None = None) -> list[RankedValue]:
    """The ``k`` most probable values of one decoded latent, best first.

    Args:
        header: ``(H,)`` header logits.
        element: ``(W - 1, V)`` element logits.
        codec: the slot layout.
        k: how many values (>= 1).
        type_: keep only values of this type (default any); the probabilities are then
            conditional on the type.

    Returns:
        Up to ``k`` :class:`RankedValue`, in decreasing probability; lists no longer than
        ``W - 1``.
    """
    header_lp = torch.log_softmax(header.detach().float().cpu(), -1)
    element_lp = torch.log_softmax(element.detach().float().cpu(), -1)
    allowed = torch.zeros_like(header_lp, dtype=torch.bool)
    longest = element_lp.shape[0]
    if type_ is not Type.LIST:
        allowed[0] = True
    if type_ is not Type.INT:
        allowed[1 : 2 + longest] = True
    header_lp = header_lp.masked_fill(~allowed, float("-inf"))
    header_lp = header_lp - torch.logsumexp(header_lp, -1)
    found: list[tuple[float, Value]] = []
    order = header_lp.argsort(descending=True)
    for h in order.tolist():
        if not allowed[h]:
            continue
        length = 1 if h == 0 else h - 1
        if found and len(found) >= k and float(header_lp[h]) < found[k - 1][0]:
            break  # no value with this header can enter the top k
        scores, choices = _top_products(element_lp[:length], k)
        for score, choice in zip(scores.tolist(), choices.tolist()):
            value = choice[0] + codec.bounds.min_value if h == 0 else [c + codec.bounds.min_value for c in choice]
            found.append((float(header_lp[h]) + score, value))
        found.sort(key=lambda item: -item[0])
        del found[k:]
    return [RankedValue(value, lp) for lp, value in found]
