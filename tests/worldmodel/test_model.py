"""Shapes, invariances and the query API of WorldModel."""

import random

import pytest
import torch
from worldmodel.datasets import Example, Task, Type, deepcoder
from worldmodel.inference import Budget, Simulator

from worldmodel import ModelConfig, WorldModel

TINY = ModelConfig(dim=32, token_dim=16)


def _task(seed: int = 0, length: int = 3, k: int = 5) -> Task:
    return deepcoder.random_task(random.Random(seed), length, examples=k, task_id=f"t{seed}")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return WorldModel(TINY).eval()


def test_query_shapes(model):
    task = _task()
    programs = [task.program] + [p for _, p in list(deepcoder.neighbours(task.program))[:20]]
    assert model.energy(task, programs).shape == (21,)
    assert model.encode(task, programs).shape == (21, 32)
    assert model.state_context(task, programs).shape == (21, model.context_dim)
    outputs = [[e.output for e in task.examples]] * 3
    assert model.similarity(task, outputs, outputs).shape == (3,)
    assert model.energy(task, []).shape == (0,)


def test_environments_match_interpreter(model):
    task = _task(1)
    programs = [task.program] + [p for _, p in list(deepcoder.neighbours(task.program))[:50]]
    sim = Simulator(task, deepcoder, Budget(calls=None, seconds=None))
    envs = [sim.environments(p) for p in programs]
    torch.testing.assert_close(model.energy(task, programs, environments=envs), model.energy(task, programs), rtol=0, atol=0)


def test_spec_encoder_is_permutation_invariant(model):
    task = _task(2, k=5)
    shuffled = Task(task.id, tuple(reversed(task.examples[1:])) + task.examples[:1], task.input_types, task.program)
    programs = [task.program] + [p for _, p in list(deepcoder.neighbours(task.program))[:10]]
    a = model.featurizer.specs([task])
    b = model.featurizer.specs([shuffled])
    sa, sb = model.spec_forward(a)[2], model.spec_forward(b)[2]
    torch.testing.assert_close(sa, sb, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.energy(task, programs), model.energy(shuffled, programs), rtol=1e-5, atol=1e-5)
    # and it does depend on the examples' content
    other = _task(3)
    assert not torch.allclose(sa, model.spec_forward(model.featurizer.specs([other]))[2])


def test_similarity_is_symmetric(model):
    task = _task(4)
    a = [[e.output for e in task.examples], [e.output for e in task.examples]]
    b = [list(a[0]), [None] * len(task.examples)]
    b[0][0] = [] if isinstance(b[0][0], list) else 0
    torch.testing.assert_close(model.similarity(task, a, b), model.similarity(task, b, a))


def test_energy_latent_is_the_latent_spaces_bounded_energy_with_gradients(model):
    from worldmodel import LatentConfig

    task = _task(5)
    head = model.attach_latent(LatentConfig(latent_dim=4, hidden=16, embed=8, critic=8))
    try:
        z = model.encode_programs([task.program]).clone().requires_grad_(True)
        e = model.energy_latent(task, z)
        assert e.shape == (1,) and float(e.detach().abs().max()) <= head.config.energy_bound
        e.sum().backward()
        assert z.grad is not None and z.grad.abs().sum() > 0
        torch.testing.assert_close(model.latent_potential(task)(z.detach()), 0.5 * z.detach().pow(2).sum(-1) + e.detach())
    finally:
        model.latent = None


def test_invalid_programs_and_mixed_example_counts(model):
    task = Task("t", (Example(([],), 0), Example(([1, 2],), 1)), (Type.LIST,))
    head = deepcoder.parse("a <- [int] | b <- HEAD a")  # invalid on the empty list
    e = model.energy(task, [head, deepcoder.parse("a <- [int] | b <- SUM a")])
    assert torch.isfinite(e).all()
    tasks = [task, _task(6)]
    batch = model.featurizer.programs(tasks, [head, tasks[1].program], [0, 1])
    assert batch.valid.tolist() == [0.0, 1.0]
    assert batch.spec.example_mask.sum().item() == 2 + 5
    assert torch.isfinite(model.energy_forward(batch)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dim": 0}, "dim"), ({"token_dim": -1}, "token_dim"), ({"domain": "nope"}, "domain")],
)
def test_bad_config(kwargs, match):
    from worldmodel import ConfigError

    with pytest.raises(ConfigError, match=match):
        WorldModel(ModelConfig(**kwargs))


def test_lookahead_from_run_matches_the_featurizers_own(model):
    # Given executions with the featurizer's per-example semantics (None where a value
    # is invalid on that example), the look-ahead asked of ``run`` is the one the
    # featurizer computes itself in training, so the energies agree.
    from worldmodel._runs import partial_environments

    for seed in range(4):
        task = _task(seed)
        programs = [task.program] + [p for _, p in list(deepcoder.neighbours(task.program))[:30]]
        envs = [model.featurizer.environments(task, p) for p in programs]
        asked = []

        def run(program, task=task, asked=asked):
            asked.append(program)
            return partial_environments(program, task, deepcoder)

        own = model.energy(task, programs, environments=envs)
        from_run = model.energy(task, programs, environments=envs, run=run)
        assert asked and torch.allclose(own, from_run, atol=1e-5)


@pytest.mark.parametrize("task,max_length,bounds,match", [
    (Task("wide", (Example(tuple([[1]] * 30), [1]),), (Type.LIST,) * 30), 5, None, "35 variables"),
    (Task("wide", (Example(tuple([[1]] * 30), [1]),), (Type.LIST,) * 30), 2, None, None),
    (Task("long", (Example(([1] * 21,), 21),), (Type.LIST,)), 5, None, "does not fit"),
    (Task("big", (Example(([1],), 300),), (Type.LIST,)), 5, None, "does not fit"),
    (Task("ok", (Example(([1],), 1),), (Type.LIST,)), 5, None, None),
    (Task("ok", (Example(([1],), 1),), (Type.LIST,)), 5, "wider", "cannot encode"),
])
def test_featurizer_says_which_tasks_it_cannot_take(model, task, max_length, bounds, match):
    from worldmodel.datasets import Bounds

    bounds = Bounds(max_list_length=40) if bounds == "wider" else deepcoder.bounds
    reason = model.featurizer.unsupported(task, max_length=max_length, bounds=bounds, max_tokens=128)
    assert reason is None if match is None else match in reason
