"""Milliseconds per policy call on CPU for length-4 DeepCoder programs (5 examples).

Usage: .venv/bin/python docs/reproduce/policy_speed.py [--programs 20] [--threads 1]
Prints the mean candidate count and the wall/CPU ms of: enumerating the candidates,
featurising them, FlowPolicy.log_probs (features + flow), and
WorldModel.policy_distribution (adds the model's state_context).
"""

import argparse
import random
import time

import torch
from worldmodel.datasets import deepcoder

from worldmodel import ModelConfig, WorldModel
from worldmodel._edit_features import edit_features


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--programs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(0)
    tasks = [deepcoder.random_task(rng, 4, task_id=str(i)) for i in range(args.programs)]
    model = WorldModel(ModelConfig()).eval()
    policy = model.attach_policy().eval()
    timings = {"candidates": [], "features": [], "log_probs": [], "model.policy_distribution": []}
    sizes = []

    def timed(name, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        return out

    context = torch.zeros(model.context_dim)
    with torch.no_grad():
        for task in tasks + tasks[:2]:  # the first two are warm-up
            program = task.program
            edits = timed("candidates", policy.candidates, program)
            sizes.append(len(edits))
            timed("features", edit_features, task, program, edits, deepcoder)
            timed("log_probs", policy.log_probs, task, program, edits, context=context)
            timed("model.policy_distribution", model.policy_distribution, task, program)
    print(f"{args.programs} length-4 programs, mean {sum(sizes) / len(sizes):.0f} candidate edits, {args.threads} thread(s)")
    for name, rows in timings.items():
        rows = rows[2:]
        wall = 1000 * sum(r[0] for r in rows) / len(rows)
        cpu = 1000 * sum(r[1] for r in rows) / len(rows)
        print(f"{name:>24}: {wall:7.1f} ms wall, {cpu:7.1f} ms CPU")


if __name__ == "__main__":
    main()
