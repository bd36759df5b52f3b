"""One place runs and counts: with a learned scorer every execution goes through the
Simulator, is charged before it runs, and no search reports more calls than its budget."""

from pathlib import Path

import pytest
import torch
from worldmodel.datasets import Program, deepcoder, read_tasks
from worldmodel.datasets._edits import InsertStatement
from worldmodel.inference import (
    Budget,
    BudgetExhausted,
    HeuristicScorer,
    Simulator,
    as_scorer,
    energy_search,
    mcmc_search,
    policy_search,
)
from worldmodel.inference._search_common import append_statements

from worldmodel import ModelConfig, WorldModel

SEARCHES = {"policy": policy_search, "energy": energy_search, "mcmc": mcmc_search}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tasks.jsonl"
# A length-2 task the shipped model solves within a few thousand calls, and a length-4 one it does not.
TASKS = [read_tasks(EXAMPLES, deepcoder).tasks[i] for i in (7, 19)]


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_policy()
    return model.eval()


@pytest.fixture(scope="module")
def shipped_model():
    return WorldModel.default()


@pytest.fixture(params=["small", "shipped"])
def learned(request):
    return request.getfixturevalue(f"{request.param}_model")


# The large budgets on one task each: the model's featurisation makes them slow.
RUNS = [(50, TASKS), (300, TASKS), (1_000, TASKS[1:]), (3_000, TASKS[:1])]


@pytest.mark.parametrize("budget,tasks", RUNS, ids=[str(b) for b, _ in RUNS])
@pytest.mark.parametrize("method", sorted(SEARCHES))
def test_learned_searches_never_pass_the_budget(method, budget, tasks, learned):
    for task in tasks:
        result = SEARCHES[method](task, model=learned, budget=Budget(calls=budget, seconds=None), domain=deepcoder)
        assert 0 < result.calls <= budget, (task.id, result.calls)
        assert "heuristic_fallback" not in result.diagnostics


def test_simulator_refuses_a_statement_that_would_pass_the_budget():
    task = TASKS[0]
    k = len(task.examples)
    simulator = Simulator(task, deepcoder, Budget(calls=2 * k + 1, seconds=None))
    program = deepcoder.parse("a <- [int] | b <- MAP (+1) a | c <- MAP (*3) b")
    with pytest.raises(BudgetExhausted):
        simulator.environments(deepcoder.parse("a <- [int] | b <- MAP (+1) a | c <- MAP (*3) b | d <- SORT c"))
    assert simulator.calls == 2 * k  # the third statement was not run, nor charged
    assert simulator.solves(program) and simulator.calls == 2 * k  # its prefix is cached


def test_a_featurised_candidate_costs_once_when_kept(small_model):
    # Ranking the appends of a state executes each append once, in the simulator; the
    # look-ahead of the state's context is among them, and executing the children
    # afterwards (as the policy search does) is free.
    task = TASKS[0]
    simulator = Simulator(task, deepcoder, Budget(calls=None, seconds=None))
    root = deepcoder.parse("a <- [int]")
    statements = append_statements(root, deepcoder)
    edits = [InsertStatement(0, st) for st in statements]
    scorer = as_scorer(small_model)
    scorer.policy_log_probs(task, root, edits, environments=simulator.environments(root), run=simulator.environments)
    assert simulator.calls == len(task.examples) * len(statements)
    for st in statements:
        simulator.environments(Program(root.input_types, (st,)))
    assert simulator.calls == len(task.examples) * len(statements)


@pytest.mark.parametrize("method", sorted(SEARCHES))
def test_the_model_never_runs_the_interpreter_during_search(method, small_model, monkeypatch):
    import worldmodel._features as features
    import worldmodel._runs as runs  # where the features' own (training) runs apply primitives

    def ran(*args, **kwargs):
        pytest.fail("the model ran the interpreter itself")

    monkeypatch.setattr(runs, "apply_primitive", ran)
    monkeypatch.setattr(features.Featurizer, "one_step", ran)
    monkeypatch.setattr(features.Featurizer, "environments", ran)
    result = SEARCHES[method](TASKS[0], model=small_model, budget=Budget(calls=400, seconds=None), domain=deepcoder)
    assert 0 < result.calls <= 400


class CountingScorer(HeuristicScorer):
    """The heuristic scorer, counting its energy calls."""

    def __init__(self):
        super().__init__()
        object.__setattr__(self, "energies", 0)

    def energy(self, task, programs, *, environments, run=None):
        object.__setattr__(self, "energies", self.energies + 1)
        return super().energy(task, programs, environments=environments)


@pytest.mark.parametrize("energy_weight,computed", [(0.0, False), (0.5, True)])
def test_policy_search_computes_the_energy_only_when_it_ranks(energy_weight, computed):
    from worldmodel.inference import PolicySearchConfig

    scorer = CountingScorer()
    config = PolicySearchConfig(energy_weight=energy_weight)
    result = policy_search(TASKS[1], model=scorer, budget=Budget(calls=2_000, seconds=None), domain=deepcoder, config=config)
    assert (scorer.energies > 0) is computed
    assert result.trace and result.program is not None  # the incumbent is kept either way
