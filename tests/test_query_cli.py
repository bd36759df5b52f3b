"""The query command group and solve --ask: JSON answers, bad inputs, exit codes."""

import json

import pytest
from click.testing import CliRunner
from helpers_cli import tiny_model_files

from worldmodel.cli import main

TASK = '{"id": "s", "examples": [{"input": [[3, 2, 1]], "output": [1, 2, 3]}, {"input": [[9, 5]], "output": [5, 9]}]}'
SORT = "a <- [int] | b <- SORT a"
REVERSE = "a <- [int] | b <- REVERSE a"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tiny_model_files(tmp_path_factory.mktemp("model"))


def _run(args):
    return CliRunner().invoke(main, args)


def test_forward_prints_ranked_outputs_and_the_interpreters(files):
    result = _run(["query", "forward", "--program", SORT, "--input", "[[3, 1, 2]]", "--top-k", "3",
                   "--dynamics", files["dynamics"], "--jacobian"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert len(record["outputs"]) == 3 and record["interpreter"] == {"output": [1, 2, 3]}
    assert len(record["jacobian"]) == 1


def test_reverse_lists_proposals_and_only_confirmed_preimages(files):
    result = _run(["query", "reverse", "--program", SORT, "--output", "[1, 2, 3]", "--dynamics", files["dynamics"]])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert len(record["proposals"]) == 10
    assert record["preimages"] == [p["input"] for p in record["proposals"] if p["confirmed"]]


@pytest.mark.parametrize("verb, key", [("energy", "energy"), ("similarity", "similarity"), ("policy", "edits")])
def test_task_file_verbs_print_one_json_object_per_task(files, tmp_path, verb, key):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(TASK + "\n")
    result = _run(["query", verb, str(tasks), "--program", SORT, "--model", files["model"]])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["id"] == "s" and key in record and record["ood"] in (True, False)


def test_distinguish_proposes_inputs_the_candidates_answer_differently(files, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(TASK + "\n")
    result = _run(["query", "distinguish", str(tasks), "--programs", SORT, "--programs", REVERSE,
                   "--count", "2", "--model", files["model"]])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fit"] == [True, True] and len(record["questions"]) == 2
    for q in record["questions"]:
        assert q["outputs"][0] != q["outputs"][1] and q["outputs"][0] == sorted(q["input"][0])


def test_the_ood_warning_names_the_task(files, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"id": "odd", "examples": [{"input": [[250] * 20], "output": [250] * 20}] * 2}) + "\n")
    result = _run(["query", "energy", str(tasks), "--program", SORT, "--model", files["model"]])
    assert result.exit_code == 0, result.output
    assert "warning: task odd" in result.stderr and json.loads(result.stdout)["ood"] is True



def test_solve_warns_of_a_task_outside_the_training_distribution_before_its_result(files, tmp_path):
    tasks = tmp_path / "t.jsonl"
    odd = {"id": "odd", "examples": [{"input": [[250] * 20], "output": [250] * 20}] * 2}
    tasks.write_text(TASK + "\n" + json.dumps(odd) + "\n")
    result = _run(["solve", str(tasks), "--method", "guided", "--calls", "200", "--model", files["model"]])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("s: solved") and lines[1].startswith("warning: task odd:")
    assert lines[2].startswith("odd: ") and "warning: task s" not in result.output


BAD = [
    (["forward", "--program", "a <- [int] | b <- FOO a", "--input", "[[1]]"], "--program: line 2: unknown primitive"),
    (["forward", "--program", "a <- [int] | b <- TAKE a", "--input", "[[1]]"], "--program: line 2: TAKE takes 2 arguments"),
    (["forward", "--program", SORT, "--input", "[[1], 2]"], "--input: expected 1 inputs, got 2"),
    (["forward", "--program", SORT, "--input", "[[1, 999]]"], "--input: input [1, 999]: value out of range"),
    (["forward", "--program", SORT, "--input", "[[1, 2]"], "--input: not JSON"),
    (["forward", "--program", SORT, "--input", "3"], "--input: give the list of the program's arguments"),
    (["reverse", "--program", SORT, "--output", "7"], "--output: output 7 is not of type [int]"),
    (["reverse", "--program", "a <- [int] | b <- SUM a", "--output", "-1000"], "--output: output -1000: value out of range"),
    (["forward", "--program", SORT, "--input", "[[1]]", "--dynamics", "/nonexistent/d"], "--dynamics /nonexistent/d"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[m for _, m in BAD])
def test_bad_query_inputs_exit_2_naming_the_field(files, args, message):
    if "--dynamics" not in args:
        args = [*args, "--dynamics", files["dynamics"]]
    result = _run(["query", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_distinguish_needs_two_programs_and_programs_of_the_tasks_types(files, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(TASK + "\n")
    one = _run(["query", "distinguish", str(tasks), "--programs", SORT, "--model", files["model"]])
    assert one.exit_code == 2 and "at least two" in one.stderr
    other = _run(["query", "distinguish", str(tasks), "--programs", SORT, "--programs",
                  "a <- int | b <- [int] | c <- TAKE a b", "--model", files["model"]])
    assert other.exit_code == 1 and "--programs #2: takes" in other.stderr


def test_solve_ask_reports_questions_for_an_ambiguous_task(files, tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text('{"id": "amb", "examples": [{"input": [[2, 1]], "output": [1, 2]}]}\n')
    out = tmp_path / "r.jsonl"
    result = _run(["solve", str(tasks), "--method", "enumerate", "--calls", "1e4", "--ask", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert len(record["candidates"]) >= 2 and 1 <= len(record["questions"]) <= 2
    assert "ask: input" in result.stdout


def test_train_dynamics_only_writes_a_checkpoint_the_query_commands_read(tmp_path):
    from helpers_cli import _tasks
    from worldmodel.datasets import deepcoder, write_tasks

    for split, seed in (("train", 0), ("valid", 1)):
        (tmp_path / "data" / split).mkdir(parents=True)
        write_tasks(tmp_path / "data" / split / "a.jsonl", _tasks(8, seed), deepcoder)
    result = _run(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--dim", "8",
                   "--token-dim", "8", "--dynamics", "--only", "dynamics", "--dynamics-dim", "8", "--epochs", "1",
                   "--batch-size", "8", "--valid-limit", "0", "--dynamics-linear-stream", "--quiet"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run" / "model.json").read_text())
    assert record["dynamics"]["dim"] == 8 and record["dynamics"]["linear_stream"]
    query = _run(["query", "forward", "--program", SORT, "--input", "[[2, 1]]",
                  "--dynamics", str(tmp_path / "run" / "model")])
    assert query.exit_code == 0, query.output


@pytest.mark.parametrize("verb", ["energy", "similarity"])
def test_energy_and_similarity_refuse_generative_tasks(tmp_path, verb):
    tasks = tmp_path / "concepts.jsonl"
    tasks.write_text(json.dumps({"id": "digits", "domain": "regex", "kind": "generative",
                                 "observations": ["12", "7"], "heldout": ["3"]}) + "\n")
    result = _run(["query", verb, str(tasks), "--program", "a <- regex | b <- DIGIT a"])
    assert result.exit_code == 2, result.output
    assert f"query {verb}: domain 'regex' has generative tasks" in result.stderr
