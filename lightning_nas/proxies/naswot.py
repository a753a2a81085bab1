"""NASWOT and its first version, jacov (Mellor et al., "Neural Architecture Search without
Training", ICML 2021; v1 on arXiv 2006.04647)."""

from __future__ import annotations

import torch
from torch import nn

from lightning_nas.proxies.protocol import Protocol
from lightning_nas.proxies.base import hooks, layers_of, register


@register("naswot", paper="Mellor et al. 2021, NAS without training (log|K| of binary ReLU codes)", protocol=Protocol(128))
@torch.no_grad()
def naswot(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """log|K| with K = Σ over ReLUs of c cᵀ + (1−c)(1−c)ᵀ, c = (ReLU input > 0) per image:
    the number of units on which two images share an activation state. Distinct codes for
    distinct images (a more expressive network) give a larger determinant: higher is better.
    Network in train mode, as in the authors' notebook."""
    n = len(images)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=images.device)

    def accumulate(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes = (inputs[0].reshape(n, -1) > 0).float()
        ones = codes.sum(1, keepdim=True)
        # c cᵀ + (1-c)(1-c)ᵀ = 2 c cᵀ + D - |c_i| - |c_j|: one matmul instead of two
        kernel.add_((2 * codes @ codes.T + codes.shape[1] - ones - ones.T).double())

    network.train()
    with hooks(layers_of(network, nn.ReLU), accumulate, kind="forward_pre"):
        network(images)
    return torch.linalg.slogdet(kernel).logabsdet.item()


@register("jacov", paper="Mellor et al. 2020 (NASWOT v1): correlation of input Jacobians", protocol=Protocol(64))
def jacov(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """−Σ log(λ + k) + 1/(λ + k) over eigenvalues λ of the correlation matrix of per-image
    Jacobians d(Σ logits)/dx, k = 1e-5: uncorrelated Jacobians (the network separates images
    locally) score higher. Only input gradients are needed, so weights are frozen."""
    network.train()
    network.requires_grad_(False)
    x = images.clone().requires_grad_(True)
    network(x).sum().backward()
    jacobians = x.grad.reshape(len(x), -1).double()
    corr = torch.corrcoef(jacobians)
    corr = torch.nan_to_num(corr, nan=0.0)  # a constant Jacobian (dead network) has no correlation
    eig = torch.linalg.eigvalsh(corr)
    k = 1e-5
    return -(torch.log(eig + k) + 1.0 / (eig + k)).sum().item()
