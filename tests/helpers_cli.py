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
    tasks = []
    while len(tasks) < count:
        program = deepcoder.random_program(rng, rng.randint(1, 3))
        drawn = deepcoder.random_examples(program, 3, rng)
        if drawn is not None:
            tasks.append(Task(f"c{seed}-{len(tasks)}", tuple(drawn), program.input_types, program))
    return tasks


def tiny_model_files(folder) -> dict[str, str]:
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(dim=8, token_dim=8))
    model.attach_policy(PolicyConfig(hidden_features=8, flow_layers=1))
    head = model.attach_dynamics(DynamicsConfig(dim=8, heads=2))
    calibrate_spec_density(head, _tasks(80, 0), _tasks(60, 1), false_alarm=0.05)
    save_model(model, folder / "model")
    save_dynamics(head, folder / "dynamics")
    return {"model": str(folder / "model"), "dynamics": str(folder / "dynamics")}
