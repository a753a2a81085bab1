"""``ProxyEvaluator``: every requested proxy of one arch, on fixed batches of real images.

Everything a proxy needs besides the network is prepared once, under the proxy's protocol
(:mod:`~lightning_nas.proxies.protocol`): its batches (prefixes of one seeded image order, one per
repeat when repeats draw new batches, augmented with a fixed seed when the protocol augments), TE-NAS's
3x3 crops, RBFleX's detected gammas. Each (arch, proxy, repeat) gets a freshly built network
initialised from a seed derived from the arch key, inside ``torch.random.fork_rng`` so the caller's
RNG is untouched; a score is the mean over the protocol's repeats.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lightning_nas.utils.errors import InvalidArgument, require_count, require_device
from lightning_nas.proxies.base import Proxy, arch_seed, get_proxies, get_proxy, single_threaded_ops
from lightning_nas.proxies.images import SHARED_SAMPLE, load_images
from lightning_nas.proxies.networks import build_network, check_variant
from lightning_nas.proxies.protocol import Protocol, augment, initialise, override
from lightning_nas.proxies.rbflex import detect_gammas
from lightning_nas.proxies.tenas import random_crops
from lightning_nas.spaces import get_space
from lightning_nas.spaces.datasets import get_dataset

#: Random archs RBFleX's hyperparameter detection looks at (N_GAMMA in its code).
HDA_ARCHS = 10
#: Images a protocol with ``batch_per_arch`` draws each arch's batch from (the first of the seeded order; the
#: shipped CIFAR-10 sample's size, and all of a smaller source's as long as it holds one batch)
PER_ARCH_POOL = 500


def image_source_name(images: str | os.PathLike | None) -> str:
    """How a score table names an image source: by its file or folder name, so a table stays usable
    when its data folder moves (and a reader must be told where the source is)."""
    return Path(images).name if images is not None else SHARED_SAMPLE.name


def scoring_settings(space: str, dataset: str, images: str | os.PathLike | None, seed: int, full_network: bool, protocols: Mapping[str, Protocol]) -> dict[str, Any]:
    """What a proxy score depends on besides the arch, as a score table records it: the run's
    settings and each proxy's protocol."""
    require_count("seed", seed, 0)
    return {"space": space, "dataset": dataset, "images": image_source_name(images), "seed": seed, "full_network": full_network,
            "protocol": {name: p.record() for name, p in protocols.items()}}


def proxy_protocols(proxies: list[Proxy], overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Protocol]:
    """Each proxy's protocol: its paper's, with ``overrides`` ({proxy: {option: value}}) applied."""
    overrides = dict(overrides or {})
    names = [p.name for p in proxies]
    stray = sorted(set(overrides) - set(names))
    if stray:
        raise InvalidArgument(f"protocol given for {stray}, which are not among the proxies scored {names}")
    for name, changes in overrides.items():
        if not isinstance(changes, Mapping):
            raise InvalidArgument(f"protocol of {name}: give a mapping of options, e.g. {{\"repeats\": 1}}, got {changes!r}")
    return {p.name: override(p.name, p.protocol, overrides.get(p.name, {})) for p in proxies}


def network_variant(proxy: Proxy, protocol: Protocol, full_network: bool) -> str:
    """The network ``proxy`` scores: its protocol's variant if it names one, else the benchmark
    network with ``full_network``, else the proxy's own."""
    return protocol.network or ("benchmark" if full_network else proxy.network)


def check_proxies(space: str, proxies: list[str], full_network: bool, protocol: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[list[Proxy], dict[str, Protocol]]:
    """The registered ``proxies`` (:func:`~lightning_nas.proxies.base.get_proxies`) and their protocols
    (:func:`proxy_protocols`), each proxy with a network that ``space`` has
    (:func:`~lightning_nas.proxies.networks.check_variant`)."""
    checked = get_proxies(proxies)
    protocols = proxy_protocols(checked, protocol)
    if "tenas_lr" in protocols and network_variant(get_proxy("tenas_lr"), protocols["tenas_lr"], full_network) != "tenas_lr":
        raise InvalidArgument(
            "tenas_lr counts linear regions of TE-NAS's one-channel cell network on 3x3 crops, which the benchmark "
            "network cannot take; full_network applies to tenas_ntk: score tenas_lr without it (and without a protocol network)"
        )
    built = get_space(space)
    for proxy in checked:
        check_variant(built, network_variant(proxy, protocols[proxy.name], full_network))
    return checked, protocols


class ProxyEvaluator:
    """Scores archs of ``space`` with ``proxies`` (registered names).

    Args:
        dataset: picks the classifier size and the image normalisation.
        images: image source (see :func:`~lightning_nas.proxies.images.load_images`); default:
            the shared CIFAR-10 sample under the data root.
        full_network: score tenas_ntk on the benchmark network instead of TE-NAS's small one
            (tenas_lr's crops fit only its own network).
        protocol: per-proxy changes to its paper's protocol, e.g. ``{"tenas_ntk": {"repeats": 1}}``
            (:class:`~lightning_nas.proxies.protocol.Protocol`); recorded in :attr:`settings`.
        device: where networks and images live (e.g. ``"cuda"``). Networks are initialised on
            the CPU from the arch's seed and then moved, so every device scores the same network,
            and a GPU scores with PyTorch's own float32 kernels, so scores agree with the CPU's to
            float rounding.
    """

    def __init__(
        self,
        space: str,
        proxies: list[str],
        dataset: str = "cifar10",
        images: str | os.PathLike | None = None,
        seed: int = 0,
        root: str | os.PathLike | None = None,
        full_network: bool = False,
        device: str | torch.device = "cpu",
        protocol: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.space = get_space(space)
        facts = get_dataset(dataset)  # an unknown one is refused before any image is read for it
        self.proxies, self.protocols = check_proxies(space, proxies, full_network, protocol)  # before any image is read or network built
        self.settings = scoring_settings(self.space.name, dataset, images, seed, full_network, self.protocols)
        self.dataset, self.seed, self.full_network = dataset, seed, full_network
        self.device = require_device("device", device)
        largest = max(self.proxies, key=lambda p: self.protocols[p.name].images_needed)
        most = self.protocols[largest.name]
        num = max(most.images_needed, 3)
        per_arch = any(p.draws_per_arch for p in self.protocols.values())
        if most.batch_size == 0 and images is None:  # data-free proxies (synflow, params, flops) need the image shape only
            side = facts.image_side
            images, labels = torch.zeros(num, 3, side, side), torch.zeros(num, dtype=torch.int64)
        else:
            batches = f"{most.repeats} batches of {most.batch_size}" if most.new_batches and most.repeats > 1 else f"batch of {num}"
            images, labels = load_images(dataset, images, num=max(num, PER_ARCH_POOL) if per_arch else num, seed=seed, root=root,
                                         needed_by=f"{largest.name}'s {batches} images", at_least=num)
        self._fill = -torch.tensor(facts.mean) / torch.tensor(facts.std)  # black, normalised
        #: per proxy, the (images, labels) of each repeat; with ``batch_per_arch`` the pool each arch's batch is drawn from
        self.batches = {p.name: self._batches(self.protocols[p.name], images, labels) for p in self.proxies}
        self.options: dict[str, dict[str, Any]] = {}
        if "tenas_lr" in self.protocols:
            crops = random_crops(images[: self.protocols["tenas_lr"].batch_size], torch.Generator().manual_seed(seed))
            self.options["tenas_lr"] = {"crops": crops.to(self.device)}
        if "rbflex" in self.protocols:
            self.options["rbflex"] = self._rbflex_gammas(self.protocols["rbflex"])

    def _batches(self, protocol: Protocol, images: torch.Tensor, labels: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One (images, labels) per repeat (one in all when repeats keep the batch): consecutive
        slices of the seeded order, augmented with a seed of their own (the same for every arch). A
        data-free proxy gets one image, for its shape; a ``batch_per_arch`` protocol the whole pool
        (on the CPU), which :meth:`_arch_batch` draws from."""
        if protocol.batch_size == 0:
            return [(images[:1].to(self.device), labels[:1].to(self.device))]
        if protocol.batch_per_arch:
            return [(images, labels)]
        size, out = protocol.batch_size, []
        for r in range(protocol.repeats if protocol.new_batches else 1):
            x, y = images[r * size : (r + 1) * size], labels[r * size : (r + 1) * size]
            if protocol.augment:
                x = augment(x, torch.Generator().manual_seed(self.seed * 1_000 + r), self._fill)
            out.append((x.to(self.device), y.to(self.device)))
        return out

    def _arch_batch(self, protocol: Protocol, pool: tuple[torch.Tensor, torch.Tensor], key: str, repeat: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Arch ``key``'s own batch for ``repeat`` (a new one per repeat only when repeats draw new
        batches): drawn from ``pool`` and augmented with a seed from the key, so a rescored arch gets
        the same batch."""
        generator = torch.Generator().manual_seed(arch_seed(self.seed, f"{key}#batch{repeat if protocol.new_batches else 0}"))
        images, labels = pool
        pick = torch.randperm(len(images), generator=generator)[: protocol.batch_size]
        x = augment(images[pick], generator, self._fill) if protocol.augment else images[pick]
        return x.to(self.device), labels[pick].to(self.device)

    def _rbflex_gammas(self, protocol: Protocol) -> dict[str, float]:
        """The protocol's fixed gammas, or RBFleX's detection on HDA_ARCHS random archs."""
        if protocol.gammas is not None:
            return {"gamma_k": protocol.gammas[0], "gamma_q": protocol.gammas[1]}
        rng = np.random.default_rng(self.seed)
        networks = [self._network(self.space.sample(rng), get_proxy("rbflex")) for _ in range(HDA_ARCHS)]
        with self._reference_kernels():
            gamma_k, gamma_q = detect_gammas(networks, self.batches["rbflex"][0][0][: protocol.batch_size])
        return {"gamma_k": gamma_k, "gamma_q": gamma_q}

    @contextlib.contextmanager
    def _seeded(self, key: str) -> Iterator[None]:
        """The arch's seed in the CPU's RNG (networks are initialised there) and in this
        evaluator's GPU's, both restored afterwards: the caller's RNG is untouched, and no other
        GPU is (``torch.manual_seed`` would seed and ``fork_rng`` initialise every one)."""
        gpus = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=gpus):
            seed = arch_seed(self.seed, key)
            torch.random.default_generator.manual_seed(seed)
            for gpu in gpus:
                torch.cuda.default_generators[gpu.index].manual_seed(seed)
            yield

    def _network(self, arch: Any, proxy: Proxy, key: str | None = None) -> torch.nn.Module:
        """``arch``'s network for ``proxy``, initialised from ``key``'s seed as the proxy's protocol says."""
        key = key if key is not None else self.space.key(self.space.validate(arch))
        with self._seeded(key):
            network = build_network(self.space.name, arch, self.dataset, network_variant(proxy, self.protocols[proxy.name], self.full_network))
            initialise(network, self.protocols[proxy.name].init)
            return network.to(self.device)

    @contextlib.contextmanager
    def _reference_kernels(self) -> Iterator[None]:
        """On a GPU, PyTorch's own CUDA kernels in full float32: no cuDNN, no TF32 matmuls.
        Measured on an H200, cuDNN's float32 kernels (TF32 off) gave gradients through NB201
        cells with average pooling up to 90 % off the CPU's and float64's (fisher, snip,
        grad_norm, jacov, tenas_ntk), while PyTorch's kernels agree with float64 to 1e-6."""
        if self.device.type != "cuda":
            yield
            return
        matmul = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            with torch.backends.cudnn.flags(enabled=False):
                yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = matmul

    def score(self, arch: Any, only: list[str] | None = None) -> dict[str, float]:
        """``{proxy: score}`` for ``arch`` (``only``: a subset of the evaluator's proxies)."""
        unknown = sorted(set(only or ()) - {p.name for p in self.proxies})
        if unknown:
            raise InvalidArgument(f"only={unknown} names proxies this evaluator was not built with: {[p.name for p in self.proxies]}")
        canonical = self.space.validate(arch)
        key = self.space.key(canonical)
        scores = {}
        for proxy in self.proxies:
            if only is not None and proxy.name not in only:
                continue
            protocol, batches = self.protocols[proxy.name], self.batches[proxy.name]
            # a data-free proxy (synflow, params, flops) is one small pass: on one thread it is as fast as on every core,
            # its score does not depend on the thread count, and it does not fight another job for the cores
            threads = single_threaded_ops if protocol.batch_size == 0 else contextlib.nullcontext
            values = []
            for r in range(protocol.repeats):
                seed_key = key if r == 0 or not protocol.new_inits else f"{key}#{r}"  # draw 0 keeps the single-draw score
                network = self._network(canonical, proxy, seed_key)
                images, labels = self._arch_batch(protocol, batches[0], key, r) if protocol.draws_per_arch else batches[r % len(batches)]
                with self._seeded(seed_key), self._reference_kernels(), threads():
                    values.append(float(proxy.compute(network, images, labels, **self.options.get(proxy.name, {}))))
            scores[proxy.name] = float(np.mean(values))
        return scores
