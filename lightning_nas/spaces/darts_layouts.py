"""How DARTS genotypes are laid out for each encoding (:class:`~lightning_nas.spaces.base.Layout`).

The graph-shaped encodings read an *ops-on-nodes* graph of both cells, 15 nodes each (normal cell
0..14, reduction cell 15..29): the cell's two inputs, its 8 ops, the 4 intermediate nodes that sum
two ops each, and the output that concatenates them; an op node takes its input from the cell input
or intermediate node its pair names. Per node: its type and, in each of the 8 cells of NAS-Bench-301's
network (32 channels; reductions at cells 2 and 5), the op's parameters and multiply-accumulates
there (0 in cells of the other type), from :func:`op_costs` — the width an op works at, which its
type alone does not say.
"""

from __future__ import annotations

import numpy as np

from lightning_nas.spaces.base import Layout
from lightning_nas.spaces.darts import CELLS, NB301_CHANNELS, NB301_LAYERS, NODES, OP_IDS, OPS, PAIRS, reduction_cells

#: per cell: 2 inputs, 8 ops, 4 intermediate nodes, the output
CELL_NODES = 2 + PAIRS + NODES + 1
NUM_NODES = len(CELLS) * CELL_NODES
#: input 0, input 1, the 7 ops, intermediate (sum), output (concat), and one flag for the reduction cell's nodes
NODE_TYPES = 2 + len(OPS) + 2
INPUT_0, INPUT_1, SUM, OUTPUT = 0, 1, 2 + len(OPS), 3 + len(OPS)


def network_cells(channels: int = NB301_CHANNELS, layers: int = NB301_LAYERS, size: int = 32) -> list[tuple[bool, int, int]]:
    """``(reduction, channels, output size)`` of each cell of DARTS's CIFAR network."""
    cells, c = [], channels
    for i in range(layers):
        reduction = i in reduction_cells(layers)
        if reduction:
            c, size = 2 * c, size // 2
        cells.append((reduction, c, size))
    return cells


def op_costs(op_ids: np.ndarray, strided: np.ndarray, channels: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(params, multiply-accumulates) of DARTS ops at ``channels`` with ``size`` x ``size`` outputs:
    convolutions only, BN without scale and shift (NAS-Bench-301's ops); a strided skip is the
    factorized reduction (two 1x1 convs to half the channels each)."""
    params = np.zeros(op_ids.shape, dtype=np.float64)
    for name in ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"):
        kernel = int(name[-1])
        convs = 2 if name.startswith("sep") else 1  # a separable conv is two depthwise + pointwise pairs
        params[op_ids == OP_IDS[name]] = convs * (channels * kernel * kernel + channels * channels)
    params[(op_ids == OP_IDS["skip_connect"]) & strided] = channels * channels
    return params, params * size * size


def _node_costs(structure: dict[str, np.ndarray]) -> np.ndarray:
    """[N, 30 nodes, 2 x 8 cells]: each op node's params then MACs in every cell of NB301's network."""
    ops, inputs = structure["ops"].astype(np.int64), structure["inputs"]
    n = len(ops)
    costs = np.zeros((n, NUM_NODES, 2 * NB301_LAYERS))
    for cell, (reduction, channels, size) in enumerate(network_cells()):
        kind = int(reduction)
        params, flops = op_costs(ops[:, kind], reduction & (inputs[:, kind] < 2), channels, size)
        first = kind * CELL_NODES + 2
        costs[:, first : first + PAIRS, cell] = params
        costs[:, first : first + PAIRS, NB301_LAYERS + cell] = flops
    return costs


def _adjacency_and_types(structure: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The ops-on-nodes graph's adjacency [N, 30, 30] and node types [N, 30] (reduction-cell nodes + NODE_TYPES)."""
    ops, inputs = structure["ops"].astype(np.int64), structure["inputs"].astype(np.int64)
    n = len(ops)
    adjacency = np.zeros((n, NUM_NODES, NUM_NODES), dtype=np.uint8)
    types = np.zeros((n, NUM_NODES), dtype=np.int64)
    rows = np.arange(n)
    for kind in range(len(CELLS)):
        base = kind * CELL_NODES
        intermediate = base + 2 + PAIRS
        types[:, base : base + 2] = (INPUT_0, INPUT_1)
        types[:, base + 2 : base + 2 + PAIRS] = 2 + ops[:, kind]
        types[:, intermediate : intermediate + NODES] = SUM
        types[:, base + CELL_NODES - 1] = OUTPUT
        for pair in range(PAIRS):
            source = inputs[:, kind, pair]
            source_node = np.where(source < 2, base + source, intermediate + source - 2)
            adjacency[rows, source_node, base + 2 + pair] = 1
            adjacency[rows, base + 2 + pair, intermediate + pair // 2] = 1
        adjacency[:, intermediate : intermediate + NODES, base + CELL_NODES - 1] = 1
        types[:, base : base + CELL_NODES] += kind * NODE_TYPES
    return adjacency, types


def graph(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    adjacency, types = _adjacency_and_types(structure)
    kind, base_type = np.divmod(types, NODE_TYPES)
    onehot = np.concatenate([base_type[..., None] == np.arange(NODE_TYPES), kind[..., None] == 1], axis=2)
    return {"onehot": onehot, "costs": _node_costs(structure), "adjacency": adjacency, "num_nodes": np.full(len(types), NUM_NODES)}


def renas(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Type channel: the node type + 1 (reduction-cell types after the normal cell's); then FLOPs and params per network cell."""
    adjacency, types = _adjacency_and_types(structure)
    costs = _node_costs(structure).transpose(0, 2, 1)
    return {"adjacency": adjacency, "node_type": types + 1, "flops": costs[:, NB301_LAYERS:], "params": costs[:, :NB301_LAYERS]}


def onehot(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per cell and pair (canonical order): a one-hot of its op (7) and of its input (5)."""
    ops, inputs = structure["ops"], structure["inputs"]
    features = np.concatenate([ops[..., None] == np.arange(len(OPS)), inputs[..., None] == np.arange(NODES + 1)], axis=3)
    return {"x": features.reshape(len(ops), len(CELLS) * PAIRS * (len(OPS) + NODES + 1))}


LAYOUTS = {
    "renas": Layout(renas, {"channels": 1 + 2 * NB301_LAYERS, "size": NUM_NODES}),
    "graph": Layout(graph, {"node_features": NODE_TYPES + 1 + 2 * NB301_LAYERS, "max_nodes": NUM_NODES}),
    "onehot": Layout(onehot, {"features": len(CELLS) * PAIRS * (len(OPS) + NODES + 1)}),
}
