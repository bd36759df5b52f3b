"""One torch thread per test process: the CI box is shared, and several torch threads
per process thrash there (a training step measured 40x slower with 2 threads)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
