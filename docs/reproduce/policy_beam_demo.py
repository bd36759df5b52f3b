"""Beam search over appended statements guided by a standalone FlowPolicy vs. a uniform
policy, on held-out random DeepCoder tasks (a demonstration of the policy in search).

Usage: .venv/bin/python docs/reproduce/policy_beam_demo.py [--train 400] [--epochs 8] [--tasks 40] [--width 16]

Each level keeps the ``width`` programs with the best cumulative log-probability among
the appends of the current beam (the policy normalised over the appends of each
program); every kept program is run on the examples (``width * K`` simulator calls a
level) and the search stops at the first that reproduces all outputs.
"""

import argparse
import random
import time

import torch
from worldmodel.datasets import ExecutionError, InsertStatement, deepcoder

from worldmodel import FlowPolicy, PolicyConfig, PolicyTrainConfig, empty_program, train_policy


def tasks(count, seed, lengths):
    rng = random.Random(seed)
    return [deepcoder.random_task(rng, lengths, task_id=f"{seed}-{i}") for i in range(count)]


def solves(program, task):
    try:
        return all(deepcoder.run(program, list(e.inputs)) == e.output for e in task.examples)
    except ExecutionError:
        return False


def beam_search(task, score, width, depth):
    beam, calls = [(0.0, empty_program(task))], 0
    for _ in range(depth):
        children = []
        for total, program in beam:
            appends = [e for e, _ in deepcoder.neighbours(program, max_length=depth) if isinstance(e, InsertStatement) and e.index == len(program)]
            for edit, log_p in zip(appends, score(task, program, appends)):
                children.append((total + float(log_p), deepcoder.apply_edit(program, edit)))
        children.sort(key=lambda c: -c[0])
        beam = children[:width]
        for _, program in beam:
            calls += len(task.examples)
            if solves(program, task):
                return True, calls
    return False, calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = FlowPolicy(PolicyConfig(max_length=4))
    t0 = time.time()
    train_policy(policy, tasks(args.train, 1, (1, 2, 3, 4)), config=PolicyTrainConfig(epochs=args.epochs), seed=0)
    print(f"trained in {time.time() - t0:.0f} s")
    policy.eval()
    gen = torch.Generator().manual_seed(0)

    def learned(task, program, edits):
        with torch.no_grad():
            return policy.log_probs(task, program, edits).tolist()

    def uniform(task, program, edits):  # random tie-breaking among equal scores
        return (torch.rand(len(edits), generator=gen) * 1e-6).tolist()

    held_out = tasks(args.tasks, 2, (1, 2, 3, 4))
    for name, score in (("flow policy", learned), ("uniform", uniform)):
        t0 = time.time()
        rows = [beam_search(task, score, args.width, 4) for task in held_out]
        solved = [len(t.program) for t, (ok, _) in zip(held_out, rows) if ok]
        by_length = {n: f"{solved.count(n)}/{sum(len(t.program) == n for t in held_out)}" for n in range(1, 5)}
        print(f"{name}: solved {len(solved)}/{len(held_out)} {by_length}, mean calls {sum(c for _, c in rows) / len(rows):.0f}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
