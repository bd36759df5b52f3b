"""Small random DeepCoder task sets for the worldmodel tests."""

import random

from worldmodel.datasets import Task, deepcoder


def random_tasks(count: int, seed: int, *, max_length: int = 4, examples: int = 5) -> list[Task]:
    rng = random.Random(seed)
    lengths = range(1, max_length + 1)
    return [deepcoder.random_task(rng, lengths, examples=examples, task_id=f"s{seed}-{i}") for i in range(count)]
