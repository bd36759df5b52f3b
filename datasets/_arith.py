"""``arith``: straight-line integer arithmetic with constants.

The latent-executor design starts from sums with a missing value (``12 + ? = 23``) and
small symbolic regressions (``y = 2x + 3``); as input/output examples these are
straight-line programs over ints. Conventions: division and modulo floor (Python
``//`` and ``%``), a zero divisor never occurs (the constants are non-zero), and every
result is range-checked by the interpreter's bounds, as DeepCoder's are.

Constants are part of the primitive, as DeepCoder's lambdas are (``ADD (3)`` is one
primitive), so enumeration, edits and the models see one token per operation.

Example:
    >>> program = arith.parse("a <- int | b <- MUL (2) a | c <- ADD (3) b")
    >>> arith.run(program, [5]), arith.format(program)
    (13, 'a <- int | b <- MUL (2) a | c <- ADD (3) b')
"""

from __future__ import annotations

import operator

from ._domain import Domain, InputConfig
from ._program import Primitive, Type

__all__ = ["ARITH_PRIMITIVES", "arith"]

INT = Type.INT

_ADD = (1, 2, 3, 5, 10, -1, -2, -3, -5, -10)
_MUL = (2, 3, 4, 5, 10, -1)
_DIV = (2, 3, 4, 5, 10)
_MOD = (2, 3, 10)


def _table() -> dict[str, Primitive]:
    rows = [
        Primitive("ADD", "ADD", (INT, INT), INT, operator.add, True, commutative=True),
        Primitive("SUB", "SUB", (INT, INT), INT, operator.sub, True),
        Primitive("MUL", "MUL", (INT, INT), INT, operator.mul, True, commutative=True),
        Primitive("MAX", "MAX", (INT, INT), INT, max, False, commutative=True),
        Primitive("MIN", "MIN", (INT, INT), INT, min, False, commutative=True),
        Primitive("SQUARE", "SQUARE", (INT,), INT, lambda v: v * v, True),
        Primitive("ABS", "ABS", (INT,), INT, abs, True),
    ]
    rows += [Primitive(f"ADD({k})", f"ADD ({k})", (INT,), INT, lambda v, k=k: v + k, True) for k in _ADD]
    rows += [Primitive(f"MUL({k})", f"MUL ({k})", (INT,), INT, lambda v, k=k: v * k, True) for k in _MUL]
    rows += [Primitive(f"DIV({k})", f"DIV ({k})", (INT,), INT, lambda v, k=k: v // k, False) for k in _DIV]
    rows += [Primitive(f"MOD({k})", f"MOD ({k})", (INT,), INT, lambda v, k=k: v % k, False) for k in _MOD]
    return {p.name: p for p in rows}


ARITH_PRIMITIVES = _table()

arith = Domain(
    "arith",
    ARITH_PRIMITIVES,
    inputs=InputConfig(min_int=-20, max_int=20),
    signatures=((INT,), (INT, INT), (INT, INT, INT)),
)
"""The arithmetic domain: ints only, one to three inputs, ints drawn from [-20, 20]."""
