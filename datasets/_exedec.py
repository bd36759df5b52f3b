"""Translate ExeDec's DeepCoder program text into this package's DSL.

ExeDec (google-deepmind/exedec) writes programs as
``x0 = INPUT | x1 = INPUT | x2 = Map (*3) x0 | x3 = ZipWith (+) x2 x1``.
Its conventions (floor division, Python slices for Take/Drop, ``Scanl1`` folding
``acc <op> x``, invalid Head/Access on bad input) are the ones pinned here, so a
translation is a renaming.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import ParseError
from ._program import Program, Statement, Type

__all__ = ["from_exedec"]

_FIRST_ORDER = {
    "Head": "HEAD",
    "Last": "LAST",
    "Take": "TAKE",
    "Drop": "DROP",
    "Access": "ACCESS",
    "Minimum": "MINIMUM",
    "Maximum": "MAXIMUM",
    "Reverse": "REVERSE",
    "Sort": "SORT",
    "Sum": "SUM",
}
_HIGHER_ORDER = {"Map": "MAP", "Filter": "FILTER", "Count": "COUNT", "ZipWith": "ZIPWITH", "Scanl1": "SCANL1"}


def from_exedec(text: str, input_types: Sequence[Type]) -> Program:
    """Translate one ExeDec program (``|``-separated) given its argument types.

    Example:
        >>> from worldmodel.datasets import deepcoder, Type
        >>> p = from_exedec("x0 = INPUT | x1 = Sort x0 | x2 = Map (*2) x1", [Type.LIST])
        >>> deepcoder.format(p)
        'a <- [int] | b <- SORT a | c <- MAP (*2) b'

    Raises:
        ParseError: naming the statement that does not translate.
    """
    names: dict[str, int] = {}
    body: list[Statement] = []
    for number, part in enumerate(text.split("|"), start=1):
        target, equals, rhs = part.partition("=")
        words = rhs.split()
        if not equals or not words:
            raise ParseError(f"statement {number}: expected 'xN = ...', got {part.strip()!r}")
        if words == ["INPUT"]:
            names[target.strip()] = len(names)
            continue
        head, rest = words[0], words[1:]
        if head in _FIRST_ORDER:
            name = _FIRST_ORDER[head]
        elif head in _HIGHER_ORDER and rest:
            name, rest = _HIGHER_ORDER[head] + rest[0], rest[1:]
        else:
            raise ParseError(f"statement {number}: unknown operation {head!r}")
        try:
            args = tuple(names[w] for w in rest)
        except KeyError as error:
            raise ParseError(f"statement {number}: unknown variable {error.args[0]!r}") from None
        names[target.strip()] = len(names)
        body.append(Statement(name, args))
    if len(input_types) != len(names) - len(body):
        raise ParseError(f"{len(names) - len(body)} INPUT lines but {len(input_types)} argument types")
    return Program(tuple(input_types), tuple(body))
