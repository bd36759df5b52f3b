"""Data-parallel training over processes: which micro-batches a rank takes, and the
gradient reduction that makes N ranks take the step one process would.

A step of :func:`~worldmodel.fit` consumes ``TrainConfig.accumulate`` consecutive
micro-batches of the epoch. Under ``torchrun`` they are dealt round-robin to the
ranks; each rank sums the gradients of its own, the sums are all-reduced, and every
rank divides by the number of non-empty micro-batches of the whole step. The
gradient is then the mean over the step's micro-batches, as one process that
accumulates them gets it, so the weights match a one-process run with the same
``accumulate`` (within float rounding: the sum is taken in another order).

The reduction is written out with ``torch.distributed.all_reduce`` rather than
``DistributedDataParallel``: the model is trained through its heads' own methods
(``energy_forward``, ``similarity_forward``...), not one ``forward()``, and a step
may accumulate over micro-batches that some rank has none of; one flat all-reduce
per step also tells every rank which parameters got a gradient anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ._config import ConfigError

__all__ = ["DataParallel"]


@dataclass(frozen=True)
class DataParallel:
    """This process's place among the training processes.

    Attributes:
        rank: this process's index, ``0 <= rank < world`` (default 0).
        world: how many processes train together (default 1: this one alone, and
            nothing is reduced).
        local_rank: the index of this process on its machine; picks its GPU
            (default 0).

    Example:
        >>> DataParallel().own(range(0, 4))
        [0, 1, 2, 3]
        >>> DataParallel(rank=1, world=2).own(range(4, 7))
        [5]
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world < 1 or not 0 <= self.rank < self.world:
            raise ConfigError(
                f"DataParallel: rank must be in [0, world) and world >= 1, got rank={self.rank}, world={self.world}"
            )

    @classmethod
    def from_environment(cls, device: str = "cpu") -> DataParallel:
        """The processes ``torchrun`` started (its ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``).

        With a world of more than one it joins the process group (NCCL when
        ``device`` is a GPU, gloo otherwise) unless this process already has.
        Without ``torchrun`` it is the one process (``DataParallel()``).
        """
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        parallel = cls(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
        if not torch.distributed.is_initialized():
            gpu = device.startswith("cuda")
            if gpu:
                torch.cuda.set_device(parallel.device(device))
            torch.distributed.init_process_group("nccl" if gpu else "gloo")
        return parallel

    def close(self) -> None:
        """Leave the process group (at the end of a ``torchrun`` run; nothing with one process)."""
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

    @property
    def main(self) -> bool:
        """Whether this is rank 0: the one process that writes files and logs."""
        return self.rank == 0

    def device(self, device: str) -> torch.device:
        """``device`` for this rank: with several ranks, ``"cuda"`` is ``cuda:<local_rank>``."""
        if self.world > 1 and device == "cuda":
            return torch.device("cuda", self.local_rank)
        return torch.device(device)

    def own(self, step: range) -> list[int]:
        """The micro-batches of ``step`` (one optimisation step's) that this rank builds."""
        return [index for position, index in enumerate(step) if position % self.world == self.rank]

    def same_weights(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers, whatever each drew at init."""
        if self.world > 1:
            for tensor in module.state_dict().values():
                torch.distributed.broadcast(tensor, src=0)

    def check_same(self, value: object, what: str) -> None:
        """Raise :class:`ConfigError` unless every rank has the same ``value`` (e.g. the
        position it resumes at: ranks that see different checkpoints would take
        different steps and wait on each other for ever)."""
        if self.world == 1:
            return
        gathered: list = [None] * self.world
        torch.distributed.all_gather_object(gathered, value)
        if any(theirs != gathered[0] for theirs in gathered):
            raise ConfigError(
                f"the {self.world} processes disagree on {what}: {gathered} (by rank); give them one --out "
                "folder they all see (a shared filesystem across nodes) and the same data"
            )

    def reduce(self, parameters: Sequence[torch.nn.Parameter], stats: dict[str, float]) -> dict[str, float]:
        """Sum the gradients of ``parameters`` and the numbers ``stats`` over the ranks.

        After it, a parameter has a gradient iff some rank gave it one, and that
        gradient is the sum over the ranks. ``stats`` (micro-batches, tasks, loss
        sums...) may have other keys on other ranks (a rank with no micro-batch in
        the step has no losses): they come back summed over the ranks that have
        them, except ``"seconds"``, the largest, so that every rank agrees on a time
        limit. With one process both are left as they are.
        """
        if self.world == 1:
            return stats
        flat = [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in parameters]
        had = parameters[0].new_tensor([float(p.grad is not None) for p in parameters])
        buffer = torch.cat([*flat, had])  # one all-reduce per step, gradients and flags together
        torch.distributed.all_reduce(buffer)
        offset = 0
        for parameter, got in zip(parameters, buffer[-len(parameters):].tolist()):
            size = parameter.numel()
            parameter.grad = buffer[offset : offset + size].view_as(parameter).clone() if got else None
            offset += size
        gathered: list = [None] * self.world
        torch.distributed.all_gather_object(gathered, stats)
        summed: dict[str, float] = {}
        for theirs in gathered:
            for name, value in theirs.items():
                summed[name] = max(summed.get(name, value), value) if name == "seconds" else summed.get(name, 0.0) + value
        return summed
