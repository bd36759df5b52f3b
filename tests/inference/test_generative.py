"""Generative tasks (``regex``) in search: the best candidate by exact log-likelihood,
the one budget charging each likelihood, held-out figures, and the bench's columns."""

import json
import math

import pytest
from worldmodel.datasets import Example, Program, Statement, Task, Type, read_tasks, regex
from worldmodel.inference import (
    BACKGROUND_WEIGHT,
    BenchConfig,
    Budget,
    EnumerationConfig,
    Simulator,
    enumerate_program,
    heldout_score,
    run_bench,
    score,
    solve,
)
from worldmodel.inference._heldout import background_log_likelihood

STRINGS = ["12-05", "3-7", "28-11", "9-30"]


def _task(strings=STRINGS, heldout=None):
    extra = {"heldout": heldout} if heldout else {}
    return Task("t", tuple(Example(([],), [ord(c) for c in s]) for s in strings), (Type.REGEX,), None, extra)


def _values_up_to_size_2():
    """Every regex a program of tree size <= 2 builds from ε, with its program."""
    level1 = {}
    for name, p in regex.primitives.items():
        program = Program((Type.REGEX,), (Statement(name, (0,) * len(p.arg_types)),))
        level1.setdefault(tuple(regex.run(program, [[]])), program)
    found = dict(level1)
    for name, p in regex.primitives.items():
        for program in level1.values():
            n = len(program.statements)
            shapes = [(n,)] if len(p.arg_types) == 1 else [(0, n), (n, 0)]
            for args in shapes:
                longer = Program((Type.REGEX,), (*program.statements, Statement(name, args)))
                found.setdefault(tuple(regex.run(longer, [[]])), longer)
    return found


def test_enumeration_returns_the_best_regex_of_the_levels_it_completed():
    task = _task()
    found = enumerate_program(task, Simulator(task, regex, Budget(calls=None, seconds=None)),
                              config=EnumerationConfig(max_size=2))
    assert found.stopped == "max_size"
    best = max(sum(regex.generative.log_likelihood(list(v), s) for s in STRINGS) for v in _values_up_to_size_2())
    assert best > -math.inf and math.isclose(found.log_likelihood, best)
    assert math.isclose(score(found.program, task, regex), best)


def test_each_likelihood_is_charged_one_call_per_observation():
    task = _task()
    sim = Simulator(task, regex, Budget(calls=100))
    program = regex.parse("a <- regex | b <- DIGIT a | c <- PLUS (0.5) b")
    assert sim.log_likelihood(program) == -math.inf  # "-" is no digit
    assert sim.calls == 2 + len(STRINGS)  # two statements run once, four observations scored
    sim.log_likelihood(program)
    assert sim.calls == 2 + 2 * len(STRINGS)  # the statements are cached, the scoring is not


@pytest.mark.parametrize("budget", [50, 500, 5_000])
def test_solve_reports_the_exact_log_likelihood_within_the_budget(budget):
    task = _task()
    result = solve(task, None, "enumerate", budget=Budget(calls=budget, seconds=None), domain=regex)
    assert result.calls <= budget
    if result.verified:
        assert result.log_likelihood == score(result.program, task, regex) > -math.inf
    else:
        assert result.program is None and result.log_likelihood is None


def test_a_larger_budget_never_finds_a_worse_regex():
    task = _task()
    scores = [solve(task, None, "enumerate", budget=Budget(calls=b, seconds=None), domain=regex).log_likelihood
              for b in (2_000, 20_000, 60_000)]
    assert all(s is not None for s in scores) and scores == sorted(scores)


def test_guided_without_a_model_is_enumeration():
    task = _task()
    budget = Budget(calls=5_000, seconds=None)
    plain, guided = (solve(task, None, m, budget=budget, domain=regex) for m in ("enumerate", "guided"))
    assert (plain.program, plain.log_likelihood, plain.calls) == (guided.program, guided.log_likelihood, guided.calls)


def test_heldout_figures():
    digits = regex.parse("a <- regex | b <- DIGIT a | c <- PLUS (0.5) b")
    s = heldout_score(digits, ["7", "x"], regex)
    assert s.covered == 0.5 and math.isclose(s.ll_covered, math.log(0.05))
    background = [math.log(BACKGROUND_WEIGHT) + background_log_likelihood(t, 95) for t in ("7", "x")]
    mixed = math.log((1 - BACKGROUND_WEIGHT) * 0.05 + math.exp(background[0]))
    assert math.isclose(s.ll_smoothed, (mixed + background[1]) / 2)
    none = heldout_score(None, ["7", "x"], regex)
    assert (none.covered, none.ll_covered) == (0.0, None) and math.isclose(none.ll_smoothed, sum(background) / 2)


def test_bench_reports_likelihood_columns_per_budget(tmp_path):
    line = {"id": "dash", "domain": "regex", "kind": "generative", "observations": STRINGS, "heldout": ["4-4", "x"]}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(line) + "\n")
    report = run_bench(path, tmp_path / "out", config=BenchConfig(budgets=(50, 5_000), workers=1, domain="regex"),
                       progress=False)
    (task,) = read_tasks(path, regex).tasks
    small, large = report.rows
    assert small["ll_per_string"] is None and small["heldout_covered"] == 0.0
    result = solve(task, None, "enumerate", budget=Budget(calls=5_000, seconds=None), domain=regex)
    assert math.isclose(large["ll_per_string"], result.log_likelihood / len(STRINGS))
    assert large["heldout_ll_smoothed"] == heldout_score(result.program, ["4-4", "x"], regex).ll_smoothed
    records = [json.loads(r) for r in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert not any(r["derived"] for r in records)  # each budget run on its own
