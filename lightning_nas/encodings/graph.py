"""PyTorch Geometric graphs of architectures.

Per space the layout gives each cell's graph (NB101: the cell DAG itself, V <= 7 nodes; NB201: the
ops-on-nodes graph, 8 nodes: input, the 6 edge ops, output, without edges that only carry ``none``
outputs) with a one-hot of each node's type and its params and FLOPs in each stage; node features
are the one-hot and the costs as ``log1p / 10``.

The cost features tell the network how wide each vertex really is, which the op type alone does
not (NB101 splits channels by the cell's topology).

Graphs are kept dense and batched (:class:`DenseGraphs`) so the whole space is encoded without a
Python loop per architecture; :meth:`DenseGraphs.batch` builds a ``torch_geometric`` ``Batch``
for a set of rows and ``graphs[i]`` gives one ``Data``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import dense_to_sparse

from lightning_nas.encodings.base import Encoding, RowIndex, row_index
from lightning_nas.spaces.base import SearchSpace


@dataclass
class DenseGraphs:
    """N padded graphs: node features x [N, V, F], adjacency [N, V, V] (uint8), node counts [N]."""

    x: torch.Tensor
    adjacency: torch.Tensor
    num_nodes: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, rows: RowIndex) -> Batch:
        """A PyG ``Batch`` of the given rows (indices or a mask; vectorised: no per-graph Python work)."""
        rows = row_index(rows)
        counts = self.num_nodes[rows]
        mask = torch.arange(self.x.shape[1])[None, :] < counts[:, None]
        edge_index, _ = dense_to_sparse(self.adjacency[rows], mask)
        ptr = torch.zeros(len(rows) + 1, dtype=torch.long)
        ptr[1:] = counts.cumsum(0)
        return Batch(
            x=self.x[rows][mask],
            edge_index=edge_index,
            batch=torch.repeat_interleave(torch.arange(len(rows)), counts),
            ptr=ptr,
        )

    def __getitem__(self, i: int) -> Data:
        n = int(self.num_nodes[i])
        edge_index, _ = dense_to_sparse(self.adjacency[i, :n, :n])
        return Data(x=self.x[i, :n], edge_index=edge_index)


class GraphEncoding(Encoding):
    name = "graph"
    version = 3
    order_invariant = True  # the GNNs' message passing and pooling ignore node order

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cell = space.layout(self.name).compute(structure)
        x = np.concatenate([cell["onehot"], np.log1p(cell["costs"]) / 10], axis=2)
        return {"x": x.astype(np.float32), "adjacency": cell["adjacency"], "num_nodes": cell["num_nodes"]}

    def materialize(self, arrays: dict[str, np.ndarray]) -> DenseGraphs:
        return DenseGraphs(
            x=torch.from_numpy(arrays["x"]).to(torch.float32),
            adjacency=torch.from_numpy(arrays["adjacency"].astype(np.uint8)),  # 0/1: a byte each, not 8 (145 MB less on NB101)
            num_nodes=torch.from_numpy(arrays["num_nodes"].astype(np.int64)),
        )
