"""The interface every search space implements.

A search space knows what an architecture *is*: its canonical form, validity, a hashable key,
how to sample one uniformly and how to mutate one (the neighbourhood regularized evolution
walks). It knows nothing of benchmarks, so the same space serves every benchmark built on it.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from lightning_nas.errors import InvalidArchitecture, InvalidArgument

Arch = TypeVar("Arch", bound=Hashable)


class SearchSpace(abc.ABC, Generic[Arch]):
    """A set of architectures with sampling and mutation.

    Randomness always comes from an explicit ``numpy.random.Generator`` so that a search is
    reproducible from one seed.
    """

    name: str

    @abc.abstractmethod
    def validate(self, arch: Any) -> Arch:
        """Return the canonical form of ``arch`` or raise :class:`InvalidArchitecture`."""

    @abc.abstractmethod
    def key(self, arch: Arch) -> str:
        """A canonical, hashable string key; isomorphic/equal archs share it."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch:
        """Draw one valid architecture."""

    @abc.abstractmethod
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Return a valid neighbour of ``arch`` that differs from it."""

    @abc.abstractmethod
    def to_structure(self, archs: list[Arch]) -> dict[str, np.ndarray]:
        """Batched structure arrays of canonical ``archs``, in the layout benchmark tables use."""

    @property
    @abc.abstractmethod
    def decisions(self) -> tuple[int, ...]:
        """Number of options of each categorical decision that spells an architecture (what a
        REINFORCE policy samples): e.g. NB201 = six edges with 5 ops each."""

    def from_decisions(self, choices: Sequence[int]) -> Arch:
        """The architecture a vector of choices spells (one int per decision), or
        :class:`InvalidArchitecture` if those choices do not make a valid one."""
        options = self.decisions
        if len(choices) != len(options) or not all(0 <= int(c) < n for c, n in zip(choices, options)):
            raise InvalidArchitecture(f"{self.name} choices {list(choices)!r}: need {len(options)} ints, the i-th in 0..options[i]-1 with options {options}")
        return self._spell(tuple(int(c) for c in choices))

    @abc.abstractmethod
    def _spell(self, choices: tuple[int, ...]) -> Arch:
        """:meth:`from_decisions` after its range check."""

    def random_isomorphs(self, structure: dict[str, np.ndarray], copies: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``copies`` relabelings of every row of ``structure`` (row-major: row 0's copies
        first) that spell the same architecture in another vertex order: training-data
        augmentation for encodings that depend on the order. Spaces whose layout is fixed
        (e.g. NB201's ops on the edges of one DAG) have none."""
        raise InvalidArgument(f"space {self.name!r} has a fixed vertex layout: no isomorphic relabelings to augment with")

    def is_valid(self, arch: Any) -> bool:
        """Whether ``arch`` is a member of the space."""
        try:
            self.validate(arch)
        except InvalidArchitecture:
            return False
        return True


def is_index(arch: Any) -> bool:
    """Whether ``arch`` is an official index: an int, but not a bool (``True`` would read as index 1)."""
    return isinstance(arch, (int, np.integer)) and not isinstance(arch, bool)


class FiniteSearchSpace(SearchSpace[Arch]):
    """A space small enough to enumerate, with a fixed official index order."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    def arch(self, index: int) -> Arch:
        """The architecture at official ``index`` (an int in 0..len-1: no negative indices, no bools)."""
        if not is_index(index) or not 0 <= index < len(self):
            raise InvalidArchitecture(f"{self.name} index {index!r} out of range 0..{len(self) - 1}")
        return self._arch(int(index))

    @abc.abstractmethod
    def _arch(self, index: int) -> Arch:
        """:meth:`arch` after its range check."""

    @abc.abstractmethod
    def index(self, arch: Arch) -> int:
        """The official index of ``arch``."""

    def __iter__(self) -> Iterator[Arch]:
        return (self.arch(i) for i in range(len(self)))

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.arch(int(rng.integers(len(self))))
