"""An MLP predictor over flat encodings (one-hot or path), the baseline of the NAS predictor
literature (White et al., "How Powerful are Performance Predictors in Neural Architecture Search?",
2021; the path encoding is BANANAS').

It is the one predictor for every space, NATS-sss included (its architectures are five channel
counts: no graph to pass messages over, no adjacency tensor to convolve), and a quick reference
for the ReNAS CNN and the GNN. Extra features (params, FLOPs, proxy scores) join the encoding at
the input.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_nas.models.base import RankingPredictor, check_member_settings
from lightning_nas.utils.errors import InvalidArgument, require_count

#: encodings the MLP reads: flat feature vectors (their width is the input shape's ``features``)
FLAT_ENCODINGS = ("onehot", "path")


class _MLPNet(nn.Module):
    def __init__(self, in_features: int, hidden: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        if extra is not None:
            x = torch.cat([x, extra], dim=1)
        return self.body(x).squeeze(-1)


class MLPPredictor(RankingPredictor):
    """MLP over a flat encoding; see :class:`RankingPredictor` for the shared arguments.

    Args:
        encoding: onehot or path.
        hidden: width of each hidden layer (Linear, BatchNorm, ReLU, Dropout).
        num_layers: hidden layers.
        dropout: dropout after each hidden layer.
    """

    def __init__(self, encoding: str = "onehot", hidden: int = 128, num_layers: int = 3, dropout: float = 0.1, **kwargs) -> None:
        if encoding not in FLAT_ENCODINGS:
            raise InvalidArgument(f"MLPPredictor reads one of the encodings {list(FLAT_ENCODINGS)}, got {encoding!r}")
        check_member_settings(hidden, dropout)
        require_count("num_layers", num_layers, 1)
        super().__init__(encoding=encoding, **kwargs)

    def build_member(self, index: int) -> nn.Module:
        hp = self.hparams
        return _MLPNet(hp.input_shape["features"] + self.num_extra, hp.hidden, hp.num_layers, hp.dropout)
