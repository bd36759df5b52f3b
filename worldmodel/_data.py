"""Training data: corruption chains, hard negatives, and loading task folders.

For a task with a known solution ``φ``, :func:`sample_task` draws

* a **corruption chain** ``φ = φ₀ → φ₁ → … → φ_L`` of random single edits (via
  :func:`random_edit` and ``apply_edit``). Each step must keep the program valid on
  every example and give outputs on the examples not seen earlier in the chain, so
  ``φ_d`` is at edit distance at most ``d`` from a solution and at least 1 (it does
  not solve the spec). "Distance" below means this chain position: an upper
  bound on the true edit distance, exact only if no shorter path exists;
* **hard negatives**: random one- and two-edit neighbours of ``φ`` (maybe invalid);
* **batch negatives**: other tasks' programs with the same input types, run here.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from worldmodel.datasets import (
    DeleteStatement,
    Domain,
    Edit,
    EditError,
    InsertStatement,
    Program,
    ReplaceArgument,
    ReplaceStatement,
    Statement,
    Task,
    TaskFileError,
    WorldModelError,
    iter_tasks,
    parse_task,
    variable_types,
)

from ._features import Featurizer

__all__ = ["random_edit", "TaskSample", "sample_task", "sample_chain", "load_tasks", "RecordTasks", "TrainingDataError",
           "UnreproducedTaskError"]


class TrainingDataError(WorldModelError, ValueError):
    """A training data folder is missing, empty or unreadable; names the folder."""


class UnreproducedTaskError(TrainingDataError):
    """A task whose program does not reproduce its examples, so it gives no supervision."""


def random_edit(
    program: Program, domain: Domain, rng: random.Random, *, max_length: int | None = None, tries: int = 50
) -> tuple[Edit, Program] | None:
    """One random valid edit of ``program`` (insert, delete, replace a statement or an argument).

    Draws an edit kind, position and content uniformly, and retries when the edit does
    not apply (e.g. deleting a statement that is used). ``None`` after ``tries`` failures.

    Example:
        >>> import random
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a | c <- HEAD b")
        >>> edit, q = random_edit(p, deepcoder, random.Random(0))
        >>> q != p
        True
    """
    primitives = domain.primitives
    names = list(primitives)
    n, body = len(program.input_types), program.statements
    types = variable_types(program, primitives)
    for _ in range(tries):
        kind = rng.randrange(4)
        try:
            if kind == 0:
                if max_length is not None and len(body) >= max_length:
                    continue
                index = rng.randint(0, len(body))
                statement = _random_statement(rng.choice(names), types[: n + index], domain, rng)
                if statement is None:
                    continue
                edit: Edit = InsertStatement(index, statement)
            elif not body:
                continue
            elif kind == 1:
                index = rng.randrange(len(body))
                edit = DeleteStatement(index, body[index])
            elif kind == 2:
                index = rng.randrange(len(body))
                name = rng.choice(names)
                if name == body[index].primitive:
                    continue
                statement = _random_statement(name, types[: n + index], domain, rng)
                if statement is None:
                    continue
                edit = ReplaceStatement(index, body[index], statement)
            else:
                index = rng.randrange(len(body))
                st = body[index]
                position = rng.randrange(len(st.args))
                want = primitives[st.primitive].arg_types[position]
                choices = [v for v in range(n + index) if types[v] is want and v != st.args[position]]
                if not choices:
                    continue
                edit = ReplaceArgument(index, position, st.args[position], rng.choice(choices))
            return edit, domain.apply_edit(program, edit)
        except EditError:
            continue
    return None


def _random_statement(name: str, types, domain: Domain, rng: random.Random) -> Statement | None:
    args = []
    for want in domain.primitives[name].arg_types:
        pool = [v for v, t in enumerate(types) if t is want]
        if not pool:
            return None
        args.append(rng.choice(pool))
    return Statement(name, tuple(args))


@dataclass
class TaskSample:
    """Programs drawn for one task, with their execution environments.

    Attributes:
        task: the task (``task.program`` solves it).
        chain: ``[φ₀ = task.program, φ₁, …]`` (may stop early if no new edit was found).
        chain_edits: ``chain_edits[d]`` turns ``chain[d]`` into ``chain[d + 1]``.
        chain_envs: environments of the chain programs (all valid).
        negatives: hard and batch negatives (programs).
        negative_envs: their environments (``None`` = invalid).
        negative_solves: whether each negative also solves the task.
        negative_kind: ``"hard"`` or ``"batch"`` per negative.
        negative_edits: random edits that made each hard negative from the solution
            (an upper bound on its edit distance); 0 for batch negatives (unknown).
    """

    task: Task
    chain: list[Program]
    chain_edits: list[Edit]
    chain_envs: list[list]
    negatives: list[Program]
    negative_envs: list[list | None]
    negative_solves: list[bool]
    negative_kind: list[str]
    negative_edits: list[int]


def _outputs_key(envs: list | None):
    return None if envs is None else tuple(repr(env[-1]) for env in envs)


def sample_chain(
    task: Task, length: int, featurizer: Featurizer, rng: random.Random, *, max_length: int | None = None, tries: int = 20
) -> tuple[list[Program], list[Edit], list[list]]:
    """A corruption chain from ``task.program`` (see the module docstring for the rules).

    Returns ``(programs, edits, environments)``; ``programs[0]`` is the solution.
    Raises :class:`UnreproducedTaskError` if ``task.program`` does not solve ``task``.
    """
    program = task.program
    envs = featurizer.environments(task, program) if program is not None else None
    targets = tuple(repr(e.output) for e in task.examples)
    if envs is None or _outputs_key(envs) != targets:
        raise UnreproducedTaskError(f"task {task.id!r}: its program does not reproduce its examples")
    chain, edits, chain_envs = [program], [], [envs]
    seen = {targets}
    for _ in range(length):
        for _ in range(tries):
            drawn = random_edit(chain[-1], featurizer.domain, rng, max_length=max_length)
            if drawn is None:
                continue
            edit, candidate = drawn
            if candidate.num_variables > featurizer.max_variables:
                continue
            cand_envs = featurizer.environments(task, candidate)
            outputs = _outputs_key(cand_envs)
            if outputs is None or outputs in seen:
                continue
            seen.add(outputs)
            chain.append(candidate)
            edits.append(edit)
            chain_envs.append(cand_envs)
            break
        else:
            break
    return chain, edits, chain_envs


def sample_task(
    task: Task,
    others: Sequence[Task],
    featurizer: Featurizer,
    rng: random.Random,
    *,
    chain_length: int,
    hard_negatives: int,
    batch_negatives: int,
) -> TaskSample:
    """Chain, hard negatives and batch negatives for ``task`` (see the module docstring).

    Args:
        others: tasks whose programs may serve as batch negatives (same input types only).
    """
    max_length = featurizer.max_variables - len(task.input_types)
    chain, edits, chain_envs = sample_chain(task, chain_length, featurizer, rng, max_length=max_length)
    targets = [e.output for e in task.examples]
    negatives, kinds, counts = [], [], []
    for h in range(hard_negatives):
        program, count = task.program, 0
        for _ in range(1 + h % 2):  # alternate one- and two-edit neighbours
            drawn = random_edit(program, featurizer.domain, rng, max_length=max_length)
            if drawn is not None:
                program, count = drawn[1], count + 1
        if program != task.program:
            negatives.append(program)
            kinds.append("hard")
            counts.append(count)
    pool = [t.program for t in others if t.input_types == task.input_types and t.program != task.program]
    for program in rng.sample(pool, min(batch_negatives, len(pool))):
        if program.num_variables <= featurizer.max_variables:
            negatives.append(program)
            kinds.append("batch")
            counts.append(0)
    envs = [featurizer.environments(task, p) for p in negatives]
    solves = [e is not None and [env[-1] for env in e] == targets for e in envs]
    return TaskSample(task, chain, edits, chain_envs, negatives, envs, solves, kinds, counts)


class RecordTasks(Sequence):
    """Φ records kept as their JSON lines, each parsed into a :class:`Task` when indexed.

    A training run over a million records then starts at once and parses each task in
    the data worker that uses it. Every Φ record has a program.
    """

    def __init__(self, lines: Sequence[str], domain: Domain):
        self.lines = lines
        self.domain = domain

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return parse_task(json.loads(self.lines[index]), self.domain)


def load_tasks(
    directory: str | os.PathLike, split: str, domain: Domain, *, limit: int | None = None, lazy: bool = False
) -> Sequence[Task]:
    """Tasks with a known program from a data folder's ``split``.

    Reads a generated dataset (``manifest.json``, via ``datasets.iter_records``) or
    else every ``DIR/<split>/*.jsonl`` task file in sorted order. Malformed lines are
    reported on stderr and skipped. With ``lazy`` (and no ``limit``) a generated
    dataset comes back as :class:`RecordTasks`, parsed on access.

    Raises:
        TrainingDataError: no such folder, or no task with a program in it.
    """
    root = Path(directory)
    tasks: list[Task] = []
    from worldmodel import datasets

    iter_records = getattr(datasets, "iter_records", None)
    if lazy and limit is None and (root / "manifest.json").exists():
        try:
            return RecordTasks(datasets.read_record_lines(root, split), domain)
        except datasets.DatasetError as error:
            raise TrainingDataError(str(error)) from None
    if iter_records is not None and (root / "manifest.json").exists():
        for task in iter_records(root, split):
            if task.program is not None:
                tasks.append(task)
            if limit is not None and len(tasks) >= limit:
                break
    else:
        files = sorted((root / split).glob("*.jsonl"))
        if not files:
            raise TrainingDataError(f"{root / split}: no *.jsonl task files (expected DIR/<split>/*.jsonl)")
        errors = 0
        for path in files:
            for item in iter_tasks(path, domain):
                if isinstance(item, TaskFileError):
                    errors += 1
                    if errors <= 10:
                        print(f"skipped: {item}", file=sys.stderr)
                elif item.program is not None:
                    tasks.append(item)
                if limit is not None and len(tasks) >= limit:
                    break
            if limit is not None and len(tasks) >= limit:
                break
        if errors:
            print(f"{root / split}: skipped {errors} malformed line(s)", file=sys.stderr)
    if not tasks:
        raise TrainingDataError(f"{root}: split {split!r} has no task with a known program")
    return tasks

