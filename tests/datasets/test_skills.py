"""Skills: every fragment compresses and expands back exactly, compressed programs run
as the originals do, and greedy MDL compression finds the motifs a corpus repeats."""

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import (
    ExecutionError,
    Skill,
    compress,
    deepcoder,
    expand,
    fragments,
    learn_skills,
    library_from_json,
    library_to_json,
    run,
    skill_primitives,
)

BASE = deepcoder.primitives


def _outcome(program, inputs, primitives):
    try:
        return run(program, inputs, primitives)
    except ExecutionError:
        return "error"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 6))
def test_every_fragment_round_trips_and_runs_as_the_original(seed, length):
    rng = random.Random(seed)
    program = deepcoder.random_program(rng, length)
    inputs = [deepcoder.random_inputs(program.input_types, rng) for _ in range(3)]
    for start, stop, body, _ in fragments(program, BASE):
        skill = Skill("SKILL0", body)
        table = skill_primitives([skill], BASE)
        short = compress(program, skill, table)
        assert len(short.statements) <= len(program.statements) - (stop - start - 1)
        assert expand(short, [skill]) == program
        assert all(_outcome(short, x, table) == _outcome(program, x, BASE) for x in inputs)


MOTIFS = ["c <- SORT a | d <- REVERSE c", "c <- MAP (*2) a | d <- FILTER (>0) c | e <- SUM d"]


def _corpus(count: int, seed: int) -> list:
    """Programs that each wrap one motif between other statements, which vary (so that
    no longer fragment recurs as often as the motif)."""
    rng = random.Random(seed)
    tails = ["MAXIMUM", "HEAD", "LAST", "MINIMUM"]
    programs = []
    for i in range(count):
        text = f"a <- [int] | b <- int | {MOTIFS[i % 2]}"
        if i % 2 == 0:
            text += f" | e <- {['TAKE', 'DROP', 'ACCESS'][i // 2 % 3]} b d"
            text += f" | f <- {rng.choice(tails)} e" if i // 2 % 3 < 2 else " | f <- MAP (+1) a | g <- TAKE e f"
        else:
            text += f" | f <- {['SCANL1 (+)', 'SCANL1 (*)', 'MAP (-1)'][i // 2 % 3]} a | g <- TAKE e f"
        programs.append(deepcoder.parse(text))
    return programs


def test_greedy_compression_learns_the_repeated_motifs():
    programs = _corpus(20, seed=0)
    skills, rewritten = learn_skills(programs, BASE, max_skills=5)
    bodies = {deepcoder.format(s.body) for s in skills[:2]}
    assert bodies == {"a <- [int] | b <- MAP (*2) a | c <- FILTER (>0) b | d <- SUM c",
                      "a <- [int] | b <- SORT a | c <- REVERSE b"}
    assert all(expand(r, skills) == p for r, p in zip(rewritten, programs))
    assert sum(len(r) for r in rewritten) < sum(len(p) for p in programs) - 20
    # every rewritten program calls a skill, and runs as its original does
    table = skill_primitives(skills, BASE)
    rng = random.Random(1)
    for r, p in zip(rewritten, programs):
        assert any(s.primitive.startswith("SKILL") for s in r.statements)
        x = deepcoder.random_inputs(p.input_types, rng)
        assert _outcome(r, x, table) == _outcome(p, x, BASE)


def test_a_library_round_trips_through_json_and_a_tampered_one_is_refused():
    skills, _ = learn_skills(_corpus(20, seed=0), BASE, max_skills=5)
    assert len(skills) >= 3 and any(s.primitive.startswith("SKILL") for k in skills for s in k.body.statements)
    text = library_to_json(skills, BASE)
    assert library_from_json(text, BASE) == skills
    body = json.loads(text)
    body["skills"][0]["expanded"] = "a <- [int] | b <- SORT a"
    with pytest.raises(ValueError, match="skill 0"):
        library_from_json(json.dumps(body), BASE)
    with pytest.raises(ValueError, match="not a skill library"):
        library_from_json("[]", BASE)


def test_nothing_worth_a_name_gives_no_skill():
    rng = random.Random(3)
    programs = [deepcoder.random_program(rng, 2) for _ in range(3)]
    skills, rewritten = learn_skills(programs, BASE, min_uses=4)
    assert skills == [] and rewritten == programs


def test_a_skill_may_not_shadow_a_primitive():
    with pytest.raises(ValueError, match="already a primitive"):
        skill_primitives([Skill("SORT", deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b"))], BASE)


def test_a_window_with_an_unread_intermediate_is_no_fragment():
    program = deepcoder.parse("a <- [int] | b <- HEAD a | c <- HEAD a | d <- TAKE c a")
    bodies = [deepcoder.format(body) for _, _, body, _ in fragments(program, deepcoder.primitives)]
    assert bodies == ["a <- [int] | b <- HEAD a | c <- TAKE b a"]  # not "b <- HEAD a | c <- HEAD a"
