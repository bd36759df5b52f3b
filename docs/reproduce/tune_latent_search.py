"""Choose the latent search's settings on Φ's valid split (never on a benchmark).

    python docs/reproduce/tune_latent_search.py --data data/phi --per-length 20 --calls 10000 \
        --settings "amortised;bo;bo:bo_local_scale=0.02;nuts;nuts:start=prior"

Tasks: the first ``--per-length`` valid records of lengths 2 and 3, cut to their first
3 examples (as ExeDec's tasks have). Each setting is ``method[:field=value,...]`` with
fields of ``LatentSearchConfig``; every setting searches every task at ``--calls`` calls
with no time limit (equal calls), seed 0, and prints the tasks solved, those solved
within a tenth of the calls (the same run: a search's path does not depend on its
budget), and the seconds.
"""

import argparse
import dataclasses
import time

import torch
from worldmodel.datasets import deepcoder
from worldmodel.inference import Budget
from worldmodel.inference._search_latent import LatentSearchConfig, latent_search

from worldmodel import WorldModel, load_tasks


def tasks_of(data: str, per_length: int) -> list:
    chosen, counts = [], {2: 0, 3: 0}
    for task in load_tasks(data, "valid", deepcoder, lazy=True):
        length = len(task.program.statements)
        if counts.get(length, per_length) < per_length:
            counts[length] += 1
            chosen.append(dataclasses.replace(task, examples=task.examples[:3]))
        if all(c >= per_length for c in counts.values()):
            return chosen
    return chosen


def parse(setting: str) -> tuple[str, LatentSearchConfig]:
    method, _, fields = setting.partition(":")
    options = {}
    for item in filter(None, fields.split(",")):
        name, value = item.split("=")
        kind = type(getattr(LatentSearchConfig, name))
        options[name] = value if kind is str else kind(value)
    return method, LatentSearchConfig(**options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--per-length", type=int, default=20)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--settings", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = WorldModel.default() if args.model is None else WorldModel.load(args.model)
    tasks = tasks_of(args.data, args.per_length)
    for setting in args.settings.split(";"):
        method, config = parse(setting)
        start, solved, calls, solved_calls = time.perf_counter(), 0, [], []
        for task in tasks:
            result = latent_search(task, method=method, model=model, budget=Budget(calls=args.calls, seconds=None),
                                   domain=deepcoder, seed=0, config=config)
            solved += result.verified
            if result.verified:
                solved_calls.append(result.calls)
            calls.append(result.calls)
        within = sum(c <= args.calls // 10 for c in solved_calls)
        print(f"{setting}: solved {solved}/{len(tasks)} ({within} within {args.calls // 10} calls), {sum(calls)} calls, "
              f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
