"""Small random DeepCoder task sets for the worldmodel tests."""

import random

from worldmodel.datasets import Task, deepcoder


def random_tasks(count: int, seed: int, *, max_length: int = 4, examples: int = 5) -> list[Task]:
    rng = random.Random(seed)
    tasks = []
    while len(tasks) < count:
        program = deepcoder.random_program(rng, rng.randint(1, max_length))
        drawn = deepcoder.random_examples(program, examples, rng)
        if drawn is not None:
            tasks.append(Task(f"s{seed}-{len(tasks)}", tuple(drawn), program.input_types, program))
    return tasks
