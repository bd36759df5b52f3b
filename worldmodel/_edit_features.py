"""Featurisation of program edits Δφ, execution-aware, for the flow policy.

An edit is described by what it is (kind, position, primitive, argument variables)
and by what it does: the edited program's execution on the spec's inputs, where the
value of the edited statement and the new output are compared with the target
outputs (equal? same type? overlap of elements? length?). PCCoder shows execution
state is what makes next-statement prediction work. The program itself is
summarised by :func:`state_features`.

The features never run a program themselves: they ask a :data:`Run` for the
executions they need. A search passes ``Simulator.environments``, which counts every
statement against the budget once and caches it for the search; training passes
:func:`~worldmodel.interpreter_run` (both in :mod:`._runs`).

All features are hand-made numbers in roughly [-1, 1]; the policy learns the
continuous embedding on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import (
    DeleteStatement,
    Domain,
    Edit,
    InsertStatement,
    Program,
    ReplaceArgument,
    ReplaceStatement,
    Statement,
    Task,
    Type,
)

from ._runs import Environments, Run, interpreter_run, known_environments, partial_environments

__all__ = [
    "EditFeatures",
    "EDIT_KINDS",
    "NUM_EDIT_FEATURES",
    "NUM_VALUE_FEATURES",
    "edit_features",
    "num_state_features",
    "state_features",
]

EDIT_KINDS = (InsertStatement, DeleteStatement, ReplaceStatement, ReplaceArgument)

# Scale for positions and lengths: programs of the DeepCoder data have <= 5 statements.
_SCALE = 8.0

NUM_VALUE_FEATURES = 8
"""Length of :func:`_compare`'s vector (one value against one target)."""

NUM_EDIT_FEATURES = 4 + 2 * 5 + 2 + 3 * NUM_VALUE_FEATURES + 2
"""Length of :attr:`EditFeatures.numeric`'s rows."""

@dataclass(frozen=True)
class EditFeatures:
    """Features of ``E`` candidate edits of one program.

    Attributes:
        kind: (E,) long, index into :data:`EDIT_KINDS`.
        primitive: (E,) long, the primitive of the statement the edit writes (for a
            delete: the deleted one), an index into the domain's primitive table.
        old_primitive: (E,) long, the primitive it replaces or deletes, or the table
            size for "none" (inserts).
        numeric: (E, NUM_EDIT_FEATURES) float, position, arguments and execution.
    """

    kind: torch.Tensor
    primitive: torch.Tensor
    old_primitive: torch.Tensor
    numeric: torch.Tensor

    def __len__(self) -> int:
        return self.kind.shape[0]

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> EditFeatures:
        """The same features on ``device``."""
        return EditFeatures(*(t.to(device, non_blocking=non_blocking) for t in (self.kind, self.primitive, self.old_primitive, self.numeric)))

    @staticmethod
    def cat(parts: Sequence[EditFeatures]) -> EditFeatures:
        """Concatenate the features of several candidate sets along the edit axis."""
        return EditFeatures(
            *(torch.cat([getattr(p, name) for p in parts]) for name in ("kind", "primitive", "old_primitive", "numeric"))
        )


def _last_values(envs: Environments | None, examples: int) -> list:
    return [None] * examples if envs is None else [env[-1] for env in envs]


def _compare(value: object, target: object) -> list[float]:
    """How close ``value`` is to ``target`` (:data:`NUM_VALUE_FEATURES` numbers)."""
    if value is None:
        return [0.0] * NUM_VALUE_FEATURES
    v_list, t_list = isinstance(value, list), isinstance(target, list)
    out = [1.0, float(value == target), float(v_list == t_list), 0.0, 0.0, 0.0, 0.0, 0.0]
    if v_list and t_list:
        longest = max(len(value), len(target), 1)
        out[3] = 1.0 - abs(len(value) - len(target)) / longest
        remaining = list(target)
        hits = 0
        for x in value:
            if x in remaining:
                remaining.remove(x)
                hits += 1
        out[4] = hits / longest
        prefix = 0
        for a, b in zip(value, target):
            if a != b:
                break
            prefix += 1
        out[5] = prefix / longest
        out[6] = float(sorted(value) == sorted(target))
        out[7] = float(set(target) <= set(value))
    elif not v_list and not t_list:
        out[3] = 1.0 / (1.0 + abs(value - target) / 4.0)
        out[4] = float((value > 0) == (target > 0))
        out[5] = float(value % 2 == target % 2)
    elif v_list:
        out[4] = float(target in value)
        out[5] = float(bool(value) and value[-1] == target)
        out[6] = float(bool(value) and value[0] == target)
    else:
        out[4] = float(value in target)
        out[5] = float(len(target) == value)
    return out


def _mean_compare(values: Sequence[object], targets: Sequence[object]) -> list[float]:
    rows = [_compare(v, t) for v, t in zip(values, targets)]
    return [sum(col) / len(rows) for col in zip(*rows)]


class _Comparer:
    """:func:`_mean_compare` against fixed targets, memoised per example: most
    candidate edits of one program produce values already seen."""

    def __init__(self, targets: Sequence[object]):
        self.targets = list(targets)
        self.memo: list[dict] = [{} for _ in self.targets]
        self.shared: dict[int, tuple[Sequence[object], list[float]]] = {}

    def mean(self, values: Sequence[object]) -> list[float]:
        # The same list object (an inserted statement's values, φ's outputs) comes
        # back for many edits; the entry keeps it alive, so its id stays unique.
        hit = self.shared.get(id(values))
        if hit is not None:
            return hit[1]
        total = [0.0] * NUM_VALUE_FEATURES
        for value, target, memo in zip(values, self.targets, self.memo):
            key = tuple(value) if isinstance(value, list) else value
            if isinstance(value, list):
                key = ("list", key)
            row = memo.get(key)
            if row is None:
                row = memo[key] = _compare(value, target)
            total = [a + b for a, b in zip(total, row)]
        result = [t / len(self.targets) for t in total]
        self.shared[id(values)] = (values, result)
        return result


def _edit_site(program: Program, edit: Edit) -> tuple[int, Statement | None, Statement | None]:
    """(index, the statement the edit writes or None, the one it removes or None)."""
    if isinstance(edit, InsertStatement):
        return edit.index, edit.statement, None
    if isinstance(edit, DeleteStatement):
        return edit.index, None, edit.statement
    if isinstance(edit, ReplaceStatement):
        return edit.index, edit.new, edit.old
    if isinstance(edit, ReplaceArgument):
        old = program.statements[edit.index]
        args = old.args[: edit.position] + (edit.new,) + old.args[edit.position + 1 :]
        return edit.index, Statement(old.primitive, args), old
    raise TypeError(f"not an edit: {edit!r}")


def edit_features(
    task: Task,
    program: Program,
    edits: Sequence[Edit],
    domain: Domain,
    *,
    run: Run | None = None,
) -> EditFeatures:
    """Featurise candidate edits of ``program`` for ``task`` from what the edited programs compute.

    The executions come from ``run``: ``program`` itself; for each distinct inserted
    statement ``s``, ``program`` with ``s`` appended (its value is the same wherever it
    is inserted, since its arguments precede it); and each replaced program. A delete
    needs none.

    Args:
        task: the spec; its examples' inputs are run and outputs are the targets.
        program: the program being edited.
        edits: ``E`` valid edits of ``program`` (e.g. from ``domain.neighbours``).
        domain: the DSL.
        run: where executions come from (default :func:`interpreter_run` around
            ``program``); a search passes ``Simulator.environments``.

    Returns:
        :class:`EditFeatures` with ``E`` rows.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> p = deepcoder.parse("a <- [int]")
        >>> edits = [e for e, _ in deepcoder.neighbours(p, max_length=2)]
        >>> f = edit_features(task, p, edits, deepcoder)
        >>> f.numeric.shape == (len(edits), NUM_EDIT_FEATURES)
        True
    """
    if run is None:
        run = interpreter_run(task, program, domain)
    envs = known_environments(task, program, run(program))
    targets = [e.output for e in task.examples]
    n = len(program.input_types)
    length = len(program.statements)
    types, body = program.input_types, program.statements
    names = {name: i for i, name in enumerate(domain.primitives)}
    none = len(names)
    used = {a for st in program.statements for a in st.args}
    outputs_now = [env[-1] for env in envs]
    compare = _Comparer(targets)
    current = compare.mean(outputs_now)
    statement_values: dict[Statement, list] = {}
    no_values = [None] * len(envs)
    outputs_before_last = [env[-2] for env in envs] if length else None
    kinds, prims, olds, rows = [], [], [], []
    for edit in edits:
        index, new, old = _edit_site(program, edit)
        kinds.append(EDIT_KINDS.index(type(edit)))
        written = new if new is not None else old
        prims.append(names[written.primitive])
        olds.append(none if old is None else names[old.primitive])
        row = [index / _SCALE, float(index >= length - (0 if isinstance(edit, InsertStatement) else 1)), length / _SCALE, float(index == 0)]
        last = n + index - 1
        for slot in range(2):
            if slot < len(written.args):
                a = written.args[slot]
                row += [1.0, float(a < n), float(a == last), (last - a) / _SCALE, float(a >= n and a not in used)]
            else:
                row += [0.0] * 5
        if isinstance(edit, ReplaceArgument):
            row += [float(edit.position), (last - edit.old) / _SCALE]
        else:
            row += [0.0, 0.0]
        # What the edited program computes. An inserted statement's arguments precede
        # it, so its value is that of the same statement run on φ's environment, and
        # nothing after it uses it: the output changes only when it is appended. A
        # deleted statement is unused, so only deleting the last one changes the
        # output. Replacements rerun the suffix from the unchanged prefix.
        if isinstance(edit, InsertStatement):
            values = statement_values.get(new)
            if values is None:
                values = _last_values(run(Program(types, body + (new,))), len(envs))
                statement_values[new] = values
            outputs = values if index == length else outputs_now
        elif isinstance(edit, DeleteStatement):
            values = no_values
            outputs = outputs_before_last if index == length - 1 else outputs_now
        else:
            new_envs = run(Program(types, body[:index] + (new,) + body[index + 1 :]))
            if new_envs is None:
                values = outputs = no_values
            else:
                values = [env[n + index] for env in new_envs]
                outputs = [env[-1] for env in new_envs]
        duplicate = 0.0
        if new is not None:
            duplicate = sum(float(v is not None and v in env[: n + index]) for v, env in zip(values, envs)) / len(envs)
        out = compare.mean(outputs)
        row += compare.mean(values)
        row += out
        row += [a - b for a, b in zip(out, current)]
        row += [duplicate, float(new is None)]
        rows.append(row)
    return EditFeatures(
        torch.tensor(kinds, dtype=torch.long),
        torch.tensor(prims, dtype=torch.long),
        torch.tensor(olds, dtype=torch.long),
        torch.tensor(rows, dtype=torch.float32).reshape(len(rows), NUM_EDIT_FEATURES),
    )


def num_state_features(domain: Domain) -> int:
    """Length of :func:`state_features`' vector for ``domain``."""
    return 8 + NUM_VALUE_FEATURES + len(domain.primitives)


def state_features(task: Task, program: Program, domain: Domain, *, envs: Environments | None = None) -> torch.Tensor:
    """A hand-made summary of (spec, program, execution state): shape ``(S,)``.

    Length, input types, how close the current output is to the target, whether some
    variable already holds the target, unused variables, and the primitives used.

    Example:
        >>> from worldmodel.datasets import deepcoder, Example, Task, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> state_features(task, deepcoder.parse("a <- [int]"), deepcoder).shape[0] == num_state_features(deepcoder)
        True
    """
    if envs is None:
        envs = partial_environments(program, task, domain)
    targets = [e.output for e in task.examples]
    n = len(program.input_types)
    used = {a for st in program.statements for a in st.args}
    unused = sum(1 for v in range(n, program.num_variables - 1) if v not in used)
    holds_target = sum(float(any(v == t for v in env[n:])) for env, t in zip(envs, targets)) / len(envs)
    valid = sum(float(env[-1] is not None) for env in envs) / len(envs)
    target_list = isinstance(targets[0], list)
    target_size = sum(len(t) if isinstance(t, list) else abs(t) for t in targets) / (len(targets) * _SCALE * 2)
    row = [
        len(program.statements) / _SCALE,
        sum(t is Type.INT for t in program.input_types) / 2,
        sum(t is Type.LIST for t in program.input_types) / 2,
        float(target_list),
        target_size,
        unused / 4,
        holds_target,
        valid,
        *_mean_compare([env[-1] for env in envs], targets),
    ]
    counts = [0.0] * len(domain.primitives)
    names = {name: i for i, name in enumerate(domain.primitives)}
    for st in program.statements:
        counts[names[st.primitive]] += 1.0
    row += counts
    return torch.tensor(row, dtype=torch.float32)
