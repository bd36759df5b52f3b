"""The linear stream: exact numbers for the statements a linear map computes.

A slot latent holds a value only as a direction per class, so the dynamics compute a
sum of six elements (``SUM``), a running sum (``SCANL1 (+)``) or a reversed list
within a few units but rarely exactly (on fresh length-1 inputs the shipped head got
``SUM`` right 7 times in 40). For many statements the result's numbers are a fixed
linear map of the arguments' numbers, once the arguments' lengths are known:

    u'_i = sum_j W[p, h][i, j] x_j + W[p, h][i, bias]

where ``x`` stacks the carried argument's slot numbers, the other argument's and a 1,
``p`` is the primitive and ``h`` the carried argument's header id (its type and
length). :func:`fit_linear_stream` fits every ``W[p, h]`` by least squares on
interpreter traces of training programs and keeps it only where it is *exact* on
traces it was not fitted on (``SUM``, ``MAP (+1)``, ``SCANL1 (+)``, ``REVERSE``,
``ZIPWITH (-)``, ...); everything else (``SORT``, ``FILTER``, ``COUNT``, ``MAP (/2)``)
stays with the dynamics alone.

Along a rollout a value's numbers are *trusted* when they are an input's, or a
trusted statement's: one whose map is exact, whose arguments are trusted, and whose
other argument is no longer than any the fit saw. The forward decode of a trusted
value is peaked at its numbers (:meth:`~worldmodel.DynamicsHead.output_logits`); the
header (type and length) is always the dynamics'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from worldmodel.datasets import Task

from ._values import SlotCodec

__all__ = ["LinearStream", "fit_linear_stream"]


class LinearStream(nn.Module):
    """Per (primitive, carried header) linear maps and whether each is exact.

    Args:
        primitives: number of primitives of the domain.
        codec: the slot layout (``S = codec.slots`` slots, ``H = codec.num_headers`` headers).

    Buffers (saved with the head): ``weight`` ``(P, H, S, 2S + 1)``; ``exact`` ``(P, H)``
    bool; ``other_max`` ``(P, H)`` long, the largest other-argument header the fit saw.
    """

    PRECISION = 50.0
    """Logit penalty per squared value of distance from a trusted number: the next
    value is 50 nats less likely, more than any gap between the decoder's own logits."""

    def __init__(self, primitives: int, codec: SlotCodec):
        super().__init__()
        s, h = codec.slots, codec.num_headers
        self.codec = codec
        self.register_buffer("weight", torch.zeros(primitives, h, s, 2 * s + 1))
        self.register_buffer("exact", torch.zeros(primitives, h, dtype=torch.bool))
        self.register_buffer("other_max", torch.zeros(primitives, h, dtype=torch.long))
        values = torch.arange(codec.num_values, dtype=torch.float32) + codec.bounds.min_value
        self.register_buffer("values", values, persistent=False)  # each element class's value

    def step(self, primitive: int, carried: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
             other: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One statement on N rows: its result's numbers ``(N, S)`` and trust ``(N,)``.

        ``carried`` and ``other`` are ``(numbers (N, S), headers (N,), trusted (N,))`` of
        the arguments (``other`` ``None``: the statement has one argument).
        """
        numbers, header, trusted = carried
        n = len(numbers)
        if other is None:
            other_numbers = torch.zeros_like(numbers)
            other_ok = torch.ones(n, dtype=torch.bool, device=numbers.device)
        else:
            other_numbers, other_header, other_trusted = other
            other_ok = other_trusted & (other_header <= self.other_max[primitive, header])
        x = torch.cat([numbers, other_numbers, torch.ones(n, 1, device=numbers.device)], 1)  # (N, 2S + 1)
        result = torch.einsum("nij,nj->ni", self.weight[primitive, header], x)
        return result, self.exact[primitive, header] & trusted & other_ok


def _traces(tasks: Sequence[Task], domain, codec: SlotCodec, *, progress: bool) -> dict:
    """Rows per (primitive, carried header): features ``x``, results' numbers, used
    slots, other arguments' headers."""
    from ._dynamics import statement_plan  # _dynamics builds its head's stream from this module

    rows: dict = defaultdict(lambda: ([], [], [], []))
    for task in tqdm(tasks, desc="linear stream", unit="task", disable=not progress):
        if task.program is None:
            continue
        plan = statement_plan(task.program, domain)
        first = len(task.program.input_types)
        for example in task.examples:
            ids = codec.encode(domain.trace(task.program, example.inputs), width=codec.slots)
            numbers = codec.numbers(ids).double()  # float64: exact integers in the fit
            for k, (primitive, carried, other) in enumerate(plan):
                result = first + k
                other_numbers = numbers[other] if other >= 0 else torch.zeros_like(numbers[carried])
                group = rows[primitive, int(ids[carried, 0])]
                group[0].append(torch.cat([numbers[carried], other_numbers, torch.ones(1, dtype=torch.float64)]))
                group[1].append(numbers[result])
                group[2].append(codec.used(ids[result, 0], width=codec.slots).bool())
                group[3].append(int(ids[other, 0]) if other >= 0 else 0)
    return rows


def fit_linear_stream(stream: LinearStream, tasks: Sequence[Task], domain, *, holdout: int = 5,
                      min_holdout: int = 20, tolerance: float = 1e-6, progress: bool = False) -> dict[str, int]:
    """Fit ``stream`` in place on interpreter traces of ``tasks``' programs.

    For each (primitive, carried header) with traces, every ``holdout``-th trace is
    held out; each result slot's weights are the least-squares (minimum-norm) fit on
    the rest, rounded to integers where they lie within ``1e-4`` of one. The map is
    exact when every held-in and held-out trace (at least ``min_holdout`` held out)
    is reproduced within ``tolerance``.

    ``progress``: a tqdm bar over the tasks (their traces take most of the time:
    about 140 s for Φ's 108 064 training tasks on one core).

    Returns:
        counts: ``groups`` fitted and ``exact`` kept.
    """
    s = stream.codec.slots
    exact = 0
    groups = _traces(tasks, domain, stream.codec, progress=progress)
    for (primitive, header), (xs, ys, used, other_headers) in groups.items():
        x, y, mask = torch.stack(xs), torch.stack(ys), torch.stack(used)
        held_out = torch.arange(len(x)) % holdout == holdout - 1
        if int(held_out.sum()) < min_holdout:
            continue
        weight = torch.zeros(s, 2 * s + 1, dtype=torch.float64)
        for i in range(s):
            rows = mask[:, i] & ~held_out
            if rows.any():
                weight[i] = torch.linalg.lstsq(x[rows], y[rows, i : i + 1], driver="gelsd").solution[:, 0]
        weight = torch.where((weight - weight.round()).abs() < 1e-4, weight.round(), weight)
        error = ((x @ weight.T - y).abs() * mask).amax()
        stream.weight[primitive, header] = weight.to(stream.weight.dtype)
        stream.other_max[primitive, header] = max(other_headers)
        stream.exact[primitive, header] = bool(error < tolerance)
        exact += bool(error < tolerance)
    return {"groups": len(groups), "exact": exact}
