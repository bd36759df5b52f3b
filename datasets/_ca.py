"""``ca``: one-dimensional binary cellular automata, rules as expressions over the neighbourhood.

A value is a row of cells, a list of 0s and 1s on a ring (the last cell's right
neighbour is the first). A program maps a row to the next one: every primitive acts on
all cells at once, so a straight-line program is an expression over each cell's
neighbourhood of radius 1 or 2, and enumeration, edits and the models see one token per
operation. Rule 90 (each cell becomes the XOR of its two neighbours) is::

    >>> rule90 = ca.parse("a <- [int] | b <- LEFT a | c <- RIGHT a | d <- XOR b c")
    >>> ca.run(rule90, [[0, 0, 0, 1, 0, 0, 0]])
    [0, 0, 1, 0, 1, 0, 0]

A task is a few rows of one evolution: each example maps row ``t`` to row ``t + 1``, and
the interpreter runs the rule exactly (:func:`evolution_examples`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._domain import Domain, Example, InputConfig
from ._interpreter import Bounds
from ._program import Primitive, Program, Type

__all__ = ["CA_PRIMITIVES", "ca", "evolution_examples"]

LIST = Type.LIST


def _shift(offset: int):
    """The row of each cell's neighbour at ``offset`` (negative: to the left), on a ring."""

    def neighbour(row: Sequence[int]) -> list[int]:
        n = len(row)
        return [row[(i + offset) % n] for i in range(n)] if n else []

    return neighbour


def _table() -> dict[str, Primitive]:
    rows = [
        Primitive("LEFT", "LEFT", (LIST,), LIST, _shift(-1), False),
        Primitive("RIGHT", "RIGHT", (LIST,), LIST, _shift(1), False),
        Primitive("LEFT2", "LEFT2", (LIST,), LIST, _shift(-2), False),
        Primitive("RIGHT2", "RIGHT2", (LIST,), LIST, _shift(2), False),
        Primitive("NOT", "NOT", (LIST,), LIST, lambda r: [1 - v for v in r], False),
        # Two rows of one program have one length (every primitive keeps it), so zip is exact.
        Primitive("AND", "AND", (LIST, LIST), LIST, lambda r, s: [a & b for a, b in zip(r, s)], False, commutative=True),
        Primitive("OR", "OR", (LIST, LIST), LIST, lambda r, s: [a | b for a, b in zip(r, s)], False, commutative=True),
        Primitive("XOR", "XOR", (LIST, LIST), LIST, lambda r, s: [a ^ b for a, b in zip(r, s)], False, commutative=True),
    ]
    return {p.name: p for p in rows}


CA_PRIMITIVES = _table()

ca = Domain(
    "ca",
    CA_PRIMITIVES,
    bounds=Bounds(min_value=0, max_value=1, max_list_length=32, max_statements=64),
    inputs=InputConfig(min_value=0, max_value=1, min_list_length=8, max_list_length=16, min_int=0, max_int=1),
    signatures=((LIST,),),
)
"""The cellular-automaton domain: binary rows of up to 32 cells on a ring, one input
row, random rows of 8 to 16 cells."""


def evolution_examples(program: Program, row: Sequence[int], steps: int) -> tuple[Example, ...]:
    """The examples of ``steps`` steps of ``program``'s evolution from ``row``: row ``t``
    to row ``t + 1``, each computed by the interpreter.

    Raises:
        ExecutionError: ``row`` is not a valid row of :data:`ca`.
    """
    examples, current = [], list(row)
    for _ in range(steps):
        following = ca.run(program, [current])
        examples.append(Example((current,), following))
        current = following
    return tuple(examples)
