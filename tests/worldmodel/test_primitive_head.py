"""The primitive head: shapes, the tasks it refuses, and that training teaches it."""

import pytest
import torch
from helpers import random_tasks
from worldmodel.datasets import Example, Task, Type

from worldmodel import ModelConfig, TrainConfig, WorldModel, fit
from worldmodel._primitive_head import PrimitiveTerm, primitive_inputs


def _small_model() -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(dim=32, token_dim=16))


def test_logits_have_one_column_per_primitive_and_ignore_example_order():
    model = _small_model().eval()
    task = random_tasks(1, seed=1)[0]
    flipped = Task(task.id, task.examples[::-1], task.input_types, task.program)
    with torch.no_grad():
        logits = model.primitive_forward(primitive_inputs([task, flipped], model.featurizer))
    assert logits.shape == (2, len(model.domain.primitives))
    torch.testing.assert_close(logits[0], logits[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "task, message",
    [
        (Task("wide", (Example(tuple([1] * 5), 1),), (Type.INT,) * 5), "has 5 inputs; the model takes at most 4"),
        (Task("big", (Example(([1000],), [1]),), (Type.LIST,)), "value \\[1000\\] is outside what the model encodes"),
    ],
)
def test_tasks_the_encoders_cannot_take_are_refused_by_name(task, message):
    with pytest.raises(ValueError, match=message):
        _small_model().primitive_probabilities(task)


def test_training_beats_the_marginal_rates_on_held_out_tasks():
    train, held_out = random_tasks(1500, seed=2, max_length=2), random_tasks(200, seed=3, max_length=2)
    model = _small_model()
    term = PrimitiveTerm()
    part = term.build(held_out, model.featurizer)
    # The best guess that ignores the examples: each primitive's rate in training.
    rate = term.build(train, model.featurizer).targets.mean(0).clamp(1e-4, 1 - 1e-4)
    marginal = torch.nn.functional.binary_cross_entropy(rate.expand_as(part.targets), part.targets).item()
    config = TrainConfig(epochs=12, batch_size=100, lr=3e-3, warmup=10, valid_limit=0)
    fit(model, train, [], config, terms=[term], progress=False)
    model.eval()
    with torch.no_grad():
        learned = term.loss(model, part)["primitives"].item()
    assert learned < 0.8 * marginal, (learned, marginal)


def test_training_the_head_alone_moves_only_its_weights_and_replayed_batches_match_fresh_ones():
    train, held_out = random_tasks(96, seed=4, max_length=2), random_tasks(32, seed=5, max_length=2)
    base = dict(epochs=3, batch_size=16, spec_batch_size=32, lr=3e-3, warmup=2, valid_limit=32, only="primitives")
    runs = {}
    for reuse in (False, True):
        model = _small_model()
        model.reset_primitive_head(width=48)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        result = fit(model, train, held_out, TrainConfig(**base, reuse_batches=reuse), progress=False)
        after = model.state_dict()
        moved = {k for k in before if not torch.equal(before[k], after[k])}
        assert moved and all(k.startswith("primitive_head.") for k in moved), moved
        assert all(p.requires_grad for p in model.parameters())  # frozen only while training
        assert [set(r) >= {"primitives", "valid_primitives"} for r in result.history] == [True] * 3
        runs[reuse] = result.history
    # Replay differs from fresh batches only in their order within an epoch (the same
    # 3 batches each epoch), so the first epoch is identical and later ones close.
    assert runs[True][0]["primitives"] == runs[False][0]["primitives"]
    assert runs[True][-1]["valid_primitives"] < runs[True][0]["valid_primitives"]


def test_reset_head_has_the_new_width_and_round_trips(tmp_path):
    model = _small_model()
    model.reset_primitive_head(width=40)
    assert model.config.primitive_width == 40 and model.primitive_head.out[-1].in_features == 40
    model.save(tmp_path / "m")
    loaded = WorldModel.load(tmp_path / "m")
    assert loaded.config.primitive_width == 40
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"only": "nothing"}, "names no loss term of this run"),
        ({"only": "energy"}, "names no head of its own"),
        ({"reuse_batches": True}, "needs every trained term to read only specs"),
    ],
)
def test_only_and_reuse_refuse_what_they_cannot_do(kwargs, message):
    from worldmodel import ConfigError

    train = random_tasks(8, seed=6, max_length=2)
    with pytest.raises(ConfigError, match=message):
        fit(_small_model(), train, [], TrainConfig(epochs=1, batch_size=4, valid_limit=0, **kwargs), progress=False)
