"""Size proxies: parameters and FLOPs of the real network (data-free, labels-free)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lightning_nas.proxies.protocol import Protocol
from lightning_nas.proxies.base import register
from lightning_nas.proxies.networks import count_parameters


@register("params", paper="parameter count (trainable parameters of the benchmark network)", protocol=Protocol(0))
def params(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float(count_parameters(network))


@register("flops", paper="FLOPs of one forward pass, torch.utils.flop_counter (multiply-accumulates, millions)", protocol=Protocol(0))
@torch.no_grad()
def flops(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Multiply-accumulates of one image, in millions (the convention of the benchmarks'
    FLOPs columns; ``FlopCounterMode`` counts a MAC as 2 FLOPs)."""
    network.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        network(images.new_zeros(1, *images.shape[1:]))
    return counter.get_total_flops() / 2 / 1e6
