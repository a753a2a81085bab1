"""Search spaces: what an architecture is, independent of any benchmark, and everything else that
differs between spaces (encoding layouts, networks). A new space registers itself here."""

from lightning_nas.spaces.base import FiniteSearchSpace, Layout, SearchSpace
from lightning_nas.spaces.darts import DartsGenotype, DartsSpace
from lightning_nas.spaces.nats_sss import NATSSizeSpace
from lightning_nas.spaces.nb101 import NB101Arch, NB101Space
from lightning_nas.spaces.nb201 import NB201Space
from lightning_nas.utils.registry import lookup

SPACES: dict[str, type[SearchSpace]] = {}


def register_space(space: type[SearchSpace]) -> type[SearchSpace]:
    """Make ``space`` known by its ``name`` to every layer (usable as a class decorator)."""
    SPACES[space.name] = space
    return space


for _space in (NB101Space, NB201Space, NATSSizeSpace, DartsSpace):
    register_space(_space)


def get_space(name: str) -> SearchSpace:
    """The search space registered as ``name`` (``nb101``, ``nb201``, ``nats_sss``, ``darts``, or one registered since)."""
    return lookup(SPACES, name, "search space")()


__all__ = ["SPACES", "DartsGenotype", "DartsSpace", "FiniteSearchSpace", "Layout", "NATSSizeSpace", "NB101Arch", "NB101Space", "NB201Space", "SearchSpace", "get_space", "register_space"]
