"""bench: the table, the figure, resuming after a kill, and the anytime shortcut."""

import json
import random

import pytest
from worldmodel.datasets import Task, deepcoder, write_tasks
from worldmodel.inference import METHODS, BenchConfig, Budget, SolveResult, run_bench, solve


def _task_file(path, count=8, seed=0):
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        task = deepcoder.random_task(rng, 1 + i % 3, examples=3, task_id=f"t{i}")
        tasks.append(Task(task.id, task.examples, task.input_types, None, {"length": 1 + i % 3}))
    write_tasks(path, tasks, deepcoder)
    return tasks


CONFIG = BenchConfig(budgets=(100, 1_000, 10_000), workers=1)


def test_bench_writes_table_and_figure(tmp_path):
    tasks = _task_file(tmp_path / "tasks.jsonl")
    report = run_bench(
        tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, command=["test"], progress=False
    )
    table = json.loads(report.table_path.read_text())
    assert (
        table["command"] == ["test"] and table["total"] == 8 and table["machine"]["cpu_count"] >= 1
    )
    assert [r["budget"] for r in table["rows"]] == [100, 1_000, 10_000]
    assert set(table["rows"][0]["by_length"]) == {"1", "2", "3"}
    assert report.figure_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table["calls_per_second"]["enumerate"] > 0
    # Anytime: solve counts cannot fall as the budget grows, and each derived result is
    # what a run at that budget gives.
    solved = [r["solved"] for r in report.rows]
    assert solved == sorted(solved) and solved[-1] > 0
    records = [json.loads(line) for line in report.results_path.read_text().splitlines()]
    assert len(records) == 8 * 3
    for record in records:
        task = next(t for t in tasks if t.id == record["task"])
        direct = solve(task, budget=Budget(calls=record["budget"], seconds=None))
        assert record["verified"] == direct.verified
        if direct.verified:
            assert record["calls"] == direct.calls


def test_bench_resumes_after_a_kill(tmp_path):
    _task_file(tmp_path / "tasks.jsonl")
    first = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    lines = first.results_path.read_text().splitlines(keepends=True)
    # A kill: the last runs are missing and the last line is cut in half (three tasks
    # of three budgets each are whole).
    first.results_path.write_text("".join(lines[:9]) + lines[9][: len(lines[9]) // 2])
    second = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    assert second.rows == first.rows
    assert second.reused == 9 and second.ran == 5
    third = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    assert third.ran == 0 and third.rows == first.rows
    assert all(json.loads(line) for line in third.results_path.read_text().splitlines())


def test_a_larger_budget_is_read_off_earlier_results_where_exact(tmp_path):
    _task_file(tmp_path / "tasks.jsonl")
    small = BenchConfig(budgets=(100, 1_000), workers=1)
    before = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=small, progress=False)
    after = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    # Only the tasks unsolved within 1000 calls are run again.
    assert after.ran == before.total - before.rows[-1]["solved"] and after.reused == 8 * 3 - after.ran
    fresh = run_bench(tmp_path / "tasks.jsonl", tmp_path / "fresh", config=CONFIG, progress=False)
    assert after.rows == fresh.rows


def test_bench_in_parallel_matches_one_process(tmp_path):
    _task_file(tmp_path / "tasks.jsonl")
    one = run_bench(tmp_path / "tasks.jsonl", tmp_path / "one", config=CONFIG, progress=False)
    two = BenchConfig(budgets=CONFIG.budgets, workers=2)
    assert (
        run_bench(tmp_path / "tasks.jsonl", tmp_path / "two", config=two, progress=False).rows
        == one.rows
    )


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    _task_file(tmp_path / "tasks.jsonl")
    run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    other = BenchConfig(budgets=CONFIG.budgets, workers=1, seconds=5.0)
    with pytest.raises(ValueError, match="seconds"):
        run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=other, progress=False)


def test_duplicate_task_ids_are_bad_lines(tmp_path):
    # Results are kept by id: the second line with an id is reported and skipped.
    line = '{"id": "same", "examples": [{"input": [[1]], "output": [1]}]}\n'
    (tmp_path / "tasks.jsonl").write_text(line * 2)
    report = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=CONFIG, progress=False)
    assert report.total == 1 and [e.line for e in report.errors] == [2]
    assert "duplicate id 'same': line 1 has it already" in str(report.errors[0])


def test_other_methods_run_once_per_budget(tmp_path, monkeypatch):
    _task_file(tmp_path / "tasks.jsonl", count=3)
    budgets_seen = []

    def counting(task, *, model, budget, domain, seed):
        budgets_seen.append(budget.calls)
        return SolveResult(task.id, "counting", None, False, budget.calls, 0.0)

    monkeypatch.setitem(METHODS, "counting", counting)
    config = BenchConfig(methods=("counting",), budgets=(10, 20), workers=1)
    report = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=config, progress=False)
    assert sorted(budgets_seen) == [10, 10, 10, 20, 20, 20]
    assert [r["solved"] for r in report.rows] == [0, 0]


def test_a_seconds_limit_is_never_read_off_a_larger_run(tmp_path):
    # Unsolvable in 0.01 s: the run at 1e7 calls stops at the clock well before
    # 1e6 calls, so the budget 1e6 is run on its own, not derived.
    (tmp_path / "tasks.jsonl").write_text(
        '{"id": "hard", "examples": [{"input": [[1, 2]], "output": [200, -200]}]}\n'
    )
    config = BenchConfig(budgets=(1_000_000, 10_000_000), seconds=0.01, workers=1)
    report = run_bench(tmp_path / "tasks.jsonl", tmp_path / "out", config=config, progress=False)
    records = [json.loads(line) for line in report.results_path.read_text().splitlines()]
    assert [(r["budget"], r["derived"], r["stopped_by_seconds"]) for r in records] == [
        (1_000_000, False, True),
        (10_000_000, False, True),
    ]
    assert [r["stopped_by_seconds"] for r in report.rows] == [1, 1]


@pytest.mark.parametrize(
    "options, match",
    [
        ({"methods": ("nope",)}, "valid choices"),
        ({"budgets": ()}, "budgets"),
        ({"budgets": (0,)}, "budgets"),
        ({"seconds": 0}, "seconds"),
        ({"workers": 0}, "workers"),
        ({"domain": "nope"}, "domain"),
    ],
)
def test_bad_config(options, match):
    with pytest.raises(ValueError, match=match):
        BenchConfig(**options)
