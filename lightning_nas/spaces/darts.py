"""The DARTS search space (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019), as
NAS-Bench-301 samples it: a normal and a reduction cell, each with 4 intermediate nodes; node ``i``
(0..3) takes two distinct inputs among the cell's two inputs (0, 1) and the earlier nodes (2..i+1),
each through one of the 7 DARTS ops; the cell concatenates all four nodes.

Forms of one architecture, all accepted by :meth:`DartsSpace.validate`:

* DARTS's own text, ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``
  (also ``range(2, 6)`` for the concats, as some of DARTS's genotypes write them);
* the key, ``normal:sep_conv_3x3~0,...|reduce:...``: the published subset's ``normal`` / ``reduce`` columns;
* NASLib's compact form, ``[[(input, op), ... 8], [... 8]]`` with op numbers in :data:`OPS` order;
* any object with ``normal`` and ``reduce`` lists of ``(op, input)`` pairs (DARTS's ``Genotype`` namedtuple),
  or such a mapping (``genotype.json``).

The two pairs of a node are unordered, so the canonical form sorts them: cells that differ only in
that order (isomorphic, the same network) share one key.
"""

from __future__ import annotations

import ast
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_nas.spaces.base import Layout, SearchSpace
from lightning_nas.utils.errors import InvalidArchitecture

if TYPE_CHECKING:
    from torch import nn

#: The 7 DARTS ops in NAS-Bench-301's (and NASLib's compact form's) order.
OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
OP_IDS = {op: i for i, op in enumerate(OPS)}
NODES = 4
PAIRS = 2 * NODES
CELLS = ("normal", "reduce")
CONCAT = (2, 3, 4, 5)
#: NAS-Bench-301's training network: 32 initial channels, 8 cells, no affine BN inside the ops
#: (NASLib's published parameter counts are this network's, exactly)
NB301_CHANNELS, NB301_LAYERS = 32, 8
def reduction_cells(layers: int) -> tuple[int, int]:
    """The cells of DARTS's CIFAR network of ``layers`` cells that reduce (channels doubled): at 1/3 and 2/3 of the depth."""
    return layers // 3, 2 * layers // 3


#: the input pairs node i can take: two distinct of 0..i+1
INPUT_PAIRS = tuple(tuple(itertools.combinations(range(i + 2), 2)) for i in range(NODES))

Pair = tuple[str, int]
Cell = tuple[Pair, ...]


@dataclass(frozen=True)
class DartsGenotype:
    """A canonical DARTS architecture: 8 ``(op, input)`` pairs per cell, two per node, each node's
    two sorted by (input, op)."""

    normal: Cell
    reduce: Cell

    def cell(self, name: str) -> Cell:
        return self.normal if name == "normal" else self.reduce


def _pairs_of_text(cell: str, text: str) -> list[Pair]:
    """``op~input,op~input,...`` -> pairs."""
    pairs = []
    for token in text.split(","):
        op, sep, source = token.strip().partition("~")
        if not sep or not source.strip().lstrip("-").isdigit():
            raise InvalidArchitecture(f"DARTS {cell} cell: token {token.strip()!r} should be 'op~input'")
        pairs.append((op.strip(), int(source)))
    return pairs


def _parse_genotype_text(text: str) -> dict[str, Any]:
    """DARTS's ``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)`` -> its fields."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise InvalidArchitecture(f"DARTS genotype text is not valid Python ({exc.msg}): {text[:80]!r}") from None
    if not isinstance(call, ast.Call) or getattr(call.func, "id", getattr(call.func, "attr", None)) != "Genotype" or call.args:
        raise InvalidArchitecture(f"DARTS genotype text must be Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...): {text[:80]!r}")
    fields: dict[str, Any] = {}
    for keyword in call.keywords:
        value = keyword.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "range":
            fields[keyword.arg] = list(range(*[ast.literal_eval(a) for a in value.args]))
            continue
        try:
            fields[keyword.arg] = ast.literal_eval(value)
        except ValueError:
            raise InvalidArchitecture(f"DARTS genotype text: {keyword.arg}= is not a literal list: {ast.unparse(value)!r}") from None
    return fields


class DartsSpace(SearchSpace[DartsGenotype]):
    """DARTS cells (normal and reduction), as NAS-Bench-301 samples them: about 10^18 archs."""

    name = "darts"

    def validate(self, arch: Any) -> DartsGenotype:
        if isinstance(arch, DartsGenotype):
            return arch
        if isinstance(arch, str):
            text = arch.strip()
            if text.startswith("normal:"):
                normal, sep, reduce = text.partition("|reduce:")
                if not sep:
                    raise InvalidArchitecture(f"DARTS key {text[:80]!r}: expected 'normal:...|reduce:...'")
                return self._canonical({"normal": _pairs_of_text("normal", normal[len("normal:"):]), "reduce": _pairs_of_text("reduce", reduce)})
            return self._canonical(_parse_genotype_text(text))
        if isinstance(arch, Mapping):
            return self._canonical(arch)
        if hasattr(arch, "normal") and hasattr(arch, "reduce"):
            return self._canonical({f: getattr(arch, f) for f in ("normal", "normal_concat", "reduce", "reduce_concat") if hasattr(arch, f)})
        if isinstance(arch, Sequence) and len(arch) == 2:
            return self.from_compact(arch)
        raise InvalidArchitecture(f"a DARTS arch is a Genotype(...) text, a key, NASLib's compact form or a genotype mapping; got {type(arch).__name__}: {arch!r}")

    def _canonical(self, fields: Mapping[str, Any]) -> DartsGenotype:
        missing = [c for c in CELLS if c not in fields]
        if missing:
            raise InvalidArchitecture(f"DARTS genotype without {' and '.join(missing)} cell; it needs 'normal' and 'reduce'")
        for cell in CELLS:
            concat = fields.get(f"{cell}_concat", CONCAT)
            if tuple(concat) != CONCAT:
                raise InvalidArchitecture(f"DARTS {cell}_concat {list(concat)}: the space concatenates every intermediate node, [2, 3, 4, 5]")
        return DartsGenotype(*(self._cell(cell, fields[cell]) for cell in CELLS))

    @staticmethod
    def _cell(cell: str, pairs: Any) -> Cell:
        try:
            pairs = [(str(op), int(source)) for op, source in pairs]
        except (TypeError, ValueError):
            raise InvalidArchitecture(f"DARTS {cell} cell: expected (op, input) pairs, got {pairs!r}") from None
        if len(pairs) != PAIRS:
            raise InvalidArchitecture(f"DARTS {cell} cell has {len(pairs)} (op, input) pairs; a cell has {PAIRS}, two per intermediate node")
        out: list[Pair] = []
        for node in range(NODES):
            two = pairs[2 * node : 2 * node + 2]
            for op, source in two:
                if op not in OP_IDS:
                    raise InvalidArchitecture(f"DARTS {cell} cell, node {node + 2}: unknown op {op!r}; the ops are {', '.join(OPS)}")
                if not 0 <= source <= node + 1:
                    raise InvalidArchitecture(f"DARTS {cell} cell, node {node + 2}: input {source} out of range; node {node + 2} takes inputs 0..{node + 1}")
            if two[0][1] == two[1][1]:
                raise InvalidArchitecture(f"DARTS {cell} cell, node {node + 2}: both pairs take input {two[0][1]}; a node's two inputs differ")
            out.extend(sorted(two, key=lambda p: (p[1], OP_IDS[p[0]])))
        return tuple(out)

    def key(self, arch: DartsGenotype) -> str:
        arch = self.validate(arch)
        return "|".join(f"{cell}:" + ",".join(f"{op}~{source}" for op, source in arch.cell(cell)) for cell in CELLS)

    # -- other forms ----------------------------------------------------------------------------
    def genotype_text(self, arch: Any) -> str:
        """DARTS's ``Genotype(...)`` text of ``arch``, as its ``genotypes.py`` writes one."""
        arch = self.validate(arch)
        concat = list(CONCAT)
        return f"Genotype(normal={list(arch.normal)}, normal_concat={concat}, reduce={list(arch.reduce)}, reduce_concat={concat})"

    def arch_files(self, arch: Any) -> dict[str, str]:
        """``genotype.json`` (``normal``, ``normal_concat``, ``reduce``, ``reduce_concat``, as DARTS's
        namedtuple has them) and ``genotype.txt``, its ``Genotype(...)`` text; :meth:`validate` reads either back."""
        arch = self.validate(arch)
        fields = {"normal": [list(p) for p in arch.normal], "normal_concat": list(CONCAT), "reduce": [list(p) for p in arch.reduce], "reduce_concat": list(CONCAT)}
        return {"genotype.json": json.dumps(fields, indent=1) + "\n", "genotype.txt": self.genotype_text(arch) + "\n"}

    def compact(self, arch: Any) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """NASLib's compact form: per cell, 8 ``(input, op number)`` pairs."""
        arch = self.validate(arch)
        return tuple(tuple((source, OP_IDS[op]) for op, source in arch.cell(cell)) for cell in CELLS)  # type: ignore[return-value]

    def from_compact(self, compact: Sequence[Sequence[Sequence[int]]]) -> DartsGenotype:
        cells = {}
        for cell, pairs in zip(CELLS, compact):
            try:
                decoded = [(int(source), int(op)) for source, op in pairs]
            except (TypeError, ValueError):
                raise InvalidArchitecture(f"NASLib compact {cell} cell: expected (input, op number) pairs, got {pairs!r}") from None
            bad = [op for _, op in decoded if not 0 <= op < len(OPS)]
            if bad:
                raise InvalidArchitecture(f"NASLib compact {cell} cell: op number {bad[0]} out of range 0..{len(OPS) - 1} ({', '.join(OPS)})")
            cells[cell] = [(OPS[op], source) for source, op in decoded]
        return self._canonical(cells)

    # -- sampling, mutation, decisions ------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> DartsGenotype:
        """Uniform as NAS-Bench-301's configuration space: per node an input pair, then an op per input."""
        return self._spell(tuple(int(rng.integers(n)) for n in self.decisions))

    def mutate(self, arch: DartsGenotype, rng: np.random.Generator) -> DartsGenotype:
        """One pair of one cell changes its op, or its input to another the node does not take yet."""
        arch = self.validate(arch)
        cells = {cell: [list(p) for p in arch.cell(cell)] for cell in CELLS}
        cell = CELLS[int(rng.integers(2))]
        index = int(rng.integers(PAIRS))
        node, pair = divmod(index, 2)
        taken = {cells[cell][2 * node][1], cells[cell][2 * node + 1][1]}
        inputs = [s for s in range(node + 2) if s not in taken]
        if inputs and rng.random() < 0.5:
            cells[cell][index][1] = int(rng.choice(inputs))
        else:
            cells[cell][index][0] = str(rng.choice([op for op in OPS if op != cells[cell][index][0]]))
        return self._canonical({c: [tuple(p) for p in pairs] for c, pairs in cells.items()})

    @property
    def decisions(self) -> tuple[int, ...]:
        """Per cell and node: its input pair, then the op of each input (24 decisions)."""
        return tuple(n for _ in CELLS for node in range(NODES) for n in (len(INPUT_PAIRS[node]), len(OPS), len(OPS)))

    def _spell(self, choices: tuple[int, ...]) -> DartsGenotype:
        cells, it = {}, iter(choices)
        for cell in CELLS:
            pairs: list[Pair] = []
            for node in range(NODES):
                first, second = INPUT_PAIRS[node][next(it)]
                pairs += [(OPS[next(it)], first), (OPS[next(it)], second)]
            cells[cell] = pairs
        return self._canonical(cells)

    def to_structure(self, archs: list[DartsGenotype]) -> dict[str, np.ndarray]:
        """``ops`` and ``inputs`` [n, 2 cells, 8 pairs] int8, canonical pair order."""
        canonical = [self.validate(a) for a in archs]
        ops = np.array([[[OP_IDS[op] for op, _ in a.cell(c)] for c in CELLS] for a in canonical], dtype=np.int8).reshape(-1, 2, PAIRS)
        inputs = np.array([[[s for _, s in a.cell(c)] for c in CELLS] for a in canonical], dtype=np.int8).reshape(-1, 2, PAIRS)
        return {"ops": ops, "inputs": inputs}

    def layouts(self) -> dict[str, Layout]:
        from lightning_nas.spaces.darts_layouts import LAYOUTS

        return LAYOUTS

    #: NAS-Bench-301's training network; ``naslib``: the same with a BN after each pooling op, the network
    #: NASLib computed its published NB301 proxy scores on (its ``MaxPool`` / ``AvgPool`` with ``use_bn``);
    #: TE-NAS's DARTS search networks (``prune_tenas.py``: ``C=1, N=1, depth=2`` — a normal then a reduction
    #: cell, stem multiplier 1, BN + ReLU before pooling; for the linear regions without the stem, on one-channel crops)
    network_variants = ("benchmark", "naslib", "tenas_ntk", "tenas_lr")

    def build_network(self, arch: DartsGenotype, num_classes: int, variant: str = "benchmark") -> nn.Module:
        """``benchmark``: NAS-Bench-301's training network of ``arch`` (:class:`~lightning_nas.spaces.darts_network.DartsNetwork`
        with 32 channels and 8 cells, no auxiliary head)."""
        from lightning_nas.spaces.darts_network import DartsNetwork

        if variant in ("tenas_ntk", "tenas_lr"):
            return DartsNetwork(self.validate(arch), 1, 2, num_classes, stem_multiplier=1, reductions=(1,), stem=variant == "tenas_ntk", final_activation=True)
        return DartsNetwork(self.validate(arch), NB301_CHANNELS, NB301_LAYERS, num_classes, affine_ops=False, pool_bn=variant == "naslib")
