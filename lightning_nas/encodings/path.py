"""Path encodings (BANANAS: White et al., "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", 2021).

A cell is described by its input -> output paths, each named by the sequence of ops it passes
through; feature ``k`` counts the paths with the ``k``-th name (BANANAS marks each name 0/1;
counting keeps which names occur several times, e.g. the two two-op paths of an NB201 cell).
Unlike the adjacency one-hot, the encoding is the same for every vertex order of a cell; it is
not one-to-one (the 423,624 NB101 cells have 214,068 distinct path encodings).

Each space's ``path`` layout gives the DAG, each vertex's op as a digit and the range of path
lengths: NB101 paths pass 0-5 interior ops out of 3, so 3^0 + ... + 3^5 = 364 features (the empty
name is the input -> output edge); NB201 paths pass 1-3 of the 4 ops other than ``none`` (a ``none``
edge cuts every path through it), 4 + 4^2 + 4^3 = 84 features.
"""

from __future__ import annotations

import numpy as np
import torch

from lightning_nas.encodings.base import CastRows, Encoding
from lightning_nas.spaces.base import SearchSpace


def _first_index(num_ops: int, length: int) -> int:
    """Index of the first name with ``length`` ops (names are ordered by length, then base-``num_ops`` code)."""
    return sum(num_ops**k for k in range(length))


def _path_counts(adjacency: np.ndarray, digit: np.ndarray, num_ops: int, longest: int) -> np.ndarray:
    """Counts of input -> output paths by name: int32 [N, names of 0..longest ops].

    ``adjacency`` [N, V, V] is a topologically ordered DAG with the input at vertex 0 and the
    output at V - 1; ``digit`` [N, V] is each interior vertex's op in ``0 .. num_ops - 1`` (-1: a
    vertex no path passes, e.g. unused). One pass in vertex order: the paths into a vertex are the
    paths into its predecessors, each name extended by the vertex's op.
    """
    n, v = digit.shape
    starts = np.array([_first_index(num_ops, k) for k in range(longest + 2)])
    # each name of fewer than `longest` ops -> that name extended by op o
    short = np.arange(starts[longest])
    length = np.searchsorted(starts, short, side="right") - 1
    extended = [starts[length + 1] + (short - starts[length]) * num_ops + o for o in range(num_ops)]
    counts = np.zeros((n, v, starts[-1]), dtype=np.int32)
    counts[:, 0, 0] = 1  # the empty path at the input
    for j in range(1, v):
        into = np.einsum("ni,nik->nk", adjacency[:, :j, j].astype(np.int32), counts[:, :j])
        if j == v - 1:
            counts[:, j] = into
            continue
        for o in range(num_ops):
            rows = np.flatnonzero(digit[:, j] == o)
            counts[rows[:, None], j, extended[o]] = into[rows[:, None], short]
    return counts[:, -1].copy()  # a view would keep the whole [N, V, names] array alive


class PathEncoding(Encoding):
    name = "path"
    order_invariant = True

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        layout = space.layout(self.name)
        cell = layout.compute(structure)
        num_ops, shortest, longest = (layout.shape[k] for k in ("num_ops", "shortest", "longest"))
        first = _first_index(num_ops, shortest)
        return {"x": _path_counts(cell["adjacency"], cell["digit"], num_ops, longest)[:, first:].astype(np.uint8)}

    def materialize(self, arrays: dict[str, np.ndarray]) -> CastRows:
        return CastRows(torch.from_numpy(arrays["x"]))
