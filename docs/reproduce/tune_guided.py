"""Choose `guided`'s cost scale on Φ's valid split (never on a benchmark).

Usage: python docs/reproduce/tune_guided.py VALID_SAMPLE.jsonl MODEL "npc,floor;npc,floor;..."

VALID_SAMPLE.jsonl is every 20th record of the valid split of the broad Φ
(`docs/reproduce/train_guided_model.sh` writes it); 300 records of lengths 3-6 are
drawn from it with seed 0. Each setting runs weighted enumeration to 10^5 calls and
reports the tasks solved within 10^3, 10^4 and 10^5 calls (anytime: one run gives all).
"""

import json
import random
import statistics
import sys

import torch
from worldmodel.datasets import deepcoder, parse_task
from worldmodel.inference import Budget, Simulator, enumerate_program, primitive_costs

from worldmodel import WorldModel

torch.set_num_threads(1)
sample, model_path, grid = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [line for line in open(sample) if json.loads(line)["length"] >= 3]
random.Random(0).shuffle(lines)
tasks = [parse_task(json.loads(line), deepcoder) for line in lines[:300]]
model = WorldModel.load(model_path).eval()
probabilities = [model.primitive_probabilities(task) for task in tasks]
settings = [None] + [tuple(map(float, item.split(","))) for item in grid.split(";")]
for setting in settings:
    calls = []
    for task, p in zip(tasks, probabilities):
        costs = None if setting is None else primitive_costs(p, nats_per_cost=setting[0], floor=setting[1])
        found = enumerate_program(task, Simulator(task, deepcoder, Budget(calls=100_000, seconds=None)), costs=costs)
        if found.stopped == "solved":
            calls.append(found.calls)
    name = "plain enumeration" if setting is None else f"nats_per_cost={setting[0]}, floor={setting[1]}"
    counts = [sum(c <= b for c in calls) for b in (1e3, 1e4, 1e5)]
    print(f"{name}: solved {counts[0]} / {counts[1]} / {counts[2]} at 1e3 / 1e4 / 1e5; "
          f"median calls {statistics.median(calls) if calls else '-'}", flush=True)
