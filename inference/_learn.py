"""Learning from a task set without solutions: Memoised Wake-Sleep rounds.

Each round (Hewitt, Le & Tenenbaum 2020, with the exact simulator as the likelihood):

1. *wake*: every task without a remembered program is searched by the current model
   under the per-task budget; a task with some tries their one-edit neighbours
   instead (each run charged like any candidate), the memory as a warm start that
   finds alternatives. Each verified program joins the task's
   :class:`~worldmodel.TaskMemory`, scored by the joint ``log p(φ) + log p(x | φ)``:
   the model's prior of the program (the primitive head's probabilities of its
   statements' primitives) plus 0, since the simulator verified it;
2. *library*: the memories' best programs, compressed with the library so far, give
   new skills by MDL (``datasets.learn_skills``); the model's vocabulary grows by them
   (:meth:`~worldmodel.WorldModel.add_skills`), so the next round's ``guided`` search
   can call them (each call charged as the statements it runs). Memories hold base
   programs; a skill is a way to write them;
3. *replay*: the primitive head, which steers ``guided`` search, trains on one program
   drawn from each task's memory (``Q ∝ exp(log_joint)``), written with the library,
   and on ``fantasies`` tasks drawn from the generative model, the domain with its
   skills (the sleep step; :func:`fantasies`);
4. the model (its library with it), the memories, the library and the round's summary are written
   atomically to ``out/round-<r>/``, then ``out/state.json`` names the round as done.

A rerun with the same ``out`` resumes after the last finished round; every search and
draw is seeded by (seed, round, task), so a run killed at any moment and rerun gives
the memories and model of an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm
from worldmodel.datasets import (
    Domain,
    Program,
    SamplingError,
    Task,
    atomic_write_text,
    compress_with,
    learn_skills,
    library_to_json,
    require_at_least,
    require_choice,
    require_positive,
)

from worldmodel import TaskMemories, TrainConfig, WorldModel, fit, save_model

from ._search_common import without_dead_code
from ._simulator import Budget, BudgetExhausted, Simulator
from ._solve import METHODS, solve

__all__ = ["LearnConfig", "fantasies", "learn"]


@dataclass(frozen=True)
class LearnConfig:
    """Options of :func:`learn`.

    Attributes:
        rounds: wake/replay rounds (default 3).
        calls: simulator calls per task and round (default 10 000).
        seconds: wall-clock seconds per task and round (default ``None``: calls only).
        capacity: programs remembered per task, M (default 5).
        method: the search method (default ``"guided"``).
        replay_epochs: epochs of the primitive head on the memory draws and the
            fantasies (default 4; chosen on a dev pool, ``docs/benchmarks.md``).
        replay_lr: its learning rate (default 2e-3).
        skills: most new skills a round adds to the library (default 10; 0: no library).
        fantasies: tasks a round draws from the generative model to replay with the
            memories (:func:`fantasies`; default 2 000).
        seed: seeds searches, draws and training (default 0).
    """

    rounds: int = 3
    calls: int = 10_000
    seconds: float | None = None
    capacity: int = 5
    method: str = "guided"
    replay_epochs: int = 4
    replay_lr: float = 2e-3
    skills: int = 10
    fantasies: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        require_at_least(self, 1, "rounds", "calls", "capacity", "replay_epochs")
        require_at_least(self, 0, "skills", "fantasies")
        require_choice(self, "method", METHODS)
        require_positive(self, "seconds", optional=True)


def log_prior(model, task: Task, program: Program) -> float:
    """``log p(φ)`` under the model: the sum over statements of the log probability the
    primitive head gives each statement's primitive, with ``program`` (base primitives)
    written with the model's skills first."""
    probabilities = model.primitive_probabilities(task)
    if model.skills:
        program = compress_with(program, model.skills, model.domain.with_skills(model.skills).primitives)
    return sum(math.log(max(probabilities[st.primitive], 1e-9)) for st in program.statements)


def fantasies(domain: Domain, *, count: int, seed: int, lengths: Sequence[int] = (1, 2, 3),
              examples: int = 3) -> list[Task]:
    """MWS's sleep step: ``count`` tasks drawn from the generative model, random programs
    of ``domain`` (its skills among the primitives, each drawn as often as a primitive)
    of ``lengths`` statements with ``examples`` random examples each. Replay on them
    teaches the primitive head when a skill applies, on specs beyond the task set's.
    A pure function of its arguments."""
    rng = random.Random(f"worldmodel.learn.fantasies:{seed}")
    dreamt: list[Task] = []
    for _ in range(20 * count):  # bounded: a program without good examples is drawn again
        if len(dreamt) == count:
            return dreamt
        program = domain.random_program(rng, rng.choice(list(lengths)))
        found = domain.random_examples(program, examples, rng)
        if found is not None:
            dreamt.append(Task(f"fantasy{len(dreamt)}", tuple(found), program.input_types, program))
    if len(dreamt) < count:
        raise SamplingError(f"fantasies: {len(dreamt)} of {count} tasks in {20 * count} programs; "
                            "this domain's random programs rarely have good examples: ask for fewer")
    return dreamt


def _neighbours_that_solve(task: Task, remembered: Sequence[Program], domain: Domain, budget: Budget) -> list[Program]:
    """The one-edit neighbours of ``remembered`` that solve ``task`` (without dead code,
    each once), tried in order until the budget is spent."""
    simulator = Simulator(task, domain, budget)
    found: list[Program] = []
    try:
        for program in remembered:
            for _, neighbour in domain.neighbours(program):
                if simulator.solves(neighbour):
                    # An edit may leave a statement nobody reads: remember the program without it.
                    neighbour = without_dead_code(neighbour)
                    if neighbour not in remembered and neighbour not in found:
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
        saved = WorldModel.load(last / "model")
        model.add_skills(saved.skills[len(model.skills):])
        model.load_state_dict(saved.state_dict())
        memories = TaskMemories.load(last / "memory.json", domain)
        summaries, first = state["summaries"], state["round"] + 1
    budget = Budget(calls=config.calls, seconds=config.seconds)
    for r in range(first, config.rounds):
        model.eval()
        skilled = domain.with_skills(model.skills)
        new = found_with_skills = 0
        for i, task in enumerate(tqdm(tasks, desc=f"round {r + 1}/{config.rounds}", disable=not progress)):
            remembered = memories[task.id].programs
            if remembered:
                found = _neighbours_that_solve(task, remembered, domain, budget)
            else:
                result = solve(task, model, config.method, budget=budget, domain=domain,
                               seed=config.seed + 1_000_003 * r + i)
                found = [skilled.expand(result.program)] if result.verified else []
                new += bool(found)
                found_with_skills += bool(found) and result.program != found[0]
            memories = memories.merge(task.id, [(p, log_prior(model, task, p)) for p in found])
        solved = memories.solved()
        best = [compress_with(memories[task_id].entries[0].program, model.skills, skilled.primitives)
                for task_id in solved]
        if config.skills:
            grown, _ = learn_skills(best, skilled.primitives, max_skills=config.skills, start=len(model.skills))
            model.add_skills(grown)
            skilled = domain.with_skills(model.skills)
        generator = torch.Generator().manual_seed(config.seed + r)
        replay = [replace(task, program=compress_with(memories[task.id].sample(1, generator=generator)[0],
                                                      model.skills, skilled.primitives))
                  for task in tasks if task.id in solved]
        dreamt = fantasies(skilled, count=config.fantasies, seed=config.seed + 7_919 * r)
        if replay or dreamt:
            fit(model, replay + dreamt, [], TrainConfig(epochs=config.replay_epochs, batch_size=min(64, len(replay) + len(dreamt)),
                                               lr=config.replay_lr, warmup=0, only="primitives", valid_limit=0,
                                               workers=0, seed=config.seed + r), progress=False)
        names = {skill.name for skill in model.skills}
        using = sum(any(st.primitive in names for st in task.program.statements) for task in replay)
        summary = {"round": r + 1, "solved": len(solved), "new": new, "tasks": len(tasks), "skills": len(model.skills),
                   "new_calling_skills": found_with_skills, "replayed_calling_skills": using}
        summaries.append(summary)
        folder = out / f"round-{r}"
        folder.mkdir(parents=True, exist_ok=True)
        save_model(model, folder / "model")
        memories.save(folder / "memory.json", domain)
        atomic_write_text(folder / "library.json", library_to_json(model.skills, domain.primitives) + "\n")
        atomic_write_text(state_path, json.dumps({"round": r, "config": asdict(config), "summaries": summaries}) + "\n")
        if progress:
            print(f"round {r + 1}: solved {len(solved)}/{len(tasks)} ({new} new, {found_with_skills} of them calling "
                  f"skills), library {len(model.skills)} skills", flush=True)
    return summaries
