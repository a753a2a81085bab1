"""How NB101 cells are laid out for each encoding (:class:`~lightning_nas.spaces.base.Layout`).

Costs come from NAS-Bench-101's own vertex-channel rule (:mod:`lightning_nas.spaces.nb101_costs`): the
width of every vertex depends on the whole cell, so the same op costs differently in different
cells, which the graph-shaped encodings pass on beside the op types.
"""

from __future__ import annotations

import numpy as np

from lightning_nas.spaces import nb101_costs
from lightning_nas.spaces.base import Layout
from lightning_nas.spaces.nb101 import CONV1X1, CONV3X3, INTERIOR_OPS, MAX_VERTICES, MAXPOOL3X3, OP_IDS, OP_NAMES
from lightning_nas.spaces.nb101_cell_stats import CELL_STATS, cell_stats

_INTERIOR_CODES = np.array([OP_IDS[CONV1X1], OP_IDS[CONV3X3], OP_IDS[MAXPOOL3X3]])
_UPPER = np.triu_indices(MAX_VERTICES, k=1)
_CELLS = nb101_costs.NUM_STACKS * nb101_costs.CELLS_PER_STACK


def renas(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The output-last cell (output vertex at index 6) with each vertex's type (op code + 1, 0 for an
    unused vertex) and its FLOPs and params in each of the 9 cells of the network (op + input projection)."""
    adjacency, ops = nb101_costs.to_output_last(structure["adjacency"], structure["ops"])
    params, flops = nb101_costs.cell_costs(adjacency, ops)
    return {"adjacency": adjacency, "node_type": np.where(ops >= 0, ops + 1, 0), "flops": flops, "params": params}


def graph(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The cell DAG itself (table layout, V <= 7 nodes): one-hot of the 5 op types (padding rows
    all-zero) and the vertex's params and FLOPs in one cell of each of the 3 stacks."""
    ops = structure["ops"]
    params, flops = nb101_costs.cell_costs(*nb101_costs.to_output_last(structure["adjacency"], ops))
    # one cell per stack (the 2nd: same input width as the cell's output), back to table layout
    per_stack = np.concatenate([params[:, 1::3], flops[:, 1::3]], axis=1)  # [N, 6, 7]
    v = (ops >= 0).sum(1, keepdims=True)
    j = np.arange(MAX_VERTICES)[None]
    slot = np.where(j < v - 1, j, MAX_VERTICES - 1)
    costs = np.take_along_axis(per_stack, slot[:, None, :], axis=2).transpose(0, 2, 1) * (j < v)[..., None]
    return {"onehot": ops[..., None] == np.arange(len(OP_NAMES)), "costs": costs, "adjacency": structure["adjacency"], "num_nodes": v[:, 0]}


def onehot(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The 21 upper-triangular adjacency bits of the output-last cell + one-hot (3 ops) of the 5
    interior vertices (unused vertices all-zero)."""
    adjacency, ops = nb101_costs.to_output_last(structure["adjacency"], structure["ops"])
    interior = ops[:, 1:-1, None] == _INTERIOR_CODES
    return {"x": np.concatenate([adjacency[:, _UPPER[0], _UPPER[1]], interior.reshape(len(ops), interior.shape[1] * interior.shape[2])], axis=1)}


def path(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The output-last cell with each interior vertex's digit among the 3 interior ops (-1 for input,
    output and unused vertices)."""
    adjacency, ops = nb101_costs.to_output_last(structure["adjacency"], structure["ops"])
    lookup = np.full(len(OP_NAMES) + 1, -1)
    lookup[[OP_IDS[op] for op in INTERIOR_OPS]] = np.arange(len(INTERIOR_OPS))
    return {"adjacency": adjacency, "digit": lookup[ops]}  # unused (-1) -> the last entry, -1


LAYOUTS = {
    "renas": Layout(renas, {"channels": 1 + 2 * _CELLS, "size": MAX_VERTICES}),
    "graph": Layout(graph, {"node_features": len(OP_NAMES) + 2 * nb101_costs.NUM_STACKS, "max_nodes": MAX_VERTICES}),
    "onehot": Layout(onehot, {"features": len(_UPPER[0]) + (MAX_VERTICES - 2) * len(INTERIOR_OPS)}),
    # a path passes 0-5 of the 3 interior ops: 3^0 + ... + 3^5 names (the empty one is the input -> output edge)
    "path": Layout(path, {"num_ops": len(INTERIOR_OPS), "shortest": 0, "longest": MAX_VERTICES - 2,
                          "features": sum(len(INTERIOR_OPS) ** k for k in range(MAX_VERTICES - 1))}),
    "cell_stats": Layout(cell_stats, {"features": len(CELL_STATS)}, CELL_STATS),
}
