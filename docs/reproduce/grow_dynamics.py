"""Make a training carrier whose dynamics head is a grown copy of a trained one.

    python docs/reproduce/grow_dynamics.py CARRIER HEAD OUT --layers 4 --numeric-readout

CARRIER: a model checkpoint (e.g. .bench/dyn-init, a --dim 8 carrier); HEAD: a head of
save_dynamics (e.g. .bench/dyn12-best). OUT gets CARRIER with HEAD.grown(...) attached:
the added blocks start as identities and the numeric readout at zero, so the grown head
computes what HEAD does and `worldmodel train --init OUT --only dynamics` continues it.
"""

import argparse

from worldmodel import WorldModel, load_dynamics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("carrier")
    parser.add_argument("head")
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--numeric-readout", action="store_true")
    args = parser.parse_args()
    model = WorldModel.load(args.carrier)
    head = load_dynamics(args.head).grown(layers=args.layers, numeric_readout=args.numeric_readout or None)
    model.attach_dynamics(head)
    model.save(args.out)
    print(f"{args.out}: dynamics {head.config}, {sum(p.numel() for p in head.parameters())} parameters")


if __name__ == "__main__":
    main()
