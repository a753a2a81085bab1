"""Ranking metrics for whole-space evaluation: Kendall tau that scales to 423k archs and
precision of the predicted top fraction."""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class _WholeSetMetric(Metric):
    """Keeps every (prediction, target) pair: ranking metrics need the whole set at once."""

    full_state_update = False
    higher_is_better = True

    def __init__(self) -> None:
        super().__init__()
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.preds.append(preds.detach().double())
        self.target.append(target.detach().double())


class TopKPrecision(_WholeSetMetric):
    """Fraction of the predicted top ``fraction`` of archs that are truly in the top ``fraction``
    (NAS search only ever looks at the top of the ranking)."""

    def __init__(self, fraction: float = 0.01) -> None:
        super().__init__()
        self.fraction = fraction

    def compute(self) -> torch.Tensor:
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        k = max(1, math.ceil(self.fraction * len(preds)))
        predicted = set(torch.topk(preds, k).indices.tolist())
        true = set(torch.topk(target, k).indices.tolist())
        return torch.tensor(len(predicted & true) / k)


class KendallTau(_WholeSetMetric):
    """Kendall's tau-b, the same statistic as ``torchmetrics.KendallRankCorrCoef`` (variant
    ``"b"``), computed by ``scipy.stats.kendalltau`` in O(n log n). torchmetrics' version loops
    in Python over every element (O(n^2)); our test sets hold up to 423,200 archs."""

    def compute(self) -> torch.Tensor:
        from scipy.stats import kendalltau

        preds, target = dim_zero_cat(self.preds).cpu().numpy(), dim_zero_cat(self.target).cpu().numpy()
        return torch.tensor(kendalltau(preds, target).statistic, dtype=torch.float32)
