"""How a proxy is computed: batch size, repeats, initialisation, augmentation, which images each arch
gets, and which network variant it scores.

Every proxy registers its paper's protocol (:class:`Protocol`); a run may override any field per
proxy (``score --protocol '{"tenas_ntk": {"repeats": 1}}'``, ``ProxyEvaluator(protocol=...)``). The
effective protocol of every proxy scored is recorded in the score table's settings, so scores made
under different protocols never mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from lightning_nas.utils.errors import InvalidArgument

INITS = ("default", "kaiming_normal_fanin", "kaiming_normal_fanout")
REPEAT_OVER = ("init", "batch", "init+batch")


@dataclass(frozen=True)
class Protocol:
    """One proxy's protocol. A score is the mean over ``repeats`` draws, each a fresh initialisation
    and/or the next batch of images (``repeat_over``), as TE-NAS averages its NTK over three."""

    #: images per score (0: none, the proxy needs only their shape)
    batch_size: int
    #: draws averaged
    repeats: int = 1
    #: what changes between draws: "init", "batch" or "init+batch"
    repeat_over: str = "init"
    #: "default" (the network's own, e.g. PyTorch's), or TE-NAS's "kaiming_normal_fanin" / "kaiming_normal_fanout"
    init: str = "default"
    #: random crop (4-pixel padding with black) and horizontal flip of every batch, as a training loader does
    augment: bool = False
    #: rbflex only: fixed (gamma_k, gamma_q) instead of its hyperparameter detection
    gammas: tuple[float, float] | None = None
    #: each arch draws its own batch (and augmentation) from the images, seeded by the arch, as zero-cost-nas's and
    #: NASLib's loaders hand every arch the next shuffled batch; default: every arch scores the same batch, which
    #: keeps the images' noise out of the comparison between archs
    batch_per_arch: bool = False
    #: the network variant the proxy scores (one of the space's ``network_variants``, e.g. DARTS's ``naslib``);
    #: None: the proxy's own (the benchmark network, or TE-NAS's for its proxies)
    network: str | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 0 or self.repeats < 1:
            raise InvalidArgument(f"a proxy protocol needs batch_size >= 0 and repeats >= 1, got {self.batch_size} and {self.repeats}")
        if self.init not in INITS:
            raise InvalidArgument(f"unknown init {self.init!r}; choose from {list(INITS)}")
        if self.repeat_over not in REPEAT_OVER:
            raise InvalidArgument(f"unknown repeat_over {self.repeat_over!r}; choose from {list(REPEAT_OVER)}")
        if self.gammas is not None and (len(self.gammas) != 2 or min(self.gammas) <= 0):
            raise InvalidArgument(f"gammas must be two positive numbers (gamma_k, gamma_q), got {self.gammas!r}")

    @property
    def new_batches(self) -> bool:
        return "batch" in self.repeat_over

    @property
    def new_inits(self) -> bool:
        return "init" in self.repeat_over

    @property
    def draws_per_arch(self) -> bool:
        """Whether each arch draws its own batch: ``batch_per_arch`` for a proxy that takes images."""
        return self.batch_per_arch and self.batch_size > 0

    @property
    def images_needed(self) -> int:
        """Images the protocol reads: one batch, or one per repeat."""
        return self.batch_size * (self.repeats if self.new_batches else 1)

    def record(self) -> dict[str, Any]:
        """As a score table records it (JSON)."""
        out = asdict(self)
        out["gammas"] = list(self.gammas) if self.gammas is not None else None
        return out


def same_protocol(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether two recorded protocols are the same, an option a record lacks (written before the
    option existed) counting as its default: older score tables stay usable."""
    defaults = {f.name: f.default for f in fields(Protocol) if f.default is not MISSING}
    return {**defaults, **recorded} == {**defaults, **current}


def override(name: str, protocol: Protocol, changes: Mapping[str, Any]) -> Protocol:
    """``protocol`` with ``changes`` (field -> value) applied; unknown fields are named."""
    known = {f.name for f in fields(Protocol)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidArgument(f"protocol of {name}: unknown option(s) {unknown}; options: {sorted(known)}")
    if changes.get("gammas") is not None and name != "rbflex":
        raise InvalidArgument(f"protocol of {name}: gammas are RBFleX's kernel widths, for rbflex only")
    values = dict(changes)
    if values.get("gammas") is not None:
        values["gammas"] = tuple(float(g) for g in values["gammas"])
    try:
        return replace(protocol, **values)
    except InvalidArgument as exc:
        raise InvalidArgument(f"protocol of {name}: {exc}") from None


def initialise(network: nn.Module, scheme: str) -> None:
    """Re-initialise ``network`` as TE-NAS's ``init_model`` does: Kaiming-normal conv and linear
    weights (fan-in or fan-out, ReLU gain), zero biases, BN weight 1 and bias 0. ``default`` keeps
    the network's own initialisation."""
    if scheme == "default":
        return
    mode = scheme.rsplit("_", 1)[1].replace("fan", "fan_")
    for m in network.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def augment(images: torch.Tensor, generator: torch.Generator, fill: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Random crop after padding and random horizontal flip, per image: CIFAR's training transform
    (``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``) on normalised images, so ``fill`` [C] is
    black after normalisation, what torchvision pads with."""
    n, c, h, w = images.shape
    padded = fill.view(1, c, 1, 1).expand(n, c, h + 2 * pad, w + 2 * pad).clone()
    padded[:, :, pad : pad + h, pad : pad + w] = images
    top = torch.randint(2 * pad + 1, (n,), generator=generator)
    left = torch.randint(2 * pad + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.stack([padded[i, :, t : t + h, l : l + w] for i, (t, l) in enumerate(zip(top.tolist(), left.tolist()))])
    out[flip] = out[flip].flip(-1)
    return out
