"""A graph neural network predictor over PyTorch Geometric architecture graphs.

Architecture cells are DAGs, so each layer passes messages both along and against the edges
(two convolutions, summed) and every node sees its inputs and its consumers. Node embeddings of
all layers are summed per graph (``global_add_pool``, a jumping-knowledge readout), optionally
joined by the output vertex's embeddings (``readout="sum+output"``: what leaves the cell, the
readout GATES uses), and an MLP head, which also receives any extra features, gives the score.

Ensemble members can be of different kinds (``member_kinds``), because members that rank about
equally well but make different mistakes average into a better ranking, while more members of one
kind do not help. A kind names the message passing: ``gin`` (``GINConv``: an MLP of the summed
neighbours), ``gat`` (``GATv2Conv``: attention-weighted neighbours) or ``pna`` (``PNAConv``: mean,
min, max and std of the neighbours, scaled by degree); ``+attention`` adds, after each layer, a
global self-attention block among the cell's nodes, biased per head by how two nodes are connected
(Graphormer's spatial encoding, with direction).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GATv2Conv, GINConv, MessagePassing, PNAConv, global_add_pool
from torch_geometric.utils import to_dense_adj

from lightning_nas.models.base import RankingPredictor, ScoreHead, check_member_settings
from lightning_nas.utils.errors import InvalidArgument, require_count

MAX_NODES = 8  # the most nodes an attention member's graph may have (NB101 cells have up to 7 vertices, NB201 graphs 8)
NUM_RELATIONS = 2 * MAX_NODES  # itself, 1..7 edges forward, 1..7 edges backward, unrelated
CONVS = ("gin", "gat", "pna")
# In-degree histogram of the NB101 vertices (whole space; the out-degree one is the same). PNA's
# degree scalers divide by its mean log-degree, so it only fixes a constant scale, for both spaces.
PNA_DEGREES = torch.tensor([423_624, 1_527_109, 701_214, 217_357, 28_396, 495])


def node_relations(adjacency: torch.Tensor) -> torch.Tensor:
    """Dense DAG adjacency [B, n, n] -> relation id [B, n, n] of every ordered node pair:
    0 for the node itself, ``d`` when the shortest path from i to j has ``d`` edges,
    ``MAX_NODES - 1 + d`` when it runs from j to i, ``NUM_RELATIONS - 1`` when neither reaches the other."""
    n = adjacency.shape[-1]
    unreachable = MAX_NODES
    dist = torch.full_like(adjacency, unreachable)
    step = adjacency.float()  # 0/1 products are exact in float, and CUDA has no integer matmul
    reach = step
    for d in range(1, n):
        dist = torch.where((reach > 0) & (dist == unreachable), d, dist)
        reach = (reach @ step).clamp(max=1)
    backward = dist.transpose(1, 2)
    relation = torch.full_like(adjacency, NUM_RELATIONS - 1)
    relation = torch.where(backward < unreachable, MAX_NODES - 1 + backward, relation)
    relation = torch.where(dist < unreachable, dist, relation)
    return torch.where(torch.eye(n, dtype=torch.bool, device=adjacency.device), 0, relation)


class _RelationalAttention(nn.Module):
    """Residual self-attention among each graph's nodes with a learned per-head bias for every
    node relation (:func:`node_relations`): every node sees the whole cell in one step."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.relation_bias = nn.Embedding(NUM_RELATIONS, heads)

    def forward(self, h: torch.Tensor, relation: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h`` [nodes, hidden] of a batch; ``mask`` [graphs, MAX_NODES] marks the real nodes."""
        x = h.new_zeros((*mask.shape, h.shape[-1]))
        x[mask] = h
        # a large finite negative for padding keys: -inf makes the fused inference kernel return NaN
        bias = self.relation_bias(relation).permute(0, 3, 1, 2).masked_fill(~mask[:, None, None, :], -1e4)
        x = self.norm(x)
        out, _ = self.attention(x, x, x, attn_mask=bias.flatten(0, 1), need_weights=False)
        return h + out[mask]


def _mlp(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True), nn.Linear(c_out, c_out))


def _split_kind(kind: str) -> tuple[str, bool]:
    """A member kind such as ``"gin+attention"`` -> (its convolution, whether it adds attention blocks)."""
    conv = kind.removesuffix("+attention")
    if conv not in CONVS:
        raise InvalidArgument(f"member kind must be one of {', '.join(CONVS)}, optionally with '+attention' (e.g. 'gin+attention'), got {kind!r}")
    return conv, conv != kind


def _conv(kind: str, hidden: int, heads: int) -> MessagePassing:
    """One layer's message passing in one direction, ``hidden`` -> ``hidden`` features."""
    if kind == "gin":
        return GINConv(_mlp(hidden, hidden), train_eps=True)
    if kind == "gat":
        return GATv2Conv(hidden, hidden // heads, heads=heads)
    return PNAConv(hidden, hidden, ["mean", "min", "max", "std"], ["identity", "amplification", "attenuation"], PNA_DEGREES)


class _GNNNet(nn.Module):
    def __init__(
        self,
        in_features: int,
        hidden: int,
        num_layers: int,
        num_extra: int,
        dropout: float,
        output_readout: bool,
        conv: str,
        conv_heads: int,
        attention_heads: int,
    ) -> None:
        super().__init__()
        self.output_readout = output_readout
        readout = hidden * (2 if output_readout else 1)
        self.embed = nn.Linear(in_features, hidden)
        self.forward_convs = nn.ModuleList(_conv(conv, hidden, conv_heads) for _ in range(num_layers))
        self.backward_convs = nn.ModuleList(_conv(conv, hidden, conv_heads) for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(num_layers))
        self.attentions = nn.ModuleList(_RelationalAttention(hidden, attention_heads) for _ in range(num_layers if attention_heads else 0))
        self.head = ScoreHead(readout * (num_layers + 1), num_extra, hidden, dropout)

    def _readout(self, h: torch.Tensor, graphs: Batch) -> torch.Tensor:
        pooled = global_add_pool(h, graphs.batch, graphs.num_graphs)
        if not self.output_readout:
            return pooled
        return torch.cat([pooled, h[graphs.ptr[1:] - 1]], dim=1)  # the output vertex is each graph's last

    def forward(self, graphs: Batch, extra: torch.Tensor | None) -> torch.Tensor:
        h = self.embed(graphs.x)
        reverse = graphs.edge_index.flip(0)
        if self.attentions:
            adjacency = to_dense_adj(graphs.edge_index, graphs.batch, batch_size=graphs.num_graphs, max_num_nodes=MAX_NODES)
            relation = node_relations(adjacency.long())
            mask = torch.arange(MAX_NODES, device=h.device) < graphs.ptr.diff()[:, None]
        readouts = [self._readout(h, graphs)]
        for layer, (fwd, bwd, norm) in enumerate(zip(self.forward_convs, self.backward_convs, self.norms)):
            h = torch.relu(norm(fwd(h, graphs.edge_index) + bwd(h, reverse)))
            if self.attentions:
                h = self.attentions[layer](h, relation, mask)
            readouts.append(self._readout(h, graphs))
        return self.head(torch.cat(readouts, dim=1), extra)


class GNNPredictor(RankingPredictor):
    """Bidirectional GNN predictor; see :class:`RankingPredictor` for the shared arguments.

    Args:
        encoding: graph (the only one it reads).
        hidden: node embedding width.
        num_layers: message-passing layers.
        dropout: dropout in the head.
        readout: sum of node embeddings, or sum+output (plus the output vertex's own).
        member_kinds: the kind of each ensemble member, cycled (member i is member_kinds[i % len]):
            gin, gat or pna, each optionally +attention; None = all gin.
        attention_heads: heads of both GAT layers and the attention blocks.
    """

    def __init__(
        self,
        encoding: str = "graph",
        hidden: int = 64,
        num_layers: int = 3,
        dropout: float = 0.1,
        readout: Literal["sum", "sum+output"] = "sum",
        member_kinds: list[str] | None = None,
        attention_heads: int = 4,
        **kwargs,
    ) -> None:
        if encoding != "graph":
            raise InvalidArgument(f"GNNPredictor needs the 'graph' encoding, got {encoding!r}")
        if readout not in ("sum", "sum+output"):
            raise InvalidArgument(f"readout must be 'sum' or 'sum+output', got {readout!r}")
        check_member_settings(hidden, dropout)
        require_count("num_layers", num_layers, 0)
        max_nodes = (kwargs.get("input_shape") or {}).get("max_nodes", 0)
        if max_nodes > MAX_NODES and any(attends for _, attends in map(_split_kind, member_kinds or [])):
            raise InvalidArgument(f"the +attention members read graphs of up to {MAX_NODES} nodes (NB101, NB201), got input_shape max_nodes={max_nodes}: "
                                  "use member kinds without +attention")
        has_heads = any(conv == "gat" or attends for conv, attends in map(_split_kind, member_kinds or []))
        if has_heads and (attention_heads < 1 or hidden % attention_heads):
            raise InvalidArgument(f"attention_heads must be a positive divisor of hidden={hidden}, got {attention_heads}")
        super().__init__(encoding=encoding, **kwargs)

    def build_member(self, index: int) -> nn.Module:
        hp = self.hparams
        kinds = hp.member_kinds or ["gin"]  # LightningCLI saves the arguments as given: None stays None
        conv, attends = _split_kind(kinds[index % len(kinds)])
        attention_heads = hp.attention_heads if attends else 0
        return _GNNNet(
            hp.input_shape["node_features"], hp.hidden, hp.num_layers, self.num_extra, hp.dropout, hp.readout == "sum+output", conv, hp.attention_heads, attention_heads
        )
