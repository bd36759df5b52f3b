"""The typed action grammar: programs round-trip, and only well-typed actions are allowed."""

import pytest
from hypothesis import given, settings
from worldmodel.datasets import Type, deepcoder
from worldmodel.inference import strategies as wst

from worldmodel import GrammarState, ProgramGrammar

GRAMMAR = ProgramGrammar(deepcoder)


@settings(max_examples=200, deadline=None)
@given(wst.programs(deepcoder, max_length=5, min_length=1))
def test_every_program_round_trips_and_each_of_its_actions_is_allowed(program):
    actions = GRAMMAR.actions(program)
    assert GRAMMAR.program(actions) == program
    masks = GRAMMAR.masks(actions)
    assert all(masks[t, a] for t, a in enumerate(actions))
    assert len(actions) <= GRAMMAR.max_actions


def test_arguments_of_the_wrong_type_are_refused():
    state = GrammarState()
    GRAMMAR.step(state, GRAMMAR.first_signature + GRAMMAR.signatures.index((Type.LIST, Type.INT)))
    take = GRAMMAR.first_primitive + GRAMMAR.primitive_names.index("TAKE")  # TAKE int list
    assert take in GRAMMAR.allowed(state)
    GRAMMAR.step(state, take)
    assert GRAMMAR.allowed(state) == [GRAMMAR.first_variable + 1]  # b, the only int
    with pytest.raises(ValueError, match="not allowed at position 2"):
        GRAMMAR.program([GRAMMAR.first_signature + 2, take, GRAMMAR.first_variable + 0, GRAMMAR.stop])


def test_stop_needs_a_statement_and_ends_the_longest_program():
    state = GrammarState()
    GRAMMAR.step(state, GRAMMAR.first_signature)  # (list,)
    assert GRAMMAR.stop not in GRAMMAR.allowed(state)
    sort = GRAMMAR.first_primitive + GRAMMAR.primitive_names.index("SORT")
    for _ in range(GRAMMAR.max_length):
        GRAMMAR.step(state, sort)
        GRAMMAR.step(state, GRAMMAR.first_variable)
    assert GRAMMAR.allowed(state) == [GRAMMAR.stop]


def test_a_signature_the_domain_lacks_is_refused():
    from worldmodel.datasets import Program

    with pytest.raises(ValueError, match="not one of the domain's"):
        GRAMMAR.actions(Program((Type.INT,), ()))
