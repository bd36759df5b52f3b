"""Choose `guided`'s value delays on generated tasks (never on a benchmark).

Usage: python docs/reproduce/tune_value_delays.py MODEL "nats,max_delay,max_scored;..." [SET]

SET is `phi3` (default): 300 tasks of lengths 3-5 from a seed-7 Φ with 3 examples and
ExeDec-like inputs, made by
  worldmodel generate --domain deepcoder --min-length 3 --max-length 5 --examples 3 \
    --min-examples 3 --inputs exedec --seed 7 --count 4000 --workers 2 --quiet --out /tmp/phi-tune3
(its train split, shuffled with seed 0); `phi45`: the same from a seed-8 Φ of lengths
4-5 only, harder, made by the command above with `--min-length 4 --seed 8 --count 3000
--out /tmp/phi-tune45`; or `random`: 300 programs of lengths 3-5 from
`deepcoder.random_program` (seed 11, not deduplicated by behaviour as Φ is), 3 examples
each, constant outputs left out. Each setting runs `guided`'s weighted enumeration to
10^5 calls with the model's primitive costs (1.0 nats per cost, floor 1e-3) and reports
the tasks solved within 10^3, 10^4 and 10^5 calls (anytime: one run gives all);
"none" turns the delays off.
"""

import glob
import json
import random
import statistics
import sys
import time

import torch
from worldmodel.datasets import Task, deepcoder, parse_task
from worldmodel.inference import Budget, Simulator, enumerate_program, primitive_costs
from worldmodel.inference._search_guided import value_delays

from worldmodel import WorldModel


def phi_tasks(root: str) -> list[Task]:
    lines = [line for f in sorted(glob.glob(f"{root}/train/*.jsonl")) for line in open(f)]
    random.Random(0).shuffle(lines)
    return [parse_task(json.loads(line), deepcoder) for line in lines[:300]]


def random_tasks() -> list[Task]:
    rng = random.Random(11)  # random_examples already refuses tasks whose outputs are all equal
    return [deepcoder.random_task(rng, 3 + i % 3, examples=3, task_id=f"r{i}") for i in range(300)]


torch.set_num_threads(1)
model_path, grid = sys.argv[1], sys.argv[2]
chosen = (sys.argv[3:] or ["phi3"])[0]
tasks = random_tasks() if chosen == "random" else phi_tasks({"phi3": "/tmp/phi-tune3", "phi45": "/tmp/phi-tune45"}[chosen])
model = WorldModel.load(model_path).eval()
costs = [primitive_costs(model.primitive_probabilities(t), nats_per_cost=1.0, floor=1e-3) for t in tasks]
for item in grid.split(";"):
    calls, start = [], time.perf_counter()
    for task, cost in zip(tasks, costs):
        delays = None
        if item != "none":
            nats, most, scored = item.split(",")
            delays = value_delays(model.value_scorer(task), nats_per_delay=float(nats), max_delay=int(most),
                                  max_scored=int(scored))
        sim = Simulator(task, deepcoder, Budget(calls=100_000, seconds=None))
        found = enumerate_program(task, sim, costs=cost, delays=delays)
        if found.stopped == "solved":
            calls.append(found.calls)
    counts = [sum(c <= b for c in calls) for b in (1e3, 1e4, 1e5)]
    print(f"{item}: solved {counts[0]} / {counts[1]} / {counts[2]} at 1e3 / 1e4 / 1e5; "
          f"median calls {statistics.median(calls) if calls else '-'}; {time.perf_counter() - start:.0f} s", flush=True)
