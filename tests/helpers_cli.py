"""A tiny world model with a calibrated dynamics head, saved for the CLI tests."""

import torch
from worldmodel.datasets import Task, deepcoder

from worldmodel import (
    DynamicsConfig,
    ModelConfig,
    PolicyConfig,
    WorldModel,
    calibrate_spec_density,
    save_dynamics,
    save_model,
)


def _tasks(count: int, seed: int) -> list[Task]:
    import random

    rng = random.Random(seed)
    return [deepcoder.random_task(rng, (1, 2, 3), examples=3, task_id=f"c{seed}-{i}") for i in range(count)]


def tiny_model_files(folder) -> dict[str, str]:
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_policy(PolicyConfig(hidden_features=8, flow_layers=1))
    head = model.attach_dynamics(DynamicsConfig(dim=8, heads=2))
    calibrate_spec_density(head, _tasks(80, 0), _tasks(60, 1), false_alarm=0.05)
    save_model(model, folder / "model")
    save_dynamics(head, folder / "dynamics")
    return {"model": str(folder / "model"), "dynamics": str(folder / "dynamics")}
