"""One budget for every method: simulator calls and seconds, counted the same way.

The unit of simulator work (a "call") is one statement executed on one example. A
program of L statements run on K examples costs L·K, less the statements whose
results are already cached: :class:`Simulator` caches every executed prefix, so a
search that extends or edits the tail of a program pays only for what is new.

The simulator is the one place where the model-guided searches run programs: a world
model's features that depend on execution ask it too (through ``run``, see
:mod:`~worldmodel.inference._scorer`), so a statement executed for a feature and then
kept by the search is counted once. A statement is charged before it runs, and one
that would take the calls past ``Budget.calls`` is refused, so a search never reports
more calls than its budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..datasets import (
    Domain,
    ExecutionError,
    Program,
    Task,
    Value,
    WorldModelError,
    apply_primitive,
    require_at_least,
    require_positive,
)

__all__ = ["Budget", "BudgetExhausted", "Simulator", "SolveResult", "verify", "score"]


@dataclass(frozen=True)
class Budget:
    """Limits on a search: simulator calls and wall-clock seconds (``None``: no limit).

    Example:
        >>> Budget(calls=10_000, seconds=5.0)
        Budget(calls=10000, seconds=5.0)
    """

    calls: int | None = 100_000
    seconds: float | None = 60.0

    def __post_init__(self) -> None:
        require_at_least(self, 0, "calls", optional=True)
        require_positive(self, "seconds", optional=True)


_STOP: dict[str, int | None] = {"signal": None}


def request_stop(signum: int) -> None:
    """Ask every running search to end at its next budget check, as if its seconds ran
    out; a signal handler calls this. Python raises a handler's exception wherever the
    main thread is, and one raised inside a finalizer is printed and dropped: with the
    request recorded, a search stops even then."""
    _STOP["signal"] = signum


def stop_requested() -> int | None:
    """The signal of a pending :func:`request_stop`, or ``None``."""
    return _STOP["signal"]


def clear_stop() -> None:
    """Forget a :func:`request_stop` (searches run again)."""
    _STOP["signal"] = None


class BudgetExhausted(WorldModelError):
    """Raised inside a search when the budget is spent; :func:`solve` catches it.

    Attributes:
        calls: the simulator calls spent when it was raised (``None`` if unknown).
    """

    def __init__(self, calls: int | None = None):
        super().__init__("budget exhausted" if calls is None else f"budget exhausted after {calls} calls")
        self.calls = calls


@dataclass
class SolveResult:
    """What a search returns.

    Attributes:
        task_id: the task's id.
        method: the method's name.
        program: the best program found (a solution if ``verified``), or ``None``.
        verified: the simulator ran ``program`` on every example and matched every output
            (a generative task: gave every observation non-zero likelihood).
        calls: simulator calls spent (statements × examples, cached prefixes free).
        seconds: wall-clock seconds spent.
        trace: a short log, e.g. the best energy after each step (method-specific).
        diagnostics: named figures of the method, e.g. an MCMC kernel's acceptance rate.
        log_likelihood: for a generative task, the exact log-likelihood of its
            observations under ``program`` (their sum; ``None`` otherwise).
    """

    task_id: str
    method: str
    program: Program | None
    verified: bool
    calls: int
    seconds: float
    trace: list[float] = field(default_factory=list)
    diagnostics: dict[str, float] = field(default_factory=dict)
    log_likelihood: float | None = None


class Simulator:
    """Runs programs on a task's example inputs, counting calls against a budget.

    Args:
        task: the specification; its example inputs are validated once here.
        domain: the DSL.
        budget: the limits; a statement that would take the calls past ``budget.calls``
            is not run, and :class:`BudgetExhausted` is raised instead (also once the
            seconds are spent).
        cache_size: most program prefixes kept (default 200 000).

    A generative task's observations share one input (the empty value of each type), so
    a statement runs once (one call) and :meth:`score` charges one call per observation
    for the likelihood of a candidate, the DP a run on that observation is.

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> sim = Simulator(task, deepcoder, Budget(calls=100))
        >>> sim.outputs(deepcoder.parse("a <- [int] | b <- SORT a")), sim.calls
        ([[1, 3]], 1)
        >>> sim.outputs(deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")), sim.calls
        ([[3, 1]], 2)
    """

    def __init__(self, task: Task, domain: Domain, budget: Budget, *, cache_size: int = 200_000):
        self.task = task
        self.domain = domain
        self.budget = budget
        self.generative = domain.generative
        if self.generative is None:
            self.inputs = [list(e.inputs) for e in task.examples]
            self.targets = [e.output for e in task.examples]
        else:
            self.inputs = [list(task.examples[0].inputs)]
            self.targets = None
            self.observations = [self.generative.decode(e.output) for e in task.examples]
        self.calls = 0
        self.start = time.perf_counter()
        self._cache: dict[tuple, list[list[Value]] | None] = {}
        self._cache_size = cache_size

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def charge(self, calls: int) -> None:
        """Record ``calls`` spent outside the simulator; raise :class:`BudgetExhausted`
        if a limit is passed (a caller that must not pass the budget checks first, as
        enumeration does)."""
        self.calls += calls
        self.check()

    def reserve(self, calls: int) -> None:
        """Charge ``calls`` about to be spent, or raise :class:`BudgetExhausted` without
        charging them if they would take the calls past ``budget.calls`` or the
        seconds are spent."""
        limit = self.budget.calls
        if limit is not None and self.calls + calls > limit:
            raise BudgetExhausted(self.calls)
        self.check()
        self.calls += calls

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` if a limit is already passed (or a stop was
        requested, :func:`request_stop`)."""
        if _STOP["signal"] is not None:
            raise BudgetExhausted(self.calls)
        b = self.budget
        if b.calls is not None and self.calls > b.calls:
            raise BudgetExhausted(self.calls)
        if b.seconds is not None and self.seconds > b.seconds:
            raise BudgetExhausted(self.calls)

    def environments(self, program: Program) -> list[list[Value]] | None:
        """Every variable's value on every example (``[k][variable]``), or ``None``
        if the program is invalid on some example."""
        body = program.statements
        key = (program.input_types, body)
        if key in self._cache:
            return self._cache[key]
        if not body:
            envs = [list(x) for x in self.inputs]
        else:
            parent = self.environments(Program(program.input_types, body[:-1]))
            if parent is None:
                envs = None
            else:
                statement = body[-1]
                primitive = self.domain.primitives[statement.primitive]
                self.reserve(len(self.inputs) * primitive.statements)  # a skill runs its whole body
                envs = []
                try:
                    for env in parent:
                        value = apply_primitive(primitive, [env[a] for a in statement.args], self.domain.bounds)
                        envs.append(env + [value])
                except ExecutionError:
                    envs = None
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = envs
        return envs

    def outputs(self, program: Program) -> list[Value] | None:
        """The program's output on each example, or ``None`` if invalid on any."""
        envs = self.environments(program)
        return None if envs is None else [env[-1] for env in envs]

    def solves(self, program: Program) -> bool:
        """Whether ``program`` reproduces every example's output (a generative task:
        explains every observation)."""
        if self.generative is not None:
            return self.log_likelihood(program) > -math.inf
        return self.outputs(program) == self.targets

    def score(self, value: Sequence[int]) -> float:
        """The log-likelihood of the observations of a generative task under the value
        of a candidate program (their sum, ``-inf`` if one has likelihood 0), charging
        one call per observation before computing it.

        Raises:
            BudgetExhausted: the calls would pass the budget (nothing is charged).
            ExecutionError: ``value`` is no distribution of the domain.
        """
        self.reserve(len(self.observations))
        total = 0.0
        for observation in self.observations:
            total += self.generative.log_likelihood(value, observation)
            if total == -math.inf:
                break
        return total

    def log_likelihood(self, program: Program) -> float:
        """:meth:`score` of the value ``program`` computes (``-inf`` if it is invalid)."""
        outputs = self.outputs(program)
        return -math.inf if outputs is None else self.score(outputs[0])


def verify(program: Program | None, task: Task, domain: Domain) -> bool:
    """Check ``program`` on every example with the exact interpreter (no budget): it
    reproduces every output, or (a generative task) gives every observation non-zero
    likelihood."""
    return program is not None and domain.explains(program, task.examples)


def score(program: Program | None, task: Task, domain: Domain) -> float | None:
    """The exact log-likelihood of a generative task's observations under ``program``
    (no budget; ``-inf`` for no program or an invalid one), ``None`` for an input/output
    task."""
    if domain.generative is None:
        return None
    if program is None:
        return -math.inf
    try:
        return math.fsum(domain.log_likelihoods(program, task.examples))
    except ExecutionError:
        return -math.inf
