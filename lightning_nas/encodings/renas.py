"""ReNAS feature tensors (Xu et al., "ReNAS: Relativistic Evaluation of Neural Architecture
Search", CVPR 2021).

Per space the layout (:meth:`~lightning_nas.spaces.base.SearchSpace.layouts`) gives the cell as a
vertex x vertex adjacency ``A`` and per-vertex values; each channel spreads one value ``v`` over the
edges entering that vertex, ``M[i, j] = A[i, j] * v[j]``, as ReNAS does:

* channel 0, *type*: the vertex's op code + 1 (0 for padding);
* then one *FLOPs* channel per cell (or stage) of the network, ``v`` = the vertex's multiply-accumulates
  there, in units of 1e8;
* then the same for trainable *params*, in millions.

NB101 -> float32 [19, 7, 7] (9 cells of the 3-stack x 3-cell network, costs from NAS-Bench-101's own
vertex-channel rule: the width of every vertex depends on the whole cell, so the same op costs
differently in different cells — the information ReNAS adds over a plain adjacency + ops encoding).
NB201 -> float32 [7, 8, 8] on the ops-on-nodes graph (3 stages; all 5 cells of a stage are equal).

The tensors of many archs are an :class:`EdgeTensors`: the adjacency and the per-vertex values,
from which rows are built when read (a batch), as :class:`~lightning_nas.encodings.graph.DenseGraphs`
builds graphs. Every NB101 tensor at once would take 1,504 MiB; the two arrays take 235 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lightning_nas.encodings.base import Encoding, RowIndex, Rows, row_index
from lightning_nas.spaces.base import SearchSpace

FLOPS_UNIT = 1e8
PARAMS_UNIT = 1e6


@dataclass
class EdgeTensors(Rows):
    """ReNAS tensors of N archs, built when read: ``out[n, c, i, j] = adjacency[n, i, j] * node_values[n, c, j]``."""

    adjacency: torch.Tensor  # uint8 [N, V, V]
    node_values: torch.Tensor  # float32 [N, C, V]

    def __len__(self) -> int:
        return len(self.adjacency)

    @property
    def shape(self) -> tuple[int, ...]:
        n, c, v = self.node_values.shape
        return (n, c, v, v)

    def batch(self, rows: RowIndex) -> torch.Tensor:
        rows = row_index(rows)
        return self.adjacency[rows, None].to(self.dtype) * self.node_values[rows, :, None, :]


class ReNASEncoding(Encoding):
    name = "renas"
    version = 2

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cell = space.layout(self.name).compute(structure)
        return {
            "adjacency": np.ascontiguousarray(cell["adjacency"], dtype=np.uint8),
            "node_values": np.concatenate(
                [cell["node_type"][:, None, :], cell["flops"] / FLOPS_UNIT, cell["params"] / PARAMS_UNIT], axis=1
            ).astype(np.float32),
        }

    def materialize(self, arrays: dict[str, np.ndarray]) -> EdgeTensors:
        return EdgeTensors(torch.from_numpy(arrays["adjacency"]), torch.from_numpy(arrays["node_values"]))
