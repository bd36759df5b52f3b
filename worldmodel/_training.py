"""fit: train a WorldModel's heads from tasks with known programs.

A training step draws, for each task of the batch, a :class:`TaskSample` (corruption
chain, hard and batch negatives, their executions), then every *loss term* builds its
own tensors from the samples (in DataLoader workers, so the Python-heavy execution and
featurisation run beside the accelerator) and computes named losses on the model. A new
head joins training by adding a :class:`~worldmodel.LossTerm` (:mod:`._loss_terms`);
nothing else changes.

Batch ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``, and checkpoints hold
the model, the AdamW state and the position ``(epoch, batch)``, so a run killed at any
moment and started again with the same command continues where its last checkpoint was.
A step takes ``TrainConfig.accumulate`` consecutive batches (micro-batches); under
``torchrun`` they are shared out among the processes (:class:`DataParallel`), and the
position counts micro-batches, so a run resumes with any number of processes.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from worldmodel.datasets import Task, atomic_write_text

from ._checkpoint import save_model
from ._config import ConfigError, TrainConfig
from ._data import UnreproducedTaskError, sample_task
from ._distributed import DataParallel
from ._dynamics_term import DynamicsTerm
from ._features import Featurizer
from ._latent_head import LatentTerm
from ._linear_stream import fit_linear_stream
from ._loss_terms import LossTerm, default_terms
from ._metrics import evaluate
from ._policy_term import PolicyTerm
from ._training_checkpoint import (
    latest_checkpoint,
    load_training_checkpoint,
    save_training_checkpoint,
)

__all__ = ["FitResult", "fit"]


class _EpochBatches(torch.utils.data.Dataset):
    """Batch ``i`` of one epoch, built from ``(seed, epoch, i)`` alone."""

    def __init__(self, tasks: Sequence[Task], featurizer: Featurizer, config: TrainConfig, terms, epoch: int):
        self.tasks = tasks
        self.featurizer = featurizer
        self.config = config
        self.terms = terms
        self.epoch = epoch
        self.order = list(range(len(tasks)))
        random.Random(f"order:{config.seed}:{epoch}").shuffle(self.order)

    def __len__(self) -> int:
        return math.ceil(len(self.tasks) / self.config.step_tasks)

    def __getitem__(self, i: int) -> dict:
        c = self.config
        rng = random.Random(f"batch:{c.seed}:{self.epoch}:{i}")
        step = [self.tasks[j] for j in self.order[i * c.step_tasks : (i + 1) * c.step_tasks]]
        # Sampling programs is the costly part: skip it when only spec-level terms train.
        chunk = step[: c.batch_size] if any(not term.spec_only for term in self.terms) else []
        samples = []
        for task in chunk:
            try:
                samples.append(
                    sample_task(
                        task, chunk, self.featurizer, rng,
                        chain_length=c.chain_length, hard_negatives=c.hard_negatives, batch_negatives=c.batch_negatives,
                    )
                )
            except UnreproducedTaskError:
                continue  # no supervision from it
        if not samples and chunk:
            return {"tasks": 0, "spec_tasks": 0, "parts": {}}
        parts = {term.name: term.build(step if term.spec_only else samples, self.featurizer) for term in self.terms}
        return {"tasks": len(samples), "spec_tasks": len(step), "parts": parts}


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def _loader(dataset: _EpochBatches, indices: Sequence[int], config: TrainConfig, device: torch.device):
    """The batches ``indices`` of ``dataset``, built by ``config.workers`` processes."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        sampler=indices,
        num_workers=config.workers,
        worker_init_fn=_worker_init if config.workers else None,
        multiprocessing_context=multiprocessing.get_context("fork") if config.workers else None,
        prefetch_factor=4 if config.workers else None,
        pin_memory=device.type == "cuda",
    )


def _on_device(batch: dict, device: torch.device) -> dict:
    return {**batch, "parts": {name: part.to(device) for name, part in batch["parts"].items()}}


@dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        steps: optimisation steps taken in total (including earlier runs resumed).
        epochs: completed epochs.
        history: one record per completed epoch (losses, held-out metrics, tasks/s).
        resumed_from: the checkpoint folder resumed from, or ``None``.
        stopped_early: stopped by ``max_steps`` or ``time_limit`` before all epochs.
    """

    steps: int
    epochs: int
    history: list[dict] = field(default_factory=list)
    resumed_from: str | None = None
    stopped_early: bool = False


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def _lr_factor_by_time(step: int, warmup: int, fraction: float) -> float:
    """:func:`_lr_factor` with the cosine over ``fraction`` of the time limit spent."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, fraction))))


def fit(
    model,
    train_tasks: Sequence[Task],
    valid_tasks: Sequence[Task],
    config: TrainConfig,
    *,
    out: str | Path | None = None,
    terms: Sequence[LossTerm] | None = None,
    progress: bool = True,
    parallel: DataParallel | None = None,
) -> FitResult:
    """Train ``model`` on ``train_tasks``; evaluate on ``valid_tasks`` each epoch.

    Args:
        model: a :class:`WorldModel` (moved to ``config.device``). A dynamics head
            with an unfitted linear stream gets it fitted on ``train_tasks`` first
            (:func:`~worldmodel.fit_linear_stream`).
        train_tasks: tasks with ``.program`` (a solution).
        valid_tasks: held-out tasks with ``.program`` (at most ``config.valid_limit`` used).
        config: the training config.
        out: run folder for checkpoints (``out/checkpoints/step-*``), the final model
            (``out/model.safetensors`` + ``.json``) and ``out/history.json``; if it holds a
            checkpoint, training resumes from it. ``None``: no files.
        terms: loss terms (default :func:`default_terms`, with the value term when the
            model has a value head, plus :class:`PolicyTerm` when ``model.policy`` is set
            :class:`DynamicsTerm` when ``model.dynamics`` is and :class:`LatentTerm` when
            ``model.latent`` is).
        progress: show a tqdm progress bar (on rank 0 only).
        parallel: the processes training together (default: those ``torchrun``
            started, :meth:`DataParallel.from_environment`; without it, this one).
            Every rank takes its share of each step's micro-batches; rank 0 alone
            writes ``out`` and logs.

    Returns:
        A :class:`FitResult`.

    Raises:
        ConfigError: ``config.only`` names no term with a head, ``reuse_batches`` is
            set while a term samples programs, or ``reuse_batches`` or
            ``lr_by_time`` is set with several processes.
    """
    if terms is None:
        terms = default_terms(config, value_head=model.value_head is not None)
        if model.policy is not None:
            terms.append(PolicyTerm(config.policy_weight, max_length=model.policy.config.max_length))
        if getattr(model, "dynamics", None) is not None:
            terms.append(DynamicsTerm())
        if getattr(model, "latent", None) is not None:
            terms.append(LatentTerm())
    terms = _selected_terms(list(terms), config)
    if not train_tasks:
        raise ValueError("fit: train_tasks is empty")
    head = getattr(model, "dynamics", None)
    if head is not None and head.linear is not None and not bool(head.linear.exact.any()):
        # The stream's maps depend on the traces, not on the weights: fitted once, and
        # kept by the checkpoints (a resumed run finds them fitted).
        fit_linear_stream(head.linear, train_tasks, model.domain, progress=progress)
    parallel = DataParallel.from_environment(config.device) if parallel is None else parallel
    if parallel.world > 1:
        _check_parallel(config, parallel)
    device = parallel.device(config.device)
    model.to(device)
    parallel.same_weights(model)
    trained = _trained_parameters(model, terms, config)
    moved = {id(p) for p in trained}
    frozen = [p for p in model.parameters() if id(p) not in moved]
    for parameter in frozen:
        parameter.requires_grad_(False)
    try:
        return _fit(model, train_tasks, valid_tasks, config, out, terms, trained, progress and parallel.main, device,
                    parallel)
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)


def _check_parallel(config: TrainConfig, parallel: DataParallel) -> None:
    """Every process has a micro-batch in each step, and the options that one process
    alone can honour are off."""
    if config.accumulate < parallel.world:
        raise ConfigError(
            f"TrainConfig.accumulate={config.accumulate} is less than the {parallel.world} processes, so some "
            f"would build no micro-batch; set accumulate (--accumulate) to {parallel.world} or a multiple of it"
        )
    for name, why in (("reuse_batches", "each process builds only its share of the batches"),
                      ("lr_by_time", "each process's clock would set another learning rate")):
        if getattr(config, name):
            raise ConfigError(
                f"TrainConfig.{name} is set, but {parallel.world} processes train and {why}; "
                f"leave {name} off under torchrun, or run one process"
            )


def _selected_terms(terms: list, config: TrainConfig) -> list:
    """``terms``, or only the one ``config.only`` names; checks ``reuse_batches`` fits them."""
    if config.only is not None:
        chosen = [term for term in terms if term.name == config.only]
        if not chosen:
            raise ConfigError(
                f"TrainConfig.only={config.only!r} names no loss term of this run; choose one of {[t.name for t in terms]}"
            )
        if getattr(chosen[0], "head", None) is None:
            raise ConfigError(f"TrainConfig.only={config.only!r}: that term names no head of its own to train alone")
        terms = chosen
    if config.reuse_batches and not all(term.spec_only for term in terms):
        raise ConfigError(
            "TrainConfig.reuse_batches needs every trained term to read only specs "
            f"({[t.name for t in terms if not t.spec_only]} sample programs afresh each epoch); "
            "set only='primitives' or leave reuse_batches off"
        )
    return terms


def _trained_parameters(model, terms: list, config: TrainConfig) -> list:
    """The weights the optimiser moves: all, or those of the head ``config.only`` trains
    (the term's own ``trained_parameters(model)`` where it has one)."""
    if config.only is None:
        return list(model.parameters())
    chooser = getattr(terms[0], "trained_parameters", None)
    return chooser(model) if chooser is not None else list(getattr(model, terms[0].head).parameters())


@torch.no_grad()
def _valid_losses(model, tasks: Sequence[Task], terms: list, config: TrainConfig, device, autocast) -> dict[str, float]:
    """Mean held-out loss of each spec-only term over ``tasks`` (batches of ``step_tasks``)."""
    totals: dict[str, float] = {}
    tasks = [task for task in tasks if task.program is not None]
    model.eval()
    for start in range(0, len(tasks), config.step_tasks):
        chunk = tasks[start : start + config.step_tasks]
        for term in terms:
            if term.spec_only:
                with autocast():
                    losses = term.loss(model, term.build(chunk, model.featurizer).to(device))
                for name, value in losses.items():
                    totals[name] = totals.get(name, 0.0) + float(value) * len(chunk)
    model.train()
    return {name: total / max(len(tasks), 1) for name, total in totals.items()}


def _fit(model, train_tasks, valid_tasks, config: TrainConfig, out, terms, trained, progress, device,
         parallel: DataParallel) -> FitResult:
    from tqdm.auto import tqdm

    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    batches_per_epoch = math.ceil(len(train_tasks) / config.step_tasks)
    total = config.epochs * math.ceil(batches_per_epoch / config.accumulate)
    clock = {"start": time.perf_counter()}  # reset when the run's steps begin

    def factor(s: int) -> float:
        if config.lr_by_time:
            return _lr_factor_by_time(s, config.warmup, (time.perf_counter() - clock["start"]) / config.time_limit)
        return _lr_factor(s, config.warmup, total)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    out = Path(out) if out is not None else None
    epoch, start, step, history, resumed = 0, 0, 0, [], None
    # The running totals of the epoch in progress; a checkpoint taken mid-epoch keeps
    # them, so that after a resume the epoch's record averages over all its steps.
    carried: dict = {"sums": {}, "count": 0, "tasks": 0, "spec_tasks": 0, "seconds": 0.0}
    if out is not None:
        checkpoint = latest_checkpoint(out / "checkpoints")
        if checkpoint is not None:
            state = load_training_checkpoint(checkpoint, model, optimizer, device=device)
            epoch, start, step, history = state["epoch"], state["batch"], state["step"], state["history"]
            if start > 0:
                carried = {
                    "sums": dict(state.get("epoch_sums", {})),
                    "count": state.get("epoch_count", 0),
                    "tasks": state.get("epoch_tasks", 0),
                    "spec_tasks": state.get("epoch_spec_tasks", 0),
                    "seconds": float(state.get("epoch_seconds", 0.0)),
                }
            scheduler.last_epoch = step
            for group in optimizer.param_groups:
                group["lr"] = config.lr * factor(step)
            resumed = str(checkpoint)
            if parallel.main:
                print(f"resumed from {checkpoint} (epoch {epoch}, batch {start}, step {step})", file=sys.stderr)
        if parallel.main:
            atomic_write_text(out / "train_config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    parallel.check_same((len(train_tasks), resumed and Path(resumed).name, epoch, start, step),
                        "the training tasks and the checkpoint they resume from (tasks, checkpoint, epoch, batch, step)")
    use_amp = config.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext

    def checkpoint_now(epoch_: int, batch_: int) -> None:
        if out is not None and parallel.main:
            state = {"epoch": epoch_, "batch": batch_, "step": step, "seed": config.seed, "history": history}
            if batch_ > 0:  # mid-epoch: the totals so far of this epoch
                state.update(
                    epoch_sums=dict(sums),
                    epoch_count=count,
                    epoch_tasks=seen_tasks,
                    epoch_spec_tasks=seen_spec_tasks,
                    epoch_seconds=carried["seconds"] + time.perf_counter() - t0,
                )
            save_training_checkpoint(out / "checkpoints", model, optimizer, state, keep=config.keep_checkpoints)

    stopped = False
    run_start = clock["start"] = time.perf_counter()
    replay: list[dict] = []  # the first epoch's batches, on the device, when reused
    while epoch < config.epochs and not stopped:
        dataset = _EpochBatches(train_tasks, model.featurizer, config, terms, epoch)
        # The micro-batches of each step; counted from ``start``, the position resumed at.
        steps = [range(i, min(i + config.accumulate, len(dataset))) for i in range(start, len(dataset), config.accumulate)]
        if config.reuse_batches and epoch > 0:
            if not replay:  # resumed after the first epoch: build its batches once more
                replay = [_on_device(batch, device) for batch in _loader(_EpochBatches(
                    train_tasks, model.featurizer, config, terms, 0), range(len(dataset)), config, device)]
            order = list(range(len(replay)))
            random.Random(f"replay:{config.seed}:{epoch}").shuffle(order)
            loader = iter(replay[i] for i in order[start:])
        else:
            loader = iter(_loader(dataset, [i for micro in steps for i in parallel.own(micro)], config, device))
        model.train()
        sums: dict[str, float] = carried["sums"]
        seen_tasks, seen_spec_tasks, count = carried["tasks"], carried["spec_tasks"], carried["count"]
        tasks_before, spec_tasks_before, t0 = seen_tasks, seen_spec_tasks, time.perf_counter()
        bar = tqdm(total=len(dataset), initial=start, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress)
        batch_index = start
        for micro in steps:
            if config.max_steps is not None and step >= config.max_steps:  # a rerun of a finished run
                stopped = True
                break
            batches = [next(loader) for _ in parallel.own(micro)]
            batch_index = micro.stop
            bar.update(len(micro))
            if config.reuse_batches and epoch == 0:
                batches = [_on_device(batch, device) for batch in batches]
                replay.extend(batches)
            optimizer.zero_grad(set_to_none=True)
            # Gradients add up over the micro-batches; the numbers are summed over the ranks.
            stats: dict[str, float] = {"batches": 0, "tasks": 0, "spec_tasks": 0}
            for batch in batches:
                if not batch["parts"]:
                    continue
                with autocast():
                    losses = {}
                    for term in terms:
                        losses.update(term.loss(model, batch["parts"][term.name].to(device, non_blocking=True)))
                    loss = sum(losses.values())
                loss.backward()
                stats["batches"] += 1
                stats["tasks"] += batch["tasks"]
                stats["spec_tasks"] += batch["spec_tasks"]
                for name, value in losses.items():
                    stats[f"loss:{name}"] = stats.get(f"loss:{name}", 0.0) + float(value.detach())
            if config.time_limit is not None:
                stats["seconds"] = time.perf_counter() - run_start
            stats = parallel.reduce(trained, stats)
            micro_batches = int(stats["batches"])
            if not micro_batches:
                continue
            if micro_batches > 1:  # the mean over the step's micro-batches, as one process takes it
                for parameter in trained:
                    if parameter.grad is not None:
                        parameter.grad.div_(micro_batches)
            torch.nn.utils.clip_grad_norm_(trained, config.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            count += 1
            seen_tasks += int(stats["tasks"])
            seen_spec_tasks += int(stats["spec_tasks"])
            step_losses = {key[len("loss:"):]: value / micro_batches for key, value in stats.items() if key.startswith("loss:")}
            for name, value in step_losses.items():
                sums[name] = sums.get(name, 0.0) + value
            elapsed_ = max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(
                loss=f"{sum(step_losses.values()):.3f}",
                tasks_per_s=f"{(seen_tasks - tasks_before) / elapsed_:.0f}",
                spec_tasks_per_s=f"{(seen_spec_tasks - spec_tasks_before) / elapsed_:.0f}",
            )
            if step % config.checkpoint_every == 0 and batch_index < len(dataset):
                checkpoint_now(epoch, batch_index)
            over_time = config.time_limit is not None and stats["seconds"] > config.time_limit
            if over_time or config.max_steps is not None and step >= config.max_steps:
                stopped = True
                break
        bar.close()
        elapsed = carried["seconds"] + time.perf_counter() - t0
        rates = {
            "tasks_per_second": seen_tasks / max(elapsed, 1e-9),
            "spec_tasks_per_second": seen_spec_tasks / max(elapsed, 1e-9),
        }
        if stopped and batch_index < len(dataset):
            checkpoint_now(epoch, batch_index)
            if out is not None and parallel.main:
                save_model(model, out / "model")
                # The part of the epoch this run made, for the record; the checkpoint's
                # history leaves it out, so a resumed run does not count it twice.
                partial = {"epoch": epoch + 1, "partial": True, "step": step, "batches": batch_index,
                           **{name: total_ / max(count, 1) for name, total_ in sums.items()}, **rates}
                atomic_write_text(out / "history.json", json.dumps([*history, partial], indent=2) + "\n")
            break
        carried = {"sums": {}, "count": 0, "tasks": 0, "spec_tasks": 0, "seconds": 0.0}  # the next epoch starts afresh
        held_out = valid_tasks[: config.valid_limit]
        valid = {f"valid_{name}": value for name, value in _valid_losses(model, held_out, terms, config, device, autocast).items()}
        # Training one head alone leaves the others as they were: their metrics would not change.
        metrics = None if config.only is not None else evaluate(
            model, held_out, seed=config.seed, neighbour_tasks=min(16, config.valid_limit)
        )
        record = {
            "epoch": epoch + 1,
            "step": step,
            **{name: total_ / max(count, 1) for name, total_ in sums.items()},
            **valid,
            **rates,
            **({"valid": metrics.to_dict()} if metrics is not None else {}),
        }
        history.append(record)
        if parallel.main:
            print(
                f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if isinstance(v, float))
                + ("" if metrics is None else f"; valid E-acc d+1={metrics.energy_accuracy_d1:.3f} "
                   f"d+2={metrics.energy_accuracy_d2:.3f} top1={metrics.neighbour_top1} sim-rho={metrics.similarity_spearman}"),
                file=sys.stderr,
            )
        epoch, start = epoch + 1, 0
        checkpoint_now(epoch, 0)
        if out is not None and parallel.main:
            save_model(model, out / "model")
            atomic_write_text(out / "history.json", json.dumps(history, indent=2) + "\n")
    return FitResult(step, epoch, history, resumed, stopped)
