"""The Featurizer: specs, programs and their execution as the batches of :mod:`._batches`.

It runs programs (through a :data:`~worldmodel.Run`: the simulator in search, the
interpreter in training), compares their values with the targets
(:mod:`._pair_features`) and packs everything into padded index tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from worldmodel.datasets import (
    Bounds,
    Domain,
    ExecutionError,
    Program,
    Statement,
    Task,
    Type,
    Vocabulary,
)

from ._batches import PairBatch, ProgramBatch, SpecBatch, ValueTable
from ._pair_features import (
    NUM_EXECUTION_FEATURES,
    NUM_PAIR_FEATURES,
    pair_features,
    symmetric_pair_features,
)
from ._runs import Environments, Run

__all__ = ["Featurizer"]

_ZERO_FEATURES = (0.0,) * NUM_EXECUTION_FEATURES
class Featurizer:
    """Turns tasks, programs and execution environments into batches.

    Args:
        domain: the DSL (its interpreter computes missing environments, for training).
        max_variables: most variables a program may have (program vocabulary size).
        lookahead: add the one-step look-ahead feature (default True).

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]), Example(([2],), [2])), (Type.LIST,))
        >>> batch = Featurizer(deepcoder).programs([task], [deepcoder.parse("a <- [int] | b <- SORT a")], [0])
        >>> tuple(batch.states.shape), float(batch.pair_features[batch.state_output[batch.states[0, 0]], 2])
        ((1, 2), 1.0)
    """

    def __init__(self, domain: Domain, *, max_variables: int = 32, lookahead: bool = True):
        self.domain = domain
        # The primitive head's classes: the domain's primitives, then the skills a model
        # learned (WorldModel.add_skills appends them); programs are read in base primitives.
        self.primitive_names: tuple[str, ...] = tuple(domain.primitives)
        self.vocab = Vocabulary.for_domain(dict(domain.primitives), domain.bounds, max_variables=max_variables)
        self.max_variables = max_variables
        self.width = domain.bounds.max_list_length + 2
        self.lookahead = lookahead
        unary = {t: [p for p in domain.primitives.values() if p.arg_types == (t,)] for t in (Type.INT, Type.LIST)}
        self._unary = {t: [p.function for p in ps] for t, ps in unary.items()}
        self._unary_names = {t: [p.name for p in ps] for t, ps in unary.items()}

    def one_step(self, value, target) -> float:
        """1.0 if one one-argument primitive maps ``value`` to ``target`` (else 0.0).

        A value one statement away from the target is a program one edit (append a
        statement) from a solution on this example: the signal PCCoder-style models
        learn from executing partial programs.

        Example:
            >>> from worldmodel.datasets import deepcoder
            >>> f = Featurizer(deepcoder)
            >>> f.one_step([3, 1, 2], [1, 2, 3]), f.one_step([3, 1, 2], 6), f.one_step([3, 1], [7])
            (1.0, 1.0, 0.0)
        """
        if value is None or not self.lookahead:
            return 0.0
        for function in self._unary[Type.INT if type(value) is int else Type.LIST]:
            try:
                if function(value) == target:
                    return 1.0
            except (IndexError, ValueError):
                continue
        return 0.0

    def unsupported(self, task: Task, *, max_length: int, bounds: Bounds, max_tokens: int | None = None) -> str | None:
        """Why programs of up to ``max_length`` statements on ``task`` cannot be featurised, or ``None``.

        Args:
            task: the specification (its number of inputs and its values).
            max_length: the most statements a search may append.
            bounds: the bounds of the domain the search runs in (its intermediate
                values must fit the value vocabulary too).
            max_tokens: the most program tokens the program encoder takes (``None``:
                no limit).

        Example:
            >>> from worldmodel.datasets import deepcoder, Task, Example, Type
            >>> task = Task("t", (Example(tuple([[1]] * 40), [1]),), (Type.LIST,) * 40)
            >>> Featurizer(deepcoder).unsupported(task, max_length=5, bounds=deepcoder.bounds)
            'programs of 40 inputs and 5 statements have 45 variables; the model takes at most 32 (ModelConfig.max_variables)'
        """
        n = len(task.input_types)
        if n + max_length > self.max_variables:
            return (
                f"programs of {n} inputs and {max_length} statements have {n + max_length} variables; "
                f"the model takes at most {self.max_variables} (ModelConfig.max_variables)"
            )
        arity = max((len(p.arg_types) for p in self.domain.primitives.values()), default=0)
        tokens = n + 3 + max_length * (1 + arity)  # <bos> types <sep> (primitive args)* <eos>
        if max_tokens is not None and tokens > max_tokens:
            return f"programs of {n} inputs and {max_length} statements take up to {tokens} tokens; the model takes {max_tokens}"
        longest, lo, hi = self.width - 2, self.vocab.value_min, self.vocab.value_max
        if bounds.max_list_length > longest or bounds.min_value < lo or bounds.max_value > hi:
            return f"the domain's {bounds} allow values the model cannot encode (lists up to {longest}, ints in [{lo}, {hi}])"
        for example in task.examples:
            for value in (*example.inputs, example.output):
                items = [value] if type(value) is int else value
                if len(items) > longest or any(not lo <= v <= hi for v in items):
                    return f"the value {value!r} does not fit the model's values (lists up to {longest}, ints in [{lo}, {hi}])"
        return None

    def environments(self, task: Task, program: Program) -> list[list] | None:
        """All variables' values on every example, or ``None`` if invalid on one."""
        try:
            return [self.domain.trace(program, list(e.inputs)) for e in task.examples]
        except ExecutionError:
            return None

    def _spec(self, tasks: Sequence[Task], table: ValueTable) -> tuple[torch.Tensor, ...]:
        k = max(len(t.examples) for t in tasks)
        i = max(len(t.input_types) for t in tasks)
        inputs = np.zeros((len(tasks), k, i), dtype=np.int64)
        targets = np.zeros((len(tasks), k), dtype=np.int64)
        mask = np.zeros((len(tasks), k), dtype=bool)
        for b, task in enumerate(tasks):
            mask[b, : len(task.examples)] = True
            for j, example in enumerate(task.examples):
                targets[b, j] = table.index(example.output)
                inputs[b, j, : len(example.inputs)] = [table.index(value) for value in example.inputs]
        return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)

    def specs(self, tasks: Sequence[Task]) -> SpecBatch:
        """A :class:`SpecBatch` of ``tasks``."""
        table = ValueTable(self.vocab, self.width)
        inputs, targets, mask = self._spec(tasks, table)
        return SpecBatch(table.tensor(), inputs, targets, mask)

    def program_tokens(self, program: Program) -> list[int]:
        """Token ids ``<bos> types <sep> (primitive args)* <eos>`` (as :class:`Vocabulary`)."""
        if program.num_variables > self.max_variables:
            raise ValueError(
                f"program has {program.num_variables} variables, the model takes at most "
                f"{self.max_variables} (ModelConfig.max_variables)"
            )
        return self.vocab.encode_program(program)

    def run_one_step(self, task: Task, program: Program, variable: int, run: Run) -> list[float]:
        """:meth:`one_step` of ``variable`` of ``program`` on each example of ``task``,
        from ``run``'s executions: ``program`` up to the statement that defines
        ``variable``, with each one-argument primitive of ``variable`` appended.

        Those programs are what a search appends anyway, so with
        ``run = Simulator.environments`` the look-ahead costs the budget once, and often
        nothing. An appended statement invalid on some example counts on none (the
        simulator rejects the whole program).

        Example:
            >>> from worldmodel.datasets import deepcoder, Task, Example, Type
            >>> task = Task("t", (Example(([3, 1, 2],), [1, 2, 3]), Example(([2],), [5])), (Type.LIST,))
            >>> run = lambda p: [deepcoder.trace(p, list(e.inputs)) for e in task.examples]
            >>> Featurizer(deepcoder).run_one_step(task, deepcoder.parse("a <- [int]"), 0, run)
            [1.0, 0.0]
        """
        targets = [e.output for e in task.examples]
        bits = [0.0] * len(targets)
        if not self.lookahead:
            return bits
        n = len(program.input_types)
        prefix = program.statements[: max(0, variable - n + 1)]
        if variable < n:
            type_ = program.input_types[variable]
        else:
            type_ = self.domain.primitives[program.statements[variable - n].primitive].return_type
        for name in self._unary_names[type_]:
            envs = run(Program(program.input_types, prefix + (Statement(name, (variable,)),)))
            if envs is None:
                continue
            for j, (env, target) in enumerate(zip(envs, targets)):
                if env[-1] == target:
                    bits[j] = 1.0
            if all(bits):
                break
        return bits

    def programs(
        self,
        tasks: Sequence[Task],
        programs: Sequence[Program],
        task_index: Sequence[int],
        environments: Sequence[Environments | None] | None = None,
        *,
        run: Run | None = None,
    ) -> ProgramBatch:
        """A :class:`ProgramBatch`: ``programs[n]`` runs on ``tasks[task_index[n]]``.

        Args:
            environments: per program, the per-example variable values (inputs first, as
                :meth:`worldmodel.inference.Simulator.environments` returns them) or
                ``None`` if invalid; computed with the interpreter when omitted.
            run: where the look-ahead's executions come from (:meth:`run_one_step`;
                one task only); a search passes ``Simulator.environments``. Default:
                the featurizer applies the primitives itself (:meth:`one_step`), as in
                training.

        Raises:
            ValueError: ``environments`` or ``run`` do not fit the programs or tasks.
        """
        if run is not None and len(tasks) != 1:
            raise ValueError(f"run executes programs on one task; got {len(tasks)} tasks")
        table = ValueTable(self.vocab, self.width)
        inputs, targets, mask = self._spec(tasks, table)
        n, k = len(programs), targets.shape[1]
        if environments is None:
            environments = [self.environments(tasks[t], p) for p, t in zip(programs, task_index)]
        elif len(environments) != n:
            raise ValueError(f"got {len(environments)} environments for {n} programs")
        ahead: dict[tuple, list[float]] = {}  # run_one_step of a (prefix, variable), shared by programs
        v = max([len(p) for p in programs] + [1])
        tokens = [self.program_tokens(p) for p in programs]
        tok = np.zeros((n, max(map(len, tokens))), dtype=np.int64)
        for row, ids in enumerate(tokens):
            tok[row, : len(ids)] = ids
        states = np.zeros((n, k), dtype=np.int64)
        valid = np.zeros(n, dtype=np.float32)
        target_rows = targets.tolist()  # plain ints: indexing a tensor per pair is slow
        pairs: dict[tuple, int] = {}
        pair_value, pair_target, pair_feats = [0], [0], [_ZERO_FEATURES]
        state_rows: dict[tuple, int] = {}
        state_output, state_variables, state_task, state_example = [0], [()], [0], [0]

        def pair(t: int, j: int, value, one_step: float | None = None) -> int:
            # ``one_step`` is given when it comes from ``run`` (it then depends on the
            # program, not only on the value), else computed from the value.
            key = (t, j, value if type(value) is int or value is None else tuple(value), one_step)
            row = pairs.get(key)
            if row is None:
                row = pairs[key] = len(pair_value)
                pair_value.append(table.index(value))
                pair_target.append(target_rows[t][j])
                target = tasks[t].examples[j].output
                if one_step is None:
                    one_step = self.one_step(value, target)
                pair_feats.append((*pair_features(value, target), one_step))
            return row

        def looked_ahead(t: int, program: Program, variable: int) -> list[float]:
            key = (program.statements[: max(0, variable - len(program.input_types) + 1)], variable)
            bits = ahead.get(key)
            if bits is None:
                bits = ahead[key] = self.run_one_step(tasks[t], program, variable, run)
            return bits

        def state(t: int, j: int, output: int, variables: tuple[int, ...]) -> int:
            # pair rows are specific to (task, example), so they identify the state
            key = (output, variables)
            row = state_rows.get(key)
            if row is None:
                row = state_rows[key] = len(state_output)
                state_output.append(output)
                state_variables.append(variables)
                state_task.append(t)
                state_example.append(j)
            return row

        for row, (program, t, envs) in enumerate(zip(programs, task_index, environments)):
            count = len(tasks[t].examples)
            first = len(program.input_types)
            if envs is None:
                for j in range(count):
                    states[row, j] = state(t, j, pair(t, j, None), ())
                continue
            if len(envs) != count:
                raise ValueError(f"environments[{row}] has {len(envs)} examples, the task has {count}")
            valid[row] = 1.0
            if run is None:
                for j, env in enumerate(envs):
                    variables = tuple(pair(t, j, value) for value in env[first:])
                    states[row, j] = state(t, j, pair(t, j, env[-1]), variables)
                continue
            last = program.num_variables - 1
            bits = {v: looked_ahead(t, program, v) for v in {*range(first, last + 1), last}}
            for j, env in enumerate(envs):
                variables = tuple(pair(t, j, env[v], bits[v][j]) for v in range(first, last + 1))
                states[row, j] = state(t, j, pair(t, j, env[-1], bits[last][j]), variables)
        state_vars = np.zeros((len(state_output), v), dtype=np.int64)
        for row, variables in enumerate(state_variables):
            state_vars[row, : len(variables)] = variables
        spec = SpecBatch(table.tensor(), inputs, targets, mask)
        state_vars_t = torch.from_numpy(state_vars)
        return ProgramBatch(
            spec,
            torch.tensor(list(task_index), dtype=torch.long),
            torch.from_numpy(tok),
            torch.from_numpy(valid),
            torch.tensor(pair_value, dtype=torch.long),
            torch.tensor(pair_target, dtype=torch.long),
            torch.from_numpy(np.array(pair_feats, dtype=np.float32)),
            torch.from_numpy(states),
            torch.tensor(state_output, dtype=torch.long),
            state_vars_t,
            state_vars_t != 0,
            torch.tensor(state_task, dtype=torch.long),
            torch.tensor(state_example, dtype=torch.long),
        )

    def pairs(
        self,
        tasks: Sequence[Task],
        outputs_a: Sequence[Sequence[object] | None],
        outputs_b: Sequence[Sequence[object] | None],
        task_index: Sequence[int],
    ) -> PairBatch:
        """A :class:`PairBatch`: per-example outputs ``a[p]`` vs ``b[p]`` on ``tasks[task_index[p]]``.

        ``None`` for a whole output list (or one value in it) means invalid.
        """
        if len(outputs_a) != len(outputs_b) or len(outputs_a) != len(task_index):
            raise ValueError(
                f"outputs_a, outputs_b and task_index differ in length: "
                f"{len(outputs_a)}, {len(outputs_b)}, {len(task_index)}"
            )
        table = ValueTable(self.vocab, self.width)
        inputs, targets, mask = self._spec(tasks, table)
        p, k = len(outputs_a), targets.shape[1]
        a = np.zeros((p, k), dtype=np.int64)
        b = np.zeros((p, k), dtype=np.int64)
        feats = np.zeros((p, k, NUM_PAIR_FEATURES), dtype=np.float32)
        for row, (xs, ys, t) in enumerate(zip(outputs_a, outputs_b, task_index)):
            count = len(tasks[t].examples)
            xs = [None] * count if xs is None else list(xs)
            ys = [None] * count if ys is None else list(ys)
            if len(xs) != count or len(ys) != count:
                raise ValueError(f"pair {row}: outputs need one value per example ({count}), got {len(xs)} and {len(ys)}")
            a[row, :count] = [table.index(x) for x in xs]
            b[row, :count] = [table.index(y) for y in ys]
            feats[row, :count] = [symmetric_pair_features(x, y) for x, y in zip(xs, ys)]
        spec = SpecBatch(table.tensor(), inputs, targets, mask)
        task = torch.tensor(list(task_index), dtype=torch.long)
        return PairBatch(spec, task, torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(feats))
