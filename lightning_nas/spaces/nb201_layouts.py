"""How NB201 (NATS-tss) cells are laid out for each encoding (:class:`~lightning_nas.spaces.base.Layout`).

The graph-shaped encodings read the *ops-on-nodes* cell graph (:mod:`lightning_nas.spaces.nb201_costs`):
node 0 the cell input, nodes 1..6 the edge ops, node 7 the output, without edges that only carry
``none`` outputs, so cells that compute the same function get the same graph. Per node it gives
the op type and the op's params and FLOPs in each of the 3 stages (all 5 cells of a stage are equal).
"""

from __future__ import annotations

import numpy as np

from lightning_nas.spaces.base import Layout
from lightning_nas.spaces.nb201 import NUM_EDGES, OPS
from lightning_nas.spaces.nb201_costs import NUM_NODES, NUM_STAGES, effective_adjacency, node_types, op_costs

#: input, the 5 ops, output
NODE_TYPES = len(OPS) + 2


def _node_costs(op_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(params, FLOPs) of every node in each stage, [N, 3, 8] each (0 for input and output)."""
    pad = ((0, 0), (0, 0), (1, 1))
    params, flops = op_costs(op_ids)
    return np.pad(params, pad), np.pad(flops, pad)


def renas(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    op_ids = structure["ops"]
    params, flops = _node_costs(op_ids)
    return {"adjacency": effective_adjacency(op_ids), "node_type": node_types(op_ids) + 1, "flops": flops, "params": params}


def graph(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    op_ids = structure["ops"]
    params, flops = op_costs(op_ids)
    costs = np.pad(np.concatenate([params, flops], axis=1), ((0, 0), (0, 0), (1, 1))).transpose(0, 2, 1)
    return {
        "onehot": node_types(op_ids)[..., None] == np.arange(NODE_TYPES),
        "costs": costs,
        "adjacency": effective_adjacency(op_ids),
        "num_nodes": np.full(len(op_ids), NUM_NODES),
    }


def onehot(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One-hot (5 ops) of the 6 edges."""
    ops = structure["ops"]
    return {"x": (ops[..., None] == np.arange(len(OPS))).reshape(len(ops), NUM_EDGES * len(OPS))}


def path(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The ops-on-nodes graph with each op node's digit among the 4 ops other than ``none`` (-1 for
    input, output and ``none``: :func:`effective_adjacency` has already cut the edges through it)."""
    ops = structure["ops"]
    n = len(ops)
    digit = np.concatenate([np.full((n, 1), -1), ops - 1, np.full((n, 1), -1)], axis=1)
    return {"adjacency": effective_adjacency(ops), "digit": digit}


LAYOUTS = {
    "renas": Layout(renas, {"channels": 1 + 2 * NUM_STAGES, "size": NUM_NODES}),
    "graph": Layout(graph, {"node_features": NODE_TYPES + 2 * NUM_STAGES, "max_nodes": NUM_NODES}),
    "onehot": Layout(onehot, {"features": NUM_EDGES * len(OPS)}),
    # a path passes 1-3 of the 4 ops other than none: 4 + 4^2 + 4^3 names
    "path": Layout(path, {"num_ops": len(OPS) - 1, "shortest": 1, "longest": 3, "features": sum((len(OPS) - 1) ** k for k in range(1, 4))}),
}
