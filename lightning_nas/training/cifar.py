"""CIFAR-10 as DARTS's ``train.py`` trains and evaluates on it: the 50,000 training images with a
4-pixel padded random crop, a horizontal flip and Cutout, validation on the 10,000 test images.

``root`` is a torchvision CIFAR-10 folder (``cifar-10-batches-py/`` inside it; ``download=True``
fetches it there), or an image ``.npz`` (``images`` (N, 32, 32, 3) uint8 and ``labels``) whose last
``val_fraction`` is held out: the shipped 500-image sample, which is what ``root: null`` reads (a
smoke run, not a benchmark).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_nas.utils.errors import BenchmarkFileError, InvalidArgument, require_count

#: DARTS's CIFAR-10 normalisation (``utils.py``: CIFAR_MEAN, CIFAR_STD)
MEAN, STD = (0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)


class Cutout:
    """Zero one ``length`` x ``length`` square at a random centre (clipped at the border), as DARTS's ``Cutout``."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        y, x = int(torch.randint(h, ())), int(torch.randint(w, ()))
        image = image.clone()
        image[..., max(0, y - self.length // 2) : y + self.length // 2, max(0, x - self.length // 2) : x + self.length // 2] = 0
        return image


class _Images(Dataset):
    """uint8 NHWC images and labels, transformed when read."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), int(self.labels[i])


class CIFAR10DataModule(L.LightningDataModule):
    """DARTS's CIFAR-10 pipeline (``root``: a torchvision folder or an image .npz; ``None``: the shipped sample)."""

    def __init__(self, root: str | None = None, batch_size: int = 96, cutout_length: int = 16, num_workers: int = 2,
                 download: bool = False, val_fraction: float = 0.1) -> None:
        super().__init__()
        require_count("batch_size", batch_size, 1)
        require_count("cutout_length", cutout_length, 0)
        require_count("num_workers", num_workers, 0)
        if not 0 < val_fraction < 1:
            raise InvalidArgument(f"val_fraction must be in (0, 1), got {val_fraction}")
        self.save_hyperparameters()
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def transforms(self):
        from torchvision import transforms

        normalise = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
        cutout = [Cutout(self.hparams.cutout_length)] if self.hparams.cutout_length else []
        train = transforms.Compose([transforms.ToPILImage(), transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), *normalise, *cutout])
        return train, transforms.Compose(normalise)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train_transform, val_transform = self.transforms()
        (train_images, train_labels), (val_images, val_labels) = self._splits()
        self.train_set = _Images(train_images, train_labels, train_transform)
        self.val_set = _Images(val_images, val_labels, val_transform)

    def _splits(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        from lightning_nas.proxies.images import default_source, read_image_npz
        from lightning_nas.spaces.datasets import get_dataset

        root = self.hparams.root
        path = Path(root) if root is not None else default_source("cifar10")
        if path.suffix == ".npz":
            images, labels = read_image_npz(path, get_dataset("cifar10"))
            cut = len(images) - max(1, int(round(self.hparams.val_fraction * len(images))))
            if cut < 1:
                raise BenchmarkFileError(f"{path}: {len(images)} images leave none to train on after holding out val_fraction {self.hparams.val_fraction}")
            return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])
        from torchvision.datasets import CIFAR10

        try:
            train, test = (CIFAR10(str(path), train=split, download=self.hparams.download) for split in (True, False))
        except RuntimeError as exc:  # torchvision's "not found or corrupted"
            raise BenchmarkFileError(f"{path}: no CIFAR-10 in it (torchvision's cifar-10-batches-py/ folder); "
                                     "set download: true to fetch it there, or give an image .npz") from exc
        return (train.data, np.asarray(train.targets)), (test.data, np.asarray(test.targets))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True, num_workers=self.hparams.num_workers,
                          pin_memory=torch.cuda.is_available(), drop_last=False, persistent_workers=self.hparams.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.hparams.batch_size, num_workers=self.hparams.num_workers,
                          pin_memory=torch.cuda.is_available(), persistent_workers=self.hparams.num_workers > 0)

