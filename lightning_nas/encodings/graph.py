"""PyTorch Geometric graphs of architectures.

NB101: the cell DAG itself (table layout, V <= 7 nodes); node features = one-hot of the 5 op
types + the vertex's params and FLOPs in each of the 3 stacks (``log1p / 10``, from NAS-Bench-101's
vertex-channel rule, :mod:`~lightning_nas.spaces.nb101_network`). NB201: the ops-on-nodes graph
(8 nodes: input, the 6 edge ops, output); node features = one-hot of input / 5 ops / output + the
op's params and FLOPs in each of the 3 stages; edges that only carry ``none`` outputs are dropped
(:func:`~lightning_nas.spaces.nb201_network.effective_adjacency`).

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
from lightning_nas.spaces import nb101_network, nb201_network
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.spaces.nb101 import OP_NAMES
from lightning_nas.spaces.nb201 import OPS


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
    spaces = ("nb101", "nb201")
    order_invariant = True  # the GNNs' message passing and pooling ignore node order

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if space.name == "nb101":
            ops = structure["ops"]
            onehot = ops[..., None] == np.arange(len(OP_NAMES))  # padding (-1) rows stay all-zero
            params, flops = nb101_network.cell_costs(*nb101_network.to_output_last(structure["adjacency"], ops))
            # one cell per stack (the 2nd: same input width as the cell's output), back to table layout
            per_stack = np.concatenate([params[:, 1::3], flops[:, 1::3]], axis=1)  # [N, 6, 7]
            v = (ops >= 0).sum(1, keepdims=True)
            j = np.arange(7)[None]
            slot = np.where(j < v - 1, j, 6)
            costs = np.take_along_axis(per_stack, slot[:, None, :], axis=2).transpose(0, 2, 1) * (j < v)[..., None]
            x = np.concatenate([onehot, np.log1p(costs) / 10], axis=2)
            return {"x": x.astype(np.float32), "adjacency": structure["adjacency"], "num_nodes": v[:, 0]}
        op_ids = structure["ops"]
        onehot = nb201_network.node_types(op_ids)[..., None] == np.arange(len(OPS) + 2)
        params, flops = nb201_network.op_costs(op_ids)
        costs = np.pad(np.concatenate([params, flops], axis=1), ((0, 0), (0, 0), (1, 1))).transpose(0, 2, 1)
        return {
            "x": np.concatenate([onehot, np.log1p(costs) / 10], axis=2).astype(np.float32),
            "adjacency": nb201_network.effective_adjacency(op_ids),
            "num_nodes": np.full(len(op_ids), nb201_network.NUM_NODES),
        }

    def materialize(self, arrays: dict[str, np.ndarray]) -> DenseGraphs:
        return DenseGraphs(
            x=torch.from_numpy(arrays["x"]).to(torch.float32),
            adjacency=torch.from_numpy(arrays["adjacency"].astype(np.uint8)),  # 0/1: a byte each, not 8 (145 MB less on NB101)
            num_nodes=torch.from_numpy(arrays["num_nodes"].astype(np.int64)),
        )
