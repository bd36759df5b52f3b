"""A domain is data plus a few functions: the protocol every DSL plugs into."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import _edits
from ._errors import ExecutionError, SamplingError
from ._interpreter import DEFAULT_BOUNDS, Bounds, Value, run, trace
from ._program import Primitive, Program, Statement, Type, format_program, parse_program
from ._skills import Skill, expand, skill_primitives

if TYPE_CHECKING:
    from ._tasks import Task

__all__ = ["InputConfig", "INPUT_DISTRIBUTIONS", "Example", "Generative", "Domain"]


@dataclass(frozen=True)
class InputConfig:
    """How random inputs are drawn (defaults follow ExeDec's DeepCoder split).

    Attributes:
        min_value: smallest list element (default -50).
        max_value: largest list element (default 50).
        min_list_length: shortest list (default 0).
        max_list_length: longest list (default 5).
        min_int: smallest int input (default 0).
        max_int: largest int input (default 5).
    """

    min_value: int = -50
    max_value: int = 50
    min_list_length: int = 0
    max_list_length: int = 5
    min_int: int = 0
    max_int: int = 5


INPUT_DISTRIBUTIONS: dict[str, InputConfig] = {
    "exedec": InputConfig(),
    "medium": InputConfig(min_value=-100, max_value=100, max_list_length=10, min_int=0, max_int=10),
    "pccoder": InputConfig(min_value=-256, max_value=255, max_list_length=20, min_int=-256, max_int=255),
}
"""Named input distributions for Φ: ExeDec's small lists and ints (the default), and
PCCoder's longer lists of wider values (Zohar & Wolf 2018), with one in between."""


@dataclass(frozen=True)
class Example:
    """One input/output pair: ``inputs`` is the list of the program's arguments."""

    inputs: tuple[Value, ...]
    output: Value


@dataclass(frozen=True)
class Generative:
    """What makes a domain's tasks *generative*: a program computes a distribution over
    strings (from its inputs, the empty value of each type), and a task is a set of
    observations it must explain.

    In a task, observation ``k`` is example ``k``: its input is the program's inputs and
    its output the observation as a list of character codes, so every reader, Φ and the
    models' encoders handle it as they handle examples. A program *explains* a task when
    every observation has non-zero likelihood; its score is the sum of their
    log-likelihoods.

    Attributes:
        log_likelihood: ``(value, observation) -> float``, exact, ``-inf`` outside the
            support; raises :class:`ExecutionError` for a value that is no distribution.
        sample: ``(value, rng) -> str | None``, one observation, ``None`` for a draw past
            the domain's bounds.
        alphabet: the characters an observation may hold.
        describe: ``value -> str``, the value in the domain's usual notation.
    """

    log_likelihood: Callable[[Sequence[int], str], float]
    sample: Callable[[Sequence[int], random.Random], str | None]
    alphabet: str
    describe: Callable[[Sequence[int]], str] = repr

    def encode(self, observation: str) -> list[int]:
        """An observation as an example's output: its character codes."""
        return [ord(c) for c in observation]

    def decode(self, output: Sequence[int]) -> str:
        """An example's output as the observation it holds."""
        return "".join(map(chr, output))


# Primitives one attempt of random_program may draw per statement it must place; a
# draw fails only when no variable has an argument's type, so this is generous.
_DRAWS_PER_STATEMENT = 50

# Input signatures a random program may have, as in ExeDec's DeepCoder data.
_SIGNATURES = ((Type.LIST,), (Type.LIST, Type.LIST), (Type.LIST, Type.INT), (Type.INT, Type.LIST))


@dataclass(frozen=True)
class Domain:
    """A DSL as data: primitives, bounds, input distribution, and its functions.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
        >>> deepcoder.run(p, [[3, 1, 2]])
        [3, 2, 1]
    """

    name: str
    primitives: Mapping[str, Primitive]
    bounds: Bounds = DEFAULT_BOUNDS
    inputs: InputConfig = field(default_factory=InputConfig)
    signatures: tuple[tuple[Type, ...], ...] = _SIGNATURES
    skills: tuple[Skill, ...] = ()
    generative: Generative | None = None

    def log_likelihoods(self, program: Program, examples: Sequence[Example]) -> list[float]:
        """The log-likelihood of each observation (example output) of a generative task
        under ``program``, run exactly on the examples' inputs (``-inf`` where it is 0).

        Raises:
            DomainError: the domain is not generative.
            ExecutionError: the program is invalid on an input.

        Example:
            >>> from worldmodel.datasets import regex
            >>> p = regex.parse("a <- regex | b <- DIGIT a | c <- PLUS (0.5) b")
            >>> [round(v, 3) for v in regex.log_likelihoods(p, [Example(([],), [ord("7")])])]
            [-2.996]
        """
        g = self._generative()
        values = {}
        out = []
        for example in examples:
            key = tuple(map(tuple, example.inputs))
            if key not in values:
                values[key] = self.run(program, list(example.inputs))
            out.append(g.log_likelihood(values[key], g.decode(example.output)))
        return out

    def explains(self, program: Program, examples: Sequence[Example]) -> bool:
        """Whether ``program`` satisfies every example exactly: reproduces each output
        (input/output domains), or gives each observation non-zero likelihood
        (generative domains). An invalid run satisfies nothing."""
        try:
            if self.generative is not None:
                return all(v > -math.inf for v in self.log_likelihoods(program, examples))
            return all(self.run(program, list(e.inputs)) == e.output for e in examples)
        except ExecutionError:
            return False

    def _generative(self) -> Generative:
        if self.generative is None:
            from ._errors import DomainError

            raise DomainError(f"domain {self.name!r} is not generative: its tasks are input/output examples")
        return self.generative

    def with_skills(self, skills: Sequence[Skill]) -> Domain:
        """This domain with ``skills`` added as primitives (after any it has): programs may
        call them, the interpreter runs their bodies bounded, and a call is charged as the
        base statements it runs (:func:`skill_primitives`).

        Raises:
            ValueError: a skill's name is already a primitive's.

        Example:
            >>> from worldmodel.datasets import deepcoder
            >>> skill = Skill("SKILL0", deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b"))
            >>> domain = deepcoder.with_skills([skill])
            >>> program = domain.parse("a <- [int] | b <- SKILL0 a | c <- HEAD b")
            >>> domain.run(program, [[3, 1, 2]]), domain.format(domain.expand(program))
            (3, 'a <- [int] | b <- SORT a | c <- REVERSE b | d <- HEAD c')
        """
        primitives = skill_primitives(skills, self.primitives, bounds=self.bounds)
        return replace(self, primitives=primitives, skills=(*self.skills, *skills))

    @property
    def base(self) -> Domain:
        """This domain without its skills."""
        if not self.skills:
            return self
        names = {skill.name for skill in self.skills}
        return replace(self, primitives={k: p for k, p in self.primitives.items() if k not in names}, skills=())

    def expand(self, program: Program) -> Program:
        """``program`` with every skill call inlined: a program of base primitives."""
        return expand(program, self.skills) if self.skills else program

    def run(self, program: Program, inputs: Sequence[object]) -> Value:
        """Run exactly and within bounds; raises only :class:`ExecutionError`."""
        return run(program, inputs, self.primitives, bounds=self.bounds)

    def trace(self, program: Program, inputs: Sequence[object]) -> list[Value]:
        """Values of all variables (inputs first)."""
        return trace(program, inputs, self.primitives, bounds=self.bounds)

    def parse(self, text: str) -> Program:
        """Parse program text; raises :class:`ParseError` naming the line."""
        return parse_program(text, self.primitives)

    def format(self, program: Program, *, sep: str = " | ") -> str:
        """Program text on one line (``sep`` between lines)."""
        return format_program(program, self.primitives, sep=sep)

    def apply_edit(self, program: Program, edit: _edits.Edit) -> Program:
        """Apply an edit; raises :class:`EditError` if it does not apply."""
        return _edits.apply_edit(program, edit, self.primitives)

    def neighbours(self, program: Program, *, max_length: int | None = None) -> Iterator[tuple[_edits.Edit, Program]]:
        """All valid one-edit neighbours ``(edit, program)``."""
        return _edits.neighbours(program, self.primitives, max_length=max_length)

    def random_value(self, type_: Type, rng: random.Random, *, inputs: InputConfig | None = None) -> Value:
        """One random input value of ``type_`` from ``inputs`` (default ``self.inputs``);
        a domain's own type (``Type.REGEX``) has one input value, the empty one."""
        c = inputs or self.inputs
        if type_ is Type.INT:
            return rng.randint(c.min_int, c.max_int)
        if type_ is not Type.LIST:
            return []
        length = rng.randint(c.min_list_length, c.max_list_length)
        return [rng.randint(c.min_value, c.max_value) for _ in range(length)]

    def random_inputs(
        self, input_types: Sequence[Type], rng: random.Random, *, inputs: InputConfig | None = None
    ) -> tuple[Value, ...]:
        """One random argument tuple of the given types (from ``inputs``, default ``self.inputs``)."""
        return tuple(self.random_value(t, rng, inputs=inputs) for t in input_types)

    def random_program(
        self, rng: random.Random, length: int, *, input_types: Sequence[Type] | None = None, max_tries: int = 1000
    ) -> Program:
        """A random program of exactly ``length`` statements with no dead code.

        Every statement's result is used by a later one, except the last (the output),
        as in DeepCoder's data. Arguments prefer variables not used yet.

        Args:
            rng: the source of randomness.
            length: statements (>= 0).
            input_types: the argument types (default: one of ``signatures`` at random).
            max_tries: attempts at a program (default 1000); one attempt draws at most
                ``_DRAWS_PER_STATEMENT * length`` primitives, so the call always ends.

        Raises:
            ValueError: ``length < 0`` or ``max_tries < 1``.
            SamplingError: no such program was found in ``max_tries`` attempts (for
                example no primitive takes only the given input types).
        """
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        if max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {max_tries}")
        names = list(self.primitives)
        for _ in range(max_tries):
            types = list(input_types) if input_types is not None else list(rng.choice(self.signatures))
            n = len(types)
            unused: set[int] = set()
            body: list[Statement] = []
            for _ in range(_DRAWS_PER_STATEMENT * length):
                if len(body) == length:
                    break
                primitive = self.primitives[rng.choice(names)]
                args = []
                for want in primitive.arg_types:
                    fresh = [v for v in unused if types[v] is want and v not in args]
                    pool = fresh if fresh and rng.random() < 0.8 else [v for v, t in enumerate(types) if t is want]
                    if not pool:
                        break
                    args.append(rng.choice(sorted(pool)))
                else:
                    unused.difference_update(args)
                    unused.add(len(types))
                    body.append(Statement(primitive.name, tuple(args)))
                    types.append(primitive.return_type)
            if len(body) == length and not unused - {len(types) - 1} - set(range(n)):
                return Program(tuple(types[:n]), tuple(body))
        given = "random signatures" if input_types is None else f"inputs {[t.value for t in input_types]}"
        raise SamplingError(
            f"no program of length {length} without dead code for {given} in {max_tries} tries; "
            "give input types some primitive takes, a shorter length, or more max_tries"
        )

    def random_examples(
        self,
        program: Program,
        count: int,
        rng: random.Random,
        *,
        max_tries: int = 200,
        inputs: InputConfig | None = None,
    ) -> list[Example] | None:
        """``count`` examples on which ``program`` is valid and not degenerate.

        Degenerate means all outputs equal, or every output an empty list. Returns
        ``None`` when no such set is found in ``max_tries`` draws per example. Inputs
        come from ``inputs`` (default ``self.inputs``). In a generative domain an
        example's output is an observation drawn from the program's distribution
        (:class:`Generative`).
        """
        examples: list[Example] = []
        tries = 0
        while len(examples) < count and tries < max_tries * count:
            tries += 1
            values = self.random_inputs(program.input_types, rng, inputs=inputs)
            try:
                output = self.run(program, values)
                if self.generative is not None:
                    drawn = self.generative.sample(output, rng)
                    if drawn is None or len(drawn) > self.bounds.max_list_length:
                        continue
                    output = self.generative.encode(drawn)
            except ExecutionError:
                continue
            examples.append(Example(values, output))
        if len(examples) < count:
            return None
        outputs = [e.output for e in examples]
        if count > 1 and all(o == outputs[0] for o in outputs):
            return None
        if all(o == [] for o in outputs):
            return None
        return examples

    def random_task(
        self, rng: random.Random, length: int | Sequence[int], *, examples: int = 5, task_id: str = "task"
    ) -> Task:
        """A task with a known solution: random programs until one has ``examples``
        non-degenerate examples (:meth:`random_program`, :meth:`random_examples`).

        Args:
            rng: the generator every draw comes from.
            length: the program's statements, or lengths to draw from (``rng.choice``)
                before each attempt.
            examples: examples of the task (default 5).
            task_id: the task's id (default ``"task"``).

        Example:
            >>> from worldmodel.datasets import deepcoder
            >>> task = deepcoder.random_task(random.Random(0), 3, examples=2)
            >>> len(task.program.statements), len(task.examples)
            (3, 2)
        """
        from ._tasks import Task  # a task file is built on domains, so not at import

        while True:
            drawn = length if isinstance(length, int) else rng.choice(length)
            program = self.random_program(rng, drawn)
            found = self.random_examples(program, examples, rng)
            if found is not None:
                return Task(task_id, tuple(found), program.input_types, program)
