"""Hypothesis strategies for DSL values, inputs, programs and specs.

Import as ``from worldmodel.inference import strategies as wst``. Programs are
drawn as a length, then per statement a primitive index and argument indices, so
Hypothesis shrinks a failing program towards fewer statements, the first
primitives of the table and the first variables: short, simple counterexamples.

Example:
    >>> from hypothesis import given
    >>> from worldmodel.datasets import deepcoder
    >>> from worldmodel.inference import strategies as wst
    >>> @given(wst.programs(deepcoder, max_length=3))
    ... def test_parse_inverts_format(program):
    ...     assert deepcoder.parse(deepcoder.format(program)) == program
    >>> test_parse_inverts_format()
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import assume
from hypothesis import strategies as st
from worldmodel.datasets import (
    DEFAULT_BOUNDS,
    Bounds,
    Domain,
    Example,
    ExecutionError,
    Program,
    Statement,
    Task,
    Type,
)

__all__ = ["values", "inputs", "input_types", "programs", "specs"]


def _check_bounds_range(low: int, high: int, what: str) -> None:
    if low > high:
        raise ValueError(f"{what}: empty range {low}..{high}")


def values(
    type_: Type,
    *,
    bounds: Bounds = DEFAULT_BOUNDS,
    min_value: int | None = None,
    max_value: int | None = None,
    max_list_length: int | None = None,
) -> st.SearchStrategy:
    """Values of ``type_`` inside ``bounds`` (ints, or lists of ints).

    Args:
        type_: ``Type.INT`` or ``Type.LIST``.
        bounds: the domain's bounds (default ``DEFAULT_BOUNDS``).
        min_value, max_value: narrow the integer range (clipped to ``bounds``).
        max_list_length: narrow the list length (clipped to ``bounds``).

    Raises:
        ValueError: an empty range after clipping.

    Example:
        >>> from hypothesis import find
        >>> from worldmodel.datasets import Type
        >>> find(values(Type.LIST), lambda xs: len(xs) >= 2)  # shrinks to the simplest
        [0, 0]
    """
    low = bounds.min_value if min_value is None else max(min_value, bounds.min_value)
    high = bounds.max_value if max_value is None else min(max_value, bounds.max_value)
    _check_bounds_range(low, high, "values")
    ints = st.integers(low, high)
    if type_ is Type.INT:
        return ints
    longest = bounds.max_list_length if max_list_length is None else min(max_list_length, bounds.max_list_length)
    return st.lists(ints, max_size=longest)


def input_types(domain: Domain) -> st.SearchStrategy:
    """One of the domain's input signatures (shrinks to the first)."""
    return st.sampled_from(domain.signatures)


def inputs(types: Sequence[Type], *, domain: Domain, typical: bool = False) -> st.SearchStrategy:
    """Argument tuples of the given types inside ``domain.bounds``.

    Args:
        types: the argument types.
        domain: the DSL (its ``bounds``; its ``inputs`` config with ``typical``).
        typical: draw from the domain's input distribution ranges (small lists and
            ints, as in its data) instead of everything the bounds allow (default False).
    """
    parts = []
    for t in types:
        if typical:
            c = domain.inputs
            if t is Type.INT:
                parts.append(values(t, bounds=domain.bounds, min_value=c.min_int, max_value=c.max_int))
            else:
                parts.append(
                    st.lists(
                        values(Type.INT, bounds=domain.bounds, min_value=c.min_value, max_value=c.max_value),
                        min_size=c.min_list_length,
                        max_size=min(c.max_list_length, domain.bounds.max_list_length),
                    )
                )
        else:
            parts.append(values(t, bounds=domain.bounds))
    return st.tuples(*parts)


@st.composite
def _programs(draw, domain: Domain, max_length: int, types: Sequence[Type] | None, min_length: int) -> Program:
    arg_types = tuple(types) if types is not None else draw(input_types(domain))
    length = draw(st.integers(min_length, max_length))
    names = list(domain.primitives)
    variables = list(arg_types)
    body: list[Statement] = []
    for _ in range(length):
        # Indices into the whole table and all variables, so an index keeps its meaning
        # when the shrinker changes earlier choices; an inapplicable choice falls back
        # to the first applicable one.
        usable = [
            name for name in names if all(any(v is want for v in variables) for want in domain.primitives[name].arg_types)
        ]
        if not usable:
            raise ValueError(f"no primitive of {domain.name!r} applies to inputs {[t.value for t in arg_types]}")
        name = names[draw(st.integers(0, len(names) - 1))]
        if name not in usable:
            name = usable[0]
        args = []
        for want in domain.primitives[name].arg_types:
            index = draw(st.integers(0, len(variables) - 1))
            args.append(index if variables[index] is want else variables.index(want))
        body.append(Statement(name, tuple(args)))
        variables.append(domain.primitives[name].return_type)
    return Program(arg_types, tuple(body))


def programs(
    domain: Domain,
    *,
    max_length: int,
    input_types: Sequence[Type] | None = None,
    min_length: int = 0,
) -> st.SearchStrategy:
    """Well-typed programs of ``domain`` with ``min_length..max_length`` statements.

    Dead code is allowed (any well-typed straight-line program). Needs every input
    signature to make at least one primitive applicable (true of list inputs).

    Args:
        domain: the DSL.
        max_length: the most statements.
        input_types: fix the argument types (default: one of ``domain.signatures``).
        min_length: the fewest statements (default 0).

    Raises:
        ValueError: ``min_length`` > ``max_length`` or negative.
    """
    if not 0 <= min_length <= max_length:
        raise ValueError(f"need 0 <= min_length <= max_length, got {min_length}, {max_length}")
    return _programs(domain, max_length, input_types, min_length)


@st.composite
def _specs(draw, domain: Domain, max_length: int, num_examples: int, types: Sequence[Type] | None, min_length: int) -> Task:
    program = draw(programs(domain, max_length=max_length, input_types=types, min_length=min_length))
    examples: list[Example] = []
    # Some inputs make a program invalid (HEAD of []); try a few per example.
    for _ in range(4 * num_examples):
        args = draw(inputs(program.input_types, domain=domain, typical=True))
        try:
            output = domain.run(program, args)
        except ExecutionError:
            continue
        examples.append(Example(tuple(args), output))
        if len(examples) == num_examples:
            break
    assume(len(examples) == num_examples)
    return Task("spec", tuple(examples), program.input_types, program)


def specs(
    domain: Domain,
    *,
    max_length: int,
    num_examples: int = 3,
    input_types: Sequence[Type] | None = None,
    min_length: int = 1,
) -> st.SearchStrategy:
    """Tasks: a program and ``num_examples`` examples it explains (``task.program``).

    Inputs come from the domain's input distribution (``typical`` inputs); draws on
    which the program is invalid are skipped, and a program invalid on too many is
    rejected (``assume``).

    Args:
        domain: the DSL.
        max_length: the most statements of the program.
        num_examples: K, the examples per task (default 3).
        input_types: fix the argument types (default: one of ``domain.signatures``).
        min_length: the fewest statements (default 1).

    Example:
        >>> from hypothesis import given, settings
        >>> from worldmodel.datasets import deepcoder
        >>> @settings(max_examples=20)
        ... @given(specs(deepcoder, max_length=2))
        ... def test_program_explains_examples(task):
        ...     assert all(deepcoder.run(task.program, e.inputs) == e.output for e in task.examples)
        >>> test_program_explains_examples()
    """
    if num_examples < 1:
        raise ValueError(f"num_examples must be >= 1, got {num_examples}")
    if not 0 <= min_length <= max_length:
        raise ValueError(f"need 0 <= min_length <= max_length, got {min_length}, {max_length}")
    return _specs(domain, max_length, num_examples, input_types, min_length)
