"""Fit the spec density of a dynamics head on Φ train, set its threshold on Φ valid, and
report its alarm rate on Φ test and on the ExeDec benchmark (never used to fit or tune).

    python docs/reproduce/calibrate_ood.py --dynamics runs/device/ode --data data/phi \
        --fit-limit 20000 --false-alarm 0.02 --out runs/device/ode-calibrated

and then docs/reproduce/fold_dynamics.py puts the calibrated head into the shipped checkpoint.
"""

import argparse

from worldmodel.datasets import deepcoder, read_tasks

from worldmodel import calibrate_spec_density, load_dynamics, load_tasks, save_dynamics, spec_check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dynamics", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--fit-limit", type=int, default=20000)
    parser.add_argument("--false-alarm", type=float, default=0.02)
    parser.add_argument("--exedec", default="examples/exedec-none.jsonl")
    parser.add_argument("--out", default=None, help="write the calibrated head here (save_dynamics)")
    args = parser.parse_args()
    head = load_dynamics(args.dynamics).eval()
    train = load_tasks(args.data, "train", deepcoder, limit=args.fit_limit)
    valid = load_tasks(args.data, "valid", deepcoder)
    test = load_tasks(args.data, "test", deepcoder)
    exedec = read_tasks(args.exedec, deepcoder).tasks
    threshold = calibrate_spec_density(head, train, valid, false_alarm=args.false_alarm)
    print(f"threshold {threshold:.4f} (fit on {len(train)} train specs, set on {len(valid)} valid specs)")
    for name, tasks in (("valid", valid), ("test", test), ("exedec-none", exedec)):
        warned = sum(c.warn for c in spec_check(head, tasks))
        print(f"{name}: {warned}/{len(tasks)} warned ({warned / len(tasks):.2%})")
    if args.out:
        save_dynamics(head, args.out)
        print(f"wrote {args.out}.json / .safetensors")


if __name__ == "__main__":
    main()
