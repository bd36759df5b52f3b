"""The policy's loss term in :func:`worldmodel.fit`, conditioned on the world model.

For each task of a batch it takes a few construction states (prefixes of φ, see
:func:`construction_steps`) and a few repair states from the task's corruption chain
(the chain :func:`fit` already draws for the energy: at ``φ_j`` the targets are the
edits that land on any ``φ_i``, ``i < j``), featurises their candidate edits in the
data workers, and on the device scores them with ``model.policy`` conditioned on
``model.context_forward`` of the state programs, so the encoders learn from the policy
loss too.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import Domain

from ._batches import ProgramBatch, _Batch
from ._data import TaskSample
from ._edit_features import EditFeatures
from ._edit_paths import EditStep, construction_steps
from ._features import Featurizer
from ._policy import PolicyBatch, prepare_batch

__all__ = ["PolicyPart", "PolicyTerm"]


@dataclass
class PolicyPart(_Batch):
    """``B`` policy states of a training batch (see :class:`PolicyBatch` for the fields).

    Attributes:
        programs: the ``B`` state programs on their tasks, for ``model.context_forward``.
        kind, primitive, old_primitive, numeric: the candidates' :class:`EditFeatures`.
        segment, target, state: as in :class:`PolicyBatch`.
    """

    programs: ProgramBatch | None
    kind: torch.Tensor
    primitive: torch.Tensor
    old_primitive: torch.Tensor
    numeric: torch.Tensor
    segment: torch.Tensor
    target: torch.Tensor
    state: torch.Tensor

    def policy_batch(self) -> PolicyBatch:
        features = EditFeatures(self.kind, self.primitive, self.old_primitive, self.numeric)
        return PolicyBatch(features, self.segment, self.target, self.state, [])


@dataclass
class PolicyTerm:
    """Cross-entropy of the policy's normalised edit probabilities on the target edits.

    Attributes:
        weight: the loss weight (default 1.0).
        max_length: the policy's ``max_length`` (candidate sets; default 5).
        construct_states: construction states per task (default 2).
        repair_states: repair states per task, from its corruption chain (default 2).
        negatives: sampled non-target candidates per state, ``None`` for all (default 64).
        name: the loss's name in the training history (default "policy").
    """

    weight: float = 1.0
    max_length: int = 5
    construct_states: int = 2
    repair_states: int = 2
    negatives: int | None = 64
    name: str = "policy"
    spec_only: bool = False

    def _steps(self, sample: TaskSample, domain: Domain, rng: random.Random) -> list[EditStep]:
        task, program = sample.task, sample.task.program
        steps: list[EditStep] = []
        if len(program) <= self.max_length:
            construct = construction_steps(task, program)
            steps += rng.sample(construct, min(self.construct_states, len(construct)))
        repair = []
        for j in range(1, len(sample.chain)):
            nearer = set(sample.chain[:j])
            targets = tuple(e for e, new in domain.neighbours(sample.chain[j], max_length=self.max_length) if new in nearer)
            if targets:
                repair.append(EditStep(task, sample.chain[j], targets, "repair", j))
        steps += rng.sample(repair, min(self.repair_states, len(repair)))
        return steps

    def build(self, samples: Sequence[TaskSample], featurizer: Featurizer) -> PolicyPart:
        steps, task_index = [], []
        # Seeded by the samples (themselves a function of (seed, epoch, batch)), so a
        # resumed run sees the same states.
        rng = random.Random(zlib.crc32(repr([(s.task.id, s.chain_edits) for s in samples]).encode()))
        for b, sample in enumerate(samples):
            chosen = self._steps(sample, featurizer.domain, rng)
            steps += chosen
            task_index += [b] * len(chosen)
        if not steps:
            empty = torch.zeros(0, dtype=torch.long)
            return PolicyPart(None, empty, empty, empty, torch.zeros(0, 0), empty, empty.bool(), torch.zeros(0, 0))
        batch = prepare_batch(steps, featurizer.domain, max_length=self.max_length, negatives=self.negatives, rng=rng)
        programs = featurizer.programs([s.task for s in samples], [s.program for s in steps], task_index)
        f = batch.features
        return PolicyPart(programs, f.kind, f.primitive, f.old_primitive, f.numeric, batch.segment, batch.target, batch.state)

    def loss(self, model, part: PolicyPart) -> dict[str, torch.Tensor]:
        if model.policy is None:
            raise ValueError("PolicyTerm needs a policy: call model.attach_policy() before fit")
        if part.programs is None:
            return {"policy": part.state.new_zeros(())}
        context = model.context_forward(part.programs).float()  # (B, C)
        # The flow's log-densities and logsumexp are kept in float32 under bf16 autocast.
        with torch.autocast(part.state.device.type, enabled=False):
            loss = model.policy.batch_loss(part.policy_batch(), context=context)
        return {"policy": self.weight * loss}
