"""The out-of-distribution warning: a Gaussian density of spec features, calibrated on held-out Φ.

The functions behind :meth:`WorldModel.spec_ood` and ``docs/reproduce/calibrate_ood.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from worldmodel.datasets import Task

from ._dynamics import DynamicsHead

__all__ = ["SpecCheck", "calibrate_spec_density", "spec_check"]


@dataclass(frozen=True)
class SpecCheck:
    """Whether a spec lies outside the training distribution of the dynamics head.

    Attributes:
        score: squared Mahalanobis distance per feature of the spec's features
            under the Gaussian fitted on training specs (about 1 in distribution).
        threshold: the alarm level calibrated on held-out Φ.
        warn: ``score > threshold`` (a spec the features cannot take warns too).
    """

    score: float
    threshold: float
    warn: bool


@torch.no_grad()
def spec_check(head: DynamicsHead, tasks: Sequence[Task]) -> list[SpecCheck]:
    """One :class:`SpecCheck` per task.

    Raises:
        ValueError: the head's density was never calibrated (:func:`calibrate_spec_density`).
    """
    density = head.density
    if not density.calibrated:
        raise ValueError("the dynamics head's spec density is not calibrated; run calibrate_spec_density first")
    threshold = float(density.threshold)
    checks = []
    for start in range(0, len(tasks), 256):
        scores = density.score(head.spec_features(tasks[start : start + 256])).tolist()
        checks += [SpecCheck(s, threshold, not s <= threshold) for s in scores]
    return checks


@torch.no_grad()
def calibrate_spec_density(head: DynamicsHead, fit_tasks: Sequence[Task], calibration_tasks: Sequence[Task], *,
                           false_alarm: float = 0.02, shrinkage: float = 0.05) -> float:
    """Fit the spec density on ``fit_tasks`` and set the threshold on ``calibration_tasks``.

    Args:
        head: the dynamics head (its ``density`` buffers are set).
        fit_tasks: training specs (Φ's train split).
        calibration_tasks: held-out specs (Φ's valid split, never the test split).
        false_alarm: the fraction of ``calibration_tasks`` allowed to warn (default 0.02).
        shrinkage: weight of the diagonal in the shrunk covariance (default 0.05).

    Returns:
        The threshold.
    """
    if not 0 < false_alarm < 1:
        raise ValueError(f"false_alarm must be in (0, 1), got {false_alarm!r}")
    features = torch.cat([head.spec_features(fit_tasks[s : s + 256]) for s in range(0, len(fit_tasks), 256)])
    features = features[torch.isfinite(features).all(-1)].double()
    mean = features.mean(0)
    centred = features - mean
    covariance = centred.T @ centred / max(1, len(features) - 1)
    covariance = (1 - shrinkage) * covariance + shrinkage * torch.diag(covariance.diagonal())
    covariance += 1e-6 * covariance.diagonal().mean() * torch.eye(len(mean), dtype=covariance.dtype, device=mean.device)
    lower = torch.linalg.cholesky(covariance)
    whiten = torch.linalg.solve_triangular(lower, torch.eye(len(mean), dtype=lower.dtype, device=lower.device), upper=False)
    density = head.density
    density.mean.copy_(mean.float())
    density.whiten.copy_(whiten.float())
    scores = torch.cat([density.score(head.spec_features(calibration_tasks[s : s + 256]))
                        for s in range(0, len(calibration_tasks), 256)])
    scores = torch.nan_to_num(scores, nan=float("inf"))
    threshold = float(torch.quantile(scores[torch.isfinite(scores)].double(), 1 - false_alarm))
    density.threshold.fill_(threshold)
    return threshold
