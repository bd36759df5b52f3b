"""Skills: sub-programs that recur across solutions, abstracted into new primitives.

DreamCoder's library learning in its simplest exact form, for straight-line programs.
A *fragment* of a program is a window of consecutive statements whose intermediate
results are used only inside the window; the variables it reads from outside become
its parameters (at most two, as every primitive takes). A fragment that recurs in many
programs is worth a name when it shortens them by more than its definition costs, by
the minimum-description-length criterion

    gain = uses · (size − 1) − size

(in statements: each use saves ``size − 1`` statements, the definition costs ``size``).
:func:`learn_skills` adds skills greedily by gain, rewriting the corpus each time.

A :class:`Skill` is a :class:`Program` (its parameters are the program's inputs, its
result the last variable). :func:`skill_primitives` turns a library into primitives the
interpreter runs (each call runs the body, bounded, through the same interpreter), and
:func:`expand` inlines every call back into base primitives exactly:
``expand(compress(p)) == p``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ._errors import ExecutionError, ParseError
from ._interpreter import DEFAULT_BOUNDS, Bounds, run
from ._program import Primitive, Program, Statement, Type, format_program, parse_program

__all__ = ["Skill", "expand", "compress", "compress_with", "fragments", "learn_skills", "skill_primitives", "library_to_json",
           "library_from_json"]


@dataclass(frozen=True)
class Skill:
    """A named sub-program: ``body``'s inputs are the parameters, its last variable the result.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> skill = Skill("SKILL0", deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b"))
        >>> skill.arg_types, skill.size
        ((<Type.LIST: '[int]'>,), 2)
    """

    name: str
    body: Program

    @property
    def arg_types(self) -> tuple[Type, ...]:
        return self.body.input_types

    @property
    def size(self) -> int:
        return len(self.body.statements)

    def return_type(self, primitives: Mapping[str, Primitive]) -> Type:
        return primitives[self.body.statements[-1].primitive].return_type


def _window_fragment(program: Program, start: int, stop: int,
                     primitives: Mapping[str, Primitive]) -> tuple[Program, tuple[int, ...]] | None:
    """The fragment of statements ``start:stop`` and the outside variables it reads (its
    call's arguments), or ``None`` if an intermediate result is used after the window or
    by nothing in it (a body with dead code), or it reads more than two outside variables."""
    first = len(program.input_types) + start
    last = len(program.input_types) + stop - 1
    inside = range(first, last + 1)
    for st in program.statements[stop:]:
        if any(first <= a < last for a in st.args):
            return None
    for v in range(first, last):
        if not any(v in st.args for st in program.statements[v - first + start + 1 : stop]):
            return None
    outside: list[int] = []
    for st in program.statements[start:stop]:
        for a in st.args:
            if a not in inside and a not in outside:
                outside.append(a)
    if not 1 <= len(outside) <= 2:
        return None
    return _body(program, start, stop, outside, primitives), tuple(outside)


def _body(program: Program, start: int, stop: int, outside: Sequence[int], primitives: Mapping[str, Primitive]) -> Program:
    """The body of statements ``start:stop`` with the ``outside`` variables as its inputs."""
    types = list(program.input_types) + [primitives[st.primitive].return_type for st in program.statements]
    first = len(program.input_types) + start
    renumber = {v: i for i, v in enumerate(outside)}
    statements = []
    for offset, st in enumerate(program.statements[start:stop]):
        args = tuple(renumber[a] if a in renumber else len(outside) + (a - first) for a in st.args)
        statements.append(Statement(st.primitive, args))
        renumber.setdefault(first + offset, len(outside) + offset)
    return Program(tuple(types[v] for v in outside), tuple(statements))


def fragments(program: Program, primitives: Mapping[str, Primitive], *,
              max_size: int = 3) -> Iterator[tuple[int, int, Program, tuple[int, ...]]]:
    """Every fragment of 2 to ``max_size`` statements: ``(start, stop, body, arguments)``.

    ``primitives`` must hold every primitive ``program`` calls (skills included).
    """
    for start in range(len(program.statements)):
        for stop in range(start + 2, min(start + max_size, len(program.statements)) + 1):
            found = _window_fragment(program, start, stop, primitives)
            if found is not None:
                yield start, stop, *found


def compress(program: Program, skill: Skill, primitives: Mapping[str, Primitive]) -> Program:
    """``program`` with each non-overlapping occurrence of ``skill``'s body (left to
    right) replaced by one call of ``skill.name``."""
    start = 0
    while start + skill.size <= len(program.statements):
        found = _window_fragment(program, start, start + skill.size, primitives)
        if found is not None and found[0] == skill.body:
            program = _replace(program, start, start + skill.size, Statement(skill.name, found[1]))
        start += 1
    return program


def compress_with(program: Program, skills: Iterable[Skill], primitives: Mapping[str, Primitive]) -> Program:
    """``program`` compressed with each skill of a library in turn (in library order, as
    :func:`learn_skills` rewrote its corpus); ``primitives`` holds the skills."""
    for skill in skills:
        program = compress(program, skill, primitives)
    return program


def _replace(program: Program, start: int, stop: int, call: Statement) -> Program:
    """Statements ``start:stop`` replaced by ``call``; later references renumbered."""
    n = len(program.input_types)
    removed = stop - start - 1  # the window's intermediate variables
    result = n + stop - 1

    def shift(a: int) -> int:
        if a == result:
            return n + start
        return a - removed if a > result else a

    later = tuple(Statement(st.primitive, tuple(shift(a) for a in st.args)) for st in program.statements[stop:])
    return Program(program.input_types, program.statements[:start] + (call,) + later)


def expand(program: Program, skills: Iterable[Skill]) -> Program:
    """``program`` with every skill call inlined, recursively, in base primitives.

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> skill = Skill("SKILL0", deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b"))
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b | d <- SUM c")
        >>> short = compress(p, skill, deepcoder.primitives)
        >>> short.statements[0], expand(short, [skill]) == p
        (Statement(primitive='SKILL0', args=(0,)), True)
    """
    library = {skill.name: skill for skill in skills}
    n = len(program.input_types)
    where: list[int] = list(range(n))  # variable of `program` -> variable of the expansion
    statements: list[Statement] = []
    for st in program.statements:
        args = tuple(where[a] for a in st.args)
        skill = library.get(st.primitive)
        if skill is None:
            statements.append(Statement(st.primitive, args))
        else:
            body = expand(skill.body, library.values())
            local = list(args)
            for inner in body.statements:
                statements.append(Statement(inner.primitive, tuple(local[a] for a in inner.args)))
                local.append(n + len(statements) - 1)
        where.append(n + len(statements) - 1)
    return Program(program.input_types, tuple(statements))


def learn_skills(
    programs: Sequence[Program],
    primitives: Mapping[str, Primitive],
    *,
    max_skills: int = 10,
    max_size: int = 3,
    min_uses: int = 2,
    min_gain: int = 1,
    prefix: str = "SKILL",
    start: int = 0,
) -> tuple[list[Skill], list[Program]]:
    """Skills of ``programs`` by greedy compression, and the programs rewritten with them.

    Each step counts every fragment (2 to ``max_size`` statements) over the current
    corpus, once per program, and adopts the one of highest ``gain = uses · (size − 1)
    − size`` if ``uses >= min_uses`` and ``gain >= min_gain``, named
    ``f"{prefix}{start + k}"``; ties go to the fragment seen first. Later skills may
    call earlier ones, and ``programs`` may call skills of ``primitives`` (a library
    grown round by round: give the table with its skills and ``start`` its size).

    Returns:
        ``(skills, rewritten)``: the library in order of adoption, and each program
        compressed with it (``expand(rewritten[i], skills) == programs[i]``).
    """
    corpus = list(programs)
    skills: list[Skill] = []
    table = dict(primitives)
    for k in range(max_skills):
        uses: Counter[Program] = Counter()
        order: dict[Program, int] = {}
        for program in corpus:
            seen = dict.fromkeys(body for _, _, body, _ in fragments(program, table, max_size=max_size))
            for body in seen:
                order.setdefault(body, len(order))
            uses.update(list(seen))
        best = None
        for body, count in uses.items():
            gain = count * (len(body.statements) - 1) - len(body.statements)
            key = (gain, -order[body])
            if count >= min_uses and gain >= min_gain and (best is None or key > best[0]):
                best = (key, body)
        if best is None:
            break
        skill = Skill(f"{prefix}{start + k}", best[1])
        skills.append(skill)
        table = skill_primitives([skill], table)
        corpus = [compress(program, skill, table) for program in corpus]
    return skills, corpus


def skill_primitives(skills: Iterable[Skill], primitives: Mapping[str, Primitive], *,
                     bounds: Bounds = DEFAULT_BOUNDS) -> dict[str, Primitive]:
    """``primitives`` plus one :class:`Primitive` per skill, whose function runs the
    skill's body through the interpreter (bounded; a failure inside is an invalid
    argument of the call) and whose ``statements`` is its expanded size, so that a
    call is charged as the base statements it runs."""
    table = dict(primitives)
    for skill in skills:
        if skill.name in table:
            raise ValueError(f"skill name {skill.name!r} is already a primitive; choose another prefix")
        body, inner = skill.body, dict(table)
        unknown = sorted({s.primitive for s in body.statements} - set(table))
        if unknown:
            raise ValueError(f"skill {skill.name!r} calls {unknown}, which are not primitives or earlier skills")

        def function(*args, body=body, inner=inner):
            try:
                return run(body, list(args), inner, bounds=bounds)
            except ExecutionError as error:
                raise ValueError(str(error)) from None

        size = sum(table[s.primitive].statements for s in body.statements)
        table[skill.name] = Primitive(skill.name, skill.name, skill.arg_types, skill.return_type(table), function, True,
                                      statements=size)
    return table


def library_to_json(skills: Sequence[Skill], primitives: Mapping[str, Primitive]) -> str:
    """The library as JSON text: each skill's name, body (which may call earlier skills)
    and its expansion in base primitives."""
    table = dict(primitives)
    rows = []
    for skill in skills:
        rows.append({"name": skill.name, "body": format_program(skill.body, table, sep=" | "),
                     "expanded": format_program(expand(skill.body, skills), primitives, sep=" | ")})
        table = skill_primitives([skill], table)
    return json.dumps({"skills": rows}, indent=1)


def library_from_json(text: str, primitives: Mapping[str, Primitive]) -> list[Skill]:
    """The skills :func:`library_to_json` wrote.

    Raises:
        ValueError: malformed JSON or a skill whose body does not parse, or does not
            expand to the recorded base program (the message names the skill).
    """
    try:
        rows = json.loads(text)["skills"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"not a skill library ({error})") from None
    skills: list[Skill] = []
    table = dict(primitives)
    for i, row in enumerate(rows):
        try:
            skill = Skill(row["name"], parse_program(row["body"], table))
            expanded = parse_program(row["expanded"], primitives)
        except (KeyError, TypeError, ParseError) as error:
            raise ValueError(f"skill {i}: {error}") from None
        if expand(skill.body, [*skills, skill]) != expanded:
            raise ValueError(f"skill {i} ({row['name']}): its body does not expand to its recorded expansion")
        skills.append(skill)
        table = skill_primitives([skill], table)
    return skills
