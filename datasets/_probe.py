"""Behaviour signatures: a program's outputs on a fixed, seeded set of probe inputs.

Two programs with the same input types and the same outputs (or errors) on every
probe are treated as observationally equivalent. A generative program (``regex``)
has one probe, its empty input, and its output is the regex it builds: two programs
are one behaviour when they build the same regex. The probe set depends only on the
domain, the input types and the probe count, never on a dataset's seed, so
signatures of different datasets compare.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._domain import Domain
from ._interpreter import Value
from ._program import Program, Type

__all__ = ["Behaviour", "probe_inputs", "probe_outputs", "behaviour", "DigestSet"]

# Edge cases every probe set starts with: empty and one-element lists, and the
# ints at both ends of the input range, where programs most often differ.
_EDGE_LISTS = ([], [0], [-1, 1], [3, -2, 5, 0, -4])


@dataclass(frozen=True)
class Behaviour:
    """A program's outputs on the probes, reduced to what deduplication needs.

    Attributes:
        digest: 64-bit BLAKE2b digest of the input types and the outputs (errors
            included), the key of observational equivalence.
        valid: how many probes the program ran on without error.
        constant: whether every valid output is the same value.
    """

    digest: int
    valid: int
    constant: bool


_CACHE: dict[tuple[str, tuple[Type, ...], int], tuple[tuple[Value, ...], ...]] = {}


def probe_inputs(domain: Domain, input_types: tuple[Type, ...], count: int) -> tuple[tuple[Value, ...], ...]:
    """``count`` fixed probe argument tuples for programs taking ``input_types``.

    The first probes combine edge cases; the rest are drawn from the domain's input
    distribution with a generator seeded by the types alone.

    Example:
        >>> from worldmodel.datasets import deepcoder, Type
        >>> probes = probe_inputs(deepcoder, (Type.LIST,), 8)
        >>> len(probes), probes[0]
        (8, ([],))
    """
    key = (domain.name, tuple(input_types), count)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = _draw_probes(domain, tuple(input_types), count)
    return cached


def _draw_probes(domain: Domain, input_types: tuple[Type, ...], count: int) -> tuple[tuple[Value, ...], ...]:
    if count < 1:
        raise ValueError(f"probe count must be >= 1, got {count}")
    c = domain.inputs
    rng = random.Random("probes:" + ",".join(t.value for t in input_types))
    edges: list[tuple[Value, ...]] = []
    lo, hi = domain.bounds.min_value, domain.bounds.max_value
    for k in range(len(_EDGE_LISTS)):
        edges.append(
            tuple(
                # clamped into the domain's bounds: probes run unchecked, so each must be valid
                [min(max(v, lo), hi) for v in _EDGE_LISTS[k]] if t is Type.LIST
                else (c.min_int if k % 2 == 0 else c.max_int) if t is Type.INT
                else domain.random_value(t, rng)
                for t in input_types
            )
        )
    if all(t not in (Type.INT, Type.LIST) for t in input_types):
        # A domain's own types have one input value (the empty regex): one probe says all.
        return (domain.random_inputs(input_types, rng),)
    probes = edges[: min(count // 4, len(edges))]
    while len(probes) < count:
        probes.append(domain.random_inputs(input_types, rng))
    return tuple(probes)


def behaviour(domain: Domain, program: Program, probes: Sequence[tuple[Value, ...]]) -> Behaviour:
    """Run ``program`` on every probe and summarise the outputs.

    Gives the same outputs as ``domain.run`` on each probe (an error counts as an
    output), but runs statement by statement over all probes at once: the probes are
    valid inputs already, and one pass per statement avoids the per-run set-up that
    dominates short programs.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a | c <- SORT b")
        >>> q = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> probes = probe_inputs(deepcoder, p.input_types, 16)
        >>> behaviour(deepcoder, p, probes).digest == behaviour(deepcoder, q, probes).digest
        True
    """
    outputs = probe_outputs(domain, program, probes)
    valid = [o for o in outputs if o is not None]
    # A generative program's output is a distribution, not a function of its inputs: it
    # is never "constant" (random_examples rejects one that draws a single string).
    constant = domain.generative is None and all(o == valid[0] for o in valid)
    key = repr((tuple(t.value for t in program.input_types), outputs)).encode()
    digest = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return Behaviour(digest, len(valid), constant)


def probe_outputs(domain: Domain, program: Program, probes: Sequence[tuple[Value, ...]]) -> list[Value | None]:
    """``domain.run(program, x)`` for each probe ``x``, with ``None`` where it raises.

    ``probes`` must be valid inputs for the program's types (as :func:`probe_inputs` gives).
    """
    bounds = domain.bounds
    if len(program.statements) > bounds.max_statements:
        return [None] * len(probes)
    lo, hi = bounds.min_value, bounds.max_value
    env: list[list] = [[x[i] for x in probes] for i in range(len(program.input_types))]
    primitives = domain.primitives
    for statement in program.statements:
        primitive = primitives[statement.primitive]
        f, args = primitive.function, statement.args
        column: list = []
        append = column.append
        if len(args) == 1:
            for x in env[args[0]]:
                if x is None:
                    append(None)
                    continue
                try:
                    append(f(x))
                except (IndexError, ValueError):
                    append(None)
        else:
            for x, y in zip(env[args[0]], env[args[1]]):
                if x is None or y is None:
                    append(None)
                    continue
                try:
                    append(f(x, y))
                except (IndexError, ValueError):
                    append(None)
        # As in the interpreter: only value-creating primitives can leave the range.
        if primitive.creates_values:
            for k, value in enumerate(column):
                if type(value) is int:
                    if not lo <= value <= hi:
                        column[k] = None
                elif value and (min(value) < lo or max(value) > hi):
                    column[k] = None
        env.append(column)
    return env[-1]


class DigestSet:
    """A set of 64-bit digests at about 8 bytes each (a sorted numpy array).

    New digests wait in a small Python set and are merged into the sorted array in
    batches, so memory stays near 8 bytes per digest rather than ~70 for a set of ints.

    Example:
        >>> s = DigestSet()
        >>> s.add(5); s.add(2**64 - 1)
        >>> 5 in s, 6 in s, len(s)
        (True, False, 2)
    """

    def __init__(self, digests: np.ndarray | None = None, *, batch: int = 1 << 16):
        self._sorted = np.unique(digests.astype(np.uint64)) if digests is not None else np.empty(0, np.uint64)
        self._pending: set[int] = set()
        self._batch = batch

    def __len__(self) -> int:
        return len(self._sorted) + len(self._pending)

    def __contains__(self, digest: int) -> bool:
        if digest in self._pending:
            return True
        a = self._sorted
        i = int(np.searchsorted(a, np.uint64(digest)))
        return i < len(a) and int(a[i]) == digest

    def add(self, digest: int) -> None:
        """Add one digest (0 <= digest < 2**64)."""
        self._pending.add(digest)
        if len(self._pending) >= self._batch:
            merged = np.concatenate([self._sorted, np.fromiter(self._pending, np.uint64, len(self._pending))])
            merged.sort()
            self._sorted = merged
            self._pending = set()
