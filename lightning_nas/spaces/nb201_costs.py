"""Cost model of the NAS-Bench-201 network and its ops-on-nodes cell graph.

The network is a 3x3 conv stem (16 channels), then 3 stages of 5 identical cells (16, 32, 64
channels at 32x32, 16x16, 8x8) joined by residual reduction blocks, then global pooling and a
linear classifier. Inside a cell, ``nor_conv_kxk`` is ReLU-Conv(k x k, no bias)-BN (2 trainable
parameters per channel); pooling, skip and none have no parameters.

The *ops-on-nodes* graph moves each of the 6 edge ops onto a node: node 0 is the cell input,
nodes 1..6 the edges in :data:`EDGES` order, node 7 the cell output (sum of node 3's inputs).
"""

from __future__ import annotations

import numpy as np

from lightning_nas.spaces.datasets import get_dataset
from lightning_nas.spaces.nb201 import EDGES, OP_IDS, OPS

STEM_CHANNELS = 16
NUM_STAGES = 3
IMAGE_SIZE = get_dataset("cifar10").image_side  # the network the benchmark's costs describe
NUM_NODES = len(EDGES) + 2
OUTPUT_NODE = NUM_NODES - 1


def node_types(op_ids: np.ndarray) -> np.ndarray:
    """Type of every node of the ops-on-nodes graph [N, 8]: 0 input, 1..5 the ops in ``OPS``
    order, 6 output."""
    n = len(op_ids)
    return np.concatenate([np.zeros((n, 1), np.int64), op_ids + 1, np.full((n, 1), len(OPS) + 1)], axis=1)


def node_adjacency() -> np.ndarray:
    """The fixed 8x8 adjacency of the ops-on-nodes cell graph."""
    adj = np.zeros((NUM_NODES, NUM_NODES), dtype=np.uint8)
    for e, (src, dst) in enumerate(EDGES, start=1):
        if src == 0:
            adj[0, e] = 1
        for f, (src2, _) in enumerate(EDGES, start=1):
            if src2 == dst:
                adj[e, f] = 1
        if dst == 3:
            adj[e, OUTPUT_NODE] = 1
    return adj


def effective_adjacency(op_ids: np.ndarray) -> np.ndarray:
    """Per-cell ops-on-nodes adjacency [N, 8, 8] keeping only nodes on an input→output path
    that does not pass through ``none`` (a ``none`` edge outputs zeros, so anything that only
    flows through it cannot affect the result). Functionally equivalent cells thus get the same
    graph, e.g. every cell whose input cannot reach its output becomes an empty graph."""
    n = len(op_ids)
    adj = np.broadcast_to(node_adjacency().astype(bool), (n, NUM_NODES, NUM_NODES))
    alive = np.ones((n, NUM_NODES), dtype=bool)
    alive[:, 1:OUTPUT_NODE] = op_ids != OP_IDS["none"]
    forward = np.zeros_like(alive)
    forward[:, 0] = True
    for v in range(1, NUM_NODES):  # node order is topological
        forward[:, v] = alive[:, v] & (adj[:, :v, v] & forward[:, :v]).any(1)
    backward = np.zeros_like(alive)
    backward[:, OUTPUT_NODE] = True
    for v in range(OUTPUT_NODE - 1, -1, -1):
        backward[:, v] = alive[:, v] & (adj[:, v, v + 1 :] & backward[:, v + 1 :]).any(1)
    keep = forward & backward
    return (adj & keep[:, :, None] & keep[:, None, :]).astype(np.uint8)


def op_costs(op_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge-op (params, FLOPs) in each stage: two float64 arrays [N, 3, 6]."""
    kernel_sq = np.select([op_ids == OP_IDS["nor_conv_3x3"], op_ids == OP_IDS["nor_conv_1x1"]], [9, 1], 0)
    params = np.zeros((len(op_ids), NUM_STAGES, op_ids.shape[1]))
    flops = np.zeros_like(params)
    for s in range(NUM_STAGES):
        c = STEM_CHANNELS * 2**s
        hw = (IMAGE_SIZE // 2**s) ** 2
        params[:, s] = np.where(kernel_sq > 0, kernel_sq * c * c + 2 * c, 0)
        flops[:, s] = hw * kernel_sq * c * c
    return params, flops


#: Cells per stage of the benchmark network.
CELLS_PER_STAGE = 5


def network_flops(op_ids: np.ndarray, dataset: str) -> np.ndarray:
    """Multiply-accumulates of one forward pass of each cell's benchmark network on one image of ``dataset``
    [N], counted as ``torch.utils.flop_counter`` counts them (convolutions and the classifier; pooling, BN and
    additions cost nothing): the stem, the two residual reduction blocks (3x3 conv with stride 2, 3x3 conv,
    average pool + 1x1 conv shortcut) and the classifier, plus every edge op of the 5 cells of each stage."""
    data = get_dataset(dataset)
    scale = (data.image_side / IMAGE_SIZE) ** 2  # op_costs counts at CIFAR's 32x32
    fixed = data.image_side**2 * 9 * 3 * STEM_CHANNELS  # stem
    for s in range(1, NUM_STAGES):
        c_in, c_out, side = STEM_CHANNELS * 2 ** (s - 1), STEM_CHANNELS * 2**s, data.image_side // 2**s
        fixed += side**2 * (9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out)
    fixed += STEM_CHANNELS * 2 ** (NUM_STAGES - 1) * data.num_classes  # classifier
    cells = op_costs(op_ids)[1].sum((1, 2)) * CELLS_PER_STAGE * scale
    return fixed + cells
