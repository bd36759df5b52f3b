"""Latent-space search: every method solves easy tasks under the one budget, deterministically."""

import pytest
import torch
from worldmodel.datasets import Example, Task, Type, deepcoder
from worldmodel.inference import LATENT_METHODS, Budget, LatentSearchConfig, latent_search, solve

from worldmodel import ModelConfig, WorldModel

SORT = Task("sort", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, -4, 0, 9],), [-4, 0, 5, 9]),
                     Example(([7],), [7])), (Type.LIST,))
TAKE_SUM = Task("take-sum", (Example(([3, 1, 2, 8], 2), 4), Example(([5, -4, 0, 9], 3), 1),
                             Example(([7, 7], 1), 7)), (Type.LIST, Type.INT))


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return WorldModel.default()


@pytest.mark.parametrize("method", LATENT_METHODS)
def test_each_method_solves_an_easy_task_within_its_budget(model, method):
    result = solve(SORT, model, method, budget=Budget(calls=3000, seconds=60))
    assert result.verified, result.diagnostics
    assert 0 < result.calls <= 3000
    assert result.diagnostics["draws"] >= 1


@pytest.mark.parametrize("method", ["nuts", "bo", "amortised"])
def test_a_run_is_a_function_of_its_seed_and_a_small_budget_is_never_passed(model, method):
    runs = [solve(TAKE_SUM, model, method, budget=Budget(calls=400, seconds=60), seed=3) for _ in range(2)]
    assert runs[0].calls == runs[1].calls and runs[0].program == runs[1].program
    assert all(r.calls <= 400 for r in runs)
    tiny = solve(TAKE_SUM, model, method, budget=Budget(calls=5, seconds=60))
    assert tiny.calls <= 5


def test_a_task_the_latent_space_cannot_take_makes_no_call(model):
    three = Task("three", (Example(([1], [2], [3]), [1]),), (Type.LIST, Type.LIST, Type.LIST))
    with pytest.warns(RuntimeWarning, match="makes no call"):
        result = solve(three, model, "nuts", budget=Budget(calls=100))
    assert result.calls == 0 and not result.verified and result.diagnostics == {"unsupported": 1.0}


def test_a_model_without_a_latent_space_is_refused_by_name():
    bare = WorldModel(ModelConfig(dim=16, token_dim=8))
    with pytest.raises(ValueError, match="train --latent"):
        latent_search(SORT, method="nuts", model=bare, budget=Budget(calls=10), domain=deepcoder)


def test_bad_options_name_the_field():
    with pytest.raises(ValueError, match="start must be one of"):
        LatentSearchConfig(start="middle")
    with pytest.raises(ValueError, match="beam must be >= 1"):
        LatentSearchConfig(beam=0)


def test_the_prior_start_runs_the_same_methods(model):
    result = latent_search(SORT, method="hmc", model=model, budget=Budget(calls=3000, seconds=60), domain=deepcoder,
                           config=LatentSearchConfig(start="prior"))
    assert result.calls <= 3000 and result.diagnostics["draws"] >= 1
