"""The exact, bounded interpreter shared by every domain (a value of a domain's own
type, such as a regex, is an int list of codes and is bounded as a list)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._errors import ConfigError, ExecutionError, short_repr
from ._program import Primitive, Program, Statement, Type
from ._validation import require_at_least

__all__ = ["Bounds", "DEFAULT_BOUNDS", "Value", "check_inputs", "check_value", "apply_primitive", "run", "trace"]

Value = int | list[int]


@dataclass(frozen=True)
class Bounds:
    """Hard limits every interpreter call obeys.

    Attributes:
        min_value: smallest integer a value may hold (default -256).
        max_value: largest integer a value may hold (default 255).
        max_list_length: longest list an input or result may be (default 20).
        max_statements: most statements one run may execute (default 64); every
            primitive is linear in its list arguments, so this bounds the steps.
    """

    min_value: int = -256
    max_value: int = 255
    max_list_length: int = 20
    max_statements: int = 64

    def __post_init__(self) -> None:
        if self.min_value > self.max_value:
            raise ConfigError(f"Bounds.min_value {self.min_value} > max_value {self.max_value}; swap them")
        require_at_least(self, 0, "max_list_length", "max_statements")


DEFAULT_BOUNDS = Bounds()


def check_value(value: Value, bounds: Bounds, statement: int | None = None) -> None:
    """Raise :class:`ExecutionError` if ``value`` breaks ``bounds``."""
    if isinstance(value, int):
        if not bounds.min_value <= value <= bounds.max_value:
            raise ExecutionError("value out of range", statement)
        return
    if len(value) > bounds.max_list_length:
        raise ExecutionError("list too long", statement)
    if value and (min(value) < bounds.min_value or max(value) > bounds.max_value):
        raise ExecutionError("value out of range", statement)


def _bad_input(value: object, want: Type, bounds: Bounds) -> ExecutionError:
    if want is Type.INT and type(value) is int or want is not Type.INT and type(value) in (list, tuple) and all(
        type(v) is int for v in value
    ):
        try:
            check_value(list(value) if want is not Type.INT else value, bounds)
        except ExecutionError as error:
            return ExecutionError(f"input {short_repr(value)}: {error.reason}")
    return ExecutionError(f"input {short_repr(value)} is not of type {want.value}")


def check_inputs(types: Sequence[Type], inputs: Sequence[object], bounds: Bounds) -> list[Value]:
    """Validate ``inputs`` against ``types`` and ``bounds``; return them as lists/ints.

    Raises:
        ExecutionError: wrong count, wrong type (bools are not ints), or out of bounds.
    """
    if len(inputs) != len(types):
        raise ExecutionError(f"expected {len(types)} inputs, got {len(inputs)}")
    lo, hi, longest = bounds.min_value, bounds.max_value, bounds.max_list_length
    values: list[Value] = []
    for want, value in zip(types, inputs):
        kind = type(value)
        if want is Type.INT:
            if kind is not int or not lo <= value <= hi:
                raise _bad_input(value, want, bounds)
        elif kind is list or kind is tuple:
            if len(value) > longest or value and (
                set(map(type, value)) != _JUST_INT or min(value) < lo or max(value) > hi
            ):
                raise _bad_input(value, want, bounds)
            if kind is tuple:
                value = list(value)
        else:
            raise _bad_input(value, want, bounds)
        values.append(value)
    return values


_JUST_INT = {int}


def apply_primitive(primitive: Primitive, args: Sequence[Value], bounds: Bounds, statement: int | None = None) -> Value:
    """Apply one primitive to argument values, exactly and within ``bounds``.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> apply_primitive(deepcoder.primitives["MAP(*2)"], [[1, 2]], DEFAULT_BOUNDS)
        [2, 4]
    """
    if len(args) != len(primitive.arg_types):
        raise ExecutionError(f"{primitive.text} takes {len(primitive.arg_types)} arguments, got {len(args)}", statement)
    try:
        value = primitive.function(*args)
    except (IndexError, ValueError):
        raise ExecutionError(f"{primitive.text}: invalid argument", statement) from None
    except TypeError:  # an argument of the wrong type (the interpreter proper checks types first)
        raise ExecutionError(f"{primitive.text}: ill-typed argument", statement) from None
    if primitive.creates_values:
        check_value(value, bounds, statement)
    return value


# Values hold the primitive table itself, so its id cannot be reused while cached.
_COMPILED: dict[tuple[int, Program], tuple[Mapping[str, Primitive], tuple]] = {}
# Small: a hit needs the same program again soon (search revisits, repeated runs on
# K examples); a large cache only holds programs alive (measured: ~2.6 KB each).
_COMPILED_MAX = 4096


def _check_types(program: Program, primitives: Mapping[str, Primitive]) -> tuple[Primitive, ...]:
    """The primitive of each statement, once the program is known to be well typed.

    A parsed or edited program always is; one built by hand may not be, and running it
    must still raise only :class:`ExecutionError`, never ``TypeError`` or a silent
    ``env[-1]``.
    """
    if not isinstance(program, Program):
        raise ExecutionError(f"not a Program: {short_repr(program)}")
    types = list(program.input_types)
    if any(not isinstance(t, Type) for t in types):
        raise ExecutionError(f"input types must be Type values, got {short_repr(program.input_types)}")
    table = []
    for index, st in enumerate(program.statements):
        if not isinstance(st, Statement):
            raise ExecutionError(f"ill-typed program: {short_repr(st)} is not a Statement", index)
        primitive = primitives.get(st.primitive) if isinstance(st.primitive, str) else None
        if primitive is None:
            raise ExecutionError(f"unknown primitive {short_repr(st.primitive)}", index)
        args = st.args
        if not isinstance(args, tuple) or len(args) != len(primitive.arg_types):
            raise ExecutionError(
                f"ill-typed program: {primitive.text} takes {len(primitive.arg_types)} arguments, "
                f"got {short_repr(args)}",
                index,
            )
        for position, (arg, want) in enumerate(zip(args, primitive.arg_types)):
            if type(arg) is not int or not 0 <= arg < len(types):
                raise ExecutionError(
                    f"ill-typed program: argument {position} of {primitive.text} is {short_repr(arg)}, "
                    f"not an earlier variable (0..{len(types) - 1})",
                    index,
                )
            if types[arg] is not want:
                raise ExecutionError(
                    f"ill-typed program: argument {position} of {primitive.text} has type "
                    f"{types[arg].value}, it needs {want.value}",
                    index,
                )
        types.append(primitive.return_type)
        table.append(primitive)
    return tuple(table)


def _compile(program: Program, primitives: Mapping[str, Primitive]) -> tuple:
    """(function, args, creates_values, text) per statement, cached per table; the
    program is type-checked once, when it is compiled."""
    key = (id(primitives), program)
    try:
        cached = _COMPILED.get(key)
    except TypeError:  # unhashable parts: not a program this interpreter can run
        raise ExecutionError(f"ill-typed program: {short_repr(program)}") from None
    if cached is not None:
        return cached[1]
    compiled = tuple(
        (p.function, st.args, p.creates_values, p.text)
        for st, p in zip(program.statements, _check_types(program, primitives))
    )
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[key] = (primitives, compiled)
    return compiled


def _execute(program: Program, inputs: Sequence[object], primitives: Mapping[str, Primitive], bounds: Bounds) -> list[Value]:
    compiled = _compile(program, primitives)
    if len(compiled) > bounds.max_statements:
        raise ExecutionError(f"more than {bounds.max_statements} statements")
    env = check_inputs(program.input_types, inputs, bounds)
    lo, hi, longest = bounds.min_value, bounds.max_value, bounds.max_list_length
    for index, (function, args, creates, text) in enumerate(compiled):
        try:
            value = function(env[args[0]]) if len(args) == 1 else function(env[args[0]], env[args[1]])
        except (IndexError, ValueError):
            raise ExecutionError(f"{text}: invalid argument", index) from None
        # Only value-creating primitives (Primitive.creates_values) can leave the bounds;
        # the rest select or reorder existing values and make no list longer.
        if creates:
            if type(value) is int:
                if not lo <= value <= hi:
                    raise ExecutionError("value out of range", index)
            elif len(value) > longest:
                raise ExecutionError("list too long", index)
            elif value and (min(value) < lo or max(value) > hi):
                raise ExecutionError("value out of range", index)
        env.append(value)
    return env


def run(program: Program, inputs: Sequence[object], primitives: Mapping[str, Primitive], *, bounds: Bounds = DEFAULT_BOUNDS) -> Value:
    """The output of ``program`` on ``inputs``: its last variable.

    Args:
        program: the program.
        inputs: one value per input, ints or lists of ints.
        primitives: the domain's primitive table.
        bounds: limits on values, list lengths and statements.

    Raises:
        ExecutionError: the program is invalid on these inputs (the only error).
    """
    return _execute(program, inputs, primitives, bounds)[-1]


def trace(program: Program, inputs: Sequence[object], primitives: Mapping[str, Primitive], *, bounds: Bounds = DEFAULT_BOUNDS) -> list[Value]:
    """All variables' values (inputs first), for execution-aware models."""
    return _execute(program, inputs, primitives, bounds)
