"""Flat one-hot encodings, the baseline of the NAS predictor literature (e.g. White et al.,
"How Powerful are Performance Predictors in NAS?", 2021).

Each space says which bits describe its archs (its ``onehot`` layout): NB101 the 21 upper-triangular
adjacency bits of the output-last cell + one-hot (3 ops) of the 5 interior vertices = 36 features;
NB201 one-hot (5 ops) of the 6 edges = 30; NATS-sss one-hot (8 channel counts) of the 5 layers = 40.
"""

from __future__ import annotations

import numpy as np
import torch

from lightning_nas.encodings.base import CastRows, Encoding
from lightning_nas.spaces.base import SearchSpace


class OneHotEncoding(Encoding):
    name = "onehot"

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"x": space.layout(self.name).compute(structure)["x"].astype(np.uint8)}

    def materialize(self, arrays: dict[str, np.ndarray]) -> CastRows:
        return CastRows(torch.from_numpy(arrays["x"]))
