"""TE-NAS (Chen et al., "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically
Inspired Perspective", ICLR 2021) and TEGNAS (Chen et al., "Understanding and Accelerating Neural
Architecture Search with Training-Free and Theory-Grounded Metrics", 2021): trainability from the
NTK condition number, expressivity from the number of linear regions, generalization from the
NTK's kernel-regression error, and their rank combinations.

Protocols (registered defaults, see :mod:`lightning_nas.proxies.protocol`) as in TE-NAS's
``prune_launch.py`` / ``prune_tenas.py`` for NAS-Bench-201: the NTK on the small cell network
(``C=3, N=1``, train-mode BN), batch 72, averaged over 3 draws of a Kaiming-normal fan-out
initialisation and an augmented training batch; linear regions on the thin network (``C=1, N=1``,
no stem, first cell only) fed 1-channel 3x3 crops of real images, 3 batches of 1000, averaged over 3
Kaiming-normal fan-in initialisations. TEGNAS's generalization indicator as its
``te_reward_generator.py``: PyTorch's initialisation, 64 + 64 images, 3 initialisations.
``full_network`` scores the NTK on the benchmark network instead.
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
from lightning_nas.proxies.protocol import Protocol
from lightning_nas.utils.errors import InvalidArgument

LR_CROPS_PER_BATCH = 1000
LR_BATCHES = 3
#: The images the crops are cut from (its registered batch size): fixed, so that tenas_lr scores the
#: same whichever proxies are requested beside it; 128 keeps the crops of tables scored before.
LR_SOURCE_IMAGES = 128


def jacobian(network: nn.Module, images: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """[n, Σ sizes] rows d(Σ_c logit_c(x_i))/dθ over ``weights``, train-mode BN, float64.

    Exactly the authors' per-image backward passes through the shared batch graph (BN couples the
    images, so no per-sample shortcut is exact; a vmapped backward measured 2-3x slower on this
    CPU). On the CPU they are spread over one Python thread per core with one intra-op thread each:
    these tiny networks are too small for intra-op parallelism, which only adds overhead. A GPU runs
    them one after another."""
    network.train()
    sizes = [w.numel() for w in weights]
    with single_threaded_ops():
        outputs = network(images).sum(1)
        rows_out = images.new_zeros(len(outputs), sum(sizes))

        def rows(indices: range) -> None:
            for i in indices:
                grads = torch.autograd.grad(outputs[i], weights, retain_graph=True, allow_unused=True)
                rows_out[i] = torch.cat([g.reshape(-1) if g is not None else images.new_zeros(n) for g, n in zip(grads, sizes)])

        workers = 1 if images.is_cuda else max(1, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(rows, [range(k, len(outputs), workers) for k in range(workers)]))
    return rows_out.double()


def weight_tensors(network: nn.Module, within: str = "") -> list[torch.Tensor]:
    """The ``weight`` parameters (conv, BN and linear) whose name contains ``within``, as the authors select them."""
    return [p for n, p in network.named_parameters() if "weight" in n and within in n]


@register("tenas_ntk", paper="Chen et al. 2021, TE-NAS: NTK condition number (negated: higher = better)", network="tenas_ntk",
          protocol=Protocol(72, repeats=3, repeat_over="init+batch", init="kaiming_normal_fanout", augment=True))
def tenas_ntk(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """−λ_max/λ_min of the empirical NTK Θ = J Jᵀ over every ``weight`` tensor, as TE-NAS's
    ``get_ntk_n`` (one draw; the protocol averages three, each a fresh Kaiming fan-out
    initialisation and the next augmented batch of 72, as ``prune_tenas.py --repeat 3``)."""
    rows = jacobian(network, images, weight_tensors(network))
    eig = torch.linalg.eigvalsh(rows @ rows.T)
    return -(eig[-1] / eig[0]).item() if eig[0] > 0 else -np.inf


@register("tegnas_mse", paper="Chen et al. 2021, TEGNAS: generalization, NTK kernel-regression error on held-out images (negated: higher = better)",
          network="tenas_ntk", protocol=Protocol(128, repeats=3, repeat_over="init"))
def tegnas_mse(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """TEGNAS's generalization indicator: kernel regression with the NTK of the cells' weights,
    fit on the first half of the batch (x) and evaluated on the second (y): −mean_i ‖K_yx K_xx⁻¹ Ŷ_x − Ŷ_y‖²
    with Ŷ the one-hot labels centred per half. As TEGNAS on NB201: TE-NAS's ``C=3, N=1`` network,
    PyTorch's initialisation, 64 + 64 images, three initialisations averaged (its ``repeat``);
    TEGNAS draws y from the validation split, here the half of the batch x is not. −inf when K_xx is singular
    (TEGNAS marks such a network bad and ranks it last)."""
    half = len(images) // 2
    if half < 2:
        raise InvalidArgument(f"tegnas_mse needs a batch of at least 4 images (two halves), got {len(images)}")
    cells = weight_tensors(network, "cells")
    num_classes = network.classifier.out_features
    jx, jy = jacobian(network, images[:half], cells), jacobian(network, images[half : 2 * half], cells)
    yx, yy = (_centred_one_hot(part, num_classes) for part in (labels[:half], labels[half : 2 * half]))
    try:
        fit = torch.linalg.solve(jx @ jx.T, yx)
    except torch.linalg.LinAlgError:
        return -np.inf
    prediction = (jy @ jx.T) @ fit
    error = ((prediction - yy) ** 2).sum(1).mean().item()
    return -error if np.isfinite(error) else -np.inf


def _centred_one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    one_hot = nn.functional.one_hot(labels, num_classes).double()
    return one_hot - one_hot.mean(0)


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


@register("tenas_lr", paper="Chen et al. 2021, TE-NAS: number of linear regions (higher = better)", network="tenas_lr",
          protocol=Protocol(LR_SOURCE_IMAGES, repeats=3, repeat_over="init", init="kaiming_normal_fanin"))
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


def reference_rank_combination(columns: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> np.ndarray:
    """A rank combination that scores each arch on its own: per proxy, the fraction of a fixed set
    of reference archs whose score it beats (a tie counts half), summed over proxies. An arch's
    fitness then never depends on which other archs are scored beside it, as evolution and
    REINFORCE need; over a large reference set it orders archs as :func:`rank_combination` does."""
    total = np.zeros(len(columns[0]))
    for column, ref in zip(columns, reference):
        ref = np.sort(np.asarray(ref, dtype=np.float64))
        below = np.searchsorted(ref, column, side="left")
        upto = np.searchsorted(ref, column, side="right")
        total += (below + upto) / (2 * len(ref))
    return total


def tenas_rank(ntk: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """TE-NAS's own combination: NTK condition number (lower is better; ``ntk`` is
    :func:`tenas_ntk`'s already negated score) and linear regions (more is better)."""
    return rank_combination([ntk, regions])

