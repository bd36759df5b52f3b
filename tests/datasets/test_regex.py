"""The regex domain: the likelihood against an independent recursion and against
sampling, the sampler's support, the one typed error, and generative task lines."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import Example, ExecutionError, read_tasks, regex, regex_text, task_to_json
from worldmodel.datasets._regex import (
    _BINARY,
    _CLASSES,
    _EPS,
    _UNARY,
    _tree,
    log_likelihood,
    sample,
)


def _value(text: str) -> list[int]:
    return regex.run(regex.parse(text), [[]])


def _naive(codes: tuple[int, ...], s: str) -> float:
    """P(s) by recursion on the tree and the string, written from the sampler's
    definition and independent of the matrix DP."""

    @cache
    def p(node: tuple, i: int, j: int) -> float:
        code, text = node[0], s[i:j]
        if code == _EPS:
            return float(i == j)
        if len(node) == 3:
            chars = _CLASSES.get(code)
            if j != i + 1:
                return 0.0
            return float(text == chr(code)) if chars is None else float(text in chars) / len(chars)
        if code in _UNARY:
            kind, q = _UNARY[code]
            body = node[3]
            if kind == "?":
                return q * p(body, i, j) + (1 - q) * (i == j)
            if kind == "+":
                return sum(p(body, i, k) * star(body, q, k, j) for k in range(i, j + 1))
            return star(body, q, i, j)
        left, right = node[3], node[4]
        if _BINARY[code] is None:
            return sum(p(left, i, k) * p(right, k, j) for k in range(i, j + 1))
        return _BINARY[code] * p(left, i, j) + (1 - _BINARY[code]) * p(right, i, j)

    @cache
    def star(body: tuple, q: float, i: int, j: int) -> float:
        # S(i, j) = (1 - q)[i == j] + q sum_k B(i, k) S(k, j); the k == i term holds S(i, j)
        # itself when the body generates the empty string: solve for it.
        rest = sum(p(body, i, k) * star(body, q, k, j) for k in range(i + 1, j + 1))
        return ((1 - q) * (i == j) + q * rest) / (1 - q * p(body, i, i))

    return p(_tree(codes), 0, len(s))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 7))
def test_the_likelihood_is_the_recursion_on_sampled_and_perturbed_strings(seed, length):
    rng = random.Random(seed)
    value = regex.run(regex.random_program(rng, length), [[]])
    strings = [s for s in (sample(value, rng, max_length=8) for _ in range(3)) if s is not None]
    strings += [s[:-1] + "x" for s in strings if s] + ["", "a1"]
    for s in strings:
        want = _naive(tuple(value), s)
        got = log_likelihood(value, s)
        assert (want == 0 and got == -math.inf) or math.isclose(got, math.log(want), rel_tol=1e-9, abs_tol=1e-9)


def test_sampled_strings_are_in_the_support():
    rng = random.Random(1)
    for _ in range(300):
        value = regex.run(regex.random_program(rng, rng.randint(1, 8)), [[]])
        drawn = sample(value, rng)
        if drawn is not None:
            assert log_likelihood(value, drawn) > -math.inf, (regex_text(value), drawn)


def test_frequencies_match_the_likelihood():
    # Support {"-", ".", "", "-:"...}: a G-test of 4 000 draws at alpha = 1e-3.
    value = _value("a <- regex | b <- LIT (-) a | c <- LIT (:) a | d <- OPT (0.2) c | e <- CONCAT b d "
                   "| f <- LIT (.) a | g <- ALT (0.5) e f")
    rng = random.Random(0)
    counts = Counter(sample(value, rng) for _ in range(4000))
    assert set(counts) == {"-", "-:", "."}
    g = 2 * sum(n * math.log(n / (4000 * math.exp(log_likelihood(value, s)))) for s, n in counts.items())
    assert g < 13.8  # chi-square, 2 degrees of freedom, p = 1e-3
    assert math.isclose(sum(math.exp(log_likelihood(value, s)) for s in ("-", "-:", ".")), 1.0)


def test_star_of_a_nullable_body_is_a_distribution():
    value = _value("a <- regex | b <- DIGIT a | c <- OPT (0.5) b | d <- STAR (0.5) c")
    total = sum(math.exp(log_likelihood(value, "7" * k)) * 10**k for k in range(60))
    assert math.isclose(total, 1.0, rel_tol=1e-9)


def test_malformed_regexes_raise_only_the_typed_error():
    rng = random.Random(3)
    for _ in range(20_000):
        codes = [rng.randint(-2, 130) for _ in range(rng.randint(0, 6))]
        for call, args in ((log_likelihood, (codes, "a-1")), (sample, (codes, rng)), (regex_text, (codes,))):
            try:
                call(*args)
            except ExecutionError:
                pass


def test_text_of_a_regex():
    assert regex_text(_value("a <- regex | b <- DIGIT a | c <- PLUS (0.8) b | d <- LIT (/) c | e <- CONCAT d c")) \
        == r"\d+{.8}/\d+{.8}"
    assert regex_text(_value("a <- regex | b <- UPPER a | c <- ALT (0.5) b a")) == r"(\u|ε)"
    assert regex_text([]) == "ε"


def test_generated_examples_are_observations_the_program_explains():
    rng = random.Random(0)
    task = regex.random_task(rng, 4, examples=5)
    assert regex.explains(task.program, task.examples)
    assert not regex.explains(regex.parse("a <- regex | b <- DIGIT a"), [Example(([],), [ord("a")])])


GOOD = {"id": "date", "domain": "regex", "kind": "generative", "observations": ["12/05", "1/3"],
        "heldout": ["4/4"]}


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": None}, "field 'kind': tasks of domain 'regex' are generative"),
    ({"kind": "strings"}, "field 'kind' must be"),
    ({"observations": []}, "field 'observations' must be a non-empty list of strings"),
    ({"observations": ["12/05", 7]}, "field 'observations' must be a non-empty list of strings"),
    ({"observations": ["caf\u00e9"]}, "observations[0] 'caf\u00e9' holds '\u00e9', outside the alphabet"),
    ({"observations": ["1" * 49]}, "observations[0] has 49 characters"),
    ({"heldout": "4/4"}, "field 'heldout' must be a non-empty list of strings"),
    ({"examples": [{"input": [[]], "output": []}]}, "field 'examples': a generative task gives 'observations'"),
    ({"program": "a <- regex | b <- SORT a"}, "field 'program': line 2: unknown primitive 'SORT'"),
])
def test_bad_generative_lines_name_file_line_and_field(tmp_path, change, message):
    bad = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n")
    result = read_tasks(path, regex)
    assert [t.id for t in result.tasks] == ["date"]
    (error,) = result.errors
    assert error.line == 2 and str(error).startswith(f"{path}:2: ") and message in str(error), str(error)


def test_a_generative_line_round_trips(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({**GOOD, "program": "a <- regex | b <- DIGIT a"}) + "\n")
    (task,) = read_tasks(path, regex).tasks
    assert task.extra == {"heldout": ["4/4"]}
    assert json.loads(task_to_json(task, regex)) == {**GOOD, "program": "a <- regex | b <- DIGIT a"}


def test_an_input_output_domain_refuses_a_generative_line(tmp_path):
    from worldmodel.datasets import arith

    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({**GOOD, "domain": "arith"}) + "\n")
    (error,) = read_tasks(path, arith).errors
    assert "domain 'arith' has input/output tasks, not generative ones" in str(error)
