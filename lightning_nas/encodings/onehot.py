"""Flat one-hot encodings, the baseline of the NAS predictor literature (e.g. White et al.,
"How Powerful are Performance Predictors in NAS?", 2021).

NB101: the 21 upper-triangular adjacency bits of the output-last cell + one-hot (3 ops) of the
5 interior vertices = 36 features (unused vertices all-zero). NB201: one-hot (5 ops) of the 6
edges = 30 features. NATS-sss: one-hot (8 channel counts) of the 5 layers = 40 features.
"""

from __future__ import annotations

import numpy as np
import torch

from lightning_nas.encodings.base import CastRows, Encoding
from lightning_nas.spaces import nb101_network
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.spaces.nb101 import CONV1X1, CONV3X3, MAX_VERTICES, MAXPOOL3X3, OP_IDS
from lightning_nas.spaces.nats_sss import CHANNELS, NUM_LAYERS
from lightning_nas.spaces.nb201 import NUM_EDGES, OPS

_INTERIOR_CODES = np.array([OP_IDS[CONV1X1], OP_IDS[CONV3X3], OP_IDS[MAXPOOL3X3]])


class OneHotEncoding(Encoding):
    name = "onehot"
    spaces = ("nb101", "nb201", "nats_sss")
    #: features per architecture in each space
    sizes = {
        "nb101": MAX_VERTICES * (MAX_VERTICES - 1) // 2 + (MAX_VERTICES - 2) * len(_INTERIOR_CODES),
        "nb201": NUM_EDGES * len(OPS),
        "nats_sss": NUM_LAYERS * len(CHANNELS),
    }

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if space.name == "nb101":
            adjacency, ops = nb101_network.to_output_last(structure["adjacency"], structure["ops"])
            iu = np.triu_indices(MAX_VERTICES, k=1)
            interior = ops[:, 1:-1, None] == _INTERIOR_CODES
            x = np.concatenate([adjacency[:, iu[0], iu[1]], interior.reshape(len(ops), interior.shape[1] * interior.shape[2])], axis=1)
        elif space.name == "nb201":
            x = structure["ops"][..., None] == np.arange(len(OPS))
        else:
            x = structure["channels"][..., None] == np.asarray(CHANNELS)
        return {"x": x.reshape(len(x), self.sizes[space.name]).astype(np.uint8)}

    def materialize(self, arrays: dict[str, np.ndarray]) -> CastRows:
        return CastRows(torch.from_numpy(arrays["x"]))
