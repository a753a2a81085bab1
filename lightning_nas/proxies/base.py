"""The proxy registry: one function per zero-cost proxy, with the protocol its paper uses.

A proxy is ``compute(network, images, labels) -> float``. Its :class:`Proxy` record says which
network it scores (the benchmark network or one of TE-NAS's small ones), how many images it
takes, what "better" means and where it comes from. :class:`~lightning_nas.proxies.evaluator.ProxyEvaluator` builds a freshly
initialised network for every (arch, proxy) from a seed derived from the arch's key, so a score
never depends on what was scored before it or in which order.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from lightning_nas.proxies.protocol import Protocol
from lightning_nas.utils.errors import InvalidArgument, require_distinct
from lightning_nas.utils.registry import lookup


@dataclass(frozen=True)
class Proxy:
    """A registered proxy. Every proxy is oriented so that a higher score predicts a better
    network (``tenas_ntk`` returns the *negative* NTK condition number for that reason)."""

    name: str
    compute: Callable[..., float]
    paper: str
    #: the paper's protocol (batch size as in the authors' code, repeats, init, augmentation;
    #: tenas_lr's batch: the images its crops come from; 0 = no images: params, synflow's ones)
    protocol: Protocol
    #: which network: "benchmark", or TE-NAS's "tenas_ntk" / "tenas_lr".
    network: str = "benchmark"


PROXIES: dict[str, Proxy] = {}


def register(name: str, *, paper: str, protocol: Protocol = Protocol(64), network: str = "benchmark") -> Callable:
    """Register ``compute(network, images, labels, **options) -> float`` as proxy ``name``, computed
    under its paper's ``protocol`` unless a run overrides it."""

    def wrap(fn: Callable[..., float]) -> Callable[..., float]:
        PROXIES[name] = Proxy(name, fn, paper, protocol, network)
        return fn

    return wrap


def get_proxy(name: str) -> Proxy:
    return lookup(PROXIES, name, "proxy")


def get_proxies(names: Sequence[str]) -> list[Proxy]:
    """The registered proxies ``names``: at least one, each once (a repeat would count twice in
    a rank combination)."""
    if not names:
        raise InvalidArgument(f"no proxies requested; registered: {sorted(PROXIES)}")
    require_distinct("proxies", names)
    return [get_proxy(name) for name in names]


def arch_seed(seed: int, key: str) -> int:
    """Per-arch seed: the same arch gets the same initialisation whatever else is scored."""
    return (seed * 1_000_003 + zlib.crc32(key.encode())) % 2**31


@contextlib.contextmanager
def hooks(modules: list[nn.Module], hook: Callable, kind: str = "forward") -> Iterator[None]:
    """Register ``hook`` on ``modules`` for the duration of the block, then remove every handle
    (no state leaks into the next proxy or arch)."""
    register_fn = {"forward": "register_forward_hook", "forward_pre": "register_forward_pre_hook"}[kind]
    handles = [getattr(m, register_fn)(hook) for m in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def single_threaded_ops() -> Iterator[None]:
    """One intra-op thread inside the block: for batch-1 and tiny networks, thread start-up
    costs more than it saves."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def layers_of(network: nn.Module, *types: type) -> list[nn.Module]:
    return [m for m in network.modules() if isinstance(m, types)]


def weighted_layers(network: nn.Module) -> list[nn.Module]:
    """Conv and linear layers: the layers zero-cost-nas sums its per-weight scores over."""
    return layers_of(network, nn.Conv2d, nn.Linear)
