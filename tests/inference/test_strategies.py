"""Hypothesis strategies: what they draw is valid, respects bounds, and shrinks to
short, simple programs; the public names of the inference package."""

import pytest
import worldmodel.inference as inference
from hypothesis import find, given
from worldmodel.datasets import Bounds, Domain, Type, deepcoder
from worldmodel.inference import strategies as wst

SMALL = Bounds(min_value=-3, max_value=4, max_list_length=2)
SMALL_DOMAIN = Domain("small", deepcoder.primitives, bounds=SMALL)


def test_public_names():
    public = {name for name in vars(inference) if not name.startswith("_")}
    assert set(inference.__all__) == public
    assert len(inference.__all__) == len(set(inference.__all__))
    assert set(wst.__all__) == {"values", "inputs", "input_types", "programs", "specs"}


@given(wst.values(Type.LIST, bounds=SMALL))
def test_list_values_respect_bounds(xs):
    assert len(xs) <= 2 and all(-3 <= v <= 4 for v in xs)


@given(wst.values(Type.INT, bounds=SMALL, min_value=-10, max_value=2))
def test_int_values_respect_bounds_and_narrowing(v):
    assert -3 <= v <= 2


@given(wst.inputs((Type.INT, Type.LIST), domain=SMALL_DOMAIN))
def test_inputs_are_valid_for_the_interpreter(args):
    from worldmodel.datasets import check_inputs

    check_inputs((Type.INT, Type.LIST), args, SMALL)  # raises ExecutionError if not


@given(wst.programs(deepcoder, max_length=4))
def test_programs_are_well_typed(program):
    assert len(program) <= 4 and program.input_types in deepcoder.signatures
    assert deepcoder.parse(deepcoder.format(program)) == program  # the parser type-checks


@given(wst.programs(deepcoder, max_length=3, min_length=2, input_types=(Type.INT, Type.LIST)))
def test_program_length_and_input_types_are_respected(program):
    assert 2 <= len(program) <= 3 and program.input_types == (Type.INT, Type.LIST)


def test_programs_shrink_to_the_simplest():
    # Any program of >= 2 statements: the minimal one is the first signature, the
    # first primitive and the first variable, twice.
    found = find(wst.programs(deepcoder, max_length=5), lambda p: len(p) >= 2)
    assert deepcoder.format(found) == "a <- [int] | b <- HEAD a | c <- HEAD a"
    found = find(wst.programs(deepcoder, max_length=5), lambda p: any(s.primitive == "SORT" for s in p.statements))
    assert deepcoder.format(found) == "a <- [int] | b <- SORT a"


@given(wst.specs(deepcoder, max_length=3, num_examples=4))
def test_specs_are_explained_by_their_program(task):
    assert len(task.examples) == 4 and task.program is not None
    assert task.input_types == task.program.input_types
    for example in task.examples:
        assert deepcoder.run(task.program, example.inputs) == example.output
        for value, t in zip(example.inputs, task.input_types):
            assert Type.of(value) is t


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: wst.values(Type.INT, bounds=SMALL, min_value=10), "empty range"),
        (lambda: wst.programs(deepcoder, max_length=1, min_length=2), "min_length"),
        (lambda: wst.specs(deepcoder, max_length=2, num_examples=0), "num_examples"),
        (lambda: find(wst.programs(deepcoder, max_length=1, min_length=1, input_types=(Type.INT,)), bool), "no primitive"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
