"""Search spaces: what an architecture is, independent of any benchmark."""

from lightning_nas.registry import lookup
from lightning_nas.spaces.base import FiniteSearchSpace, SearchSpace
from lightning_nas.spaces.nats_sss import NATSSizeSpace
from lightning_nas.spaces.nb101 import NB101Arch, NB101Space
from lightning_nas.spaces.nb201 import NB201Space

SPACES: dict[str, type[SearchSpace]] = {
    NB101Space.name: NB101Space,
    NB201Space.name: NB201Space,
    NATSSizeSpace.name: NATSSizeSpace,
}


def get_space(name: str) -> SearchSpace:
    """The search space registered as ``name`` (``nb101``, ``nb201``, ``nats_sss``)."""
    return lookup(SPACES, name, "search space")()


__all__ = ["SPACES", "FiniteSearchSpace", "NATSSizeSpace", "NB101Arch", "NB101Space", "NB201Space", "SearchSpace", "get_space"]
