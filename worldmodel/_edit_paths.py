"""Training targets for the policy: edit paths towards a known program φ.

Two kinds of path, each a list of :class:`EditStep` (a program and the set of its
edits that bring it closer to φ):

* construction (:func:`construction_steps`): from the empty program to φ by
  inserting φ's statements in order, as PCCoder predicts the next statement from the
  execution state. At the prefix of length ``t`` the distance to φ is the number of
  missing statements, and an edit reduces it iff it inserts a missing statement of φ
  whose arguments already exist, at a position after them; φ's last statement (the
  output) only at the end, since the output is the last variable.
* repair (:func:`repair_steps`): apply ``k <= 3`` random edits to φ, then walk back.
  At the ``j``-th corrupted program the distance is measured along the corruption
  path, and the edits that reduce it are those that land on any program nearer to φ
  on that path (always including the inverse of the last corruption).

Both distances are path distances with respect to φ, an upper bound on the true
edit distance to *some* solution (another program may compute the same outputs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from worldmodel.datasets import (
    DeleteStatement,
    Domain,
    Edit,
    InsertStatement,
    Program,
    ReplaceArgument,
    ReplaceStatement,
    Task,
    require_at_least,
)

__all__ = ["EditPathConfig", "EditStep", "construction_steps", "edit_steps", "empty_program", "repair_steps"]


@dataclass(frozen=True)
class EditPathConfig:
    """Which edit paths to train on.

    Attributes:
        max_length: most statements a program may grow to (default 5).
        max_corruptions: most random edits applied to φ for a repair path (default 3).
        repair_paths: repair paths drawn per program (default 1).
    """

    max_length: int = 5
    max_corruptions: int = 3
    repair_paths: int = 1

    def __post_init__(self) -> None:
        require_at_least(self, 1, "max_length")
        require_at_least(self, 0, "max_corruptions", "repair_paths")


@dataclass(frozen=True)
class EditStep:
    """One training/evaluation state: ``program`` and its edits that approach φ.

    Attributes:
        task: the spec (examples of φ).
        program: the current program.
        targets: the valid edits of ``program`` that reduce the path distance to φ
            (non-empty).
        kind: ``"construct"`` or ``"repair"``.
        distance: the path distance of ``program`` to φ (>= 1).
    """

    task: Task
    program: Program
    targets: tuple[Edit, ...]
    kind: str
    distance: int


def empty_program(task: Task) -> Program:
    """The program with the task's inputs and no statements, where p(φ | x, y) starts.

    Example:
        >>> from worldmodel.datasets import Example, Task, Type
        >>> empty_program(Task("t", (Example(([1],), 1),), (Type.LIST,)))
        Program(input_types=(<Type.LIST: '[int]'>,), statements=())
    """
    return Program(task.input_types, ())


def construction_steps(task: Task, program: Program) -> list[EditStep]:
    """The states from the empty program to ``program``, inserting its statements in order.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task
        >>> phi = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE a | d <- ZIPWITH (+) b c")
        >>> task = Task("t", (Example(([1, 2],), [3, 3]),), phi.input_types, phi)
        >>> [len(s.targets) for s in construction_steps(task, phi)]
        [2, 2, 1]
    """
    n = len(program.input_types)
    body = program.statements
    steps = []
    for t in range(len(body)):
        prefix = Program(program.input_types, body[:t])
        targets: dict[Edit, None] = {}
        for j in range(t, len(body)):
            statement = body[j]
            if any(a >= n + t for a in statement.args):
                continue
            lowest = max((a - n + 1 for a in statement.args), default=0)
            positions = [t] if j == len(body) - 1 else range(max(lowest, 0), t + 1)
            for i in positions:
                targets[InsertStatement(i, statement)] = None
        steps.append(EditStep(task, prefix, tuple(targets), "construct", len(body) - t))
    return steps


def _random_edit(program: Program, domain: Domain, rng: random.Random, max_length: int) -> tuple[Edit, Program]:
    # Pick the edit kind first, then an edit of that kind: inserts outnumber the
    # other kinds about 5 to 1, and corruptions should exercise all of them.
    by_kind: dict[type, list[tuple[Edit, Program]]] = {}
    for edit, new in domain.neighbours(program, max_length=max_length):
        by_kind.setdefault(type(edit), []).append((edit, new))
    kinds = [k for k in (InsertStatement, DeleteStatement, ReplaceStatement, ReplaceArgument) if k in by_kind]
    return rng.choice(by_kind[rng.choice(kinds)])


def repair_steps(
    task: Task, program: Program, domain: Domain, rng: random.Random, *, corruptions: int, max_length: int = 5
) -> list[EditStep]:
    """Corrupt ``program`` with ``corruptions`` random edits; the states of the walk back.

    The list goes from the most corrupted program back towards ``program``.
    Corruptions that revisit an earlier program of the path are redrawn (up to 20
    times, then the path stops early).

    Example:
        >>> import random
        >>> from worldmodel.datasets import deepcoder, Example, Task
        >>> phi = deepcoder.parse("a <- [int] | b <- SORT a | c <- REVERSE b")
        >>> task = Task("t", (Example(([1, 2],), [2, 1]),), phi.input_types, phi)
        >>> steps = repair_steps(task, phi, deepcoder, random.Random(0), corruptions=2)
        >>> [s.distance for s in steps]
        [2, 1]
    """
    path = [program]
    for _ in range(corruptions):
        for _attempt in range(20):
            _, new = _random_edit(path[-1], domain, rng, max_length)
            if new not in path:
                path.append(new)
                break
        else:
            break
    steps = []
    for j in range(len(path) - 1, 0, -1):
        nearer = {p: i for i, p in enumerate(path[:j])}
        targets = tuple(e for e, new in domain.neighbours(path[j], max_length=max_length) if new in nearer)
        steps.append(EditStep(task, path[j], targets, "repair", j))
    return steps


def edit_steps(
    task: Task, program: Program, domain: Domain, rng: random.Random, *, config: EditPathConfig = EditPathConfig()
) -> list[EditStep]:
    """All training states for one known program: its construction path and
    ``config.repair_paths`` repair paths of ``1..config.max_corruptions`` edits each.

    Raises:
        ValueError: ``program`` is longer than ``config.max_length``.
    """
    if len(program) > config.max_length:
        raise ValueError(
            f"program has {len(program)} statements, more than EditPathConfig.max_length={config.max_length}"
        )
    steps = construction_steps(task, program)
    if config.max_corruptions > 0:
        for _ in range(config.repair_paths):
            k = rng.randint(1, config.max_corruptions)
            steps += repair_steps(task, program, domain, rng, corruptions=k, max_length=config.max_length)
    return steps
