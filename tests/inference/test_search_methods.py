"""The model-guided searches (policy, energy, mcmc): they solve easy tasks, keep to the
budget, never report an unverified program as verified, and report their diagnostics."""

import math
import random

import pytest
import torch
from worldmodel.datasets import Example, Statement, Task, Type, deepcoder
from worldmodel.inference import (
    METHODS,
    Budget,
    EnergySearchConfig,
    HeuristicScorer,
    MCMCSearchConfig,
    PolicySearchConfig,
    Scorer,
    Simulator,
    WorldModelScorer,
    as_scorer,
    energy_search,
    mcmc_search,
    policy_search,
    solve,
    verify,
)

SEARCHES = {"policy": policy_search, "energy": energy_search, "mcmc": mcmc_search}


def generated_tasks(length: int, count: int, seed: int) -> list[Task]:
    """``count`` random tasks with a known solution of ``length`` statements, 3 examples each."""
    rng = random.Random(seed)
    return [deepcoder.random_task(rng, length, examples=3, task_id=f"L{length}-{i}") for i in range(count)]


# The hard task for budget tests: a length-5 program none of the methods finds in a few calls.
HARD = Task(
    "hard",
    (
        Example(([1, 5, -3, 8], [2, 2]), [9, 0, 1]),
        Example(([4, 4, 0], [7]), [3, 3, 7, 1]),
        Example(([-9, 2], [1, 1, 1]), [11]),
    ),
    (Type.LIST, Type.LIST),
)
CONTRADICTORY = Task(
    "contradictory",
    (Example(([1, 2, 3],), [3, 2, 1]), Example(([1, 2, 3],), [1, 2, 3])),
    (Type.LIST,),
)


SORT_TASK = Task("sort", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))


def test_registered_in_solve():
    for method, search in SEARCHES.items():
        assert METHODS[method] is search
        result = solve(SORT_TASK, method=method, budget=Budget(calls=5_000, seconds=None))
        assert result.method == method and result.verified


@pytest.mark.parametrize("method,length,budget", [
    ("policy", 1, 2_000), ("policy", 2, 20_000),
    ("energy", 1, 5_000), ("energy", 2, 5_000),
])
def test_solves_easy_generated_tasks(method, length, budget):
    tasks = generated_tasks(length, 4, seed=10 + length)
    results = [SEARCHES[method](t, budget=Budget(calls=budget, seconds=None), domain=deepcoder) for t in tasks]
    for task, result in zip(tasks, results):
        assert result.verified == verify(result.program, task, deepcoder)
    # Measured: policy 4/4 at both lengths, energy 4/4 and 3/4; the bar leaves one miss of slack.
    assert sum(r.verified for r in results) >= 3, [(r.task_id, r.calls) for r in results]


def test_mcmc_solves_easy_generated_tasks():
    tasks = generated_tasks(1, 2, seed=21) + generated_tasks(2, 1, seed=22)
    results = [mcmc_search(t, budget=Budget(calls=4_000, seconds=None), domain=deepcoder) for t in tasks]
    assert all(r.verified for r in results), [(r.task_id, r.calls) for r in results]


@pytest.mark.parametrize("method", sorted(SEARCHES))
@pytest.mark.parametrize("calls", [0, 10, 200])
def test_call_budget_respected(method, calls):
    result = SEARCHES[method](HARD, budget=Budget(calls=calls, seconds=None), domain=deepcoder)
    # The simulator refuses a statement that would pass the budget, before running it.
    assert result.calls <= calls
    assert not result.verified


@pytest.mark.parametrize("method", sorted(SEARCHES))
def test_seconds_budget_respected(method):
    result = SEARCHES[method](HARD, budget=Budget(calls=None, seconds=0.3), domain=deepcoder)
    assert not result.verified and result.calls > 0
    assert result.seconds < 0.3 + 1.0  # one step of slack (neighbour lists, a policy call)


class LyingScorer(Scorer):
    """Claims every program is perfect: energy -100, uniform policy, maximal similarity."""

    def energy(self, task, programs, *, environments, run=None):
        return torch.full((len(programs),), -100.0)

    def policy_log_probs(self, task, program, edits, *, environments, run=None):
        return torch.full((len(edits),), -math.log(len(edits)))

    def similarity(self, task, outputs_a, outputs_b):
        return torch.zeros(len(outputs_a))


@pytest.mark.parametrize("method", sorted(SEARCHES))
@pytest.mark.parametrize("task", [CONTRADICTORY, HARD], ids=["contradictory", "hard"])
@pytest.mark.parametrize("model", [None, LyingScorer()], ids=["heuristic", "lying"])
def test_never_verified_without_solving(method, task, model):
    result = SEARCHES[method](task, model=model, budget=Budget(calls=300, seconds=10), domain=deepcoder)
    assert not result.verified
    assert not verify(result.program, task, deepcoder)


@pytest.mark.parametrize("method", sorted(SEARCHES))
def test_lying_simulator_is_not_trusted(method, monkeypatch):
    # A simulator that says every program solves the task: the search stops at once,
    # but ``verified`` comes from ``verify`` on every example, so it stays False.
    monkeypatch.setattr(Simulator, "solves", lambda self, program: True)
    result = SEARCHES[method](HARD, budget=Budget(calls=300, seconds=10), domain=deepcoder)
    assert result.program is not None and not result.verified


def test_mcmc_reports_acceptance_rate():
    result = mcmc_search(HARD, budget=Budget(calls=400, seconds=None), domain=deepcoder, seed=1)
    d = result.diagnostics
    assert d["steps"] > 10 and 0.0 < d["acceptance_rate"] < 1.0
    assert len(result.trace) == d["steps"]
    assert all(b <= a for a, b in zip(result.trace, result.trace[1:]))  # best energy never rises


def test_policy_search_is_anytime():
    # A larger budget replays the smaller run's calls first, so a solution found
    # within the small budget is found identically with the large one.
    solved = 0
    for task in generated_tasks(2, 3, seed=12):
        large = policy_search(task, budget=Budget(calls=20_000, seconds=None), domain=deepcoder)
        if large.verified:
            solved += 1
            small = policy_search(task, budget=Budget(calls=large.calls, seconds=None), domain=deepcoder)
            assert (small.program, small.calls, small.verified) == (large.program, large.calls, True)
            short = policy_search(task, budget=Budget(calls=large.calls // 2, seconds=None), domain=deepcoder)
            assert not short.verified
    assert solved >= 2


@pytest.mark.parametrize("search", [energy_search, mcmc_search])
def test_seeded_searches_are_deterministic(search):
    task = generated_tasks(1, 1, seed=5)[0]
    a = search(task, budget=Budget(calls=500, seconds=None), domain=deepcoder, seed=7)
    b = search(task, budget=Budget(calls=500, seconds=None), domain=deepcoder, seed=7)
    assert (a.program, a.calls, a.trace) == (b.program, b.calls, b.trace)


def test_solution_has_no_dead_code():
    solved = 0
    for task in generated_tasks(2, 3, seed=30):
        result = energy_search(task, budget=Budget(calls=20_000, seconds=None), domain=deepcoder)
        if result.verified:
            solved += 1
            body = result.program.statements
            n = len(result.program.input_types)
            used = {a for st in body for a in st.args}
            assert all(n + j in used for j in range(len(body) - 1))
    assert solved == 3  # the check above ran on real solutions, not on none


class FakeWorldModel:
    """The WorldModel's query API shape: policy_distribution returns (edits, log_probs)."""

    def energy(self, task, programs, *, environments=None, run=None):
        return HeuristicScorer().energy(task, programs, environments=environments)

    def policy_distribution(self, task, program, edits=None, *, environments=None, run=None):
        return edits, torch.zeros(len(edits))  # unnormalised on purpose

    def similarity(self, task, outputs_a, outputs_b):
        return HeuristicScorer().similarity(task, outputs_a, outputs_b)


def test_world_model_adapter():
    scorer = as_scorer(FakeWorldModel())
    assert isinstance(scorer, WorldModelScorer)
    program = deepcoder.parse("a <- [int]")
    edits = [e for e, _ in deepcoder.neighbours(program)]
    log_p = scorer.policy_log_probs(CONTRADICTORY, program, edits, environments=None)
    assert log_p.shape == (len(edits),) and torch.isclose(log_p.exp().sum(), torch.tensor(1.0, dtype=log_p.dtype))
    assert scorer.unsupported(CONTRADICTORY, domain=deepcoder, max_length=5) is None  # no featurizer to ask
    task = generated_tasks(1, 1, seed=3)[0]
    # A uniform policy is no guide, so this takes several passes of the growing beam.
    assert policy_search(task, model=FakeWorldModel(), budget=Budget(calls=200_000, seconds=None), domain=deepcoder).verified


@pytest.mark.parametrize("bad", [object(), "heuristic"])
def test_not_a_model(bad):
    with pytest.raises(TypeError, match="not a world model"):
        as_scorer(bad)


@pytest.mark.parametrize("make,match", [
    (lambda: PolicySearchConfig(max_length=0), "max_length"),
    (lambda: PolicySearchConfig(growth=1), "growth"),
    (lambda: PolicySearchConfig(children_per_state=0), "children_per_state"),
    (lambda: EnergySearchConfig(proposals_per_step=0), "proposals_per_step"),
    (lambda: EnergySearchConfig(cooling=1.5), "cooling"),
    (lambda: EnergySearchConfig(min_temperature=0.0), "min_temperature"),
    (lambda: MCMCSearchConfig(temperature=0.0), "temperature"),
    (lambda: MCMCSearchConfig(steps_per_chain=0), "steps_per_chain"),
])
def test_bad_configs(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.fixture(scope="module")
def small_world_model():
    from worldmodel import ModelConfig, WorldModel

    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_policy()
    return model.eval()


@pytest.mark.parametrize("method", sorted(SEARCHES))
def test_runs_unchanged_with_a_world_model(method, small_world_model):
    # An untrained model: the point is the plumbing (shapes, the (edits, log_probs)
    # return, environments and executions from the simulator), the budget, and
    # honest verification. The model's features run through the simulator, which
    # refuses what would pass the budget, so the calls stay within it.
    calls = 60 if method == "mcmc" else 120
    scorer = as_scorer(small_world_model)
    result = SEARCHES[method](SORT_TASK, model=scorer, budget=Budget(calls=calls, seconds=60), domain=deepcoder)
    assert 0 < result.calls <= calls
    assert result.verified == verify(result.program, SORT_TASK, deepcoder)


def test_world_model_without_policy_uses_the_fallback_policy():
    from worldmodel import ModelConfig, WorldModel

    scorer = as_scorer(WorldModel(ModelConfig(dim=16, token_dim=8)))
    program = deepcoder.parse("a <- [int]")
    edits = [e for e, _ in deepcoder.neighbours(program)]
    expected = HeuristicScorer().policy_log_probs(SORT_TASK, program, edits, environments=None)
    assert torch.equal(scorer.policy_log_probs(SORT_TASK, program, edits, environments=None), expected)


def test_heuristic_scorer():
    scorer = HeuristicScorer()
    program = deepcoder.parse("a <- [int] | b <- SORT a")
    edits = [e for e, _ in deepcoder.neighbours(program, max_length=3)]
    log_p = scorer.policy_log_probs(SORT_TASK, program, edits, environments=None)
    assert log_p.shape == (len(edits),) and torch.isclose(log_p.exp().sum(), torch.tensor(1.0, dtype=log_p.dtype))
    appends_reading_b = [i for i, e in enumerate(edits) if getattr(e, "index", None) == 1 and 1 in getattr(e, "statement", Statement("", ())).args]
    assert appends_reading_b and log_p[appends_reading_b].min() == log_p.max()  # both bonuses
    sim = Simulator(SORT_TASK, deepcoder, Budget(calls=None, seconds=None))
    good, invalid = program, deepcoder.parse("a <- [int] | b <- MAP (**2) a | c <- MAP (**2) b | d <- MAP (**2) c")
    envs = [sim.environments(good), sim.environments(invalid)]
    assert envs[1] is None  # out of range
    energy = scorer.energy(SORT_TASK, [good, invalid], environments=envs)
    assert energy[0] < 0.1 < 10 <= energy[1]
    outputs = [[[1, 2], 3], None]
    similar = scorer.similarity(SORT_TASK, outputs, outputs)
    assert similar.tolist() == [0.0, 0.0]
    assert scorer.similarity(SORT_TASK, [[[1, 2], 3]], [[[2, 1], 4]]).item() < 0
