"""A GIN predictor over PyTorch Geometric architecture graphs.

Architecture cells are DAGs, so each layer passes messages both along and against the edges
(two ``GINConv``s, summed) and every node sees its inputs and its consumers. Node embeddings of
all layers are summed per graph (``global_add_pool``, a jumping-knowledge readout), optionally
joined by the output vertex's embeddings (``readout="sum+output"``: what leaves the cell, the
readout GATES uses), and an MLP head, which also receives any extra features, gives the score.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GINConv, global_add_pool

from lightning_nas.models.base import RankingPredictor

NODE_FEATURES = {"nb101": 5 + 6, "nb201": 7 + 6}


def _mlp(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True), nn.Linear(c_out, c_out))


class _GINNet(nn.Module):
    def __init__(self, in_features: int, hidden: int, num_layers: int, num_extra: int, dropout: float, output_readout: bool) -> None:
        super().__init__()
        self.output_readout = output_readout
        readout = hidden * (2 if output_readout else 1)
        self.embed = nn.Linear(in_features, hidden)
        self.forward_convs = nn.ModuleList(GINConv(_mlp(hidden, hidden), train_eps=True) for _ in range(num_layers))
        self.backward_convs = nn.ModuleList(GINConv(_mlp(hidden, hidden), train_eps=True) for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(num_layers))
        self.head = nn.Sequential(
            nn.Linear(readout * (num_layers + 1) + num_extra, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def _readout(self, h: torch.Tensor, graphs: Batch) -> torch.Tensor:
        pooled = global_add_pool(h, graphs.batch, graphs.num_graphs)
        if not self.output_readout:
            return pooled
        return torch.cat([pooled, h[graphs.ptr[1:] - 1]], dim=1)  # the output vertex is each graph's last

    def forward(self, graphs: Batch, extra: torch.Tensor | None) -> torch.Tensor:
        h = self.embed(graphs.x)
        reverse = graphs.edge_index.flip(0)
        readouts = [self._readout(h, graphs)]
        for fwd, bwd, norm in zip(self.forward_convs, self.backward_convs, self.norms):
            h = torch.relu(norm(fwd(h, graphs.edge_index) + bwd(h, reverse)))
            readouts.append(self._readout(h, graphs))
        z = torch.cat(readouts, dim=1)
        if extra is not None:
            z = torch.cat([z, extra], dim=1)
        return self.head(z).squeeze(-1)


class GNNPredictor(RankingPredictor):
    """Bidirectional GIN predictor; see :class:`RankingPredictor` for the shared arguments."""

    def __init__(
        self,
        encoding: str = "graph",
        hidden: int = 64,
        num_layers: int = 3,
        dropout: float = 0.1,
        readout: Literal["sum", "sum+output"] = "sum",
        **kwargs,
    ) -> None:
        if encoding != "graph":
            raise ValueError(f"GNNPredictor needs the 'graph' encoding, got {encoding!r}")
        if readout not in ("sum", "sum+output"):
            raise ValueError(f"readout must be 'sum' or 'sum+output', got {readout!r}")
        super().__init__(encoding=encoding, **kwargs)

    def build_member(self) -> nn.Module:
        hp = self.hparams
        return _GINNet(NODE_FEATURES[hp.space], hp.hidden, hp.num_layers, self.num_extra, hp.dropout, hp.readout == "sum+output")
