"""The linear stream: which maps its fit keeps, exact forwards where it trusts them,
the dynamics alone where it does not, and checkpoints."""

import random

import pytest
import torch
from worldmodel.datasets import Task, deepcoder

from worldmodel import (
    ConfigError,
    DynamicsConfig,
    DynamicsHead,
    DynamicsTerm,
    ModelConfig,
    TrainConfig,
    WorldModel,
    fit,
    fit_linear_stream,
    load_dynamics,
    save_dynamics,
)
from worldmodel._queries import forward_batch

TINY = DynamicsConfig(dim=16, heads=2)
NAMES = list(deepcoder.primitives)
PROGRAMS = {
    "sum": "a <- [int] | b <- SUM a",
    "scan": "a <- [int] | b <- SCANL1 (+) a",
    "reverse": "a <- [int] | b <- REVERSE a",
    "sort": "a <- [int] | b <- SORT a",
    "sort_then_sum": "a <- [int] | b <- SORT a | c <- SUM b",
}


def _tasks(source: str, count: int, seed: int) -> list[Task]:
    program = deepcoder.parse(source)
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        examples = deepcoder.random_examples(program, 5, rng)
        if examples is not None:
            tasks.append(Task(f"{seed}-{i}", tuple(examples), program.input_types, program))
    return tasks


@pytest.fixture(scope="module")
def fitted() -> DynamicsHead:
    torch.manual_seed(0)
    head = DynamicsHead(TINY).grown(linear_stream=True)
    tasks = [t for name in ("sum", "scan", "reverse", "sort") for t in _tasks(PROGRAMS[name], 400, seed=1)]
    counts = fit_linear_stream(head.linear, tasks, deepcoder)
    assert counts["exact"] > 0
    return head.eval()


def test_the_fit_keeps_linear_maps_and_drops_the_rest(fitted):
    exact = fitted.linear.exact
    # Headers 1 + n: lists of length n (these inputs have at most 5). A list of 2 or
    # more sorted is no fixed map.
    for name in ("SUM", "SCANL1(+)", "REVERSE"):
        assert exact[NAMES.index(name), 3:7].all(), name
    assert not exact[NAMES.index("SORT"), 3:].any()
    assert not exact[NAMES.index("COUNT(>0)")].any()  # no traces, nothing kept


def _exact_forward(head, source, seed):
    program = deepcoder.parse(source)
    task = _tasks(source, 1, seed)[0]
    predictions = forward_batch(head, program, [list(e.inputs) for e in task.examples], k=1)
    return [p.top for p in predictions], [e.output for e in task.examples]


def test_an_untrained_head_with_the_stream_forwards_a_sum_exactly(fitted):
    # The untrained head's own logits are noise; the output's type (an int) is known.
    predicted, truth = _exact_forward(fitted, PROGRAMS["sum"], seed=7)
    assert predicted == truth


@pytest.mark.parametrize("name, expected", [("scan", [-3, -5, -6, -6, -5]), ("reverse", [1, 0, -1, -2, -3])])
def test_the_stream_computes_linear_lists_exactly(fitted, name, expected):
    codec = fitted.codec
    ids = codec.encode([list(range(-3, 2))], width=codec.slots)
    primitive = NAMES.index({"scan": "SCANL1(+)", "reverse": "REVERSE"}[name])
    numbers, trusted = fitted.linear.step(primitive, (codec.numbers(ids), ids[:, 0], torch.ones(1, dtype=torch.bool)),
                                          None)
    assert trusted.tolist() == [True]
    assert numbers[0, 1:6].tolist() == expected


def test_untrusted_statements_leave_the_dynamics_alone(fitted):
    program = deepcoder.parse(PROGRAMS["sort_then_sum"])
    inputs = [[[5, -3, 9, 1]], [[2, 2, -7]]]
    plain = DynamicsHead(TINY)
    plain.load_state_dict({k: v for k, v in fitted.state_dict().items() if not k.startswith("linear.")})
    plain.eval()
    for a, b in zip(fitted.output_logits(program, inputs), plain.output_logits(program, inputs)):
        assert torch.equal(a, b)  # SORT is not trusted, so neither is the SUM of its result


def test_an_unfitted_stream_changes_nothing():
    torch.manual_seed(0)
    head = DynamicsHead(TINY).eval()
    grown = head.grown(linear_stream=True).eval()
    program = deepcoder.parse(PROGRAMS["sum"])
    for a, b in zip(head.output_logits(program, [[[1, 2, 3]]]), grown.output_logits(program, [[[1, 2, 3]]])):
        assert torch.equal(a, b)


def test_a_fit_without_the_held_out_check_trusts_a_wrong_map():
    # With every map kept (any error tolerated), SORT's least-squares map is trusted
    # and the forward of a fresh SORT is wrong: the held-out check is what keeps it out.
    torch.manual_seed(0)
    head = DynamicsHead(TINY).grown(linear_stream=True).eval()
    fit_linear_stream(head.linear, _tasks(PROGRAMS["sort"], 120, seed=1), deepcoder, tolerance=float("inf"))
    predicted, truth = _exact_forward(head, PROGRAMS["sort"], seed=9)
    assert predicted != truth


def test_the_stream_cannot_be_dropped_and_round_trips(fitted, tmp_path):
    with pytest.raises(ConfigError, match="linear_stream"):
        fitted.grown(linear_stream=False)
    save_dynamics(fitted, tmp_path / "head")
    loaded = load_dynamics(tmp_path / "head").eval()
    assert loaded.config.linear_stream
    for name in ("weight", "exact", "other_max"):
        assert torch.equal(getattr(loaded.linear, name), getattr(fitted.linear, name))
    program = deepcoder.parse(PROGRAMS["sum"])
    assert torch.equal(loaded.output_logits(program, [[[4, -9, 30]]])[1], fitted.output_logits(program, [[[4, -9, 30]]])[1])


def test_training_fits_an_unfitted_stream_first():
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(DynamicsConfig(dim=16, heads=2, linear_stream=True))
    tasks = _tasks(PROGRAMS["sum"], 400, seed=3)
    fit(model, tasks, tasks[:1], TrainConfig(epochs=1, batch_size=64, valid_limit=0), terms=[DynamicsTerm()],
        progress=False)
    assert model.dynamics.linear.exact[NAMES.index("SUM"), 1:7].all()
