"""``python -m worldmodel``: the command line, where no ``worldmodel`` script is on the
PATH (e.g. ``torchrun --nproc-per-node 2 -m worldmodel train ...``)."""

from worldmodel.cli import main

if __name__ == "__main__":
    main()
