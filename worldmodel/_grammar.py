"""Programs as sequences of typed actions, and which actions the DSL's types allow next.

A program of a domain is written as one action per choice a writer makes:

    signature, (primitive, argument, ...)*, stop

The *signature* is the tuple of input types (one of ``domain.signatures``); each
statement is its primitive followed by one variable per argument; *stop* ends the
program. At every position :meth:`ProgramGrammar.allowed` gives the actions that keep
the program well-typed: a primitive only if every one of its arguments has an earlier
variable of the right type, an argument only of the type its primitive expects, stop
only after a statement, and nothing but stop at the longest length. A decoder that
masks its logits with these sets can only write well-typed programs.

Action ids: ``0`` is padding, then the signatures, stop, the primitives (table order)
and the variables ``0 .. max_variables - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from worldmodel.datasets import Domain, Program, Statement, Type

__all__ = ["GrammarState", "ProgramGrammar"]


@dataclass
class GrammarState:
    """A partly written program: its signature, finished statements and the one in progress.

    Attributes:
        input_types: the signature, or ``None`` before it is chosen.
        statements: the finished statements.
        primitive: the primitive of the statement in progress, or ``None``.
        args: the arguments of the statement in progress chosen so far.
        stopped: whether stop was chosen.
    """

    input_types: tuple[Type, ...] | None = None
    statements: list[Statement] = field(default_factory=list)
    primitive: str | None = None
    args: list[int] = field(default_factory=list)
    stopped: bool = False

    def copy(self) -> GrammarState:
        return GrammarState(self.input_types, list(self.statements), self.primitive, list(self.args), self.stopped)


class ProgramGrammar:
    """The action vocabulary of ``domain``'s programs of at most ``max_length`` statements.

    Args:
        domain: the DSL (its primitives and signatures).
        max_length: most statements (default 5).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> grammar = ProgramGrammar(deepcoder)
        >>> p = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- SUM c")
        >>> grammar.program(grammar.actions(p)) == p
        True
        >>> len(grammar.actions(p))  # signature, TAKE b a, SUM c, stop
        7
    """

    def __init__(self, domain: Domain, *, max_length: int = 5):
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.domain = domain
        self.max_length = max_length
        self.signatures = tuple(tuple(s) for s in domain.signatures)
        self.primitive_names = tuple(domain.primitives)
        self.max_variables = max(len(s) for s in self.signatures) + max_length
        self.first_signature = 1
        self.stop = self.first_signature + len(self.signatures)
        self.first_primitive = self.stop + 1
        self.first_variable = self.first_primitive + len(self.primitive_names)
        self.size = self.first_variable + self.max_variables
        self._primitive_index = {name: i for i, name in enumerate(self.primitive_names)}

    @property
    def max_actions(self) -> int:
        """Longest action sequence: signature, three actions per statement at most, stop."""
        most_args = max(len(p.arg_types) for p in self.domain.primitives.values())
        return 2 + self.max_length * (1 + most_args)

    # -- programs <-> actions -------------------------------------------------------------

    def actions(self, program: Program) -> list[int]:
        """The action ids that write ``program``.

        Raises:
            ValueError: a signature the domain does not have, or a program longer than
                ``max_length``.
        """
        if program.input_types not in self.signatures:
            raise ValueError(f"signature {[t.value for t in program.input_types]} is not one of the domain's")
        if len(program) > self.max_length:
            raise ValueError(f"program has {len(program)} statements; the grammar writes at most {self.max_length}")
        out = [self.first_signature + self.signatures.index(program.input_types)]
        for statement in program.statements:
            out.append(self.first_primitive + self._primitive_index[statement.primitive])
            out.extend(self.first_variable + a for a in statement.args)
        out.append(self.stop)
        return out

    def program(self, actions: Sequence[int]) -> Program:
        """The program ``actions`` write (each must be allowed where it stands).

        Raises:
            ValueError: an action the grammar does not allow at its position, or a
                sequence that does not stop.
        """
        state = GrammarState()
        for position, action in enumerate(actions):
            if action not in self.allowed(state):
                raise ValueError(f"action {action} is not allowed at position {position}")
            self.step(state, action)
            if state.stopped:
                return self.finished(state)
        raise ValueError("the actions do not end with stop")

    def finished(self, state: GrammarState) -> Program:
        """The program of a stopped state."""
        return Program(state.input_types, tuple(state.statements))

    # -- the type system, one position at a time ------------------------------------------

    def _types(self, state: GrammarState) -> list[Type]:
        types = list(state.input_types)
        types.extend(self.domain.primitives[s.primitive].return_type for s in state.statements)
        return types

    def allowed(self, state: GrammarState) -> list[int]:
        """The action ids that keep ``state`` well-typed, ascending; empty once stopped."""
        if state.stopped:
            return []
        if state.input_types is None:
            return list(range(self.first_signature, self.stop))
        types = self._types(state)
        if state.primitive is not None:
            want = self.domain.primitives[state.primitive].arg_types[len(state.args)]
            return [self.first_variable + i for i, t in enumerate(types) if t is want]
        out = [self.stop] if state.statements else []
        if len(state.statements) < self.max_length:
            present = set(types)
            out.extend(
                self.first_primitive + i
                for i, name in enumerate(self.primitive_names)
                if all(t in present for t in self.domain.primitives[name].arg_types)
            )
        return out

    def step(self, state: GrammarState, action: int) -> None:
        """Apply ``action`` to ``state`` in place (the caller checked it is allowed)."""
        if action == self.stop:
            state.stopped = True
        elif action < self.stop:
            state.input_types = self.signatures[action - self.first_signature]
        elif action < self.first_variable:
            state.primitive = self.primitive_names[action - self.first_primitive]
            state.args = []
        else:
            state.args.append(action - self.first_variable)
        if state.primitive is not None and len(state.args) == len(self.domain.primitives[state.primitive].arg_types):
            state.statements.append(Statement(state.primitive, tuple(state.args)))
            state.primitive, state.args = None, []

    def masks(self, actions: Sequence[int]) -> torch.Tensor:
        """``(T, A)`` bool: row t holds the actions allowed before action t of ``actions``."""
        out = torch.zeros(len(actions), self.size, dtype=torch.bool)
        state = GrammarState()
        for t, action in enumerate(actions):
            out[t, self.allowed(state)] = True
            self.step(state, action)
        return out
