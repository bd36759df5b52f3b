"""Reconstruction of held-out programs through the latent space, per program length.

    python docs/reproduce/measure_latent.py --model worldmodel/checkpoints/deepcoder \
        --data data/phi --split test --per-length 1000 [--json OUT.json]

For the first PER_LENGTH programs of each length of the split (dataset order):
``decode(encode(φ))`` with the signature decoded too (beam 1, the mean of
``q(z | φ)``) must give ``φ`` exactly. Also reports how often the amortised
``q(z | x, y)``'s mean decodes (beam 4, the task's signature) to a program that solves
the task's examples (every decoded program is run by the interpreter).
"""

import argparse
import json
import time
from collections import defaultdict

import torch
from worldmodel.datasets import iter_records
from worldmodel.inference import verify

from worldmodel import WorldModel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-length", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = WorldModel.load(args.model).eval()
    by_length = defaultdict(list)
    for task in iter_records(args.data, args.split):
        if len(by_length[len(task.program)]) < args.per_length:
            by_length[len(task.program)].append(task)
    rows, start = {}, time.perf_counter()
    for length in sorted(by_length):
        tasks = by_length[length]
        exact = solved = 0
        for begin in range(0, len(tasks), 256):
            chunk = tasks[begin : begin + 256]
            z = model.encode_programs([t.program for t in chunk])
            decoded = model.decode(z, k=1)
            exact += sum(group[0].program == t.program for group, t in zip(decoded, chunk))
            for task in chunk:
                guess = model.decode(model.recognize(task).loc.unsqueeze(0), k=4, input_types=task.input_types)[0]
                solved += any(verify(d.program, task, model.domain) for d in guess)
        rows[length] = {"programs": len(tasks), "reconstructed": exact / len(tasks), "q_mean_solves": solved / len(tasks)}
        print(f"length {length}: {len(tasks)} programs, reconstructed {exact / len(tasks):.3f}, "
              f"q(z|x,y) mean decodes to a solution {solved / len(tasks):.3f}", flush=True)
    total = sum(r["programs"] for r in rows.values())
    print(f"all: {total} programs, reconstructed "
          f"{sum(r['reconstructed'] * r['programs'] for r in rows.values()) / total:.3f} "
          f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
