"""No task can crash a search: integer-only tasks (no statement applies), more inputs
than the model takes, values the model cannot encode, and ordinary tasks all give a
result from every method, through the Python API and the command line."""

import json
import warnings
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from worldmodel.datasets import Example, Task, Type, deepcoder, read_tasks, write_tasks
from worldmodel.inference import Budget, SolveResult, solve

from worldmodel import ModelConfig, WorldModel
from worldmodel.cli import main

METHODS = ["enumerate", "guided", "policy", "energy", "mcmc"]
SCORER_METHODS = ["enumerate", "policy", "energy", "mcmc"]  # guided's fallback: test_search_guided.py
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tasks.jsonl"
ORDINARY = [read_tasks(EXAMPLES, deepcoder).tasks[i] for i in (0, 7)]

# No DeepCoder statement takes only ints: nothing can be appended to these.
INTS = [
    Task("one-int", (Example((3,), 4), Example((1,), 0)), (Type.INT,)),
    Task("two-ints", (Example((3, 1), 3), Example((0, 2), 0)), (Type.INT, Type.INT)),
]
# 40 inputs, more variables than the models take (ModelConfig.max_variables = 32);
# ints, so that the candidate sets stay small; the answer is SORT of the list.
WIDE = Task(
    "forty-inputs",
    tuple(Example((*range(k, k + 39), xs), sorted(xs)) for k, xs in enumerate(([3, 1, 2], [5, -4], [0, 9, 9, 1]))),
    (Type.INT,) * 39 + (Type.LIST,),
)
# Tasks a file cannot hold (the domain's bounds reject them), made in Python: a list
# longer than the model's values (20), and an int outside its vocabulary.
LONG = Task("long-list", (Example(([1] * 30,), 30), Example(([2] * 25,), 50)), (Type.LIST,))
HUGE = Task("huge-int", (Example(([1000, 3],), 3), Example(([-900, 2, 5],), 2)), (Type.LIST,))


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    small = WorldModel(ModelConfig(dim=16, token_dim=8))
    small.attach_policy()
    return {"heuristic": None, "small": small.eval(), "shipped": WorldModel.default()}


def _solve(task, model, method, calls=1_000):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solve(task, model, method, budget=Budget(calls=calls, seconds=None))
    assert isinstance(result, SolveResult) and 0 <= result.calls <= calls
    return result, [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("model", ["heuristic", "small", "shipped"])
@pytest.mark.parametrize("method", METHODS)
def test_integer_only_tasks_end_unsolved_at_once(method, model, models):
    for task in INTS:
        result, _ = _solve(task, models[model], method)
        assert not result.verified and result.calls == 0


@pytest.mark.parametrize("model", ["heuristic", "small", "shipped"])
@pytest.mark.parametrize("method", SCORER_METHODS)
def test_tasks_the_model_cannot_take_fall_back_to_the_heuristic(method, model, models):
    learned = model != "heuristic" and method != "enumerate"
    for task in (WIDE, LONG, HUGE):
        result, caught = _solve(task, models[model], method, calls=300)
        assert result.diagnostics.get("heuristic_fallback") == (1.0 if learned else None)
        assert len(caught) == learned and (not learned or task.id in str(caught[0].message))
        # Inputs outside the domain's bounds: no program is valid on them.
        assert not result.verified if task is not WIDE else result.verified or method != "enumerate"


@pytest.mark.parametrize("model", ["small", "shipped"])
@pytest.mark.parametrize("method", SCORER_METHODS)
def test_ordinary_tasks_still_use_the_model(method, model, models):
    for task in ORDINARY:
        result, caught = _solve(task, models[model], method, calls=300)
        assert "heuristic_fallback" not in result.diagnostics and not caught


def _mixed_file(path):
    write_tasks(path, [*INTS, WIDE, *ORDINARY], deepcoder)
    return str(path)


@pytest.mark.filterwarnings("ignore:task .* HeuristicScorer instead:RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
def test_cli_solve_finishes_every_task(method, tmp_path):
    tasks = _mixed_file(tmp_path / "mixed.jsonl")
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(main, ["solve", tasks, "--method", method, "--calls", "1e3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["one-int", "two-ints", "forty-inputs", *(t.id for t in ORDINARY)]
    assert all(r["calls"] <= 1_000 for r in records)
    assert "/5" in result.stdout


@pytest.mark.filterwarnings("ignore:task .* HeuristicScorer instead:RuntimeWarning")
def test_cli_bench_records_every_task(tmp_path):
    tasks = _mixed_file(tmp_path / "mixed.jsonl")
    out = tmp_path / "bench"
    args = ["bench", tasks, "--methods", ",".join(METHODS), "--calls", "1e2,1e3", "--workers", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    ids = {t.id for t in read_tasks(tasks, deepcoder).tasks}
    assert {(r["method"], r["task"], r["budget"]) for r in records} == {
        (m, i, b) for m in METHODS for i in ids for b in (100, 1_000)
    }
    assert all(r["calls"] is None or r["calls"] <= r["budget"] for r in records)
