"""Edit operators Δφ on straight-line programs, each with an exact inverse.

Variables are referred to by index, so inserting or deleting a statement shifts the
references of the statements after it; the edits do that bookkeeping, and refuse
edits that would leave a dangling reference or a type error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ._errors import EditError
from ._program import Primitive, Program, Statement, Type

__all__ = [
    "InsertStatement",
    "DeleteStatement",
    "ReplaceStatement",
    "ReplaceArgument",
    "Edit",
    "apply_edit",
    "inverse",
    "neighbours",
    "variable_types",
    "well_typed_statements",
]


@dataclass(frozen=True)
class InsertStatement:
    """Insert ``statement`` so that it becomes statement number ``index``."""

    index: int
    statement: Statement


@dataclass(frozen=True)
class DeleteStatement:
    """Delete statement ``index``, which must equal ``statement`` (kept for the inverse)."""

    index: int
    statement: Statement


@dataclass(frozen=True)
class ReplaceStatement:
    """Replace statement ``index`` (``old``) by ``new`` with another primitive."""

    index: int
    old: Statement
    new: Statement


@dataclass(frozen=True)
class ReplaceArgument:
    """Point argument ``position`` of statement ``index`` from variable ``old`` to ``new``."""

    index: int
    position: int
    old: int
    new: int


Edit = InsertStatement | DeleteStatement | ReplaceStatement | ReplaceArgument


def inverse(edit: Edit) -> Edit:
    """The edit that undoes ``edit``: ``apply_edit(apply_edit(p, e), inverse(e)) == p``.

    Example:
        >>> from worldmodel.datasets import Statement
        >>> inverse(InsertStatement(0, Statement("SORT", (0,))))
        DeleteStatement(index=0, statement=Statement(primitive='SORT', args=(0,)))
    """
    if isinstance(edit, InsertStatement):
        return DeleteStatement(edit.index, edit.statement)
    if isinstance(edit, DeleteStatement):
        return InsertStatement(edit.index, edit.statement)
    if isinstance(edit, ReplaceStatement):
        return ReplaceStatement(edit.index, edit.new, edit.old)
    if isinstance(edit, ReplaceArgument):
        return ReplaceArgument(edit.index, edit.position, edit.new, edit.old)
    raise TypeError(f"not an edit: {edit!r}")


def variable_types(program: Program, primitives: Mapping[str, Primitive]) -> list[Type]:
    """The type of every variable of ``program``, inputs first."""
    types = list(program.input_types)
    types.extend(primitives[st.primitive].return_type for st in program.statements)
    return types


def _shift(statement: Statement, at: int, by: int) -> Statement:
    return Statement(statement.primitive, tuple(a + by if a >= at else a for a in statement.args))


def _check_statement(statement: Statement, types: list[Type], primitives: Mapping[str, Primitive]) -> None:
    primitive = primitives.get(statement.primitive)
    if primitive is None:
        raise EditError(f"unknown primitive {statement.primitive!r}")
    if len(statement.args) != len(primitive.arg_types):
        raise EditError(f"{primitive.text} takes {len(primitive.arg_types)} arguments")
    for arg, want in zip(statement.args, primitive.arg_types):
        if not 0 <= arg < len(types) or types[arg] is not want:
            raise EditError(f"argument {arg} of {primitive.text} is not an earlier {want.value} variable")


def _uses(program: Program, variable: int) -> list[tuple[int, int]]:
    n = len(program.input_types)
    return [
        (j, pos)
        for j, st in enumerate(program.statements)
        if n + j > variable
        for pos, a in enumerate(st.args)
        if a == variable
    ]


def apply_edit(program: Program, edit: Edit, primitives: Mapping[str, Primitive]) -> Program:
    """Apply one edit; the result is always a well-typed program.

    Raises:
        EditError: the edit does not apply to ``program``.
    """
    n = len(program.input_types)
    body = list(program.statements)
    types = variable_types(program, primitives)
    if isinstance(edit, InsertStatement):
        if not 0 <= edit.index <= len(body):
            raise EditError(f"insert index {edit.index} outside 0..{len(body)}")
        _check_statement(edit.statement, types[: n + edit.index], primitives)
        at = n + edit.index
        body = body[: edit.index] + [edit.statement] + [_shift(st, at, 1) for st in body[edit.index :]]
    elif isinstance(edit, DeleteStatement):
        if not 0 <= edit.index < len(body) or body[edit.index] != edit.statement:
            raise EditError(f"statement {edit.index} is not {edit.statement}")
        at = n + edit.index
        if _uses(program, at):
            raise EditError(f"statement {edit.index} is used by a later statement")
        body = body[: edit.index] + [_shift(st, at + 1, -1) for st in body[edit.index + 1 :]]
    elif isinstance(edit, ReplaceStatement):
        if not 0 <= edit.index < len(body) or body[edit.index] != edit.old:
            raise EditError(f"statement {edit.index} is not {edit.old}")
        if edit.new.primitive == edit.old.primitive:
            raise EditError("ReplaceStatement changes the primitive; use ReplaceArgument for arguments")
        _check_statement(edit.new, types[: n + edit.index], primitives)
        new_type = primitives[edit.new.primitive].return_type
        if new_type is not types[n + edit.index] and _uses(program, n + edit.index):
            raise EditError(f"statement {edit.index} is used as {types[n + edit.index].value}")
        body[edit.index] = edit.new
    elif isinstance(edit, ReplaceArgument):
        if not 0 <= edit.index < len(body):
            raise EditError(f"statement index {edit.index} outside 0..{len(body) - 1}")
        st = body[edit.index]
        if not 0 <= edit.position < len(st.args) or st.args[edit.position] != edit.old:
            raise EditError(f"argument {edit.position} of statement {edit.index} is not {edit.old}")
        if edit.new == edit.old:
            raise EditError("ReplaceArgument must change the argument")
        args = list(st.args)
        args[edit.position] = edit.new
        new = Statement(st.primitive, tuple(args))
        _check_statement(new, types[: n + edit.index], primitives)
        body[edit.index] = new
    else:
        raise TypeError(f"not an edit: {edit!r}")
    return Program(program.input_types, tuple(body))


# Values hold the primitive table itself, so its id cannot be reused while cached.
_STATEMENTS: dict[tuple[int, tuple[Type, ...]], tuple[Mapping[str, Primitive], tuple[Statement, ...]]] = {}


def well_typed_statements(types: Sequence[Type], primitives: Mapping[str, Primitive]) -> tuple[Statement, ...]:
    """Every well-typed statement over variables of these types, in primitive-table then
    argument order: the one place the program space's next statements are listed (edits,
    search and exact posteriors all ask here). Cached: search asks for the same variable
    types over and over.

    Example:
        >>> from worldmodel.datasets import Type, deepcoder
        >>> statements = well_typed_statements([Type.LIST, Type.INT], deepcoder.primitives)
        >>> statements[0], len(statements) == len(deepcoder.primitives)
        (Statement(primitive='HEAD', args=(0,)), True)
    """
    key = (id(primitives), tuple(types))
    cached = _STATEMENTS.get(key)
    if cached is not None:
        return cached[1]
    by_type = {t: [i for i, u in enumerate(types) if u is t] for t in Type}
    built = []
    for primitive in primitives.values():
        choices: list[tuple[int, ...]] = [()]
        for want in primitive.arg_types:
            choices = [c + (v,) for c in choices for v in by_type[want]]
        built.extend(Statement(primitive.name, args) for args in choices)
    statements = tuple(built)
    if len(_STATEMENTS) > 4096:
        _STATEMENTS.clear()
    _STATEMENTS[key] = (primitives, statements)
    return statements


def neighbours(
    program: Program, primitives: Mapping[str, Primitive], *, max_length: int | None = None
) -> Iterator[tuple[Edit, Program]]:
    """Every valid one-edit neighbour of ``program``, as ``(edit, new_program)``.

    Each neighbour is produced by exactly one edit kind: ``ReplaceStatement`` always
    changes the primitive, ``ReplaceArgument`` changes one argument.

    Args:
        max_length: no insertion beyond this many statements (default: unbounded).
    """
    n = len(program.input_types)
    types = variable_types(program, primitives)
    body = program.statements
    input_types = program.input_types
    if max_length is None or len(body) < max_length:
        for index in range(len(body) + 1):
            # Every statement inserted here shifts the same tail: build it once.
            head = body[:index]
            tail = tuple(_shift(st, n + index, 1) for st in body[index:])
            for statement in well_typed_statements(types[: n + index], primitives):
                yield InsertStatement(index, statement), Program(input_types, head + (statement,) + tail)
    for index, st in enumerate(body):
        used = bool(_uses(program, n + index))
        if not used:
            tail = tuple(_shift(later, n + index + 1, -1) for later in body[index + 1 :])
            yield DeleteStatement(index, st), Program(input_types, body[:index] + tail)
        head, tail = body[:index], body[index + 1 :]
        for statement in well_typed_statements(types[: n + index], primitives):
            if statement.primitive == st.primitive:
                continue
            if used and primitives[statement.primitive].return_type is not types[n + index]:
                continue
            yield ReplaceStatement(index, st, statement), Program(input_types, head + (statement,) + tail)
        primitive = primitives[st.primitive]
        for position, (old, want) in enumerate(zip(st.args, primitive.arg_types)):
            for new in range(n + index):
                if new != old and types[new] is want:
                    args = st.args[:position] + (new,) + st.args[position + 1 :]
                    edit = ReplaceArgument(index, position, old, new)
                    yield edit, Program(input_types, head + (Statement(st.primitive, args),) + tail)
