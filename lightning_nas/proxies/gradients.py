"""Pruning-at-initialisation saliencies summed over a network, as zero-cost proxies
(Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021): synflow, snip,
grad_norm, fisher. Each sums a per-weight (or per-activation) saliency over conv and linear
layers after one backward pass; higher is better."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lightning_nas.proxies.protocol import Protocol
from lightning_nas.proxies.base import hooks, register, weighted_layers


def _cross_entropy_backward(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    network.train()
    network.zero_grad(set_to_none=True)
    F.cross_entropy(network(images), labels).backward()


@register("synflow", paper="Tanaka et al. 2020, SynFlow; as a proxy: Abdelfattah et al. 2021", protocol=Protocol(0))
def synflow(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """log Σ |θ ⊙ dR/dθ| with R = Σ f_|θ|(1): weights made positive, an all-ones input, float64,
    no data and no labels. BN is in eval mode with fresh statistics (≈ identity), which is
    zero-cost-nas's BN-free network up to a constant. Returned as a log: the raw sum overflows
    float32 for NB201 networks; -inf for a network whose output does not depend on its weights."""
    network.double().eval()
    with torch.no_grad():
        for p in network.parameters():
            p.abs_()
    network.zero_grad(set_to_none=True)
    ones = torch.ones(1, *images.shape[1:], dtype=torch.float64, device=images.device)
    network(ones).sum().backward()
    total = sum((m.weight * m.weight.grad).abs().sum().item() for m in weighted_layers(network) if m.weight.grad is not None)
    return math.log(total) if total > 0 else -math.inf


@register("snip", paper="Lee et al. 2019, SNIP; as a proxy: Abdelfattah et al. 2021", protocol=Protocol(64))
def snip(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Σ |θ ⊙ dL/dθ| for the cross-entropy loss L on one batch (connection sensitivity)."""
    _cross_entropy_backward(network, images, labels)
    return sum((m.weight * m.weight.grad).abs().sum().item() for m in weighted_layers(network) if m.weight.grad is not None)


@register("grad_norm", paper="Abdelfattah et al. 2021, zero-cost proxies (sum of per-layer gradient norms)", protocol=Protocol(64))
def grad_norm(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Σ over layers of ‖dL/dW‖₂."""
    _cross_entropy_backward(network, images, labels)
    return sum(m.weight.grad.norm().item() for m in weighted_layers(network) if m.weight.grad is not None)


@register("fisher", paper="Theis et al. 2018 / Turner et al. 2020, Fisher pruning; as a proxy: Abdelfattah et al. 2021", protocol=Protocol(64))
def fisher(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Σ over conv/linear outputs a and channels of ½ mean_batch (Σ_spatial a · dL/da)²."""
    outputs: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if output.requires_grad:
            output.retain_grad()
            outputs.append(output)

    network.train()
    network.zero_grad(set_to_none=True)
    with hooks(weighted_layers(network), keep):
        loss = F.cross_entropy(network(images), labels)
    loss.backward()
    total = 0.0
    for act in outputs:
        if act.grad is None:
            continue
        g = act * act.grad
        per_channel = g.sum(dim=tuple(range(2, g.dim()))) if g.dim() > 2 else g
        total += per_channel.pow(2).mean(0).mul(0.5).sum().item()
    return total
