"""``guided``: enumeration ordered by the model's primitive head, within the one budget."""

import pytest
import torch
from worldmodel.datasets import Example, Task, Type, deepcoder
from worldmodel.inference import Budget, GuidedSearchConfig, primitive_costs, solve

from worldmodel import ModelConfig, WorldModel

TASKS = [
    Task("sort", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, -4],), [-4, 5])), (Type.LIST,)),
    Task("double-sum", (Example(([1, 2],), 6), Example(([5, -1],), 8), Example(([],), 0)), (Type.LIST,)),
    Task(
        "take-sorted",
        (Example(([4, 1, 3], 2), [1, 3]), Example(([9, 8, 7, 6], 3), [6, 7, 8]), Example(([2], 0), [])),
        (Type.LIST, Type.INT),
    ),
]


@pytest.fixture(scope="module")
def shipped():
    return WorldModel.default()


@pytest.mark.parametrize("budget", [4, 50, 300, 3_000])
def test_never_reports_more_calls_than_its_budget(budget, shipped):
    for task in TASKS:
        result = solve(task, shipped, "guided", budget=Budget(calls=budget, seconds=None))
        assert result.calls <= budget and result.diagnostics["fallback"] == 0.0


def test_finds_verified_programs_in_fewer_calls_than_enumeration(shipped):
    fewer = 0
    for task in TASKS:
        guided = solve(task, shipped, "guided", budget=Budget(calls=100_000, seconds=None))
        plain = solve(task, None, "enumerate", budget=Budget(calls=100_000, seconds=None))
        assert guided.verified and plain.verified
        fewer += guided.calls < plain.calls
    assert fewer >= 2


def test_without_a_model_or_for_a_task_it_cannot_encode_it_is_plain_enumeration(shipped):
    wide = Task("five-inputs", (Example((1, 2, 3, 4, [5, 6]), [6, 5]), Example((0, 0, 0, 0, [1]), [1])), (Type.INT,) * 4 + (Type.LIST,))
    for model, task in ((None, TASKS[0]), (shipped, wide)):
        guided = solve(task, model, "guided", budget=Budget(calls=10_000, seconds=None))
        plain = solve(task, None, "enumerate", budget=Budget(calls=10_000, seconds=None))
        assert guided.diagnostics["fallback"] == 1.0
        assert (guided.program, guided.calls) == (plain.program, plain.calls)


def test_an_untrained_model_still_solves_what_it_can(shipped):
    torch.manual_seed(0)
    untrained = WorldModel(ModelConfig(dim=16, token_dim=8)).eval()
    result = solve(TASKS[0], untrained, "guided", budget=Budget(calls=10_000, seconds=None))
    assert result.verified and result.calls <= 10_000


def test_costs_are_ints_from_one_and_likelier_is_never_dearer():
    probabilities = {name: (i + 1) / (len(deepcoder.primitives) + 1) for i, name in enumerate(deepcoder.primitives)}
    costs = primitive_costs(probabilities, nats_per_cost=0.5, floor=1e-3)
    assert list(costs) == sorted(probabilities, key=lambda n: -probabilities[n])
    assert all(type(c) is int and c >= 1 for c in costs.values())
    ranked = [costs[n] for n in costs]
    assert ranked == sorted(ranked)


@pytest.mark.parametrize("kwargs, field", [({"nats_per_cost": 0}, "nats_per_cost"), ({"floor": 0}, "floor")])
def test_bad_options_are_refused_by_name(kwargs, field):
    with pytest.raises(ValueError, match=f"GuidedSearchConfig.{field}"):
        GuidedSearchConfig(**kwargs)
