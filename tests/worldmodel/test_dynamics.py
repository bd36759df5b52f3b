"""The dynamics head: config checks, ODE properties, gradients, training, checkpoints."""

import json
import random

import pytest
import torch
from helpers import random_tasks
from worldmodel.datasets import deepcoder

from worldmodel import (
    CheckpointError,
    ConfigError,
    DynamicsConfig,
    DynamicsHead,
    DynamicsTerm,
    ModelConfig,
    TrainConfig,
    WorldModel,
    fit,
    load_dynamics,
    load_model,
    save_dynamics,
    save_model,
    statement_plan,
)
from worldmodel._config import config_from_dict
from worldmodel._dynamics import DYNAMICS_LIMITS

TINY = DynamicsConfig(dim=16, heads=2)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"dim": 2}, "dim must be in"),
        ({"dim": 18, "heads": 4}, "must divide dim"),
        ({"transition": "gru"}, "transition must be one of"),
        ({"solver": "leapfrog"}, "solver must be one of"),
        ({"steps": 0}, "steps must be in"),
        ({"dim": 16.0}, "dim must be int"),
        ({"adjoint": 1}, "adjoint must be bool"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(fields, words):
    with pytest.raises(ConfigError, match=words):
        config_from_dict(DynamicsConfig, fields, limits=DYNAMICS_LIMITS)


def test_statement_plan_carries_the_list_argument():
    p = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- ZIPWITH (+) c a | e <- HEAD d")
    names = list(deepcoder.primitives)
    assert statement_plan(p, deepcoder) == [
        (names.index("TAKE"), 0, 1), (names.index("ZIPWITH(+)"), 2, 0), (names.index("HEAD"), 3, -1)
    ]


def _latents(head, seed=0, n=3, width=4):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, width, head.config.dim, generator=generator)


def test_reverse_integration_inverts_the_forward_one_and_the_residual_step_does_not():
    torch.manual_seed(0)
    ode = DynamicsHead(DynamicsConfig(dim=16, heads=2, steps=8))
    residual = DynamicsHead(DynamicsConfig(dim=16, heads=2, transition="residual"))
    residual.load_state_dict(ode.state_dict())
    h = _latents(ode)
    primitive = torch.tensor([3, 7, 11])
    with torch.no_grad():
        for head, inverts in ((ode, True), (residual, False)):
            back = head.step(head.step(h, None, primitive), None, primitive, reverse=True)
            error = float((back - h).abs().max())
            assert (error < 1e-2) == inverts, error


def test_step_passes_gradcheck_in_float64():
    head = DynamicsHead(DynamicsConfig(dim=4, heads=1, steps=1)).double()
    h = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    other = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: head.step(a, b, torch.tensor([5])), (h, other))


def test_adjoint_gradients_equal_direct_ones():
    torch.manual_seed(1)
    # Fixed-step rk4 integrates the adjoint equation with its own error (order 4), so
    # the two agree to the solver's accuracy, not to rounding.
    direct = DynamicsHead(DynamicsConfig(dim=8, heads=2, steps=8)).double()
    adjoint = DynamicsHead(DynamicsConfig(dim=8, heads=2, steps=8, adjoint=True)).double()
    adjoint.load_state_dict(direct.state_dict())
    grads = []
    for head in (direct, adjoint):
        h = _latents(head, n=2, width=3).double().requires_grad_()
        other = _latents(head, seed=1, n=2, width=3).double().requires_grad_()
        head.step(h, other, torch.tensor([1, 2])).pow(2).sum().backward()
        grads.append((h.grad, other.grad, head.field.out.weight.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_every_parameter_gets_a_gradient_from_the_term():
    head = DynamicsHead(TINY)
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(head)
    term = DynamicsTerm()
    part = term.build(random_tasks(6, 0, max_length=3), model.featurizer)
    sum(term.loss(model, part).values()).backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_fit_trains_the_dynamics_head_and_its_loss_falls():
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(TINY)
    tasks = random_tasks(16, 1, max_length=2, examples=3)
    term = DynamicsTerm()
    part = term.build(tasks, model.featurizer)

    def losses():
        with torch.no_grad():
            return {k: float(v) for k, v in term.loss(model, part).items()}

    before = losses()
    config = TrainConfig(epochs=6, batch_size=4, lr=5e-3, warmup=2, valid_limit=0)
    fit(model, tasks, tasks[:1], config, terms=[term], progress=False)
    after = losses()
    assert after["dyn_forward"] < 0.85 * before["dyn_forward"], (before, after)
    assert after["dyn_reverse"] < 0.92 * before["dyn_reverse"], (before, after)


def test_checkpoint_round_trip_with_dynamics(tmp_path):
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(TINY)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    p = deepcoder.parse("a <- [int] | b <- SORT a | c <- SUM b")
    assert loaded.forward([[3, 1, 2]], p, k=3) == model.forward([[3, 1, 2]], p, k=3)
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["dynamics"]["dim"] == 16


def test_old_checkpoints_without_dynamics_still_load(tmp_path):
    save_model(WorldModel(ModelConfig(dim=8, token_dim=8)), tmp_path / "old")
    model = load_model(tmp_path / "old")
    assert model.dynamics is None
    with pytest.raises(ValueError, match="no dynamics head"):
        model.forward([[1]], deepcoder.parse("a <- [int] | b <- SORT a"))


def test_a_checkpoint_whose_dynamics_config_does_not_fit_its_tensors_is_refused(tmp_path):
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(TINY)
    save_model(model, tmp_path / "m")
    meta = tmp_path / "m.json"
    record = json.loads(meta.read_text())
    record["dynamics"]["dim"] = 10**6
    meta.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="dim must be in"):
        load_model(tmp_path / "m")


def test_save_and_load_a_dynamics_head_alone(tmp_path):
    head = DynamicsHead(TINY)
    save_dynamics(head, tmp_path / "d")
    loaded = load_dynamics(tmp_path / "d")
    for (name, a), (_, b) in zip(head.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True, msg=name)
    data = bytearray((tmp_path / "d.safetensors").read_bytes())
    data[-1] ^= 1
    (tmp_path / "d.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_dynamics(tmp_path / "d")
    with pytest.raises(CheckpointError, match="not a worldmodel dynamics file"):
        save_model(WorldModel(ModelConfig(dim=8, token_dim=8)), tmp_path / "m")
        load_dynamics(tmp_path / "m")


def test_random_programs_run_in_latent_space_with_one_latent_per_variable():
    rng = random.Random(0)
    head = DynamicsHead(TINY)
    for _ in range(5):
        p = deepcoder.random_program(rng, rng.randint(1, 4))
        inputs = [deepcoder.random_inputs(p.input_types, rng) for _ in range(3)]
        latents = head.run_program(p, inputs)
        assert len(latents) == p.num_variables and all(h.shape[0] == 3 for h in latents)


def test_rollouts_and_training_batches_span_every_slot_whatever_the_values():
    # The vector field attends over all slots, pads included: a query on short lists
    # must run at the width training uses, or each attention average changes.
    head = DynamicsHead(TINY)
    p = deepcoder.parse("a <- [int] | b <- SORT a")
    assert [h.shape[1] for h in head.run_program(p, [([3, 1],)])] == [head.codec.slots] * 2
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    short = [t for t in random_tasks(12, 3, max_length=2) if all(
        len(v) < 5 for e in t.examples for v in (*e.inputs, e.output) if isinstance(v, list))]
    assert short
    assert DynamicsTerm().build(short, model.featurizer).ids.shape[1] == head.codec.slots


def test_a_grown_head_computes_what_the_head_did_and_trains_on():
    torch.manual_seed(2)
    head = DynamicsHead(DynamicsConfig(dim=16, heads=2, transition="residual")).eval()
    grown = head.grown(layers=3, numeric_readout=True).eval()
    assert grown.config.layers == 3 and grown.config.numeric_readout
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in head.parameters())
    p = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- SORT c")
    inputs = [([5, -3, 9], 2), ([], 0), ([1, 1, 250, -256], 3)]
    with torch.no_grad():
        before = [t for t in head.decode(head.run_program(p, inputs)[-1])]
        after = [t for t in grown.decode(grown.run_program(p, inputs)[-1])]
    torch.testing.assert_close(after[0], before[0])
    torch.testing.assert_close(torch.log_softmax(after[1], -1), torch.log_softmax(before[1], -1), atol=0.05, rtol=0)
    # The new blocks and the readout get gradients once the zeroed layers move.
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_dynamics(grown.train())
    term = DynamicsTerm()
    sum(term.loss(model, term.build(random_tasks(6, 0, max_length=3), model.featurizer)).values()).backward()
    for name in ("field.blocks.2.mlp.2.weight", "field.blocks.2.attention.out_proj.weight", "decoder.numeric.proj.weight"):
        assert float(dict(grown.named_parameters())[name].grad.abs().sum()) > 0, name


def test_grown_refuses_to_shrink_and_round_trips(tmp_path):
    head = DynamicsHead(DynamicsConfig(dim=16, heads=2, layers=2, numeric_readout=True))
    with pytest.raises(ConfigError, match="layers"):
        head.grown(layers=1)
    with pytest.raises(ConfigError, match="numeric_readout"):
        head.grown(numeric_readout=False)
    save_dynamics(head, tmp_path / "h")
    loaded = load_dynamics(tmp_path / "h")
    assert loaded.config == head.config
    p = deepcoder.parse("a <- [int] | b <- SUM a")
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(loaded.run_program(p, [([1, 2],)])[-1])[1],
                                   head.decode(head.run_program(p, [([1, 2],)])[-1])[1])


def test_a_config_written_before_the_readout_existed_loads_without_it():
    fields = {k: v for k, v in TINY.to_dict().items() if k != "numeric_readout"}
    assert config_from_dict(DynamicsConfig, fields, limits=DYNAMICS_LIMITS).numeric_readout is False
