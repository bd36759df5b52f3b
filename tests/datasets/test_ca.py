"""The ca domain: rows on a ring, each radius-1 example program is the Wolfram rule it
is named for, evolutions are run by the interpreter, and enumeration solves the
shipped task file."""

from pathlib import Path

import pytest
from worldmodel.datasets import ExecutionError, ca, evolution_examples, read_tasks
from worldmodel.inference import Budget, solve

TASKS = Path(__file__).parents[2] / "examples" / "ca.jsonl"


def test_neighbours_wrap_around_the_ring():
    row = [1, 0, 0, 0, 1, 1]
    assert ca.run(ca.parse("a <- [int] | b <- LEFT a"), [row]) == [1, 1, 0, 0, 0, 1]
    assert ca.run(ca.parse("a <- [int] | b <- RIGHT2 a"), [row]) == [0, 0, 1, 1, 1, 0]


def test_the_shipped_rules_are_the_wolfram_rules_they_are_named_for():
    tasks = {t.id: t for t in read_tasks(TASKS, ca).tasks}
    named = {name: int(name.split("-")[1]) for name in tasks if name.startswith("rule-")}
    assert len(tasks) == 13 and len(named) == 11
    for name, number in named.items():
        for k in range(8):  # neighbourhood (left, centre, right) = the bits of k
            row = [(k >> 2) & 1, (k >> 1) & 1, k & 1]
            assert ca.run(tasks[name].program, [row])[1] == (number >> k) & 1, (name, k)


def test_a_task_is_an_evolution_run_by_the_interpreter():
    for task in read_tasks(TASKS, ca).tasks:
        first = list(task.examples[0].inputs[0])
        assert task.examples == evolution_examples(task.program, first, len(task.examples))
        assert all(a.output == b.inputs[0] for a, b in zip(task.examples, task.examples[1:]))
    with pytest.raises(ExecutionError):
        evolution_examples(ca.parse("a <- [int] | b <- NOT a"), [0, 2, 1], 2)


def test_enumeration_solves_every_shipped_rule():
    for task in read_tasks(TASKS, ca).tasks:
        result = solve(task, None, "enumerate", budget=Budget(calls=1_000_000), domain=ca)
        assert result.verified, task.id


def test_the_shipped_ca_model_solves_more_of_the_example_file_than_enumeration_at_equal_calls():
    from click.testing import CliRunner

    from worldmodel.cli import main

    counts = {}
    for method in ("guided", "enumerate"):
        done = CliRunner().invoke(main, ["solve", str(TASKS), "--method", method, "--calls", "1e4"])
        assert done.exit_code == 0, done.output
        counts[method] = int(done.output.split("solved ")[-1].split("/")[0])
    assert counts["guided"] > counts["enumerate"], counts
