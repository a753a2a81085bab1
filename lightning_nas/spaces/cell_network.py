"""The NAS-Bench-201 / NATS-Bench networks, module for module as NATS-Bench's ``xautodl`` builds
them (same parameter order and names of ops, same initialisation): ``xautodl``'s wheel cannot be
installed with its dependencies on Python 3.11, and the test-suite cross-checks both, parameter for
parameter. NB201 (NATS-tss) cells and NATS-sss channel counts share this macro-structure.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_nas.spaces.nb201 import EDGES
from lightning_nas.utils.errors import InvalidArchitecture


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: contributes nothing (kept as a module so the graph has the edge)."""

    def __init__(self, c_out: int) -> None:
        super().__init__()
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.c_out, *x.shape[2:])


class Projection(nn.Module):
    """``skip_connect`` between different widths (NATS-sss): 1x1 conv + BN, as xautodl's
    stride-1 ``FactorizedReduce``."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AvgPool(nn.Module):
    """``avg_pool_3x3`` (after a 1x1 ReLU-conv-BN when the width changes)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.preprocess = ReLUConvBN(c_in, c_out, 1, 1, 0) if c_in != c_out else None
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.preprocess(x) if self.preprocess is not None else x)


def _cell_op(name: str, c_in: int, c_out: int) -> nn.Module:
    if name == "none":
        return Zero(c_out)
    if name == "skip_connect":
        return nn.Identity() if c_in == c_out else Projection(c_in, c_out)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, 1, 1)
    if name == "avg_pool_3x3":
        return AvgPool(c_in, c_out)
    raise InvalidArchitecture(f"unknown NB201 op {name!r}")


class NB201Cell(nn.Module):
    """4 nodes; node j = sum over i < j of op_ij(node i); the cell outputs node 3. Ops leaving
    the input node map ``c_in`` to ``c_out`` channels."""

    def __init__(self, ops: tuple[str, ...], c_in: int, c_out: int) -> None:
        super().__init__()
        self.edges = EDGES
        self.layers = nn.ModuleList(_cell_op(op, c_in if src == 0 else c_out, c_out) for op, (src, _) in zip(ops, EDGES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for (src, dst), layer in zip(self.edges, self.layers):
            out = layer(nodes[src])
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[3]


class ResidualReduction(nn.Module):
    """NB201's reduction block: two ReLU-conv-BN (first strided) + avg-pool/1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class CellNetwork(nn.Module):
    """The NAS-Bench-201 / NATS macro-structure: stem, ``N`` cells, reduction, ``N`` cells,
    reduction, ``N`` cells, BN-ReLU, global pooling, linear classifier.

    ``channels`` has one entry per layer (3N + 2: the cells and the two reductions).
    ``stem=False`` and ``depth`` build TE-NAS's thin linear-region network.
    """

    def __init__(self, ops: tuple[str, ...], channels: list[int], num_classes: int, stem: bool = True, depth: int | None = None) -> None:
        super().__init__()
        n = (len(channels) - 2) // 3
        self.stem = nn.Sequential(nn.Conv2d(3, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0])) if stem else nn.Identity()
        reductions = {n, 2 * n + 1}
        self.cells = nn.ModuleList()
        c_prev = channels[0]
        for index, c in enumerate(channels[: depth or len(channels)]):
            self.cells.append(ResidualReduction(c_prev, c) if index in reductions else NB201Cell(ops, c_prev, c))
            c_prev = c
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))


def nb201_channels(c: int, n: int) -> list[int]:
    """Channels of every layer of the NAS-Bench-201 network with ``C=c, N=n``: the cells of the three stages and the two reductions."""
    return [c] * n + [2 * c] + [2 * c] * n + [4 * c] + [4 * c] * n
