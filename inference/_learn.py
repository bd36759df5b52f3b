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

The wake phase's searches, one unit a task, may run on an
:class:`~worldmodel.datasets.Engine` (processes of this machine, or a Ray cluster),
each worker loading the round's model once. A unit is a pure function of (seed,
round, task, the round's model and memories), and the main process merges the results
in task order, so the engine and the number of workers change the speed, not the
files; the library and replay stay in the main process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm
from worldmodel.datasets import (
    DOMAINS,
    Domain,
    Engine,
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


@dataclass
class _Wake:
    """One round's wake phase: :meth:`search` is the unit of work, a task's searches."""

    tasks: Sequence[Task]
    model: object
    domain: Domain
    config: LearnConfig
    round: int

    def __post_init__(self) -> None:
        self.skilled = self.domain.with_skills(self.model.skills)  # expands what the search wrote with skills

    def search(self, job: tuple[int, tuple[Program, ...]]) -> tuple[int, list[Program], bool]:
        """Task ``i``'s new verified programs (base primitives) and whether the search
        found one with skills, for ``job = (i, its remembered programs)``."""
        i, remembered = job
        task, config = self.tasks[i], self.config
        budget = Budget(calls=config.calls, seconds=config.seconds)
        if remembered:
            return i, _neighbours_that_solve(task, remembered, self.domain, budget), False
        result = solve(task, self.model, config.method, budget=budget, domain=self.domain,
                       seed=config.seed + 1_000_003 * self.round + i)
        if not result.verified:
            return i, [], False
        base = self.skilled.expand(result.program)
        return i, [base], result.program != base


# This worker process's wake phase, set by _start_wake (not sent with every unit).
_WAKE: dict = {}


def _start_wake(checkpoint: dict[str, bytes], domain: str, tasks: Sequence[Task], config: LearnConfig,
                round: int) -> None:
    # One search per process already uses every core; torch's threads on top would
    # oversubscribe them (as in bench's workers).
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        for name, data in checkpoint.items():
            Path(folder, name).write_bytes(data)
        model = WorldModel.load(Path(folder, "model"))
    model.eval()
    _WAKE["wake"] = _Wake(tasks, model, DOMAINS[domain], config, round)


def _search_in_worker(job: tuple[int, tuple[Program, ...]]) -> tuple[int, list[Program], bool]:
    return _WAKE["wake"].search(job)


def _checkpoint(model) -> dict[str, bytes]:
    """``model`` as the bytes of its checkpoint files, what a worker loads it from
    (a model holds functions, which do not pickle; a checkpoint is its exact weights)."""
    with tempfile.TemporaryDirectory() as folder:
        save_model(model, Path(folder, "model"))
        return {path.name: path.read_bytes() for path in Path(folder).iterdir()}


@contextlib.contextmanager
def _searched(wake: _Wake, jobs: list, *, engine: Engine | None, workers: int) -> Iterator[Iterator]:
    """The results of ``wake.search`` on ``jobs``, in the order they finish: in this
    process without an engine, else on ``engine``'s workers, each loading the model once."""
    if engine is None:
        yield map(wake.search, jobs)
        return
    initargs = (_checkpoint(wake.model), wake.domain.name, wake.tasks, wake.config, wake.round)
    with engine.map_unordered(_search_in_worker, jobs, workers=workers, initializer=_start_wake,
                              initargs=initargs) as finished:
        yield finished


def learn(tasks: Sequence[Task], model, domain: Domain, *, config: LearnConfig, out: str | os.PathLike,
          progress: bool = True, engine: Engine | None = None, workers: int = 1) -> list[dict]:
    """Run (or resume) ``config.rounds`` rounds on ``tasks``; return each round's summary.

    Any ``program`` a task carries is ignored. ``model`` is trained in place; the
    memories are in ``out/round-<r>/memory.json`` (:class:`~worldmodel.TaskMemories`).

    Args:
        engine: where the wake phase's searches run (default ``None``: in this
            process, one after another). With an engine, ``workers`` of them run at
            once, on processes of this machine (``Engine()``) or on a Ray cluster
            (``Engine("ray")``), and ``domain`` is found by its name in
            ``worldmodel.datasets.DOMAINS`` there. The files written are the same
            bytes with any engine and any ``workers`` (with ``config.seconds`` set, a
            search stops by the clock, on any engine as in this process); a run
            resumes on another.
        workers: searches at once with ``engine`` (default 1).

    Raises:
        ValueError: no tasks, duplicate task ids, an ``out`` written by another config,
            ``workers`` < 1, or an engine with a ``domain`` that is not registered.
    """
    if not tasks:
        raise ValueError("learn: no tasks")
    ids = [task.id for task in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("learn: task ids must be distinct")
    if workers < 1:
        raise ValueError(f"learn: workers must be >= 1, got {workers}")
    if engine is not None and DOMAINS.get(domain.name) is not domain:
        raise ValueError(f"learn: with an engine the workers find the domain by name, and {domain.name!r} is not "
                         "registered; call worldmodel.datasets.register_domain on it first, or give no engine")
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
    with engine.session(workers) if engine is not None else contextlib.nullcontext():
        for r in range(first, config.rounds):
            model.eval()
            memories, new, found_with_skills = _wake_round(_Wake(tasks, model, domain, config, r), memories,
                                                           engine=engine, workers=workers, progress=progress)
            skilled = domain.with_skills(model.skills)
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


def _wake_round(wake: _Wake, memories: TaskMemories, *, engine: Engine | None, workers: int,
                progress: bool) -> tuple[TaskMemories, int, int]:
    """``memories`` with every task's programs of this round's searches, merged in task
    order (so however the searches ran, the same memories); the tasks newly solved,
    and how many of those by a program calling skills."""
    tasks = wake.tasks
    jobs = [(i, memories[task.id].programs) for i, task in enumerate(tasks)]
    found: dict[int, tuple[list[Program], bool]] = {}
    # The workers start before the progress bar's monitor thread: the local engine forks them.
    with _searched(wake, jobs, engine=engine, workers=workers) as finished:
        bar = tqdm(finished, total=len(jobs), desc=f"round {wake.round + 1}/{wake.config.rounds}",
                   disable=not progress)
        for i, programs, with_skills in bar:
            found[i] = programs, with_skills
    new = found_with_skills = 0
    for i, task in enumerate(tasks):
        programs, with_skills = found[i]
        if not jobs[i][1]:
            new += bool(programs)
            found_with_skills += with_skills
        memories = memories.merge(task.id, [(p, log_prior(wake.model, task, p)) for p in programs])
    return memories, new, found_with_skills
