"""The memory of Memoised Wake-Sleep: per task, the best distinct programs found so far.

Hewitt, Le & Tenenbaum (2020) keep, for each task ``i``, a finite set ``Z_i`` of at most
``M`` distinct programs. Each round the recognition model proposes new programs; they
are merged with the memory, duplicates dropped, and the ``M`` of highest joint score
``log p(φ) + log p(x_i | φ)`` kept. The memory is then a finite variational posterior,

    Q_i(φ) ∝ p(φ, x_i)   for φ in Z_i,

and the models train on draws from it ("replay"). The update never lowers the ELBO,
because a program leaves the memory only for one of higher joint score.

This module is that memory, for any scorer: callers pass each program's joint score
(here the world model's prior times the simulator-checked likelihood). It is an
immutable value: :meth:`TaskMemory.merge` returns the updated memory.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from worldmodel.datasets import Domain, ParseError, Program, WorldModelError, atomic_write_text

__all__ = ["MemoryEntry", "MemoryFileError", "TaskMemory", "TaskMemories"]

FORMAT = "worldmodel-memory/1"
"""The ``format`` field of a memory file."""


class MemoryFileError(WorldModelError, ValueError):
    """A memory file that cannot be read: the message names the file and the field."""


@dataclass(frozen=True)
class MemoryEntry:
    """One remembered program and its joint score ``log p(φ) + log p(x | φ)`` (nats)."""

    program: Program
    log_joint: float


@dataclass(frozen=True)
class TaskMemory:
    """At most ``capacity`` distinct programs of one task, best joint score first.

    Attributes:
        capacity: ``M``, the most programs kept (>= 1).
        entries: the programs, sorted by ``log_joint``, highest first (ties: the one
            remembered first stays first).

    Example:
        >>> from worldmodel.datasets import deepcoder
        >>> a, b = deepcoder.parse("a <- [int] | b <- SORT a"), deepcoder.parse("a <- [int] | b <- REVERSE a")
        >>> memory = TaskMemory(capacity=1).merge([(a, -3.0), (b, -1.0), (a, -2.0)])
        >>> [deepcoder.format(e.program) for e in memory.entries], memory.entries[0].log_joint
        (['a <- [int] | b <- REVERSE a'], -1.0)
    """

    capacity: int
    entries: tuple[MemoryEntry, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.capacity, int) or self.capacity < 1:
            raise ValueError(f"TaskMemory.capacity must be an int >= 1, got {self.capacity!r}")

    def merge(self, proposals: Iterable[tuple[Program, float]]) -> TaskMemory:
        """The memory after proposals ``(program, log_joint)``: merged, deduplicated
        (a program keeps its highest score), the best ``capacity`` kept.

        Raises:
            ValueError: a score that is NaN or ``+inf`` (``-inf``, impossible, is dropped).
        """
        best: dict[Program, float] = {e.program: e.log_joint for e in self.entries}
        for program, log_joint in proposals:
            log_joint = float(log_joint)
            if math.isnan(log_joint) or log_joint == math.inf:
                raise ValueError(f"log_joint must be a finite number or -inf, got {log_joint} for {program}")
            if log_joint > best.get(program, -math.inf):
                best[program] = log_joint
        order = {program: i for i, program in enumerate(best)}
        kept = sorted(best.items(), key=lambda item: (-item[1], order[item[0]]))[: self.capacity]
        return TaskMemory(self.capacity, tuple(MemoryEntry(p, s) for p, s in kept))

    @property
    def programs(self) -> tuple[Program, ...]:
        return tuple(e.program for e in self.entries)

    def weights(self) -> torch.Tensor:
        """``(K,)`` float64: ``Q(φ) ∝ exp(log_joint)`` over the K entries (empty: ``(0,)``)."""
        scores = torch.tensor([e.log_joint for e in self.entries], dtype=torch.float64)
        return torch.softmax(scores, 0) if len(scores) else scores

    def sample(self, n: int, *, generator: torch.Generator) -> list[Program]:
        """``n`` programs drawn with replacement from ``Q``.

        Raises:
            ValueError: the memory is empty, or ``n < 0``.
        """
        if not self.entries:
            raise ValueError("cannot sample from an empty memory: merge a verified program first")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        picks = torch.multinomial(self.weights(), n, replacement=True, generator=generator) if n else []
        return [self.entries[int(i)].program for i in picks]


@dataclass(frozen=True)
class TaskMemories:
    """Every task's :class:`TaskMemory`, by task id, with one capacity.

    Example:
        >>> import os, tempfile
        >>> from worldmodel.datasets import deepcoder
        >>> p = deepcoder.parse("a <- [int] | b <- SORT a")
        >>> memories = TaskMemories(capacity=2).merge("t1", [(p, -1.5)])
        >>> path = os.path.join(tempfile.mkdtemp(), "memory.json")
        >>> memories.save(path, deepcoder)
        >>> TaskMemories.load(path, deepcoder) == memories
        True
    """

    capacity: int
    tasks: Mapping[str, TaskMemory] = field(default_factory=dict)

    def __post_init__(self) -> None:
        TaskMemory(self.capacity)  # validates the capacity
        if any(memory.capacity != self.capacity for memory in self.tasks.values()):
            raise ValueError(f"every TaskMemory of a TaskMemories must have capacity {self.capacity}")

    def __getitem__(self, task_id: str) -> TaskMemory:
        return self.tasks.get(task_id, TaskMemory(self.capacity))

    def merge(self, task_id: str, proposals: Iterable[tuple[Program, float]]) -> TaskMemories:
        """These memories with ``task_id``'s merged with ``proposals`` (see :meth:`TaskMemory.merge`)."""
        return TaskMemories(self.capacity, {**self.tasks, task_id: self[task_id].merge(proposals)})

    def solved(self) -> list[str]:
        """Ids of the tasks with at least one remembered program, in insertion order."""
        return [task_id for task_id, memory in self.tasks.items() if memory.entries]

    def to_json(self, domain: Domain) -> str:
        """The memories as JSON text: programs in ``domain``'s one-line format."""
        body = {
            "format": FORMAT,
            "domain": domain.name,
            "capacity": self.capacity,
            "tasks": {
                task_id: [{"program": domain.format(e.program), "log_joint": e.log_joint} for e in memory.entries]
                for task_id, memory in self.tasks.items()
            },
        }
        return json.dumps(body, indent=1, allow_nan=True)

    def save(self, path: str | os.PathLike, domain: Domain) -> None:
        """Write :meth:`to_json` to ``path`` atomically (a kill leaves the old file)."""
        atomic_write_text(path, self.to_json(domain) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike, domain: Domain) -> TaskMemories:
        """Read a file :meth:`save` wrote.

        Raises:
            MemoryFileError: unreadable JSON, another format or domain, or a bad field;
                the message names the file and the field.
        """
        try:
            body = json.loads(open(path, encoding="utf-8").read())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise MemoryFileError(f"{path}: not a readable memory file ({error})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise MemoryFileError(f"{path}: field 'format' must be {FORMAT!r}")
        if body.get("domain") != domain.name:
            raise MemoryFileError(f"{path}: field 'domain' is {body.get('domain')!r}, expected {domain.name!r}")
        capacity = body.get("capacity")
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise MemoryFileError(f"{path}: field 'capacity' must be an int >= 1, got {capacity!r}")
        tasks = body.get("tasks")
        if not isinstance(tasks, dict):
            raise MemoryFileError(f"{path}: field 'tasks' must be an object of task id -> entries")
        memories: dict[str, TaskMemory] = {}
        for task_id, entries in tasks.items():
            memories[task_id] = TaskMemory(capacity, tuple(_entries(path, task_id, entries, domain)))
            if len(memories[task_id].entries) > capacity:
                raise MemoryFileError(f"{path}: tasks[{task_id!r}] holds more than capacity={capacity} entries")
        return cls(capacity, memories)


def _entries(path, task_id: str, entries: object, domain: Domain) -> Sequence[MemoryEntry]:
    if not isinstance(entries, list):
        raise MemoryFileError(f"{path}: tasks[{task_id!r}] must be a list of entries")
    out = []
    for i, entry in enumerate(entries):
        where = f"{path}: tasks[{task_id!r}][{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("program"), str):
            raise MemoryFileError(f"{where}: field 'program' must be program text")
        score = entry.get("log_joint")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score) or score == math.inf:
            raise MemoryFileError(f"{where}: field 'log_joint' must be a number below +inf, got {score!r}")
        try:
            program = domain.parse(entry["program"])
        except ParseError as error:
            raise MemoryFileError(f"{where}: field 'program' does not parse: {error}") from None
        out.append(MemoryEntry(program, float(score)))
    return out
