"""The DARTS evaluation network (``NetworkCIFAR`` of DARTS's ``model.py``) for a genotype.

A stem conv (3 x ``C`` channels), ``layers`` cells with reduction cells at 1/3 and 2/3 of the depth
(channels doubled there), global pooling and a linear classifier; optionally the auxiliary head
after the second reduction and drop path on every op but the identity, as DARTS trains it. The
same class builds TE-NAS's search networks (other reduction cells, stem, final BN + ReLU). Each
cell preprocesses its two inputs to ``C`` channels (a factorized reduction when the previous cell
reduced), applies each node's two ops (stride 2 on the cell inputs of a reduction cell) and
concatenates the four nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightning_nas.spaces.darts import CELLS, CONCAT, NODES, DartsGenotype, reduction_cells


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) conv, pointwise conv, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool = True) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, affine=affine))


class SepConv(nn.Sequential):
    """Two depthwise-separable convs (the first with the stride), as DARTS's ``SepConv``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1, affine), DilConv(c_in, c_out, kernel, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convs, one shifted by a pixel, concatenated. The
    input is zero-padded by one pixel right and bottom first (as xautodl's): on even sizes this is
    DARTS's op exactly, and odd sizes (TE-NAS's 3x3 crops) give two halves of one size."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, c: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """DARTS's op ``name`` on ``c`` channels; ``affine``: learnable BN scale and shift inside it;
    ``pool_bn``: a BN without scale and shift after a pooling, as DARTS's search network (``MixedOp``) has it."""
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool = nn.MaxPool2d(3, stride=stride, padding=1) if name == "max_pool_3x3" else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if pool_bn else pool
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    kernel = int(name[-1])
    if name.startswith("sep_conv"):
        return SepConv(c, c, kernel, stride, kernel // 2, affine)
    return DilConv(c, c, kernel, stride, kernel - 1, 2, affine)  # dil_conv_3x3 / dil_conv_5x5: dilation 2


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``prob``, rescaling the rest (DARTS's ``drop_path``)."""
    keep = 1.0 - prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class DartsCell(nn.Module):
    def __init__(self, pairs: tuple, c_prev_prev: int, c_prev: int, c: int, reduction: bool, reduction_prev: bool, affine_ops: bool = True,
                 pool_bn: bool = False) -> None:
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.inputs = [source for _, source in pairs]
        self.ops = nn.ModuleList(make_op(op, c, 2 if reduction and source < 2 else 1, affine_ops, pool_bn) for op, source in pairs)
        self.out_channels = len(CONCAT) * c

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(NODES):
            total = 0
            for k in (2 * node, 2 * node + 1):
                h = self.ops[k](states[self.inputs[k]])
                if self.training and drop_prob > 0 and not isinstance(self.ops[k], nn.Identity):
                    h = drop_path(h, drop_prob)
                total = total + h
            states.append(total)
        return torch.cat([states[i] for i in CONCAT], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier for 8x8 CIFAR feature maps."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False), nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128),
            nn.ReLU(inplace=False), nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DartsNetwork(nn.Module):
    """DARTS's CIFAR evaluation network of ``genotype``: ``forward`` returns the logits;
    :meth:`forward_with_aux` also the auxiliary head's (None unless training with one).
    ``affine_ops=False``: BN without scale and shift inside the ops, as NAS-Bench-301's networks
    (NASLib's published parameter counts are exactly ours so); ``pool_bn``: a BN (no parameters) after
    each pooling op, as in DARTS's search network and the networks NASLib scored its proxies on."""

    def __init__(self, genotype: DartsGenotype, channels: int, layers: int, num_classes: int, auxiliary: bool = False,
                 stem_multiplier: int = 3, affine_ops: bool = True, reductions: Sequence[int] | None = None, stem: bool = True,
                 final_activation: bool = False, pool_bn: bool = False) -> None:
        super().__init__()
        c_curr = stem_multiplier * channels
        # without a stem the cells read the input as it is: stem_multiplier x channels of it (TE-NAS's one-channel crops)
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)) if stem else nn.Identity()
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        reductions = reduction_cells(layers) if reductions is None else tuple(reductions)
        self.aux_after = max(reductions)
        c_aux = c_prev
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c_curr *= 2
            cell = DartsCell(genotype.cell(CELLS[1] if reduction else CELLS[0]), c_prev_prev, c_prev, c_curr, reduction, reduction_prev, affine_ops, pool_bn)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
            if i == self.aux_after:
                c_aux = c_prev
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        # TE-NAS's search networks end with BN and ReLU before pooling; DARTS's evaluation network does not
        self.final_activation = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False)) if final_activation else nn.Identity()
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        #: drop-path probability of every op but the identity, set by the training schedule
        self.drop_path_prob = 0.0

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_after and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(self.final_activation(s1)).flatten(1)), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


def count_parameters(network: nn.Module, auxiliary: bool = False) -> int:
    """Parameters as DARTS counts them: the auxiliary head's left out unless ``auxiliary``."""
    return sum(p.numel() for n, p in network.named_parameters() if auxiliary or not n.startswith("auxiliary_head"))
