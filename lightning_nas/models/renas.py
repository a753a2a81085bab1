"""The ReNAS predictor: a small CNN over ReNAS feature tensors (19x7x7 on NB101, 7x8x8 on NB201),
trained with a pairwise ranking loss (Xu et al., "ReNAS: Relativistic Evaluation of Neural
Architecture Search", CVPR 2021).

Conv blocks read the type/FLOPs/params channels of the adjacency-shaped tensor, global average
pooling summarises the cell, and an MLP head (which also receives any extra features) gives the
score. A BatchNorm on the input puts the very different channel scales on one footing.

Entry (i, j) of the tensor is the edge i -> j, so row i holds the edges leaving vertex i and
column j the edges entering vertex j. ReNAS's square 3x3 filters see only edges between vertices
with neighbouring indices. ``filters="square+cross"`` adds cross-shaped filters (BrainNetCNN's
edge-to-edge filter, Kawahara et al. 2017): entry (i, j) also sums a 1xV filter over row i and a
Vx1 filter over column j, so each layer passes information between edges that share a vertex,
whatever the vertex order. On NB101 with 4,236 training cells that ranks better (see README).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lightning_nas.models.base import RankingPredictor, ScoreHead, check_member_settings
from lightning_nas.utils.errors import InvalidArgument, require_count


def _square_conv(c_in: int, c_out: int) -> nn.Conv2d:
    """ReNAS's 3x3 filter."""
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)


class _CrossConv(nn.Module):
    """out[i, j] = (row filter over row i) + (column filter over column j), optionally plus a 3x3 filter."""

    def __init__(self, c_in: int, c_out: int, size: int, square: bool) -> None:
        super().__init__()
        self.row = nn.Conv2d(c_in, c_out, (1, size), bias=False)
        self.column = nn.Conv2d(c_in, c_out, (size, 1), bias=False)
        self.square = _square_conv(c_in, c_out) if square else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.row(x) + self.column(x)  # [B, c, V, 1] + [B, c, 1, V] broadcast to [B, c, V, V]
        return out + self.square(x) if self.square is not None else out


def _conv(c_in: int, c_out: int, size: int, filters: str) -> nn.Module:
    if filters == "square":
        return _square_conv(c_in, c_out)
    return _CrossConv(c_in, c_out, size, square=filters == "square+cross")


class _ReNASNet(nn.Module):
    def __init__(
        self, in_channels: int, size: int, channels: tuple[int, ...], hidden: int, num_extra: int, dropout: float, filters: str
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels)]
        c = in_channels
        for out in channels:
            layers += [_conv(c, out, size, filters), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = ScoreHead(c, num_extra, hidden, dropout)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        return self.head(self.features(x), extra)


class ReNASPredictor(RankingPredictor):
    """ReNAS CNN predictor; see :class:`RankingPredictor` for the shared arguments.

    Args:
        encoding: renas (the only one it reads).
        channels: output channels of each conv layer.
        hidden: width of the head's hidden layer.
        dropout: dropout in the head.
        filters: square (ReNAS's 3x3 convolutions), cross (row + column filters) or square+cross
            (both, summed, in every conv layer).
    """

    def __init__(
        self,
        encoding: str = "renas",
        channels: list[int] = [32, 64, 64],  # noqa: B006 - a YAML-friendly default, never mutated
        hidden: int = 128,
        dropout: float = 0.1,
        filters: Literal["square", "cross", "square+cross"] = "square",
        **kwargs,
    ) -> None:
        if encoding != "renas":
            raise InvalidArgument(f"ReNASPredictor needs the 'renas' encoding, got {encoding!r}")
        if filters not in ("square", "cross", "square+cross"):
            raise InvalidArgument(f"filters must be 'square', 'cross' or 'square+cross', got {filters!r}")
        check_member_settings(hidden, dropout)
        for width in channels:
            require_count("each of channels", width, 1)
        super().__init__(encoding=encoding, **kwargs)

    def build_member(self, index: int) -> nn.Module:
        hp = self.hparams
        shape = hp.input_shape  # channels x size x size tensors (vertex x vertex)
        return _ReNASNet(shape["channels"], shape["size"], tuple(hp.channels), hp.hidden, self.num_extra, hp.dropout, hp.filters)
