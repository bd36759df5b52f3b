"""How well a model's value head tells, among the values a search builds, those a solution makes.

Usage: python docs/reproduce/measure_value_auc.py MODEL

For 150 generated tasks (the `phi3` set of tune_value_delays.py, tasks 300-449 of its
shuffled train split), `guided`'s weighted enumeration runs to 3 000 calls and the
first 1 024 values it builds are scored by the value head. A value is positive when
the task's program computes it (one of its intermediate values). Prints the ROC AUC
of the head's log-probabilities and, per delay (0, 1, 2 levels at the defaults),
the share of positives and of negatives it gets.
"""

import glob
import json
import random
import sys

import numpy as np
import torch
from worldmodel.datasets import deepcoder, parse_task
from worldmodel.inference import Budget, Simulator, enumerate_program, primitive_costs
from worldmodel.inference._enumerate import _key

from worldmodel import WorldModel

torch.set_num_threads(1)
lines = [line for f in sorted(glob.glob("/tmp/phi-tune3/train/*.jsonl")) for line in open(f)]
random.Random(0).shuffle(lines)
tasks = [parse_task(json.loads(line), deepcoder) for line in lines[300:450]]
model = WorldModel.load(sys.argv[1]).eval()
positive, negative = [], []
for task in tasks:
    traces = [deepcoder.trace(task.program, list(e.inputs)) for e in task.examples]
    made = {_key([trace[v] for trace in traces]) for v in range(len(task.input_types), len(traces[0]) - 1)}
    built: list[tuple] = []

    def record(values, built=built):
        built.extend(values)
        return [0] * len(values)

    costs = primitive_costs(model.primitive_probabilities(task), nats_per_cost=1.0, floor=1e-3)
    enumerate_program(task, Simulator(task, deepcoder, Budget(calls=3000, seconds=None)), costs=costs, delays=record)
    built = built[:1024]
    for value, q in zip(built, model.value_scorer(task)(built) if built else []):
        (positive if value in made else negative).append(q)
p, n = np.array(positive), np.array(negative)
ranks = np.concatenate([p, n]).argsort().argsort() + 1
auc = (ranks[: len(p)].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(n))
print(f"{len(p)} positive and {len(n)} negative values; AUC {auc:.3f}")
for delay in (0, 1, 2):
    share = [float(np.mean(np.minimum(2, np.round(-x / 2)) == delay)) for x in (p, n)]
    print(f"delay {delay}: {share[0]:.1%} of positives, {share[1]:.1%} of negatives")
