"""Training a searched DARTS genotype from scratch, as DARTS's ``train.py`` does on CIFAR-10.

The evaluation network (36 initial channels, 20 cells, the auxiliary head weighted 0.4), SGD with
momentum 0.9, weight decay 3e-4, learning rate 0.025 annealed by a cosine over the run's epochs,
drop path on every op but the identity with a probability raised linearly from 0 to 0.2 over the
epochs, gradients clipped at norm 5 (the trainer's ``gradient_clip_val``), 600 epochs (the shipped
config ``train_darts.yaml``). Logs ``train/loss``, ``train/acc``, ``val/loss`` and ``val/acc``
(top-1, percent), the learning rate and the drop-path probability.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch import nn

from lightning_nas.spaces.darts import DartsGenotype, DartsSpace
from lightning_nas.spaces.darts_network import DartsNetwork, count_parameters
from lightning_nas.utils.errors import InvalidArchitecture, InvalidArgument, require_count


def read_genotype(genotype: str) -> DartsGenotype:
    """A genotype given as a file (``genotype.json`` or a ``Genotype(...)`` text, as search writes them)
    or as any text form :class:`~lightning_nas.spaces.darts.DartsSpace` reads."""
    import json

    space = DartsSpace()
    path = Path(genotype)
    if len(genotype) < 4096 and path.suffix in (".json", ".txt") and path.is_file():
        text = path.read_text()
        try:
            return space.validate(json.loads(text) if path.suffix == ".json" else text)
        except (InvalidArchitecture, ValueError) as exc:
            raise InvalidArchitecture(f"{path}: {exc}") from None
    if path.suffix in (".json", ".txt") and not path.exists():
        raise InvalidArgument(f"genotype file {genotype!r} not found (a search writes genotype.json and genotype.txt beside best.json)")
    return space.validate(genotype)


class GenotypeTraining(L.LightningModule):
    """DARTS's evaluation network of ``genotype`` trained on images (``genotype``: a file or a text form)."""

    def __init__(self, genotype: str, num_classes: int = 10, channels: int = 36, layers: int = 20, auxiliary: bool = True,
                 auxiliary_weight: float = 0.4, drop_path_prob: float = 0.2, lr: float = 0.025, momentum: float = 0.9,
                 weight_decay: float = 3e-4) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("channels", channels), ("layers", layers)):
            require_count(name, value, 1)
        if layers < 3:
            raise InvalidArgument(f"layers {layers}: DARTS's network needs at least 3 cells (reductions at 1/3 and 2/3 of the depth)")
        if not 0 <= drop_path_prob < 1:
            raise InvalidArgument(f"drop_path_prob must be in [0, 1), got {drop_path_prob}")
        self.arch = read_genotype(genotype)
        self.save_hyperparameters()
        # the checkpoint records the genotype's own text, so that it rebuilds the network without the file
        self.hparams.genotype = DartsSpace().genotype_text(self.arch)
        self.network = DartsNetwork(self.arch, channels, layers, num_classes, auxiliary=auxiliary)
        self.loss = nn.CrossEntropyLoss()

    @property
    def num_parameters(self) -> int:
        """Parameters as DARTS reports them (the auxiliary head left out)."""
        return count_parameters(self.network)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def on_train_epoch_start(self) -> None:
        epochs = self.trainer.max_epochs or 1
        self.network.drop_path_prob = self.hparams.drop_path_prob * self.current_epoch / epochs
        self.log("train/drop_path_prob", self.network.drop_path_prob)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, labels = batch
        logits, aux = self.network.forward_with_aux(images)
        loss = self.loss(logits, labels)
        if aux is not None:
            loss = loss + self.hparams.auxiliary_weight * self.loss(aux, labels)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", 100 * (logits.argmax(1) == labels).float().mean(), prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self.network(images)
        self.log("val/loss", self.loss(logits, labels))
        self.log("val/acc", 100 * (logits.argmax(1) == labels).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=self.hparams.momentum, weight_decay=self.hparams.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.trainer.max_epochs or 1))
        return {"optimizer": optimizer, "lr_scheduler": schedule}
