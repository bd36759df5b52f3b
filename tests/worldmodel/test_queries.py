"""Forward / reverse / Jacobian queries and the spec-density warning."""

import math
import random

import pytest
import torch
from helpers import random_tasks
from worldmodel.datasets import Example, ExecutionError, Task, Type, deepcoder

from worldmodel import (
    DynamicsConfig,
    DynamicsHead,
    calibrate_spec_density,
    forward_query,
    jacobian_query,
    reverse_query,
    spec_check,
)

HEAD = DynamicsHead(DynamicsConfig(dim=16, heads=2))
TAKE = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- SORT c")


def test_forward_gives_k_outputs_of_the_output_type_best_first():
    result = forward_query(HEAD, TAKE, [[3, 1, 2], 2], k=4)
    assert len(result.outputs) == 4 and result.top == result.outputs[0].value
    probs = [math.exp(r.log_prob) for r in result.outputs]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    assert all(isinstance(r.value, list) for r in result.outputs)
    count = forward_query(HEAD, deepcoder.parse("a <- [int] | b <- SUM a"), [[1]], k=3)
    assert all(isinstance(r.value, int) for r in count.outputs)


@pytest.mark.parametrize(
    "inputs, words",
    [
        ([[1, 2]], "expected 2 inputs, got 1"),
        ([[1, 2], 300], "out of range"),
        ([[1, 2], [3]], "not of type int"),
        ([[1] * 21, 2], "list too long"),
        ([[True], 1], "not of type"),
    ],
)
def test_forward_refuses_bad_inputs_naming_the_problem(inputs, words):
    with pytest.raises(ValueError, match=words):
        forward_query(HEAD, TAKE, inputs)


@pytest.mark.parametrize("output, words", [(5, "not of type"), ([999], "out of range"), ("x", "not of type")])
def test_reverse_refuses_outputs_the_program_cannot_have(output, words):
    with pytest.raises(ValueError, match=words):
        reverse_query(HEAD, TAKE, output)


def test_every_reverse_preimage_is_confirmed_by_the_interpreter():
    p = deepcoder.parse("a <- [int] | b <- MAP (*2) a")
    for program, y in ((TAKE, [1, 2]), (p, [2, 4]), (deepcoder.parse("a <- [int] | b <- HEAD a"), 3)):
        result = reverse_query(HEAD, program, y, k=10)
        assert result.proposals, f"no proposal for {y!r}"
        for proposal in result.proposals:
            try:
                answer = deepcoder.run(program, list(proposal.inputs))
            except ExecutionError:  # rejected by the interpreter: not a preimage
                answer = None
            assert proposal.confirmed == (answer == y)
        assert set(map(repr, result.preimages)) <= {repr(p.inputs) for p in result.proposals if p.confirmed}


def test_reverse_finds_the_preimage_of_a_program_without_statements_when_the_decoder_is_exact():
    # A decoder whose logits are its input's one-hot slots is exact, so the backward
    # pass of an empty program (the identity) must return y itself, confirmed.
    head = DynamicsHead(DynamicsConfig(dim=16, heads=2))
    identity = deepcoder.parse("a <- [int]")
    ids = head.slot_ids([[5, -3, 7]], width=head.codec.slots)

    def exact(h):
        header = torch.nn.functional.one_hot(ids[:, 0], head.codec.num_headers).float() * 50
        element = torch.nn.functional.one_hot(ids[:, 1:].clamp(max=head.codec.num_values - 1), head.codec.num_values)
        return header.expand(len(h), -1), element.float().expand(len(h), -1, -1) * 50

    head.decode = exact
    result = reverse_query(head, identity, [5, -3, 7], k=3)
    assert result.preimages[0] == ([5, -3, 7],)


def test_latent_jacobian_matches_finite_differences():
    head = DynamicsHead(DynamicsConfig(dim=8, heads=2)).double()
    p = deepcoder.parse("a <- [int] | b <- REVERSE a")
    (jac,) = jacobian_query(head, p, [[1, 2]])
    assert jac.shape == (3 * 8, 3 * 8)
    h = head.encode(head.slot_ids([[1, 2]])).detach()
    delta = 1e-6 * torch.randn_like(h)
    with torch.no_grad():
        moved = head.run_program(p, [[[1, 2]]], input_latents=[h + delta])[-1] - head.run_program(
            p, [[[1, 2]]], input_latents=[h])[-1]
    torch.testing.assert_close(moved.reshape(-1), jac @ delta.reshape(-1), rtol=1e-3, atol=1e-9)


def test_value_jacobian_has_one_matrix_per_input():
    jacs = jacobian_query(HEAD, TAKE, [[3, 1, 2], 2], wrt="value")
    assert [tuple(j.shape) for j in jacs] == [(3, 3), (3, 3)]
    with pytest.raises(ValueError, match="wrt"):
        jacobian_query(HEAD, TAKE, [[3, 1, 2], 2], wrt="energy")


def test_spec_density_alarm_rate_on_its_calibration_set_is_the_one_asked():
    head = DynamicsHead(DynamicsConfig(dim=8, heads=2))
    with pytest.raises(ValueError, match="not calibrated"):
        spec_check(head, random_tasks(1, 0))
    fit_tasks, held = random_tasks(120, 1, max_length=3), random_tasks(100, 2, max_length=3)
    calibrate_spec_density(head, fit_tasks, held, false_alarm=0.05)
    assert sum(c.warn for c in spec_check(head, held)) <= 5 + 1
    odd = Task("odd", tuple(Example(([250] * 20,), [250] * 20) for _ in range(3)), (Type.LIST,))
    assert spec_check(head, [odd])[0].warn
    many = Task("many", (Example((1, 2, 3, 4), 1),), (Type.INT,) * 4)
    assert spec_check(head, [many])[0].warn  # more inputs than the features take


@pytest.mark.parametrize("options", [{"refine": 0, "guesses": False, "prior_draws": 0}, {},
                                     {"refine": 2, "alternatives": 3, "variants": 40}])
def test_reverse_ranks_by_the_model_alone_and_checks_only_the_proposals_it_returns(monkeypatch, options):
    runs = []
    real_run = deepcoder.run

    def counting_run(self, program, inputs):
        runs.append(list(inputs))
        return real_run(program, inputs)

    monkeypatch.setattr(type(HEAD.domain), "run", counting_run)  # Domain is frozen: patch its class
    result = reverse_query(HEAD, TAKE, [1, 2], k=5, candidates=40, **options)
    backward = [p for p in result.proposals if p.log_prob is not None]
    scores = [p.log_prob + p.forward_log_prob for p in backward]
    assert len(result.proposals) == 5 and scores == sorted(scores, reverse=True)
    assert len(backward) == (5 if options.get("prior_draws") == 0 else 3)  # the draws take the last 2 places
    assert runs == [list(p.inputs) for p in result.proposals]  # the interpreter sees only these, after ranking
    wider = reverse_query(HEAD, TAKE, [1, 2], k=5, candidates=200, **options)
    assert wider.proposals[0].log_prob + wider.proposals[0].forward_log_prob >= scores[0] - 1e-5  # a superset pool
    with pytest.raises(ValueError, match="candidates must be >= k"):
        reverse_query(HEAD, TAKE, [1, 2], k=5, candidates=4)


@pytest.mark.parametrize("options", [{"refine": -1}, {"alternatives": 0}, {"sweeps": 0}, {"passes": 0}])
def test_reverse_refuses_bad_search_options(options):
    with pytest.raises(ValueError, match="refine must be >= 0"):
        reverse_query(HEAD, TAKE, [1, 2], **options)
    with pytest.raises(ValueError, match="prior_draws and prior_slots must be >= 0"):
        reverse_query(HEAD, TAKE, [1, 2], prior_draws=-1)


def test_prior_draws_are_the_seeded_draws_the_forward_dynamics_finds_likeliest():
    from worldmodel._reverse_query import _output_log_likelihood

    result = reverse_query(HEAD, TAKE, [1, 2], k=5, candidates=40, prior_draws=64, prior_slots=2, seed=3)
    draws = result.proposals[-2:]
    assert [p.log_prob for p in draws] == [None, None]
    assert all(p.log_prob is not None for p in result.proposals[:-2])
    rng = random.Random(3)
    rows = [list(deepcoder.random_inputs(TAKE.input_types, rng)) for _ in range(64)]
    scores = _output_log_likelihood(HEAD, TAKE, rows, HEAD.slot_ids([[1, 2]], width=HEAD.codec.slots))
    assert [p.forward_log_prob for p in draws] == pytest.approx(sorted(scores, reverse=True)[:2], abs=1e-5)


def test_the_carried_guesses_join_the_pool_with_the_decoders_log_probability():
    from worldmodel._reverse_query import _carried_guesses, _reverse_pool, _value_log_prob
    from worldmodel._values import top_values

    assert _carried_guesses(Type.LIST, [3, 1]) == [[3, 1], []]
    assert _carried_guesses(Type.LIST, 4) == [[4], []]
    assert _carried_guesses(Type.INT, [3, 1]) == [2, 0] and _carried_guesses(Type.INT, 0) == [0]
    generator = torch.Generator().manual_seed(0)
    header = torch.randn(HEAD.codec.num_headers, generator=generator)
    element = torch.randn(HEAD.codec.slots - 1, HEAD.codec.num_values, generator=generator) * 3
    for type_ in (Type.LIST, Type.INT):  # the same log-probability top_values ranks by
        for ranked in top_values(header, element, HEAD.codec, k=3, type_=type_):
            assert math.isclose(_value_log_prob(header, element, ranked.value, HEAD, type_), ranked.log_prob, abs_tol=1e-5)
    sort = deepcoder.parse("a <- [int] | b <- SORT a")
    pool = _reverse_pool(HEAD, sort, [1, 5, 9], k=3, candidates=3, refine=0, alternatives=1, sweeps=1, passes=1,
                         guesses=True)
    assert [[1, 5, 9]] in [inputs for inputs, _, _ in pool] and len(pool) <= 3 + 2


def test_refinement_scores_one_element_changes_of_its_seed_by_the_model():
    from worldmodel._reverse_query import _refine

    p = deepcoder.parse("a <- [int] | b <- MAP (*2) a")
    y_ids = HEAD.slot_ids([[2, 4]], width=HEAD.codec.slots)
    element_lp = torch.log_softmax(torch.randn(HEAD.codec.slots - 1, HEAD.codec.num_values), -1)
    found = _refine(HEAD, p, y_ids, 0, [[7, 7]], (0.0, -50.0), element_lp, alternatives=2, sweeps=1)
    singles = [inputs[0] for inputs, _, _ in found[:4]]
    assert len(singles) == 4 and all(sum(a != b for a, b in zip(v, [7, 7])) == 1 for v in singles)
    assert all(math.isfinite(lp) and math.isfinite(f) for _, lp, f in found)
