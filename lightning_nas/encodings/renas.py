"""ReNAS feature tensors (Xu et al., "ReNAS: Relativistic Evaluation of Neural Architecture
Search", CVPR 2021).

NB101 -> float32 [19, 7, 7]. The cell is put in output-last layout (output vertex at index 6,
see :func:`~lightning_nas.spaces.nb101_network.to_output_last`) with adjacency ``A``. Each
channel spreads a per-vertex value ``v`` over the edges entering that vertex,
``M[i, j] = A[i, j] * v[j]``, as ReNAS does:

* channel 0, *type*: ``v`` = op code + 1 (input 1, conv1x1 2, conv3x3 3, maxpool 4, output 5);
* channels 1-9, *FLOPs*: one per cell of the 3-stack x 3-cell network, ``v`` = the vertex's
  multiply-accumulates in that cell (op + input projection), in units of 1e8;
* channels 10-18, *params*: the same for trainable parameters, in millions.

Costs come from NAS-Bench-101's own vertex-channel rule
(:mod:`lightning_nas.spaces.nb101_network`): the width of every vertex depends on the whole cell,
so the same op costs differently in different cells — the information ReNAS adds over a plain
adjacency + ops encoding.

NB201 -> float32 [7, 8, 8] on the ops-on-nodes graph (:mod:`lightning_nas.spaces.nb201_network`,
without edges that only carry ``none`` outputs):
channel 0 type (input 1, ops 2..6 in ``OPS`` order, output 7), channels 1-3 FLOPs (1e8) and
4-6 params (millions) of each op node in each of the 3 stages (all 5 cells of a stage are equal).

The tensors of many archs are an :class:`EdgeTensors`: the adjacency and the per-vertex values,
from which rows are built when read (a batch), as :class:`~lightning_nas.encodings.graph.DenseGraphs`
builds graphs. Every NB101 tensor at once would take 1,504 MiB; the two arrays take 235 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lightning_nas.encodings.base import Encoding, RowIndex, Rows, row_index
from lightning_nas.spaces import nb101_network, nb201_network
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
    spaces = ("nb101", "nb201")

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if space.name == "nb101":
            adjacency, ops = nb101_network.to_output_last(structure["adjacency"], structure["ops"])
            params, flops = nb101_network.cell_costs(adjacency, ops)
            node_type = np.where(ops >= 0, ops + 1, 0)
        else:
            op_ids = structure["ops"]
            adjacency = nb201_network.effective_adjacency(op_ids)
            node_type = nb201_network.node_types(op_ids) + 1
            p, f = nb201_network.op_costs(op_ids)
            pad = ((0, 0), (0, 0), (1, 1))
            params, flops = np.pad(p, pad), np.pad(f, pad)
        return {
            "adjacency": np.ascontiguousarray(adjacency, dtype=np.uint8),
            "node_values": np.concatenate(
                [node_type[:, None, :], flops / FLOPS_UNIT, params / PARAMS_UNIT], axis=1
            ).astype(np.float32),
        }

    def materialize(self, arrays: dict[str, np.ndarray]) -> EdgeTensors:
        return EdgeTensors(torch.from_numpy(arrays["adjacency"]), torch.from_numpy(arrays["node_values"]))
