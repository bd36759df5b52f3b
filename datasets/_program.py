"""Programs as data: types, primitives, statements, and the text format.

A program is a straight-line list of statements in the DeepCoder style::

    a <- [int]
    b <- int
    c <- SORT a
    d <- TAKE b c

The first lines declare the inputs; each statement applies a primitive to earlier
variables; the program's output is the last variable. Variables are referred to by
index (inputs first), so a program is a pure value that hashes and compares.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._errors import ParseError

__all__ = ["Type", "Primitive", "Statement", "Program", "variable_name", "parse_program", "format_program"]


class Type(enum.Enum):
    """The value types: ints and int lists, and the types of domains with values of
    their own. A value of such a type is held as an int list (its codes), so that it
    hashes, meets the interpreter's bounds and tokenises like a list; the type says
    what the codes mean (``REGEX``: a regex's postfix codes, :mod:`._regex`)."""

    INT = "int"
    LIST = "[int]"
    REGEX = "regex"

    @classmethod
    def of(cls, value: object) -> Type:
        """The type of a Python value: ``int`` or a list of ints (a list of codes of a
        domain's own type reads as a list too: only a program's types tell them apart).

        Example:
            >>> Type.of([1, 2]), Type.of(3)
            (<Type.LIST: '[int]'>, <Type.INT: 'int'>)
        """
        if isinstance(value, bool):
            raise TypeError(f"booleans are not DSL values, got {value!r}")
        if isinstance(value, int):
            return cls.INT
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return cls.LIST
        raise TypeError(f"a DSL value is an int or a list of ints, got {value!r}")


@dataclass(frozen=True)
class Primitive:
    """One operation of a DSL, with its lambda already applied (``MAP (+1)``).

    Attributes:
        name: the key, e.g. ``"MAP(+1)"`` (also its token).
        text: how it is written in a program, e.g. ``"MAP (+1)"``.
        arg_types: types of its arguments, in order.
        return_type: type of its result.
        function: the Python implementation on plain ints and int sequences (a list
            argument may come as a list or a tuple: enumeration passes tuples); it may raise
            ``IndexError`` / ``ValueError`` on invalid input, which the interpreter
            turns into :class:`ExecutionError`.
        creates_values: whether the result may hold integers absent from the
            arguments, or be a list longer than every list argument (so the interpreter
            must check it against the bounds).
        statements: base statements one application runs, what the one budget charges
            per example (default 1; a skill's expanded size, :mod:`._skills`).
        commutative: ``f(x, y) == f(y, x)`` for every pair of arguments of one type, so
            enumeration applies one order only (default False).
    """

    name: str
    text: str
    arg_types: tuple[Type, ...]
    return_type: Type
    function: Callable[..., object]
    creates_values: bool
    statements: int = 1
    commutative: bool = False


@dataclass(frozen=True)
class Statement:
    """``primitive`` applied to the variables at indices ``args`` (inputs first)."""

    primitive: str
    args: tuple[int, ...]


@dataclass(frozen=True)
class Program:
    """A straight-line program: typed inputs and a tuple of statements.

    Example:
        >>> p = Program((Type.LIST,), (Statement("SORT", (0,)),))
        >>> len(p), p.num_variables
        (1, 2)
    """

    input_types: tuple[Type, ...]
    statements: tuple[Statement, ...] = ()

    def __hash__(self) -> int:
        # Programs are dictionary keys on every hot path (interpreter cache,
        # deduplication, search frontiers): hash once.
        try:
            return self.__dict__["_hash"]
        except KeyError:
            value = hash((self.input_types, self.statements))
            object.__setattr__(self, "_hash", value)
            return value

    def __len__(self) -> int:
        return len(self.statements)

    @property
    def num_variables(self) -> int:
        """Inputs plus statements."""
        return len(self.input_types) + len(self.statements)


_TYPE_NAMES = {t.value for t in Type}


def variable_name(index: int) -> str:
    """The text name of variable ``index``: ``a``..``z``, then ``v26``, ``v27``..."""
    return chr(ord("a") + index) if index < 26 else f"v{index}"


def _variable_index(name: str) -> int | None:
    if len(name) == 1 and "a" <= name <= "z":
        return ord(name) - ord("a")
    if name.startswith("v") and name[1:].isdigit():
        return int(name[1:])
    return None


def format_program(program: Program, primitives: Mapping[str, Primitive], *, sep: str = "\n") -> str:
    """The text of a program, one declaration or statement per line (or ``sep``).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> print(format_program(p, deepcoder.primitives))
        a <- [int]
        b <- SORT a
    """
    lines = [f"{variable_name(i)} <- {t.value}" for i, t in enumerate(program.input_types)]
    for j, st in enumerate(program.statements):
        args = " ".join(variable_name(a) for a in st.args)
        target = variable_name(len(program.input_types) + j)
        lines.append(f"{target} <- {primitives[st.primitive].text} {args}")
    return sep.join(lines)


def parse_program(text: str, primitives: Mapping[str, Primitive]) -> Program:
    """Parse program text (lines, or one line with ``|`` separators).

    Raises:
        ParseError: naming the line (1-based) and what is wrong.
    """
    by_text = {p.text: p for p in primitives.values()}
    lines = [ln.strip() for chunk in text.strip().splitlines() for ln in chunk.split("|")]
    lines = [ln for ln in lines if ln]
    input_types: list[Type] = []
    statements: list[Statement] = []
    types: list[Type] = []
    for number, line in enumerate(lines, start=1):
        target, arrow, rhs = line.partition("<-")
        if not arrow:
            raise ParseError(f"line {number}: expected '<name> <- ...', got {line!r}")
        index = _variable_index(target.strip())
        if index != len(types):
            expected = variable_name(len(types))
            raise ParseError(f"line {number}: expected variable {expected!r}, got {target.strip()!r}")
        rhs = rhs.strip()
        if rhs in _TYPE_NAMES:
            if statements:
                raise ParseError(f"line {number}: input declarations must come before statements")
            input_types.append(Type(rhs))
            types.append(Type(rhs))
            continue
        words = rhs.split()
        if len(words) >= 2 and words[1].startswith("("):
            op_text, arg_words = f"{words[0]} {words[1]}", words[2:]
        else:
            op_text, arg_words = words[0] if words else "", words[1:]
        primitive = by_text.get(op_text)
        if primitive is None:
            raise ParseError(f"line {number}: unknown primitive {op_text!r}")
        if len(arg_words) != len(primitive.arg_types):
            raise ParseError(
                f"line {number}: {primitive.text} takes {len(primitive.arg_types)} arguments, "
                f"got {len(arg_words)}"
            )
        args = []
        for word, want in zip(arg_words, primitive.arg_types):
            arg = _variable_index(word)
            if arg is None or arg >= len(types):
                raise ParseError(f"line {number}: {word!r} is not an earlier variable")
            if types[arg] is not want:
                raise ParseError(
                    f"line {number}: {word!r} has type {types[arg].value}, "
                    f"{primitive.text} needs {want.value}"
                )
            args.append(arg)
        statements.append(Statement(primitive.name, tuple(args)))
        types.append(primitive.return_type)
    if not input_types:
        raise ParseError("a program declares at least one input (e.g. 'a <- [int]', or 'a <- regex' in regex)")
    return Program(tuple(input_types), tuple(statements))
