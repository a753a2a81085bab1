"""Path encodings (BANANAS: White et al., "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", 2021).

A cell is described by its input -> output paths, each named by the sequence of ops it passes
through; feature ``k`` counts the paths with the ``k``-th name (BANANAS marks each name 0/1;
counting keeps which names occur several times, e.g. the two two-op paths of an NB201 cell).
Unlike the adjacency one-hot, the encoding is the same for every vertex order of a cell; it is
not one-to-one (the 423,624 NB101 cells have 214,068 distinct path encodings).

NB101: paths pass 0-5 interior ops out of 3, so 3^0 + ... + 3^5 = 364 features (the empty name is
the input -> output edge). NB201: paths pass 1-3 of the 4 ops other than ``none`` (a ``none`` edge
cuts every path through it), 4 + 4^2 + 4^3 = 84 features.
"""

from __future__ import annotations

import numpy as np
import torch

from lightning_nas.encodings.base import CastRows, Encoding
from lightning_nas.spaces import nb101_network, nb201_network
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.spaces.nb101 import INTERIOR_OPS, OP_IDS, OP_NAMES
from lightning_nas.spaces.nb201 import OPS

#: (ops a path may pass, fewest and most ops on one input -> output path) per space
_NAMES = {"nb101": (len(INTERIOR_OPS), 0, 5), "nb201": (len(OPS) - 1, 1, 3)}


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
    spaces = ("nb101", "nb201")
    order_invariant = True
    #: features per architecture in each space
    sizes = {space: _first_index(k, longest + 1) - _first_index(k, shortest) for space, (k, shortest, longest) in _NAMES.items()}

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        num_ops, shortest, longest = _NAMES[space.name]
        if space.name == "nb101":
            adjacency, ops = nb101_network.to_output_last(structure["adjacency"], structure["ops"])
            lookup = np.full(len(OP_NAMES) + 1, -1)
            lookup[[OP_IDS[op] for op in INTERIOR_OPS]] = np.arange(num_ops)
            digit = lookup[ops]  # input, output and unused (-1 -> the last entry) -> -1
        else:
            adjacency = nb201_network.effective_adjacency(structure["ops"])
            n = len(adjacency)
            # none -> -1: effective_adjacency has already cut the edges through it
            digit = np.concatenate([np.full((n, 1), -1), structure["ops"] - 1, np.full((n, 1), -1)], axis=1)
        first = _first_index(num_ops, shortest)
        return {"x": _path_counts(adjacency, digit, num_ops, longest)[:, first:].astype(np.uint8)}

    def materialize(self, arrays: dict[str, np.ndarray]) -> CastRows:
        return CastRows(torch.from_numpy(arrays["x"]))
