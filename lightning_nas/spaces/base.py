"""The interface every search space implements.

A search space knows what an architecture *is*: its canonical form, validity, a hashable key,
how to sample one uniformly and how to mutate one (the neighbourhood regularized evolution
walks). It knows nothing of benchmarks, so the same space serves every benchmark built on it.

It also carries everything else that differs between spaces, so that no other layer has to ask
which space it holds: how its archs are laid out for each encoding (:meth:`SearchSpace.layouts`,
with the input shape a model needs) and the networks it builds (:meth:`SearchSpace.build_network`).
Adding a space is one module that implements this interface and registers itself
(:func:`lightning_nas.spaces.register_space`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from lightning_nas.utils.errors import InvalidArchitecture, InvalidArgument

if TYPE_CHECKING:  # torch is imported by the spaces' network builders only: a space loads without it
    from torch import nn

Arch = TypeVar("Arch", bound=Hashable)


@dataclass(frozen=True)
class Layout:
    """How a space lays its archs out for one encoding.

    ``compute(structure)`` turns a block of the space's structure arrays into the compact arrays
    the encoding reads (each row on its own, vectorised); ``shape`` is what a model built for the
    encoding needs to know (e.g. a ReNAS tensor's ``channels`` and ``size``, a graph's
    ``node_features``, a flat vector's ``features``); ``columns`` names the columns of a layout
    that is a group of extra features (``cell_stats``)."""

    compute: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    shape: dict[str, int]
    columns: tuple[str, ...] = field(default=())


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

    def structure_problems(self, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What is wrong with rows of batched structure arrays (as a benchmark file holds them): a
        description of each problem -> the mask of the rows that have it. A benchmark reader refuses a file
        with any; the default finds none."""
        return {}

    # -- what other layers look up -------------------------------------------------------------
    def layouts(self) -> dict[str, Layout]:
        """Encoding name -> how this space's archs are laid out in it; an encoding (or extra-feature
        group) the space has no layout for does not support it."""
        return {}

    def layout(self, encoding: str, role: str = "encoding") -> Layout:
        """The layout for ``encoding``, or an error naming what this space offers (``role`` names what the user asked for)."""
        layouts = self.layouts()
        if encoding not in layouts:
            raise InvalidArgument(f"{role} {encoding!r} is not defined for space {self.name!r}; it has {sorted(layouts)}")
        return layouts[encoding]

    def arch_files(self, arch: Arch) -> dict[str, str]:
        """File name -> text of ``arch`` in formats of the space's own papers, written beside a search's
        ``best.json`` (DARTS: ``genotype.json`` and the ``Genotype(...)`` text); none by default."""
        return {}

    #: The networks :meth:`build_network` makes: ``"benchmark"`` (the network the benchmark
    #: trained) and any smaller ones a proxy's paper scores (TE-NAS's ``tenas_ntk``, ``tenas_lr``).
    network_variants: tuple[str, ...] = ()

    def build_network(self, arch: Arch, num_classes: int, variant: str = "benchmark") -> nn.Module:
        """The untrained ``variant`` network of canonical ``arch`` with a ``num_classes``-way
        classifier, in train mode with its default initialisation; it exposes ``classifier``, its
        last layer. Only called with a variant from :attr:`network_variants`."""
        raise InvalidArgument(f"space {self.name!r} builds no networks")


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
