"""Ranking losses for performance predictors.

A predictor only has to *order* architectures, so the main losses compare every pair of
architectures in a batch. Each loss is a :class:`RankingLoss` (an ``nn.Module`` taking
``(scores [B], targets [B])``) so that configs can pick one by ``class_path``.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from torch import nn


def _pairs(scores: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Score differences s_i - s_j and target signs sign(y_i - y_j) of all pairs i < j with
    different targets (ties carry no ranking information)."""
    i, j = torch.triu_indices(len(scores), len(scores), offset=1, device=scores.device)
    sign = torch.sign(targets[i] - targets[j])
    keep = sign != 0
    return (scores[i] - scores[j])[keep], sign[keep]


class RankingLoss(nn.Module, abc.ABC):
    """A predictor's training loss; subclass it for a loss of your own (the command line offers
    every subclass as ``--model.loss``)."""

    #: Fewest archs a batch needs for the loss to say anything: the pairwise losses compare archs
    #: within a batch, MSE standardises the targets within it. A fit with fewer is refused.
    min_batch: int = 2

    @abc.abstractmethod
    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Scalar loss of predicted ``scores`` [B] against ``targets`` [B] (higher = better arch)."""


class ReNASLoss(RankingLoss):
    """The ReNAS relativistic ranking loss (Xu et al., CVPR 2021): a hinge on every pair,
    ``max(0, m - (s_i - s_j) * sign(y_i - y_j))``, averaged over pairs.

    Args:
        margin: the hinge's margin m.
    """

    def __init__(self, margin: float = 0.1) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        diff, sign = _pairs(scores, targets)
        if diff.numel() == 0:
            return scores.sum() * 0
        return F.relu(self.margin - diff * sign).mean()


class PairwiseLogisticLoss(RankingLoss):
    """RankNet's logistic pairwise loss, ``log(1 + exp(-(s_i - s_j) * sign(y_i - y_j)))``:
    like the hinge but never saturates, so well-ordered pairs keep pushing apart a little."""

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        diff, sign = _pairs(scores, targets)
        if diff.numel() == 0:
            return scores.sum() * 0
        return F.softplus(-diff * sign).mean()


class MSELoss(RankingLoss):
    """Regression baseline: mean squared error against batch-standardised targets."""

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        z = (targets - targets.mean()) / targets.std().clamp_min(1e-6)
        return F.mse_loss(scores, z)
