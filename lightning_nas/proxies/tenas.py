"""TE-NAS (Chen et al., "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically
Inspired Perspective", ICLR 2021): trainability from the NTK condition number, expressivity from
the number of linear regions, and their rank combination.

Protocol as in TE-NAS's ``prune_tenas.py`` for NAS-Bench-201: the NTK on the small cell network
(``C=3, N=1``, PyTorch default init, train-mode BN) from one batch; linear regions on the thin
network (``C=1, N=1``, no stem, first cell only) fed 1-channel 3x3 crops of real images, 3
batches of 1000. Pass ``variant="benchmark"`` to the scorer to use the full network instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from lightning_nas.proxies.base import hooks, layers_of, register, single_threaded_ops

LR_CROPS_PER_BATCH = 1000
LR_BATCHES = 3
#: The images the crops are cut from (its registered batch size): fixed, so that tenas_lr scores the
#: same whichever proxies are requested beside it; 128 keeps the crops of tables scored before.
LR_SOURCE_IMAGES = 128


@register("tenas_ntk", paper="Chen et al. 2021, TE-NAS: NTK condition number (negated: higher = better)", batch_size=72, network="tenas_ntk")
def tenas_ntk(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """−λ_max/λ_min of the empirical NTK Θ = J Jᵀ, J = d(Σ_c logit_c(x_i))/dθ over every
    ``weight`` tensor (conv, BN and linear weights), train-mode BN, as TE-NAS.

    Exactly TE-NAS's per-image backward passes through the shared batch graph (BN couples the
    images, so no per-sample shortcut is exact). On the CPU they are spread over one Python thread
    per core with one intra-op thread each: this tiny network is too small for intra-op
    parallelism, which only adds overhead. A GPU runs them one after another."""
    network.train()
    weights = [p for n, p in network.named_parameters() if "weight" in n]
    sizes = [w.numel() for w in weights]
    with single_threaded_ops():
        outputs = network(images).sum(1)
        jacobian = images.new_zeros(len(outputs), sum(sizes))

        def rows(indices: range) -> None:
            for i in indices:
                grads = torch.autograd.grad(outputs[i], weights, retain_graph=True, allow_unused=True)
                jacobian[i] = torch.cat([g.reshape(-1) if g is not None else images.new_zeros(n) for g, n in zip(grads, sizes)])

        workers = 1 if images.is_cuda else max(1, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(rows, [range(k, len(outputs), workers) for k in range(workers)]))
    jacobian = jacobian.double()
    eig = torch.linalg.eigvalsh(jacobian @ jacobian.T)
    return -(eig[-1] / eig[0]).item() if eig[0] > 0 else -np.inf


def random_crops(images: torch.Tensor, generator: torch.Generator, size: int = 3, count: int = LR_CROPS_PER_BATCH * LR_BATCHES) -> torch.Tensor:
    """``count`` random ``size``x``size`` crops of one random channel each (TE-NAS's
    ``RandomCrop`` + ``RandChannel(1)``), [count, 1, size, size]."""
    n, c, h, w = images.shape
    pick = torch.randint(n, (count,), generator=generator)
    chan = torch.randint(c, (count,), generator=generator)
    top = torch.randint(h - size + 1, (count,), generator=generator)
    left = torch.randint(w - size + 1, (count,), generator=generator)
    rows = top[:, None] + torch.arange(size)
    cols = left[:, None] + torch.arange(size)
    crops = images[pick[:, None, None], chan[:, None, None], rows[:, :, None], cols[:, None, :]]
    return crops[:, None]


@register("tenas_lr", paper="Chen et al. 2021, TE-NAS: number of linear regions (higher = better)", batch_size=LR_SOURCE_IMAGES, network="tenas_lr")
@torch.no_grad()
def tenas_lr(network: nn.Module, images: torch.Tensor, labels: torch.Tensor, crops: torch.Tensor | None = None) -> float:
    """Distinct ReLU activation patterns over 3 x 1000 crops: each distinct pattern is one
    linear region of the network that the inputs fall in. Counted with ``torch.unique`` over
    the sign patterns (TE-NAS counts the same with an n x n Hamming matrix)."""
    if crops is None:
        crops = random_crops(images, torch.Generator().manual_seed(0))
    network.train()
    patterns: list[torch.Tensor] = []
    current: list[torch.Tensor] = []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            current.append(output.reshape(len(output), -1) > 0)

    with hooks(layers_of(network, nn.ReLU), record):
        for batch in crops.split(LR_CROPS_PER_BATCH):
            current.clear()
            network(batch)
            if current:
                patterns.append(torch.cat(current, 1))
    if not patterns:
        return 1.0  # no ReLU on the path: the network is linear, one region
    return float(len(torch.unique(torch.cat(patterns), dim=0)))


def rank_combination(columns: Sequence[np.ndarray]) -> np.ndarray:
    """TE-NAS's way to combine proxies over a set of archs: each proxy ranks the set (1 = best,
    ties share the best rank), the ranks are summed and negated so that higher is better. Ranks,
    not raw scores, so no proxy's scale dominates."""
    return -np.sum([rankdata(-np.asarray(c, dtype=np.float64), method="min") for c in columns], axis=0)


def tenas_rank(ntk: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """TE-NAS's own combination: NTK condition number (lower is better; ``ntk`` is
    :func:`tenas_ntk`'s already negated score) and linear regions (more is better)."""
    return rank_combination([ntk, regions])
