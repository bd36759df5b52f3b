"""Give a model's dynamics head the linear stream, fitted on a dataset's training split.

    python docs/reproduce/fit_linear_stream.py MODEL DATA OUT

MODEL: a model checkpoint (e.g. worldmodel/checkpoints/deepcoder); DATA: a Φ dataset
(e.g. data/phi, the seed-0 recipe of docs/benchmarks.md, "Queries"). OUT gets MODEL
with its dynamics head grown by a linear stream (``DynamicsHead.grown(linear_stream=True)``)
fitted on every training task of DATA (``fit_linear_stream``); the head's weights are
unchanged. Prints how many (primitive, carried header) maps were fitted and kept, and
the kept ones per primitive.
"""

import sys
import time

import torch
from worldmodel.datasets import iter_records

from worldmodel import WorldModel, fit_linear_stream


def main() -> None:
    model_path, data, out = sys.argv[1:4]
    torch.set_num_threads(2)
    model = WorldModel.load(model_path)
    head = model.dynamics.grown(linear_stream=True)
    start = time.perf_counter()
    counts = fit_linear_stream(head.linear, list(iter_records(data, "train")), head.domain)
    print(f"{counts['groups']} maps fitted, {counts['exact']} exact, {time.perf_counter() - start:.0f} s")
    for name, exact in zip(head.domain.primitives, head.linear.exact):
        if exact.any():
            print(f"  {name}: list lengths {[h - 1 for h in exact.nonzero().flatten().tolist()]}")
    model.attach_dynamics(head)
    model.save(out)


if __name__ == "__main__":
    main()
