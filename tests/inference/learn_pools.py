"""Task pools the learning tests share."""

import random

from worldmodel.datasets import Task, deepcoder

MOTIF = deepcoder.parse("a <- [int] | b <- MAP (*3) a | c <- FILTER (>0) b | d <- SCANL1 (+) c")


def motif_pool() -> list[Task]:
    """Eight tasks whose programs are ``MOTIF`` then one statement, six examples each:
    `learn` finds a skill in round 1 that round 2's searches call."""
    rng = random.Random(0)
    tasks = []
    for i, tail in enumerate(["MAP (-1) d", "REVERSE d", "MAP (+1) d", "COUNT (%2==0) d", "SUM d", "MAXIMUM d",
                              "MAP (*(-1)) d", "FILTER (%2==0) d"]):
        program = deepcoder.parse(f"{deepcoder.format(MOTIF)} | e <- {tail}")
        tasks.append(Task(f"m{i}", tuple(deepcoder.random_examples(program, 6, rng)), program.input_types))
    return tasks
