"""NAS-Bench-201 / NATS-Bench topology space (NATS-tss): 5 ops on the 6 edges of a 4-node cell.

Three interchangeable forms of one architecture:

* the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (groups = inputs of nodes 1, 2, 3;
  ``op~j`` = op applied to node j's output);
* an ops tuple of 6 names in string order (edges 0→1, 0→2, 1→2, 0→3, 1→3, 2→3);
* the official index 0..15624 (the benchmark's own order, which is not a product order).

The official order is shipped as ``data/nb201_order.npy``: for each official index the base-5
number of its ops tuple (op codes as in :data:`OPS`). It was read from the NATS-Bench arch list and
is checked against the benchmark tables by the test-suite.
"""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_nas.spaces.base import FiniteSearchSpace, Layout, is_index
from lightning_nas.utils.errors import InvalidArchitecture

if TYPE_CHECKING:
    from torch import nn

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OP_IDS = {op: i for i, op in enumerate(OPS)}
#: (source node, target node) of each position of the ops tuple.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES

NB201Arch = str
"""Canonical form of an NB201 architecture: its official arch string."""


def ops_to_str(ops: tuple[str, ...]) -> str:
    o = ops
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def str_to_ops(arch: str) -> tuple[str, ...]:
    """Parse an official arch string; raise :class:`InvalidArchitecture` naming what is wrong."""
    if not isinstance(arch, str):
        raise InvalidArchitecture(f"NB201 arch must be a string, got {type(arch).__name__}: {arch!r}")
    groups = arch.strip().strip("|").split("|+|")
    if len(groups) != 3:
        raise InvalidArchitecture(f"NB201 arch {arch!r}: expected 3 node groups separated by '|+|'")
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        tokens = group.split("|")
        if len(tokens) != node:
            raise InvalidArchitecture(f"NB201 arch {arch!r}: node {node} needs {node} inputs, got {len(tokens)}")
        for src, token in enumerate(tokens):
            op, sep, j = token.partition("~")
            if not sep or j != str(src):
                raise InvalidArchitecture(f"NB201 arch {arch!r}: token {token!r} should be 'op~{src}'")
            if op not in OP_IDS:
                raise InvalidArchitecture(f"NB201 arch {arch!r}: unknown op {op!r}; known {OPS}")
            ops.append(op)
    return tuple(ops)


def encode_ops(ops: np.ndarray) -> np.ndarray:
    """Base-5 code of op-id rows (..., 6) -> (...,); the inverse of :func:`decode_codes`."""
    return (np.asarray(ops, dtype=np.int64) * 5 ** np.arange(NUM_EDGES - 1, -1, -1)).sum(-1)


def decode_codes(codes: np.ndarray) -> np.ndarray:
    """Op ids (..., 6) int8 of base-5 codes."""
    codes = np.asarray(codes, dtype=np.int64)[..., None]
    return (codes // 5 ** np.arange(NUM_EDGES - 1, -1, -1) % 5).astype(np.int8)


class NB201Space(FiniteSearchSpace[NB201Arch]):
    """15,625 cells, indexed in the official NAS-Bench-201 order."""

    name = "nb201"

    @cached_property
    def _codes(self) -> np.ndarray:
        with resources.files("lightning_nas.spaces").joinpath("data/nb201_order.npy").open("rb") as f:
            return np.load(f).astype(np.int64)

    @cached_property
    def _index_of_code(self) -> np.ndarray:
        inverse = np.empty(NUM_ARCHS, dtype=np.int64)
        inverse[self._codes] = np.arange(NUM_ARCHS)
        return inverse

    @cached_property
    def op_ids(self) -> np.ndarray:
        """Op ids [15625, 6] int8 in official index order (the vectorised form encodings use)."""
        return decode_codes(self._codes)

    def __len__(self) -> int:
        return NUM_ARCHS

    def validate(self, arch: Any) -> NB201Arch:
        """Accept an arch string, an ops tuple/list of names, or an official index."""
        if is_index(arch):
            return self.arch(int(arch))
        if isinstance(arch, (tuple, list)):
            if len(arch) != NUM_EDGES or any(op not in OP_IDS for op in arch):
                raise InvalidArchitecture(f"NB201 ops {arch!r}: need {NUM_EDGES} ops from {OPS}")
            return ops_to_str(tuple(arch))
        if not isinstance(arch, str):
            raise InvalidArchitecture(f"NB201 arch must be an arch string, an official index or {NUM_EDGES} op names, got {type(arch).__name__}: {arch!r}")
        return ops_to_str(str_to_ops(arch))

    def key(self, arch: NB201Arch) -> str:
        return self.validate(arch)

    def ops(self, arch: Any) -> tuple[str, ...]:
        return str_to_ops(self.validate(arch))

    def to_structure(self, archs: list[NB201Arch]) -> dict[str, np.ndarray]:
        return {"ops": np.array([[OP_IDS[o] for o in str_to_ops(a)] for a in archs], dtype=np.int8).reshape(-1, NUM_EDGES)}

    def _arch(self, index: int) -> NB201Arch:
        return ops_to_str(tuple(OPS[i] for i in self.op_ids[index]))

    def index(self, arch: Any) -> int:
        ops = self.ops(arch)
        return int(self._index_of_code[encode_ops(np.array([OP_IDS[o] for o in ops]))])

    @property
    def decisions(self) -> tuple[int, ...]:
        return (len(OPS),) * NUM_EDGES

    def _spell(self, choices: tuple[int, ...]) -> NB201Arch:
        return ops_to_str(tuple(OPS[c] for c in choices))

    def structure_problems(self, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ops = structure["ops"]
        return {f"op codes outside 0..{len(OPS) - 1}": ~np.isin(ops, np.arange(len(OPS))).all(1)}

    def layouts(self) -> dict[str, Layout]:
        from lightning_nas.spaces.nb201_layouts import LAYOUTS

        return LAYOUTS

    #: the benchmark network (``C=16, N=5``) and TE-NAS's pruning supernets: ``C=3, N=1`` for the NTK,
    #: ``C=1, N=1`` without stem, first cell only, for the linear regions of 3x3 crops
    network_variants = ("benchmark", "tenas_ntk", "tenas_lr")

    def build_network(self, arch: NB201Arch, num_classes: int, variant: str = "benchmark") -> nn.Module:
        from lightning_nas.spaces.cell_network import CellNetwork, nb201_channels

        ops = str_to_ops(arch)
        if variant == "tenas_ntk":
            return CellNetwork(ops, nb201_channels(3, 1), num_classes)
        if variant == "tenas_lr":
            return CellNetwork(ops, nb201_channels(1, 1), num_classes, stem=False, depth=1)
        return CellNetwork(ops, nb201_channels(16, 5), num_classes)

    def mutate(self, arch: NB201Arch, rng: np.random.Generator) -> NB201Arch:
        """NATS-Bench's REA mutation: change the op on one random edge to a different op."""
        ops = list(self.ops(arch))
        edge = int(rng.integers(NUM_EDGES))
        ops[edge] = rng.choice([o for o in OPS if o != ops[edge]]).item()
        return ops_to_str(tuple(ops))
