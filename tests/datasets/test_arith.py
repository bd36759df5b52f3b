"""The arith domain: floor conventions, bounded runs that raise only ExecutionError, the
shipped task file solved by enumeration, and `solve` on it with the shipped arith model."""

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import DOMAINS, ExecutionError, Type, arith, read_tasks
from worldmodel.inference import Budget, solve

from worldmodel.cli import main

TASKS = Path(__file__).parents[2] / "examples" / "arith.jsonl"


@pytest.mark.parametrize("text, inputs, output", [
    ("a <- int | b <- DIV (3) a", [-7], -3),  # floors, as Python's //
    ("a <- int | b <- MOD (10) a", [-7], 3),
    ("a <- int | b <- int | c <- SUB a b | d <- ABS c", [2, 9], 7),
    ("a <- int | b <- int | c <- int | d <- MAX a b | e <- MIN d c", [1, 5, 3], 3),
])
def test_conventions(text, inputs, output):
    assert arith.run(arith.parse(text), inputs) == output


def test_a_result_out_of_range_is_an_execution_error():
    with pytest.raises(ExecutionError, match="range"):
        arith.run(arith.parse("a <- int | b <- SQUARE a | c <- SQUARE b"), [20])


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6), length=st.integers(1, 6))
def test_random_programs_run_or_raise_only_execution_error(seed, length):
    rng = random.Random(seed)
    program = arith.random_program(rng, length)
    assert all(t is Type.INT for t in program.input_types) and arith.parse(arith.format(program)) == program
    try:
        value = arith.run(program, arith.random_inputs(program.input_types, rng))
    except ExecutionError:
        return
    assert isinstance(value, int) and arith.bounds.min_value <= value <= arith.bounds.max_value


def test_the_shipped_tasks_hold_and_enumeration_solves_each():
    tasks = read_tasks(TASKS, arith).tasks
    assert len(tasks) == 12 and DOMAINS["arith"] is arith
    for task in tasks:
        assert all(arith.run(task.program, list(e.inputs)) == e.output for e in task.examples)
        result = solve(task, None, "enumerate", budget=Budget(calls=100_000), domain=arith)
        assert result.verified and result.calls <= 100_000, task.id


def test_solve_reads_the_domain_the_file_names_and_refuses_a_model_of_another():
    runner = CliRunner()
    done = runner.invoke(main, ["solve", str(TASKS), "--method", "enumerate", "--calls", "1e5"])
    assert done.exit_code == 0 and "solved 12/12" in done.output, done.output
    deepcoder_model = str(Path(__file__).parents[2] / "worldmodel" / "checkpoints" / "deepcoder")
    refused = runner.invoke(main, ["solve", str(TASKS), "--model", deepcoder_model, "--calls", "1e3"])
    assert refused.exit_code == 2 and "'deepcoder'" in refused.output and "--method enumerate" in refused.output
    contradicted = runner.invoke(main, ["solve", str(TASKS), "--domain", "deepcoder"])
    assert contradicted.exit_code == 2 and "is of domain 'arith'" in contradicted.output, contradicted.output
    unknown = runner.invoke(main, ["solve", str(TASKS), "--domain", "nope"])
    assert unknown.exit_code == 2 and "unknown domain" in unknown.output


def test_the_shipped_arith_model_solves_more_of_the_example_file_than_enumeration_at_equal_calls():
    runner = CliRunner()
    counts = {}
    for method in ("guided", "enumerate"):
        done = runner.invoke(main, ["solve", str(TASKS), "--method", method, "--calls", "1e3"])
        assert done.exit_code == 0, done.output
        counts[method] = int(done.output.split("solved ")[-1].split("/")[0])
    assert counts["guided"] > counts["enumerate"], counts


def test_generate_train_and_solve_take_the_domain_from_the_data(tmp_path):
    runner = CliRunner()
    phi, run = tmp_path / "phi", tmp_path / "run"
    made = runner.invoke(main, ["generate", "--domain", "arith", "--count", "200", "--max-length", "2", "--seed", "1",
                                "--quiet", "--out", str(phi)])
    assert made.exit_code == 0, made.output
    contradicted = runner.invoke(main, ["train", "--data", str(phi), "--out", str(run), "--domain", "deepcoder"])
    assert contradicted.exit_code == 2 and "is of domain 'arith'" in contradicted.output
    trained = runner.invoke(main, ["train", "--data", str(phi), "--out", str(run), "--dim", "16", "--token-dim", "8",
                                   "--epochs", "1", "--batch-size", "32", "--valid-limit", "8", "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert json.loads((run / "model.json").read_text())["model"]["domain"] == "arith"
    solved = runner.invoke(main, ["solve", str(TASKS), "--model", str(run / "model"), "--calls", "1e4"])
    assert solved.exit_code == 0 and "solved " in solved.output, solved.output
