"""Seeded, deterministic test runs (as in zuko's conftest)."""

import random

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    try:
        import torch
    except ImportError:  # the datasets layer does not need torch
        yield
        return
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield
