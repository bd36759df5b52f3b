"""GP Bayesian optimisation: it beats random search at equal evaluations on a standard
test function, keeps to its evaluations, and refuses bad boxes."""

import math

import pytest
import torch
from worldmodel.inference import minimize_gp

LOWER, UPPER = torch.tensor([-5.0, 0.0]), torch.tensor([10.0, 15.0])


def branin(z: torch.Tensor) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]: three global minima of 0.397887."""
    x, y = float(z[0]), float(z[1])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beats_random_search_at_equal_evaluations(seed):
    calls = []
    out = minimize_gp(lambda z: calls.append(z) or branin(z), LOWER, UPPER, evaluations=20, seed=seed)
    assert len(calls) == 20 and out.points.shape == (20, 2) and out.values.shape == (20,)
    assert bool(((out.points >= LOWER) & (out.points <= UPPER)).all())
    assert out.best_value == pytest.approx(float(out.values.min())) == pytest.approx(branin(out.best))
    generator = torch.Generator().manual_seed(100 + seed)
    random_best = min(branin(LOWER + torch.rand(2, generator=generator) * (UPPER - LOWER)) for _ in range(20))
    assert out.best_value < random_best, (out.best_value, random_best)
    assert out.best_value < 1.5  # within about 1 of the minimum, 0.398


def test_stops_below_a_threshold_and_leaves_global_rngs_alone():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    out = minimize_gp(lambda z: float((z**2).sum()), -torch.ones(2), torch.ones(2), evaluations=30,
                      initial=3, stop_below=0.5, seed=4)
    assert out.best_value <= 0.5 and len(out.values) < 30
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    "lower, upper, kwargs, message",
    [
        (torch.zeros(2), torch.zeros(2), {}, "lower < upper"),
        (torch.zeros(2, 1), torch.ones(2, 1), {}, "1-D"),
        (torch.zeros(2), torch.ones(3), {}, "one shape"),
        (torch.zeros(2), torch.ones(2), {"evaluations": 0}, "evaluations"),
    ],
)
def test_bad_arguments(lower, upper, kwargs, message):
    with pytest.raises(ValueError, match=message):
        minimize_gp(lambda z: 0.0, lower, upper, **({"evaluations": 5} | kwargs))
