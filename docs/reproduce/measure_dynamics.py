"""Forward top-1 exact and reverse top-10 hit rates of a dynamics head, per program length.

    python docs/reproduce/measure_dynamics.py --dynamics runs/device/ode --data data/phi \
        --split test --per-length 200 [--json OUT.json]

Pairs are (program, example) of the first PER_LENGTH programs of each length of the
split, in dataset order. Forward: the likeliest decoded output equals the interpreter's.
Reverse: among the first 10 proposals for the example's output, one is confirmed by
the interpreter (every proposal is run).
"""

import argparse
import json
import sys
import time
from collections import defaultdict

import torch
from worldmodel.datasets import iter_records

from worldmodel import load_dynamics
from worldmodel._queries import forward_batch
from worldmodel._reverse_query import reverse_query


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dynamics", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-length", type=int, default=200)
    parser.add_argument("--reverse-per-length", type=int, default=None, help="programs for reverse (default per-length)")
    parser.add_argument("--lengths", default=None, help="comma-separated program lengths (default all)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--reverse-options", default="{}",
                        help='JSON keyword arguments of reverse_query, e.g. \'{"refine": 0, "guesses": false}\' '
                             "(default {}: its defaults)")
    parser.add_argument("--no-forward", action="store_true", help="measure reverse only")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the local machine is shared
    reverse_options = json.loads(args.reverse_options)
    head = load_dynamics(args.dynamics).eval()
    reverse_limit = args.per_length if args.reverse_per_length is None else args.reverse_per_length
    lengths = None if args.lengths is None else {int(n) for n in args.lengths.split(",")}
    by_length = defaultdict(list)
    for task in iter_records(args.data, args.split):
        length = len(task.program)
        if (lengths is None or length in lengths) and len(by_length[length]) < args.per_length:
            by_length[length].append(task)
    rows = {}
    start = time.perf_counter()
    for length in sorted(by_length):
        forward_hits = forward_total = reverse_hits = reverse_total = 0
        for index, task in enumerate(by_length[length]):
            if not args.no_forward:
                inputs = [list(e.inputs) for e in task.examples]
                predictions = forward_batch(head, task.program, inputs, k=1)
                for example, prediction in zip(task.examples, predictions):
                    forward_hits += prediction.top == example.output
                    forward_total += 1
            if index < reverse_limit:
                for example in task.examples:
                    result = reverse_query(head, task.program, example.output, k=10, **reverse_options)
                    reverse_hits += bool(result.preimages)
                    reverse_total += 1
        rows[length] = {
            "programs": len(by_length[length]),
            "forward_pairs": forward_total,
            "forward_top1": forward_hits / forward_total if forward_total else None,
            "reverse_pairs": reverse_total,
            "reverse_top10": reverse_hits / reverse_total if reverse_total else None,
        }
        print(length, rows[length], f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print("| length | programs | forward pairs | forward top-1 exact | reverse pairs | reverse top-10 confirmed |")
    print("|---|---|---|---|---|---|")
    for length, r in rows.items():
        def cell(x):
            return "-" if x is None else f"{x:.3f}"

        print(f"| {length} | {r['programs']} | {r['forward_pairs']} | {cell(r['forward_top1'])} | "
              f"{r['reverse_pairs']} | {cell(r['reverse_top10'])} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"dynamics": args.dynamics, "split": args.split, "reverse_options": reverse_options, "rows": rows},
                      handle, indent=2)


if __name__ == "__main__":
    main()
