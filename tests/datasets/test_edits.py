"""Edits: each has an exact inverse, neighbours are valid and unique per edit."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from worldmodel.datasets import (
    DeleteStatement,
    EditError,
    InsertStatement,
    ReplaceArgument,
    ReplaceStatement,
    Statement,
    apply_edit,
    deepcoder,
    inverse,
)

P = deepcoder.primitives


def _random_edit(program, rng):
    edits = list(deepcoder.neighbours(program))
    return rng.choice(edits)


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 6))
def test_inverse_undoes_every_edit(seed, length):
    rng = random.Random(seed)
    program = deepcoder.random_program(rng, length)
    for _ in range(3):  # a short random walk, inverting each step
        edit, edited = _random_edit(program, rng)
        assert apply_edit(edited, inverse(edit), P) == program
        assert inverse(inverse(edit)) == edit
        program = edited


def test_neighbours_are_valid_and_distinct():
    rng = random.Random(7)
    for length in range(5):
        program = deepcoder.random_program(rng, length)
        seen = {}
        for edit, neighbour in deepcoder.neighbours(program):
            assert apply_edit(program, edit, P) == neighbour
            assert neighbour != program
            assert deepcoder.parse(deepcoder.format(neighbour)) == neighbour  # well typed
            assert edit not in seen
            seen[edit] = neighbour


def test_neighbour_count_of_a_one_input_program():
    # a <- [int] | b <- SORT a. 30 primitives take one list (7 first-order, 10 MAP,
    # 4 FILTER, 4 COUNT, 5 SCANL1); 5 ZIPWITH take two; none takes an int alone.
    # Inserts at 0, over {a}: 30 + 5 = 35; at 1, over {a, b}: 30*2 + 5*4 = 80.
    # Delete b: 1. Replace b (unused, so any type) over {a}: 35 - 1 (SORT itself).
    # ReplaceArgument: no other list variable before b.
    program = deepcoder.parse("a <- [int] | b <- SORT a")
    edits = [e for e, _ in deepcoder.neighbours(program)]
    kinds = {kind: sum(isinstance(e, kind) for e in edits) for kind in (InsertStatement, DeleteStatement, ReplaceStatement, ReplaceArgument)}
    assert kinds == {InsertStatement: 35 + 80, DeleteStatement: 1, ReplaceStatement: 34, ReplaceArgument: 0}
    assert len(list(deepcoder.neighbours(program, max_length=1))) == 1 + 34


def test_inserting_shifts_later_references():
    program = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
    inserted = apply_edit(program, InsertStatement(0, Statement("MAP(+1)", (0,))), P)
    assert deepcoder.format(inserted) == "a <- [int] | b <- MAP (+1) a | c <- SORT a | d <- REVERSE c"


@pytest.mark.parametrize(
    "edit, message",
    [
        (DeleteStatement(0, Statement("SORT", (0,))), "used by a later statement"),
        (DeleteStatement(1, Statement("SORT", (0,))), "is not"),
        (InsertStatement(5, Statement("SORT", (0,))), "outside"),
        (InsertStatement(0, Statement("SORT", (1,))), "not an earlier"),
        (ReplaceStatement(0, Statement("SORT", (0,)), Statement("SUM", (0,))), "used as"),
        (ReplaceStatement(0, Statement("SORT", (0,)), Statement("SORT", (0,))), "changes the primitive"),
        (ReplaceArgument(1, 0, 1, 1), "must change"),
        (ReplaceArgument(1, 0, 0, 1), "is not"),
    ],
)
def test_edits_that_do_not_apply_raise(edit, message):
    program = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
    with pytest.raises(EditError, match=message):
        apply_edit(program, edit, P)
