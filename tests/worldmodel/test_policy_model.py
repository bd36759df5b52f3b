"""The policy inside the WorldModel: query API, checkpoints, fit and evaluate."""

import math

import pytest
import torch
from helpers import random_tasks

from worldmodel import (
    CheckpointError,
    ModelConfig,
    TrainConfig,
    WorldModel,
    evaluate,
    fit,
    load_model,
    save_model,
)
from worldmodel._training_checkpoint import load_training_checkpoint

TINY = ModelConfig(dim=16, token_dim=8)



def test_query_api_normalised_and_valid():
    model = WorldModel(TINY)
    with pytest.raises(ValueError, match="attach_policy"):
        model.policy_distribution(*_state())
    policy = model.attach_policy()
    assert policy.config.context_features == model.context_dim
    task, program = _state()
    edits, log_p = model.policy_distribution(task, program)
    assert edits == policy.candidates(program) and log_p.shape == (len(edits),)
    assert math.isclose(float(log_p.exp().sum()), 1.0, abs_tol=1e-5)
    subset, log_q = model.policy_distribution(task, program, edits[:9])
    assert len(subset) == 9 and math.isclose(float(log_q.exp().sum()), 1.0, abs_tol=1e-5)
    envs = model.featurizer.environments(task, program)
    _, with_envs = model.policy_distribution(task, program, environments=envs)
    assert torch.allclose(with_envs, log_p, atol=1e-6)
    edit = model.policy_sample(task, program, generator=torch.Generator().manual_seed(0))
    assert edit in edits
    model.domain.apply_edit(program, edit)


def test_checkpoint_round_trip_keeps_the_policy(tmp_path):
    model = WorldModel(TINY)
    model.attach_policy()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.policy is not None and loaded.policy.config == model.policy.config
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    task, program = _state()
    assert torch.equal(model.policy_distribution(task, program)[1], loaded.policy_distribution(task, program)[1])
    # A model without a policy still loads without one.
    save_model(WorldModel(TINY), tmp_path / "plain")
    assert load_model(tmp_path / "plain").policy is None


def test_fit_trains_the_policy_and_evaluate_reports_it(tmp_path):
    train, valid = random_tasks(48, 20, max_length=3), random_tasks(6, 21, max_length=3)
    torch.manual_seed(0)
    model = WorldModel(TINY)
    model.attach_policy()
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    config = TrainConfig(epochs=2, batch_size=16, warmup=1, lr=3e-3, hard_negatives=1, batch_negatives=1,
                         valid_limit=6, checkpoint_every=100, seed=1)
    result = fit(model, train, valid, config, out=tmp_path / "run", progress=False)
    assert all("policy" in record for record in result.history)
    assert result.history[-1]["policy"] < result.history[0]["policy"]
    changed = [k for k, v in model.policy.state_dict().items() if not torch.equal(v, before[k])]
    assert changed
    metrics = evaluate(model, valid, neighbour_tasks=3).policy
    assert metrics is not None and metrics["states"] > 0
    assert 0.0 <= metrics["good_mass"] <= 1.0 and 0.0 <= metrics["top5"] <= 1.0
    # The run's final model carries the policy; resuming a policy run without one is refused.
    assert load_model(tmp_path / "run" / "model").policy is not None
    plain = WorldModel(TINY)
    optimiser = torch.optim.AdamW(plain.parameters())
    checkpoint = sorted((tmp_path / "run" / "checkpoints").glob("step-*"))[-1]
    with pytest.raises(CheckpointError, match="policy"):
        load_training_checkpoint(checkpoint, plain, optimiser, device=torch.device("cpu"))


def _state():
    (task,) = random_tasks(1, 30, max_length=3)
    return task, task.program


def test_cli_train_with_policy_then_evaluate(tmp_path):
    import json

    from click.testing import CliRunner
    from worldmodel.datasets import deepcoder, write_tasks

    from worldmodel.cli import main

    data = tmp_path / "data"
    write_tasks(data / "train" / "a.jsonl", random_tasks(16, 40, max_length=3), deepcoder)
    write_tasks(data / "valid" / "a.jsonl", random_tasks(2, 41, max_length=3), deepcoder)
    write_tasks(data / "test" / "a.jsonl", random_tasks(3, 42, max_length=3), deepcoder)
    runner = CliRunner()
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--dim", "16", "--token-dim", "8",
            "--epochs", "1", "--batch-size", "8", "--quiet", "--valid-limit", "2", "--hard-negatives", "1",
            "--policy", "--workers", "1"]  # the policy's batch part crosses a worker process
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["policy"] > 0 and history[-1]["valid"]["policy"]["states"] > 0
    result = runner.invoke(main, ["evaluate", "--model", str(tmp_path / "run" / "model"), "--data", str(data),
                                  "--neighbour-tasks", "2", "--out", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    policy = json.loads((tmp_path / "e.json").read_text())["policy"]
    assert policy["states"] > 0 and 0 <= policy["top5"] <= 1


def test_policy_loss_under_bf16_autocast_is_finite():
    import random

    from worldmodel._data import sample_task
    from worldmodel._policy_term import PolicyTerm

    model = WorldModel(TINY)
    model.attach_policy()
    tasks = random_tasks(4, 50, max_length=3)
    rng = random.Random(0)
    samples = [sample_task(t, tasks, model.featurizer, rng, chain_length=3, hard_negatives=1, batch_negatives=1) for t in tasks]
    part = PolicyTerm().build(samples, model.featurizer)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = PolicyTerm().loss(model, part)["policy"]
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in model.policy.parameters())
