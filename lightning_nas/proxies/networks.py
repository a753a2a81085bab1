"""Architecture -> the real network as an ``nn.Module``, for zero-cost proxies.

Each space builds its own networks (:meth:`~lightning_nas.spaces.base.SearchSpace.build_network`):
NB101 through ``nasbench_pytorch``, NB201 / NATS-tss and NATS-sss with the NAS-Bench-201 macro-structure
(:mod:`lightning_nas.spaces.cell_network`, cross-checked against ``xautodl`` by the tests). Besides the
benchmark's own network a space may offer smaller ones a proxy's paper scores: TE-NAS's pruning
supernets for NB201 cells (``tenas_ntk``: ``C=3, N=1``; ``tenas_lr``: ``C=1, N=1`` without stem, first
cell only, fed 1-channel 3x3 crops; see :mod:`lightning_nas.proxies.tenas`).

Every network returns logits and exposes ``classifier`` (its last layer), which is what proxies
that look at the last layer's input (RBFleX) hook.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lightning_nas.spaces import get_space
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.spaces.datasets import get_dataset
from lightning_nas.utils.errors import InvalidArgument


def check_variant(space: SearchSpace, variant: str) -> None:
    """:class:`InvalidArgument` unless ``space`` builds the ``variant`` network."""
    if variant not in space.network_variants:
        hint = "; score tenas_ntk on the benchmark network with full_network=True (--full_network true)" if variant == "tenas_ntk" and "benchmark" in space.network_variants else ""
        raise InvalidArgument(f"the {variant!r} network is not defined for {space.name} archs (it builds {list(space.network_variants)}){hint}")


def build_network(space: str, arch: Any, dataset: str = "cifar10", variant: str = "benchmark") -> nn.Module:
    """The network of ``arch`` (any form the space accepts) with ``dataset``'s classifier, in
    train mode with its default initialisation (NB101: nasbench_pytorch's)."""
    num_classes = get_dataset(dataset).num_classes
    built = get_space(space)
    check_variant(built, variant)
    return built.build_network(built.validate(arch), num_classes, variant)


def count_parameters(network: nn.Module) -> int:
    """Trainable parameters, as the benchmarks count them."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
