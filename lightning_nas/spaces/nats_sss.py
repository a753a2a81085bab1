"""NATS-Bench size space (NATS-sss): channel counts ``C1:C2:C3:C4:C5`` of a fixed-topology network.

Each of the 5 positions takes one of :data:`CHANNELS` = {8, 16, ..., 64}: 8^5 = 32,768 configs.
Index order is the product order with the first position varying slowest
(``8:8:8:8:8`` = 0, ``8:8:8:8:16`` = 1, ..., ``64:64:64:64:64`` = 32,767). The NATS benchmark
checks this order against the archive's own arch list when it loads one.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_nas.spaces.base import FiniteSearchSpace, Layout, is_index
from lightning_nas.utils.errors import InvalidArchitecture

if TYPE_CHECKING:
    from torch import nn

CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
NUM_ARCHS = len(CHANNELS) ** NUM_LAYERS

#: NATS-Bench's cell for every NATS-sss network.
NATS_SSS_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

NATSSizeArch = str
"""Canonical form: the config string, e.g. ``'64:32:16:48:8'``."""


class NATSSizeSpace(FiniteSearchSpace[NATSSizeArch]):
    name = "nats_sss"

    def __len__(self) -> int:
        return NUM_ARCHS

    def channels(self, arch: Any) -> tuple[int, ...]:
        """The 5 channel counts of ``arch`` (a config string, a sequence of ints or an index)."""
        if is_index(arch):
            return self.channels(self.arch(int(arch)))
        if isinstance(arch, str):
            try:
                values = tuple(int(c) for c in arch.split(":"))
            except ValueError:
                raise InvalidArchitecture(f"NATS-sss arch {arch!r}: expected 'C1:C2:C3:C4:C5' integers") from None
        else:
            try:
                values = tuple(int(c) for c in arch)
            except (TypeError, ValueError):
                raise InvalidArchitecture(f"NATS-sss arch {arch!r}: expected 5 channel counts") from None
        if len(values) != NUM_LAYERS or any(c not in CHANNELS for c in values):
            raise InvalidArchitecture(f"NATS-sss arch {arch!r}: need {NUM_LAYERS} channel counts from {CHANNELS}")
        return values

    def validate(self, arch: Any) -> NATSSizeArch:
        return ":".join(map(str, self.channels(arch)))

    def key(self, arch: NATSSizeArch) -> str:
        return self.validate(arch)

    @cached_property
    def channel_counts(self) -> np.ndarray:
        """Channel counts [32768, 5] int16 in official index order (the vectorised form encodings use)."""
        digits = np.indices((len(CHANNELS),) * NUM_LAYERS).reshape(NUM_LAYERS, -1).T  # first layer varies slowest
        return np.asarray(CHANNELS, dtype=np.int16)[digits]

    def to_structure(self, archs: list[NATSSizeArch]) -> dict[str, np.ndarray]:
        return {"channels": np.array([self.channels(a) for a in archs], dtype=np.int16).reshape(-1, NUM_LAYERS)}

    def _arch(self, index: int) -> NATSSizeArch:
        return ":".join(map(str, self.channel_counts[index]))

    def index(self, arch: Any) -> int:
        index = 0
        for c in self.channels(arch):
            index = index * len(CHANNELS) + CHANNELS.index(c)
        return index

    @property
    def decisions(self) -> tuple[int, ...]:
        return (len(CHANNELS),) * NUM_LAYERS

    def _spell(self, choices: tuple[int, ...]) -> NATSSizeArch:
        return ":".join(str(CHANNELS[c]) for c in choices)

    def structure_problems(self, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {f"channel counts outside {CHANNELS}": ~np.isin(structure["channels"], CHANNELS).all(1)}

    def layouts(self) -> dict[str, Layout]:
        """One-hot (8 channel counts) of the 5 layers: no graph to pass messages over, no adjacency to convolve."""
        return {"onehot": Layout(_onehot, {"features": NUM_LAYERS * len(CHANNELS)})}

    network_variants = ("benchmark",)

    def build_network(self, arch: NATSSizeArch, num_classes: int, variant: str = "benchmark") -> nn.Module:
        """The NAS-Bench-201 macro-structure with the five searched channel counts and NATS-Bench's fixed cell."""
        from lightning_nas.spaces.cell_network import CellNetwork
        from lightning_nas.spaces.nb201 import str_to_ops

        return CellNetwork(str_to_ops(NATS_SSS_CELL), list(self.channels(arch)), num_classes)

    def mutate(self, arch: NATSSizeArch, rng: np.random.Generator) -> NATSSizeArch:
        """Change the channel count of one random layer (NATS-Bench's size-space REA mutation)."""
        values = list(self.channels(arch))
        layer = int(rng.integers(NUM_LAYERS))
        values[layer] = int(rng.choice([c for c in CHANNELS if c != values[layer]]))
        return ":".join(map(str, values))


def _onehot(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    channels = structure["channels"]
    return {"x": (channels[..., None] == np.asarray(CHANNELS)).reshape(len(channels), NUM_LAYERS * len(CHANNELS))}
