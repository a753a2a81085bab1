"""Cost model of the NAS-Bench-101 network, vectorised over many cells.

The benchmark network is a 3x3 conv stem (128 channels), then 3 stacks of 3 cells with a 2x2
max-pool between stacks (channels double, resolution halves: 32, 16, 8), then global pooling and
a 10-way linear classifier. Inside a cell, NAS-Bench-101's vertex-channel rule
(``model_builder.compute_vertex_channels``) splits the cell's output channels evenly over the
vertices that feed the output (the remainder goes to the earliest ones) and gives every other
interior vertex the max of its successors. A vertex fed by the cell input first projects it with
a 1x1 conv-BN-ReLU; tensors from other vertices are truncated to the vertex's width. Convs have
no bias; every BN has 2 trainable parameters per channel.

Per vertex and cell this gives trainable parameters and multiply-accumulates (FLOPs) of the
vertex's op plus the projection feeding it (the output vertex carries the input→output
projection). Summed over the 9 cells plus stem and classifier the parameters equal the
benchmark's ``trainable_parameters`` exactly, and the FLOPs, counted as ``thop`` counts them
(2 per BN output element besides the convolutions), the compact table's ``flops``: the
test-suite checks both for every cell.

All functions take cells in the *output-last* layout (:func:`to_output_last`): 7 vertices with
the output at index 6 and unused vertices isolated, so every cell has the same shape.
"""

from __future__ import annotations

import numpy as np

from lightning_nas.utils.row_blocks import in_row_blocks
from lightning_nas.spaces.datasets import get_dataset
from lightning_nas.spaces.nb101 import CONV1X1, CONV3X3, MAX_VERTICES, OP_IDS

STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3
NUM_CLASSES = get_dataset("cifar10").num_classes  # NAS-Bench-101 trained on CIFAR-10 only
IMAGE_SIZE = get_dataset("cifar10").image_side
STEM_PARAMS = 3 * 3 * 3 * STEM_CHANNELS + 2 * STEM_CHANNELS
CLASSIFIER_PARAMS = STEM_CHANNELS * 2 ** (NUM_STACKS - 1) * NUM_CLASSES + NUM_CLASSES
STEM_FLOPS = IMAGE_SIZE**2 * (3 * 3 * 3 * STEM_CHANNELS + 2 * STEM_CHANNELS)  # conv + BN, as thop counts them
CLASSIFIER_FLOPS = STEM_CHANNELS * 2 ** (NUM_STACKS - 1) * NUM_CLASSES  # thop counts no pooling, ReLU or max-pool
_OUT = MAX_VERTICES - 1


def to_output_last(adjacency: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Table layout (output at ``V-1``) -> output-last layout (output at 6, unused vertices
    in between carry no edges and op ``-1``). Vectorised over a leading batch axis."""
    n = len(ops)
    v = (ops >= 0).sum(1)
    j = np.arange(MAX_VERTICES)
    # source vertex for each target slot; MAX_VERTICES points at an all-zero pad row/col
    src = np.where(j[None] < (v - 1)[:, None], j[None], MAX_VERTICES)
    src[:, _OUT] = v - 1
    padded = np.zeros((n, MAX_VERTICES + 1, MAX_VERTICES + 1), dtype=adjacency.dtype)
    padded[:, :MAX_VERTICES, :MAX_VERTICES] = adjacency
    rows = np.take_along_axis(padded, src[:, :, None], axis=1)
    out_adj = np.take_along_axis(rows, src[:, None, :], axis=2)
    out_ops = np.take_along_axis(np.concatenate([ops, np.full((n, 1), -1, ops.dtype)], 1), src, axis=1)
    return out_adj, out_ops


def vertex_channels(adjacency: np.ndarray, out_channels: int) -> np.ndarray:
    """NAS-Bench-101's vertex-channel rule for output-last cells: int64 [N, 7]
    (input and output entries are left 0; the caller knows those widths)."""
    a = adjacency.astype(bool)
    n = len(a)
    feeds_out = a[:, 1:_OUT, _OUT]  # [N, 5] interior vertices feeding the output
    fan_in = feeds_out.sum(1)
    safe = np.maximum(fan_in, 1)
    interior, correction = out_channels // safe, out_channels % safe
    rank = np.cumsum(feeds_out, axis=1) - 1  # 0-based order among output feeders
    ch = np.zeros((n, MAX_VERTICES), dtype=np.int64)
    ch[:, 1:_OUT] = np.where(feeds_out, interior[:, None] + (rank < correction[:, None]), 0)
    for v in range(_OUT - 2, 0, -1):  # backwards: max over successors (not the output)
        succ = a[:, v, v + 1 : _OUT]
        best = np.where(succ, ch[:, v + 1 : _OUT], 0).max(1)
        ch[:, v] = np.where(feeds_out[:, v - 1], ch[:, v], best)
    return ch


def cell_costs(adjacency: np.ndarray, ops: np.ndarray, bn_flops: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex (params, FLOPs) of each of the 9 cells: two float64 arrays [N, 9, 7]. FLOPs are
    the convolutions' multiply-accumulates; ``bn_flops`` adds 2 per element of every BN output,
    as ``thop`` counts a BatchNorm (the compact table's ``flops``, :func:`total_flops`)."""
    a = adjacency.astype(bool)
    n = len(a)
    kernel_sq = np.select([ops == OP_IDS[CONV3X3], ops == OP_IDS[CONV1X1]], [9, 1], 0)
    is_conv = kernel_sq > 0
    params = np.zeros((n, NUM_STACKS * CELLS_PER_STACK, MAX_VERTICES))
    flops = np.zeros_like(params)
    for s in range(NUM_STACKS):
        c_out = STEM_CHANNELS * 2**s
        hw = (IMAGE_SIZE // 2**s) ** 2
        ch = vertex_channels(adjacency, c_out).astype(np.float64)
        ch[:, _OUT] = c_out
        op_params = np.where(is_conv, kernel_sq * ch * ch + 2 * ch, 0)
        bn = 2 * hw * ch if bn_flops else 0  # per BN after a conv or a projection
        op_flops = np.where(is_conv, hw * kernel_sq * ch * ch + bn, 0)
        for c in range(CELLS_PER_STACK):
            c_in = c_out // 2 if (s > 0 and c == 0) else c_out
            proj = a[:, 0, :].copy()
            proj[:, 0] = False
            cell = s * CELLS_PER_STACK + c
            params[:, cell] = op_params + np.where(proj, c_in * ch + 2 * ch, 0)
            flops[:, cell] = op_flops + np.where(proj, hw * c_in * ch + bn, 0)
    return params, flops


def _cell_sums(adjacency: np.ndarray, ops: np.ndarray, bn_flops: bool = False) -> np.ndarray:
    """int64 [N, 2]: the params and FLOPs of each network's 9 cells, summed. Run a block of rows at a
    time: the per-vertex costs of every NB101 cell at once take 410 MiB."""

    def block(adjacency: np.ndarray, ops: np.ndarray) -> np.ndarray:
        params, flops = cell_costs(adjacency, ops, bn_flops)
        return np.rint(np.stack([params.sum((1, 2)), flops.sum((1, 2))], axis=1)).astype(np.int64)

    return in_row_blocks(block, adjacency, ops)


def total_params(adjacency: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """Trainable parameters of whole networks (output-last cells): int64 [N]."""
    return _cell_sums(adjacency, ops)[:, 0] + STEM_PARAMS + CLASSIFIER_PARAMS


def total_flops(adjacency: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """FLOPs of whole networks (output-last cells) as ``thop`` counts them on a 1x3x32x32 input:
    int64 [N]. This is the compact NB101 table's ``flops`` for every cell, so a table read from the
    official tfrecord, which has no FLOPs, gets the same column."""
    return _cell_sums(adjacency, ops, bn_flops=True)[:, 1] + STEM_FLOPS + CLASSIFIER_FLOPS
