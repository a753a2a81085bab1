"""The image datasets the benchmarks' networks were trained on: one record of facts per dataset,
the one place classes, image size, normalisation and folder format are written down."""

from __future__ import annotations

from dataclasses import dataclass

from lightning_nas.utils.registry import lookup


@dataclass(frozen=True)
class ImageDataset:
    """What a network and its images need to know of a dataset."""

    name: str
    num_classes: int
    #: side of the square images the benchmarks trained on (proxies score images of this size)
    image_side: int
    #: per-channel mean and standard deviation (0..255) NATS-Bench normalises its images with
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    #: how a folder of its images is laid out: ``CIFAR10`` / ``CIFAR100`` (torchvision's folders) or
    #: ``ImageNet16`` (NATS-Bench's ``train_data_batch_*`` pickles, labels 1..1000)
    folder_format: str


_CIFAR10 = ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7))
DATASETS: dict[str, ImageDataset] = {
    d.name: d
    for d in (
        ImageDataset("cifar10", 10, 32, *_CIFAR10, "CIFAR10"),
        ImageDataset("cifar10-valid", 10, 32, *_CIFAR10, "CIFAR10"),  # NATS-Bench's 25k/25k split of CIFAR-10's training set
        ImageDataset("cifar100", 100, 32, (129.3, 124.1, 112.4), (68.2, 65.4, 70.4), "CIFAR100"),
        ImageDataset("ImageNet16-120", 120, 16, (122.68, 116.66, 104.01), (63.22, 61.26, 65.09), "ImageNet16"),
    )
}


def get_dataset(name: str) -> ImageDataset:
    """The dataset registered as ``name``, or an error listing the known ones."""
    return lookup(DATASETS, name, "dataset")
