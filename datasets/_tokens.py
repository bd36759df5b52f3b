"""Tokenisation of programs and values, for the models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from ._interpreter import Bounds, Value
from ._program import Primitive, Program, Statement, Type

__all__ = ["Vocabulary"]

PAD, BOS, EOS, SEP = "<pad>", "<bos>", "<eos>", "<sep>"


@dataclass(frozen=True)
class Vocabulary:
    """Token ids for a domain's programs (primitives, variables, types) and values.

    Program tokens: ``<bos> type* <sep> (primitive arg*)* <eos>``; a variable is
    ``v<i>``. Value tokens: an int is one token; a list is ``[`` ints ``]``; an
    invalid result is ``<error>``. Ids are stable for a given domain and bounds.

    Example:
        >>> from worldmodel.datasets import deepcoder, Vocabulary
        >>> vocab = Vocabulary.for_domain(deepcoder.primitives, deepcoder.bounds)
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> vocab.decode_program(vocab.encode_program(p)) == p
        True
    """

    program_tokens: tuple[str, ...]
    value_min: int
    value_max: int

    @classmethod
    def for_domain(cls, primitives: dict[str, Primitive], bounds: Bounds, *, max_variables: int = 32) -> Vocabulary:
        # A domain's own types come last, so that the ids of int/list domains never move.
        own = [t.value for t in Type if t not in (Type.INT, Type.LIST)
               and any(t is p.return_type or t in p.arg_types for p in primitives.values())]
        tokens = (PAD, BOS, EOS, SEP, Type.INT.value, Type.LIST.value, *primitives,
                  *(f"v{i}" for i in range(max_variables)), *own)
        return cls(tokens, bounds.min_value, bounds.max_value)

    @cached_property
    def program_ids(self) -> dict[str, int]:
        """Id of each program token (computed once: encoding runs per program in training)."""
        return {t: i for i, t in enumerate(self.program_tokens)}

    @cached_property
    def _variable_ids(self) -> tuple[int, ...]:
        """Id of ``v<i>`` at index i (no string formatting per argument in training)."""
        ids = self.program_ids
        return tuple(ids[t] for t in self.program_tokens if t[:1] == "v" and t[1:].isdigit())

    def encode_program(self, program: Program) -> list[int]:
        """Token ids ``<bos> types <sep> (primitive args)* <eos>`` of ``program``."""
        ids = self.program_ids
        out = [ids[BOS], *(ids[t.value] for t in program.input_types), ids[SEP]]
        for st in program.statements:
            out.append(ids[st.primitive])
            out.extend(self._variable_ids[a] for a in st.args)
        out.append(ids[EOS])
        return out

    def decode_program(self, tokens: Sequence[int]) -> Program:
        words = [self.program_tokens[i] for i in tokens if self.program_tokens[i] != PAD]
        if not words or words[0] != BOS or EOS not in words or SEP not in words:
            raise ValueError("not a program token sequence (needs <bos> ... <sep> ... <eos>)")
        sep, eos = words.index(SEP), words.index(EOS)
        types = tuple(Type(w) for w in words[1:sep])
        body: list[Statement] = []
        for w in words[sep + 1 : eos]:
            if w.startswith("v") and w[1:].isdigit():
                if not body:
                    raise ValueError("argument before any primitive")
                body[-1] = Statement(body[-1].primitive, body[-1].args + (int(w[1:]),))
            else:
                body.append(Statement(w, ()))
        return Program(types, tuple(body))

    # Value tokens: 0 pad, 1 '[', 2 ']', 3 '<error>', then the integers.
    VALUE_SPECIALS = ("<pad>", "[", "]", "<error>")

    @property
    def num_value_tokens(self) -> int:
        return len(self.VALUE_SPECIALS) + self.value_max - self.value_min + 1

    def encode_value(self, value: Value | None) -> list[int]:
        """Tokens of a value; ``None`` stands for an invalid result."""
        base = len(self.VALUE_SPECIALS) - self.value_min
        if value is None:
            return [3]
        if isinstance(value, int):
            return [base + value]
        return [1, *(base + v for v in value), 2]
