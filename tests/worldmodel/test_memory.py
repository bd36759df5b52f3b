"""The Memoised Wake-Sleep memory: merging keeps the best distinct programs and never
loses score, draws follow Q ∝ exp(log_joint) (an exact-target G-test that a broken
sampler fails), and files round-trip or fail naming the field."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import deepcoder
from worldmodel.inference import ExactPosterior, check_samples

from worldmodel import MemoryFileError, TaskMemories, TaskMemory

PROGRAMS = [deepcoder.parse(f"a <- [int] | b <- {body} a") for body in ("SORT", "REVERSE", "SUM", "HEAD", "LAST", "MAXIMUM")]

proposals = st.lists(st.tuples(st.sampled_from(PROGRAMS), st.floats(-50, 0)), max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), proposals, proposals)
def test_merging_keeps_the_best_distinct_programs_and_never_lowers_a_score(capacity, first, second):
    before = TaskMemory(capacity).merge(first)
    after = before.merge(second)
    best = {}
    for program, score in first + second:
        best[program] = max(score, best.get(program, -math.inf))
    expected = sorted(best.values(), reverse=True)[:capacity]
    assert [e.log_joint for e in after.entries] == expected
    assert len(set(after.programs)) == len(after.programs) <= capacity
    # the k-th best score never falls: a program leaves only for a better one
    assert all(a >= b for a, b in zip([e.log_joint for e in after.entries], [e.log_joint for e in before.entries]))


def test_impossible_programs_stay_out_and_bad_scores_are_refused():
    assert TaskMemory(3).merge([(PROGRAMS[0], -math.inf)]).entries == ()
    with pytest.raises(ValueError, match="finite"):
        TaskMemory(3).merge([(PROGRAMS[0], math.nan)])
    with pytest.raises(ValueError, match="capacity"):
        TaskMemory(0)
    with pytest.raises(ValueError, match="empty memory"):
        TaskMemory(2).sample(1, generator=torch.Generator())


def _memory() -> TaskMemory:
    return TaskMemory(6).merge(zip(PROGRAMS, [-1.0, -1.5, -2.0, -3.0, -4.0, -6.0]))


def test_draws_follow_the_normalised_joint():
    memory = _memory()
    weights = memory.weights()
    scores = np.array([e.log_joint for e in memory.entries])
    assert np.allclose(weights.numpy(), np.exp(scores) / np.exp(scores).sum())
    exact = ExactPosterior(list(memory.programs), weights.numpy())
    draws = memory.sample(4000, generator=torch.Generator().manual_seed(0))
    # false-alarm rate 1e-3 for a correct sampler
    assert check_samples(draws, exact, alpha=1e-3).passed


def test_a_sampler_that_ignores_the_weights_fails_the_same_check():
    memory = _memory()
    exact = ExactPosterior(list(memory.programs), memory.weights().numpy())
    generator = torch.Generator().manual_seed(0)
    uniform = [memory.programs[int(i)] for i in torch.randint(len(memory.programs), (4000,), generator=generator)]
    assert not check_samples(uniform, exact, alpha=1e-3).passed


def test_memories_round_trip_through_a_file(tmp_path):
    memories = TaskMemories(3).merge("t1", [(PROGRAMS[0], -1.0), (PROGRAMS[1], -2.5)]).merge("t2", [(PROGRAMS[2], -0.5)])
    path = tmp_path / "memory.json"
    memories.save(path, deepcoder)
    loaded = TaskMemories.load(path, deepcoder)
    assert loaded == memories and loaded.solved() == ["t1", "t2"]
    assert loaded["unseen"].entries == ()


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda body: body.update(format="other/1"), "'format'"),
        (lambda body: body.update(domain="regex"), "'domain'"),
        (lambda body: body.update(capacity=0), "'capacity'"),
        (lambda body: body["tasks"]["t1"][0].update(program="a <- [int] | b <- NOPE a"), r"tasks\['t1'\]\[0\]: field 'program'"),
        (lambda body: body["tasks"]["t1"][0].update(log_joint="high"), r"tasks\['t1'\]\[0\]: field 'log_joint'"),
        (lambda body: body["tasks"].update(t1="SORT"), r"tasks\['t1'\] must be a list"),
    ],
)
def test_a_bad_memory_file_names_the_field(tmp_path, edit, field):
    path = tmp_path / "memory.json"
    TaskMemories(2).merge("t1", [(PROGRAMS[0], -1.0)]).save(path, deepcoder)
    body = json.loads(path.read_text())
    edit(body)
    path.write_text(json.dumps(body))
    with pytest.raises(MemoryFileError, match=field):
        TaskMemories.load(path, deepcoder)
    path.write_text("{not json")
    with pytest.raises(MemoryFileError, match="not a readable memory file"):
        TaskMemories.load(path, deepcoder)
