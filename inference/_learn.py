"""Learning from a task set without solutions: Memoised Wake-Sleep rounds.

Each round (Hewitt, Le & Tenenbaum 2020, with the exact simulator as the likelihood):

1. *wake*: every task without a remembered program is searched by the current model
   under the per-task budget; a task with some tries their one-edit neighbours
   instead (each run charged like any candidate), the memory as a warm start that
   finds alternatives. Each verified program joins the task's
   :class:`~worldmodel.TaskMemory`, scored by the joint ``log p(φ) + log p(x | φ)``:
   the model's prior of the program (the primitive head's probabilities of its
   statements' primitives) plus 0, since the simulator verified it;
2. *replay*: the primitive head, which steers ``guided`` search, trains on one program
   drawn from each task's memory (``Q ∝ exp(log_joint)``);
3. the skill library of the memories' best programs (``datasets.learn_skills``, by
   MDL) is recomputed; search does not call skills yet, so it is recorded, not used;
4. the model, the memories, the library and the round's summary are written
   atomically to ``out/round-<r>/``, then ``out/state.json`` names the round as done.

A rerun with the same ``out`` resumes after the last finished round; every search and
draw is seeded by (seed, round, task), so a run killed at any moment and rerun gives
the memories and model of an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm
from worldmodel.datasets import Domain, Program, Task, learn_skills, library_to_json
from worldmodel.datasets._files import atomic_write_text

from worldmodel import TaskMemories, TrainConfig, WorldModel, fit, save_model

from ._simulator import Budget, BudgetExhausted, Simulator
from ._solve import METHODS, solve

__all__ = ["LearnConfig", "learn"]


@dataclass(frozen=True)
class LearnConfig:
    """Options of :func:`learn`.

    Attributes:
        rounds: wake/replay rounds (default 3).
        calls: simulator calls per task and round (default 10 000).
        seconds: wall-clock seconds per task and round (default ``None``: calls only).
        capacity: programs remembered per task, M (default 5).
        method: the search method (default ``"guided"``).
        replay_epochs: epochs of the primitive head on the memory draws (default 2).
        replay_lr: its learning rate (default 1e-3).
        seed: seeds searches, draws and training (default 0).
    """

    rounds: int = 3
    calls: int = 10_000
    seconds: float | None = None
    capacity: int = 5
    method: str = "guided"
    replay_epochs: int = 2
    replay_lr: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rounds", "calls", "capacity", "replay_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"LearnConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.method not in METHODS:
            raise ValueError(f"LearnConfig.method must be one of {sorted(METHODS)}, got {self.method!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"LearnConfig.seconds must be > 0 or None, got {self.seconds}")


def log_prior(model, task: Task, program: Program) -> float:
    """``log p(φ)`` under the model: the sum over statements of the log probability the
    primitive head gives each statement's primitive."""
    probabilities = model.primitive_probabilities(task)
    return sum(math.log(max(probabilities[st.primitive], 1e-9)) for st in program.statements)


def _neighbours_that_solve(task: Task, remembered: Sequence[Program], domain: Domain, budget: Budget) -> list[Program]:
    """The one-edit neighbours of ``remembered`` that solve ``task``, tried in order
    until the budget is spent."""
    simulator = Simulator(task, domain, budget)
    found = []
    try:
        for program in remembered:
            for _, neighbour in domain.neighbours(program):
                if neighbour not in remembered and simulator.solves(neighbour):
                    found.append(neighbour)
    except BudgetExhausted:
        pass
    return found


def learn(tasks: Sequence[Task], model, domain: Domain, *, config: LearnConfig, out: str | os.PathLike,
          progress: bool = True) -> list[dict]:
    """Run (or resume) ``config.rounds`` rounds on ``tasks``; return each round's summary.

    Any ``program`` a task carries is ignored. ``model`` is trained in place; the
    memories are in ``out/round-<r>/memory.json`` (:class:`~worldmodel.TaskMemories`).

    Raises:
        ValueError: no tasks, duplicate task ids, or an ``out`` written by another config.
    """
    if not tasks:
        raise ValueError("learn: no tasks")
    ids = [task.id for task in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("learn: task ids must be distinct")
    tasks = [replace(task, program=None) for task in tasks]
    out = Path(out)
    state_path = out / "state.json"
    memories, summaries, first = TaskMemories(config.capacity), [], 0
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state["config"] != asdict(config):
            raise ValueError(f"{out}: written by another learn config {state['config']}; use a fresh --out")
        last = out / f"round-{state['round']}"
        model.load_state_dict(WorldModel.load(last / "model").state_dict())
        memories = TaskMemories.load(last / "memory.json", domain)
        summaries, first = state["summaries"], state["round"] + 1
    budget = Budget(calls=config.calls, seconds=config.seconds)
    for r in range(first, config.rounds):
        model.eval()
        new = 0
        for i, task in enumerate(tqdm(tasks, desc=f"round {r + 1}/{config.rounds}", disable=not progress)):
            remembered = memories[task.id].programs
            if remembered:
                found = _neighbours_that_solve(task, remembered, domain, budget)
            else:
                result = solve(task, model, config.method, budget=budget, domain=domain,
                               seed=config.seed + 1_000_003 * r + i)
                found = [result.program] if result.verified else []
                new += bool(found)
            memories = memories.merge(task.id, [(p, log_prior(model, task, p)) for p in found])
        solved = memories.solved()
        generator = torch.Generator().manual_seed(config.seed + r)
        replay = [replace(task, program=memories[task.id].sample(1, generator=generator)[0])
                  for task in tasks if task.id in solved]
        if replay:
            fit(model, replay, [], TrainConfig(epochs=config.replay_epochs, batch_size=min(64, len(replay)),
                                               lr=config.replay_lr, warmup=0, only="primitives", valid_limit=0,
                                               workers=0, seed=config.seed + r), progress=False)
        skills, _ = learn_skills([memories[task_id].entries[0].program for task_id in solved], domain.primitives)
        summary = {"round": r + 1, "solved": len(solved), "new": new, "tasks": len(tasks), "skills": len(skills)}
        summaries.append(summary)
        folder = out / f"round-{r}"
        folder.mkdir(parents=True, exist_ok=True)
        save_model(model, folder / "model")
        memories.save(folder / "memory.json", domain)
        atomic_write_text(folder / "library.json", library_to_json(skills, domain.primitives) + "\n")
        atomic_write_text(state_path, json.dumps({"round": r, "config": asdict(config), "summaries": summaries}) + "\n")
        if progress:
            print(f"round {r + 1}: solved {len(solved)}/{len(tasks)} ({new} new), library {len(skills)} skills",
                  flush=True)
    return summaries
