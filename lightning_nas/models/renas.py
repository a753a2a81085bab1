"""The ReNAS predictor: a small CNN over ReNAS feature tensors (19x7x7 on NB101, 7x8x8 on NB201),
trained with a pairwise ranking loss (Xu et al., "ReNAS: Relativistic Evaluation of Neural
Architecture Search", CVPR 2021).

Conv blocks read the type/FLOPs/params channels of the adjacency-shaped tensor, global average
pooling summarises the cell, and an MLP head (which also receives any extra features) gives the
score. A BatchNorm on the input puts the very different channel scales on one footing.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_nas.models.base import RankingPredictor

INPUT_CHANNELS = {"nb101": 19, "nb201": 7}


class _ReNASNet(nn.Module):
    def __init__(self, in_channels: int, channels: tuple[int, ...], hidden: int, num_extra: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels)]
        c = in_channels
        for out in channels:
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(c + num_extra, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        h = self.features(x)
        if extra is not None:
            h = torch.cat([h, extra], dim=1)
        return self.head(h).squeeze(-1)


class ReNASPredictor(RankingPredictor):
    """ReNAS CNN predictor; see :class:`RankingPredictor` for the shared arguments."""

    def __init__(
        self,
        encoding: str = "renas",
        channels: list[int] = [32, 64, 64],  # noqa: B006 - a YAML-friendly default, never mutated
        hidden: int = 128,
        dropout: float = 0.1,
        **kwargs,
    ) -> None:
        if encoding != "renas":
            raise ValueError(f"ReNASPredictor needs the 'renas' encoding, got {encoding!r}")
        super().__init__(encoding=encoding, **kwargs)

    def build_member(self, index: int) -> nn.Module:
        hp = self.hparams
        return _ReNASNet(INPUT_CHANNELS[hp.space], tuple(hp.channels), hp.hidden, self.num_extra, hp.dropout)
