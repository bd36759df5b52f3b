"""fit: resume continues at the right step; a small CPU run beats a random energy."""

import json
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner
from helpers import random_tasks
from worldmodel.datasets import write_tasks

from worldmodel import ModelConfig, TrainConfig, WorldModel, evaluate, fit
from worldmodel._training_checkpoint import latest_checkpoint
from worldmodel.cli import main

TINY = ModelConfig(dim=32, token_dim=16)


def _config(**kw):
    base = dict(epochs=2, batch_size=16, warmup=2, lr=3e-3, hard_negatives=2, batch_negatives=2, valid_limit=4,
                checkpoint_every=2, seed=3)
    return TrainConfig(**{**base, **kw})


def _params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_after_stop_matches_uninterrupted_run(tmp_path):
    train, valid = random_tasks(48, 10), random_tasks(4, 11)
    torch.manual_seed(0)
    straight = WorldModel(TINY)
    full = fit(straight, train, valid, _config(), out=tmp_path / "a", progress=False)
    assert full.steps == 6 and full.epochs == 2 and not full.stopped_early

    torch.manual_seed(0)
    stopped = fit(WorldModel(TINY), train, valid, _config(max_steps=4), out=tmp_path / "b", progress=False)
    assert stopped.stopped_early and stopped.steps == 4
    assert (tmp_path / "b" / "model.json").exists()  # a stopped run still exports its model
    last = latest_checkpoint(tmp_path / "b" / "checkpoints")
    state = json.loads((last / "state.json").read_text())
    assert (state["epoch"], state["batch"], state["step"]) == (1, 1, 4)
    # a kill during a checkpoint write leaves a temporary folder: it must be ignored
    (tmp_path / "b" / "checkpoints" / ".tmp-step-000000005").mkdir()

    torch.manual_seed(123)  # a different fresh init: everything must come from the checkpoint
    resumed_model = WorldModel(TINY)
    resumed = fit(resumed_model, train, valid, _config(), out=tmp_path / "b", progress=False)
    assert resumed.resumed_from == str(last)
    assert resumed.steps == 6 and resumed.epochs == 2
    for name, value in _params(straight).items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    assert len(resumed.history) == 2
    # The epoch cut by the stop averages its losses over all its steps, as the
    # uninterrupted run does, not only over the steps after the resume.
    for straight_epoch, resumed_epoch in zip(full.history, resumed.history):
        for name in ("energy_nce", "energy_rank", "similarity"):
            assert resumed_epoch[name] == straight_epoch[name], (name, straight_epoch["epoch"])


def test_small_cpu_run_beats_random_ordering():
    """Energy ordering d vs d+2 on held-out chains: random is 0.5 (sd ~0.04 for ~150 pairs).

    Seeds are fixed, so the run is deterministic; 0.65 is ~3.5 sd above chance. The
    untrained model with the same seed is the deliberately broken control.
    """
    train, valid = random_tasks(320, 20), random_tasks(60, 21)
    torch.manual_seed(0)
    model = WorldModel(TINY)
    before = evaluate(model, valid, neighbour_tasks=0)
    fit(model, train, valid[:4], _config(epochs=3, batch_size=32, hard_negatives=4, batch_negatives=3), progress=False)
    after = evaluate(model, valid, neighbour_tasks=0)
    assert after.energy_pairs_d2 >= 100
    assert after.energy_accuracy_d2 >= 0.65, after
    assert after.energy_accuracy_d2 >= before.energy_accuracy_d2 + 0.05, (before, after)


def test_cli_train_then_evaluate(tmp_path):
    from worldmodel.datasets import deepcoder

    data = tmp_path / "data"
    write_tasks(data / "train" / "a.jsonl", random_tasks(24, 30), deepcoder)
    write_tasks(data / "valid" / "a.jsonl", random_tasks(4, 31), deepcoder)
    write_tasks(data / "test" / "a.jsonl", random_tasks(4, 32), deepcoder)
    runner = CliRunner()
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--dim", "16", "--token-dim", "8",
            "--epochs", "1", "--batch-size", "8", "--quiet", "--valid-limit", "2", "--hard-negatives", "1",
            "--workers", "1"]  # data built in a worker process, as on the GPU box
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["evaluate", "--model", str(tmp_path / "run" / "model"), "--data", str(data),
                                  "--limit", "3", "--neighbour-tasks", "1", "--out", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "e.json").read_text())
    assert metrics["tasks"] == 3 and 0 <= metrics["energy_accuracy_d1"] <= 1
    bad = runner.invoke(main, ["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")])
    assert bad.exit_code != 0 and "no *.jsonl task files" in bad.output


def test_losses_under_bf16_autocast_are_finite():
    """The GPU path runs the losses under bf16 autocast; CPU autocast exercises the same dtypes."""
    from worldmodel import default_terms
    from worldmodel._training import _EpochBatches

    config = _config(batch_size=8)
    model = WorldModel(TINY)
    terms = default_terms(config)
    batch = _EpochBatches(random_tasks(8, 40), model.featurizer, config, terms, 0)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = {k: v for term in terms for k, v in term.loss(model, batch["parts"][term.name]).items()}
        loss = sum(losses.values())
    loss.backward()
    assert set(losses) == {"energy_nce", "energy_rank", "similarity", "primitives"}
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"chain_length": 1}, "chain_length"),
        ({"workers": -2}, "workers"),
        ({"max_steps": 0}, "max_steps"),
        ({"time_limit": -5.0}, "time_limit"),
        ({"lr_by_time": True}, "lr_by_time needs time_limit"),
    ],
)
def test_bad_train_config(kwargs, match):
    from worldmodel import ConfigError

    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_train_config_from_dict_rejects_unknown_fields():
    from worldmodel import ConfigError

    assert TrainConfig.from_dict({"epochs": 2}).epochs == 2
    with pytest.raises(ConfigError, match="unknown field.*epoch_count"):
        TrainConfig.from_dict({"epoch_count": 2})


def test_the_cosine_by_time_warms_up_by_steps_and_ends_with_the_time():
    from worldmodel._training import _lr_factor, _lr_factor_by_time

    assert _lr_factor_by_time(0, 10, 0.5) == _lr_factor(0, 10, 100) == 0.1
    assert _lr_factor_by_time(50, 10, 0.0) == 1.0
    assert abs(_lr_factor_by_time(50, 10, 0.5) - 0.55) < 1e-12
    assert abs(_lr_factor_by_time(50, 10, 1.0) - 0.1) < 1e-12 and _lr_factor_by_time(50, 10, 3.0) == _lr_factor_by_time(50, 10, 1.0)


def test_fit_with_lr_by_time_decays_the_rate_over_the_time_limit(monkeypatch):
    import worldmodel._training as training

    seconds = iter(range(0, 10**6, 10))  # each reading of the clock is 10 s later
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(seconds)))
    model = WorldModel(TINY)
    rates = []
    original = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    config = _config(batch_size=4, epochs=50, warmup=0, lr=1e-2, time_limit=10**4, lr_by_time=True)
    fit(model, random_tasks(8, 3), random_tasks(1, 4), replace(config, max_steps=6), progress=False)
    assert len(rates) == 6 and rates == sorted(rates, reverse=True) and rates[0] < 1e-2
