"""Edit paths: every target is a valid edit that brings the program nearer to φ."""

import random

import pytest
from worldmodel.datasets import (
    DeleteStatement,
    Example,
    InsertStatement,
    Program,
    Statement,
    Task,
    deepcoder,
)

from worldmodel._edit_paths import (
    EditPathConfig,
    construction_steps,
    edit_steps,
    empty_program,
    repair_steps,
)


def _task(program: Program, seed: int) -> Task | None:
    examples = deepcoder.random_examples(program, 3, random.Random(seed))
    return None if examples is None else Task(f"t{seed}", tuple(examples), program.input_types, program)


def _random_tasks(count: int, lengths=(1, 2, 3, 4, 5)):
    rng = random.Random(1234)
    tasks = []
    while len(tasks) < count:
        task = _task(deepcoder.random_program(rng, rng.choice(lengths)), len(tasks))
        if task is not None:
            tasks.append(task)
    return tasks


def test_construction_targets_on_a_known_program():
    phi = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE a | d <- ZIPWITH (+) b c")
    task = Task("t", (Example(([1, 2],), [3, 3]),), phi.input_types, phi)
    steps = construction_steps(task, phi)
    sort, reverse = Statement("SORT", (0,)), Statement("REVERSE", (0,))
    assert [s.program for s in steps] == [Program(phi.input_types, phi.statements[:t]) for t in range(3)]
    assert set(steps[0].targets) == {InsertStatement(0, sort), InsertStatement(0, reverse)}
    # REVERSE a may go before or after SORT a; ZIPWITH still lacks its second argument.
    assert set(steps[1].targets) == {InsertStatement(0, reverse), InsertStatement(1, reverse)}
    # The output statement only goes at the end.
    assert steps[2].targets == (InsertStatement(2, phi.statements[2]),)
    assert [s.distance for s in steps] == [3, 2, 1]


def test_construction_targets_are_valid_and_include_the_next_statement():
    for task in _random_tasks(20):
        phi = task.program
        steps = construction_steps(task, phi)
        assert steps[0].program == empty_program(task)
        for t, step in enumerate(steps):
            assert InsertStatement(t, phi.statements[t]) in step.targets
            valid = {e for e, _ in deepcoder.neighbours(step.program, max_length=len(phi))}
            assert set(step.targets) <= valid
            for edit in step.targets:
                grown = deepcoder.apply_edit(step.program, edit)
                # The inserted statement is one of φ's missing ones, unchanged.
                assert edit.statement in phi.statements[t:]
                assert len(grown) == t + 1


def test_repair_targets_walk_back_to_phi():
    rng = random.Random(7)
    for task in _random_tasks(15, lengths=(1, 2, 3, 4)):
        phi = task.program
        for k in (1, 2, 3):
            steps = repair_steps(task, phi, deepcoder, rng, corruptions=k)
            assert len(steps) in range(1, k + 1)
            assert [s.distance for s in steps] == list(range(len(steps), 0, -1))
            for step in steps:
                assert step.targets and step.program != phi
            # Following any target from any state goes strictly nearer and ends at φ.
            distance = {s.program: s.distance for s in steps} | {phi: 0}
            program, moves = steps[0].program, 0
            while program != phi:
                for edit in steps[[s.program for s in steps].index(program)].targets:
                    assert distance[deepcoder.apply_edit(program, edit)] < distance[program]
                program = deepcoder.apply_edit(program, edit)
                moves += 1
            assert moves <= len(steps)


def test_repair_target_includes_the_inverse_of_the_corruption():
    phi = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
    task = Task("t", (Example(([1, 2],), [2, 1]),), phi.input_types, phi)
    (step,) = repair_steps(task, phi, deepcoder, random.Random(3), corruptions=1)
    # One edit away from φ: exactly the edits that land on φ, among them the inverse.
    landing = [e for e, new in deepcoder.neighbours(step.program, max_length=5) if new == phi]
    assert list(step.targets) == landing and landing


def test_edit_steps_combines_both_paths():
    (task,) = _random_tasks(1, lengths=(3,))
    steps = edit_steps(task, task.program, deepcoder, random.Random(0), config=EditPathConfig(repair_paths=2))
    kinds = [s.kind for s in steps]
    assert kinds[:3] == ["construct"] * 3 and set(kinds[3:]) == {"repair"}
    assert not any(isinstance(e, DeleteStatement) for s in steps[:3] for e in s.targets)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_length": 0}, "max_length"),
        ({"max_corruptions": -1}, "max_corruptions"),
        ({"repair_paths": -1}, "repair_paths"),
    ],
)
def test_bad_path_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EditPathConfig(**kwargs)


def test_program_longer_than_max_length_is_refused():
    (task,) = _random_tasks(1, lengths=(4,))
    with pytest.raises(ValueError, match="max_length"):
        edit_steps(task, task.program, deepcoder, random.Random(0), config=EditPathConfig(max_length=3))
