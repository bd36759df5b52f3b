"""solve: the registry, argument checks, and verification that never trusts the search."""

import pytest
from worldmodel.datasets import Example, Task, Type, deepcoder
from worldmodel.inference import METHODS, Budget, BudgetExhausted, SolveResult, solve

TASK = Task(
    "sorted", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, -1],), [-1, 5])), (Type.LIST,)
)


def test_unknown_method_lists_the_valid_choices():
    with pytest.raises(ValueError, match="valid choices: .*enumerate"):
        solve(TASK, method="telepathy")


def test_budget_must_be_a_budget():
    with pytest.raises(TypeError, match="Budget"):
        solve(TASK, budget=1000)


def test_a_wrong_program_is_never_verified(monkeypatch):
    wrong = deepcoder.parse("a <- [int] | b <- REVERSE a")

    def liar(task, *, model, budget, domain, seed):
        return SolveResult(task.id, "liar", wrong, True, 1, 0.0)

    monkeypatch.setitem(METHODS, "liar", liar)
    result = solve(TASK, method="liar")
    assert result.program == wrong and result.verified is False and result.method == "liar"


def test_a_right_program_from_any_method_is_verified(monkeypatch):
    right = deepcoder.parse("a <- [int] | b <- SORT a")

    def modest(task, *, model, budget, domain, seed):
        return SolveResult(task.id, "modest", right, False, 2, 0.0)

    monkeypatch.setitem(METHODS, "modest", modest)
    assert solve(TASK, method="modest").verified is True


def test_budget_exhausted_escaping_a_method_gives_an_unsolved_result(monkeypatch):
    def spender(task, *, model, budget, domain, seed):
        raise BudgetExhausted(1003)

    monkeypatch.setitem(METHODS, "spender", spender)
    result = solve(TASK, method="spender", budget=Budget(calls=1000))
    assert result.program is None and result.verified is False and result.calls == 1003


def test_arguments_reach_the_method(monkeypatch):
    seen = {}

    def spy(task, *, model, budget, domain, seed):
        seen.update(model=model, budget=budget, domain=domain, seed=seed)
        return SolveResult(task.id, "spy", None, False, 0, 0.0)

    monkeypatch.setitem(METHODS, "spy", spy)
    budget = Budget(calls=5, seconds=1.0)
    solve(TASK, "MODEL", "spy", budget=budget, seed=7)
    assert seen == {"model": "MODEL", "budget": budget, "domain": deepcoder, "seed": 7}


def test_a_stop_request_ends_a_search_at_its_next_budget_check():
    import signal

    from worldmodel.datasets import Example, Task, Type, deepcoder
    from worldmodel.inference import Budget, clear_stop, request_stop, solve, stop_requested

    slow = Task("slow", (Example(([1, 2, 3],), [7, -9, 200, 3]), Example(([4],), [-5, 1])), (Type.LIST,))
    request_stop(signal.SIGINT)
    try:
        assert stop_requested() == signal.SIGINT
        result = solve(slow, None, "enumerate", budget=Budget(calls=10**9, seconds=30), domain=deepcoder)
    finally:
        clear_stop()
    assert not result.verified and result.seconds < 1 and stop_requested() is None
    again = solve(slow, None, "enumerate", budget=Budget(calls=20_000), domain=deepcoder)
    assert again.calls > 10_000  # cleared: searches run again


def test_solve_forwards_a_method_config_and_refuses_another_methods():
    from worldmodel.inference import METHOD_CONFIGS, METHODS, EnumerationConfig, GuidedSearchConfig

    assert set(METHOD_CONFIGS) == set(METHODS)
    task = Task("double", (Example(([1, 2],), [2, 4]), Example(([5],), [10])), (Type.LIST,))
    # A size limit of 0 allows only the inputs themselves: the config reached the enumerator.
    capped = solve(task, budget=Budget(calls=1_000), config=EnumerationConfig(max_size=0))
    assert not capped.verified and solve(task, budget=Budget(calls=1_000)).verified
    with pytest.raises(TypeError, match="takes a EnumerationConfig, got GuidedSearchConfig"):
        solve(task, budget=Budget(calls=1_000), config=GuidedSearchConfig())


def test_solve_file_solves_each_line_with_its_own_seed_and_passes_bad_lines_on(tmp_path, monkeypatch):
    import json

    from worldmodel.datasets import TaskFileError
    from worldmodel.inference import TaskResult, solve_file

    seeds = []

    def spy(task, *, model, budget, domain, seed):
        seeds.append((task.id, seed))
        return SolveResult(task.id, "spy", None, False, 0, 0.0)

    monkeypatch.setitem(METHODS, "spy", spy)
    good = {"id": "double", "examples": [{"input": [[1, 2]], "output": [2, 4]}]}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + '{"id": "bad"}\n' + json.dumps({**good, "id": "again"}) + "\n")
    items = list(solve_file(path, None, "spy", seed=10))
    assert [type(item) for item in items] == [TaskResult, TaskFileError, TaskResult]
    assert [(item.task.id, item.index, item.result.method) for item in items[::2]] == [("double", 0, "spy"), ("again", 2, "spy")]
    # A malformed line counts as the CLI counts it; the blank line does not.
    assert seeds == [("double", 10), ("again", 12)] and items[1].line == 3


def test_solve_tasks_refuses_a_bad_method_before_reading_any_task():
    from worldmodel.inference import solve_tasks

    def never():
        raise AssertionError("read")
        yield

    with pytest.raises(ValueError, match="valid choices"):
        solve_tasks(never(), method="telepathy")
    with pytest.raises(TypeError, match="Budget"):
        solve_tasks(never(), budget=1000)
