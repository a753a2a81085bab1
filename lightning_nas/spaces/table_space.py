"""A search space restricted to the rows of a benchmark table.

NAS-Bench-301's published cells are 1,218 of about 10^18 DARTS archs: a search that samples and
mutates in the whole space would almost never meet a cell with a label. :class:`TableSpace` keeps
the space's forms, keys, layouts and networks and makes its search moves stay in the table: uniform
sampling over the rows; mutation to one of the arch's ``neighbours`` nearest rows (fewest differing
structure entries: the table's own neighbourhood, since a one-edit mutant of a row is almost never a
row, and stepping from it to its nearest row kept returning the same few); REINFORCE's choices spelled
as the space spells them and then mapped to the nearest row. Any arch of the space still validates, so a
predictor or proxy can score a genotype outside the table; only a benchmark query needs a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic

import numpy as np

from lightning_nas.spaces.base import Arch, FiniteSearchSpace, Layout, SearchSpace
from lightning_nas.utils.errors import InvalidArchitecture, InvalidArgument, require_count

if TYPE_CHECKING:
    from torch import nn


class TableSpace(FiniteSearchSpace[Arch], Generic[Arch]):
    """``space`` restricted to the archs whose canonical keys are ``keys`` (in row order); a mutation
    moves to one of an arch's ``neighbours`` nearest rows."""

    def __init__(self, space: SearchSpace[Arch], keys: Sequence[str], neighbours: int = 10) -> None:
        if len(keys) < 2:
            raise InvalidArgument(f"a {space.name} table space needs at least two rows (a mutation moves to another), got {len(keys)}")
        require_count("neighbours", neighbours, 1)
        self.inner, self.name, self.neighbours = space, space.name, min(neighbours, len(keys) - 1)
        self.network_variants = space.network_variants
        self._keys = list(keys)
        self._row = {k: i for i, k in enumerate(self._keys)}
        structure = space.to_structure([space.validate(k) for k in self._keys])
        #: every row's structure arrays flattened to one vector: what the nearest-row step compares
        self._flat = np.concatenate([a.reshape(len(self._keys), -1) for a in structure.values()], axis=1)

    # -- the space's own definitions --------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        return self.inner.validate(arch)

    def key(self, arch: Arch) -> str:
        return self.inner.key(arch)

    def to_structure(self, archs: list[Arch]) -> dict[str, np.ndarray]:
        return self.inner.to_structure(archs)

    def structure_problems(self, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.inner.structure_problems(structure)

    def layouts(self) -> dict[str, Layout]:
        return self.inner.layouts()

    def build_network(self, arch: Arch, num_classes: int, variant: str = "benchmark") -> nn.Module:
        return self.inner.build_network(arch, num_classes, variant)

    def arch_files(self, arch: Arch) -> dict[str, str]:
        return self.inner.arch_files(arch)

    def random_isomorphs(self, structure: dict[str, np.ndarray], copies: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.inner.random_isomorphs(structure, copies, rng)

    def __getattr__(self, name: str) -> Any:
        """The space's other forms (e.g. DARTS's ``genotype_text``), unchanged."""
        if name == "inner":  # not set yet (unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.inner, name)

    # -- moves that stay in the table -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._keys)

    def _arch(self, index: int) -> Arch:
        return self.inner.validate(self._keys[index])

    def index(self, arch: Arch) -> int:
        key = self.inner.key(self.inner.validate(arch))
        if key not in self._row:
            raise InvalidArchitecture(f"{key!r} is a {self.name} arch but not one of the table's {len(self)} rows")
        return self._row[key]

    def _distances(self, arch: Arch) -> np.ndarray:
        """Differing structure entries between ``arch`` and every row."""
        flat = np.concatenate([a.reshape(1, -1) for a in self.inner.to_structure([self.inner.validate(arch)]).values()], axis=1)
        return (self._flat != flat).sum(axis=1)

    def nearest(self, arch: Arch) -> Arch:
        """The row closest to ``arch`` (the first of equally close ones)."""
        return self._arch(int(np.argmin(self._distances(arch))))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One of the ``neighbours`` rows nearest to ``arch`` other than its own, uniformly (ties in
        distance at the neighbourhood's edge broken at random)."""
        distance = self._distances(arch).astype(np.float64)
        own = self._row.get(self.inner.key(self.inner.validate(arch)))
        if own is not None:
            distance[own] = np.inf
        order = np.lexsort((rng.random(len(distance)), distance))
        return self._arch(int(rng.choice(order[: self.neighbours])))

    @property
    def decisions(self) -> tuple[int, ...]:
        return self.inner.decisions

    def _spell(self, choices: tuple[int, ...]) -> Arch:
        """The row nearest to the arch the choices spell (deterministic: a policy's choices always map to one row)."""
        return self.nearest(self.inner.from_decisions(choices))
