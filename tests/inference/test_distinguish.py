"""Active queries: proposed inputs split the candidates, checked against the interpreter."""

import pytest
from worldmodel.datasets import Example, Task, Type, deepcoder, probe_inputs, probe_outputs
from worldmodel.inference import alternative_programs, distinguish

from worldmodel import DynamicsConfig, DynamicsHead

SORT = deepcoder.parse("a <- [int] | b <- SORT a")
REVERSE = deepcoder.parse("a <- [int] | b <- REVERSE a")
IDENTITY_ISH = deepcoder.parse("a <- [int] | b <- MAP (*2) a | c <- MAP (/2) b")
TASK = Task("t", (Example(([3, 2, 1],), [1, 2, 3]), Example(([9, 5],), [5, 9])), (Type.LIST,))


def test_every_question_splits_the_candidates_and_its_answers_are_the_interpreters():
    programs = [SORT, REVERSE]
    questions = distinguish(TASK, programs, domain=deepcoder, count=5)
    assert len(questions) == 5
    for q in questions:
        assert q.groups >= 2 and q.split > 0
        assert list(q.outputs) == [deepcoder.run(p, list(q.inputs)) for p in programs]
        assert list(q.inputs) not in [list(e.inputs) for e in TASK.examples]
    assert [q.split for q in questions] == sorted((q.split for q in questions), reverse=True)


def test_three_candidates_prefer_an_input_that_separates_all_of_them():
    a = Task("t", (Example(([2, 1],), [1, 2]),), (Type.LIST,))
    programs = [SORT, REVERSE, deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b | d <- REVERSE c")]
    # the third is SORT again: no input separates it from the first, so at most 2 groups
    best = distinguish(a, programs, domain=deepcoder, count=1)[0]
    assert best.groups == 2
    four = [SORT, REVERSE, deepcoder.parse("a <- [int] | b <- MAP (*(-1)) a | c <- SORT b | d <- MAP (*(-1)) c")]
    best = distinguish(a, four, domain=deepcoder, count=1)[0]
    assert best.groups == 3


def test_reverse_proposals_are_used_and_stay_confirmed():
    head = DynamicsHead(DynamicsConfig(dim=8, heads=2))
    one = Task("one", TASK.examples[:1], (Type.LIST,))
    questions = distinguish(one, [SORT, REVERSE], domain=deepcoder, dynamics=head, count=3, pool=8)
    for q in questions:
        assert list(q.outputs) == [deepcoder.run(p, list(q.inputs)) for p in (SORT, REVERSE)]


@pytest.mark.parametrize(
    "programs, kwargs, words",
    [
        ([SORT], {}, "at least two"),
        ([SORT, deepcoder.parse("a <- int | b <- [int] | c <- TAKE a b")], {}, "takes"),
        ([SORT, REVERSE], {"count": 0}, "count and pool"),
    ],
)
def test_bad_arguments_are_refused(programs, kwargs, words):
    with pytest.raises(ValueError, match=words):
        distinguish(TASK, programs, domain=deepcoder, **kwargs)


def test_alternatives_fit_the_examples_and_behave_differently():
    task = Task("t", (Example(([3, 2, 1],), [1, 2, 3]),), (Type.LIST,))
    rivals = alternative_programs(task, SORT, domain=deepcoder, limit=6)
    assert rivals
    probes = probe_inputs(deepcoder, (Type.LIST,), 64)
    seen = {repr(probe_outputs(deepcoder, SORT, probes))}
    for rival in rivals:
        assert all(deepcoder.run(rival, list(e.inputs)) == e.output for e in task.examples)
        signature = repr(probe_outputs(deepcoder, rival, probes))
        assert signature not in seen
        seen.add(signature)
