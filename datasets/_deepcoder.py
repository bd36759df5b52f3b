"""The DeepCoder integer-list DSL (Balog et al., 2017), with pinned edge cases.

Conventions (see ``docs/dsl.md``): division floors (Python ``//``); ``HEAD``,
``LAST``, ``MINIMUM``, ``MAXIMUM`` of an empty list and ``ACCESS`` out of range or
negative are invalid; ``SUM`` of an empty list is 0; ``TAKE``/``DROP`` are Python
slices (``xs[:n]``, ``xs[n:]``); ``SCANL1`` keeps the first element and folds
``acc <op> x``; ``ZIPWITH`` stops at the shorter list.
"""

from __future__ import annotations

from itertools import accumulate

from ._program import Primitive, Type

__all__ = ["DEEPCODER_PRIMITIVES"]

INT, LIST = Type.INT, Type.LIST


def _access(n: int, xs: list[int]) -> int:
    if not 0 <= n < len(xs):
        raise IndexError("ACCESS out of range")
    return xs[n]


def _head(xs: list[int]) -> int:
    return xs[0]


def _last(xs: list[int]) -> int:
    return xs[-1]


# Each lambda is written out as a whole-list function: a comprehension with the
# arithmetic inline runs about twice as fast as calling a lambda per element, and
# the interpreter's throughput is what every search method pays for.
MAP_LAMBDAS = {
    "(+1)": lambda xs: [v + 1 for v in xs],
    "(-1)": lambda xs: [v - 1 for v in xs],
    "(*2)": lambda xs: [v * 2 for v in xs],
    "(/2)": lambda xs: [v // 2 for v in xs],
    "(*(-1))": lambda xs: [-v for v in xs],
    "(**2)": lambda xs: [v * v for v in xs],
    "(*3)": lambda xs: [v * 3 for v in xs],
    "(/3)": lambda xs: [v // 3 for v in xs],
    "(*4)": lambda xs: [v * 4 for v in xs],
    "(/4)": lambda xs: [v // 4 for v in xs],
}
FILTERS = {
    "(>0)": lambda xs: [v for v in xs if v > 0],
    "(<0)": lambda xs: [v for v in xs if v < 0],
    "(%2==0)": lambda xs: [v for v in xs if not v & 1],
    "(%2==1)": lambda xs: [v for v in xs if v & 1],
}
COUNTS = {
    "(>0)": lambda xs: sum(v > 0 for v in xs),
    "(<0)": lambda xs: sum(v < 0 for v in xs),
    "(%2==0)": lambda xs: sum(not v & 1 for v in xs),
    "(%2==1)": lambda xs: sum(v & 1 for v in xs),
}
ZIPWITHS = {
    "(+)": lambda xs, ys: [a + b for a, b in zip(xs, ys)],
    "(-)": lambda xs, ys: [a - b for a, b in zip(xs, ys)],
    "(*)": lambda xs, ys: [a * b for a, b in zip(xs, ys)],
    "(min)": lambda xs, ys: [a if a < b else b for a, b in zip(xs, ys)],
    "(max)": lambda xs, ys: [a if a > b else b for a, b in zip(xs, ys)],
}
COMMUTATIVE_ZIPWITHS = frozenset({"(+)", "(*)", "(min)", "(max)"})
"""The ZIPWITH lambdas whose two lists commute (both stop at the shorter list)."""
BINARY_LAMBDAS = {
    "(+)": lambda a, b: a + b,
    "(-)": lambda a, b: a - b,
    "(*)": lambda a, b: a * b,
    "(min)": min,
    "(max)": max,
}
PREDICATES = tuple(FILTERS)


def _scanl1(f):
    return lambda xs: list(accumulate(xs, f))


def _table() -> dict[str, Primitive]:
    table = [
        Primitive("HEAD", "HEAD", (LIST,), INT, _head, False),
        Primitive("LAST", "LAST", (LIST,), INT, _last, False),
        Primitive("TAKE", "TAKE", (INT, LIST), LIST, lambda n, xs: xs[:n], False),
        Primitive("DROP", "DROP", (INT, LIST), LIST, lambda n, xs: xs[n:], False),
        Primitive("ACCESS", "ACCESS", (INT, LIST), INT, _access, False),
        Primitive("MINIMUM", "MINIMUM", (LIST,), INT, min, False),
        Primitive("MAXIMUM", "MAXIMUM", (LIST,), INT, max, False),
        Primitive("REVERSE", "REVERSE", (LIST,), LIST, lambda xs: xs[::-1], False),
        Primitive("SORT", "SORT", (LIST,), LIST, sorted, False),
        Primitive("SUM", "SUM", (LIST,), INT, sum, True),
    ]
    for lam, f in MAP_LAMBDAS.items():
        table.append(Primitive(f"MAP{lam}", f"MAP {lam}", (LIST,), LIST, f, True))
    for lam, f in FILTERS.items():
        table.append(Primitive(f"FILTER{lam}", f"FILTER {lam}", (LIST,), LIST, f, False))
    for lam, f in COUNTS.items():
        # A count is a new integer (up to the list's length), so it is range-checked.
        table.append(Primitive(f"COUNT{lam}", f"COUNT {lam}", (LIST,), INT, f, True))
    for lam, f in ZIPWITHS.items():
        table.append(Primitive(f"ZIPWITH{lam}", f"ZIPWITH {lam}", (LIST, LIST), LIST, f, True,
                               commutative=lam in COMMUTATIVE_ZIPWITHS))
    for lam, f in BINARY_LAMBDAS.items():
        table.append(Primitive(f"SCANL1{lam}", f"SCANL1 {lam}", (LIST,), LIST, _scanl1(f), True))
    return {p.name: p for p in table}


DEEPCODER_PRIMITIVES = _table()
