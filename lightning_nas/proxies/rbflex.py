"""RBFleX-NAS (Yamasaki et al., "RBFleX-NAS: Training-Free Neural Architecture Search Using Radial
Basis Function Kernel and Hyperparameter Detection", IEEE TNNLS 2025).

Each of ``batch_size_NE = 3`` images goes through the network on its own; the outputs of every
ReLU form one row of K, the input of the last layer one row of Q. Columns are min-max
normalised over the images, and the score is 3 (log|RBF_γK(K)| + log|RBF_γQ(Q)|): images the
network tells apart give a kernel closer to the identity. The two γ come from the
hyperparameter detection algorithm (HDA), run once per space and dataset on a few random archs.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from lightning_nas.utils.errors import InvalidArgument
from lightning_nas.proxies.protocol import Protocol
from lightning_nas.proxies.base import hooks, layers_of, register, single_threaded_ops

BATCH_SIZE_NE = 3


def activations(network: nn.Module, images: torch.Tensor, one_at_a_time: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: all ReLU outputs (K rows) and the last layer's input (Q rows), float64."""
    relu_out: list[torch.Tensor] = []
    last_in: list[torch.Tensor] = []
    network.train()
    with torch.no_grad(), single_threaded_ops(), hooks(layers_of(network, nn.ReLU), lambda m, i, o: relu_out.append(o.reshape(len(o), -1))), \
            hooks([network.classifier], lambda m, i, o: last_in.append(i[0].reshape(len(i[0]), -1))):
        k_rows, q_rows = [], []
        for batch in images.split(1 if one_at_a_time else len(images)):
            relu_out.clear()
            last_in.clear()
            network(batch)
            k_rows.append(torch.cat(relu_out, 1))
            q_rows.append(last_in[-1])
    return torch.cat(k_rows).double(), torch.cat(q_rows).double()


def _min_max(x: torch.Tensor) -> torch.Tensor:
    lo, hi = x.min(0, keepdim=True).values, x.max(0, keepdim=True).values
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return torch.where(hi > lo, (x - lo) / span, torch.zeros_like(x))


def _rbf_logdet(x: torch.Tensor, gamma: float) -> float:
    sq = (x * x).sum(1)
    kernel = torch.exp(-gamma * (sq[:, None] + sq[None, :] - 2 * x @ x.T))
    return torch.linalg.slogdet(kernel).logabsdet.item()


@register("rbflex", paper="Yamasaki et al. 2025, RBFleX-NAS (RBF kernels of activations and last-layer input)", protocol=Protocol(BATCH_SIZE_NE))
def rbflex(network: nn.Module, images: torch.Tensor, labels: torch.Tensor, gamma_k: float, gamma_q: float) -> float:
    k, q = activations(network, images)
    return len(images) * (_rbf_logdet(_min_max(k), gamma_k) + _rbf_logdet(_min_max(q), gamma_q))


def detect_gammas(networks: list[nn.Module], images: torch.Tensor) -> tuple[float, float]:
    """RBFleX's HDA: for each network, forward the batch together and, for each image pair,
    γ = (m₁ − m₂)² / (2 (s₁ + s₂)) from the means m and variances s of their (unnormalised)
    K and Q rows; the detected γ is the smallest candidate."""
    candidates: dict[str, list[float]] = {"k": [], "q": []}
    for network in networks:
        k, q = activations(network, images, one_at_a_time=False)
        for name, rows in (("k", k), ("q", q)):
            mean, var = rows.mean(1), rows.var(1, unbiased=False)
            for i, j in itertools.combinations(range(len(rows)), 2):
                gamma = ((mean[i] - mean[j]) ** 2 / (2 * (var[i] + var[j]))).item() if var[i] + var[j] > 0 else 0.0
                if gamma > 0:  # a pair the network cannot tell apart (e.g. a duplicate image) would make the kernel constant
                    candidates[name].append(gamma)
    if not candidates["k"] or not candidates["q"]:
        raise InvalidArgument(
            "RBFleX hyperparameter detection found no usable image pair: every network's activations are the same for all "
            f"{len(images)} images (identical or blank images?); give real, distinct images"
        )
    return float(np.min(candidates["k"])), float(np.min(candidates["q"]))
