"""The interpreter is exact (pinned edge cases) and bounded (only the typed error)."""

import random

import pytest
from worldmodel.datasets import Bounds, ExecutionError, InputConfig, Type, deepcoder
from worldmodel.datasets._domain import Domain

CASES = [
    ("HEAD", [[4, 5]], 4),
    ("LAST", [[4, 5]], 5),
    ("MINIMUM", [[4, -5]], -5),
    ("MAXIMUM", [[4, -5]], 4),
    ("REVERSE", [[1, 2, 3]], [3, 2, 1]),
    ("SORT", [[3, -1, 2]], [-1, 2, 3]),
    ("SUM", [[]], 0),
    ("SUM", [[1, 2, -4]], -1),
    ("MAP (/2)", [[-3, 3]], [-2, 1]),
    ("MAP (/3)", [[-1, 7]], [-1, 2]),
    ("MAP (/4)", [[-5, 9]], [-2, 2]),
    ("MAP (*(-1))", [[2, -3]], [-2, 3]),
    ("MAP (**2)", [[-3]], [9]),
    ("FILTER (%2==1)", [[-3, -2, 1, 4]], [-3, 1]),
    ("FILTER (%2==0)", [[-3, -2, 1, 4]], [-2, 4]),
    ("COUNT (<0)", [[-3, 0, 2]], 1),
    ("COUNT (>0)", [[-3, 0, 2]], 1),
    ("SCANL1 (-)", [[1, 0, 6]], [1, 1, -5]),
    ("SCANL1 (max)", [[1, 3, 2]], [1, 3, 3]),
    ("SCANL1 (*)", [[]], []),
]
BINARY = [
    ("TAKE", [2, [1, 2, 3]], [1, 2]),
    ("TAKE", [-1, [1, 2, 3]], [1, 2]),
    ("TAKE", [9, [1, 2]], [1, 2]),
    ("DROP", [2, [1, 2, 3]], [3]),
    ("DROP", [-1, [1, 2, 3]], [3]),
    ("ACCESS", [1, [7, 8]], 8),
    ("ZIPWITH (-)", [[5, 6, 7], [1, 1]], [4, 5]),
    ("ZIPWITH (min)", [[5, 0], [1, 9]], [1, 0]),
]


@pytest.mark.parametrize("op, inputs, expected", CASES)
def test_unary_semantics(op, inputs, expected):
    assert deepcoder.run(deepcoder.parse(f"a <- [int] | b <- {op} a"), inputs) == expected


@pytest.mark.parametrize("op, inputs, expected", BINARY)
def test_binary_semantics(op, inputs, expected):
    first = "int" if isinstance(inputs[0], int) else "[int]"
    assert deepcoder.run(deepcoder.parse(f"a <- {first} | b <- [int] | c <- {op} a b"), inputs) == expected


@pytest.mark.parametrize(
    "program, inputs, reason",
    [
        ("a <- [int] | b <- HEAD a", [[]], "invalid argument"),
        ("a <- [int] | b <- LAST a", [[]], "invalid argument"),
        ("a <- [int] | b <- MAXIMUM a", [[]], "invalid argument"),
        ("a <- int | b <- [int] | c <- ACCESS a b", [2, [1, 2]], "invalid argument"),
        ("a <- int | b <- [int] | c <- ACCESS a b", [-1, [1, 2]], "invalid argument"),
        ("a <- [int] | b <- MAP (**2) a", [[100]], "value out of range"),
        ("a <- [int] | b <- SUM a", [[200, 100]], "value out of range"),
        ("a <- [int] | b <- SORT a", [[300]], "value out of range"),
        ("a <- [int] | b <- SORT a", [list(range(21))], "list too long"),
        ("a <- [int] | b <- SORT a", [[True]], "not of type"),
        ("a <- [int] | b <- SORT a", [5], "not of type"),
        ("a <- [int] | b <- SORT a", [[1], [2]], "expected 1 inputs"),
    ],
)
def test_invalid_runs_raise_only_the_typed_error(program, inputs, reason):
    with pytest.raises(ExecutionError, match=reason):
        deepcoder.run(deepcoder.parse(program), inputs)


def test_bounds_are_configurable():
    narrow = Domain("narrow", deepcoder.primitives, bounds=Bounds(min_value=-10, max_value=10, max_list_length=3))
    program = deepcoder.parse("a <- [int] | b <- MAP (*4) a")
    assert narrow.run(program, [[2]]) == [8]
    with pytest.raises(ExecutionError, match="value out of range"):
        narrow.run(program, [[3]])
    with pytest.raises(ExecutionError, match="list too long"):
        narrow.run(program, [[1, 1, 1, 1]])
    with pytest.raises(ValueError, match="min_value"):
        Bounds(min_value=1, max_value=0)


def test_step_bound():
    bounds = Bounds(max_statements=3)
    program = deepcoder.parse("a <- [int]" + " | x <- SORT a".replace("x", "b") + "".join(
        f" | {chr(ord('c') + i)} <- SORT {chr(ord('b') + i)}" for i in range(3)
    ))
    with pytest.raises(ExecutionError, match="more than 3 statements"):
        Domain("short", deepcoder.primitives, bounds=bounds).run(program, [[1]])


def _adversarial_value(type_: Type, rng: random.Random, bounds: Bounds):
    """Mostly valid inputs at the edges of the bounds, sometimes invalid ones."""
    edge = [bounds.min_value, bounds.max_value, 0, -1, 1]
    roll = rng.random()
    if type_ is Type.INT:
        if roll < 0.02:
            return rng.choice([bounds.max_value + 1, "3", None, 2.5, True])
        return rng.choice(edge) if roll < 0.3 else rng.randint(-20, 20)
    if roll < 0.02:
        return rng.choice([[1.5], ["a"], 7, [bounds.min_value - 1], list(range(bounds.max_list_length + 1))])
    length = rng.randint(0, bounds.max_list_length)
    if roll < 0.4:
        return [rng.choice(edge) for _ in range(length)]
    return [rng.randint(bounds.min_value, bounds.max_value) for _ in range(length)]


def test_fuzz_100k_programs_only_typed_error_and_values_within_bounds():
    """100 000 random (program, input) pairs: every run returns in-bounds values for
    every variable or raises ExecutionError; nothing else escapes."""
    rng = random.Random(1234)
    wide = Domain("wide", deepcoder.primitives, inputs=InputConfig(min_value=-256, max_value=255, max_list_length=20))
    bounds = deepcoder.bounds
    outcomes = {"ok": 0, "error": 0}
    programs = [wide.random_program(rng, rng.randint(0, 8)) for _ in range(2000)]
    for i in range(100_000):
        program = programs[i % len(programs)]
        inputs = [_adversarial_value(t, rng, bounds) for t in program.input_types]
        try:
            values = deepcoder.trace(program, inputs)
        except ExecutionError:
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        for value in values:
            if isinstance(value, int):
                assert bounds.min_value <= value <= bounds.max_value
            else:
                assert len(value) <= bounds.max_list_length
                assert all(type(v) is int and bounds.min_value <= v <= bounds.max_value for v in value)
    # Both outcomes are common, so the fuzz explores valid and invalid runs alike.
    assert outcomes["ok"] > 20_000 and outcomes["error"] > 20_000, outcomes
