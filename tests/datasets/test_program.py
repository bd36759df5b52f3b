"""Program text: parse(format(p)) == p, and clear errors that name the line."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from worldmodel.datasets import (
    ParseError,
    Program,
    Statement,
    Type,
    Vocabulary,
    deepcoder,
    variable_name,
)


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 8))
def test_parse_format_round_trip(seed, length):
    program = deepcoder.random_program(random.Random(seed), length)
    assert deepcoder.parse(deepcoder.format(program)) == program
    assert deepcoder.parse(deepcoder.format(program, sep="\n")) == program


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 8))
def test_tokens_round_trip(seed, length):
    program = deepcoder.random_program(random.Random(seed), length)
    vocab = Vocabulary.for_domain(deepcoder.primitives, deepcoder.bounds)
    assert vocab.decode_program(vocab.encode_program(program)) == program


def test_many_variables_have_distinct_names():
    names = [variable_name(i) for i in range(40)]
    assert len(set(names)) == 40
    body = tuple(Statement("SORT", (i,)) for i in range(30))
    program = Program((Type.LIST,), body)
    assert deepcoder.parse(deepcoder.format(program)) == program


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "at least one input"),
        ("a <- [int] | b SORT a", "line 2: expected '<name> <- ...'"),
        ("a <- [int] | c <- SORT a", "line 2: expected variable 'b'"),
        ("a <- [int] | b <- SORTED a", "line 2: unknown primitive 'SORTED'"),
        ("a <- [int] | b <- MAP (+7) a", "unknown primitive 'MAP \\(\\+7\\)'"),
        ("a <- [int] | b <- TAKE a", "TAKE takes 2 arguments, got 1"),
        ("a <- [int] | b <- SORT c", "'c' is not an earlier variable"),
        ("a <- int | b <- SORT a", "'a' has type int, SORT needs \\[int\\]"),
        ("a <- [int] | b <- SORT a | c <- int", "input declarations must come before"),
    ],
)
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(ParseError, match=message):
        deepcoder.parse(text)
