"""NAS-Bench-101: cells as 7x7 upper-triangular DAGs with an op per vertex.

An :class:`NB101Arch` is always stored *pruned* (no vertex off an input→output path), which is
the form the official ``nasbench_only108.tfrecord`` stores, and is keyed by the benchmark's own
graph hash (``module_hash``): an iterated md5 over vertex degrees and op labels that is invariant
to vertex order. The implementation follows NAS-Bench-101's ``graph_util.hash_module`` exactly
(same md5 inputs, same string formatting), so a hand-built cell finds its benchmark record.

Array layout (shared with the benchmark tables and the encodings): ``adjacency`` uint8 [7, 7]
with a V-vertex cell in the top-left VxV block, ``ops`` int8 [7] with :data:`OP_IDS` codes and
``-1`` past V; the output vertex therefore sits at index ``V - 1``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_nas.spaces.base import Layout, SearchSpace
from lightning_nas.utils.errors import InvalidArchitecture
from lightning_nas.utils.row_blocks import in_row_blocks

if TYPE_CHECKING:
    from torch import nn

INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT = (
    "input",
    "conv1x1-bn-relu",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "output",
)
#: Op vocabulary of the array layout; position = integer code (``-1`` = padding).
OP_NAMES: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
OP_IDS: dict[str, int] = {name: i for i, name in enumerate(OP_NAMES)}
#: Ops an interior vertex may take.
INTERIOR_OPS: tuple[str, ...] = (CONV1X1, CONV3X3, MAXPOOL3X3)
#: Labels used inside the official hash (NAS-Bench-101's ``available_ops`` order).
_HASH_LABEL = {CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2, INPUT: -1, OUTPUT: -2}

MAX_VERTICES = 7
MAX_EDGES = 9
_UPPER = np.triu_indices(MAX_VERTICES, k=1)


def module_hash(matrix: np.ndarray, ops: Sequence[str]) -> str:
    """NAS-Bench-101's graph fingerprint of a (pruned) cell: a 32-hex md5 string."""
    num_vertices = len(ops)
    labels = [_HASH_LABEL[op] for op in ops]
    in_edges = matrix.sum(axis=0).tolist()
    out_edges = matrix.sum(axis=1).tolist()
    hashes = [
        hashlib.md5(str((out_edges[v], in_edges[v], labels[v])).encode("utf-8")).hexdigest()
        for v in range(num_vertices)
    ]
    preds = [np.flatnonzero(matrix[:, v]).tolist() for v in range(num_vertices)]
    succs = [np.flatnonzero(matrix[v, :]).tolist() for v in range(num_vertices)]
    for _ in range(num_vertices):
        hashes = [
            hashlib.md5(
                (
                    "".join(sorted(hashes[w] for w in preds[v]))
                    + "|"
                    + "".join(sorted(hashes[w] for w in succs[v]))
                    + "|"
                    + hashes[v]
                ).encode("utf-8")
            ).hexdigest()
            for v in range(num_vertices)
        ]
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def _on_io_path(matrix: np.ndarray) -> np.ndarray:
    """Boolean mask of vertices reachable from the input and reaching the output."""
    n = matrix.shape[0]
    from_input = np.zeros(n, dtype=bool)
    from_input[0] = True
    for v in range(1, n):  # upper-triangular: one forward sweep is a full DFS
        from_input[v] = bool((matrix[:v, v].astype(bool) & from_input[:v]).any())
    to_output = np.zeros(n, dtype=bool)
    to_output[n - 1] = True
    for v in range(n - 2, -1, -1):
        to_output[v] = bool((matrix[v, v + 1 :].astype(bool) & to_output[v + 1 :]).any())
    return from_input & to_output


@dataclass(frozen=True, eq=False)
class NB101Arch:
    """A pruned NAS-Bench-101 cell. Equality and hashing follow the official ``module_hash``,
    so isomorphic cells compare equal. Build one with :meth:`NB101Space.validate`."""

    matrix: np.ndarray = field(repr=False)
    ops: tuple[str, ...]

    @cached_property
    def module_hash(self) -> str:
        return module_hash(self.matrix, self.ops)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NB101Arch) and other.module_hash == self.module_hash

    def __hash__(self) -> int:
        return hash(self.module_hash)

    def __repr__(self) -> str:
        rows = ",".join("".join(map(str, r)) for r in self.matrix.tolist())
        return f"NB101Arch(matrix={rows!r}, ops={list(self.ops)!r}, hash={self.module_hash!r})"

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Padded (adjacency uint8 [7,7], ops int8 [7]) in the table layout."""
        adjacency = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        v = self.num_vertices
        adjacency[:v, :v] = self.matrix
        ops = np.full(MAX_VERTICES, -1, dtype=np.int8)
        ops[:v] = [OP_IDS[o] for o in self.ops]
        return adjacency, ops


class NB101Space(SearchSpace[NB101Arch]):
    """The NAS-Bench-101 cell space: ≤ 7 vertices, ≤ 9 edges, 3 interior ops.

    Whole-space iteration is not offered here: enumerating the 423,624 unique cells means
    hashing ~10^8 labelled graphs. The benchmark tables carry the enumeration
    (``NB101Benchmark.archs()``).
    """

    name = "nb101"

    def validate(self, arch: Any) -> NB101Arch:
        """Accept an :class:`NB101Arch`, a ``(matrix, ops)`` pair or a ``{"matrix", "ops"}``
        dict (ops as names or integer codes); return the pruned canonical cell."""
        if isinstance(arch, NB101Arch):
            matrix, ops = arch.matrix, arch.ops
        elif isinstance(arch, dict):
            matrix, ops = arch.get("matrix"), arch.get("ops")
        elif isinstance(arch, str):  # a benchmark looks up its rows' module hashes before it asks the space
            raise InvalidArchitecture(
                f"NB101 arch {arch!r} is a string, not a cell ((matrix, ops) or NB101Arch); a module hash names a cell "
                "through a benchmark: bench.query(hash, ...), or bench.arch(bench.index(hash)) for the cell"
            )
        else:
            try:
                matrix, ops = arch
            except (TypeError, ValueError):
                raise InvalidArchitecture(
                    f"NB101 arch must be (matrix, ops) or NB101Arch (a benchmark also takes a row's module hash), got {type(arch).__name__}"
                ) from None
        return self._canonical(matrix, ops)

    def _canonical(self, matrix: Any, ops: Any) -> NB101Arch:
        try:
            m = np.asarray(matrix)
        except Exception as exc:  # ragged lists etc.
            raise InvalidArchitecture(f"NB101 matrix is not a 2-D 0/1 array: {matrix!r}") from exc
        where = f"NB101 arch (matrix={m.tolist()!r}, ops={list(ops) if ops is not None else None!r})"
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
            raise InvalidArchitecture(f"{where}: matrix must be square VxV with V>=2")
        if not np.isin(m, (0, 1)).all():
            raise InvalidArchitecture(f"{where}: matrix entries must be 0 or 1")
        m = m.astype(np.uint8)
        if np.tril(m).any():
            raise InvalidArchitecture(
                f"{where}: matrix must be strictly upper-triangular (an edge j->i with j>=i "
                "makes a self-loop or cycle)"
            )
        names = _op_names(ops, where)
        if len(names) != m.shape[0]:
            raise InvalidArchitecture(f"{where}: {len(names)} ops for {m.shape[0]} vertices")
        if names[0] != INPUT or names[-1] != OUTPUT:
            raise InvalidArchitecture(f"{where}: first op must be 'input' and last 'output'")
        bad = [o for o in names[1:-1] if o not in INTERIOR_OPS]
        if bad:
            raise InvalidArchitecture(f"{where}: unknown interior op(s) {bad}; allowed {INTERIOR_OPS}")
        if m.shape[0] > MAX_VERTICES:
            raise InvalidArchitecture(f"{where}: {m.shape[0]} vertices > {MAX_VERTICES}")
        keep = _on_io_path(m)
        if not keep[0]:
            raise InvalidArchitecture(f"{where}: no path from input to output")
        pruned = m[np.ix_(keep, keep)]
        if pruned.sum() > MAX_EDGES:
            raise InvalidArchitecture(f"{where}: {int(pruned.sum())} edges > {MAX_EDGES}")
        pruned.setflags(write=False)
        return NB101Arch(pruned, tuple(n for n, k in zip(names, keep) if k))

    def key(self, arch: NB101Arch) -> str:
        return arch.module_hash

    def to_structure(self, archs: list[NB101Arch]) -> dict[str, np.ndarray]:
        pairs = [a.to_arrays() for a in archs]
        return {
            "adjacency": np.array([p[0] for p in pairs], dtype=np.uint8).reshape(-1, MAX_VERTICES, MAX_VERTICES),
            "ops": np.array([p[1] for p in pairs], dtype=np.int8).reshape(-1, MAX_VERTICES),
        }

    def from_arrays(self, adjacency: np.ndarray, ops: np.ndarray) -> NB101Arch:
        """Inverse of :meth:`NB101Arch.to_arrays` (a padded table row)."""
        v = int((np.asarray(ops) >= 0).sum())
        return self._canonical(adjacency[:v, :v], ops[:v])

    def random_isomorphs(self, structure: dict[str, np.ndarray], copies: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each cell in random topological orders of its interior vertices (input first,
        output last, the matrix stays upper-triangular): the same cell and module hash, a
        different table layout. A cell's vertices admit a handful of orders, so copies of
        one cell may repeat."""
        adjacency, ops = structure["adjacency"], structure["ops"]
        out_adj = np.repeat(adjacency, copies, axis=0)
        out_ops = np.repeat(ops, copies, axis=0)
        for n in range(len(out_adj)):
            a, v = out_adj[n], int((out_ops[n] >= 0).sum())
            placed, remaining = [0], list(range(1, v - 1))
            while remaining:  # Kahn's algorithm with a random choice among the ready vertices
                ready = [j for j in remaining if not a[remaining, j].any()]
                placed.append(ready[rng.integers(len(ready))])
                remaining.remove(placed[-1])
            order = np.array([*placed, v - 1, *range(v, len(a))])
            out_adj[n] = a[np.ix_(order, order)]
            out_ops[n] = out_ops[n][order]
        return {"adjacency": out_adj, "ops": out_ops}

    def sample(self, rng: np.random.Generator) -> NB101Arch:
        """NAS-Bench-101's ``random_spec``: a random 7-vertex DAG and ops, redrawn until valid."""
        while True:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            ops = [INPUT, *rng.choice(INTERIOR_OPS, size=MAX_VERTICES - 2).tolist(), OUTPUT]
            try:
                return self._canonical(matrix, ops)
            except InvalidArchitecture:
                continue

    @property
    def decisions(self) -> tuple[int, ...]:
        """21 upper-triangle edges of the 7-vertex DAG (absent/present), then the op of each of
        the 5 interior vertices (:data:`INTERIOR_OPS`), as NAS-Bench-101's REINFORCE baseline."""
        return (2,) * len(_UPPER[0]) + (len(INTERIOR_OPS),) * (MAX_VERTICES - 2)

    def _spell(self, choices: tuple[int, ...]) -> NB101Arch:
        num_edges = len(_UPPER[0])
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        matrix[_UPPER] = np.asarray(choices[:num_edges], dtype=np.uint8)
        ops = [INPUT, *(INTERIOR_OPS[c] for c in choices[num_edges:]), OUTPUT]
        return self._canonical(matrix, ops)

    def structure_problems(self, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Padded cells (table layout) that are not pruned NB101 cells, vectorised over every row."""
        return in_row_blocks(self._structure_problems, np.asarray(structure["adjacency"]), np.asarray(structure["ops"]))

    @staticmethod
    def _structure_problems(a: np.ndarray, ops: np.ndarray) -> dict[str, np.ndarray]:
        ops = ops.astype(np.int64)
        n = len(ops)
        v = (ops >= 0).sum(1)
        slot = np.arange(MAX_VERTICES)[None]
        inside = slot < v[:, None]
        at = np.take_along_axis(ops, np.clip(v - 1, 0, MAX_VERTICES - 1)[:, None], 1)[:, 0]
        interior = inside & (slot > 0) & (slot < v[:, None] - 1)
        within = inside[:, :, None] & inside[:, None, :]
        # every vertex reachable from the input and reaching the output (one sweep each: edges go forward)
        reach, back = np.zeros((n, MAX_VERTICES), bool), np.zeros((n, MAX_VERTICES), bool)
        reach[:, 0] = True
        for j in range(1, MAX_VERTICES):
            reach[:, j] = (a[:, :j, j].astype(bool) & reach[:, :j]).any(1)
        back[np.arange(n), np.clip(v - 1, 0, MAX_VERTICES - 1)] = True
        for j in range(MAX_VERTICES - 2, -1, -1):
            back[:, j] |= (a[:, j, j + 1 :].astype(bool) & back[:, j + 1 :]).any(1)
        return {
            "op codes outside -1..4": ~np.isin(ops, np.arange(-1, len(OP_NAMES))).all(1),
            "a padding op (-1) inside the cell": ((ops >= 0) != inside).any(1),
            "fewer than 2 vertices": v < 2,
            "not input first and output last": (ops[:, 0] != OP_IDS[INPUT]) | (at != OP_IDS[OUTPUT]),
            "an interior op other than conv1x1, conv3x3, maxpool": (interior & ~np.isin(ops, [OP_IDS[o] for o in INTERIOR_OPS])).any(1),
            "adjacency entries other than 0 / 1": ~np.isin(a, (0, 1)).all((1, 2)),
            "an edge backwards or to itself (not strictly upper-triangular)": np.tril(a).any((1, 2)),
            "an edge to a padding vertex": (a.astype(bool) & ~within).any((1, 2)),
            f"more than {MAX_EDGES} edges": a.sum((1, 2)) > MAX_EDGES,
            "a vertex off every input-output path (the cell is not pruned)": (inside & ~(reach & back)).any(1),
        }

    def layouts(self) -> dict[str, Layout]:
        from lightning_nas.spaces.nb101_layouts import LAYOUTS

        return LAYOUTS

    network_variants = ("benchmark",)

    def build_network(self, arch: NB101Arch, num_classes: int, variant: str = "benchmark") -> nn.Module:
        """``nasbench_pytorch.model.Network`` (stem 128, 3 stacks x 3 cells), the PyTorch port of the
        NAS-Bench-101 network, minus the dummy scalar parameter it gives each absent edge."""
        from nasbench_pytorch.model import Network

        return drop_placeholders(Network((arch.matrix.astype(int), list(arch.ops)), num_labels=num_classes))

    def mutate(self, arch: NB101Arch, rng: np.random.Generator) -> NB101Arch:
        """NAS-Bench-101's ``mutate_spec`` (mutation rate 1): on the 7-vertex form, flip each
        edge with probability 1/7 and resample each interior op with probability 1/5, until
        the result is valid and a different cell."""
        matrix, ops = _expand_to_seven(arch)
        iu = _UPPER
        while True:
            m = matrix.copy()
            flip = rng.random(len(iu[0])) < 1.0 / MAX_VERTICES
            m[iu[0][flip], iu[1][flip]] ^= 1
            new_ops = list(ops)
            for i in range(1, MAX_VERTICES - 1):
                if rng.random() < 1.0 / (MAX_VERTICES - 2):
                    new_ops[i] = rng.choice([o for o in INTERIOR_OPS if o != new_ops[i]]).item()
            try:
                child = self._canonical(m, new_ops)
            except InvalidArchitecture:
                continue
            if child != arch:
                return child


def drop_placeholders(module: nn.Module) -> nn.Module:
    """``module`` (a nasbench_pytorch network or cell) without the unused dummy scalar parameter
    nasbench_pytorch gives each absent edge: it is not part of the NB101 network."""
    from nasbench_pytorch.model.model import Placeholder

    for child in module.modules():
        if isinstance(child, Placeholder):
            del child.a
    return module


def _op_names(ops: Any, where: str) -> list[str]:
    if ops is None:
        raise InvalidArchitecture(f"{where}: ops missing")
    names = []
    for op in ops:
        if isinstance(op, (int, np.integer)):
            if not 0 <= int(op) < len(OP_NAMES):
                raise InvalidArchitecture(f"{where}: unknown op code {int(op)}")
            names.append(OP_NAMES[int(op)])
        else:
            names.append(str(op))
    unknown = [n for n in names if n not in OP_IDS]
    if unknown:
        raise InvalidArchitecture(f"{where}: unknown op(s) {unknown}; known {OP_NAMES}")
    return names


def _expand_to_seven(arch: NB101Arch) -> tuple[np.ndarray, list[str]]:
    """Pad a pruned cell to 7 vertices by inserting isolated interior vertices before the output
    (they are pruned again), so mutation always acts on the full 7-vertex neighbourhood."""
    v = arch.num_vertices
    pad = MAX_VERTICES - v
    matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    matrix[: v - 1, : v - 1] = arch.matrix[: v - 1, : v - 1]
    matrix[: v - 1, MAX_VERTICES - 1] = arch.matrix[: v - 1, v - 1]
    ops = [*arch.ops[:-1], *([CONV3X3] * pad), OUTPUT]
    return matrix, ops
