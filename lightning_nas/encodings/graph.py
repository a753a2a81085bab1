"""PyTorch Geometric graphs of architectures.

NB101: the cell DAG itself (table layout, V <= 7 nodes), node features = one-hot of the 5 op
types. NB201: the ops-on-nodes graph (8 nodes: input, the 6 edge ops, output), node features =
one-hot of input / 5 ops / output.

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

from lightning_nas.encodings.base import Encoding
from lightning_nas.spaces import nb201_network
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.spaces.nb101 import OP_NAMES
from lightning_nas.spaces.nb201 import OPS


@dataclass
class DenseGraphs:
    """N padded graphs: node features x [N, V, F], adjacency [N, V, V], node counts [N]."""

    x: torch.Tensor
    adjacency: torch.Tensor
    num_nodes: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    @property
    def num_features(self) -> int:
        return self.x.shape[-1]

    def batch(self, rows: torch.Tensor | np.ndarray | list[int]) -> Batch:
        """A PyG ``Batch`` of the given rows (vectorised: no per-graph Python work)."""
        rows = torch.as_tensor(rows, dtype=torch.long)
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
    spaces = ("nb101", "nb201")

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if space.name == "nb101":
            ops = structure["ops"]
            x = ops[..., None] == np.arange(len(OP_NAMES))  # padding (-1) rows stay all-zero
            return {"x": x.astype(np.uint8), "adjacency": structure["adjacency"], "num_nodes": (ops >= 0).sum(1)}
        op_ids = structure["ops"]
        n = len(op_ids)
        node_type = np.concatenate([np.zeros((n, 1), np.int64), op_ids + 1, np.full((n, 1), len(OPS) + 1)], axis=1)
        x = node_type[..., None] == np.arange(len(OPS) + 2)
        adjacency = np.broadcast_to(nb201_network.node_adjacency(), (n, nb201_network.NUM_NODES, nb201_network.NUM_NODES))
        return {
            "x": x.astype(np.uint8),
            "adjacency": np.ascontiguousarray(adjacency),
            "num_nodes": np.full(n, nb201_network.NUM_NODES),
        }

    def materialize(self, arrays: dict[str, np.ndarray]) -> DenseGraphs:
        return DenseGraphs(
            x=torch.from_numpy(arrays["x"]).to(torch.float32),
            adjacency=torch.from_numpy(arrays["adjacency"].astype(np.int64)),
            num_nodes=torch.from_numpy(arrays["num_nodes"].astype(np.int64)),
        )
