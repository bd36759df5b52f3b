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
