"""Task files: one JSON object per line, ``{"id", ["domain"], "examples", ["program"]}``,
or for a generative domain ``{"id", "domain", "kind": "generative", "observations",
["heldout"], ["program"]}``.

``domain`` names the DSL of the line's task; a line without it is of
:data:`DEFAULT_DOMAIN` (``deepcoder``), so DeepCoder files need not say so. A line
naming another domain than the one the file is read with is a bad line, and
:func:`task_file_domain` tells a command which domain a file names.

``examples`` is a list of ``{"input": [args...], "output": value}``; ``input`` is the
list of the program's arguments (ints or int lists). A generative task's
``observations`` are the strings a program must explain (each with non-zero
likelihood), ``heldout`` more strings of the concept for evaluation only (kept in
:attr:`Task.extra`). A malformed line is reported
with its line number and reason and skipped; it never stops the rest of the file.

The file is read as bytes and decoded one line at a time, so one line that is not
UTF-8, nested too deeply, holds an integer beyond Python's digit limit, or is longer
than ``max_line_bytes`` (read no further than that, so memory stays bounded) is one
bad line, not a lost file. Ids are compared as text, so ``7`` and ``"7"`` on two lines
are a duplicate; the second is reported. A task whose examples give one input two
different outputs is reported too: no program can satisfy it.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ._domain import Domain, Example
from ._errors import ExecutionError, ParseError, TaskFileError, short_repr
from ._files import atomic_write_text
from ._interpreter import check_inputs, check_value
from ._program import Program, Type

__all__ = [
    "DEFAULT_DOMAIN",
    "EXAMPLES",
    "GENERATIVE",
    "MAX_LINE_BYTES",
    "Task",
    "TaskFile",
    "read_tasks",
    "iter_tasks",
    "parse_task",
    "task_file_domain",
    "task_to_json",
    "write_tasks",
]

DEFAULT_DOMAIN = "deepcoder"
"""The domain of a task line that names none."""

EXAMPLES, GENERATIVE = "examples", "generative"
"""The task kinds a line's ``kind`` names: input/output examples (the default), or a
generative task, a set of strings to explain (domains with a
:class:`~worldmodel.datasets.Generative` part, such as ``regex``)."""

MAX_LINE_BYTES = 1 << 20
"""Longest task-file line read (1 MiB, newline excluded); a longer line is reported
and skipped without being held in memory. A DeepCoder task within the default bounds
(lists of at most 20 values in [-256, 255]) takes about 2 KB per example."""

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
        raise ValueError(f"{where}: {short_repr(value)} is not an int or a list of ints") from None


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def parse_task(record: object, domain: Domain, *, default_id: str = "") -> Task:
    """Validate one decoded JSON record as a task of ``domain``.

    Raises:
        ValueError: naming the field that is wrong and why.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a task is a JSON object, got {type(record).__name__}")
    task_id = record.get("id", default_id)
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        raise ValueError(f"field 'id' must be a string, got {short_repr(task_id)}")
    if isinstance(task_id, str):
        try:
            task_id.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"field 'id' {short_repr(task_id)} is not valid Unicode (a lone surrogate); "
                "use an id of real characters"
            ) from None
    named = record.get("domain", DEFAULT_DOMAIN)
    if not isinstance(named, str):
        raise ValueError(f"field 'domain' must be a domain's name, got {short_repr(named)}")
    if named != domain.name:
        raise ValueError(
            f"field 'domain': the task is of domain {short_repr(named)}, read as {domain.name!r}; "
            f"read the file with --domain {named}"
        )
    kind = record.get("kind", EXAMPLES)
    if kind not in (EXAMPLES, GENERATIVE):
        raise ValueError(f"field 'kind' must be {EXAMPLES!r} or {GENERATIVE!r}, got {short_repr(kind)}")
    if domain.generative is not None:
        if kind != GENERATIVE:
            raise ValueError(f"field 'kind': tasks of domain {domain.name!r} are generative; write "
                             '"kind": "generative" and the strings to explain as "observations"')
        parsed, input_types = _observations(record, domain), domain.signatures[0]
    elif kind == GENERATIVE:
        raise ValueError(f"field 'kind': domain {domain.name!r} has input/output tasks, not generative ones; "
                         "give 'examples', or read the file with the domain it is for (--domain regex)")
    else:
        parsed, input_types = _examples(record, domain)
    program = None
    if record.get("program") is not None:
        text = record["program"]
        if not isinstance(text, str):
            raise ValueError("field 'program' must be program text")
        try:
            program = domain.parse(text)
        except ParseError as error:
            message = str(error)
            cut = message if len(message) <= 300 else message[:300] + " ..."
            raise ValueError(f"field 'program': {cut}") from None
        if program.input_types != input_types:
            raise ValueError("field 'program' takes other argument types than the examples give")
    extra = {k: v for k, v in record.items() if k not in ("id", "domain", "kind", "examples", "observations", "program")}
    return Task(str(task_id), tuple(parsed), input_types, program, extra)


def _strings(record: dict, name: str, domain: Domain, *, required: bool) -> list[str]:
    values = record.get(name)
    if values is None and not required:
        return []
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError(f"field {name!r} must be a non-empty list of strings, got {short_repr(values)}")
    alphabet, longest = set(domain.generative.alphabet), domain.bounds.max_list_length
    for k, value in enumerate(values):
        odd = sorted(set(value) - alphabet)
        if odd:
            raise ValueError(f"{name}[{k}] {short_repr(value)} holds {short_repr(''.join(odd))}, outside the "
                             f"alphabet of domain {domain.name!r}; replace those characters")
        if len(value) > longest:
            raise ValueError(f"{name}[{k}] has {len(value)} characters; domain {domain.name!r} explains "
                             f"strings of at most {longest}")
    return values


def _observations(record: dict, domain: Domain) -> list[Example]:
    """A generative task's observations as examples: the program's empty inputs, and
    each observation's character codes (:class:`Generative`)."""
    if "examples" in record:
        raise ValueError("field 'examples': a generative task gives 'observations' (strings), not examples")
    _strings(record, "heldout", domain, required=False)  # checked here, kept in ``extra``
    inputs = tuple(domain.random_value(t, None) for t in domain.signatures[0])
    observations = _strings(record, "observations", domain, required=True)
    return [Example(inputs, domain.generative.encode(v)) for v in observations]


def _examples(record: dict, domain: Domain) -> tuple[list[Example], tuple[Type, ...]]:
    """An input/output task's examples, checked against the domain's bounds, and the
    input types they give."""
    examples = record.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ValueError("field 'examples' must be a non-empty list")
    parsed: list[Example] = []
    first_with: dict[tuple, int] = {}  # inputs -> index of the first example with them
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
            raise ValueError(
                f"{where}.input has types {short_repr([t.value for t in types])}, "
                f"earlier examples {short_repr([t.value for t in input_types])}"
            )
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
        key = tuple(map(_key, values))
        earlier = first_with.setdefault(key, k)
        if earlier != k and parsed[earlier].output != output:
            raise ValueError(
                f"{where} has the input of examples[{earlier}] but another output "
                f"({short_repr(output)}, not {short_repr(parsed[earlier].output)}): no program gives both; "
                "fix or remove one of them"
            )
        parsed.append(Example(tuple(values), output))
    return parsed, input_types


def _lines(handle, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) for each line of a binary file; ``None`` for a line over ``limit``
    bytes, which is skipped without being kept in memory."""
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or line.endswith(b"\n"):
            yield number, line
            continue
        while line and not line.endswith(b"\n"):  # the rest of the long line, unkept
            line = handle.readline(1 << 16)
        yield number, None


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"not UTF-8: byte 0x{line[error.start]:02x} at column {error.start + 1}; "
            "save the file as UTF-8"
        ) from None


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"bad JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise ValueError("bad JSON: nested too deeply (a task nests 4 levels)") from None
    except ValueError as error:  # e.g. an integer past Python's digit limit
        digits = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        if "digits" in str(error):
            raise ValueError(
                f"bad JSON: an integer of more than {digits} digits (values must lie within the domain bounds)"
            ) from None
        raise ValueError(f"bad JSON: {error}") from None


def iter_tasks(
    path: str | os.PathLike, domain: Domain, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Task | TaskFileError]:
    """Each line's task, or a :class:`TaskFileError` naming the line; blank lines skipped.

    Args:
        path: the task file.
        domain: the DSL the tasks are checked against.
        max_line_bytes: longest line read (default :data:`MAX_LINE_BYTES`).

    Returns:
        An iterator, in file order. A line that is not UTF-8, not JSON, nested too
        deeply, longer than ``max_line_bytes``, not a valid task, or whose id an
        earlier line has, is a :class:`TaskFileError` (``FILE:LINE: reason``).

    Raises:
        OSError: the file cannot be opened.
    """
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes}")
    name = str(path)
    seen: dict[str, int] = {}
    with open(path, "rb") as handle:
        for number, line in _lines(handle, max_line_bytes):
            if line is None:
                yield TaskFileError(
                    f"line longer than {max_line_bytes} bytes; skipped unread (a task line is a few KB)",
                    path=name,
                    line=number,
                )
                continue
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            if not line.strip():
                continue
            try:
                task = parse_task(_load_json(_decode(line)), domain, default_id=f"line-{number}")
            except ValueError as error:
                yield TaskFileError(str(error), path=name, line=number)
                continue
            first = seen.setdefault(task.id, number)
            if first != number:
                yield TaskFileError(
                    f"duplicate id {short_repr(task.id)}: line {first} has it already (ids are compared "
                    "as text, so 7 and \"7\" are the same); give each task its own id",
                    path=name,
                    line=number,
                )
                continue
            yield task


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


def task_file_domain(path: str | os.PathLike, *, max_line_bytes: int = MAX_LINE_BYTES) -> str | None:
    """The domain a task file names: its first JSON object's ``domain`` field, or
    :data:`DEFAULT_DOMAIN` when that object has none; ``None`` when no line of the file
    is a JSON object (the readers then report each line).

    Raises:
        OSError: the file cannot be opened.
    """
    with open(path, "rb") as handle:
        for _, line in _lines(handle, max_line_bytes):
            if line is None or not line.strip():
                continue
            try:
                record = json.loads(line.removeprefix(codecs.BOM_UTF8).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                continue  # a bad line: the readers report it; the domain is what the next good one names
            if isinstance(record, dict):
                named = record.get("domain", DEFAULT_DOMAIN)
                return named if isinstance(named, str) else None
    return None


def task_to_json(task: Task, domain: Domain) -> str:
    """One task-file line (no newline), fields in a fixed order; ``domain`` is written
    for every domain but :data:`DEFAULT_DOMAIN`."""
    record: dict = {"id": task.id}
    if domain.name != DEFAULT_DOMAIN:
        record["domain"] = domain.name
    if domain.generative is not None:
        record["kind"] = GENERATIVE
        record["observations"] = [domain.generative.decode(e.output) for e in task.examples]
    else:
        record["examples"] = [{"input": list(e.inputs), "output": e.output} for e in task.examples]
    if task.program is not None:
        record["program"] = domain.format(task.program)
    record.update(task.extra)
    return json.dumps(record, separators=(", ", ": "))


def write_tasks(path: str | os.PathLike, tasks: Iterable[Task], domain: Domain) -> None:
    """Write a task file atomically."""
    atomic_write_text(path, "".join(task_to_json(t, domain) + "\n" for t in tasks))
