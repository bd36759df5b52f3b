"""Motif programs: a shifted program distribution built from a few recurring idioms.

Φ draws every statement independently, so no multi-statement idiom recurs in it more
than chance allows. The task sets people bring are not like that: their solutions share
idioms ("sort, then drop the smallest", "keep the evens, then double them"), which is
what a skill library (:mod:`worldmodel.datasets._skills`) can learn. A *motif bank* is a
few random sub-programs of two or three statements, each from one list to a list; a
*motif program* is a chain of pieces, each a motif (inlined) or one random statement,
each taking the previous piece's result as an argument. Every result is used by the
next piece, so a motif program has no dead code, as Φ's programs have none.

``generate --motifs K`` draws Φ-like datasets from this distribution (the bank is a
function of the seed), so a pool for ``learn`` is made as Φ is, with the same
deduplication and splits.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence

from ._domain import Domain
from ._errors import SamplingError
from ._probe import behaviour, probe_inputs
from ._program import Program, Statement, Type

__all__ = ["motif_bank", "motif_program"]


def motif_bank(domain: Domain, *, seed: int, count: int, sizes: Sequence[int] = (2, 3)) -> tuple[Program, ...]:
    """``count`` motifs: random programs of ``sizes`` statements from one list to a list.

    Each motif behaves (on the probe inputs of :mod:`._probe`) unlike the identity, every
    shorter program on one list and every other motif, so none is a primitive in disguise
    (``ZIPWITH (min) b b``) or a repeat. A pure function of ``(domain, seed, count, sizes)``.

    Raises:
        ValueError: ``count < 1`` or a size below 2 (a one-statement motif is a primitive).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> bank = motif_bank(deepcoder, seed=1, count=4)
        >>> len(bank), all(p.input_types == (Type.LIST,) and 2 <= len(p.statements) <= 3 for p in bank)
        (4, True)
    """
    if count < 1:
        raise ValueError(f"motif_bank: count must be >= 1, got {count}")
    if not sizes or min(sizes) < 2:
        raise ValueError(f"motif_bank: sizes must be >= 2 statements, got {list(sizes)}")
    key = (domain.name, seed, count, tuple(sizes))
    if key not in _BANKS:  # generate asks once per block; the shorter programs take seconds
        _BANKS[key] = _draw_bank(domain, seed=seed, count=count, sizes=sizes)
    return _BANKS[key]


_BANKS: dict[tuple, tuple[Program, ...]] = {}


def _draw_bank(domain: Domain, *, seed: int, count: int, sizes: Sequence[int]) -> tuple[Program, ...]:
    key = hashlib.blake2b(f"worldmodel.motifs:{seed}".encode(), digest_size=16).digest()
    rng = random.Random(int.from_bytes(key, "little"))
    probes = probe_inputs(domain, (Type.LIST,), _PROBES)
    seen = {behaviour(domain, p, probes).digest for p in _shorter_programs(domain, max(sizes) - 1)}
    bank: list[Program] = []
    while len(bank) < count:
        program = domain.random_program(rng, rng.choice(list(sizes)), input_types=(Type.LIST,))
        if domain.primitives[program.statements[-1].primitive].return_type is not Type.LIST:
            continue
        b = behaviour(domain, program, probes)
        if b.valid and not b.constant and b.digest not in seen:
            seen.add(b.digest)
            bank.append(program)
    return tuple(bank)


_PROBES = 16


def _shorter_programs(domain: Domain, most: int) -> list[Program]:
    """Every program on one list input of at most ``most`` statements whose last uses the one before (the identity included)."""
    programs = [Program((Type.LIST,), ())]
    frontier = programs
    for _ in range(most):
        grown = []
        for program in frontier:
            types = [*program.input_types, *(domain.primitives[s.primitive].return_type for s in program.statements)]
            last = len(types) - 1
            for primitive in domain.primitives.values():
                pools = [[v for v, t in enumerate(types) if t is want] for want in primitive.arg_types]
                for args in itertools.product(*pools):
                    if last in args:
                        grown.append(Program(program.input_types, (*program.statements, Statement(primitive.name, args))))
        programs += grown
        frontier = grown
    return programs


def motif_program(domain: Domain, rng: random.Random, length: int, bank: Sequence[Program], *,
                  motif_rate: float = 0.75, max_tries: int = 1000) -> Program:
    """A program of exactly ``length`` statements, chained from motifs and single statements.

    Each piece is a motif of ``bank`` that fits in the statements left (with probability
    ``motif_rate`` when the previous result is a list) or else one random statement;
    its first list parameter is the previous piece's result (an input to start with),
    and the other arguments of a single statement are any earlier values of their type.

    Raises:
        ValueError: ``length < 1``, an empty bank, or ``motif_rate`` outside [0, 1].
        SamplingError: no program was found in ``max_tries`` attempts.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> bank = motif_bank(deepcoder, seed=1, count=4)
        >>> len(motif_program(deepcoder, random.Random(0), 6, bank).statements)
        6
    """
    if length < 1:
        raise ValueError(f"motif_program: length must be >= 1, got {length}")
    if not bank:
        raise ValueError("motif_program: the motif bank is empty")
    if not 0 <= motif_rate <= 1:
        raise ValueError(f"motif_program: motif_rate must be in [0, 1], got {motif_rate}")
    signatures = [s for s in domain.signatures if Type.LIST in s]
    for _ in range(max_tries):
        types = list(rng.choice(signatures))
        n = len(types)
        current = rng.choice([i for i, t in enumerate(types) if t is Type.LIST])
        body: list[Statement] = []
        while len(body) < length:
            fitting = [m for m in bank if len(m.statements) <= length - len(body)]
            if types[current] is Type.LIST and fitting and rng.random() < motif_rate:
                motif = rng.choice(fitting)
                where = {0: current}
                for statement in motif.statements:
                    where[len(where)] = len(types)
                    body.append(Statement(statement.primitive, tuple(where[a] for a in statement.args)))
                    types.append(domain.primitives[statement.primitive].return_type)
            else:
                statement = _statement_using(domain, rng, types, current)
                if statement is None:
                    break
                body.append(statement)
                types.append(domain.primitives[statement.primitive].return_type)
            current = len(types) - 1
        if len(body) == length:
            return Program(tuple(types[:n]), tuple(body))
    raise SamplingError(f"motif_program: no program of length {length} in {max_tries} tries; "
                        "give a bank whose motifs chain, or more max_tries")


def _statement_using(domain: Domain, rng: random.Random, types: list[Type], current: int) -> Statement | None:
    """A random statement with variable ``current`` among its arguments (``None``: no primitive takes its type)."""
    have = set(types)
    takers = [p for p in domain.primitives.values() if types[current] in p.arg_types and have.issuperset(p.arg_types)]
    if not takers:
        return None
    primitive = rng.choice(takers)
    slot = rng.choice([i for i, t in enumerate(primitive.arg_types) if t is types[current]])
    args = [current if i == slot else rng.choice([v for v, t in enumerate(types) if t is want])
            for i, want in enumerate(primitive.arg_types)]
    return Statement(primitive.name, tuple(args))
