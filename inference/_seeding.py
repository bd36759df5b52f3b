"""One seeded Pyro run that leaves the caller's random state as it was."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyro
import torch

__all__ = ["seeded_pyro"]


@contextmanager
def seeded_pyro(seed: int, *, own_param_store: bool = False) -> Iterator[None]:
    """Run the block with Pyro seeded by ``seed``; afterwards torch's, ``random``'s and
    numpy's global states (``pyro.set_rng_seed`` seeds all three) are as they were.

    With ``own_param_store``, the block starts from an empty Pyro parameter store and
    the caller's parameters are put back afterwards (guides and GPs keep theirs there).
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    store = pyro.get_param_store()
    saved = store.get_state() if own_param_store else None
    try:
        with torch.random.fork_rng():
            pyro.set_rng_seed(seed)
            if own_param_store:
                store.clear()
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if own_param_store:
            store.clear()
            store.set_state(saved)
