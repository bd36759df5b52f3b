"""The program latent space: typed decoding, training the autoencoder, the bounded energy, the shipped head."""

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import Example, Task, Type, deepcoder

from worldmodel import (
    LatentConfig,
    LatentHead,
    LatentTerm,
    ModelConfig,
    TrainConfig,
    WorldModel,
    fit,
)

TINY = LatentConfig(latent_dim=4, hidden=32, embed=16, critic=16, spec_dim=16)


def _tiny_head(seed: int = 0) -> LatentHead:
    torch.manual_seed(seed)
    return LatentHead(TINY)


HEAD = _tiny_head()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=4, max_size=4), st.sampled_from([None, *deepcoder.signatures]))
def test_every_decoded_program_is_well_typed(z, signature):
    decoded = HEAD.decode(torch.tensor([z]), k=3, input_types=signature)[0]
    assert 1 <= len(decoded) <= 3
    for candidate in decoded:
        program = candidate.program
        assert deepcoder.parse(deepcoder.format(program)) == program  # parse checks every type
        assert 1 <= len(program) <= TINY.max_length
        assert signature is None or program.input_types == tuple(signature)
    log_probs = [c.log_prob for c in decoded]
    assert log_probs == sorted(log_probs, reverse=True) and all(lp <= 0 for lp in log_probs)
    assert len({c.program for c in decoded}) == len(decoded)


def test_beam_log_probs_are_the_decoders_own():
    z = torch.randn(1, 4, generator=torch.Generator().manual_seed(1))
    (best, *_), = HEAD.decode(z, k=2)
    from worldmodel._latent_head import action_batch

    actions, masks = action_batch(HEAD.grammar, [best.program])
    with torch.no_grad():
        log_p = HEAD.decode_logits(z, actions, masks).gather(-1, actions.unsqueeze(-1)).sum()
    assert float(log_p) == pytest.approx(best.log_prob, abs=1e-4)


def _tasks(count: int, seed: int) -> list[Task]:
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        program = deepcoder.random_program(rng, rng.randint(1, 3))
        examples = []
        while len(examples) < 3:
            inputs = deepcoder.random_inputs(program.input_types, rng)
            try:
                examples.append(Example(inputs, deepcoder.run(program, list(inputs))))
            except Exception:
                continue
        tasks.append(Task(f"t{i}", tuple(examples), program.input_types, program))
    return tasks


def test_training_the_latent_term_alone_reconstructs_its_programs():
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_latent(LatentConfig(latent_dim=8, hidden=64, embed=16, critic=16))
    tasks = _tasks(16, seed=0)
    before = {name: p.clone() for name, p in model.named_parameters() if not name.startswith("latent.")}
    config = TrainConfig(epochs=200, batch_size=16, lr=3e-3, warmup=10, only="latent", valid_limit=0, workers=0, seed=0)
    fit(model, tasks, [], config, progress=False)
    z = model.encode_programs([t.program for t in tasks])
    decoded = model.decode(z, k=1)
    exact = sum(group[0].program == t.program for group, t in zip(decoded, tasks))
    assert exact >= 15, exact
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters() if name in before)


def test_the_decoding_loss_trains_only_the_spec_side_and_makes_q_decode_the_program():
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_latent(LatentConfig(latent_dim=8, hidden=64, embed=16, critic=16))
    tasks = _tasks(16, seed=0)
    config = TrainConfig(epochs=200, batch_size=16, lr=3e-3, warmup=10, only="latent", valid_limit=0, workers=0, seed=0)
    fit(model, tasks, [], config, progress=False, terms=[LatentTerm()])
    autoencoder = {n: p.clone() for n, p in model.latent.named_parameters()
                   if n.split(".")[0] not in ("recognition", "critic_spec", "critic_latent")}

    def q_decodes() -> int:
        return sum(model.decode(model.recognize(t).loc[None], k=1, input_types=t.input_types)[0][0].program == t.program
                   for t in tasks)

    before = q_decodes()
    refit = TrainConfig(epochs=300, batch_size=16, lr=1e-2, warmup=10, only="latent", valid_limit=0, workers=0, seed=1)
    fit(model, tasks, [], refit, progress=False, terms=[LatentTerm(autoencoder=False, decoding_weight=1.0)])
    assert all(torch.equal(p, autoencoder[n]) for n, p in model.latent.named_parameters() if n in autoencoder)
    after = q_decodes()
    assert after >= 12 and after > before, (before, after)


def test_the_energy_is_bounded_and_the_potential_has_gradients():
    s = torch.randn(16)
    z = torch.randn(5, 4) * 1e4
    assert bool((HEAD.energy(s, z).abs() <= TINY.energy_bound).all())
    z = torch.zeros(2, 3, 4, requires_grad=True)
    u = HEAD.potential(s, z)
    assert u.shape == (2, 3)
    u.sum().backward()
    assert torch.isfinite(z.grad).all()


def test_a_model_without_a_latent_space_says_how_to_get_one():
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    with pytest.raises(ValueError, match="attach_latent"):
        model.decode(torch.zeros(1, 4))
    task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
    with pytest.raises(ValueError, match="train --latent"):
        model.recognize(task)


def test_decode_rejects_a_wrong_shape_and_a_foreign_signature():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        HEAD.decode(torch.zeros(4))
    with pytest.raises(ValueError, match="not one of the domain's"):
        HEAD.decode(torch.zeros(1, 4), input_types=(Type.INT,))


def test_the_shipped_latent_space_reconstructs_random_programs():
    model = WorldModel.default()
    rng = random.Random(2026)
    programs = [deepcoder.random_program(rng, length) for length in range(1, 6) for _ in range(40)]
    decoded = model.decode(model.encode_programs(programs), k=1)
    exact = sum(group[0].program == p for group, p in zip(decoded, programs))
    assert exact >= 0.9 * len(programs), exact


def _model_with_latent() -> WorldModel:
    torch.manual_seed(3)
    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_latent(LatentConfig(latent_dim=4, hidden=16, embed=8, critic=8))
    return model


def test_a_latent_space_round_trips_through_its_checkpoint(tmp_path):
    model = _model_with_latent()
    model.save(tmp_path / "m")
    loaded = WorldModel.load(tmp_path / "m")
    assert loaded.latent.config == model.latent.config
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert model.decode(z, k=2) == loaded.decode(z, k=2)


def test_an_edited_latent_config_is_caught_before_anything_is_built(tmp_path):
    import json

    from worldmodel import CheckpointError

    model = _model_with_latent()
    model.save(tmp_path / "m")
    meta = tmp_path / "m.json"
    record = json.loads(meta.read_text())
    record["latent"]["hidden"] = 10**6
    meta.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="LatentConfig.hidden must be in"):
        WorldModel.load(tmp_path / "m")
    record["latent"]["hidden"] = 32
    meta.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="differs from the one saved inside"):
        WorldModel.load(tmp_path / "m")


def test_attach_latent_refuses_spec_features_of_another_width():
    from worldmodel import ConfigError

    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    with pytest.raises(ConfigError, match="spec_dim must be 54"):
        model.attach_latent(LatentConfig(spec_dim=7))
