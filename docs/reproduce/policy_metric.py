"""Metric (c) of the flow policy on held-out random DeepCoder programs (CPU).

Usage:
    .venv/bin/python docs/reproduce/policy_metric.py --mode standalone --train 1000 --epochs 15
    .venv/bin/python docs/reproduce/policy_metric.py --mode model --train 1000 --epochs 3

``standalone`` trains a FlowPolicy alone (its hand-made state features only) with
``train_policy``; ``model`` attaches a policy to a WorldModel and trains everything with
``fit`` (the policy conditioned on the model's state_context). Both then report
``evaluate_policy`` on held-out programs (lengths 1..5, disjoint from training by text),
overall and per program length. Writes JSON to --out if given.
"""

import argparse
import json
import random
import time
from dataclasses import asdict

import torch
from worldmodel.datasets import Task, deepcoder

from worldmodel import (
    EditPathConfig,
    FlowPolicy,
    ModelConfig,
    PolicyConfig,
    PolicyTrainConfig,
    TrainConfig,
    WorldModel,
    evaluate_policy,
    fit,
    train_policy,
)


def tasks(count, seed, exclude=frozenset()):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        program = deepcoder.random_program(rng, rng.randint(1, 5))
        if deepcoder.format(program) in exclude:
            continue
        examples = deepcoder.random_examples(program, 5, rng)
        if examples is not None:
            out.append(Task(f"{seed}-{len(out)}", tuple(examples), program.input_types, program))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["standalone", "model"], default="standalone")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = tasks(args.train, 1)
    test = tasks(args.test, 2, exclude=frozenset(deepcoder.format(t.program) for t in train))
    start = time.time()
    if args.mode == "standalone":
        policy = FlowPolicy(PolicyConfig())
        history = train_policy(policy, train, config=PolicyTrainConfig(epochs=args.epochs), seed=0)
        context = None
    else:
        model = WorldModel(ModelConfig(dim=64, token_dim=32))
        policy = model.attach_policy()
        config = TrainConfig(epochs=args.epochs, batch_size=32, warmup=20, lr=2e-3, valid_limit=16)
        history = [r.get("policy") for r in fit(model, train, test[:16], config, progress=False).history]
        model.eval()

        def context(task, programs):
            return model.state_context(task, programs)

    seconds = time.time() - start
    result = {"mode": args.mode, "train": args.train, "epochs": args.epochs, "train_seconds": seconds, "loss": history}
    result["all"] = asdict(evaluate_policy(policy, test, context=context, paths=EditPathConfig(), seed=0))
    for length in range(1, 6):
        subset = [t for t in test if len(t.program) == length]
        if subset:
            result[f"length_{length}"] = asdict(evaluate_policy(policy, subset, context=context, seed=0))
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
