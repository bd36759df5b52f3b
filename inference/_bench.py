"""``bench``: solve rate against the calls budget, for every method, on a task file.

One run solves every task with every method at every budget, in parallel across
processes, and appends each finished ``(method, task, budget)`` result to
``DIR/results.jsonl`` at once (one flushed line each), so a killed run resumes where
it stopped: a rerun with the same settings skips what is there, and a half-written
last line is dropped. ``DIR/bench.json`` holds the table (per method × budget, and
per task ``length`` when the tasks have one) with the command, date and machine;
``DIR/bench.png`` plots it.

Generative tasks (``regex``) record the answer's exact training log-likelihood per
string and, for a task with ``heldout`` strings, the held-out figures of
:mod:`~worldmodel.inference._heldout` (covered fraction, mean log-likelihood per covered
string, smoothed mean per string); every method runs at every budget on its own there,
as its best answer at a smaller budget is not read off a larger run.

Anytime methods (:data:`~worldmodel.inference.ANYTIME_METHODS`, e.g. enumeration)
are run once per task at the largest budget still needed: such a run makes exactly
the first B calls of the run at budget B, so the task is solved at B iff it was
solved within B calls. That holds in calls, not in seconds: when the seconds limit
stopped the run after C calls, only the budgets B <= C are read off it, and each
larger budget is run on its own (it normally stops at the seconds limit too). Such
results are marked ``"stopped_by_seconds"``; by default there is no seconds limit,
so the table depends on calls alone and not on the machine.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from worldmodel.datasets import (
    DOMAINS,
    ConfigError,
    Engine,
    Task,
    TaskFileError,
    atomic_write_text,
    read_tasks,
    require_at_least,
    require_choice,
    require_positive,
)

from ._bench_record import BenchRecord, derive, read_results, throughput
from ._bench_table import summarise
from ._heldout import heldout_score
from ._scorer import load_scorer
from ._simulator import Budget, SolveResult
from ._solve import ANYTIME_METHODS, METHODS, MODEL_FREE_METHODS, solve

__all__ = ["BenchConfig", "BenchReport", "run_bench"]

RESULTS, TABLE, FIGURE, SETTINGS = "results.jsonl", "bench.json", "bench.png", "run.json"


@dataclass(frozen=True)
class BenchConfig:
    """What to run.

    Attributes:
        methods: keys of :data:`~worldmodel.inference.METHODS` (default ``("enumerate",)``).
        budgets: simulator-call budgets (default 1e2, 1e3, 1e4, 1e5).
        seconds: wall-clock limit per run (default ``None``: calls only, so results
            do not depend on the machine).
        workers: processes (default ``None``: ``os.cpu_count()``); 1 runs in this process.
        model: path of a saved ``WorldModel`` for the learned methods (default ``None``).
        domain: a key of ``worldmodel.datasets.DOMAINS`` (default ``"deepcoder"``).
        seed: task ``i`` is solved with seed ``seed + i`` (default 0).
        engine: where the runs go (default ``Engine()``: processes of this machine;
            ``Engine("ray")``: a Ray cluster, ``workers`` runs at a time). Every run
            is a pure function of (method, task, budget, seed), so the results do not
            depend on it; the task file and the model must be at the same path on
            every machine.
    """

    methods: tuple[str, ...] = ("enumerate",)
    budgets: tuple[int, ...] = (100, 1_000, 10_000, 100_000)
    seconds: float | None = None
    workers: int | None = None
    model: str | None = None
    domain: str = "deepcoder"
    seed: int = 0
    engine: Engine = Engine()

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ConfigError(
                f"BenchConfig.methods must name one or more methods, got {list(self.methods)}; "
                f"valid choices: {', '.join(sorted(METHODS))}"
            )
        if not self.budgets or any(not isinstance(b, int) or b <= 0 for b in self.budgets):
            raise ConfigError(f"BenchConfig.budgets must be one or more positive integers, got {list(self.budgets)}")
        require_positive(self, "seconds", optional=True)
        require_at_least(self, 1, "workers", optional=True)
        require_choice(self, "domain", DOMAINS)


@dataclass
class BenchReport:
    """What a bench run produced.

    Attributes:
        rows: one dict per method × budget: ``method, budget, solved, total,
            solve_rate, median_calls_solved, stopped_by_seconds, by_length``.
        total: good tasks in the file.
        errors: one per malformed line of the task file (those tasks are not run).
        ran: runs made now; reused: results read back from an earlier run, or
            (anytime methods) read off its results at other budgets.
        table_path, figure_path, results_path: the files written.
        settings: what a resumed run must share (task file and its hash, seconds,
            model, domain, seed).
        calls_per_second: per method, simulator calls per wall-clock second over the
            runs made (noisy on a shared machine).
    """

    rows: list[dict]
    total: int
    errors: list[TaskFileError]
    ran: int
    reused: int
    table_path: Path
    figure_path: Path
    results_path: Path
    settings: dict = field(default_factory=dict)
    calls_per_second: dict = field(default_factory=dict)


def _bench_model(config: BenchConfig) -> object:
    """The model ``config`` names (``None`` when no method needs one), checked to be for its domain.

    Raises:
        CheckpointError: it cannot be loaded.
        ValueError: it is for another domain.
    """
    if all(m in MODEL_FREE_METHODS for m in config.methods):
        return None
    model = load_scorer(config.model, domain=config.domain)
    if model is not None and model.domain.name != config.domain:
        raise ValueError(f"model {config.model!r} is for domain {model.domain.name!r}, the tasks for "
                         f"{config.domain!r}; give a model trained on {config.domain}")
    return model


_DEFAULT_CONFIG = BenchConfig()

# Per-process state of the workers, set once by _init_worker (not passed per job).
_STATE: dict = {}


def _init_worker(tasks_path: str, config: BenchConfig) -> None:
    import torch

    # One task per process already uses every core; torch's own threads on top of
    # that oversubscribe them (measured: 16 workers on 16 cores ran several times slower).
    torch.set_num_threads(1)
    domain = DOMAINS[config.domain]
    model = _bench_model(config)
    _STATE.update(
        tasks=read_tasks(tasks_path, domain).tasks,
        domain=domain.with_skills(model.skills) if getattr(model, "skills", ()) else domain,  # formats skill calls
        config=config,
        model=model,
    )


def _record(
    task: Task,
    method: str,
    budget: int,
    result: SolveResult | None,
    *,
    derived: bool,
    timed_out: bool,
) -> BenchRecord:
    domain = _STATE["domain"]
    solved = result is not None and result.verified
    likelihood = None
    if domain.generative is not None:
        likelihood = {"ll_per_string": result.log_likelihood / len(task.examples) if solved else None}
        heldout = task.extra.get("heldout")
        if heldout:
            figures = heldout_score(result.program if solved else None, heldout, domain)
            likelihood.update(heldout_covered=figures.covered, heldout_ll_covered=figures.ll_covered,
                              heldout_ll_smoothed=figures.ll_smoothed)
    # A result read off a larger run: exact for a solved task; for an unsolved one the
    # calls a run at this budget would spend are not known exactly.
    known = result is not None and (solved or not derived)
    return BenchRecord(method, task.id, budget, task.extra.get("length"), solved,
                       result.calls if known else None, result.seconds if known else None,
                       domain.format(result.program) if solved else None, derived, timed_out, likelihood)


def _run_job(job: tuple[str, int, tuple[int, ...]]) -> list[BenchRecord]:
    method, index, budgets = job
    task, config = _STATE["tasks"][index], _STATE["config"]
    model = None if method in MODEL_FREE_METHODS else _STATE["model"]

    def run(budget: int) -> tuple[SolveResult, bool]:
        result = solve(
            task,
            model,
            method,
            budget=Budget(calls=budget, seconds=config.seconds),
            domain=_STATE["domain"],
            seed=config.seed + index,
        )
        timed_out = (
            not result.verified and config.seconds is not None and result.seconds >= config.seconds
        )
        return result, timed_out

    records = []
    if method not in ANYTIME_METHODS or _STATE["domain"].generative is not None:
        for budget in budgets:
            result, timed_out = run(budget)
            records.append(
                _record(task, method, budget, result, derived=False, timed_out=timed_out)
            )
        return records
    top = max(budgets)
    result, timed_out = run(top)
    for budget in sorted(budgets):
        if budget == top:
            records.append(
                _record(task, method, budget, result, derived=False, timed_out=timed_out)
            )
        elif result.verified:
            within = result.calls <= budget
            records.append(
                _record(
                    task, method, budget, result if within else None, derived=True, timed_out=False
                )
            )
        elif not timed_out or budget <= result.calls:
            records.append(_record(task, method, budget, result, derived=True, timed_out=False))
        else:  # the clock, not the calls, stopped the large run before this budget
            own, own_timed_out = run(budget)
            records.append(
                _record(task, method, budget, own, derived=False, timed_out=own_timed_out)
            )
    return records


def _read_settings(path: Path) -> dict:
    try:
        settings = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise ValueError(
            f"{path} is unreadable ({type(error).__name__}); it records which run the results "
            "in its folder belong to: use another output folder, or delete that folder"
        ) from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path} is not a JSON object; use another output folder, or delete that folder")
    return settings


def _settings(tasks_path: str, config: BenchConfig) -> dict:
    digest = hashlib.sha256(Path(tasks_path).read_bytes()).hexdigest()
    return {
        "tasks": os.path.abspath(tasks_path),
        "tasks_sha256": digest,
        "seconds": config.seconds,
        "model": config.model,
        "domain": config.domain,
        "seed": config.seed,
    }


def run_bench(
    tasks_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    config: BenchConfig = _DEFAULT_CONFIG,
    command: Sequence[str] | None = None,
    progress: bool = True,
) -> BenchReport:
    """Run every method on every task at every budget; write and return the table.

    Args:
        tasks_path: a task file (malformed lines are reported in ``errors`` and skipped).
        out_dir: where ``results.jsonl``, ``bench.json``, ``bench.png`` and ``run.json`` go.
        config: the methods, budgets and limits (default :class:`BenchConfig`).
        command: the command line recorded in ``bench.json`` (default ``sys.argv``).
        progress: show a tqdm progress bar on stderr (default True).

    Returns:
        A :class:`BenchReport`.

    Raises:
        ValueError: the task file is empty or is one of the outputs; ``out_dir`` holds
            results of a run with other settings (task file, seconds, model, domain or
            seed), or results with no ``run.json`` to check them against.
    """
    from tqdm import tqdm

    from ._benchplot import plot_bench

    tasks_path = str(tasks_path)
    out = Path(out_dir)
    domain = DOMAINS[config.domain]
    task_file = read_tasks(tasks_path, domain)
    tasks = task_file.tasks
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(
            f"{tasks_path}: task ids must be unique (results are kept by id); repeated: {twice[:5]}"
        )

    if not tasks and not task_file.errors:
        raise ValueError(f"{tasks_path}: no tasks (the file is empty); a task file holds one JSON task per line")
    outputs = [out / name for name in (RESULTS, TABLE, FIGURE, SETTINGS)]
    if any(p.exists() and os.path.samefile(p, tasks_path) for p in outputs):
        raise ValueError(
            f"{tasks_path} is one of the files bench writes in {out}; choose another --out folder"
        )
    settings = _settings(tasks_path, config)
    settings_path = out / SETTINGS
    results_path = out / RESULTS
    if not settings_path.exists() and (results_path.exists() or (out / TABLE).exists()):
        # Results with no record of the run they came from cannot be checked against
        # this one: never reuse them, and never overwrite their table.
        raise ValueError(
            f"{out} holds {RESULTS if results_path.exists() else TABLE} but no {SETTINGS}, so its "
            "results cannot be checked against this run; use another --out folder, or delete them"
        )
    if settings_path.exists():
        old = _read_settings(settings_path)
        changed = [k for k in settings if old.get(k) != settings[k]]
        if changed:
            raise ValueError(
                f"{out} holds results of a run with other settings ({', '.join(changed)} differ); "
                "use another output folder or delete it"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(settings_path, json.dumps(settings, indent=2) + "\n")

    done, bad = read_results(results_path)
    if bad:  # drop the cut line so that appends start on a fresh line
        atomic_write_text(results_path, "".join(r.line() for r in done.values()))

    def anytime(method: str) -> bool:  # a generative task's best answer is not read off a larger run
        return method in ANYTIME_METHODS and domain.generative is None

    jobs = []
    reused = 0
    known: dict[tuple[str, str], list[BenchRecord]] = {}
    for record in done.values():
        known.setdefault((record.method, record.task), []).append(record)
    derived_now = []
    for method in config.methods:
        for index, task in enumerate(tasks):
            needed = []
            for budget in sorted(set(config.budgets)):
                if (method, task.id, budget) in done:
                    reused += 1
                    continue
                derived = (
                    derive(known.get((method, task.id), []), budget)
                    if anytime(method)
                    else None
                )
                if derived is None:
                    needed.append(budget)
                else:
                    derived_now.append(derived)
                    reused += 1
            if not needed:
                continue
            if anytime(method):
                jobs.append((method, index, tuple(needed)))
            else:
                jobs.extend((method, index, (b,)) for b in needed)
    if derived_now:
        with open(results_path, "a", encoding="utf-8") as sink:
            sink.write("".join(r.line() for r in derived_now))
        for record in derived_now:
            done[record.key] = record

    workers = min(config.workers or os.cpu_count() or 1, max(len(jobs), 1))
    ran = 0
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(results_path, "a", encoding="utf-8"))
        if (workers > 1 or config.engine.kind != "local") and jobs:
            _bench_model(config)  # a bad model fails here, once, not in every worker
            # Started before the progress bar starts its monitor thread: the local
            # engine forks its workers.
            finished = stack.enter_context(
                config.engine.map_unordered(
                    _run_job, jobs, workers=workers, initializer=_init_worker, initargs=(tasks_path, config)
                )
            )
        else:
            if jobs:
                _init_worker(tasks_path, config)
            finished = map(_run_job, jobs)
        bar = stack.enter_context(
            tqdm(total=len(jobs), desc="bench", unit="run", disable=not progress, file=sys.stderr)
        )
        for records in finished:
            for record in records:
                sink.write(record.line())
                done.setdefault(record.key, record)
            sink.flush()
            bar.update(1)
            ran += 1

    rows = summarise(done.values(), tasks, methods=config.methods, budgets=config.budgets)
    wanted = {t.id for t in tasks}
    speed = {
        method: throughput([r for r in done.values() if r.method == method and r.task in wanted])
        for method in config.methods
    }
    table = {
        "command": list(command if command is not None else sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "workers": workers,
            "engine": config.engine.kind,
        },
        "settings": settings,
        "methods": list(config.methods),
        "budgets": sorted(config.budgets),
        "total": len(tasks),
        "malformed_lines": len(task_file.errors),
        "rows": rows,
        # Simulator calls per wall-clock second over the runs actually made (not
        # derived), per method: noisy on a shared machine, comparable within a run.
        "calls_per_second": speed,
    }
    table_path = out / TABLE
    atomic_write_text(table_path, json.dumps(table, indent=2) + "\n")
    figure_path = out / FIGURE
    plot_bench(rows, figure_path, title=f"{Path(tasks_path).name}: {len(tasks)} tasks")
    return BenchReport(
        rows,
        len(tasks),
        task_file.errors,
        ran,
        reused,
        table_path,
        figure_path,
        results_path,
        settings,
        speed,
    )
