"""Order-free statistics of NAS-Bench-101 cells, an extra-feature group for predictor heads.

A ReNAS tensor is read by convolutions over one vertex order, so facts about the whole DAG (how
deep the cell is, how many 3x3 convolutions its longest path holds, which op feeds which) are
hard for it to assemble; a GIN sees them by construction and gains nothing from them. With
``extra_features: [params, flops, cell_stats]`` the head of a predictor receives the
:data:`CELL_STATS` columns (the group name expands to ``cell_stats/<name>``), each one the same
for every vertex order of a cell:

* ``depth{d}_{op}``: vertices of each op at longest-path distance ``d`` (1-5) from the input;
* ``output_depth`` / ``output_distance``: longest / shortest path from input to output;
  ``output_fan_in``, ``input_fan_out``: edges into the output and out of the input;
* ``path_max_{op}``: the most vertices of each op on one input-output path;
* ``edges_{a}_{b}``: edges from an ``a`` vertex to a ``b`` vertex; ``two_hop_{a}_{b}``: paths
  ``a`` -> any vertex -> ``b``.
"""

from __future__ import annotations

import numpy as np

from lightning_nas.spaces import nb101_costs
from lightning_nas.spaces.nb101 import CONV1X1, CONV3X3, INPUT, MAX_VERTICES, MAXPOOL3X3, OP_IDS, OUTPUT

_SHORT = {INPUT: "input", CONV1X1: "conv1x1", CONV3X3: "conv3x3", MAXPOOL3X3: "maxpool", OUTPUT: "output"}
_INTERIOR = (CONV1X1, CONV3X3, MAXPOOL3X3)
_SOURCES, _TARGETS = (INPUT, *_INTERIOR), (*_INTERIOR, OUTPUT)
_DEPTHS = range(1, MAX_VERTICES - 1)
_OUT = MAX_VERTICES - 1

#: Column names, in the order of :func:`cell_stats`'s ``x``.
CELL_STATS: tuple[str, ...] = (
    *(f"depth{d}_{_SHORT[op]}" for op in _INTERIOR for d in _DEPTHS),
    "output_depth", "output_distance", "output_fan_in", "input_fan_out",
    *(f"path_max_{_SHORT[op]}" for op in _INTERIOR),
    *(f"edges_{_SHORT[a]}_{_SHORT[b]}" for a in _SOURCES for b in _TARGETS),
    *(f"two_hop_{_SHORT[a]}_{_SHORT[b]}" for a in _SOURCES for b in _TARGETS),
)  # fmt: skip


def cell_stats(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """NB101 structure -> ``x`` float32 [N, len(CELL_STATS)]."""
    adjacency, ops = nb101_costs.to_output_last(structure["adjacency"], structure["ops"])
    a = adjacency.astype(bool)
    n = len(a)
    is_op = {op: ops == OP_IDS[op] for op in (INPUT, *_TARGETS)}
    # longest / shortest distance from the input, and the most vertices of each op on a path
    # into each vertex: one pass in vertex order (edges only go forward); -1 = not reached
    depth, distance = np.full((n, MAX_VERTICES), -1), np.full((n, MAX_VERTICES), -1)
    most = {op: np.full((n, MAX_VERTICES), -1) for op in _INTERIOR}
    depth[:, 0] = distance[:, 0] = 0
    for op in _INTERIOR:
        most[op][:, 0] = 0
    for j in range(1, MAX_VERTICES):
        into = a[:, :j, j] & (depth[:, :j] >= 0)
        reached = into.any(1)
        depth[:, j] = np.where(reached, np.where(into, depth[:, :j] + 1, -1).max(1), -1)
        distance[:, j] = np.where(reached, np.where(into, distance[:, :j] + 1, MAX_VERTICES).min(1), -1)
        for op in _INTERIOR:
            best = np.where(into, most[op][:, :j], -1).max(1)
            most[op][:, j] = np.where(reached, best + is_op[op][:, j], -1)
    onehot = {op: is_op[op].astype(np.int64) for op in is_op}
    steps = a.astype(np.int64)
    two_steps = steps @ steps
    columns = [(is_op[op] & (depth == d)).sum(1) for op in _INTERIOR for d in _DEPTHS]
    columns += [depth[:, _OUT], distance[:, _OUT], a[:, :, _OUT].sum(1), a[:, 0].sum(1)]
    columns += [most[op][:, _OUT] for op in _INTERIOR]
    for hops in (steps, two_steps):
        columns += [np.einsum("ni,nij,nj->n", onehot[s], hops, onehot[t]) for s in _SOURCES for t in _TARGETS]
    return {"x": np.stack(columns, axis=1).astype(np.float32)}
