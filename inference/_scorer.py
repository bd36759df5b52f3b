"""What a search asks of a world model: energy, edit policy, output similarity.

The search methods (``policy``, ``energy``, ``mcmc``) are written against
:class:`Scorer`, a small protocol, so that they run unchanged with the learned
:class:`~worldmodel.WorldModel` (through :class:`WorldModelScorer`) or with
:class:`HeuristicScorer`, a hand-written stand-in that needs no training: it is what
the tests use, and the honest ablation in the bench ("does the learned model beat a
hand-written heuristic?").

The scorer is execution-aware but never runs a program itself: every method passes
it the environments (all variables' values on every example) computed by the
:class:`~worldmodel.inference.Simulator`, and ``run``, the simulator's
``environments``, for any further execution a feature needs (what each candidate edit
computes, a look-ahead). So every statement executed is counted in the one budget,
before it runs, and once: a candidate executed for its features and then kept by the
search costs nothing more.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from worldmodel.datasets import Domain, Edit, InsertStatement, Program, Task, Value

from worldmodel import Environments, Run

__all__ = ["Scorer", "HeuristicScorer", "WorldModelScorer", "as_scorer", "load_scorer", "output_distance"]


class Scorer(abc.ABC):
    """The protocol every search method uses. Subclass it to plug in any model."""

    def unsupported(self, task: Task, *, domain: Domain, max_length: int) -> str | None:
        """Why this scorer cannot score ``task``'s programs of up to ``max_length``
        statements in ``domain`` (the search then uses :class:`HeuristicScorer`), or
        ``None`` (the default: it can)."""
        return None

    @abc.abstractmethod
    def energy(
        self, task: Task, programs: Sequence[Program], *, environments: Sequence[Environments | None], run: Run | None = None
    ) -> torch.Tensor:
        """Energies of ``programs`` for ``task``, lower = better explains the examples.

        Args:
            task: the specification.
            programs: N programs.
            environments: ``environments[i]`` is the simulator's environment of
                ``programs[i]`` (``None`` if invalid).
            run: the simulator, for any further execution (default ``None``: none).

        Returns:
            ``(N,)`` float tensor.
        """

    @abc.abstractmethod
    def policy_log_probs(
        self, task: Task, program: Program, edits: Sequence[Edit], *, environments: Environments | None, run: Run | None = None
    ) -> torch.Tensor:
        """Log-probabilities of ``edits`` applied to ``program``, normalised over ``edits``.

        Args:
            task: the specification.
            program: the current program.
            edits: E valid edits of ``program`` (E >= 1).
            environments: the simulator's environment of ``program`` (per example,
                every variable's value; ``None`` if invalid).
            run: the simulator, for the executions of the edited programs, if the
                scorer needs them (default ``None``: none).

        Returns:
            ``(E,)`` float tensor whose exponentials sum to 1.
        """

    @abc.abstractmethod
    def similarity(
        self, task: Task, outputs_a: Sequence[Sequence[Value] | None], outputs_b: Sequence[Sequence[Value] | None]
    ) -> torch.Tensor:
        """How alike two programs' outputs are, given the task's inputs (higher = closer).

        Args:
            task: the specification (its example inputs condition the metric).
            outputs_a: N output lists, one value per example (``None``: invalid program).
            outputs_b: N output lists, paired with ``outputs_a``.

        Returns:
            ``(N,)`` float tensor.
        """


def output_distance(output: Value | None, target: Value, *, invalid: float = 10.0, wrong_type: float = 6.0) -> float:
    """A hand-written distance between one output and its target.

    Lists: positions that differ (a missing position counts as one) plus half the
    size of the multiset symmetric difference (so a permutation of the target is
    "warmer" than unrelated values). Ints: 0 if equal, else 1. A type mismatch costs
    ``wrong_type`` and an invalid result (``None``) ``invalid``.

    Example:
        >>> output_distance([1, 2, 3], [1, 2, 3]), output_distance([3, 2, 1], [1, 2, 3])
        (0.0, 2.0)
        >>> output_distance([1, 2], [1, 2, 3]), output_distance(4, 5), output_distance(None, 5)
        (1.5, 1.0, 10.0)
    """
    if output is None:
        return invalid
    if isinstance(output, int) != isinstance(target, int):
        return wrong_type
    if isinstance(output, int):
        return 0.0 if output == target else 1.0
    positional = sum(a != b for a, b in zip(output, target)) + abs(len(output) - len(target))
    a, b = Counter(output), Counter(target)
    return positional + 0.5 * sum(((a - b) + (b - a)).values())


@dataclass(frozen=True)
class HeuristicScorer(Scorer):
    """A non-learned scorer: output distance to the target, and a structural policy.

    Energy: the sum over examples of :func:`output_distance` between the program's
    output (its last variable) and the example's output, plus ``length_weight`` per
    statement (so that, of two programs that fit equally well, the shorter wins).

    Policy: a softmax over the given edits of ``append_bonus`` for inserting at the
    end (DeepCoder programs are built by appending) plus ``chain_bonus`` when the
    new statement reads the last variable; all else uniform. It ignores the examples.

    Similarity: minus the summed :func:`output_distance`.

    Attributes:
        length_weight: energy per statement (default 0.05).
        append_bonus: policy logit bonus for an insertion at the end (default 1.0).
        chain_bonus: policy logit bonus for a statement that reads the last variable
            (default 1.0).

    Example:
        >>> from worldmodel.datasets import deepcoder, Task, Example, Type
        >>> task = Task("t", (Example(([3, 1],), [1, 3]),), (Type.LIST,))
        >>> good, bad = deepcoder.parse("a <- [int] | b <- SORT a"), deepcoder.parse("a <- [int] | b <- MAP (*2) a")
        >>> HeuristicScorer().energy(task, [good, bad], environments=[[[[3, 1], [1, 3]]], [[[3, 1], [6, 2]]]])
        tensor([0.0500, 4.0500], dtype=torch.float64)
    """

    length_weight: float = 0.05
    append_bonus: float = 1.0
    chain_bonus: float = 1.0

    def energy(
        self, task: Task, programs: Sequence[Program], *, environments: Sequence[Environments | None], run: Run | None = None
    ) -> torch.Tensor:
        _check_lengths("environments", environments, "programs", programs)
        targets = [e.output for e in task.examples]
        values = []
        for program, envs in zip(programs, environments):
            outputs = None if envs is None else [env[-1] for env in envs]
            values.append(_summed_distance(outputs, targets) + self.length_weight * len(program))
        return torch.tensor(values, dtype=torch.float64)

    def policy_log_probs(
        self, task: Task, program: Program, edits: Sequence[Edit], *, environments: Environments | None, run: Run | None = None
    ) -> torch.Tensor:
        if not edits:
            raise ValueError("policy_log_probs needs at least one edit, got none")
        end, last = len(program), program.num_variables - 1
        logits = [
            (self.append_bonus if edit.index == end else 0.0) + (self.chain_bonus if last in edit.statement.args else 0.0)
            if isinstance(edit, InsertStatement)
            else 0.0
            for edit in edits
        ]
        return torch.log_softmax(torch.tensor(logits, dtype=torch.float64), dim=0)

    def similarity(
        self, task: Task, outputs_a: Sequence[Sequence[Value] | None], outputs_b: Sequence[Sequence[Value] | None]
    ) -> torch.Tensor:
        _check_lengths("outputs_a", outputs_a, "outputs_b", outputs_b)
        return torch.tensor(
            [-_summed_distance(a, b) for a, b in zip(outputs_a, outputs_b)],
            dtype=torch.float64,
        )


def _summed_distance(outputs: Sequence[Value] | None, targets: Sequence[Value] | None) -> float:
    if targets is None:
        return 0.0 if outputs is None else 10.0 * len(outputs)
    if outputs is None:
        return sum(output_distance(None, t) for t in targets)
    return sum(output_distance(o, t) for o, t in zip(outputs, targets))


def _check_lengths(name_a: str, a: Sequence, name_b: str, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} items but {name_b} has {len(b)}; pass one per program")


class WorldModelScorer(Scorer):
    """Adapts a :class:`~worldmodel.WorldModel` (or any object with its query API) to :class:`Scorer`.

    The model provides ``energy(task, programs, *, environments, run)``,
    ``policy_distribution(task, program, edits, *, environments, run) -> (edits, log_probs)``
    and ``similarity(task, outputs_a, outputs_b)``; ``run`` is passed on, so the model's
    execution features come from the simulator. A WorldModel trained without a policy
    (its ``policy`` attribute is ``None``) gets ``fallback``'s policy instead, so its
    energy and similarity can be searched with before a policy is trained.

    Args:
        model: the world model.
        fallback: the scorer whose policy stands in (default :class:`HeuristicScorer`).

    Raises:
        TypeError: the model lacks one of those methods.
    """

    def __init__(self, model: object, *, fallback: Scorer | None = None):
        missing = [name for name in ("energy", "policy_distribution", "similarity") if not callable(getattr(model, name, None))]
        if missing:
            raise TypeError(
                f"{type(model).__name__} is not a world model: it lacks {', '.join(missing)}; "
                "pass a WorldModel, a Scorer, or None (the HeuristicScorer)"
            )
        self.model = model
        self.fallback = fallback if fallback is not None else HeuristicScorer()
        self.has_policy = getattr(model, "policy", True) is not None

    def unsupported(self, task: Task, *, domain: Domain, max_length: int) -> str | None:
        """What the model's featurizer (if it has one) cannot take: too many inputs
        or program tokens, values outside its vocabulary, or another domain."""
        featurizer = getattr(self.model, "featurizer", None)
        if featurizer is None:
            return None
        own = getattr(self.model, "domain", None)
        if own is not None and own.name != domain.name:
            return f"the model is for the {own.name!r} domain, the search runs in {domain.name!r}"
        config = getattr(self.model, "config", None)
        max_tokens = getattr(config, "max_program_tokens", None)
        return featurizer.unsupported(task, max_length=max_length, bounds=domain.bounds, max_tokens=max_tokens)

    def energy(
        self, task: Task, programs: Sequence[Program], *, environments: Sequence[Environments | None], run: Run | None = None
    ) -> torch.Tensor:
        energies = self.model.energy(task, list(programs), environments=list(environments), run=run)
        return torch.as_tensor(energies).reshape(-1)

    def policy_log_probs(
        self, task: Task, program: Program, edits: Sequence[Edit], *, environments: Environments | None, run: Run | None = None
    ) -> torch.Tensor:
        if not self.has_policy:
            return self.fallback.policy_log_probs(task, program, edits, environments=environments, run=run)
        _, log_probs = self.model.policy_distribution(task, program, list(edits), environments=environments, run=run)
        log_probs = torch.as_tensor(log_probs).reshape(-1)
        # Renormalise over the edits asked about: the search may pass a subset.
        return log_probs - torch.logsumexp(log_probs, dim=0)

    def similarity(
        self, task: Task, outputs_a: Sequence[Sequence[Value] | None], outputs_b: Sequence[Sequence[Value] | None]
    ) -> torch.Tensor:
        return torch.as_tensor(self.model.similarity(task, list(outputs_a), list(outputs_b))).reshape(-1)


def as_scorer(model: object | None) -> Scorer:
    """The scorer a search uses: ``None`` -> :class:`HeuristicScorer`, a :class:`Scorer`
    as is, anything else wrapped in :class:`WorldModelScorer`.

    Example:
        >>> as_scorer(None)
        HeuristicScorer(length_weight=0.05, append_bonus=1.0, chain_bonus=1.0)
    """
    if model is None:
        return HeuristicScorer()
    if isinstance(model, Scorer):
        return model
    return WorldModelScorer(model)


SHIPPED_MODEL = "shipped"
HEURISTIC_MODEL = "heuristic"


def load_scorer(path: str | None, *, domain: str = "deepcoder") -> object:
    """The scorer behind the learned methods, by name or path: a
    :class:`~worldmodel.WorldModel`, or ``None`` for the hand-written heuristic.

    Args:
        path: ``"shipped"`` for the checkpoint that ships with the package for
            ``domain`` (``WorldModel.default(domain=domain)``), ``"heuristic"`` or ``None`` for the hand-written
            :class:`HeuristicScorer` (an ablation with no learning), else a checkpoint
            path (with or without ``.json`` / ``.safetensors``).

    Raises:
        CheckpointError: the checkpoint is missing, corrupt or foreign (names the file).
    """
    if path is None or path == HEURISTIC_MODEL:
        return None
    from worldmodel import WorldModel

    return WorldModel.default(domain=domain) if path == SHIPPED_MODEL else WorldModel.load(path)
