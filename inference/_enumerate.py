"""Bottom-up enumeration with observational-equivalence pruning: the baseline.

A generative task (a set of observations, ``regex``) has no target to reach: every
new value is a candidate, scored by :meth:`Simulator.score` (one call per
observation) as it is built, and the search runs until its budget or its value space
ends and returns the best-scoring candidate that explains every observation. Ties
keep the candidate built first (a cheaper level, or earlier within one).

A value is the tuple of a variable's results on the task's K examples. The search
starts from the inputs and, level by level, applies every primitive to every
combination of known values of the right types; a result is kept only if its tuple
of per-example results is new (observational equivalence: two programs that agree
on every example are interchangeable here), together with how it was built. It stops
when a result equals the target outputs and extracts the straight-line program.

Order. Level ``s`` holds the values first built by a program *tree* of cost ``s``:
an application costs its primitive's cost plus its arguments' costs, inputs cost 0.
With every primitive at cost 1 (the default) the cost is the tree size, an upper
bound on the size of the extracted straight-line program, which counts a shared
subexpression once (``ZIPWITH (+) (SORT a) (SORT a)`` is at level 3 but has 2
statements), so short programs come first up to that slack. Other integer costs give
weighted bottom-up search (Probe, HySynth): cheap primitives, e.g. those a model
predicts from the spec, are combined first, and every primitive is still reached.

Cost. Applying one primitive to one value on K examples is K simulator calls (one
statement on one example, as :class:`Simulator` counts programs), charged whether
or not the result is valid. An application that would take the calls past
``budget.calls`` is not made, so the calls never exceed the budget, and a run with
budget B makes exactly the first applications of a run with any larger budget: the
search is *anytime* in calls (solved at B iff solved within B calls).

Semantics. A result that is invalid on any example (the primitive raises, or a new
value leaves the domain's bounds) is dropped, as the interpreter would reject every
program using it. Lists are held as tuples so that values hash: a domain's primitive
functions must accept tuples where they accept lists (DeepCoder's do; the tests check
every kept value against the interpreter). A target equal to the last input is the
empty program; one equal to another input is still searched for (every candidate is
then compared with it, not only the new ones).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, combinations_with_replacement, product

from worldmodel.datasets import ConfigError, Program, Statement, Task, Type, require_at_least

from ._simulator import BudgetExhausted, Simulator, SolveResult, verify

__all__ = [
    "EnumerationConfig",
    "Enumeration",
    "enumerate_program",
    "enumerate_search",
]


@dataclass(frozen=True)
class EnumerationConfig:
    """Options of the enumerator.

    Attributes:
        max_size: stop after this cost level, the tree size with unit costs (default
            ``None``: until the budget or the value space runs out).
        check_every: applications between two checks of the clock (default 256; a
            power of two). The calls limit is checked before every application.
    """

    max_size: int | None = None
    check_every: int = 256

    def __post_init__(self) -> None:
        require_at_least(self, 0, "max_size", optional=True)
        if self.check_every < 1 or self.check_every & (self.check_every - 1):
            raise ConfigError(
                f"EnumerationConfig.check_every must be a power of two (1, 2, 4, ...), got {self.check_every}"
            )


@dataclass
class Enumeration:
    """What one enumeration did.

    Attributes:
        program: the solution (topologically ordered, no dead code), or ``None``.
        stopped: why it stopped: ``"solved"``, ``"calls"``, ``"seconds"``,
            ``"max_size"`` or ``"exhausted"`` (no program of any size makes a new value).
        calls: simulator calls charged (applications × K, a skill × its statements).
        seconds: wall-clock seconds.
        applications: primitive applications made (each on all K examples).
        values: distinct values known at the end, inputs included.
        level: the cost level being enumerated when it stopped.
        level_values: distinct values after each completed level (level 0: inputs).
        log_likelihood: for a generative task, the score of ``program`` (``None`` otherwise).
    """

    program: Program | None
    stopped: str
    calls: int
    seconds: float
    applications: int
    values: int
    level: int
    level_values: list[int] = field(default_factory=list)
    log_likelihood: float | None = None


class _Stop(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _key(results: list) -> tuple:
    # Lists become tuples so that a value (one result per example) hashes.
    return tuple(tuple(v) if isinstance(v, list) else v for v in results)


def enumerate_program(
    task: Task,
    simulator: Simulator,
    *,
    config: EnumerationConfig = EnumerationConfig(),
    costs: Mapping[str, int] | None = None,
    delays: Callable[[list[tuple]], Sequence[int]] | None = None,
) -> Enumeration:
    """Find a program for ``task`` by bottom-up enumeration, charging ``simulator``.

    Args:
        task: the examples (K of them; every value is a K-tuple of results).
        simulator: counts calls against its budget (K per application, times a skill's statements) and holds
            the clock; its ``domain`` gives the primitives and bounds.
        config: the options (default :class:`EnumerationConfig`).
        costs: an integer cost >= 1 per primitive name (default ``None``: 1 each, i.e.
            by tree size); every primitive of the domain needs one. Within a level,
            primitives are tried by cost, then in the order ``costs`` lists them.
        delays: given the new values of a completed level (each a K-tuple of results),
            a number ``d >= 0`` for each: it becomes an argument ``floor(d)`` levels
            later, and the values of one level that go to the same level are combined
            in order of ``d`` (default ``None``: none delayed, the order of building).
            Values a model finds unlikely to lead to the target are then combined
            later (BUSTLE's re-weighting); each is still compared with the target when
            it is built, and none is dropped.

    Returns:
        An :class:`Enumeration`; ``program`` is ``None`` unless it stopped ``"solved"``.
        The program is not verified here: :func:`worldmodel.inference.solve` does that.

    Raises:
        ValueError: a primitive of the domain takes other than 1 or 2 arguments, or
            ``costs`` misses a primitive or holds a cost that is not an int >= 1.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> from worldmodel.inference import Budget, Simulator
        >>> task = Task("t", (Example(([3, 1, 2],), [6, 4, 2]), Example(([5],), [10])), (Type.LIST,))
        >>> found = enumerate_program(task, Simulator(task, deepcoder, Budget(calls=10_000)))
        >>> deepcoder.format(found.program), found.stopped
        ('a <- [int] | b <- MAP (*2) a | c <- SORT b | d <- REVERSE c', 'solved')
    """
    return _Enumerator(task, simulator, config, costs=costs, delays=delays).run()


class _Enumerator:
    """The state of one enumeration; :meth:`run` is the hot loop."""

    def __init__(
        self, task: Task, sim: Simulator, config: EnumerationConfig, *, costs: Mapping[str, int] | None = None,
        delays: Callable[[list[tuple]], Sequence[float]] | None = None,
    ):
        if costs is None:
            costs = dict.fromkeys(sim.domain.primitives, 1)
        for name in sim.domain.primitives:
            cost = costs.get(name)
            if type(cost) is not int or cost < 1:
                raise ValueError(f"costs[{name!r}] must be an int >= 1, got {cost!r}")
        self.task, self.sim, self.config, self.costs, self.delays = task, sim, config, costs, delays
        # A primitive's place in the order of trial: by cost, then as ``costs`` lists them.
        listed = {name: i for i, name in enumerate(costs)}
        self.rank = {name: (costs[name], listed[name]) for name in sim.domain.primitives}
        self.start = time.perf_counter()
        self.K = len(sim.inputs)
        # Every value: its data (K results) and how it was built.
        self.datas: list[tuple] = []
        self.origins: list[
            tuple[str, tuple[int, ...]] | int
        ] = []  # (primitive, args) or input index
        self.seen: dict[tuple, int] = {}
        # levels[type][s] = (ids, datas) of the values first built at cost s.
        self.types = (Type.INT, Type.LIST, *sorted(
            {t for p in sim.domain.primitives.values() for t in (*p.arg_types, p.return_type)}
            - {Type.INT, Type.LIST}, key=lambda t: t.value))
        self.levels: dict[Type, list[tuple[list[int], list[tuple]]]] = {t: [([], [])] for t in self.types}
        # A generative task's best candidate so far: (score, origin).
        self.generative = sim.generative is not None
        self.best: tuple[float, tuple[str, tuple[int, ...]]] | None = None
        for i, t in enumerate(task.input_types):
            data = _key([x[i] for x in sim.inputs])
            if data in self.seen:  # two equal inputs: either one serves
                continue
            self.seen[data] = len(self.datas)
            self.levels[t][0][0].append(len(self.datas))
            self.levels[t][0][1].append(data)
            self.datas.append(data)
            self.origins.append(i)
        self.target = None if self.generative else _key([e.output for e in task.examples])
        self.level_values = [len(self.datas)]
        self.calls = self.charged = sim.calls
        self.applications = 0

    def extract(self, last: tuple[str, tuple[int, ...]]) -> Program:
        """The straight-line program of a value built as ``last``: shared values once,
        arguments before use, only what the output needs."""
        n_inputs = len(self.task.input_types)
        index: dict[int, int] = {}
        statements: list[Statement] = []

        def visit(v: int) -> int:
            origin = self.origins[v]
            if isinstance(origin, int):
                return origin
            if v not in index:
                args = tuple(visit(a) for a in origin[1])
                statements.append(Statement(origin[0], args))
                index[v] = n_inputs + len(statements) - 1
            return index[v]

        args = tuple(visit(a) for a in last[1])
        statements.append(Statement(last[0], args))
        return Program(self.task.input_types, tuple(statements))

    def finish(self, program: Program | None, stopped: str, level: int) -> Enumeration:
        try:
            self.sim.charge(self.calls - self.charged)
        except BudgetExhausted:
            pass  # the clock ran out at the very end; the calls are within budget
        score = None
        if self.best is not None:
            score, program = self.best[0], self.extract(self.best[1])
        return Enumeration(
            program,
            stopped,
            self.sim.calls,
            time.perf_counter() - self.start,
            self.applications,
            len(self.datas),
            level,
            self.level_values,
            score,
        )

    def run(self) -> Enumeration:
        task, sim, config = self.task, self.sim, self.config
        inputs = task.input_types
        if inputs and self.target == _key([x[-1] for x in sim.inputs]):
            return self.finish(Program(inputs, ()), "solved", 0)
        unary, binary = [], []
        # Within a level, cheaper primitives first: a budget that ends mid-level has
        # then tried the likelier ones (ties keep the costs' order, then the domain's).
        names = sorted(sim.domain.primitives, key=self.rank.__getitem__)
        for name in names:
            p = sim.domain.primitives[name]
            entry = (
                name,
                p.function,
                p.arg_types,
                p.return_type,
                p.return_type is not Type.INT,  # lists, and a domain's own values (code lists)
                p.creates_values,
            )
            if len(p.arg_types) == 1:
                unary.append(entry)
            elif len(p.arg_types) == 2:
                commutes = p.commutative and p.arg_types[0] is p.arg_types[1]
                binary.append(entry + (commutes,))
            else:
                raise ValueError(
                    f"enumeration supports primitives of 1 or 2 arguments; {name} takes {len(p.arg_types)}"
                )
        # (cost, arity) of each primitive, for the test of exhaustion below.
        shapes = {(self.costs[entry[0]], 1) for entry in unary} | {(self.costs[entry[0]], 2) for entry in binary}
        size = last_nonempty = 0
        try:
            while True:
                size += 1
                if config.max_size is not None and size > config.max_size:
                    return self.finish(None, "max_size", size - 1)
                # A primitive of cost c and arity a combines at level s levels that sum
                # to s - c: once that exceeds a times the last non-empty level for every
                # primitive, nothing new can be built.
                if all(size - cost > arity * last_nonempty for cost, arity in shapes):
                    return self.finish(None, "exhausted", size)
                sim.check()
                for t in self.types:
                    while len(self.levels[t]) <= size:  # delayed values may have made it already
                        self.levels[t].append(([], []))
                # The values delayed to this level come first in its lists; the level's own follow.
                arrived = {t: len(self.levels[t][size][0]) for t in self.types}
                for entry in unary:
                    rest = size - self.costs[entry[0]]
                    if rest < 0:
                        continue
                    ids, ds = self.levels[entry[2][0]][rest]
                    # zip of 1-tuples: ((a,), (x,)) items built in C, no Python generator.
                    found = self._apply(entry, size, zip(zip(ids), zip(ds)))
                    if found is not None:
                        return self.finish(found, "solved", size)
                for entry in binary:
                    (t0, t1), commutes = entry[2], entry[6]
                    rest = size - self.costs[entry[0]]
                    for i in range(rest + 1):
                        j = rest - i
                        if commutes and i > j:
                            continue
                        ids0, ds0 = self.levels[t0][i]
                        ids1, ds1 = self.levels[t1][j]
                        if not ids0 or not ids1:
                            continue
                        # ((a, b), (x, y)) items, ids and data paired in the same order;
                        # for commuting arguments of one level, each unordered pair once.
                        if commutes and i == j:
                            pairs = zip(
                                combinations_with_replacement(ids0, 2),
                                combinations_with_replacement(ds0, 2),
                            )
                        else:
                            pairs = zip(product(ids0, ids1), product(ds0, ds1))
                        found = self._apply(entry, size, pairs)
                        if found is not None:
                            return self.finish(found, "solved", size)
                if self.delays is not None:
                    self._delay(size, arrived)
                # The highest level holding values, delayed ones included.
                for t in self.types:
                    for s_ in range(len(self.levels[t]) - 1, last_nonempty, -1):
                        if self.levels[t][s_][0]:
                            last_nonempty = s_
                            break
                self.level_values.append(len(self.datas))
        except _Stop as stop:
            return self.finish(None, stop.reason, size)
        except BudgetExhausted:  # from sim.check() at a level's start
            return self.finish(None, "seconds", size)

    def _delay(self, size: int, arrived: dict[Type, int]) -> None:
        """Move the values first built at ``size`` (after the ``arrived`` ones delayed to
        it) to the levels ``self.delays`` gives them."""
        for t in self.types:
            ids, ds = self.levels[t][size]
            start = arrived[t]
            if len(ids) == start:
                continue
            later = list(self.delays(ds[start:]))
            kept: tuple[list[int], list[tuple]] = (ids[:start], ds[:start])
            # Smallest delay first (a stable sort: ties keep the order of building).
            for n in sorted(range(len(later)), key=later.__getitem__):
                i, d, delay = ids[start + n], ds[start + n], later[n]
                if not delay >= 0:
                    raise ValueError(f"delays must be numbers >= 0, got {delay!r}")
                delay = int(delay)
                while len(self.levels[t]) <= size + delay:
                    self.levels[t].append(([], []))
                bucket = kept if delay == 0 else self.levels[t][size + delay]
                bucket[0].append(i)
                bucket[1].append(d)
            self.levels[t][size] = kept

    def _score(self, out: tuple, origin: tuple[str, tuple[int, ...]], calls: int) -> int:
        """Score a new candidate through the simulator (it charges the observations) and
        keep it if it is the best; returns the calls spent so far."""
        sim = self.sim
        try:
            sim.charge(calls - self.charged)
            score = sim.score(out[0])
        except BudgetExhausted:
            raise _Stop("calls" if sim.budget.seconds is None or sim.seconds <= sim.budget.seconds
                        else "seconds") from None
        finally:
            self.charged = sim.calls
        if score > -math.inf and (self.best is None or score > self.best[0]):
            self.best = (score, origin)
        return sim.calls

    def _apply(self, entry: tuple, size: int, arguments: Iterable[tuple]) -> Program | None:
        """Apply one primitive to each argument tuple in order; the hot loop.

        Returns the program as soon as a result equals the target, else ``None``.
        Raises :class:`_Stop` when the calls or the seconds run out.
        """
        name, f, _, rtype, is_list, creates = entry[:6]
        sim, mask = self.sim, self.config.check_every - 1
        K = self.K * sim.domain.primitives[name].statements  # calls per application: a skill runs its body
        limit = sim.budget.calls if sim.budget.calls is not None else float("inf")
        lo, hi = sim.domain.bounds.min_value, sim.domain.bounds.max_value
        seen, datas, origins, target = self.seen, self.datas, self.origins, self.target
        target_is_input = target in seen  # then every candidate is compared, not only new ones
        ids, ds = self.levels[rtype][size]
        calls, applications = self.calls, self.applications
        try:
            for args, values in arguments:
                # Charge before applying: a failed application costs as much as a good one.
                if calls + K > limit:
                    raise _Stop("calls")
                calls += K
                applications += 1
                if not applications & mask:
                    try:
                        sim.charge(calls - self.charged)
                    except BudgetExhausted:
                        raise _Stop("seconds") from None
                    finally:
                        self.charged = calls
                try:
                    if is_list:
                        out = tuple(map(tuple, map(f, *values)))
                    else:
                        out = tuple(map(f, *values))
                except (IndexError, ValueError):
                    continue
                if creates:
                    flat = tuple(chain.from_iterable(out)) if is_list else out
                    if flat and (min(flat) < lo or max(flat) > hi):
                        continue
                if out in seen:
                    if target_is_input and out == target:
                        return self.extract((name, args))
                    continue
                seen[out] = len(datas)
                ids.append(len(datas))
                ds.append(out)
                datas.append(out)
                origins.append((name, args))
                if self.generative:
                    calls = self._score(out, (name, args), calls)
                elif out == target:
                    return self.extract((name, args))
            return None
        finally:
            self.calls, self.applications = calls, applications


def enumerate_search(
    task: Task, *, model: object = None, budget, domain, seed: int = 0,
    config: EnumerationConfig = EnumerationConfig(),
) -> SolveResult:
    """The ``"enumerate"`` :class:`~worldmodel.inference.SearchMethod`: ignores ``model`` and ``seed``.

    ``trace`` is the number of distinct values after each completed size level;
    ``verified`` is checked with :func:`verify`.
    """
    found = enumerate_program(task, Simulator(task, domain, budget), config=config)
    return enumeration_result(task, "enumerate", found, domain)


def enumeration_result(
    task: Task, method: str, found: Enumeration, domain, diagnostics: dict[str, float] | None = None
) -> SolveResult:
    """The :class:`SolveResult` of an enumeration: ``trace`` is the distinct values after
    each completed level, ``verified`` checked with :func:`verify`."""
    return SolveResult(
        task.id,
        method,
        found.program,
        verify(found.program, task, domain),
        found.calls,
        found.seconds,
        [float(v) for v in found.level_values],
        diagnostics or {},
        found.log_likelihood,
    )
