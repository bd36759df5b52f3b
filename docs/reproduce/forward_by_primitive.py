"""Forward top-1 exact rate of a dynamics head per primitive, on the length-1 programs of
every split of a dataset (docs/benchmarks.md, issue 12, eighth pass):

    python docs/reproduce/forward_by_primitive.py HEAD DATA

HEAD: a head of save_dynamics; DATA: e.g. /tmp/phi-s99 from `worldmodel generate
--count 400 --max-length 1 --examples 8 --min-examples 8 --inputs exedec,medium,pccoder
--seed 99 --out /tmp/phi-s99` (fresh inputs for every length-1 program). Prints the
total and the primitives that miss, worst first.
"""

import collections
import sys

import torch
from worldmodel.datasets import iter_records

from worldmodel import load_dynamics
from worldmodel._queries import forward_batch


def main() -> None:
    head_path, data = sys.argv[1:3]
    torch.set_num_threads(2)
    head = load_dynamics(head_path).eval()
    hit, total = collections.Counter(), collections.Counter()
    for split in ("train", "valid", "test"):
        for task in iter_records(data, split):
            if len(task.program) != 1:
                continue
            predictions = forward_batch(head, task.program, [list(e.inputs) for e in task.examples], k=1)
            primitive = task.program.statements[0].primitive
            for example, prediction in zip(task.examples, predictions):
                total[primitive] += 1
                hit[primitive] += prediction.top == example.output
    print(sum(hit.values()), "/", sum(total.values()))
    for primitive in sorted(total, key=lambda p: hit[p] / total[p]):
        if hit[primitive] < total[primitive]:
            print(f"{primitive:16s} {hit[primitive]}/{total[primitive]}")


if __name__ == "__main__":
    main()
