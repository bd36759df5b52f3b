"""The value head: what it is trained on, that training teaches it, and its scorer."""

import pytest
import torch
from helpers import random_tasks
from worldmodel.datasets import Example, Task, Type, deepcoder

from worldmodel import ModelConfig, TrainConfig, WorldModel, fit
from worldmodel._value_head import ValueTerm, _key


def _model(width: int | None = 32) -> WorldModel:
    torch.manual_seed(0)
    return WorldModel(ModelConfig(dim=32, token_dim=16, value_width=width))


def test_positives_are_the_programs_values_and_negatives_are_not():
    model = _model()
    tasks = random_tasks(30, seed=20, max_length=4)
    part = ValueTerm(negatives=6).build(tasks, model.featurizer)
    assert part.targets.shape == (part.inputs.features.shape[0],) and 0 < part.targets.mean() < 1
    # Rebuild the labels from the programs: a task's positives are its program's
    # intermediate values, the inputs and the output left out.
    for b, task in enumerate(tasks):
        traces = [deepcoder.trace(task.program, list(e.inputs)) for e in task.examples]
        made = {_key(col) for col in zip(*traces)}
        rows = (part.inputs.task == b).nonzero().flatten().tolist()
        positives = [r for r in rows if part.targets[r] == 1]
        intermediate = {_key(col) for col in list(zip(*traces))[len(task.input_types) : -1]}
        intermediate -= {_key(col) for col in list(zip(*traces))[: len(task.input_types)]}
        intermediate.discard(_key([e.output for e in task.examples]))
        assert len(positives) == len(intermediate)
        assert len(rows) - len(positives) <= 6
        assert made  # the program ran
    # No candidate is the target itself (it may match on some examples, not on all).
    real = part.inputs.specs.example_mask[part.inputs.task]
    assert not ((part.inputs.features[..., 2] == 1) | ~real).all(1).any()
    # A positive's token rows are its results as the vocabulary encodes them, padded.
    vocab, width = model.featurizer.vocab, model.featurizer.width
    for b, task in enumerate(tasks):
        traces = [deepcoder.trace(task.program, list(e.inputs)) for e in task.examples]
        columns = [_key(col) for col in zip(*traces)]
        outside = set(columns[: len(task.input_types)]) | {columns[-1]}
        expected = [v for v in dict.fromkeys(columns[len(task.input_types) : -1]) if v not in outside]
        rows = [r for r in (part.inputs.task == b).nonzero().flatten().tolist() if part.targets[r] == 1]
        for r, value in zip(rows, expected, strict=True):
            for j, result in enumerate(value):
                ids = vocab.encode_value(result)
                assert part.inputs.tokens[r, j].tolist() == ids + [0] * (width - len(ids))
            assert not part.inputs.tokens[r, len(value) :].any()


def test_training_beats_the_base_rate_on_held_out_tasks():
    train, held_out = random_tasks(1000, seed=21, max_length=4), random_tasks(200, seed=22, max_length=4)
    model = _model()
    term = ValueTerm()
    part = term.build(held_out, model.featurizer)
    rate = term.build(train, model.featurizer).targets.mean().clamp(1e-4, 1 - 1e-4)
    base = torch.nn.functional.binary_cross_entropy(rate.expand_as(part.targets), part.targets).item()
    config = TrainConfig(epochs=20, batch_size=100, lr=3e-3, warmup=10, valid_limit=0, only="values", reuse_batches=True)
    fit(model, train, [], config, terms=[term], progress=False)
    model.eval()
    with torch.no_grad():
        learned = term.loss(model, part)["values"].item()
    assert learned < 0.9 * base, (learned, base)


def test_scorer_gives_one_log_probability_per_value():
    model = _model().eval()
    task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([5, 4],), [4, 5])), (Type.LIST,))
    score = model.value_scorer(task, chunk=2)
    values = [((1, 2, 3), (4, 5)), (6, 9), ((3, 1, 2), (5, 4))]
    out = score(values)
    assert len(out) == 3 and all(q <= 0 for q in out)
    assert out == pytest.approx(model.value_scorer(task)(values), abs=1e-5)  # chunking changes nothing


def test_a_model_without_a_value_head_says_how_to_get_one(tmp_path):
    model = _model(width=None)
    task = random_tasks(1, seed=23)[0]
    with pytest.raises(ValueError, match="attach_value_head"):
        model.value_scorer(task)
    model.attach_value_head(width=24)
    model.save(tmp_path / "m")
    loaded = WorldModel.load(tmp_path / "m")
    assert loaded.config.value_width == 24
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
