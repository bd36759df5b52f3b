"""Task files: each malformed line is reported with its number and reason; the rest load."""

import json

import pytest
from worldmodel.datasets import (
    Example,
    Task,
    TaskFileError,
    Type,
    deepcoder,
    parse_task,
    read_tasks,
    task_to_json,
    write_tasks,
)

GOOD = {"id": "g", "examples": [{"input": [[1, 2], 1], "output": [2]}], "program": "a <- [int] | b <- int | c <- DROP b a"}

BAD_LINES = [
    ("{not json", "bad JSON"),
    ("[1, 2]", "a task is a JSON object"),
    (json.dumps({"id": "x"}), "'examples' must be a non-empty list"),
    (json.dumps({"id": "x", "examples": [{"input": [[1]]}]}), "must be an object with 'input' and 'output'"),
    (json.dumps({"id": "x", "examples": [{"input": [[1.5]], "output": 1}]}), "not an int or a list of ints"),
    (json.dumps({"id": "x", "examples": [{"input": [list(range(50))], "output": 1}]}), "list too long"),
    (json.dumps({"id": "x", "examples": [{"input": [[9999]], "output": 1}]}), "value out of range"),
    (json.dumps({"id": "x", "examples": [{"input": [[1]], "output": 1000}]}), "output: value out of range"),
    (json.dumps({"id": "x", "examples": [{"input": [[1]], "output": 1}, {"input": [2], "output": 1}]}), "earlier examples"),
    (json.dumps({"id": "x", "examples": [{"input": [[1]], "output": 1}], "program": "a <- [int] | b <- FOO a"}), "unknown primitive"),
    (json.dumps({"id": "x", "examples": [{"input": [[1]], "output": 1}], "program": "a <- int | b <- int"}), "other argument types"),
    (json.dumps({"id": True, "examples": [{"input": [[1]], "output": 1}]}), "'id' must be a string"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES)
def test_each_bad_line_is_reported_with_its_number(tmp_path, line, reason):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n" + json.dumps({**GOOD, "id": "h"}) + "\n")
    result = read_tasks(path, deepcoder)
    assert [t.id for t in result.tasks] == ["g", "h"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert isinstance(error, TaskFileError)
    assert error.line == 3
    assert reason in str(error) and f"{path}:3:" in str(error)


def test_write_then_read_round_trip(tmp_path):
    tasks = read_tasks(_write(tmp_path, [GOOD]), deepcoder).tasks
    path = tmp_path / "copy.jsonl"
    write_tasks(path, tasks, deepcoder)
    again = read_tasks(path, deepcoder).tasks
    assert again == tasks and isinstance(again[0], Task)
    assert again[0].program == deepcoder.parse(GOOD["program"])
    assert task_to_json(again[0], deepcoder) == path.read_text().strip()


def _write(tmp_path, records):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_line_names_its_domain_and_a_reader_of_another_reports_the_field(tmp_path):
    from worldmodel.datasets import DEFAULT_DOMAIN, arith, task_file_domain

    task = Task("t", (Example((3,), 4),), (Type.INT,), arith.parse("a <- int | b <- ADD (1) a"))
    line = task_to_json(task, arith)
    assert '"domain": "arith"' in line and '"domain"' not in task_to_json(parse_task(GOOD, deepcoder), deepcoder)
    path = tmp_path / "t.jsonl"
    path.write_text("{oops\n" + line + "\n")
    assert task_file_domain(path) == "arith"
    assert read_tasks(path, arith).tasks == [task]
    wrong = read_tasks(path, deepcoder).errors
    assert [e.line for e in wrong] == [1, 2] and "field 'domain'" in str(wrong[1]) and "--domain arith" in str(wrong[1])
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"id": "a", "examples": [{"input": [[1]], "output": 1}]}\n')
    assert task_file_domain(plain) == DEFAULT_DOMAIN == "deepcoder"
    (tmp_path / "empty.jsonl").write_text("\n")
    assert task_file_domain(tmp_path / "empty.jsonl") is None
