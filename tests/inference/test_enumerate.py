"""Bottom-up enumeration: finds short programs, prunes soundly, counts calls exactly."""

import random

import pytest
from worldmodel.datasets import Domain, Example, ExecutionError, Program, Task, Type, deepcoder
from worldmodel.inference import (
    Budget,
    EnumerationConfig,
    Simulator,
    enumerate_program,
    solve,
    verify,
)
from worldmodel.inference._enumerate import _Enumerator, _key


def _tree_size(program: Program) -> int:
    """Statements of the program written as a tree (shared subexpressions repeated)."""
    n = len(program.input_types)
    sizes = [0] * n
    for st in program.statements:
        sizes.append(1 + sum(sizes[a] for a in st.args))
    return sizes[-1]


def _random_tasks(count: int, lengths, seed: int, k: int = 5) -> list[tuple[Task, Program]]:
    rng = random.Random(seed)
    tasks = [deepcoder.random_task(rng, lengths, examples=k, task_id=f"t{i}") for i in range(count)]
    return [(task, task.program) for task in tasks]


def _enumerate(task: Task, calls=100_000, seconds=None, **config) -> tuple:
    sim = Simulator(task, deepcoder, Budget(calls=calls, seconds=seconds))
    return enumerate_program(task, sim, config=EnumerationConfig(**config)), sim


def test_finds_every_random_program_of_length_up_to_two():
    for task, original in _random_tasks(30, (1, 2), seed=1):
        found, _ = _enumerate(task)
        assert found.stopped == "solved", deepcoder.format(original)
        assert verify(found.program, task, deepcoder)
        # Levels go by tree size, so the answer is never longer than the original's tree.
        assert len(found.program) <= _tree_size(original)


def test_extracted_programs_are_straight_line_without_dead_code():
    for task, _ in _random_tasks(15, (3,), seed=2):
        found, _ = _enumerate(task)
        if found.program is None:
            continue
        n = len(task.input_types)
        used = {a for st in found.program.statements for a in st.args}
        # Every statement but the last feeds a later one; arguments come before use.
        assert set(range(n, found.program.num_variables - 1)) <= used
        for j, st in enumerate(found.program.statements):
            assert all(a < n + j for a in st.args)


def _unreachable(inputs: list[tuple], types: tuple[Type, ...]) -> Task:
    # An output no bounded program can make, so the enumeration runs to its limit.
    return Task("none", tuple(Example(x, [10_000]) for x in inputs), types)


def test_every_kept_value_is_what_its_program_computes_and_values_are_distinct():
    task = _unreachable([([3, -1, 4], 2), ([], 0), ([5, 5, -9, 2], 3)], (Type.LIST, Type.INT))
    sim = Simulator(task, deepcoder, Budget(calls=None, seconds=None))
    enumerator = _Enumerator(task, sim, EnumerationConfig(max_size=2))
    assert enumerator.run().stopped == "max_size"
    assert len(set(enumerator.datas)) == len(enumerator.datas)
    for data, origin in zip(enumerator.datas, enumerator.origins):
        if isinstance(origin, int):
            continue
        program = enumerator.extract(origin)
        assert _key([deepcoder.run(program, list(e.inputs)) for e in task.examples]) == data


def test_no_program_is_missed():
    # Every valid program of tree size <= 2 computes a value the enumeration kept.
    types = (Type.LIST, Type.LIST)
    task = _unreachable([([3, -1, 4], [1, 2]), ([], [7]), ([5, 5, -9, 2], [0, -3, 8])], types)
    sim = Simulator(task, deepcoder, Budget(calls=None, seconds=None))
    enumerator = _Enumerator(task, sim, EnumerationConfig(max_size=2))
    enumerator.run()
    rng = random.Random(3)
    checked = 0
    for _ in range(400):
        program = deepcoder.random_program(rng, rng.choice((1, 2)), input_types=types)
        if _tree_size(program) > 2:
            continue
        try:
            data = _key([deepcoder.run(program, list(e.inputs)) for e in task.examples])
        except ExecutionError:
            continue
        assert data in enumerator.seen, deepcoder.format(program)
        checked += 1
    assert checked > 100


def test_calls_are_applications_times_examples_and_match_the_simulator():
    for task, _ in _random_tasks(10, (2, 3), seed=4, k=3):
        found, sim = _enumerate(task, calls=20_000)
        assert found.calls == found.applications * 3 == sim.calls
        if found.program is not None:
            # The same program through the Simulator costs statements × examples.
            fresh = Simulator(task, deepcoder, Budget(calls=None, seconds=None))
            assert fresh.solves(found.program) and fresh.calls == len(found.program) * 3


@pytest.mark.parametrize("calls", [0, 2, 7, 100, 1_000, 12_345])
def test_calls_budget_is_never_exceeded_and_is_used_up(calls):
    task = _unreachable([([3, -1, 4],), ([],), ([5, 5, -9, 2],)], (Type.LIST,))
    found, sim = _enumerate(task, calls=calls)
    assert found.stopped == "calls" and found.program is None
    assert calls - 3 < sim.calls <= calls


def test_enumeration_is_anytime_in_calls():
    # Solved at budget B exactly when the unlimited run solved it within B calls.
    for task, _ in _random_tasks(12, (2, 3), seed=5, k=3):
        full, _ = _enumerate(task, calls=50_000)
        for budget in (300, 3_000, 30_000):
            part, _ = _enumerate(task, calls=budget)
            solved_within = full.program is not None and full.calls <= budget
            assert (part.program is not None) == solved_within
            if solved_within:
                assert part.program == full.program and part.calls == full.calls


def test_seconds_budget_stops_the_search():
    task = _unreachable([([3, -1, 4],), ([],), ([5, 5, -9, 2],)], (Type.LIST,))
    found, _ = _enumerate(task, calls=None, seconds=0.05)
    assert found.stopped == "seconds"
    assert found.seconds < 2.0  # generous: the machine is shared


def test_finite_value_space_is_exhausted():
    tiny = Domain("tiny", {k: deepcoder.primitives[k] for k in ("REVERSE", "SORT")})
    task = _unreachable([([3, -1, 4],), ([2, 1],)], (Type.LIST,))
    found = enumerate_program(task, Simulator(task, tiny, Budget(calls=None, seconds=None)))
    assert found.stopped == "exhausted"
    assert found.values == 4  # a, REVERSE a, SORT a, REVERSE (SORT a)


def test_target_equal_to_an_input():
    last = Task(
        "last", (Example(([1], [2, 3]), [2, 3]), Example(([4], [5]), [5])), (Type.LIST, Type.LIST)
    )
    found, _ = _enumerate(last)
    assert found.program == Program(last.input_types, ()) and found.calls == 0
    # The first input is already a known value, yet a program that rebuilds it is found.
    first = Task(
        "first",
        (Example(([1, 2], [9]), [1, 2]), Example(([0, 5], [8, 1]), [0, 5])),
        (Type.LIST, Type.LIST),
    )
    found, _ = _enumerate(first)
    assert found.stopped == "solved" and verify(found.program, first, deepcoder)


def test_solve_enumerate_result():
    task, _ = _random_tasks(1, (2,), seed=6)[0]
    result = solve(task, budget=Budget(calls=100_000))
    assert result.verified and result.method == "enumerate" and result.task_id == task.id
    assert 0 < result.calls <= 100_000 and result.seconds >= 0


@pytest.mark.parametrize(
    "options, match",
    [
        ({"max_size": -1}, "max_size"),
        ({"check_every": 0}, "check_every"),
        ({"check_every": 3}, "power of two"),
    ],
)
def test_bad_config(options, match):
    with pytest.raises(ValueError, match=match):
        EnumerationConfig(**options)


# -- weighted enumeration (primitive costs) ---------------------------------------------


def _oracle_costs(program: Program, other: int) -> dict[str, int]:
    used = {st.primitive for st in program.statements}
    return {name: 1 if name in used else other for name in deepcoder.primitives}


def test_unit_costs_are_the_default_order():
    for task, _ in _random_tasks(10, (2, 3), seed=5):
        sim_a = Simulator(task, deepcoder, Budget(calls=20_000, seconds=None))
        sim_b = Simulator(task, deepcoder, Budget(calls=20_000, seconds=None))
        a = enumerate_program(task, sim_a)
        b = enumerate_program(task, sim_b, costs=dict.fromkeys(deepcoder.primitives, 1))
        assert (a.program, a.calls, a.applications, a.level_values) == (b.program, b.calls, b.applications, b.level_values)


def test_weighted_search_keeps_values_exact_and_finds_programs_sooner_with_good_costs():
    fewer = 0
    tasks = _random_tasks(12, (3,), seed=6)
    for task, original in tasks:
        plain, _ = _enumerate(task, calls=200_000)
        sim = Simulator(task, deepcoder, Budget(calls=200_000, seconds=None))
        weighted = enumerate_program(task, sim, costs=_oracle_costs(original, 4))
        assert weighted.stopped == "solved", deepcoder.format(original)
        assert verify(weighted.program, task, deepcoder)
        assert weighted.calls <= 200_000
        fewer += weighted.calls < plain.calls
    # Costs that favour the solution's primitives pay off on (nearly) every task.
    assert fewer >= len(tasks) - 1


def test_weighted_search_stays_complete_with_adversarial_costs():
    # The solution's primitives are the dearest: still found, only later.
    for task, original in _random_tasks(6, (1,), seed=7):
        used = {st.primitive for st in original.statements}
        costs = {name: 3 if name in used else 1 for name in deepcoder.primitives}
        sim = Simulator(task, deepcoder, Budget(calls=1_000_000, seconds=None))
        found = enumerate_program(task, sim, costs=costs)
        assert found.stopped == "solved" and verify(found.program, task, deepcoder)


def test_a_dear_unary_primitive_is_reached_when_the_cheap_ones_cannot_apply():
    # Only integer-taking binaries are cheap and there is no integer yet: levels 1 and 2
    # stay empty, and LAST (cost 3) still builds the answer at level 3.
    task = Task("last", (Example(([19, -29, -21],), -21), Example(([40, -3, 38],), 38)), (Type.LIST,))
    costs = dict.fromkeys(deepcoder.primitives, 3) | {"ACCESS": 1, "TAKE": 1}
    found = enumerate_program(task, Simulator(task, deepcoder, Budget(calls=10_000, seconds=None)), costs=costs)
    assert found.stopped == "solved" and deepcoder.format(found.program) == "a <- [int] | b <- LAST a"


@pytest.mark.parametrize(
    "costs, message",
    [
        ({}, "costs\\['HEAD'\\] must be an int >= 1, got None"),
        ({**dict.fromkeys(deepcoder.primitives, 1), "SORT": 0}, "costs\\['SORT'\\] must be an int >= 1, got 0"),
        ({**dict.fromkeys(deepcoder.primitives, 1), "SORT": 1.5}, "costs\\['SORT'\\] must be an int >= 1, got 1.5"),
    ],
)
def test_bad_costs_are_refused_with_the_primitive_named(costs, message):
    task, _ = _random_tasks(1, (1,), seed=8)[0]
    with pytest.raises(ValueError, match=message):
        enumerate_program(task, Simulator(task, deepcoder, Budget(calls=100)), costs=costs)


def _random_delays(seed: int, most: int):
    rng = random.Random(seed)
    return lambda values: [rng.randint(0, most) for _ in values]


def test_zero_delays_change_nothing():
    for task, _ in _random_tasks(8, (2, 3), seed=9):
        plain, _ = _enumerate(task, calls=20_000)
        sim = Simulator(task, deepcoder, Budget(calls=20_000, seconds=None))
        delayed = enumerate_program(task, sim, delays=lambda values: [0] * len(values))
        assert (plain.program, plain.calls, plain.level_values) == (delayed.program, delayed.calls, delayed.level_values)


def test_delayed_search_keeps_values_exact_and_stays_complete():
    # Random delays of up to 2 levels postpone values but lose none: every task plain
    # enumeration solves is still solved, with a verified program, given more calls.
    for i, (task, _) in enumerate(_random_tasks(10, (1, 2), seed=10)):
        plain, _ = _enumerate(task, calls=20_000)
        assert plain.stopped == "solved"
        sim = Simulator(task, deepcoder, Budget(calls=1_000_000, seconds=None))
        found = enumerate_program(task, sim, delays=_random_delays(i, 2))
        assert found.stopped == "solved" and verify(found.program, task, deepcoder)


def test_delays_that_favour_the_solution_find_it_sooner():
    fewer = 0
    tasks = _random_tasks(10, (3,), seed=11)
    for task, original in tasks:
        on_path = {
            _key(column)
            for column in zip(*(deepcoder.trace(original, list(e.inputs)) for e in task.examples))
        }
        plain, _ = _enumerate(task, calls=200_000)
        sim = Simulator(task, deepcoder, Budget(calls=200_000, seconds=None))
        found = enumerate_program(task, sim, delays=lambda values, on_path=on_path: [0 if v in on_path else 2 for v in values])
        assert found.stopped == "solved" and verify(found.program, task, deepcoder)
        fewer += found.calls < plain.calls
    assert fewer >= len(tasks) - 1


def test_negative_delays_are_refused():
    task = Task("none", (Example(([1, 2],), 777),), (Type.LIST,))  # no program of one statement makes 777
    with pytest.raises(ValueError, match="delays must be numbers >= 0, got -1"):
        enumerate_program(task, Simulator(task, deepcoder, Budget(calls=10_000)), delays=lambda v: [-1] * len(v))
