"""Task files: one JSON object per line, ``{"id", "examples", ["program"]}``.

``examples`` is a list of ``{"input": [args...], "output": value}``; ``input`` is the
list of the program's arguments (ints or int lists). A malformed line is reported
with its line number and reason and skipped; it never stops the rest of the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._domain import Domain, Example
from ._errors import ExecutionError, ParseError, TaskFileError
from ._interpreter import check_inputs, check_value
from ._program import Program, Type

__all__ = ["Task", "TaskFile", "read_tasks", "iter_tasks", "parse_task", "task_to_json", "write_tasks", "atomic_write_text"]


@dataclass(frozen=True)
class Task:
    """A specification: examples of an unknown program, maybe with a known solution.

    Attributes:
        id: the task's name.
        examples: the input/output pairs (inputs in argument order).
        input_types: the argument types, read off the first example.
        program: a known solution, if the file gives one.
        extra: any other fields of the line, kept as they were.
    """

    id: str
    examples: tuple[Example, ...]
    input_types: tuple[Type, ...]
    program: Program | None = None
    extra: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TaskFile:
    """The good tasks of a file and one error per malformed line."""

    tasks: list[Task]
    errors: list[TaskFileError]


def _value_type(value: object, where: str) -> Type:
    try:
        return Type.of(value)
    except TypeError:
        raise ValueError(f"{where}: {value!r} is not an int or a list of ints") from None


def parse_task(record: object, domain: Domain, *, default_id: str = "") -> Task:
    """Validate one decoded JSON record as a task of ``domain``.

    Raises:
        ValueError: naming the field that is wrong and why.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a task is a JSON object, got {type(record).__name__}")
    task_id = record.get("id", default_id)
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        raise ValueError(f"field 'id' must be a string, got {task_id!r}")
    examples = record.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ValueError("field 'examples' must be a non-empty list")
    parsed: list[Example] = []
    input_types: tuple[Type, ...] | None = None
    for k, example in enumerate(examples):
        where = f"examples[{k}]"
        if not isinstance(example, dict) or "input" not in example or "output" not in example:
            raise ValueError(f"{where} must be an object with 'input' and 'output'")
        inputs = example["input"]
        if not isinstance(inputs, list) or not inputs:
            raise ValueError(f"{where}.input must be a non-empty list of arguments")
        types = tuple(_value_type(v, f"{where}.input") for v in inputs)
        if input_types is None:
            input_types = types
        elif types != input_types:
            raise ValueError(f"{where}.input has types {[t.value for t in types]}, earlier examples {[t.value for t in input_types]}")
        try:
            values = check_inputs(types, inputs, domain.bounds)
        except ExecutionError as error:
            raise ValueError(f"{where}.input: {error.reason} (domain bounds {domain.bounds})") from None
        output = example["output"]
        _value_type(output, f"{where}.output")
        try:
            check_value(output, domain.bounds)
        except ExecutionError as error:
            raise ValueError(f"{where}.output: {error.reason} (domain bounds {domain.bounds})") from None
        parsed.append(Example(tuple(values), output))
    program = None
    if record.get("program") is not None:
        text = record["program"]
        if not isinstance(text, str):
            raise ValueError("field 'program' must be program text")
        try:
            program = domain.parse(text)
        except ParseError as error:
            raise ValueError(f"field 'program': {error}") from None
        if program.input_types != input_types:
            raise ValueError("field 'program' takes other argument types than the examples give")
    extra = {k: v for k, v in record.items() if k not in ("id", "examples", "program")}
    return Task(str(task_id), tuple(parsed), input_types, program, extra)


def iter_tasks(path: str | os.PathLike, domain: Domain) -> Iterator[Task | TaskFileError]:
    """Each line's task, or a :class:`TaskFileError` naming the line; blank lines skipped."""
    name = str(path)
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield TaskFileError(f"bad JSON: {error.msg} at column {error.colno}", path=name, line=number)
                continue
            try:
                yield parse_task(record, domain, default_id=f"line-{number}")
            except ValueError as error:
                yield TaskFileError(str(error), path=name, line=number)


def read_tasks(path: str | os.PathLike, domain: Domain) -> TaskFile:
    """All good tasks of a file, and one error per malformed line.

    Example:
        >>> import tempfile, os
        >>> from worldmodel.datasets import deepcoder
        >>> path = os.path.join(tempfile.mkdtemp(), "t.jsonl")
        >>> _ = open(path, "w").write('{"id": "a", "examples": [{"input": [[1]], "output": 1}]}\\n{oops\\n')
        >>> result = read_tasks(path, deepcoder)
        >>> len(result.tasks), result.errors[0].line
        (1, 2)
    """
    tasks: list[Task] = []
    errors: list[TaskFileError] = []
    for item in iter_tasks(path, domain):
        (errors if isinstance(item, TaskFileError) else tasks).append(item)
    return TaskFile(tasks, errors)


def task_to_json(task: Task, domain: Domain) -> str:
    """One task-file line (no newline), fields in a fixed order."""
    record: dict = {"id": task.id, "examples": [{"input": list(e.inputs), "output": e.output} for e in task.examples]}
    if task.program is not None:
        record["program"] = domain.format(task.program)
    record.update(task.extra)
    return json.dumps(record, separators=(", ", ": "))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates 0600 files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_tasks(path: str | os.PathLike, tasks: Iterable[Task], domain: Domain) -> None:
    """Write a task file atomically."""
    atomic_write_text(path, "".join(task_to_json(t, domain) + "\n" for t in tasks))
